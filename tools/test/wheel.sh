#!/usr/bin/env bash
# The wheel as users get it (tools/wheel.sh builds it):
#  1. a fresh venv, `pip install "dist/...whl[cpu]"` and nothing else: no torch comes with it; from
#     outside the repository (no NNI_LIBRARY, no NNI_ONNXRUNTIME_PATH: the bundled library and the
#     onnxruntime wheel's) the drop-in segments a phantom and never imports torch, and replays
#     every conformance case with the reference's recorded masks; the version is the library's;
#     `nni` runs; `nni-convert` without the [convert] extra names it;
#  2. `nni-convert` (from the wheel, with the reference environment's torch and nnInteractive)
#     converts a trained test model, and napari's and MITK's own class lookup
#     (tools/test/host_lookup.py) picks the native class from the folder and replays a case;
#  3. every conformance case through the installed drop-in beside the reference's class
#     (tools/test/dropin.py --installed).
# Needs the reference environment (tools/setup/ref.sh). Work folder: build/wheel-test.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
work=$repo/build/wheel-test
fails=0
ok() { echo "ok   - $*"; }
fail() { echo "FAIL - $*"; fails=$((fails + 1)); }

tools/wheel.sh
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
wheel=$(ls "$repo"/dist/nninteractive_native-"$version"-*.whl)
rm -rf "$work"
mkdir -p "$work/outside"

# 1. a fresh venv, the wheel with the [cpu] extra
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check "$wheel[cpu]"
if "$work/venv/bin/pip" list 2>/dev/null | grep -qi "^torch "; then
    fail "installing the wheel pulled in torch"
else
    ok "pip install $(basename "$wheel")[cpu]: $("$work/venv/bin/pip" list 2>/dev/null | awk 'NR>2 {printf "%s ", $1}')(no torch)"
fi
(
    cd "$work/outside"
    env -u NNI_LIBRARY -u NNI_ONNXRUNTIME_PATH -u NNI_OPENVINO_PATH "$work/venv/bin/python" - "$repo/models/blob-grow-p32.onnx" "$version" <<'PY'
import importlib.metadata, os, sys
import numpy as np
import nninteractive_native as nni
from nninteractive_native import nnInteractiveInferenceSession

model, version = sys.argv[1], sys.argv[2]
assert "site-packages" in nni.__file__, nni.__file__
lib = nni.load_library()._name
assert os.path.dirname(lib) == os.path.dirname(nni.__file__), lib
assert importlib.metadata.version("nninteractive-native") == version
assert ".".join(map(str, nni.version())) == version, (nni.version(), version)
s = nnInteractiveInferenceSession(device="cpu", torch_n_threads=2)
s.initialize_from_trained_model_folder(model)
img = np.full((1, 40, 48, 44), 100, np.int16)
a0, a1, a2 = np.meshgrid(*(np.arange(n) for n in img.shape[1:]), indexing="ij")
sphere = ((a0 - 12) ** 2 + (a1 - 14) ** 2 + (a2 - 15) ** 2 <= 36)
img[0][sphere] = 1000
s.set_image(img)
buf = np.zeros(img.shape[1:], np.uint8)
s.set_target_buffer(buf)
box = s.add_point_interaction((12, 14, 15), True)
dice = 2 * np.logical_and(buf, sphere).sum() / (buf.sum() + sphere.sum())
assert dice >= 0.95, dice
assert "torch" not in sys.modules
print(f"drop-in from {nni.__file__}: library {lib}, ONNX Runtime from the onnxruntime wheel; "
      f"{s.network}; point -> box {box}, Dice {dice:.4f}; torch not imported")
PY
) && ok "the installed drop-in segments from outside the repository" || fail "the installed drop-in"
# every conformance case through the drop-in in that venv alone (judged against the recorded masks)
if (cd "$work/outside" && env -u NNI_LIBRARY -u NNI_ONNXRUNTIME_PATH -u NNI_OPENVINO_PATH "$work/venv/bin/python" \
        "$repo/tools/test/dropin.py" --installed --no-reference \
        "$(cd "$repo" && realpath "${NNI_CONFORMANCE_ROOT:-../shared/conformance}")" "$repo/tests/conformance" \
        >"$work/fresh-venv-cases.log" 2>&1); then
    ok "the fresh venv replays every conformance case with the reference's masks: $(tail -n 1 "$work/fresh-venv-cases.log")"
else
    grep -E "FAIL|Error|error" "$work/fresh-venv-cases.log" | head -20
    fail "the fresh venv's replay of the conformance cases: $(tail -n 1 "$work/fresh-venv-cases.log")"
fi
if out=$(cd "$work/outside" && "$work/venv/bin/nni" --version 2>&1); then ok "nni --version: $out"; else fail "nni: $out"; fi
if out=$(cd "$work/outside" && env -u NNI_REF_PYTHON -u NNI_ONNX_PYTHON "$work/venv/bin/nni-convert" "$repo/tests/conformance/models/tiny-trained-p64" "$work/x" 2>&1); then
    fail "nni-convert without the [convert] extra should refuse: $out"
elif grep -q "nninteractive-native\[convert\]" <<<"$out"; then
    ok "nni-convert without the [convert] extra names it: $out"
else
    fail "nni-convert failed without naming the [convert] extra: $out"
fi

# 2. nni-convert, then the hosts' own lookup. The reference environment stands in for a napari
#    environment; it has no onnxruntime wheel, so ONNX Runtime is named (the [cpu] extra's job).
export NNI_ONNXRUNTIME_PATH=$repo/.deps/onnxruntime/libonnxruntime.so
"$work/venv/bin/pip" install -q --disable-pip-version-check --no-deps --target "$work/target" "$wheel"
tools/setup/ref.sh >/dev/null
converted=$work/converted/tiny-trained-p64
if NNI_ONNX_PYTHON=$repo/.venv/bin/python PYTHONPATH=$work/target .venv-ref/bin/python -m nninteractive_native.convert \
        tests/conformance/models/tiny-trained-p64 "$converted" --threads 2 >"$work/convert.log" 2>&1; then
    ok "nni-convert: $(tail -n 1 "$work/convert.log"); $(ls "$converted" | tr '\n' ' ')"
else
    cat "$work/convert.log"
    fail "nni-convert tests/conformance/models/tiny-trained-p64"
fi
if .venv-ref/bin/python tools/test/host_lookup.py --installed "$work/target" "$converted" \
        tests/conformance/cases/wide-box-zoom; then
    ok "napari's and MITK's class lookup runs the native class from the converted folder"
else
    fail "the hosts' class lookup"
fi

# 3. every conformance case through the installed drop-in beside the reference's class
.venv-ref/bin/python tools/test/dropin.py --installed "$work/target" \
    "${NNI_CONFORMANCE_ROOT:-../shared/conformance}" tests/conformance || fails=$((fails + 1))

echo "wheel: $fails failed"
[ "$fails" -eq 0 ]
