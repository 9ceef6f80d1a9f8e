#!/usr/bin/env python3
"""Records how MITK itself reads image geometry, for the ITK adapter's MITK check.

Runs under the MITK Python wheel (`mitk-python`, CPython 3.12; tools/setup/mitk.sh makes the
environment). The ctest `mitk_geometry_test` (mitk_module/test) reads the same files with ITK
through nni::itk and must find the same dims, spacing, origin, direction, voxel order and
world <-> index maps as MITK does here.

    python tools/test/mitk_geometry.py write-data DIR    # DIR/oblique.nrrd (hand-written header) and
                                                    # DIR/oblique_mitk.nii.gz (written by MITK)
    python tools/test/mitk_geometry.py record DIR OUT    # MITK's readings of DIR's files -> OUT
    python tools/test/mitk_geometry.py check DIR GOLDEN  # record again and compare with GOLDEN

OUT is plain text, one record per line (C++ reads it without a JSON parser):
    file NAME
    dims NX NY NZ                 (x fastest: MITK's shape reversed)
    spacing SX SY SZ
    origin OX OY OZ
    direction D00 D01 ... D22     (row-major; column c = world direction of index axis c)
    w2i WX WY WZ IX IY IZ         (MITK BaseGeometry::WorldToIndex, continuous index)
    i2w IX IY IZ WX WY WZ         (MITK BaseGeometry::IndexToWorld)
    inside IX IY IZ 0|1           (MITK BaseGeometry::IsIndexInside of a continuous index)
    value I J K V                 (voxel value at index (I, J K), through MITK's numpy view)
Numbers are written with repr(), so they round-trip exactly.
"""
import math
import sys
from pathlib import Path

import numpy as np

DIMS = (20, 17, 11)  # x, y, z
SPACING = (0.8, 1.1, 2.0)
ORIGIN = (-30.0, 12.0, 100.0)
N_POINTS = 300
N_VALUES = 60


def direction():
    """R_x(10 deg) * R_z(30 deg) * diag(1, -1, 1): oblique, with an axis flip (det -1)."""
    a, b = math.radians(30.0), math.radians(10.0)
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    return rx @ rz @ np.diag([1.0, -1.0, 1.0])


def voxels():
    nx, ny, nz = DIMS
    z, y, x = np.meshgrid(np.arange(nz), np.arange(ny), np.arange(nx), indexing="ij")
    return (x + 20 * y + 340 * z).astype(np.int16)  # array[z, y, x]


def write_data(out: Path):
    import mitk

    out.mkdir(parents=True, exist_ok=True)
    d = direction()
    cols = " ".join(
        "(%r,%r,%r)" % tuple(float(v) for v in d[:, c] * SPACING[c]) for c in range(3)
    )
    header = [
        "NRRD0004",
        "# nninteractive-native MITK geometry test image (tools/test/mitk_geometry.py)",
        "type: short",
        "dimension: 3",
        "space: left-posterior-superior",
        "sizes: %d %d %d" % DIMS,
        "space directions: " + cols,
        "kinds: domain domain domain",
        "endian: little",
        "encoding: raw",
        "space origin: (%r,%r,%r)" % ORIGIN,
    ]
    nrrd = out / "oblique.nrrd"
    nrrd.write_bytes(("\n".join(header) + "\n\n").encode() + voxels().astype("<i2").tobytes())
    [image] = mitk.IOUtil.load(str(nrrd))
    mitk.IOUtil.save(image, str(out / "oblique_mitk.nii.gz"))


def record(data: Path):
    import mitk

    rng = np.random.default_rng(20261124)
    lines = []
    for name in ("oblique.nrrd", "oblique_mitk.nii.gz"):
        [image] = mitk.IOUtil.load(str(data / name))
        geo = image.get_geometry()
        arr = np.asarray(image.as_numpy())
        shape = tuple(int(n) for n in arr.shape[::-1])
        lines.append("file %s" % name)
        lines.append("dims %d %d %d" % shape)
        lines.append("spacing %r %r %r" % tuple(float(v) for v in image.spacing))
        lines.append("origin %r %r %r" % tuple(float(v) for v in image.origin))
        lines.append("direction " + " ".join(repr(float(v)) for v in np.asarray(image.direction).ravel()))
        lo = np.array([-2.0, -2.0, -2.0])
        hi = np.array(shape, dtype=float) + 1.0
        for t in range(N_POINTS):
            c = lo + rng.random(3) * (hi - lo)
            # a world point made with numpy's own affine, so MITK's inverse is what is measured
            w = np.asarray(image.origin) + np.asarray(image.direction) @ (np.asarray(image.spacing) * c)
            idx = mitk.Point3D()
            geo.world_to_index(mitk.Point3D(*map(float, w)), idx)
            lines.append("w2i %r %r %r %r %r %r" % (*map(float, w), idx.x, idx.y, idx.z))
            if t % 3 == 0:
                world = mitk.Point3D()
                geo.index_to_world(mitk.Point3D(*map(float, c)), world)
                lines.append("i2w %r %r %r %r %r %r" % (*map(float, c), world.x, world.y, world.z))
        for t in range(N_POINTS // 3):
            # continuous indices near voxel borders: which voxel a click belongs to
            c = np.floor(lo + rng.random(3) * (hi - lo)) + 0.5 + rng.choice([-1e-6, 1e-6], 3)
            inside = geo.is_index_inside(mitk.Point3D(*map(float, c)))
            lines.append("inside %r %r %r %d" % (*map(float, c), int(bool(inside))))
        for _ in range(N_VALUES):
            i, j, k = (int(rng.integers(0, n)) for n in shape)
            lines.append("value %d %d %d %d" % (i, j, k, int(arr[k, j, i])))
    return lines


def numbers(line):
    head, *rest = line.split()
    return head, rest


def compare(got, want):
    """Numbers equal to 1e-12 (relative to 1), words exactly; returns a list of differences."""
    bad = []
    if len(got) != len(want):
        bad.append("%d lines recorded, golden has %d" % (len(got), len(want)))
    for n, (g, w) in enumerate(zip(got, want)):
        hg, rg = numbers(g)
        hw, rw = numbers(w)
        if hg != hw or len(rg) != len(rw):
            bad.append("line %d: %r != %r" % (n + 1, g, w))
            continue
        if hg == "file":
            if rg != rw:
                bad.append("line %d: %r != %r" % (n + 1, g, w))
            continue
        for a, b in zip(rg, rw):
            if abs(float(a) - float(b)) > 1e-12 * max(1.0, abs(float(b))):
                bad.append("line %d: %r != %r" % (n + 1, g, w))
                break
    return bad


def main(argv):
    if len(argv) >= 2 and argv[0] == "write-data":
        write_data(Path(argv[1]))
        return 0
    if len(argv) == 3 and argv[0] == "record":
        Path(argv[2]).write_text("\n".join(record(Path(argv[1]))) + "\n")
        return 0
    if len(argv) == 3 and argv[0] == "check":
        got = record(Path(argv[1]))
        want = Path(argv[2]).read_text().splitlines()
        bad = compare(got, want)
        for b in bad[:20]:
            print("mitk_geometry: " + b)
        print("mitk_geometry: %d lines, %d differ from %s" % (len(want), len(bad), argv[2]))
        return 1 if bad else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
