#!/usr/bin/env bash
# The GPU check (issue 13), on a Linux machine with an NVIDIA GPU (driver >= 580), and a python3
# holding torch (CUDA 13), numpy, onnx, onnxruntime and NVIDIA's CUDA 13 wheels (nvidia-cudnn-cu13,
# nvidia-cublas, nvidia-cufft, nvidia-curand, nvidia-cuda-runtime, nvidia-cuda-nvrtc), but no
# internet. Everything else comes in the bundle tools/gpu_pack.sh makes: nni and libnninteractive
# (release), ONNX Runtime 1.31.1 with CUDA, the reference's pure-Python wheels, and
# ../shared/conformance. See docs/gpu.md for how the bundle travels in parts of under 64 MiB.
#
#   tools/gpu_check.sh [--parts DIR]   unpack DIR/part-* (default .gpu-recv), then run the check:
#                                      tools/gpu/check.py --device cuda; the table goes to stdout
#                                      and, with $OUT set, to $OUT/gpu_check.{md,json,log}
#   tools/gpu_check.sh --cpu-dry-run   the same steps on this machine's CPU with the local build,
#                                      .deps/onnxruntime and .venv-ref, at a 64^3 patch: checks
#                                      the script, not a GPU
#
# Needs about 5 minutes on an H200 (16 host cores); the conformance runs first.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

PARTS=.gpu-recv
DRY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --parts) PARTS=$2; shift 2 ;;
        --cpu-dry-run) DRY=1; shift ;;
        *) echo "gpu_check: unknown option $1" >&2; exit 2 ;;
    esac
done
OUT_DIR=${OUT:-/tmp/nni-gpu-out}
mkdir -p "$OUT_DIR"

if [ "$DRY" = 1 ]; then
    cargo build --release --quiet -p nninteractive -p nni
    export NNI_ONNXRUNTIME_PATH=$REPO/.deps/onnxruntime/libonnxruntime.so
    export NNI_OPENVINO_PATH=$REPO/.deps/openvino/libopenvino_c.so
    export NNI_LIBRARY=$REPO/target/release/libnninteractive.so
    export NNI_PYTHON=$REPO/.venv/bin/python NNI_ONNX_PYTHON=$REPO/.venv/bin/python
    export NNI_REF_PYTHON=$REPO/.venv-ref/bin/python
    exec "$NNI_REF_PYTHON" tools/gpu/check.py --device cpu --nni "$REPO/target/release/nni" \
        --work /tmp/nni-gpu-dry --out "$OUT_DIR" --patch 64 --cpu-threads 2 --python "$NNI_PYTHON"
fi

W=/tmp/nni-gpu
if [ ! -f "$W/.unpacked" ]; then
    ls "$PARTS"/part-* >/dev/null 2>&1 || { echo "gpu_check: no $PARTS/part-* (tools/gpu_pack.sh makes them)" >&2; exit 2; }
    [ -f "$PARTS/SHA256SUMS" ] || { echo "gpu_check: $PARTS/SHA256SUMS missing (the last part carries it)" >&2; exit 2; }
    (cd "$PARTS" && sha256sum -c --quiet SHA256SUMS) || { echo "gpu_check: a part is damaged or missing" >&2; exit 2; }
    rm -rf "$W" && mkdir -p "$W"
    echo "gpu_check: unpacking $(ls "$PARTS"/part-* | wc -l) parts into $W"
    cat "$PARTS"/part-* | python3 -c 'import sys, tarfile; tarfile.open(fileobj=sys.stdin.buffer, mode="r|xz").extractall(sys.argv[1])' "$W"
    touch "$W/.unpacked"
fi

# The reference's pure-Python packages; SimpleITK and imagecodecs (imported by nnU-Net's image
# readers, not used by the inference session) as empty stand-ins instead of 90 MB of wheels.
if [ ! -d "$W/site" ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check \
        --target "$W/site" "$W"/bundle/wheels/*.whl
fi
mkdir -p "$W/stubs/SimpleITK" "$W/stubs/imagecodecs"
for m in SimpleITK imagecodecs; do
    printf '"""Stand-in: %s is not installed on this machine (not used by the inference session)."""\n' "$m" \
        >"$W/stubs/$m/__init__.py"
done

# ONNX Runtime with CUDA, and beside it every CUDA library of the nvidia-* wheels python3 has
# (the provider finds them through its $ORIGIN run path).
ORT=$W/bundle/ort
python3 - "$ORT" <<'PY'
import glob, os, sys
dest = sys.argv[1]
import nvidia  # the namespace package of NVIDIA's CUDA wheels
n = 0
for root in nvidia.__path__:
    for lib in glob.glob(os.path.join(root, "*", "lib", "lib*.so*")):
        link = os.path.join(dest, os.path.basename(lib))
        if not os.path.exists(link):
            os.symlink(lib, link)
            n += 1
print(f"gpu_check: {n} CUDA libraries linked beside ONNX Runtime")
PY
export NNI_ONNXRUNTIME_PATH=$ORT/libonnxruntime.so
export NNI_LIBRARY=$W/bundle/lib/libnninteractive.so
export PYTHONPATH=$W/site:$W/stubs${PYTHONPATH:+:$PYTHONPATH}
export NNI_PYTHON=python3 NNI_ONNX_PYTHON=python3 NNI_REF_PYTHON=python3
nvidia-smi -L || true
exec python3 tools/gpu/check.py --device cuda --nni "$W/bundle/bin/nni" --shared "$W/bundle/shared-conformance" \
    --work "$W/work" --out "$OUT_DIR"
