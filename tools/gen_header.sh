#!/usr/bin/env bash
# Regenerate include/nninteractive.h from the C API crate (src/, nothing else) with the pinned
# cbindgen (tools/setup/core.sh).
# With --check, fail if the committed header differs from what cbindgen generates.
set -euo pipefail
cd "$(dirname "$0")/.."
out=include/nninteractive.h
if [ "${1:-}" = "--check" ]; then
    tmp=$(mktemp)
    cbindgen --quiet --config cbindgen.toml --crate nninteractive --output "$tmp"
    if ! diff -u "$out" "$tmp"; then
        echo "include/nninteractive.h is out of date: run tools/gen_header.sh and commit it" >&2
        rm -f "$tmp"
        exit 1
    fi
    rm -f "$tmp"
    echo "header: include/nninteractive.h is up to date"
else
    cbindgen --quiet --config cbindgen.toml --crate nninteractive --output "$out"
    echo "wrote $out"
fi
