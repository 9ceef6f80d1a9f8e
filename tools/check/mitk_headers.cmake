# Generates the headers an MITK build tree would generate, from MITK's own templates, for
# tools/check/mitk.sh (nothing of MITK is copied into this repository):
#
#   cmake -DMITK_SOURCE_DIR=/path/to/MITK -DOUT=/path/to/gen -P tools/check/mitk_headers.cmake
#
# - mitkVersion.h and mitkConfig.h from MITK's mitkVersion.h.in / mitkConfig.h.in, with the
#   version of MITK's top-level project() and the ITK pixel-type lists computed by MITK's own
#   mitkMacroConfigureItkPixelTypes (MITK's defaults);
# - mitkLogConfig.h, usGlobalConfig.h, usCoreConfig.h, usCoreExport.h from their .h.in files,
#   with CppMicroServices' settings as MITK sets them (shared, threading and auto-loading on);
# - Mitk<Module>Exports.h for every module of Modules/ModuleList.cmake, plus the modules named
#   in EXTRA_MODULES (;-separated), as generate_export_header writes them (CMake's
#   exportheader.cmake.in; macro MITK<MODULE>_EXPORT, exported when Mitk<Module>_EXPORTS is
#   defined), since generate_export_header itself needs a target and cannot run in script mode.
cmake_minimum_required(VERSION 3.18)

if(NOT MITK_SOURCE_DIR OR NOT OUT)
  message(FATAL_ERROR "usage: cmake -DMITK_SOURCE_DIR=DIR -DOUT=DIR [-DEXTRA_MODULES=A;B] -P mitk_headers.cmake")
endif()
file(MAKE_DIRECTORY "${OUT}")

# --- MITK's version, from its top-level project() call
file(STRINGS "${MITK_SOURCE_DIR}/CMakeLists.txt" _project REGEX "project\\(MITK VERSION [0-9.]+\\)")
string(REGEX MATCH "([0-9]+)\\.([0-9]+)\\.([0-9]+)" _version "${_project}")
if(NOT _version)
  message(FATAL_ERROR "no project(MITK VERSION ...) in ${MITK_SOURCE_DIR}/CMakeLists.txt")
endif()
set(MITK_VERSION_MAJOR ${CMAKE_MATCH_1})
set(MITK_VERSION_MINOR ${CMAKE_MATCH_2})
set(MITK_VERSION_PATCH ${CMAKE_MATCH_3})
# project() strips leading zeros: "2025.08.00" gives MITK_VERSION_MINOR 8 in MITK's build.
math(EXPR MITK_VERSION_MINOR "${MITK_VERSION_MINOR}")
math(EXPR MITK_VERSION_PATCH "${MITK_VERSION_PATCH}")
set(MITK_VERSION_STRING "${MITK_VERSION_MAJOR}.${MITK_VERSION_MINOR}.${MITK_VERSION_PATCH}")
if(NOT MITK_REVISION_ID)
  set(MITK_REVISION_ID "unknown")
endif()
set(MITK_REVISION_NAME "${MITK_REVISION_ID}")
set(MITK_REVISION_DESC "${MITK_REVISION_ID}")
configure_file("${MITK_SOURCE_DIR}/mitkVersion.h.in" "${OUT}/mitkVersion.h")

# --- mitkConfig.h: MITK's default pixel types, sequences made by MITK's own macro
set(MITK_ACCESSBYITK_INTEGRAL_PIXEL_TYPES "int, unsigned int, short, unsigned short, char, unsigned char")
set(MITK_ACCESSBYITK_FLOATING_PIXEL_TYPES "double, float")
set(MITK_ACCESSBYITK_COMPOSITE_PIXEL_TYPES "itk::RGBPixel<unsigned char>, itk::RGBAPixel<unsigned char>")
set(MITK_ACCESSBYITK_VECTOR_PIXEL_TYPES "")
foreach(_type int "unsigned int" short "unsigned short" char "unsigned char" double float)
  list(APPEND MITK_ACCESSBYITK_VECTOR_PIXEL_TYPES "itk::VariableLengthVector<${_type}>")
endforeach()
string(REPLACE ";" "," MITK_ACCESSBYITK_VECTOR_PIXEL_TYPES "${MITK_ACCESSBYITK_VECTOR_PIXEL_TYPES}")
set(MITK_ACCESSBYITK_DIMENSIONS "2,3")
include("${MITK_SOURCE_DIR}/CMake/mitkMacroConfigureItkPixelTypes.cmake")
mitkMacroConfigureItkPixelTypes()
set(MITK_BUILD_SHARED_CORE 1)
configure_file("${MITK_SOURCE_DIR}/mitkConfig.h.in" "${OUT}/mitkConfig.h")

configure_file("${MITK_SOURCE_DIR}/Modules/Log/mitkLogConfig.h.in" "${OUT}/mitkLogConfig.h")

