"""Train a tiny nnInteractive network (the released architecture class, ResidualEncoderUNet) on
synthetic phantoms with simulated prompts, and write it as an nnInteractive model folder in the
release layout (plans.json, dataset.json, fold_0/checkpoint_final.pth, inference_info.json).

It segments the prompted blob (bright or dark ellipsoids on a noisy background): enough to make the
demo meaningful and to record AutoZoom and refinement parity cases with a network that is stable,
unlike a random-weight one.

Run with the reference environment (torch, dynamic_network_architectures, nnunetv2):
    .venv-ref/bin/python tools/model/train_tiny_model.py --out models/tiny-trained-p64 [--iterations 1500]
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

from nnInteractive.trainer.nnInteractiveTrainer import nnInteractiveTrainer_stub

PATCH = 64
INTERACTION_CHANNELS = 7  # prev_seg, box/lasso +-, point +-, scribble +-
DECAY = 0.9
POINT_RADIUS = 4


def make_plans(patch):
    arch = {
        "network_class_name": "dynamic_network_architectures.architectures.unet.ResidualEncoderUNet",
        "arch_kwargs": {
            "n_stages": 5,
            "features_per_stage": [8, 16, 32, 32, 32],
            "conv_op": "torch.nn.modules.conv.Conv3d",
            "kernel_sizes": [[3, 3, 3]] * 5,
            "strides": [[1, 1, 1]] + [[2, 2, 2]] * 4,
            "n_blocks_per_stage": [1, 1, 1, 1, 1],
            "n_conv_per_stage_decoder": [1, 1, 1, 1],
            "conv_bias": True,
            "norm_op": "torch.nn.modules.instancenorm.InstanceNorm3d",
            "norm_op_kwargs": {"eps": 1e-05, "affine": True},
            "dropout_op": None,
            "dropout_op_kwargs": None,
            "nonlin": "torch.nn.LeakyReLU",
            "nonlin_kwargs": {"inplace": True},
        },
        "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"],
    }
    config = {
        "data_identifier": "tiny_3d_fullres",
        "preprocessor_name": "DefaultPreprocessor",
        "batch_size": 2,
        "patch_size": [patch] * 3,
        "median_image_size_in_voxels": [128, 128, 128],
        "spacing": [1.0, 1.0, 1.0],
        "normalization_schemes": ["ZScoreNormalization"],
        "use_mask_for_norm": [False],
        "resampling_fn_data": "resample_data_or_seg_to_shape",
        "resampling_fn_seg": "resample_data_or_seg_to_shape",
        "resampling_fn_data_kwargs": {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None},
        "resampling_fn_seg_kwargs": {"is_seg": True, "order": 1, "order_z": 0, "force_separate_z": None},
        "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
        "resampling_fn_probabilities_kwargs": {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None},
        "architecture": arch,
        "batch_dice": False,
    }
    return {
        "dataset_name": "Dataset998_tinyphantoms",
        "plans_name": "nnUNetResEncUNetPlans_tiny",
        "original_median_spacing_after_transp": [1.0, 1.0, 1.0],
        "original_median_shape_after_transp": [128, 128, 128],
        "image_reader_writer": "SimpleITKIO",
        "transpose_forward": [0, 1, 2],
        "transpose_backward": [0, 1, 2],
        "configurations": {"3d_fullres": config},
        "experiment_planner_used": "nnUNetPlannerResEncL",
        "label_manager": "LabelManager",
        "foreground_intensity_properties_per_channel": {
            "0": {"max": 1.0, "mean": 0.0, "median": 0.0, "min": 0.0, "percentile_00_5": 0.0, "percentile_99_5": 1.0, "std": 1.0}
        },
    }


def ball_edt(radius):
    n = 2 * radius + 1
    g = np.indices((n, n, n)) - radius
    inside = (g ** 2).sum(0) <= radius * radius
    out = np.zeros((n, n, n))
    zeros = np.argwhere(~inside)
    for p in np.argwhere(inside):
        out[tuple(p)] = np.sqrt(((zeros - p) ** 2).sum(1).min())
    return out / out.max()


BALL = ball_edt(POINT_RADIUS)


def stamp_point(ch, p, value):
    r = POINT_RADIUS
    lo = [max(0, p[d] - r) for d in range(3)]
    hi = [min(ch.shape[d], p[d] + r + 1) for d in range(3)]
    sl = tuple(slice(lo[d], hi[d]) for d in range(3))
    bl = tuple(slice(lo[d] - (p[d] - r), hi[d] - (p[d] - r)) for d in range(3))
    np.maximum(ch[sl], BALL[bl] * value, out=ch[sl])


def sample(rng, patch):
    """One training sample: (8-channel input, target mask). Bright ellipsoids (rarely dark) of
    small to larger-than-patch size on a noisy background, z-scored like the reference's images;
    1-2 positive prompts of any kind on the target, older ones decayed; the previous mask empty,
    the target, part of it, or the target plus a wrong object with a negative click on it."""
    shape = (patch,) * 3
    grid = np.indices(shape).astype(np.float32)
    img = rng.normal(0, rng.uniform(0.05, 0.3), shape).astype(np.float32)
    labels = np.zeros(shape, np.int16)
    n_obj = rng.integers(1, 4)
    sign = 1 if rng.random() < 0.9 else -1
    for k in range(n_obj):
        scale = [rng.uniform(4, 10), rng.uniform(8, 20), rng.uniform(18, 40)][rng.integers(3)]
        radii = scale * rng.uniform(0.7, 1.3, 3)
        center = rng.uniform(0.15 * patch, 0.85 * patch, 3)
        d = sum(((grid[i] - center[i]) / radii[i]) ** 2 for i in range(3))
        m = (d <= 1) & (labels == 0)
        img[m] = sign * rng.uniform(2.0, 4.0) + rng.normal(0, 0.1, int(m.sum()))
        labels[m] = k + 1
    present = [k + 1 for k in range(n_obj) if (labels == k + 1).sum() > 30]
    inter = np.zeros((INTERACTION_CHANNELS,) + shape, np.float32)
    if not present:
        return np.concatenate([img[None], inter]), np.zeros(shape, np.float32)
    target_label = present[rng.integers(len(present))]
    target = labels == target_label
    vox = np.argwhere(target)
    n_prompts = rng.integers(1, 3)
    for i in range(n_prompts):
        strength = DECAY ** (n_prompts - 1 - i)
        kind = rng.choice(["point", "box", "scribble", "lasso"], p=[0.45, 0.25, 0.1, 0.2])
        p = vox[rng.integers(len(vox))]
        if kind == "point":
            stamp_point(inter[3], p, strength)
            continue
        axis = rng.integers(3)
        sl = [slice(None)] * 3
        sl[axis] = p[axis]
        plane = target[tuple(sl)]
        if kind == "box":
            ij = np.argwhere(plane)
            lo, hi = ij.min(0), ij.max(0) + 1
            view = inter[1][tuple(sl)]
            view[lo[0]:hi[0], lo[1]:hi[1]] = strength
        elif kind == "lasso":
            inter[1][tuple(sl)][plane] = strength
        else:
            ij = np.argwhere(plane)
            a, b = ij[rng.integers(len(ij))], ij[rng.integers(len(ij))]
            t = np.linspace(0, 1, 64)[:, None]
            line = np.unique(np.round(a + t * (b - a)).astype(int), axis=0)
            s2 = inter[5][tuple(sl)]
            for q in line:
                s2[max(0, q[0] - 1):q[0] + 2, max(0, q[1] - 1):q[1] + 2] = strength
            s2[~plane] = 0
    r = rng.random()
    others = [k for k in present if k != target_label]
    if r < 0.4:
        pass
    elif r < 0.65:
        inter[0] = target
    elif r < 0.85 or not others:
        inter[0] = target & (grid[rng.integers(3)] < rng.uniform(0.3, 0.8) * patch)
    else:
        wrong = labels == others[rng.integers(len(others))]
        inter[0] = target | wrong
        wv = np.argwhere(wrong)
        stamp_point(inter[4], wv[rng.integers(len(wv))], 1.0)
    return np.concatenate([img[None], inter]), target.astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="models/tiny-trained-p64")
    ap.add_argument("--iterations", type=int, default=2500)
    ap.add_argument("--train-patch", type=int, default=48, help="training crop (the network is fully convolutional)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--init", help="start from this checkpoint_final.pth (continue training)")
    ap.add_argument("--max-lr", type=float, default=4e-3)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)

    plans = make_plans(PATCH)
    pm = PlansManager(plans)
    cm = pm.get_configuration("3d_fullres")
    net = nnInteractiveTrainer_stub.build_network_architecture(pm, cm, 1 + INTERACTION_CHANNELS, 2, enable_deep_supervision=False)
    if args.init:
        net.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=False)["network_weights"])
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.max_lr, total_steps=args.iterations, pct_start=0.1)
    t0 = time.time()
    ema = None
    for it in range(args.iterations):
        xs, ys = zip(*(sample(rng, args.train_patch) for _ in range(2)))
        x = torch.from_numpy(np.stack(xs))
        y = torch.from_numpy(np.stack(ys)).long()
        logits = net(x)
        ce = F.cross_entropy(logits, y)
        prob = logits.softmax(1)[:, 1]
        yt = y.float()
        dice = 1 - (2 * (prob * yt).sum((1, 2, 3)) + 1) / (prob.sum((1, 2, 3)) + yt.sum((1, 2, 3)) + 1)
        loss = ce + dice.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if it % 50 == 0 or it == args.iterations - 1:
            print(f"iter {it:5d} loss {ema:.4f} ({time.time() - t0:.0f} s)", flush=True)

    os.makedirs(os.path.join(args.out, "fold_0"), exist_ok=True)
    with open(os.path.join(args.out, "plans.json"), "w") as f:
        json.dump(plans, f, indent=1)
    with open(os.path.join(args.out, "dataset.json"), "w") as f:
        json.dump({"channel_names": {"0": "CT"}, "labels": {"background": 0, "foreground": 1}, "numTraining": 0, "file_ending": ".nii.gz"}, f, indent=1)
    with open(os.path.join(args.out, "inference_info.json"), "w") as f:
        json.dump({"inference_class": "nnInteractiveInferenceSession", "interaction_decay": DECAY, "point_radius": POINT_RADIUS,
                   "supported_interactions": {"bbox3d": True}, "interaction_channels": INTERACTION_CHANNELS - 1}, f, indent=1)
    with open(os.path.join(args.out, "LICENSE"), "w") as f:
        f.write("Apache-2.0\nTrained by tools/model/train_tiny_model.py on synthetic phantoms; part of nninteractive-native.\n")
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    torch.save({"network_weights": state, "trainer_name": "nnInteractiveTrainer_stub", "init_args": {"configuration": "3d_fullres"}},
               os.path.join(args.out, "fold_0", "checkpoint_final.pth"))
    print("wrote", args.out, f"in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
