#!/usr/bin/env bash
# CTest's check of the facegan command: list, render (PNG folder and HDF5), pack, and the errors a
# user meets on bad input. Usage: run.sh <path to facegan> <scratch folder>
set -euo pipefail
facegan=$1
work=$2
rm -rf "$work" && mkdir -p "$work"
fail() { echo "cli test: $*" >&2; exit 1; }

# Output goes to files first: `grep -q` on a pipe would close it early and, under pipefail, turn
# the writer's SIGPIPE into a failure.
"$facegan" --help > "$work/help.txt"
grep -q "render" "$work/help.txt" || fail "--help does not list render"
"$facegan" list > "$work/list.txt"
grep -q "synthetic_faces" "$work/list.txt" || fail "list does not show synthetic_faces"
grep -q "pix2pix" "$work/list.txt" || fail "list does not show the pix2pix task"
"$facegan" list losses > "$work/losses.txt"
grep -q "wgan_gp" "$work/losses.txt" || fail "list losses does not show wgan_gp"

"$facegan" render --out "$work/faces" --count 5 --set size=32 --set seed=4 > "$work/render.log"
[ "$(ls "$work/faces"/face_*.png | wc -l)" -eq 5 ] || fail "render wrote $(ls "$work/faces" | wc -l) files, expected 5 PNGs"
[ "$(wc -l < "$work/faces/factors.jsonl")" -eq 5 ] || fail "factors.jsonl does not have 5 lines"
grep -q '"expression"' "$work/faces/factors.jsonl" || fail "factors.jsonl lacks the expression factor"

"$facegan" render --out "$work/faces.h5" --count 6 --set size=32 > "$work/render_h5.log"
[ -s "$work/faces.h5" ] || fail "render to .h5 wrote nothing"
"$facegan" pack --dataset '{"type": "hdf5", "path": "'"$work/faces.h5"'"}' --out "$work/copy.h5" > "$work/pack.log"
grep -q "wrote 6 samples of hdf5" "$work/pack.log" || fail "pack did not report 6 samples: $(cat "$work/pack.log")"

# Bad input: a clear message naming what is wrong, and a non-zero exit.
if "$facegan" pack --dataset '{"type": "celebb"}' --out "$work/x.h5" 2> "$work/err.log"; then fail "unknown type accepted"; fi
grep -q "unknown dataset 'celebb'" "$work/err.log" || fail "unknown type message: $(cat "$work/err.log")"
if "$facegan" render --out "$work/bad" --set sise=32 2> "$work/err2.log"; then fail "unknown option accepted"; fi
grep -q "sise" "$work/err2.log" || fail "unknown option message: $(cat "$work/err2.log")"
if "$facegan" pack --dataset '{"type": "hdf5", "path": "/nonexistent/f.h5"}' --out "$work/y.h5" 2> "$work/err3.log"; then
  fail "missing file accepted"
fi
grep -q "/nonexistent/f.h5" "$work/err3.log" || fail "missing file message: $(cat "$work/err3.log")"
# train -> resume -> eval on a tiny pix2pix run (the shipped config, shrunk by --set).
config=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../configs" && pwd)/pix2pix_synthetic.json
tiny=(--set trainer.out_dir="$work/run" --set trainer.log_every=1 --set trainer.sample_every=2
      --set trainer.checkpoint_every=2 --set trainer.eval_every=2 --set trainer.eval_max_samples=8
      --set task.generator.depth=5 --set task.generator.base_channels=4 --set task.discriminator.base_channels=4
      --set data.train.size=32 --set data.train.num_samples=16 --set data.eval.size=32 --set data.eval.num_samples=8
      --set data.loader.batch_size=4)
