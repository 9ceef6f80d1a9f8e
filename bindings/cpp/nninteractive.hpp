// nninteractive.hpp: header-only C++17 binding over the nninteractive C ABI (nninteractive.h).
//
//   #include <nninteractive.hpp>
//
//   nni::Session s("model.onnx");                       // throws nni::Error on failure
//   s.set_image(voxels.data(), {ni, nj, nk}, {sx, sy, sz});
//   s.add_point({i, j, k});                              // positive point, runs the prediction
//   std::vector<uint8_t> mask = s.get_mask();            // 0/1, i fastest
//
// Rules of the binding:
//  - Every C call that returns a status other than NNI_OK throws nni::Error, which carries the
//    status code and the library's message (read on the calling thread right after the call).
//    A failed call leaves the session and the caller's buffers as they were (library guarantee).
//  - nni::Session owns its nni_session handle (freed in the destructor); it is move-only. A
//    moved-from Session holds no handle: its calls throw nni::Error(NNI_ERR_NULL_POINTER).
//  - The progress callback returns true to cancel (as C's nonzero, Python's True, Rust's true).
//    C++ exceptions never cross into the library: the callback is called through a noexcept
//    trampoline that catches everything; an exception thrown by the user's callback cancels
//    the running call, and the Session rethrows it after the C call has returned.
//  - Defaults are the reference's and every binding's: prompts are positive and run the
//    prediction; set_initial_mask does not (run_prediction = false).
//  - Coordinates are voxel indices (i, j, k), i varying fastest in every buffer (ITK/VTK order);
//    boxes and regions are half-open [min, max).
//  - Threads: one thread at a time may use a Session (it keeps a little state of its own: the
//    image size and the callback), except request_cancel(), which any thread may call while
//    another runs a prompt. Different sessions are independent.
//
// Link with libnninteractive (CMake: find_package(nninteractive), target
// nninteractive::nninteractive; pkg-config: nninteractive). Needs C++17.
#ifndef NNINTERACTIVE_HPP
#define NNINTERACTIVE_HPP

#include "nninteractive.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#if (defined(_MSVC_LANG) && _MSVC_LANG < 201703L) || (!defined(_MSVC_LANG) && __cplusplus < 201703L)
#error "nninteractive.hpp needs C++17 or later"
#endif

namespace nni {

// ------------------------------------------------------------------------------------- basics

/// A voxel index (i, j, k) or a box corner; i varies fastest in buffers.
using Index3 = std::array<int64_t, 3>;
/// Image size along i, j, k.
using Dims3 = std::array<uint64_t, 3>;
/// A 3-vector of doubles (spacing, origin).
using Vec3 = std::array<double, 3>;
/// Direction cosines, row-major 3x3 (column c is the world direction of index axis c).
using Mat3 = std::array<double, 9>;

/// The identity direction matrix (the default of set_image).
inline constexpr Mat3 identity_direction{1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0};

/// Compute device of a session (values of the NNI_DEVICE_* constants).
enum class Device : int32_t {
    Auto = NNI_DEVICE_AUTO, ///< CUDA when available, else CPU.
    Cpu = NNI_DEVICE_CPU,   ///< CPU only.
    Cuda = NNI_DEVICE_CUDA, ///< CUDA; session creation fails when it is unavailable.
};

/// Stable name of a status code, e.g. "NNI_ERR_NO_IMAGE" (never null).
inline const char *status_name(int32_t status) noexcept { return nni_status_name(status); }

/// The calling thread's message for the last failed C call ("" when there is none).
inline std::string last_error_message()
{
    const size_t n = nni_last_error_message(nullptr, 0);
    std::string msg(n, '\0');
    if (n > 0) {
        // std::string keeps room for the terminating NUL, so n + 1 bytes are writable.
        nni_last_error_message(&msg[0], n + 1);
    }
    return msg;
}

/// The exception thrown for every status other than NNI_OK.
///
/// status() is the NNI_* code, status_name() its name, message() the library's message, and
/// what() "NAME: message".
class Error : public std::runtime_error {
public:
    /// An error with `status` (an NNI_ERR_* code) and the library's `message`.
    Error(int32_t status, const std::string &message)
        : std::runtime_error(compose(status, message)), status_(status),
          message_(std::make_shared<const std::string>(message))
    {
    }

