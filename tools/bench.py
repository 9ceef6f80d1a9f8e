#!/usr/bin/env python3
"""Per-click latency and peak memory of nninteractive-native beside the reference pipeline, same
network, same image, same prompts, one run each (each run its own process, so peak resident
memory, VmHWM, compares), reported as ratios. Not a test: nothing is asserted.

    tools/setup/ref.sh && .venv-ref/bin/python tools/bench.py [--scenario release autozoom]
        [--threads 2] [--write-docs]

Scenarios:
  release   the released architecture (ResEncL, 102 M parameters, 192^3 patch) with random
            weights (tools/model/make_release_size_model.py, converted by convert_model.py;
            made under build/ once), a 384x384x256 CT-like int16 volume, two clicks on a
            lesion, AutoZoom off
  autozoom  the tiny trained network (models/tiny-trained-p64's weights) at a 192^3 patch, a
            256x256x192 float32 volume of bright objects, five prompts with AutoZoom on

Each scenario runs the reference (`nnInteractiveInferenceSession`, CPU, float32, torch threads),
the engine in EXACT precision (`nni bench`, release build, ONNX Runtime) and in FAST precision
(OpenVINO: bfloat16 where the CPU has it, else float32). It prints a table per scenario: wall time
per prompt, peak RSS, ratios to the reference, Dice of each run's final mask against the
reference's and of FAST against EXACT. --write-docs writes docs/performance.md,
docs/performance.json and docs/performance.png.
"""
import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE_FOLDER = os.path.join(REPO, "build", "resencl-192")
RELEASE_ONNX = os.path.join(REPO, "build", "resencl-192.onnx")
# Arithmetic of one forward of the released network at 192^3 (multiply-adds counted twice).
RELEASE_TFLOP = 4.9

sys.path.insert(0, os.path.join(REPO, "tools", "model"))
from convert_model import CONVERTER_SOURCES  # noqa: E402


# ------------------------------------------------------------------------------------ inputs
def ct_inputs(tmp):
    """A 384x384x256 (i, j, k) int16 CT-like volume (air, body, lungs, spine, a lesion) and two
    clicks on the lesion."""
    rng = np.random.default_rng(0)
    shape = (256, 384, 384)  # (a0, a1, a2) = (k, j, i)
    k, j, i = np.ogrid[: shape[0], : shape[1], : shape[2]]
    img = np.full(shape, -1000, np.int16)
    body = ((i - 192) / 170.0) ** 2 + ((j - 200) / 130.0) ** 2 <= 1
    img[np.broadcast_to(body, shape)] = 40
    for cx in (130, 254):
        lung = ((i - cx) / 50.0) ** 2 + ((j - 185) / 70.0) ** 2 + ((k - 128) / 110.0) ** 2 <= 1
        img[lung] = -820
    spine = ((i - 192) / 18.0) ** 2 + ((j - 300) / 18.0) ** 2 <= 1
    img[np.broadcast_to(spine, shape)] = 700
    lesion_c = (140, 190, 250)  # (a0, a1, a2)
    lesion = ((k - lesion_c[0]) / 11.0) ** 2 + ((j - lesion_c[1]) / 13.0) ** 2 + ((i - lesion_c[2]) / 12.0) ** 2 <= 1
    img[lesion] = 90
    img = (img + rng.normal(0, 12, shape)).astype(np.int16)
    np.save(os.path.join(tmp, "image.npy"), img)
    ijk = lambda a: [int(a[2]), int(a[1]), int(a[0])]
    prompts = [
        {"type": "point", "ijk": ijk(lesion_c), "positive": True},
        {"type": "point", "ijk": ijk((lesion_c[0] + 4, lesion_c[1] - 3, lesion_c[2] + 2)), "positive": True},
    ]
    with open(os.path.join(tmp, "prompts.json"), "w") as f:
        json.dump({"prompts": prompts}, f)
    return "384x384x256 int16 CT-like", prompts


