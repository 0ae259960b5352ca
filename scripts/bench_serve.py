#!/usr/bin/env python3
"""Serving under load: `unet serve` against `unet predict` on the same images, on loopback.

For each model (classic U-Nets of base 16 and base 64, 3 channels, 2 classes, random weights, saved as milesial's
`.pth`) and 256x256 RGB images:

- offline: `unet predict` of the images, images/s as it reports them;
- online: `unet serve --max-batch 8 --batch-timeout-ms 10` and a bounded load generator (one thread and one
  keep-alive connection per client) at 1, 4, 16 and 64 concurrent clients, each for `--seconds` (six times that for
  base 64, whose batches take seconds): throughput,
  p50/p99 latency, throughput against offline prediction;
- soak (the base-16 model, which answers the most requests): 16 clients for `--soak` seconds with the server's RSS
  sampled every 10 s (first, last and peak);
- hostile: `--hostile` malformed requests (truncated bodies, wrong content types, image bombs, huge headers, bad
  multipart, bad queries, unknown models, random bytes), counted by answer: every answer must be 4xx (a truncated
  body may also be closed without one), none 5xx, and the server alive and healthy after;
- schemathesis (`--schemathesis`, from PyPI): the OpenAPI document's every operation fuzzed against the running
  server, every check on.

The client runs in this process and takes some of the machine's cores: the online numbers are what a client on the
same machine sees. Prints Markdown tables.

    swift build -c release --product unet
    .venv/bin/python scripts/bench_serve.py [--quick] [--soak 600] [--hostile 1000] [--schemathesis]
"""
import argparse
import http.client
import io
import os
import random
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
UNET = os.environ.get("UNET_BINARY", os.path.join(ROOT, ".build", "release", "unet"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def make_models(folder):
    import torch
    import unet_zoo
    paths = {}
    for base in (16, 64):
        torch.manual_seed(base)
        path = os.path.join(folder, f"base{base}.pth")
        torch.save(unet_zoo.MilesialUNet(3, 2, False, base=base).state_dict(), path)
        paths[f"base {base}"] = path
    return paths


def make_images(folder, count, size):
    import numpy as np
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    bodies = []
    for k in range(count):
        y, x = np.mgrid[0:size, 0:size]
        cx, cy = rng.uniform(0.2, 0.8, 2) * size
        r = rng.uniform(0.1, 0.3) * size
        disc = ((x - cx) ** 2 + (y - cy) ** 2 < r * r)[..., None]
        pixels = np.clip(rng.normal(100, 20, (size, size, 3)) + 80 * disc, 0, 255).astype(np.uint8)
        path = os.path.join(folder, f"{k}.png")
        Image.fromarray(pixels).save(path)
        with open(path, "rb") as f:
            bodies.append(f.read())
    return bodies


def start_server(models, extra=()):
    arguments = [UNET, "serve", "--port", "0", "--log-level", "warning"]
    for name, path in models.items():
        arguments += ["-m", f"{name.replace(' ', '')}={path}"]
    process = subprocess.Popen(arguments + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    match = re.search(r"http://[0-9.]+:([0-9]+)", line)
    if not match:
        raise SystemExit(f"unet serve did not start: {line} {process.stderr.read()}")
    port = int(match.group(1))
    for _ in range(1200):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    return process, port


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def load(port, model, bodies, clients, seconds):
    """`clients` threads posting images for `seconds`; returns (images/s, latencies in seconds, errors)."""
    latencies, errors = [], []
    lock = threading.Lock()
    start = time.time()
    deadline = start + seconds

    def client(k):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        i = k
        while time.time() < deadline:
            body = bodies[i % len(bodies)]
            i += clients
            t = time.time()
            try:
                connection.request("POST", f"/v1/models/{model}/segment", body=body, headers={"Content-Type": "image/png"})
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                status = repr(error)
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            done = time.time()
            with lock:
                if status == 200 and done <= deadline:
                    latencies.append(done - t)
                elif status != 200:
                    errors.append(status)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / seconds, sorted(latencies), errors


def percentile(values, p):
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else float("nan")


def offline(model_path, folder):
    out = tempfile.mkdtemp()
    result = subprocess.run([UNET, "predict", "-m", model_path, "-i", folder, "-o", out], capture_output=True, text=True, check=True)
    return float(re.search(r"\(([0-9.]+) images/s\)", result.stdout).group(1))


def png_bomb(width, height):
    """A small PNG whose header declares width x height (its data is a few compressed rows)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = zlib.compress(b"\x00" * (width * 3 + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def tiff_bomb():
    entries = [(256, 4, 1, 200000), (257, 4, 1, 200000), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1), (273, 4, 1, 8),
               (277, 3, 1, 1), (278, 4, 1, 200000), (279, 4, 1, 4)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\x00" * 4
    return b"II*\x00" + struct.pack("<I", 12) + b"\x00" * 4 + ifd


def raw_exchange(port, data, shutdown=False, timeout=60):
    """Sends bytes; returns the status code of the answer, 'closed' when the server closed without one, or 'timeout'."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(timeout)
    try:
        try:
            s.sendall(data)
            if shutdown:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        answer = b""
        while b"\r\n" not in answer:
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    except socket.timeout:
        return "timeout"
    except OSError:
        return "closed"
    finally:
        s.close()
    match = re.match(rb"HTTP/1\.[01] ([0-9]{3})", answer)
    return int(match.group(1)) if match else "closed"


def hostile(port, model, body, count):
    rng = random.Random(0)
    path = f"/v1/models/{model}/segment"

    def request(headers, payload, target=path, method="POST"):
        head = f"{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return head.encode() + b"\r\n" + payload

    def image_headers(payload, kind="image/png"):
        return {"Content-Type": kind, "Content-Length": str(len(payload))}

    boundary = "bOuNdArY"
    kinds = {
        "truncated body": lambda: (request({"Content-Type": "image/png", "Content-Length": str(len(body))}, body[:rng.randrange(1, len(body))]), True),
        "truncated image": lambda: ((lambda p: request(image_headers(p), p))(body[:rng.randrange(8, len(body) - 1)]), False),
        "wrong content type": lambda: (request(image_headers(body, rng.choice(["text/plain", "application/json", "video/mp4"])), body), False),
        "PNG bomb": lambda: ((lambda p: request(image_headers(p), p))(png_bomb(rng.choice([20000, 65535]), rng.choice([20000, 65535]))), False),
        "TIFF bomb": lambda: ((lambda p: request(image_headers(p, "image/tiff"), p))(tiff_bomb()), False),
        "huge header": lambda: (request({"X-Huge": "a" * rng.choice([100_000, 500_000]), **image_headers(body)}, body), False),
        "many headers": lambda: (request({**{f"X-{i}": "v" for i in range(2000)}, **image_headers(body)}, body), False),
        "bad multipart": lambda: ((lambda p: request({"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(len(p))}, p))(
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"\r\n\r\n".encode() + body[:rng.randrange(0, 100)]), False),
        "bad query": lambda: (request(image_headers(body), body, target=path + rng.choice(["?format=jpeg", "?opacity=nan", "?tta=maybe", "?x=1", "?format=" + "a" * 5000])), False),
        "unknown model": lambda: (request(image_headers(body), body, target="/v1/models/" + "".join(rng.choice("abc%2F..") for _ in range(20)) + "/segment"), False),
        "random bytes": lambda: ((lambda p: request(image_headers(p), p))(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000)))), False),
        "declared huge body": lambda: (request({"Content-Type": "image/png", "Content-Length": str(10 ** 12)}, body[:1000]), False),
        "garbage request": lambda: (bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) + b"\r\n\r\n", False),
        "bad method": lambda: (request(image_headers(body), body, method=rng.choice(["PUT", "DELETE", "BREW", "GET"])), False),
    }
    names = list(kinds)
    outcomes = {}
    for k in range(count):
        name = names[k % len(names)]
        data, shutdown = kinds[name]()
        result = raw_exchange(port, data, shutdown=shutdown)
        outcomes.setdefault(name, {}).setdefault(result, 0)
        outcomes[name][result] += 1
    return outcomes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 s per load level, no soak, 200 hostile requests")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--soak", type=float, default=600)
    parser.add_argument("--hostile", type=int, default=1000)
    parser.add_argument("--schemathesis", action="store_true")
    parser.add_argument("--skip-load", action="store_true", help="only the malformed requests and schemathesis")
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.soak, args.hostile = 5, 0, 200
    folder = tempfile.mkdtemp()
    models = make_models(folder)
    images = os.path.join(folder, "images")
    bodies = make_images(images, args.images, args.size)

    print(f"## unet serve under load ({args.size}x{args.size} RGB PNG, {os.cpu_count()} cores, client on the same machine)\n")
    print("| model | clients | images/s | p50 ms | p99 ms | / unet predict | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, path in ({} if args.skip_load else models).items():
        baseline = offline(path, images)
        print(f"| {name} | unet predict | {baseline:.2f} | | | 1.00 | |", flush=True)
        process, port = start_server({name: path}, ["--max-batch", "8", "--batch-timeout-ms", "10"])
        model = name.replace(" ", "")
        try:
            # A base-64 batch of 8 takes seconds: a longer window keeps the count of whole batches from skewing the rate.
            seconds = args.seconds * (6 if name == "base 64" else 1)
            for clients in args.clients:
                rate, latencies, errors = load(port, model, bodies, clients, seconds)
                print(f"| {name} | {clients} | {rate:.2f} | {1000 * percentile(latencies, 50):.0f} | {1000 * percentile(latencies, 99):.0f} "
                      f"| {rate / baseline:.2f} | {len(errors)} |", flush=True)
            if args.soak > 0 and name == "base 16":
                samples = []
                done = threading.Event()

                def sample():
                    while not done.wait(10):
                        samples.append(rss_mb(process.pid)[0])
                sampler = threading.Thread(target=sample)
                sampler.start()
                rate, latencies, errors = load(port, model, bodies, 16, args.soak)
                done.set()
                sampler.join()
                print(f"\nsoak {name}: {args.soak:.0f} s at 16 clients, {rate:.2f} images/s, {len(errors)} errors; RSS MB first "
                      f"{samples[0]:.0f}, last {samples[-1]:.0f}, peak {max(samples):.0f} (of {len(samples)} samples)\n", flush=True)
        finally:
            process.terminate()
            process.wait(60)
        print(f"(server exit status after SIGTERM: {process.returncode})", file=sys.stderr)

    process, port = start_server({"base 16": models["base 16"]})
    try:
        if args.hostile:
            outcomes = hostile(port, "base16", bodies[0], args.hostile)
            alive = process.poll() is None
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/healthz")
            healthy = connection.getresponse().status == 200
            bad = sum(n for o in outcomes.values() for r, n in o.items() if isinstance(r, int) and r >= 500 or r == "timeout")
            print(f"\n## {args.hostile} malformed requests: server alive {alive}, healthy {healthy}, 5xx or hung: {bad}\n")
            print("| kind | answers |")
            print("| --- | --- |")
            for name, results in outcomes.items():
                print(f"| {name} | " + ", ".join(f"{r}: {n}" for r, n in sorted(results.items(), key=str)) + " |")
        if args.schemathesis:
            tool = os.path.join(os.path.dirname(sys.executable), "schemathesis")
            # A body the schema calls a string may be no decodable image: 400 is then the right answer, which the
            # schema cannot express (schemathesis's positive-data check is told so), as 404 for a model that is not served.
            # It runs in the temporary folder, where it leaves its cache.
            config = os.path.join(folder, "schemathesis.toml")
            with open(config, "w") as f:
                f.write('[[operations]]\ninclude-name = "POST /v1/models/{name}/segment"\n'
                        'checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "404", "413", "503"]\n')
            result = subprocess.run([tool, "--config-file", config, "run", f"http://127.0.0.1:{port}/openapi.json", "--checks", "all",
                                     "-n", "200", "--request-timeout", "60"], capture_output=True, text=True, cwd=folder)
            print("\n## schemathesis\n\n```\n" + "\n".join(result.stdout.strip().splitlines()[-25:]) + "\n```")
            print(f"schemathesis exit status {result.returncode}")
    finally:
        process.terminate()
        process.wait(60)


if __name__ == "__main__":
    main()
