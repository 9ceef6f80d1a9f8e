#!/usr/bin/env python3
"""The GPU check: conformance on CUDA and per-click latency beside the reference on torch CUDA.

Run by ``tools/gpu_check.sh`` (which unpacks the bundle of ``tools/gpu_pack.sh`` and sets the
environment); ``tools/gpu_check.sh --cpu-dry-run`` runs the same steps on this machine's CPU at a
small patch, to check the script itself.

1. Conformance on the device: ``../shared/conformance`` and ``tests/conformance`` through the C ABI
   (tools/test/conformance.py), float32 held to the usual thresholds (Dice >= 0.99 per judged
   step), and each model's float16 variant (tools/model/to_fp16.py) reported.
2. The released-size random ResEncL (tools/model/make_release_size_model.py, seed 0, made here,
   converted by convert_model.py, its float16 variant by to_fp16.py) on the 384x384x256 CT-like
   volume of tools/bench.py, four clicks on the lesion, AutoZoom off, one process per run:
   - the engine (``nni bench``): float32 (EXACT); FAST (the float16 variant beside the model);
     EXACT with ``--warm-up``; TensorRT float16 when TensorRT 10 can be loaded;
   - the reference session (nninteractive 2.6.0 on torch, its own autocast float16 on CUDA);
   each with the time to open the session, every click (the first is the cold one: cuDNN's
   search and lazy initialisation fall there unless warmed up) and the device memory used at the
   peak (nvidia-smi's memory.used, sampled every 50 ms, less what was used before the run).
3. One table (Markdown) on stdout and in OUT/gpu_check.md, all numbers in OUT/gpu_check.json.

Back on the development machine, ``tools/gpu/check.py --write-docs FILES_AT/gpu_check.md`` puts
the table into docs/performance.md (section "GPU", between ``<!-- gpu -->`` and ``<!-- /gpu -->``).
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))
from bench import ct_inputs, dice, parse  # noqa: E402

CLICKS = 4
BEGIN, END = "<!-- gpu -->", "<!-- /gpu -->"


def write_docs(table_md):
    """Put the check's table into docs/performance.md's GPU block."""
    path = os.path.join(REPO, "docs", "performance.md")
    with open(path) as f:
        doc = f.read()
    with open(table_md) as f:
        body = f.read().strip()
    block = (f"{BEGIN}\n## GPU\n\nWritten by `tools/gpu_check.sh` on the GPU machine (see docs/gpu.md), copied in by "
             f"`tools/gpu/check.py --write-docs gpu_check.md`.\n\n{body}\n{END}")
    b, e = doc.find(BEGIN), doc.find(END)
    doc = doc[:b] + block + doc[e + len(END):] if b >= 0 and e > b else doc.rstrip() + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(doc)


# ------------------------------------------------------------------------------ device memory
def gpu_used_mib():
    """memory.used of GPU 0 in MiB, or None without nvidia-smi."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"],
                             capture_output=True, text=True, timeout=10)
        return int(out.stdout.strip().splitlines()[0])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None


