"""The Python side of the C++ vs Python benchmark harness (benchmarks/run_harness.py).

The same networks as facegan's tasks, written in plain PyTorch (pix2pix's from reference_nets.py,
which mirrors pytorch-CycleGAN-and-pix2pix layer for layer), trained with the loop a researcher would
write: a DataLoader on the calling thread, the task's G/D step order, torch.optim.Adam with its
defaults apart from the task's lr and betas, and one .item() per step (the C++ trainer's one host
read). Same flags and JSON keys as benchmarks/bench_steps.cpp; one measurement per process so that
the peak resident set size (resource.getrusage ru_maxrss) belongs to it.

    python bench_steps.py --task pix2pix --size 64 --batch 1 --steps 20 --warmup 3 --threads 1
    python bench_steps.py --task pix2pix --size 256 --infer --runs 20 --threads 1
    python bench_steps.py --task pix2pix --size 64 --optimizer --runs 10 --threads 1   (Adam step alone,
        default / foreach / fused implementations; a diagnostic)

Adding a task = one builder in BUILDERS here and one entry in bench_tasks() of bench_steps.cpp.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


import torch  # noqa: E402  (imported after peak_rss_mib so that its definition costs nothing)
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_nets  # noqa: E402

# The process with torch imported: the counterpart of the C++ program at the start of main().
BASELINE_MIB = peak_rss_mib()


def unet_depth(size):
    depth = int(round(math.log2(size)))
    if 2 ** depth != size:
        raise SystemExit(f"--size: must be a power of two, got {size}")
    return depth


def init_normal(module, gain=0.02):
    """pix2pix's init_weights('normal', 0.02), as facegan's models::init_weights(kNormal)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)


def count(*modules):
    return sum(p.numel() for m in modules for p in m.parameters())


def random_pairs(size, n):
    """n (input, target, expression) samples: the tensors synthetic_pairs gives the C++ side."""
    g = torch.Generator().manual_seed(0)
    inputs = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    targets = torch.rand(n, 3, size, size, generator=g) * 2 - 1
    expressions = torch.randint(1, 7, (n,), generator=g)
    return torch.utils.data.TensorDataset(inputs, targets, expressions)


# ----------------------------------------------------------------------------------------------
# pix2pix (and DeRL stage 1, which is pix2pix's recipe with theta = lambda = 100)

class Pix2Pix:
    def __init__(self, size):
        self.g = reference_nets.unet(3, 3, num_downs=unet_depth(size), norm="batch", use_dropout=True)
        self.d = reference_nets.patchgan(6, n_layers=3, norm="batch")
        init_normal(self.g)
        init_normal(self.d)
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.networks = [self.g, self.d]

    @staticmethod
    def set_requires_grad(net, flag):
        for p in net.parameters():
            p.requires_grad = flag

    def train_step(self, batch):
        real_a, real_b, _ = batch
        fake_b = self.g(real_a)
        # D step (pytorch-CycleGAN-and-pix2pix's backward_D)
        self.set_requires_grad(self.d, True)
        self.opt_d.zero_grad()
        pred_fake = self.d(torch.cat((real_a, fake_b.detach()), 1))
        pred_real = self.d(torch.cat((real_a, real_b), 1))
        loss_d = 0.5 * (F.binary_cross_entropy_with_logits(pred_fake, torch.zeros_like(pred_fake))
                        + F.binary_cross_entropy_with_logits(pred_real, torch.ones_like(pred_real)))
        loss_d.backward()
        self.opt_d.step()
        # G step with D frozen (backward_G)
        self.set_requires_grad(self.d, False)
        self.opt_g.zero_grad()
        pred_fake = self.d(torch.cat((real_a, fake_b), 1))
        loss_g = (F.binary_cross_entropy_with_logits(pred_fake, torch.ones_like(pred_fake))
                  + 100.0 * F.l1_loss(fake_b, real_b))
        loss_g.backward()
        self.opt_g.step()
        return loss_g

    def infer(self, x):
        return self.g(x)


# ----------------------------------------------------------------------------------------------
# DeRL stage 2: the frozen de-expression U-Net's activations -> residue classifier

