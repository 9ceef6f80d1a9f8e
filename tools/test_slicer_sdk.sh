#!/usr/bin/env bash
# Builds the Slicer module's MRML logic against the real Slicer 5.13 SDK and VTK 9.6.2 libraries
# from PyPI (slicer_module/test/sdk: compile, link with -Wl,--no-undefined, load with RTLD_NOW).
#
#   tools/setup_slicer_sdk.sh    # once: .venv-slicer (slicer-core, slicer-core-sdk, vtk) and headers
#   tools/test_slicer_sdk.sh
# NNI_LIB_DIR (default target/debug) must hold the built libnninteractive.so; the build
# directory is NNI_SLICER_SDK_BUILD_DIR (default build/slicer_sdk).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
LIB_DIR=${NNI_LIB_DIR:-target/debug}
BUILD_DIR=${NNI_SLICER_SDK_BUILD_DIR:-build/slicer_sdk}
case "$LIB_DIR" in /*) ;; *) LIB_DIR="$ROOT/$LIB_DIR" ;; esac

mkdir -p "$(dirname "$BUILD_DIR")"
cmake -S slicer_module/test/sdk -B "$BUILD_DIR" -DNNI_LIB_DIR="$LIB_DIR" >"$BUILD_DIR.configure.log" 2>&1 || {
    cat "$BUILD_DIR.configure.log" >&2
    exit 1
}
grep -E "^-- nni " "$BUILD_DIR.configure.log" || true
cmake --build "$BUILD_DIR" -j "$(nproc 2>/dev/null || echo 2)"
(cd "$BUILD_DIR" && ctest --output-on-failure)