    /// The NNI_ERR_* status code.
    int32_t status() const noexcept { return status_; }
    /// The status code's name, e.g. "NNI_ERR_MODEL".
    const char *status_name() const noexcept { return nni_status_name(status_); }
    /// The library's message alone (without the status name).
    const std::string &message() const noexcept { return *message_; }

private:
    static std::string compose(int32_t status, const std::string &message)
    {
        std::string s = nni_status_name(status);
        if (!message.empty()) {
            s += ": ";
            s += message;
        }
        return s;
    }

    int32_t status_;
    // Shared, so that copying an Error (as exceptions are) never throws.
    std::shared_ptr<const std::string> message_;
};

namespace detail {

/// Throws nni::Error for a status other than NNI_OK, with this thread's last error message.
inline void check(int32_t status)
{
    if (status != NNI_OK) {
        throw Error(status, last_error_message());
    }
}

/// The number of voxels in a box [lo, hi), or 0 when it is empty or inverted.
inline size_t box_voxels(const Index3 &lo, const Index3 &hi) noexcept
{
    size_t n = 1;
    for (size_t a = 0; a < 3; ++a) {
        if (hi[a] <= lo[a]) {
            return 0;
        }
        const uint64_t extent = static_cast<uint64_t>(hi[a] - lo[a]);
        if (extent > std::numeric_limits<size_t>::max() / n) {
            return std::numeric_limits<size_t>::max(); // the library reports the real problem
        }
        n *= static_cast<size_t>(extent);
    }
    return n;
}

/// The voxel count of `dims`, saturating (the library rejects sizes that do not fit).
inline size_t dims_voxels(const Dims3 &dims) noexcept
{
    size_t n = 1;
    for (uint64_t d : dims) {
        if (d == 0) {
            return 0;
        }
        if (d > std::numeric_limits<size_t>::max() / n) {
            return std::numeric_limits<size_t>::max();
        }
        n *= static_cast<size_t>(d);
    }
    return n;
}

/// A non-null pointer for an empty buffer, so that the library reports its size rather than
/// a null pointer (std::vector<T>::data() may be null when empty).
template <class T> inline T *nonnull(T *p, size_t len) noexcept
{
    static T dummy{};
    return (p == nullptr && len == 0) ? &dummy : p;
}

template <class T> struct dtype_of; // only the voxel types of the C ABI are defined
template <> struct dtype_of<uint8_t> { static constexpr int32_t value = NNI_DTYPE_UINT8; };
template <> struct dtype_of<int16_t> { static constexpr int32_t value = NNI_DTYPE_INT16; };
template <> struct dtype_of<uint16_t> { static constexpr int32_t value = NNI_DTYPE_UINT16; };
template <> struct dtype_of<int32_t> { static constexpr int32_t value = NNI_DTYPE_INT32; };
template <> struct dtype_of<float> { static constexpr int32_t value = NNI_DTYPE_FLOAT32; };
template <> struct dtype_of<double> { static constexpr int32_t value = NNI_DTYPE_FLOAT64; };

/// What a Session keeps for its progress callback. Heap-allocated, so that its address (the
/// callback's user data in the library) survives moves of the Session.
struct CallbackState {
    std::function<bool(double, const std::string &)> fn;
    std::exception_ptr pending; // thrown by fn during the current call, rethrown after it
};

/// The C callback the library calls. Never lets an exception out: an exception thrown by the
/// user's function is stored and the call is cancelled (nonzero return).
inline int32_t progress_trampoline(void *user_data, double fraction, const char *stage) noexcept
{
    auto *st = static_cast<CallbackState *>(user_data);
    if (st == nullptr || st->pending) {
        return 1; // keep cancelling once the callback has thrown
    }
    try {
        return st->fn(fraction, std::string(stage != nullptr ? stage : "")) ? 1 : 0;
    } catch (...) {
        st->pending = std::current_exception();
        return 1;
    }
}

} // namespace detail

/// True if `T` is a voxel type set_image accepts: uint8_t, int16_t, uint16_t, int32_t, float,
/// double.
template <class T> struct is_voxel_type : std::false_type {};
template <> struct is_voxel_type<uint8_t> : std::true_type {};
template <> struct is_voxel_type<int16_t> : std::true_type {};
template <> struct is_voxel_type<uint16_t> : std::true_type {};
template <> struct is_voxel_type<int32_t> : std::true_type {};
template <> struct is_voxel_type<float> : std::true_type {};
template <> struct is_voxel_type<double> : std::true_type {};

// ----------------------------------------------------------------------------- free functions

/// Library version as "major.minor.patch".
inline std::string version()
{
    const uint32_t v = nni_version();
    return std::to_string((v >> 16) & 0xffu) + "." + std::to_string((v >> 8) & 0xffu) + "." +
           std::to_string(v & 0xffu);
}

/// Library version as (major << 16) | (minor << 8) | patch.
inline uint32_t version_number() noexcept { return nni_version(); }

/// The C ABI version of the loaded library; equals NNI_ABI_VERSION of this header when they
/// match.
inline uint32_t abi_version() noexcept { return nni_abi_version(); }

/// Load ONNX Runtime from `path` (libonnxruntime). With no path (null), the library searches
/// $NNI_ONNXRUNTIME_PATH, then its own directory. Optional: the first Session loads it. Once
/// loaded it cannot be switched; loading the same path again is fine. Throws nni::Error
/// (NNI_ERR_RUNTIME when the library cannot be loaded).
inline void runtime_init(const char *path = nullptr) { detail::check(nni_runtime_init(path)); }

/// Load ONNX Runtime from `path`; see runtime_init(const char *).
inline void runtime_init(const std::string &path) { runtime_init(path.c_str()); }

/// Load the OpenVINO runtime (the fast CPU path) from `path` (libopenvino_c.so), or as the
/// library searches (NNI_OPENVINO_PATH, then its own directory) when null. Optional; retryable.
inline void openvino_init(const char *path = nullptr) { detail::check(nni_openvino_init(path)); }

/// The nni_image_desc for `voxel_count` voxels of `dtype` (NNI_DTYPE_*) at `data`, with the
/// image's dims, spacing, origin and direction (row-major; column c = index axis c).
inline nni_image_desc image_desc(const void *data, int32_t dtype, size_t voxel_count,
                                 const Dims3 &dims, const Vec3 &spacing, const Vec3 &origin,
                                 const Mat3 &direction) noexcept
{
    nni_image_desc d{};
    d.data = data;
    d.dtype = dtype;
    d.voxel_count = voxel_count;
    for (size_t a = 0; a < 3; ++a) {
        d.dims[a] = dims[a];
        d.spacing[a] = spacing[a];
        d.origin[a] = origin[a];
    }
    for (size_t a = 0; a < 9; ++a) {
        d.direction[a] = direction[a];
    }
    return d;
}

// ----------------------------------------------------------------------------------- sessions

/// How to create a Session.
/// How exactly the network is computed (NNI_PRECISION_*).
enum class Precision : int32_t {
    Exact = NNI_PRECISION_EXACT, ///< float32, the reference's results (default)
    Fast = NNI_PRECISION_FAST,   ///< bfloat16 where the CPU has it (OpenVINO), float16 on CUDA; else float32, said in describe()
};

/// Which runtime runs the network (NNI_BACKEND_*).
enum class Backend : int32_t {
    Auto = NNI_BACKEND_AUTO,               ///< chosen from precision and device (default)
    OnnxRuntime = NNI_BACKEND_ONNXRUNTIME, ///< ONNX Runtime (CPU or CUDA)
    OpenVino = NNI_BACKEND_OPENVINO,       ///< OpenVINO (CPU)
    TensorRt = NNI_BACKEND_TENSORRT,       ///< ONNX Runtime's TensorRT provider (CUDA; opt-in)
};

struct SessionOptions {
    /// Path of the ONNX model (UTF-8). Required.
    std::string model_path;
    /// Compute device.
    Device device = Device::Auto;
    /// Inference threads; 0 lets ONNX Runtime choose.
    int32_t num_threads = 0;
    /// AutoZoom on (default) or off.
    bool autozoom = true;
    /// Exact (default) or fast.
    Precision precision = Precision::Exact;
    /// Runtime (default: chosen from precision and device).
    Backend backend = Backend::Auto;
    /// Most bytes the undo/redo history may hold; 0 = the library's default (1 GiB).
    uint64_t history_bytes = 0;
    /// Run one forward when the session is made, so the first prompt does not pay the runtime's
    /// one-time work (cuDNN's search on CUDA, a TensorRT engine).
    bool warm_up = false;
    /// Non-empty: the forwards run on this model of a KServe v2 server (e.g. NVIDIA Triton),
    /// `http://HOST:PORT/v2/models/NAME`; `model_path` may then be empty (the metadata comes
    /// from the server). See nni_session_options::network_url.
    std::string network_url{};
    /// With `network_url`: sent as `Authorization: Bearer <token>`; empty: none.
    std::string network_token{};
    /// With `network_url`: milliseconds one forward may take; 0 = the library's default (120 s).
    uint32_t network_timeout_ms = 0;
    /// With `network_url`: retries when the server cannot be reached or is not ready (0..=10).
    uint32_t network_retries = 3;
    /// With an `https://` `network_url`: a PEM file of the CA certificates to trust instead of
    /// the built-in Mozilla roots; empty: those roots.
    std::string network_ca_file{};
};

/// The box [min, max) of voxels a call wrote (see Session::changed_region()).
struct Region {
    Index3 min{};
    Index3 max{};
    /// True when nothing was written (both corners all zero, or no voxel inside).
    bool empty() const noexcept { return detail::box_voxels(min, max) == 0; }
    /// Number of voxels in the box (0 when empty).
    size_t voxel_count() const noexcept { return detail::box_voxels(min, max); }
};

/// Progress callback: `fraction` in [0, 1] (never decreasing within a call) and a short stage
/// text. Return true to cancel the running call (it then throws nni::Error(NNI_ERR_CANCELLED)),
/// false to go on: the convention of the C ABI (nonzero cancels) and of every binding. An
/// exception it throws also cancels the call and is rethrown from the call once the session is
/// restored. Runs on the calling thread.
using ProgressCallback = std::function<bool(double fraction, const std::string &stage)>;

/// An image converted to float32 and normalised once (an nni_image), for several sessions at
/// once (Session::set_shared_image): N objects on one image cost one float32 copy, not N.
/// Immutable and move-only; the Image and its sessions may be destroyed in any order.
class Image {
public:
    /// Makes the image from a raw descriptor (see nni_image_desc); the buffer is copied.
    /// Throws nni::Error as Session::set_image does.
    explicit Image(const nni_image_desc &desc)
    {
        nni_image *raw = nullptr;
        detail::check(nni_image_new(&desc, &raw));
        handle_ = raw;
        dims_ = {desc.dims[0], desc.dims[1], desc.dims[2]};
    }

