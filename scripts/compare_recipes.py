#!/usr/bin/env python3
"""Hand-written recipes against `unet train --auto` at equal wall time (issue 22's table).

For each data set and budget, runs the README's hand recipe with `--time BUDGET`, then `--auto --time BUDGET`,
times each whole command, scores each model with `unet evaluate` on the held-out images (each model's own
prediction settings) and prints one Markdown row per run. ISBI and the Carvana sample come from ../shared/data,
the demo's shapes from `unet demo`; the runs go to a temporary folder (kept with --keep).

    scripts/compare_recipes.py --data isbi --budgets 45m
    scripts/compare_recipes.py --data carvana --budgets 15m --only auto
    scripts/compare_recipes.py --data demo --budgets 45m
    scripts/compare_recipes.py --data isbi --budgets 45m --only auto --auto-validation hand
    scripts/compare_recipes.py --data isbi --budgets 45m --only auto --auto-validation hand --auto-flags="--ema 0.995"

By default --auto holds out its own share of the training images to pick its best checkpoint, as a user without a
validation set runs it; `--auto-validation hand` gives it the hand recipe's validation images instead (ISBI: the
held-out images 24-29, which the hand recipe picks its checkpoint on; the demo: its 48 held-out images, which
`unet demo` validates on), so that both select alike. `--auto-flags` adds flags to the --auto runs (a lever to measure
against the plan without it).

UNET_BINARY selects the binary (default .build/release/unet). Nothing else may use the CPU meanwhile: the
steps a budget buys are the measurement.
"""
import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")


def isbi(folder, binary):
    """ISBI 2012: images 0-23 train, 24-29 held out, as list files (README's example)."""
    data = os.path.join(SHARED, "isbi2012-membrane", "train")
    lists = {}
    for name, indices in (("train", range(0, 24)), ("val", range(24, 30))):
        path = os.path.join(folder, name + ".txt")
        with open(path, "w") as f:
            for i in indices:
                f.write(f"{data}/image/{i}.png {data}/label/{i}.png\n")
        lists[name] = path
    train = ["train", "--list", lists["train"]]
    hand = train + ["--val-list", lists["val"], "--in-channels", "1", "--classes", "2", "--base", "32",
                    "--scale", "1", "--batch-size", "4", "--crop", "256", "--flips", "--rotate90",
                    "--optimizer", "adam", "-l", "1e-3", "--schedule", "cosine", "--weight-decay", "0",
                    "--clip", "0", "--steps", "800", "--validate-every", "100", "--best-metric", "miou"]
    return {"hand": hand, "auto": train + ["--auto"], "auto-same": train + ["--val-list", lists["val"], "--auto"],
            "evaluate": ["--list", lists["val"]]}


def carvana(folder, binary):
    """The Carvana sample: images 01-04 train, 05 held out (README's table)."""
    data = os.path.join(SHARED, "carvana-sample")
    for name in ("train", "test"):
        for kind in ("imgs", "masks"):
            os.makedirs(os.path.join(folder, name, kind))
    images = sorted(os.listdir(os.path.join(data, "imgs")))
    for index, image in enumerate(images):
        stem = os.path.splitext(image)[0]
        part = "test" if index == len(images) - 1 else "train"
        os.symlink(os.path.join(data, "imgs", image), os.path.join(folder, part, "imgs", image))
        for mask in os.listdir(os.path.join(data, "masks")):
            if mask.startswith(stem + "_mask"):
                os.symlink(os.path.join(data, "masks", mask), os.path.join(folder, part, "masks", mask))
    train = ["train", "--images", os.path.join(folder, "train", "imgs"), "--masks", os.path.join(folder, "train", "masks"),
             "--mask-suffix", "_mask"]
    hand = train + ["--classes", "1", "--epochs", "5", "--batch-size", "2", "--learning-rate", "1e-5", "--scale", "0.5",
                    "--validation", "10", "--amp"]
    evaluate = ["--images", os.path.join(folder, "test", "imgs"), "--masks", os.path.join(folder, "test", "masks"),
                "--mask-suffix", "_mask"]
    # The hand recipe holds out 10% of its training images, as --auto does by itself.
    return {"hand": hand, "auto": train + ["--auto"], "auto-same": train + ["--auto"], "evaluate": evaluate}


