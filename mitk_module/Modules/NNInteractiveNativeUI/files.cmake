# mitk_create_module reads H_FILES and MOC_H_FILES from the module directory, CPP_FILES from src/.
set(H_FILES
  include/QmitkNNInteractiveNativeToolGUI.h
)

set(CPP_FILES
  QmitkNNInteractiveNativeToolGUI.cpp
)

set(MOC_H_FILES
  include/QmitkNNInteractiveNativeToolGUI.h
)
