#!/usr/bin/env bash
# What the tsan stage needs: the nightly toolchain's standard-library sources (rustup component
# rust-src), so that -Zbuild-std can build std itself with ThreadSanitizer. Idempotent. Exit
# status 3 when rust-src cannot be downloaded (rustup's server out of reach).
set -euo pipefail
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "setup/tsan: the nightly Rust toolchain is missing (rustup toolchain install nightly)" >&2
    exit 1
fi
sysroot=$(rustc +nightly --print sysroot)
if [ ! -d "$sysroot/lib/rustlib/src/rust/library" ]; then
    if ! timeout 600 rustup component add rust-src --toolchain nightly; then
        echo "setup/tsan: rustup could not install rust-src for nightly" >&2
        exit 3
    fi
fi
echo "setup/tsan: $(cargo +nightly --version) with rust-src"
