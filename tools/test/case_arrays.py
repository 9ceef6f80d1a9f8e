"""Arrays of the conformance cases: ``.npy``, or ``.npz`` holding one array (compressed: the own
cases in tests/conformance are stored so, to keep the repository small enough to travel)."""

import os

import numpy as np


def load_array(path):
    """The array in `path` (.npy, or .npz with one array)."""
    if path.endswith(".npz"):
        with np.load(path) as z:
            if len(z.files) != 1:
                raise ValueError(f"{path}: expected one array, found {z.files}")
            return z[z.files[0]]
    return np.load(path)


def as_npy(path, folder):
    """A .npy file holding the array in `path`: `path` itself, or a copy written into `folder`
    (for programs that read .npy, such as ``nni``)."""
    if path.endswith(".npy"):
        return path
    out = os.path.join(folder, os.path.splitext(os.path.basename(path))[0] + ".npy")
    np.save(out, load_array(path))
    return out


def save_array(path, array):
    """Write `array` to `path` (.npz: compressed)."""
    if path.endswith(".npz"):
        np.savez_compressed(path, array=array)
    else:
        np.save(path, array)
