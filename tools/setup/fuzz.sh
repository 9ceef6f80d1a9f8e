#!/usr/bin/env bash
# Installs what the fuzz stage needs: cargo-fuzz (pinned, from crates.io) for the nightly
# toolchain the machine provides. Idempotent.
set -euo pipefail
CARGO_FUZZ_VERSION=0.13.2
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "setup/fuzz: the nightly Rust toolchain is missing (rustup toolchain install nightly)" >&2
    exit 1
fi
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    cargo install --quiet --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
echo "setup/fuzz: $(cargo fuzz --version), $(cargo +nightly --version)"
