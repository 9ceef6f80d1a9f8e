#!/usr/bin/env bash
# A real NVIDIA Triton server for the `triton` test stage: .venv-triton with PyPI's PyTriton
# (it ships the `tritonserver` binary, Triton 2.51 with its Python backend; it needs glibc >= 2.35
# and x86_64 or aarch64 Linux) and the ONNX Runtime the engine loads (the same version: the
# served network's forwards are bit-identical to the engine's own).
#
# Exit 3: PyTriton cannot run on this machine (the reason printed); the stage then says SKIP.
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTRITON_VERSION=0.7.0
ORT_VERSION=$(sed -n 's/^ORT_VERSION=//p' tools/setup/core.sh)

glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
glibc=${glibc:-0.0}
if [ "$(printf '%s\n2.35\n' "$glibc" | sort -V | head -n1)" != "2.35" ]; then
    echo "setup/triton: glibc $glibc is older than 2.35, which PyTriton's tritonserver needs"
    exit 3
fi
case "$(uname -m)" in x86_64 | aarch64) ;; *)
    echo "setup/triton: PyTriton has no tritonserver for $(uname -m)"
    exit 3
    ;;
esac

if [ ! -x .venv-triton/bin/python ]; then
    python3 -m venv .venv-triton
fi
if ! .venv-triton/bin/python -c "
import importlib.metadata as m, onnxruntime
assert m.version('nvidia-pytriton') == '$PYTRITON_VERSION' and onnxruntime.__version__ == '$ORT_VERSION'
" 2>/dev/null; then
    .venv-triton/bin/pip install -q --disable-pip-version-check \
        "nvidia-pytriton==$PYTRITON_VERSION" "onnxruntime==$ORT_VERSION" numpy
fi
