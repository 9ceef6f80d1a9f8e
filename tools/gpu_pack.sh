#!/usr/bin/env bash
# Make the bundle tools/gpu_check.sh needs on a GPU machine without internet, in parts small
# enough for a transfer limit (the device tool of this workplace: 64 MiB a call, the repository
# included). See docs/gpu.md.
#
#   tools/gpu_pack.sh [--part-mib N]
#
# The bundle (xz-compressed tar, about 120 MB): nni and libnninteractive.so (release, debug info
# stripped), ONNX Runtime 1.31.1 with its CUDA and TensorRT providers (tools/setup/gpu.sh), the
# reference's pure-Python wheels for CPython 3.12 (nninteractive 2.6.0, nnunetv2 and what they
# import that such a machine lacks), and ../shared/conformance. It is cut into .gpu/pNN/part-NN
# (N MiB each; default: what is left of 64 MiB after the repository, less 4 MiB), the last folder
# also holding SHA256SUMS. The device calls that carry them are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

PART_MIB=
while [ $# -gt 0 ]; do
    case "$1" in
        --part-mib) PART_MIB=$2; shift 2 ;;
        *) echo "gpu_pack: unknown option $1" >&2; exit 2 ;;
    esac
done
if [ -z "$PART_MIB" ]; then
    # What travels with every call: tracked files and untracked ones git does not ignore.
    # (stat skips files deleted from the work tree but not yet from the index.)
    tree_bytes=$( (git ls-files -z; git ls-files -z --others --exclude-standard) |
        xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}') || true
    PART_MIB=$((64 - (tree_bytes >> 20) - 4))
    echo "gpu_pack: the repository is $((tree_bytes >> 20)) MiB: parts of $PART_MIB MiB"
fi
[ "$PART_MIB" -ge 8 ] || { echo "gpu_pack: parts of $PART_MIB MiB are too small (the repository is too big)" >&2; exit 1; }
[ -d ../shared/conformance ] || { echo "gpu_pack: ../shared/conformance not found" >&2; exit 1; }

tools/setup/gpu.sh
cargo build --release --quiet -p nninteractive -p nni

STAGE=.gpu/stage
B=$STAGE/bundle
rm -rf .gpu && mkdir -p "$B/bin" "$B/lib" "$B/ort" "$B/wheels"
cp target/release/nni "$B/bin/" && strip --strip-debug "$B/bin/nni"
cp target/release/libnninteractive.so "$B/lib/" && strip --strip-debug "$B/lib/libnninteractive.so"
for f in libonnxruntime.so libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so \
    libonnxruntime_providers_tensorrt.so; do
    cp -L ".deps/onnxruntime-gpu/$f" "$B/ort/"
done
cp -r ../shared/conformance "$B/shared-conformance"

# The reference's packages that a torch machine lacks, as CPython 3.12 wheels; acvl_utils has no
# wheel on PyPI and is built here (pure Python).
PLATFORMS=()
for p in manylinux_2_34_x86_64 manylinux_2_31_x86_64 manylinux_2_28_x86_64 manylinux_2_27_x86_64 \
    manylinux_2_24_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
    PLATFORMS+=(--platform "$p")
done
for req in acvl_utils==0.2.6 batchgenerators==0.25.5 batchgeneratorsv2==0.3.6 blosc2==4.14.1 \
    connected-components-3d==4.1.1 dynamic_network_architectures==0.4.4 nibabel==5.4.2 nnInteractive==2.6.0 \
    nninteractive-client==2.6.0 nnunetv2==2.8.1 numexpr==2.14.2 ndindex==1.10.1 yacs==0.1.8; do
    python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp "${PLATFORMS[@]}" -d "$B/wheels" "$req" 2>/dev/null ||
        python3 -m pip wheel -q --disable-pip-version-check --no-deps -w "$B/wheels" "$req"
done

mkdir -p .gpu/parts
echo "gpu_pack: compressing $(du -sh "$B" | cut -f1) (xz -9)"
tar -C "$STAGE" -cf - bundle | xz -9 -T2 | split -b "${PART_MIB}M" -d -a 2 - .gpu/parts/part-
(cd .gpu/parts && sha256sum part-* >SHA256SUMS)
n=0
for part in .gpu/parts/part-*; do
    n=$((n + 1))
    dir=$(printf '.gpu/p%02d' "$n")
    mkdir -p "$dir" && mv "$part" "$dir/"
done
last=$(printf '.gpu/p%02d' "$n")
mv .gpu/parts/SHA256SUMS "$last/"
rm -rf .gpu/parts "$STAGE"
echo "gpu_pack: $n parts in .gpu/p01..$(basename "$last") ($(du -shc .gpu/p* | tail -n1 | cut -f1) in all)"
echo
echo "The device calls, one after the other while the machine stays warm:"
for i in $(seq 1 "$n"); do
    dir=$(printf '.gpu/p%02d' "$i")
    if [ "$i" -lt "$n" ]; then
        echo "  run carry=[\"$dir\"] command='mkdir -p .gpu-recv && cp $dir/* .gpu-recv/ && ls .gpu-recv'"
    else
        echo "  run carry=[\"$dir\"] timeout_s=600 command='mkdir -p .gpu-recv && cp $dir/* .gpu-recv/ && set -o pipefail && bash tools/gpu_check.sh 2>&1 | tee \$OUT/gpu_check_run.log'"
    fi
done
