#!/usr/bin/env bash
# What the Slicer SDK build and MRML test (tools/test/slicer_sdk.sh) need:
#  - .venv-slicer (PyPI): CPython 3.11 with `slicer-core` (Slicer 5.13's MRML and module-logic
#    shared libraries), `slicer-core-sdk` (their headers, ITK 5.4 and vtkAddon headers) and `vtk`
#    9.6.2 (the VTK libraries they link against);
#  - .deps/vtk-headers: VTK 9.6.2's headers. VTK's SDK for Linux is not on PyPI; Debian sid's
#    libvtk9-dev 9.6.2 has them (unpacked, not installed, into the per-user cache). If sid has
#    moved on, the newest vtk-sdk wheel on PyPI (9.5.0, macOS) gives headers to compile and link
#    against, but not to run with (see slicer_module/README.md).
# Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."

SLICER_VERSION=5.13.31053.0
VTK_VERSION=9.6.2
VTK_SDK_VERSION=9.5.0
PY=${NNI_PYTHON311:-python3}

if ! .venv-slicer/bin/python -c "import slicer_core, slicer_core_sdk, vtkmodules" 2>/dev/null; then
    echo "setup_slicer_sdk: installing slicer-core, slicer-core-sdk $SLICER_VERSION into .venv-slicer"
    rm -rf .venv-slicer
    "$PY" -m venv .venv-slicer
    .venv-slicer/bin/pip install -q --disable-pip-version-check \
        "slicer-core==$SLICER_VERSION" "slicer-core-sdk==$SLICER_VERSION"
fi
# VTK 9.6.2's headers, ABI-exact for the wheels' VTK: Debian sid's libvtk9-dev, unpacked into the
# per-user cache (tools/setup/debian_unpack.sh). .deps/vtk-headers points at them.
if root=$(tools/setup/debian_unpack.sh sid vtk-9.6.2 "libvtk9-dev=$VTK_VERSION*" | tail -n 1) &&
    [ -f "$root/usr/include/vtk-9.6/vtkVersionMacros.h" ]; then
    mkdir -p .deps
    ln -sfn "$root/usr/include/vtk-9.6" .deps/vtk-headers
    echo "setup_slicer_sdk: ready (.venv-slicer, VTK $VTK_VERSION headers from Debian sid: .deps/vtk-headers)"
    exit 0
fi
# Fallback when sid has moved past 9.6.2: VTK 9.5.0's headers (the newest vtk-sdk wheel on PyPI,
# macOS only), enough to compile and link the logic but not ABI-exact for VTK 9.6, so the MRML
# test does not run (slicer_module/test/sdk says SKIP and why).
echo "setup_slicer_sdk: Debian sid has no libvtk9-dev $VTK_VERSION; falling back to VTK $VTK_SDK_VERSION headers (compile and link only)"
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
ln -sfn "$PWD/$HEADERS/include/vtk-9.5" .deps/vtk-headers
echo "setup_slicer_sdk: ready (.venv-slicer, VTK $VTK_SDK_VERSION headers: .deps/vtk-headers; the MRML test cannot run)"
