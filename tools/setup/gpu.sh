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
# command (no GPU there). TensorRT (`tensorrt-cu13-libs` 10.x) is not installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

ORT_VERSION=1.31.1
DEST=.deps/onnxruntime-gpu
SITE=.deps/onnxruntime-gpu-site

if [ -f "$DEST/libonnxruntime.so" ] && [ -f "$DEST/.version" ] && [ "$(cat "$DEST/.version")" = "$ORT_VERSION" ]; then
    echo "setup_gpu: ONNX Runtime $ORT_VERSION with CUDA at $DEST"
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
