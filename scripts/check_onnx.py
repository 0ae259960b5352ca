#!/usr/bin/env python3
"""Checks `unet export` against ONNX's checker, ONNX Runtime, OpenVINO, PyTorch and `unet predict`.

For every architecture the tool builds (milesial's U-Net with transposed and bilinear up-sampling, labml's and the
tutorial's valid-padding U-Nets with cropped skips, a same-padding tutorial U-Net, smp's Unet with ResNet-18/34/50
encoders, MONAI's BasicUNet and UNet, nnU-Net's PlainConvUNet and ResidualEncoderUNet), a PyTorch model with random
weights and batch-norm statistics is saved as its users save it (`torch.save(model.state_dict())`) and exported with
`unet export` in several ways: fixed shapes, `--dynamic`, `--fold-bn`, `--external-data`, and the oldest and newest
opsets. Each export must

- pass `onnx.checker.check_model(full_check=True)` (which also runs ONNX's shape inference);
- give, in ONNX Runtime (CPU, all graph optimizations) and in OpenVINO (CPU), the logits PyTorch gives for the same
  input, within 1e-4 of the logits' largest magnitude (at least 1; rtol 1e-4 elementwise); dynamic exports at two
  sizes, odd ones where the network takes them, and batch 2;
- give the probabilities `unet predict --save-probabilities` writes for an image (within atol 1e-4), the input made
  from the image as the exported metadata (`unet.metadata`) says (same-padding networks: a valid-padding network's
  output is smaller than its input, and predict tiles the image with mirrored borders instead);
- an nnU-Net folder of two folds: one graph averaging them, equal to `unet predict -m FOLDER`.

Developers run it after changing the exporter or adding an architecture (CI has no Python):

    swift build && .venv/bin/python scripts/check_onnx.py .build/debug/unet [--quick]
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
import openvino as ov
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unet_zoo  # noqa: E402
from check_torch_export import PEERS  # noqa: E402
from make_fixtures import prepared  # noqa: E402

ATOL, RTOL = 1e-4, 1e-4

# name: (build, input channels, fixed size (H, W), dynamic sizes, extra `unet export` flags)
CLASSIC = {
    "milesial_transposed": (lambda: unet_zoo.MilesialUNet(3, 2, False, base=4), 3, (64, 96), [(45, 61), (33, 50)], []),
    "milesial_bilinear_1class": (lambda: unet_zoo.MilesialUNet(3, 1, True, base=4), 3, (64, 64), [(45, 61), (31, 17)], []),
    "labml_valid_crop": (lambda: unet_zoo.LabmlUNet(1, 2, base=4), 1, (188, 188), [(188, 188), (204, 220)], []),
    "tutorial_valid_crop": (lambda: unet_zoo.TutorialUNet(1, 2, base=4, padding=0, merge="crop"), 1, (188, 188),
                            [(188, 188), (204, 220)], ["--padding", "valid", "--merge", "crop"]),
    "tutorial_same_pad": (lambda: unet_zoo.TutorialUNet(3, 3, base=4, padding=1, merge="pad"), 3, (48, 48), [(45, 61), (37, 29)], []),
}


def peer_cases():
    cases = {}
    for name, (build, channels, size) in PEERS.items():
        h, w = size
        # The sizes of check_torch_export and one more of the network's down-sampling factor taller.
        step = 64 if "nnunet_plain" in name else 32 if "nnunet" in name else 16
        dynamic = [size, (h + step, w)]
        if "nnunet_plain" in name:  # instance norm: predict pads images below 2 windows of 64 (128) a side, so compare at 128
            dynamic = [(128, 128), (192, 128)]
        cases[name] = (build, channels, size, dynamic, [])
    return cases


def softmax(logits):
    if logits.shape[1] == 1:
        return 1 / (1 + np.exp(-logits))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def run_ort(path, x):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return session.run(["logits"], {"input": x})[0]


def run_openvino(core, path, x):
    compiled = core.compile_model(core.read_model(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return compiled({"input": x})[compiled.output(0)]


def close(a, b):
    """Equal within ATOL of `b`'s scale (its largest magnitude, at least 1), RTOL elementwise: deep networks' float32
    sums differ between runtimes in proportion to their logits (OpenVINO's on PyTorch's own export of a ResNet-34 smp
    Unet with logits near 9: 1.3e-4)."""
    if a.shape != b.shape:
        return False, float("inf")
    scale = max(1.0, float(np.abs(b).max()))
    return np.allclose(a, b, atol=ATOL * scale, rtol=RTOL), float(np.abs(a - b).max())


def normalized(image, metadata):
    """The model's input for an image (H, W[, C]) of 8-bit pixels, as `unet.metadata` says."""
    norm = metadata.get("normalization", {})
    x = image.astype(np.float32) / (1 if norm.get("rawIntensities") else 255)
    x = x[None] if x.ndim == 2 else x.transpose(2, 0, 1)
    if norm.get("lower") is not None:
        x = np.clip(x, np.array(norm["lower"], np.float32)[:, None, None], np.array(norm["upper"], np.float32)[:, None, None])
    if norm.get("perImage"):
        mean = x.mean(axis=(1, 2), keepdims=True)
        std = x.std(axis=(1, 2), keepdims=True)
        x = (x - mean) / np.maximum(std, 1e-8)
    elif norm.get("mean") is not None:
        x = (x - np.array(norm["mean"], np.float32)[:, None, None]) / np.array(norm["std"], np.float32)[:, None, None]
    return x[None].astype(np.float32)


