#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine, idempotently:
#  - .venv: Python with onnxruntime (its wheel ships libonnxruntime), onnx and numpy (model tools)
#  - .deps/onnxruntime/libonnxruntime.so: the ONNX Runtime library the engine loads at run time
#  - .deps/openvino/libopenvino_c.so: the OpenVINO runtime (CPU plugin, ONNX reader) from the
#    `openvino` wheel, for the fast (bfloat16) CPU path
#  - cmake, a C/C++ toolchain and pkg-config (Debian packages) for the C ABI tests and the
#    package test (tools/install.sh consumers)
#  - cbindgen (pinned) for the header drift check
set -euo pipefail
cd "$(dirname "$0")/../.."

ORT_VERSION=1.31.1
OPENVINO_VERSION=2026.4.1
CBINDGEN_VERSION=0.29.2

# libclang: bindgen generates the c-blosc2 bindings of the server's wire format (crate blosc2).
have_libclang() {
    ls /usr/lib/llvm-*/lib/libclang.so >/dev/null 2>&1 &&
        ls /usr/lib/llvm-*/lib/clang/*/include/stddef.h >/dev/null 2>&1
}
if ! command -v cmake >/dev/null 2>&1 || ! command -v g++ >/dev/null 2>&1 ||
    ! command -v pkg-config >/dev/null 2>&1 || ! have_libclang; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake g++ make pkg-config libclang-dev >/dev/null
    else
        echo "setup: please install cmake, g++, pkg-config and libclang (Debian: apt-get install cmake g++ pkg-config libclang-dev)" >&2
        exit 1
    fi
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
if ! .venv/bin/python -c "import onnxruntime, onnx, numpy; assert onnxruntime.__version__ == '$ORT_VERSION'" 2>/dev/null; then
    .venv/bin/pip install -q --disable-pip-version-check "onnxruntime==$ORT_VERSION" onnx numpy
fi

mkdir -p .deps/onnxruntime
CAPI=$(.venv/bin/python -c "import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), 'capi'))")
LIB=$(ls "$CAPI"/libonnxruntime.so.* | head -n1)
cp -f "$LIB" .deps/onnxruntime/libonnxruntime.so
if [ -f "$CAPI/libonnxruntime_providers_shared.so" ]; then
    cp -f "$CAPI/libonnxruntime_providers_shared.so" .deps/onnxruntime/
fi

if ! .venv/bin/python -c "import importlib.metadata as m; assert m.version('openvino') == '$OPENVINO_VERSION'" 2>/dev/null; then
    .venv/bin/pip install -q --disable-pip-version-check --no-deps "openvino==$OPENVINO_VERSION"
fi
# The libraries only (no Python): the C API, the core, the CPU plugin, the ONNX and IR readers and
# TBB/hwloc they load; GPU/NPU plugins and other frontends are left out. (TBB dlopens its
# libtbbbind with RTLD_DEEPBIND, which AddressSanitizer refuses: the ASan-built C/C++ tests
# therefore run without OpenVINO; its path is tested from Rust and Python.)
OV_LIBS=$(.venv/bin/python -c "import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec('openvino').origin), 'libs'))")
rm -rf .deps/openvino.tmp
mkdir -p .deps/openvino.tmp
for f in "$OV_LIBS"/libopenvino.so.* "$OV_LIBS"/libopenvino_c.so.* "$OV_LIBS"/libopenvino_intel_cpu_plugin.so \
         "$OV_LIBS"/libopenvino_onnx_frontend.so.* "$OV_LIBS"/libopenvino_ir_frontend.so.* \
         "$OV_LIBS"/libtbb*.so.* "$OV_LIBS"/libhwloc.so.*; do
    [ -e "$f" ] && cp -f "$f" .deps/openvino.tmp/
done
ln -sf "$(basename "$(ls .deps/openvino.tmp/libopenvino_c.so.* | head -n1)")" .deps/openvino.tmp/libopenvino_c.so
rm -rf .deps/openvino
mv .deps/openvino.tmp .deps/openvino

if ! command -v cbindgen >/dev/null 2>&1 || [ "$(cbindgen --version 2>/dev/null)" != "cbindgen $CBINDGEN_VERSION" ]; then
    cargo install --quiet --locked cbindgen --version "$CBINDGEN_VERSION"
fi
echo "setup: ONNX Runtime $ORT_VERSION at .deps/onnxruntime/libonnxruntime.so; OpenVINO $OPENVINO_VERSION at .deps/openvino/libopenvino_c.so; cbindgen $CBINDGEN_VERSION"
