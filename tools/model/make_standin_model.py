#!/usr/bin/env python3
"""A stand-in network that costs almost nothing, with another model's metadata and tensor shapes,
to time the work around the network (building the input, argmax, pasting) at full patch size:

    .venv/bin/python tools/model/make_standin_model.py build/resencl-192.onnx /tmp/standin-192.onnx
    NNI_ONNXRUNTIME_PATH=.deps/onnxruntime/libonnxruntime.so target/release/nni bench \\
        --model /tmp/standin-192.onnx --image IMAGE.npy --prompts PROMPTS.json --no-autozoom

Its logits are [0.5 - s, s - 0.5] with s the sum of the interaction channels 1..4 (prev_seg,
boxes and points in the legacy mapping): the mask is where a prompt or the previous mask is.
"""
import argparse
import json

import onnx
from onnx import TensorProto, helper

META_KEY = "nninteractive.meta"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a converted model whose metadata and shapes to copy")
    ap.add_argument("out")
    args = ap.parse_args()
    src = onnx.load(args.model, load_external_data=False)
    meta_text = next(e.value for e in src.metadata_props if e.key == META_KEY)
    meta = json.loads(meta_text)
    c = meta["num_image_channels"] + meta["num_interaction_channels"]
    p = meta["patch_size"]
    x = helper.make_tensor_value_info(meta.get("input_name", "input"), TensorProto.FLOAT, [1, c, *p])
    y = helper.make_tensor_value_info(meta.get("output_name", "logits"), TensorProto.FLOAT, [1, 2, *p])
    consts = [
        helper.make_tensor("starts", TensorProto.INT64, [1], [1]),
        helper.make_tensor("ends", TensorProto.INT64, [1], [min(5, c)]),
        helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
        helper.make_tensor("half", TensorProto.FLOAT, [], [0.5]),
    ]
    nodes = [
        helper.make_node("Slice", [x.name, "starts", "ends", "axes"], ["prompts"]),
        helper.make_node("ReduceSum", ["prompts", "axes"], ["sum"], keepdims=1),
        helper.make_node("Sub", ["sum", "half"], ["fg"]),
        helper.make_node("Neg", ["fg"], ["bg"]),
        helper.make_node("Concat", ["bg", "fg"], [y.name], axis=1),
    ]
    model = helper.make_model(helper.make_graph(nodes, "standin", [x], [y], consts),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    entry = model.metadata_props.add()
    entry.key, entry.value = META_KEY, meta_text
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, args.out)
    print(f"wrote {args.out}: stand-in for {meta.get('name')}, input [1, {c}, {p}]")


if __name__ == "__main__":
    main()
