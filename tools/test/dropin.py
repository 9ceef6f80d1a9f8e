#!/usr/bin/env python3
"""Every conformance case through both session classes, side by side: the reference's
``nnInteractiveInferenceSession`` (nninteractive 2.6.0, torch, CPU) and the drop-in
``nninteractive_native.nnInteractiveInferenceSession`` (the native engine), with the calls a host
makes (``add_*_interaction``, ``add_initial_seg_interaction``, ``undo``, ``reset_interactions``)
on a numpy target buffer each.

    .venv-ref/bin/python tools/test/dropin.py CASES_ROOT... [--case NAME ...] [--threads 2]
        [--installed [DIR]] [--no-reference]

Per step, one line: what each class returned (the region written, or None; True/False for undo)
and whether they agree; after a step with ``expect``, the drop-in's target buffer is judged against
the reference's recorded mask as tools/test/conformance.py judges (Dice >= 0.99 and at most 0.5% of
the union differing; steps after an unstable reference step not judged), and its Dice against the
reference class run here is shown. Returns are judged on the same steps (equal boxes, equal undo
answers). The drop-in is bindings/python's, or with ``--installed`` the environment's (a wheel
installed into it), or with ``--installed DIR`` the one installed into DIR (``pip install --no-deps
--target DIR WHEEL``): the wheel's package and its bundled library. ``--no-reference`` runs the
drop-in alone (an environment without torch, such as a fresh venv with only the wheel): its masks
judged against the recorded ones, nothing compared with a live reference.
Models are converted (or reused) as the conformance tool does.
The last line is ``N passed, M failed``; exit status 1 when anything judged failed.
"""

import argparse
import contextlib
import io
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import conformance  # noqa: E402  (converts the models; its judging)
from case_arrays import load_array  # noqa: E402


def quiet(fn, *args, **kwargs):
    """Calls the reference with its prints swallowed."""
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args, **kwargs)


def call(session, step, case_dir, reference):
    """One case step as a host makes it; returns what the class returned."""
    op = step["op"]
    pos = bool(step.get("positive", True))
    run = bool(step.get("run_prediction", True))
    mask = (lambda: load_array(os.path.join(case_dir, step["mask"]))) if "mask" in step else None
    wrap = (lambda fn, *a, **k: quiet(fn, *a, **k)) if reference else (lambda fn, *a, **k: fn(*a, **k))
    if op == "point":
        return wrap(session.add_point_interaction, step["at"], pos, run_prediction=run)
    if op == "bbox":
        box = [[a, b] for a, b in zip(step["min"], step["max"])]
        return wrap(session.add_bbox_interaction, box, pos, run_prediction=run)
    if op == "scribble":
        return wrap(session.add_scribble_interaction, mask(), pos, run_prediction=run)
    if op == "lasso":
        return wrap(session.add_lasso_interaction, mask(), pos, run_prediction=run)
    if op == "initial_seg":
        return wrap(session.add_initial_seg_interaction, mask(), run_prediction=bool(step.get("run_prediction", False)))
    if op == "undo":
        return wrap(session.undo)
    if op == "reset":
        return wrap(session.reset_interactions)
    raise ValueError(f"unknown op {op!r}")


def normal(value):
    """A return value in comparable form (boxes as lists of int pairs)."""
    if value is None or isinstance(value, bool):
        return value
    return [[int(a), int(b)] for a, b in value]


