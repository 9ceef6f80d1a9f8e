// vtkSlicerNNInteractiveLogic: MRML glue over nni::slicer::SegmentSegmenter. See the header.
#include "vtkSlicerNNInteractiveLogic.h"

#include "nninteractive_slicer_segmenter.hpp"

// MRML and Slicer modules
#include <vtkMRMLMarkupsNode.h>
#include <vtkMRMLMarkupsROINode.h>
#include <vtkMRMLScalarVolumeNode.h>
#include <vtkMRMLSegmentationNode.h>
#include <vtkMRMLTransformNode.h>
#include <vtkOrientedImageData.h>
#include <vtkOrientedImageDataResample.h>
#include <vtkSegmentation.h>
#include <vtkSlicerSegmentationsModuleLogic.h>

// VTK
#include <vtkImageData.h>
#include <vtkMatrix4x4.h>
#include <vtkNew.h>
#include <vtkObjectFactory.h>
#include <vtkPointData.h>
#include <vtkSmartPointer.h>
#include <vtkWeakPointer.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <vector>

vtkStandardNewMacro(vtkSlicerNNInteractiveLogic);

struct vtkSlicerNNInteractiveLogic::Internals
{
  std::unique_ptr<nni::slicer::SegmentSegmenter> Segmenter;
  vtkSmartPointer<vtkOrientedImageData> Preview;          // shares the engine's preview scalars
  vtkSmartPointer<vtkOrientedImageData> SegmentOnGrid;    // the segment on the volume's grid
  vtkWeakPointer<vtkMRMLSegmentationNode> SegmentationNode;
  std::string SegmentID;
  std::string LastError;
};

namespace
{

/// The node's transform to world as a matrix (identity without a parent transform); false for
/// a non-linear transform, which the session cannot take (harden it first).
bool NodeToWorld(vtkMRMLTransformableNode* node, vtkMatrix4x4* toWorld)
{
  toWorld->Identity();
  vtkMRMLTransformNode* parent = node->GetParentTransformNode();
  if (!parent)
  {
    return true;
  }
  if (!parent->IsTransformToWorldLinear())
  {
    return false;
  }
  parent->GetMatrixTransformToWorld(toWorld);
  return true;
}

nni::Vec3 ToVec(const double p[3])
{
  return { p[0], p[1], p[2] };
}

/// World positions of all control points of `markups`.
std::vector<nni::Vec3> ControlPointsWorld(vtkMRMLMarkupsNode* markups)
{
  std::vector<nni::Vec3> points;
  const int n = markups->GetNumberOfControlPoints();
  for (int i = 0; i < n; ++i)
  {
    double p[3];
    markups->GetNthControlPointPositionWorld(i, p);
    points.push_back(ToVec(p));
  }
  return points;
}

/// Copies the overlap of `src` (any extent, unsigned char scalars) into `dst` (its own extent),
/// voxel for voxel: both are on the same lattice.
void CopyOverlap(vtkImageData* src, vtkImageData* dst)
{
  int s[6], d[6];
  src->GetExtent(s);
  dst->GetExtent(d);
  for (int k = std::max(s[4], d[4]); k <= std::min(s[5], d[5]); ++k)
  {
    for (int j = std::max(s[2], d[2]); j <= std::min(s[3], d[3]); ++j)
    {
      for (int i = std::max(s[0], d[0]); i <= std::min(s[1], d[1]); ++i)
      {
        const double v = src->GetScalarComponentAsDouble(i, j, k, 0);
        static_cast<unsigned char*>(dst->GetScalarPointer(i, j, k))[0] = v != 0.0 ? 1 : 0;
      }
    }
  }
}

/// Writes `labelmap` (binary, with its IJK-to-world geometry) as the segment `segmentID` of
/// `segmentationNode` (replacing it), in the node's own frame (its parent transform undone).
void WriteToSegment(vtkOrientedImageData* labelmap, vtkMRMLSegmentationNode* segmentationNode, const std::string& segmentID)
{
  vtkNew<vtkMatrix4x4> segmentationToWorld, worldToSegmentation, ijkToWorld, ijkToSegmentation;
  if (!NodeToWorld(segmentationNode, segmentationToWorld))
  {
    throw nni::Error(NNI_ERR_INVALID_ARGUMENT, "the segmentation has a non-linear transform; harden it first");
  }
  vtkMatrix4x4::Invert(segmentationToWorld, worldToSegmentation);
  labelmap->GetImageToWorldMatrix(ijkToWorld);
  vtkMatrix4x4::Multiply4x4(worldToSegmentation, ijkToWorld, ijkToSegmentation);
  vtkNew<vtkOrientedImageData> inSegmentationFrame;
  inSegmentationFrame->ShallowCopy(labelmap);
  inSegmentationFrame->SetImageToWorldMatrix(ijkToSegmentation);
  if (!vtkSlicerSegmentationsModuleLogic::SetBinaryLabelmapToSegment(inSegmentationFrame, segmentationNode, segmentID,
                                                                      vtkSlicerSegmentationsModuleLogic::MODE_REPLACE))
  {
    throw nni::Error(NNI_ERR_INVALID_ARGUMENT, "Slicer refused the labelmap for segment '" + segmentID + "'");
  }
}

/// Runs `body`, turning an exception into `false`, the error text in `lastError` and a VTK
/// error message; the engine leaves its state unchanged when it throws.
template <class F>
bool Guarded(std::string& lastError, vtkObject* self, F&& body)
{
  try
  {
    lastError.clear();
    body();
    return true;
  }
  catch (const std::exception& e)
  {
    lastError = e.what();
    vtkErrorWithObjectMacro(self, << lastError);
    return false;
  }
}

} // namespace

