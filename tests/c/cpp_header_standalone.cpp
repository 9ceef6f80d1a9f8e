// The C++ binding compiles on its own: this file includes nothing but <nninteractive.hpp> (which
// includes nninteractive.h) and is built with -Wall -Wextra -Wpedantic -Werror and more (see
// CMakeLists.txt), once as C++17 and once as C++20. Every member of the binding is used, so that
// every template is instantiated and checked.
//
// Run without a model, it only checks what needs none, and exits 0 when all is well.
#include <nninteractive.hpp>

namespace {

// Compiled (never called): uses every function of the binding, every voxel type included.
[[maybe_unused]] void use_everything(nni::Session &s)
{
    const nni::Dims3 dims{4, 4, 4};
    const std::vector<uint8_t> u8(64, 1);
    s.set_image(u8, dims);
    s.set_image(std::vector<int16_t>(64, 1), dims, {1.0, 1.0, 1.0});
    s.set_image(std::vector<uint16_t>(64, 1), dims, {1.0, 1.0, 1.0}, {0.0, 0.0, 0.0});
    s.set_image(std::vector<int32_t>(64, 1), dims, {1.0, 1.0, 1.0}, {0.0, 0.0, 0.0},
                nni::identity_direction);
    const std::vector<float> f32(64, 1.0f);
    s.set_image(f32.data(), dims);
    const std::vector<double> f64(64, 1.0);
    s.set_image(f64.data(), f64.size(), dims, {1.0, 1.0, 1.0}, {0.0, 0.0, 0.0},
                nni::identity_direction);
    nni_image_desc d{};
    s.set_image(d);
    const nni::Dims3 &dd = s.dims();
    (void)dd;
    (void)s.voxel_count();

    s.add_point({1, 1, 1});
    s.add_point({1, 1, 1}, false, false);
    s.add_box({0, 0, 0}, {2, 2, 1});
    s.add_scribble(u8);
    s.add_scribble(u8.data(), u8.size(), false, true);
    s.add_lasso(u8);
    s.add_lasso(u8.data(), u8.size(), true, false);
    const std::vector<uint8_t> box(8, 1);
    s.add_scribble_region({0, 0, 0}, {2, 2, 2}, box);
    s.add_scribble_region({0, 0, 0}, {2, 2, 2}, box.data(), box.size(), false);
    s.add_lasso_region({0, 0, 0}, {2, 2, 2}, box);
    s.add_lasso_region({0, 0, 0}, {2, 2, 2}, box.data(), box.size(), true, false);
    s.set_initial_mask(u8);
    s.set_initial_mask(u8.data(), u8.size(), false);
    s.reset();
    const bool undone = s.undo();
    (void)undone;

    std::vector<uint8_t> out = s.get_mask();
    s.get_mask(out.data(), out.size());
    const nni::Region r = s.changed_region();
    (void)r.empty();
    (void)r.voxel_count();
    std::vector<uint8_t> part = s.get_mask_region(r);
    part = s.get_mask_region({0, 0, 0}, {2, 2, 2});
    s.get_mask_region({0, 0, 0}, {2, 2, 2}, part.data(), part.size());

    s.set_autozoom(false);
    s.set_progress_callback([](double fraction, const std::string &stage) {
        return fraction < 0.0 || stage.empty(); // true cancels
    });
    s.set_progress_callback(nullptr);
    s.request_cancel();
    (void)s.native_handle();
    (void)s.valid();
    (void)static_cast<bool>(s);

    nni::Session moved(std::move(s));
    s = std::move(moved);
    nni::SessionOptions o;
    o.model_path = "model.onnx";
    o.device = nni::Device::Cpu;
    o.num_threads = 2;
    o.autozoom = false;
    nni::Session a(o);
    nni::Session b("model.onnx", nni::Device::Cuda, 1, true);
    nni::runtime_init();
    nni::runtime_init(std::string("libonnxruntime.so"));
}

static_assert(!std::is_copy_constructible<nni::Session>::value, "Session is move-only");
static_assert(!std::is_copy_assignable<nni::Session>::value, "Session is move-only");
static_assert(std::is_nothrow_move_constructible<nni::Session>::value, "noexcept move");
static_assert(std::is_nothrow_move_assignable<nni::Session>::value, "noexcept move assignment");
static_assert(std::is_base_of<std::runtime_error, nni::Error>::value, "Error is a runtime_error");
static_assert(nni::is_voxel_type<float>::value && !nni::is_voxel_type<int64_t>::value,
              "voxel types");

} // namespace

int main()
{
    int failures = 0;
    if (nni::version().empty() || nni::version_number() != nni_version()) {
        ++failures;
    }
    if (nni::abi_version() != NNI_ABI_VERSION) {
        ++failures;
    }
    const nni::Error e(NNI_ERR_NO_IMAGE, "no image yet");
    if (e.status() != NNI_ERR_NO_IMAGE || std::string(e.status_name()) != "NNI_ERR_NO_IMAGE" ||
        e.message() != "no image yet" || std::string(e.what()) != "NNI_ERR_NO_IMAGE: no image yet") {
        ++failures;
    }
    if (std::string(nni::status_name(NNI_OK)) != "NNI_OK") {
        ++failures;
    }
    return failures == 0 ? 0 : 1;
}
