set(CPP_FILES
  QmitkNNInteractiveNativeToolGUI.cpp
)

set(MOC_H_FILES
  QmitkNNInteractiveNativeToolGUI.h
)
