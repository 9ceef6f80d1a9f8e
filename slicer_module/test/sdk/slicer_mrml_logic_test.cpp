// vtkSlicerNNInteractiveLogic (the module's MRML glue) run on real Slicer 5.13 MRML nodes: the
// slicer-core wheel's libraries, VTK 9.6.2, libnninteractive and the region-growing test model.
//
// The scene, as a Slicer user would have it:
//  - a scalar volume with a non-identity IJK-to-RAS (anisotropic spacing, a rotation, a flipped
//    axis, an origin offset) under a linear parent transform; bright spheres in it;
//  - a segmentation node under another linear transform, its reference geometry from the volume,
//    with two segments: "target", which the prompts refine, and "other" (one sphere), which
//    nothing may touch;
//  - markups, each under a third transform: a point list (a positive and a negative point), a
//    rotated 3D ROI, a flat (2D) ROI, a closed curve (lasso) and an open curve (scribble).
// Each prompt kind aims at its own sphere. For each: the prompt, Undo, the prompt again, Apply,
// a negative point, Reset. After every step the logic's preview must equal, voxel for voxel in
// the volume's IJK, nni::slicer::SegmentSegmenter run directly on the same voxels with the
// geometry and world prompts this test computes itself (not read from MRML). After every Apply,
// the "target" segment read back from MRML and sampled onto the volume's grid must equal the
// direct engine's labelmap, "other" must be unchanged, and the segmentation's geometry kept.
#include "vtkSlicerNNInteractiveLogic.h"

#include "nninteractive_slicer_segmenter.hpp"

#include "../../../adapters/tests/adapter_test_common.hpp"

#include <vtkBinaryLabelmapToClosedSurfaceConversionRule.h>
#include <vtkClosedSurfaceToBinaryLabelmapConversionRule.h>
#include <vtkMRMLLinearTransformNode.h>
#include <vtkMRMLMarkupsClosedCurveNode.h>
#include <vtkMRMLMarkupsCurveNode.h>
#include <vtkMRMLMarkupsFiducialNode.h>
#include <vtkMRMLMarkupsROINode.h>
#include <vtkMRMLScalarVolumeNode.h>
#include <vtkMRMLScene.h>
#include <vtkMRMLSegmentationNode.h>
#include <vtkOrientedImageData.h>
#include <vtkSegment.h>
#include <vtkSegmentation.h>
#include <vtkSegmentationConverter.h>
#include <vtkSegmentationConverterFactory.h>
#include <vtkSlicerSegmentationsModuleLogic.h>

#include <vtkImageData.h>
#include <vtkMatrix4x4.h>
#include <vtkNew.h>
#include <vtkSmartPointer.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

using namespace nni_test;
using nni::slicer::Ras;

namespace
{

/// A sphere in the volume: centre in IJK, radius in mm.
struct Sphere
{
  double centre[3];
  double radius;
};

/// The homogeneous matrix [rot | shift].
vtkSmartPointer<vtkMatrix4x4> Affine(const nni::Mat3& rot, const nni::Vec3& shift)
{
  auto m = vtkSmartPointer<vtkMatrix4x4>::New();
  for (int r = 0; r < 3; ++r)
  {
    for (int c = 0; c < 3; ++c)
    {
      m->SetElement(r, c, rot[static_cast<size_t>(r * 3 + c)]);
    }
    m->SetElement(r, 3, shift[static_cast<size_t>(r)]);
  }
  return m;
}

Ras Apply(vtkMatrix4x4* m, const Ras& p)
{
  const double in[4] = { p[0], p[1], p[2], 1.0 };
  double out[4];
  m->MultiplyPoint(in, out);
  return { out[0], out[1], out[2] };
}

/// The linear part of `m` applied to the direction `d`.
nni::Vec3 ApplyDirection(vtkMatrix4x4* m, const nni::Vec3& d)
{
  const double in[4] = { d[0], d[1], d[2], 0.0 };
  double out[4];
  m->MultiplyPoint(in, out);
  return { out[0], out[1], out[2] };
}

vtkMRMLLinearTransformNode* AddTransform(vtkMRMLScene* scene, const nni::Mat3& rot, const nni::Vec3& shift)
{
  auto* node = vtkMRMLLinearTransformNode::SafeDownCast(scene->AddNewNodeByClass("vtkMRMLLinearTransformNode"));
  node->SetMatrixTransformToParent(Affine(rot, shift));
  return node;
}

std::vector<unsigned char> Voxels(vtkImageData* image)
{
  const auto* p = static_cast<const unsigned char*>(image->GetScalarPointer());
  return std::vector<unsigned char>(p, p + image->GetNumberOfPoints());
}

size_t Differ(const std::vector<unsigned char>& a, const std::vector<unsigned char>& b)
{
  size_t n = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
  {
    n += (a[i] != 0) != (b[i] != 0) ? 1 : 0;
  }
  return n + (a.size() > b.size() ? a.size() - b.size() : b.size() - a.size());
}

size_t Count(const std::vector<unsigned char>& a)
{
  size_t n = 0;
  for (unsigned char v : a)
  {
    n += v != 0 ? 1 : 0;
  }
  return n;
}

/// The volume's geometry and voxels, as the test computes them (not read from MRML).
struct Volume
{
  vtkSmartPointer<vtkImageData> image;
  vtkSmartPointer<vtkMatrix4x4> ijkToRas, ijkToWorld;
  size_t voxels = 0;

