"""The drop-in nnInteractiveInferenceSession (nninteractive_native.inference_session) driven as its
hosts drive the reference's class, with the region-growing test model: napari-nninteractive's
calls, MITK's (a torch tensor as the target buffer, teardown by _reset_session and del network),
SlicerNNInteractive's (_last_paste_bbox after undo), the reference's single-level undo over
queued prompts and _predict, and the ValueErrors the reference raises. The torch parts run where
torch is installed (the reference environment: tools/test.sh dropin); the rest anywhere.

    NNI_LIBRARY=target/debug/libnninteractive.so .venv-ref/bin/python -m unittest bindings/python/tests/test_inference_session.py
"""
import os
import pathlib
import subprocess
import sys
import tempfile
import unittest

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bindings" / "python"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from nninteractive_native.inference_session import nnInteractiveInferenceSession  # noqa: E402
from test_binding import MODEL, SessionFixture, dice  # noqa: E402

try:
    import torch
except ImportError:  # the project's own venv has no torch
    torch = None

A_CENTRE = (12, 14, 15)
B_CENTRE = (28, 32, 30)


class DropInFixture(SessionFixture):
    def open(self, buffer=None, **kwargs):
        s = nnInteractiveInferenceSession(device="cpu", torch_n_threads=2, **kwargs)
        s.initialize_from_trained_model_folder(MODEL)
        s.set_image(self.image[None], {"spacing": [1.0, 1.0, 1.0]})
        self.buffer = np.zeros(self.image.shape, dtype=np.uint8) if buffer is None else buffer
        s.set_target_buffer(self.buffer)
        return s


class NapariCalls(DropInFixture):
    """napari-nninteractive 2.5.4's calls (widget_main.py)."""

    def test_napari_sequence(self):
        s = nnInteractiveInferenceSession(device="cpu", use_torch_compile=False, verbose=False,
                                          torch_n_threads=os.cpu_count(), do_autozoom=True)
        s.initialize_from_trained_model_folder(MODEL, 0, "checkpoint_final.pth")
        self.assertTrue(s.supported_interactions["points"])
        self.assertEqual(s.channel_mapping["prev_seg"], 0)
        self.assertEqual(s.num_interaction_channels, 7)
        self.assertTrue(s.supports_undo)
        self.assertEqual(s.license, "Apache-2.0")
        self.assertEqual(len(s.preferred_scribble_thickness), 3)
        self.assertIn("blob-grow-p32", s.network)
        s.set_image(self.image[None], {"spacing": [1.0, 1.0, 1.0]})
        buffer = np.zeros(self.image.shape, dtype=np.uint8)
        s.set_target_buffer(buffer)
        # a point without auto-run, then _predict (napari's "auto run" off)
        self.assertIsNone(s.add_point_interaction(A_CENTRE, True, False))
        self.assertEqual(buffer.sum(), 0)
        box = s._predict()
        self.assertGreaterEqual(dice(buffer, self.a), 0.95)
        self.assertEqual(box, s._last_paste_bbox)
        self.assertTrue(all(lo <= c < hi for (lo, hi), c in zip(box, A_CENTRE)))
        self.assertIsNone(s._predict())  # nothing queued
        # a stroke given as a crop with interaction_bbox, as napari sends it
        with_a = buffer.copy()
        lo = [c - 2 for c in B_CENTRE]
        crop = np.zeros((5, 5, 5), dtype=np.uint8)
        crop[2, :, 2] = 1
        box = s.add_scribble_interaction(crop, True, True, interaction_bbox=[[a, a + 5] for a in lo])
        self.assertIsNotNone(box)
        self.assertGreaterEqual(dice(buffer, np.maximum(self.a, self.b)), 0.95)
        self.assertTrue(s.undo())
        np.testing.assert_array_equal(buffer, with_a)
        self.assertFalse(s.undo())  # one level, as the reference
        s.set_do_autozoom(False)
        self.assertFalse(s.do_autozoom)
        s.reset_interactions()
        self.assertEqual(buffer.sum(), 0)
        self.assertFalse(s.undo())

    def test_model_folder_written_by_the_converter_and_training_folders(self):
        with tempfile.TemporaryDirectory() as d:
            converted = os.path.join(d, "converted")
            os.makedirs(converted)
            os.symlink(MODEL, os.path.join(converted, "model.onnx"))
            s = nnInteractiveInferenceSession(device="cpu")
            s.initialize_from_trained_model_folder(converted, 0, "checkpoint_final.pth")
            self.assertIn("blob-grow-p32", s.network)
            training = os.path.join(d, "trained")
            os.makedirs(os.path.join(training, "fold_0"))
            with self.assertRaises(ValueError) as e:
                s.initialize_from_trained_model_folder(training, 0, "checkpoint_final.pth")
            self.assertIn("nni-convert", str(e.exception))
            with self.assertRaises(ValueError) as e:
                s.initialize_from_trained_model_folder(os.path.join(d, "nothing-here"))
            self.assertIn("nni-convert", str(e.exception))
            self.assertIn("blob-grow-p32", s.network)  # the loaded model stays


