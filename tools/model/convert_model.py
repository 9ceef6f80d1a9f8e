#!/usr/bin/env python3
"""Convert an nnInteractive model folder (as released) into the engine's ONNX model format.

Usage (with the reference environment, which has torch, nnunetv2 and nnInteractive):

    .venv-ref/bin/python tools/model/convert_model.py MODEL_FOLDER OUT.onnx [--fold 0] [--name NAME]

MODEL_FOLDER holds plans.json, dataset.json, fold_*/checkpoint_final.pth and either
inference_info.json or the legacy inference_session_class.json.  The network is rebuilt the way
the reference session does it (nnInteractive 2.6.0, ``_load_model_artifacts_from_disk``):

  * plans.json -> configuration named by the checkpoint's ``init_args.configuration``;
  * input channels = image channels (dataset.json) + interaction channels (from the capability
    metadata, prev_seg included); 2 output channels; deep supervision off;
  * the trainer class named in the checkpoint is looked up in ``nnInteractive.trainer``, then in
    nnunetv2's trainers, falling back to the stub; its ``build_network_architecture`` resolves the
    ``dynamic_network_architectures`` class and its ``_kw_requires_import`` entries (nnunetv2's
    ``get_network_from_plans``);
  * ``network_weights`` are loaded strictly.

The network is exported with the legacy TorchScript exporter (opset 17, input ``input`` of static
shape ``[1, C, *patch_size]``, output ``logits`` ``[1, 2, *patch_size]``).  To keep memory low the
trace runs on a small input with dynamic spatial axes; the graph is shape-agnostic (convolutions,
instance norms, transposed convolutions, adds, concats), and the spatial axes are then fixed to the
patch size.  The metadata JSON of docs/model-format.md is stored under ``nninteractive.meta``.

InstanceNormalization nodes are rewritten by default (``--native-instance-norm`` keeps them): ONNX
Runtime's CPU kernel sums each channel in float32, ~1e-4 relative error in the statistics at the
full-resolution stages, enough to flip near-tie voxels that PyTorch (float64 accumulation) does
not; see ``rewrite_instance_norms``.

The ONNX side (fixing shapes, metadata, checking, ONNX Runtime) runs in a second Python that has
``onnx`` and ``onnxruntime`` (the repository's .venv by default; ``--onnx-python`` or env
``NNI_ONNX_PYTHON`` override), because the reference environment has neither.

Finally ONNX Runtime (CPU) and PyTorch run the same random input at the full patch size; the
script prints ``round-trip relative L2: <value>`` (||ort - torch|| / ||torch|| over the logits) and
exits non-zero when it is >= 1e-4.

The full-resolution decoder stage is rewritten when its tensors are large (``--lean-decoder
auto``, the default: 512 MiB and more, as in the released networks; ``on``, ``off``) so ONNX
Runtime's peak memory drops by one full-resolution tensor: see ``tools/model/lean_decoder.py``.

The bfloat16 variant ``OUT.bf16.onnx`` is then written beside it (tools/model/to_bf16.py; what
FAST runs on OpenVINO on a CPU with native bfloat16; ``--no-bf16`` skips it), and with ``--fp16``
the float16 variant ``OUT.fp16.onnx`` (tools/model/to_fp16.py: float16 convolutions, float32
normalisations and I/O), which a CUDA session in FAST precision runs.
"""

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile

META_KEY = "nninteractive.meta"
# The files whose code decides what a converted model holds: a converted model is stale once one
# of them changes (tools/test/conformance.py keys its cache on them, tools/bench.py compares times).
CONVERTER_SOURCES = tuple(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), name) for name in ("convert_model.py", "lean_decoder.py")
)
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
OPSET = 17
L2_LIMIT = 1e-4

# The reference's interaction keys (SUPPORTED_INTERACTION_KEYS) and its legacy default capability
# (_legacy_default_capability), restated here as data.
INTERACTION_KEYS = ("scribble", "lasso", "points", "bbox2d", "bbox3d")
LEGACY_SUPPORTED = {"scribble": True, "lasso": True, "points": True, "bbox2d": True, "bbox3d": False}
LEGACY_MAPPING = {
    "prev_seg": 0,
    "bbox2d": (1, 2),
    "bbox3d": (1, 2),
    "lasso": (1, 2),
    "points": (3, 4),
    "scribble": (5, 6),
}
# Runtime defaults of _load_capability_and_runtime_defaults.
DEFAULT_POINT_RADIUS = 4
DEFAULT_SCRIBBLE_THICKNESS = [2, 2, 2]
DEFAULT_DECAY = 0.98
LEGACY_STRING_DECAY = 0.9
DEFAULT_PAD_MODE = "constant"
REFERENCE_SESSION_CLASS = "nnInteractiveInferenceSession"


