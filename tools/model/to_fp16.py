#!/usr/bin/env python3
"""Make the float16 variant of a converted model: NAME.onnx -> NAME.fp16.onnx.

Usage (the repository's .venv has onnx and onnxruntime):

    .venv/bin/python tools/model/to_fp16.py MODEL.onnx [OUT.onnx] [--check-threads 2] [--no-check]

What a CUDA session in FAST precision runs (the reference runs its network under torch autocast,
float16, on CUDA): with the model file MODEL.onnx, the engine looks for MODEL.fp16.onnx beside it.
The conversion:

  * every Conv and ConvTranspose (nearly all of the network's arithmetic) gets float16 weights and
    bias and runs in float16 between two casts: its input cast down, its output cast up;
  * everything else stays float32: the graph's input and output (the engine feeds and reads the
    same tensors as for the float32 model), the normalisations (the instance-norm sub-graphs of
    ``convert_model.py`` sum up to 192^3 values, which float16 cannot hold accurately), the
    nonlinearities, skips and concatenations. This is what torch autocast does on CUDA for the
    reference: convolutions in float16, normalisations in float32.

The metadata (``nninteractive.meta``) gains ``"weights": "float16"``, which ``nni_session_describe``
names, and ``"source_sha256"``, the model file's hash: the engine refuses a variant made from another
file than the model beside it. Unless ``--no-check``, ONNX Runtime (CPU; it runs float16 convolutions in float32
between casts) runs both models on one random input and prints the relative L2 of the logits and
the argmax voxels that differ; the file is written only when the argmax agrees on at least 99% of
the voxels.
"""

import argparse
import hashlib
import json
import os
import sys

META_KEY = "nninteractive.meta"
CONV_OPS = ("Conv", "ConvTranspose")
MIN_AGREEMENT = 0.99


def fp16_path(path):
    """Where the engine looks for the float16 variant of the model at `path`."""
    stem, ext = os.path.splitext(path)
    return stem + ".fp16" + (ext or ".onnx")


def convert(model, source_sha256=None):
    """The float16 variant of `model` (an onnx.ModelProto, changed in place): every Conv and
    ConvTranspose gets float16 weights and bias and runs in float16 between two casts (its input
    down, its output up); everything else, the normalisations among it, stays float32. Returns
    (model, metadata, number of convolutions converted)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    # The exporter shares equal weights through Identity nodes: follow them to the initializer.
    alias = {n.output[0]: n.input[0] for n in g.node if n.op_type == "Identity" and len(n.input) == 1}

    def source(name):
        seen = set()
        while name not in inits and name in alias and name not in seen:
            seen.add(name)
            name = alias[name]
        return name

    halved, down_cast = {}, {}
    nodes, count = [], 0
    for node in g.node:
        if node.op_type not in CONV_OPS:
            nodes.append(node)
            continue
        for k in range(1, len(node.input)):
            if node.input[k]:
                node.input[k] = source(node.input[k])
        weights = [n for n in node.input[1:] if n]
        if not weights or any(n not in inits for n in weights):
            raise SystemExit(f"to_fp16: {node.op_type} {node.name} has weights that are not initializers")
        for k, name in enumerate(node.input[1:], start=1):
            if not name:
                continue
            if name not in halved:
                arr = numpy_helper.to_array(inits[name])
                if arr.dtype != np.float32:
                    raise SystemExit(f"to_fp16: weight {name} is {arr.dtype}, expected float32")
                if np.max(np.abs(arr), initial=0.0) > 65504.0:
                    raise SystemExit(f"to_fp16: weight {name} exceeds the float16 range")
                halved[name] = name + "/fp16"
                g.initializer.append(numpy_helper.from_array(arr.astype(np.float16), halved[name]))
            node.input[k] = halved[name]
        x = node.input[0]
        if x not in down_cast:
            # Distinct suffixes: a convolution may read another's output (lean_decoder.py's stage).
            down_cast[x] = x + "/fp16_in"
            nodes.append(helper.make_node("Cast", [x], [down_cast[x]], to=TensorProto.FLOAT16, name=x + "/to_fp16"))
        y = node.output[0]
        node.input[0] = down_cast[x]
        node.output[0] = y + "/fp16_out"
        nodes.append(node)
        nodes.append(helper.make_node("Cast", [node.output[0]], [y], to=TensorProto.FLOAT, name=y + "/to_fp32"))
        count += 1
    # Identity aliases only the convolutions read are gone now.
    while True:
        read = {name for node in nodes for name in node.input} | {o.name for o in g.output}
        unread = [n for n in nodes if n.op_type == "Identity" and n.output[0] not in read]
        if not unread:
            break
        nodes = [n for n in nodes if not (n.op_type == "Identity" and n.output[0] not in read)]
    del g.node[:]
    g.node.extend(nodes)
    del g.value_info[:]
    # The float32 weights that only convolutions read are gone now.
    still_read = {name for node in g.node for name in node.input}
    kept = [i for i in g.initializer if i.name in still_read]
    del g.initializer[:]
    g.initializer.extend(kept)
    meta = None
    for entry in model.metadata_props:
        if entry.key == META_KEY:
            meta = json.loads(entry.value)
            meta["weights"] = "float16"
            if source_sha256 is not None:
                # The engine refuses a variant made from another file than the model beside it.
                meta["source_sha256"] = source_sha256
            entry.value = json.dumps(meta, sort_keys=True, separators=(",", ":"))
    if meta is None:
        raise SystemExit(f"to_fp16: the model has no {META_KEY} metadata; convert it with convert_model.py first")
    return model, meta, count


def random_input(meta, seed=0):
    """One random network input of the model's shape: a normal image channel, sparse 0/1 prompt
    channels."""
    import numpy as np

    c = meta["num_image_channels"] + meta["num_interaction_channels"]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, c, *meta["patch_size"]), dtype=np.float32)
    # Prompt channels are sparse and in [0, 1]: give them that character.
    x[:, meta["num_image_channels"]:] = (rng.random(x[:, meta["num_image_channels"]:].shape) > 0.97).astype(np.float32)
    return x


def cpu_session_options(threads):
    """ONNX Runtime options of the checks: `threads` threads, no arena (peak memory as used)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.enable_cpu_mem_arena = False
    return so


