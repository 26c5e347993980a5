"""Weights both ways between facegan and Python PyTorch (run by tests/interop/run.sh under CTest).

Import: pix2pix's reference networks (benchmarks/python/reference_nets.py, pytorch-CycleGAN-and-pix2pix's
names) and the papers' Python mirrors (benchmarks/python/bench_steps.py) get seeded random weights,
torch.save writes their state dicts, `facegan import` turns them into checkpoints, and the C++ forward
(interop_forward, which loads a checkpoint's network as `facegan export` does) must equal Python's on
the same input. Export: tiny facegan runs train for a step or two, `facegan export` writes their
networks, the mirrors load them with torch.load + load_state_dict(strict=True), and their outputs
must equal the C++ forward of the trained checkpoint. Every comparison in eval mode; prints the
largest absolute difference of each; exits 1 when one exceeds its tolerance.
"""
import argparse
import json
import math
import os
import subprocess
import sys

import torch

ap = argparse.ArgumentParser()
ap.add_argument("--facegan", required=True)
ap.add_argument("--forward", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--repo", required=True)
args = ap.parse_args()

sys.path.insert(0, os.path.join(args.repo, "benchmarks", "python"))
import bench_steps  # noqa: E402
import reference_nets  # noqa: E402

torch.set_num_threads(1)
W = args.work
TOL = 1e-5
results = []


def path(name):
    return os.path.join(W, name)


def run(*cmd):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"FAILED: {' '.join(map(str, cmd))}\n{p.stdout}{p.stderr}")
    return p.stdout


