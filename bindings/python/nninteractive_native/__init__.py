"""ctypes binding over the nninteractive-native C ABI (include/nninteractive.h).

Pure ctypes + numpy. Coordinates and arrays use the *reference's* axis order: an image is a
C-order numpy array ``image[a0, a1, a2]`` (as ``nnInteractiveInferenceSession`` takes it, without
the channel axis), prompts are given as ``[a0, a1, a2]`` and masks have the image's shape. The
binding converts to the C ABI's ``(i, j, k)`` order, where ``i`` varies fastest:
``dims = (shape[2], shape[1], shape[0])`` and ``ijk = (a2, a1, a0)``; a C-order buffer is passed
as it is.

The library is found through the environment variable ``NNI_LIBRARY`` (a path to the shared
library), else ``target/release`` or ``target/debug`` of the repository this package lives in
(the newer of the two). ONNX Runtime is found by the library itself (``NNI_ONNXRUNTIME_PATH``, or
next to the library); when neither is set, the repository's ``.deps/onnxruntime`` is used.

Every failing call raises :class:`NniError`, which carries the status code, its name and the
library's last error message. ``Session.undo()`` returns ``False`` instead of raising when there
is nothing to undo. The status codes are not copied here: they are read from the library when it
is loaded (``STATUS_CODES``, ``STATUS_NAMES``), and the option struct's size is checked against
the library's.

A session never makes a caller wait: a call that would change it while another runs (another
thread, or the progress callback calling back in) raises ``NniError`` NNI_ERR_BUSY at once, and
``get_mask()`` and the other reads answer at once with the mask as the last finished call left it.

Conventions shared with the C ABI and the C++ and Rust bindings: the progress callback returns a
true value to cancel the running call (``None``/``False`` go on); an exception raised by the
callback cancels the call and is raised again from it once the session is restored. Prompts
default to ``positive=True, run_prediction=True``; ``set_initial_mask`` defaults to
``run_prediction=False``, as the reference's ``add_initial_seg_interaction``.

Example::

    from nninteractive_native import Session
    with Session("model.onnx", device="cpu", autozoom=False) as s:
        s.set_image(volume)                 # numpy array, shape (a0, a1, a2)
        s.add_point((30, 34, 40), positive=True)
        mask = s.get_mask()                 # uint8, shape volume.shape
"""

import ctypes
import json
import os
import sys
import threading
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_double,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)

import numpy as np

__all__ = [
    "Image",
    "NniError",
    "Session",
    "load_library",
    "runtime_init",
    "openvino_init",
    "version",
    "abi_version",
    "STATUS_NAMES",
    "STATUS_CODES",
    "status_code",
]

ABI_VERSION = 1

DEVICES = {"auto": 0, "cpu": 1, "cuda": 2}
PRECISIONS = {"exact": 0, "fast": 1}
BACKENDS = {"auto": 0, "onnxruntime": 1, "openvino": 2, "tensorrt": 3}

# numpy dtype -> NNI_DTYPE_*
_DTYPES = {
    np.dtype(np.uint8): 1,
    np.dtype(np.int16): 2,
    np.dtype(np.uint16): 3,
    np.dtype(np.int32): 4,
    np.dtype(np.float32): 5,
    np.dtype(np.float64): 6,
}
# Lossless conversions for a few dtypes the ABI does not take directly.
_WIDEN = {
    np.dtype(np.bool_): np.uint8,
    np.dtype(np.int8): np.int16,
    np.dtype(np.float16): np.float32,
}

# Filled from the library's nni_status_name when it is loaded: code -> name and name -> code.
STATUS_NAMES = {}
STATUS_CODES = {}
_UNKNOWN_STATUS = "NNI_UNKNOWN_STATUS"


def status_code(name):
    """The library's code of status ``name`` (e.g. ``"NNI_ERR_CANCELLED"``)."""
    load_library()
    return STATUS_CODES[name]


