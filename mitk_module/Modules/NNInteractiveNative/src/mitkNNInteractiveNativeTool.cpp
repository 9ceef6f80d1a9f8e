// mitk::NNInteractiveNativeTool: see the header.
#include "mitkNNInteractiveNativeTool.h"

#include "nninteractive_mitk_segmenter.hpp"

#include <mitkBaseRenderer.h>
#include <mitkImageCast.h>
#include <mitkInteractionPositionEvent.h>
#include <mitkMouseMoveEvent.h>
#include <mitkMousePressEvent.h>
#include <mitkMouseReleaseEvent.h>
#include <mitkPlanarRectangle.h>
#include <mitkRenderingManager.h>
#include <mitkTimeNavigationController.h>
#include <mitkToolManager.h>
// The class was mitk::LabelSetImage in mitkLabelSetImage.h up to MITK 2024.12; v2025.08 names it
// mitk::MultiLabelSegmentation in the same file; later releases may name the file after it.
#if __has_include(<mitkMultiLabelSegmentation.h>)
#include <mitkMultiLabelSegmentation.h>
#else
#include <mitkLabelSetImage.h>
#endif

// Not <usGetModuleContext.h>: its inline GetModuleContext() logs through us::message_output and
// us::ModuleSettings::GetLogLevel, which MITK 2026.06's CppMicroServices no longer exports.
#include <usModule.h>
#include <usModuleRegistry.h>
#include <usModuleResource.h>

#include <cmath>
#include <exception>
#include <vector>

namespace mitk
{
  MITK_TOOL_MACRO(MITKNNINTERACTIVENATIVE_EXPORT, NNInteractiveNativeTool, "nnInteractive (native) tool");
}

// US_MODULE_NAME (mitk_create_module defines it as the module's target name) as a string.
#define NNI_MITK_STRINGIFY_(x) #x
#define NNI_MITK_STRINGIFY(x) NNI_MITK_STRINGIFY_(x)

namespace
{
  using ReferenceImage = itk::Image<float, 3>;

  nni::itk::PointType ToItk(const mitk::Point3D& p)
  {
    nni::itk::PointType q;
    for (unsigned a = 0; a < 3; ++a)
      q[a] = p[a];
    return q;
  }

  nni::itk::VectorType ToItk(const mitk::Vector3D& v)
  {
    nni::itk::VectorType q;
    for (unsigned a = 0; a < 3; ++a)
      q[a] = v[a];
    return q;
  }
}

mitk::NNInteractiveNativeTool::NNInteractiveNativeTool()
  : SegWithPreviewTool(false) // the preview is computed for the current time step only
{
  this->ResetsToEmptyPreviewOn();
  this->KeepActiveAfterAcceptOn();
}

mitk::NNInteractiveNativeTool::~NNInteractiveNativeTool() = default;

const char* mitk::NNInteractiveNativeTool::GetName() const
{
  return "nnInteractive (native)";
}

const char** mitk::NNInteractiveNativeTool::GetXPM() const
{
  return nullptr;
}

us::ModuleResource mitk::NNInteractiveNativeTool::GetIconResource() const
{
  // This module, by the name mitk_create_module gives it (US_MODULE_NAME), without
  // us::GetModuleContext() (see the includes).
  us::Module* module = us::ModuleRegistry::GetModule(NNI_MITK_STRINGIFY(US_MODULE_NAME));
  return module != nullptr ? module->GetResource("nnInteractiveNative.svg") : us::ModuleResource();
}

template <class F>
bool mitk::NNInteractiveNativeTool::Guarded(F&& body)
{
  try
  {
    m_LastError.clear();
    body();
    return true;
  }
  catch (const std::exception& e)
  {
    m_LastError = e.what();
    MITK_ERROR << "nnInteractive (native): " << m_LastError;
    return false;
  }
}

bool mitk::NNInteractiveNativeTool::LoadModel(const std::string& modelPath, const std::string& onnxRuntimePath)
{
  const bool ok = this->Guarded([&] {
    nni::runtime_init(onnxRuntimePath.empty() ? nullptr : onnxRuntimePath.c_str());
    m_Segmenter = std::make_unique<nni::mitk_tool::LabelSegmenter>(
      nni::SessionOptions{modelPath, nni::Device::Auto, 0, true});
    m_EngineLabel = 0;
  });
  if (ok)
    this->InitiateToolByInput();
  return ok;
}

bool mitk::NNInteractiveNativeTool::IsModelLoaded() const
{
  return m_Segmenter != nullptr;
}

void mitk::NNInteractiveNativeTool::InitiateToolByInput()
{
  Superclass::InitiateToolByInput();
  const Image* input = this->GetSegmentationInput();
  if (!m_Segmenter || input == nullptr)
    return;
  this->Guarded([&] {
    auto timeStep = GetImageByTimePoint(input, RenderingManager::GetInstance()->GetTimeNavigationController()->GetSelectedTimePoint());
    ReferenceImage::Pointer image;
    CastToItkImage(timeStep.GetPointer(), image);
    m_Segmenter->SetReferenceImage(image.GetPointer());
    m_EngineLabel = 0;
  });
}

