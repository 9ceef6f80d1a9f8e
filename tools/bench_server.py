#!/usr/bin/env python3
"""Server load: clicks per second and per-click latency with K clients at once, `nni serve` beside
the reference server (`nninteractive-server`, PyPI nninteractive 2.6.0), same network, same image,
same clicks, one run each. Not a test: nothing is asserted.

    .venv-client/bin/python tools/bench_server.py [--clients 1 2 4] [--clicks 6] [--threads 2]
        [--json PATH] [--write-docs]

Needs the client venv (.venv-client: nninteractive-client 2.6.0, numpy, httpx) and the reference
venv (.venv-ref, tools/setup/ref.sh). The network is tests/conformance/models/tiny-trained-p64:
the reference server loads the folder, `nni serve` its ONNX conversion (build/conformance-models,
made or reused as tools/test/conformance.py does). The image is a 160x160x128 int16 volume of
bright ellipsoids of different sizes on a noisy background (fixed seed).

For each K and each server (the reference first, then `nni serve`; one server at a time, each
started afresh with --max-sessions K and --threads T): K client threads each open a
`nnInteractiveRemoteInferenceSession` (AutoZoom on), send the image (timed: set_image) and a
target buffer, wait at a barrier, then make the same clicks: a positive point at an object's
centre, then a negative point just outside it, then the next object after reset_interactions().
Every click call is timed on the client, from the request to the updated target buffer. It
prints one table: per server and K, clicks per second (all clicks over the click phase's wall
time, from the barrier to the last client's last click), the 50th/90th/99th percentile and
largest click latency over every client's clicks, the median set_image time, the server's peak
resident memory (VmHWM, read before it stops), each client's final mask size in voxels, and on
the `nni serve` rows the ratios to the reference. --json PATH writes the raw timings;
--write-docs writes the table into docs/performance.md between `<!-- server-load -->` and
`<!-- /server-load -->` (tools/bench.py keeps that block when it rewrites the file).

With --triton the servers are `nni serve` with its own network beside `nni serve --network-url`
on a real Triton server (PyTriton, tools/setup/triton.sh; the same ONNX Runtime and threads in the
function it binds, on the same machine), once with Triton's dynamic batcher (max_batch_size 4,
2 ms queue delay: what tools/model/triton_repo.py writes) and once without (max_batch_size 1);
the ratios are to `nni serve` alone, and the batches Triton formed are counted. --write-docs then
writes the `<!-- triton-load -->` block.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import numpy as np
from nnInteractive.inference.remote import nnInteractiveRemoteInferenceSession

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, os.path.join(REPO, "tools", "test"))

from bench import machine  # noqa: E402
import conformance  # noqa: E402  (the conformance models' ONNX conversion)

MODEL = os.path.join("tests", "conformance", "models", "tiny-trained-p64")
NNI = os.path.join(REPO, "target", "release", "nni")
REF_PYTHON = os.path.join(REPO, ".venv-ref", "bin", "python")
REF_SERVER = os.path.join(REPO, ".venv-ref", "bin", "nninteractive-server")
BEGIN, END = "<!-- server-load -->", "<!-- /server-load -->"
STARTUP_S = 120


# ------------------------------------------------------------------------------------ inputs
# (centre, radii, intensity) in voxels of the (x, y, z) image: a large object (AutoZoom zooms
# out for it), a medium one and a small one.
OBJECTS = [((100, 96, 70), (30, 26, 24), 800),
           ((50, 60, 60), (14, 18, 12), 900),
           ((112, 40, 34), (8, 8, 8), 1000)]


def make_image():
    """160x160x128 int16: a noisy background and the OBJECTS, bright and noisy themselves."""
    rng = np.random.default_rng(0)
    shape = (160, 160, 128)
    img = 100 + rng.normal(0, 20, shape)
    g = np.indices(shape, dtype=np.float32)
    for centre, radii, value in OBJECTS:
        inside = sum(((g[d] - centre[d]) / radii[d]) ** 2 for d in range(3)) <= 1
        img[inside] = value + rng.normal(0, 20, int(inside.sum()))
    return img.astype(np.int16)


def make_clicks(n):
    """n clicks as (object index, (x, y, z), positive): per object a positive click at its centre,
    then a negative one 5 voxels outside it along y; objects in turn."""
    clicks = []
    for i in range(n):
        obj = (i // 2) % len(OBJECTS)
        (x, y, z), radii, _ = OBJECTS[obj]
        if i % 2 == 0:
            clicks.append((obj, (x, y, z), True))
        else:
            clicks.append((obj, (x, y + radii[1] + 5, z), False))
    return clicks


# ------------------------------------------------------------------------------------ servers
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path, n=30):
    with open(path, errors="replace") as f:
        return "".join(f.readlines()[-n:])


class Server:
    """One server process, its output in a log file; ready once GET /healthz answers 200."""

    def __init__(self, kind, onnx, clients, threads, logdir, network_url=None):
        self.log_path = os.path.join(logdir, f"{kind}-{clients}.log")
        env = dict(os.environ)
        if network_url:
            cmd = [NNI, "serve", "--network-url", network_url, "--port", "0", "--max-sessions", str(clients)]
            self.url = None
        elif kind == "nni":
            cmd = [NNI, "serve", "--model", onnx, "--port", "0", "--threads", str(threads),
                   "--max-sessions", str(clients)]
            env.setdefault("NNI_ONNXRUNTIME_PATH", os.path.join(REPO, ".deps", "onnxruntime", "libonnxruntime.so"))
            self.url = None  # announced on stderr: "serving on http://ADDR:PORT"
        else:
            port = free_port()
            cmd = [REF_SERVER, "--model-dir", os.path.join(REPO, MODEL), "--fold", "0", "--device", "cpu",
                   "--torch-n-threads", str(threads), "--no-torch-compile", "--max-sessions", str(clients),
                   "--host", "127.0.0.1", "--port", str(port)]
            self.url = f"http://127.0.0.1:{port}"
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        deadline = time.time() + STARTUP_S
        while not self.healthy():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{kind} server exited with {self.proc.returncode}:\n{tail(self.log_path)}")
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"{kind} server not ready after {STARTUP_S} s:\n{tail(self.log_path)}")
            time.sleep(0.2)

    def healthy(self):
        if self.url is None:
            with open(self.log_path, errors="replace") as f:
                m = re.search(r"serving on (http://\S+)", f.read())
            if m is None:
                return False
            self.url = m.group(1)
        try:
            return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def peak_rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))
        return kib / 1024

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ------------------------------------------------------------------------------------ load
def client(url, image, clicks, barrier, out):
    """One client's session: set_image, target buffer, the barrier, then the clicks, each timed."""
    try:
        with nnInteractiveRemoteInferenceSession(url, read_timeout=600.0) as rs:
            rs.set_do_autozoom(True)
            t = time.perf_counter()
            rs.set_image(image[None])
            out["set_image_s"] = time.perf_counter() - t
            target = np.zeros(image.shape, np.uint8)
            rs.set_target_buffer(target)
            barrier.wait()
            latencies = []
            for n, (obj, xyz, positive) in enumerate(clicks):
                if n and obj != clicks[n - 1][0]:
                    rs.reset_interactions()
                t = time.perf_counter()
                rs.add_point_interaction(list(xyz), include_interaction=positive)
                latencies.append(time.perf_counter() - t)
            out["done"] = time.perf_counter()
            out["latencies_s"] = latencies
            out["foreground_voxels"] = int(np.count_nonzero(target))
    except BaseException as e:  # noqa: BLE001 - re-raised by the main thread
        out["error"] = e
        barrier.abort()


