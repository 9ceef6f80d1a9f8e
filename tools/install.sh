#!/usr/bin/env bash
# Installs the built library, its headers and ONNX Runtime, with a CMake package and a
# pkg-config file, under a prefix:
#
#   tools/install.sh --prefix DIR [--release]
#
#   DIR/include/nninteractive.h             C ABI
#   DIR/include/nninteractive.hpp           C++17 binding (header-only, bindings/cpp)
#   DIR/include/nninteractive/adapters/     viewer adapters (header-only, adapters/: common/ the
#                                           toolkit-free tool engine, itk/ and vtk/ geometry)
#   DIR/lib/libnninteractive.so             the library (target/debug, or target/release with --release)
#   DIR/lib/libonnxruntime.so               ONNX Runtime (from .deps/onnxruntime, see tools/setup/core.sh)
#   DIR/lib/libopenvino_c.so ...            OpenVINO, the fast CPU path (from .deps/openvino, when present)
#   DIR/lib/cmake/nninteractive/            nninteractiveConfig.cmake, nninteractiveConfigVersion.cmake
#   DIR/lib/pkgconfig/nninteractive.pc
#
# Then: CMake   find_package(nninteractive CONFIG REQUIRED) with CMAKE_PREFIX_PATH=DIR, and
#               target_link_libraries(app PRIVATE nninteractive::nninteractive);
#       make    PKG_CONFIG_PATH=DIR/lib/pkgconfig pkg-config --cflags --libs nninteractive.
# See bindings/cpp/README.md.
#
# It builds nothing: build the library first (cargo build [--release]). Other options (for tests):
#   --lib-dir DIR        take libnninteractive.so from DIR instead of target/debug|release
#   --onnxruntime FILE   take ONNX Runtime from FILE instead of .deps/onnxruntime/libonnxruntime.so
#   --openvino-dir DIR   take OpenVINO's libraries from DIR instead of .deps/openvino
set -euo pipefail
CALLER_PWD=$(pwd)
cd "$(dirname "$0")/.."
ROOT=$(pwd)

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "install: $*" >&2; exit 1; }
abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$ROOT/$1" ;; esac; }

PREFIX=""
PROFILE=debug
LIB_DIR=""
ORT=""
OV_DIR=""
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; PREFIX=$2; shift 2 ;;
        --prefix=*) PREFIX=${1#--prefix=}; shift ;;
        --release) PROFILE=release; shift ;;
        --lib-dir) [ $# -ge 2 ] || die "--lib-dir needs a directory"; LIB_DIR=$2; shift 2 ;;
        --onnxruntime) [ $# -ge 2 ] || die "--onnxruntime needs a file"; ORT=$2; shift 2 ;;
        --openvino-dir) [ $# -ge 2 ] || die "--openvino-dir needs a directory"; OV_DIR=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see tools/install.sh --help)" ;;
    esac
done
[ -n "$PREFIX" ] || { usage >&2; die "--prefix DIR is required"; }

# Paths given relative to the caller's directory: resolve them against it, not the repository.
resolve() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$CALLER_PWD/$1" ;; esac; }
PREFIX=$(resolve "$PREFIX")
if [ -n "$LIB_DIR" ]; then
    LIB_DIR=$(resolve "$LIB_DIR")
else
    LIB_DIR=$(abs "target/$PROFILE")
fi
if [ -n "$OV_DIR" ]; then
    OV_DIR=$(resolve "$OV_DIR")
else
    OV_DIR=$(abs ".deps/openvino")
fi
if [ -n "$ORT" ]; then
    ORT=$(resolve "$ORT")
else
    ORT=$(abs ".deps/onnxruntime/libonnxruntime.so")
fi

LIB="$LIB_DIR/libnninteractive.so"
if [ ! -f "$LIB" ]; then
    if [ "$PROFILE" = release ]; then build="cargo build --release --lib"; else build="cargo build --lib"; fi
    die "$LIB is missing: build the library first ($build)"
fi
[ -f "$ORT" ] || die "$ORT is missing: run tools/setup/core.sh (it puts ONNX Runtime in .deps/onnxruntime)"
for f in include/nninteractive.h bindings/cpp/nninteractive.hpp cmake/nninteractiveConfig.cmake.in \
         cmake/nninteractiveConfigVersion.cmake.in cmake/nninteractive.pc.in; do
    [ -f "$f" ] || die "$ROOT/$f is missing"
done

VERSION=$(sed -n '/^\[workspace\.package\]/,/^\[/{s/^version *= *"\([^"]*\)".*/\1/p}' Cargo.toml | head -n1)
[[ "$VERSION" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+) ]] || die "cannot read the version from Cargo.toml ([workspace.package])"
MAJOR=${BASH_REMATCH[1]} MINOR=${BASH_REMATCH[2]} PATCH=${BASH_REMATCH[3]}

# The prefix goes into sed replacements and the pkg-config file.
if [[ "$PREFIX" =~ [[:space:]|\&\\] ]]; then
    die "the prefix must not contain white space or any of | & \\ (got '$PREFIX')"
fi
mkdir -p "$PREFIX"
PREFIX=$(cd "$PREFIX" && pwd)

# Fills a template: @NNI_VERSION@, @NNI_VERSION_MAJOR|MINOR|PATCH@, @PREFIX@.
fill() {
    sed -e "s|@NNI_VERSION@|$VERSION|g" -e "s|@NNI_VERSION_MAJOR@|$MAJOR|g" \
        -e "s|@NNI_VERSION_MINOR@|$MINOR|g" -e "s|@NNI_VERSION_PATCH@|$PATCH|g" \
        -e "s|@PREFIX@|$PREFIX|g" "$1" > "$2.tmp"
    mv -f "$2.tmp" "$2"
    chmod 0644 "$2"
}

install -d "$PREFIX/include" "$PREFIX/lib/cmake/nninteractive" "$PREFIX/lib/pkgconfig"
install -m 0644 include/nninteractive.h bindings/cpp/nninteractive.hpp "$PREFIX/include/"
for part in common itk vtk; do
    install -d "$PREFIX/include/nninteractive/adapters/$part"
    install -m 0644 adapters/$part/*.hpp "$PREFIX/include/nninteractive/adapters/$part/"
done
install -m 0755 "$LIB" "$PREFIX/lib/libnninteractive.so"
install -m 0755 "$ORT" "$PREFIX/lib/libonnxruntime.so"
# The CUDA execution provider needs this one beside libonnxruntime (absent in CPU-only builds).
if [ -f "$(dirname "$ORT")/libonnxruntime_providers_shared.so" ]; then
    install -m 0755 "$(dirname "$ORT")/libonnxruntime_providers_shared.so" "$PREFIX/lib/"
fi
# OpenVINO beside the library, where it looks for it (optional: the fast CPU path).
if [ -e "$OV_DIR/libopenvino_c.so" ]; then
    cp -a "$OV_DIR/." "$PREFIX/lib/"
fi
fill cmake/nninteractiveConfig.cmake.in "$PREFIX/lib/cmake/nninteractive/nninteractiveConfig.cmake"
fill cmake/nninteractiveConfigVersion.cmake.in "$PREFIX/lib/cmake/nninteractive/nninteractiveConfigVersion.cmake"
fill cmake/nninteractive.pc.in "$PREFIX/lib/pkgconfig/nninteractive.pc"

echo "install: nninteractive $VERSION ($LIB) into $PREFIX"
echo "install:   CMake:      find_package(nninteractive CONFIG REQUIRED) with -DCMAKE_PREFIX_PATH=$PREFIX"
echo "install:   pkg-config: PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig pkg-config --cflags --libs nninteractive"
