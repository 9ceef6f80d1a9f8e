"""Tests of the model tools that rewrite converted graphs (tools/model/lean_decoder.py, and
tools/model/to_fp16.py on its output; tools/model/triton_repo.py's batch axis), on a small U-Net end built here: ONNX Runtime runs the graph
before and after each rewrite on the same random input.

    .venv/bin/python -m unittest tools/test/test_model_tools.py
"""

import json
import os
import sys
import unittest

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools", "model"))

import convert_model  # noqa: E402
import lean_decoder  # noqa: E402
import to_bf16  # noqa: E402
import to_fp16  # noqa: E402
import triton_repo  # noqa: E402

SHAPE = [1, 3, 16, 16, 16]


def small_unet(seed=0, with_concat=True):
    """input -> encoder conv (skip, 6 ch) -> strided conv (8 ch, half size) -> ConvTranspose (6 ch)
    -> Concat(up, skip) -> Conv -> InstanceNormalization -> LeakyRelu -> 1x1 Conv -> logits, with
    the exporter's habit of sharing a weight through an Identity node. `with_concat=False` adds
    the two instead (a graph the rewrite must refuse)."""
    rng = np.random.default_rng(seed)
    inits = []

    def w(name, *shape, scale=0.3):
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name))
        return name

    conv3 = dict(kernel_shape=[3, 3, 3], pads=[1] * 6)
    nodes = [
        helper.make_node("Conv", ["input", w("enc.w", 6, 3, 3, 3, 3), w("enc.b", 6)], ["enc"], **conv3),
        helper.make_node("LeakyRelu", ["enc"], ["skip"], alpha=0.01),
        helper.make_node("Conv", ["skip", w("down.w", 8, 6, 2, 2, 2), w("down.b", 8)], ["down"],
                         kernel_shape=[2, 2, 2], strides=[2, 2, 2]),
        helper.make_node("LeakyRelu", ["down"], ["low"], alpha=0.01),
        helper.make_node("Identity", ["enc.b"], ["up.b"]),
        helper.make_node("ConvTranspose", ["low", w("up.w", 8, 6, 2, 2, 2), "up.b"], ["up"],
                         kernel_shape=[2, 2, 2], strides=[2, 2, 2]),
    ]
    if with_concat:
        nodes.append(helper.make_node("Concat", ["up", "skip"], ["cat"], axis=1))
        nodes.append(helper.make_node("Conv", ["cat", w("dec.w", 5, 12, 3, 3, 3), w("dec.b", 5)], ["dec"], **conv3))
    else:
        nodes.append(helper.make_node("Add", ["up", "skip"], ["cat"]))
        nodes.append(helper.make_node("Conv", ["cat", w("dec.w", 5, 6, 3, 3, 3), w("dec.b", 5)], ["dec"], **conv3))
    inits.append(numpy_helper.from_array((1 + 0.1 * rng.standard_normal(5)).astype(np.float32), "norm.scale"))
    nodes += [
        helper.make_node("InstanceNormalization", ["dec", "norm.scale", w("norm.bias", 5)], ["norm"], epsilon=1e-5),
        helper.make_node("LeakyRelu", ["norm"], ["act"], alpha=0.01),
        helper.make_node("Conv", ["act", w("seg.w", 2, 5, 1, 1, 1), w("seg.b", 2)], ["logits"], kernel_shape=[1, 1, 1]),
    ]
    graph = helper.make_graph(
        nodes, "small_unet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2, *SHAPE[2:]])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    meta = model.metadata_props.add()
    meta.key = to_fp16.META_KEY
    meta.value = json.dumps({"name": "small-unet", "input_name": "input", "output_name": "logits"})
    return onnx.shape_inference.infer_shapes(model, strict_mode=True)


def run(model, x):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def rewritten(model):
    model = onnx.ModelProto.FromString(model.SerializeToString())
    lean_decoder.rewrite_lean_decoder(model)
    model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model, full_check=True)
    return model


