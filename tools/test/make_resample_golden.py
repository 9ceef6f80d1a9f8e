"""Golden files for the resampling kernels, made by PyTorch's CPU kernels (the reference's torch).

Run with the reference environment: .venv-ref/bin/python tools/test/make_resample_golden.py
Writes tests/data/resample/*.npy, read by tests/resample_golden.rs.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
out = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "resample")
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(2025)


def save(name, arr):
    np.save(os.path.join(out, name), np.ascontiguousarray(arr))


# trilinear, f32: a zoom-out (36 -> 24, ratio 1.5), an anisotropic one, and an upsampling (24 -> 36)
for tag, src_shape, dst_shape in [("down", (24, 24, 24), (16, 16, 16)), ("aniso", (30, 20, 25), (16, 12, 10)), ("up", (16, 16, 16), (24, 24, 24))]:
    x = rng.standard_normal(src_shape).astype(np.float32)
    y = F.interpolate(torch.from_numpy(x)[None, None], dst_shape, mode="trilinear")[0, 0].numpy()
    save(f"trilinear_{tag}_in.npy", x)
    save(f"trilinear_{tag}_out.npy", y)

# area, f16 (ratios 1.5, 2.25 and 3.375 as AutoZoom produces them)
for tag, src_shape, dst_shape in [("r15", (24, 24, 24), (16, 16, 16)), ("r225", (36, 36, 36), (16, 16, 16)), ("r3375", (54, 54, 54), (16, 16, 16))]:
    x = (rng.random(src_shape) * 3).astype(np.float16)
    x[rng.random(src_shape) < 0.6] = 0
    y = F.interpolate(torch.from_numpy(x)[None, None], dst_shape, mode="area")[0, 0].numpy()
    save(f"area_{tag}_in.npy", x)
    save(f"area_{tag}_out.npy", y)

# nearest, f16 0/1
x = (rng.random((36, 36, 36)) > 0.5).astype(np.float16)
y = F.interpolate(torch.from_numpy(x)[None, None], (16, 16, 16), mode="nearest")[0, 0].numpy()
save("nearest_in.npy", x)
save("nearest_out.npy", y)
print("torch", torch.__version__, "golden files in", os.path.normpath(out))