class ConversionError(Exception):
    pass


def sha256_file(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


# --------------------------------------------------------------------------------------------
# Metadata (no torch needed)
# --------------------------------------------------------------------------------------------


def _pair(name, value):
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ConversionError(f"channel mapping of '{name}' must be a pair [pos, neg], got {value!r}")
    return int(value[0]), int(value[1])


def read_runtime_metadata(folder):
    """Capability dict and runtime defaults, as the reference resolves them."""
    info = os.path.join(folder, "inference_info.json")
    legacy = os.path.join(folder, "inference_session_class.json")
    radius = DEFAULT_POINT_RADIUS
    thickness = DEFAULT_SCRIBBLE_THICKNESS
    decay = DEFAULT_DECAY
    pad_mode = DEFAULT_PAD_MODE
    capability = {}
    if os.path.isfile(info):
        with open(info, encoding="utf-8") as f:
            capability = json.load(f)
        if not isinstance(capability, dict):
            raise ConversionError(f"{info}: expected a JSON object")
        required = capability.get("inference_class", REFERENCE_SESSION_CLASS)
        if required != REFERENCE_SESSION_CLASS:
            raise ConversionError(f"{info}: checkpoint requires inference class {required!r}")
        if capability.get("inference_class_min_version") is not None:
            print(f"note: checkpoint asks for nnInteractiveInferenceSession >= "
                  f"{capability['inference_class_min_version']}")
        radius = capability.get("point_radius", radius)
        thickness = capability.get("preferred_scribble_thickness", thickness)
        decay = capability.get("interaction_decay", decay)
        pad_mode = capability.get("pad_mode_image", pad_mode)
        source = "inference_info.json"
    elif os.path.isfile(legacy):
        with open(legacy, encoding="utf-8") as f:
            content = json.load(f)
        if isinstance(content, str):
            decay = LEGACY_STRING_DECAY
        else:
            radius = content.get("point_radius", radius)
            thickness = content.get("preferred_scribble_thickness", thickness)
            decay = content.get("interaction_decay", decay)
            pad_mode = content.get("pad_mode_image", pad_mode)
        source = "inference_session_class.json"
    else:
        raise ConversionError(f"{folder}: neither inference_info.json nor inference_session_class.json")
    if not isinstance(thickness, (list, tuple)):
        thickness = [thickness] * 3
    return capability, radius, list(thickness), decay, pad_mode, source


def resolve_capability(capability):
    """supported_interactions, supports_initial_label, channel_mapping (non-negative) and the number
    of interaction channels (prev_seg included), following the reference's _apply_capability."""
    raw_supported = capability.get("supported_interactions", {}) or {}
    unknown = set(raw_supported) - set(INTERACTION_KEYS)
    if unknown:
        raise ConversionError(f"capability lists unsupported interactions: {sorted(unknown)}")
    supported = dict(LEGACY_SUPPORTED)
    supported.update({k: bool(v) for k, v in raw_supported.items()})

    raw_mapping = capability.get("channel_mapping", {}) or {}
    unknown = set(raw_mapping) - set(INTERACTION_KEYS) - {"prev_seg"}
    if unknown:
        raise ConversionError(f"capability channel_mapping has unsupported keys: {sorted(unknown)}")
    mapping = dict(LEGACY_MAPPING)
    for k, v in raw_mapping.items():
        mapping[k] = int(v) if k == "prev_seg" else _pair(k, v)

    if "interaction_channels" in capability:
        n = int(capability["interaction_channels"]) + 1
    else:
        max_pos, max_neg = -1, 0
        for k, v in mapping.items():
            for idx in ([v] if k == "prev_seg" else list(v)):
                if idx >= 0:
                    max_pos = max(max_pos, idx)
                else:
                    max_neg = max(max_neg, -idx)
        n = max(max_pos + 1, max_neg, 1)

    def positive(idx):
        p = idx if idx >= 0 else n + idx
        if not 0 <= p < n:
            raise ConversionError(f"channel index {idx} out of range for {n} interaction channels")
        return p

    resolved = {"prev_seg": positive(int(mapping["prev_seg"]))}
    for k in INTERACTION_KEYS:
        p, q = mapping[k]
        resolved[k] = [positive(p), positive(q)]
    return (
        {k: supported[k] for k in INTERACTION_KEYS},
        bool(capability.get("supports_initial_label", True)),
        resolved,
        n,
    )


def read_license(folder, plans, configuration_name):
    path = os.path.join(folder, "LICENSE")
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    return line
    # The reference's rule for the official v1 checkpoint, which ships without a LICENSE file.
    if plans.get("dataset_name") == "Dataset225_nnInteractiveV2" and configuration_name == "3d_fullres_ps192_bs24":
        return "CC BY-NC-SA 4.0"
    return "!!MISSING!!"


def find_checkpoint(folder, fold, checkpoint_name):
    if fold is not None:
        sub = f"fold_{fold}"
    else:
        subs = sorted(d for d in os.listdir(folder) if d.startswith("fold_") and os.path.isdir(os.path.join(folder, d)))
        if len(subs) != 1:
            raise ConversionError(f"{folder}: cannot infer the fold, found {subs}; pass --fold")
        sub = subs[0]
    path = os.path.join(folder, sub, checkpoint_name)
    if not os.path.isfile(path):
        raise ConversionError(f"missing checkpoint {path}")
    return path


# --------------------------------------------------------------------------------------------
# Torch side
# --------------------------------------------------------------------------------------------


def build_network(plans_manager, configuration_manager, trainer_name, num_input_channels):
    """The reference's trainer lookup and build_network_architecture call (2 outputs, no deep supervision)."""
    from nnunetv2.utilities.find_class_by_name import recursive_find_python_class
    import nnInteractive.trainer

    trainer_class = recursive_find_python_class(
        nnInteractive.trainer.__path__[0], trainer_name, "nnInteractive.trainer"
    )
    if trainer_class is None:
        import nnunetv2

        trainer_class = recursive_find_python_class(
            os.path.join(nnunetv2.__path__[0], "training", "nnUNetTrainer"),
            trainer_name,
            "nnunetv2.training.nnUNetTrainer",
        )
    if trainer_class is None:
        from nnInteractive.trainer.nnInteractiveTrainer import nnInteractiveTrainer_stub

        print(f"note: trainer {trainer_name} not found; using nnInteractiveTrainer_stub like the reference")
        trainer_class = nnInteractiveTrainer_stub
    return trainer_class.build_network_architecture(
        plans_manager, configuration_manager, num_input_channels, 2, enable_deep_supervision=False
    )


def min_trace_size(configuration_manager, patch_size):
    """Smallest spatial size per axis the network accepts: the product of its strides."""
    sizes = [1, 1, 1]
    strides = configuration_manager.network_arch_init_kwargs.get("strides")
    if strides is None:
        return list(patch_size)
    for s in strides:
        s = s if isinstance(s, (list, tuple)) else [s] * 3
        sizes = [a * int(b) for a, b in zip(sizes, s)]
    # at least 2 voxels at the bottleneck: instance norm refuses a single spatial element
    return [min(p, 2 * m) for p, m in zip(patch_size, sizes)]


def _allow_export_without_onnx_package():
    """The TorchScript exporter imports the ``onnx`` package only to splice onnx-script functions of
    custom opsets into the model; with no custom opsets that step returns the bytes unchanged.  The
    reference environment has no ``onnx``, so where it is missing that step is made an identity
    (all ONNX-level work happens later, in the Python that has ``onnx``)."""
    try:
        import onnx  # noqa: F401

        return
    except ImportError:
        pass
    from torch.onnx._internal.torchscript_exporter import onnx_proto_utils

    def passthrough(model_bytes, custom_opsets):
        if custom_opsets:
            raise ConversionError("custom opsets need the onnx package in the torch environment")
        return model_bytes

    onnx_proto_utils._add_onnxscript_fn = passthrough


def export_and_reference(args, folder, out_dir):
    import numpy as np
    import torch
    from batchgenerators.utilities.file_and_folder_operations import load_json
    from nnunetv2.utilities.label_handling.label_handling import determine_num_input_channels
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    torch.set_num_threads(args.threads)
    capability, radius, thickness, decay, pad_mode, meta_source = read_runtime_metadata(folder)
    supported, supports_initial, mapping, n_inter = resolve_capability(capability)

    dataset_json = load_json(os.path.join(folder, "dataset.json"))
    plans = load_json(os.path.join(folder, "plans.json"))
    plans_manager = PlansManager(plans)
    ckpt_path = find_checkpoint(folder, args.fold, args.checkpoint)
    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    trainer_name = checkpoint["trainer_name"]
    configuration_name = checkpoint["init_args"]["configuration"]
    configuration_manager = plans_manager.get_configuration(configuration_name)
    num_image_channels = determine_num_input_channels(plans_manager, configuration_manager, dataset_json)
    num_input_channels = num_image_channels + n_inter
    patch_size = [int(p) for p in configuration_manager.patch_size]
    if len(patch_size) != 3:
        raise ConversionError(f"configuration {configuration_name} is not 3D: patch_size {patch_size}")

    network = build_network(plans_manager, configuration_manager, trainer_name, num_input_channels)
    network.load_state_dict(checkpoint["network_weights"])
    del checkpoint
    network.eval()

    meta = {
        "format": 1,
        "name": args.name or os.path.basename(os.path.normpath(folder)),
        "patch_size": patch_size,
        "num_image_channels": int(num_image_channels),
        "num_interaction_channels": int(n_inter),
        "channel_mapping": mapping,
        "supported_interactions": supported,
        "supports_initial_label": supports_initial,
        "point_radius": radius,
        "interaction_decay": decay,
        "preferred_scribble_thickness": thickness,
        "pad_mode_image": pad_mode,
        "license": read_license(folder, plans, configuration_name),
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "source": {
            "converter": "tools/model/convert_model.py",
            "reference": "nnInteractive 2.6.0 nnInteractiveInferenceSession",
            "runtime_metadata": meta_source,
            "configuration": configuration_name,
            "trainer_name": trainer_name,
            "network_class": configuration_manager.network_arch_class_name,
            "checkpoint_sha256": sha256_file(ckpt_path),
        },
    }

    # Export: trace a small input with dynamic spatial axes (fixed to patch_size afterwards).
    trace_size = list(patch_size) if args.trace_full else min_trace_size(configuration_manager, patch_size)
    dummy = torch.zeros((1, num_input_channels, *trace_size), dtype=torch.float32)
    dynamic_axes = None
    if trace_size != patch_size:
        dynamic_axes = {INPUT_NAME: {2: "d0", 3: "d1", 4: "d2"}, OUTPUT_NAME: {2: "d0", 3: "d1", 4: "d2"}}
    _allow_export_without_onnx_package()
    buf = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(
            network,
            (dummy,),
            buf,
            dynamo=False,
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes=dynamic_axes,
            do_constant_folding=True,
            export_params=True,
        )
    del dummy
    with open(os.path.join(out_dir, "raw.onnx"), "wb") as f:
        f.write(buf.getvalue())
    del buf

    # Reference output on a random input at the full patch size (fixed seed).
    gen = torch.Generator().manual_seed(args.seed)
    x = torch.randn((1, num_input_channels, *patch_size), generator=gen, dtype=torch.float32)
    # interaction channels look like prompts: values in [0, 1]
    x[:, num_image_channels:] = torch.rand((1, n_inter, *patch_size), generator=gen)
    with torch.inference_mode():
        y = network(x)
    np.save(os.path.join(out_dir, "x.npy"), x.numpy())
    del x
    np.save(os.path.join(out_dir, "y.npy"), y.numpy())
    del y, network
    with open(os.path.join(out_dir, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f)
    return meta


# --------------------------------------------------------------------------------------------
# ONNX side (runs in a Python with onnx + onnxruntime)
# --------------------------------------------------------------------------------------------


def rewrite_instance_norms(model):
    """Replace every InstanceNormalization node by one with accurately computed statistics.

    ONNX Runtime's CPU kernel sums a whole channel (64^3 = 262144 values, or 192^3) in float32
    (Eigen mean / squaredNorm): about 1e-4 relative error in the statistics at the full-resolution
    stages, where PyTorch accumulates in double. On a network whose argmax has near-ties that flips
    voxels, and through prev_seg the flips grow from prompt to prompt. Here the statistics are
    reduced over the innermost axis in float32 (short sums), then over the other spatial axes in
    float64 (small tensors), two-pass; the normalisation itself is an inference-mode
    BatchNormalization with those statistics (batch size 1: per-channel statistics are per-instance
    statistics), which computes y = x * a + b with a = scale / sqrt(var + eps), b = bias - mean * a,
    the same per-channel affine form PyTorch applies:
        mean = f32(ReduceMean_outer(f64(ReduceMean_inner(x))))
        var  = f32(ReduceMean_outer(f64(ReduceSumSquare_inner(x - mean))) / n_inner)
        y    = BatchNormalization(x, scale, bias, mean, var, epsilon)
    Returns the number of nodes replaced."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    g = model.graph
    shapes = {
        vi.name: [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]
        for vi in list(g.value_info) + list(g.input)
    }
    new_nodes, count = [], 0
    for node in g.node:
        if node.op_type != "InstanceNormalization":
            new_nodes.append(node)
            continue
        x, scale, bias = node.input
        y = node.output[0]
        shape = shapes.get(x)
        if not shape or len(shape) < 3 or shape[0] != 1 or shape[-1] is None:
            raise ConversionError(f"InstanceNormalization {node.name}: input shape {shape} is not [1, C, ..., n]")
        rank = len(shape)
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        p = (node.name or y) + "/nni"
        inner = [rank - 1]
        outer = list(range(2, rank - 1))
        n_name = p + "/n_inner"
        g.initializer.append(numpy_helper.from_array(np.array(float(shape[-1]), dtype=np.float64), n_name))
        squeeze_axes = p + "/squeeze_axes"
        g.initializer.append(numpy_helper.from_array(np.array([0] + list(range(2, rank)), dtype=np.int64), squeeze_axes))

        def reduce_to_channels(src, op, tag):
            """[1, C, ...] -> float64 [1, C, 1, ...] by `op` over the innermost axis (float32), then
            ReduceMean over the other spatial axes in float64."""
            nodes = [
                helper.make_node(op, [src], [f"{p}/{tag}_inner"], axes=inner, keepdims=1, name=f"{p}/{tag}_inner"),
                helper.make_node("Cast", [f"{p}/{tag}_inner"], [f"{p}/{tag}_inner_f64"], to=TensorProto.DOUBLE,
                                 name=f"{p}/{tag}_inner_cast"),
            ]
            last = f"{p}/{tag}_inner_f64"
            if outer:
                nodes.append(helper.make_node("ReduceMean", [last], [f"{p}/{tag}_f64"], axes=outer, keepdims=1,
                                              name=f"{p}/{tag}_outer"))
                last = f"{p}/{tag}_f64"
            return nodes, last

        n_mean, mean_f64 = reduce_to_channels(x, "ReduceMean", "mean")
        n_center = [
            helper.make_node("Cast", [mean_f64], [f"{p}/mean_f32"], to=TensorProto.FLOAT, name=f"{p}/mean_cast"),
            helper.make_node("Sub", [x, f"{p}/mean_f32"], [f"{p}/xc"], name=f"{p}/center"),
        ]
        n_var, ssq_f64 = reduce_to_channels(f"{p}/xc", "ReduceSumSquare", "ssq")
        n_bn = [
            helper.make_node("Div", [ssq_f64, n_name], [f"{p}/var_f64"], name=f"{p}/var"),
            helper.make_node("Cast", [f"{p}/var_f64"], [f"{p}/var_f32"], to=TensorProto.FLOAT, name=f"{p}/var_cast"),
            helper.make_node("Squeeze", [f"{p}/mean_f32", squeeze_axes], [f"{p}/mean_c"], name=f"{p}/mean_squeeze"),
            helper.make_node("Squeeze", [f"{p}/var_f32", squeeze_axes], [f"{p}/var_c"], name=f"{p}/var_squeeze"),
            helper.make_node("BatchNormalization", [x, scale, bias, f"{p}/mean_c", f"{p}/var_c"], [y],
                             epsilon=eps, name=f"{p}/affine"),
        ]
        new_nodes += n_mean + n_center + n_var + n_bn
        count += 1
    del g.node[:]
    g.node.extend(new_nodes)
    return count


def finalize(work_dir, out_path, threads, native_instance_norm=False, lean_decoder="auto"):
    import numpy as np
    import onnx
    import onnxruntime as ort

    with open(os.path.join(work_dir, "meta.json"), encoding="utf-8") as f:
        meta = json.load(f)
    model = onnx.load(os.path.join(work_dir, "raw.onnx"))
    c = meta["num_image_channels"] + meta["num_interaction_channels"]
    shapes = {INPUT_NAME: [1, c, *meta["patch_size"]], OUTPUT_NAME: [1, 2, *meta["patch_size"]]}
    g = model.graph
    for vi in list(g.input) + list(g.output):
        if vi.name not in shapes:
            raise ConversionError(f"unexpected graph input/output {vi.name}")
        dims = vi.type.tensor_type.shape.dim
        want = shapes[vi.name]
        if len(dims) != len(want):
            raise ConversionError(f"{vi.name}: rank {len(dims)}, expected {len(want)}")
        for d, v in zip(dims, want):
            d.Clear()
            d.dim_value = v
    # Intermediate shape annotations were traced with symbolic spatial sizes: drop them, and let
    # shape inference recompute them with the static sizes.
    del g.value_info[:]
    if lean_decoder != "off":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from lean_decoder import AUTO_MIN_TENSOR_BYTES, NotApplicable, rewrite_lean_decoder

        try:
            rewrite_lean_decoder(model, AUTO_MIN_TENSOR_BYTES if lean_decoder == "auto" else 0)
            print("rewrote the full-resolution decoder stage (tools/model/lean_decoder.py)")
        except NotApplicable as e:
            print(f"full-resolution decoder stage kept as exported: {e}")
    if not native_instance_norm:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        g = model.graph
        n = rewrite_instance_norms(model)
        del g.value_info[:]
        print(f"rewrote {n} InstanceNormalization nodes with float64 statistics")
    model.doc_string = ""
    g.doc_string = ""
    for node in g.node:
        node.doc_string = ""
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key = META_KEY
    entry.value = json.dumps(meta, sort_keys=True, separators=(",", ":"))
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model, full_check=True)
    out_t = model.graph.output[0].type.tensor_type
    got = [d.dim_value for d in out_t.shape.dim]
    if got != shapes[OUTPUT_NAME]:
        raise ConversionError(f"inferred output shape {got}, expected {shapes[OUTPUT_NAME]}")
    data = model.SerializeToString(deterministic=True)
    del model

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(data, sess_options=so, providers=["CPUExecutionProvider"])
    x = np.load(os.path.join(work_dir, "x.npy"))
    y_ort = sess.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
    del x, sess
    y_ref = np.load(os.path.join(work_dir, "y.npy"))
    rel = float(np.linalg.norm((y_ort.astype(np.float64) - y_ref).ravel()) / np.linalg.norm(y_ref.astype(np.float64).ravel()))
    flips = int(np.count_nonzero((y_ort[0, 1] > y_ort[0, 0]) != (y_ref[0, 1] > y_ref[0, 0])))
    # Only a verified model goes to out_path; a failing one is kept next to it for inspection.
    dest = out_path if rel < L2_LIMIT else out_path + ".failed"
    tmp = dest + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, dest)
    print(f"wrote {dest} ({len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()})")
    print(f"argmax voxels differing between ONNX Runtime and torch: {flips} of {y_ref[0, 0].size}")
    print(f"round-trip relative L2: {rel:.3e}")
    return rel


def default_onnx_python():
    env = os.environ.get("NNI_ONNX_PYTHON")
    if env:
        return env
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(repo, ".venv", "bin", "python")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_folder")
    ap.add_argument("out")
    ap.add_argument("--fold", default=None, help="fold_N folder to use (default: the only one)")
    ap.add_argument("--checkpoint", default="checkpoint_final.pth")
    ap.add_argument("--name", default=None, help="model name in the metadata (default: folder name)")
    ap.add_argument("--threads", type=int, default=2, help="torch / ONNX Runtime threads (default 2)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the verification input")
    ap.add_argument("--trace-full", action="store_true", help="trace at the full patch size (more memory)")
    ap.add_argument("--native-instance-norm", action="store_true",
                    help="keep ONNX InstanceNormalization nodes (ONNX Runtime's CPU kernel has float32 statistics, "
                         "~1e-4 relative error on large patches); default: rewrite them with float64 statistics")
    ap.add_argument("--lean-decoder", choices=("auto", "on", "off"), default="auto",
                    help="rewrite the full-resolution decoder stage so ONNX Runtime's peak memory drops by one "
                         "full-resolution tensor (tools/model/lean_decoder.py): auto (default) when that tensor is "
                         ">= 512 MiB (the released networks), on, or off"),
    ap.add_argument("--no-bf16", action="store_true",
                    help="do not write OUT's bfloat16 variant beside it (OUT.bf16.onnx, tools/model/to_bf16.py): what "
                         "FAST runs on OpenVINO on CPUs with native bfloat16 (without it FAST runs float32 there)")
    ap.add_argument("--fp16", action="store_true",
                    help="also write OUT's float16 variant beside it (OUT.fp16.onnx, tools/model/to_fp16.py): what a "
                         "CUDA session runs in FAST precision")
    ap.add_argument("--triton-repo", default=None, metavar="DIR",
                    help="also write a model repository for NVIDIA Triton: DIR/NAME/config.pbtxt and DIR/NAME/1/model.onnx "
                         "(batch axis dynamic, dynamic batching, the engine's metadata as parameters; "
                         "tools/model/triton_repo.py), what `nni serve --network-url` runs its forwards on")
    ap.add_argument("--triton-name", default=None, help="the model's name in the Triton repository (default: --name)")
    ap.add_argument("--onnx-python", default=None,
                    help="Python with onnx + onnxruntime (default: $NNI_ONNX_PYTHON or the repo's .venv)")
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "--_finalize":
        try:
            flags = set(argv[4:])
            lean = next((f.split("=", 1)[1] for f in flags if f.startswith("lean=")), "auto")
            rel = finalize(argv[1], argv[2], int(argv[3]), native_instance_norm="native" in flags,
                           lean_decoder=lean)
        except ConversionError as e:
            print(f"convert_model: {e}", file=sys.stderr)
            return 2
        except Exception:
            import traceback

            traceback.print_exc()
            return 2
        return 0 if rel < L2_LIMIT else 1
    args = ap.parse_args(argv)

    folder = os.path.abspath(args.model_folder)
    out = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    onnx_python = args.onnx_python or default_onnx_python()
    if not os.path.exists(onnx_python):
        print(f"convert_model: no Python with onnx/onnxruntime at {onnx_python}; pass --onnx-python", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="nni-convert-") as work:
        try:
            meta = export_and_reference(args, folder, work)
        except ConversionError as e:
            print(f"convert_model: {e}", file=sys.stderr)
            return 2
        print(f"model {meta['name']}: patch {meta['patch_size']}, {meta['num_image_channels']} image + "
              f"{meta['num_interaction_channels']} interaction channels, decay {meta['interaction_decay']}, "
              f"point radius {meta['point_radius']}, license {meta['license']!r}")
        sys.stdout.flush()
        rc = subprocess.call([onnx_python, os.path.abspath(__file__), "--_finalize", work, out, str(args.threads)]
                             + (["native"] if args.native_instance_norm else [])
                             + [f"lean={args.lean_decoder}"])
    if rc == 1:
        print(f"convert_model: ONNX Runtime output differs from torch by >= {L2_LIMIT}", file=sys.stderr)
    if rc == 0 and not args.no_bf16:
        rc = subprocess.call([onnx_python, os.path.join(os.path.dirname(os.path.abspath(__file__)), "to_bf16.py"),
                              out, "--check-threads", str(args.threads)])
    if rc == 0 and args.fp16:
        rc = subprocess.call([onnx_python, os.path.join(os.path.dirname(os.path.abspath(__file__)), "to_fp16.py"),
                              out, "--check-threads", str(args.threads)])
    if rc == 0 and args.triton_repo:
        rc = subprocess.call([onnx_python, os.path.join(os.path.dirname(os.path.abspath(__file__)), "triton_repo.py"),
                              out, os.path.abspath(args.triton_repo)]
                             + (["--name", args.triton_name] if args.triton_name else []))
    return rc


if __name__ == "__main__":
    sys.exit(main())