void mitk::NNInteractiveNativeTool::SyncActiveLabel()
{
  if (!m_Segmenter)
    throw nni::Error(NNI_ERR_MODEL, "load a model first");
  const Label::PixelType label = this->GetUserDefinedActiveLabel();
  if (label == m_EngineLabel && m_Segmenter->ActiveLabel() != 0)
    return;
  MultiLabelSegmentation* target = this->GetTargetSegmentation();
  if (target == nullptr)
    throw nni::Error(NNI_ERR_INVALID_ARGUMENT, "no working segmentation");
  const auto group = target->GetGroupIndexOfLabel(label);
  auto groupImage = GetImageByTimePoint(target->GetGroupImage(group),
    RenderingManager::GetInstance()->GetTimeNavigationController()->GetSelectedTimePoint());
  nni::mitk_tool::LabelImage::Pointer labels;
  CastToItkImage(groupImage.GetPointer(), labels);
  m_Segmenter->ActivateLabel(labels.GetPointer(), label);
  m_EngineLabel = label;
}

bool mitk::NNInteractiveNativeTool::AddPoint(const Point3D& worldPoint, bool positive)
{
  return this->Guarded([&] {
    this->SyncActiveLabel();
    m_Segmenter->AddPoint(ToItk(worldPoint), positive);
    this->UpdatePreview();
  });
}

bool mitk::NNInteractiveNativeTool::AddBox(const PlanarRectangle* box, bool positive)
{
  return this->Guarded([&] {
    if (box == nullptr || box->GetNumberOfControlPoints() < 2 || box->GetPlaneGeometry() == nullptr)
      throw nni::Error(NNI_ERR_INVALID_ARGUMENT, "the box is not placed");
    this->SyncActiveLabel();
    const PlaneGeometry* plane = box->GetPlaneGeometry();
    m_Segmenter->AddBox(ToItk(box->GetWorldControlPoint(0)), ToItk(box->GetWorldControlPoint(2)),
                        ToItk(plane->GetAxisVector(0)), ToItk(plane->GetAxisVector(1)), positive);
    this->UpdatePreview();
  });
}

bool mitk::NNInteractiveNativeTool::AddDrawnMask(const Image* mask, const PlaneGeometry* slicePlane, bool lasso,
                                                 bool positive)
{
  return this->Guarded([&] {
    if (mask == nullptr || slicePlane == nullptr)
      throw nni::Error(NNI_ERR_NULL_POINTER, "no mask or slice plane");
    this->SyncActiveLabel();
    // Only the slice drawn on is searched: the index axis most aligned with the plane's normal,
    // at the plane's centre.
    const nni::itk::Geometry& g = m_Segmenter->GetGeometry();
    const Vector3D n = slicePlane->GetNormal();
    const size_t axis = nni::geom::dominant_axis(g.world_normal_to_index({n[0], n[1], n[2]}));
    const Point3D c = slicePlane->GetCenter();
    const int64_t slice = nni::geom::round_half_up(g.world_to_continuous_index({c[0], c[1], c[2]})[axis]);
    nni::Region search;
    search.min = {0, 0, 0};
    search.max = {static_cast<int64_t>(g.dims()[0]), static_cast<int64_t>(g.dims()[1]), static_cast<int64_t>(g.dims()[2])};
    search.min[axis] = slice;
    search.max[axis] = slice + 1;
    nni::mitk_tool::MaskImage::Pointer drawn;
    CastToItkImage(mask, drawn);
    m_Segmenter->AddDrawnMask(drawn.GetPointer(), lasso, positive, search);
    this->UpdatePreview();
  });
}

bool mitk::NNInteractiveNativeTool::Undo()
{
  return this->Guarded([&] {
    this->SyncActiveLabel();
    if (!m_Segmenter->Undo())
      throw nni::Error(NNI_ERR_NOTHING_TO_UNDO, "nothing to undo");
    this->UpdatePreview();
  });
}

bool mitk::NNInteractiveNativeTool::ResetInteractions()
{
  return this->Guarded([&] {
    this->SyncActiveLabel();
    m_Segmenter->ResetInteractions();
    this->UpdatePreview();
  });
}

bool mitk::NNInteractiveNativeTool::SetAutoZoom(bool on)
{
  return this->Guarded([&] {
    if (!m_Segmenter)
      throw nni::Error(NNI_ERR_MODEL, "load a model first");
    m_Segmenter->SetAutoZoom(on);
  });
}

void mitk::NNInteractiveNativeTool::SetMode(Mode mode)
{
  m_Mode = mode;
  m_Gesture.clear();
}

mitk::NNInteractiveNativeTool::Mode mitk::NNInteractiveNativeTool::GetMode() const
{
  return m_Mode;
}

void mitk::NNInteractiveNativeTool::SetPositive(bool positive)
{
  m_Positive = positive;
}

bool mitk::NNInteractiveNativeTool::GetPositive() const
{
  return m_Positive;
}