class FlatUnet(nn.Module):
    """pix2pix's U-Net laid out flat so that every level's activation can be read (as facegan's
    UNetGenerator); same layers, parameter count and function as reference_nets.unet."""

    def __init__(self, depth, ngf=64, dropout=0.5):
        super().__init__()
        ch = [ngf * min(2 ** i, 8) for i in range(depth)]
        self.down, self.up = nn.ModuleList(), nn.ModuleList()
        for i in range(depth):
            layers = [] if i == 0 else [nn.LeakyReLU(0.2, True)]
            layers.append(nn.Conv2d(3 if i == 0 else ch[i - 1], ch[i], 4, 2, 1, bias=False))
            if 0 < i < depth - 1:
                layers.append(nn.BatchNorm2d(ch[i]))
            self.down.append(nn.Sequential(*layers))
        for i in range(depth):
            inner = ch[i] if i == depth - 1 else 2 * ch[i]
            if i == 0:
                layers = [nn.ReLU(True), nn.ConvTranspose2d(inner, 3, 4, 2, 1), nn.Tanh()]
            else:
                layers = [nn.ReLU(True), nn.ConvTranspose2d(inner, ch[i - 1], 4, 2, 1, bias=False),
                          nn.BatchNorm2d(ch[i - 1])]
                if i < depth - 1 and ch[i] == ch[-1] and ch[i - 1] == ch[-1] and dropout > 0:
                    layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))
        self.channels = ch

    def forward_features(self, x):
        enc = []
        h = x
        for block in self.down:
            h = block(h)
            enc.append(h)
        depth = len(self.down)
        dec = [None] * (depth - 1)
        u = self.up[depth - 1](enc[depth - 1])
        for i in range(depth - 2, -1, -1):
            dec[i] = u
            u = self.up[i](torch.cat((enc[i], u), 1))
        return u, enc, dec

    def forward(self, x):
        return self.forward_features(x)[0]


class ResidueClassifier(nn.Module):
    """DeRL's local CNNs on cat(encoder[i], decoder[i]) of each tapped level plus the final head on
    the local hidden layers and the pooled last encoding layer (facegan's ResidueClassifier)."""

    def __init__(self, unet_channels, levels, num_classes=6, local_channels=64, local_layers=2, hidden=128, pool_size=4,
                 dropout=0.3):
        super().__init__()
        self.levels = levels
        self.pool_size = pool_size
        self.local_features, self.local_hidden, self.local_out = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        for level in levels:
            layers, c = [], 2 * unet_channels[level]
            for _ in range(local_layers):
                layers += [nn.Conv2d(c, local_channels, 3, 1, 1, bias=False), nn.BatchNorm2d(local_channels),
                           nn.ReLU(True)]
                c = local_channels
            self.local_features.append(nn.Sequential(*layers))
            self.local_hidden.append(nn.Linear(local_channels * pool_size * pool_size, hidden))
            self.local_out.append(nn.Linear(hidden, num_classes))
        self.final = nn.Linear(unet_channels[-1] + hidden * len(levels), num_classes)
        self.dropout = nn.Dropout(dropout)

    def forward(self, enc, dec):
        local, hiddens = [], []
        for k, level in enumerate(self.levels):
            h = self.local_features[k](torch.cat((enc[level], dec[level]), 1))
            h = F.relu(self.local_hidden[k](F.adaptive_avg_pool2d(h, self.pool_size).flatten(1)))
            local.append(self.local_out[k](self.dropout(h)))
            hiddens.append(h)
        hiddens.append(F.relu(enc[-1]).mean((2, 3)))
        return local, self.final(self.dropout(torch.cat(hiddens, 1)))


class DeRLClassify:
    def __init__(self, size):
        depth = unet_depth(size)
        self.g = FlatUnet(depth)
        assert count(self.g) == count(reference_nets.unet(num_downs=depth)), "FlatUnet differs from reference_nets.unet"
        init_normal(self.g)
        for p in self.g.parameters():
            p.requires_grad = False
        self.g.eval()
        self.c = ResidueClassifier(self.g.channels, list(range(1, depth - 1)))
        self.opt_c = torch.optim.Adam(self.c.parameters(), lr=1e-3, betas=(0.9, 0.999))
        self.networks = [self.g, self.c]

    def train_step(self, batch):
        x, _, expression = batch
        labels = expression - 1  # classes [1..6] -> 0..5
        self.g.eval()
        with torch.no_grad():
            _, enc, dec = self.g.forward_features(x)
        local, final = self.c(enc, dec)
        loss = F.cross_entropy(final, labels) + sum(F.cross_entropy(l, labels) for l in local)
        self.opt_c.zero_grad()
        loss.backward()
        self.opt_c.step()
        return loss

    def infer(self, x):
        _, enc, dec = self.g.forward_features(x)
        return self.c(enc, dec)[1]


BUILDERS = {
    "pix2pix": Pix2Pix,
    "derl_deexpression": Pix2Pix,
    "derl_classify": DeRLClassify,
}


def no_inplace(task):
    """Diagnostic (--no-inplace): every ReLU / LeakyReLU out of place, as facegan's C++ ConvBlock
    applies them, to measure what pix2pix's inplace activations are worth on the Python side."""
    for net in task.networks:
        for m in net.modules():
            if isinstance(m, (nn.ReLU, nn.LeakyReLU)):
                m.inplace = False


