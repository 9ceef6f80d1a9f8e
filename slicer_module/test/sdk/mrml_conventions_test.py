"""Checks, with Slicer 5.13's own MRML (the `slicer-core` wheel), the conventions that
vtkSlicerNNInteractiveLogic relies on, using the same MRML calls in the same order:

1. ROI: the box built from GetCenterWorld, GetSizeWorld (full side lengths) and GetAxisWorld
   (unit axes), as nni::slicer::box_corners builds it, is the ROI itself: its corners' bounding
   box is the ROI's GetRASBounds, for a rotated ROI under a linear parent transform.
2. Segments: a labelmap on the volume's grid (IJK-to-world = parent transform * IJK-to-RAS)
   written with SetBinaryLabelmapToSegment in the segmentation's own frame (its parent transform
   undone), read back with GetSegmentBinaryLabelmapRepresentation (parent transform applied),
   resampled onto the volume's grid with ResampleOrientedImageToReferenceOrientedImage and
   copied by structured index, is the same labelmap voxel for voxel; with a segmentation whose
   geometry differs from the volume's, and with parent transforms on both nodes.
3. Markups: GetNthControlPointPositionWorld includes the node's parent transform.

Run by ctest (slicer_module/test/sdk) with .venv-slicer's python. Exit status 0 = all hold.
"""
import math
import sys

import numpy as np
import slicer_core  # noqa: F401  (loads Slicer's libraries)
from slicer_core import MRMLCore, vtkSegmentationCore
from slicer_core import vtkSlicerMarkupsModuleMRML  # noqa: F401  (registers the markups nodes)
from slicer_core import vtkSlicerSegmentationsModuleMRML  # noqa: F401  (registers the segmentation node)
from slicer_core.vtkSlicerSegmentationsModuleLogic import vtkSlicerSegmentationsModuleLogic as Logic
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import vtkPoints
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix4x4

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def matrix(rows):
    m = vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            m.SetElement(r, c, rows[r][c])
    return m


def rotation(axis, deg):
    k = np.asarray(axis, float) / np.linalg.norm(axis)
    t = math.radians(deg)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(t) * kx + (1 - math.cos(t)) * kx @ kx


def transform_node(scene, rot, shift):
    node = scene.AddNewNodeByClass("vtkMRMLLinearTransformNode")
    rows = np.eye(4)
    rows[:3, :3] = rot
    rows[:3, 3] = shift
    node.SetMatrixTransformToParent(matrix(rows))
    return node


def as_numpy(m):
    return np.array([[m.GetElement(r, c) for c in range(4)] for r in range(4)])


# What Slicer's Segmentations module does at start-up (the logic assumes a running Slicer).
factory = vtkSegmentationCore.vtkSegmentationConverterFactory.GetInstance()
factory.RegisterConverterRule(vtkSegmentationCore.vtkBinaryLabelmapToClosedSurfaceConversionRule())
factory.RegisterConverterRule(vtkSegmentationCore.vtkClosedSurfaceToBinaryLabelmapConversionRule())

scene = MRMLCore.vtkMRMLScene()
parent = transform_node(scene, rotation([0.2, 1.0, 0.4], 12.0), [3.0, -7.0, 11.0])

# 1. ROI
roi = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode")
roi.SetAndObserveTransformNodeID(parent.GetID())
obj = np.eye(4)
obj[:3, :3] = rotation([1.0, 2.0, 0.5], 25.0)
obj[:3, 3] = [10.0, -4.0, 30.0]
roi.SetAndObserveObjectToNodeMatrix(matrix(obj))
roi.SetSize(13.0, 14.0, 6.5)
centre, size = [0.0] * 3, [0.0] * 3
roi.GetCenterWorld(centre)
roi.GetSizeWorld(size)
axes = np.zeros((3, 3))
for a in range(3):
    axis = [0.0] * 3
    roi.GetAxisWorld(a, axis)
    axes[:, a] = axis
corners = []
for c in range(8):  # nni::slicer::box_corners
    p = np.array(centre, float)
    for a in range(3):
        p += axes[:, a] * 0.5 * size[a] * (1.0 if (c >> a) & 1 else -1.0)
    corners.append(p)
corners = np.array(corners)
bounds = [0.0] * 6
roi.GetRASBounds(bounds)
mine = np.ravel(np.column_stack([corners.min(0), corners.max(0)]))
check(np.allclose(np.linalg.norm(axes, axis=0), 1.0), "ROI GetAxisWorld gives unit axes")
check(np.allclose(mine, bounds, atol=1e-9), "ROI box from centre, size, axes == GetRASBounds %s" % np.round(bounds, 3))

