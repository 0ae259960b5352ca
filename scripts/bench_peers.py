#!/usr/bin/env python3
"""Times the peers' U-Nets in `unet bench` and in PyTorch (the packages themselves, eager channels_last), side by side,
alternating, case by case, and prints the ratios as a Markdown table. The PyTorch side measures as the benchmark
reference does (../shared/bench/pytorch_unet.py: its timing loop, loss and peak-RSS reading are imported from it):
inference is an eval-mode forward under inference_mode; a training step is forward + cross-entropy + soft Dice +
backward + Adam. Each case runs: unet, PyTorch, unet, PyTorch; each side keeps its best images/s and lowest peak RSS.

    swift build -c release --product unet
    .venv/bin/python scripts/bench_peers.py [--quick] [--mode infer|train|both] [--dtypes fp32 bf16]
        [--nets smp:resnet18 ... basic-unet monai-unet]

Networks: smp's Unet with a ResNet encoder (`smp:ENCODER`, smp's defaults; `smp:ENCODER:scse` with scse decoder
attention), MONAI's BasicUNet (MONAI's defaults) and MONAI's UNet as its tutorials build it (channels 16-256,
strides 2, two residual units, batch norm) and nnU-Net's 2-D PlainConvUNet (`nnunet`: its plans' 6 stages of 32-512
features), 3 input channels. `--dtypes fp32 bf16` adds bf16 cases: `unet bench --dtype bf16` against PyTorch under
`torch.autocast("cpu", dtype=torch.bfloat16)`, for CPUs with native bf16.
Needs torch, segmentation-models-pytorch 0.6.0 and monai 1.6.1 (see scripts/make_fixtures.py).
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
REFERENCE = os.path.normpath(os.path.join(ROOT, "..", "shared", "bench"))
UNET = os.environ.get("UNET_BINARY", os.path.join(ROOT, ".build", "release", "unet"))  # another build: the previous commit's
CASES = [("infer", 256, 1), ("infer", 256, 4), ("train", 256, 2)]  # (mode, size, batch)


def pytorch_case(args):
    """One case in this process (so that its peak RSS is its own); prints the reference's JSON line."""
    import statistics
    import types
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import torch
    sys.path.insert(0, REFERENCE)
    import pytorch_unet as reference
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    reference.reset_peak_rss()
    net = args.nets[0]
    if net.startswith("smp:"):
        import segmentation_models_pytorch as smp
        encoder, _, attention = net[4:].partition(":")
        model = smp.Unet(encoder, encoder_weights=None, in_channels=3, classes=args.classes, decoder_attention_type=attention or None)
    elif net == "nnunet":
        from dynamic_network_architectures.architectures.unet import PlainConvUNet
        model = PlainConvUNet(3, 6, [32, 64, 128, 256, 512, 512], torch.nn.Conv2d, 3, [1, 2, 2, 2, 2, 2], 2, args.classes, 2, True,
                              torch.nn.InstanceNorm2d, {"eps": 1e-5, "affine": True}, None, None, torch.nn.LeakyReLU, {"inplace": True})
    else:
        import monai.networks.nets as nets
        model = (nets.BasicUNet(spatial_dims=2, in_channels=3, out_channels=args.classes) if net == "basic-unet" else
                 nets.UNet(spatial_dims=2, in_channels=3, out_channels=args.classes, channels=(16, 32, 64, 128, 256),
                           strides=(2, 2, 2, 2), num_res_units=2, norm="batch"))
    model = model.to(memory_format=torch.channels_last)
    x = torch.randn(args.batch, 3, args.size, args.size).to(memory_format=torch.channels_last)
    target = torch.randint(0, args.classes, (args.batch, args.size, args.size))
    autocast = lambda: torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.dtype == "bf16")  # as the reference does
    if args.mode == "infer":
        model.eval()

        def step():
            with torch.inference_mode(), autocast():
                model(x)
    else:
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

        def step():
            optimizer.zero_grad(set_to_none=True)
            with autocast():
                logits = model(x)
            reference.seg_loss(logits, target, args.classes).backward()
            optimizer.step()
    times, first = reference.time_loop(step, args.warmup, args.steps, args.min_time)
    median = statistics.median(times)
    print(json.dumps({"framework": "pytorch", "version": torch.__version__, "net": net,
                      "mode": args.mode, "dtype": args.dtype, "batch": args.batch, "size": args.size, "classes": args.classes,
                      "threads": torch.get_num_threads(), "steps": len(times), "images_per_s": round(args.batch / median, 3),
                      "ms_per_batch_median": round(1e3 * median, 2), "first_iter_s": round(first, 2),
                      "peak_rss_mb": round(reference.peak_rss_mb(), 1)}), flush=True)


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        return {"error": (result.stderr.strip().splitlines() or ["no result"])[-1]}
    return json.loads(lines[-1])


