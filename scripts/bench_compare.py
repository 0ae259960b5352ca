#!/usr/bin/env python3
"""Runs `unet bench` beside the PyTorch reference (../shared/bench/pytorch_unet.py) on this machine, case by
case and alternating, and prints the ratios as a Markdown table.

Each case runs: PyTorch eager channels_last, `unet bench`, PyTorch torch.compile channels_last (fp32 and bf16
where it compiles), then `unet bench` again; ratios use the better of our two runs and PyTorch's runs as
measured in between, so slow drifts of a shared machine hit both sides.

    swift build -c release --product unet
    .venv/bin/python scripts/bench_compare.py [--quick] [--no-compile] [--mode infer|train] [--out results.jsonl]
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
REFERENCE = os.path.normpath(os.path.join(ROOT, "..", "shared", "bench", "pytorch_unet.py"))
UNET = os.path.join(ROOT, ".build", "release", "unet")

# The cases of the performance issue: (mode, base, classes, size, batch).
CASES = [
    ("infer", 64, 2, 256, 1), ("infer", 64, 2, 256, 4), ("infer", 64, 2, 572, 1), ("infer", 16, 1, 128, 8),
    ("train", 64, 2, 256, 2), ("train", 16, 1, 128, 8),
]


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"failed: {' '.join(command)}\n{result.stderr[-2000:]}", file=sys.stderr)
        return None
    lines = [l for l in result.stdout.splitlines() if l.startswith("{")]
    return json.loads(lines[-1]) if lines else None


def case_args(mode, base, classes, size, batch, dtype, timing):
    return ["--mode", mode, "--base", str(base), "--classes", str(classes), "--size", str(size),
            "--batch", str(batch), "--dtype", dtype, "--threads", "2"] + timing


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short timing (3 s per case) for a first look")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--mode", choices=["infer", "train", "both"], default="both", help="which cases to run")
    parser.add_argument("--out", help="also append every JSON line to this file")
    parser.add_argument("--python", default=sys.executable, help="Python with torch (default: this one)")
    args = parser.parse_args()
    timing = ["--steps", "5", "--warmup", "2", "--min-time", "3"] if args.quick else \
             ["--steps", "10", "--warmup", "3", "--min-time", "8"]
    rows = []
    out = open(args.out, "a") if args.out else None
    for mode, base, classes, size, batch in CASES:
        if args.mode != "both" and mode != args.mode:
            continue
        for dtype in ("fp32", "bf16"):
            common = case_args(mode, base, classes, size, batch, dtype, timing)
            results = {}
            results["eager"] = run([args.python, REFERENCE, "--channels-last"] + common)
            ours = [run([UNET, "bench"] + common)]
            if not args.no_compile:
                results["compile"] = run([args.python, REFERENCE, "--channels-last", "--compile"] + common)
            ours.append(run([UNET, "bench"] + common))
            ours = [o for o in ours if o]
            if not ours or not results["eager"]:
                continue
            best = max(ours, key=lambda o: o["images_per_s"])
            best["peak_rss_mb"] = min(o["peak_rss_mb"] for o in ours)
            for record in [best] + [r for r in results.values() if r]:
                if out:
                    out.write(json.dumps(record) + "\n")
            eager, compiled = results["eager"], results.get("compile")
            rows.append((f"{mode} base {base}, {classes} cls, {size}², batch {batch}", dtype, best["images_per_s"],
                         eager["images_per_s"], best["images_per_s"] / eager["images_per_s"],
                         compiled["images_per_s"] if compiled else None,
                         best["images_per_s"] / compiled["images_per_s"] if compiled else None,
                         best["peak_rss_mb"], eager["peak_rss_mb"], best["peak_rss_mb"] / eager["peak_rss_mb"]))
            print(f"{rows[-1][0]} {dtype}: ours {best['images_per_s']} img/s, eager {eager['images_per_s']} "
                  f"({rows[-1][4]:.2f}x), rss {best['peak_rss_mb']} vs {eager['peak_rss_mb']} MB", file=sys.stderr)
    print("| case | dtype | unet img/s | PyTorch CL img/s | ratio | torch.compile img/s | ratio | unet RSS MB | PyTorch RSS MB | RSS ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        compiled = f"{r[5]:.3g} | {r[6]:.2f}x" if r[5] else "— | —"
        print(f"| {r[0]} | {r[1]} | {r[2]:.3g} | {r[3]:.3g} | {r[4]:.2f}x | {compiled} | {r[7]:.0f} | {r[8]:.0f} | {r[9]:.2f} |")


if __name__ == "__main__":
    main()
