// mitk::NNInteractiveNativeTool: nnInteractive as a native MITK segmentation tool. Prompts
// (clicks, and drags drawn as boxes, scribbles or lassos in any 2D render window, or planar
// rectangles and masks painted by MITK's 2D tools), positive or negative, refine the active label of the working multi-label segmentation; the
// prediction is shown as the tool's preview (mitk::SegWithPreviewTool) until confirmed, which
// MITK's preview transfer writes into the label, regarding label locks.
//
// Thin MITK glue over nni::mitk_tool::LabelSegmenter (core/nninteractive_mitk_segmenter.hpp,
// tested in mitk_module/test), which holds the session, the geometry (ITK adapter) and the
// region-by-region preview. Call from MITK's main (GUI) thread.
//
// Written against MITK v2025.08 (mitk::MultiLabelSegmentation) and checked at symbol level
// against the MITK 2026.06 libraries by tools/check/mitk.sh; see mitk_module/README.md.
#ifndef mitkNNInteractiveNativeTool_h
#define mitkNNInteractiveNativeTool_h

#include <mitkSegWithPreviewTool.h>

#include <MitkNNInteractiveNativeExports.h>

#include <memory>
#include <string>
#include <vector>

namespace us
{
  class ModuleResource;
}

namespace nni
{
  namespace mitk_tool
  {
    class LabelSegmenter;
  }
}

namespace mitk
{
  class PlanarRectangle;

  class MITKNNINTERACTIVENATIVE_EXPORT NNInteractiveNativeTool : public SegWithPreviewTool
  {
  public:
    mitkClassMacro(NNInteractiveNativeTool, SegWithPreviewTool);
    itkFactorylessNewMacro(Self);

    const char* GetName() const override;
    const char** GetXPM() const override;
    us::ModuleResource GetIconResource() const override;

    /// Loads ONNX Runtime (empty path: NNI_ONNXRUNTIME_PATH, then next to libnninteractive) and
    /// the converted model; then takes the current reference image. False on failure
    /// (GetLastError() says why); the tool is then unusable until a model loads.
    bool LoadModel(const std::string& modelPath, const std::string& onnxRuntimePath = "");
    bool IsModelLoaded() const;

    /// What a left-button gesture in a 2D render window gives: a click a point; a drag a box
    /// (its two corners on the window's plane), a scribble (the dragged path) or a lasso (the
    /// dragged path, closed).
    enum class Mode
    {
      Point,
      Box,
      Scribble,
      Lasso
    };
    void SetMode(Mode mode);
    Mode GetMode() const;
    /// Positive (adds) or negative (removes) prompts; Shift inverts it for one gesture.
    void SetPositive(bool positive);
    bool GetPositive() const;

    /// Prompts on the active label; false (GetLastError()) when refused, nothing changed.
    bool AddPoint(const Point3D& worldPoint, bool positive);
    bool AddBox(const PlanarRectangle* box, bool positive);
    /// A scribble (lasso == false) or lasso painted into `mask` (on the reference grid) on the
    /// slice described by `slicePlane`.
    bool AddDrawnMask(const Image* mask, const PlaneGeometry* slicePlane, bool lasso, bool positive);
    bool Undo();
    bool ResetInteractions();

    /// AutoZoom on (default) or off.
    bool SetAutoZoom(bool on);

    std::string GetLastError() const;

  protected:
    NNInteractiveNativeTool();
    ~NNInteractiveNativeTool() override;

    /// The reference image (or ROI input) changed: set it into the session.
    void InitiateToolByInput() override;
    /// Left-button gestures in a 2D render window become prompts (see Mode).
    void Notify(InteractionEvent* interactionEvent, bool isHandled) override;
    /// Before MITK writes the preview into the segmentation: the engine re-reads the label
    /// from the segmentation at the next prompt.
    void PreparePreviewToResultTransfer(const LabelMappingType& labelMapping) override;
    /// Copies the engine's preview (the active label's prediction) into `previewImage`.
    void DoUpdatePreview(const Image* inputAtTimeStep, const Image* oldSegAtTimeStep,
                         MultiLabelSegmentation* previewImage, TimeStepType timeStep) override;

  private:
    /// Makes the segmentation's active label the engine's label when it changed.
    void SyncActiveLabel();
    template <class F>
    bool Guarded(F&& body);

    /// Ends the gesture in progress as the prompt of the current mode.
    void FinishGesture();

    std::unique_ptr<nni::mitk_tool::LabelSegmenter> m_Segmenter;
    Mode m_Mode = Mode::Point;
    bool m_Positive = true;
    bool m_GesturePositive = true;
    std::vector<Point3D> m_Gesture;                 // world points of the drag in progress
    PlaneGeometry::ConstPointer m_GesturePlane;     // the render window's plane it is drawn on
    Label::PixelType m_EngineLabel = 0;
    std::string m_LastError;
  };
}

#endif
