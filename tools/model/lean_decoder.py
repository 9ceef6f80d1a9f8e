#!/usr/bin/env python3
"""Rewrite a U-Net's full-resolution decoder stage so ONNX Runtime's peak memory drops by about one
full-resolution tensor, results unchanged but for float rounding: one forward of the released
ResEncL at 192^3 peaks at 3.4 GiB instead of 4.0 GiB (``tools/profile_forward.py``). Applied by tools/model/convert_model.py before the instance norms are
rewritten; ``.venv/bin/python tools/model/lean_decoder.py IN.onnx OUT.onnx`` upgrades a model
converted before (its instance norms already rewritten: see ``rewrite_lean_decoder``).

The stage as exported (dynamic_network_architectures' UNetDecoder, one conv per stage):

    u = ConvTranspose(x, Wt, bt)           x: the stage below, u: C channels at full resolution
    c = Concat(u, s)                       s: the encoder's skip, C channels
    o = Conv(c, W, b);  n = InstanceNorm(o);  a = LeakyRelu(n);  logits = Conv(a, Wseg, bseg)

ONNX Runtime holds s, u and c (2C channels) at once: four full-resolution tensors, the forward's
peak. Without a memory arena it frees a tensor after its last reader, but its allocation planner
also hands a freed buffer to a later tensor of the same byte size, and that buffer then stays
allocated in between: a full-resolution tensor made in this stage takes a buffer the encoder freed
long before, which stays allocated through the whole network. So splitting the Concat alone saves
nothing (measured). The rewrite therefore

  * splits the Concat: Conv(c, W, b) = Conv(u, W[:, :C], b) + Conv(s, W[:, C:]) (convolution is
    linear in its input channels), so no 2C-channel tensor exists;
  * gives the stage's new tensors C + 1 channels (a zero filter, zero bias; the instance norm of
    the all-zero channel is 0 with scale 1 and bias 0, LeakyRelu(0) = 0, and the segmentation
    conv gets a zero weight for it), a size no encoder tensor has, so they are allocated when
    made and freed after their last reader;
  * orders the work: the skip conv runs first (its input waits for x: ``s + 0 * x[0, .., 0]``),
    then the transposed conv (its input waits for the skip conv: ``x + 0 * os[0, .., 0]``), so the
    skip tensor is freed before u is made. Both additions are exact for finite values; one
    element times zero is the dependency (a non-finite activation there would already make the
    output non-finite around it).

At most the skip conv's output, x, the transposed conv's column buffer and u are alive: 3.3
full-resolution tensors instead of 4. The extra channel costs 1/32 more arithmetic in that stage
of the released network (about 0.3 s of a 50 s forward on two cores, within noise). All weights stay constant initializers (OpenVINO,
TensorRT and tools/model/to_fp16.py need that). The split sums a convolution's input channels in
two halves: logits move by about 3e-7 relative (a few of 7 M voxels flip on a random-weight
network; the conformance cases check the trained ones)."""

import sys


class NotApplicable(Exception):
    """The graph does not end in the decoder stage this rewrite knows."""


# convert_model.py's default: rewrite only a stage whose full-resolution tensor is at least this
# large (the released ResEncL's: 32 channels at 192^3, 864 MiB). Smaller stages gain little, and
# the odd channel count costs OpenVINO's blocked kernels (8 channels a block on AVX2) up to twice
# the stage's time: measured 0.8 s -> 1.7 s a forward for the tiny trained network at 192^3.
AUTO_MIN_TENSOR_BYTES = 512 << 20