# 2. segment labelmap round trip through the logic's frames
dims = (40, 36, 30)
volume = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode")
image = vtkImageData()
image.SetDimensions(*dims)
image.AllocateScalars(4, 1)  # VTK_SHORT
volume.SetAndObserveImageData(image)
ijk_to_ras = np.eye(4)
ijk_to_ras[:3, :3] = rotation([0.0, 0.3, 1.0], 30.0) @ np.diag([-0.8, -1.1, 2.0])
ijk_to_ras[:3, 3] = [20.0, -5.0, 7.0]
volume.SetIJKToRASMatrix(matrix(ijk_to_ras))
volume_parent = transform_node(scene, rotation([1.0, 0.0, 0.2], -8.0), [-2.0, 4.0, 1.0])
volume.SetAndObserveTransformNodeID(volume_parent.GetID())
to_world = vtkMatrix4x4()
volume_parent.GetMatrixTransformToWorld(to_world)
back = vtkMatrix4x4()
volume.GetIJKToRASMatrix(back)
ijk_to_world = as_numpy(to_world) @ as_numpy(back)  # what SetVolume computes

segmentation = scene.AddNewNodeByClass("vtkMRMLSegmentationNode")
segmentation.SetAndObserveTransformNodeID(parent.GetID())
segment_id = segmentation.GetSegmentation().AddEmptySegment("s", "s")
seg_to_world = vtkMatrix4x4()
parent.GetMatrixTransformToWorld(seg_to_world)

k, j, i = np.meshgrid(np.arange(dims[2]), np.arange(dims[1]), np.arange(dims[0]), indexing="ij")
truth = (((i - 17.3) / 6) ** 2 + ((j - 20.1) / 7) ** 2 + ((k - 12.6) / 4) ** 2 <= 1.0).astype(np.uint8)
labelmap = vtkSegmentationCore.vtkOrientedImageData()
labelmap.SetDimensions(*dims)
labelmap.AllocateScalars(3, 1)  # VTK_UNSIGNED_CHAR
numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars())[:] = truth.ravel()
# ApplyToSegment: IJK -> world -> segmentation frame
labelmap.SetImageToWorldMatrix(matrix(np.linalg.inv(as_numpy(seg_to_world)) @ ijk_to_world))
check(bool(Logic.SetBinaryLabelmapToSegment(labelmap, segmentation, segment_id, Logic.MODE_REPLACE)),
      "SetBinaryLabelmapToSegment accepts the labelmap")

# SetSegment: read back in world, resample onto the volume's grid, copy by structured index
segment = vtkSegmentationCore.vtkOrientedImageData()
check(bool(Logic.GetSegmentBinaryLabelmapRepresentation(segmentation, segment_id, segment, True)),
      "GetSegmentBinaryLabelmapRepresentation returns the segment")
on_grid = vtkSegmentationCore.vtkOrientedImageData()
on_grid.SetDimensions(*dims)
on_grid.AllocateScalars(3, 1)
on_grid.SetImageToWorldMatrix(matrix(ijk_to_world))
resampled = vtkSegmentationCore.vtkOrientedImageData()
Resample = vtkSegmentationCore.vtkOrientedImageDataResample
check(bool(Resample.ResampleOrientedImageToReferenceOrientedImage(segment, on_grid, resampled, False, True)),
      "ResampleOrientedImageToReferenceOrientedImage onto the volume's grid")
ext = resampled.GetExtent()
got = np.zeros_like(truth)
r = numpy_support.vtk_to_numpy(resampled.GetPointData().GetScalars()).reshape(
    ext[5] - ext[4] + 1, ext[3] - ext[2] + 1, ext[1] - ext[0] + 1)
lo = [max(ext[2 * a], 0) for a in range(3)]
hi = [min(ext[2 * a + 1], dims[a] - 1) for a in range(3)]
got[lo[2]:hi[2] + 1, lo[1]:hi[1] + 1, lo[0]:hi[0] + 1] = (r[
    lo[2] - ext[4]:hi[2] - ext[4] + 1, lo[1] - ext[2]:hi[1] - ext[2] + 1, lo[0] - ext[0]:hi[0] - ext[0] + 1] != 0)
differ = int(np.count_nonzero(got != truth))
check(differ == 0, "segment round trip through both frames: %d of %d voxels differ (%d in the segment)"
      % (differ, truth.size, int(truth.sum())))

# 3. markups control points in world coordinates
points = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode")
points.SetAndObserveTransformNodeID(parent.GetID())
points.AddControlPoint(1.0, 2.0, 3.0)
world = [0.0] * 3
points.GetNthControlPointPositionWorld(0, world)
expected = (as_numpy(seg_to_world) @ np.array([1.0, 2.0, 3.0, 1.0]))[:3]
check(np.allclose(world, expected, atol=1e-9), "GetNthControlPointPositionWorld applies the parent transform")

print("mrml_conventions_test: %s" % ("all checks passed" if not failures else "%d failed" % len(failures)))
sys.exit(1 if failures else 0)
