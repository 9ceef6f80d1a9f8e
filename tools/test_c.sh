#!/usr/bin/env bash
# Builds and runs the C/C++ tests (tests/c: C ABI, C++ binding, installed package) against the
# built cdylib, with AddressSanitizer.
#
#   tools/test_c.sh            # uses target/debug, include/, models/blob-grow-p32.onnx,
#                              # .deps/onnxruntime/libonnxruntime.so
# Override any path with the environment variables NNI_LIB_DIR, NNI_INCLUDE_DIR, NNI_TEST_MODEL,
# NNI_ONNXRUNTIME (relative paths are taken from the repository root), and the build directory
# with NNI_CTEST_BUILD_DIR. The library must already be built (cargo build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

LIB_DIR=${NNI_LIB_DIR:-target/debug}
INCLUDE_DIR=${NNI_INCLUDE_DIR:-include}
MODEL=${NNI_TEST_MODEL:-models/blob-grow-p32.onnx}
ORT=${NNI_ONNXRUNTIME:-.deps/onnxruntime/libonnxruntime.so}
BUILD_DIR=${NNI_CTEST_BUILD_DIR:-build/ctest}

abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }

if [ ! -f "$(abs "$LIB_DIR")/libnninteractive.so" ]; then
    echo "test_c: $(abs "$LIB_DIR")/libnninteractive.so is missing; run cargo build first" >&2
    exit 1
fi

cmake -S tests/c -B "$BUILD_DIR" \
    -DNNI_LIB_DIR="$(abs "$LIB_DIR")" \
    -DNNI_INCLUDE_DIR="$(abs "$INCLUDE_DIR")" \
    -DNNI_TEST_MODEL="$(abs "$MODEL")" \
    -DNNI_ONNXRUNTIME="$(abs "$ORT")"
cmake --build "$BUILD_DIR" -j "$(nproc 2>/dev/null || echo 2)"
cd "$BUILD_DIR"
ctest --output-on-failure