    /// Makes the image from dims[0] * dims[1] * dims[2] voxels of type T at `data`, i fastest
    /// (the types and rules of Session::set_image).
    template <class T>
    Image(const T *data, const Dims3 &dims, const Vec3 &spacing = {1.0, 1.0, 1.0},
          const Vec3 &origin = {0.0, 0.0, 0.0}, const Mat3 &direction = identity_direction)
        : Image(image_desc(checked_type(data), detail::dtype_of<T>::value,
                           detail::dims_voxels(dims), dims, spacing, origin, direction))
    {
    }

    /// Makes the image from a vector; its size must equal dims[0] * dims[1] * dims[2].
    template <class T>
    Image(const std::vector<T> &data, const Dims3 &dims, const Vec3 &spacing = {1.0, 1.0, 1.0},
          const Vec3 &origin = {0.0, 0.0, 0.0}, const Mat3 &direction = identity_direction)
        : Image(image_desc(checked_type(detail::nonnull(data.data(), data.size())),
                           detail::dtype_of<T>::value, data.size(), dims, spacing, origin,
                           direction))
    {
    }

    /// Frees this handle; sessions given the image keep it.
    ~Image() { nni_image_free(handle_); }

    Image(const Image &) = delete;
    Image &operator=(const Image &) = delete;

