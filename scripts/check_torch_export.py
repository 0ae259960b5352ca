#!/usr/bin/env python3
"""Checks that .pth files written by `unet convert` load back into PyTorch.

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
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".build/debug/unet")
