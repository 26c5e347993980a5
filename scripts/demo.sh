#!/usr/bin/env bash
# The main job: set up the machine, build, then train the three papers' models on the synthetic
# faces with a short schedule (about 10 minutes on 2 CPU cores in all), evaluate each beside its
# baselines on identities never seen in training, and write runs/demo/report.html (sample grids,
# loss curves, evaluation tables). Each step prints its progress.
#
#   bash scripts/demo.sh            the demo schedule (FACEGAN_DEMO_SCALE=4: about 10 minutes on an idle 2-core machine)
#   FACEGAN_DEMO_SCALE=1 bash scripts/demo.sh    a quarter of the steps (a smoke run: 206 s on 2 cores)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${FACEGAN_BUILD_DIR:-$repo/build}
scale=${FACEGAN_DEMO_SCALE:-4}
bash "$repo/scripts/build.sh"
cd "$repo"
out=runs/demo
rm -rf "$out"
mkdir -p "$out"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
threads=$OMP_NUM_THREADS
start=$(date +%s)
steps() { echo $(($1 * scale)); }
stage() { echo; echo "demo [$(($(date +%s) - start)) s] $*"; }

section() {  # folder title description
  mkdir -p "$1"
  printf '{"title": "%s", "description": "%s"}\n' "$2" "$3" > "$1/section.json"
}

stage "1/3 DeRL: de-expression cGAN, residue classifier, plain CNN on the face and on the true residue (64 px, one person-independent fold)"
section "$out/derl" "DeRL (Yang et al., CVPR 2018): de-expression residue learning" \
  "Stage 1 turns an expressive face into the same person's neutral face; stage 2 classifies the expression from the frozen generator's activations. One of the five person-independent folds of configs/experiments/derl.json (docs/derl.md has the whole table)."
"$build/tools/facegan" experiment --spec configs/experiments/derl.json --out "$out/derl" --threads "$threads" \
  --folds 0 --seeds 0 --only derl,cnn,cnn_residue \
  --set stages.deexpression.trainer.steps="$(steps 150)" --set stages.classify.trainer.steps="$(steps 100)"
# The per-expression picture of the DeRL run (input, generated neutral, true neutral, residues).
derl_run=$(grep -o '"out_dir": "[^"]*classify-[^"]*"' "$out/derl/runs/derl/seed0/fold0/pipeline.json" | cut -d'"' -f4)
"$build/examples/derl" --sheet "$(ls "$derl_run"/checkpoints/ckpt_*.pt | tail -n 1)" \
  --out "$out/derl/expressions.figure.png" --size 64

stage "2/3 open-set synthesis: identity classifier warm start, I/A/G/C/D training, probes, baselines x_a and x_s"
section "$out/open_set" "Open-set identity-preserving synthesis (Bao et al., CVPR 2018)" \
  "mix(x_s, x_a): the identity of x_s with everything else of x_a, for identities never seen in training, scored against the exact render. Uses the documented attribute-skip deviation (docs/open_set.md)."
"$build/tools/facegan" experiment --spec configs/experiments/open_set_32px.json --out "$out/open_set" --threads "$threads" \
  --only model --spec-set scorers.0.steps="$(steps 150)" \
  --set stages.identity.trainer.steps="$(steps 150)" --set stages.open_set.trainer.steps="$(steps 750)"

stage "3/3 PairedCycleGAN: makeup transfer G(x, y) and removal F(y) beside 'return x' and per-region Reinhard"
section "$out/makeup" "PairedCycleGAN (Chang et al., CVPR 2018): makeup transfer and removal" \
  "G(x, y) puts the makeup of reference y on bare face x (eyes, lips and skin generators on landmark crops plus a global path); F removes makeup. Scored against the exact render of x wearing y's makeup, on held-out identities."
"$build/tools/facegan" experiment --spec configs/experiments/makeup_32px.json --out "$out/makeup" --threads "$threads" \
  --only model --spec-set data.train.num_samples=600 --spec-set data.held_out.num_samples=48 \
  --set stages.makeup.trainer.steps="$(steps 300)"

stage "report"
"$build/tools/facegan" report --runs "$out" --out "$out/report.html" \
  --title "facegan demo: three CVPR 2018 face GANs on synthetic faces"
echo "demo: done in $(($(date +%s) - start)) s; open $repo/$out/report.html"
