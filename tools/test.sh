#!/usr/bin/env bash
# Every test, on a fresh machine: setup, formatting, lints, header drift, Rust unit and
# integration tests, the C/C++ ABI tests (ctest, AddressSanitizer), the reference conformance
# cases and the demo end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

stages=0
step() { stages=$((stages + 1)); echo; echo "=== $*"; }

step setup
tools/setup.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --all-targets --quiet -- -D warnings

step "header drift (cbindgen)"
tools/gen_header.sh --check

step "cargo test"
cargo test --quiet
cargo build --quiet --lib
export NNI_LIBRARY="$PWD/target/debug/libnninteractive.so"

step "C and C++ ABI tests (ctest, ASan)"
tools/test_c.sh

step "geometry adapters against Debian's ITK and VTK (ctest)"
tools/setup_adapters.sh
tools/test_adapters.sh

step "reference environment (converter)"
tools/setup_ref.sh

step "reference conformance through the C ABI (../shared/conformance)"
tools/conformance "${NNI_CONFORMANCE_ROOT:-../shared/conformance}"

step "own AutoZoom and refinement cases through the C ABI (tests/conformance)"
tools/conformance tests/conformance

step "demo end to end"
cargo run --quiet --bin nni -- demo --out-dir build/demo-test
test -s build/demo-test/demo_mask.npy
test -s build/demo-test/demo.png
echo "all test stages passed"
echo "stages: $stages passed, 0 failed"
