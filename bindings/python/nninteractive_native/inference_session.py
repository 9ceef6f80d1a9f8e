"""A drop-in for the reference's ``nnInteractiveInferenceSession`` (PyPI ``nninteractive`` 2.6.0,
``nnInteractive/inference/inference_session.py``), running the native engine: the same name,
arguments, return values and side effects, without torch.

What hosts call, and what it does here:

- the constructor takes the reference's keywords (``device`` as a string, an int (a CUDA device) or
  a ``torch.device``; ``use_torch_compile``, ``verbose`` and ``interactions_storage`` are accepted
  and checked as the reference checks them, then have nothing to do) plus ``precision``
  (``"exact"``/``"fast"``) and ``backend``;
- ``initialize_from_trained_model_folder(path, use_fold, checkpoint_name)`` takes a converted model:
  an ``.onnx`` file, or a folder holding ``model.onnx`` (what the converter writes). A training
  output folder with PyTorch checkpoints is refused, naming the command that converts it;
- ``set_image(image[c, x, y, z], image_properties)`` resets the session and drops the target buffer;
  ``set_target_buffer(tb)`` keeps a 3D numpy array or torch tensor (CPU or CUDA), written in place,
  only over the region each call changed;
- the prompts return the region written (``[[x1, x2], [y1, y2], [z1, z2]]``, half-open, clipped to
  the image) or None when no prediction ran, as the reference's do; ``_predict(force_full_refine)``
  runs what was queued; ``_last_paste_bbox`` is the last region written (after ``undo()``, the
  region that changed);
- ``undo()`` is the reference's single level: it reverts everything since the last prompt began
  (a queued prompt and the ``_predict`` that followed it together) and returns False when there is
  nothing to revert, or always when ``enable_undo=False``. The engine's deeper history stays
  available as ``undo_step()`` / ``redo_step()``;
- ``reset_interactions()`` drops every prompt and zeroes the target buffer; ``_reset_session()``
  drops the image and the buffer; ``del session.network`` releases the model;
- the capability attributes (``supported_interactions``, ``channel_mapping``,
  ``num_interaction_channels``, ``supports_initial_label``, ``preferred_scribble_thickness``,
  ``interaction_decay``, ``license``, ``supports_undo``) come from the model's metadata;
- ``ValueError`` where the reference raises one (a zero-size box, a mask of the wrong shape, an
  ``interaction_bbox`` outside the image, an unsupported prompt kind, a bad storage option).

torch is never imported here: a tensor the caller passes is recognised by its type's module, and
``torch`` is then taken from ``sys.modules`` (the caller imported it).
"""

import os
import sys
import warnings

import numpy as np

from . import NniError, Session

__all__ = ["nnInteractiveInferenceSession"]

CONVERT_HINT = (
    "convert it once with `nni-convert {src} OUT_DIR` (from this repository: "
    "`.venv-ref/bin/python tools/model/convert_model.py {src} OUT_DIR/model.onnx`), then pass OUT_DIR"
)


def _is_tensor(x):
    """True for a torch tensor, found without importing torch."""
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


def _as_numpy(x, what):
    """A numpy view or copy of ``x`` (numpy array or torch tensor on any device)."""
    if _is_tensor(x):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"{what} must be a numpy array or a torch tensor, got {type(x).__name__}")


def _device_kind(device):
    """The engine's device for the reference's ``device`` argument."""
    kind = getattr(device, "type", None)  # torch.device
    if kind is None and isinstance(device, int) and not isinstance(device, bool):
        kind = "cuda"  # torch's convention: an int names a CUDA device
    if kind is None and isinstance(device, str):
        kind = device.split(":")[0]
    if kind in ("cpu", "cuda"):
        return kind
    raise ValueError(f"device must be 'cpu', 'cuda[:N]', an int (a CUDA device) or a torch.device, got {device!r}")