  Ras World(const double ijk[3]) const { return Apply(ijkToWorld, { ijk[0], ijk[1], ijk[2] }); }
  /// World direction of index axis `a`, unit length.
  nni::Vec3 Axis(int a) const
  {
    nni::Vec3 e{ 0, 0, 0 };
    e[static_cast<size_t>(a)] = 1.0;
    const nni::Vec3 d = ApplyDirection(ijkToWorld, e);
    return g::scale(d, 1.0 / g::norm(d));
  }
  /// 1 inside `s` (voxel centres), row-major with i fastest.
  std::vector<unsigned char> Truth(const Sphere& s) const
  {
    std::vector<unsigned char> t(voxels, 0);
    const Ras c = World(s.centre);
    size_t n = 0;
    for (unsigned k = 0; k < kDims[2]; ++k)
      for (unsigned j = 0; j < kDims[1]; ++j)
        for (unsigned i = 0; i < kDims[0]; ++i, ++n)
        {
          const double ijk[3] = { double(i), double(j), double(k) };
          t[n] = g::norm(g::sub(World(ijk), c)) <= s.radius ? 1 : 0;
        }
    return t;
  }
};

/// Segment `segmentID` of `node` as MRML holds it, sampled at the volume's voxel centres by
/// nearest neighbour: the test's own reading, independent of the logic's: the voxels of the
/// segment's labelmap layer (shared with other segments) that hold its label value, placed in
/// world by the segmentation's transform as the test set it.
std::vector<unsigned char> SegmentOnVolume(vtkMRMLSegmentationNode* node, const std::string& segmentID, const Volume& volume,
                                           vtkMatrix4x4* segmentationToWorld)
{
  std::vector<unsigned char> out(volume.voxels, 0);
  vtkOrientedImageData* layer = node->GetBinaryLabelmapInternalRepresentation(segmentID);
  vtkSegment* segment = node->GetSegmentation()->GetSegment(segmentID);
  if (!layer || !segment)
  {
    std::fprintf(stderr, "segment '%s' has no binary labelmap\n", segmentID.c_str());
    ++g_failures;
    return out;
  }
  if (!layer->GetPointData() || !layer->GetPointData()->GetScalars())
  {
    return out;
  }
  const double label = segment->GetLabelValue();
  vtkNew<vtkMatrix4x4> layerToSegmentation, layerToWorld, worldToImage;
  layer->GetImageToWorldMatrix(layerToSegmentation);
  vtkMatrix4x4::Multiply4x4(segmentationToWorld, layerToSegmentation, layerToWorld);
  vtkMatrix4x4::Invert(layerToWorld, worldToImage);
  int ext[6];
  layer->GetExtent(ext);
  size_t n = 0;
  for (unsigned k = 0; k < kDims[2]; ++k)
    for (unsigned j = 0; j < kDims[1]; ++j)
      for (unsigned i = 0; i < kDims[0]; ++i, ++n)
      {
        const double ijk[3] = { double(i), double(j), double(k) };
        const Ras p = Apply(worldToImage, volume.World(ijk));
        int idx[3];
        bool inside = true;
        for (int a = 0; a < 3; ++a)
        {
          idx[a] = static_cast<int>(std::lround(p[static_cast<size_t>(a)]));
          inside = inside && idx[a] >= ext[2 * a] && idx[a] <= ext[2 * a + 1];
        }
        if (inside)
        {
          out[n] = layer->GetScalarComponentAsDouble(idx[0], idx[1], idx[2], 0) == label ? 1 : 0;
        }
      }
  return out;
}

/// The logic and the engine run directly, side by side, and the checks between them.
struct Harness
{
  vtkSlicerNNInteractiveLogic* logic;
  nni::slicer::SegmentSegmenter& direct;
  vtkOrientedImageData* directLabelmap; // the direct engine's "target", as applied
  vtkMRMLSegmentationNode* segmentation;
  vtkMatrix4x4* segmentationToWorld;
  std::string targetID, otherID;
  const Volume& volume;
  std::vector<unsigned char> otherBefore;
  std::string geometryBefore;