"$facegan" train --config "$config" "${tiny[@]}" --set trainer.steps=2 > "$work/train.log"
grep -q "completed at step 2" "$work/train.log" || fail "train: $(tail -3 "$work/train.log")"
grep -q '"data"' "$work/run/config.json" || fail "train wrote no full config.json"
[ -n "$(ls "$work/run/samples"/*.png 2> /dev/null)" ] || fail "train wrote no sample grid"
"$facegan" resume --run "$work/run" --set trainer.steps=4 > "$work/resume.log"
grep -q "resumed from" "$work/resume.log" || fail "resume did not resume: $(head -3 "$work/resume.log")"
grep -q "completed at step 4" "$work/resume.log" || fail "resume: $(tail -3 "$work/resume.log")"
"$facegan" eval --run "$work/run" > "$work/eval.log"
grep -q '"step": 4' "$work/eval.log" || fail "eval: $(cat "$work/eval.log")"
if "$facegan" resume --run "$work" 2> "$work/err4.log"; then fail "resume of a non-run folder accepted"; fi
grep -q "config.json" "$work/err4.log" || fail "resume error: $(cat "$work/err4.log")"
# The DeRL pipeline (configs/derl_synthetic.json, shrunk by --set): both stages in one command, the
# classifier reading stage 1's checkpoint; infer neutralize and classify on the results.
configs=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../configs" && pwd)
small_unet='{"depth": 5, "base_channels": 4, "dropout": 0.0}'
derl_tiny=(--set trainer.out_dir="$work/derl" --set trainer.device=cpu --set trainer.threads=1 --set trainer.log_every=1
           --set data.train.size=32 --set data.train.num_samples=8 --set data.eval.size=32 --set data.eval.num_samples=4
           --set data.loader.batch_size=4 --set data.loader.prefetch_threads=0
           --set stages.deexpression.trainer.steps=2 --set stages.deexpression.trainer.eval_every=0
           --set stages.deexpression.trainer.sample_every=0 --set stages.deexpression.trainer.checkpoint_every=0
           --set "stages.deexpression.task.generator=$small_unet"
           --set 'stages.deexpression.task.discriminator={"base_channels": 4, "num_layers": 2}'
           --set stages.classify.trainer.steps=2 --set stages.classify.trainer.eval_every=0
           --set stages.classify.trainer.checkpoint_every=0 --set "stages.classify.task.generator=$small_unet"
           --set 'stages.classify.task.classifier={"local_channels": 4, "hidden": 8}')
"$facegan" train --config "$configs/derl_synthetic.json" "${derl_tiny[@]}" > "$work/derl.log"
ckpt1=$work/derl/deexpression/checkpoints/ckpt_000000002.pt
ckpt2=$work/derl/classify/checkpoints/ckpt_000000002.pt
[ -s "$ckpt1" ] && [ -s "$ckpt2" ] || fail "the DeRL pipeline did not write both stages' checkpoints: $(tail -5 "$work/derl.log")"
grep -q "stage classify: checkpoint $ckpt2" "$work/derl.log" || fail "derl pipeline: $(tail -3 "$work/derl.log")"
grep -q "\"generator_checkpoint\": \"$ckpt1\"" "$work/derl/classify/config.json" ||
  fail "the classify stage does not read stage 1's checkpoint"
# A finished pipeline resumes to nothing to do; a changed stage schedule trains only that stage on.
"$facegan" resume --run "$work/derl" --set stages.classify.trainer.steps=3 > "$work/derl_resume.log"
[ -s "$work/derl/classify/checkpoints/ckpt_000000003.pt" ] || fail "pipeline resume: $(tail -3 "$work/derl_resume.log")"
[ ! -e "$work/derl/deexpression/checkpoints/ckpt_000000003.pt" ] || fail "pipeline resume retrained stage 1"
ckpt2=$work/derl/classify/checkpoints/ckpt_000000003.pt
"$facegan" render --out "$work/face" --count 1 --set size=48 --set expression_probability=1 > /dev/null
"$facegan" infer neutralize --no-detect --checkpoint "$ckpt1" --image "$work/face/face_000000.png" --size 32 --out "$work/neutral.png" > "$work/infer1.log"
[ -s "$work/neutral.png" ] || fail "infer neutralize wrote no image"
if "$facegan" infer classify --no-detect --checkpoint "$ckpt1" --image "$work/face/face_000000.png" 2> "$work/err5.log"; then
  fail "classify with a stage-1 checkpoint accepted"
