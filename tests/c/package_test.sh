#!/usr/bin/env bash
# The installed package works for a consumer (run by ctest as cpp_package, see CMakeLists.txt):
#  1. tools/install.sh installs into a fresh prefix;
#  2. a CMake project (package_consumer/) finds it with find_package(nninteractive CONFIG REQUIRED),
#     builds (ASan) and segments a sphere through the C++ binding, and a second program through
#     the installed viewer adapters (nninteractive::adapters), with ONNX Runtime from the path
#     the package exports; an incompatible version request (99.0) is refused;
#  3. the same program built with `pkg-config --cflags --libs nninteractive` runs too;
#  4. the package still works after the prefix is moved (the CMake package is relocatable).
# The consumers run with neither NNI_ONNXRUNTIME_PATH nor LD_LIBRARY_PATH set.
#
#   package_test.sh REPO_ROOT LIB_DIR ONNXRUNTIME MODEL WORK_DIR CXX CMAKE PKG_CONFIG
set -euo pipefail
[ $# -eq 8 ] || { echo "usage: $0 REPO_ROOT LIB_DIR ONNXRUNTIME MODEL WORK_DIR CXX CMAKE PKG_CONFIG" >&2; exit 2; }
ROOT=$1 LIB_DIR=$2 ORT=$3 MODEL=$4 WORK=$5 CXX=$6 CMAKE=$7 PKG_CONFIG=$8
HERE=$(cd "$(dirname "$0")" && pwd)

fails=0
ok() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }
run_quiet() { # runs a command; shows its output only when it fails
    local log
    log=$(mktemp)
    if "$@" >"$log" 2>&1; then rm -f "$log"; return 0; fi
    cat "$log"; rm -f "$log"; return 1
}

if [ ! -x "$PKG_CONFIG" ] && ! command -v "$PKG_CONFIG" >/dev/null 2>&1; then
    echo "FAIL - pkg-config is not installed (apt-get install pkg-config; tools/setup/core.sh does it)"
    exit 1
fi

rm -rf "$WORK"
mkdir -p "$WORK"
PREFIX="$WORK/prefix"
ASAN_FLAGS="-fsanitize=address -fno-omit-frame-pointer -g"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
unset NNI_ONNXRUNTIME_PATH LD_LIBRARY_PATH

# ---------------------------------------------------------------------------------- install
if run_quiet "$ROOT/tools/install.sh" --prefix "$PREFIX" --lib-dir "$LIB_DIR" --onnxruntime "$ORT"; then
    ok "tools/install.sh --prefix $PREFIX"
else
    fail "tools/install.sh --prefix $PREFIX"
    exit 1
fi
for f in include/nninteractive.h include/nninteractive.hpp lib/libnninteractive.so \
         lib/libonnxruntime.so lib/cmake/nninteractive/nninteractiveConfig.cmake \
         lib/cmake/nninteractive/nninteractiveConfigVersion.cmake lib/pkgconfig/nninteractive.pc; do
    if [ -f "$PREFIX/$f" ]; then ok "installed $f"; else fail "installed $f"; fi
done
VERSION=$(sed -n 's/^Version: *//p' "$PREFIX/lib/pkgconfig/nninteractive.pc")
MAJOR_MINOR=$(echo "$VERSION" | cut -d. -f1,2)

# The program must load libnninteractive from PREFIX (rpath), with nothing in the environment.
check_program() { # name binary lib_dir
    local name=$1 bin=$2 libdir=$3 resolved out
    resolved=$(ldd "$bin" | awk '$1 == "libnninteractive.so" { print $3 }')
    if [ "$resolved" = "$libdir/libnninteractive.so" ]; then
        ok "$name: libnninteractive.so resolves to $resolved"
    else
        fail "$name: libnninteractive.so resolves to '$resolved', not $libdir/libnninteractive.so"
    fi
    if out=$("$bin" "$MODEL" 2>&1); then
        ok "$name runs: $out"
    else
        fail "$name runs: $out"
    fi
}

# ---------------------------------------------------------------------------------- CMake
cmake_consumer() { # build_dir prefix version
    run_quiet "$CMAKE" -S "$HERE/package_consumer" -B "$1" -DCMAKE_PREFIX_PATH="$2" \
        -DNNI_REQUEST_VERSION="$3" -DCMAKE_CXX_COMPILER="$CXX" -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_CXX_FLAGS="$ASAN_FLAGS" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address" &&
        run_quiet "$CMAKE" --build "$1"
}
if cmake_consumer "$WORK/cmake-build" "$PREFIX" "$MAJOR_MINOR"; then
    ok "CMake consumer: find_package(nninteractive $MAJOR_MINOR CONFIG REQUIRED) and build"
    check_program "CMake consumer" "$WORK/cmake-build/consumer" "$PREFIX/lib"
    check_program "CMake adapter consumer (nninteractive::adapters)" "$WORK/cmake-build/adapter_consumer" "$PREFIX/lib"
