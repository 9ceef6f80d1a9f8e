#!/usr/bin/env bash
# Bounded libFuzzer runs of every target in fuzz/ (cargo-fuzz, nightly, AddressSanitizer):
#
#   tools/test/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 60 s, every target)
#
# Each run starts from the committed corpus fuzz/corpus/<target> (seeds and every crash found
# so far: regression tests) and writes new inputs to build/fuzz/corpus/<target> only. A crash
# stops the run with its input in fuzz/artifacts/<target>/: add it to fuzz/corpus/<target> once
# fixed. The closing line counts targets: "N passed, M failed".
#
# The mutations follow a fixed seed (NNI_FUZZ_SEED, default 1), so the test command's verdict
# does not depend on the draw: a shorter run explores a prefix of a longer one. To look for new
# crashes, run longer or with NNI_FUZZ_SEED=0 (libFuzzer then draws a seed and prints it).
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(onnx_model volume_files c_abi_calls nnia_arrays); fi
export NNI_ONNXRUNTIME_PATH="$PWD/.deps/onnxruntime/libonnxruntime.so"
passed=0 failed=0
for t in "${targets[@]}"; do
    mkdir -p "build/fuzz/corpus/$t"
    log="build/fuzz/$t.log"
    # Leak checks off: ONNX Runtime keeps process-wide singletons that libFuzzer would report.
    (cd fuzz && cargo +nightly fuzz run --release "$t" "../build/fuzz/corpus/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -seed="${NNI_FUZZ_SEED:-1}" -timeout=10 -rss_limit_mb=6144 -max_len=65536 -detect_leaks=0 -print_final_stats=1) \
        >"$log" 2>&1
    status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
        echo "fuzz $t: ok, ${runs:-?} executions in ${seconds} s"
    else
        failed=$((failed + 1))
        echo "fuzz $t: FAILED (exit $status); log $log; the input is in fuzz/artifacts/$t/"
        grep -E "panicked|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY" "$log" | head -n 5
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