def rewrite_lean_decoder(model, min_tensor_bytes=0):
    """Rewrite the full-resolution decoder stage of `model` (onnx.ModelProto, in place). The norm
    may be one InstanceNormalization node, or the float64-statistics subgraph of
    convert_model.rewrite_instance_norms ending in a BatchNormalization. Raises NotApplicable
    (graph unchanged) when the graph's end is not ConvTranspose, Concat, Conv, norm, LeakyRelu,
    Conv, or when one of the stage's tensors (the conv's output channels at the input's spatial
    size, float32) is smaller than `min_tensor_bytes`."""
    import numpy as np
    from onnx import helper, numpy_helper

    g = model.graph
    inits = {t.name: t for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    readers = {}
    for n in g.node:
        for name in n.input:
            readers.setdefault(name, []).append(n)

    def weight(name):
        """The initializer behind `name`, following the exporter's Identity nodes."""
        while name not in inits:
            node = producer.get(name)
            if node is None or node.op_type != "Identity":
                raise NotApplicable(f"{name} is not a constant")
            name = node.input[0]
        return numpy_helper.to_array(inits[name])

    if len(g.output) != 1:
        raise NotApplicable("the graph has more than one output")
    seg = producer.get(g.output[0].name)
    if seg is None or seg.op_type != "Conv":
        raise NotApplicable("the output is not made by a Conv")
    act = producer.get(seg.input[0])
    if act is None or act.op_type != "LeakyRelu" or len(readers[act.output[0]]) != 1:
        raise NotApplicable("the segmentation conv does not read a LeakyRelu")
    norm = producer.get(act.input[0])
    if norm is None or norm.op_type not in ("InstanceNormalization", "BatchNormalization"):
        raise NotApplicable("the LeakyRelu does not read a normalisation")
    o = norm.input[0]
    conv = producer.get(o)
    if conv is None or conv.op_type != "Conv":
        raise NotApplicable("the normalisation does not read a Conv")
    norm_nodes = readers[o]  # the norm itself, or its statistics subgraph and the BatchNormalization
    if norm.op_type == "InstanceNormalization" and len(norm_nodes) != 1:
        raise NotApplicable("the conv output has readers besides the norm")
    cat = producer.get(conv.input[0])
    if cat is None or cat.op_type != "Concat" or len(cat.input) != 2 or len(readers[cat.output[0]]) != 1:
        raise NotApplicable("the conv does not read a two-input Concat")
    if next((a.i for a in cat.attribute if a.name == "axis"), None) != 1:
        raise NotApplicable("the Concat is not over channels")
    if any(a.name == "group" and a.i != 1 for a in conv.attribute):
        raise NotApplicable("the conv is grouped")
    up, skip = cat.input
    ct = producer.get(up)
    if ct is None or ct.op_type != "ConvTranspose" or len(readers[up]) != 1:
        raise NotApplicable("the Concat's first input is not a ConvTranspose read only there")

    w = weight(conv.input[1])
    b = weight(conv.input[2]) if len(conv.input) > 2 and conv.input[2] else np.zeros(w.shape[0], w.dtype)
    c_up = weight(ct.input[1]).shape[1]  # ConvTranspose weights: [C_in, C_out / group, k...]
    c_out = w.shape[0]
    if not 0 < c_up < w.shape[1]:
        raise NotApplicable(f"the transposed conv's {c_up} channels do not split the conv's {w.shape[1]}")
    w_seg = weight(seg.input[1])
    norm_scale, norm_bias = weight(norm.input[1]), weight(norm.input[2])
    if w_seg.shape[1] != c_out:
        raise NotApplicable("the segmentation conv does not read the stage's channels")
    rank = w.ndim
    spatial = [d.dim_value for d in g.input[0].type.tensor_type.shape.dim[2:]]
    if min_tensor_bytes:
        if not spatial or not all(spatial):
            raise NotApplicable("the input's spatial size is not static")
        tensor_bytes = c_out * int(np.prod(spatial)) * w.itemsize
        if tensor_bytes < min_tensor_bytes:
            raise NotApplicable(f"its tensors ({c_out} x {'x'.join(map(str, spatial))}, "
                                f"{tensor_bytes >> 20} MiB) are below {min_tensor_bytes >> 20} MiB")

    p = (conv.name or o) + "/nni_lean"
    added = []

    def const(array, tag):
        added.append(numpy_helper.from_array(np.ascontiguousarray(array), f"{p}/{tag}"))
        return f"{p}/{tag}"

    def pad_out(array, value):
        """One more output channel (axis 0) filled with `value`."""
        extra = np.full((1,) + array.shape[1:], value, dtype=array.dtype)
        return np.concatenate([array, extra], axis=0)

    first_starts = const(np.zeros(rank, np.int64), "first_starts")
    first_ends = const(np.ones(rank, np.int64), "first_ends")
    zero = const(np.array(0.0, dtype=w.dtype), "zero")

    def after(tensor, tag, witness):
        """`tensor` + 0 * witness[0, .., 0]: the same values, read only once `witness` exists."""
        return [
            helper.make_node("Slice", [witness, first_starts, first_ends], [f"{p}/{tag}_first"],
                             name=f"{p}/{tag}_first"),
            helper.make_node("Mul", [f"{p}/{tag}_first", zero], [f"{p}/{tag}_zero"], name=f"{p}/{tag}_zero"),
            helper.make_node("Add", [tensor, f"{p}/{tag}_zero"], [f"{p}/{tag}"], name=f"{p}/{tag}"),
        ]

    conv_attrs = list(conv.attribute)
    skip_conv = helper.make_node("Conv", [f"{p}/skip_after_x", const(pad_out(w[:, c_up:], 0), "w_skip")],
                                 [f"{p}/skip_part"], name=f"{p}/skip_conv")
    skip_conv.attribute.extend(conv_attrs)
    transposed = helper.make_node("ConvTranspose", [f"{p}/x_after_skip", *ct.input[1:]], [up], name=ct.name)
    transposed.attribute.extend(ct.attribute)
    up_conv = helper.make_node("Conv", [up, const(pad_out(w[:, :c_up], 0), "w_up"), const(pad_out(b, 0), "b")],
                               [f"{p}/up_part"], name=f"{p}/up_conv")
    up_conv.attribute.extend(conv_attrs)
    stage = (
        after(skip, "skip_after_x", ct.input[0])
        + [skip_conv]
        + after(ct.input[0], "x_after_skip", f"{p}/skip_part")
        + [transposed, up_conv,
           helper.make_node("Add", [f"{p}/up_part", f"{p}/skip_part"], [f"{p}/o"], name=f"{p}/sum")]
    )

    # The norm and what follows read the C + 1 channel tensor.
    o_wide, a_wide = f"{p}/o", f"{p}/activation"
    for node in norm_nodes:
        for i, name in enumerate(node.input):
            if name == o:
                node.input[i] = o_wide
    norm.input[1] = const(np.concatenate([norm_scale, [1]]).astype(w.dtype), "norm_scale")
    norm.input[2] = const(np.concatenate([norm_bias, [0]]).astype(w.dtype), "norm_bias")
    act.output[0] = a_wide
    seg.input[0] = a_wide
    seg.input[1] = const(np.concatenate([w_seg, np.zeros((w_seg.shape[0], 1) + w_seg.shape[2:], w_seg.dtype)],
                                        axis=1), "w_seg")

    new_nodes = []
    for node in g.node:
        if node is ct:
            new_nodes.extend(stage)
        elif node is not cat and node is not conv:
            new_nodes.append(node)
    del g.node[:]
    g.node.extend(new_nodes)
    g.initializer.extend(added)
    read = {name for node in g.node for name in node.input}
    kept = [t for t in g.initializer if t.name in read]
    del g.initializer[:]
    g.initializer.extend(kept)
    # Shapes recorded for the rewritten tensors are stale.
    del g.value_info[:]


def main(argv):
    """Rewrite IN.onnx into OUT.onnx (metadata kept)."""
    import onnx

    if len(argv) != 2:
        print("usage: lean_decoder.py IN.onnx OUT.onnx", file=sys.stderr)
        return 2
    model = onnx.load(argv[0])
    try:
        rewrite_lean_decoder(model)
    except NotApplicable as e:
        print(f"{argv[0]}: not rewritten: {e}", file=sys.stderr)
        return 1
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, argv[1])
    print(f"wrote {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
