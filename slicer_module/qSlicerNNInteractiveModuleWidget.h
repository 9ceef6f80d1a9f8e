// qSlicerNNInteractiveModuleWidget: the module's panel. Thin: node selectors and buttons that
// call vtkSlicerNNInteractiveLogic; the preview is shown as a helper segmentation node.
#ifndef qSlicerNNInteractiveModuleWidget_h
#define qSlicerNNInteractiveModuleWidget_h

#include "qSlicerAbstractModuleWidget.h"

#include "qSlicerNNInteractiveModuleExport.h"

#include <string>


class QCheckBox;
class QLabel;
class QLineEdit;
class qMRMLNodeComboBox;
class qMRMLSegmentSelectorWidget;
class vtkMRMLSegmentationNode;
class vtkSlicerNNInteractiveLogic;

class Q_SLICER_QTMODULES_NNINTERACTIVE_EXPORT qSlicerNNInteractiveModuleWidget : public qSlicerAbstractModuleWidget
{
  Q_OBJECT

public:
  typedef qSlicerAbstractModuleWidget Superclass;
  explicit qSlicerNNInteractiveModuleWidget(QWidget* parent = nullptr);
  ~qSlicerNNInteractiveModuleWidget() override;

protected:
  void setup() override;

protected slots:
  void onLoadModel();
  void onVolumeChanged();
  void onSegmentChanged();
  void onAddPoint();
  void onAddROI();
  void onAddLasso();
  void onAddScribble();
  void onUndo();
  void onReset();
  void onApply();

private:
  vtkSlicerNNInteractiveLogic* nnLogic() const;
  /// Shows the outcome of a logic call: the preview on success, the error otherwise.
  void report(bool ok, const QString& what);
  vtkMRMLSegmentationNode* previewNode();

  QLineEdit* ModelPath = nullptr;
  QLineEdit* OnnxRuntimePath = nullptr;
  qMRMLNodeComboBox* VolumeSelector = nullptr;
  qMRMLSegmentSelectorWidget* SegmentSelector = nullptr;
  qMRMLNodeComboBox* PointsSelector = nullptr;
  qMRMLNodeComboBox* ROISelector = nullptr;
  qMRMLNodeComboBox* LassoSelector = nullptr;
  qMRMLNodeComboBox* ScribbleSelector = nullptr;
  QCheckBox* Negative = nullptr;
  QLabel* Status = nullptr;
  std::string PreviewNodeID;
};

#endif
