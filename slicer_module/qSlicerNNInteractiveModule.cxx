// qSlicerNNInteractiveModule: see the header.
#include "qSlicerNNInteractiveModule.h"

#include "qSlicerNNInteractiveModuleWidget.h"
#include "vtkSlicerNNInteractiveLogic.h"

qSlicerNNInteractiveModule::qSlicerNNInteractiveModule(QObject* parent)
  : Superclass(parent)
{
}

qSlicerNNInteractiveModule::~qSlicerNNInteractiveModule() = default;

QString qSlicerNNInteractiveModule::helpText() const
{
  return tr("Promptable 3D segmentation with nnInteractive, run natively (libnninteractive, "
            "ONNX Runtime): points, ROIs, closed curves (lasso) and open curves (scribble), "
            "positive or negative, refine the selected segment; Apply writes the preview into it.");
}

QString qSlicerNNInteractiveModule::acknowledgementText() const
{
  return tr("nnInteractive: Isensee, Rokuss et al., DKFZ. This module runs converted nnInteractive "
            "models through the nninteractive-native library.");
}

QStringList qSlicerNNInteractiveModule::contributors() const
{
  return QStringList() << QString("nninteractive-native developers");
}

QStringList qSlicerNNInteractiveModule::categories() const
{
  return QStringList() << "Segmentation";
}

QStringList qSlicerNNInteractiveModule::dependencies() const
{
  return QStringList() << "Segmentations" << "Markups";
}

qSlicerAbstractModuleRepresentation* qSlicerNNInteractiveModule::createWidgetRepresentation()
{
  return new qSlicerNNInteractiveModuleWidget;
}

vtkMRMLAbstractLogic* qSlicerNNInteractiveModule::createLogic()
{
  return vtkSlicerNNInteractiveLogic::New();
}
