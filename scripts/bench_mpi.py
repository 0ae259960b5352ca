#!/usr/bin/env python3
"""Measures data-parallel training's scaling: `mpirun -np 2 unet train` against one process, side by side.

For each case (base 16 and base 64 classic U-Nets at 256x256, batch 2 per rank) it trains on the same synthetic
images, every run with one oneDNN thread per rank:

- 1 rank x 1 thread, the reference;
- 2 ranks x 1 thread on this machine (shared memory between the ranks), with the default 25 MB buckets, with one
  bucket holding every gradient (its exchange starts only after backward: no overlap) and with 1 MB buckets;
- with --hosts: 2 ranks in two network namespaces joined by a veth pair, `mpirun` over TCP between them as between
  two machines (needs root and `ip`; the namespaces are removed afterwards). Unbound: each "host" would bind its
  rank to its first core, the same core.

Throughput is taken from `metrics.jsonl` after the first steps (warm-up): images/s over all ranks. Efficiency is the
2-rank throughput over twice the 1-rank throughput. The exchange's share is what `unet train` reports: the time
rank 0 waited for the gradients after its backward, over the training time. Rounds alternate the configurations;
each keeps its best round.

    swift build -c release --product unet
    .venv/bin/python scripts/bench_mpi.py [--quick] [--hosts] [--rounds N] [--bases 16 64]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
UNET = os.environ.get("UNET_BINARY", os.path.join(ROOT, ".build", "release", "unet"))
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OMP_NUM_THREADS": "1"}
NAMESPACES = ("unet-bench-a", "unet-bench-b")
ADDRESSES = ("10.77.0.1", "10.77.0.2")


def write_data(folder, count, size):
    """`count` RGB images with a bright disc each, and their masks."""
    import numpy as np
    from PIL import Image
    rng = np.random.default_rng(0)
    for sub in ("images", "masks"):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    yy, xx = np.mgrid[:size, :size]
    for i in range(count):
        r = size * (0.1 + 0.2 * rng.random())
        cx, cy = rng.uniform(r, size - r, 2)
        inside = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        image = np.clip(70 + 90 * inside[..., None] + 40 * rng.standard_normal((size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(os.path.join(folder, "images", f"{i}.png"))
        Image.fromarray((inside * 255).astype(np.uint8)).save(os.path.join(folder, "masks", f"{i}.png"))


def throughput(log, warmup):
    """Images/s over the steps after `warmup`, and the global batch, from a metrics log."""
    steps = [json.loads(line) for line in open(log) if '"kind":"step"' in line]
    first, last = steps[warmup - 1], steps[-1]
    return (last["step"] - first["step"]) / (last["elapsed"] - first["elapsed"])


def train(command, env, output, warmup, batch):
    shutil.rmtree(output, ignore_errors=True)
    result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stderr[-2000:]}")
    waited = re.search(r"waited ([0-9.]+) s for it after backward \(([0-9.]+)%", result.stdout)
    return {"images_per_second": throughput(os.path.join(output, "metrics.jsonl"), warmup) * batch,
            "exchange_share": float(waited.group(2)) / 100 if waited else None}


def setup_hosts():
    """Two network namespaces joined by a veth pair; `mpirun` reaches the second through a launcher script."""
    teardown_hosts()
    (a, b), (ip_a, ip_b) = NAMESPACES, ADDRESSES
    for command in (["ip", "netns", "add", a], ["ip", "netns", "add", b],
                    ["ip", "link", "add", "veth-unet-a", "type", "veth", "peer", "name", "veth-unet-b"],
                    ["ip", "link", "set", "veth-unet-a", "netns", a], ["ip", "link", "set", "veth-unet-b", "netns", b],
                    ["ip", "-n", a, "addr", "add", ip_a + "/24", "dev", "veth-unet-a"],
                    ["ip", "-n", b, "addr", "add", ip_b + "/24", "dev", "veth-unet-b"],
                    ["ip", "-n", a, "link", "set", "veth-unet-a", "up"], ["ip", "-n", b, "link", "set", "veth-unet-b", "up"],
                    ["ip", "-n", a, "link", "set", "lo", "up"], ["ip", "-n", b, "link", "set", "lo", "up"]):
        subprocess.run(command, check=True)


def teardown_hosts():
    for namespace in NAMESPACES:
        subprocess.run(["ip", "netns", "del", namespace], stderr=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (a smoke run)")
    parser.add_argument("--hosts", action="store_true", help="also 2 ranks across two network namespaces over TCP (root)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--bases", type=int, nargs="+", default=[16, 64], help="base widths (default: 16 64)")
    args = parser.parse_args()
    steps, warmup, batch = (6, 2, 2) if args.quick else (10, 3, 2)
    work = tempfile.mkdtemp(prefix="unet-bench-mpi-")
    write_data(work, 16, 256)
    if args.hosts:
        setup_hosts()
        agent = os.path.join(work, "netns-agent.sh")  # `agent HOST COMMAND...`: runs COMMAND in HOST's namespace
        with open(agent, "w") as f:
            f.write("#!/bin/sh\nhost=$1; shift\n"
                    + "".join(f'[ "$host" = {ip} ] && exec ip netns exec {ns} sh -c "$*"\n' for ip, ns in zip(ADDRESSES, NAMESPACES))
                    + "exit 1\n")
        os.chmod(agent, 0o755)
        hostfile = os.path.join(work, "hostfile")
        with open(hostfile, "w") as f:
            f.write("".join(f"{ip} slots=1\n" for ip in ADDRESSES))
    try:
        rows = []
        for base in args.bases:
            train_args = ["train", "--images", os.path.join(work, "images"), "--masks", os.path.join(work, "masks"), "--scale", "1",
                          "--base", str(base), "--steps", str(steps), "-b", str(batch), "-v", "0", "--clip", "0",
                          "--optimizer", "adam", "-l", "1e-4", "--threads", "1"]
            local = ["mpirun", "-np", "2", "--bind-to", "core"]
            configurations = {
                "1 rank": ([UNET] + train_args, 1),
                "2 ranks, 25 MB buckets": (local + [UNET] + train_args, 2),
                "2 ranks, one bucket (no overlap)": (local + [UNET] + train_args + ["--bucket-mb", "100000"], 2),
                "2 ranks, 1 MB buckets": (local + [UNET] + train_args + ["--bucket-mb", "1"], 2),
            }
            if args.hosts:
                configurations["2 ranks on 2 hosts (netns, TCP)"] = (
                    ["ip", "netns", "exec", NAMESPACES[0], "mpirun", "-np", "2", "--hostfile", hostfile, "--bind-to", "none", "--mca", "plm_rsh_agent", agent,
                     "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "10.77.0.0/24", "--mca", "oob_tcp_if_include",
                     "10.77.0.0/24", "-x", "OMP_NUM_THREADS", "-x", "PATH", UNET] + train_args, 2)
            results = {}
            for _ in range(args.rounds):
                for name, (command, ranks) in configurations.items():
                    output = os.path.join(work, "run")
                    result = train(command + ["--output-dir", output], MPI_ENV, output, warmup, batch * ranks)
                    kept = results.get(name)
                    if kept is None or result["images_per_second"] > kept["images_per_second"]:
                        results[name] = result
            reference = results["1 rank"]["images_per_second"]
            for name, result in results.items():
                ranks = configurations[name][1]
                ratio = result["images_per_second"] / reference
                share = result["exchange_share"]
                rows.append((f"base {base}, 256², batch {batch} per rank", name, result["images_per_second"], ratio, ratio / ranks,
                             "—" if share is None else f"{100 * share:.1f}%"))
        print("| case | configuration | images/s | throughput vs 1 rank | efficiency | waiting for the exchange |")
        print("| --- | --- | --- | --- | --- | --- |")
        for case, name, ips, ratio, efficiency, share in rows:
            print(f"| {case} | {name} | {ips:.2f} | {ratio:.2f}x | {100 * efficiency:.0f}% | {share} |")
    finally:
        if args.hosts:
            teardown_hosts()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
