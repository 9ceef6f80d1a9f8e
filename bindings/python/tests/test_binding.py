"""Tests of the Python binding (bindings/python/nninteractive_native) over the built library,
with the region-growing test model: prompts by numpy arrays, sub-block masks placed at an
offset (scribble, lasso, initial mask), undo, changed regions and error mapping.

    NNI_LIBRARY=target/debug/libnninteractive.so .venv/bin/python -m unittest discover -s bindings/python/tests
"""
import ctypes
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
import nninteractive_native as nni  # noqa: E402

MODEL = str(ROOT / "models" / "blob-grow-p32.onnx")
SHAPE = (40, 48, 44)  # (a0, a1, a2)


def sphere(center, radius):
    a0, a1, a2 = np.meshgrid(*(np.arange(n) for n in SHAPE), indexing="ij")
    return ((a0 - center[0]) ** 2 + (a1 - center[1]) ** 2 + (a2 - center[2]) ** 2 <= radius**2).astype(np.uint8)


def dice(a, b):
    a, b = a != 0, b != 0
    return 2.0 * np.logical_and(a, b).sum() / max(1, a.sum() + b.sum())


class SessionFixture(unittest.TestCase):
    """Two spheres A and B in a 40x48x44 int16 image, and sessions on the test model."""

    @classmethod
    def setUpClass(cls):
        nni.runtime_init(
            os.environ.get("NNI_ONNXRUNTIME_PATH") or str(ROOT / ".deps" / "onnxruntime" / "libonnxruntime.so")
        )
        cls.a = sphere((12, 14, 15), 6)
        cls.b = sphere((28, 32, 30), 5)
        cls.image = np.where(cls.a + cls.b > 0, 1000, 100).astype(np.int16)

    def session(self):
        s = nni.Session(MODEL, device="cpu")
        s.set_image(self.image)
        return s


