#!/usr/bin/env python3
"""Make the bfloat16 variant of a converted model for OpenVINO, and its emulation for any CPU:
NAME.onnx -> NAME.bf16.onnx (and, with --emulate, NAME.bf16emu.onnx).

Usage (the repository's .venv has onnx, onnxruntime and ml_dtypes):

    .venv/bin/python tools/model/to_bf16.py MODEL.onnx [OUT.onnx] [--emulate EMU.onnx]
        [--check-threads 2] [--no-check]

What a CPU session in FAST precision runs on a CPU with native bfloat16 (OpenVINO, inference
precision bf16): with the model file MODEL.onnx the engine looks for MODEL.bf16.onnx beside it.
OpenVINO in bf16 stores every activation in bfloat16 (8 significant bits) and accumulates in
float32; on the trained test networks that alone moved up to 8% of a small object's voxels
(Dice 0.94 against EXACT, tests/conformance). Measured with the emulation below, by which tensors
were rounded:

  * the instance norms as convert_model.py writes them for ONNX Runtime (float64 statistics in a
    ReduceMean / Sub / ReduceSumSquare / BatchNormalization sub-graph) run in OpenVINO as
    separate bfloat16 operations: the mean itself is rounded and x - mean is computed in
    bfloat16. Here they become InstanceNormalization nodes again, which OpenVINO runs as one MVN
    kernel (float32 statistics, bfloat16 only at its input and output). Faster, too.
  * weights rounded, activations exact: every judged step >= 0.991; activations rounded: 0.97.
    No single layer dominates (first or last convolution in float32: no better); the
    full-resolution decoder stage and the segmentation head in float32 (19% of ResEncL's
    arithmetic): every judged step >= 0.986 (docs/fidelity.md has the table).

So the variant keeps the full-resolution decoder stage and the head in float32. OpenVINO's CPU plugin has no
per-node precision setting reachable from its C API; it does keep in float32 the tail of the graph:
every node found walking back from the outputs before a Convolution (or MatMul, FullyConnected,
Interpolate, ...) node; a ConvolutionBackpropData (ONNX ConvTranspose) does not stop the walk.
Each full-resolution stride-1 convolution of the decoder is therefore written as the ConvTranspose
that computes the same thing (kernel flipped, input and output channel axes swapped, same padding):
the last decoder stage (with the upsampling into it and the skip's last normalisation) and the
segmentation head become the tail and run in float32; the rest of the network runs in bfloat16.

--emulate writes the same graph for ONNX Runtime with OpenVINO's rounding made explicit (Cast to
bfloat16 and back): the weights of every convolution outside the tail, and every float tensor a node
outside the tail writes or reads. Run in float32 by ONNX Runtime on any CPU, it lets the test
command judge FAST's fidelity as it is on bfloat16 CPUs on every machine (the accumulation order
differs from OpenVINO's, so the emulation is statistically, not bitwise, the same).

The metadata (``nninteractive.meta``) gains ``"weights": "bfloat16-plan"`` (or
``"bfloat16-emulated"``), which ``nni_session_describe`` names, and ``"source_sha256"``, the
model file's hash: the engine refuses a variant made from another file than the model beside it. Unless ``--no-check``, ONNX Runtime
runs the model and OpenVINO the variant, both in float32, on one random input; the variant is
written only when the argmax agrees on at least 99.9% of the voxels (the two compute the same
function). The emulation is for the test networks: ONNX Runtime's ConvTranspose unfolds its input,
so at the released size (192^3) it needs over 20 GiB.
"""

import argparse
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from to_fp16 import cpu_session_options, random_input, write_atomically  # noqa: E402


META_KEY = "nninteractive.meta"
MIN_AGREEMENT = 0.999
# ONNX operations OpenVINO's CPU plugin maps to the node types that end the float32 graph tail.
TAIL_STOPS = ("Conv", "MatMul", "Gemm", "Resize", "Upsample")