def with_patch_size(model):
    """`model` with the patch size in its metadata (to_bf16.py finds the full resolution by it)."""
    for entry in model.metadata_props:
        if entry.key == to_fp16.META_KEY:
            meta = json.loads(entry.value)
            meta["patch_size"] = SHAPE[2:]
            entry.value = json.dumps(meta)
    return model


class Bfloat16VariantTest(unittest.TestCase):
    def setUp(self):
        self.x = np.random.default_rng(2).standard_normal(SHAPE).astype(np.float32)
        converted = with_patch_size(small_unet())
        convert_model.rewrite_instance_norms(converted)
        del converted.graph.value_info[:]
        self.converted = onnx.shape_inference.infer_shapes(converted, strict_mode=True)
        self.variant, self.meta, self.norms, self.transposed = to_bf16.convert(
            onnx.ModelProto.FromString(self.converted.SerializeToString()), "ab" * 32)
        onnx.checker.check_model(self.variant, full_check=True)

    def test_the_variant_computes_the_same_with_the_full_resolution_decoder_in_the_tail(self):
        """Native instance norms again; every full-resolution decoder convolution a ConvTranspose
        (the graph tail OpenVINO keeps in float32); the encoder's convolutions untouched."""
        self.assertEqual(self.meta["weights"], "bfloat16-plan")
        self.assertEqual(self.meta["source_sha256"], "ab" * 32)
        self.assertEqual((self.norms, self.transposed), (1, 2))
        ops = [n.op_type for n in self.variant.graph.node]
        self.assertEqual(ops.count("InstanceNormalization"), 1)
        self.assertFalse(any("/nni/" in n.name for n in self.variant.graph.node))
        self.assertEqual([n.output[0] for n in self.variant.graph.node if n.op_type == "Conv"], ["enc", "down"])
        a, b = run(self.converted, self.x), run(self.variant, self.x)
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5 * float(np.abs(a).max()))
        tail = to_bf16.float32_tail(self.variant.graph)
        # The walk passes the ConvTranspose to the activation below it and stops at the Convs.
        for name in ("logits", "norm", "dec", "up", "skip", "low"):
            self.assertIn(name, tail)
        for name in ("enc", "down"):
            self.assertNotIn(name, tail)

    def test_the_emulation_rounds_outside_the_tail_only(self):
        """The encoder's convolutions' weights, inputs and outputs are bfloat16 values; the tail's
        weights are not rounded; the logits move a little, not the mask."""
        emu, rounded, tail = to_bf16.emulate(onnx.ModelProto.FromString(self.variant.SerializeToString()))
        onnx.checker.check_model(emu, full_check=True)
        inits = {i.name: numpy_helper.to_array(i) for i in emu.graph.initializer}
        low_bits = lambda a: np.asarray(a, np.float32).view(np.uint32) & 0xFFFF  # noqa: E731
        for conv in (n for n in emu.graph.node if n.op_type == "Conv"):
            self.assertFalse(low_bits(inits[conv.input[1]]).any(), conv.output[0])
        seg = next(n for n in emu.graph.node if n.output[0] == "logits")
        self.assertTrue(low_bits(inits[seg.input[1]]).any())
        # The input is rounded where the encoder reads it; the tail reads it exactly.
        self.assertTrue(any(n.op_type == "Cast" and n.input[0] == "input" for n in emu.graph.node))
        a, b = run(self.variant, self.x), run(emu, self.x)
        self.assertFalse(np.array_equal(a, b))
        self.assertGreater(np.mean(a.argmax(1) == b.argmax(1)), 0.98)
        self.assertEqual(json.loads(next(e.value for e in emu.metadata_props if e.key == to_fp16.META_KEY))["weights"],
                         "bfloat16-emulated")


