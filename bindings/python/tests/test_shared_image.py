"""Many objects on one image: sessions sharing one nni_image (and one network), against the
blob-grow test model, whose masks are known exactly (every bright blob a positive click touches)."""

import pathlib
import sys
import unittest

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bindings" / "python"))

import nninteractive_native as nni  # noqa: E402

MODEL = str(ROOT / "models" / "blob-grow-p32.onnx")
SIZE = 256
RADIUS = 9


def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS")


def phantom(count):
    """A 256^3 int16 volume with `count` bright spheres on a dark noisy background, and their
    centres and label masks."""
    rng = np.random.default_rng(7)
    image = (100 + rng.integers(-10, 11, size=(SIZE, SIZE, SIZE))).astype(np.int16)
    grid = np.ogrid[:SIZE, :SIZE, :SIZE]
    centres = []
    for n in range(count):
        c = (40 + 44 * (n % 4), 40 + 60 * ((n // 4) % 3), 48 + 80 * (n % 3))
        centres.append(c)
        inside = sum((g - x) ** 2 for g, x in zip(grid, c)) <= RADIUS**2
        image[inside] = 1000
    return image, centres


def dice(a, b):
    a, b = a.astype(bool), b.astype(bool)
    return 2.0 * np.count_nonzero(a & b) / max(1, np.count_nonzero(a) + np.count_nonzero(b))


class SharedImageTest(unittest.TestCase):
    def test_ten_objects_cost_one_image(self):
        image, centres = phantom(10)
        grid = np.ogrid[:SIZE, :SIZE, :SIZE]
        before = rss_mib()
        shared = nni.Image(image)
        sessions = []
        for c in centres:
            s = nni.Session(MODEL, device="cpu", num_threads=1)
            s.set_shared_image(shared)
            s.add_point(c)
            sessions.append(s)
        grown = rss_mib() - before
        float32_image_mib = SIZE**3 * 4 / 2**20
        # Ten separate images would cost ten float32 copies (640 MiB) besides the masks.
        self.assertLess(grown, 10 * float32_image_mib / 2,
                        f"ten sessions on one image grew the process by {grown:.0f} MiB")
        for s, c in zip(sessions, centres):
            want = sum((g - x) ** 2 for g, x in zip(grid, c)) <= RADIUS**2
            self.assertGreaterEqual(dice(s.get_mask(), want), 0.99, f"object at {c}")
        print(f"\n  ten sessions on one shared {SIZE}^3 image: process grew {grown:.0f} MiB "
              f"(ten float32 images alone: {10 * float32_image_mib:.0f} MiB)")
        # The image handle may go first; the sessions keep it and go on.
        shared.close()
        sessions[0].add_point(centres[1])
        want = np.zeros(image.shape, bool)
        for c in centres[:2]:
            want |= sum((g - x) ** 2 for g, x in zip(grid, c)) <= RADIUS**2
        self.assertEqual(dice(sessions[0].get_mask(), want), 1.0)
        for s in sessions:
            s.close()

    def test_bad_input(self):
        image, centres = phantom(1)
        img = nni.Image(image[:64, :64, :64])
        s = nni.Session(MODEL, device="cpu", num_threads=1)
        with self.assertRaises(TypeError):
            s.set_shared_image(image)
        img.close()
        with self.assertRaises(ValueError):
            s.set_shared_image(img)  # closed
        with self.assertRaises(nni.NniError) as e:
            nni.Image(np.zeros((8, 8, 8), np.float32))
        self.assertIn("zero", str(e.exception))
        with self.assertRaises(nni.NniError) as e:
            nni.Image(np.full((8, 8, 8), np.nan, np.float32))
        self.assertIn("NaN", str(e.exception))
        # A session keeps its image when a shared one is refused.
        s.set_image(image[:64, :64, :64])
        s.add_point(centres[0])
        before = s.get_mask().copy()
        with self.assertRaises(ValueError):
            s.set_shared_image(img)
        np.testing.assert_array_equal(s.get_mask(), before)
        s.close()


if __name__ == "__main__":
    unittest.main()
