# mitk_create_module reads H_FILES from the module directory, CPP_FILES from src/ and
# RESOURCE_FILES from resource/ (embedded as CppMicroServices resources).
set(H_FILES
  include/mitkNNInteractiveNativeTool.h
)

set(CPP_FILES
  mitkNNInteractiveNativeTool.cpp
)

set(RESOURCE_FILES
  nnInteractiveNative.svg
)