fi
grep -q "stage-1" "$work/err5.log" || fail "classify stage-1 error: $(cat "$work/err5.log")"
"$facegan" infer classify --no-detect --checkpoint "$ckpt2" --image "$work/face/face_000000.png" --size 32 > "$work/classify.json"
grep -q '"probabilities"' "$work/classify.json" || fail "classify printed: $(cat "$work/classify.json")"
grep -q '"happy"' "$work/classify.json" || fail "classify lacks the class names: $(cat "$work/classify.json")"

# One process per run folder: a second `train` on a folder in use stops at once, naming the holder.
"$facegan" train --config "$config" "${tiny[@]}" --set trainer.out_dir="$work/locked" --set trainer.steps=1000000 \
  --set trainer.eval_every=0 --set trainer.sample_every=0 --set trainer.checkpoint_every=0 > "$work/locked.log" 2>&1 &
holder=$!
for _ in $(seq 1 300); do [ -s "$work/locked/.lock" ] && break; sleep 0.1; done
[ -s "$work/locked/.lock" ] || fail "the first run took no lock"
if "$facegan" train --config "$config" "${tiny[@]}" --set trainer.out_dir="$work/locked" 2> "$work/err_lock.log"; then
  fail "a second run on a locked folder was accepted"
fi
grep -q "in use by process $holder" "$work/err_lock.log" || fail "lock message: $(cat "$work/err_lock.log")"
kill -TERM "$holder"
status=0
wait "$holder" || status=$?
[ "$status" -eq 130 ] || fail "the interrupted run exited with $status, expected 130"
grep -q "interrupted at step" "$work/locked.log" || fail "no checkpoint on SIGTERM: $(tail -3 "$work/locked.log")"

if "$facegan" infer neutralize --no-detect --checkpoint "$work/run/config.json" --image "$work/face/face_000000.png" --out "$work/x.png" 2> "$work/err6.log"; then
  fail "a non-checkpoint accepted"
fi
grep -q "config.json" "$work/err6.log" || fail "bad checkpoint message: $(cat "$work/err6.log")"

# infer transfer/remove with a tiny makeup run, on rendered faces and their .pts landmarks.
makeup=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../configs" && pwd)/makeup_synthetic.json
"$facegan" train --config "$makeup" --set trainer.out_dir="$work/makeup" --set trainer.steps=1 \
  --set trainer.sample_every=0 --set trainer.eval_every=0 --set trainer.checkpoint_every=0 --set trainer.device=cpu \
  --set task.generator.global.depth=5 --set task.generator.global.base_channels=4 \
  --set task.generator.region.depth=4 --set task.generator.region.base_channels=4 --set task.generator.crop_size=16 \
  --set task.remover.depth=5 --set task.remover.base_channels=4 --set task.discriminator.base_channels=4 \
  --set task.style_discriminator.base_channels=4 --set data.train.size=32 --set data.train.num_samples=4 \
  --set data.eval.size=32 --set data.eval.num_samples=2 --set data.loader.batch_size=2 > "$work/makeup.log"
ckpt3=$(ls "$work/makeup/checkpoints"/ckpt_*.pt | tail -1)
"$facegan" render --out "$work/mk" --count 2 --set size=32 --set makeup_probability=1 > /dev/null
[ -s "$work/mk/face_000000.pts" ] || fail "render wrote no .pts landmarks"
"$facegan" infer transfer --no-detect --checkpoint "$ckpt3" --image "$work/mk/face_000000.png" --landmarks "$work/mk/face_000000.pts" \
  --reference "$work/mk/face_000001.png" --reference-landmarks "$work/mk/face_000001.pts" --intensity 0.5 \
  --regions lips,eyes --out "$work/transfer.png" > /dev/null
[ -s "$work/transfer.png" ] || fail "infer transfer wrote no image"
"$facegan" infer remove --no-detect --checkpoint "$ckpt3" --image "$work/mk/face_000001.png" --landmarks "$work/mk/face_000001.pts" \
  --out "$work/removed.png" > /dev/null
