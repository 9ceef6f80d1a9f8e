#!/usr/bin/env python3
"""Build small "known-behaviour" ONNX test models for nninteractive-native.

The model written here, ``blob-grow-p{patch}.onnx``, follows docs/model-format.md: one image
channel plus seven interaction channels in, two logit channels out, and the engine metadata as
JSON in ``metadata_props["nninteractive.meta"]``.  It is not a neural network: it is a geodesic
region grower built from plain ONNX ops (Greater, Cast, Max, Mul, MaxPool, ...), so its output
is exactly predictable:

    bright     = image > BRIGHT_THRESHOLD                      (image is z-scored)
    neg_seed   = bright AND (box/lasso- OR point- OR scribble- > PROMPT_THRESHOLD)
    neg_region = geodesic dilation of neg_seed inside bright    (N x [3x3x3 MaxPool, * bright])
    allowed    = bright AND NOT neg_region
    pos_seed   = allowed AND (prev_seg > PREV_SEG_THRESHOLD OR
                              box/lasso+ OR point+ OR scribble+ > PROMPT_THRESHOLD)
    fg         = geodesic dilation of pos_seed inside allowed   (N iterations)
    logits     = [0.5 - fg, fg - 0.5]

i.e. the foreground is every bright connected component (26-connectivity, reachable within N
steps) touched by a positive prompt or by the previous mask, minus the bright components
touched by a negative prompt.

Built with onnx.helper only (no torch); the output is byte-for-byte deterministic.

Usage:
    python tools/model/make_test_models.py [--out-dir models/] [--patch 32] [--check]
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Threshold on the z-scored image: voxels above it are "bright" (the only voxels that can be
# foreground).
BRIGHT_THRESHOLD = 0.5
# Prompt channels carry values in [0, 1], decayed by interaction_decay per newer prompt; anything
# above this counts as a prompt voxel.
PROMPT_THRESHOLD = 0.1
# prev_seg is a 0/1 mask.
PREV_SEG_THRESHOLD = 0.5

OPSET = 17
IR_VERSION = 8  # onnxruntime 1.31 reads ir_version <= 10; 8 is the opset-17 era version.
META_KEY = "nninteractive.meta"

NUM_IMAGE_CHANNELS = 1
NUM_INTERACTION_CHANNELS = 7
# Network input channel indices (num_image_channels + interaction channel).
CH_IMAGE = 0
CH_PREV_SEG = 1
CH_BOX_POS, CH_BOX_NEG = 2, 3
CH_POINT_POS, CH_POINT_NEG = 4, 5
CH_SCRIBBLE_POS, CH_SCRIBBLE_NEG = 6, 7


def default_iterations(patch):
    # 40 for a 32^3 patch: enough to cross it along a winding path.
    return max(40, math.ceil(1.25 * patch))


def make_meta(name, patch):
    meta = {
        "format": 1,
        "name": name,
        "patch_size": [patch, patch, patch],
        "num_image_channels": NUM_IMAGE_CHANNELS,
        "num_interaction_channels": NUM_INTERACTION_CHANNELS,
        "channel_mapping": {
            "prev_seg": 0,
            "bbox2d": [1, 2],
            "bbox3d": [1, 2],
            "lasso": [1, 2],
            "points": [3, 4],
            "scribble": [5, 6],
        },
        "supported_interactions": {
            "points": True,
            "bbox2d": True,
            "bbox3d": True,
            "scribble": True,
            "lasso": True,
        },
        "supports_initial_label": True,
        "point_radius": 4,
        "interaction_decay": 0.9,
        "preferred_scribble_thickness": [2, 2, 2],
        "pad_mode_image": "constant",
        "license": "Apache-2.0",
        "input_name": "input",
        "output_name": "logits",
    }
    return json.dumps(meta, separators=(", ", ": "))


class GraphBuilder:
    def __init__(self):
        self.nodes = []
        self.inits = []
        self._n = 0

    def name(self, base):
        self._n += 1
        return f"{base}_{self._n}"

    def const(self, name, value, dtype=np.float32):
        arr = np.asarray(value, dtype=dtype)
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def op(self, op_type, inputs, out=None, n_out=1, **attrs):
        base = out or op_type.lower()
        outs = [out] if (out and n_out == 1) else [self.name(base) for _ in range(n_out)]
        self.nodes.append(
            helper.make_node(op_type, inputs, outs, name=self.name("n_" + op_type.lower()), **attrs)
        )
        return outs[0] if n_out == 1 else outs

    def mask_gt(self, x, thr_name):
        """float 0/1 mask of x > threshold."""
        return self.op("Cast", [self.op("Greater", [x, thr_name])], to=TensorProto.FLOAT)

    def geodesic_dilate(self, seed, inside, iterations, tag):
        cur = seed
        for i in range(iterations):
            pooled = self.op(
                "MaxPool", [cur], out=f"{tag}_pool{i}",
                kernel_shape=[3, 3, 3], strides=[1, 1, 1], pads=[1, 1, 1, 1, 1, 1],
            )
            cur = self.op("Mul", [pooled, inside], out=f"{tag}_{i}")
        return cur


def build_blob_grow(patch, iterations):
    name = f"blob-grow-p{patch}"
    g = GraphBuilder()
    c_bright = g.const("bright_threshold", BRIGHT_THRESHOLD)
    c_prompt = g.const("prompt_threshold", PROMPT_THRESHOLD)
    c_prev = g.const("prev_seg_threshold", PREV_SEG_THRESHOLD)
    c_one = g.const("one", 1.0)
    c_half = g.const("half", 0.5)
    c_split = g.const("channel_split", [1] * (NUM_IMAGE_CHANNELS + NUM_INTERACTION_CHANNELS),
                      dtype=np.int64)

    chans = [f"ch{i}" for i in range(NUM_IMAGE_CHANNELS + NUM_INTERACTION_CHANNELS)]
    g.nodes.append(helper.make_node("Split", ["input", c_split], chans, name="n_split", axis=1))

    bright = g.op("Cast", [g.op("Greater", [chans[CH_IMAGE], c_bright])], out="bright",
                  to=TensorProto.FLOAT)

    neg_any = g.op("Max", [chans[CH_BOX_NEG], chans[CH_POINT_NEG], chans[CH_SCRIBBLE_NEG]])
    neg_seed = g.op("Mul", [bright, g.mask_gt(neg_any, c_prompt)], out="neg_seed")
    neg_region = g.geodesic_dilate(neg_seed, bright, iterations, "neg")
    allowed = g.op("Mul", [bright, g.op("Sub", [c_one, neg_region])], out="allowed")

    pos_any = g.op("Max", [chans[CH_BOX_POS], chans[CH_POINT_POS], chans[CH_SCRIBBLE_POS]])
    pos_prompt = g.op("Greater", [pos_any, c_prompt])
    prev = g.op("Greater", [chans[CH_PREV_SEG], c_prev])
    pos_mask = g.op("Cast", [g.op("Or", [prev, pos_prompt])], to=TensorProto.FLOAT)
    pos_seed = g.op("Mul", [allowed, pos_mask], out="pos_seed")
    fg = g.geodesic_dilate(pos_seed, allowed, iterations, "fg")

    bg_logit = g.op("Sub", [c_half, fg], out="logit_bg")
    fg_logit = g.op("Sub", [fg, c_half], out="logit_fg")
    g.op("Concat", [bg_logit, fg_logit], out="logits", axis=1)

    spatial = [patch, patch, patch]
    graph = helper.make_graph(
        g.nodes,
        name.replace("-", "_"),
        [helper.make_tensor_value_info(
            "input", TensorProto.FLOAT,
            [1, NUM_IMAGE_CHANNELS + NUM_INTERACTION_CHANNELS] + spatial)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2] + spatial)],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="nninteractive-native/tools/model/make_test_models.py",
        producer_version="1",
        doc_string=(
            f"Known-behaviour test model: geodesic region grower on bright blobs "
            f"(image > {BRIGHT_THRESHOLD}), {iterations} dilation steps. Not a trained network."
        ),
    )
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {META_KEY: make_meta(name, patch)})
    onnx.checker.check_model(model, full_check=True)
    return name, model


def build_slow_conv(patch, features=512, kernel=7):
    """One heavy node: a Conv of the 8 input channels to `features` channels with a `kernel`^3
    kernel (about 90 GFLOP at patch 32: a second or more on one CPU core), then a 1x1x1 Conv to
    the 2 logits. Its weights are made by ConstantOfShape (the file stays small). ONNX Runtime
    checks a run's terminate flag between nodes only, so this model tests that a cancel returns
    while such a node is still running. Its mask means nothing."""
    name = f"slow-conv-p{patch}"
    c = 8
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, c, patch, patch, patch])
    y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2, patch, patch, patch])
    shape = lambda name, dims: helper.make_tensor(name, TensorProto.INT64, [len(dims)], dims)
    inits = [shape("w1_shape", [features, c, kernel, kernel, kernel]), shape("w2_shape", [2, features, 1, 1, 1])]
    value = lambda v: helper.make_tensor("value", TensorProto.FLOAT, [1], [v])
    nodes = [
        helper.make_node("ConstantOfShape", ["w1_shape"], ["w1"], value=value(1e-3)),
        helper.make_node("ConstantOfShape", ["w2_shape"], ["w2"], value=value(1e-3)),
        helper.make_node("Conv", ["input", "w1"], ["features"], pads=[kernel // 2] * 6),
        helper.make_node("Conv", ["features", "w2"], ["logits"]),
    ]
    graph = helper.make_graph(nodes, name, [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="nninteractive-native/tools/model/make_test_models.py",
                              producer_version="1",
                              doc_string="Test model: one heavy convolution, for cancel tests. Not a trained network.")
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {META_KEY: make_meta(name, patch)})
    onnx.checker.check_model(model, full_check=True)
    return name, model


# ----------------------------------------------------------------------------------------------
# Self-check with onnxruntime.


def _ball(shape, center, radius):
    idx = np.indices(shape, dtype=np.float32)
    d2 = sum((idx[i] - center[i]) ** 2 for i in range(3))
    return d2 <= radius * radius


def _point_channel(shape, center, radius=4.0):
    """Point prompt like the reference: 1 at the centre, falling to ~0.25 at `radius`."""
    idx = np.indices(shape, dtype=np.float32)
    d = np.sqrt(sum((idx[i] - center[i]) ** 2 for i in range(3)))
    return np.where(d <= radius, 1.0 - 0.75 * d / radius, 0.0).astype(np.float32)


def run_check(path, patch):
    import onnxruntime as ort

    meta = json.loads({p.key: p.value for p in onnx.load(path).metadata_props}[META_KEY])
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    shape = (patch,) * 3
    ca = (patch * 0.25,) * 3
    cb = (patch * 0.70,) * 3
    r = patch / 6.0
    sphere_a = _ball(shape, ca, r)
    sphere_b = _ball(shape, cb, r)
    assert not (sphere_a & sphere_b).any()
    image = np.where(sphere_a | sphere_b, 3.0, -0.3).astype(np.float32)

    def run(prompts):
        x = np.zeros((1, 8) + shape, dtype=np.float32)
        x[0, CH_IMAGE] = image
        for ch, arr in prompts.items():
            x[0, ch] = arr
        logits = sess.run(["logits"], {"input": x})[0]
        assert logits.shape == (1, 2) + shape and logits.dtype == np.float32
        return logits[0, 1] > logits[0, 0]  # argmax, ties to background

    ia = tuple(int(round(c)) for c in ca)
    ib = int(round(cb[0]))
    box_b = np.zeros(shape, np.float32)
    box_b[ib, :, :] = 1.0  # one full plane through sphere B only
    empty = np.zeros(shape, bool)
    neg_off = (ia[0], ia[1], ia[2] + 2)
    cases = [
        ("no prompt -> empty", {}, empty),
        ("positive point in A -> A", {CH_POINT_POS: _point_channel(shape, ia)}, sphere_a),
        ("decayed (x0.9^3) positive point in A -> A",
         {CH_POINT_POS: 0.729 * _point_channel(shape, ia)}, sphere_a),
        ("prev_seg A + negative point in A -> empty",
         {CH_PREV_SEG: sphere_a.astype(np.float32), CH_POINT_NEG: _point_channel(shape, neg_off)},
         empty),
        ("prev_seg A only -> A", {CH_PREV_SEG: sphere_a.astype(np.float32)}, sphere_a),
        (f"box plane (ch2=1, axis0={ib}) through B -> B", {CH_BOX_POS: box_b}, sphere_b),
        ("box plane through B + prev_seg A -> A|B",
         {CH_BOX_POS: box_b, CH_PREV_SEG: sphere_a.astype(np.float32)}, sphere_a | sphere_b),
        ("positive point in background -> empty",
         {CH_POINT_POS: _point_channel(shape, (0, patch - 1, 0))}, empty),
    ]
    print(f"check {path}: name={meta['name']} patch={meta['patch_size']} "
          f"|A|={int(sphere_a.sum())} |B|={int(sphere_b.sum())}")
    failed = 0
    for label, prompts, want in cases:
        got = run(prompts)
        ok = np.array_equal(got, want)
        failed += not ok
        print(f"  {'PASS' if ok else 'FAIL'}  {label}: fg={int(got.sum())} want={int(want.sum())}"
              + ("" if ok else f" (mismatched voxels: {int((got != want).sum())})"))
    print(f"{len(cases) - failed}/{len(cases)} passed")
    return failed == 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", default="models/")
    ap.add_argument("--patch", type=int, default=32, help="cubic patch edge (default 32)")
    ap.add_argument("--iterations", type=int, default=None,
                    help="geodesic dilation steps (default max(40, ceil(1.25*patch)))")
    ap.add_argument("--check", action="store_true",
                    help="after writing, run the model with onnxruntime on synthetic spheres")
    args = ap.parse_args(argv)
    if args.patch < 16:
        ap.error("--patch must be >= 16")
    iterations = args.iterations or default_iterations(args.patch)

    os.makedirs(args.out_dir, exist_ok=True)
    for name, model in (build_blob_grow(args.patch, iterations), build_slow_conv(args.patch)):
        path = os.path.join(args.out_dir, f"{name}.onnx")
        data = model.SerializeToString(deterministic=True)
        with open(path, "wb") as f:
            f.write(data)
        print(f"wrote {path} ({len(data)} bytes, {len(model.graph.node)} nodes, opset {OPSET}, "
              f"ir_version {model.ir_version})")
    path = os.path.join(args.out_dir, f"blob-grow-p{args.patch}.onnx")

    if args.check and not run_check(path, args.patch):
        sys.exit(1)


if __name__ == "__main__":
    main()