def randomize(net, seed):
    """Seeded weights of every parameter and buffer, scaled so that activations stay of order one
    (std 1/sqrt(fan-in)); batch norm statistics random too, so that eval mode depends on them."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.dim() > 1:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel()))
            elif name.endswith("weight"):
                p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        for name, b in net.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=g) * 0.1)
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)
    return net.eval()


def rand(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


pending = []


def expect(label, python_out, checkpoint, network, inputs):
    """Queues a comparison of `python_out` with the C++ forward of `network` of `checkpoint` on
    `inputs`; check() runs the queued ones in one interop_forward process."""
    k = len(results) + len(pending)
    torch.save(inputs, path(f"in_{k}.pth"))
    pending.append((label, python_out, [checkpoint, network, path(f"in_{k}.pth"), path(f"out_{k}.pth")]))


def check():
    run(args.forward, *[a for _, _, job in pending for a in job])
    for label, python_out, job in pending:
        compare(label, python_out, torch.load(job[3]))
    pending.clear()


def compare(label, python_out, cpp_out, tol=TOL):
    worst, scale = 0.0, 0.0
    for key, value in python_out.items():
        ref = cpp_out[key]
        assert ref.shape == value.shape, f"{label} {key}: C++ {tuple(ref.shape)} vs Python {tuple(value.shape)}"
        worst = max(worst, (value - ref).abs().max().item())
        scale = max(scale, value.abs().max().item())
    # Absolute, and relative to the outputs' size (a trained network's outputs can be small).
    ok = worst <= tol and worst <= 1e-3 * scale
    results.append({"check": label, "max_abs_diff": worst, "max_abs_output": scale, "tolerance": tol, "ok": ok})
    print(f"{'ok ' if ok else 'BAD'} {label}: max |C++ - Python| = {worst:.3g} (outputs up to {scale:.3g}, tolerance {tol:g})",
          flush=True)
    return worst


def strict_load(net, file):
    net.load_state_dict(torch.load(file), strict=True)  # weights_only=True, torch.load's default
    return net.eval()


# ---------------------------------------------------------------------------------------------
# Import: pytorch-CycleGAN-and-pix2pix's networks.

with torch.no_grad():
    for norm in ("batch", "instance"):
        # unet_256 as pix2pix's pretrained models have it (ngf 64, batch norm) and a slimmer one
        # (ngf 16) with instance norm: the import reads the channel counts from the file.
        g = randomize(reference_nets.UnetGenerator(3, 3, 8, ngf=64 if norm == "batch" else 16, norm=norm, use_dropout=True), 1)
        torch.save(g.state_dict(), path(f"unet_{norm}.pth"))
        run(args.facegan, "import", "--arch", "unet_256", "--norm", norm, "--state-dict", path(f"unet_{norm}.pth"),
            "--out", path(f"unet_{norm}.pt"))
        x = rand(1, 3, 256, 256, seed=2)
        y = g(x)
        expect(f"import unet_256 {norm}", {"y": y}, path(f"unet_{norm}.pt"), "g", {"x": x})
        # The comparison would see one filter of an inner layer changed (and the outputs are not saturated).
        assert (y.abs() < 0.9).float().mean() > 0.5, f"unet_256 {norm}: outputs saturated, the check would be weak"
        g.model.model[1].model[3].model[1].weight[:1].neg_()
        assert (g(x) - y).abs().max() > 1e-4, f"unet_256 {norm}: one filter changed would go unseen"

        # CycleGAN's generator with instance norm and without dropout (--no_dropout), pix2pix's
        # ResNet option with batch norm and dropout: the import reads which from the keys.
        g = randomize(reference_nets.ResnetGenerator(3, 3, norm=norm, n_blocks=9, use_dropout=norm == "batch"), 3)
        torch.save(g.state_dict(), path(f"resnet_{norm}.pth"))
        run(args.facegan, "import", "--arch", "resnet_9blocks", "--norm", norm, "--state-dict", path(f"resnet_{norm}.pth"),
            "--out", path(f"resnet_{norm}.pt"))
        x = rand(1, 3, 64, 64, seed=4)
        expect(f"import resnet_9blocks {norm}", {"y": g(x)}, path(f"resnet_{norm}.pt"), "g", {"x": x})

        d = randomize(reference_nets.NLayerDiscriminator(6, n_layers=3, norm=norm), 5)
        torch.save(d.state_dict(), path(f"patchgan_{norm}.pth"))
        run(args.facegan, "import", "--arch", "patchgan", "--norm", norm, "--state-dict", path(f"patchgan_{norm}.pth"),
            "--out", path(f"patchgan_{norm}.pt"))
        x = rand(1, 6, 64, 64, seed=6)
        expect(f"import patchgan {norm}", {"y": d(x)}, path(f"patchgan_{norm}.pt"), "d", {"x": x})

# `facegan infer translate` runs the imported U-Net on an image file.
run(args.facegan, "render", "--out", path("faces"), "--count", "1", "--set", "size=64")
run(args.facegan, "infer", "translate", "--checkpoint", path("unet_batch.pt"), "--image", path("faces/face_000000.png"),
    "--size", "256", "--out", path("translated.png"))
assert os.path.getsize(path("translated.png")) > 0, "infer translate wrote no image"

# ---------------------------------------------------------------------------------------------
# The papers' mirrors, at the sizes of the configs they are built for.

open_set_config = os.path.join(args.repo, "tests", "cli", "open_set_tiny.json")
with open(open_set_config) as f:
    ot = json.load(f)["task"]
side, ids = ot["image_size"], ot["num_identities"]
emb, latent = ot["identity"]["embedding_dim"], ot["attribute"]["latent_dim"]


def open_set_mirrors():
    return {
        "identity": bench_steps.IdentityNet(ids, base=ot["identity"]["base_channels"], stages=ot["identity"]["num_stages"],
                                            blocks=ot["identity"]["blocks_per_stage"], embedding_dim=emb),
        "attribute": bench_steps.VariationalEncoder(bench_steps.unet_depth(side), base=ot["attribute"]["trunk"]["base_channels"],
                                                    max_channels=ot["attribute"]["trunk"]["max_channels"], latent_dim=latent),
        "generator": bench_steps.ConvDecoder(emb + latent, side, base=ot["generator"]["base_channels"],
                                             max_channels=ot["generator"]["max_channels"]),
        "discriminator": bench_steps.PatchFeatures(3, ot["discriminator"]["base_channels"], ot["discriminator"]["num_layers"]),
    }


def open_set_outputs(name, net, inputs):
    if name == "identity":
        embedding, logits = net(inputs["x"])
        return {"embedding": embedding, "logits": logits}
    if name == "attribute":
        mu, logvar, _, _ = net(inputs["x"])
        return {"mu": mu, "logvar": logvar}
    if name == "generator":
        return {"y": net(inputs["z"])}
    return {"y": net(inputs["x"])}


open_set_inputs = {"identity": {"x": rand(2, 3, side, side, seed=7)}, "attribute": {"x": rand(2, 3, side, side, seed=8)},
                   "generator": {"z": torch.randn(2, emb + latent, generator=torch.Generator().manual_seed(9))},
                   "discriminator": {"x": rand(2, 3, side, side, seed=10)}}

makeup_config = os.path.join(args.repo, "configs", "makeup_synthetic.json")
makeup_pairs = bench_steps.random_makeup_pairs(64, 1)[0:1]
makeup_inputs = {"g": {"x": makeup_pairs[0], "warped": makeup_pairs[2], "areas": makeup_pairs[4],
                       "landmarks": makeup_pairs[6]},
                 "f": {"x": makeup_pairs[1], "cond": makeup_pairs[5]},
                 "d_x": {"x": rand(1, 3, 64, 64, seed=11)}}


def makeup_mirrors():
    return {"g": bench_steps.MakeupGenerator(), "f": bench_steps.makeup_unet(3, 6),
            "d_x": reference_nets.patchgan(3, ndf=32, n_layers=3, norm="instance")}


def makeup_outputs(name, net, inputs):
    if name == "g":
        return {"y": net.deltas(inputs["x"], inputs["warped"], inputs["areas"], inputs["landmarks"])}
    if name == "f":
        return {"y": net(torch.cat((inputs["x"], inputs["cond"]), 1))}
    return {"y": net(inputs["x"])}


with torch.no_grad():
    for task, config, mirrors, outputs, inputs in (("open_set", open_set_config, open_set_mirrors, open_set_outputs, open_set_inputs),
                                                   ("makeup", makeup_config, makeup_mirrors, makeup_outputs, makeup_inputs)):
        nets = mirrors()
        files = []
        for k, (name, net) in enumerate(nets.items()):
            randomize(net, 20 + k)
            torch.save(net.state_dict(), path(f"{task}_{name}.pth"))
            files += ["--state-dict", f"{name}={path(f'{task}_{name}.pth')}"]
        run(args.facegan, "import", "--arch", task, "--config", config, *files, "--out", path(f"{task}_imported.pt"))
        for name, net in nets.items():
            expect(f"import {task} {name}", outputs(name, net, inputs[name]), path(f"{task}_imported.pt"), name,
                   inputs[name])
check()

# ---------------------------------------------------------------------------------------------
# Export: networks trained by facegan, loaded by their Python counterparts.

pix2pix_config = os.path.join(args.repo, "configs", "pix2pix_synthetic.json")
run(args.facegan, "train", "--config", pix2pix_config, "--set", f"trainer.out_dir={path('pix2pix_run')}",
    "--set", "trainer.steps=2", "--set", "trainer.sample_every=0", "--set", "trainer.eval_every=0",
    "--set", "trainer.checkpoint_every=0", "--set", "trainer.device=cpu", "--set", "task.generator.depth=5",
    "--set", "task.generator.base_channels=4", "--set", "task.discriminator.base_channels=4",
    "--set", "data.train.size=32", "--set", "data.train.num_samples=8", "--set", "data.eval.size=32",
    "--set", "data.eval.num_samples=4", "--set", "data.loader.batch_size=4")
run(args.facegan, "train", "--config", open_set_config, "--set", f"trainer.out_dir={path('open_set_run')}")
run(args.facegan, "train", "--config", makeup_config, "--set", f"trainer.out_dir={path('makeup_run')}",
    "--set", "trainer.steps=1", "--set", "trainer.sample_every=0", "--set", "trainer.eval_every=0",
    "--set", "trainer.checkpoint_every=0", "--set", "trainer.device=cpu", "--set", "data.train.size=64",
    "--set", "data.train.num_samples=2", "--set", "data.eval.size=64", "--set", "data.eval.num_samples=2",
    "--set", "data.loader.batch_size=2")


def latest(run_dir):
    folder = os.path.join(run_dir, "checkpoints")
    return os.path.join(folder, sorted(f for f in os.listdir(folder) if f.endswith(".pt"))[-1])


with open(pix2pix_config) as f:
    d_layers = json.load(f)["task"]["discriminator"]["num_layers"]
with torch.no_grad():
    ckpt = latest(path("pix2pix_run"))
    pix2pix_nets = {"g": (reference_nets.UnetGenerator(3, 3, 5, ngf=4, norm="batch", use_dropout=True), rand(1, 3, 32, 32, seed=12)),
                    "d": (reference_nets.NLayerDiscriminator(6, ndf=4, n_layers=d_layers, norm="batch"), rand(1, 6, 32, 32, seed=13))}
    for name, (net, x) in pix2pix_nets.items():
        run(args.facegan, "export", "--checkpoint", ckpt, "--network", name, "--out", path(f"pix2pix_{name}.pth"))
        strict_load(net, path(f"pix2pix_{name}.pth"))
        expect(f"export pix2pix {name}", {"y": net(x)}, ckpt, name, {"x": x})

    for task, mirrors, outputs, inputs in (("open_set", open_set_mirrors, open_set_outputs, open_set_inputs),
                                           ("makeup", makeup_mirrors, makeup_outputs, makeup_inputs)):
        ckpt = latest(path(f"{task}_run"))
        for name, net in mirrors().items():
            run(args.facegan, "export", "--checkpoint", ckpt, "--network", name, "--out", path(f"{task}_{name}_export.pth"))
            strict_load(net, path(f"{task}_{name}_export.pth"))
            expect(f"export {task} {name}", outputs(name, net, inputs[name]), ckpt, name, inputs[name])
check()

with open(path("results.json"), "w") as f:
    json.dump(results, f, indent=1)
bad = [r["check"] for r in results if not r["ok"]]
if bad:
    sys.exit(f"FAILED: {len(bad)} of {len(results)} comparisons exceed their tolerance: {', '.join(bad)}")
print(f"interop round trips: all {len(results)} comparisons within tolerance")