def run_load(kind, onnx, clients, clicks, threads, image, logdir, network_url=None):
    """One server with `clients` clients at once; the run's numbers."""
    server = Server(kind, onnx, clients, threads, logdir, network_url)
    try:
        start = []
        barrier = threading.Barrier(clients, action=lambda: start.append(time.perf_counter()))
        outs = [{} for _ in range(clients)]
        workers = [threading.Thread(target=client, args=(server.url, image, clicks, barrier, out)) for out in outs]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        errors = [o["error"] for o in outs if "error" in o]
        if errors:
            first = next((e for e in errors if not isinstance(e, threading.BrokenBarrierError)), errors[0])
            raise RuntimeError(f"{kind} with {clients} clients: {first!r}\n{tail(server.log_path)}") from first
        peak = server.peak_rss_mib()
    finally:
        server.stop()
    wall = max(o["done"] for o in outs) - start[0]
    ms = 1000 * np.array([lat for o in outs for lat in o["latencies_s"]])
    return {"server": kind, "clients": clients, "click_phase_s": wall,
            "clicks_per_s": len(ms) / wall,
            "p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max()),
            "set_image_s": float(np.median([o["set_image_s"] for o in outs])),
            "peak_rss_mib": peak,
            "latencies_s": [o["latencies_s"] for o in outs],
            "set_image_s_per_client": [o["set_image_s"] for o in outs],
            "foreground_voxels": [o["foreground_voxels"] for o in outs]}


