// qSlicerNNInteractiveModuleWidget: see the header.
#include "qSlicerNNInteractiveModuleWidget.h"

#include "vtkSlicerNNInteractiveLogic.h"

// Slicer
#include <qMRMLNodeComboBox.h>
#include <qMRMLSegmentSelectorWidget.h>
#include <qMRMLSliceWidget.h>
#include <qSlicerApplication.h>
#include <qSlicerLayoutManager.h>
#include <vtkMRMLMarkupsNode.h>
#include <vtkMRMLMarkupsROINode.h>
#include <vtkMRMLScalarVolumeNode.h>
#include <vtkMRMLScene.h>
#include <vtkMRMLSegmentationNode.h>
#include <vtkMRMLSliceNode.h>
#include <vtkSegmentation.h>

// VTK, Qt
#include <vtkMatrix4x4.h>
#include <QCheckBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>

namespace
{
const char* PREVIEW_SEGMENT = "preview";

qMRMLNodeComboBox* nodeSelector(const char* className, QWidget* parent)
{
  auto* box = new qMRMLNodeComboBox(parent);
  box->setNodeTypes(QStringList() << className);
  box->setNoneEnabled(true);
  box->setAddEnabled(false);
  box->setRemoveEnabled(false);
  return box;
}
} // namespace

qSlicerNNInteractiveModuleWidget::qSlicerNNInteractiveModuleWidget(QWidget* parent)
  : Superclass(parent)
{
}

qSlicerNNInteractiveModuleWidget::~qSlicerNNInteractiveModuleWidget() = default;

vtkSlicerNNInteractiveLogic* qSlicerNNInteractiveModuleWidget::nnLogic() const
{
  return vtkSlicerNNInteractiveLogic::SafeDownCast(this->logic());
}

void qSlicerNNInteractiveModuleWidget::setup()
{
  auto* form = new QFormLayout(this);

  this->ModelPath = new QLineEdit(this);
  this->OnnxRuntimePath = new QLineEdit(this);
  this->OnnxRuntimePath->setPlaceholderText(tr("default: NNI_ONNXRUNTIME_PATH or next to libnninteractive"));
  auto* load = new QPushButton(tr("Load model"), this);
  form->addRow(tr("Model (.onnx):"), this->ModelPath);
  form->addRow(tr("ONNX Runtime:"), this->OnnxRuntimePath);
  form->addRow(load);

  this->VolumeSelector = nodeSelector("vtkMRMLScalarVolumeNode", this);
  form->addRow(tr("Volume:"), this->VolumeSelector);
  this->SegmentSelector = new qMRMLSegmentSelectorWidget(this);
  form->addRow(tr("Segment:"), this->SegmentSelector);

  this->PointsSelector = nodeSelector("vtkMRMLMarkupsFiducialNode", this);
  this->ROISelector = nodeSelector("vtkMRMLMarkupsROINode", this);
  this->LassoSelector = nodeSelector("vtkMRMLMarkupsClosedCurveNode", this);
  this->ScribbleSelector = nodeSelector("vtkMRMLMarkupsCurveNode", this);
  this->Negative = new QCheckBox(tr("negative (remove)"), this);
  // Connections are pointer-to-member (not SIGNAL/SLOT strings), so that compiling against
  // Slicer's headers (tools/check/slicer_qt.sh) checks every signal and slot named here.
  using Self = qSlicerNNInteractiveModuleWidget;
  auto prompt = [&](qMRMLNodeComboBox* selector, const QString& label, void (Self::*slot)()) {
    auto* row = new QHBoxLayout;
    auto* button = new QPushButton(label, this);
    row->addWidget(selector, 1);
    row->addWidget(button);
    form->addRow(row);
    QObject::connect(button, &QPushButton::clicked, this, slot);
  };
  prompt(this->PointsSelector, tr("Add last point"), &Self::onAddPoint);
  prompt(this->ROISelector, tr("Add box"), &Self::onAddROI);
  prompt(this->LassoSelector, tr("Add lasso"), &Self::onAddLasso);
  prompt(this->ScribbleSelector, tr("Add scribble"), &Self::onAddScribble);
  form->addRow(this->Negative);

  auto* actions = new QHBoxLayout;
  auto* undo = new QPushButton(tr("Undo"), this);
  auto* reset = new QPushButton(tr("Reset"), this);
  auto* apply = new QPushButton(tr("Apply"), this);
  actions->addWidget(undo);
  actions->addWidget(reset);
  actions->addWidget(apply);
  form->addRow(actions);
  this->Status = new QLabel(this);
  this->Status->setWordWrap(true);
  form->addRow(this->Status);

  for (qMRMLNodeComboBox* box :
       { this->VolumeSelector, this->PointsSelector, this->ROISelector, this->LassoSelector, this->ScribbleSelector })
  {
    QObject::connect(this, &Self::mrmlSceneChanged, box, &qMRMLNodeComboBox::setMRMLScene);
  }
  QObject::connect(this, &Self::mrmlSceneChanged, this->SegmentSelector, &qMRMLSegmentSelectorWidget::setMRMLScene);
  QObject::connect(load, &QPushButton::clicked, this, &Self::onLoadModel);
  QObject::connect(this->VolumeSelector, qOverload<vtkMRMLNode*>(&qMRMLNodeComboBox::currentNodeChanged), this,
                   &Self::onVolumeChanged);
  QObject::connect(this->SegmentSelector, &qMRMLSegmentSelectorWidget::currentSegmentChanged, this,
                   &Self::onSegmentChanged);
  QObject::connect(undo, &QPushButton::clicked, this, &Self::onUndo);
  QObject::connect(reset, &QPushButton::clicked, this, &Self::onReset);
  QObject::connect(apply, &QPushButton::clicked, this, &Self::onApply);
  this->Superclass::setup();
}

