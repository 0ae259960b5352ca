#!/usr/bin/env python3
"""Runs `unet bench` of two builds side by side — a baseline commit (by default the last commit before the graph
engine) and this working tree — and PyTorch eager channels_last, case by case and alternating, and prints the
ratios as a Markdown table: images/s of the new build over the baseline's and over PyTorch's, and peak RSS over
the baseline's.

The baseline is checked out into .build-baseline/src (a git worktree) and built in .build-baseline/build; this
tree's build is .build/release. Each case runs: baseline, new, PyTorch, baseline, new; each side keeps its best
images/s and its lowest peak RSS, so slow drifts of a shared machine hit all sides. Cases whose dtype this CPU
cannot run (bf16 without AVX-512) are listed as such.

    swift build -c release --product unet
    .venv/bin/python scripts/bench_engines.py [--baseline REV] [--quick] [--mode infer|train] [--no-pytorch]
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
REFERENCE = os.path.normpath(os.path.join(ROOT, "..", "shared", "bench", "pytorch_unet.py"))
NEW = os.path.join(ROOT, ".build", "release", "unet")
BASELINE_DIR = os.path.join(ROOT, ".build-baseline")
# The last commit before the graph engine (the hand-planned `Execution/`).
DEFAULT_BASELINE = "8aa21df"

# The cases of the README's performance table: (mode, base, classes, size, batch).
CASES = [
    ("infer", 64, 2, 256, 1), ("infer", 64, 2, 256, 4), ("infer", 64, 2, 572, 1), ("infer", 16, 1, 128, 8),
    ("train", 64, 2, 256, 2), ("train", 16, 1, 128, 8),
]


def build_baseline(revision):
    source = os.path.join(BASELINE_DIR, "src")
    if not os.path.isdir(source):
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", source, revision], check=True, stdout=sys.stderr)
    else:
        subprocess.run(["git", "-C", source, "checkout", "--detach", revision], check=True, stdout=sys.stderr)
    scratch = os.path.join(BASELINE_DIR, "build")
    subprocess.run(["swift", "build", "-c", "release", "--product", "unet", "--package-path", source,
                    "--scratch-path", scratch], check=True, stdout=sys.stderr)
    return os.path.join(scratch, "release", "unet")


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        return {"error": (result.stderr.strip().splitlines() or ["failed"])[-1]}
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": "no result"}


def best(records):
    good = [r for r in records if "error" not in r]
    if not good:
        return records[0] if records else {"error": "not run"}
    result = dict(max(good, key=lambda r: r["images_per_s"]))
    result["peak_rss_mb"] = min(r["peak_rss_mb"] for r in good)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="the commit to compare with")
    parser.add_argument("--quick", action="store_true", help="short timing (3 s per case) for a first look")
    parser.add_argument("--mode", choices=["infer", "train", "both"], default="both", help="which cases to run")
    parser.add_argument("--no-pytorch", action="store_true", help="skip PyTorch")
    parser.add_argument("--python", default=sys.executable, help="Python with torch (default: this one)")
    args = parser.parse_args()
    baseline = build_baseline(args.baseline)
    timing = ["--steps", "5", "--warmup", "2", "--min-time", "3"] if args.quick else \
             ["--steps", "10", "--warmup", "3", "--min-time", "8"]
    rows = []
    for mode, base, classes, size, batch in CASES:
        if args.mode != "both" and mode != args.mode:
            continue
        for dtype in ("fp32", "bf16"):
            common = ["--mode", mode, "--base", str(base), "--classes", str(classes), "--size", str(size),
                      "--batch", str(batch), "--dtype", dtype, "--threads", "2"] + timing
            old, new, torch = [], [], []
            old.append(run([baseline, "bench"] + common))
            new.append(run([NEW, "bench"] + common))
            if "error" in old[0] and "error" in new[0]:
                rows.append((f"{mode} base {base}, {classes} cls, {size}², batch {batch}", dtype, old[0], new[0], {}))
                print(f"{rows[-1][0]} {dtype}: {new[0]['error']}", file=sys.stderr)
                continue
            if not args.no_pytorch:
                torch.append(run([args.python, REFERENCE, "--channels-last"] + common))
            old.append(run([baseline, "bench"] + common))
            new.append(run([NEW, "bench"] + common))
            o, n = best(old), best(new)
            t = best(torch) if torch else {"error": "not run"}
            name = f"{mode} base {base}, {classes} cls, {size}², batch {batch}"
            rows.append((name, dtype, o, n, t))
            if "error" in n or "error" in o:
                print(f"{name} {dtype}: {n.get('error') or o.get('error')}", file=sys.stderr)
            else:
                print(f"{name} {dtype}: new {n['images_per_s']} img/s, baseline {o['images_per_s']} "
                      f"({n['images_per_s'] / o['images_per_s']:.3f}x), rss {n['peak_rss_mb']} vs {o['peak_rss_mb']} MB",
                      file=sys.stderr)
    print("| case | dtype | new img/s | baseline img/s | new/baseline | PyTorch CL img/s | new/PyTorch "
          "| new RSS MB | baseline RSS MB | RSS new/baseline |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, dtype, o, n, t in rows:
        if "error" in n or "error" in o:
            print(f"| {name} | {dtype} | {n.get('error') or o.get('error')} | | | | | | | |")
            continue
        torch_cells = f"{t['images_per_s']:.3g} | {n['images_per_s'] / t['images_per_s']:.2f}x" if "error" not in t else "— | —"
        print(f"| {name} | {dtype} | {n['images_per_s']:.3g} | {o['images_per_s']:.3g} | "
              f"{n['images_per_s'] / o['images_per_s']:.3f}x | {torch_cells} | {n['peak_rss_mb']:.0f} | "
              f"{o['peak_rss_mb']:.0f} | {n['peak_rss_mb'] / o['peak_rss_mb']:.3f} |")


if __name__ == "__main__":
    main()