class ReferenceSemantics(DropInFixture):
    def test_undo_reverts_a_queued_prompt_and_its_predict_together(self):
        s = self.open()
        s.add_point_interaction(A_CENTRE, True)
        only_a = self.buffer.copy()
        s.add_point_interaction(B_CENTRE, True, run_prediction=False)
        s._predict()
        self.assertGreaterEqual(dice(self.buffer, np.maximum(self.a, self.b)), 0.95)
        self.assertTrue(s.undo())
        np.testing.assert_array_equal(self.buffer, only_a)
        changed = s._last_paste_bbox
        self.assertTrue(all(lo <= c < hi for (lo, hi), c in zip(changed, B_CENTRE)))
        self.assertFalse(s.undo())
        # the engine's deeper history is still there under its own name
        self.assertTrue(s.undo_step())
        self.assertEqual(self.buffer.sum(), 0)
        self.assertTrue(s.redo_step())
        np.testing.assert_array_equal(self.buffer, only_a)

    def test_undo_disabled(self):
        s = self.open(enable_undo=False)
        self.assertFalse(s.supports_undo)
        s.add_point_interaction(A_CENTRE, True)
        self.assertFalse(s.undo())
        self.assertGreaterEqual(dice(self.buffer, self.a), 0.95)

    def test_boxes_are_rounded_and_clipped_as_the_reference_does(self):
        s = self.open()
        # half outside: clipped; the region written covers sphere B
        box = s.add_bbox_interaction([[22.4, 34.6], [26, 39], [B_CENTRE[2], B_CENTRE[2] + 1]], True)
        self.assertGreaterEqual(dice(self.buffer, self.b), 0.9)
        self.assertIsNotNone(box)
        s.reset_interactions()
        # just past the border on one axis: the reference keeps one voxel at that border
        self.assertIsNotNone(s.add_bbox_interaction([[0, 40], [0, 48], [44, 50]], True))
        # further out: refused, nothing changed
        before = self.buffer.copy()
        with self.assertRaises(ValueError):
            s.add_bbox_interaction([[0, 40], [0, 48], [100, 120]], True)
        np.testing.assert_array_equal(self.buffer, before)

    def test_initial_seg_fills_the_whole_buffer(self):
        s = self.open()
        self.buffer[:] = 1  # whatever was there is replaced
        self.assertIsNone(s.add_initial_seg_interaction(self.b, run_prediction=False))
        np.testing.assert_array_equal(self.buffer, self.b)
        box = s.add_initial_seg_interaction(self.a, run_prediction=True)
        self.assertIsNotNone(box)
        self.assertGreaterEqual(dice(self.buffer, self.a), 0.95)

    def test_value_errors_where_the_reference_raises(self):
        with self.assertRaises(ValueError):
            nnInteractiveInferenceSession(device="cpu", interactions_storage="zarr")
        with self.assertRaises(ValueError):
            nnInteractiveInferenceSession(device="tpu")
        s = self.open()
        before = self.buffer.copy()
        cases = [
            lambda: s.add_bbox_interaction([[10, 10], [0, 5], [0, 5]], True),  # zero size
            lambda: s.add_scribble_interaction(np.zeros((3, 3, 3), np.uint8), True),  # wrong shape
            lambda: s.add_lasso_interaction(np.zeros((3, 3, 3), np.uint8), True,
                                            interaction_bbox=[[38, 41], [0, 3], [0, 3]]),  # outside
            lambda: s.add_lasso_interaction(np.zeros((3, 3, 3), np.uint8), True,
                                            interaction_bbox=[[0, 3], [0, 3]]),  # 2 axes
            lambda: s.add_initial_seg_interaction(np.zeros((4, 4, 4), np.uint8)),  # wrong shape
            lambda: s.set_target_buffer(np.zeros((4, 4), np.uint8)),  # 2D
        ]
        for call in cases:
            with self.assertRaises(ValueError):
                call()
        with self.assertRaises(AssertionError):
            s.set_image(self.image)  # 3D: the reference asserts 4D
        np.testing.assert_array_equal(self.buffer, before)

    def test_patch_reference_for_hosts_that_import_the_class_by_name(self):
        code = (
            "import sys; sys.path.insert(0, %r)\n"
            "import nninteractive_native as n\n"
            "ours = n.patch_reference()\n"
            "from nnInteractive.inference.inference_session import nnInteractiveInferenceSession as C\n"
            "assert C is ours is n.nnInteractiveInferenceSession, C\n"
            "assert 'torch' not in sys.modules\n"
        ) % str(ROOT / "bindings" / "python")
        subprocess.run([sys.executable, "-c", code], check=True)

    def test_numpy_hosts_never_import_torch(self):
        code = (
            "import sys, numpy as np; sys.path.insert(0, %r)\n"
            "from nninteractive_native.inference_session import nnInteractiveInferenceSession as S\n"
            "s = S(device='cpu'); s.initialize_from_trained_model_folder(%r)\n"
            "img = np.full((1, 24, 24, 24), 100, np.int16); img[0, 8:16, 8:16, 8:16] = 1000\n"
            "s.set_image(img); buf = np.zeros((24, 24, 24), np.uint8); s.set_target_buffer(buf)\n"
            "s.add_point_interaction((12, 12, 12), True); assert buf.sum() > 0; s.undo()\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n"
        ) % (str(ROOT / "bindings" / "python"), MODEL)
        subprocess.run([sys.executable, "-c", code], check=True)


