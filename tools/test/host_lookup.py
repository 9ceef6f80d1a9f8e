#!/usr/bin/env python3
"""A model folder written by ``nni-convert``, opened the way napari-nninteractive 2.5.4 and MITK's
nnInteractive tool open a local model: the class named in the folder's
``inference_session_class.json``, searched with nnU-Net's ``recursive_find_python_class`` in every
portion of the ``nnInteractive.inference`` namespace, constructed with napari's keywords, given
the folder; then a conformance case replayed through it, judged against the reference's masks.

    .venv-ref/bin/python tools/test/host_lookup.py --installed DIR CONVERTED_FOLDER CASE_DIR

DIR holds the wheel installed with ``pip install --no-deps --target DIR`` (its nnInteractive
portion and nninteractive_native); the reference environment supplies nnInteractive's own
portion, torch and nnU-Net, as in a napari environment with the local extra. Exit status 0 when
the class found is the native one and every step passes (conformance's judging).
"""

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--installed", required=True, metavar="DIR")
    ap.add_argument("folder")
    ap.add_argument("case_dir")
    args = ap.parse_args()
    sys.path.insert(0, os.path.abspath(args.installed))
    os.environ.pop("NNI_LIBRARY", None)

    import nnInteractive
    import torch
    from batchgenerators.utilities.file_and_folder_operations import join, load_json
    from nnunetv2.utilities.find_class_by_name import recursive_find_python_class

    # napari-nninteractive's _construct_local_session, step by step
    inference_class = load_json(join(args.folder, "inference_session_class.json"))
    if isinstance(inference_class, dict):
        inference_class = inference_class["inference_class"]
    found = None
    for portion in nnInteractive.__path__:
        if os.path.isdir(portion):
            found = recursive_find_python_class(join(portion, "inference"), inference_class, "nnInteractive.inference")
            if found is not None:
                break
    print(f"host_lookup: {inference_class!r} in {list(nnInteractive.__path__)} -> "
          f"{None if found is None else found.__module__ + '.' + found.__qualname__}")
    installed = os.path.abspath(args.installed) + os.sep
    module_file = getattr(sys.modules.get(getattr(found, "__module__", ""), None), "__file__", "")
    if found is None or not module_file.startswith(installed):
        print(f"host_lookup: FAIL: the hosts' lookup did not find the installed native class ({module_file})")
        return 1
    import nninteractive_native

    if not nninteractive_native.__file__.startswith(installed):
        print(f"host_lookup: FAIL: nninteractive_native came from {nninteractive_native.__file__}")
        return 1
    print(f"host_lookup: found in {module_file}, over {nninteractive_native.__file__}")
    # the test's own helpers, after the lookup (conformance puts bindings/python on sys.path)
    sys.path.insert(1, HERE)
    from case_arrays import load_array
    from conformance import compare
    from dropin import call
    session = found(device=torch.device("cpu"), use_torch_compile=False, torch_n_threads=os.cpu_count(),
                    verbose=False, do_autozoom=True, interactions_storage="auto")
    session.initialize_from_trained_model_folder(args.folder, 0, "checkpoint_final.pth")
    print(f"host_lookup: {session.network}")

    with open(os.path.join(args.case_dir, "case.json")) as f:
        case = json.load(f)
    session.set_do_autozoom(bool(case.get("autozoom", True)))
    image = load_array(os.path.join(args.case_dir, case["image"]))
    session.set_image(image[None], {"spacing": [1.0, 1.0, 1.0]})
    buffer = np.zeros(image.shape, dtype=np.uint8)
    session.set_target_buffer(buffer)
    failed = 0
    for idx, step in enumerate(case["steps"]):
        op = step["op"]
        call(session, step, args.case_dir, reference=False)  # the calls a host makes
        if "expect" in step:
            dice, diff, union, ok = compare(buffer, load_array(os.path.join(args.case_dir, step["expect"])))
            print(f"host_lookup: step {idx:03d} {op:<5} Dice {dice:.5f} differing {diff} of {union}: "
                  f"{'PASS' if ok else 'FAIL'}")
            failed += 0 if ok else 1
    session._reset_session()
    del session.network  # MITK's teardown
    print(f"host_lookup: {'all steps passed' if not failed else f'{failed} step(s) failed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