//----------------------------------------------------------------------------
vtkSlicerNNInteractiveLogic::vtkSlicerNNInteractiveLogic()
  : Internal(new Internals)
{
}

//----------------------------------------------------------------------------
vtkSlicerNNInteractiveLogic::~vtkSlicerNNInteractiveLogic() = default;

//----------------------------------------------------------------------------
void vtkSlicerNNInteractiveLogic::PrintSelf(ostream& os, vtkIndent indent)
{
  this->Superclass::PrintSelf(os, indent);
  os << indent << "ModelLoaded: " << (this->IsModelLoaded() ? "yes" : "no") << "\n";
  os << indent << "SegmentID: " << this->Internal->SegmentID << "\n";
  os << indent << "LastError: " << this->Internal->LastError << "\n";
}

//----------------------------------------------------------------------------
bool vtkSlicerNNInteractiveLogic::LoadModel(const char* modelPath, const char* onnxRuntimeLibrary, int device)
{
  return Guarded(this->Internal->LastError, this, [&] {
    if (!modelPath)
    {
      throw nni::Error(NNI_ERR_NULL_POINTER, "LoadModel: model path is null");
    }
    nni::runtime_init(onnxRuntimeLibrary);
    nni::SessionOptions options{ modelPath, static_cast<nni::Device>(device), 0, true };
    auto segmenter = std::make_unique<nni::slicer::SegmentSegmenter>(options);
    this->Internal->Segmenter = std::move(segmenter);
    this->Internal->Preview = nullptr;
    this->Internal->SegmentOnGrid = nullptr;
    this->Internal->SegmentationNode = nullptr;
    this->Internal->SegmentID.clear();
  });
}

//----------------------------------------------------------------------------
bool vtkSlicerNNInteractiveLogic::IsModelLoaded() const
{
  return this->Internal->Segmenter != nullptr;
}

