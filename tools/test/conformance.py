#!/usr/bin/env python3
"""Replay the reference's conformance cases through the C ABI (via bindings/python).

    tools/test/conformance CASES_ROOT [--case NAME ...] [--device cpu] [--threads 2] [--dump DIR]
        [--precision exact|fast] [--backend auto|onnxruntime|openvino] [--dice-min 0.98]
        [--weights float32|float16]

CASES_ROOT holds ``models/<name>/`` (nnInteractive model folders as released) and
``cases/<case>/case.json`` (see the README of the case set). Every model folder is converted with
tools/model/convert_model.py (run by the reference environment, ``.venv-ref`` or ``$NNI_REF_PYTHON``)
into ``build/conformance-models/<name>/model.onnx``; the conversion is reused while the sha256 of
the checkpoint (and of the folder's metadata files and of the converter) is unchanged. With
``--weights float16`` each is then made into ``model.fp16.onnx`` by tools/model/to_fp16.py (what a
CUDA session runs in FAST precision) and the cases run on that file (on the CPU, ONNX Runtime
computes its float16 convolutions between casts: a check of the conversion, not of CUDA).
With ``--precision fast`` each also gets ``model.bf16.onnx`` by tools/model/to_bf16.py (what FAST
runs on OpenVINO on a CPU with native bfloat16); with ``--weights bfloat16-emulated`` the cases run
on its emulation ``model.bf16emu.onnx`` on ONNX Runtime (OpenVINO's bfloat16 rounding as casts: the
fidelity of FAST on bfloat16 CPUs, judged on any CPU).

Each case then runs in a fresh session (AutoZoom from case.json), step by step; after every step
with ``expect`` the library's mask is compared with the expected one and one line is printed:
case, step index, op, Dice, differing voxels (and their share of the union), exact or not, and the
verdict. A step passes with Dice >= 0.99 and at most 0.5% of the union differing. Steps whose
``reference_self_difference`` is not 0, and steps after such a step until the next reset or
initial_seg, are reported with ``(reference unstable: not judged)`` and not counted (undoing an
initial_seg returns to the state before it, unstable or not). After each case, its prompt log
(``export_log``) is replayed by ``nni replay`` on the case's image and model and must give the
session's final mask bit for bit (one more result per case); with the first case, a log given
another model or another image must be refused. The last line is ``N passed, M failed``; the exit status is 1 when a judged step failed (or a call failed), 2 on a
setup error.
"""

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "bindings", "python"))
sys.path.insert(0, os.path.join(REPO, "tools", "model"))

from convert_model import CONVERTER_SOURCES  # noqa: E402

from nninteractive_native import NniError, Session  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from case_arrays import as_npy, load_array  # noqa: E402

DICE_MIN = 0.99
UNION_SHARE_MAX = 0.005
PROMPT_OPS = ("point", "bbox", "scribble", "lasso")
META_FILES = ("plans.json", "dataset.json", "inference_info.json", "inference_session_class.json", "LICENSE")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def model_key(folder):
    """sha256 of every checkpoint, the metadata files and the converter's sources."""
    key = {os.path.relpath(p, REPO): sha256_file(p) for p in CONVERTER_SOURCES}
    for name in META_FILES:
        p = os.path.join(folder, name)
        if os.path.isfile(p):
            key[name] = sha256_file(p)
    for sub in sorted(os.listdir(folder)):
        p = os.path.join(folder, sub, "checkpoint_final.pth")
        if sub.startswith("fold_") and os.path.isfile(p):
            key[f"{sub}/checkpoint_final.pth"] = sha256_file(p)
    return key


