#!/usr/bin/env bash
# Installs what the geometry-adapter tests (adapters/tests, tools/test/adapters.sh) need:
# Debian's ITK 5 and VTK 9 development packages. Idempotent: installs only what is missing.
set -euo pipefail
PKGS=(libinsighttoolkit5-dev libvtk9-dev cmake g++)
missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg -s "$p" >/dev/null 2>&1; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup_adapters: all installed (${PKGS[*]})"
    exit 0
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
echo "setup_adapters: installing ${missing[*]}"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