void mitk::NNInteractiveNativeTool::Notify(InteractionEvent* interactionEvent, bool isHandled)
{
  Superclass::Notify(interactionEvent, isHandled);
  if (isHandled || !m_Segmenter)
    return;
  if (auto* press = dynamic_cast<MousePressEvent*>(interactionEvent))
  {
    if (press->GetEventButton() != InteractionEvent::LeftMouseButton)
      return;
    const bool shift = (press->GetModifiers() & InteractionEvent::ShiftKey) != 0;
    m_GesturePositive = shift ? !m_Positive : m_Positive;
    if (m_Mode == Mode::Point)
    {
      this->AddPoint(press->GetPositionInWorld(), m_GesturePositive);
      return;
    }
    m_Gesture.assign(1, press->GetPositionInWorld());
    m_GesturePlane = press->GetSender()->GetCurrentWorldPlaneGeometry();
  }
  else if (auto* move = dynamic_cast<MouseMoveEvent*>(interactionEvent))
  {
    if (!m_Gesture.empty() && (move->GetButtonStates() & InteractionEvent::LeftMouseButton) != 0)
      m_Gesture.push_back(move->GetPositionInWorld());
  }
  else if (auto* release = dynamic_cast<MouseReleaseEvent*>(interactionEvent))
  {
    if (!m_Gesture.empty() && release->GetEventButton() == InteractionEvent::LeftMouseButton)
    {
      m_Gesture.push_back(release->GetPositionInWorld());
      this->FinishGesture();
    }
  }
}

void mitk::NNInteractiveNativeTool::FinishGesture()
{
  std::vector<nni::itk::PointType> path;
  for (const Point3D& p : m_Gesture)
    path.push_back(ToItk(p));
  m_Gesture.clear();
  const PlaneGeometry* plane = m_GesturePlane.GetPointer();
  if (plane == nullptr || path.size() < 2)
    return;
  const bool positive = m_GesturePositive;
  this->Guarded([&] {
    this->SyncActiveLabel();
    switch (m_Mode)
    {
      case Mode::Box:
        m_Segmenter->AddBox(path.front(), path.back(), ToItk(plane->GetAxisVector(0)), ToItk(plane->GetAxisVector(1)),
                            positive);
        break;
      case Mode::Scribble:
        m_Segmenter->AddScribble(path, ToItk(plane->GetNormal()), 1.0, positive);
        break;
      case Mode::Lasso:
        if (path.size() < 3)
          throw nni::Error(NNI_ERR_INVALID_ARGUMENT, "a lasso needs a drawn outline");
        m_Segmenter->AddLasso(path, positive);
        break;
      case Mode::Point:
        return;
    }
    this->UpdatePreview();
  });
}

void mitk::NNInteractiveNativeTool::PreparePreviewToResultTransfer(const LabelMappingType& labelMapping)
{
  Superclass::PreparePreviewToResultTransfer(labelMapping);
  m_EngineLabel = 0;
}

std::string mitk::NNInteractiveNativeTool::GetLastError() const
{
  return m_LastError;
}

void mitk::NNInteractiveNativeTool::DoUpdatePreview(const Image* /*inputAtTimeStep*/, const Image* /*oldSegAtTimeStep*/,
                                                    MultiLabelSegmentation* previewImage, TimeStepType timeStep)
{
  if (!m_Segmenter || m_Segmenter->ActiveLabel() == 0 || previewImage == nullptr)
    return;
  // The engine's preview holds the working segmentation's label value; the preview
  // segmentation may number that label differently (MITK maps it back on confirm).
  const auto previewLabel = this->GetActiveLabelValueOfPreview();
  const auto engineLabel = m_Segmenter->ActiveLabel();
  const nni::mitk_tool::LabelImage* preview = m_Segmenter->GetPreview();
  const auto n = preview->GetBufferedRegion().GetNumberOfPixels();
  Image* group = previewImage->GetGroupImage(previewImage->GetGroupIndexOfLabel(previewLabel));
  if (group == nullptr || group->GetDimension() < 3 || group->GetPixelType().GetSize() != sizeof(Label::PixelType) ||
      static_cast<itk::SizeValueType>(group->GetDimension(0)) * group->GetDimension(1) * group->GetDimension(2) != n)
  {
    MITK_ERROR << "nnInteractive (native): the preview segmentation is not on the reference image's grid";
    return;
  }
  // What MultiLabelSegmentation::UpdateGroupImage does in v2025.08 (a geometry check, then
  // SetVolume on the group image at the time step), without calling it: its signature differs
  // between v2025.08 (4 parameters) and 2026.06 (a fifth int, whose meaning no public source
  // tells); Image::SetVolume is the same in both. The engine's preview is on the reference
  // image's grid, as the preview segmentation is (voxel count and pixel size checked above).
  const Label::PixelType* voxels = preview->GetBufferPointer();
  std::vector<Label::PixelType> remapped;
  if (previewLabel != engineLabel)
  {
    remapped.resize(n);
    for (itk::SizeValueType at = 0; at < n; ++at)
      remapped[at] = voxels[at] == engineLabel ? previewLabel : 0;
    voxels = remapped.data();
  }
  group->SetVolume(voxels, static_cast<int>(timeStep));
}