def convert_models(cases_root, cache_root, ref_python, threads, force):
    """Convert (or reuse) every models/* folder; returns {realpath(folder): onnx path}."""
    models_dir = os.path.join(cases_root, "models")
    out = {}
    if not os.path.isdir(models_dir):
        return out
    for name in sorted(os.listdir(models_dir)):
        folder = os.path.join(models_dir, name)
        if not os.path.isdir(folder):
            continue
        dest = os.path.join(cache_root, name)
        onnx_path = os.path.join(dest, "model.onnx")
        key_path = os.path.join(dest, "key.json")
        key = model_key(folder)
        cached = None
        if os.path.isfile(key_path) and os.path.isfile(onnx_path):
            with open(key_path) as f:
                cached = json.load(f)
        if not force and cached is not None and cached.get("inputs") == key:
            print(f"model {name}: reusing {os.path.relpath(onnx_path, REPO)} "
                  f"(checkpoint sha256 {next(v for k, v in key.items() if k.endswith('.pth'))[:16]}..., "
                  f"{cached.get('l2_line', 'round-trip relative L2: ?')})")
            out[os.path.realpath(folder)] = onnx_path
            continue
        if not os.path.exists(ref_python):
            print(f"conformance: model {name} needs converting, but there is no reference Python at {ref_python} "
                  f"(set NNI_REF_PYTHON or --ref-python)", file=sys.stderr)
            raise SystemExit(2)
        os.makedirs(dest, exist_ok=True)
        tmp = onnx_path + ".new"
        cmd = [ref_python, "-W", "ignore", os.path.join(REPO, "tools", "model", "convert_model.py"), folder, tmp,
               "--name", name, "--threads", str(threads),
               # The full-resolution decoder rewrite is applied by default only to large networks; here
               # on every model, so the cases check that it keeps the reference's masks.
               "--lean-decoder", "on",
               # The bfloat16 variant is made beside the cached model by bfloat16_variants.
               "--no-bf16"]
        print(f"model {name}: converting with {' '.join(os.path.relpath(c, REPO) if c.startswith(REPO) else c for c in cmd)}")
        sys.stdout.flush()
        t0 = time.time()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        with open(os.path.join(dest, "convert.log"), "w") as f:
            f.write(proc.stdout)
        l2_line = next((l for l in proc.stdout.splitlines() if l.startswith("round-trip relative L2:")), None)
        if proc.returncode != 0 or l2_line is None:
            sys.stdout.write(proc.stdout)
            print(f"conformance: converting {folder} failed (exit {proc.returncode})", file=sys.stderr)
            raise SystemExit(2)
        os.replace(tmp, onnx_path)
        with open(key_path, "w") as f:
            json.dump({"inputs": key, "l2_line": l2_line}, f, indent=1)
        print(f"model {name}: {l2_line} ({time.time() - t0:.1f} s)")
        out[os.path.realpath(folder)] = onnx_path
    return out


def tool_outputs(models, threads, tool_name, suffixes, arguments):
    """Run tools/model/TOOL_NAME on each converted model, writing MODEL_STEM + each of `suffixes`
    beside it (`arguments(paths)` gives the tool's arguments after the model); reused while the
    float32 model and the tool are unchanged. Returns {folder: [the output paths]}."""
    out = {}
    tool = os.path.join(REPO, "tools", "model", tool_name)
    for folder, onnx_path in models.items():
        stem = os.path.splitext(onnx_path)[0]
        paths = [stem + suffix for suffix in suffixes]
        key_path = paths[0] + ".key"
        key = sha256_file(onnx_path) + " " + sha256_file(tool)
        if all(os.path.isfile(p) for p in paths + [key_path]) and open(key_path).read() == key:
            print(f"model {os.path.basename(folder)}: reusing {', '.join(os.path.relpath(p, REPO) for p in paths)}")
        else:
            cmd = [sys.executable, tool, onnx_path, *arguments(paths), "--check-threads", str(threads)]
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            sys.stdout.write(proc.stdout)
            if proc.returncode != 0:
                print(f"conformance: {tool_name} failed on {onnx_path} (exit {proc.returncode})", file=sys.stderr)
                raise SystemExit(2)
            with open(key_path, "w") as f:
                f.write(key)
        out[folder] = paths
    return out


