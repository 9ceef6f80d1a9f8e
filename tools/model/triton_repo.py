#!/usr/bin/env python3
"""A model repository for NVIDIA Triton (KServe v2) from a converted model.

    triton_repo.py MODEL.onnx REPO [--name NAME] [--max-batch-size 4] [--queue-delay-us 2000]
                   [--instance-kind gpu|cpu] [--instances 1] [--no-check]

writes ``REPO/NAME/1/model.onnx`` and ``REPO/NAME/config.pbtxt`` (Triton's onnxruntime backend):

- the network with its batch axis dynamic (``dim_param "batch"``), so Triton's dynamic batcher can
  merge concurrent sessions' forwards (the converter fixes every axis: batch 1, the patch size);
- ``config.pbtxt``: the input and output (float32; dims without the batch axis), ``max_batch_size``,
  ``dynamic_batching`` with a small queue delay, an instance group (GPU by default), and the
  engine's metadata as parameters: ``nninteractive.meta`` (the JSON the ONNX file carries, which
  ``nni serve --network-url`` reads from Triton's config endpoint, so replicas need no model file)
  and ``nninteractive.sha256`` (the source file's hash: prompt logs name the same model whether the
  forwards ran here or there).

The batched model is checked unless ``--no-check``: ONNX Runtime runs two different inputs as one
batch of 2 and each alone; the rows must be bit-identical (three forwards of the network). The
check runs ONNX Runtime on one thread: its CPU convolutions are not bit-identical across thread
counts (nor, with several threads, across batch sizes), so only there is batch independence a
property of the graph alone.

Needs onnx, onnxruntime and numpy (the repository's .venv, or ``nninteractive-native[convert]``).
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile

METADATA_KEY = "nninteractive.meta"
SHA256_KEY = "nninteractive.sha256"


def pbtxt_string(s):
    """A protobuf text-format string literal."""
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append("\\%03o" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def config_text(name, meta, sha256, max_batch_size, queue_delay_us, instance_kind, instances):
    """The model's config.pbtxt."""
    p = meta["patch_size"]
    channels = int(meta["num_image_channels"]) + int(meta["num_interaction_channels"])
    input_name = meta.get("input_name", "input")
    output_name = meta.get("output_name", "logits")
    dims = lambda c: ", ".join(str(int(v)) for v in [c, *p])  # noqa: E731
    meta_json = json.dumps(meta, sort_keys=True, separators=(",", ":"))
    return f"""# Written by tools/model/triton_repo.py (nni-convert --triton-repo): the nnInteractive network
# for Triton's onnxruntime backend. Sessions stay in `nni serve --network-url
# http://HOST:8000/v2/models/{name}`; only patches come here, batched across sessions.
name: {pbtxt_string(name)}
platform: "onnxruntime_onnx"
max_batch_size: {int(max_batch_size)}
input [
  {{
    name: {pbtxt_string(input_name)}
    data_type: TYPE_FP32
    dims: [ {dims(channels)} ]
  }}
]
output [
  {{
    name: {pbtxt_string(output_name)}
    data_type: TYPE_FP32
    dims: [ {dims(2)} ]
  }}
]
dynamic_batching {{
  max_queue_delay_microseconds: {int(queue_delay_us)}
}}
instance_group [
  {{
    count: {int(instances)}
    kind: {"KIND_GPU" if instance_kind == "gpu" else "KIND_CPU"}
  }}
]
parameters {{
  key: {pbtxt_string(METADATA_KEY)}
  value: {{ string_value: {pbtxt_string(meta_json)} }}
}}
parameters {{
  key: {pbtxt_string(SHA256_KEY)}
  value: {{ string_value: {pbtxt_string(sha256)} }}
}}
"""


def instance_norms_batched(model):
    """The converter's exact instance normalisation (mean and variance per channel in float64,
    then ``BatchNormalization``, whose statistics are per channel and so hold for batch 1 only)
    made batch-general without changing its arithmetic: ``[N, C, ...]`` is viewed as
    ``[1, N*C, ...]`` (each row's channels become channels), the statistics and the
    ``BatchNormalization`` run there with the scale and bias tiled N times, and the result is
    viewed as ``[N, C, ...]`` again. Every element meets the same operations with the same
    per-channel values as in the batch-1 graph, so a row's output is bit-identical to the local
    model's. Returns how many were rewritten."""
    from onnx import helper, numpy_helper
    import numpy as np

    g = model.graph
    consts = [
        numpy_helper.from_array(np.array([0], dtype=np.int64), "triton/zero"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "triton/one"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "triton/two"),
        numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "triton/one_minus_one"),
        numpy_helper.from_array(np.array([np.iinfo(np.int64).max], dtype=np.int64), "triton/end"),
    ]
    out, count = [], 0
    affine = {n.name[: -len("/affine")]: n for n in g.node
              if n.op_type == "BatchNormalization" and n.name.endswith("/nni/affine")}
    prepared = set()
    for node in g.node:
        prefix = next((p for p in affine if node.name.startswith(p + "/")), None)
        if prefix is None:
            out.append(node)
            continue
        bn = affine[prefix]
        x = bn.input[0]
        xr = f"{prefix}/triton/x_rows_as_channels"
        if prefix not in prepared:
            prepared.add(prefix)
            count += 1
            q = f"{prefix}/triton"
            out += [
                helper.make_node("Shape", [x], [f"{q}/shape"], name=f"{q}/shape"),
                helper.make_node("Slice", [f"{q}/shape", "triton/two", "triton/end"], [f"{q}/spatial"],
                                 name=f"{q}/spatial"),
                helper.make_node("Concat", ["triton/one_minus_one", f"{q}/spatial"], [f"{q}/as_channels"], axis=0,
                                 name=f"{q}/as_channels"),
                helper.make_node("Reshape", [x, f"{q}/as_channels"], [xr], name=f"{q}/rows_as_channels"),
                helper.make_node("Slice", [f"{q}/shape", "triton/zero", "triton/one"], [f"{q}/n"], name=f"{q}/n"),
                helper.make_node("Tile", [bn.input[1], f"{q}/n"], [f"{q}/scale"], name=f"{q}/scale"),
                helper.make_node("Tile", [bn.input[2], f"{q}/n"], [f"{q}/bias"], name=f"{q}/bias"),
            ]
        if node is bn:
            q = f"{prefix}/triton"
            y = bn.output[0]
            new = helper.make_node("BatchNormalization", [xr, f"{q}/scale", f"{q}/bias", bn.input[3], bn.input[4]],
                                   [f"{q}/y_rows_as_channels"], name=bn.name)
            new.attribute.extend(bn.attribute)
            out += [new, helper.make_node("Reshape", [f"{q}/y_rows_as_channels", f"{q}/shape"], [y],
                                          name=f"{q}/rows_back")]
        else:
            node.input[:] = [xr if i == x else i for i in node.input]
            out.append(node)
    if count:
        g.initializer.extend(consts)
    del g.node[:]
    g.node.extend(out)
    return count


