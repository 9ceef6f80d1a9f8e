# The modules of this MITK extension directory (-DMITK_EXTENSION_DIRS=/path/to/mitk_module),
# in dependency order: MITK's CMakeLists.txt includes this file and adds Modules/<name> for each.
#   NNInteractiveNative     the segmentation tool (like MITK's Modules/Segmentation)
#   NNInteractiveNativeUI   its Qt panel (like MITK's Modules/SegmentationUI)
set(MITK_MODULES
  NNInteractiveNative
  NNInteractiveNativeUI
)
