#!/usr/bin/env bash
# Builds and runs the C/C++ tests (tests/c: C ABI, C++ binding, installed package) against the
# built cdylib, with AddressSanitizer.
#
#   tools/test/c.sh            # uses target/debug, include/, models/blob-grow-p32.onnx,
#                              # .deps/onnxruntime/libonnxruntime.so
# Override any path with the environment variables of tools/test/ctest_lib.sh (NNI_LIB_DIR,
# NNI_INCLUDE_DIR, NNI_TEST_MODEL, NNI_ONNXRUNTIME) and the build directory with
# NNI_CTEST_BUILD_DIR. The library must already be built (cargo build).
set -euo pipefail
source "$(dirname "$0")/ctest_lib.sh"
nni_ctest_project test_c tests/c "${NNI_CTEST_BUILD_DIR:-build/ctest}"