def batched(model):
    """``model`` (an onnx ModelProto) with a dynamic batch axis on its input and output; the
    inner shapes recorded at conversion (batch 1) are dropped, as ONNX Runtime infers them."""
    instance_norms_batched(model)
    for value in list(model.graph.input) + list(model.graph.output):
        dim = value.type.tensor_type.shape.dim[0]
        if dim.HasField("dim_value") and dim.dim_value != 1:
            raise SystemExit(f"triton_repo: {value.name} has batch {dim.dim_value}, expected 1")
        dim.Clear()
        dim.dim_param = "batch"
    del model.graph.value_info[:]
    return model


def check_batching(path, meta, threads):
    """Two inputs as one batch and each alone: the rows must be identical."""
    import numpy as np
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    p = meta["patch_size"]
    channels = int(meta["num_image_channels"]) + int(meta["num_interaction_channels"])
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, channels, *p)).astype(np.float32)
    x[:, 1:] = (x[:, 1:] > 1.0)  # interaction channels are sparse 0/1 maps
    name_in = meta.get("input_name", "input")
    both = sess.run(None, {name_in: x})[0]
    for row in range(2):
        alone = sess.run(None, {name_in: x[row:row + 1]})[0]
        if both.shape[0] != 2 or not np.array_equal(both[row:row + 1], alone):
            diff = float(np.abs(both[row:row + 1] - alone).max()) if both.shape[0] == 2 else float("nan")
            raise SystemExit(f"triton_repo: row {row} of a batch of 2 differs from the same input alone "
                             f"(max |diff| {diff}): the graph is not batch-independent")
    return both.shape


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", help="a converted model (.onnx carrying nninteractive.meta)")
    ap.add_argument("repo", help="the model repository folder (created)")
    ap.add_argument("--name", default=None, help="the model's name in Triton (default: the metadata's name)")
    ap.add_argument("--max-batch-size", type=int, default=4)
    ap.add_argument("--queue-delay-us", type=int, default=2000,
                    help="how long Triton waits to fill a batch (default 2000 us: small beside a forward)")
    ap.add_argument("--instance-kind", choices=("gpu", "cpu"), default="gpu")
    ap.add_argument("--instances", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads of the check (default 1)")
    ap.add_argument("--no-check", action="store_true", help="skip the batch-of-2 check (three forwards)")
    args = ap.parse_args(argv)

    import onnx

    if args.max_batch_size < 1 or args.queue_delay_us < 0 or args.instances < 1:
        ap.error("--max-batch-size and --instances must be >= 1, --queue-delay-us >= 0")
    with open(args.model, "rb") as f:
        data = f.read()
    sha256 = hashlib.sha256(data).hexdigest()
    model = onnx.load_from_string(data)
    props = {p.key: p.value for p in model.metadata_props}
    if METADATA_KEY not in props:
        raise SystemExit(f"triton_repo: {args.model} has no {METADATA_KEY} metadata: convert it with "
                         "tools/model/convert_model.py (nni-convert) first")
    meta = json.loads(props[METADATA_KEY])
    name = args.name or meta.get("name") or os.path.splitext(os.path.basename(args.model))[0]
    if not name or not all(c.isalnum() or c in "_-." for c in name) or name in (".", ".."):
        raise SystemExit(f"triton_repo: {name!r} is not a model name Triton and a URL can carry "
                         "(letters, digits, _ - .); pass --name")
    model = batched(model)
    version_dir = os.path.join(args.repo, name, "1")
    os.makedirs(version_dir, exist_ok=True)
    out = os.path.join(version_dir, "model.onnx")
    with tempfile.NamedTemporaryFile(dir=version_dir, suffix=".part", delete=False) as tmp:
        tmp.write(model.SerializeToString())
    os.replace(tmp.name, out)
    if not args.no_check:
        shape = check_batching(out, meta, args.threads)
        print(f"triton_repo: batch of 2 == each alone (output {list(shape)})")
    config = config_text(name, meta, sha256, args.max_batch_size, args.queue_delay_us, args.instance_kind,
                         args.instances)
    with open(os.path.join(args.repo, name, "config.pbtxt"), "w") as f:
        f.write(config)
    print(f"triton_repo: wrote {os.path.join(args.repo, name)} (config.pbtxt, 1/model.onnx; "
          f"max_batch_size {args.max_batch_size}, {args.instance_kind} x{args.instances}); serve it and point "
          f"nni serve --network-url http://HOST:8000/v2/models/{name} at it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