    /// Takes over `other`'s handle; `other` is left empty.
    Image(Image &&other) noexcept
        : handle_(std::exchange(other.handle_, nullptr)), dims_(std::exchange(other.dims_, {}))
    {
    }

    /// Frees this handle, then takes over `other`'s; `other` is left empty.
    Image &operator=(Image &&other) noexcept
    {
        if (this != &other) {
            nni_image_free(handle_);
            handle_ = std::exchange(other.handle_, nullptr);
            dims_ = std::exchange(other.dims_, {});
        }
        return *this;
    }

    /// Size along i, j, k.
    const Dims3 &dims() const noexcept { return dims_; }

    /// The C handle (do not free it).
    const nni_image *native_handle() const noexcept { return handle_; }

private:
    friend class Session;
    Image(nni_image *adopted, const Dims3 &dims) noexcept : handle_(adopted), dims_(dims) {}

    template <class T> static const T *checked_type(const T *data) noexcept
    {
        static_assert(is_voxel_type<T>::value, "nni::Image: voxels must be uint8_t, int16_t, "
                                               "uint16_t, int32_t, float or double");
        return data;
    }

    nni_image *handle_ = nullptr;
    Dims3 dims_{};
};

/// An interactive segmentation session: one model, one image, its prompts and its mask.
///
/// Owns an nni_session handle; move-only. Every method throws nni::Error on failure, in which
/// case nothing changed. Prompt methods take `positive` (default true) and `run_prediction`
/// (default true: update the mask now; false: only record the prompt for the next prediction);
/// set_initial_mask's `run_prediction` defaults to false, as in the reference.
class Session {
public:
    /// Creates a session from `options`: loads ONNX Runtime if needed, then the model.
    /// Throws nni::Error: NNI_ERR_MODEL (model missing or invalid), NNI_ERR_RUNTIME,
    /// NNI_ERR_INVALID_ARGUMENT (unknown device, negative thread count), ...
    explicit Session(const SessionOptions &options)
    {
        nni_session_options o;
        nni_session_options_init(&o);
        const bool remote = !options.network_url.empty();
        o.model_path = remote && options.model_path.empty() ? nullptr : options.model_path.c_str();
        if (remote) {
            o.network_url = options.network_url.c_str();
            o.network_token = options.network_token.empty() ? nullptr : options.network_token.c_str();
            o.network_timeout_ms = options.network_timeout_ms;
            o.network_retries = options.network_retries;
            o.network_ca_file = options.network_ca_file.empty() ? nullptr : options.network_ca_file.c_str();
        }
        o.device = static_cast<int32_t>(options.device);
        o.num_threads = options.num_threads;
        o.autozoom = options.autozoom ? 1 : 0;
        o.precision = static_cast<int32_t>(options.precision);
        o.backend = static_cast<int32_t>(options.backend);
        o.history_bytes = options.history_bytes;
        o.warm_up = options.warm_up ? 1 : 0;
        nni_session *raw = nullptr;
        detail::check(nni_session_new(&o, &raw));
        handle_ = raw;
    }

