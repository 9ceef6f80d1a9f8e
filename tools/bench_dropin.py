#!/usr/bin/env python3
"""The drop-in session class beside the reference's class: same network, same image, same calls
(tools/bench.py's release scenario: the released-size network ResEncL 192^3 with random weights,
the 384x384x256 CT-like volume, two clicks, AutoZoom off), each in its own process, one at a time.
Per-click wall time and peak RSS, as ratios, and the Dice of the final masks. Not a test.

    tools/setup/ref.sh && tools/test/wheel.sh    # once: the wheel installed in build/wheel-test/venv
    .venv-ref/bin/python tools/bench_dropin.py [--threads 2] [--write-docs]

The reference runs in .venv-ref (nninteractive 2.6.0, torch, CPU float32); the drop-in
(``nninteractive_native.nnInteractiveInferenceSession``, EXACT precision) runs in the venv the
wheel was installed into (``--dropin-python``, default build/wheel-test/venv/bin/python): a
user's environment, without torch. --write-docs puts the table into docs/performance.md between
``<!-- dropin -->`` and ``<!-- /dropin -->`` (tools/bench.py keeps that block).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench  # noqa: E402


def dropin_worker(onnx, tmp, threads):
    """Runs in the wheel's venv: the prompts through the drop-in class, JSON lines out."""
    from nninteractive_native import nnInteractiveInferenceSession

    s = nnInteractiveInferenceSession(device="cpu", torch_n_threads=threads, do_autozoom=False)
    s.initialize_from_trained_model_folder(onnx)
    print(f"network: {s.network}")
    bench.replay_worker(s, tmp, "dropin")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--dropin-python", default=os.path.join(REPO, "build", "wheel-test", "venv", "bin", "python"))
    ap.add_argument("--worker", nargs=2, metavar=("ONNX", "TMP"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        dropin_worker(args.worker[0], args.worker[1], args.threads)
        return 0
    if not os.path.exists(args.dropin_python):
        sys.exit(f"bench_dropin: no {args.dropin_python}; run tools/test/wheel.sh first (it installs the wheel there)")
    folder, onnx = bench.release_model(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        image, _ = bench.ct_inputs(tmp)
        reference = bench.run_reference(folder, tmp, args.threads, False)
        env = {k: v for k, v in os.environ.items() if k not in ("NNI_LIBRARY", "NNI_ONNXRUNTIME_PATH")}
        proc = subprocess.run([args.dropin_python, os.path.abspath(__file__), "--threads", str(args.threads),
                               "--worker", onnx, tmp], capture_output=True, text=True, cwd=tmp, env=env)
        if proc.returncode != 0:
            sys.exit(f"bench_dropin: the drop-in run failed:\n{proc.stderr}")
        steps, peak, described = bench.parse(proc.stdout)
        dropin = {"steps": steps, "peak_rss_mib": peak, "described": described}
        masks = [np.load(os.path.join(tmp, f"mask_{k}.npy")).reshape(-1) for k in ("reference", "dropin")]
        dice = bench.dice(masks[1], masks[0])
    lines = ["<!-- dropin -->", "## The drop-in session class beside the reference's", "",
             f"Written by `.venv-ref/bin/python tools/bench_dropin.py --threads {args.threads} --write-docs` "
             "(one run; not a test).",
             f"The release scenario above (image {image}, two clicks, AutoZoom off, {args.threads} threads), through "
             "the reference's `nnInteractiveInferenceSession` (.venv-ref) and the drop-in "
             "`nninteractive_native.nnInteractiveInferenceSession` from the installed wheel (its own venv, no "
             "torch), each in its own process, with the calls a host makes (`set_image`, `set_target_buffer`, "
             "`add_point_interaction`).", "",
             f"- reference: {reference['described']}", f"- drop-in: {described}", "",
             "| step | reference s | drop-in s | ratio |", "|---|---|---|---|"]
    for r, d in zip(reference["steps"], steps):
        label = r["step"] if "index" not in r else f"{r['index'] + 1}: {r['step']}"
        lines.append(f"| {label} | {r['seconds']:.2f} | {d['seconds']:.2f} | "
                     f"{d['seconds'] / max(r['seconds'], 1e-9):.2f}x |")
    rp = reference["peak_rss_mib"]
    lines += [f"| peak RSS MiB | {rp:.0f} | {peak:.0f} | {peak / rp:.2f}x |",
              f"| Dice of the final mask vs the reference's | 1 | {dice:.4f} | |", "", "<!-- /dropin -->"]
    block = "\n".join(lines)
    print(block)
    if args.write_docs:
        bench.splice_docs_block("dropin", block)
        print("wrote the dropin block of docs/performance.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
