#!/usr/bin/env bash
# Builds and runs the viewer-layer tests against Debian's ITK 5 and VTK 9, the built cdylib and
# models/blob-grow-p32.onnx, one CMake project each:
#   adapters/tests        nni::itk, nni::vtk and the shared geometry/editing headers
#   mitk_module/test      the MITK tool's engine, and ITK vs MITK's own geometry readings
#   slicer_module/test    the Slicer logic's engine (VTK)
#
#   tools/setup_adapters.sh    # once: apt-get install libinsighttoolkit5-dev libvtk9-dev
#   tools/test_adapters.sh
# Override paths with NNI_LIB_DIR, NNI_TEST_MODEL, NNI_ONNXRUNTIME (relative to the repository
# root) and the build directories' parent with NNI_VIEWER_BUILD_DIR (default build/viewers).
# The library must already be built.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

LIB_DIR=${NNI_LIB_DIR:-target/debug}
MODEL=${NNI_TEST_MODEL:-models/blob-grow-p32.onnx}
ORT=${NNI_ONNXRUNTIME:-.deps/onnxruntime/libonnxruntime.so}
BUILD_ROOT=${NNI_VIEWER_BUILD_DIR:-build/viewers}
PROJECTS=(adapters/tests mitk_module/test slicer_module/test)

abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }

if [ ! -f "$(abs "$LIB_DIR")/libnninteractive.so" ]; then
    echo "test_adapters: $(abs "$LIB_DIR")/libnninteractive.so is missing; run cargo build first" >&2
    exit 1
fi
for pkg in libinsighttoolkit5-dev libvtk9-dev; do
    if ! dpkg -s "$pkg" >/dev/null 2>&1; then
        echo "test_adapters: $pkg is not installed; run tools/setup_adapters.sh" >&2
        exit 1
    fi
done

mkdir -p "$BUILD_ROOT"
for project in "${PROJECTS[@]}"; do
    build="$BUILD_ROOT/${project%%/*}"
    echo "--- $project"
    cmake -S "$project" -B "$build" \
        -DNNI_LIB_DIR="$(abs "$LIB_DIR")" \
        -DNNI_TEST_MODEL="$(abs "$MODEL")" \
        -DNNI_ONNXRUNTIME="$(abs "$ORT")" >"$build.configure.log" 2>&1 || {
        cat "$build.configure.log" >&2
        exit 1
    }
    grep -E "^-- nni " "$build.configure.log" || true
    cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)"
    (cd "$build" && ctest --output-on-failure)
done
