#!/usr/bin/env bash
# The cross toolchain tools/wheel.sh builds the wheel's binaries with, so that they need only
# glibc 2.28 (manylinux_2_28: RHEL/Rocky 8, Ubuntu 20.04, Debian 11 and newer) while this machine
# has a newer one: a venv with PyPI's cargo-zigbuild (cargo through zig's linker and C
# compiler, against glibc 2.28's symbol versions), ziglang (zig itself) and libclang (for the
# bindgen of c-blosc2 in `nni`: Debian's libclang 14 crashes on the flags zig gives it).
#
# The venv lies outside the repository, in ~/.cache/nninteractive-native/venv-zig (or
# $NNI_ZIG_VENV): zig names its library folder relative to the working directory when it lies
# below it, and cargo-zigbuild hands that relative path to bindgen, which runs elsewhere.
# Prints the venv's path.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${NNI_ZIG_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/nninteractive-native/venv-zig}

ZIGBUILD_VERSION=0.24.1
ZIG_VERSION=0.15.2
LIBCLANG_VERSION=18.1.1

if "$VENV/bin/python" -c "
import importlib.metadata as m
assert (m.version('cargo-zigbuild'), m.version('ziglang'), m.version('libclang')) == ('$ZIGBUILD_VERSION', '$ZIG_VERSION', '$LIBCLANG_VERSION')
" 2>/dev/null; then
    echo "$VENV"
    exit 0
fi
echo "setup_zig: installing cargo-zigbuild $ZIGBUILD_VERSION, ziglang $ZIG_VERSION and libclang $LIBCLANG_VERSION into $VENV" >&2
rm -rf "$VENV"
mkdir -p "$(dirname "$VENV")"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "cargo-zigbuild==$ZIGBUILD_VERSION" \
    "ziglang==$ZIG_VERSION" "libclang==$LIBCLANG_VERSION" >&2
echo "$VENV"
