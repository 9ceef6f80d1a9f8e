"""``nni-convert SRC DST``: an nnInteractive model folder (PyTorch checkpoints, as released) into a
model folder the native engine and the hosts' own class lookup take.

DST receives:

- ``model.onnx`` (and its bfloat16 variant ``model.bf16.onnx``; ``--fp16`` adds the float16 one),
  written by the converter (``tools/model/convert_model.py``: the network rebuilt as the reference
  does, ONNX Runtime checked against torch, round-trip relative L2 < 1e-4);
- the source's ``LICENSE``, ``plans.json``, ``dataset.json`` and ``inference_info.json`` as they are;
- with ``--triton-repo DIR``, a model repository for NVIDIA Triton (``tools/model/triton_repo.py``);
- ``inference_session_class.json`` naming ``nnInteractiveNativeInferenceSession``, which
  napari-nninteractive and MITK's tool find in the ``nnInteractive.inference`` namespace (this
  package ships that module), so pointed at DST in local mode they run the native engine.

The conversion needs torch, nnU-Net and the reference package (``pip install
"nninteractive-native[convert]"``, or this repository's reference environment,
``tools/setup/ref.sh``), once per model; running the converted model needs none of them.
"""

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys

CLASS_NAME = "nnInteractiveNativeInferenceSession"
COPIED = ("LICENSE", "plans.json", "dataset.json", "inference_info.json")


def converter_script():
    """The converter: bundled in the wheel (``_converter/``), else this repository's."""
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (
        os.path.join(here, "_converter", "convert_model.py"),
        os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(here))), "tools", "model", "convert_model.py"),
    ):
        if os.path.isfile(candidate):
            return candidate
    raise SystemExit("nni-convert: the converter (convert_model.py) is missing from this installation")


def has_modules(*names):
    return all(importlib.util.find_spec(n) is not None for n in names)


def pythons():
    """(the Python that runs torch and the reference, the one that runs onnx + onnxruntime)."""
    torch_python = os.environ.get("NNI_REF_PYTHON")
    if not torch_python:
        if not has_modules("torch", "nnunetv2", "nnInteractive.inference.inference_session"):
            raise SystemExit(
                "nni-convert: converting needs torch, nnunetv2 and nninteractive in this Python: "
                'pip install "nninteractive-native[convert]" (or set NNI_REF_PYTHON to a Python that has them)'
            )
        torch_python = sys.executable
    onnx_python = os.environ.get("NNI_ONNX_PYTHON")
    if not onnx_python:
        if has_modules("onnx", "onnxruntime"):
            onnx_python = sys.executable
        else:
            raise SystemExit(
                "nni-convert: converting needs onnx and onnxruntime in this Python "
                '(pip install "nninteractive-native[convert]") or NNI_ONNX_PYTHON naming one that has them'
            )
    return torch_python, onnx_python


def write_folder(src, dst, converter_args):
    """Converts ``src`` into ``dst`` (created; an existing model.onnx there is replaced)."""
    if not os.path.isfile(os.path.join(src, "plans.json")) or not any(
        n.startswith("fold_") for n in os.listdir(src)
    ):
        raise SystemExit(f"nni-convert: {src} is not an nnInteractive model folder (plans.json and fold_*/)")
    torch_python, onnx_python = pythons()
    os.makedirs(dst, exist_ok=True)
    cmd = [torch_python, converter_script(), src, os.path.join(dst, "model.onnx"), "--onnx-python", onnx_python]
    rc = subprocess.call(cmd + converter_args)
    if rc != 0:
        raise SystemExit(f"nni-convert: the conversion failed (exit {rc}); {dst} is incomplete")
    for name in COPIED:
        if os.path.isfile(os.path.join(src, name)):
            shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))
    with open(os.path.join(dst, "inference_session_class.json"), "w") as f:
        json.dump({"inference_class": CLASS_NAME, "converted_from": os.path.abspath(src)}, f, indent=1)
        f.write("\n")
    print(f"nni-convert: wrote {dst} (session class {CLASS_NAME})")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="nni-convert", description=__doc__.split("\n\n")[0])
    ap.add_argument("src", help="nnInteractive model folder (plans.json, fold_*/checkpoint_final.pth)")
    ap.add_argument("dst", help="output model folder")
    ap.add_argument("--fold", default=None, help="fold_N to convert (default: the only one)")
    ap.add_argument("--name", default=None, help="model name in the metadata (default: the source folder's name)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fp16", action="store_true", help="also write model.fp16.onnx (FAST precision on CUDA)")
    ap.add_argument("--no-bf16", action="store_true", help="skip model.bf16.onnx (FAST on bfloat16 CPUs)")
    ap.add_argument("--triton-repo", default=None, metavar="DIR",
                    help="also write a model repository for NVIDIA Triton (DIR/NAME/config.pbtxt, DIR/NAME/1/model.onnx): "
                         "`nni serve --network-url http://HOST:8000/v2/models/NAME` then runs its forwards there")
    args = ap.parse_args(argv)
    extra = ["--threads", str(args.threads), "--name", args.name or os.path.basename(os.path.abspath(args.src))]
    if args.fold is not None:
        extra += ["--fold", args.fold]
    if args.fp16:
        extra.append("--fp16")
    if args.no_bf16:
        extra.append("--no-bf16")
    if args.triton_repo:
        extra += ["--triton-repo", os.path.abspath(args.triton_repo)]
    write_folder(os.path.abspath(args.src), os.path.abspath(args.dst), extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
