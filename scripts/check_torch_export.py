#!/usr/bin/env python3
"""Checks that .pth files written by `unet convert` load back into PyTorch.

The peers: segmentation_models_pytorch's Unet (resnet18, resnet34 with smp's defaults and with scse attention,
resnet50, efficientnet-b0 and -b4, timm-efficientnet-b0 and timm-tf_efficientnet_lite3, mobilenet_v2, se_resnext50_32x4d and se_resnet50) and MONAI's BasicUNet and UNet (MONAI's defaults, the tutorials' residual batch-norm network) and nnU-Net's 2-D PlainConvUNet
and ResidualEncoderUNet (dynamic-network-architectures, with their aliased keys; strides and kernels square and not) saved as their users do
(`torch.save(model.state_dict())`), converted to native safetensors and back to .pth; the package's own class must
take it with `load_state_dict(strict=True)`, bit-identical, with equal logits.

For each fixture model of scripts/unet_zoo.py: `unet convert fixture.pth -o model.safetensors`, then
`unet convert model.safetensors -o exported.pth`; PyTorch then loads the safetensors file with
`safetensors.torch.load_file` and the .pth with `torch.load` (weights_only, the default), both through
`load_state_dict(strict=True)`; the tensors must be bit-identical and the eval-mode logits equal the fixture's.
Developers run it after changing the writer (CI has no torch):

    swift build && .venv/bin/python scripts/check_torch_export.py .build/debug/unet
"""
import os
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unet_zoo  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "TestSupport", "Fixtures", "models")
MODELS = {
    "milesial_b2_c2": lambda: unet_zoo.MilesialUNet(3, 2, False, base=2),
    "milesial_bilinear_b2_c1": lambda: unet_zoo.MilesialUNet(3, 1, True, base=2),
    "labml_b2": lambda: unet_zoo.LabmlUNet(1, 2, base=2),
    "tutorial_valid_crop": lambda: unet_zoo.TutorialUNet(1, 2, base=2, padding=0, merge="crop"),
    "tutorial_same_pad": lambda: unet_zoo.TutorialUNet(3, 2, base=2, padding=1, merge="pad"),
}


def main(unet):
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in MODELS.items():
            native = os.path.join(tmp, name + ".safetensors")
            exported = os.path.join(tmp, name + ".pth")
            extra = ["--padding", "valid", "--merge", "crop"] if name == "tutorial_valid_crop" else []
            subprocess.run([unet, "convert", os.path.join(FIXTURES, name + ".pth"), "-o", native] + extra,
                           check=True, stdout=subprocess.DEVNULL)
            subprocess.run([unet, "convert", native, "-o", exported], check=True, stdout=subprocess.DEVNULL)
            native_model = build()
            native_model.load_state_dict(load_file(native), strict=True)  # our safetensors, read by PyTorch
            model = build()
            state = torch.load(exported)  # weights_only=True: only tensors and plain containers are accepted
            model.load_state_dict(state, strict=True)
            original = torch.load(os.path.join(FIXTURES, name + ".pth"))
            identical = all(torch.equal(state[k], original[k]) and state[k].dtype == original[k].dtype for k in original)
            expected = load_file(os.path.join(FIXTURES, name + ".safetensors"))
            model.eval()
            with torch.no_grad():
                logits = model(expected["x"])
            close = torch.allclose(logits, expected["logits_eval"], rtol=1e-5, atol=1e-6)
            print(f"{name}: safetensors load_file + load_state_dict ok; torch.load + load_state_dict(strict=True) ok; tensors bit-identical: {identical}; "
                  f"logits match: {close}")
            failures += (not identical) + (not close)
        failures += check_peers(unet, tmp)
    sys.exit(1 if failures else 0)


def smp(**config):
    from make_fixtures import smp_unet
    return smp_unet(**config)


def monai(kind, **config):
    from make_fixtures import monai_nets
    return getattr(monai_nets(), kind)(spatial_dims=2, **config)


def nnunet(features, strides, in_channels, classes, kernels=3):
    from make_fixtures import plain_conv_unet
    return plain_conv_unet(features, strides, in_channels, classes, deep_supervision=True, kernels=kernels)


def resenc(features, strides, blocks, in_channels, classes):
    from make_fixtures import residual_encoder_unet
    return residual_encoder_unet(features, strides, blocks, in_channels, classes, deep_supervision=True)


