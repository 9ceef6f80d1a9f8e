#!/usr/bin/env python3
"""Where one ONNX Runtime forward of a converted model spends its time and its memory.

    .venv/bin/python tools/profile_forward.py build/resencl-192.onnx [--threads 2] [--top 15]

Runs one forward on the CPU with the engine's session settings (no memory arena, no memory
pattern, intra-op threads as given, one inter-op thread) and ONNX Runtime's profiler, while a
thread samples the process's resident memory every 10 ms. Prints the time per operator type,
the slowest nodes, the peak resident memory, and the nodes during which resident memory was
highest (the profiler's timeline aligned to the samples: good to one node). The input is the
model's shape with a random image channel and a small cube in the first positive-point channel.
A measurement tool, not a test."""

import argparse
import collections
import json
import os
import tempfile
import threading
import time

import numpy as np
import onnxruntime as ort


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--top", type=int, default=15, help="how many nodes to list (default 15)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="nni-profile-") as work:
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.enable_cpu_mem_arena = False
        so.enable_mem_pattern = False
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(work, "ort")
        session = ort.InferenceSession(args.model, so, providers=["CPUExecutionProvider"])
        inp = session.get_inputs()[0]
        shape = [int(d) for d in inp.shape]
        x = np.zeros(shape, np.float32)
        x[:, 0] = np.random.default_rng(0).standard_normal(shape[2:], dtype=np.float32)
        centre = [s // 2 for s in shape[2:]]
        x[(0, min(3, shape[1] - 1), *[slice(c - 4, c + 4) for c in centre])] = 1
        loaded = resident_bytes()

        samples, done = [], threading.Event()

        def sample():
            while not done.is_set():
                samples.append((time.perf_counter(), resident_bytes()))
                time.sleep(0.01)

        sampler = threading.Thread(target=sample)
        sampler.start()
        start = time.perf_counter()
        session.run(None, {inp.name: x})
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        with open(session.end_profiling()) as f:
            events = [e for e in json.load(f) if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]

    mib = 1 << 20
    print(f"{args.model}: forward {seconds:.2f} s on {args.threads} threads; resident {loaded / mib:.0f} MiB "
          f"after loading, peak {max(r for _, r in samples) / mib:.0f} MiB during the forward")
    by_op, count = collections.Counter(), collections.Counter()
    for e in events:
        by_op[e["args"]["op_name"]] += e["dur"] / 1e6
        count[e["args"]["op_name"]] += 1
    print("\ntime per operator type")
    for op, s in by_op.most_common():
        print(f"  {op:22s} {s:8.2f} s  ({count[op]} nodes)")
    print(f"\nslowest {args.top} nodes")
    for e in sorted(events, key=lambda e: -e["dur"])[: args.top]:
        print(f"  {e['dur'] / 1e6:7.2f} s  {e['args']['op_name']:14s} {e['name'][: -len('_kernel_time')]}")
    # The profiler's clock (microseconds from its start) against perf_counter: the first node
    # started when run() was called.
    first = min(e["ts"] for e in events)
    at_node = []
    for e in events:
        lo, hi = e["ts"], e["ts"] + e["dur"]
        inside = [r for t, r in samples if lo <= (t - start) * 1e6 + first <= hi]
        if inside:
            at_node.append((max(inside), e))
    print(f"\nhighest resident memory, by node ({args.top})")
    for r, e in sorted(at_node, key=lambda p: -p[0])[: args.top]:
        print(f"  {r / mib:7.0f} MiB  {e['args']['op_name']:14s} {e['name'][: -len('_kernel_time')]}")


if __name__ == "__main__":
    main()
