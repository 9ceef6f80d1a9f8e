#!/usr/bin/env bash
# Stage `deploy`: the Kubernetes manifests in deploy/ (docs/scale-out.md). Every object is
# validated against the Kubernetes schemas in strict mode (kubernetes-validate, offline), the
# references between objects are checked, nni serve's flags against `nni serve --help`, the
# routing rule against the official client's cookie handling (nninteractive-client 2.6.0 on a
# loopback stand-in for the ingress), and broken copies of the manifests must be refused.
# One line per check, then "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/setup/deploy.sh
tools/setup/client.sh
exec .venv-deploy/bin/python tools/test/deploy_check.py --client-python .venv-client/bin/python "$@"
