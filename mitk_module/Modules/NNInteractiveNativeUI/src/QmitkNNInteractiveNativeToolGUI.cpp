// QmitkNNInteractiveNativeToolGUI: see the header.
#include "QmitkNNInteractiveNativeToolGUI.h"

#include <mitkNNInteractiveNativeTool.h>

#include <QBoxLayout>
#include <QButtonGroup>
#include <QRadioButton>
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
  auto* modes = new QButtonGroup(this);
  auto* modeRow = new QHBoxLayout;
  const QStringList names{tr("Point"), tr("Box"), tr("Scribble"), tr("Lasso")};
  for (int m = 0; m < names.size(); ++m)
  {
    auto* button = new QRadioButton(names[m], this);
    button->setChecked(m == 0);
    modes->addButton(button, m);
    modeRow->addWidget(button);
  }
  auto* negative = new QCheckBox(tr("Negative (remove)"), this);
  auto* help = new QLabel(tr("Click for a point; drag for a box, scribble or lasso on any 2D view. "
                             "Shift inverts positive/negative for one prompt."), this);
  help->setWordWrap(true);
  auto* undo = new QPushButton(tr("Undo"), this);
  auto* reset = new QPushButton(tr("Reset"), this);
  m_Status = new QLabel(this);
  m_Status->setWordWrap(true);

  mainLayout->addWidget(m_ModelPath);
  mainLayout->addWidget(m_OnnxRuntimePath);
  mainLayout->addWidget(load);
  mainLayout->addLayout(modeRow);
  mainLayout->addWidget(negative);
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
  connect(modes, &QButtonGroup::idClicked, this, &QmitkNNInteractiveNativeToolGUI::OnMode);
  connect(negative, &QCheckBox::toggled, this, &QmitkNNInteractiveNativeToolGUI::OnNegative);

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

void QmitkNNInteractiveNativeToolGUI::OnMode(int mode)
{
  if (auto* tool = this->GetConnectedToolAs<mitk::NNInteractiveNativeTool>())
    tool->SetMode(static_cast<mitk::NNInteractiveNativeTool::Mode>(mode));
}

void QmitkNNInteractiveNativeToolGUI::OnNegative(bool negative)
{
  if (auto* tool = this->GetConnectedToolAs<mitk::NNInteractiveNativeTool>())
    tool->SetPositive(!negative);
}