def bf16_path(path, suffix=".bf16"):
    """Where the engine looks for the bfloat16 variant of the model at `path`."""
    stem, ext = os.path.splitext(path)
    return stem + suffix + (ext or ".onnx")


def _set_weights_meta(model, value, source_sha256):
    for entry in model.metadata_props:
        if entry.key == META_KEY:
            meta = json.loads(entry.value)
            if meta.get("weights", "float32") != "float32":
                raise SystemExit(f"to_bf16: the model's weights are {meta['weights']!r}; give it a float32 model")
            meta["weights"] = value
            # The engine refuses a variant made from another file than the model beside it.
            meta["source_sha256"] = source_sha256
            entry.value = json.dumps(meta, sort_keys=True, separators=(",", ":"))
            return meta
    raise SystemExit(f"to_bf16: the model has no {META_KEY} metadata; convert it with convert_model.py first")


def _prune(graph):
    """Drop initializers and value_info no node reads any more."""
    read = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    kept = [i for i in graph.initializer if i.name in read]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    del graph.value_info[:]


def native_instance_norms(model):
    """Undo convert_model.rewrite_instance_norms: each `<prefix>/nni/affine` BatchNormalization
    and the statistics sub-graph under `<prefix>/nni/` become one InstanceNormalization with the
    same scale, bias and epsilon. Returns the number restored."""
    from onnx import helper

    g = model.graph
    prefixes = [n.name[: -len("/affine")] for n in g.node
                if n.op_type == "BatchNormalization" and n.name.endswith("/nni/affine")]
    nodes, count = [], 0
    for node in g.node:
        prefix = next((p for p in prefixes if node.name.startswith(p + "/")), None)
        if prefix is None:
            nodes.append(node)
        elif node.name == prefix + "/affine":
            eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
            nodes.append(helper.make_node("InstanceNormalization", list(node.input[:3]), list(node.output),
                                          epsilon=eps, name=prefix[: -len("/nni")]))
            count += 1
    del g.node[:]
    g.node.extend(nodes)
    _prune(g)
    return count


