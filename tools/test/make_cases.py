"""Record conformance cases with AutoZoom and refinement from the reference implementation.

Drives `nnInteractiveInferenceSession` (PyPI nninteractive 2.6.0, CPU, float32) with the tiny
*trained* model (tools/model/train_tiny_model.py), whose predictions are stable under a change of patch
context, on generated phantoms, and writes cases in the format of ../shared/conformance/README.md.
Each case runs twice with different numpy seeds (the reference's refinement planner may draw random
numbers); `reference_self_difference` records how many voxels differ between the two runs.

    .venv-ref/bin/python tools/test/make_cases.py --model models/tiny-trained-p64 --out tests/conformance
"""
import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import torch

from nnInteractive.inference.inference_session import nnInteractiveInferenceSession

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from case_arrays import save_array  # noqa: E402


def ellipsoid(shape, center, radii):
    g = np.indices(shape, dtype=np.float32)
    return sum(((g[d] - center[d]) / radii[d]) ** 2 for d in range(3)) <= 1


def phantom(shape, objects, background, noise, seed, dtype=np.float32, zero_border=0):
    rng = np.random.default_rng(seed)
    img = np.full(shape, background, np.float32) + rng.normal(0, noise, shape).astype(np.float32)
    for center, radii, value in objects:
        m = ellipsoid(shape, center, radii)
        img[m] = value + rng.normal(0, noise, int(m.sum()))
    if zero_border:
        z = zero_border
        border = np.ones(shape, bool)
        border[z:-z, z:-z, z:-z] = False
        img[border] = 0
    return img.astype(dtype)


def slice_of(mask, axis, index):
    out = np.zeros_like(mask)
    sl = [slice(None)] * 3
    sl[axis] = index
    out[tuple(sl)] = mask[tuple(sl)]
    return out


