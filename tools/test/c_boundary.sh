#!/usr/bin/env bash
# What the library viewers load exposes and carries, checked:
#  1. every name the generated header declares (macros, enum constants, types, functions) starts
#     with NNI_/nni_ (or is the include guard NNINTERACTIVE_H);
#  2. the C API crate depends on no command-line or file-format crate.
set -euo pipefail
cd "$(dirname "$0")/../.."
header=include/nninteractive.h
fails=0

names=$(
    {
        sed -n 's/^#define \([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' "$header"
        sed -n 's/^  \([A-Za-z_][A-Za-z0-9_]*\) = .*/\1/p' "$header"
        sed -n 's/^typedef .*[ *(]\([A-Za-z_][A-Za-z0-9_]*\)\()(.*\|;\)$/\1/p' "$header"
        sed -n 's/^} \([A-Za-z_][A-Za-z0-9_]*\);$/\1/p' "$header"
        sed -n 's/^\(enum\|struct\) \([A-Za-z_][A-Za-z0-9_]*\).*/\2/p' "$header"
        sed -n 's/^[a-z].*[ *]\([A-Za-z_][A-Za-z0-9_]*\)(.*/\1/p' "$header"
    } | sort -u
)
count=$(printf '%s\n' "$names" | grep -c .)
bad=$(printf '%s\n' "$names" | grep -Ev '^(NNI_|nni_|NNINTERACTIVE_H$)' || true)
if [ -n "$bad" ]; then
    echo "FAIL - $header declares names without the NNI_/nni_ prefix:"
    printf '  %s\n' $bad
    fails=$((fails + 1))
else
    echo "ok   - all $count names declared by $header carry the NNI_/nni_ prefix"
fi
if [ "$count" -lt 40 ]; then
    echo "FAIL - only $count names found in $header: the name extraction is broken"
    fails=$((fails + 1))
fi

forbidden='^(clap|nifti|png|indicatif|flate2|npyz|ndarray|image|tiff) '
deps=$(cargo tree -p nninteractive -e normal --prefix none --quiet | sort -u)
hits=$(printf '%s\n' "$deps" | grep -E "$forbidden" || true)
if [ -n "$hits" ]; then
    echo "FAIL - the C API crate (libnninteractive) depends on CLI or file-format crates:"
    printf '%s\n' "$hits" | sed 's/^/  /'
    fails=$((fails + 1))
else
    echo "ok   - the C API crate depends on $(printf '%s\n' "$deps" | grep -c .) crates, none of them CLI or file-format ones"
fi
[ "$fails" -eq 0 ]