//----------------------------------------------------------------------------
bool vtkSlicerNNInteractiveLogic::SetVolume(vtkMRMLScalarVolumeNode* volumeNode)
{
  return Guarded(this->Internal->LastError, this, [&] {
    if (!this->Internal->Segmenter)
    {
      throw nni::Error(NNI_ERR_INVALID_ARGUMENT, "SetVolume: load a model first");
    }
    if (!volumeNode || !volumeNode->GetImageData())
    {
      throw nni::Error(NNI_ERR_NULL_POINTER, "SetVolume: the volume node or its image data is null");
    }
    vtkNew<vtkMatrix4x4> ijkToRas, toWorld, ijkToWorld;
    volumeNode->GetIJKToRASMatrix(ijkToRas);
    if (!NodeToWorld(volumeNode, toWorld))
    {
      throw nni::Error(NNI_ERR_INVALID_ARGUMENT, "SetVolume: the volume has a non-linear transform; harden it first");
    }
    vtkMatrix4x4::Multiply4x4(toWorld, ijkToRas, ijkToWorld);
    this->Internal->Segmenter->SetVolume(volumeNode->GetImageData(), ijkToWorld);

    auto preview = vtkSmartPointer<vtkOrientedImageData>::New();
    preview->ShallowCopy(this->Internal->Segmenter->GetPreview()); // the same scalars, updated in place
    preview->SetImageToWorldMatrix(ijkToWorld);
    this->Internal->Preview = preview;
    this->Internal->SegmentOnGrid = nullptr;
    this->Internal->SegmentationNode = nullptr;
    this->Internal->SegmentID.clear();
  });
}

//----------------------------------------------------------------------------
bool vtkSlicerNNInteractiveLogic::SetSegment(vtkMRMLSegmentationNode* segmentationNode, const char* segmentID)
{
  return Guarded(this->Internal->LastError, this, [&] {
    if (!this->Internal->Preview)
    {
      throw nni::Error(NNI_ERR_NO_IMAGE, "SetSegment: set the volume first");
    }
    if (!segmentationNode || !segmentID)
    {
      throw nni::Error(NNI_ERR_NULL_POINTER, "SetSegment: the segmentation node or segment ID is null");
    }
    vtkNew<vtkMatrix4x4> segmentationToWorld;
    if (!NodeToWorld(segmentationNode, segmentationToWorld))
    {
      throw nni::Error(NNI_ERR_INVALID_ARGUMENT, "SetSegment: the segmentation has a non-linear transform; harden it first");
    }
    // The segment on the volume's grid (world geometry), zero where it has no voxels.
    auto onGrid = vtkSmartPointer<vtkOrientedImageData>::New();
    onGrid->SetExtent(this->Internal->Preview->GetExtent());
    onGrid->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
    std::fill_n(static_cast<unsigned char*>(onGrid->GetScalarPointer()), onGrid->GetNumberOfPoints(), 0);
    vtkNew<vtkMatrix4x4> ijkToWorld;
    this->Internal->Preview->GetImageToWorldMatrix(ijkToWorld);
    onGrid->SetImageToWorldMatrix(ijkToWorld);

    // This segment's voxels alone, in the segmentation's frame: segments may share one labelmap
    // layer, each with its own label value (GetSegmentBinaryLabelmapRepresentation would copy the
    // whole layer, other segments included).
    if (!segmentationNode->GetSegmentation() || !segmentationNode->GetSegmentation()->GetSegment(segmentID))
    {
      throw nni::Error(NNI_ERR_INVALID_ARGUMENT, std::string("SetSegment: the segmentation has no segment '") + segmentID + "'");
    }
    vtkNew<vtkOrientedImageData> segment;
    if (!segmentationNode->GetBinaryLabelmapRepresentation(segmentID, segment))
    {
      // A segmentation made of closed surfaces (a model, say) gets its labelmaps first, as
      // Slicer's Segment Editor does.
      if (!segmentationNode->CreateBinaryLabelmapRepresentation() ||
          !segmentationNode->GetBinaryLabelmapRepresentation(segmentID, segment))
      {
        throw nni::Error(NNI_ERR_INVALID_ARGUMENT, std::string("SetSegment: segment '") + segmentID + "' has no binary labelmap");
      }
    }
    vtkNew<vtkMatrix4x4> segmentIjkToSegmentation, segmentIjkToWorld;
    segment->GetImageToWorldMatrix(segmentIjkToSegmentation);
    vtkMatrix4x4::Multiply4x4(segmentationToWorld, segmentIjkToSegmentation, segmentIjkToWorld);
    segment->SetImageToWorldMatrix(segmentIjkToWorld);
    bool empty = segment->GetPointData() == nullptr || segment->GetPointData()->GetScalars() == nullptr;
    if (!empty)
    {
      int ext[6];
      segment->GetExtent(ext);
      empty = ext[1] < ext[0] || ext[3] < ext[2] || ext[5] < ext[4];
    }
    if (!empty)
    {
      vtkNew<vtkOrientedImageData> resampled;
      if (!vtkOrientedImageDataResample::ResampleOrientedImageToReferenceOrientedImage(segment, onGrid, resampled, false, true))
      {
        throw nni::Error(NNI_ERR_INVALID_ARGUMENT, "SetSegment: the segment cannot be resampled onto the volume");
      }
      CopyOverlap(resampled, onGrid);
    }
    // One session per segment (keyed by node and segment): switching back keeps its prompts.
    const char* nodeID = segmentationNode->GetID();
    this->Internal->Segmenter->ActivateSegment(onGrid, std::string(nodeID ? nodeID : "") + "/" + segmentID);
    this->Internal->SegmentOnGrid = onGrid;
    this->Internal->SegmentationNode = segmentationNode;
    this->Internal->SegmentID = segmentID;
    this->Internal->Preview->Modified();
  });
}

