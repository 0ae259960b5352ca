#!/usr/bin/env python3
"""Times inference in `unet bench`, ONNX Runtime, OpenVINO and PyTorch on the same network and input, side by side.

Each case's network is built in PyTorch with random weights (milesial's U-Net for the classic cases, the peers'
packages for theirs), saved as its users save it, and exported once with `unet export` at the case's fixed shape;
ONNX Runtime (CPU execution provider, every graph optimization, all cores) and OpenVINO (CPU, latency hint) run that
ONNX file, PyTorch (eager, channels-last, inference mode, all cores) runs the saved network itself, `unet bench` runs
its own engine on the same architecture. Precisions:

- fp32 everywhere;
- bf16: OpenVINO's INFERENCE_PRECISION_HINT=bf16 and PyTorch's `torch.autocast("cpu", dtype=torch.bfloat16)` against
  `unet bench --dtype bf16`, only on a CPU with native bf16 (avx512_bf16 or AMX; elsewhere both would emulate it,
  slower than fp32, and the case is skipped); ONNX Runtime has no bf16 option on the CPU;
- int8: OpenVINO through NNCF post-training quantization and ONNX Runtime's static QDQ quantization (per-channel
  weights), both calibrated on 8 random inputs, against `unet bench --dtype int8` (calibrated on its own random
  input, `unet quantize`'s int8 convolutions); PyTorch has no int8 path for these networks that its users run on a
  CPU, so its int8 cell is empty.

Every case runs each side in its own process (so that its peak RSS is its own), in alternating rounds (unet, ONNX
Runtime, OpenVINO, PyTorch, then again); each side keeps its best images/s and lowest peak RSS. Prints a Markdown table
with the ratios of `unet` to the faster of ONNX Runtime and OpenVINO and to PyTorch. With --roofline, a second table
sets each row against the machine's peak multiply-accumulate rate at its precision (`scripts/bench_roofline.sh`, same
thread count): the rate, in the network's multiply-accumulates of direct convolution per second, that the faster
runtime reached, that 1.3x it would need, and that `unet` reached (above the peak only by doing fewer
multiplications: Winograd).

    swift build -c release --product unet
    .venv/bin/pip install onnx onnxruntime openvino nncf
    .venv/bin/python scripts/bench_runtimes.py [--quick] [--cases classic peers peers-throughput] [--int8] [--roofline]
        [--match TEXT]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_peers import add_case_arguments, best, run, timing_flags  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
REFERENCE = os.path.normpath(os.path.join(ROOT, "..", "shared", "bench"))
UNET = os.environ.get("UNET_BINARY", os.path.join(ROOT, ".build", "release", "unet"))

# name: (unet bench architecture flags, classes, size, batch)
CLASSIC = {
    "base 64, 2 cls, 256², batch 1": (["--arch", "unet", "--base", "64"], 2, 256, 1),
    "base 64, 2 cls, 256², batch 4": (["--arch", "unet", "--base", "64"], 2, 256, 4),
    "base 64, 2 cls, 572², batch 1": (["--arch", "unet", "--base", "64"], 2, 572, 1),
    "base 16, 1 cls, 128², batch 8": (["--arch", "unet", "--base", "16"], 1, 128, 8),
}
PEERS = {
    "smp Unet resnet34, 2 cls, 256², batch 1": (["--arch", "smp-unet", "--encoder", "resnet34"], 2, 256, 1),
    "smp Unet efficientnet-b0, 2 cls, 256², batch 1": (["--arch", "smp-unet", "--encoder", "efficientnet-b0"], 2, 256, 1),
    "smp Unet timm-efficientnet-b0, 2 cls, 256², batch 1": (["--arch", "smp-unet", "--encoder", "timm-efficientnet-b0"], 2, 256, 1),
    "smp Unet timm-tf_efficientnet_lite0, 2 cls, 256², batch 1": (["--arch", "smp-unet", "--encoder", "timm-tf_efficientnet_lite0"], 2, 256, 1),
    "smp Unet se_resnext50_32x4d, 2 cls, 256², batch 1": (["--arch", "smp-unet", "--encoder", "se_resnext50_32x4d"], 2, 256, 1),
    "smp Unet mobilenet_v2, 2 cls, 256², batch 1": (["--arch", "smp-unet", "--encoder", "mobilenet_v2"], 2, 256, 1),
    "MONAI BasicUNet, 2 cls, 256², batch 1": (["--arch", "basic-unet"], 2, 256, 1),
    "MONAI UNet (tutorial), 2 cls, 256², batch 1": (["--arch", "monai-unet"], 2, 256, 1),
    "nnU-Net PlainConvUNet (6 stages), 2 cls, 256², batch 1": (["--arch", "nnunet"], 2, 256, 1),
}
# The peers at a throughput batch (the classic cases have theirs above).
PEERS_THROUGHPUT = {name.replace("batch 1", "batch 4"): (arch, classes, size, 4)
                    for name, (arch, classes, size, _) in PEERS.items()}


def torch_model(arch, classes):
    """The PyTorch network `unet bench` builds for `arch` (3 input channels)."""
    import types
    # torchvision's meta registrations fail against this torch build; smp and timm import torchvision but need none.
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import torch
    torch.manual_seed(0)
    name = arch[1]
    if name == "unet":
        import unet_zoo
        return unet_zoo.MilesialUNet(3, classes, False, base=int(arch[arch.index("--base") + 1]))
    if name == "smp-unet":
        import segmentation_models_pytorch as smp
        return smp.Unet(arch[arch.index("--encoder") + 1], encoder_weights=None, in_channels=3, classes=classes)
    if name == "nnunet":
        from dynamic_network_architectures.architectures.unet import PlainConvUNet
        return PlainConvUNet(3, 6, [32, 64, 128, 256, 512, 512], torch.nn.Conv2d, 3, [1, 2, 2, 2, 2, 2], 2, classes, 2, True,
                             torch.nn.InstanceNorm2d, {"eps": 1e-5, "affine": True}, None, None, torch.nn.LeakyReLU, {"inplace": True})
    import monai.networks.nets as nets
    if name == "basic-unet":
        return nets.BasicUNet(spatial_dims=2, in_channels=3, out_channels=classes)
    return nets.UNet(spatial_dims=2, in_channels=3, out_channels=classes, channels=(16, 32, 64, 128, 256), strides=(2, 2, 2, 2),
                     num_res_units=2, norm="batch")


def runtime_case(args):
    """One runtime's case in this process; prints a JSON line like `unet bench`'s."""
    import statistics
    import numpy as np
    sys.path.insert(0, REFERENCE)
    import pytorch_unet as reference
    reference.reset_peak_rss()
    x = np.random.default_rng(0).standard_normal((args.batch, 3, args.size, args.size)).astype(np.float32)
    if args.runtime_case == "pytorch":
        import torch
        torch.set_num_threads(args.threads)
        model = torch_model(json.loads(args.arch), args.classes)
        model.load_state_dict(torch.load(args.model, weights_only=True))
        model = model.eval().to(memory_format=torch.channels_last)
        tensor = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
        version = torch.__version__

        def step():
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
                model(tensor)
    elif args.runtime_case == "onnxruntime":
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
        version = ort.__version__

        def step():
            session.run(["logits"], {"input": x})
    else:
        import openvino as ov
        core = ov.Core()
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": args.threads,
                  "INFERENCE_PRECISION_HINT": "bf16" if args.precision == "bf16" else "f32"}
        compiled = core.compile_model(core.read_model(args.model), "CPU", config)
        request = compiled.create_infer_request()
        version = ov.__version__

        def step():
            request.infer({"input": x})
    times, first = reference.time_loop(step, args.warmup, args.steps, args.min_time)
    median = statistics.median(times)
    print(json.dumps({"framework": args.runtime_case, "version": version, "precision": args.precision, "batch": args.batch,
                      "size": args.size, "steps": len(times), "images_per_s": round(args.batch / median, 3),
                      "ms_per_batch_median": round(1e3 * median, 2), "first_iter_s": round(first, 2),
                      "peak_rss_mb": round(reference.peak_rss_mb(), 1)}), flush=True)


def quantized(path, size, batch, folder):
    """(ONNX Runtime QDQ model, OpenVINO NNCF model) of the fp32 ONNX file, calibrated on 8 random inputs."""
    import numpy as np
    import onnxruntime.quantization as q
    rng = np.random.default_rng(1)
    samples = [rng.standard_normal((batch, 3, size, size)).astype(np.float32) for _ in range(8)]

    class Reader(q.CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"input": s} for s in samples])

        def get_next(self):
            return next(self.items, None)

    prepared = os.path.join(folder, "prepared.onnx")
    q.quant_pre_process(path, prepared)
    ort_int8 = os.path.join(folder, "ort_int8.onnx")
    q.quantize_static(prepared, ort_int8, Reader(), quant_format=q.QuantFormat.QDQ, per_channel=True,
                      activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8)
    import nncf
    import openvino as ov
    model = ov.Core().read_model(path)
    ov_int8 = os.path.join(folder, "ov_int8.xml")
    ov.save_model(nncf.quantize(model, nncf.Dataset(samples), subset_size=len(samples)), ov_int8)
    return ort_int8, ov_int8


def roofline(threads):
    """Peak GMAC/s per precision on `threads` threads, from scripts/bench_roofline.sh: fp32 the faster FMA form, bf16
    the bf16 dot product, int8 VNNI where the CPU has it, else AVX2's three-instruction sequence."""
    output = subprocess.run([os.path.join(ROOT, "scripts", "bench_roofline.sh"), str(threads)], check=True,
                            capture_output=True, text=True).stdout
    rates = {}
    for line in output.splitlines():
        record = json.loads(line)
        if record.get("threads") == threads and "gmac_per_s" in record:
            rates[record["probe"]] = record["gmac_per_s"]
    fp32 = [rate for probe, rate in rates.items() if probe.startswith("fp32")]
    int8 = [rate for probe, rate in rates.items() if probe.startswith("int8 dot")] or \
        [rate for probe, rate in rates.items() if probe.startswith("int8")]
    bf16 = [rate for probe, rate in rates.items() if probe.startswith("bf16")]
    return {"fp32": max(fp32, default=None), "bf16": max(bf16, default=None), "int8": max(int8, default=None)}