class BindingTest(SessionFixture):
    def test_warm_up_runs_at_creation_and_tensorrt_is_cuda_only(self):
        with nni.Session(MODEL, device="cpu", warm_up=True) as s:
            self.assertIn("warmed up at creation (", s.describe())
            s.set_image(self.image)
            s.add_point((12, 14, 15))
            self.assertGreaterEqual(dice(s.get_mask(), self.a), 0.95)
        with self.assertRaises(nni.NniError) as e:
            nni.Session(MODEL, device="cpu", backend="tensorrt")
        self.assertIn("CUDA only", str(e.exception))

    def test_point_undo_and_changed_region(self):
        with self.session() as s:
            s.add_point((12, 14, 15))
            self.assertGreaterEqual(dice(s.get_mask(), self.a), 0.95)
            lo, hi = s.get_changed_region()
            self.assertTrue(all(l <= c < h for l, c, h in zip(lo, (12, 14, 15), hi)))
            s.add_point((12, 14, 15), positive=False)
            self.assertLess(s.get_mask().sum(), self.a.sum() // 10)
            s.undo()
            self.assertGreaterEqual(dice(s.get_mask(), self.a), 0.95)

    def test_queued_prompts_run_on_predict_and_capabilities_are_the_models(self):
        with self.session() as s:
            s.add_point((12, 14, 15), run_prediction=False)
            self.assertEqual(s.get_mask().sum(), 0)
            self.assertTrue(s.predict())
            self.assertGreaterEqual(dice(s.get_mask(), self.a), 0.95)
            self.assertFalse(s.predict())
            caps = s.capabilities()
            self.assertTrue(caps["supported_interactions"]["points"])
            self.assertEqual(caps["channel_mapping"]["prev_seg"], 0)
            self.assertEqual(caps["model"], "blob-grow-p32")
            self.assertTrue(caps["supports_undo"])

    def test_undo_and_redo_step_through_the_history(self):
        with self.session() as s:
            s.add_point((12, 14, 15))
            only_a = s.get_mask()
            s.add_point((28, 32, 30))
            both = s.get_mask()
            self.assertFalse(s.redo())
            self.assertTrue(s.undo())
            np.testing.assert_array_equal(s.get_mask(), only_a)
            self.assertTrue(s.undo())
            self.assertEqual(s.get_mask().sum(), 0)
            self.assertFalse(s.undo())
            self.assertTrue(s.redo())
            self.assertTrue(s.redo())
            np.testing.assert_array_equal(s.get_mask(), both)
            self.assertFalse(s.redo())

    def test_sub_block_prompts(self):
        with self.session() as s:
            stroke = np.zeros((1, 5, 5), np.uint8)
            stroke[0, 2, :] = 1
            s.add_scribble(stroke, offset=(28, 30, 28))
            self.assertGreaterEqual(dice(s.get_mask(), self.b), 0.95)
            s.reset()
            disk = np.ones((1, 3, 3), np.uint8)
            s.add_lasso(disk, offset=(12, 13, 14))
            self.assertGreaterEqual(dice(s.get_mask(), self.a), 0.95)

    def test_initial_mask_at_an_offset_equals_the_image_shaped_one(self):
        lo = np.argwhere(self.b).min(0)
        hi = np.argwhere(self.b).max(0) + 1
        block = self.b[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
        with self.session() as s, self.session() as t:
            s.add_point((12, 14, 15))
            s.set_initial_mask(block, offset=lo)
            t.set_initial_mask(self.b)
            np.testing.assert_array_equal(s.get_mask(), t.get_mask())
            np.testing.assert_array_equal(s.get_mask(), self.b)
            changed_lo, changed_hi = s.get_changed_region()
            self.assertLess(np.prod(np.subtract(changed_hi, changed_lo)), self.b.size)  # not the image
            s.undo()
            self.assertGreaterEqual(dice(s.get_mask(), self.a), 0.95)

    def test_errors_map_to_status_codes_and_change_nothing(self):
        with self.session() as s:
            s.add_point((12, 14, 15))
            before = s.get_mask()
            with self.assertRaises(nni.NniError) as e:
                s.set_initial_mask(np.ones((4, 4, 4), np.uint8), offset=(38, 0, 0))
            self.assertEqual(e.exception.status_name, "NNI_ERR_OUT_OF_BOUNDS")
            with self.assertRaises(nni.NniError) as e:
                s.add_point((SHAPE[0] + 3, 0, 0))
            self.assertEqual(e.exception.status_name, "NNI_ERR_OUT_OF_BOUNDS")
            np.testing.assert_array_equal(s.get_mask(), before)


class ConventionTest(SessionFixture):
    """The conventions every binding shares (C, C++, Rust, Python): what cancels from the progress
    callback, what an exception in it does, and the calls' defaults."""

    def test_a_true_return_cancels_and_changes_nothing(self):
        with self.session() as s:
            s.add_point((12, 14, 15))
            before = s.get_mask()
            s.set_progress_callback(lambda fraction, stage: True)
            with self.assertRaises(nni.NniError) as e:
                s.add_point((28, 32, 30))
            self.assertEqual(e.exception.status_name, "NNI_ERR_CANCELLED")
            self.assertEqual(e.exception.status, nni.status_code("NNI_ERR_CANCELLED"))
            np.testing.assert_array_equal(s.get_mask(), before)

    def test_none_or_false_go_on_and_progress_never_goes_back(self):
        with self.session() as s:
            seen = []
            s.set_progress_callback(lambda fraction, stage: seen.append((fraction, stage)))
            s.add_point((12, 14, 15))
            self.assertGreaterEqual(dice(s.get_mask(), self.a), 0.95)
            self.assertTrue(seen and all(stage for _, stage in seen), seen)
            fractions = [f for f, _ in seen]
            self.assertEqual(fractions, sorted(fractions))
            self.assertEqual(fractions[-1], 1.0)
            s.set_progress_callback(lambda fraction, stage: False)
            s.add_point((28, 32, 30))
            self.assertGreaterEqual(dice(s.get_mask(), np.maximum(self.a, self.b)), 0.95)

    def test_an_exception_in_the_callback_cancels_and_is_raised_from_the_call(self):
        class UserAbort(Exception):
            pass

        with self.session() as s:
            s.add_point((12, 14, 15))
            before = s.get_mask()
            calls = []

            def raising(fraction, stage):
                calls.append(stage)
                raise UserAbort("stop")

            s.set_progress_callback(raising)
            with self.assertRaises(UserAbort):
                s.add_point((28, 32, 30))
            self.assertEqual(len(calls), 1, "not called again once it raised")
            np.testing.assert_array_equal(s.get_mask(), before)
            # the undo level of the last good prompt survives, and the session still works
            s.set_progress_callback(None)
            s.add_point((28, 32, 30))
            self.assertGreaterEqual(dice(s.get_mask(), np.maximum(self.a, self.b)), 0.95)
            self.assertTrue(s.undo())
            np.testing.assert_array_equal(s.get_mask(), before)

    def test_calls_from_the_callback_never_deadlock(self):
        with self.session() as s:
            s.add_point((12, 14, 15))
            before = s.get_mask()
            seen = {}

            def callback(fraction, stage):
                if "mask" not in seen:
                    seen["mask"] = s.get_mask()  # a read: answered at once
                    try:
                        s.add_point((28, 32, 30))  # a change: refused at once
                    except nni.NniError as e:
                        seen["busy"] = e.status_name

            s.set_progress_callback(callback)
            s.add_point((28, 32, 30))
            np.testing.assert_array_equal(seen["mask"], before)
            self.assertEqual(seen["busy"], "NNI_ERR_BUSY")
            self.assertGreaterEqual(dice(s.get_mask(), np.maximum(self.a, self.b)), 0.95)

    def test_defaults(self):
        with self.session() as s:
            s.add_point((12, 14, 15))  # positive, runs the prediction
            self.assertGreaterEqual(dice(s.get_mask(), self.a), 0.95)
            s.set_initial_mask(self.b)  # no prediction: the mask is the one given, exactly
            np.testing.assert_array_equal(s.get_mask(), self.b)
            s.set_initial_mask(self.a, run_prediction=True)
            self.assertGreaterEqual(dice(s.get_mask(), self.a), 0.95)


class PrecisionTest(SessionFixture):
    """The precision and backend options reach the library, which names what runs."""

    def test_exact_is_onnx_runtime_float32_and_fast_names_its_path(self):
        with self.session() as s:
            self.assertIn("ONNX Runtime", s.describe())
            self.assertIn("float32", s.describe())
        with nni.Session(MODEL, device="cpu", precision="fast") as s:
            d = s.describe()
            self.assertIn("OpenVINO", d)  # .deps/openvino, installed by tools/setup/core.sh
            self.assertTrue("bfloat16" in d or "no native bfloat16" in d, d)
            s.set_image(self.image)
            s.add_point((12, 14, 15))
            self.assertGreaterEqual(dice(s.get_mask(), self.a), 0.95)
        with nni.Session(MODEL, device="cpu", backend="openvino") as s:
            self.assertIn("OpenVINO", s.describe())
            self.assertIn("float32", s.describe())

    def test_unknown_values_are_refused(self):
        with self.assertRaises(ValueError):
            nni.Session(MODEL, precision="half")
        with self.assertRaises(ValueError):
            nni.Session(MODEL, backend="tensorflow")


class RemoteNetworkOptionsTest(unittest.TestCase):
    """The remote network's options through the binding (the network itself runs against a real
    Triton server in the `triton` stage)."""

    def test_bad_urls_retries_and_absent_servers_are_refused_clearly(self):
        with self.assertRaises(nni.NniError) as e:
            nni.Session(None, network_url="triton:8000/v2/models/m")
        self.assertEqual(e.exception.status_name, "NNI_ERR_INVALID_ARGUMENT")
        self.assertIn("/v2/models/NAME", e.exception.message)
        with self.assertRaises(nni.NniError) as e:
            nni.Session(None, network_url="http://127.0.0.1:9/v2/models/m", network_retries=0)
        self.assertEqual(e.exception.status_name, "NNI_ERR_UNAVAILABLE")
        with self.assertRaises(nni.NniError) as e:
            nni.Session(None, network_url="http://127.0.0.1:9/v2/models/m", network_retries=11)
        self.assertEqual(e.exception.status_name, "NNI_ERR_INVALID_ARGUMENT")
        with self.assertRaises(ValueError):
            nni.Session(None, network_url="http://127.0.0.1:9/v2/models/m", network_timeout=0)
        with self.assertRaises(nni.NniError) as e:
            nni.Session(None, network_url="https://127.0.0.1:9/v2/models/m", network_ca_file=__file__)
        self.assertEqual(e.exception.status_name, "NNI_ERR_INVALID_ARGUMENT")
        self.assertIn("holds no certificate", e.exception.message)
        with self.assertRaises(nni.NniError) as e:
            nni.Session(None)
        self.assertEqual(e.exception.status_name, "NNI_ERR_NULL_POINTER")


class HostileModelTest(unittest.TestCase):
    """Models whose metadata disagrees with their graph, or asks for absurd sizes, are refused when
    the session is made (NNI_ERR_MODEL, naming what disagrees), never at the first prompt."""

    def model(self, path, graph_patch, meta):
        import json

        import onnx
        from onnx import TensorProto, helper

        p = graph_patch
        x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 8, p, p, p])
        y = helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2, p, p, p])
        starts = helper.make_tensor("starts", TensorProto.INT64, [1], [0])
        ends = helper.make_tensor("ends", TensorProto.INT64, [1], [2])
        axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
        node = helper.make_node("Slice", ["input", "starts", "ends", "axes"], ["logits"])
        graph = helper.make_graph([node], "hostile", [x], [y], [starts, ends, axes])
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        helper.set_model_props(m, {"nninteractive.meta": json.dumps(meta)})
        onnx.save(m, path)
        return path

    def refused(self, path, says):
        with self.assertRaises(nni.NniError) as e:
            nni.Session(path, device="cpu")
        self.assertEqual(e.exception.status_name, "NNI_ERR_MODEL")
        self.assertIn(says, e.exception.message)

    def test_disagreeing_or_absurd_models_are_refused_up_front(self):
        with tempfile.TemporaryDirectory() as d:
            ok = self.model(os.path.join(d, "ok.onnx"), 16, {"patch_size": [16, 16, 16]})
            with nni.Session(ok, device="cpu") as s:  # the well-formed one opens
                self.assertIn("float32", s.describe())
            self.refused(self.model(os.path.join(d, "a.onnx"), 16, {"patch_size": [32, 32, 32]}), "metadata needs")
            self.refused(self.model(os.path.join(d, "b.onnx"), 16, {"patch_size": [4096, 4096, 4096]}), "patch_size")
            self.refused(
                self.model(os.path.join(d, "c.onnx"), 16, {"patch_size": [16, 16, 16], "num_interaction_channels": 2000000000}),
                "num_interaction_channels",
            )
            bad = os.path.join(d, "truncated.onnx")
            with open(ok, "rb") as f:
                data = f.read()
            with open(bad, "wb") as f:
                f.write(data[: len(data) // 2])
            with self.assertRaises(nni.NniError) as e:
                nni.Session(bad, device="cpu")
            self.assertEqual(e.exception.status_name, "NNI_ERR_MODEL")
            for backend in ("onnxruntime", "openvino"):
                with self.assertRaises(nni.NniError) as e:
                    nni.Session(os.path.join(d, "a.onnx"), device="cpu", backend=backend)
                self.assertEqual(e.exception.status_name, "NNI_ERR_MODEL", backend)


class RuntimeLoadTest(unittest.TestCase):
    """A failed runtime load is not final (a typo in a settings dialog): a fresh process tries a
    wrong path, then the right one, for ONNX Runtime and for OpenVINO."""

    def test_a_failed_load_can_be_retried(self):
        deps = ROOT / ".deps"
        code = f"""
import sys
sys.path.insert(0, {str(ROOT / "bindings" / "python")!r})
import nninteractive_native as nni
for init, good in ((nni.runtime_init, {str(deps / "onnxruntime" / "libonnxruntime.so")!r}),
                   (nni.openvino_init, {str(deps / "openvino" / "libopenvino_c.so")!r})):
    try:
        init("/nonexistent/lib.so")
        sys.exit("a wrong path was accepted")
    except nni.NniError as e:
        assert e.status_name == "NNI_ERR_RUNTIME", e
    init(good)
    init(good)  # idempotent
with nni.Session({MODEL!r}, device="cpu", precision="fast") as s:
    assert "OpenVINO" in s.describe(), s.describe()
print("retried")
"""
        env = {k: v for k, v in os.environ.items() if k not in ("NNI_ONNXRUNTIME_PATH", "NNI_OPENVINO_PATH", "ORT_DYLIB_PATH")}
        env["NNI_LIBRARY"] = str(nni._find_library()) if hasattr(nni, "_find_library") else env.get("NNI_LIBRARY", "")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        self.assertEqual(out.returncode, 0, out.stderr + out.stdout)
        self.assertIn("retried", out.stdout)


class LayoutTest(unittest.TestCase):
    """The binding's constants and struct layouts against the library: status codes are read from
    it (and must equal the header's), the option struct's size is checked when it is loaded, and
    every struct offset and constant the binding copies equals what a C compiler makes of the
    header generated from the library."""

    HEADER = ROOT / "include" / "nninteractive.h"

    def test_status_codes_come_from_the_library_and_match_the_header(self):
        nni.load_library()
        text = self.HEADER.read_text()
        enum = text[text.index("enum nni_status") : text.index("};", text.index("enum nni_status"))]
        header = {m.group(1): int(m.group(2)) for m in re.finditer(r"(NNI_\w+) = (-?\d+)", enum)}
        self.assertEqual(nni.STATUS_CODES, header)
        self.assertEqual(nni.STATUS_NAMES, {v: k for k, v in header.items()})
        self.assertEqual(nni.STATUS_CODES["NNI_OK"], 0)

    def test_struct_layouts_and_constants_match_the_header(self):
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None:
            self.fail("no C compiler (tools/setup/core.sh installs one)")
        opts = [f for f, _ in nni._Options._fields_]
        desc = [f for f, _ in nni._ImageDesc._fields_]
        consts = {f"NNI_DTYPE_{np.dtype(k).name.upper()}": v for k, v in nni._DTYPES.items()}
        consts.update({f"NNI_DEVICE_{k.upper()}": v for k, v in nni.DEVICES.items()})
        consts.update({f"NNI_PRECISION_{k.upper()}": v for k, v in nni.PRECISIONS.items()})
        consts.update({f"NNI_BACKEND_{k.upper()}": v for k, v in nni.BACKENDS.items()})
        consts["NNI_ABI_VERSION"] = nni.ABI_VERSION
        lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "nninteractive.h"', "int main(void) {"]
        lines.append('printf("options %zu\\n", sizeof(nni_session_options));')
        lines.append('printf("desc %zu\\n", sizeof(nni_image_desc));')
        lines += [f'printf("options.{f} %zu\\n", offsetof(nni_session_options, {f}));' for f in opts]
        lines += [f'printf("desc.{f} %zu\\n", offsetof(nni_image_desc, {f}));' for f in desc]
        lines += [f'printf("{c} %lld\\n", (long long){c});' for c in consts]
        lines.append("return 0; }")
        with tempfile.TemporaryDirectory() as d:
            src, exe = os.path.join(d, "layout.c"), os.path.join(d, "layout")
            pathlib.Path(src).write_text("\n".join(lines) + "\n")
            subprocess.run([cc, "-std=c11", "-I", str(self.HEADER.parent), src, "-o", exe], check=True)
            out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
        c = dict(line.rsplit(" ", 1) for line in out.splitlines())
        self.assertEqual(int(c["options"]), ctypes.sizeof(nni._Options))
        self.assertEqual(int(c["desc"]), ctypes.sizeof(nni._ImageDesc))
        for f in opts:
            self.assertEqual(int(c[f"options.{f}"]), getattr(nni._Options, f).offset, f)
        for f in desc:
            self.assertEqual(int(c[f"desc.{f}"]), getattr(nni._ImageDesc, f).offset, f)
        for name, value in consts.items():
            self.assertEqual(int(c[name]), value, name)


if __name__ == "__main__":
    unittest.main()