def _attr(node, name, default):
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def fullres_as_transposed(model, patch_size):
    """Every Conv of the decoder (downstream of a ConvTranspose) whose output has the full patch
    size becomes the ConvTranspose that computes the same (kernel flipped, channel axes swapped,
    same pads); each must be stride-1 'same', undilated and ungrouped. Returns the number
    rewritten."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
    g = model.graph
    inits = {i.name: i for i in g.initializer}
    alias = {n.output[0]: n.input[0] for n in g.node if n.op_type == "Identity" and len(n.input) == 1}

    def source(name):
        while name not in inits and name in alias:
            name = alias[name]
        return name

    # ONNX nodes are in topological order: one pass finds what the upsampling path feeds.
    upsampled = set()
    for node in g.node:
        if node.op_type == "ConvTranspose" or any(i in upsampled for i in node.input):
            upsampled.update(node.output)

    nodes, count = [], 0
    for node in g.node:
        out_shape = shapes.get(node.output[0], [])
        if (node.op_type != "Conv" or list(out_shape[2:]) != list(patch_size)
                or not any(i in upsampled for i in node.input)):
            nodes.append(node)
            continue
        w_name = source(node.input[1])
        if w_name not in inits:
            raise SystemExit(f"to_bf16: Conv {node.name} has weights that are not an initializer")
        w = numpy_helper.to_array(inits[w_name])
        k = list(w.shape[2:])
        strides = _attr(node, "strides", [1] * len(k))
        dilations = _attr(node, "dilations", [1] * len(k))
        pads = _attr(node, "pads", [0] * 2 * len(k))
        if (_attr(node, "group", 1) != 1 or any(s != 1 for s in strides) or any(d != 1 for d in dilations)
                or _attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")
                or list(pads) != [(x - 1) // 2 for x in k] * 2 or any(x % 2 == 0 for x in k)):
            raise SystemExit(f"to_bf16: full-resolution Conv {node.name} is not a stride-1 'same' convolution")
        flipped = np.ascontiguousarray(np.flip(w, axis=tuple(range(2, w.ndim))).swapaxes(0, 1))
        t_name = w_name + "/as_transposed"
        if t_name not in inits:
            inits[t_name] = numpy_helper.from_array(flipped.astype(np.float32), t_name)
            g.initializer.append(inits[t_name])
        inputs = [node.input[0], t_name] + list(node.input[2:])
        nodes.append(helper.make_node("ConvTranspose", inputs, list(node.output),
                                      name=(node.name or node.output[0]) + "/as_transposed",
                                      kernel_shape=k, pads=list(pads), strides=[1] * len(k)))
        count += 1
    del g.node[:]
    g.node.extend(nodes)
    _prune(g)
    return count


def convert(model, source_sha256):
    """The OpenVINO bfloat16 variant of `model` (changed in place; `source_sha256` is the hash of
    the model file's bytes). Returns (model, metadata, instance norms restored, convolutions made
    transposed)."""
    meta = _set_weights_meta(model, "bfloat16-plan", source_sha256)
    norms = native_instance_norms(model)
    transposed = fullres_as_transposed(model, meta["patch_size"])
    return model, meta, norms, transposed


def float32_tail(graph):
    """The nodes OpenVINO keeps in float32 in bf16 mode, by their first output's name: those
    reached walking back from the graph's outputs without passing a node of TAIL_STOPS (which is
    itself not in the tail)."""
    producer = {o: n for n in graph.node for o in n.output}
    tail, todo = set(), [o.name for o in graph.output]
    while todo:
        node = producer.get(todo.pop())
        if node is None or node.output[0] in tail or node.op_type in TAIL_STOPS:
            continue
        tail.add(node.output[0])
        todo.extend(node.input)
    return tail


def emulate(model):
    """The variant for ONNX Runtime with OpenVINO's bf16 rounding made explicit (changed in
    place; give it the output of `convert`). Returns (model, nodes rounded, nodes in the tail)."""
    import ml_dtypes
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    for entry in model.metadata_props:
        if entry.key == META_KEY:
            meta = json.loads(entry.value)
            if meta.get("weights") != "bfloat16-plan":
                raise SystemExit("to_bf16: --emulate needs the bfloat16 variant (convert first)")
            meta["weights"] = "bfloat16-emulated"
            entry.value = json.dumps(meta, sort_keys=True, separators=(",", ":"))
    g = model.graph
    inferred = onnx.shape_inference.infer_shapes(model)
    floats = {v.name for v in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)
              if v.type.tensor_type.elem_type == TensorProto.FLOAT}
    inits = {i.name: i for i in g.initializer}
    tail = float32_tail(g)
    nodes, rounded, count = [], {}, 0

    def round_tensor(name):
        if name not in rounded:
            rounded[name] = name + "/bf16_rounded"
            nodes.append(helper.make_node("Cast", [name], [name + "/bf16"], to=TensorProto.BFLOAT16,
                                          name=name + "/to_bf16"))
            nodes.append(helper.make_node("Cast", [name + "/bf16"], [rounded[name]], to=TensorProto.FLOAT,
                                          name=name + "/from_bf16"))
        return rounded[name]

    done_weights = {}
    # Outputs of nodes outside the tail are rounded where they are written.
    written_rounded = {o for n in g.node if n.output[0] not in tail for o in n.output}
    for node in list(g.node):
        if node.output[0] in tail:
            nodes.append(node)
            continue
        count += 1
        for k, name in enumerate(node.input):
            if not name:
                continue
            if name in inits:
                # Weights of convolutions are bfloat16; other constants (norm scales, biases) stay
                # float32, as OpenVINO keeps a constant input's precision for its fused kernels.
                if node.op_type in ("Conv", "ConvTranspose") and k == 1:
                    if name not in done_weights:
                        arr = numpy_helper.to_array(inits[name]).astype(ml_dtypes.bfloat16).astype(np.float32)
                        done_weights[name] = name + "/bf16_weights"
                        g.initializer.append(numpy_helper.from_array(arr, done_weights[name]))
                    node.input[k] = done_weights[name]
            elif name in floats and name not in written_rounded:
                node.input[k] = round_tensor(name)
        outputs = list(node.output)
        renamed = {}
        for k, name in enumerate(outputs):
            if name in floats:
                node.output[k] = name + "/exact"
                renamed[name] = node.output[k]
        nodes.append(node)
        for name, exact in renamed.items():
            r = round_tensor(exact)
            nodes.append(helper.make_node("Identity", [r], [name], name=name + "/rounded"))
    del g.node[:]
    g.node.extend(nodes)
    _prune(g)
    return model, count, len(tail)


def check(fp32_bytes, variant_bytes, meta, threads, seed=0):
    """The model on ONNX Runtime and the variant on OpenVINO, both float32, on one random input;
    (relative L2, argmax agreement). OpenVINO runs the variant because it is OpenVINO's graph:
    ONNX Runtime's ConvTranspose unfolds its input (a 27 x 32-channel column buffer at 192^3, over
    20 GiB), so the variant is not for ONNX Runtime at the released size."""
    import numpy as np
    import onnxruntime as ort
    import openvino as ov

    x = random_input(meta, seed)
    so = cpu_session_options(threads)
    sess = ort.InferenceSession(fp32_bytes, sess_options=so, providers=["CPUExecutionProvider"])
    a = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    del sess
    core = ov.Core()
    compiled = core.compile_model(core.read_model(model=variant_bytes, weights=b""), "CPU",
                                  {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": str(threads)})
    b = next(iter(compiled({compiled.inputs[0].get_any_name(): x}).values()))
    del compiled
    rel = float(np.linalg.norm((a - b).astype(np.float64).ravel()) / max(np.linalg.norm(a.astype(np.float64).ravel()), 1e-30))
    agree = float(np.mean((a[0, 1] > a[0, 0]) == (b[0, 1] > b[0, 0])))
    return rel, agree


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a model converted by convert_model.py (float32)")
    ap.add_argument("out", nargs="?", help="default: MODEL.bf16.onnx beside it")
    ap.add_argument("--emulate", metavar="EMU.onnx", help="also write the emulation for ONNX Runtime here")
    ap.add_argument("--check-threads", type=int, default=2, help="ONNX Runtime threads of the check (default 2)")
    ap.add_argument("--no-check", action="store_true", help="skip running the model and the variant")
    args = ap.parse_args(argv)

    import onnx

    out_path = args.out or bf16_path(args.model)
    with open(args.model, "rb") as f:
        fp32_bytes = f.read()
    model, meta, norms, transposed = convert(onnx.load_from_string(fp32_bytes), hashlib.sha256(fp32_bytes).hexdigest())
    onnx.checker.check_model(model, full_check=True)
    data = model.SerializeToString(deterministic=True)
    print(f"{norms} instance norms restored, {transposed} full-resolution decoder convolutions as ConvTranspose "
          f"(float32 in OpenVINO's graph tail); {len(data)} bytes")
    if not args.no_check:
        rel, agree = check(fp32_bytes, data, meta, args.check_threads)
        print(f"variant on OpenVINO against the model on ONNX Runtime, one random input, float32: relative L2 {rel:.3e}, "
              f"argmax agreement {agree:.6f}")
        if agree < MIN_AGREEMENT:
            print(f"to_bf16: argmax agreement {agree:.5f} < {MIN_AGREEMENT}; not written", file=sys.stderr)
            return 1
    write_atomically(out_path, data)
    if args.emulate:
        emu, rounded_nodes, tail_nodes = emulate(model)
        onnx.checker.check_model(emu, full_check=True)
        emu_data = emu.SerializeToString(deterministic=True)
        print(f"emulation: {rounded_nodes} nodes in bfloat16, {tail_nodes} in the float32 tail")
        write_atomically(args.emulate, emu_data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