def native_bf16():
    flags = open("/proc/cpuinfo").read()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short timing (3 s per case) for a first look")
    parser.add_argument("--cases", nargs="+", choices=["classic", "peers", "peers-throughput"], default=["classic", "peers"],
                        help="peers-throughput: the peers at batch 4")
    parser.add_argument("--int8", action="store_true", help="also the runtimes' int8 (NNCF, QDQ)")
    parser.add_argument("--match", help="only the cases whose name contains this text (e.g. efficientnet)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--roofline", action="store_true",
                        help="also set each row against the machine's peak rate at its precision (needs a C compiler)")
    parser.add_argument("--runtime-case", choices=["onnxruntime", "openvino", "pytorch"], help=argparse.SUPPRESS)
    parser.add_argument("--arch", help=argparse.SUPPRESS)
    parser.add_argument("--classes", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    add_case_arguments(parser)
    args = parser.parse_args()
    if args.runtime_case:
        return runtime_case(args)
    import torch
    timing = timing_flags(args.quick)
    precisions = ["fp32"] + (["bf16"] if native_bf16() else [])
    if not native_bf16():
        print("bf16: this CPU has no native bf16 (avx512_bf16 or AMX); bf16 rows skipped", file=sys.stderr)
    cases = {**(CLASSIC if "classic" in args.cases else {}), **(PEERS if "peers" in args.cases else {}),
             **(PEERS_THROUGHPUT if "peers-throughput" in args.cases else {})}
    cases = {name: case for name, case in cases.items() if args.match is None or args.match in name}
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, (arch, classes, size, batch) in cases.items():
            source, path = os.path.join(folder, "model.pth"), os.path.join(folder, "model.onnx")
            torch.save(torch_model(arch, classes).state_dict(), source)
            subprocess.run([UNET, "export", source, "-o", path, "--size", str(size), "--batch-size", str(batch)], check=True,
                           stdout=subprocess.DEVNULL)
            common = ["--size", str(size), "--batch", str(batch), "--threads", str(args.threads)] + timing
            for precision in precisions:
                ours = [UNET, "bench", "--mode", "infer", "--classes", str(classes), "--dtype", precision] + arch + common
                runtime = [sys.executable, os.path.abspath(__file__), "--model", path, "--precision", precision] + common
                pytorch = [sys.executable, os.path.abspath(__file__), "--runtime-case", "pytorch", "--model", source,
                           "--arch", json.dumps(arch), "--classes", str(classes), "--precision", precision] + common
                commands = [ours, runtime + ["--runtime-case", "onnxruntime"], runtime + ["--runtime-case", "openvino"], pytorch]
                if precision == "bf16":
                    commands = [ours, commands[2], pytorch]
                records = [run(c) for c in commands * 2]
                results = [best(records[i::len(commands)]) for i in range(len(commands))]
                if precision == "bf16":
                    results.insert(1, {"error": "no bf16"})
                rows.append((name, precision, *results))
                print(f"{name} {precision}: " + ", ".join(f"{r.get('images_per_s', r.get('error'))}" for r in results), file=sys.stderr)
            if args.int8:
                ort_int8, ov_int8 = quantized(path, size, batch, folder)
                ours = [UNET, "bench", "--mode", "infer", "--classes", str(classes), "--dtype", "int8"] + arch + common
                runtime = [sys.executable, os.path.abspath(__file__), "--precision", "int8"] + common
                commands = [ours, runtime + ["--runtime-case", "onnxruntime", "--model", ort_int8],
                            runtime + ["--runtime-case", "openvino", "--model", ov_int8]]
                records = [run(c) for c in commands * 2]
                rows.append((name, "int8", best(records[0::3]), best(records[1::3]), best(records[2::3]), {"error": "no int8"}))
                print(f"{name} int8: " + ", ".join(f"{r.get('images_per_s', r.get('error'))}" for r in rows[-1][2:]), file=sys.stderr)

    peaks = roofline(args.threads) if args.roofline else None

    def cell(r, key, digits="{:.3g}"):
        return digits.format(r[key]) if "error" not in r else "—"

    def ratio(u, other):
        return f"{u['images_per_s'] / other:.2f}x" if other and "error" not in u else "—"

    print("| case | precision | unet img/s | ONNX Runtime img/s | OpenVINO img/s | PyTorch img/s | unet / faster runtime | "
          "unet / PyTorch | unet RSS MB | ORT RSS MB | OpenVINO RSS MB | PyTorch RSS MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, precision, u, o, v, t in rows:
        fastest = max([r["images_per_s"] for r in (o, v) if "error" not in r], default=None)
        print(f"| {name} | {precision} | {cell(u, 'images_per_s')} | {cell(o, 'images_per_s')} | {cell(v, 'images_per_s')} | "
              f"{cell(t, 'images_per_s')} | {ratio(u, fastest)} | {ratio(u, t.get('images_per_s'))} | "
              f"{cell(u, 'peak_rss_mb', '{:.0f}')} | {cell(o, 'peak_rss_mb', '{:.0f}')} | {cell(v, 'peak_rss_mb', '{:.0f}')} | "
              f"{cell(t, 'peak_rss_mb', '{:.0f}')} |")

    if peaks:
        print()
        print(f"Against the roofline ({args.threads} threads; GMAC/s of the network's direct convolutions):")
        print()
        print("| case | precision | GMAC per image | peak GMAC/s | faster runtime | 1.3x it needs | unet |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name, precision, u, o, v, _ in rows:
            fastest = max([r["images_per_s"] for r in (o, v) if "error" not in r], default=None)
            peak = peaks.get(precision)
            if "error" in u or not fastest or not peak:
                continue
            gmac = u["gflop_per_image"] / 2

            def share(images_per_s):
                return f"{images_per_s * gmac:.0f} ({images_per_s * gmac / peak:.0%})"
            print(f"| {name} | {precision} | {gmac:.3g} | {peak:.0f} | {share(fastest)} | {share(1.3 * fastest)} | "
                  f"{share(u['images_per_s'])} |")


if __name__ == "__main__":
    main()