class NniError(RuntimeError):
    """A non-OK status from the library: ``status`` (int), ``status_name`` and ``message``."""

    def __init__(self, status, status_name, message, call=None):
        self.status = status
        self.status_name = status_name
        self.message = message
        self.call = call
        where = f"{call}: " if call else ""
        super().__init__(f"{where}{status_name} ({status}): {message}")


class _Options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("model_path", c_char_p),
        ("device", c_int32),
        ("num_threads", c_int32),
        ("autozoom", c_int32),
        ("precision", c_int32),
        ("backend", c_int32),
        ("history_bytes", c_uint64),
        ("warm_up", c_int32),
        ("network_url", c_char_p),
        ("network_token", c_char_p),
        ("network_timeout_ms", c_uint32),
        ("network_retries", c_uint32),
        ("network_ca_file", c_char_p),
    ]


class _ImageDesc(Structure):
    _fields_ = [
        ("data", c_void_p),
        ("dtype", c_int32),
        ("voxel_count", c_size_t),
        ("dims", c_uint64 * 3),
        ("spacing", c_double * 3),
        ("origin", c_double * 3),
        ("direction", c_double * 9),
    ]


_PROGRESS = CFUNCTYPE(c_int32, c_void_p, c_double, c_char_p)

_LIB = None
_LIB_LOCK = threading.Lock()
_RUNTIME_READY = False
_OPENVINO_TRIED = False


def _repo_root():
    # bindings/python/nninteractive_native/__init__.py -> repository root
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _lib_name():
    if sys.platform == "win32":
        return "nninteractive.dll"
    if sys.platform == "darwin":
        return "libnninteractive.dylib"
    return "libnninteractive.so"


def _find_library():
    env = os.environ.get("NNI_LIBRARY")
    if env:
        return env
    bundled = os.path.join(os.path.dirname(os.path.abspath(__file__)), _lib_name())
    if os.path.isfile(bundled):  # the wheel carries the library beside this file
        return bundled
    root = _repo_root()
    found = [
        os.path.join(root, "target", kind, _lib_name())
        for kind in ("release", "debug")
        if os.path.isfile(os.path.join(root, "target", kind, _lib_name()))
    ]
    if not found:
        raise OSError(
            f"{_lib_name()} not found: set NNI_LIBRARY or build the crate (target/release or target/debug under {root})"
        )
    return max(found, key=os.path.getmtime)