else
    fail "CMake consumer: find_package(nninteractive $MAJOR_MINOR CONFIG REQUIRED) and build"
fi
if "$CMAKE" -S "$HERE/package_consumer" -B "$WORK/cmake-build-99" -DCMAKE_PREFIX_PATH="$PREFIX" \
        -DNNI_REQUEST_VERSION=99.0 -DCMAKE_CXX_COMPILER="$CXX" >"$WORK/cmake-99.log" 2>&1; then
    fail "find_package(nninteractive 99.0) should be refused by the version file"
else
    if grep -q "$VERSION" "$WORK/cmake-99.log"; then
        ok "find_package(nninteractive 99.0) is refused (installed $VERSION)"
    else
        fail "find_package(nninteractive 99.0) failed, but not on the version:"
        cat "$WORK/cmake-99.log"
    fi
fi

# The version each viewer module asks for (its find_package(nninteractive X.Y)) is accepted by
# the installed package (a stale request made the modules unbuildable against this library).
for module_cmake in "$ROOT"/slicer_module/CMakeLists.txt "$ROOT"/mitk_module/Modules/*/CMakeLists.txt; do
    requested=$(sed -n 's/^ *find_package(nninteractive \([0-9.]*\).*/\1/p' "$module_cmake")
    [ -n "$requested" ] || continue
    rel=${module_cmake#"$ROOT"/}
    if "$CMAKE" -S "$HERE/package_consumer" -B "$WORK/cmake-module-request" -DCMAKE_PREFIX_PATH="$PREFIX" \
            -DNNI_REQUEST_VERSION="$requested" -DCMAKE_CXX_COMPILER="$CXX" >"$WORK/cmake-module.log" 2>&1; then
        ok "$rel: find_package(nninteractive $requested) is accepted (installed $VERSION)"
    else
        fail "$rel: find_package(nninteractive $requested) is refused (installed $VERSION):"
        grep -i "version" "$WORK/cmake-module.log" | head -5
    fi
done

# ---------------------------------------------------------------------------------- pkg-config
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
if flags=$("$PKG_CONFIG" --cflags --libs nninteractive) &&
    pc_ort=$("$PKG_CONFIG" --variable=onnxruntime_library nninteractive) &&
    pc_libdir=$("$PKG_CONFIG" --variable=libdir nninteractive); then
    ok "pkg-config --cflags --libs nninteractive: $flags"
    if [ "$pc_ort" = "$PREFIX/lib/libonnxruntime.so" ] && [ -f "$pc_ort" ]; then
        ok "pkg-config --variable=onnxruntime_library: $pc_ort"
    else
        fail "pkg-config --variable=onnxruntime_library: '$pc_ort'"
    fi
    # shellcheck disable=SC2086  # $flags and $ASAN_FLAGS are lists of words
    if run_quiet "$CXX" -std=c++17 -Wall -Wextra -Wpedantic -Werror $ASAN_FLAGS \
        "$HERE/package_consumer/consumer.cpp" -o "$WORK/pc-consumer" \
        -DNNI_PACKAGE_ONNXRUNTIME="\"$pc_ort\"" $flags -Wl,-rpath,"$pc_libdir"; then
        ok "pkg-config consumer builds"
        check_program "pkg-config consumer" "$WORK/pc-consumer" "$PREFIX/lib"
    else
        fail "pkg-config consumer builds"
    fi
else
    fail "pkg-config finds nninteractive in $PKG_CONFIG_PATH"
fi
unset PKG_CONFIG_PATH

# ---------------------------------------------------------------------------------- relocation
mv "$PREFIX" "$WORK/moved-prefix"
if cmake_consumer "$WORK/cmake-build-moved" "$WORK/moved-prefix" ""; then
    ok "CMake consumer against the moved prefix: configure and build"
    check_program "CMake consumer (moved prefix)" "$WORK/cmake-build-moved/consumer" "$WORK/moved-prefix/lib"
    check_program "CMake adapter consumer (moved prefix)" "$WORK/cmake-build-moved/adapter_consumer" "$WORK/moved-prefix/lib"
else
    fail "CMake consumer against the moved prefix: configure and build"
fi

echo "# package test: $fails failed"
[ "$fails" -eq 0 ]