    /// Creates a session for the model at `model_path`; see Session(const SessionOptions &).
    explicit Session(const std::string &model_path, Device device = Device::Auto,
                     int32_t num_threads = 0, bool autozoom = true)
        : Session(SessionOptions{model_path, device, num_threads, autozoom})
    {
    }

    /// Frees the session (and then its callback).
    ~Session() { nni_session_free(handle_); }

    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;

    /// Takes over `other`'s handle, image size and callback; `other` is left empty.
    Session(Session &&other) noexcept
        : handle_(std::exchange(other.handle_, nullptr)), dims_(std::exchange(other.dims_, {})),
          callback_(std::move(other.callback_))
    {
    }

    /// Frees this session, then takes over `other`'s; `other` is left empty.
    Session &operator=(Session &&other) noexcept
    {
        if (this != &other) {
            nni_session_free(handle_);
            handle_ = std::exchange(other.handle_, nullptr);
            dims_ = std::exchange(other.dims_, {});
            callback_ = std::move(other.callback_);
        }
        return *this;
    }

    /// True unless this Session was moved from.
    bool valid() const noexcept { return handle_ != nullptr; }
    explicit operator bool() const noexcept { return valid(); }

    /// The C handle, for calls this binding does not wrap. Do not free it, do not install a
    /// progress callback through it, and set the image through this Session (dims() and the
    /// vector overload of get_mask() follow set_image() only).
    nni_session *native_handle() const noexcept { return handle_; }

    // -------------------------------------------------------------------------------- image

    /// Sets the image from a raw descriptor (see nni_image_desc). Drops all prompts and the mask.
    void set_image(const nni_image_desc &desc)
    {
        finish(nni_session_set_image(handle_, &desc));
        dims_ = {desc.dims[0], desc.dims[1], desc.dims[2]};
    }

    /// Sets the image: `data` holds dims[0] * dims[1] * dims[2] voxels of type T (uint8_t,
    /// int16_t, uint16_t, int32_t, float or double), i fastest. The buffer is copied. Spacing
    /// must be positive and finite; origin and direction (row-major 3x3) finite. Drops all
    /// prompts and the mask; on failure the previous image stays.
    template <class T>
    void set_image(const T *data, const Dims3 &dims, const Vec3 &spacing = {1.0, 1.0, 1.0},
                   const Vec3 &origin = {0.0, 0.0, 0.0},
                   const Mat3 &direction = identity_direction)
    {
        set_image(data, detail::dims_voxels(dims), dims, spacing, origin, direction);
    }

    /// Sets the image from a vector; its size must equal dims[0] * dims[1] * dims[2]
    /// (NNI_ERR_BUFFER_SIZE otherwise). See set_image(const T *, ...).
    template <class T>
    void set_image(const std::vector<T> &data, const Dims3 &dims,
                   const Vec3 &spacing = {1.0, 1.0, 1.0}, const Vec3 &origin = {0.0, 0.0, 0.0},
                   const Mat3 &direction = identity_direction)
    {
        set_image(detail::nonnull(data.data(), data.size()), data.size(), dims, spacing, origin,
                  direction);
    }

