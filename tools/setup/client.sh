#!/usr/bin/env bash
# The official torch-free remote client (PyPI `nninteractive-client` 2.6.0, what the napari, Slicer
# and MITK plug-ins use in remote mode) in its own venv, `.venv-client`, for the server tests
# (tools/test/server.py) and the load benchmark.
set -euo pipefail
cd "$(dirname "$0")/../.."

CLIENT_VERSION=2.6.0

if .venv-client/bin/python -c "
import importlib.metadata as m, numpy, psutil
assert m.version('nninteractive-client') == '$CLIENT_VERSION'
" 2>/dev/null; then
    exit 0
fi
echo "setup_client: installing nninteractive-client==$CLIENT_VERSION into .venv-client"
rm -rf .venv-client
python3 -m venv .venv-client
.venv-client/bin/pip install -q --disable-pip-version-check "nninteractive-client==$CLIENT_VERSION" numpy psutil
