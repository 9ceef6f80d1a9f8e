"""Write a random-weight nnInteractive model folder of the released size (ResEncL, 192^3 patch,
legacy v1.0 layout: inference_session_class.json holding a plain string, decay 0.9), to check the
converter's round trip at full size:

    .venv-ref/bin/python tools/model/make_release_size_model.py --out build/resencl-192
    .venv-ref/bin/python tools/model/convert_model.py build/resencl-192 build/resencl-192.onnx

The architecture follows nnU-Net's ResEncL preset (6 stages, 32..320 features, 1/3/4/6/6/6 blocks).
The weights are random (no release is reachable here); only the numerics of the export are checked.
"""
import argparse
import json
import os
import sys

import torch
from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_tiny_model import make_plans  # noqa: E402

from nnInteractive.trainer.nnInteractiveTrainer import nnInteractiveTrainer_stub  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="build/resencl-192")
    ap.add_argument("--patch", type=int, default=192)
    args = ap.parse_args()
    torch.manual_seed(0)
    plans = make_plans(args.patch)
    plans["dataset_name"] = "Dataset997_release_size"
    arch = plans["configurations"]["3d_fullres"]["architecture"]["arch_kwargs"]
    arch.update({
        "n_stages": 6,
        "features_per_stage": [32, 64, 128, 256, 320, 320],
        "kernel_sizes": [[3, 3, 3]] * 6,
        "strides": [[1, 1, 1]] + [[2, 2, 2]] * 5,
        "n_blocks_per_stage": [1, 3, 4, 6, 6, 6],
        "n_conv_per_stage_decoder": [1, 1, 1, 1, 1],
    })
    pm = PlansManager(plans)
    net = nnInteractiveTrainer_stub.build_network_architecture(pm, pm.get_configuration("3d_fullres"), 8, 2, enable_deep_supervision=False)
    os.makedirs(os.path.join(args.out, "fold_0"), exist_ok=True)
    with open(os.path.join(args.out, "plans.json"), "w") as f:
        json.dump(plans, f, indent=1)
    with open(os.path.join(args.out, "dataset.json"), "w") as f:
        json.dump({"channel_names": {"0": "CT"}, "labels": {"background": 0, "foreground": 1}, "numTraining": 0, "file_ending": ".nii.gz"}, f)
    with open(os.path.join(args.out, "inference_session_class.json"), "w") as f:
        json.dump("nnInteractiveInferenceSession", f)
    torch.save({"network_weights": net.state_dict(), "trainer_name": "nnInteractiveTrainer_stub", "init_args": {"configuration": "3d_fullres"}},
               os.path.join(args.out, "fold_0", "checkpoint_final.pth"))
    n = sum(p.numel() for p in net.parameters())
    print(f"wrote {args.out}: ResEncL-like, {n / 1e6:.1f} M parameters, patch {args.patch}^3")


if __name__ == "__main__":
    main()