def blob_inputs(tmp):
    """A 256x256x192 (i, j, k) float32 volume with a noisy background and three bright objects
    (what the tiny trained model knows), and five prompts."""
    rng = np.random.default_rng(0)
    shape = (192, 256, 256)
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
    return "256x256x192 float32 objects", prompts


# ------------------------------------------------------------------------------------ models
def ref_python():
    return os.environ.get("NNI_REF_PYTHON", os.path.join(REPO, ".venv-ref", "bin", "python"))


def convert(folder, onnx, threads):
    subprocess.run([ref_python(), "-W", "ignore", os.path.join(REPO, "tools", "model", "convert_model.py"),
                    folder, onnx, "--threads", str(threads)], check=True, stdout=subprocess.DEVNULL)


def release_model(threads):
    if not os.path.isdir(RELEASE_FOLDER):
        subprocess.run([ref_python(), os.path.join(REPO, "tools", "model", "make_release_size_model.py"),
                        "--out", RELEASE_FOLDER], check=True)
    stale = os.path.isfile(RELEASE_ONNX) and max(map(os.path.getmtime, CONVERTER_SOURCES)) > os.path.getmtime(RELEASE_ONNX)
    if not os.path.isfile(RELEASE_ONNX) or stale:
        convert(RELEASE_FOLDER, RELEASE_ONNX, threads)
    bf16_variant(RELEASE_ONNX, threads)
    return RELEASE_FOLDER, RELEASE_ONNX


def bf16_variant(onnx, threads):
    """The bfloat16 variant FAST runs on a bfloat16 CPU (tools/model/to_bf16.py), made again when
    older than the model or the tool."""
    tool = os.path.join(REPO, "tools", "model", "to_bf16.py")
    variant = os.path.splitext(onnx)[0] + ".bf16.onnx"
    if not os.path.isfile(variant) or max(os.path.getmtime(onnx), os.path.getmtime(tool)) > os.path.getmtime(variant):
        subprocess.run([os.path.join(REPO, ".venv", "bin", "python"), tool, onnx, variant,
                        "--check-threads", str(threads)], check=True, stdout=subprocess.DEVNULL)


def tiny_p192_model(work, threads):
    """models/tiny-trained-p64's weights with a 192^3 patch (the network is fully convolutional)."""
    folder = os.path.join(work, "tiny-trained-p192")
    shutil.copytree(os.path.join(REPO, "models", "tiny-trained-p64"), folder)
    plans_path = os.path.join(folder, "plans.json")
    with open(plans_path) as f:
        plans = json.load(f)
    for cfg in plans["configurations"].values():
        if "patch_size" in cfg:
            cfg["patch_size"] = [192, 192, 192]
    with open(plans_path, "w") as f:
        json.dump(plans, f, indent=1)
    onnx = os.path.join(work, "tiny-trained-p192.onnx")
    convert(folder, onnx, threads)
    return folder, onnx


# ------------------------------------------------------------------------------------ runs
def reference_worker(model_folder, tmp, threads, autozoom):
    """Runs inside .venv-ref: replay the prompts with the reference session, JSON lines out."""
    import torch
    from nnInteractive.inference.inference_session import nnInteractiveInferenceSession

    s = nnInteractiveInferenceSession(device=torch.device("cpu"), torch_n_threads=threads,
                                      do_autozoom=autozoom, verbose=False)
    s.initialize_from_trained_model_folder(model_folder)
    replay_worker(s, tmp, "reference")


