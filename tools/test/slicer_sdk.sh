#!/usr/bin/env bash
# Builds the Slicer module's MRML logic against the real Slicer 5.13 SDK and VTK 9.6.2 (PyPI
# wheels, VTK headers from Debian sid) and runs it on real MRML nodes (slicer_module/test/sdk:
# link with -Wl,--no-undefined, load with RTLD_NOW, slicer_mrml_logic_test), and checks Slicer's
# MRML conventions with the same wheels.
#
#   tools/setup/slicer_sdk.sh    # once: .venv-slicer (slicer-core, slicer-core-sdk, vtk) and headers
#   tools/test/slicer_sdk.sh
# Paths as in tools/test/ctest_lib.sh; the build directory is NNI_SLICER_SDK_BUILD_DIR (default
# build/slicer_sdk).
set -euo pipefail
source "$(dirname "$0")/ctest_lib.sh"
nni_ctest_project test_slicer_sdk slicer_module/test/sdk "${NNI_SLICER_SDK_BUILD_DIR:-build/slicer_sdk}"
