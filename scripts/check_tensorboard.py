#!/usr/bin/env python3
"""Reads `unet train --tensorboard` logs back with TensorBoard's own reader (event_accumulator).

A small run on generated discs logs to TensorBoard; then it is resumed twice: once from its last checkpoint, and
once from an earlier copy of it (as after a crash that lost the steps since), which repeats steps the second run
logged. TensorBoard must see:

- every scalar of the final metrics.jsonl (train loss, learning rate, images/s; validation loss, Dice, mIoU, pixel
  accuracy, per-class Dice and IoU) at its step with its value, each step once;
- the validation overlays as images at every validation step, PNGs of the images' size;
- the run's configuration as text (the text plugin).

Developers run it after changing the TensorBoard writer (CI has no Python; the record framing is tested in Swift
against TensorBoard's own RecordWriter):

    swift build && .venv/bin/python scripts/check_tensorboard.py .build/debug/unet
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image
from tensorboard.backend.event_processing import event_accumulator


def discs(folder, count, size):
    rng = np.random.default_rng(0)
    os.makedirs(os.path.join(folder, "imgs"))
    os.makedirs(os.path.join(folder, "masks"))
    yy, xx = np.mgrid[:size, :size]
    for i in range(count):
        cy, cx = rng.integers(size // 4, 3 * size // 4, 2)
        mask = (((yy - cy) ** 2 + (xx - cx) ** 2) < (size // 5) ** 2).astype(np.uint8) * 255
        image = (rng.random((size, size)) * 60 + mask * 0.6).astype(np.uint8)
        Image.fromarray(image).save(os.path.join(folder, "imgs", f"{i}.png"))
        Image.fromarray(mask).save(os.path.join(folder, "masks", f"{i}.png"))


def main():
    unet = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/unet"
    failures = []

    def check(ok, what):
        print(("ok   " if ok else "FAIL ") + what)
        if not ok:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        discs(tmp, 8, 32)
        run = os.path.join(tmp, "run")
        common = [unet, "train", "--images", os.path.join(tmp, "imgs"), "--masks", os.path.join(tmp, "masks"), "--in-channels", "1",
                  "--base", "4", "--depth", "2", "--scale", "1", "-b", "2", "-v", "25", "--validate-every", "5", "--output-dir", run,
                  "--tensorboard"]
        subprocess.run(common + ["--steps", "10"], check=True, capture_output=True)
        shutil.copy(os.path.join(run, "last.safetensors"), os.path.join(run, "step10.safetensors"))
        subprocess.run(common + ["--steps", "20", "--resume", os.path.join(run, "last.safetensors")], check=True, capture_output=True)
        # As if the steps after 10 were lost: resume from the copy; TensorBoard must drop the second run's 11-20.
        subprocess.run(common + ["--steps", "25", "--resume", os.path.join(run, "step10.safetensors")], check=True, capture_output=True)

        accumulator = event_accumulator.EventAccumulator(run, size_guidance={event_accumulator.SCALARS: 0, event_accumulator.IMAGES: 0,
                                                                             event_accumulator.TENSORS: 0},
                                                         purge_orphaned_data=True)
        accumulator.Reload()
        tags = accumulator.Tags()
        records = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl"))]
        steps = [r for r in records if r["kind"] == "step"]
        validations = [r for r in records if r["kind"] == "validation"]
        check([r["step"] for r in steps] == list(range(1, 26)), "metrics.jsonl holds steps 1-25 once each")

        def same(tag, rows, key):
            events = accumulator.Scalars(tag)
            logged = [(e.step, e.value) for e in events]
            expected = [(r["step"], np.float32(r[key])) for r in rows if r[key] is not None]
            check(len(logged) == len(expected) and all(s == t and np.float32(v) == w for (s, v), (t, w) in zip(logged, expected)),
                  f"{tag}: {len(logged)} values at the steps and with the values of metrics.jsonl")

        for tag, key in [("train/loss", "loss"), ("train/learning_rate", "learningRate"), ("train/images_per_second", "imagesPerSecond")]:
            same(tag, steps, key)
        for tag, key in [("validation/loss", "loss"), ("validation/dice", "dice"), ("validation/miou", "meanIoU"),
                         ("validation/pixel_accuracy", "pixelAccuracy")]:
            same(tag, validations, key)
        for c in range(2):
            same(f"validation/dice/class_{c}", [{"step": r["step"], "v": r["perClassDice"][c]} for r in validations], "v")
            same(f"validation/iou/class_{c}", [{"step": r["step"], "v": r["perClassIoU"][c]} for r in validations], "v")

        image_tags = [t for t in tags["images"] if t.startswith("validation/overlay/")]
        check(len(image_tags) == 2, f"two validation images logged as overlays: {image_tags}")
        for tag in image_tags:
            images = accumulator.Images(tag)
            check([i.step for i in images] == [r["step"] for r in validations] and all(i.width == 32 and i.height == 32 for i in images),
                  f"{tag}: one 32x32 image at every validation step")
        text = [t for t in tags["tensors"] if t == "configuration"]
        check(len(text) == 1, "the configuration is logged as text")
        if text:
            tensor = accumulator.Tensors("configuration")[-1].tensor_proto
            check(b"--tensorboard" in tensor.string_val[0], "the configuration names the command line")
    print("TensorBoard reads every value" if not failures else f"{len(failures)} checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
