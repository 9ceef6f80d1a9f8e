"""The native engine's session class, where the hosts of nnInteractive look for session classes.

napari-nninteractive and MITK's nnInteractive tool read the class name from a model folder's
``inference_session_class.json`` and search the ``nnInteractive.inference`` namespace package for
it (nnU-Net's ``recursive_find_python_class``, over every portion of the namespace). A model folder
written by ``nni-convert`` names ``nnInteractiveNativeInferenceSession``, which this module (a
portion of that namespace, shipped with nninteractive-native, torch-free) provides: the hosts then
run the native engine with no change to their code.
"""

from nninteractive_native.inference_session import nnInteractiveInferenceSession


class nnInteractiveNativeInferenceSession(nnInteractiveInferenceSession):
    """``nninteractive_native.nnInteractiveInferenceSession`` under the name a converted model
    folder gives (distinct from the reference's class, which the same search would find first)."""


__all__ = ["nnInteractiveNativeInferenceSession"]
