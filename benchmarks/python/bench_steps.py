"""The Python side of the C++ vs Python benchmark harness (benchmarks/run_harness.py).

The same networks as facegan's tasks, written in plain PyTorch (pix2pix's from reference_nets.py,
which mirrors pytorch-CycleGAN-and-pix2pix layer for layer; DeRL's, open_set's and makeup's written
out from facegan's blocks), trained with the loop a researcher would write: a DataLoader on the
calling thread, the task's G/D step order, torch.optim.Adam with its defaults apart from the task's lr
and betas (--fused-adam: fused=True, the kernel of facegan's FusedAdam), and one .item() per step (the
C++ trainer's one host read). Same flags and JSON keys as benchmarks/bench_steps.cpp; one measurement
per process so that the peak resident set size (resource.getrusage ru_maxrss) belongs to it.

    python bench_steps.py --task pix2pix --size 64 --batch 1 --steps 20 --warmup 3 --threads 1 [--fused-adam]
    python bench_steps.py --task pix2pix --size 256 --infer --runs 20 --threads 1
    python bench_steps.py --task pix2pix --size 64 --optimizer --runs 10 --threads 1   (Adam step alone,
        default / foreach / fused implementations; a diagnostic)
    python bench_steps.py --task open_set --size 64 --check FILE   (FILE from bench_steps --check: the
        C++ weights loaded into the mirror, the outputs recomputed and compared; exit 1 on a mismatch)
    --profile FILE   the autograd profiler's chrome trace of the timed steps or calls

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


# Keyword arguments of every torch.optim.Adam the builders make: {} = torch.optim.Adam's default on
# CPU (the for-loop implementation, what the harness compares against); --fused-adam sets
# {"fused": True} (at::_fused_adam_, the kernel behind facegan's train::FusedAdam) for a comparison
# of the step with the same optimizer kernel on both sides.
ADAM_KWARGS = {}


def adam(params, lr, betas):
    return torch.optim.Adam(params, lr=lr, betas=betas, **ADAM_KWARGS)


def count(*modules):
    return sum(p.numel() for m in modules for p in m.parameters())


def random_identity_pairs(size, n, num_identities=160):
    """n (source, attribute, target, source_identity, attribute_identity, same) samples: the tensors
    synthetic_identity_pairs gives the C++ side (labels in [0, num_identities), half same-person)."""
    g = torch.Generator().manual_seed(0)
    images = [torch.rand(n, 3, size, size, generator=g) * 2 - 1 for _ in range(3)]
    ids = [torch.randint(0, num_identities, (n,), generator=g) for _ in range(2)]
    same = (torch.rand(n, generator=g) < 0.5).float()
    return torch.utils.data.TensorDataset(*images, *ids, same)


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
        self.opt_g = adam(self.g.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999))
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

    def infer(self, x, y=None):
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
        self.opt_c = adam(self.c.parameters(), lr=1e-3, betas=(0.9, 0.999))
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

    def infer(self, x, y=None):
        _, enc, dec = self.g.forward_features(x)
        return self.c(enc, dec)[1]


# ----------------------------------------------------------------------------------------------
# Open-set identity-preserving synthesis (Bao et al. 2018): configs/open_set_synthetic.json's
# open_set stage, the networks of facegan's blocks written out layer for layer.

def set_requires_grad(net, flag):
    for p in net.parameters():
        p.requires_grad = flag


class ResidualBlock(nn.Module):
    """facegan's ResidualBlock (ResNet basic block): conv3x3-BN-ReLU, conv3x3-BN, 1x1 conv + BN
    shortcut when the stride or width changes, ReLU after the sum."""

    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else None)

    def forward(self, x):
        y = self.conv2(self.conv1(x)) + (self.shortcut(x) if self.shortcut is not None else x)
        return F.relu(y)


class IdentityNet(nn.Module):
    """facegan's IdentityNet (I = C): 3x3 stem, residual stages (each after the first halves the map
    and doubles the width), global average pooling, linear embedding f_I, linear softmax head."""

    def __init__(self, num_classes, base=32, stages=4, blocks=2, embedding_dim=128):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, base, 3, 1, 1, bias=False), nn.BatchNorm2d(base), nn.ReLU())
        self.stages = nn.ModuleList()
        c = base
        for s in range(stages):
            out = c if s == 0 else 2 * c
            self.stages.append(nn.Sequential(*[ResidualBlock(c if b == 0 else out, out, 2 if b == 0 and s > 0 else 1)
                                               for b in range(blocks)]))
            c = out
        self.embedding = nn.Linear(c, embedding_dim)
        self.classifier = nn.Linear(embedding_dim, num_classes)

    def forward(self, x):
        h = self.stem(x)
        for stage in self.stages:
            h = stage(h)
        embedding = self.embedding(h.mean((2, 3)))
        return embedding, self.classifier(embedding)


class VariationalEncoder(nn.Module):
    """facegan's VariationalEncoder (A) with a ConvEncoder trunk of `layers` 4x4 stride-2 convolutions
    (no norm on the first, batch norm after, leaky ReLU 0.2), global average pooling, linear mu and
    log sigma^2; z = mu + sigma * eps in training, mu in eval. Returns the trunk's activations too
    (the optional attribute skip reads one)."""

    def __init__(self, layers, base=32, max_channels=256, latent_dim=64):
        super().__init__()
        self.stages = nn.ModuleList()
        cin, cout = 3, base
        for i in range(layers):
            block = [nn.Conv2d(cin, cout, 4, 2, 1, bias=i == 0)]
            if i > 0:
                block.append(nn.BatchNorm2d(cout))
            block.append(nn.LeakyReLU(0.2))
            self.stages.append(nn.Sequential(*block))
            cin, cout = cout, min(cout * 2, max_channels)
        self.mu = nn.Linear(cin, latent_dim)
        self.logvar = nn.Linear(cin, latent_dim)

    def forward(self, x):
        features, h = [], x
        for stage in self.stages:
            h = stage(h)
            features.append(h)
        h = h.mean((2, 3))
        mu, logvar = self.mu(h), self.logvar(h)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if self.training else mu
        return mu, logvar, z, features


class ConvDecoder(nn.Module):
    """facegan's ConvDecoder (G): linear layer to a [C, 4, 4] map (ReLU), 4x4 stride-2 transposed
    convolutions with batch norm and ReLU up to the image size (channels base * image / side, at
    most max_channels), 3x3 convolution and tanh; optionally a 1x1-projected skip map joined at its
    side (open_set's attribute_skip_size)."""

    def __init__(self, in_dim, image_size, base=32, max_channels=256, start=4, skip_size=0, skip_in=0, skip_ch=0):
        super().__init__()
        channels_at = lambda side: min(base * max(image_size // side, 1), max_channels)  # noqa: E731
        self.start, self.skip_size = start, skip_size
        size, cin = start, channels_at(start)
        self.fc = nn.Linear(in_dim, cin * size * size)
        self.stages = nn.ModuleList()
        while size < image_size:
            size *= 2
            if skip_size == size // 2:
                cin += skip_ch
            out = channels_at(size)
            self.stages.append(nn.Sequential(nn.ConvTranspose2d(cin, out, 4, 2, 1, bias=False), nn.BatchNorm2d(out),
                                             nn.ReLU()))
            cin = out
        self.head = nn.Sequential(nn.Conv2d(cin, 3, 3, 1, 1), nn.Tanh())
        self.skip = nn.Conv2d(skip_in, skip_ch, 1) if skip_size else None

    def forward(self, z, skip=None):
        s = self.start
        h = F.relu(self.fc(z)).view(z.shape[0], -1, s, s)
        for stage in self.stages:
            if s == self.skip_size:
                h = torch.cat((h, F.relu(self.skip(skip))), 1)
            h = stage(h)
            s *= 2
        return self.head(h)


class PatchFeatures(nn.Module):
    """reference_nets.patchgan (facegan's PatchDiscriminator) that also returns the activation of
    every block before the logit layer (Bao et al.'s L_GD matches them)."""

    def __init__(self, input_nc, ndf, n_layers):
        super().__init__()
        seq = reference_nets.patchgan(input_nc, ndf=ndf, n_layers=n_layers, norm="batch")
        # Blocks: [conv, lrelu], then [conv, bn, lrelu] per layer, then the logit conv.
        self.blocks = nn.ModuleList([seq[0:2]] + [seq[2 + 3 * i:5 + 3 * i] for i in range(n_layers)]
                                    + [seq[2 + 3 * n_layers:]])

    def forward_features(self, x):
        features, h = [], x
        for block in self.blocks[:-1]:
            h = block(h)
            features.append(h)
        return self.blocks[-1](h), features

    def forward(self, x):
        return self.forward_features(x)[0]


class OpenSet:
    """OpenSetTask's train step (Bao et al. Alg. 1 as facegan runs it): I/C on L_I; f_I(x_s) from I in
    eval mode; one pass of A and G; D on x_a vs the detached x'; A and G on L_KL + L_GR + L_GD + L_GC
    with I and D frozen. Optimizers: I/C, A+G (one), D."""

    data = staticmethod(random_identity_pairs)

    def __init__(self, size, num_identities=160, skip_size=0, skip_channels=16):
        levels = unet_depth(size)
        self.i = IdentityNet(num_identities)
        self.a = VariationalEncoder(levels)
        skip_in = 0
        if skip_size:  # trunk stage of side skip_size
            skip_in = self.a.stages[levels - unet_depth(skip_size) - 1][0].out_channels
        self.g = ConvDecoder(128 + 64, size, skip_size=skip_size, skip_in=skip_in, skip_ch=skip_channels)
        self.skip_stage = levels - unet_depth(skip_size) - 1 if skip_size else None
        self.d = PatchFeatures(3, 32, 3)
        for net in (self.i, self.a, self.g, self.d):
            init_normal(net)
        self.opt_i = adam(self.i.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_g = adam(list(self.a.parameters()) + list(self.g.parameters()), lr=5e-4, betas=(0.5, 0.999))
        self.opt_d = adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.networks = [self.i, self.a, self.g, self.d]

    def identity_fixed(self, x):
        """I with batch norm in eval mode, its mode restored after (as OpenSetTask::identity_fixed)."""
        was_training = self.i.training
        self.i.eval()
        out = self.i(x)
        self.i.train(was_training)
        return out

    def identity_loss(self, batch):
        """L_I: softmax cross entropy over both images of each pair (-1 = unlabeled)."""
        xs, xa, _, sid, aid, _ = batch
        _, logits = self.i(torch.cat((xs, xa), 0))
        return F.cross_entropy(logits, torch.cat((sid, aid), 0), ignore_index=-1)

    def generator_terms(self, batch, f_source, a_out, fake):
        """The weighted A+G terms (OpenSetTask::losses_for): L_KL, L_GR (per-pair weights), L_GD on
        D's activations, L_GC on f_I."""
        _, xa, _, _, _, same = batch
        mu, logvar = a_out[0], a_out[1]
        kl = 0.001 * (0.5 * (mu.square() + logvar.exp() - 1.0 - logvar)).sum(1).mean()
        weights = same + (1.0 - same) * 0.1
        gr = (weights * (fake - xa).square().flatten(1).mean(1)).mean()
        _, fake_feats = self.d.forward_features(fake)
        with torch.no_grad():
            _, real_feats = self.d.forward_features(xa)
        gd = sum(F.mse_loss(f, r) for f, r in zip(fake_feats, real_feats))
        f_fake, _ = self.identity_fixed(fake)
        gc = F.mse_loss(f_fake, f_source)
        return {"kl": kl, "gr": gr, "gd": gd, "gc": gc}

    def decode(self, f, a_out):
        mu, logvar, z, features = a_out
        skip = features[self.skip_stage] if self.skip_stage is not None else None
        return self.g(torch.cat((f, z), 1), skip)

    def train_step(self, batch):
        xs, xa = batch[0], batch[1]
        # 1. I/C on L_I.
        loss_i = self.identity_loss(batch)
        self.opt_i.zero_grad()
        loss_i.backward()
        self.opt_i.step()
        with torch.no_grad():
            f_source, _ = self.identity_fixed(xs)
        # 2. One pass of A and G.
        a_out = self.a(xa)
        fake = self.decode(f_source, a_out)
        # 3. D: x_a real, x' (detached) fake; vanilla GAN.
        real_logits = self.d(xa)
        fake_logits = self.d(fake.detach())
        loss_d = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                  + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        # 4. A and G with I/C and D frozen.
        set_requires_grad(self.d, False)
        set_requires_grad(self.i, False)
        loss_g = sum(self.generator_terms(batch, f_source, a_out, fake).values())
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        set_requires_grad(self.d, True)
        set_requires_grad(self.i, True)
        return loss_g

    def infer(self, x, y):
        """mix(x_s, x_a) in eval mode: G([f_I(x_s), mean of A(x_a)])."""
        f, _ = self.i(x)
        return self.decode(f, self.a(y))

    batch_keys = ["source", "attribute", "target", "source_identity", "attribute_identity", "same"]

    def check_outputs(self, batch):
        """What bench_steps --check writes (OpenSetTask::generator_losses, identity_loss, mix), every
        network in eval()."""
        f_source, _ = self.identity_fixed(batch[0])
        a_out = self.a(batch[1])
        out = self.generator_terms(batch, f_source, a_out, self.decode(f_source, a_out))
        out["identity"] = self.identity_loss(batch)
        out["mix"] = self.infer(batch[0], batch[1])
        return out

    def check_parameters(self):
        """Parameters and buffers per C++ network name, in the C++ registration order."""
        return {name: (list(net.parameters()), list(net.buffers()))
                for name, net in zip(("identity", "attribute", "generator", "discriminator"), self.networks)}


# ----------------------------------------------------------------------------------------------
# PairedCycleGAN (Chang et al. 2018): configs/makeup_synthetic.json's makeup task. The U-Nets are
# reference_nets.unet with instance norm (facegan's UNetGenerator with conditioning channels is that
# network on cat(x, cond)); the discriminators reference_nets.patchgan with instance norm.

EYES = list(range(17, 27)) + list(range(36, 48))
LIPS = list(range(48, 68))
SKIN = list(range(68))
AREA_LANDMARKS = [EYES, LIPS, SKIN]


def template_landmarks(size):
    """A plausible 68-point (iBUG order) face on a size x size image: jaw arc, brows, nose, eyes,
    outer and inner lips. The makeup step's cost does not depend on where the boxes lie (the crops are
    crop_size x crop_size whatever the box), only that the boxes are valid; see docs/benchmarks.md."""
    pts = []
    for i in range(17):  # jaw: from the left temple under the chin to the right one
        t = math.pi - i * math.pi / 16
        pts.append((0.5 + 0.4 * math.cos(t), 0.35 + 0.57 * math.sin(t)))
    for x0 in (0.18, 0.58):  # brows
        pts += [(x0 + 0.06 * k, 0.28 - 0.03 * math.sin(math.pi * k / 4)) for k in range(5)]
    pts += [(0.5, 0.35 + 0.05 * k) for k in range(4)]  # nose bridge
    pts += [(0.42 + 0.04 * k, 0.6) for k in range(5)]  # nostrils
    for cx in (0.32, 0.68):  # eyes
        pts += [(cx + 0.07 * math.cos(math.pi - k * math.pi / 3), 0.38 - 0.03 * math.sin(math.pi - k * math.pi / 3))
                for k in range(6)]
    pts += [(0.5 + 0.15 * math.cos(math.pi - k * math.pi / 6), 0.75 - 0.06 * math.sin(math.pi - k * math.pi / 6))
            for k in range(12)]  # outer lips
    pts += [(0.5 + 0.1 * math.cos(math.pi - k * math.pi / 4), 0.75 - 0.03 * math.sin(math.pi - k * math.pi / 4))
            for k in range(8)]  # inner lips
    assert len(pts) == 68
    return torch.tensor(pts) * size


def area_boxes(landmarks, area, padding=0.15):
    """facegan's area_boxes: the square box (x0, y0, x1, y1) about an area's landmarks, grown by
    padding times its side on every side; [N, 4]."""
    p = landmarks[:, AREA_LANDMARKS[area]] + 0.5
    lo, hi = p.min(1).values, p.max(1).values
    centre = (lo + hi) / 2
    side = (hi - lo).max(1, keepdim=True).values.clamp_min(2.0) * (1 + 2 * padding)
    return torch.cat((centre - side / 2, centre + side / 2), 1)


def box_theta(boxes, h, w):
    x0, y0, x1, y1 = boxes.unbind(1)
    a, b = (x1 - x0) / w, (x0 + x1) / w - 1
    c, d = (y1 - y0) / h, (y0 + y1) / h - 1
    z = torch.zeros_like(a)
    return torch.stack((torch.stack((a, z, b), 1), torch.stack((z, c, d), 1)), 1)


def crop_boxes(images, boxes, size):
    theta = box_theta(boxes, images.shape[2], images.shape[3])
    grid = F.affine_grid(theta, [images.shape[0], images.shape[1], size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def paste_boxes(crops, boxes, h, w):
    t = box_theta(boxes, h, w)
    a, b, c, d = t[:, 0, 0], t[:, 0, 2], t[:, 1, 1], t[:, 1, 2]
    z = torch.zeros_like(a)
    inv = torch.stack((torch.stack((1 / a, z, -b / a), 1), torch.stack((z, 1 / c, -d / c), 1)), 1)
    grid = F.affine_grid(inv, [crops.shape[0], crops.shape[1], h, w], align_corners=False)
    return F.grid_sample(crops, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def makeup_unet(cond, depth, ngf=16):
    """facegan's UNetGenerator(3, 3, depth, base 16, instance norm, cond_channels cond): the
    reference U-Net on cat(x, cond)."""
    return reference_nets.unet(3 + cond, 3, num_downs=depth, ngf=ngf, norm="instance")


def zero_unet_output(net):
    """facegan's zero_unet_output: the outermost up-convolution (its "up.0") zeroed."""
    upconv = net.model[3]
    assert isinstance(upconv, nn.ConvTranspose2d)
    with torch.no_grad():
        upconv.weight.zero_()
        upconv.bias.zero_()


def unet_flat_parameters(net):
    """A reference_nets.unet's parameters in facegan's UNetGenerator order (down.0 .. down.D-1, then
    up.0 .. up.D-1; each level its convolution, then its norm): the recursive blocks unrolled."""
    down, up, block = [], [], net
    while block is not None:
        layers = list(block.model)
        convs = [m for m in layers if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.InstanceNorm2d, nn.BatchNorm2d))]
        sub = next((m for m in layers if isinstance(m, reference_nets.UnetBlock)), None)
        split = next(i for i, m in enumerate(convs) if isinstance(m, nn.ConvTranspose2d))
        down.append(convs[:split])
        up.append(convs[split:])
        block = sub
    return [p for level in down + up for m in level for p in m.parameters()]


class MakeupGenerator(nn.Module):
    """facegan's MakeupGenerator G(x, y): global U-Net on cat(x, W(x, y), areas) and per area (eyes,
    lips, skin) a U-Net on crop_size crops of x and of cat(W(x, y), area mask), its output pasted
    back (affine_grid / grid_sample: 3 grid_sample calls per area) and masked; x + the deltas."""

    def __init__(self, crop_size=32, delta_scale=2.0):
        super().__init__()
        self.crop_size, self.delta_scale = crop_size, delta_scale
        self.global_path = makeup_unet(6, 6)
        self.regions = nn.ModuleList([makeup_unet(4, 5) for _ in range(3)])

    def deltas(self, x, warped, areas, landmarks):
        h, w = x.shape[2], x.shape[3]
        glob = self.delta_scale * self.global_path(torch.cat((x, warped, areas), 1))
        out = []
        for k, region in enumerate(self.regions):
            mk = areas[:, k:k + 1]
            boxes = area_boxes(landmarks, k)
            cx = crop_boxes(x, boxes, self.crop_size)
            cond = crop_boxes(torch.cat((warped, mk), 1), boxes, self.crop_size)
            r = paste_boxes(self.delta_scale * region(torch.cat((cx, cond), 1)), boxes, h, w)
            out.append(mk * (glob + r))
        return torch.stack(out, 1)

    def forward(self, x, warped, areas, landmarks):
        return (x + self.deltas(x, warped, areas, landmarks).sum(1)).clamp(-1, 1)


def remove_makeup(remover, y, areas, delta_scale=2.0):
    """F(y) = clamp(y + (union of y's areas) * delta_scale * F_net(cat(y, areas)), -1, 1)."""
    return (y + areas.max(1, keepdim=True).values * delta_scale * remover(torch.cat((y, areas), 1))).clamp(-1, 1)


def random_makeup_pairs(size, n):
    """n makeup pairs with the keys MakeupTask reads: source, reference, warped, target images in
    [-1, 1]; source/reference areas (0/1 eyes, lips, skin from the landmark boxes); source/reference
    landmarks (template_landmarks jittered by up to 1.5 px); inverse_warp_grid (identity grid plus a
    small displacement)."""
    g = torch.Generator().manual_seed(0)
    images = [torch.rand(n, 3, size, size, generator=g) * 2 - 1 for _ in range(4)]
    landmarks = [template_landmarks(size) + (torch.rand(n, 68, 2, generator=g) - 0.5) * 3 for _ in range(2)]
    ys, xs = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")

    def areas(lm):
        masks = []
        for k in range(3):
            b = area_boxes(lm, k, 0.0)
            m = ((xs >= b[:, 0, None, None]) & (xs <= b[:, 2, None, None]) & (ys >= b[:, 1, None, None])
                 & (ys <= b[:, 3, None, None]))
            masks.append(m)
        masks[2] = masks[2] & ~masks[0] & ~masks[1]  # areas are disjoint: skin is what is left
        return torch.stack(masks, 1).float()

    base = torch.stack((xs, ys), -1) / size * 2 - 1
    grid = base.expand(n, -1, -1, -1) + (torch.rand(n, size, size, 2, generator=g) - 0.5) * 0.02
    source, reference, warped, target = images
    return torch.utils.data.TensorDataset(source, reference, warped, target, areas(landmarks[0]), areas(landmarks[1]),
                                          landmarks[0], landmarks[1], grid)


def lsgan_d(real, fake):
    return (real - 1).square().mean() + fake.square().mean()


def lsgan_g(fake):
    return (fake - 1).square().mean()


class Makeup:
    """MakeupTask's train step: one forward of G(x, y), F(y), the identity cycle F(G(x, y)) and the
    style cycle G(F(y), warp_to_y(G(x, y))); D step (D_Y, D_X, D_S on detached fakes, LSGAN halved);
    G + F step with the discriminators frozen (three LSGAN terms, 10 * L1 identity and style cycles).
    Optimizers: G and F (one), the three discriminators (one)."""

    data = staticmethod(random_makeup_pairs)

    def __init__(self, size):
        self.g = MakeupGenerator()
        self.f = makeup_unet(3, 6)
        self.d_x = reference_nets.patchgan(3, ndf=32, n_layers=3, norm="instance")
        self.d_y = reference_nets.patchgan(3, ndf=32, n_layers=3, norm="instance")
        self.d_s = reference_nets.patchgan(6, ndf=32, n_layers=3, norm="instance")
        for net in (self.g, self.f, self.d_x, self.d_y, self.d_s):
            init_normal(net)
        for net in [self.g.global_path, *self.g.regions, self.f]:
            zero_unet_output(net)
        self.discriminators = [self.d_x, self.d_y, self.d_s]
        self.opt_g = adam(list(self.g.parameters()) + list(self.f.parameters()), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = adam([p for d in self.discriminators for p in d.parameters()], lr=2e-4, betas=(0.5, 0.999))
        self.networks = [self.g, self.f, *self.discriminators]

    def forward(self, batch):
        """MakeupTask::forward: G(x, y), F(y), F(G(x, y)), G(F(y), G(x, y) warped onto y's geometry)."""
        x, y, warped, target, x_areas, y_areas, x_lm, y_lm, inverse_grid = batch
        transfer = self.g(x, warped, x_areas, x_lm)
        removal = remove_makeup(self.f, y, y_areas)
        identity_cycle = remove_makeup(self.f, transfer, x_areas)
        ref = F.grid_sample(transfer, inverse_grid, mode="bilinear", padding_mode="border", align_corners=False)
        style_cycle = self.g(removal, ref, y_areas, y_lm)
        return transfer, removal, identity_cycle, style_cycle

    def g_terms(self, batch, fw):
        """MakeupTask::g_terms: three LSGAN generator terms and the 10 * L1 identity and style cycles."""
        x, y = batch[0], batch[1]
        transfer, removal, identity_cycle, style_cycle = fw
        return {"g_adv_y": lsgan_g(self.d_y(transfer)), "f_adv_x": lsgan_g(self.d_x(removal)),
                "g_adv_s": lsgan_g(self.d_s(torch.cat((y, transfer), 1))),
                "identity": 10.0 * F.l1_loss(identity_cycle, x), "style": 10.0 * F.l1_loss(style_cycle, y)}

    def train_step(self, batch):
        x, y, warped = batch[0], batch[1], batch[2]
        fw = self.forward(batch)
        transfer, removal = fw[0], fw[1]
        # D step on detached fakes.
        for d in self.discriminators:
            set_requires_grad(d, True)
        fake_y, fake_x = transfer.detach(), removal.detach()
        loss_d = (0.5 * lsgan_d(self.d_y(y), self.d_y(fake_y)) + 0.5 * lsgan_d(self.d_x(x), self.d_x(fake_x))
                  + 0.5 * lsgan_d(self.d_s(torch.cat((y, warped), 1)), self.d_s(torch.cat((y, fake_y), 1))))
        self.opt_d.zero_grad()
        loss_d.backward()
        self.opt_d.step()
        # G + F step with the discriminators frozen.
        for d in self.discriminators:
            set_requires_grad(d, False)
        loss_g = sum(self.g_terms(batch, fw).values())
        self.opt_g.zero_grad()
        loss_g.backward()
        self.opt_g.step()
        for d in self.discriminators:
            set_requires_grad(d, True)
        return loss_g

    def infer_inputs(self, x, y):
        """One pair with consistent geometry (as the C++ side renders one): x, W(x, y), x's areas
        and landmarks."""
        _, _, warped, _, x_areas, _, x_lm, _, _ = random_makeup_pairs(x.shape[2], 1)[0:1]
        return x, warped, x_areas, x_lm

    def infer(self, x, warped, areas, landmarks):
        """Makeup::transfer at intensity 1 on every area: x + the sum of G's deltas, clamped."""
        return (x + self.g.deltas(x, warped, areas, landmarks).sum(1)).clamp(-1, 1)

    batch_keys = ["source", "reference", "warped", "target", "source_areas", "reference_areas", "source_landmarks",
                  "reference_landmarks", "inverse_warp_grid"]

    def check_outputs(self, batch):
        """What bench_steps --check writes (MakeupTask::generator_losses and forward)."""
        fw = self.forward(batch)
        out = self.g_terms(batch, fw)
        out.update(transfer=fw[0], removal=fw[1], style_cycle=fw[3])
        return out

    def check_parameters(self):
        """Parameters per C++ network name in the C++ order (the U-Nets flat: down levels, then up)."""
        g = [p for net in [self.g.global_path, *self.g.regions] for p in unet_flat_parameters(net)]
        out = {"g": (g, []), "f": (unet_flat_parameters(self.f), [])}
        out.update({name: (list(d.parameters()), []) for name, d in zip(("d_x", "d_y", "d_s"), self.discriminators)})
        return out


BUILDERS = {
    "pix2pix": Pix2Pix,
    "derl_deexpression": Pix2Pix,
    "derl_classify": DeRLClassify,
    "open_set": OpenSet,
    "makeup": Makeup,
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
    make_data = getattr(BUILDERS[args.task], "data", random_pairs)
    loader = torch.utils.data.DataLoader(make_data(args.size, n), batch_size=args.batch, shuffle=True,
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
    # --profile FILE: the autograd profiler's chrome trace of the timed steps (as bench_steps --profile).
    profiler = torch.autograd.profiler.profile(record_shapes=True) if args.profile else None
    if profiler is not None and args.warmup == 0:
        profiler.__enter__()
    while step < total:
        for batch in loader:
            loss = task.train_step(batch)
            value = loss.item()  # the one host read per step (logging / NaN check)
            if not math.isfinite(value):
                raise SystemExit(f"non-finite loss at step {step}")
            step += 1
            if step == args.warmup:
                if profiler is not None:
                    profiler.__enter__()
                t_start, c_start = time.perf_counter(), time.process_time()
            if step == total:
                break
    t_end, c_end = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.__exit__(None, None, None)
        profiler.export_chrome_trace(args.profile)
    peak = peak_rss_mib()
    steps_per_s = args.steps / (t_end - t_start)
    steps_per_cpu_s = args.steps / (c_end - c_start)
    return {"language": "python", "mode": "train", "task": args.task, "size": args.size, "batch": args.batch,
            "steps": args.steps, "warmup": args.warmup, "threads": torch.get_num_threads(),
            "steps_per_s": steps_per_s, "images_per_s": steps_per_s * args.batch,
            "steps_per_cpu_s": steps_per_cpu_s, "images_per_cpu_s": steps_per_cpu_s * args.batch, "peak_rss_mib": peak,
            "baseline_rss_mib": BASELINE_MIB, "peak_rss_delta_mib": peak - BASELINE_MIB, "parameters": parameters,
            "adam": "fused" if ADAM_KWARGS.get("fused") else "default"}


def measure_infer(args):
    torch.manual_seed(0)
    task = BUILDERS[args.task](args.size)
    if args.no_inplace:
        no_inplace(task)
    parameters = count(*task.networks)
    for net in task.networks:
        net.eval()
        if args.channels_last:
            net.to(memory_format=torch.channels_last)
    x = torch.rand(1, 3, args.size, args.size) * 2 - 1
    y2 = torch.rand(1, 3, args.size, args.size) * 2 - 1  # the second image of two-image inferences (mix)
    inputs = task.infer_inputs(x, y2) if hasattr(task, "infer_inputs") else (x, y2)
    ms, cpu_ms = [], []
    with torch.inference_mode():
        for _ in range(max(args.warmup, 1)):
            task.infer(*inputs)
        profiler = torch.autograd.profiler.profile(record_shapes=True) if args.profile else None
        if profiler is not None:
            profiler.__enter__()
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            y = task.infer(*inputs)
            ms.append((time.perf_counter() - t0) * 1e3)
            cpu_ms.append((time.process_time() - c0) * 1e3)
            assert y.shape[0] == 1
        if profiler is not None:
            profiler.__exit__(None, None, None)
            profiler.export_chrome_trace(args.profile)
    peak = peak_rss_mib()
    return {"language": "python", "mode": "infer", "task": args.task, "size": args.size, "runs": args.runs,
            "channels_last": args.channels_last,
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


def check(args):
    """--check FILE (written by bench_steps --check): loads the C++ networks' weights into the mirror by
    position (every shape must match), rebuilds the batch, recomputes the outputs with every network in
    eval() and compares them; then runs one train step (train mode, torch seeded with 2, Adam with
    fused=True as the C++ trainer's FusedAdam) and compares every weight and buffer after it with the
    C++ ones. Prints one JSON line; exits 1 on a mismatch."""
    ADAM_KWARGS["fused"] = True
    archive = torch.jit.load(args.check)
    tensors = dict(archive.named_parameters())
    tensors.update(archive.named_buffers())
    task = BUILDERS[args.task](args.size)
    layout = task.check_parameters()

    def cpp_tensors(prefix, name):
        return ([v for k, v in archive.named_parameters() if k.startswith(f"{prefix}.{name}.")],
                [v for k, v in archive.named_buffers() if k.startswith(f"{prefix}.{name}.")])

    for name, (params, buffers) in layout.items():
        cpp_p, cpp_b = cpp_tensors("networks", name)
        if [tuple(t.shape) for t in cpp_p] != [tuple(t.shape) for t in params]:
            raise SystemExit(f"check: network {name}: parameter shapes differ")
        if [tuple(t.shape) for t in cpp_b] != [tuple(t.shape) for t in buffers]:
            raise SystemExit(f"check: network {name}: buffer shapes differ")
        with torch.no_grad():
            for dst, src in zip(params + buffers, cpp_p + cpp_b):
                dst.copy_(src)
    for net in task.networks:
        net.eval()
    batch = [tensors[f"batch.{k}"] for k in task.batch_keys]
    with torch.no_grad():
        outputs = task.check_outputs(batch)
    result, worst = {}, 0.0
    for key, value in outputs.items():
        ref = tensors[f"outputs.{key}"]
        diff = (value - ref).abs().max().item()
        scale = max(ref.abs().max().item(), 1e-12)
        result[key] = {"cpp": ref.flatten()[0].item(), "python": value.flatten()[0].item(), "max_abs_diff": diff}
        worst = max(worst, diff / scale)
    missing = sorted(k[len("outputs."):] for k in tensors if k.startswith("outputs.") and k[len("outputs."):] not in outputs)

    # One train step, then every weight and buffer against the C++ ones.
    for net in task.networks:
        net.train()
    torch.manual_seed(2)
    task.train_step(batch)
    step_worst, step_elems, step_total = 0.0, 0, 0
    for name, (params, buffers) in layout.items():
        cpp_p, cpp_b = cpp_tensors("after", name)
        if len(cpp_p) != len(params) or len(cpp_b) != len(buffers):
            raise SystemExit(f"check: network {name}: the file has no weights after the train step")
        for mine, ref in zip(params + buffers, cpp_p + cpp_b):
            if not mine.is_floating_point():
                step_worst = max(step_worst, float((mine != ref).any()))
                continue
            d = (mine.detach() - ref).abs()
            step_worst = max(step_worst, d.max().item())
            step_elems += int((d > 1e-6).sum())
            step_total += d.numel()
    ok = worst < 1e-4 and not missing and step_worst < 1e-5
    print(json.dumps({"language": "python", "mode": "check", "task": args.task, "ok": ok, "worst_relative_diff": worst,
                      "missing": missing, "outputs": result, "step_max_abs_diff": step_worst,
                      "step_elements_off_by_1e-6": step_elems, "step_elements": step_total}), flush=True)
    if not ok:
        raise SystemExit(1)


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
    p.add_argument("--fused-adam", action="store_true",
                   help="comparison: torch.optim.Adam(fused=True) in every builder (the kernel of facegan's FusedAdam)")
    p.add_argument("--channels-last", action="store_true",
                   help="diagnostic (--infer): every network laid out channels-last, as facegan's U-Net inference is")
    p.add_argument("--list", action="store_true")
    p.add_argument("--profile", default=None, help="write the autograd profiler's trace of the timed steps here")
    p.add_argument("--check", default=None, help="compare with the outputs of bench_steps --check FILE")
    args = p.parse_args()
    if args.list:
        print("\n".join(BUILDERS))
        return
    if args.task is None:
        p.error("--task is required")
    torch.set_num_threads(args.threads)
    if args.fused_adam:
        ADAM_KWARGS["fused"] = True
    if args.check:
        check(args)
        return
    if args.optimizer:
        result = measure_optimizer(args)
    else:
        result = measure_infer(args) if args.infer else measure_train(args)
    # The C heap's thresholds come from the environment here (the harness sets them to what
    # facegan::tune_cpu_heap() sets on the C++ side); say which, as bench_steps does.
    heap = [f"{k}={os.environ[k]}" for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_") if k in os.environ]
    result["heap"] = ", ".join(heap) if heap else "glibc default"
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