def against_predict(unet, tmp, name, model, path, pixels, flags, label):
    """1 if ONNX Runtime's probabilities for the image `pixels` (the input made as the export's `unet.metadata` says)
    differ from what `unet predict -m model --save-probabilities` writes for it, else 0."""
    image = os.path.join(tmp, f"{name}.png")
    Image.fromarray(pixels).save(image)
    subprocess.run([unet, "predict", "-m", model, "-i", image, "-o", os.path.join(tmp, f"{name}_mask.png"), "--save-probabilities",
                    *flags], check=True, stdout=subprocess.DEVNULL)
    ours = np.load(os.path.join(tmp, f"{name}_mask.npy"))
    props = {p.key: p.value for p in onnx.load(path, load_external_data=False).metadata_props}
    probabilities = softmax(run_ort(path, normalized(pixels, json.loads(props["unet.metadata"]))))[0]
    if probabilities.shape[0] == 1 and ours.shape[0] == 2:  # one-class models: predict writes background and foreground
        probabilities = np.concatenate([1 - probabilities, probabilities])
    ok, error = close(probabilities, ours)
    print(f"{label}: onnxruntime vs unet predict probabilities max |diff| {error:.2e} {'ok' if ok else 'FAIL'}")
    return int(not ok)


def check_case(unet, core, tmp, name, build, channels, size, dynamic_sizes, flags, quick):
    failures = 0
    torch.manual_seed(11)
    model = prepared(build(), (2, channels, *size), 5).eval()
    source = os.path.join(tmp, name + ".pth")
    torch.save(model.state_dict(), source)

    def export(tag, *extra):
        path = os.path.join(tmp, f"{name}_{tag}.onnx")
        subprocess.run([unet, "export", source, "-o", path, *flags, *extra], check=True, stdout=subprocess.DEVNULL)
        onnx.checker.check_model(path, full_check=True)
        return path

    variants = [("fixed", ["--size", f"{size[1]}x{size[0]}"], [(1, size)])]
    variants.append(("dynamic", ["--dynamic"], [(1, dynamic_sizes[0]), (2, dynamic_sizes[1])]))
    if not quick:
        variants.append(("foldbn_opset21", ["--dynamic", "--fold-bn", "--opset", "21"], [(1, dynamic_sizes[1])]))
        variants.append(("external_opset15", ["--size", f"{size[1]}x{size[0]}", "--batch-size", "2", "--external-data", "--opset", "15"],
                         [(2, size)]))
    for tag, extra, inputs in variants:
        path = export(tag, *extra)
        for batch, (h, w) in inputs:
            x = torch.randn(batch, channels, h, w)
            with torch.no_grad():
                expected = model(x)
                expected = (expected[0] if isinstance(expected, (list, tuple)) else expected).numpy()
            results = {"onnxruntime": run_ort(path, x.numpy()), "openvino": run_openvino(core, path, x.numpy())}
            for runtime, got in results.items():
                ok, error = close(got, expected)
                failures += not ok
                print(f"{name} {tag} {batch}x{channels}x{h}x{w}: {runtime} vs PyTorch max |diff| {error:.2e} {'ok' if ok else 'FAIL'}")

    # Ours: `unet predict` on an image of the dynamic export's first size; the exported model must agree with it.
    # Valid-padding networks predict a whole image by overlap-tiles with mirrored borders, which the network's own
    # output (smaller than its input) is not: those are compared with PyTorch above, as the engine is by the tests.
    if "valid" in name:
        return failures
    h, w = dynamic_sizes[0]
    pixels = np.random.default_rng(3).integers(0, 256, (h, w) if channels == 1 else (h, w, 3), dtype=np.uint8)
    return failures + against_predict(unet, tmp, name, source, os.path.join(tmp, f"{name}_dynamic.onnx"), pixels, flags,
                                      f"{name} dynamic")


def check_nnunet_folder(unet, tmp):
    """An nnU-Net folder of two folds exports as one graph averaging them; its probabilities equal `unet predict`'s
    on an image of the plans' patch size (one window, no mirroring), the input z-scored as the metadata says."""
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TestSupport", "Fixtures", "models", "nnunet_folder")
    folder = os.path.join(tmp, "nnunet_folder")
    shutil.copytree(source, folder)
    checkpoint = torch.load(os.path.join(folder, "fold_0", "checkpoint_final.pth"), weights_only=False)
    torch.manual_seed(2)
    checkpoint["network_weights"] = {k: v + 0.05 * torch.randn_like(v) if v.is_floating_point() else v
                                     for k, v in checkpoint["network_weights"].items()}
    os.makedirs(os.path.join(folder, "fold_1"))
    torch.save(checkpoint, os.path.join(folder, "fold_1", "checkpoint_final.pth"))
    path = os.path.join(tmp, "nnunet_folds.onnx")
    subprocess.run([unet, "export", folder, "-o", path, "--dynamic"], check=True, stdout=subprocess.DEVNULL)
    onnx.checker.check_model(path, full_check=True)
    pixels = np.random.default_rng(4).integers(0, 256, (32, 24, 3), dtype=np.uint8)
    return against_predict(unet, tmp, "nnunet", folder, path, pixels, ["--no-tta"], "nnunet folder (2 folds) dynamic")


def main():
    unet = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("--") else ".build/debug/unet"
    quick = "--quick" in sys.argv
    core = ov.Core()
    failures = 0
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}, openvino {ov.__version__}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in {**CLASSIC, **peer_cases()}.items():
            failures += check_case(unet, core, tmp, name, *case, quick)
        failures += check_nnunet_folder(unet, tmp)
    print("all exports match" if failures == 0 else f"{failures} checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
