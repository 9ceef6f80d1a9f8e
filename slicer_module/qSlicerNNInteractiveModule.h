// qSlicerNNInteractiveModule: the nnInteractive loadable module (Qt side). It only creates the
// logic (vtkSlicerNNInteractiveLogic) and the widget (qSlicerNNInteractiveModuleWidget).
#ifndef qSlicerNNInteractiveModule_h
#define qSlicerNNInteractiveModule_h

#include "qSlicerLoadableModule.h"

#include "qSlicerNNInteractiveModuleExport.h"

class Q_SLICER_QTMODULES_NNINTERACTIVE_EXPORT qSlicerNNInteractiveModule : public qSlicerLoadableModule
{
  Q_OBJECT
  Q_PLUGIN_METADATA(IID "org.slicer.modules.loadable.qSlicerLoadableModule/1.0");
  Q_INTERFACES(qSlicerLoadableModule);

public:
  typedef qSlicerLoadableModule Superclass;
  explicit qSlicerNNInteractiveModule(QObject* parent = nullptr);
  ~qSlicerNNInteractiveModule() override;

  qSlicerGetTitleMacro(tr("nnInteractive"));

  QString helpText() const override;
  QString acknowledgementText() const override;
  QStringList contributors() const override;
  QStringList categories() const override;
  QStringList dependencies() const override;

protected:
  qSlicerAbstractModuleRepresentation* createWidgetRepresentation() override;
  vtkMRMLAbstractLogic* createLogic() override;

private:
  Q_DISABLE_COPY(qSlicerNNInteractiveModule);
};

#endif