def float16_variants(models, threads):
    """Make (or reuse) model.fp16.onnx beside each converted model (tools/model/to_fp16.py);
    returns the same mapping to the float16 files."""
    made = tool_outputs(models, threads, "to_fp16.py", [".fp16.onnx"], lambda paths: paths)
    return {folder: paths[0] for folder, paths in made.items()}


def bfloat16_variants(models, threads):
    """Make (or reuse) model.bf16.onnx (what FAST runs on OpenVINO on a CPU with native bfloat16)
    and model.bf16emu.onnx (its rounding emulated for ONNX Runtime) beside each converted model,
    with tools/model/to_bf16.py; returns {folder: emulation path}."""
    made = tool_outputs(models, threads, "to_bf16.py", [".bf16.onnx", ".bf16emu.onnx"],
                        lambda paths: [paths[0], "--emulate", paths[1]])
    return {folder: paths[1] for folder, paths in made.items()}


def compare(got, want):
    a = got.astype(bool)
    b = want.astype(bool)
    inter = int(np.count_nonzero(a & b))
    union = int(np.count_nonzero(a | b))
    diff = union - inter
    na, nb = int(np.count_nonzero(a)), int(np.count_nonzero(b))
    dice = 1.0 if na + nb == 0 else 2.0 * inter / (na + nb)
    ok = dice >= DICE_MIN and diff <= UNION_SHARE_MAX * union
    return dice, diff, union, ok


def run_step(sess, case_dir, step):
    op = step["op"]
    pos = bool(step.get("positive", True))
    run = bool(step.get("run_prediction", True))

    def mask(key="mask"):
        return load_array(os.path.join(case_dir, step[key]))

    if op == "point":
        sess.add_point(step["at"], positive=pos, run_prediction=run)
    elif op == "bbox":
        sess.add_box(step["min"], step["max"], positive=pos, run_prediction=run)
    elif op == "scribble":
        sess.add_scribble(mask(), positive=pos, run_prediction=run)
    elif op == "lasso":
        sess.add_lasso(mask(), positive=pos, run_prediction=run)
    elif op == "initial_seg":
        sess.set_initial_mask(mask(), run_prediction=bool(step.get("run_prediction", False)))
    elif op == "undo":
        if not sess.undo():
            return "nothing to undo"
    elif op == "reset":
        sess.reset()
    else:
        raise ValueError(f"unknown op {op!r}")
    return None


def nni_env():
    env = dict(os.environ)
    env.setdefault("NNI_ONNXRUNTIME_PATH", os.path.join(REPO, ".deps", "onnxruntime", "libonnxruntime.so"))
    env.setdefault("NNI_OPENVINO_PATH", os.path.join(REPO, ".deps", "openvino", "libopenvino_c.so"))
    return env


def replay(args, log_path, image_path, onnx, out_path):
    cmd = [args.nni, "replay", "--log", log_path, "--image", image_path, "--model", onnx, "--out", out_path,
           "--threads", str(args.threads)]
    return subprocess.run(cmd, capture_output=True, text=True, env=nni_env())


