"""Tests of the Python binding (bindings/python/nninteractive_native) over the built library,
with the region-growing test model: prompts by numpy arrays, sub-block masks placed at an
offset (scribble, lasso, initial mask), undo, changed regions and error mapping.

    NNI_LIBRARY=target/debug/libnninteractive.so .venv/bin/python -m unittest discover -s bindings/python/tests
"""
import os
import pathlib
import sys
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


class BindingTest(unittest.TestCase):
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


if __name__ == "__main__":
    unittest.main()
