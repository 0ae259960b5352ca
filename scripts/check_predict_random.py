#!/usr/bin/env python3
"""Random configurations of the peers' U-Nets, predicted by `unet predict` and by their own packages.

Each case builds a network with its package (MONAI's UNet and BasicUNet, smp's Unet, nnU-Net's PlainConvUNet and
ResidualEncoderUNet, through scripts/make_fixtures.py's pinned constructors) in a configuration drawn at random
(levels, widths, strides 1-3 (nnU-Net's differing between the axes), residual units, kernel sizes (nnU-Net's too),
norms or none, activations, encoders, decoder attention, input channels, classes), with random norm statistics and
PReLU slopes, saves its state dict as its users do, and writes one to three random 8-bit images of a size drawn at
random (odd for BasicUNet). `unet predict --save-probabilities` (random --batch-size, `--strides` for MONAI's UNet,
whose checkpoints do not record them, and `--norm none` for MONAI networks built without norm, whose keys are instance
norm's without affine parameters, `--act` for MONAI activations without parameters, `--decoder-interpolation bilinear`
for smp's bilinear decoders) must match the package's eval-mode softmax (sigmoid for one class) computed in float64
within 1e-4 or twice the package's own float32 distance from it, whichever is larger (a ResNet-152's float32 moves
probabilities by 2e-4); with --amp, the package's float32 within 2e-2 or twice PyTorch's own bf16 autocast's distance
from it, whichever is larger; with --int8, the model quantized by `unet quantize` on the case's images must give 80%
of the pixels the package's class, near ties (its two likeliest classes within 0.1) left out (random untrained
networks have logits of tens and near ties between classes, which int8 moves: up to 14% of the pixels in deep smp
ones; a wrong weight or range moves most pixels); with --onnx, the
model exported by `unet export` (fixed at the case's size and batch, or --dynamic, with or without --fold-bn, at a
random opset) must give in ONNX Runtime the logits the package gives in float64 for the same random input in [0, 1],
within 1e-4 of their largest magnitude (at least 1) or twice the package's own float32 distance, whichever is larger.
Sizes PyTorch refuses (an instance norm over one value) are skipped. The fixtures prove each op and each family; this
looks for the configurations between them. Developers run it after changing detection, the graph passes or the
predictor (CI has no torch):

    swift build -c release --product unet && .venv/bin/python scripts/check_predict_random.py .build/release/unet --cases 40
    (--family smp --encoder mobilenet_v2: one family, one encoder; --amp, --int8 or --onnx: that path)
"""
import argparse
import copy
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures  # noqa: E402


