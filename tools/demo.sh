#!/usr/bin/env bash
# The main job on a fresh machine: install what is needed, build, and segment the demo phantom
# with the embedded default model. Writes out/demo_mask.npy and out/demo.png.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup/core.sh
cargo run --release --quiet --bin nni -- demo --out-dir out "$@"
