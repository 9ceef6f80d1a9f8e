# MITK reads H_FILES from the module root and CPP_FILES from src/.
set(H_FILES
  include/mitkNNInteractiveNativeTool.h
)

set(CPP_FILES
  mitkNNInteractiveNativeTool.cpp
)