class GpuMemory:
    """The peak of memory.used during a `with` block, less what was used before it."""

    def __init__(self, enabled):
        self.enabled = enabled
        self.peak_mib = None

    def __enter__(self):
        if not self.enabled:
            return self
        self.baseline = gpu_used_mib()
        self.samples = []
        self.stop = threading.Event()

        def sample():
            while not self.stop.is_set():
                v = gpu_used_mib()
                if v is not None:
                    self.samples.append(v)
                self.stop.wait(0.05)

        self.thread = threading.Thread(target=sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.enabled:
            self.stop.set()
            self.thread.join()
            if self.samples and self.baseline is not None:
                self.peak_mib = max(self.samples) - self.baseline
        return False


# ------------------------------------------------------------------------------ conformance
STEP_RE = re.compile(r"step \d+ \S+\s+Dice ([0-9.]+)\s+differing\s+(\d+).*?(PASS|FAIL|\(reference unstable)")


def conformance(root, device, args, weights, env):
    """Run tools/test/conformance.py on `root`; a summary dict and the output."""
    cmd = [args.python, os.path.join(REPO, "tools", "test", "conformance.py"), root, "--device", device,
           "--threads", str(args.threads), "--nni", args.nni, "--weights", weights,
           "--cache-dir", os.path.join(args.work, "conformance-models", os.path.basename(root.rstrip("/")))]
    if weights == "float16":
        cmd += ["--dice-min", "0"]  # reported, not judged
    t = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    out = proc.stdout + proc.stderr
    judged = [(float(m.group(1)), m.group(3)) for m in STEP_RE.finditer(out) if m.group(3) in ("PASS", "FAIL")]
    exact = re.search(r"\((\d+) of (\d+) compared step\(s\) exact\)", out)
    final = re.search(r"^(\d+) passed, (\d+) failed$", out, re.M)
    described = sorted({line.split(": ", 1)[1] for line in out.splitlines()
                        if re.match(r"^[\w-]+: .* on ", line)})
    return {
        "root": root,
        "weights": weights,
        "exit": proc.returncode,
        "judged_steps": len(judged),
        # float32 by the usual thresholds; float16 (run with --dice-min 0) by Dice >= 0.99 alone
        "judged_passing": sum(1 for d, v in judged if (v == "PASS" if weights == "float32" else d >= 0.99)),
        "lowest_dice": min(d for d, _ in judged) if judged else None,
        "exact": f"{exact.group(1)} of {exact.group(2)}" if exact else "?",
        "results": f"{final.group(1)} passed, {final.group(2)} failed" if final else "no summary",
        "described": described,
        "seconds": round(time.time() - t, 1),
    }, out


# ------------------------------------------------------------------------------ models
def release_model(args, env):
    """Make the released-size random ResEncL here (seed 0), convert it and make its float16
    variant; returns (folder, onnx)."""
    folder = os.path.join(args.work, f"resencl-{args.patch}")
    onnx = folder + ".onnx"
    if not os.path.isdir(folder):
        subprocess.run([args.ref_python, os.path.join(REPO, "tools", "model", "make_release_size_model.py"),
                        "--out", folder, "--patch", str(args.patch)], check=True, env=env)
    if not os.path.isfile(onnx):
        subprocess.run([args.ref_python, "-W", "ignore", os.path.join(REPO, "tools", "model", "convert_model.py"),
                        folder, onnx, "--threads", str(args.cpu_threads)], check=True, env=env)
    fp16 = folder + ".fp16.onnx"
    if not os.path.isfile(fp16):
        subprocess.run([args.onnx_python, os.path.join(REPO, "tools", "model", "to_fp16.py"), onnx, fp16,
                        "--no-check"], check=True, env=env)
    return folder, onnx


def click_prompts(work):
    """The bench's CT volume and its two lesion clicks, then two more on the lesion (four in all)."""
    ct_inputs(work)
    with open(os.path.join(work, "prompts.json")) as f:
        prompts = json.load(f)["prompts"]
    a, b = prompts
    c = {"type": "point", "ijk": [a["ijk"][0] - 3, a["ijk"][1] + 2, a["ijk"][2] - 2], "positive": True}
    d = {"type": "point", "ijk": [b["ijk"][0] + 2, b["ijk"][1] - 2, b["ijk"][2] + 1], "positive": True}
    prompts = [a, b, c, d][:CLICKS]
    with open(os.path.join(work, "prompts.json"), "w") as f:
        json.dump({"prompts": prompts}, f)
    return prompts


# ------------------------------------------------------------------------------ runs
def run_engine(args, onnx, label, extra, env):
    out_mask = os.path.join(args.work, f"mask_{label}.npy")
    cmd = [args.nni, "bench", "--model", onnx, "--device", args.device, "--image",
           os.path.join(args.work, "image.npy"), "--prompts", os.path.join(args.work, "prompts.json"),
           "--threads", str(args.cpu_threads), "--no-autozoom", "--out", out_mask, *extra]
    with GpuMemory(args.device == "cuda") as mem:
        t = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.time() - t
    if proc.returncode != 0:
        return {"label": label, "error": (proc.stderr.strip() or proc.stdout.strip())[-600:]}
    steps, peak, described = parse(proc.stdout)
    opened = next((s["seconds"] for s in steps if s.get("step") == "open"), None)
    clicks = [s["seconds"] for s in steps if s.get("step") == "point"]
    network = [s.get("network_seconds") for s in steps if s.get("step") == "point"]
    return {"label": label, "described": described, "open_s": opened, "clicks_s": clicks, "network_s": network,
            "wall_s": wall, "gpu_mib": mem.peak_mib, "rss_mib": peak, "mask": out_mask}


def reference_worker(folder, work, device, threads):
    """Runs in the reference's Python: the same clicks through nnInteractiveInferenceSession."""
    import torch
    from nnInteractive.inference.inference_session import nnInteractiveInferenceSession

    img = np.load(os.path.join(work, "image.npy"))
    prompts = json.load(open(os.path.join(work, "prompts.json")))["prompts"]
    t = time.time()
    s = nnInteractiveInferenceSession(device=torch.device(device), torch_n_threads=threads, do_autozoom=False,
                                      verbose=False, use_torch_compile=False)
    s.initialize_from_trained_model_folder(folder)
    if device == "cuda":
        torch.cuda.synchronize()
    print(json.dumps({"step": "open", "seconds": time.time() - t}))
    t = time.time()
    s.set_image(img[None])
    target = np.zeros(img.shape, np.uint8)
    s.set_target_buffer(target)
    s._finish_preprocessing_and_initialize_interactions()
    print(json.dumps({"step": "set_image", "seconds": time.time() - t}))
    for n, p in enumerate(prompts):
        t = time.time()
        s.add_point_interaction([p["ijk"][2], p["ijk"][1], p["ijk"][0]], include_interaction=p["positive"],
                                run_prediction=True)
        print(json.dumps({"step": "point", "index": n, "seconds": time.time() - t, "foreground": int(target.sum())}))
    np.save(os.path.join(work, "mask_reference.npy"), target)
    if device == "cuda":
        print(json.dumps({"torch_max_reserved_mib": torch.cuda.max_memory_reserved() / 2**20}))
    print(json.dumps({"peak_rss_mib": 0}))


def run_reference(args, folder, env):
    cmd = [args.ref_python, "-W", "ignore", os.path.abspath(__file__), "--reference-worker", folder, args.work,
           args.device, str(args.cpu_threads)]
    with GpuMemory(args.device == "cuda") as mem:
        t = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.time() - t
    if proc.returncode != 0:
        return {"label": "reference", "error": (proc.stderr.strip() or proc.stdout.strip())[-600:]}
    steps, _, _ = parse(proc.stdout)
    torch_version = subprocess.run([args.ref_python, "-c", "import torch; print(torch.__version__)"],
                                   capture_output=True, text=True, env=env).stdout.strip()
    return {"label": "reference", "described": f"nninteractive 2.6.0 on torch {torch_version} "
            f"({'autocast float16' if args.device == 'cuda' else 'float32'})",
            "open_s": next((s["seconds"] for s in steps if s.get("step") == "open"), None),
            "clicks_s": [s["seconds"] for s in steps if s.get("step") == "point"], "wall_s": wall,
            "gpu_mib": mem.peak_mib, "mask": os.path.join(args.work, "mask_reference.npy")}


DROPIN_CUDA_SCRIPT = r"""
import json, os, sys
import numpy as np
import torch
sys.path.insert(0, os.path.join(sys.argv[1], "bindings", "python"))
from nninteractive_native import nnInteractiveInferenceSession

rng = np.random.default_rng(0)
image = rng.normal(100, 20, (48, 56, 64)).astype(np.int16)
image[10:34, 12:40, 16:48] += 800
device = sys.argv[3]
steps = [("point", (22, 26, 32), True), ("bbox", [[14, 30], [16, 36], [30, 31]], True),
         ("point", (12, 14, 18), False), ("undo",), ("point", (30, 30, 40), True)]
out = {}
for kind in ("numpy", "torch " + device):
    s = nnInteractiveInferenceSession(device="cpu", torch_n_threads=2)
    s.initialize_from_trained_model_folder(sys.argv[2])
    s.set_image(image[None], {"spacing": [1, 1, 1]})
    target = np.zeros(image.shape, np.uint8) if kind == "numpy" else torch.zeros(image.shape, dtype=torch.uint8, device=device)
    s.set_target_buffer(target)
    masks, answers = [], []
    for st in steps:
        if st[0] == "point":
            answers.append(s.add_point_interaction(st[1], include_interaction=st[2]))
        elif st[0] == "bbox":
            answers.append(s.add_bbox_interaction(st[1], include_interaction=st[2]))
        else:
            answers.append(s.undo())
        masks.append(np.array(target) if kind == "numpy" else target.cpu().numpy().copy())
    out[kind] = (masks, [repr(a) for a in answers], str(getattr(target, "device", "numpy")))
(a_masks, a_answers, _), (b_masks, b_answers, where) = out.values()
same = all(np.array_equal(x, y) for x, y in zip(a_masks, b_masks)) and a_answers == b_answers
print(json.dumps({"same": same, "steps": len(steps), "buffer_device": where,
                  "voxels": int(a_masks[-1].sum()), "answers": a_answers}))
"""


def dropin_cuda_buffer(args, env):
    """The drop-in class writing into a torch tensor on the GPU (issue 23: CUDA target buffers),
    beside a numpy buffer: the same masks and answers after every step."""
    device = "cuda" if args.device == "cuda" else "cpu"
    proc = subprocess.run([args.ref_python, "-c", DROPIN_CUDA_SCRIPT, REPO,
                           os.path.join(REPO, "models", "blob-grow-p32.onnx"), device],
                          capture_output=True, text=True, env=env)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"same": False, "error": (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]}


