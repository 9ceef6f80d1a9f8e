# Sourced by the scripts that build and run a CMake test project against the built library
# (tools/test/c.sh, tools/test/adapters.sh, tools/test/slicer_sdk.sh). Provides
#   nni_ctest_project NAME SOURCE_DIR BUILD_DIR [extra cmake args...]
# which configures SOURCE_DIR with the NNI_* paths below (environment overrides; relative paths
# are taken from the repository root), builds it and runs ctest. The library must be built.
#   NNI_LIB_DIR (target/debug)  NNI_INCLUDE_DIR (include)  NNI_TEST_MODEL (models/blob-grow-p32.onnx)
#   NNI_ONNXRUNTIME (.deps/onnxruntime/libonnxruntime.so)
NNI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

nni_abs() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$NNI_ROOT/$1" ;; esac; }

nni_ctest_project() {
    local name=$1 src=$2 build=$3
    shift 3
    local lib_dir
    lib_dir=$(nni_abs "${NNI_LIB_DIR:-target/debug}")
    if [ ! -f "$lib_dir/libnninteractive.so" ]; then
        echo "$name: $lib_dir/libnninteractive.so is missing; run cargo build first" >&2
        return 1
    fi
    build=$(nni_abs "$build")
    mkdir -p "$(dirname "$build")"
    cmake -S "$(nni_abs "$src")" -B "$build" \
        -DNNI_LIB_DIR="$lib_dir" \
        -DNNI_INCLUDE_DIR="$(nni_abs "${NNI_INCLUDE_DIR:-include}")" \
        -DNNI_TEST_MODEL="$(nni_abs "${NNI_TEST_MODEL:-models/blob-grow-p32.onnx}")" \
        -DNNI_ONNXRUNTIME="$(nni_abs "${NNI_ONNXRUNTIME:-.deps/onnxruntime/libonnxruntime.so}")" \
        "$@" >"$build.configure.log" 2>&1 || {
        cat "$build.configure.log" >&2
        return 1
    }
    grep -E "^-- nni " "$build.configure.log" || true
    cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)"
    (cd "$build" && ctest --output-on-failure)
}