//----------------------------------------------------------------------------
bool vtkSlicerNNInteractiveLogic::AddPoint(const double ras[3], bool positive)
{
  return Guarded(this->Internal->LastError, this, [&] {
    if (!ras)
    {
      throw nni::Error(NNI_ERR_NULL_POINTER, "AddPoint: the point is null");
    }
    this->Segmenter().AddPoint(ToVec(ras), positive);
    this->Internal->Preview->Modified();
  });
}

//----------------------------------------------------------------------------
bool vtkSlicerNNInteractiveLogic::AddControlPoint(vtkMRMLMarkupsNode* markups, int index, bool positive)
{
  return Guarded(this->Internal->LastError, this, [&] {
    if (!markups || index < 0 || index >= markups->GetNumberOfControlPoints())
    {
      throw nni::Error(NNI_ERR_INVALID_ARGUMENT, "AddControlPoint: no such control point");
    }
    double p[3];
    markups->GetNthControlPointPositionWorld(index, p);
    this->Segmenter().AddPoint(ToVec(p), positive);
    this->Internal->Preview->Modified();
  });
}

//----------------------------------------------------------------------------
bool vtkSlicerNNInteractiveLogic::AddROI(vtkMRMLMarkupsROINode* roi, bool positive)
{
  return Guarded(this->Internal->LastError, this, [&] {
    if (!roi)
    {
      throw nni::Error(NNI_ERR_NULL_POINTER, "AddROI: the ROI node is null");
    }
    double centre[3], size[3];
    roi->GetCenterWorld(centre);
    roi->GetSizeWorld(size);
    nni::Mat3 axes{};
    for (int a = 0; a < 3; ++a)
    {
      double axis[3];
      roi->GetAxisWorld(a, axis);
      for (int r = 0; r < 3; ++r)
      {
        axes[static_cast<size_t>(r * 3 + a)] = axis[r];
      }
    }
    this->Segmenter().AddROI(nni::slicer::box_corners(ToVec(centre), ToVec(size), axes), positive);
    this->Internal->Preview->Modified();
  });
}

//----------------------------------------------------------------------------
bool vtkSlicerNNInteractiveLogic::AddClosedCurve(vtkMRMLMarkupsNode* curve, bool positive)
{
  return Guarded(this->Internal->LastError, this, [&] {
    if (!curve)
    {
      throw nni::Error(NNI_ERR_NULL_POINTER, "AddClosedCurve: the curve node is null");
    }
    this->Segmenter().AddClosedCurve(ControlPointsWorld(curve), positive);
    this->Internal->Preview->Modified();
  });
}