def randomized(model, channels, size):
    """`model` in eval mode with norm statistics, affine parameters and PReLU slopes away from their defaults. Batch
    norms' running statistics are a random batch's of `size` (each then moved by up to 0.2 deviations and scaled by
    0.7-1.4), so that maps keep their scale through deep networks: with arbitrary statistics a ResNet-101's logits
    reach 1e5, where float32 itself (PyTorch's as ours) moves probabilities by 1e-3."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.3, 0.3)
            if isinstance(m, nn.PReLU):
                m.weight.uniform_(0.05, 0.4)
        norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
        if norms:
            for m in norms:
                m.reset_running_stats()
                m.momentum = None  # the batch's own statistics
            model.train()(torch.rand(2, channels, *size))
            for m in norms:
                m.running_mean += torch.empty_like(m.running_mean).uniform_(-0.2, 0.2) * m.running_var.sqrt()
                m.running_var *= torch.empty_like(m.running_var).uniform_(0.7, 1.4)
                m.momentum = 0.1
    return model.eval()


# MONAI's act values and the --act each needs: PReLU shows in the weights, the others do not.
ACTIVATIONS = [("prelu", None), ("relu", "relu"), (("leakyrelu", {"negative_slope": 0.2}), "leakyrelu:0.2"),
               (("leakyrelu", {"negative_slope": 0.1}), None)]


def monai_unet(rng):
    levels, base = rng.randint(2, 5), rng.choice([4, 8, 16])
    units = rng.randint(0, 3)
    strides = [rng.choice([1, 2, 2, 3]) for _ in range(levels - 1)]
    config = dict(spatial_dims=2, in_channels=rng.choice([1, 3]), out_channels=rng.choice([1, 2, 3]),
                  channels=[base * 2 ** i for i in range(levels)], strides=strides, num_res_units=units,
                  norm=rng.choice(["batch", "instance", ("instance", {"affine": True}), None]), kernel_size=rng.choice([3, 3, 5]),
                  up_kernel_size=rng.choice([3, 3, 5]))
    act, act_flag = rng.choice(ACTIVATIONS[:3] + [ACTIVATIONS[0]] * 3)  # mostly MONAI UNet's default, PReLU
    config["act"] = act
    multiple = int(np.prod(strides))
    size = (multiple * rng.randint(2, 6), multiple * rng.randint(2, 6))
    model = make_fixtures.monai_nets().UNet(**config)
    flags = ["--strides", ",".join(map(str, strides))] + (["--norm", "none"] if config["norm"] is None else [])
    flags += ["--act", act_flag] if act_flag else []
    return f"MONAI UNet {config}", model, config["in_channels"], config["out_channels"], size, flags


def basic_unet(rng):
    b = rng.choice([4, 8])
    config = dict(spatial_dims=2, in_channels=rng.choice([1, 3]), out_channels=rng.choice([1, 2, 4]),
                  features=(b, b, 2 * b, 4 * b, 8 * b, rng.choice([b, 2 * b])),
                  norm=rng.choice([("instance", {"affine": True}), ("instance", {"affine": True}), "instance", "batch", None]))
    config["act"], act_flag = rng.choice(ACTIVATIONS[:3] + [ACTIVATIONS[3]] * 3)  # mostly BasicUNet's default, LeakyReLU(0.1)
    model = make_fixtures.monai_nets().BasicUNet(**config)
    flags = (["--norm", "none"] if config["norm"] is None else []) + (["--act", act_flag] if act_flag else [])
    return f"MONAI BasicUNet {config}", model, config["in_channels"], config["out_channels"], (rng.randint(16, 70), rng.randint(16, 70)), flags


def smp_unet(rng, encoder=None):
    depth = rng.randint(3, 5)
    decoder = tuple(rng.choice([8, 16, 32]) for _ in range(depth))
    encoders = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x4d", "se_resnet50",
                "se_resnext50_32x4d", "se_resnext101_32x4d"]
    draw = rng.random()
    if draw < 0.4:
        encoders = [f"efficientnet-b{i}" for i in range(8)]
    elif draw < 0.6:
        encoders = ["mobilenet_v2"]
    elif draw < 0.8:
        encoders = [f"timm-efficientnet-b{i}" for i in range(9)] + [f"timm-tf_efficientnet_lite{i}" for i in range(5)]
    config = dict(encoder_name=encoder or rng.choice(encoders), encoder_depth=depth, decoder_channels=decoder,
                  in_channels=rng.choice([1, 3]), classes=rng.choice([1, 2, 3]))
    if rng.random() < 0.3 and min(decoder) >= 16:
        config["decoder_attention_type"] = "scse"
    flags = []
    if rng.random() < 0.3:
        config["decoder_interpolation"] = "bilinear"
        flags = ["--decoder-interpolation", "bilinear"]
    multiple = 2 ** depth
    size = (multiple * rng.randint(2, 5), multiple * rng.randint(2, 5))
    return f"smp Unet {config}", make_fixtures.smp_unet(**config), config["in_channels"], config["classes"], size, flags


def nnunet(rng):
    stages, base = rng.randint(3, 5), rng.choice([4, 8])
    features = [min(base * 2 ** i, 32) for i in range(stages)]
    # Mostly [2, 2]; sometimes one side only, as nnU-Net plans a patch whose sides differ in powers of two.
    strides = [[1, 1]] + [rng.choice([[2, 2], [2, 2], [2, 1], [1, 2]]) for _ in range(stages - 1)]
    # Mostly 3x3; sometimes 1x3 or 3x1, as nnU-Net plans them for pixels two or more times longer one way.
    kernels = [rng.choice([[3, 3], [3, 3], [3, 3], [1, 3], [3, 1]]) for _ in range(stages)]
    inputs, classes = rng.choice([1, 3]), rng.choice([2, 3])
    multiples = [int(np.prod([s[axis] for s in strides])) for axis in (0, 1)]
    size = (multiples[0] * rng.randint(2, 5), multiples[1] * rng.randint(2, 5))
    if rng.random() < 0.5:
        model = make_fixtures.plain_conv_unet(features, strides, inputs, classes, kernels=kernels)
        return f"nnU-Net PlainConvUNet {features} strides {strides} kernels {kernels}", model, inputs, classes, size, []
    blocks = [rng.randint(1, 2) for _ in range(stages)]
    model = make_fixtures.residual_encoder_unet(features, strides, blocks, inputs, classes, kernels=kernels)
    name = f"nnU-Net ResidualEncoderUNet {features} strides {strides} kernels {kernels} blocks {blocks}"
    return name, model, inputs, classes, size, []


FAMILIES = {"monai-unet": monai_unet, "basic-unet": basic_unet, "smp": smp_unet, "nnunet": nnunet}


def probabilities(model, image, channels, classes, amp):
    """The package's eval-mode probabilities for one 8-bit image (scaled to [0, 1], as `unet predict` does), in
    float64 for a model made float64."""
    exact = next(model.parameters()).dtype == torch.float64
    x = torch.from_numpy(image.astype(np.float64 if exact else np.float32) / 255)
    x = x[None, None] if channels == 1 else x.permute(2, 0, 1)[None]
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
        y = model(x)
    y = (y[0] if isinstance(y, (list, tuple)) else y).to(torch.float64 if exact else torch.float32)
    return (torch.sigmoid(y) if classes == 1 else torch.softmax(y, 1))[0].numpy()


def exported_matches(unet, rng, folder, case, name, model, path, channels, size, flags):
    """Whether `unet export` of the checkpoint at `path` gives in ONNX Runtime the logits `model` gives in float64 for
    an input like an image's (in [0, 1]), within 1e-4 of their scale or twice PyTorch's own float32 distance (printed)."""
    import onnxruntime as ort
    h, w = size
    batch, opset, dynamic, fold = rng.randint(1, 3), rng.randint(15, 21), rng.random() < 0.5, rng.random() < 0.5
    shape = ["--dynamic"] if dynamic else ["--size", f"{w}x{h}", "--batch-size", str(batch)]
    onnx_path = os.path.join(folder, f"model{case}.onnx")
    command = [unet, "export", path, "-o", onnx_path, "--opset", str(opset), *shape, *(["--fold-bn"] if fold else []), *flags]
    label = f"{name} {h}x{w}, batch {batch}, opset {opset}{', dynamic' if dynamic else ''}{', fold-bn' if fold else ''}"
    x = torch.rand(batch, channels, h, w)
    try:
        with torch.no_grad():
            single, expected = model(x), copy.deepcopy(model).double()(x.double())
    except ValueError as error:  # PyTorch's instance norm refuses a map of one value
        print(f"skip {label}: {error}")
        return True
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"FAIL {label}: unet export exited {result.returncode}: {result.stderr.strip()[-300:]}")
        return False
    single, expected = ((y[0] if isinstance(y, (list, tuple)) else y).numpy() for y in (single, expected))
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        got = ort.InferenceSession(onnx_path, options, providers=["CPUExecutionProvider"]).run(["logits"], {"input": x.numpy()})[0]
    except Exception as error:  # noqa: BLE001 - any runtime refusal is a failure of the export
        print(f"FAIL {label}: onnxruntime: {str(error)[-300:]}")
        return False
    error = float(np.abs(got - expected).max()) if got.shape == expected.shape else float("inf")
    allowed = max(1e-4 * max(1.0, float(np.abs(expected).max())), 2 * float(np.abs(single - expected).max()))
    print(f"{'ok  ' if error <= allowed else 'FAIL'} {error:.1e} (allowed {allowed:.0e}) {label}", flush=True)
    return error <= allowed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("unet", help="the unet binary")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--family", choices=sorted(FAMILIES), help="only this family (default: each case draws one)")
    parser.add_argument("--encoder", help="smp cases: this encoder_name (default: each case draws one)")
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument("--amp", action="store_true", help="predict with --amp (bf16)")
    precision.add_argument("--int8", action="store_true", help="quantize the model on the case's images, then predict")
    precision.add_argument("--onnx", action="store_true", help="export the model to ONNX and run it in ONNX Runtime")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    failures = 0
    with tempfile.TemporaryDirectory() as folder:
        for case in range(args.cases):
            family = FAMILIES[args.family] if args.family else rng.choice(list(FAMILIES.values()))
            name, model, channels, classes, (h, w), flags = family(rng, args.encoder) if family is smp_unet else family(rng)
            randomized(model, channels, (h, w))
            path = os.path.join(folder, f"model{case}.pth")
            torch.save(model.state_dict(), path)
            images = []
            for k in range(rng.randint(1, 3)):
                shape = (h, w, channels) if channels == 3 else (h, w)
                pixels = np.random.default_rng(args.seed * 1000 + case * 10 + k).integers(0, 256, shape, dtype=np.uint8)
                image = os.path.join(folder, f"image{case}_{k}.png")
                Image.fromarray(pixels).save(image)
                images.append((image, pixels))
            if args.onnx:
                failures += not exported_matches(args.unet, rng, folder, case, name, model, path, channels, (h, w), flags)
                continue
            if args.int8:
                calibration = os.path.join(folder, f"calibration{case}")
                os.makedirs(calibration)
                for image, _ in images:
                    os.symlink(image, os.path.join(calibration, os.path.basename(image)))
                quantized = os.path.join(folder, f"model{case}_int8.safetensors")
                result = subprocess.run([args.unet, "quantize", path, "--calibration", calibration, "-o", quantized, *flags],
                                        capture_output=True, text=True)
                if result.returncode != 0:
                    print(f"FAIL {name} {h}x{w}: unet quantize exited {result.returncode}: {result.stderr.strip()[-300:]}")
                    failures += 1
                    continue
                path, flags = quantized, []
            out = os.path.join(folder, f"out{case}")
            batch = rng.randint(1, 4)
            command = [args.unet, "predict", "-m", path, "-i", *[p for p, _ in images], "-o", out, "--save-probabilities",
                       "--batch-size", str(batch), *flags] + (["--amp"] if args.amp else [])
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                print(f"FAIL {name} {h}x{w}: unet predict exited {result.returncode}: {result.stderr.strip()[-300:]}")
                failures += 1
                continue
            worst, allowed = 0.0, 0.2 if args.int8 else 1e-4
            exact_model = None if args.int8 or args.amp else copy.deepcopy(model).double()
            try:
                for image, pixels in images:
                    expected = probabilities(model, pixels, channels, classes, amp=False)
                    stem = os.path.splitext(os.path.basename(image))[0]
                    ours = np.load(os.path.join(out, next(f for f in os.listdir(out) if f.startswith(stem) and f.endswith(".npy"))))
                    if args.int8:
                        classes_of = (lambda p: p[0] > 0.5) if classes == 1 else (lambda p: p.argmax(0))
                        # Near ties (the package's two likeliest classes within 0.1) may go either way in int8.
                        top = np.sort(np.concatenate([expected, 1 - expected]) if classes == 1 else expected, axis=0)
                        decided = (top[-1] - top[-2]) >= 0.1
                        worst = max(worst, float(((classes_of(ours) != classes_of(expected)) & decided).sum() / max(decided.sum(), 1)))
                    elif args.amp:
                        worst = max(worst, float(np.abs(ours - expected).max()))
                        own = float(np.abs(probabilities(model, pixels, channels, classes, amp=True) - expected).max())
                        allowed = max(allowed, 2e-2, 2 * own)
                    else:
                        exact = probabilities(exact_model, pixels, channels, classes, amp=False)
                        worst = max(worst, float(np.abs(ours - exact).max()))
                        allowed = max(allowed, 2 * float(np.abs(expected - exact).max()))
            except ValueError as error:  # PyTorch's instance norm refuses a map of one value
                print(f"skip {name} {h}x{w}: {error}")
                continue
            ok = worst <= allowed
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {worst:.1e} (allowed {allowed:.0e}) {name} {h}x{w}, batch {batch}, {len(images)} image(s)",
                  flush=True)
    print(f"{failures} of {args.cases} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
