// QmitkNNInteractiveNativeToolGUI: see the header.
#include "QmitkNNInteractiveNativeToolGUI.h"

#include <mitkNNInteractiveNativeTool.h>

#include <QBoxLayout>
#include <QCheckBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>

MITK_TOOL_GUI_MACRO(MITKNNINTERACTIVENATIVEUI_EXPORT, QmitkNNInteractiveNativeToolGUI, "")

QmitkNNInteractiveNativeToolGUI::QmitkNNInteractiveNativeToolGUI()
  : QmitkSegWithPreviewToolGUIBase(false)
{
}

QmitkNNInteractiveNativeToolGUI::~QmitkNNInteractiveNativeToolGUI() = default;

void QmitkNNInteractiveNativeToolGUI::InitializeUI(QBoxLayout* mainLayout)
{
  m_ModelPath = new QLineEdit(this);
  m_ModelPath->setPlaceholderText(tr("converted model (.onnx)"));
  m_OnnxRuntimePath = new QLineEdit(this);
  m_OnnxRuntimePath->setPlaceholderText(tr("libonnxruntime (default: NNI_ONNXRUNTIME_PATH)"));
  auto* load = new QPushButton(tr("Load model"), this);
  m_AutoZoom = new QCheckBox(tr("AutoZoom"), this);
  m_AutoZoom->setChecked(true);
  auto* help = new QLabel(tr("Left click: positive point. Shift + left click: negative point."), this);
  auto* undo = new QPushButton(tr("Undo"), this);
  auto* reset = new QPushButton(tr("Reset"), this);
  m_Status = new QLabel(this);
  m_Status->setWordWrap(true);

  mainLayout->addWidget(m_ModelPath);
  mainLayout->addWidget(m_OnnxRuntimePath);
  mainLayout->addWidget(load);
  mainLayout->addWidget(m_AutoZoom);
  mainLayout->addWidget(help);
  auto* row = new QHBoxLayout;
  row->addWidget(undo);
  row->addWidget(reset);
  mainLayout->addLayout(row);
  mainLayout->addWidget(m_Status);

  connect(load, &QPushButton::clicked, this, &QmitkNNInteractiveNativeToolGUI::OnLoadModel);
  connect(undo, &QPushButton::clicked, this, &QmitkNNInteractiveNativeToolGUI::OnUndo);
  connect(reset, &QPushButton::clicked, this, &QmitkNNInteractiveNativeToolGUI::OnReset);
  connect(m_AutoZoom, &QCheckBox::toggled, this, &QmitkNNInteractiveNativeToolGUI::OnAutoZoom);

  Superclass::InitializeUI(mainLayout); // the confirm button and preview options
}

void QmitkNNInteractiveNativeToolGUI::Show(bool ok, const QString& what)
{
  auto* tool = this->GetConnectedToolAs<mitk::NNInteractiveNativeTool>();
  m_Status->setText(ok ? what + tr(": done")
                       : what + tr(" failed: ") + QString::fromStdString(tool ? tool->GetLastError() : std::string("no tool")));
}

void QmitkNNInteractiveNativeToolGUI::OnLoadModel()
{
  auto* tool = this->GetConnectedToolAs<mitk::NNInteractiveNativeTool>();
  this->Show(tool && tool->LoadModel(m_ModelPath->text().toStdString(), m_OnnxRuntimePath->text().toStdString()),
             tr("Load model"));
}

void QmitkNNInteractiveNativeToolGUI::OnUndo()
{
  auto* tool = this->GetConnectedToolAs<mitk::NNInteractiveNativeTool>();
  this->Show(tool && tool->Undo(), tr("Undo"));
}

void QmitkNNInteractiveNativeToolGUI::OnReset()
{
  auto* tool = this->GetConnectedToolAs<mitk::NNInteractiveNativeTool>();
  this->Show(tool && tool->ResetInteractions(), tr("Reset"));
}

void QmitkNNInteractiveNativeToolGUI::OnAutoZoom(bool on)
{
  auto* tool = this->GetConnectedToolAs<mitk::NNInteractiveNativeTool>();
  this->Show(tool && tool->SetAutoZoom(on), tr("AutoZoom"));
}