def check_replay(sess, name, case_dir, image_name, onnx, args, counts):
    """The case's prompt log, replayed by `nni replay`, gives the session's mask bit for bit; with
    the first case, another model and another image are refused."""
    import tempfile

    final = np.array(sess.get_mask(), copy=True)
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "log.json")
        with open(log_path, "w") as f:
            f.write(sess.export_log())
        out = os.path.join(tmp, "replayed.npy")
        image_path = as_npy(os.path.join(case_dir, image_name), tmp)
        proc = replay(args, log_path, image_path, onnx, out)
        ok = proc.returncode == 0 and os.path.isfile(out) and np.array_equal(np.load(out), final)
        detail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
        print(f"{name:<28} replay of the prompt log with nni replay: {'PASS' if ok else 'FAIL'}  [{detail}]")
        counts["passed" if ok else "failed"] += 1
        if counts.get("tamper_checked"):
            return
        counts["tamper_checked"] = True
        other_model = os.path.join(REPO, "models", "blob-grow-p32.onnx")
        image = np.load(image_path)
        image.flat[image.size // 2] += 1
        other_image = os.path.join(tmp, "other_image.npy")
        np.save(other_image, image)
        for what, model, img in (("another model", other_model, image_path), ("another image", onnx, other_image)):
            proc = replay(args, log_path, img, model, out)
            ok = proc.returncode != 0 and "refused" in proc.stderr
            line = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
            print(f"{name:<28} the log with {what} is refused: {'PASS' if ok else 'FAIL'}  [{line[:140]}]")
            counts["passed" if ok else "failed"] += 1


def run_case(case_dir, models, args, counts, dump_dir):
    name = os.path.basename(case_dir)
    with open(os.path.join(case_dir, "case.json")) as f:
        case = json.load(f)
    if case.get("format", 1) != 1:
        print(f"{name}: unsupported case format {case.get('format')}")
        counts["failed"] += 1
        return
    model_folder = os.path.realpath(os.path.join(args.cases_root, case["model"]))
    if model_folder not in models:
        print(f"{name}: model {case['model']} was not converted")
        counts["failed"] += 1
        return
    image = load_array(os.path.join(case_dir, case["image"]))
    steps = case["steps"]
    width = max(len(s["op"]) for s in steps)

    sess = Session(models[model_folder], device=args.device, num_threads=args.threads,
                   autozoom=bool(case.get("autozoom", True)), precision=args.precision,
                   backend=args.backend)
    try:
        described = sess.describe()
        if described not in counts["described"]:
            counts["described"].add(described)
            print(f"{name}: {described}")
        if args.weights == "float16" and "float16" not in described:
            print(f"{name}: a float16 model, but the session does not say float16: FAIL")
            counts["failed"] += 1
            return
        if args.weights == "bfloat16-emulated" and "bfloat16 rounding emulated" not in described:
            print(f"{name}: a bfloat16 emulation, but the session does not say so: FAIL")
            counts["failed"] += 1
            return
        if args.precision == "fast" and (("running float32" in described and "no native bfloat16" not in described)
                                         or "no bfloat16 variant" in described):
            print(f"{name}: the fast mode fell back to float32 for a reason other than the CPU: FAIL")
            counts["failed"] += 1
            return
        sess.set_image(image)
        # Instability: a step is not judged when its reference_self_difference is not 0 or when an
        # unstable step came before it since the last reset or initial_seg. Conservative on undo:
        # undoing an initial_seg returns to the state before it, unstable or not.
        unstable = False
        unstable_before_initial = None  # set while the last undoable op is an initial_seg
        for idx, step in enumerate(steps):
            op = step["op"]
            if op in PROMPT_OPS:
                unstable_before_initial = None
            elif op == "initial_seg":
                unstable_before_initial = unstable
                unstable = False
            elif op == "reset":
                unstable = False
                unstable_before_initial = None
            elif op == "undo" and unstable_before_initial is not None:
                unstable = unstable or unstable_before_initial
                unstable_before_initial = None
            if step.get("reference_self_difference", 0) != 0:
                unstable = True

            t0 = time.time()
            try:
                note = run_step(sess, case_dir, step)
            except (NniError, ValueError, OSError) as e:
                print(f"{name:<28} step {idx:03d} {op:<{width}}  ERROR: {e}")
                counts["failed"] += 1
                rest = [s for s in steps[idx + 1:] if "expect" in s]
                if rest:
                    print(f"{name:<28} {len(rest)} later compared step(s) not run: counted as failed")
                    counts["failed"] += len(rest)
                return
            dt = time.time() - t0
            if "expect" not in step:
                continue
            want = load_array(os.path.join(case_dir, step["expect"]))
            got = sess.get_mask()
            dice, diff, union, ok = compare(got, want)
            if args.dice_min is not None:
                ok = dice >= args.dice_min
            counts["compared"] += 1
            counts["exact"] += int(diff == 0)
            share = 100.0 * diff / union if union else 0.0
            ref_t = step.get("reference_seconds")
            timing = f"{dt:.2f}s" + (f" (ref {ref_t:.2f}s)" if isinstance(ref_t, (int, float)) else "")
            line = (f"{name:<28} step {idx:03d} {op:<{width}}  Dice {dice:.5f}  differing {diff:>6} "
                    f"({share:6.3f}% of union {union:>6})  {'exact' if diff == 0 else 'not exact':<9}  ")
            if unstable:
                line += "(reference unstable: not judged)"
                counts["unjudged"] += 1
            else:
                line += "PASS" if ok else "FAIL"
                counts["passed" if ok else "failed"] += 1
            line += f"  {timing}"
            if note:
                line += f"  [{note}]"
            print(line)
            sys.stdout.flush()
            if dump_dir and diff:
                d = os.path.join(dump_dir, name)
                os.makedirs(d, exist_ok=True)
                np.save(os.path.join(d, f"got_{idx:03d}.npy"), got)
        check_replay(sess, name, case_dir, case["image"], models[model_folder], args, counts)
    finally:
        sess.close()


def main():
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases_root")
    ap.add_argument("--case", action="append", default=None, help="run only this case (repeatable)")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    ap.add_argument("--threads", type=int, default=2, help="inference threads (default 2)")
    ap.add_argument("--ref-python", default=os.environ.get("NNI_REF_PYTHON", os.path.join(REPO, ".venv-ref", "bin", "python")),
                    help="Python of the reference environment, for the converter")
    ap.add_argument("--cache-dir", default=os.path.join(REPO, "build", "conformance-models"))
    ap.add_argument("--force-convert", action="store_true")
    ap.add_argument("--dump", default=None, help="save the library's mask of every differing step here")
    ap.add_argument("--precision", default="exact", choices=("exact", "fast"))
    ap.add_argument("--backend", default="auto", choices=("auto", "onnxruntime", "openvino", "tensorrt"))
    ap.add_argument("--weights", default="float32", choices=("float32", "float16", "bfloat16-emulated"),
                    help="float16: run each model's float16 variant (tools/model/to_fp16.py); bfloat16-emulated: "
                         "the emulation of FAST on a bfloat16 CPU (tools/model/to_bf16.py --emulate), on ONNX Runtime")
    ap.add_argument("--nni", default=os.path.join(REPO, "target", "debug", "nni"),
                    help="the nni program, for the replay of each case's prompt log")
    ap.add_argument("--dice-min", type=float, default=None,
                    help="judge a step by its Dice alone, passing at this value (for the fast mode)")
    args = ap.parse_args()

    args.cases_root = os.path.abspath(args.cases_root)
    cases_dir = os.path.join(args.cases_root, "cases")
    if not os.path.isdir(cases_dir):
        print(f"conformance: no cases/ under {args.cases_root}", file=sys.stderr)
        return 2
    models = convert_models(args.cases_root, args.cache_dir, args.ref_python, args.threads, args.force_convert)
    if args.weights == "float16":
        models = float16_variants(models, args.threads)
    elif args.weights == "bfloat16-emulated" or args.precision == "fast":
        emulations = bfloat16_variants(models, args.threads)
        if args.weights == "bfloat16-emulated":
            models = emulations

    names = sorted(d for d in os.listdir(cases_dir) if os.path.isfile(os.path.join(cases_dir, d, "case.json")))
    if args.case:
        missing = set(args.case) - set(names)
        if missing:
            print(f"conformance: unknown case(s) {sorted(missing)}", file=sys.stderr)
            return 2
        names = [n for n in names if n in args.case]
    counts = {"passed": 0, "failed": 0, "unjudged": 0, "compared": 0, "exact": 0, "described": set()}
    for n in names:
        try:
            run_case(os.path.join(cases_dir, n), models, args, counts, args.dump)
        except NniError as e:
            print(f"{n}: {e}")
            counts["failed"] += 1
    if counts["unjudged"]:
        print(f"({counts['unjudged']} compared step(s) not judged: reference unstable)")
    print(f"({counts['exact']} of {counts['compared']} compared step(s) exact)")
    print(f"{counts['passed']} passed, {counts['failed']} failed")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