def replay_worker(s, tmp, label):
    """Replays tmp's image and prompts through a session of the reference's class (the reference,
    or the drop-in: tools/bench_dropin.py), as hosts call it; JSON lines (per step: seconds,
    foreground voxels; then the process's peak RSS) out, the final mask to mask_LABEL.npy."""
    img = np.load(os.path.join(tmp, "image.npy"))
    prompts = json.load(open(os.path.join(tmp, "prompts.json")))["prompts"]
    t = time.time()
    s.set_image(img[None])
    target = np.zeros(img.shape, np.uint8)
    s.set_target_buffer(target)
    if hasattr(s, "_finish_preprocessing_and_initialize_interactions"):  # the reference's background work
        s._finish_preprocessing_and_initialize_interactions()
    out = [{"step": "set_image", "seconds": time.time() - t}]
    ax = lambda v: [v[2], v[1], v[0]]
    for n, p in enumerate(prompts):
        t = time.time()
        if p["type"] == "point":
            s.add_point_interaction(ax(p["ijk"]), include_interaction=p["positive"], run_prediction=True)
        else:
            lo, hi = ax(p["min"]), ax(p["max"])
            s.add_bbox_interaction([[a, b] for a, b in zip(lo, hi)], include_interaction=p["positive"],
                                   run_prediction=True)
        out.append({"step": p["type"], "index": n, "seconds": time.time() - t, "foreground": int(target.sum())})
    np.save(os.path.join(tmp, f"mask_{label}.npy"), target)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for o in out:
        print(json.dumps(o))
    print(json.dumps({"peak_rss_mib": peak}))


def parse(lines):
    steps, peak, described = [], None, ""
    for line in lines.splitlines():
        if line.startswith("network: "):
            described = line[len("network: "):]
        if not line.startswith("{"):
            continue
        d = json.loads(line)
        if "peak_rss_mib" in d:
            peak = d["peak_rss_mib"]
        else:
            steps.append(d)
    return steps, peak, described


def run_reference(model_folder, tmp, threads, autozoom):
    proc = subprocess.run([ref_python(), "-W", "ignore", os.path.abspath(__file__), "--threads", str(threads),
                           "--reference-worker", model_folder, tmp, "1" if autozoom else "0"],
                          check=True, capture_output=True, text=True)
    steps, peak, _ = parse(proc.stdout)
    return {"steps": steps, "peak_rss_mib": peak, "described": f"reference nninteractive 2.6.0, torch {torch_version()} float32"}


def torch_version():
    return subprocess.run([ref_python(), "-c", "import torch; print(torch.__version__)"],
                          capture_output=True, text=True).stdout.strip()


def run_native(onnx, tmp, threads, autozoom, fast, label):
    env = {**os.environ}
    env.setdefault("NNI_ONNXRUNTIME_PATH", os.path.join(REPO, ".deps", "onnxruntime", "libonnxruntime.so"))
    env.setdefault("NNI_OPENVINO_PATH", os.path.join(REPO, ".deps", "openvino", "libopenvino_c.so"))
    cmd = [os.path.join(REPO, "target", "release", "nni"), "bench", "--model", onnx, "--device", "cpu",
           "--image", os.path.join(tmp, "image.npy"), "--prompts", os.path.join(tmp, "prompts.json"),
           "--threads", str(threads), "--out", os.path.join(tmp, f"mask_{label}.npy")]
    if fast:
        cmd.append("--fast")
    if not autozoom:
        cmd.append("--no-autozoom")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env)
    if proc.returncode != 0:
        sys.exit(f"nni bench ({label}) failed: {proc.stderr.strip()}")
    steps, peak, described = parse(proc.stdout)
    steps = [s for s in steps if s.get("step") != "open"]  # the reference's opening is not timed here
    return {"steps": steps, "peak_rss_mib": peak, "described": described}


def dice(a, b):
    a, b = a.astype(bool), b.astype(bool)
    s = np.count_nonzero(a) + np.count_nonzero(b)
    return 1.0 if s == 0 else 2.0 * np.count_nonzero(a & b) / s