  /// The logic's preview equals the direct engine's, voxel for voxel.
  void SamePreview(const char* step)
  {
    const auto mine = Voxels(logic->GetPreview());
    const auto theirs = Voxels(direct.GetPreview());
    const size_t differ = Differ(mine, theirs);
    std::printf("  %-46s preview %6zu voxels, %zu differ from the engine run directly\n", step, Count(mine), differ);
    NNI_CHECK(mine.size() == volume.voxels);
    NNI_CHECK(differ == 0);
  }

  /// After Apply: the segment in MRML is the engine's labelmap, "other" is untouched, the
  /// segmentation's geometry is kept.
  void SameSegment(const char* step, const std::vector<unsigned char>& truthSoFar)
  {
    const auto inMrml = SegmentOnVolume(segmentation, targetID, volume, segmentationToWorld);
    const auto engine = Voxels(directLabelmap);
    const size_t differ = Differ(inMrml, engine);
    const double d = dice(inMrml.data(), truthSoFar.data(), truthSoFar.size());
    std::printf("  %-46s segment %6zu voxels, %zu differ from the engine; Dice vs the spheres %.4f\n", step,
                Count(inMrml), differ, d);
    NNI_CHECK(differ == 0);
    NNI_CHECK(d >= 0.9);
    const auto other = SegmentOnVolume(segmentation, otherID, volume, segmentationToWorld);
    NNI_CHECK(Differ(other, otherBefore) == 0);
    const std::string geometry = segmentation->GetSegmentation()->GetConversionParameter(
      vtkSegmentationConverter::GetReferenceImageGeometryParameterName());
    NNI_CHECK(geometry == geometryBefore);
    // The segment's labelmap lies on the segmentation's reference lattice.
    vtkOrientedImageData* internal = segmentation->GetBinaryLabelmapInternalRepresentation(targetID);
    vtkNew<vtkMatrix4x4> reference, actual;
    int referenceExtent[6];
    NNI_CHECK(vtkSegmentationConverter::DeserializeImageGeometry(geometry, reference, referenceExtent));
    NNI_CHECK(internal != nullptr);
    if (internal)
    {
      internal->GetImageToWorldMatrix(actual);
      double worst = 0.0;
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c)
          worst = std::max(worst, std::abs(reference->GetElement(r, c) - actual->GetElement(r, c)));
      NNI_CHECK(worst < 1e-9);
    }
  }
};

} // namespace