def best(records):
    good = [r for r in records if "error" not in r]
    if not good:
        return records[0]
    result = dict(max(good, key=lambda r: r["images_per_s"]))
    result["peak_rss_mb"] = min(r["peak_rss_mb"] for r in good)
    return result


def add_case_arguments(parser):
    """The hidden flags of one case run in its own process: size, batch and timing."""
    parser.add_argument("--size", type=int, default=256, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=10, help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=3, help=argparse.SUPPRESS)
    parser.add_argument("--min-time", type=float, default=8, help=argparse.SUPPRESS)
    parser.add_argument("--dtype", default="fp32", help=argparse.SUPPRESS)


def timing_flags(quick):
    """The timing flags for each case: `--quick` (3 s) or the full run (8 s)."""
    return ["--steps", "5", "--warmup", "2", "--min-time", "3"] if quick else ["--steps", "10", "--warmup", "3", "--min-time", "8"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short timing (3 s per case) for a first look")
    parser.add_argument("--mode", choices=["infer", "train", "both"], default="both")
    parser.add_argument("--nets", nargs="+", default=["smp:resnet18", "smp:resnet34", "smp:resnet50", "basic-unet", "monai-unet", "nnunet"])
    parser.add_argument("--classes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtypes", nargs="+", choices=["fp32", "bf16"], default=["fp32"],
                        help="bf16: unet bench --dtype bf16 against torch.autocast(bfloat16) (CPUs with native bf16)")
    parser.add_argument("--pytorch-case", action="store_true", help=argparse.SUPPRESS)
    add_case_arguments(parser)
    args = parser.parse_args()
    if args.pytorch_case:
        return pytorch_case(args)
    timing = timing_flags(args.quick)
    rows = []
    for net, dtype, (mode, size, batch) in ((n, d, c) for n in args.nets for d in args.dtypes for c in CASES):
        if args.mode != "both" and mode != args.mode:
            continue
        common = ["--mode", mode, "--size", str(size), "--batch", str(batch), "--classes", str(args.classes),
                  "--threads", str(args.threads), "--dtype", dtype] + timing
        if net.startswith("smp:"):
            encoder, _, attention = net[4:].partition(":")
            arch = ["--arch", "smp-unet", "--encoder", encoder] + (["--decoder-attention", attention] if attention else [])
        else:
            arch = ["--arch", net]
        ours = [UNET, "bench"] + arch + common
        theirs = [sys.executable, os.path.abspath(__file__), "--pytorch-case", "--nets", net] + common
        records = [run(ours), run(theirs), run(ours), run(theirs)]
        u, t = best(records[0::2]), best(records[1::2])
        label = {"basic-unet": "MONAI BasicUNet", "monai-unet": "MONAI UNet (tutorial)",
                 "nnunet": "nnU-Net PlainConvUNet (6 stages)"}.get(net, f"smp Unet {net[4:].replace(':', ' + ')}")
        name = f"{mode} {label}, {args.classes} cls, {size}², batch {batch}" + (f", {dtype}" if len(args.dtypes) > 1 or dtype != "fp32" else "")
        rows.append((name, u, t))
        if "error" in u or "error" in t:
            print(f"{name}: {u.get('error') or t.get('error')}", file=sys.stderr)
        else:
            print(f"{name}: unet {u['images_per_s']} img/s, PyTorch {t['images_per_s']} "
                  f"({u['images_per_s'] / t['images_per_s']:.2f}x), rss {u['peak_rss_mb']} vs {t['peak_rss_mb']} MB", file=sys.stderr)
    print("| case | unet img/s | PyTorch CL img/s | ratio | unet RSS MB | PyTorch RSS MB | RSS ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, u, t in rows:
        if "error" in u or "error" in t:
            print(f"| {name} | {u.get('error') or t.get('error')} | | | | | |")
            continue
        print(f"| {name} | {u['images_per_s']:.3g} | {t['images_per_s']:.3g} | {u['images_per_s'] / t['images_per_s']:.2f}x | "
              f"{u['peak_rss_mb']:.0f} | {t['peak_rss_mb']:.0f} | {u['peak_rss_mb'] / t['peak_rss_mb']:.2f} |")


if __name__ == "__main__":
    main()