class LeanDecoderTest(unittest.TestCase):
    def setUp(self):
        self.x = np.random.default_rng(1).standard_normal(SHAPE).astype(np.float32)

    def assert_same_logits(self, a, b):
        self.assertEqual(a.shape, b.shape)
        scale = float(np.abs(a).max())
        self.assertGreater(scale, 0.1)
        np.testing.assert_allclose(b, a, rtol=0, atol=2e-6 * scale)

    def test_same_logits_and_no_concat(self):
        model = small_unet()
        lean = rewritten(model)
        self.assert_same_logits(run(model, self.x), run(lean, self.x))
        ops = [n.op_type for n in lean.graph.node]
        self.assertNotIn("Concat", ops)
        self.assertEqual(ops.count("ConvTranspose"), 1)
        # Every convolution's weights are still constants (OpenVINO, TensorRT and to_fp16 need it).
        consts = {t.name for t in lean.graph.initializer}
        aliases = {n.output[0]: n.input[0] for n in lean.graph.node if n.op_type == "Identity"}
        for node in lean.graph.node:
            if node.op_type in ("Conv", "ConvTranspose"):
                for name in node.input[1:]:
                    self.assertIn(aliases.get(name, name), consts, f"{node.name} reads {name}")
        # The stage's tensors have one channel more than the network's: 5 + 1.
        shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim] for vi in lean.graph.value_info}
        self.assertEqual(shapes["dec/nni_lean/o"][1], 6)

    def test_the_skip_conv_waits_for_the_stage_below_and_the_upsampling_for_it(self):
        lean = rewritten(small_unet())
        order = [n.name for n in lean.graph.node]
        skip_conv = order.index("dec/nni_lean/skip_conv")
        readers = {name: n.name for n in lean.graph.node for name in n.input}
        # The skip conv reads skip + 0 * low[0..]: it cannot run before the stage below exists.
        skip_input = next(n for n in lean.graph.node if n.name == "dec/nni_lean/skip_conv").input[0]
        producer = next(n for n in lean.graph.node if skip_input in n.output)
        self.assertEqual(producer.op_type, "Add")
        self.assertIn("skip", producer.input)
        ct = next(n for n in lean.graph.node if n.op_type == "ConvTranspose")
        ct_input_producer = next(n for n in lean.graph.node if ct.input[0] in n.output)
        self.assertEqual(ct_input_producer.op_type, "Add")
        ops = [n.op_type for n in lean.graph.node]
        self.assertLess(skip_conv, ops.index("ConvTranspose"))
        self.assertIn("dec/nni_lean/skip_part", readers)

    def test_after_the_instance_norm_rewrite_too(self):
        """convert_model.py rewrites the stage first, then the instance norms (float64 statistics);
        lean_decoder.py on an already converted model meets the rewritten norm: both agree."""
        model = small_unet()
        reference = run(model, self.x)
        lean_then_norm = rewritten(model)
        convert_model.rewrite_instance_norms(lean_then_norm)
        del lean_then_norm.graph.value_info[:]
        norm_then_lean = onnx.ModelProto.FromString(model.SerializeToString())
        convert_model.rewrite_instance_norms(norm_then_lean)
        del norm_then_lean.graph.value_info[:]
        norm_then_lean = rewritten(onnx.shape_inference.infer_shapes(norm_then_lean, strict_mode=True))
        self.assertNotIn("InstanceNormalization", [n.op_type for n in norm_then_lean.graph.node])
        a, b = run(lean_then_norm, self.x), run(norm_then_lean, self.x)
        self.assert_same_logits(reference, a)
        np.testing.assert_array_equal(a, b)

    def test_float16_variant_of_the_rewritten_stage(self):
        """to_fp16.py names its casts apart: the rewritten stage feeds a ConvTranspose straight into
        a Conv, which once gave two tensors one name."""
        lean = rewritten(small_unet())
        half, meta, count = to_fp16.convert(onnx.ModelProto.FromString(lean.SerializeToString()))
        onnx.checker.check_model(half, full_check=True)
        self.assertEqual(meta["weights"], "float16")
        self.assertEqual(count, sum(n.op_type in ("Conv", "ConvTranspose") for n in lean.graph.node))
        a, b = run(lean, self.x), run(half, self.x)
        self.assertGreater(np.mean(a.argmax(1) == b.argmax(1)), 0.99)

    def test_a_size_limit_leaves_small_stages_as_exported(self):
        """convert_model.py's default rewrites only stages whose tensors reach a size: 5 channels at
        16^3 are 80 KiB."""
        model = small_unet()
        before = model.SerializeToString()
        with self.assertRaisesRegex(lean_decoder.NotApplicable, "below"):
            lean_decoder.rewrite_lean_decoder(model, min_tensor_bytes=81 << 10)
        self.assertEqual(model.SerializeToString(), before)
        lean_decoder.rewrite_lean_decoder(model, min_tensor_bytes=80 << 10)
        self.assertNotIn("Concat", [n.op_type for n in model.graph.node])

    def test_refuses_a_graph_without_the_stage(self):
        model = small_unet(with_concat=False)
        before = model.SerializeToString()
        with self.assertRaises(lean_decoder.NotApplicable):
            lean_decoder.rewrite_lean_decoder(model)
        self.assertEqual(model.SerializeToString(), before)


