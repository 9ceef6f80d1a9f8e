# Shared by the CMake test projects (tests/c, adapters/tests, mitk_module/test,
# slicer_module/test): where the built library, headers, test model and ONNX Runtime are, an
# imported `nninteractive` target, AddressSanitizer flags, and nni_viewer_test(name source libs...)
# which builds a test program (with ASan unless -DNNI_SANITIZE=OFF) and registers it with ctest.
#
# Cache variables (paths relative to the repository root are accepted):
#   NNI_LIB_DIR NNI_INCLUDE_DIR NNI_CPP_INCLUDE_DIR NNI_TEST_MODEL NNI_ONNXRUNTIME
get_filename_component(NNI_REPO_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

set(NNI_LIB_DIR "${NNI_REPO_ROOT}/target/debug" CACHE PATH "Directory holding libnninteractive.so")
set(NNI_INCLUDE_DIR "${NNI_REPO_ROOT}/include" CACHE PATH "Directory holding nninteractive.h")
set(NNI_CPP_INCLUDE_DIR "${NNI_REPO_ROOT}/bindings/cpp" CACHE PATH "Directory holding nninteractive.hpp")
set(NNI_TEST_MODEL "${NNI_REPO_ROOT}/models/blob-grow-p32.onnx" CACHE FILEPATH "Test model")
set(NNI_ONNXRUNTIME "${NNI_REPO_ROOT}/.deps/onnxruntime/libonnxruntime.so" CACHE FILEPATH
    "ONNX Runtime shared library")
foreach(var NNI_LIB_DIR NNI_INCLUDE_DIR NNI_CPP_INCLUDE_DIR NNI_TEST_MODEL NNI_ONNXRUNTIME)
    get_filename_component(${var} "${${var}}" ABSOLUTE BASE_DIR "${NNI_REPO_ROOT}")
endforeach()
set(NNI_LIBRARY "${NNI_LIB_DIR}/${CMAKE_SHARED_LIBRARY_PREFIX}nninteractive${CMAKE_SHARED_LIBRARY_SUFFIX}")
foreach(f "${NNI_LIBRARY}" "${NNI_INCLUDE_DIR}/nninteractive.h" "${NNI_CPP_INCLUDE_DIR}/nninteractive.hpp"
        "${NNI_TEST_MODEL}" "${NNI_ONNXRUNTIME}")
    if(NOT EXISTS "${f}")
        message(FATAL_ERROR "nni tests: ${f} does not exist (check the NNI_* cache variables)")
    endif()
endforeach()

# The Rust cdylib has no SONAME: link it by path and find it through the rpath.
if(NOT TARGET nninteractive)
    add_library(nninteractive SHARED IMPORTED)
    set_target_properties(nninteractive PROPERTIES
        IMPORTED_LOCATION "${NNI_LIBRARY}"
        IMPORTED_NO_SONAME TRUE
        INTERFACE_INCLUDE_DIRECTORIES "${NNI_INCLUDE_DIR};${NNI_CPP_INCLUDE_DIR}")
endif()

set(NNI_TEST_ENV "NNI_ONNXRUNTIME_PATH=${NNI_ONNXRUNTIME};LD_LIBRARY_PATH=${NNI_LIB_DIR}")

# AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer (any finding fails the
# program) for the test programs: their compile and link flags and run options.
set(NNI_ASAN_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)
set(NNI_SANITIZE_LINK -fsanitize=address,undefined)
set(NNI_ASAN_OPTIONS "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1")
option(NNI_SANITIZE "Build the viewer-layer test programs with AddressSanitizer" ON)

# nni_viewer_test(name source [libraries...]): a C++17 test program linked with the library.
function(nni_viewer_test name source)
    add_executable(${name} ${source})
    set_target_properties(${name} PROPERTIES CXX_STANDARD 17 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF
                                             BUILD_RPATH "${NNI_LIB_DIR}")
    target_link_libraries(${name} PRIVATE nninteractive ${ARGN})
    target_compile_options(${name} PRIVATE -Wall -Wextra)
    target_compile_definitions(${name} PRIVATE
        NNI_TEST_MODEL="${NNI_TEST_MODEL}" NNI_ONNXRUNTIME="${NNI_ONNXRUNTIME}")
    set(env "${NNI_TEST_ENV}")
    if(NNI_SANITIZE)
        target_compile_options(${name} PRIVATE ${NNI_ASAN_FLAGS})
        target_link_options(${name} PRIVATE ${NNI_SANITIZE_LINK})
        list(APPEND env "${NNI_ASAN_OPTIONS}")
    endif()
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES TIMEOUT 300 ENVIRONMENT "${env}")
endfunction()

# nni_header_standalone(name header [SYSTEM_INCLUDES dirs...]): a ctest that compiles `header`
# on its own (C++17, -fsyntax-only) with the binding's strict warnings as errors; toolkit
# include directories given as SYSTEM_INCLUDES are searched as system headers (/usr/include and
# generator expressions are skipped).
function(nni_header_standalone name header)
    cmake_parse_arguments(ARG "" "" "SYSTEM_INCLUDES" ${ARGN})
    set(flags)
    foreach(dir ${ARG_SYSTEM_INCLUDES})
        string(REGEX REPLACE "^\\$<BUILD_INTERFACE:(.*)>$" "\\1" dir "${dir}")
        if(dir STREQUAL "/usr/include" OR dir MATCHES "^\\$<")
            continue()
        endif()
        list(APPEND flags -isystem "${dir}")
    endforeach()
    add_test(NAME ${name}
        COMMAND "${CMAKE_CXX_COMPILER}" -std=c++17 -fsyntax-only -x c++ -Wall -Wextra -Wpedantic -Werror
                -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast -Wundef -Wcast-qual
                ${flags} -I "${NNI_CPP_INCLUDE_DIR}" -I "${NNI_INCLUDE_DIR}" "${header}")
endfunction()