//----------------------------------------------------------------------------
bool vtkSlicerNNInteractiveLogic::AddOpenCurve(vtkMRMLMarkupsNode* curve, const double sliceNormalRAS[3],
                                               double brushRadius, bool positive)
{
  return Guarded(this->Internal->LastError, this, [&] {
    if (!curve || !sliceNormalRAS)
    {
      throw nni::Error(NNI_ERR_NULL_POINTER, "AddOpenCurve: the curve node or slice normal is null");
    }
    this->Segmenter().AddOpenCurve(ControlPointsWorld(curve), ToVec(sliceNormalRAS), brushRadius, positive);
    this->Internal->Preview->Modified();
  });
}

//----------------------------------------------------------------------------
bool vtkSlicerNNInteractiveLogic::Undo()
{
  return Guarded(this->Internal->LastError, this, [&] {
    if (!this->Segmenter().Undo())
    {
      throw nni::Error(NNI_ERR_NOTHING_TO_UNDO, "Undo: nothing to undo");
    }
    this->Internal->Preview->Modified();
  });
}

//----------------------------------------------------------------------------
bool vtkSlicerNNInteractiveLogic::ResetInteractions()
{
  return Guarded(this->Internal->LastError, this, [&] {
    this->Segmenter().ResetInteractions();
    this->Internal->Preview->Modified();
  });
}

//----------------------------------------------------------------------------
bool vtkSlicerNNInteractiveLogic::ApplyToSegment()
{
  return Guarded(this->Internal->LastError, this, [&] {
    nni::slicer::SegmentSegmenter& segmenter = this->Segmenter();
    vtkMRMLSegmentationNode* segmentationNode = this->Internal->SegmentationNode;
    if (!segmentationNode || !this->Internal->SegmentOnGrid)
    {
      throw nni::Error(NNI_ERR_INVALID_ARGUMENT, "ApplyToSegment: the segmentation node is gone; set the segment again");
    }
    // Write into a copy first, so that a failure below leaves the segment node as it was.
    auto labelmap = vtkSmartPointer<vtkOrientedImageData>::New();
    labelmap->DeepCopy(this->Internal->SegmentOnGrid);
    segmenter.ApplyTo(labelmap);
    WriteToSegment(labelmap, segmentationNode, this->Internal->SegmentID);
    this->Internal->SegmentOnGrid = labelmap;
  });
}

//----------------------------------------------------------------------------
bool vtkSlicerNNInteractiveLogic::ShowPreviewIn(vtkMRMLSegmentationNode* previewNode, const char* segmentID)
{
  return Guarded(this->Internal->LastError, this, [&] {
    if (!previewNode || !segmentID)
    {
      throw nni::Error(NNI_ERR_NULL_POINTER, "ShowPreviewIn: the preview node or segment ID is null");
    }
    if (!this->Internal->Preview)
    {
      throw nni::Error(NNI_ERR_NO_IMAGE, "ShowPreviewIn: set the volume first");
    }
    WriteToSegment(this->Internal->Preview, previewNode, segmentID);
  });
}

//----------------------------------------------------------------------------
bool vtkSlicerNNInteractiveLogic::SetAutoZoom(bool on)
{
  return Guarded(this->Internal->LastError, this, [&] {
    if (!this->Internal->Segmenter)
    {
      throw nni::Error(NNI_ERR_INVALID_ARGUMENT, "SetAutoZoom: load a model first");
    }
    this->Internal->Segmenter->SetAutoZoom(on);
  });
}

//----------------------------------------------------------------------------
vtkOrientedImageData* vtkSlicerNNInteractiveLogic::GetPreview()
{
  return this->Internal->Preview;
}

//----------------------------------------------------------------------------
const char* vtkSlicerNNInteractiveLogic::GetLastErrorText() const
{
  return this->Internal->LastError.c_str();
}

//----------------------------------------------------------------------------
nni::slicer::SegmentSegmenter& vtkSlicerNNInteractiveLogic::Segmenter()
{
  if (!this->Internal->Segmenter || !this->Internal->Preview)
  {
    throw nni::Error(NNI_ERR_NO_IMAGE, "load a model and set a volume first");
  }
  if (!this->Internal->Segmenter->HasActiveSegment())
  {
    throw nni::Error(NNI_ERR_INVALID_ARGUMENT, "set a segment first");
  }
  return *this->Internal->Segmenter;
}