    /// Sets the image from `voxel_count` voxels at `data` (checked against dims by the library).
    template <class T>
    void set_image(const T *data, size_t voxel_count, const Dims3 &dims, const Vec3 &spacing,
                   const Vec3 &origin, const Mat3 &direction)
    {
        static_assert(is_voxel_type<T>::value,
                      "nni::Session::set_image: voxels must be uint8_t, int16_t, uint16_t, "
                      "int32_t, float or double");
        set_image(image_desc(data, detail::dtype_of<T>::value, voxel_count, dims, spacing, origin,
                             direction));
    }

    /// Gives the session an Image made once for several sessions: the same as set_image() with
    /// its voxels, without another copy. Drops all prompts and the mask; throws
    /// nni::Error(NNI_ERR_NULL_POINTER) for a moved-from Image.
    void set_shared_image(const Image &image)
    {
        finish(nni_session_set_shared_image(handle_, image.native_handle()));
        dims_ = image.dims();
    }

    /// The prompt log (JSON): every call that changed the session since its image was set,
    /// with the model's and image's SHA-256 (`nni replay` makes the same mask from it). Throws
    /// nni::Error: NNI_ERR_NO_IMAGE before an image, NNI_ERR_BUSY while another call runs.
    std::string export_log() const
    {
        if (voxel_count() == 0) {
            throw Error(NNI_ERR_NO_IMAGE, "export_log: set an image first");
        }
        const size_t n = nni_session_export_log(handle_, nullptr, 0);
        if (n == 0) {
            throw Error(NNI_ERR_BUSY, last_error_message());
        }
        std::string text(n + 1, '\0');
        nni_session_export_log(handle_, &text[0], text.size());
        text.resize(n);
        return text;
    }

    /// The image this session holds now, as an Image to give to more sessions without
    /// converting it again. Throws nni::Error(NNI_ERR_NO_IMAGE) before an image.
    Image share_image() const
    {
        nni_image *raw = nullptr;
        detail::check(nni_session_share_image(handle_, &raw));
        return Image(raw, dims_);
    }

    /// Size of the current image along i, j, k; all zero before the first successful
    /// set_image().
    const Dims3 &dims() const noexcept { return dims_; }

    /// Voxel count of the current image (0 before set_image()).
    size_t voxel_count() const noexcept { return detail::dims_voxels(dims_); }

    // ------------------------------------------------------------------------------ prompts

    /// Adds a point prompt at voxel `ijk` (NNI_ERR_OUT_OF_BOUNDS outside the image).
    void add_point(const Index3 &ijk, bool positive = true, bool run_prediction = true)
    {
        finish(nni_session_add_point(handle_, ijk.data(), positive, run_prediction));
    }

    /// Adds a box prompt [min_ijk, max_ijk). An axis of size 1 makes it a 2D box on a slice;
    /// a box partly outside the image is clipped, one entirely outside is an error.
    void add_box(const Index3 &min_ijk, const Index3 &max_ijk, bool positive = true,
                 bool run_prediction = true)
    {
        finish(nni_session_add_box(handle_, min_ijk.data(), max_ijk.data(), positive,
                                   run_prediction));
    }

    /// Adds a scribble: `mask` (nonzero = drawn) covers the whole image, `len` = voxel count.
    void add_scribble(const uint8_t *mask, size_t len, bool positive = true,
                      bool run_prediction = true)
    {
        finish(nni_session_add_scribble(handle_, mask, len, positive, run_prediction));
    }

    /// Adds a scribble from an image-shaped vector.
    void add_scribble(const std::vector<uint8_t> &mask, bool positive = true,
                      bool run_prediction = true)
    {
        add_scribble(detail::nonnull(mask.data(), mask.size()), mask.size(), positive,
                     run_prediction);
    }

    /// Adds a lasso (a filled contour): `mask` covers the whole image, `len` = voxel count.
    void add_lasso(const uint8_t *mask, size_t len, bool positive = true,
                   bool run_prediction = true)
    {
        finish(nni_session_add_lasso(handle_, mask, len, positive, run_prediction));
    }

    /// Adds a lasso from an image-shaped vector.
    void add_lasso(const std::vector<uint8_t> &mask, bool positive = true,
                   bool run_prediction = true)
    {
        add_lasso(detail::nonnull(mask.data(), mask.size()), mask.size(), positive,
                  run_prediction);
    }

