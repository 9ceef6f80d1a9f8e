// QmitkNNInteractiveNativeToolGUI: the tool's panel in MITK's segmentation view (found by the
// tool manager by name: "Qmitk" + tool class + "GUI"). Model and ONNX Runtime paths, the prompt
// mode (point, box, scribble, lasso), positive/negative, AutoZoom, Undo and Reset; confirm and preview handling come from QmitkSegWithPreviewToolGUIBase.
#ifndef QmitkNNInteractiveNativeToolGUI_h
#define QmitkNNInteractiveNativeToolGUI_h

#include <QmitkSegWithPreviewToolGUIBase.h>

#include <MitkNNInteractiveNativeUIExports.h>

class QCheckBox;
class QLabel;
class QLineEdit;

class MITKNNINTERACTIVENATIVEUI_EXPORT QmitkNNInteractiveNativeToolGUI : public QmitkSegWithPreviewToolGUIBase
{
  Q_OBJECT

public:
  mitkClassMacro(QmitkNNInteractiveNativeToolGUI, QmitkSegWithPreviewToolGUIBase);
  itkFactorylessNewMacro(Self);

protected:
  QmitkNNInteractiveNativeToolGUI();
  ~QmitkNNInteractiveNativeToolGUI() override;

  void InitializeUI(QBoxLayout* mainLayout) override;

protected slots:
  void OnLoadModel();
  void OnUndo();
  void OnReset();
  void OnAutoZoom(bool on);
  void OnMode(int mode);
  void OnNegative(bool negative);

private:
  void Show(bool ok, const QString& what);

  QLineEdit* m_ModelPath = nullptr;
  QLineEdit* m_OnnxRuntimePath = nullptr;
  QCheckBox* m_AutoZoom = nullptr;
  QLabel* m_Status = nullptr;
};

#endif
