#!/usr/bin/env bash
# ThreadSanitizer over the threaded tests, with the whole Rust crate graph instrumented (nightly,
# -Zsanitizer=thread, and -Zbuild-std so the standard library's locks are seen too):
#
#   - tests/abi_threads.rs: the C ABI from two threads (reads, describe, a refused second prompt,
#     a refused callback swap and a cancel while a prompt runs; a progress callback calling its
#     own session);
#   - the engine's tests with the scripted network: a cancel from another thread during the
#     forward under way (tests/rollback.rs), the shared network's forwards one at a time and its
#     per-session cancel, the timing clock (unit tests).
#
# ONNX Runtime (loaded at run time, not instrumented) runs with one thread here, so its work
# stays on the test's threads. Any report fails the run (halt_on_error). Built into target/tsan.
set -euo pipefail
cd "$(dirname "$0")/../.."
export NNI_ONNXRUNTIME_PATH="${NNI_ONNXRUNTIME_PATH:-$PWD/.deps/onnxruntime/libonnxruntime.so}"
export RUSTFLAGS="-Zsanitizer=thread"
export RUSTDOCFLAGS="-Zsanitizer=thread"
export TSAN_OPTIONS="halt_on_error=1 abort_on_error=0 exitcode=66 second_deadlock_stack=1"
target=$(rustc +nightly -vV | sed -n 's/^host: //p')
common=(+nightly test -Zbuild-std --target "$target" --target-dir target/tsan --quiet)
cargo "${common[@]}" -p nninteractive --test abi_threads
cargo "${common[@]}" -p nninteractive-engine --features fake-network --test rollback -- \
    a_cancel_from_another_thread progress_never_goes_back
cargo "${common[@]}" -p nninteractive-engine --features fake-network --lib -- backend::shared backend::timing
