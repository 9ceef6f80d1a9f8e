#!/usr/bin/env bash
# The reference environment (PyPI `nninteractive` 2.6.0 with PyTorch on CPU): needed to convert
# checkpoints (tools/model/convert_model.py) and to make golden files and benchmarks. About 6 GB, so it
# lives in a per-user cache outside the clone and is reused by every clone and CI run on the machine;
# `.venv-ref` in the repo points to it.
set -euo pipefail
cd "$(dirname "$0")/../.."

NNI_VERSION=2.6.0
TORCH_VERSION=2.15.0
CACHE="${NNI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nninteractive-native}"
VENV="$CACHE/venv-ref-$NNI_VERSION-torch$TORCH_VERSION"

if [ -e .venv-ref ] && .venv-ref/bin/python -c "import nnInteractive, torch" 2>/dev/null; then
    echo "setup_ref: using .venv-ref"
    exit 0
fi
if ! "$VENV/bin/python" -c "import nnInteractive, torch; assert torch.__version__.startswith('$TORCH_VERSION')" 2>/dev/null; then
    echo "setup_ref: installing nninteractive==$NNI_VERSION, torch==$TORCH_VERSION into $VENV (first time only)"
    mkdir -p "$CACHE"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "nninteractive==$NNI_VERSION" "torch==$TORCH_VERSION"
fi
rm -rf .venv-ref
ln -s "$VENV" .venv-ref
echo "setup_ref: .venv-ref -> $VENV"
