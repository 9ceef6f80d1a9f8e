#!/usr/bin/env python3
"""Per-prompt latency and peak memory: nninteractive-native beside the reference Python pipeline,
same network (an nnInteractive model folder and its ONNX conversion), same image, same prompts,
one run each, reported as a ratio.

    .venv/bin/python tools/bench.py [--model-folder models/tiny-trained-p64] [--size 256 256 192]

The reference runs `nnInteractiveInferenceSession` (CPU, float32, 2 torch threads) in
.venv-ref; the engine runs `nni bench` (release build, 2 ONNX Runtime threads). Each side is its own
process, so peak resident memory (VmHWM) is comparable. Not a test: nothing is asserted.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_inputs(tmp, size):
    """A float32 volume with a noisy background and three bright objects of different sizes (the
    kind of image the tiny trained model knows), and a prompt list in (i, j, k)."""
    rng = np.random.default_rng(0)
    shape = tuple(size[::-1])  # (a0, a1, a2) = (k, j, i)
    g = np.indices(shape, dtype=np.float32)
    c = [s / 2 for s in shape]
    img = (100 + rng.normal(0, 20, shape)).astype(np.float32)
    objects = [([c[0], c[1] * 0.8, c[2] * 0.7], [16.0, 20.0, 18.0], 900.0),
               ([c[0], c[1] * 1.3, c[2] * 1.3], [8.0, 8.0, 8.0], 1000.0),
               ([c[0] * 0.6, c[1] * 1.2, c[2] * 0.6], [10.0, 14.0, 12.0], 1100.0)]
    for oc, r, v in objects:
        m = sum(((g[d] - oc[d]) / r[d]) ** 2 for d in range(3)) <= 1
        img[m] = v + rng.normal(0, 20, int(m.sum()))
    np.save(os.path.join(tmp, "image.npy"), img)
    ijk = lambda a: [int(round(a[2])), int(round(a[1])), int(round(a[0]))]
    organ, nodule, third = (o[0] for o in objects)
    r = objects[0][1]
    prompts = [
        {"type": "point", "ijk": ijk(nodule), "positive": True},
        {"type": "point", "ijk": ijk(organ), "positive": True},
        {"type": "box", "min": ijk([organ[0], organ[1] - 2 * r[1], organ[2] - 2 * r[2]]),
         "max": ijk([organ[0] + 1, organ[1] + 2 * r[1], organ[2] + 2 * r[2]]), "positive": True},
        {"type": "point", "ijk": ijk(third), "positive": True},
        {"type": "point", "ijk": ijk(nodule), "positive": False},
    ]
    with open(os.path.join(tmp, "prompts.json"), "w") as f:
        json.dump({"prompts": prompts}, f)
    return shape


def reference_worker(model_folder, tmp, threads):
    """Runs inside .venv-ref: replay the prompts with the reference session, JSON lines out."""
    import torch
    from nnInteractive.inference.inference_session import nnInteractiveInferenceSession

    img = np.load(os.path.join(tmp, "image.npy"))
    prompts = json.load(open(os.path.join(tmp, "prompts.json")))["prompts"]
    s = nnInteractiveInferenceSession(device=torch.device("cpu"), torch_n_threads=threads, do_autozoom=True, verbose=False)
    s.initialize_from_trained_model_folder(model_folder)
    t = time.time()
    s.set_image(img[None])
    target = np.zeros(img.shape, np.uint8)
    s.set_target_buffer(target)
    s._finish_preprocessing_and_initialize_interactions()
    out = [{"step": "set_image", "seconds": time.time() - t}]
    ax = lambda v: [v[2], v[1], v[0]]
    for n, p in enumerate(prompts):
        t = time.time()
        if p["type"] == "point":
            s.add_point_interaction(ax(p["ijk"]), include_interaction=p["positive"], run_prediction=True)
        else:
            lo, hi = ax(p["min"]), ax(p["max"])
            s.add_bbox_interaction([[a, b] for a, b in zip(lo, hi)], include_interaction=p["positive"], run_prediction=True)
        out.append({"step": p["type"], "index": n, "seconds": time.time() - t, "foreground": int(target.sum())})
    np.save(os.path.join(tmp, "reference_mask.npy"), target)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for o in out:
        print(json.dumps(o))
    print(json.dumps({"peak_rss_mib": peak}))


def parse(lines):
    steps, peak = [], None
    for line in lines.splitlines():
        if not line.startswith("{"):
            continue
        d = json.loads(line)
        if "peak_rss_mib" in d:
            peak = d["peak_rss_mib"]
        else:
            steps.append(d)
    return steps, peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-folder", default=os.path.join(REPO, "models", "tiny-trained-p64"))
    ap.add_argument("--onnx", help="converted model (default: convert the folder)")
    ap.add_argument("--size", type=int, nargs=3, default=[256, 256, 192], metavar=("I", "J", "K"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reference-worker", nargs=2, metavar=("MODEL", "TMP"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reference_worker:
        reference_worker(args.reference_worker[0], args.reference_worker[1], args.threads)
        return
    ref_py = os.environ.get("NNI_REF_PYTHON", os.path.join(REPO, ".venv-ref", "bin", "python"))
    with tempfile.TemporaryDirectory() as tmp:
        shape = make_inputs(tmp, args.size)
        onnx = os.path.abspath(args.onnx) if args.onnx else None
        if onnx is None:
            onnx = os.path.join(tmp, "model.onnx")
            subprocess.run([ref_py, "-W", "ignore", os.path.join(REPO, "tools", "model", "convert_model.py"), args.model_folder, onnx],
                           check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "nni"], cwd=REPO, check=True)
        ours = subprocess.run([os.path.join(REPO, "target", "release", "nni"), "bench", "--model", onnx, "--device", "cpu",
                               "--image", os.path.join(tmp, "image.npy"), "--prompts", os.path.join(tmp, "prompts.json"),
                               "--threads", str(args.threads), "--out", os.path.join(tmp, "ours_mask.npy")],
                              capture_output=True, text=True, cwd=REPO,
                              env={**os.environ, "NNI_ONNXRUNTIME_PATH": os.environ.get(
                                  "NNI_ONNXRUNTIME_PATH", os.path.join(REPO, ".deps", "onnxruntime", "libonnxruntime.so"))})
        if ours.returncode != 0:
            sys.exit(f"nni bench failed: {ours.stderr.strip()}")
        ref = subprocess.run([ref_py, "-W", "ignore", os.path.abspath(__file__), "--threads", str(args.threads),
                              "--reference-worker", args.model_folder, tmp], check=True, capture_output=True, text=True)
        o_steps, o_peak = parse(ours.stdout)
        r_steps, r_peak = parse(ref.stdout)
        a = np.load(os.path.join(tmp, "ours_mask.npy")).astype(bool)
        b = np.load(os.path.join(tmp, "reference_mask.npy")).astype(bool)
        dice = 2 * np.count_nonzero(a & b) / max(1, np.count_nonzero(a) + np.count_nonzero(b))
        print(f"image {args.size[0]}x{args.size[1]}x{args.size[2]} (i,j,k) float32, model {os.path.basename(args.model_folder)}, "
              f"{args.threads} threads, CPU")
        print(f"{'step':<12}{'reference s':>12}{'native s':>10}{'ratio':>8}{'ref fg':>10}{'native fg':>10}")
        for r, o in zip(r_steps, o_steps):
            print(f"{r['step']:<12}{r['seconds']:>12.3f}{o['seconds']:>10.3f}{r['seconds'] / max(o['seconds'], 1e-9):>7.1f}x"
                  f"{r.get('foreground', ''):>10}{o.get('foreground', ''):>10}")
        print(f"{'peak MiB':<12}{r_peak:>12.0f}{o_peak:>10.0f}{r_peak / o_peak:>7.1f}x")
        print(f"final masks: Dice {dice:.5f}")


if __name__ == "__main__":
    sys.exit(main())
