#!/usr/bin/env bash
# ONNX Runtime with CUDA (PyPI `onnxruntime-gpu` 1.31.1, a CUDA 13 build: NVIDIA driver >= 580)
# and the CUDA 13 libraries its CUDA provider loads, all from PyPI, into .deps/onnxruntime-gpu/:
# libonnxruntime.so and its providers beside symlinks to every CUDA library, so the provider
# finds them through its $ORIGIN run path. Then:
#
#   NNI_ONNXRUNTIME_PATH=$PWD/.deps/onnxruntime-gpu/libonnxruntime.so  (or nni_runtime_init(path))
#
# and a session asked for NNI_DEVICE_CUDA runs on the GPU; when something is still missing (the
# driver, a library) session creation says exactly which. About 3 GB; not part of the test
# command (no GPU there).
#
#   tools/setup/gpu.sh --tensorrt   also TensorRT 10 (PyPI tensorrt-cu13-libs; ONNX Runtime 1.31's
#                                   TensorRT provider links libnvinfer.so.10, not 11), for
#                                   NNI_BACKEND_TENSORRT / --backend tensorrt
set -euo pipefail
cd "$(dirname "$0")/../.."

TENSORRT=0
for arg in "$@"; do
    case "$arg" in
        --tensorrt) TENSORRT=1 ;;
        *) echo "setup_gpu: unknown option $arg (--tensorrt)" >&2; exit 2 ;;
    esac
done
TENSORRT_VERSION=10.16.1.11

ORT_VERSION=1.31.1
DEST=.deps/onnxruntime-gpu
SITE=.deps/onnxruntime-gpu-site

install_tensorrt() {
    local site=.deps/tensorrt-site
    if [ -f "$DEST/.tensorrt-version" ] && [ "$(cat "$DEST/.tensorrt-version")" = "$TENSORRT_VERSION" ]; then
        echo "setup_gpu: TensorRT $TENSORRT_VERSION beside it"
        return 0
    fi
    rm -rf "$site"
    echo "setup_gpu: installing tensorrt-cu13-libs==$TENSORRT_VERSION into $site"
    python3 -m pip install -q --disable-pip-version-check --no-compile --no-deps --target "$site" \
        "tensorrt-cu13-libs==$TENSORRT_VERSION"
    local n=0
    for lib in "$site"/tensorrt_libs/lib*.so* "$site"/tensorrt_libs/lib/lib*.so*; do
        [ -e "$lib" ] || continue
        ln -sf "$(realpath "$lib")" "$DEST/$(basename "$lib")"
        n=$((n + 1))
    done
    [ -e "$DEST/libnvinfer.so.10" ] || { echo "setup_gpu: libnvinfer.so.10 not found in the wheel" >&2; exit 1; }
    echo "$TENSORRT_VERSION" >"$DEST/.tensorrt-version"
    echo "setup_gpu: TensorRT $TENSORRT_VERSION: $n libraries beside ONNX Runtime"
}

if [ -f "$DEST/libonnxruntime.so" ] && [ -f "$DEST/.version" ] && [ "$(cat "$DEST/.version")" = "$ORT_VERSION" ]; then
    echo "setup_gpu: ONNX Runtime $ORT_VERSION with CUDA at $DEST"
    [ "$TENSORRT" = 1 ] && install_tensorrt
    exit 0
fi
python3 -m pip --version >/dev/null 2>&1 || { echo "setup_gpu: needs python3 with pip" >&2; exit 1; }
rm -rf "$SITE" "$DEST"
mkdir -p "$DEST"
echo "setup_gpu: installing onnxruntime-gpu[cuda,cudnn]==$ORT_VERSION and nvidia-cublas into $SITE (about 3 GB)"
python3 -m pip install -q --disable-pip-version-check --no-compile --target "$SITE" \
    "onnxruntime-gpu[cuda,cudnn]==$ORT_VERSION" "nvidia-cublas>=13,<14"
CAPI="$SITE/onnxruntime/capi"
cp -f "$(ls "$CAPI"/libonnxruntime.so.* | head -n1)" "$DEST/libonnxruntime.so"
for p in "$CAPI"/libonnxruntime_providers_*.so; do
    cp -f "$p" "$DEST/"
done
# Every CUDA library of the nvidia-* wheels, beside the provider ($ORIGIN).
found=0
for lib in "$SITE"/nvidia/*/lib/lib*.so*; do
    [ -e "$lib" ] || continue
    ln -sf "$(realpath "$lib")" "$DEST/$(basename "$lib")"
    found=$((found + 1))
done
echo "$ORT_VERSION" >"$DEST/.version"
echo "setup_gpu: $DEST/libonnxruntime.so with $found CUDA libraries beside it"
echo "setup_gpu: export NNI_ONNXRUNTIME_PATH=$PWD/$DEST/libonnxruntime.so"
[ "$TENSORRT" = 1 ] && install_tensorrt
exit 0