    /// Adds a scribble given only over the box [min_ijk, max_ijk) (inside the image): `mask`
    /// holds that box's voxels, i fastest (`len` = box voxel count).
    void add_scribble_region(const Index3 &min_ijk, const Index3 &max_ijk, const uint8_t *mask,
                             size_t len, bool positive = true, bool run_prediction = true)
    {
        finish(nni_session_add_scribble_region(handle_, min_ijk.data(), max_ijk.data(), mask,
                                               len, positive, run_prediction));
    }

    /// Adds a scribble over a box from a vector of the box's voxels.
    void add_scribble_region(const Index3 &min_ijk, const Index3 &max_ijk,
                             const std::vector<uint8_t> &mask, bool positive = true,
                             bool run_prediction = true)
    {
        add_scribble_region(min_ijk, max_ijk, detail::nonnull(mask.data(), mask.size()),
                            mask.size(), positive, run_prediction);
    }

    /// Adds a lasso given only over the box [min_ijk, max_ijk); see add_scribble_region().
    void add_lasso_region(const Index3 &min_ijk, const Index3 &max_ijk, const uint8_t *mask,
                          size_t len, bool positive = true, bool run_prediction = true)
    {
        finish(nni_session_add_lasso_region(handle_, min_ijk.data(), max_ijk.data(), mask, len,
                                            positive, run_prediction));
    }

    /// Adds a lasso over a box from a vector of the box's voxels.
    void add_lasso_region(const Index3 &min_ijk, const Index3 &max_ijk,
                          const std::vector<uint8_t> &mask, bool positive = true,
                          bool run_prediction = true)
    {
        add_lasso_region(min_ijk, max_ijk, detail::nonnull(mask.data(), mask.size()),
                         mask.size(), positive, run_prediction);
    }

    /// Starts from an initial segmentation (image-shaped, nonzero = foreground): drops all
    /// prompts; if `run_prediction` (default false, as in the reference), refines it.
    void set_initial_mask(const uint8_t *mask, size_t len, bool run_prediction = false)
    {
        finish(nni_session_set_initial_mask(handle_, mask, len, run_prediction));
    }

    /// Starts from an initial segmentation given as an image-shaped vector.
    void set_initial_mask(const std::vector<uint8_t> &mask, bool run_prediction = false)
    {
        set_initial_mask(detail::nonnull(mask.data(), mask.size()), mask.size(),
                         run_prediction);
    }

    /// Starts from an initial segmentation given only over the box [min_ijk, max_ijk) (inside
    /// the image; `mask` i fastest, `len` = box voxel count); the rest of the image is 0. No
    /// image-sized buffer: pass just the box of an existing label.
    void set_initial_mask_region(const Index3 &min_ijk, const Index3 &max_ijk, const uint8_t *mask,
                                 size_t len, bool run_prediction = false)
    {
        finish(nni_session_set_initial_mask_region(handle_, min_ijk.data(), max_ijk.data(), mask,
                                                   len, run_prediction));
    }

    /// set_initial_mask_region() from a vector over the box.
    void set_initial_mask_region(const Index3 &min_ijk, const Index3 &max_ijk,
                                 const std::vector<uint8_t> &mask, bool run_prediction = false)
    {
        set_initial_mask_region(min_ijk, max_ijk, detail::nonnull(mask.data(), mask.size()),
                                mask.size(), run_prediction);
    }

    /// Drops all prompts and clears the mask (not undoable).
    void reset() { finish(nni_session_reset(handle_)); }

    /// Predicts on the prompts added with run_prediction = false (the reference's `_predict`),
    /// refining the whole object when `force_full_refine`. Returns false, running nothing, when
    /// none is queued.
    bool predict(bool force_full_refine = false)
    {
        int32_t ran = 0;
        finish(nni_session_predict(handle_, force_full_refine ? 1 : 0, &ran));
        return ran != 0;
    }

    /// The model's capabilities as JSON text (supported_interactions, channel_mapping,
    /// num_interaction_channels, preferred_scribble_thickness, license, ...; see the C call).
    std::string capabilities() const
    {
        std::string text(nni_session_capabilities(handle_, nullptr, 0), '\0');
        nni_session_capabilities(handle_, text.data(), text.size() + 1);
        return text;
    }