def run_case(case_dir, cases_root, models, args, ours_cls, ref_cls, counts):
    if ref_cls is not None:
        import torch

    name = os.path.basename(case_dir)
    with open(os.path.join(case_dir, "case.json")) as f:
        case = json.load(f)
    model_folder = os.path.realpath(os.path.join(cases_root, case["model"]))
    autozoom = bool(case.get("autozoom", True))
    image = load_array(os.path.join(case_dir, case["image"]))

    ours = ours_cls(device="cpu", torch_n_threads=args.threads, do_autozoom=autozoom)
    ours.initialize_from_trained_model_folder(os.path.dirname(models[model_folder]), 0, "checkpoint_final.pth")
    sessions = [("ours", ours)]
    ref = None
    if ref_cls is not None:
        ref = quiet(ref_cls, device=torch.device("cpu"), torch_n_threads=args.threads, do_autozoom=autozoom)
        quiet(ref.initialize_from_trained_model_folder, model_folder, 0, "checkpoint_final.pth")
        sessions.append(("ref", ref))
    buffers = {}
    for label, session in sessions:
        quiet(session.set_image, image[None], {"spacing": [1.0, 1.0, 1.0]})
        buffers[label] = np.zeros(image.shape, dtype=np.uint8)
        session.set_target_buffer(buffers[label])

    width = max(len(s["op"]) for s in case["steps"])
    unstable = False
    for idx, step in enumerate(case["steps"]):
        op = step["op"]
        if op in ("reset", "initial_seg"):
            unstable = False
        if step.get("reference_self_difference", 0) != 0:
            unstable = True
        t0 = time.time()
        got = normal(call(ours, step, case_dir, reference=False))
        t_ours = time.time() - t0
        line = f"{name:<28} step {idx:03d} {op:<{width}}  returns ours {got}"
        t_ref = 0.0
        if ref is not None:
            t0 = time.time()
            want = normal(call(ref, step, case_dir, reference=True))
            t_ref = time.time() - t0
            same = got == want
            line += f" ref {want}: {'same' if same else 'DIFFER'}"
            if unstable:
                line += " (reference unstable: not judged)"
                counts["unjudged"] += 1
            else:
                counts["passed" if same else "failed"] += 1
        elif unstable:
            line += " (reference unstable: not judged)"
            counts["unjudged"] += 1
        if "expect" in step:
            expect = load_array(os.path.join(case_dir, step["expect"]))
            dice, diff, union, ok = conformance.compare(buffers["ours"], expect)
            line += f"; buffer vs recorded Dice {dice:.5f} differing {diff} of {union}"
            if ref is not None:
                line += f", vs the reference here Dice {conformance.compare(buffers['ours'], buffers['ref'])[0]:.5f}"
            line += ": "
            if unstable:
                line += "not judged"
            else:
                line += "PASS" if ok else "FAIL"
                counts["passed" if ok else "failed"] += 1
        line += f"  ({t_ours:.2f}s" + (f", ref {t_ref:.2f}s)" if ref is not None else ")")
        print(line)
        sys.stdout.flush()
    del ours.network
    del ref, sessions


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases_roots", nargs="+")
    parser.add_argument("--case", action="append", default=[])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--installed", metavar="DIR", nargs="?", const="",
                        help="the installed drop-in (from DIR, a wheel installed with pip --target; without DIR, "
                             "this environment's), with its own library")
    parser.add_argument("--no-reference", action="store_true",
                        help="the drop-in alone, judged against the recorded masks (no torch needed)")
    args = parser.parse_args()

    if args.installed is not None:
        # conformance imported bindings/python's package: forget it, take the installed one.
        for name in [m for m in sys.modules if m == "nninteractive_native" or m.startswith("nninteractive_native.")]:
            del sys.modules[name]
        bindings = os.path.join(REPO, "bindings", "python")
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != bindings]
        if args.installed:
            sys.path.insert(0, os.path.abspath(args.installed))
        os.environ.pop("NNI_LIBRARY", None)
    from nninteractive_native.inference_session import nnInteractiveInferenceSession as Ours

    import nninteractive_native

    Reference = None
    if not args.no_reference:
        from nnInteractive.inference.inference_session import nnInteractiveInferenceSession as Reference
    print(f"drop-in: {nninteractive_native.__file__} (library {nninteractive_native.load_library()._name}); "
          f"reference: {'nninteractive ' + Reference.INFERENCE_SESSION_VERSION if Reference else 'none (recorded masks only)'}")
    counts = {"passed": 0, "failed": 0, "unjudged": 0}
    for root in args.cases_roots:
        models = conformance.convert_models(root, os.path.join(REPO, "build", "conformance-models"),
                                            os.environ.get("NNI_REF_PYTHON", os.path.join(REPO, ".venv-ref", "bin", "python")),
                                            args.threads, False)
        cases_dir = os.path.join(root, "cases")
        for name in sorted(os.listdir(cases_dir)):
            if args.case and name not in args.case:
                continue
            run_case(os.path.join(cases_dir, name), root, models, args, Ours, Reference, counts)
    print(f"drop-in: {counts['unjudged']} step result(s) after an unstable reference step not judged")
    print(f"{counts['passed']} passed, {counts['failed']} failed")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
