#!/usr/bin/env bash
# The MITK Python environment (PyPI `mitk-python`, which ships MITK's own libraries and Python
# bindings for CPython 3.12 only): tools/test/mitk_geometry.py records with it how MITK reads image
# geometry, which mitk_module/test/mitk_geometry_test compares with the ITK adapter.
#
# Makes `.venv-mitk` (ignored) from a CPython 3.12: `python3.12` on PATH, or pyenv's
# (~/.pyenv/versions/3.12*), or NNI_PYTHON312. Exit status 3 when no CPython 3.12 is found
# (the caller then says so and checks against the committed recording only).
set -euo pipefail
cd "$(dirname "$0")/../.."

MITK_VERSION=2026.6

if [ -x .venv-mitk/bin/python ] && .venv-mitk/bin/python -c "import mitk" 2>/dev/null; then
    echo "setup_mitk: using .venv-mitk"
    exit 0
fi
py=${NNI_PYTHON312:-}
if [ -z "$py" ]; then
    for cand in "$(command -v python3.12 || true)" "$HOME"/.pyenv/versions/3.12*/bin/python3.12; do
        if [ -n "$cand" ] && [ -x "$cand" ] && "$cand" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
            py=$cand
            break
        fi
    done
fi
if [ -z "$py" ]; then
    echo "setup_mitk: no CPython 3.12 found (mitk-python needs it); set NNI_PYTHON312" >&2
    exit 3
fi
echo "setup_mitk: installing mitk-python==$MITK_VERSION with $py into .venv-mitk"
rm -rf .venv-mitk
"$py" -m venv .venv-mitk
.venv-mitk/bin/pip install -q --disable-pip-version-check "mitk-python==$MITK_VERSION"
.venv-mitk/bin/python -c "import mitk" 2>/dev/null
echo "setup_mitk: ready"