[ -s "$work/removed.png" ] || fail "infer remove wrote no image"
if "$facegan" infer remove --no-detect --checkpoint "$ckpt1" --image "$work/mk/face_000001.png" --landmarks "$work/mk/face_000001.pts" \
  --out "$work/x2.png" 2> "$work/err7.log"; then fail "remove with a DeRL checkpoint accepted"; fi
grep -q "derl" "$work/err7.log" || fail "remove with a DeRL checkpoint: $(cat "$work/err7.log")"

# infer mix with the open-set pipeline (configs/open_set_synthetic_32.json shrunk: the identity
# classifier, then the model warm-started from it), on two rendered faces of another size: the
# output has the identity image's size; a DeRL checkpoint is refused, and an open_set one by neutralize.
small_id='{"base_channels": 4, "num_stages": 2, "blocks_per_stage": 1, "embedding_dim": 8}'
"$facegan" train --config "$configs/open_set_synthetic_32.json" --set trainer.out_dir="$work/open_set" \
  --set data.train.num_samples=8 --set data.eval.num_samples=4 --set data.loader.batch_size=4 \
  --set data.loader.prefetch_threads=0 --set stages.identity.trainer.steps=2 --set stages.identity.trainer.threads=1 \
  --set stages.identity.data.train.num_samples=8 --set stages.identity.data.loader.prefetch_threads=0 \
  --set stages.identity.data.loader.batch_size=4 \
  --set "stages.identity.task.identity=$small_id" --set stages.open_set.trainer.steps=2 \
  --set stages.open_set.trainer.threads=1 --set stages.open_set.trainer.sample_every=0 \
  --set stages.open_set.trainer.eval_every=0 --set stages.open_set.trainer.checkpoint_every=0 \
  --set "stages.open_set.task.identity=$small_id" \
  --set 'stages.open_set.task.attribute={"trunk": {"base_channels": 4, "num_layers": 0, "max_channels": 16, "out_dim": 0}, "latent_dim": 4}' \
  --set 'stages.open_set.task.generator={"base_channels": 4, "max_channels": 16}' \
  --set 'stages.open_set.task.discriminator={"base_channels": 4, "num_layers": 2}' > "$work/open_set.log"
grep -q "stage open_set: checkpoint" "$work/open_set.log" || fail "open_set pipeline: $(tail -3 "$work/open_set.log")"
ckpt4=$(ls "$work/open_set/open_set/checkpoints"/ckpt_*.pt | tail -1)
"$facegan" render --out "$work/os" --count 2 --set size=48 > /dev/null
"$facegan" infer mix --no-detect --checkpoint "$ckpt4" --image "$work/os/face_000000.png" --attribute "$work/os/face_000001.png" \
  --out "$work/mix.png" > "$work/mix.log"
grep -q "wrote $work/mix.png" "$work/mix.log" || fail "infer mix: $(cat "$work/mix.log")"
# PNG signature, then the IHDR chunk: width and height as big-endian 32-bit integers at bytes 16-23.
[ "$(od -An -tx1 -N8 "$work/mix.png" | tr -d ' \n')" = "89504e470d0a1a0a" ] || fail "infer mix wrote no PNG"
[ "$(od -An -tu1 -j16 -N8 "$work/mix.png" | tr -s ' ' | sed 's/^ //')" = "0 0 0 48 0 0 0 48" ] ||
  fail "infer mix wrote $(od -An -tu1 -j16 -N8 "$work/mix.png"), expected a 48x48 image"
if "$facegan" infer mix --no-detect --checkpoint "$ckpt1" --image "$work/os/face_000000.png" --attribute "$work/os/face_000001.png" \
  --out "$work/x3.png" 2> "$work/err8.log"; then fail "mix with a DeRL checkpoint accepted"; fi