# ------------------------------------------------------------------------------------ report
def reference_version():
    code = "import importlib.metadata as m; print(m.version('nninteractive'), m.version('torch'))"
    nni_version, torch_version = subprocess.run([REF_PYTHON, "-c", code], capture_output=True, text=True,
                                                check=True).stdout.split()
    return f"nninteractive {nni_version}, torch {torch_version}"


TRITON_BEGIN, TRITON_END = "<!-- triton-load -->", "<!-- /triton-load -->"
TRITON_KINDS = {"nni": "nni serve, own network", "triton-batched": "nni serve -> Triton, batching",
                "triton-unbatched": "nni serve -> Triton, no batching"}


def triton_table(runs):
    lines = ["| clients | server | clicks/s | p50 ms | p90 ms | p99 ms | max ms | Triton batches (sizes) "
             "| final mask voxels | p50 vs own network | clicks/s vs own network |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        own = next(x for x in runs if x["server"] == "nni" and x["clients"] == r["clients"])
        voxels = sorted(set(r["foreground_voxels"]))
        ratios = "| |" if r is own else (f"{r['p50_ms'] / own['p50_ms']:.2f}x | "
                                          f"{r['clicks_per_s'] / own['clicks_per_s']:.2f}x |")
        sizes = r.get("batch_sizes")
        batches = "" if sizes is None else (
            f"{len(sizes)} ({', '.join(f'{n}: {sizes.count(n)}' for n in sorted(set(sizes)))})")
        lines.append(f"| {r['clients']} | {TRITON_KINDS[r['server']]} | {r['clicks_per_s']:.2f} "
                     f"| {r['p50_ms']:.0f} | {r['p90_ms']:.0f} | {r['p99_ms']:.0f} | {r['max_ms']:.0f} "
                     f"| {batches} | {', '.join(map(str, voxels))} | {ratios}")
    return "\n".join(lines)


def triton_docs_block(res):
    return "\n".join([
        TRITON_BEGIN,
        "## Server load with the network on Triton",
        "",
        "Written by `" + res["command"] + "` (one run; not a test: nothing is asserted).",
        "",
        f"- Machine: {res['machine']}. Everything on it: the clients, `nni serve`, and Triton.",
        f"- `nni serve --threads {res['threads']}` with its own network (ONNX Runtime, float32), beside",
        "  `nni serve --network-url` on Triton 2.51 (PyPI PyTriton 0.7.0, its Python backend running the",
        f"  repository's model.onnx in ONNX Runtime {res['ort']}, {res['threads']} threads, on the CPU), with the dynamic",
        "  batcher (max_batch_size 4, queue delay 2 ms) and without (max_batch_size 1).",
        f"- Network, image, clients and clicks as in [Server load](#server-load): `{MODEL}`, {res['image']};",
        f"  {len(res['clicks'])} clicks per client.",
        "",
        table_note_triton(),
        "",
        triton_table(res["runs"]),
        "",
        batching_bought(res["runs"]),
        TRITON_END,
    ])


def batching_bought(runs):
    """One sentence: clicks/s and p50 with the batcher over without, at the largest K."""
    k = max(r["clients"] for r in runs)
    on = next(r for r in runs if r["clients"] == k and r["server"] == "triton-batched")
    off = next(r for r in runs if r["clients"] == k and r["server"] == "triton-unbatched")
    own = next(r for r in runs if r["clients"] == k and r["server"] == "nni")
    return (f"What batching bought here, {k} clients: {on['clicks_per_s'] / off['clicks_per_s']:.2f}x the clicks/s "
            f"and {on['p50_ms'] / off['p50_ms']:.2f}x the median click of no batching. The way through Triton costs "
            f"{1 - off['clicks_per_s'] / own['clicks_per_s']:.0%} of the clicks/s of the server's own network on this "
            "machine: each forward's input and logits are copied through HTTP and the Python backend's shared "
            "memory, on the same two cores that compute.")


def table_note_triton():
    return ("Triton batches: how many batches Triton's function ran for the row, and how many of each size. "
            "On this CPU a batch of K runs about K times as long as one forward (2 cores, already busy), so "
            "batching buys no compute here; on a GPU, where one forward leaves room, it is the point "
            "(docs/scale-out.md).")


def table(runs):
    lines = ["| clients | server | clicks/s | p50 ms | p90 ms | p99 ms | max ms | set_image s | peak RSS MiB "
             "| final mask voxels | p50 vs reference | clicks/s vs reference |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        ref = next(x for x in runs if x["server"] == "reference" and x["clients"] == r["clients"])
        voxels = sorted(set(r["foreground_voxels"]))
        ratios = "| |" if r is ref else (f"{r['p50_ms'] / ref['p50_ms']:.2f}x | "
                                          f"{r['clicks_per_s'] / ref['clicks_per_s']:.2f}x |")
        lines.append(f"| {r['clients']} | {'reference' if r is ref else 'nni serve'} | {r['clicks_per_s']:.2f} "
                     f"| {r['p50_ms']:.0f} | {r['p90_ms']:.0f} | {r['p99_ms']:.0f} | {r['max_ms']:.0f} "
                     f"| {r['set_image_s']:.2f} | {r['peak_rss_mib']:.0f} | {', '.join(map(str, voxels))} | {ratios}")
    return "\n".join(lines)


def docs_block(res):
    clicks = ", ".join(f"`{'+' if pos else '-'}({', '.join(map(str, xyz))})`" for _, xyz, pos in res["clicks"])
    return "\n".join([
        BEGIN,
        "## Server load",
        "",
        "Written by `" + res["command"] + "` (one run; not a test: nothing is asserted).",
        "",
        f"- Machine: {res['machine']}.",
        "- Servers, one at a time, each started afresh with `--max-sessions K`: the reference,",
        f"  `nninteractive-server --device cpu --no-torch-compile --torch-n-threads {res['threads']}` ({res['reference']}),",
        f"  and `nni serve --threads {res['threads']}` (ONNX Runtime, float32).",
        "- Clients: K at once, threads of one process, each its own session",
        "  (`nnInteractiveRemoteInferenceSession` of nninteractive-client 2.6.0, AutoZoom on).",
        f"- Network: `{MODEL}` (for `nni serve`, its ONNX conversion).",
        f"- Image: {res['image']}.",
        f"- Clicks: {len(res['clicks'])} per client, the same for every client and both servers, as (x, y, z),",
        f"  with reset_interactions() between objects (+ positive, - negative): {clicks}.",
        "",
        "Latency: each click call timed on the client (request to updated target buffer), percentiles",
        "over every client's clicks. clicks/s: all clicks over the click phase's wall time (from the",
        "barrier all clients wait at to the last click). set_image: median over clients. Peak RSS:",
        "the server process's VmHWM. Final mask voxels: each client's target buffer after its last",
        "click (one number when all clients agree).",
        "",
        table(res["runs"]),
        END,
    ])


def write_docs(block, begin=BEGIN, end=END, after=END):
    path = os.path.join(REPO, "docs", "performance.md")
    text = ""
    if os.path.isfile(path):
        with open(path) as f:
            text = f.read()
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    elif after in text:
        at = text.index(after) + len(after)
        text = text[:at] + "\n\n" + block + text[at:]
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "") + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4], help="K values, one run each")
    ap.add_argument("--clicks", type=int, default=6, help="clicks per client")
    ap.add_argument("--threads", type=int, default=2, help="inference threads of either server")
    ap.add_argument("--json", metavar="PATH", help="write the raw results here")
    ap.add_argument("--write-docs", action="store_true", help="write the table into docs/performance.md")
    ap.add_argument("--triton", action="store_true",
                    help="nni serve alone beside nni serve -> Triton (with and without batching), not the reference")
    args = ap.parse_args()

    if not os.path.isfile(NNI):
        subprocess.run(["cargo", "build", "--release", "-p", "nni"], cwd=REPO, check=True)
    onnx = conformance.convert_models(os.path.join(REPO, "tests", "conformance"),
                                      os.path.join(REPO, "build", "conformance-models"), REF_PYTHON, 2,
                                      False)[os.path.realpath(os.path.join(REPO, MODEL))]
    image = make_image()
    clicks = make_clicks(args.clicks)
    command = " ".join([".venv-client/bin/python tools/bench_server.py", "--clients", *map(str, args.clients),
                        "--clicks", str(args.clicks), "--threads", str(args.threads)]
                       + (["--triton"] if args.triton else [])
                       + (["--json", args.json] if args.json else []) + (["--write-docs"] if args.write_docs else []))
    if args.triton:
        return main_triton(args, onnx, image, clicks, command)
    res = {"command": command, "machine": machine(), "reference": reference_version(), "threads": args.threads,
           "image": "160x160x128 int16, background 100 +- 20, ellipsoids of radii "
                    + ", ".join("x".join(map(str, r)) for _, r, _ in OBJECTS) + " voxels at 800-1000",
           "clicks": clicks, "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-server-") as logdir:
        for k in args.clients:
            for kind in ("reference", "nni"):
                print(f"{kind}, {k} client(s): ", end="", flush=True)
                r = run_load(kind, onnx, k, clicks, args.threads, image, logdir)
                res["runs"].append(r)
                print(f"{r['clicks_per_s']:.2f} clicks/s, p50 {r['p50_ms']:.0f} ms, "
                      f"set_image {r['set_image_s']:.2f} s, peak RSS {r['peak_rss_mib']:.0f} MiB, "
                      f"final mask voxels per client {r['foreground_voxels']}", flush=True)
    print()
    print(table(res["runs"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    if args.write_docs:
        write_docs(docs_block(res))
        print("\nwrote the server-load block of docs/performance.md")


def main_triton(args, onnx, image, clicks, command):
    """nni serve alone, then through Triton with and without batching, for each K."""
    import triton as triton_test  # tools/test/triton.py: the Triton process

    subprocess.run([os.path.join(REPO, "tools", "setup", "triton.sh")], check=True)
    ort_version = subprocess.run([triton_test.TRITON_PYTHON, "-c", "import onnxruntime; print(onnxruntime.__version__)"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    res = {"command": command, "machine": machine(), "threads": args.threads, "ort": ort_version,
           "image": "160x160x128 int16 with three bright ellipsoids", "clicks": clicks, "runs": []}
    with tempfile.TemporaryDirectory(prefix="bench-triton-") as work:
        repo = os.path.join(work, "repository")
        for name, batch in (("batched", 4), ("unbatched", 1)):
            subprocess.run([os.path.join(REPO, ".venv", "bin", "python"),
                            os.path.join(REPO, "tools", "model", "triton_repo.py"), onnx, repo, "--name", name,
                            "--instance-kind", "cpu", "--max-batch-size", str(batch), "--queue-delay-us", "2000"],
                           check=True, stdout=subprocess.DEVNULL)
        control = os.path.join(work, "control")
        os.makedirs(control)
        triton = triton_test.Triton(repo, control, threads=args.threads)
        triton.start()
        try:
            for k in args.clients:
                for kind in ("nni", "triton-batched", "triton-unbatched"):
                    url = None if kind == "nni" else f"{triton.url}/v2/models/{kind.split('-')[1]}"
                    before = len(triton.batches())
                    print(f"{kind}, {k} client(s): ", end="", flush=True)
                    r = run_load(kind, onnx, k, clicks, args.threads, image, work, network_url=url)
                    if url:
                        r["batch_sizes"] = triton.batches()[before:]
                    res["runs"].append(r)
                    print(f"{r['clicks_per_s']:.2f} clicks/s, p50 {r['p50_ms']:.0f} ms, "
                          f"final mask voxels per client {r['foreground_voxels']}"
                          + (f", Triton batch sizes {sorted(set(r['batch_sizes']))}" if url else ""), flush=True)
        finally:
            triton.stop()
    print()
    print(triton_table(res["runs"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    if args.write_docs:
        write_docs(triton_docs_block(res), TRITON_BEGIN, TRITON_END)
        print("\nwrote the triton-load block of docs/performance.md")


if __name__ == "__main__":
    sys.exit(main())