def scenario(name, threads):
    with tempfile.TemporaryDirectory() as tmp:
        if name == "release":
            folder, onnx = release_model(threads)
            image, prompts = ct_inputs(tmp)
            autozoom = False
            network = "ResEncL, 102.4 M parameters, 192^3 patch, random weights"
        else:
            folder, onnx = tiny_p192_model(tmp, threads)
            image, prompts = blob_inputs(tmp)
            autozoom = True
            network = "tiny trained network (tiny-trained-p64 weights), 192^3 patch"
        runs = {}
        # One process at a time: their peaks and times must not disturb each other.
        runs["reference"] = run_reference(folder, tmp, threads, autozoom)
        runs["exact"] = run_native(onnx, tmp, threads, autozoom, False, "exact")
        runs["fast"] = run_native(onnx, tmp, threads, autozoom, True, "fast")
        masks = {k: np.load(os.path.join(tmp, f"mask_{k}.npy")) for k in runs}
        # nni writes masks in (i, j, k)-fastest .npy like its input: same layout as the reference's.
        for k in runs:
            runs[k]["dice_vs_reference"] = dice(masks[k].reshape(-1), masks["reference"].reshape(-1))
        runs["fast"]["dice_vs_exact"] = dice(masks["fast"].reshape(-1), masks["exact"].reshape(-1))
        return {"scenario": name, "network": network, "image": image, "autozoom": autozoom,
                "prompts": [p["type"] for p in prompts], "threads": threads, "runs": runs}


def conformance_replays():
    """The conformance cases replayed in FAST precision and on OpenVINO float32 (the question
    whether OpenVINO could serve EXACT): per set, judged steps passing, exact steps, lowest Dice."""
    import re

    out = []
    for label, extra in (("FAST", ["--precision", "fast", "--dice-min", "0.98"]),
                         ("FAST emulated (bfloat16 rounding on ONNX Runtime)",
                          ["--weights", "bfloat16-emulated", "--dice-min", "0.98"]),
                         ("OpenVINO float32", ["--backend", "openvino"])):
        for root in ("tests/conformance", "../shared/conformance"):
            proc = subprocess.run([os.path.join(REPO, "tools", "test", "conformance"), root, *extra],
                                  capture_output=True, text=True, cwd=REPO)
            text = proc.stdout
            # Judged steps only: the tool's "N passed" also counts its replay and refusal checks.
            judged = re.findall(r"  Dice (\d\.\d+)  .*  (PASS|FAIL)  ", text)
            dices = [float(d) for d, _ in judged]
            exact = re.search(r"^\((\d+) of (\d+) compared step\(s\) exact\)$", text, re.M)
            out.append({"mode": label, "cases": root,
                        "passed": sum(v == "PASS" for _, v in judged) if judged else None,
                        "failed": sum(v == "FAIL" for _, v in judged) if judged else None,
                        "exact": int(exact.group(1)) if exact else None,
                        "compared": int(exact.group(2)) if exact else None,
                        "min_dice": min(dices) if dices else None})
    return out


# ------------------------------------------------------------------------------------ report
def machine():
    cpu = "unknown CPU"
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and cpu == "unknown CPU":
                    cpu = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, {' '.join(isa) or 'no AVX2'}, {platform.system()} {platform.release()}"


def table(result):
    runs = result["runs"]
    ref = runs["reference"]
    lines = [f"| step | reference s | EXACT s | ratio | FAST s | ratio |", "|---|---|---|---|---|---|"]
    for r, e, f in zip(ref["steps"], runs["exact"]["steps"], runs["fast"]["steps"]):
        label = r["step"] if "index" not in r else f"{r['index'] + 1}: {r['step']}"
        lines.append(f"| {label} | {r['seconds']:.2f} | {e['seconds']:.2f} | {e['seconds'] / max(r['seconds'], 1e-9):.2f}x "
                     f"| {f['seconds']:.2f} | {f['seconds'] / max(r['seconds'], 1e-9):.2f}x |")
    rp, ep, fp = ref["peak_rss_mib"], runs["exact"]["peak_rss_mib"], runs["fast"]["peak_rss_mib"]
    lines.append(f"| peak RSS MiB | {rp:.0f} | {ep:.0f} | {ep / rp:.2f}x | {fp:.0f} | {fp / rp:.2f}x |")
    lines.append(f"| Dice of the final mask vs reference | 1 | {runs['exact']['dice_vs_reference']:.4f} | "
                 f"| {runs['fast']['dice_vs_reference']:.4f} | |")
    lines.append(f"| Dice FAST vs EXACT | | | | {runs['fast']['dice_vs_exact']:.4f} | |")
    return "\n".join(lines)


def chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4), squeeze=False)
    for ax, res in zip(axes[0], results):
        runs = res["runs"]
        labels = [(s["step"] if "index" not in s else f"{s['index'] + 1}:{s['step']}") for s in runs["reference"]["steps"]]
        x = np.arange(len(labels))
        for n, (k, color) in enumerate((("reference", "#888888"), ("exact", "#1f77b4"), ("fast", "#ff7f0e"))):
            ax.bar(x + (n - 1) * 0.27, [s["seconds"] for s in runs[k]["steps"]], 0.27,
                   label=f"{k} (peak {runs[k]['peak_rss_mib'] / 1024:.1f} GiB)", color=color)
        ax.set_xticks(x, labels, rotation=30)
        ax.set_ylabel("seconds")
        ax.set_title(f"{res['scenario']}: {res['network'].split(',')[0]}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def worst_ratio(result, mode):
    """The highest ratio of a click of `mode` ("exact" or "fast") to the same click of the reference."""
    runs = result["runs"]
    clicks = [i for i, s in enumerate(runs["reference"]["steps"]) if "index" in s]
    return max(runs[mode]["steps"][i]["seconds"] / runs["reference"]["steps"][i]["seconds"] for i in clicks)


def targets(results, has_bf16):
    """The issue's targets (2 cores): EXACT per click <= 0.6x the reference's time and peak RSS
    <= 0.5x; FAST per click <= 0.3x. Met or missed, from the numbers."""
    lines = ["## Against the targets", "",
             "| scenario | target | measured | |", "|---|---|---|---|"]
    for res in results:
        runs = res["runs"]
        mem = runs["exact"]["peak_rss_mib"] / runs["reference"]["peak_rss_mib"]
        for target, value, limit in (("EXACT time per click <= 0.6x", worst_ratio(res, "exact"), 0.6),
                                     ("EXACT peak RSS <= 0.5x", mem, 0.5),
                                     ("FAST time per click <= 0.3x", worst_ratio(res, "fast"), 0.3)):
            what = "" if "RSS" in target else " (worst click)"
            lines.append(f"| {res['scenario']} | {target} | {value:.2f}x{what} | {'met' if value <= limit else 'missed'} |")
    lines.append("")
    if any(r["scenario"] == "release" and worst_ratio(r, "exact") > 0.6 for r in results):
        lines += ["Where the released network's EXACT forward spends its time, convolution rate by resolution:",
                  "\"Where an EXACT forward's time goes\" below (`tools/profile_forward.py --write-docs`).", ""]
    if not has_bf16:
        lines += ["This CPU has no native bfloat16 (no `avx512_bf16`/`amx_bf16`), so FAST ran OpenVINO in",
                  "float32: its speed-up is OpenVINO's float32 kernels alone. The 0.3x target assumes bfloat16",
                  "(one forward of the released network: OpenVINO bfloat16 11.8 s against ONNX Runtime float32",
                  "38 s, measured on an AVX-512 EPYC with `avx512_bf16`); rerun this benchmark on such a CPU.", ""]
    release = next((r for r in results if r["scenario"] == "release"), None)
    rates = ""
    if release is not None:
        ref = [s["seconds"] for s in release["runs"]["reference"]["steps"] if "index" in s]
        exact = [s["seconds"] for s in release["runs"]["exact"]["steps"] if "index" in s]
        rates = (f" In this run the reference's clicks took {min(ref):.0f}-{max(ref):.0f} s and EXACT's"
                 f" {min(exact):.0f}-{max(exact):.0f} s: EXACT sustained about"
                 f" {RELEASE_TFLOP * 1e3 / max(exact):.0f} GFLOP/s, and 0.6x of the slowest reference click"
                 f" would need {RELEASE_TFLOP * 1e3 / (0.6 * max(ref)):.0f} GFLOP/s over the whole forward.")
    if has_bf16:
        lines += ["FAST ran the model's bfloat16 variant (`tools/model/to_bf16.py`): bfloat16 everywhere but the",
                  "full-resolution decoder stage and the segmentation head, which stay float32 for fidelity",
                  "(docs/fidelity.md). OpenVINO's per-layer counters put those two float32 full-resolution",
                  "convolutions at about 2.4 s of the forward (1.2 s each, 2.5 times a bfloat16 one); the plain",
                  "graph in bfloat16 ran a forward in 5.8-6.4 s but misses Dice 0.98 on trained networks.", ""]
    lines += ["An EXACT click of the released network is ONNX Runtime's float32 forward almost entirely (the",
              "engine's own work, from the prompt to the pasted mask, is well under a second of it), so its",
              "time is ONNX Runtime's 3D convolution speed on this CPU against PyTorch's. The forward is",
              f"about {RELEASE_TFLOP} TFLOP." + rates,
              "EXACT stays on ONNX Runtime: OpenVINO float32 is faster but fails judged conformance steps",
              "(table below), so it cannot give the reference's results. The peak of an EXACT click is",
              "ONNX Runtime's activations of the 192^3 forward at the full-resolution decoder stage.",
              "`convert_model.py` rewrites that stage of the released-size network",
              "(`tools/model/lean_decoder.py`: the skip concatenation split into two convolutions,",
              "ordered, on a 33rd channel so that ONNX Runtime's buffer reuse cannot keep encoder",
              "buffers allocated), so it holds 3.3 instead of 4 full-resolution tensors: one forward",
              "peaks at 3.4 GiB instead of 4.0 GiB (`tools/profile_forward.py`). The tiny network's",
              "stage (8 channels, 216 MiB tensors) is left as exported: the odd channel count would",
              "double OpenVINO's time there. ONNX Runtime's arena and memory pattern are off.", ""]
    return lines


def conformance_table(replays):
    lines = ["## The conformance cases in FAST precision and on OpenVINO float32", "",
             "`tools/test/conformance CASES --precision fast --dice-min 0.98` and `--backend openvino`.",
             "`tests/conformance` holds the trained tiny networks' cases (FAST is held to Dice >= 0.98 on",
             "every judged step by the test command); `../shared/conformance` holds random-weight networks,",
             "which magnify every rounding (reported, not held to 0.98).", "",
             "| mode | cases | judged steps passing | exact steps | lowest Dice of a judged step |",
             "|---|---|---|---|---|"]
    for r in replays:
        judged = f"{r['passed']} of {r['passed'] + r['failed']}" if r["passed"] is not None else "-"
        exact = f"{r['exact']} of {r['compared']}" if r["exact"] is not None else "-"
        low = f"{r['min_dice']:.4f}" if r["min_dice"] is not None else "-"
        lines.append(f"| {r['mode']} | `{r['cases']}` | {judged} | {exact} | {low} |")
    lines.append("")
    return lines


def splice_docs_block(name, block):
    """Puts ``block`` (starting ``<!-- NAME -->``, ending ``<!-- /NAME -->``) into
    docs/performance.md in place of the block of that name, or at the end."""
    path = os.path.join(REPO, "docs", "performance.md")
    with open(path) as f:
        text = f.read()
    begin, end = text.find(f"<!-- {name} -->"), text.find(f"<!-- /{name} -->")
    if 0 <= begin < end:
        text = text[:begin] + block + text[end + len(f"<!-- /{name} -->"):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)


def write_docs(results, replays, command):
    os.makedirs(os.path.join(REPO, "docs"), exist_ok=True)
    with open(os.path.join(REPO, "docs", "performance.json"), "w") as f:
        json.dump({"machine": machine(), "command": command, "results": results, "conformance": replays},
                  f, indent=1)
    chart(results, os.path.join(REPO, "docs", "performance.png"))
    has_bf16 = "avx512_bf16" in machine() or "amx_bf16" in machine()
    parts = [
        "# Performance: a click beside the reference",
        "",
        "Written by `" + command + "` (one run; not a test: nothing is asserted).",
        "",
        f"Machine: {machine()}. Both sides use the same thread count; each run is its own process,",
        "one at a time, and its peak resident memory is the process's VmHWM.",
        "",
        "EXACT is the default precision (ONNX Runtime, float32: the reference's results). FAST is",
        "`NNI_PRECISION_FAST` / `--fast`: OpenVINO in bfloat16 where the CPU has native bfloat16,",
        "else OpenVINO in float32. The runtime each run used, as `nni_session_describe` names it:",
        "",
    ]
    for res in results:
        parts += [f"## {res['scenario']}: {res['network']}", "",
                  f"Image {res['image']}; prompts {', '.join(res['prompts'])}; AutoZoom {'on' if res['autozoom'] else 'off'}; "
                  f"{res['threads']} threads.", ""]
        for k in ("reference", "exact", "fast"):
            parts.append(f"- {k}: {res['runs'][k]['described']}")
        parts += ["", table(res), ""]
    parts += ["![per-prompt wall time](performance.png)", ""]
    parts += targets(results, has_bf16)
    parts += conformance_table(replays)
    path = os.path.join(REPO, "docs", "performance.md")
    if os.path.isfile(path):  # keep the blocks profile_forward.py (exact-floor), bench_server.py (server-load, triton-load), bench_objects.py, bench_dropin.py and gpu/check.py write
        with open(path) as f:
            old = f.read()
        for name in ("exact-floor", "server-load", "triton-load", "objects", "gpu", "dropin"):
            begin, end = old.find(f"<!-- {name} -->"), old.find(f"<!-- /{name} -->")
            if 0 <= begin < end:
                parts += [old[begin:end + len(f"<!-- /{name} -->")], ""]
    with open(path, "w") as f:
        f.write("\n".join(parts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", nargs="+", default=["release", "autozoom"], choices=("release", "autozoom"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--from-json", action="store_true",
                    help="rewrite docs/performance.md and .png from docs/performance.json (no runs)")
    ap.add_argument("--reference-worker", nargs=3, metavar=("MODEL", "TMP", "AUTOZOOM"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reference_worker:
        reference_worker(args.reference_worker[0], args.reference_worker[1], args.threads,
                         args.reference_worker[2] == "1")
        return
    if args.from_json:
        with open(os.path.join(REPO, "docs", "performance.json")) as f:
            saved = json.load(f)
        replays = saved.get("conformance") or conformance_replays()
        write_docs(saved["results"], replays, saved["command"])
        print("rewrote docs/performance.md and docs/performance.png from docs/performance.json")
        return
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "nni"], cwd=REPO, check=True)
    subprocess.run(["cargo", "build", "--quiet", "--lib"], cwd=REPO, check=True)  # for the replays
    results = []
    for name in args.scenario:
        res = scenario(name, args.threads)
        results.append(res)
        print(f"\n{name}: {res['network']}; {res['image']}; AutoZoom {'on' if res['autozoom'] else 'off'}")
        for k in ("reference", "exact", "fast"):
            print(f"  {k}: {res['runs'][k]['described']}")
        print(table(res))
        sys.stdout.flush()
    if args.write_docs:
        command = ".venv-ref/bin/python tools/bench.py " + " ".join(
            ["--scenario", *args.scenario, "--threads", str(args.threads), "--write-docs"])
        replays = conformance_replays()
        write_docs(results, replays, command)
        print("\nwrote docs/performance.md, docs/performance.json, docs/performance.png")


if __name__ == "__main__":
    sys.exit(main())