    /// Undoes the last prompt; repeated, steps back through the history. Returns false, changing
    /// nothing, when there is nothing to undo (NNI_ERR_NOTHING_TO_UNDO); other failures throw.
    bool undo()
    {
        const int32_t status = nni_session_undo(handle_);
        if (status == NNI_ERR_NOTHING_TO_UNDO) {
            finish(NNI_OK); // still rethrow a callback's exception, should there be one
            return false;
        }
        finish(status);
        return true;
    }

    /// Re-applies the last undone prompt without running the network. Returns false, changing
    /// nothing, when there is nothing to redo (NNI_ERR_NOTHING_TO_REDO); other failures throw.
    bool redo()
    {
        const int32_t status = nni_session_redo(handle_);
        if (status == NNI_ERR_NOTHING_TO_REDO) {
            return false;
        }
        finish(status);
        return true;
    }

    // --------------------------------------------------------------------------------- mask

    /// Copies the mask (0/1, image-shaped, i fastest) into `out` (`len` = voxel count).
    void get_mask(uint8_t *out, size_t len) const
    {
        detail::check(nni_session_get_mask(handle_, out, len));
    }

    /// The mask (0/1, image-shaped, i fastest). NNI_ERR_NO_IMAGE before set_image().
    std::vector<uint8_t> get_mask() const
    {
        std::vector<uint8_t> out(voxel_count());
        get_mask(detail::nonnull(out.data(), out.size()), out.size());
        return out;
    }

    /// Copies the mask over the box [min_ijk, max_ijk) (non-empty, inside the image) into
    /// `out`, i fastest (`len` = box voxel count).
    void get_mask_region(const Index3 &min_ijk, const Index3 &max_ijk, uint8_t *out,
                         size_t len) const
    {
        detail::check(
            nni_session_get_mask_region(handle_, min_ijk.data(), max_ijk.data(), out, len));
    }

    /// The mask over the box [min_ijk, max_ijk), i fastest.
    std::vector<uint8_t> get_mask_region(const Index3 &min_ijk, const Index3 &max_ijk) const
    {
        const size_t n = detail::box_voxels(min_ijk, max_ijk);
        if (n == std::numeric_limits<size_t>::max()) {
            throw Error(NNI_ERR_OUT_OF_BOUNDS, "region is larger than memory");
        }
        std::vector<uint8_t> out(n);
        get_mask_region(min_ijk, max_ijk, detail::nonnull(out.data(), out.size()), out.size());
        return out;
    }

    /// The mask over `region` (e.g. changed_region()), i fastest.
    std::vector<uint8_t> get_mask_region(const Region &region) const
    {
        return get_mask_region(region.min, region.max);
    }

    /// The box the last prompt, undo or initial mask wrote (clipped to the image); empty when
    /// nothing was written. Copy just this region of the mask after each call.
    Region changed_region() const
    {
        Region r;
        detail::check(nni_session_get_changed_region(handle_, r.min.data(), r.max.data()));
        return r;
    }

    // ------------------------------------------------------------------------------ control

    /// Turns AutoZoom on or off.
    void set_autozoom(bool on) { detail::check(nni_session_set_autozoom(handle_, on)); }

    /// Installs a progress callback (an empty function removes it); see ProgressCallback.
    /// The callback stays with this Session across moves.
    void set_progress_callback(ProgressCallback callback)
    {
        if (!callback) {
            detail::check(nni_session_set_progress_callback(handle_, nullptr, nullptr));
            callback_.reset();
            return;
        }
        auto state = std::make_unique<detail::CallbackState>();
        state->fn = std::move(callback);
        detail::check(nni_session_set_progress_callback(handle_, &detail::progress_trampoline,
                                                        state.get()));
        callback_ = std::move(state); // the library no longer refers to the old state
    }

    /// Asks the running call on this session to stop at its next checkpoint; it then throws
    /// nni::Error(NNI_ERR_CANCELLED) and changes nothing. Any thread; never blocks.
    void request_cancel() const { detail::check(nni_session_request_cancel(handle_)); }

private:
    /// After a call that may have run the progress callback: rethrows the callback's exception
    /// (which cancelled the call) if there is one, else throws for a failed status.
    void finish(int32_t status)
    {
        if (callback_ && callback_->pending) {
            std::exception_ptr e = std::exchange(callback_->pending, nullptr);
            std::rethrow_exception(e);
        }
        detail::check(status);
    }

    nni_session *handle_ = nullptr;
    Dims3 dims_{};
    std::unique_ptr<detail::CallbackState> callback_;
};

} // namespace nni

#endif // NNINTERACTIVE_HPP