if __name__ == "__main__":
    unittest.main()


class TritonRepositoryTest(unittest.TestCase):
    """triton_repo.py: the converted graph (float64 instance-norm statistics, then
    BatchNormalization) with a dynamic batch axis, each row of a batch bit-identical to the
    same input alone, and the config Triton reads."""

    def setUp(self):
        converted = with_patch_size(small_unet())
        convert_model.rewrite_instance_norms(converted)
        del converted.graph.value_info[:]
        self.converted = converted
        rng = np.random.default_rng(5)
        self.x = rng.standard_normal([3, *SHAPE[1:]]).astype(np.float32)

    def batch_graph(self, rewrite_norms=True):
        model = onnx.ModelProto.FromString(self.converted.SerializeToString())
        if rewrite_norms:
            return triton_repo.batched(model)
        for value in list(model.graph.input) + list(model.graph.output):
            value.type.tensor_type.shape.dim[0].dim_param = "batch"
        return model

    def test_rows_of_a_batch_are_what_each_gives_alone(self):
        model = self.batch_graph()
        onnx.checker.check_model(model, full_check=True)
        self.assertEqual(sum(n.name.endswith("/triton/rows_as_channels") for n in model.graph.node), 1)
        both = run(model, self.x)
        self.assertEqual(both.shape[0], 3)
        for row in range(3):
            alone = run(self.converted, self.x[row:row + 1])
            np.testing.assert_array_equal(both[row:row + 1], alone)

    def test_without_the_norm_rewrite_a_batch_fails(self):
        """The converter's statistics are per channel over batch 1: a plain dynamic batch axis is
        not enough (what the rewrite is for)."""
        with self.assertRaises(Exception):
            run(self.batch_graph(rewrite_norms=False), self.x)

    def test_the_config_carries_shapes_batching_and_the_metadata(self):
        meta = {"name": "m", "patch_size": [4, 5, 6], "num_image_channels": 1, "num_interaction_channels": 7,
                "license": 'say "hi"\\ \n'}
        text = triton_repo.config_text("m", meta, "ab" * 32, 4, 2000, "gpu", 2)
        self.assertIn('platform: "onnxruntime_onnx"', text)
        self.assertIn("max_batch_size: 4", text)
        self.assertIn("dims: [ 8, 4, 5, 6 ]", text)
        self.assertIn("dims: [ 2, 4, 5, 6 ]", text)
        self.assertIn("max_queue_delay_microseconds: 2000", text)
        self.assertIn("count: 2\n    kind: KIND_GPU", text)
        self.assertIn('key: "nninteractive.sha256"\n  value: { string_value: "' + "ab" * 32, text)
        # The metadata's JSON survives protobuf text-format quoting.
        line = next(l for l in text.splitlines() if "string_value" in l and "patch_size" in l)
        quoted = line.split("string_value: ", 1)[1].rsplit(" }", 1)[0]
        self.assertEqual(json.loads(quoted[1:-1].encode().decode("unicode_escape")), meta)
