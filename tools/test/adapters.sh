#!/usr/bin/env bash
# Builds and runs the viewer-layer tests against Debian's ITK 5 and VTK 9, the built cdylib and
# models/blob-grow-p32.onnx, one CMake project each (test programs under AddressSanitizer):
#   adapters/tests        nni::itk, nni::vtk and the shared geometry/editing/segmenter headers
#   mitk_module/test      the MITK tool's engine, and ITK vs MITK's own geometry readings
#   slicer_module/test    the Slicer logic's engine (VTK)
#
#   tools/setup/adapters.sh    # once: apt-get install libinsighttoolkit5-dev libvtk9-dev
#   tools/test/adapters.sh
# Paths as in tools/test/ctest_lib.sh; the build directories' parent is NNI_VIEWER_BUILD_DIR (default
# build/viewers). The library must already be built.
set -euo pipefail
source "$(dirname "$0")/ctest_lib.sh"

for pkg in libinsighttoolkit5-dev libvtk9-dev; do
    if ! dpkg -s "$pkg" >/dev/null 2>&1; then
        echo "test_adapters: $pkg is not installed; run tools/setup/adapters.sh" >&2
        exit 1
    fi
done
for project in adapters/tests mitk_module/test slicer_module/test; do
    echo "--- $project"
    nni_ctest_project test_adapters "$project" "${NNI_VIEWER_BUILD_DIR:-build/viewers}/${project%%/*}"
done