def _model_file(path):
    """The ``.onnx`` file behind ``path``, or a ValueError naming the converter."""
    path = os.fspath(path)
    if os.path.isfile(path) and path.endswith(".onnx"):
        return path
    if os.path.isdir(path):
        onnx = os.path.join(path, "model.onnx")
        if os.path.isfile(onnx):
            return onnx
        has_checkpoints = any(
            name.startswith("fold_") and os.path.isdir(os.path.join(path, name)) for name in os.listdir(path)
        )
        if has_checkpoints:
            raise ValueError(
                f"{path} is an nnInteractive training output (PyTorch checkpoints), which the native engine "
                f"does not read: " + CONVERT_HINT.format(src=path)
            )
    raise ValueError(
        f"{path} is neither a converted model folder (holding model.onnx) nor an .onnx file: "
        + CONVERT_HINT.format(src=path)
    )


def _bbox(lo, hi):
    return [[int(a), int(b)] for a, b in zip(lo, hi)]


class nnInteractiveInferenceSession:
    """The reference's session class over the native engine (see the module's doc)."""

    #: The reference version whose behaviour this class follows.
    INFERENCE_SESSION_VERSION = "2.6.0"
    MAX_AUTOZOOM_FACTOR = 4
    INTERACTIONS_STORAGE_OPTIONS = ("blosc2", "tensor", "auto")
    SUPPORTED_INTERACTION_KEYS = ("scribble", "lasso", "points", "bbox2d", "bbox3d")

    def __init__(
        self,
        device="cuda",
        use_torch_compile=False,
        verbose=False,
        torch_n_threads=8,
        do_autozoom=True,
        interactions_storage="auto",
        enable_undo=True,
        precision="exact",
        backend="auto",
    ):
        if interactions_storage not in self.INTERACTIONS_STORAGE_OPTIONS:
            raise ValueError(
                f"interactions_storage must be one of {self.INTERACTIONS_STORAGE_OPTIONS}, "
                f"got {interactions_storage!r}."
            )
        self.device = device
        self._device = _device_kind(device)
        self.use_torch_compile = False  # nothing to compile: the engine runs an ONNX graph
        self.verbose = verbose
        self.torch_n_threads = torch_n_threads
        self._threads = max(1, min(int(torch_n_threads), os.cpu_count() or 1))
        self.do_autozoom = bool(do_autozoom)
        self.interactions_storage = interactions_storage
        self.precision = precision
        self.backend = backend
        self.supports_undo = bool(enable_undo)

        # Set from the model's metadata by initialize_from_trained_model_folder.
        self.supported_interactions = {}
        self.channel_mapping = {}
        self.num_interaction_channels = None
        self.supports_initial_label = True
        self.supports_zero_shot_label_refinement = True
        self.preferred_scribble_thickness = None
        self.interaction_decay = None
        self.license = None

        self.target_buffer = None
        self.original_image_shape = None
        self._last_paste_bbox = None
        self._session = None  # the native session (nninteractive_native.Session)
        self._model_path = None
        self._steps_since_prompt = 0  # engine undo steps the reference's single undo reverts

    # -- model -----------------------------------------------------------------------------------
    def initialize_from_trained_model_folder(self, model_training_output_dir, use_fold=None,
                                             checkpoint_name="checkpoint_final.pth"):
        """Load a converted model: an ``.onnx`` file or a folder holding ``model.onnx``
        (``use_fold`` and ``checkpoint_name`` name PyTorch checkpoints, which a converted model
        no longer has; they are accepted for the hosts' calls)."""
        path = _model_file(model_training_output_dir)
        session = Session(path, device=self._device, num_threads=self._threads, autozoom=self.do_autozoom,
                          precision=self.precision, backend=self.backend)
        self._close()
        self._session = session
        self._model_path = path
        caps = session.capabilities()
        self.supported_interactions = dict(caps["supported_interactions"])
        self.channel_mapping = {k: (v if k == "prev_seg" else list(v)) for k, v in caps["channel_mapping"].items()}
        self.num_interaction_channels = caps["num_interaction_channels"]
        self.supports_initial_label = caps["supports_initial_label"]
        self.supports_zero_shot_label_refinement = caps["supports_zero_shot_label_refinement"]
        thickness = caps["preferred_scribble_thickness"]
        self.preferred_scribble_thickness = list(thickness)
        self.interaction_decay = caps["interaction_decay"]
        self.license = caps["license"]
        self.original_image_shape = None
        self.target_buffer = None
        self._last_paste_bbox = None
        self._steps_since_prompt = 0

    @property
    def network(self):
        """The loaded network in words (``None`` before a model is loaded); ``del
        session.network`` releases the model, as hosts do at teardown."""
        return None if self._session is None else self._session.describe()

    @network.deleter
    def network(self):
        self._close()

    def _close(self):
        if self._session is not None:
            self._session.close()
            self._session = None

    def _need_session(self):
        if self._session is None:
            raise RuntimeError("no model loaded: call initialize_from_trained_model_folder first")
        return self._session

    def _need_image(self):
        session = self._need_session()
        if self.original_image_shape is None:
            raise RuntimeError("no image: call set_image first")
        return session

    # -- image and buffer --------------------------------------------------------------------------
    def set_image(self, image, image_properties=None):
        """The image, 4D ``[c, x, y, z]`` (one channel); resets the session and drops the target
        buffer. ``image_properties`` (spacing) is accepted and unused, as in the reference."""
        self._reset_session()
        image = _as_numpy(image, "image")
        if image.ndim != 4:
            raise AssertionError(f"expected a 4d image as input, got {image.ndim}d. Shape {image.shape}")
        if image.shape[0] != 1:
            raise ValueError(f"the model takes one image channel, got {image.shape[0]} (shape {image.shape})")
        self._need_session().set_image(np.ascontiguousarray(image[0]))
        self.original_image_shape = tuple(int(s) for s in image.shape)

    def set_target_buffer(self, target_buffer):
        """A 3D numpy array or torch tensor the predictions are written into, in place."""
        if target_buffer.ndim != 3:
            raise ValueError(f"target_buffer must be 3D (shape [X, Y, Z]), got ndim={target_buffer.ndim}")
        self.target_buffer = target_buffer

    def set_do_autozoom(self, do_autozoom):
        self.do_autozoom = bool(do_autozoom)
        if self._session is not None:
            self._session.set_autozoom(self.do_autozoom)

    def _reset_session(self):
        """Drops the image, the target buffer and the undo state (the model stays)."""
        self.target_buffer = None
        self.original_image_shape = None
        self._last_paste_bbox = None
        self._steps_since_prompt = 0

    def reset_interactions(self):
        """Drops every prompt (the initial segmentation included) and zeroes the target buffer."""
        session = self._need_image()
        session.reset()
        self._steps_since_prompt = 0
        if self.target_buffer is not None:
            if _is_tensor(self.target_buffer):
                self.target_buffer.zero_()
            else:
                self.target_buffer.fill(0)
        self._last_paste_bbox = None

    # -- writing the target buffer -----------------------------------------------------------------
    def _check_buffer(self):
        shape = tuple(self.original_image_shape[1:])
        if tuple(self.target_buffer.shape) != shape:
            raise ValueError(f"target_buffer has shape {tuple(self.target_buffer.shape)}, the image {shape}")

    def _write(self, lo, hi, values):
        """Writes ``values`` (uint8, shape hi - lo) into the target buffer at ``[lo, hi)``."""
        region = tuple(slice(a, b) for a, b in zip(lo, hi))
        if _is_tensor(self.target_buffer):
            torch = sys.modules["torch"]
            self.target_buffer[region] = torch.from_numpy(values).to(
                device=self.target_buffer.device, dtype=self.target_buffer.dtype
            )
        else:
            self.target_buffer[region] = values

    def _copy_changed(self):
        """Copies the region the last engine call changed into the target buffer; returns it as
        a bbox (None when nothing was written)."""
        changed = self._session.get_changed_region()
        if changed is None:
            return None
        lo, hi = changed
        if self.target_buffer is not None:
            self._check_buffer()
            self._write(lo, hi, self._session.get_mask_region(lo, hi))
        return _bbox(lo, hi)

    def _after_prompt(self, ran):
        """After a prompt: one engine undo step since it began; the region written or None."""
        self._steps_since_prompt = 1
        if not ran:
            return None
        self._last_paste_bbox = self._copy_changed()
        return self._last_paste_bbox

    # -- prompts ------------------------------------------------------------------------------------
    def _check_capability(self, name, override_capability_checks):
        supported = (
            self.supports_initial_label if name == "initial_label" else self.supported_interactions.get(name, False)
        )
        if supported:
            return
        msg = f"Interaction '{name}' is not supported by this checkpoint capability metadata."
        if override_capability_checks:
            warnings.warn(f"{msg} Proceeding because override_capability_checks=True.", RuntimeWarning)
            return
        raise ValueError(msg)

    def add_point_interaction(self, coordinates, include_interaction, run_prediction=True,
                              override_capability_checks=False):
        """A click at ``coordinates`` (x, y, z: the image's axes); positive when
        ``include_interaction``."""
        self._check_capability("points", override_capability_checks)
        session = self._need_image()
        session.add_point([round(c) for c in coordinates], positive=bool(include_interaction),
                          run_prediction=bool(run_prediction))
        return self._after_prompt(run_prediction)

    def add_bbox_interaction(self, bbox_coords, include_interaction, run_prediction=True,
                             override_capability_checks=False):
        """A box ``[[x1, x2], [y1, y2], [z1, z2]]`` (half-open); 2D when an axis has size 1."""
        size = [b - a for a, b in bbox_coords]
        if any(s == 0 for s in size):
            raise ValueError(f"Given bounding box size is zero in at least one dimension: {bbox_coords}")
        flat = sum(s == 1 for s in size)
        if not self.supported_interactions.get("bbox3d", False) and flat == 0:
            raise ValueError(
                f"The given bounding box {bbox_coords} has size {size} indicating a 3D "
                f"bounding box. This is not supported by the loaded model checkpoint."
            )
        kind = "bbox2d" if flat >= 1 and self.supported_interactions.get("bbox2d", False) else "bbox3d"
        self._check_capability(kind, override_capability_checks)
        session = self._need_image()
        # The reference's rounding and clipping: clip to the image, and a box that collapses
        # (just past the border) keeps one voxel at that border.
        shape = self.original_image_shape[1:]
        lo, hi = [], []
        for (a, b), n in zip(bbox_coords, shape):
            a, b = max(0, round(a)), min(n, round(b))
            if b <= a:
                if a == 0:
                    b = min(1, n)
                else:
                    a = max(a - 1, 0)
            if b <= a:
                # Further out than one voxel: the reference writes nothing and predicts around a
                # centre outside the image; refused here instead.
                raise ValueError(f"the bounding box {bbox_coords} lies outside the image {list(shape)}")
            lo.append(a)
            hi.append(b)
        session.add_box(lo, hi, positive=bool(include_interaction), run_prediction=bool(run_prediction))
        return self._after_prompt(run_prediction)

    def _add_mask(self, kind, mask, include_interaction, run_prediction, override_capability_checks,
                  interaction_bbox):
        self._check_capability(kind, override_capability_checks)
        session = self._need_image()
        mask = _as_numpy(mask, f"{kind} image")
        shape = self.original_image_shape[1:]
        if interaction_bbox is None:
            interaction_bbox = [[0, s] for s in shape]
        if len(interaction_bbox) != 3:
            raise ValueError(f"interaction_bbox must have 3 dimensions, got {len(interaction_bbox)}")
        bbox_size = [ub - lb for lb, ub in interaction_bbox]
        if not all(s > 0 for s in bbox_size):
            raise ValueError("each dimension of interaction_bbox must have positive size")
        if list(mask.shape) != bbox_size:
            raise ValueError(f"image shape {list(mask.shape)} must match interaction_bbox size {bbox_size}")
        if not all(lb >= 0 and ub <= n for (lb, ub), n in zip(interaction_bbox, shape)):
            raise ValueError(f"interaction_bbox {interaction_bbox} exceeds original image bounds {list(shape)}")
        add = session.add_scribble if kind == "scribble" else session.add_lasso
        add(mask, positive=bool(include_interaction), run_prediction=bool(run_prediction),
            offset=[lb for lb, _ in interaction_bbox])
        return self._after_prompt(run_prediction)

    def add_scribble_interaction(self, scribble_image, include_interaction, run_prediction=True,
                                 override_capability_checks=False, interaction_bbox=None):
        """A scribble: a mask (nonzero = drawn) of the image's shape, or of ``interaction_bbox``'s
        size placed there."""
        return self._add_mask("scribble", scribble_image, include_interaction, run_prediction,
                              override_capability_checks, interaction_bbox)

    def add_lasso_interaction(self, lasso_image, include_interaction, run_prediction=True,
                              override_capability_checks=False, interaction_bbox=None):
        """A lasso (filled contour); see :meth:`add_scribble_interaction`."""
        return self._add_mask("lasso", lasso_image, include_interaction, run_prediction,
                              override_capability_checks, interaction_bbox)

    def add_initial_seg_interaction(self, initial_seg, run_prediction=False, override_capability_checks=False):
        """Starts from ``initial_seg`` (the image's shape); drops every prompt. The whole target
        buffer becomes the mask; returns the region the prediction wrote when
        ``run_prediction``, else None."""
        self._check_capability("initial_label", override_capability_checks)
        session = self._need_image()
        seg = _as_numpy(initial_seg, "initial_seg")
        if tuple(seg.shape) != tuple(self.original_image_shape[1:]):
            raise ValueError(
                f"Given initial seg must match input image shape. Input image was: "
                f"{tuple(self.original_image_shape[1:])}, given: {tuple(seg.shape)}"
            )
        session.set_initial_mask(seg, run_prediction=bool(run_prediction))
        self._steps_since_prompt = 1
        if self.target_buffer is not None:
            self._check_buffer()
            self._write((0, 0, 0), self.original_image_shape[1:], session.get_mask())
        if not run_prediction:
            return None
        changed = session.get_changed_region()
        self._last_paste_bbox = None if changed is None else _bbox(*changed)
        return self._last_paste_bbox

    def _predict(self, force_full_refine=False):
        """Predicts on the prompts queued with ``run_prediction=False``; the region written, or
        None when nothing was queued."""
        session = self._need_image()
        if not session.predict(force_full_refine=bool(force_full_refine)):
            return None  # nothing was queued: nothing ran
        self._steps_since_prompt += 1
        self._last_paste_bbox = self._copy_changed()
        return self._last_paste_bbox

    # -- undo ---------------------------------------------------------------------------------------
    def undo(self):
        """Reverts the last prompt (and a ``_predict`` that ran it), as the reference's single
        level; True when something was reverted."""
        if not self.supports_undo or self._steps_since_prompt == 0 or self._session is None:
            return False
        session = self._need_image()
        hull = None  # what the engine's undo steps rewrote (a region each)
        for _ in range(self._steps_since_prompt):
            session.undo()
            changed = session.get_changed_region()
            if changed is not None:
                lo, hi = changed
                hull = changed if hull is None else (
                    [min(a, b) for a, b in zip(hull[0], lo)], [max(a, b) for a, b in zip(hull[1], hi)])
        self._steps_since_prompt = 0
        self._last_paste_bbox = None
        if hull is not None and self.target_buffer is not None:
            # Only the voxels that changed are written; _last_paste_bbox is their bounding box,
            # as the reference's diff of the buffer before and after the restore.
            self._check_buffer()
            lo, hi = hull
            region = tuple(slice(a, b) for a, b in zip(lo, hi))
            mask = session.get_mask_region(lo, hi)
            differ = np.nonzero(_as_numpy(self.target_buffer[region], "target_buffer") != mask)
            if differ[0].size:
                d_lo = [int(d.min()) for d in differ]
                d_hi = [int(d.max()) + 1 for d in differ]
                inner = tuple(slice(a, b) for a, b in zip(d_lo, d_hi))
                w_lo, w_hi = [a + b for a, b in zip(lo, d_lo)], [a + b for a, b in zip(lo, d_hi)]
                self._write(w_lo, w_hi, np.ascontiguousarray(mask[inner]))
                self._last_paste_bbox = _bbox(w_lo, w_hi)
        return True

    def undo_step(self):
        """The engine's deeper history: undo one step (a prompt, or a prediction of queued
        prompts); False when there is none. Writes the target buffer."""
        return self._history_step(self._need_image().undo)

    def redo_step(self):
        """Re-applies the step ``undo_step()`` took back last; False when there is none."""
        return self._history_step(self._need_image().redo)

    def _history_step(self, step):
        if not step():
            return False
        self._steps_since_prompt = 0
        self._last_paste_bbox = self._copy_changed()
        return True

    def __del__(self):
        try:
            self._close()
        except Exception:  # interpreter shutdown: nothing left to release
            pass