def tensorrt_loadable(env):
    ort_dir = os.path.dirname(env.get("NNI_ONNXRUNTIME_PATH", ""))
    code = ("import ctypes,os,sys\n"
            "d=sys.argv[1]\n"
            "for n in ('libnvinfer.so.10','libnvonnxparser.so.10'):\n"
            "    p=os.path.join(d,n)\n"
            "    ctypes.CDLL(p if os.path.exists(p) else n)\n")
    return subprocess.run([sys.executable, "-c", code, ort_dir], capture_output=True).returncode == 0


# ------------------------------------------------------------------------------ table
def fmt(v, unit="", digits=3):
    return "" if v is None else f"{v:.{digits}f}{unit}"


def table(runs, conf, args):
    ref = next((r for r in runs if r["label"] == "reference" and "error" not in r), None)
    ref_mask = np.load(ref["mask"]) if ref else None
    lines = ["| run | runtime | open s | click 1 (cold) s | warm click s (median of 2-4) | of it the network s | "
             "warm vs reference | device memory MiB | Dice vs reference |", "|---|---|---|---|---|---|---|---|---|"]
    ref_warm = statistics.median(ref["clicks_s"][1:]) if ref and len(ref["clicks_s"]) > 1 else None
    for r in runs:
        if "error" in r:
            lines.append(f"| {r['label']} | failed: {r['error'].splitlines()[-1][:150]} | | | | | | | |")
            continue
        warm = statistics.median(r["clicks_s"][1:]) if len(r["clicks_s"]) > 1 else None
        net = [v for v in r.get("network_s", [])[1:] if v is not None]
        warm_net = statistics.median(net) if net else None
        ratio = f"{warm / ref_warm:.2f}x" if warm and ref_warm and r is not ref else ""
        d = "" if ref_mask is None or r is ref else f"{dice(np.load(r['mask']), ref_mask):.4f}"
        lines.append(f"| {r['label']} | {r['described']} | {fmt(r['open_s'], digits=2)} | "
                     f"{fmt(r['clicks_s'][0] if r['clicks_s'] else None)} | {fmt(warm)} | {fmt(warm_net)} | {ratio} | "
                     f"{'' if r['gpu_mib'] is None else r['gpu_mib']} | {d} |")
    lines += ["", "| conformance | weights | judged steps passing (Dice >= 0.99) | lowest judged Dice | exact steps | "
              "results | runtime |", "|---|---|---|---|---|---|---|"]
    for c in conf:
        root = c["root"].rstrip("/")
        name = os.path.join(os.path.basename(os.path.dirname(root)), os.path.basename(root))
        lines.append(f"| {name} | {c['weights']} | "
                     f"{c['judged_passing']} of {c['judged_steps']} | {fmt(c['lowest_dice'], digits=4)} | {c['exact']} | "
                     f"{c['results']} | {'; '.join(c['described'])[:160]} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--nni", required=False, default=os.path.join(REPO, "target", "release", "nni"))
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(REPO), "shared", "conformance"),
                    help="the reference's conformance cases (../shared/conformance)")
    ap.add_argument("--work", default="/tmp/nni-gpu-work")
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/nni-gpu-out"))
    ap.add_argument("--patch", type=int, default=192, help="patch of the released-size model (192)")
    ap.add_argument("--threads", type=int, default=2, help="threads of the conformance runs")
    ap.add_argument("--cpu-threads", type=int, default=os.cpu_count() or 2, help="host threads of the timed runs")
    ap.add_argument("--python", default=os.environ.get("NNI_PYTHON", sys.executable),
                    help="Python with numpy, onnx and onnxruntime (conformance, to_fp16)")
    ap.add_argument("--ref-python", default=os.environ.get("NNI_REF_PYTHON", sys.executable))
    ap.add_argument("--onnx-python", default=os.environ.get("NNI_ONNX_PYTHON", sys.executable))
    ap.add_argument("--skip-conformance", action="store_true")
    ap.add_argument("--write-docs", metavar="GPU_CHECK_MD",
                    help="put a finished check's table into docs/performance.md and exit")
    ap.add_argument("--reference-worker", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write_docs:
        write_docs(args.write_docs)
        print("wrote the GPU block of docs/performance.md")
        return 0
    if args.reference_worker:
        folder, work, device, threads = args.reference_worker
        reference_worker(folder, work, device, int(threads))
        return 0

    os.makedirs(args.work, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("NNI_ONNX_PYTHON", args.onnx_python)
    env.setdefault("NNI_REF_PYTHON", args.ref_python)
    t0 = time.time()
    logs = {}

    conf = []
    if not args.skip_conformance:
        for root in (args.shared, os.path.join(REPO, "tests", "conformance")):
            for weights in ("float32", "float16"):
                summary, out = conformance(root, args.device, args, weights, env)
                conf.append(summary)
                logs[f"conformance-{os.path.basename(root.rstrip('/'))}-{weights}"] = out
                print(f"conformance {root} {weights}: {summary['results']} ({summary['seconds']} s)", flush=True)

    folder, onnx = release_model(args, env)
    click_prompts(args.work)
    runs = [run_reference(args, folder, env)]
    print(f"reference: {runs[-1].get('clicks_s', runs[-1].get('error'))}", flush=True)
    plans = [("EXACT", []), ("FAST", ["--fast"]), ("EXACT, --warm-up", ["--warm-up"])]
    if args.device == "cuda":
        if tensorrt_loadable(env):
            plans.append(("TensorRT FAST, --warm-up", ["--backend", "tensorrt", "--fast", "--warm-up"]))
        else:
            print("TensorRT 10 is not loadable here: its run is left out", flush=True)
    for label, extra in plans:
        runs.append(run_engine(args, onnx, label, extra, env))
        print(f"{label}: {runs[-1].get('clicks_s', runs[-1].get('error'))}", flush=True)

    buffer = dropin_cuda_buffer(args, env)
    print(f"drop-in, torch target buffer on {args.device}: {buffer}", flush=True)
    text = table(runs, conf, args)
    text += ("\n\n| drop-in class, target buffer | steps | same masks and answers as a numpy buffer | detail |\n"
             "|---|---|---|---|\n"
             f"| torch tensor on {buffer.get('buffer_device', args.device)} | {buffer.get('steps', '')} | "
             f"{'yes' if buffer.get('same') else 'NO'} | {buffer.get('error', str(buffer.get('voxels', '')) + ' voxels at the end')} |")
    header = (f"GPU check: {subprocess.run(['nvidia-smi', '-L'], capture_output=True, text=True).stdout.strip() if shutil.which('nvidia-smi') else args.device}; "
              f"released-size ResEncL (random, seed 0), patch {args.patch}^3, 384x384x256 int16 CT-like, "
              f"{CLICKS} clicks, AutoZoom off; {time.time() - t0:.0f} s in all")
    with open(os.path.join(args.out, "gpu_check.md"), "w") as f:
        f.write(header + "\n\n" + text + "\n")
    with open(os.path.join(args.out, "gpu_check.json"), "w") as f:
        json.dump({"header": header, "runs": runs, "conformance": conf}, f, indent=1)
    with open(os.path.join(args.out, "gpu_check.log"), "w") as f:
        for k, v in logs.items():
            f.write(f"==== {k}\n{v}\n")
    print("\n" + header + "\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
