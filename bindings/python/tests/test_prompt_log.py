"""The prompt log through the Python binding: JSON naming every call that changed the session, in
(i, j, k), with the model and image hashes; nothing logged for a failed call."""

import json
import pathlib
import sys
import unittest

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bindings" / "python"))

import nninteractive_native as nni  # noqa: E402

MODEL = str(ROOT / "models" / "blob-grow-p32.onnx")


class PromptLogTest(unittest.TestCase):
    def test_export_log(self):
        image = np.full((40, 48, 56), 100, np.int16)
        image[10:20, 12:22, 30:40] = 1000
        s = nni.Session(MODEL, device="cpu", num_threads=1)
        with self.assertRaises(nni.NniError) as e:
            s.export_log()
        self.assertEqual(e.exception.status_name, "NNI_ERR_NO_IMAGE")
        s.set_image(image)
        s.add_point((15, 17, 35))  # (a0, a1, a2)
        scribble = np.zeros(image.shape, np.uint8)
        scribble[15, 17, 31:39] = 1
        s.add_scribble(scribble, positive=False)
        s.undo()
        with self.assertRaises(nni.NniError):
            s.add_point((500, 0, 0), run_prediction=True)
        log = json.loads(s.export_log())
        self.assertEqual(log["format"], "nninteractive-native prompt log")
        self.assertEqual([c["op"] for c in log["calls"]], ["point", "scribble", "undo"])
        self.assertEqual(log["calls"][0]["ijk"], [35.0, 17.0, 15.0])
        scribble_call = log["calls"][1]
        self.assertEqual((scribble_call["min_ijk"], scribble_call["max_ijk"]), ([31, 17, 15], [39, 18, 16]))
        self.assertEqual(scribble_call["rle"], [[1, 8]])
        self.assertEqual(log["image"]["dims_ijk"], [56, 48, 40])
        self.assertEqual(log["mask"]["foreground_voxels"], int(np.count_nonzero(s.get_mask())))
        self.assertEqual(log["model"]["name"], "blob-grow-p32")
        s.close()


if __name__ == "__main__":
    unittest.main()
