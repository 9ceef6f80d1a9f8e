#!/usr/bin/env bash
# Builds and runs the geometry-adapter tests (adapters/tests: nni::itk and nni::vtk against
# Debian's ITK 5 and VTK 9) against the built cdylib and models/blob-grow-p32.onnx.
#
#   tools/setup_adapters.sh    # once: apt-get install libinsighttoolkit5-dev libvtk9-dev
#   tools/test_adapters.sh
# Override paths with NNI_LIB_DIR, NNI_TEST_MODEL, NNI_ONNXRUNTIME (relative to the repository
# root) and the build directory with NNI_ADAPTERS_BUILD_DIR. The library must already be built.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

LIB_DIR=${NNI_LIB_DIR:-target/debug}
MODEL=${NNI_TEST_MODEL:-models/blob-grow-p32.onnx}
ORT=${NNI_ONNXRUNTIME:-.deps/onnxruntime/libonnxruntime.so}
BUILD_DIR=${NNI_ADAPTERS_BUILD_DIR:-build/adapters}

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

cmake -S adapters/tests -B "$BUILD_DIR" \
    -DNNI_LIB_DIR="$(abs "$LIB_DIR")" \
    -DNNI_TEST_MODEL="$(abs "$MODEL")" \
    -DNNI_ONNXRUNTIME="$(abs "$ORT")"
cmake --build "$BUILD_DIR" -j "$(nproc 2>/dev/null || echo 2)"
cd "$BUILD_DIR"
ctest --output-on-failure
