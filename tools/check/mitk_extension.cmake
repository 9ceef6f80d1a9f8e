# Configures an MITK extension directory the way MITK's CMakeLists.txt consumes it, without an MITK
# build: for tools/check/mitk.sh, which runs
#
#   cmake -S DIR -B DIR/build -DMITK_SOURCE_DIR=... -DEXTENSION_DIR=.../mitk_module -Dnninteractive_DIR=...
#
# on a CMakeLists.txt that includes this file. As MITK does, it includes
# EXTENSION_DIR/Modules/ModuleList.cmake and adds Modules/<name> for each module. Its
# mitk_create_module parses its arguments with the keyword lists read from MITK's own
# CMake/mitkFunctionCreateModule.cmake and checks, per module: no unknown argument, every
# DEPENDS module exists (in MITK's Modules/ModuleList.cmake or made before), every AUTOLOAD_WITH
# module exists, and every file of files.cmake exists (H_FILES, MOC_H_FILES from the module
# directory, CPP_FILES from src/, RESOURCE_FILES from resource/). It builds nothing: the target
# it makes, named like the module, is a static library of one empty source, so that the
# module's own target_link_libraries(${MODULE_TARGET} ...) calls are checked too.
cmake_minimum_required(VERSION 3.18)

foreach(_var MITK_SOURCE_DIR EXTENSION_DIR)
  if(NOT ${_var})
    message(FATAL_ERROR "mitk_extension: set ${_var}")
  endif()
endforeach()

# MITK's keyword lists: the set(_macro_params|_macro_multiparams|_macro_options ...) blocks
file(READ "${MITK_SOURCE_DIR}/CMake/mitkFunctionCreateModule.cmake" _create_module)
string(REGEX REPLACE "#[^\n]*" "" _create_module "${_create_module}")
foreach(_list _macro_params _macro_multiparams _macro_options)
  string(REGEX MATCH "set\\(${_list}[^)]*\\)" _block "${_create_module}")
  if(NOT _block)
    message(FATAL_ERROR "mitk_extension: no ${_list} in MITK's mitkFunctionCreateModule.cmake")
  endif()
  string(REGEX MATCHALL "[A-Z][A-Z0-9_]+" _words "${_block}")
  set(MITK_CREATE_MODULE${_list} ${_words})
endforeach()
list(LENGTH MITK_CREATE_MODULE_macro_params _n1)
list(LENGTH MITK_CREATE_MODULE_macro_multiparams _n2)
list(LENGTH MITK_CREATE_MODULE_macro_options _n3)
message(STATUS "mitk_extension: MITK's mitk_create_module keywords: ${_n1} one-value, ${_n2} multi-value, ${_n3} options")

include("${MITK_SOURCE_DIR}/Modules/ModuleList.cmake")
set(MITK_OWN_MODULES)
foreach(_m ${MITK_MODULES})
  list(APPEND MITK_OWN_MODULES "Mitk${_m}")
endforeach()
set_property(GLOBAL PROPERTY NNI_MITK_KNOWN_MODULES ${MITK_OWN_MODULES})

function(mitk_create_module)
  cmake_parse_arguments(MODULE "${MITK_CREATE_MODULE_macro_options}" "${MITK_CREATE_MODULE_macro_params}"
    "${MITK_CREATE_MODULE_macro_multiparams}" ${ARGN})
  set(MODULE_NAME ${MODULE_UNPARSED_ARGUMENTS})
  if(NOT MODULE_NAME)
    get_filename_component(MODULE_NAME "${CMAKE_CURRENT_SOURCE_DIR}" NAME)
  endif()
  list(LENGTH MODULE_NAME _n)
  if(NOT _n EQUAL 1)
    message(SEND_ERROR "mitk_create_module: unknown arguments ${MODULE_NAME} in ${CMAKE_CURRENT_SOURCE_DIR}")
    return()
  endif()
  set(MODULE_NAME "Mitk${MODULE_NAME}")
  get_property(_known GLOBAL PROPERTY NNI_MITK_KNOWN_MODULES)
  foreach(_dep ${MODULE_DEPENDS} ${MODULE_AUTOLOAD_WITH})
    if(NOT _dep MATCHES "^(PUBLIC|PRIVATE|INTERFACE)$" AND NOT _dep IN_LIST _known)
      message(SEND_ERROR "${MODULE_NAME}: module ${_dep} is neither MITK's nor made before")
    endif()
  endforeach()
  set(H_FILES)
  set(MOC_H_FILES)
  set(CPP_FILES)
  set(RESOURCE_FILES)
  set(_files_cmake "${CMAKE_CURRENT_SOURCE_DIR}/files.cmake")
  if(MODULE_FILES_CMAKE)
    set(_files_cmake "${CMAKE_CURRENT_SOURCE_DIR}/${MODULE_FILES_CMAKE}")
  endif()
  if(NOT EXISTS "${_files_cmake}")
    message(SEND_ERROR "${MODULE_NAME}: no ${_files_cmake}")
    return()
  endif()
  include("${_files_cmake}")
  set(_listed)
  foreach(_f ${H_FILES} ${MOC_H_FILES})
    list(APPEND _listed "${CMAKE_CURRENT_SOURCE_DIR}/${_f}")
  endforeach()
  foreach(_f ${CPP_FILES})
    list(APPEND _listed "${CMAKE_CURRENT_SOURCE_DIR}/src/${_f}")
  endforeach()
  foreach(_f ${RESOURCE_FILES})
    list(APPEND _listed "${CMAKE_CURRENT_SOURCE_DIR}/resource/${_f}")
  endforeach()
  foreach(_f ${_listed})
    if(NOT EXISTS "${_f}")
      message(SEND_ERROR "${MODULE_NAME}: ${_f} (files.cmake) does not exist")
    endif()
  endforeach()
  list(LENGTH _listed _count)
  file(WRITE "${CMAKE_CURRENT_BINARY_DIR}/empty.cpp" "")
  add_library(${MODULE_NAME} STATIC "${CMAKE_CURRENT_BINARY_DIR}/empty.cpp")
  set_property(GLOBAL APPEND PROPERTY NNI_MITK_KNOWN_MODULES ${MODULE_NAME})
  set(MODULE_TARGET ${MODULE_NAME} PARENT_SCOPE)
  string(REPLACE ";" " " _deps "${MODULE_DEPENDS}")
  message(STATUS "mitk_extension: ${MODULE_NAME}: ${_count} files, depends on ${_deps}, auto-loaded with ${MODULE_AUTOLOAD_WITH}")
endfunction()

set(MITK_MODULES)
if(NOT EXISTS "${EXTENSION_DIR}/Modules/ModuleList.cmake")
  message(FATAL_ERROR "mitk_extension: no ${EXTENSION_DIR}/Modules/ModuleList.cmake")
endif()
include("${EXTENSION_DIR}/Modules/ModuleList.cmake")
foreach(_m ${MITK_MODULES})
  add_subdirectory("${EXTENSION_DIR}/Modules/${_m}" "Modules/${_m}")
endforeach()
