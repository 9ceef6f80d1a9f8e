#!/usr/bin/env bash
# One valgrind memcheck run of the C ABI test (tests/c/c_abi_test.c, built without sanitizers):
# every memory error fails it, and so does a definite leak. tools/test/valgrind.supp holds the
# two findings outside nninteractive (glibc's loader, ONNX Runtime's startup); see
# docs/reliability.md. The library must be built (cargo build --lib).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }
mkdir -p build/valgrind
cc -std=c11 -O1 -g -Iinclude -DNNI_TEST_MODEL="\"$PWD/models/blob-grow-p32.onnx\"" \
    -DNNI_ONNXRUNTIME="\"$PWD/.deps/onnxruntime/libonnxruntime.so\"" tests/c/c_abi_test.c \
    -o build/valgrind/c_abi_test -Ltarget/debug -lnninteractive -lm -Wl,-rpath,"$PWD/target/debug"
NNI_ONNXRUNTIME_PATH="$PWD/.deps/onnxruntime/libonnxruntime.so" valgrind --error-exitcode=3 \
    --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    --suppressions=tools/test/valgrind.supp build/valgrind/c_abi_test >build/valgrind/log 2>&1 || {
    status=$?
    grep -E "^==[0-9]+== |^FAIL" build/valgrind/log | head -n 40
    echo "valgrind: c_abi_test failed (exit $status); log build/valgrind/log"
    exit "$status"
}
grep -E "ERROR SUMMARY|definitely lost|checks," build/valgrind/log
echo "valgrind: c_abi_test clean"
