#!/usr/bin/env bash
# What the Slicer SDK build check (tools/test/slicer_sdk.sh) needs, all from PyPI:
#  - .venv-slicer: CPython 3.11 with `slicer-core` (Slicer 5.13's MRML and module-logic shared
#    libraries), `slicer-core-sdk` (their headers, ITK 5.4 and vtkAddon headers) and `vtk` 9.6.2
#    (the VTK libraries they link against);
#  - .deps/vtk-sdk-9.5.0: VTK headers. VTK 9.6's SDK is not on PyPI for Linux (only on VTK's own
#    package registry); the newest VTK SDK on PyPI is vtk-sdk 9.5.0, a macOS wheel whose headers
#    serve to compile against (not to run: see slicer_module/README.md).
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."

SLICER_VERSION=5.13.31053.0
VTK_SDK_VERSION=9.5.0
PY=${NNI_PYTHON311:-python3}

if ! .venv-slicer/bin/python -c "import slicer_core, slicer_core_sdk, vtkmodules" 2>/dev/null; then
    echo "setup_slicer_sdk: installing slicer-core, slicer-core-sdk $SLICER_VERSION into .venv-slicer"
    rm -rf .venv-slicer
    "$PY" -m venv .venv-slicer
    .venv-slicer/bin/pip install -q --disable-pip-version-check \
        "slicer-core==$SLICER_VERSION" "slicer-core-sdk==$SLICER_VERSION"
fi
HEADERS=.deps/vtk-sdk-$VTK_SDK_VERSION
if [ ! -f "$HEADERS/include/vtk-9.5/vtkABINamespace.h" ]; then
    echo "setup_slicer_sdk: fetching VTK $VTK_SDK_VERSION headers (vtk-sdk wheel) into $HEADERS"
    tmp=$(mktemp -d)
    .venv-slicer/bin/pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
        --python-version 3.10 --platform macosx_11_0_arm64 "vtk-sdk==$VTK_SDK_VERSION" -d "$tmp"
    rm -rf "$HEADERS"
    mkdir -p "$HEADERS/include"
    .venv-slicer/bin/python - "$tmp"/vtk_sdk-*.whl "$HEADERS/include" <<'PY'
import sys, zipfile, pathlib
wheel, out = sys.argv[1], pathlib.Path(sys.argv[2])
prefix = "vtk_sdk/content/vtk-9.5.0.data/headers/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            target = out / name[len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(name))
PY
    rm -rf "$tmp"
fi
echo "setup_slicer_sdk: ready (.venv-slicer, $HEADERS)"