int main()
{
  // What Slicer's Segmentations module registers at start-up.
  vtkSegmentationConverterFactory::GetInstance()->RegisterConverterRule(
    vtkSmartPointer<vtkBinaryLabelmapToClosedSurfaceConversionRule>::New());
  vtkSegmentationConverterFactory::GetInstance()->RegisterConverterRule(
    vtkSmartPointer<vtkClosedSurfaceToBinaryLabelmapConversionRule>::New());

  vtkNew<vtkMRMLScene> scene; // registers MRML's node classes, markups and segmentations included

  // The volume: LPS direction (rotated, one axis flipped) and spacing as the adapters' tests,
  // in RAS; under a rotation and a shift.
  Volume volume;
  volume.voxels = size_t(kDims[0]) * kDims[1] * kDims[2];
  volume.ijkToRas = vtkSmartPointer<vtkMatrix4x4>::New();
  const nni::Mat3 d = test_direction();
  const double lpsToRas[3] = { -1.0, -1.0, 1.0 };
  for (int r = 0; r < 3; ++r)
  {
    for (int c = 0; c < 3; ++c)
    {
      volume.ijkToRas->SetElement(r, c, lpsToRas[r] * d[size_t(r * 3 + c)] * kSpacing[c]);
    }
    volume.ijkToRas->SetElement(r, 3, lpsToRas[r] * kOrigin[r]);
  }
  const nni::Mat3 volumeRot = rotation({ 0.2, 1.0, 0.4 }, 12.0);
  const nni::Vec3 volumeShift{ 3.0, -7.0, 11.0 };
  volume.ijkToWorld = vtkSmartPointer<vtkMatrix4x4>::New();
  vtkMatrix4x4::Multiply4x4(Affine(volumeRot, volumeShift), volume.ijkToRas, volume.ijkToWorld);

  const Sphere pointSphere{ { 30.3, 25.6, 22.4 }, 8.0 }, otherSphere{ { 12.0, 42.0, 22.0 }, 6.0 },
    roiSphere{ { 48.0, 12.0, 8.0 }, 5.0 }, flatRoiSphere{ { 15.0, 12.0, 36.0 }, 5.0 },
    lassoSphere{ { 50.0, 45.0, 36.0 }, 5.0 }, scribbleSphere{ { 40.0, 45.0, 8.0 }, 5.0 };
  const auto truthPoint = volume.Truth(pointSphere), truthOther = volume.Truth(otherSphere),
             truthRoi = volume.Truth(roiSphere), truthFlat = volume.Truth(flatRoiSphere),
             truthLasso = volume.Truth(lassoSphere), truthScribble = volume.Truth(scribbleSphere);
  volume.image = vtkSmartPointer<vtkImageData>::New();
  volume.image->SetDimensions(int(kDims[0]), int(kDims[1]), int(kDims[2]));
  volume.image->AllocateScalars(VTK_SHORT, 1);
  {
    auto* buf = static_cast<short*>(volume.image->GetScalarPointer());
    for (size_t t = 0; t < volume.voxels; ++t)
    {
      const bool bright = truthPoint[t] || truthOther[t] || truthRoi[t] || truthFlat[t] || truthLasso[t] || truthScribble[t];
      buf[t] = static_cast<short>(bright ? kBright : kBackground);
    }
  }
  auto* volumeNode = vtkMRMLScalarVolumeNode::SafeDownCast(scene->AddNewNodeByClass("vtkMRMLScalarVolumeNode"));
  volumeNode->SetAndObserveImageData(volume.image);
  volumeNode->SetIJKToRASMatrix(volume.ijkToRas);
  volumeNode->SetAndObserveTransformNodeID(AddTransform(scene, volumeRot, volumeShift)->GetID());

  // The segmentation: another transform, geometry from the volume, two segments.
  const nni::Mat3 segmentationRot = rotation({ 1.0, 0.0, 0.2 }, -8.0);
  const nni::Vec3 segmentationShift{ -2.0, 4.0, 1.0 };
  const vtkSmartPointer<vtkMatrix4x4> segmentationToWorld = Affine(segmentationRot, segmentationShift);
  auto* segmentationTransform = AddTransform(scene, segmentationRot, segmentationShift);
  auto* segmentation = vtkMRMLSegmentationNode::SafeDownCast(scene->AddNewNodeByClass("vtkMRMLSegmentationNode"));
  segmentation->SetAndObserveTransformNodeID(segmentationTransform->GetID());
  segmentation->SetReferenceImageGeometryParameterFromVolumeNode(volumeNode);
  segmentation->CreateBinaryLabelmapRepresentation();
  const std::string targetID = segmentation->GetSegmentation()->AddEmptySegment("target", "target");
  const std::string otherID = segmentation->GetSegmentation()->AddEmptySegment("other", "other");
  {
    vtkNew<vtkOrientedImageData> other;
    other->SetDimensions(int(kDims[0]), int(kDims[1]), int(kDims[2]));
    other->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
    std::copy(truthOther.begin(), truthOther.end(), static_cast<unsigned char*>(other->GetScalarPointer()));
    vtkNew<vtkMatrix4x4> worldToSegmentation, ijkToSegmentation;
    vtkMatrix4x4::Invert(segmentationToWorld, worldToSegmentation);
    vtkMatrix4x4::Multiply4x4(worldToSegmentation, volume.ijkToWorld, ijkToSegmentation);
    other->SetImageToWorldMatrix(ijkToSegmentation);
    NNI_CHECK(vtkSlicerSegmentationsModuleLogic::SetBinaryLabelmapToSegment(other, segmentation, otherID));
  }
  const std::string geometryBefore = segmentation->GetSegmentation()->GetConversionParameter(
    vtkSegmentationConverter::GetReferenceImageGeometryParameterName());
  std::printf("  segmentation reference geometry: %s\n", geometryBefore.c_str());
  const auto otherBefore = SegmentOnVolume(segmentation, otherID, volume, segmentationToWorld);
  std::printf("  'other' segment on the volume's grid: %zu voxels, Dice vs its sphere %.4f\n", Count(otherBefore),
              dice(otherBefore.data(), truthOther.data(), truthOther.size()));
  NNI_CHECK(dice(otherBefore.data(), truthOther.data(), truthOther.size()) == 1.0);

  // Markups live under a third transform: the logic must read them in world coordinates.
  auto* markupsTransform = AddTransform(scene, rotation({ -0.3, 0.5, 1.0 }, 21.0), { 5.0, 2.0, -9.0 });
  vtkNew<vtkMatrix4x4> markupsToWorld, worldToMarkups;
  markupsTransform->GetMatrixTransformToWorld(markupsToWorld);
  vtkMatrix4x4::Invert(markupsToWorld, worldToMarkups);
  auto addMarkups = [&](const char* className) {
    auto* node = vtkMRMLMarkupsNode::SafeDownCast(scene->AddNewNodeByClass(className));
    node->SetAndObserveTransformNodeID(markupsTransform->GetID());
    return node;
  };
  // A ROI with world axes `axes` (columns), world centre and size, as a user places it.
  auto addRoi = [&](const nni::Mat3& axes, const Ras& centre, const nni::Vec3& size) {
    auto* roi = vtkMRMLMarkupsROINode::SafeDownCast(addMarkups("vtkMRMLMarkupsROINode"));
    vtkNew<vtkMatrix4x4> objectToNode;
    vtkMatrix4x4::Multiply4x4(worldToMarkups, Affine(axes, centre), objectToNode);
    roi->SetAndObserveObjectToNodeMatrix(objectToNode);
    roi->SetSize(size[0], size[1], size[2]);
    return roi;
  };
  auto addPoints = [&](vtkMRMLMarkupsNode* node, const std::vector<Ras>& world) {
    for (const Ras& p : world)
    {
      const Ras local = Apply(worldToMarkups, p);
      node->AddControlPoint(local[0], local[1], local[2]);
    }
  };

  int status = 1;
  try
  {
    nni::runtime_init(NNI_ONNXRUNTIME);
    vtkNew<vtkSlicerNNInteractiveLogic> logic;
    NNI_CHECK(!logic->SetVolume(volumeNode)); // no model yet: refused, with a reason
    std::printf("  SetVolume before LoadModel: refused (%s)\n", logic->GetLastErrorText());
    NNI_CHECK(logic->LoadModel(NNI_TEST_MODEL, NNI_ONNXRUNTIME, vtkSlicerNNInteractiveLogic::DeviceCPU));
    NNI_CHECK(logic->SetVolume(volumeNode));
    NNI_CHECK(logic->SetSegment(segmentation, targetID.c_str()));

    nni::slicer::SegmentSegmenter direct(nni::SessionOptions{ NNI_TEST_MODEL, nni::Device::Cpu, 0, true });
    direct.SetVolume(volume.image, volume.ijkToWorld);
    vtkNew<vtkOrientedImageData> directLabelmap;
    directLabelmap->SetDimensions(int(kDims[0]), int(kDims[1]), int(kDims[2]));
    directLabelmap->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
    std::fill_n(static_cast<unsigned char*>(directLabelmap->GetScalarPointer()), volume.voxels, 0);
    direct.ActivateSegment(directLabelmap);

    Harness h{ logic, direct, directLabelmap, segmentation, segmentationToWorld, targetID, otherID, volume, otherBefore, geometryBefore };
    h.SamePreview("empty target segment");
    std::vector<unsigned char> truthSoFar(volume.voxels, 0);

    // One prompt kind: the prompt, Undo, the prompt again, Apply, a negative point, Reset.
    auto exercise = [&](const char* kind, const Sphere& sphere, const std::vector<unsigned char>& truth,
                        const std::function<bool()>& viaLogic, const std::function<void()>& viaEngine) {
      std::printf("%s\n", kind);
      const auto before = Voxels(logic->GetPreview());
      NNI_CHECK(viaLogic());
      viaEngine();
      h.SamePreview("prompt");
      NNI_CHECK(Count(Voxels(logic->GetPreview())) > Count(before));
      NNI_CHECK(logic->Undo());
      NNI_CHECK(direct.Undo());
      h.SamePreview("undo");
      NNI_CHECK(Differ(Voxels(logic->GetPreview()), before) == 0);
      NNI_CHECK(viaLogic());
      viaEngine();
      h.SamePreview("prompt again");
      NNI_CHECK(logic->ApplyToSegment());
      direct.ApplyTo(directLabelmap);
      for (size_t t = 0; t < volume.voxels; ++t)
      {
        truthSoFar[t] = truthSoFar[t] || truth[t];
      }
      h.SameSegment("apply", truthSoFar);
      // A negative point at the sphere's centre, through a point list, then Reset.
      const Ras centre = volume.World(sphere.centre);
      auto* negative = addMarkups("vtkMRMLMarkupsFiducialNode");
      addPoints(negative, { centre });
      NNI_CHECK(logic->AddControlPoint(negative, 0, false));
      direct.AddPoint(centre, false);
      h.SamePreview("negative point");
      NNI_CHECK(logic->ResetInteractions());
      direct.ResetInteractions();
      h.SamePreview("reset");
      NNI_CHECK(Differ(Voxels(logic->GetPreview()), Voxels(directLabelmap)) == 0);
    };

    // 1. A point list: a positive point, then a negative one beside it (the preview shrinks or
    //    stays, as the engine decides); both through markups under a transform.
    {
      const Ras positive = volume.World(pointSphere.centre);
      const double nearIjk[3] = { pointSphere.centre[0] + 3.0, pointSphere.centre[1] - 2.0, pointSphere.centre[2] };
      const Ras negative = volume.World(nearIjk);
      auto* points = addMarkups("vtkMRMLMarkupsFiducialNode");
      addPoints(points, { positive, negative });
      exercise(
        "point list (positive)", pointSphere, truthPoint, [&] { return logic->AddControlPoint(points, 0, true); },
        [&] { direct.AddPoint(positive, true); });
      std::printf("point list (negative point, then undo)\n");
      NNI_CHECK(logic->AddControlPoint(points, 1, false));
      direct.AddPoint(negative, false);
      h.SamePreview("negative control point");
      NNI_CHECK(logic->Undo());
      NNI_CHECK(direct.Undo());
      h.SamePreview("undo");
      NNI_CHECK(!logic->AddControlPoint(points, 7, true)); // no such point: refused, nothing changes
      h.SamePreview("refused: control point 7 of 2");
      const double outside[3] = { -400.0, 0.0, 0.0 };
      NNI_CHECK(!logic->AddPoint(outside, true));
      std::printf("  a point outside the volume: refused (%s)\n", logic->GetLastErrorText());
      h.SamePreview("refused: point outside the volume");
    }

    // 2. A rotated 3D ROI around its sphere.
    {
      const nni::Mat3 worldAxes = rotation({ 1.0, 2.0, 0.5 }, 25.0);
      const Ras centre = volume.World(roiSphere.centre);
      const nni::Vec3 size{ 14.0, 13.0, 14.5 };
      auto* roi = addRoi(worldAxes, centre, size);
      exercise(
        "ROI, rotated, 3D", roiSphere, truthRoi, [&] { return logic->AddROI(roi, true); },
        [&] { direct.AddROI(nni::slicer::box_corners(centre, size, worldAxes), true); });
    }

    // 3. A flat ROI (one side 0 mm) on the volume's slice through its sphere: a 2D box.
    {
      nni::Mat3 sliceAxes{};
      for (int a = 0; a < 3; ++a)
      {
        const nni::Vec3 axis = volume.Axis(a);
        for (int r = 0; r < 3; ++r)
        {
          sliceAxes[static_cast<size_t>(r * 3 + a)] = axis[static_cast<size_t>(r)];
        }
      }
      const Ras centre = volume.World(flatRoiSphere.centre);
      const nni::Vec3 size{ 12.5, 12.5, 0.0 };
      auto* roi = addRoi(sliceAxes, centre, size);
      exercise(
        "ROI, flat (2D box)", flatRoiSphere, truthFlat, [&] { return logic->AddROI(roi, true); },
        [&] {
          const auto box = direct.AddROI(nni::slicer::box_corners(centre, size, sliceAxes), true);
          NNI_CHECK(box.slice_axis == 2);
        });
    }

    // 4. A closed curve (lasso): a circle of radius 4 mm on the volume's slice through its sphere.
    {
      const Ras centre = volume.World(lassoSphere.centre);
      const nni::Vec3 u = volume.Axis(0), v = volume.Axis(1);
      std::vector<Ras> circle;
      for (int i = 0; i < 24; ++i)
      {
        const double t = 2.0 * M_PI * i / 24.0;
        circle.push_back(g::add(centre, g::add(g::scale(u, 4.0 * std::cos(t)), g::scale(v, 4.0 * std::sin(t)))));
      }
      auto* curve = addMarkups("vtkMRMLMarkupsClosedCurveNode");
      addPoints(curve, circle);
      exercise(
        "closed curve (lasso)", lassoSphere, truthLasso, [&] { return logic->AddClosedCurve(curve, true); },
        [&] { direct.AddClosedCurve(circle, true); });
    }

    // 5. An open curve (scribble) across its sphere on the volume's slice, brush radius 1 voxel.
    {
      const Ras centre = volume.World(scribbleSphere.centre);
      const nni::Vec3 u = volume.Axis(0), v = volume.Axis(1), normal = volume.Axis(2);
      std::vector<Ras> stroke;
      for (int i = -3; i <= 3; ++i)
      {
        stroke.push_back(g::add(centre, g::add(g::scale(u, 1.1 * i), g::scale(v, 0.4 * i))));
      }
      auto* curve = addMarkups("vtkMRMLMarkupsCurveNode");
      addPoints(curve, stroke);
      const double normalRas[3] = { normal[0], normal[1], normal[2] };
      exercise(
        "open curve (scribble)", scribbleSphere, truthScribble,
        [&] { return logic->AddOpenCurve(curve, normalRas, 1.0, true); },
        [&] { direct.AddOpenCurve(stroke, normal, 1.0, true); });
    }

    // Every sphere but "other" is now in "target"; a new logic on the same nodes starts from it.
    {
      vtkNew<vtkSlicerNNInteractiveLogic> again;
      NNI_CHECK(again->LoadModel(NNI_TEST_MODEL, NNI_ONNXRUNTIME, vtkSlicerNNInteractiveLogic::DeviceCPU));
      NNI_CHECK(again->SetVolume(volumeNode));
      NNI_CHECK(again->SetSegment(segmentation, targetID.c_str()));
      const size_t differ = Differ(Voxels(again->GetPreview()), Voxels(directLabelmap));
      std::printf("a new logic on the same nodes: its preview %zu voxels, %zu differ from the applied labelmap\n",
                  Count(Voxels(again->GetPreview())), differ);
      NNI_CHECK(differ == 0);
      NNI_CHECK(!again->Undo()); // nothing to undo: refused
    }
    status = finish("slicer_mrml_logic_test");
  }
  catch (const std::exception& e)
  {
    std::fprintf(stderr, "slicer_mrml_logic_test: %s\n", e.what());
  }
  return status;
}