def demo(folder, binary):
    """The demo's shapes: the 400 training and 48 held-out images `unet demo` generates (seed 0). The hand recipe is
    `unet demo` itself, which trains on them for its 1000 steps (no --time: it ends sooner than any budget here)."""
    data = os.path.join(folder, "demo-data")
    subprocess.run([binary, "demo", "--steps", "1", "--output-dir", data], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    train, test = os.path.join(data, "data", "train"), os.path.join(data, "data", "test")
    auto = ["train", "--images", os.path.join(train, "images"), "--masks", os.path.join(train, "masks")]
    evaluate = ["--images", os.path.join(test, "images"), "--masks", os.path.join(test, "masks")]
    return {"hand": ["demo"], "auto": auto + ["--auto"],
            "auto-same": auto + ["--val-images", evaluate[1], "--val-masks", evaluate[3], "--auto"], "evaluate": evaluate}


DATA = {"isbi": isbi, "carvana": carvana, "demo": demo}


def steps_run(run):
    last = 0
    with open(os.path.join(run, "metrics.jsonl")) as f:
        for line in f:
            record = json.loads(line)
            if record.get("kind") == "step":
                last = max(last, record["step"])
    return last


def minutes(seconds):
    return f"{int(seconds // 60)} min {int(round(seconds % 60)):02d} s"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=sorted(DATA), required=True)
    parser.add_argument("--budgets", nargs="+", default=["5m"])
    parser.add_argument("--only", choices=["hand", "auto"])
    parser.add_argument("--keep", action="store_true", help="keep the runs' folders")
    parser.add_argument("--auto-validation", choices=["own", "hand"], default="own",
                        help="what --auto picks its best checkpoint on: its own held-out share, or the hand recipe's validation")
    parser.add_argument("--auto-flags", default="", help="flags added to the --auto runs, e.g. \"--ema 0.995\"")
    args = parser.parse_args()
    binary = os.environ.get("UNET_BINARY", os.path.join(ROOT, ".build", "release", "unet"))
    if not os.path.isdir(SHARED):
        sys.exit(f"{SHARED} is absent: this script needs the shared data")
    folder = tempfile.mkdtemp(prefix="unet-recipes-")
    recipes = DATA[args.data](folder, binary)
    print("| data | recipe | budget | wall time | steps | mIoU | Dice per class |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    try:
        for budget in args.budgets:
            for name in ("hand", "auto"):
                if args.only and name != args.only:
                    continue
                run = os.path.join(folder, f"{name}-{budget}")
                arguments = recipes["auto-same" if name == "auto" and args.auto_validation == "hand" else name]
                timed = ["--time", budget] if arguments[0] == "train" else []
                if name == "auto":
                    timed += shlex.split(args.auto_flags)
                command = [binary] + arguments + timed + ["--output-dir", run]
                start = time.monotonic()
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                wall = time.monotonic() - start
                report = subprocess.run([binary, "evaluate", "-m", os.path.join(run, "best.safetensors"), "--json"]
                                        + recipes["evaluate"], check=True, capture_output=True, text=True)
                metrics = json.loads(report.stdout)
                dice = ", ".join(f"{n} {d:.3f}" for n, d in zip(metrics["classes"], metrics["per_class_dice"])
                                 if d is not None)
                label = "auto (hand's validation)" if name == "auto" and args.auto_validation == "hand" else name
                if name == "auto" and args.auto_flags:
                    label += " " + args.auto_flags
                print(f"| {args.data} | {label} | {budget} | {minutes(wall)} | {steps_run(run)} | "
                      f"{metrics['mean_iou']:.3f} | {dice} |", flush=True)
    finally:
        if args.keep:
            print(f"runs kept in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