vtkMRMLSegmentationNode* qSlicerNNInteractiveModuleWidget::previewNode()
{
  vtkMRMLScene* scene = this->mrmlScene();
  if (!scene)
  {
    return nullptr;
  }
  auto* node = vtkMRMLSegmentationNode::SafeDownCast(scene->GetNodeByID(this->PreviewNodeID));
  if (!node)
  {
    node = vtkMRMLSegmentationNode::SafeDownCast(
      scene->AddNewNodeByClass("vtkMRMLSegmentationNode", "nnInteractive preview"));
    node->CreateDefaultDisplayNodes();
    node->GetSegmentation()->AddEmptySegment(PREVIEW_SEGMENT, PREVIEW_SEGMENT);
    this->PreviewNodeID = node->GetID();
  }
  return node;
}

void qSlicerNNInteractiveModuleWidget::report(bool ok, const QString& what)
{
  vtkSlicerNNInteractiveLogic* logic = this->nnLogic();
  if (!ok)
  {
    this->Status->setText(what + tr(" failed: ") + QString::fromUtf8(logic->GetLastErrorText()));
    return;
  }
  vtkMRMLSegmentationNode* preview = this->previewNode();
  if (preview && logic->GetPreview())
  {
    logic->ShowPreviewIn(preview, PREVIEW_SEGMENT);
  }
  this->Status->setText(what + tr(": done"));
}

void qSlicerNNInteractiveModuleWidget::onLoadModel()
{
  const QByteArray model = this->ModelPath->text().toUtf8();
  const QByteArray ort = this->OnnxRuntimePath->text().toUtf8();
  const bool ok = this->nnLogic()->LoadModel(model.constData(), ort.isEmpty() ? nullptr : ort.constData());
  this->Status->setText(ok ? tr("Model loaded") : tr("Loading the model failed: ") + this->nnLogic()->GetLastErrorText());
  if (ok)
  {
    this->onVolumeChanged();
  }
}

void qSlicerNNInteractiveModuleWidget::onVolumeChanged()
{
  auto* volume = vtkMRMLScalarVolumeNode::SafeDownCast(this->VolumeSelector->currentNode());
  if (!volume || !this->nnLogic()->IsModelLoaded())
  {
    return;
  }
  this->report(this->nnLogic()->SetVolume(volume), tr("Set volume"));
  this->onSegmentChanged();
}

void qSlicerNNInteractiveModuleWidget::onSegmentChanged()
{
  auto* segmentation = vtkMRMLSegmentationNode::SafeDownCast(this->SegmentSelector->currentNode());
  const QByteArray id = this->SegmentSelector->currentSegmentID().toUtf8();
  if (!segmentation || id.isEmpty() || !this->nnLogic()->GetPreview())
  {
    return;
  }
  this->report(this->nnLogic()->SetSegment(segmentation, id.constData()), tr("Set segment"));
}

void qSlicerNNInteractiveModuleWidget::onAddPoint()
{
  auto* points = vtkMRMLMarkupsNode::SafeDownCast(this->PointsSelector->currentNode());
  const int last = points ? points->GetNumberOfControlPoints() - 1 : -1;
  this->report(this->nnLogic()->AddControlPoint(points, last, !this->Negative->isChecked()), tr("Point"));
}

void qSlicerNNInteractiveModuleWidget::onAddROI()
{
  auto* roi = vtkMRMLMarkupsROINode::SafeDownCast(this->ROISelector->currentNode());
  this->report(this->nnLogic()->AddROI(roi, !this->Negative->isChecked()), tr("Box"));
}

void qSlicerNNInteractiveModuleWidget::onAddLasso()
{
  auto* curve = vtkMRMLMarkupsNode::SafeDownCast(this->LassoSelector->currentNode());
  this->report(this->nnLogic()->AddClosedCurve(curve, !this->Negative->isChecked()), tr("Lasso"));
}

void qSlicerNNInteractiveModuleWidget::onAddScribble()
{
  // The scribble's slice: the red slice view's normal (third column of its slice-to-RAS).
  double normal[3] = { 0.0, 0.0, 1.0 };
  qSlicerLayoutManager* layout = qSlicerApplication::application()->layoutManager();
  qMRMLSliceWidget* red = layout ? layout->sliceWidget("Red") : nullptr;
  if (red && red->mrmlSliceNode())
  {
    vtkMatrix4x4* sliceToRas = red->mrmlSliceNode()->GetSliceToRAS();
    for (int r = 0; r < 3; ++r)
    {
      normal[r] = sliceToRas->GetElement(r, 2);
    }
  }
  auto* curve = vtkMRMLMarkupsNode::SafeDownCast(this->ScribbleSelector->currentNode());
  this->report(this->nnLogic()->AddOpenCurve(curve, normal, 1.0, !this->Negative->isChecked()), tr("Scribble"));
}

void qSlicerNNInteractiveModuleWidget::onUndo()
{
  this->report(this->nnLogic()->Undo(), tr("Undo"));
}

void qSlicerNNInteractiveModuleWidget::onReset()
{
  this->report(this->nnLogic()->ResetInteractions(), tr("Reset"));
}

void qSlicerNNInteractiveModuleWidget::onApply()
{
  this->report(this->nnLogic()->ApplyToSegment(), tr("Apply"));
}