@unittest.skipIf(torch is None, "torch is not installed here (tools/test.sh dropin runs this with it)")
class MitkAndSlicerCalls(DropInFixture):
    def test_mitk_torch_target_buffer_and_teardown(self):
        """MITK's tool (embedded Python): torch tensor buffer; _reset_session, del network."""
        s = nnInteractiveInferenceSession(device=torch.device("cpu"), use_torch_compile=False, verbose=False,
                                          torch_n_threads=2, do_autozoom=True)
        s.initialize_from_trained_model_folder(MODEL, 0, "checkpoint_final.pth")
        s.set_image(self.image[None], {"spacing": [1.0, 1.0, 1.0]})
        buffer = torch.zeros(self.image.shape, dtype=torch.uint8)
        s.set_target_buffer(buffer)
        s.add_point_interaction(A_CENTRE, True)
        self.assertGreaterEqual(dice(buffer.numpy(), self.a), 0.95)
        s.add_lasso_interaction(torch.from_numpy(self.b), True)  # a tensor as a prompt mask too
        self.assertGreaterEqual(dice(buffer.numpy(), np.maximum(self.a, self.b)), 0.95)
        self.assertTrue(s.undo())
        self.assertGreaterEqual(dice(buffer.numpy(), self.a), 0.95)
        s._reset_session()
        self.assertIsNone(s.target_buffer)
        del s.network
        self.assertIsNone(s.network)
        with self.assertRaises(RuntimeError):
            s.set_image(self.image[None])

    def test_slicer_reads_last_paste_bbox_after_undo(self):
        s = self.open()
        s.add_point_interaction(A_CENTRE, True)
        s.add_point_interaction(B_CENTRE, True)
        with_b = self.buffer.copy()
        self.assertTrue(s.undo())
        lo_hi = s._last_paste_bbox
        region = tuple(slice(a, b) for a, b in lo_hi)
        outside = np.ones(self.image.shape, dtype=bool)
        outside[region] = False
        # every voxel the undo changed lies in _last_paste_bbox, and it is tight
        self.assertFalse(np.any((with_b != self.buffer) & outside))
        changed = np.argwhere(with_b != self.buffer)
        self.assertEqual([[int(a), int(b) + 1] for a, b in zip(changed.min(0), changed.max(0))], lo_hi)

    def test_device_as_torch_device_or_int(self):
        nnInteractiveInferenceSession(device=torch.device("cpu"))
        s = nnInteractiveInferenceSession(device=0)
        self.assertEqual(s._device, "cuda")


if __name__ == "__main__":
    unittest.main()