def check(fp32_bytes, fp16_bytes, meta, threads, seed=0):
    """Run both models on one random input (ONNX Runtime, CPU); (relative L2, argmax agreement)."""
    import numpy as np
    import onnxruntime as ort

    x = random_input(meta, seed)
    so = cpu_session_options(threads)
    outputs = []
    for data in (fp32_bytes, fp16_bytes):
        sess = ort.InferenceSession(data, sess_options=so, providers=["CPUExecutionProvider"])
        outputs.append(sess.run(None, {sess.get_inputs()[0].name: x})[0])
        del sess
    a, b = outputs
    if b.dtype != np.float32:
        raise SystemExit(f"to_fp16: the float16 model's output is {b.dtype}, expected float32")
    rel = float(np.linalg.norm((a - b).astype(np.float64).ravel()) / max(np.linalg.norm(a.astype(np.float64).ravel()), 1e-30))
    agree = float(np.mean((a[0, 1] > a[0, 0]) == (b[0, 1] > b[0, 0])))
    return rel, agree


def write_atomically(path, data):
    """Write `data` to `path` through a temporary file beside it (never half a model), and say so."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    print(f"wrote {path} (sha256 {hashlib.sha256(data).hexdigest()})")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a model converted by convert_model.py (float32)")
    ap.add_argument("out", nargs="?", help="default: MODEL.fp16.onnx beside it")
    ap.add_argument("--check-threads", type=int, default=2, help="ONNX Runtime threads of the check (default 2)")
    ap.add_argument("--no-check", action="store_true", help="skip running both models")
    args = ap.parse_args(argv)

    import onnx

    out_path = args.out or fp16_path(args.model)
    with open(args.model, "rb") as f:
        fp32_bytes = f.read()
    model = onnx.load_from_string(fp32_bytes)
    if any(i.data_type == onnx.TensorProto.FLOAT16 for i in model.graph.initializer):
        print(f"to_fp16: {args.model} already holds float16 weights", file=sys.stderr)
        return 2
    fp16, meta, count = convert(model, hashlib.sha256(fp32_bytes).hexdigest())
    fp16 = onnx.shape_inference.infer_shapes(fp16, strict_mode=True)
    onnx.checker.check_model(fp16, full_check=True)
    data = fp16.SerializeToString(deterministic=True)
    del fp16
    print(f"{count} convolutions in float16; {len(data)} bytes (float32: {len(fp32_bytes)})")
    if not args.no_check:
        rel, agree = check(fp32_bytes, data, meta, args.check_threads)
        print(f"float16 against float32 on one random input: relative L2 {rel:.3e}, argmax agreement {agree:.5f}")
        if agree < MIN_AGREEMENT:
            print(f"to_fp16: argmax agreement {agree:.4f} < {MIN_AGREEMENT}; not written", file=sys.stderr)
            return 1
    write_atomically(out_path, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
