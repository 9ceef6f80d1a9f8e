#!/usr/bin/env python3
"""How fast a cancel returns during a forward of the released-size network (not a test):

    .venv/bin/python tools/bench_cancel.py [--model build/resencl-192.onnx] [--backend onnxruntime]
        [--at 3] [--threads 2]

A click on the lesion of tools/bench.py's 384x384x256 CT (AutoZoom off) runs on a thread;
``request_cancel`` comes --at seconds later. Prints how long after the cancel the click returned,
with which status, whether the mask is unchanged, and how long the next click takes (it runs in
full: the session is usable after a cancel).
"""
import argparse
import os
import sys
import tempfile
import threading
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bindings", "python"))
sys.path.insert(0, os.path.join(REPO, "tools"))
import nninteractive_native as nni  # noqa: E402
from bench import ct_inputs  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(REPO, "build", "resencl-192.onnx"))
    ap.add_argument("--backend", default="onnxruntime", choices=("onnxruntime", "openvino"))
    ap.add_argument("--at", type=float, default=3.0, help="seconds into the click (default 3)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _, prompts = ct_inputs(tmp)
        img = np.load(os.path.join(tmp, "image.npy"))
    i, j, k = prompts[0]["ijk"]
    at = (k, j, i)  # the binding takes array axes (a0, a1, a2) = (k, j, i)
    s = nni.Session(args.model, device="cpu", num_threads=args.threads, autozoom=False, backend=args.backend)
    print(s.describe())
    s.set_image(img)
    before = s.get_mask().copy()
    out = {}

    def click():
        try:
            s.add_point(at)
            out["status"] = "NNI_OK (finished before the cancel)"
        except nni.NniError as e:
            out["status"] = e.status_name
        out["t"] = time.time()

    worker = threading.Thread(target=click)
    worker.start()
    time.sleep(args.at)
    cancelled = time.time()
    s.request_cancel()
    worker.join()
    print(f"cancel {args.at:g} s into the click: returned {out['t'] - cancelled:.3f} s after it with "
          f"{out['status']}; mask unchanged: {np.array_equal(s.get_mask(), before)}")
    t = time.time()
    s.add_point(at)
    print(f"the next click: {time.time() - t:.1f} s, {int(s.get_mask().sum())} voxels")
    s.close()


if __name__ == "__main__":
    main()