PEERS = {  # name: (build, input channels, an input size the network takes)
    "smp_resnet18_d3": (lambda: smp(encoder_name="resnet18", encoder_depth=3, decoder_channels=(32, 16, 8), in_channels=3, classes=2), 3, (45, 61)),
    "smp_resnet34_default": (lambda: smp(encoder_name="resnet34", in_channels=3, classes=2), 3, (45, 61)),
    "smp_resnet34_scse": (lambda: smp(encoder_name="resnet34", in_channels=3, classes=2, decoder_attention_type="scse"), 3, (45, 61)),
    "smp_resnet50_in1_c3": (lambda: smp(encoder_name="resnet50", encoder_depth=4, decoder_channels=(64, 32, 16, 8), in_channels=1,
                                        classes=3), 1, (45, 61)),
    "smp_resnext50_32x4d_d4": (lambda: smp(encoder_name="resnext50_32x4d", encoder_depth=4, decoder_channels=(64, 32, 16, 8), in_channels=3,
                                           classes=2), 3, (45, 61)),
    "smp_efficientnet-b0_default": (lambda: smp(encoder_name="efficientnet-b0", in_channels=3, classes=2), 3, (64, 96)),
    "smp_efficientnet-b4_d4_in1": (lambda: smp(encoder_name="efficientnet-b4", encoder_depth=4, decoder_channels=(64, 32, 16, 8),
                                               in_channels=1, classes=3), 1, (48, 64)),
    "smp_timm-efficientnet-b0_default": (lambda: smp(encoder_name="timm-efficientnet-b0", in_channels=3, classes=2), 3, (64, 96)),
    "smp_timm-tf_efficientnet_lite3_d4_in1": (lambda: smp(encoder_name="timm-tf_efficientnet_lite3", encoder_depth=4,
                                                          decoder_channels=(64, 32, 16, 8), in_channels=1, classes=3), 1, (45, 61)),
    "smp_se_resnext50_32x4d_default": (lambda: smp(encoder_name="se_resnext50_32x4d", in_channels=3, classes=2), 3, (64, 96)),
    "smp_se_resnet50_d3_in1": (lambda: smp(encoder_name="se_resnet50", encoder_depth=3, decoder_channels=(32, 16, 8), in_channels=1,
                                           classes=1), 1, (45, 61)),
    "smp_mobilenet_v2_default": (lambda: smp(encoder_name="mobilenet_v2", in_channels=3, classes=2), 3, (64, 96)),
    "smp_mobilenet_v2_d3_in1": (lambda: smp(encoder_name="mobilenet_v2", encoder_depth=3, decoder_channels=(32, 16, 8), in_channels=1,
                                            classes=1), 1, (45, 61)),
    "monai_basicunet_default": (lambda: monai("BasicUNet", in_channels=1, out_channels=2), 1, (45, 61)),
    "monai_unet_tutorial": (lambda: monai("UNet", channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2), num_res_units=2, norm="batch",
                                          in_channels=1, out_channels=2), 1, (48, 64)),
    "monai_unet_default_in3_c4": (lambda: monai("UNet", channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2), in_channels=3,
                                                out_channels=4), 3, (48, 64)),
    "nnunet_plain_default_7_stages": (lambda: nnunet([32, 64, 128, 256, 512, 512, 512], [1, 2, 2, 2, 2, 2, 2], 1, 4), 1, (128, 64)),
    "nnunet_resenc_m_6_stages": (lambda: resenc([32, 64, 128, 256, 512, 512], [1, 2, 2, 2, 2, 2], [1, 3, 4, 6, 6, 6], 3, 2), 3, (64, 96)),
    # Strides that differ between the axes, as nnU-Net plans a patch twice as wide as high (and the other way).
    "nnunet_plain_wide_patch": (lambda: nnunet([32, 64, 128, 256, 512, 512, 512], [[1, 1]] + [[2, 2]] * 5 + [[1, 2]], 1, 3), 1, (64, 128)),
    "nnunet_resenc_tall_patch": (lambda: resenc([32, 64, 128, 256], [[1, 1], [2, 2], [2, 1], [2, 2]], [1, 3, 4, 6], 3, 2), 3, (48, 40)),
    # Kernels that differ between the axes, as nnU-Net plans them for pixels two or more times longer one way.
    "nnunet_plain_1x3_kernels": (lambda: nnunet([32, 64, 128, 256], [[1, 1], [1, 2], [2, 2], [2, 2]], 1, 3,
                                                kernels=[[1, 3], [1, 3], [3, 3], [3, 3]]), 1, (32, 64)),
}


def check_peers(unet, tmp):
    from make_fixtures import prepared
    failures = 0
    for name, (build, in_channels, size) in PEERS.items():
        torch.manual_seed(7)
        original = prepared(build(), (2, in_channels, *size), 8)
        source, native, exported = (os.path.join(tmp, name + suffix) for suffix in (".pth", ".safetensors", "_back.pth"))
        torch.save(original.state_dict(), source)
        subprocess.run([unet, "convert", source, "-o", native], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([unet, "convert", native, "-o", exported], check=True, stdout=subprocess.DEVNULL)
        model = build()
        state = torch.load(exported)
        model.load_state_dict(state, strict=True)
        identical = all(torch.equal(state[k], v) and state[k].dtype == v.dtype for k, v in original.state_dict().items())
        x = torch.randn(1, in_channels, *size)
        model.eval()
        original.eval()
        with torch.no_grad():
            ours, theirs = model(x), original(x)
            if isinstance(ours, list):  # deep supervision: the full-resolution output first
                ours, theirs = ours[0], theirs[0]
            close = torch.allclose(ours, theirs, rtol=1e-5, atol=1e-6)
        print(f"{name}: {type(model).__name__} load_state_dict(strict=True) ok; tensors bit-identical: {identical}; logits match: {close}")
        failures += (not identical) + (not close)
    return failures


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".build/debug/unet")
