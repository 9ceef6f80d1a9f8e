// vtkSlicerNNInteractiveLogic: the logic of the nnInteractive Slicer loadable module. It takes a
// scalar volume node, markups (fiducials, ROIs, open and closed curves) and one segment of a
// segmentation node, runs nnInteractive through libnninteractive (no Python, no server), shows
// the prediction as a preview and writes it into the segment when applied.
//
// MRML glue only: geometry, prompts and preview/apply are nni::slicer::SegmentSegmenter
// (nninteractive_slicer_segmenter.hpp), tested against VTK in slicer_module/test. This class
// reads the nodes (world RAS positions, IJK-to-RAS with parent transforms, the segment's
// labelmap resampled onto the volume's grid) and writes the segment back.
//
// Every method returns false on failure, leaving the session, the preview and the nodes as they
// were; GetLastErrorText() says why. Not thread-safe: call from Slicer's main thread.
#ifndef vtkSlicerNNInteractiveLogic_h
#define vtkSlicerNNInteractiveLogic_h

#include <vtkSlicerModuleLogic.h>

#include "vtkSlicerNNInteractiveModuleLogicExport.h"

#include <memory>
#include <string>

class vtkMRMLMarkupsNode;
class vtkMRMLMarkupsROINode;
class vtkMRMLScalarVolumeNode;
class vtkMRMLSegmentationNode;
class vtkOrientedImageData;
namespace nni
{
namespace slicer
{
class SegmentSegmenter;
}
}

class VTK_SLICER_NNINTERACTIVE_MODULE_LOGIC_EXPORT vtkSlicerNNInteractiveLogic : public vtkSlicerModuleLogic
{
public:
  static vtkSlicerNNInteractiveLogic* New();
  vtkTypeMacro(vtkSlicerNNInteractiveLogic, vtkSlicerModuleLogic);
  void PrintSelf(ostream& os, vtkIndent indent) override;

  /// Inference device (nni_session_options.device).
  enum Device
  {
    DeviceAuto = 0,
    DeviceCPU = 1,
    DeviceCUDA = 2
  };

  /// Loads ONNX Runtime from `onnxRuntimeLibrary` (null: NNI_ONNXRUNTIME_PATH, then next to
  /// libnninteractive) and the converted model (.onnx with nnInteractive metadata). Drops any
  /// volume, segment and prompts.
  bool LoadModel(const char* modelPath, const char* onnxRuntimeLibrary = nullptr, int device = DeviceAuto);
  /// True after a successful LoadModel().
  bool IsModelLoaded() const;

  /// Sets the volume to segment (its image data and IJK-to-RAS, with a linear parent transform
  /// applied). Drops the active segment and every prompt.
  bool SetVolume(vtkMRMLScalarVolumeNode* volumeNode);

  /// Makes `segmentID` of `segmentationNode` the segment prompts refine: its current voxels,
  /// resampled onto the volume's grid, seed the session and the preview.
  bool SetSegment(vtkMRMLSegmentationNode* segmentationNode, const char* segmentID);

  //@{
  /// Prompts. Positive prompts add to the segment, negative ones remove.
  /// A click at a world RAS point.
  bool AddPoint(const double ras[3], bool positive);
  /// A click at control point `index` of a markups node (e.g. a point list).
  bool AddControlPoint(vtkMRMLMarkupsNode* markups, int index, bool positive);
  /// A box: the ROI node's box (any orientation; a flat ROI is a 2D box).
  bool AddROI(vtkMRMLMarkupsROINode* roi, bool positive);
  /// A lasso: the control points of a closed curve drawn on one slice.
  bool AddClosedCurve(vtkMRMLMarkupsNode* curve, bool positive);
  /// A scribble: the control points of an open curve drawn on the slice with world normal
  /// `sliceNormalRAS`; `brushRadius` in voxels.
  bool AddOpenCurve(vtkMRMLMarkupsNode* curve, const double sliceNormalRAS[3], double brushRadius, bool positive);
  //@}

  /// Undoes the last prompt (one level).
  bool Undo();
  /// Drops the prompts; the preview returns to the segment as set (or last applied).
  bool ResetInteractions();
  /// Writes the preview into the segment (replacing it); further prompts refine the result.
  bool ApplyToSegment();

  /// Shows the preview as segment `segmentID` of `previewNode` (a helper segmentation the
  /// widget displays; the segment must exist; its content is replaced).
  bool ShowPreviewIn(vtkMRMLSegmentationNode* previewNode, const char* segmentID);

  /// AutoZoom on (default) or off.
  bool SetAutoZoom(bool on);

  /// The preview (1 = predicted) on the volume's grid, with the volume's IJK-to-world
  /// geometry; null before SetVolume(). Updated in place after each prompt.
  vtkOrientedImageData* GetPreview();

  /// Why the last call that returned false failed.
  const char* GetLastErrorText() const;

protected:
  vtkSlicerNNInteractiveLogic();
  ~vtkSlicerNNInteractiveLogic() override;

private:
  vtkSlicerNNInteractiveLogic(const vtkSlicerNNInteractiveLogic&) = delete;
  void operator=(const vtkSlicerNNInteractiveLogic&) = delete;

  /// The engine, with a volume and an active segment (nni::Error otherwise).
  nni::slicer::SegmentSegmenter& Segmenter();

  struct Internals;
  std::unique_ptr<Internals> Internal;
};

#endif