def cases():
    """(name, image, steps) triples; masks in steps are numpy arrays, saved when written.

    With a 64^3 patch the reference's refinement cover box is 16^3 (margin 24), and its planner falls
    back to unseeded random sampling when the greedy cover leaves changed voxels uncovered. Steps are
    therefore built around objects one refinement box covers, with prompts wide enough to zoom out
    (zoom = (size + 21) / 64 > 1): that runs the zoomed input (area, trilinear, max filter), the
    coarse upsampling, the planner and refinement deterministically. Cases where AutoZoom grows
    over a large object are recorded too; the reference is unstable there and they are reported,
    not judged (reference_self_difference > 0).
    """
    out = []
    shape = (96, 96, 96)
    small_a = ((48, 48, 48), (6, 6, 6))
    small_b = ((30, 66, 62), (5, 5, 5))
    img = phantom(shape, [(small_a[0], small_a[1], 1000.0), (small_b[0], small_b[1], 900.0)], 100.0, 20.0, 1)
    # 1. wide 2D boxes around small objects: zoom 1.1 and, after a point, zoom 1.6 (max filter 3)
    out.append(("wide-box-zoom", img, [
        {"op": "bbox", "min": [48, 23, 23], "max": [49, 73, 73], "positive": True},
        {"op": "point", "at": [30, 66, 62], "positive": True},
        {"op": "bbox", "min": [30, 26, 22], "max": [31, 106 - 0, 102], "positive": True},
        {"op": "undo"},
        {"op": "point", "at": [48, 48, 48], "positive": False},
    ]))
    # 2. a wide lasso and a wide scribble (zoom from the mask's extent)
    lasso = np.zeros(shape, np.uint8)
    lasso[16:76, 48, 16:76] = 1
    scrib = np.zeros(shape, np.uint8)
    for t in range(0, 56):
        scrib[30, 40 + t // 2, 36 + t] = 1
    out.append(("wide-lasso-scribble", img, [
        {"op": "lasso", "mask": lasso, "positive": True},
        {"op": "scribble", "mask": scrib, "positive": True},
        {"op": "reset", "run_prediction": False},
        {"op": "scribble", "mask": scrib, "positive": True},
    ]))
    # 3. 3D boxes (inference_info.json enables them) around one object, zoom 1.1 and 1.4
    out.append(("bbox3d-zoom", img, [
        {"op": "bbox", "min": [24, 24, 24], "max": [73, 73, 73], "positive": True},
        {"op": "bbox", "min": [5, 35, 30], "max": [75, 100, 96], "positive": True},
    ]))
    # 4. anisotropic, CT-like int16 range, an object touching the image border, a wide box whose
    #    zoomed patch reaches past the image
    shape4 = (40, 112, 80)
    img4 = phantom(shape4, [((20, 6, 40), (6, 8, 7), 300.0), ((20, 90, 50), (5, 6, 6), 600.0)], -800.0, 30.0, 4,
                   dtype=np.int16)
    out.append(("anisotropic-border-int16", img4, [
        {"op": "bbox", "min": [20, 0, 15], "max": [21, 40, 65], "positive": True},
        {"op": "point", "at": [20, 90, 50], "positive": True},
        {"op": "bbox", "min": [20, 62, 25], "max": [21, 111, 76], "positive": False},
    ]))
    # 5. initial segmentation refined (force_full_refine) and AutoZoom over a large object
    big_shape = (112, 112, 112)
    big = ((56, 56, 52), (34, 30, 40))
    img5 = phantom(big_shape, [(big[0], big[1], 900.0), ((20, 90, 90), (7, 7, 7), 1000.0)], 100.0, 20.0, 5)
    rough = ellipsoid(big_shape, (20, 90, 90), (5, 5, 5)).astype(np.uint8)
    out.append(("initial-seg-and-autozoom", img5, [
        {"op": "initial_seg", "mask": rough, "run_prediction": True},
        {"op": "point", "at": [56, 56, 52], "positive": True},
        {"op": "undo"},
    ]))
    # 6. the newer inference_info.json with another decay (0.95) and point radius (3): many prompts
    #    of every kind, some queued without prediction
    out.append(("decay095-many-prompts", img, [
        {"op": "point", "at": [48, 48, 48], "positive": True},
        {"op": "point", "at": [30, 66, 62], "positive": True, "run_prediction": False},
        {"op": "point", "at": [31, 65, 61], "positive": True},
        {"op": "bbox", "min": [48, 40, 40], "max": [49, 57, 57], "positive": True},
        {"op": "point", "at": [52, 50, 47], "positive": False},
        {"op": "scribble", "mask": scrib, "positive": True},
        {"op": "bbox", "min": [30, 26, 22], "max": [31, 106, 102], "positive": True},
        {"op": "point", "at": [48, 48, 48], "positive": True},
        {"op": "undo"},
        {"op": "point", "at": [30, 66, 62], "positive": False},
    ], "decay095"))
    # 7. AutoZoom growing (x1.5): a click near one end of a cylinder that leaves the 128^3 patch;
    #    the grown patch holds it, and one 80^3 refinement cover box covers it (no random fallback);
    #    then a second object and undo
    shape7 = (160, 96, 96)
    img7 = phantom(shape7, [((30, 70, 70), (8, 8, 8), 1000.0)], 100.0, 20.0, 7)
    g7 = np.indices(shape7, dtype=np.float32)
    cyl = ((g7[1] - 40) ** 2 + (g7[2] - 40) ** 2 <= 12 ** 2) & (g7[0] >= 66) & (g7[0] < 136)
    img7[cyl] = 900.0 + np.random.default_rng(8).normal(0, 20, int(cyl.sum())).astype(np.float32)
    out.append(("autozoom-growth-p128", img7, [
        {"op": "point", "at": [70, 40, 40], "positive": True},
        {"op": "point", "at": [30, 70, 70], "positive": True},
        {"op": "undo"},
    ], "p128"))
    return out


def run_case(model, image, steps, seed, threads):
    np.random.seed(seed)
    torch.manual_seed(seed)
    s = nnInteractiveInferenceSession(device=torch.device("cpu"), torch_n_threads=threads, do_autozoom=True, verbose=False)
    s.initialize_from_trained_model_folder(model)
    s.set_image(image[None])
    target = np.zeros(image.shape, np.uint8)
    s.set_target_buffer(target)
    results = []
    for st in steps:
        t0 = time.time()
        op = st["op"]
        run = st.get("run_prediction", True)
        pos = st.get("positive", True)
        if op == "point":
            s.add_point_interaction(st["at"], include_interaction=pos, run_prediction=run)
        elif op == "bbox":
            s.add_bbox_interaction([[a, b] for a, b in zip(st["min"], st["max"])], include_interaction=pos, run_prediction=run)
        elif op == "scribble":
            s.add_scribble_interaction(st["mask"], include_interaction=pos, run_prediction=run)
        elif op == "lasso":
            s.add_lasso_interaction(st["mask"], include_interaction=pos, run_prediction=run)
        elif op == "initial_seg":
            s.add_initial_seg_interaction(st["mask"], run_prediction=run)
        elif op == "undo":
            s.undo()
        elif op == "reset":
            s.reset_interactions()
            target[:] = 0
        results.append((target.copy(), time.time() - t0))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="models/tiny-trained-p64")
    ap.add_argument("--out", default="tests/conformance")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    model_name = os.path.basename(os.path.normpath(args.model))
    dest_model = os.path.join(args.out, "models", model_name)
    if os.path.realpath(dest_model) != os.path.realpath(args.model):
        shutil.rmtree(dest_model, ignore_errors=True)
        shutil.copytree(args.model, dest_model)
    # variants with the same weights: the newer metadata with another decay and point radius, and
    # a 128^3 patch (the network is fully convolutional), whose 80^3 refinement cover box lets
    # AutoZoom growth and multi-patch refinement be recorded without the reference's random fallback
    variants = {}
    for tag in ("decay095", "p128"):
        variant = os.path.join(args.out, "models", f"{model_name}-{tag}".replace("-p64-p128", "-p128"))
        shutil.rmtree(variant, ignore_errors=True)
        shutil.copytree(args.model, variant)
        if tag == "decay095":
            with open(os.path.join(variant, "inference_info.json")) as f:
                info = json.load(f)
            info.update({"interaction_decay": 0.95, "point_radius": 3})
            with open(os.path.join(variant, "inference_info.json"), "w") as f:
                json.dump(info, f, indent=1)
        else:
            with open(os.path.join(variant, "plans.json")) as f:
                plans = json.load(f)
            plans["configurations"]["3d_fullres"]["patch_size"] = [128, 128, 128]
            with open(os.path.join(variant, "plans.json"), "w") as f:
                json.dump(plans, f, indent=1)
        variants[tag] = variant
    for entry in cases():
        name, image, steps = entry[:3]
        if len(entry) > 3:
            case_model = variants[entry[3]]
            case_model_name = os.path.basename(case_model)
        else:
            case_model, case_model_name = args.model, model_name
        if args.only and name not in args.only:
            continue
        case_dir = os.path.join(args.out, "cases", name)
        shutil.rmtree(case_dir, ignore_errors=True)
        os.makedirs(case_dir)
        save_array(os.path.join(case_dir, "image.npz"), image)
        run_a = run_case(case_model, image, steps, 0, args.threads)
        run_b = run_case(case_model, image, steps, 12345, args.threads)
        recorded = []
        for i, (st, (ma, secs), (mb, _)) in enumerate(zip(steps, run_a, run_b)):
            rec = {k: v for k, v in st.items() if not isinstance(v, np.ndarray)}
            for k, v in st.items():
                if isinstance(v, np.ndarray):
                    fname = f"{'initial' if st['op'] == 'initial_seg' else st['op']}_{i:03d}.npz"
                    save_array(os.path.join(case_dir, fname), v)
                    rec[k] = fname
            rec["reference_seconds"] = round(secs, 3)
            if st["op"] != "reset":
                fname = f"expect_{i:03d}.npz"
                save_array(os.path.join(case_dir, fname), ma)
                rec["expect"] = fname
                rec["foreground_voxels"] = int(ma.sum())
                rec["reference_self_difference"] = int(np.count_nonzero(ma != mb))
            recorded.append(rec)
            print(f"{name} step {i} {st['op']}: {rec.get('foreground_voxels')} voxels, self-difference "
                  f"{rec.get('reference_self_difference')}, {secs:.1f} s", flush=True)
        with open(os.path.join(case_dir, "case.json"), "w") as f:
            json.dump({"format": 1, "model": f"models/{case_model_name}", "image": "image.npz", "autozoom": True, "steps": recorded}, f, indent=1)


if __name__ == "__main__":
    main()
