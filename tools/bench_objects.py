#!/usr/bin/env python3
"""Many objects, one network: the process memory of N sessions (one object each) on the
released-size network, when they share the loaded network (the same model file) and when they do
not (a copy of the file per session), each with the same CT-sized image given once through
``Image`` (shared) or once per session. Not a test: nothing is asserted.

    .venv/bin/python tools/bench_objects.py [--model build/resencl-192.onnx] [--sessions 1 4]
        [--write-docs]

The model is the released-size random ResEncL (tools/model/make_release_size_model.py, then
tools/model/convert_model.py; tools/bench.py makes it as build/resencl-192.onnx). Each
configuration runs in a fresh process; its resident memory is read after the sessions are made and
given the image (no forward: with the exact path's arena off, a forward's buffers are freed when
it ends). --write-docs writes the table into docs/performance.md between ``<!-- objects -->`` and
``<!-- /objects -->`` (tools/bench.py keeps that block).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import nninteractive_native as nni

def rss_mib():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) / 1024

models = json.loads(sys.argv[2])
shared_image = sys.argv[3] == "1"
rng = np.random.default_rng(0)
image = rng.integers(-1000, 1000, size=(256, 384, 384), dtype=np.int16)
base = rss_mib()
img = nni.Image(image) if shared_image else None
sessions = []
for m in models:
    s = nni.Session(m, device="cpu", num_threads=2)
    if shared_image:
        s.set_shared_image(img)
    else:
        s.set_image(image)
    sessions.append(s)
print(json.dumps({"rss_mib": rss_mib(), "base_mib": base, "describe": sessions[0].describe()}))
"""


def measure(models, shared_image):
    env = dict(os.environ)
    env.setdefault("NNI_LIBRARY", os.path.join(REPO, "target", "debug", "libnninteractive.so"))
    out = subprocess.run([sys.executable, "-c", CHILD, os.path.join(REPO, "bindings", "python"),
                          json.dumps(models), "1" if shared_image else "0"],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def docs_block(rows, command, model):
    lines = [
        "<!-- objects -->",
        "## Many objects on one image",
        "",
        f"Written by `{command}` (one run each, a fresh process per row; not a test).",
        "",
        f"N sessions (one object each) on `{os.path.relpath(model, REPO)}` (the released-size ResEncL, "
        f"{os.path.getsize(model) / 2**20:.0f} MiB of float32 weights), each given a 384x384x256 int16 image; "
        "process resident memory after the sessions are made and given the image (no forward), "
        "minus the process before them (Python, numpy and the image array).",
        "",
        "| sessions | network | image | memory MiB | per session MiB |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['n']} | {r['network']} | {r['image']} | {r['mib']:.0f} | {r['mib'] / r['n']:.0f} |")
    lines += ["<!-- /objects -->"]
    return "\n".join(lines)


def write_docs(block):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench import splice_docs_block

    splice_docs_block("objects", block)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(REPO, "build", "resencl-192.onnx"))
    ap.add_argument("--sessions", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    if not os.path.isfile(args.model):
        print(f"bench_objects: no model at {args.model} (tools/bench.py makes it)", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(args.model))) as tmp:
        for n in args.sessions:
            configs = [("one, shared", "one, shared", [args.model] * n, True)]
            if n > 1:
                copies = [args.model]
                for k in range(1, n):
                    c = os.path.join(tmp, f"copy{k}.onnx")
                    if not os.path.exists(c):
                        shutil.copyfile(args.model, c)
                    copies.append(c)
                configs.append(("one per session", "one per session", copies, False))
            for network, image, models, shared in configs:
                r = measure(models, shared)
                mib = r["rss_mib"] - r["base_mib"]
                rows.append({"n": n, "network": network, "image": image, "mib": mib})
                print(f"{n} session(s), network {network}, image {image}: {mib:.0f} MiB  ({r['describe']})")
    if args.write_docs:
        command = "tools/bench_objects.py " + " ".join(sys.argv[1:])
        write_docs(docs_block(rows, command.strip(), args.model))
        print("wrote the objects block of docs/performance.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