grep -q "written by task 'derl', not 'open_set'" "$work/err8.log" || fail "mix with a DeRL checkpoint: $(cat "$work/err8.log")"
[ ! -e "$work/x3.png" ] || fail "mix with a DeRL checkpoint wrote an image"
if "$facegan" infer neutralize --no-detect --checkpoint "$ckpt4" --image "$work/os/face_000000.png" --out "$work/x4.png" \
  2> "$work/err9.log"; then fail "neutralize with an open_set checkpoint accepted"; fi
grep -q "written by task 'open_set', not 'derl'" "$work/err9.log" || fail "neutralize with an open_set checkpoint: $(cat "$work/err9.log")"

# experiment: every spec of configs/experiments/ validates from any folder; a tiny spec (two
# variants, a baseline, two seeds) runs and writes its tables; bad input is named.
for spec in "$configs"/experiments/*.json; do
  (cd "$work" && "$facegan" experiment --spec "$spec" --validate) > "$work/validate.log" 2>&1 ||
    fail "experiment --validate $spec: $(cat "$work/validate.log")"
done
cat > "$work/tiny_spec.json" << EOF
{"name": "tiny", "base": "$configs/pix2pix_synthetic.json",
 "set": {"trainer.steps": 2, "trainer.device": "cpu", "trainer.threads": 1, "stages.pix2pix.task.generator.depth": 5,
         "stages.pix2pix.task.generator.base_channels": 4, "stages.pix2pix.task.discriminator.base_channels": 4,
         "data.loader": {"batch_size": 4, "prefetch_threads": 0}},
 "variants": [{"name": "a"}, {"name": "b", "set": {"stages.pix2pix.task.generator.base_channels": 8}}],
 "baselines": [{"name": "no_op", "type": "return_input"}],
 "data": {"protocol": "split", "train_seed_key": "sample_seed",
          "train": {"type": "synthetic_pairs", "size": 32, "num_samples": 8, "split": "train"},
          "held_out": {"type": "synthetic_pairs", "size": 32, "num_samples": 4, "split": "held_out"}},
 "seeds": [0], "metrics": [{"name": "psnr"}, {"name": "l1", "higher_is_better": false}]}
EOF
"$facegan" experiment --spec "$work/tiny_spec.json" --seeds 1,2 --out "$work/exp" > "$work/exp.log" ||
  fail "experiment: $(tail -5 "$work/exp.log")"
for f in tiny.table.json tiny_paired.table.json tiny.md tiny.results.json; do
  [ -s "$work/exp/$f" ] || fail "experiment wrote no $f"
done
grep -q "about [0-9]* s left" "$work/exp.log" || fail "experiment shows no progress: $(head -5 "$work/exp.log")"
grep -q " ± " "$work/exp/tiny.md" || fail "the table has no mean ± std: $(cat "$work/exp/tiny.md")"
grep -q '"seeds": \[' "$work/exp/tiny.results.json" || fail "results.json lacks the seeds"
if "$facegan" experiment --spec "$work/tiny_spec.json" --seeds 1,x 2> "$work/err_exp1.log"; then fail "--seeds 1,x accepted"; fi
grep -q "'x' is not an integer" "$work/err_exp1.log" || fail "--seeds message: $(cat "$work/err_exp1.log")"
sed 's/"return_input"/"return_inputs"/' "$work/tiny_spec.json" > "$work/bad_spec.json"
if "$facegan" experiment --spec "$work/bad_spec.json" --out "$work/bad_exp" 2> "$work/err_exp2.log"; then
  fail "an unknown baseline accepted"
fi
grep -q "baseline 'no_op'.*unknown baseline 'return_inputs'" "$work/err_exp2.log" || fail "baseline message: $(cat "$work/err_exp2.log")"
[ ! -d "$work/bad_exp/runs" ] || fail "a bad spec trained something"

# report: the runs above on one page.
"$facegan" report --runs "$work" --out "$work/report.html" > "$work/report.log"
grep -q "sections" "$work/report.log" || fail "report: $(cat "$work/report.log")"
grep -q "<table>" "$work/report.html" || fail "report has no table"
grep -q "data:image/png;base64" "$work/report.html" || fail "report has no image"
echo "cli test: all checks passed"