def measure_train(args):
    n = max(8, 4 * args.batch)
    loader = torch.utils.data.DataLoader(random_pairs(args.size, n), batch_size=args.batch, shuffle=True,
                                         drop_last=True, num_workers=0)
    torch.manual_seed(0)
    task = BUILDERS[args.task](args.size)
    if args.no_inplace:
        no_inplace(task)
    parameters = count(*task.networks)
    for net in task.networks:
        net.train()  # as the C++ trainer does; a task keeps its frozen networks in eval() itself
    step, t_start, c_start = 0, time.perf_counter(), time.process_time()
    total = args.warmup + args.steps
    while step < total:
        for batch in loader:
            loss = task.train_step(batch)
            value = loss.item()  # the one host read per step (logging / NaN check)
            if not math.isfinite(value):
                raise SystemExit(f"non-finite loss at step {step}")
            step += 1
            if step == args.warmup:
                t_start, c_start = time.perf_counter(), time.process_time()
            if step == total:
                break
    t_end, c_end = time.perf_counter(), time.process_time()
    peak = peak_rss_mib()
    steps_per_s = args.steps / (t_end - t_start)
    steps_per_cpu_s = args.steps / (c_end - c_start)
    return {"language": "python", "mode": "train", "task": args.task, "size": args.size, "batch": args.batch,
            "steps": args.steps, "warmup": args.warmup, "threads": torch.get_num_threads(),
            "steps_per_s": steps_per_s, "images_per_s": steps_per_s * args.batch,
            "steps_per_cpu_s": steps_per_cpu_s, "images_per_cpu_s": steps_per_cpu_s * args.batch, "peak_rss_mib": peak,
            "baseline_rss_mib": BASELINE_MIB, "peak_rss_delta_mib": peak - BASELINE_MIB, "parameters": parameters}


def measure_infer(args):
    torch.manual_seed(0)
    task = BUILDERS[args.task](args.size)
    if args.no_inplace:
        no_inplace(task)
    parameters = count(*task.networks)
    for net in task.networks:
        net.eval()
    x = torch.rand(1, 3, args.size, args.size) * 2 - 1
    ms, cpu_ms = [], []
    with torch.inference_mode():
        for _ in range(max(args.warmup, 1)):
            task.infer(x)
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            y = task.infer(x)
            ms.append((time.perf_counter() - t0) * 1e3)
            cpu_ms.append((time.process_time() - c0) * 1e3)
            assert y.shape[0] == 1
    peak = peak_rss_mib()
    return {"language": "python", "mode": "infer", "task": args.task, "size": args.size, "runs": args.runs,
            "threads": torch.get_num_threads(), "latency_ms": statistics.median(ms), "latency_ms_min": min(ms),
            "cpu_latency_ms": statistics.median(cpu_ms),
            "peak_rss_mib": peak, "baseline_rss_mib": BASELINE_MIB, "peak_rss_delta_mib": peak - BASELINE_MIB,
            "parameters": parameters}


def measure_optimizer(args):
    """CPU ms of one optimizer step over every optimizer of the task (random gradients), for
    torch.optim.Adam's default on CPU (the for-loop implementation), foreach=True and fused=True."""
    torch.manual_seed(0)
    task = BUILDERS[args.task](args.size)
    optimizers = [v for v in vars(task).values() if isinstance(v, torch.optim.Optimizer)]
    groups = [(o.param_groups[0]["params"], o.defaults) for o in optimizers]
    parameters = sum(p.numel() for ps, _ in groups for p in ps)
    result = {"language": "python", "mode": "optimizer", "task": args.task, "size": args.size, "runs": args.runs,
              "threads": torch.get_num_threads(), "parameters": parameters}
    for name, kwargs in (("adam_ms", {}), ("foreach_adam_ms", {"foreach": True}), ("fused_adam_ms", {"fused": True})):
        opts = []
        for ps, d in groups:
            for p in ps:
                p.grad = torch.randn_like(p) * 1e-3
            opts.append(torch.optim.Adam(ps, lr=d["lr"], betas=d["betas"], eps=d["eps"], **kwargs))
        ms = []
        for i in range(args.runs + 1):
            c0 = time.process_time()
            for o in opts:
                o.step()
            if i > 0:  # the first step allocates the state
                ms.append((time.process_time() - c0) * 1e3)
        result[name] = statistics.median(ms)
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=sorted(BUILDERS))
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--infer", action="store_true")
    p.add_argument("--optimizer", action="store_true")
    p.add_argument("--no-inplace", action="store_true", help="diagnostic: activations out of place")
    p.add_argument("--list", action="store_true")
    args = p.parse_args()
    if args.list:
        print("\n".join(BUILDERS))
        return
    if args.task is None:
        p.error("--task is required")
    torch.set_num_threads(args.threads)
    if args.optimizer:
        result = measure_optimizer(args)
    else:
        result = measure_infer(args) if args.infer else measure_train(args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