# --- CppMicroServices, as MITK's Modules/CMakeLists.txt configures it
set(_us "${MITK_SOURCE_DIR}/Modules/CppMicroServices")
file(STRINGS "${_us}/CMakeLists.txt" _us_version REGEX "set\\(\\\${PROJECT_NAME}_(MAJOR|MINOR|PATCH)_VERSION [0-9]+\\)")
foreach(_line ${_us_version})
  string(REGEX MATCH "_(MAJOR|MINOR|PATCH)_VERSION ([0-9]+)" _m "${_line}")
  set(CppMicroServices_${CMAKE_MATCH_1}_VERSION ${CMAKE_MATCH_2})
endforeach()
set(CppMicroServices_VERSION "${CppMicroServices_MAJOR_VERSION}.${CppMicroServices_MINOR_VERSION}.${CppMicroServices_PATCH_VERSION}")
set(US_NAMESPACE us)
set(US_BUILD_SHARED_LIBS 1)
set(US_ENABLE_THREADING_SUPPORT 1)
set(US_ENABLE_AUTOLOADING_SUPPORT 1)
set(US_HAVE_VISIBILITY_ATTRIBUTE 1)
set(US_GCC_RTTI_WORKAROUND_NEEDED 1)
foreach(_have CXXABI_H STDINT_H UNORDERED_MAP_H UNORDERED_SET_H FUNCTIONAL_H STD_UNORDERED_MAP
        STD_UNORDERED_SET STD_FUNCTION STD_HASH STD_HASH_STRUCT)
  set(US_HAVE_${_have} 1)
endforeach()
configure_file("${_us}/cmake/usGlobalConfig.h.in" "${OUT}/usGlobalConfig.h")
set(PROJECT_NAME Core)
set(PROJECT_TARGET MitkCppMicroServices)
set(PROJECT_SOURCE_DIR "${_us}/core")
file(STRINGS "${_us}/core/CMakeLists.txt" _core_version REGEX "VERSION \"[0-9.]+\"")
string(REGEX MATCH "([0-9]+)\\.([0-9]+)\\.([0-9]+)" Core_VERSION "${_core_version}")
set(Core_MAJOR_VERSION ${CMAKE_MATCH_1})
set(Core_MINOR_VERSION ${CMAKE_MATCH_2})
set(Core_PATCH_VERSION ${CMAKE_MATCH_3})
configure_file("${_us}/cmake/usExport.h.in" "${OUT}/usCoreExport.h")
configure_file("${_us}/core/include/usCoreConfig.h.in" "${OUT}/usCoreConfig.h")

# --- export headers: generate_export_header's output for GCC/Clang with visibility
include("${MITK_SOURCE_DIR}/Modules/ModuleList.cmake")
set(_modules)
foreach(_m ${MITK_MODULES})
  list(APPEND _modules "Mitk${_m}")
endforeach()
list(APPEND _modules ${EXTRA_MODULES})
set(DEFINE_EXPORT "__attribute__((visibility(\"default\")))")
set(DEFINE_IMPORT "__attribute__((visibility(\"default\")))")
set(DEFINE_NO_EXPORT "__attribute__((visibility(\"hidden\")))")
set(DEFINE_DEPRECATED "__attribute__ ((__deprecated__))")
set(DEFINE_NO_DEPRECATED 0)
set(CUSTOM_CONTENT "")
foreach(_module ${_modules})
  string(TOUPPER "${_module}" _upper)
  set(INCLUDE_GUARD_NAME "${_upper}_EXPORT_H")
  set(STATIC_DEFINE "${_upper}_STATIC_DEFINE")
  set(EXPORT_MACRO_NAME "${_upper}_EXPORT")
  set(NO_EXPORT_MACRO_NAME "${_upper}_NO_EXPORT")
  set(DEPRECATED_MACRO_NAME "${_upper}_DEPRECATED")
  set(NO_DEPRECATED_MACRO_NAME "${_upper}_NO_DEPRECATED")
  set(EXPORT_IMPORT_CONDITION "${_module}_EXPORTS")
  configure_file("${CMAKE_ROOT}/Modules/exportheader.cmake.in" "${OUT}/${_module}Exports.h" @ONLY)
endforeach()
list(LENGTH _modules _count)
message(STATUS "mitk_headers: MITK ${MITK_VERSION_STRING} (${MITK_REVISION_ID}), CppMicroServices ${CppMicroServices_VERSION}, ${_count} export headers in ${OUT}")

# --- the module initialisation source mitk_create_module adds to every module
# (usFunctionGenerateModuleInit: CppMicroServices' usModuleInit.cpp template)
configure_file("${_us}/cmake/usModuleInit.cpp" "${OUT}/us_init.cpp" @ONLY)