def _declare(lib):
    I64P = POINTER(c_int64)
    U8P = POINTER(c_uint8)
    sigs = {
        "nni_version": (c_uint32, []),
        "nni_abi_version": (c_uint32, []),
        "nni_status_name": (c_char_p, [c_int32]),
        "nni_last_error_message": (c_size_t, [POINTER(c_char), c_size_t]),
        "nni_runtime_init": (c_int32, [c_char_p]),
        "nni_openvino_init": (c_int32, [c_char_p]),
        "nni_session_describe": (c_size_t, [c_void_p, POINTER(c_char), c_size_t]),
        "nni_session_capabilities": (c_size_t, [c_void_p, POINTER(c_char), c_size_t]),
        "nni_session_predict": (c_int32, [c_void_p, c_int32, POINTER(c_int32)]),
        "nni_session_options_init": (None, [POINTER(_Options)]),
        "nni_session_new": (c_int32, [POINTER(_Options), POINTER(c_void_p)]),
        "nni_session_free": (None, [c_void_p]),
        "nni_session_set_image": (c_int32, [c_void_p, POINTER(_ImageDesc)]),
        "nni_image_new": (c_int32, [POINTER(_ImageDesc), POINTER(c_void_p)]),
        "nni_image_free": (None, [c_void_p]),
        "nni_session_set_shared_image": (c_int32, [c_void_p, c_void_p]),
        "nni_session_share_image": (c_int32, [c_void_p, POINTER(c_void_p)]),
        "nni_session_export_log": (c_size_t, [c_void_p, POINTER(c_char), c_size_t]),
        "nni_session_add_point": (c_int32, [c_void_p, I64P, c_int32, c_int32]),
        "nni_session_add_box": (c_int32, [c_void_p, I64P, I64P, c_int32, c_int32]),
        "nni_session_add_scribble": (c_int32, [c_void_p, U8P, c_size_t, c_int32, c_int32]),
        "nni_session_add_lasso": (c_int32, [c_void_p, U8P, c_size_t, c_int32, c_int32]),
        "nni_session_add_scribble_region": (c_int32, [c_void_p, I64P, I64P, U8P, c_size_t, c_int32, c_int32]),
        "nni_session_add_lasso_region": (c_int32, [c_void_p, I64P, I64P, U8P, c_size_t, c_int32, c_int32]),
        "nni_session_set_initial_mask": (c_int32, [c_void_p, U8P, c_size_t, c_int32]),
        "nni_session_set_initial_mask_region": (c_int32, [c_void_p, I64P, I64P, U8P, c_size_t, c_int32]),
        "nni_session_reset": (c_int32, [c_void_p]),
        "nni_session_undo": (c_int32, [c_void_p]),
        "nni_session_redo": (c_int32, [c_void_p]),
        "nni_session_get_mask": (c_int32, [c_void_p, U8P, c_size_t]),
        "nni_session_get_mask_region": (c_int32, [c_void_p, I64P, I64P, U8P, c_size_t]),
        "nni_session_get_changed_region": (c_int32, [c_void_p, I64P, I64P]),
        "nni_session_set_autozoom": (c_int32, [c_void_p, c_int32]),
        "nni_session_set_progress_callback": (c_int32, [c_void_p, _PROGRESS, c_void_p]),
        "nni_session_request_cancel": (c_int32, [c_void_p]),
    }
    for name, (res, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = argtypes


def load_library(path=None):
    """Load (once) and return the ctypes handle of the library."""
    global _LIB
    with _LIB_LOCK:
        if _LIB is None:
            lib = ctypes.CDLL(path or _find_library())
            _declare(lib)
            abi = lib.nni_abi_version()
            if abi != ABI_VERSION:
                raise OSError(f"library C ABI version {abi}, this binding speaks {ABI_VERSION}")
            _check_layout(lib)
            # The status table is dense from 0 (NNI_OK) and append-only.
            code = 0
            while (name := lib.nni_status_name(code).decode()) != _UNKNOWN_STATUS:
                STATUS_NAMES[code] = name
                STATUS_CODES[name] = code
                code += 1
            _LIB = lib
        return _LIB


def _check_layout(lib):
    """The library writes ``sizeof(nni_session_options)`` into ``struct_size``: it must be this
    binding's, or the binding would pass the library a struct of another layout."""
    buf = ctypes.create_string_buffer(1024)
    lib.nni_session_options_init(ctypes.cast(buf, POINTER(_Options)))
    size = c_uint32.from_buffer(buf).value
    if size != ctypes.sizeof(_Options):
        raise OSError(
            f"the library's nni_session_options has {size} bytes, this binding's {ctypes.sizeof(_Options)}"
        )


def _last_error(lib):
    n = lib.nni_last_error_message(None, 0)
    buf = ctypes.create_string_buffer(n + 1)
    lib.nni_last_error_message(buf, n + 1)
    return buf.value.decode("utf-8", "replace")


def _check(lib, status, call):
    if status != 0:  # NNI_OK
        raise NniError(status, lib.nni_status_name(status).decode(), _last_error(lib), call)


def version():
    """Library version as a (major, minor, patch) tuple."""
    v = load_library().nni_version()
    return (v >> 16, (v >> 8) & 0xFF, v & 0xFF)


def abi_version():
    return load_library().nni_abi_version()


def runtime_init(path=None):
    """Load ONNX Runtime from ``path`` (or as the library searches: NNI_ONNXRUNTIME_PATH, then next
    to the library). Optional; sessions load it on first use."""
    global _RUNTIME_READY
    lib = load_library()
    _check(lib, lib.nni_runtime_init(os.fsencode(path) if path else None), "nni_runtime_init")
    _RUNTIME_READY = True


def openvino_init(path=None):
    """Load the OpenVINO runtime (the fast CPU path) from ``path`` (libopenvino_c.so), or as the
    library searches (NNI_OPENVINO_PATH, then next to the library). Optional; retryable."""
    lib = load_library()
    _check(lib, lib.nni_openvino_init(os.fsencode(path) if path else None), "nni_openvino_init")


def _wheel_file(package, *patterns):
    """A file of an installed wheel (``package`` found without importing it), or None."""
    import glob
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        for pattern in patterns:
            found = sorted(glob.glob(os.path.join(location, pattern)))
            if found:
                return found[-1]
    return None


def _ensure_runtime():
    # Without NNI_ONNXRUNTIME_PATH / NNI_OPENVINO_PATH: the repository's runtimes (.deps), else the
    # ones of the installed onnxruntime (or onnxruntime-gpu) and openvino wheels, found without
    # importing them (OpenVINO is optional: a failure here leaves the library to report it when a
    # session needs it).
    global _OPENVINO_TRIED
    deps = os.path.join(_repo_root(), ".deps")
    if not _OPENVINO_TRIED and not os.environ.get("NNI_OPENVINO_PATH"):
        _OPENVINO_TRIED = True
        ov = os.path.join(deps, "openvino", "libopenvino_c.so")
        if not os.path.isfile(ov):
            ov = _wheel_file("openvino", os.path.join("libs", "libopenvino_c.so*"))
        if sys.platform.startswith("linux") and ov and os.path.isfile(ov):
            try:
                openvino_init(ov)
            except NniError:
                pass
    if _RUNTIME_READY or os.environ.get("NNI_ONNXRUNTIME_PATH") or os.environ.get("ORT_DYLIB_PATH"):
        return
    dep = os.path.join(deps, "onnxruntime", "libonnxruntime.so")
    if not os.path.isfile(dep):
        dep = _wheel_file("onnxruntime", os.path.join("capi", "libonnxruntime.so*"))
    if sys.platform.startswith("linux") and dep and os.path.isfile(dep):
        runtime_init(dep)


def _ijk(a, name):
    v = np.asarray(a)
    if v.shape != (3,):
        raise ValueError(f"{name} must have 3 coordinates (a0, a1, a2), got {a!r}")
    if not np.all(np.isfinite(v.astype(np.float64))):
        raise ValueError(f"{name} must be finite, got {a!r}")
    # The reference rounds coordinates to the nearest integer (Python round: half to even).
    r = [int(round(float(x))) for x in v]
    return (c_int64 * 3)(r[2], r[1], r[0])


def _mask_buffer(mask, shape, name):
    m = np.asarray(mask)
    if shape is not None and m.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {m.shape}")
    if m.ndim != 3:
        raise ValueError(f"{name} must be 3D, got shape {m.shape}")
    return np.ascontiguousarray(m != 0, dtype=np.uint8)


def _u8p(a):
    return a.ctypes.data_as(POINTER(c_uint8))


def _image_desc(image, spacing=None, origin=None, direction=None):
    """The ``nni_image_desc`` of a 3D numpy image, and the (contiguous, native) array it points to,
    which must stay alive while the descriptor is used."""
    img = np.asarray(image)
    if img.ndim != 3:
        raise ValueError(f"image must be 3D, got shape {img.shape}")
    if img.dtype in _WIDEN:
        img = img.astype(_WIDEN[img.dtype])
    if img.dtype.newbyteorder("=") in _DTYPES and not img.dtype.isnative:
        img = img.astype(img.dtype.newbyteorder("="))
    if img.dtype not in _DTYPES:
        raise TypeError(
            f"unsupported image dtype {img.dtype}; use uint8, int16, uint16, int32, float32 or float64"
        )
    img = np.ascontiguousarray(img)
    d = _ImageDesc()
    d.data = img.ctypes.data
    d.dtype = _DTYPES[img.dtype]
    d.voxel_count = img.size
    d.dims[:] = [img.shape[2], img.shape[1], img.shape[0]]
    sp = [1.0, 1.0, 1.0] if spacing is None else [float(x) for x in spacing]
    if len(sp) != 3:
        raise ValueError("spacing must have 3 values")
    d.spacing[:] = [sp[2], sp[1], sp[0]]
    d.origin[:] = [0.0, 0.0, 0.0] if origin is None else [float(x) for x in origin]
    d.direction[:] = (
        [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
        if direction is None
        else [float(x) for x in np.asarray(direction, dtype=np.float64).ravel()]
    )
    return d, img


class _Owned:
    """A library handle freed by ``_FREE`` on close(), at the end of a ``with`` block, or when
    garbage-collected."""

    _FREE = ""
    _WHAT = ""

    def close(self):
        if self._h is not None and self._h.value:
            getattr(self._lib, self._FREE)(self._h)
        self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _handle(self):
        if self._h is None:
            raise ValueError(f"{self._WHAT} is closed")
        return self._h


class Image(_Owned):
    """An image converted and normalised once (``nni_image``), for several sessions at once
    (:meth:`Session.set_shared_image`): N objects cost one float32 image, not N. Immutable; the
    image and its sessions may be closed in any order."""

    _FREE = "nni_image_free"
    _WHAT = "image"

    def __init__(self, image, spacing=None, origin=None, direction=None):
        self._lib = load_library()
        self._h = None
        desc, img = _image_desc(image, spacing, origin, direction)
        h = c_void_p()
        _check(self._lib, self._lib.nni_image_new(ctypes.byref(desc), ctypes.byref(h)), "nni_image_new")
        self._h = h
        self.shape = tuple(int(s) for s in img.shape)


class Session(_Owned):
    """One segmentation session over one model (``nni_session``).

    ``device``: ``"auto"``, ``"cpu"`` or ``"cuda"``; ``precision``: ``"exact"`` or ``"fast"``;
    ``backend``: ``"auto"``, ``"onnxruntime"``, ``"openvino"`` or ``"tensorrt"``; ``warm_up``: run
    one forward while the session is made, so the first prompt does not pay the runtime's one-time
    work (``describe()`` then says how long it took).

    ``network_url``: run the forwards on this model of a KServe v2 server (e.g. NVIDIA Triton),
    ``http://HOST:PORT/v2/models/NAME``; ``model_path`` may then be None (the metadata comes from
    the server). ``network_token`` is sent as a bearer token, ``network_timeout`` (seconds) bounds
    one forward, ``network_retries`` (None: the library's default, 3) retries an unreachable
    server, ``network_ca_file`` (a PEM file) replaces the built-in Mozilla roots for ``https://``."""

    _FREE = "nni_session_free"
    _WHAT = "session"

    def __init__(self, model_path, device="auto", num_threads=0, autozoom=True, precision="exact", backend="auto",
                 history_bytes=0, warm_up=False, network_url=None, network_token=None, network_timeout=None,
                 network_retries=None, network_ca_file=None):
        self._lib = load_library()
        self._h = None
        self._shape = None
        self._progress = None
        self._pending = None  # an exception the progress callback raised during the running call
        if network_url is None:
            _ensure_runtime()
        opts = _Options()
        self._lib.nni_session_options_init(ctypes.byref(opts))
        if model_path is not None:
            opts.model_path = os.fsencode(os.fspath(model_path))
        if network_url is not None:
            opts.network_url = str(network_url).encode()
            if network_token is not None:
                opts.network_token = str(network_token).encode()
            if network_timeout is not None:
                ms = float(network_timeout) * 1000.0
                if not (ms >= 1.0 and ms <= 2**32 - 1):
                    raise ValueError(f"network_timeout must be in seconds, 0.001 to 4294967, got {network_timeout!r}")
                opts.network_timeout_ms = int(ms)
            if network_retries is not None:
                opts.network_retries = int(network_retries)
            if network_ca_file is not None:
                opts.network_ca_file = os.fsencode(os.fspath(network_ca_file))
        if isinstance(device, str):
            if device not in DEVICES:
                raise ValueError(f"device must be one of {sorted(DEVICES)}, got {device!r}")
            device = DEVICES[device]
        opts.device = int(device)
        opts.num_threads = int(num_threads)
        opts.autozoom = 1 if autozoom else 0
        opts.history_bytes = int(history_bytes)  # 0: the library's default (1 GiB)
        opts.warm_up = 1 if warm_up else 0
        for name, value, table in (("precision", precision, PRECISIONS), ("backend", backend, BACKENDS)):
            if value not in table:
                raise ValueError(f"{name} must be one of {sorted(table)}, got {value!r}")
            setattr(opts, name, table[value])
        h = c_void_p()
        _check(self._lib, self._lib.nni_session_new(ctypes.byref(opts), ctypes.byref(h)), "nni_session_new")
        self._h = h

    # -- calls -------------------------------------------------------------------------------
    def _call(self, name, *args):
        return self._finish(getattr(self._lib, name)(self._handle(), *args), name)

    def _finish(self, status, name):
        """After a call that may have run the progress callback: raise the callback's exception
        (which cancelled the call) if there is one, else raise for a failed status."""
        pending, self._pending = self._pending, None
        if pending is not None:
            raise pending
        _check(self._lib, status, name)
        return status

    @property
    def shape(self):
        """Shape of the current image (a0, a1, a2), or None."""
        return self._shape

    # -- image ---------------------------------------------------------------------------------
    def set_image(self, image, spacing=None, origin=None, direction=None):
        """Set the image: a 3D numpy array ``image[a0, a1, a2]`` of uint8, int16, uint16, int32,
        float32 or float64 (bool, int8, float16 are widened losslessly). ``spacing`` is per array
        axis (a0, a1, a2); ``origin`` (world x, y, z) and ``direction`` (row-major 3x3, column c =
        world direction of index axis i, j, k) are passed to the ABI as they are."""
        desc, img = _image_desc(image, spacing, origin, direction)
        self._call("nni_session_set_image", ctypes.byref(desc))
        self._shape = tuple(int(s) for s in img.shape)

    def set_shared_image(self, image):
        """Give the session an :class:`Image` made once for several sessions (one object each):
        the same as :meth:`set_image` with its voxels, without another copy."""
        if not isinstance(image, Image):
            raise TypeError(f"expected an Image, got {type(image).__name__}")
        self._call("nni_session_set_shared_image", image._handle())
        self._shape = image.shape

    def _need_image(self):
        if self._shape is None:
            raise NniError(status_code("NNI_ERR_NO_IMAGE"), "NNI_ERR_NO_IMAGE", "call set_image first", "binding")
        return self._shape

    # -- prompts -------------------------------------------------------------------------------
    def add_point(self, at, positive=True, run_prediction=True):
        """Point at ``[a0, a1, a2]``."""
        self._call("nni_session_add_point", _ijk(at, "at"), int(bool(positive)), int(bool(run_prediction)))

    def add_box(self, min_corner, max_corner, positive=True, run_prediction=True):
        """Box ``[min, max)`` per axis (a0, a1, a2); an axis of size 1 makes it a 2D box."""
        self._call(
            "nni_session_add_box",
            _ijk(min_corner, "min_corner"),
            _ijk(max_corner, "max_corner"),
            int(bool(positive)),
            int(bool(run_prediction)),
        )

    add_bbox = add_box

    def _add_mask(self, kind, mask, positive, run_prediction, offset):
        if offset is None:
            m = _mask_buffer(mask, self._need_image(), kind)
            self._call(f"nni_session_add_{kind}", _u8p(m), m.size, int(bool(positive)), int(bool(run_prediction)))
        else:
            m = _mask_buffer(mask, None, kind)
            lo = [int(x) for x in offset]
            hi = [a + s for a, s in zip(lo, m.shape)]
            self._call(
                f"nni_session_add_{kind}_region",
                _ijk(lo, "offset"),
                _ijk(hi, "offset + shape"),
                _u8p(m),
                m.size,
                int(bool(positive)),
                int(bool(run_prediction)),
            )

    def add_scribble(self, mask, positive=True, run_prediction=True, offset=None):
        """Scribble: ``mask`` (nonzero = drawn) of the image's shape, or a sub-block placed at
        ``offset`` ``[a0, a1, a2]`` (the box ``[offset, offset + mask.shape)``)."""
        self._add_mask("scribble", mask, positive, run_prediction, offset)

    def add_lasso(self, mask, positive=True, run_prediction=True, offset=None):
        """Lasso (filled contour); see :meth:`add_scribble`."""
        self._add_mask("lasso", mask, positive, run_prediction, offset)

    def set_initial_mask(self, mask, run_prediction=False, offset=None):
        """Start from an initial segmentation; resets all prompts. ``mask`` is image-shaped, or a
        sub-block placed at ``offset`` as for :meth:`add_scribble` (the rest of the image is 0)."""
        if offset is None:
            m = _mask_buffer(mask, self._need_image(), "mask")
            self._call("nni_session_set_initial_mask", _u8p(m), m.size, int(bool(run_prediction)))
            return
        m = _mask_buffer(mask, None, "mask")
        lo = [int(x) for x in offset]
        hi = [a + s for a, s in zip(lo, m.shape)]
        self._call(
            "nni_session_set_initial_mask_region",
            _ijk(lo, "offset"),
            _ijk(hi, "offset + shape"),
            _u8p(m),
            m.size,
            int(bool(run_prediction)),
        )

    set_initial_seg = set_initial_mask

    def undo(self):
        """Undo the last prompt; repeated, step back through the history. Returns False when there
        was nothing to undo."""
        st = self._lib.nni_session_undo(self._handle())
        if st == STATUS_CODES["NNI_ERR_NOTHING_TO_UNDO"]:
            self._finish(0, "nni_session_undo")
            return False
        self._finish(st, "nni_session_undo")
        return True

    def redo(self):
        """Re-apply the last undone prompt (no network run). Returns False when there is nothing
        to redo."""
        st = self._lib.nni_session_redo(self._handle())
        if st == STATUS_CODES["NNI_ERR_NOTHING_TO_REDO"]:
            return False
        self._finish(st, "nni_session_redo")
        return True

    def reset(self):
        """Drop all prompts and clear the mask."""
        self._call("nni_session_reset")

    def predict(self, force_full_refine=False):
        """Predict on the prompts added with ``run_prediction=False`` (the reference's
        ``_predict``). Returns False, running nothing, when none is queued."""
        ran = c_int32(0)
        self._call("nni_session_predict", int(bool(force_full_refine)), ctypes.byref(ran))
        return bool(ran.value)

    # -- results -------------------------------------------------------------------------------
    def get_mask(self):
        """The current mask, uint8 0/1, of the image's shape."""
        shape = self._need_image()
        out = np.empty(shape, dtype=np.uint8)
        self._call("nni_session_get_mask", _u8p(out), out.size)
        return out

    def get_mask_region(self, min_corner, max_corner):
        """The mask over ``[min, max)`` (a0, a1, a2 order), shape ``max - min``."""
        lo = [int(x) for x in min_corner]
        hi = [int(x) for x in max_corner]
        shape = tuple(h - l for l, h in zip(lo, hi))
        if len(shape) != 3 or any(s <= 0 for s in shape):
            raise ValueError(f"empty region [{lo}, {hi})")
        out = np.empty(shape, dtype=np.uint8)
        self._call("nni_session_get_mask_region", _ijk(lo, "min_corner"), _ijk(hi, "max_corner"), _u8p(out), out.size)
        return out

    def get_changed_region(self):
        """``(min, max)`` in (a0, a1, a2) order of what the last call wrote, or None."""
        lo = (c_int64 * 3)()
        hi = (c_int64 * 3)()
        self._call("nni_session_get_changed_region", lo, hi)
        if all(v == 0 for v in list(lo) + list(hi)):
            return None
        return (lo[2], lo[1], lo[0]), (hi[2], hi[1], hi[0])

    # -- settings ------------------------------------------------------------------------------
    def describe(self):
        """Model, runtime, device and precision, and why a fallback happened, in words."""
        n = self._lib.nni_session_describe(self._handle(), None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        self._lib.nni_session_describe(self._handle(), buf, n + 1)
        return buf.value.decode("utf-8", "replace")

    def capabilities(self):
        """The model's capabilities (a dict): ``supported_interactions``, ``channel_mapping``,
        ``num_interaction_channels``, ``preferred_scribble_thickness``, ``license``, ..."""
        n = self._lib.nni_session_capabilities(self._handle(), None, 0)
        buf = ctypes.create_string_buffer(n + 1)
        self._lib.nni_session_capabilities(self._handle(), buf, n + 1)
        return json.loads(buf.value.decode("utf-8"))

    def set_autozoom(self, on):
        self._call("nni_session_set_autozoom", int(bool(on)))

    def export_log(self):
        """The prompt log (JSON text): every call that changed the session since its image was set,
        with the model's and the image's SHA-256; ``nni replay`` makes the same mask from it."""
        self._need_image()
        n = self._lib.nni_session_export_log(self._handle(), None, 0)
        if n == 0:
            code = status_code("NNI_ERR_BUSY")
            raise NniError(code, "NNI_ERR_BUSY", _last_error(self._lib), "nni_session_export_log")
        buf = ctypes.create_string_buffer(n + 1)
        self._lib.nni_session_export_log(self._handle(), buf, n + 1)
        return buf.value.decode("utf-8")

    def set_progress_callback(self, fn):
        """``fn(fraction, stage)``: ``fraction`` in [0, 1], never decreasing within a call; return a
        true value to cancel the running call (it then raises ``NniError`` NNI_ERR_CANCELLED and
        changes nothing), ``None`` or ``False`` to go on. An exception raised by ``fn`` cancels the
        call too, and is raised again from it (``fn`` is not called again during that call).
        ``None`` removes the callback."""
        if fn is None:
            self._call("nni_session_set_progress_callback", _PROGRESS(), None)
            self._progress = None
            return

        def trampoline(_user, fraction, stage):
            if self._pending is not None:
                return 1  # keep cancelling once the callback has raised
            try:
                return 1 if fn(fraction, stage.decode("utf-8", "replace") if stage else "") else 0
            except BaseException as e:  # noqa: B036 - handed back to the caller, never lost
                self._pending = e
                return 1

        cb = _PROGRESS(trampoline)
        self._call("nni_session_set_progress_callback", cb, None)
        self._progress = cb  # keep alive while installed

    def request_cancel(self):
        self._call("nni_session_request_cancel")


# The reference's session class over this engine (hosts import it by that name).
from .inference_session import nnInteractiveInferenceSession  # noqa: E402,F401


def patch_reference():
    """For hosts that import the reference's class by name (SlicerNNInteractive's local mode):
    afterwards ``from nnInteractive.inference.inference_session import
    nnInteractiveInferenceSession`` gives this package's class. Where the reference is installed
    and already imported, its module's attribute is replaced; otherwise a module of that name
    holding this class is registered (torch is not imported). Returns the class."""
    import types

    name = "nnInteractive.inference.inference_session"
    module = sys.modules.get(name)
    if module is None:
        module = types.ModuleType(name, "nninteractive_native's stand-in for the reference's module")
        sys.modules[name] = module
    module.nnInteractiveInferenceSession = nnInteractiveInferenceSession
    return nnInteractiveInferenceSession
