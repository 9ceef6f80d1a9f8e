#!/usr/bin/env bash
# The Kubernetes manifest validator for the deploy stage (tools/test/deploy.sh): PyPI
# `kubernetes-validate`, which bundles the Kubernetes JSON schemas of every release it supports
# (strict variants included), so validation runs offline once installed. Its own venv,
# `.venv-deploy` (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/../.."

KV_VERSION=1.37.0

if .venv-deploy/bin/python -c "
import importlib.metadata as m, yaml, kubernetes_validate
assert m.version('kubernetes-validate') == '$KV_VERSION'
" 2>/dev/null; then
    exit 0
fi
echo "setup_deploy: installing kubernetes-validate==$KV_VERSION into .venv-deploy"
rm -rf .venv-deploy
python3 -m venv .venv-deploy
.venv-deploy/bin/pip install -q --disable-pip-version-check "kubernetes-validate==$KV_VERSION"
