"""The pix2pix / CycleGAN reference networks, written out in Python PyTorch.

They mirror `models/networks.py` of pytorch-CycleGAN-and-pix2pix (UnetGenerator, NLayerDiscriminator,
ResnetGenerator) layer for layer; the classes of those names also have its state dict keys. facegan
uses them for three things: the parameter counts its C++ blocks are pinned to (tests/test_blocks.cpp),
the Python side of the speed comparison in the benchmark harness, and the weight round trips of
`facegan import` / `facegan export` (tests/interop). Run `python reference_nets.py` to print the counts.
"""
import functools

import torch
from torch import nn


def norm_layer(kind):
    if kind == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if kind == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    raise ValueError(kind)


class UnetBlock(nn.Module):
    def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False,
                 innermost=False, norm="batch", use_dropout=False):
        super().__init__()
        self.outermost = outermost
        use_bias = norm == "instance"
        norm_fn = norm_layer(norm)
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        uprelu = nn.ReLU(True)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1)
            model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=use_bias)
            model = [downrelu, downconv, uprelu, upconv, norm_fn(outer_nc)]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=use_bias)
            model = [downrelu, downconv, norm_fn(inner_nc), submodule, uprelu, upconv, norm_fn(outer_nc)]
            if use_dropout:
                model += [nn.Dropout(0.5)]
        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


def unet(input_nc=3, output_nc=3, num_downs=8, ngf=64, norm="batch", use_dropout=False):
    block = UnetBlock(ngf * 8, ngf * 8, norm=norm, innermost=True)
    for _ in range(num_downs - 5):
        block = UnetBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, use_dropout=use_dropout)
    block = UnetBlock(ngf * 4, ngf * 8, submodule=block, norm=norm)
    block = UnetBlock(ngf * 2, ngf * 4, submodule=block, norm=norm)
    block = UnetBlock(ngf, ngf * 2, submodule=block, norm=norm)
    return UnetBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True, norm=norm)


def patchgan(input_nc, ndf=64, n_layers=3, norm="batch"):
    use_bias = norm == "instance"
    norm_fn = norm_layer(norm)
    seq = [nn.Conv2d(input_nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, n_layers):
        prev, mult = mult, min(2 ** n, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=use_bias), norm_fn(ndf * mult),
                nn.LeakyReLU(0.2, True)]
    prev, mult = mult, min(2 ** n_layers, 8)
    seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=use_bias), norm_fn(ndf * mult),
            nn.LeakyReLU(0.2, True), nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
    return nn.Sequential(*seq)


class ResnetBlock(nn.Module):
    def __init__(self, dim, norm, use_dropout, use_bias):
        super().__init__()
        norm_fn = norm_layer(norm)
        seq = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm_fn(dim), nn.ReLU(True)]
        if use_dropout:
            seq += [nn.Dropout(0.5)]
        seq += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm_fn(dim)]
        self.conv_block = nn.Sequential(*seq)

    def forward(self, x):
        return x + self.conv_block(x)


def resnet_generator(input_nc=3, output_nc=3, ngf=64, norm="instance", n_blocks=9, use_dropout=False):
    use_bias = norm == "instance"
    norm_fn = norm_layer(norm)
    seq = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=use_bias), norm_fn(ngf), nn.ReLU(True)]
    for i in range(2):
        m = 2 ** i
        seq += [nn.Conv2d(ngf * m, ngf * m * 2, 3, 2, 1, bias=use_bias), norm_fn(ngf * m * 2), nn.ReLU(True)]
    seq += [ResnetBlock(ngf * 4, norm, use_dropout, use_bias) for _ in range(n_blocks)]
    for i in range(2):
        m = 2 ** (2 - i)
        seq += [nn.ConvTranspose2d(ngf * m, ngf * m // 2, 3, 2, 1, output_padding=1, bias=use_bias),
                norm_fn(ngf * m // 2), nn.ReLU(True)]
    seq += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
    return nn.Sequential(*seq)


class UnetGenerator(nn.Module):
    """pix2pix's UnetGenerator: the outermost block as `model`, so that state dict keys are
    pytorch-CycleGAN-and-pix2pix's ("model.model.1.model.3..."), as in its latest_net_G.pth files."""

    def __init__(self, input_nc=3, output_nc=3, num_downs=8, ngf=64, norm="batch", use_dropout=False):
        super().__init__()
        self.model = unet(input_nc, output_nc, num_downs, ngf, norm, use_dropout)

    def forward(self, x):
        return self.model(x)


class ResnetGenerator(nn.Module):
    """pix2pix's ResnetGenerator: the Sequential as `model` ("model.10.conv_block.1.weight")."""

    def __init__(self, input_nc=3, output_nc=3, ngf=64, norm="instance", n_blocks=9, use_dropout=False):
        super().__init__()
        self.model = resnet_generator(input_nc, output_nc, ngf, norm, n_blocks, use_dropout)

    def forward(self, x):
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """pix2pix's NLayerDiscriminator: the Sequential as `model` ("model.0.weight")."""

    def __init__(self, input_nc, ndf=64, n_layers=3, norm="batch"):
        super().__init__()
        self.model = patchgan(input_nc, ndf, n_layers, norm)

    def forward(self, x):
        return self.model(x)


def count(module):
    return sum(p.numel() for p in module.parameters())


if __name__ == "__main__":
    for norm in ("batch", "instance"):
        print(f"unet_256 {norm}: {count(unet(norm=norm))}")
        print(f"unet_128 {norm}: {count(unet(num_downs=7, norm=norm))}")
        print(f"patchgan 6ch n3 {norm}: {count(patchgan(6, norm=norm))}")
        print(f"patchgan 3ch n3 {norm}: {count(patchgan(3, norm=norm))}")
        print(f"resnet_9blocks {norm}: {count(resnet_generator(norm=norm))}")
        print(f"resnet_6blocks {norm}: {count(resnet_generator(norm=norm, n_blocks=6))}")
    with torch.no_grad():
        print("unet_256 out", tuple(unet().eval()(torch.zeros(1, 3, 256, 256)).shape))
        print("patchgan out", tuple(patchgan(6).eval()(torch.zeros(1, 6, 256, 256)).shape))
