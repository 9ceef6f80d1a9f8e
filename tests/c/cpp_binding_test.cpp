// Tests of the C++ binding (bindings/cpp/nninteractive.hpp) against the blob-grow-p32 test model:
// segmentation from one point, every prompt type, the mapping of status codes to nni::Error,
// undo, progress callbacks (returning false, throwing, cancelled from another thread) and move
// semantics.
//
// The model segments every bright blob a positive prompt touches and drops every blob a negative
// prompt touches (models/README.md); the phantom is two bright spheres on a noisy dark
// background, so the expected masks are known exactly.
//
// Prints one line per check ("ok" / "FAIL") and exits non-zero if any check failed.
#include "test_support.hpp"

#include <nninteractive.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using namespace test_support;

// Runs `f`, which must throw nni::Error with status `want` and a non-empty message containing
// `needle`; returns the error's what() for further checks ("" when it did not throw so).
template <class F>
std::string expect_error_impl(F &&f, int32_t want, const std::string &needle,
                              const std::string &what, int line)
{
    try {
        f();
    } catch (const nni::Error &e) {
        const bool ok = e.status() == want && !e.message().empty() &&
                        e.message().find(needle) != std::string::npos &&
                        std::string(e.what()) == std::string(e.status_name()) + ": " + e.message();
        check(ok, what + " throws " + e.what() + " (want " + nni::status_name(want) +
                      (needle.empty() ? "" : ", mentioning \"" + needle + "\"") + ")",
              __FILE__, line);
        return e.what();
    } catch (const std::exception &e) {
        check(false, what + " throws a non-nni exception: " + e.what(), __FILE__, line);
        return "";
    }
    check(false, what + " did not throw (want " + std::string(nni::status_name(want)) + ")", __FILE__, line);
    return "";
}
#define EXPECT_ERROR(stmt, want, needle)                                                       \
    expect_error_impl([&] { stmt; }, (want), (needle), #stmt, __LINE__)

// Runs `f`, which must not throw.
template <class F> bool expect_ok_impl(F &&f, const std::string &what, int line)
{
    try {
        f();
    } catch (const std::exception &e) {
        return check(false, what + " threw: " + e.what(), __FILE__, line);
    }
    return check(true, what, __FILE__, line);
}
#define EXPECT_OK(stmt) expect_ok_impl([&] { stmt; }, #stmt, __LINE__)

const nni::Dims3 kDims{NI, NJ, NK};



const Sphere A{{18, 20, 16}, 9};
const Sphere B{{44, 36, 32}, 9};

// Two bright spheres on a noisy dark background: `bright` + noise inside, `dark` + noise outside.
struct Phantom {
    std::vector<double> image = std::vector<double>(NVOX);
    std::vector<uint8_t> mask_a = std::vector<uint8_t>(NVOX);
    std::vector<uint8_t> mask_b = std::vector<uint8_t>(NVOX);

    Phantom(double dark, double bright, int noise)
    {
        uint32_t rng = 777u;
        for (int k = 0; k < NK; ++k)
            for (int j = 0; j < NJ; ++j)
                for (int i = 0; i < NI; ++i) {
                    rng = rng * 1664525u + 1013904223u;
                    const int n = int((rng >> 16) % uint32_t(2 * noise + 1)) - noise;
                    const bool in_a = A.contains(i, j, k), in_b = B.contains(i, j, k);
                    image[idx(i, j, k)] = (in_a || in_b ? bright : dark) + n;
                    mask_a[idx(i, j, k)] = in_a;
                    mask_b[idx(i, j, k)] = in_b;
                }
    }

    template <class T> std::vector<T> as() const
    {
        std::vector<T> out(image.size());
        for (size_t x = 0; x < image.size(); ++x) {
            out[x] = static_cast<T>(image[x]);
        }
        return out;
    }
};


std::vector<uint8_t> either(const std::vector<uint8_t> &a, const std::vector<uint8_t> &b)
{
    std::vector<uint8_t> out(a.size());
    for (size_t x = 0; x < a.size(); ++x) {
        out[x] = uint8_t(a[x] || b[x]);
    }
    return out;
}

size_t count(const std::vector<uint8_t> &m)
{
    size_t n = 0;
    for (uint8_t v : m) {
        n += v != 0;
    }
    return n;
}

// The voxels of `full` (image-shaped) inside [lo, hi), i fastest.
std::vector<uint8_t> crop(const std::vector<uint8_t> &full, const nni::Index3 &lo,
                          const nni::Index3 &hi)
{
    std::vector<uint8_t> out;
    for (int64_t k = lo[2]; k < hi[2]; ++k)
        for (int64_t j = lo[1]; j < hi[1]; ++j)
            for (int64_t i = lo[0]; i < hi[0]; ++i) {
                out.push_back(full[idx(int(i), int(j), int(k))]);
            }
    return out;
}

bool box_inside(const nni::Index3 &inner_lo, const nni::Index3 &inner_hi, const nni::Region &r)
{
    for (size_t a = 0; a < 3; ++a) {
        if (inner_lo[a] < r.min[a] || inner_hi[a] > r.max[a]) {
            return false;
        }
    }
    return true;
}

std::string dstr(double d) { return std::to_string(d); }

// An exception type that is not a std::exception, thrown by a progress callback.
struct UserAbort {
    int code;
};

nni::Session open_session()
{
    nni::SessionOptions o;
    o.model_path = NNI_TEST_MODEL;
    o.num_threads = 1;
    return nni::Session(o);
}

} // namespace

int main()
{
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::printf("# nninteractive C++ binding test, model %s\n", NNI_TEST_MODEL);

    // ------------------------------------------------------------------ free functions
    {
        const uint32_t v = nni_version();
        const std::string want = std::to_string(v >> 16) + "." + std::to_string((v >> 8) & 255u) +
                                 "." + std::to_string(v & 255u);
        CHECK(nni::version() == want, "nni::version() == \"" + nni::version() + "\"");
        CHECK(nni::version_number() == v, "nni::version_number() == nni_version()");
        CHECK(nni::abi_version() == NNI_ABI_VERSION, "nni::abi_version() == NNI_ABI_VERSION");
        CHECK(std::string(nni::status_name(NNI_ERR_MODEL)) == "NNI_ERR_MODEL",
              "nni::status_name(NNI_ERR_MODEL)");
        EXPECT_OK(nni::runtime_init(NNI_ONNXRUNTIME));
        EXPECT_OK(nni::runtime_init(std::string(NNI_ONNXRUNTIME))); // the same path again
        EXPECT_ERROR(nni::runtime_init("/nonexistent/libonnxruntime.so"), NNI_ERR_RUNTIME,
                     "cannot be switched");
        const nni::Error e(NNI_ERR_IO, "disk full");
        CHECK(e.status() == NNI_ERR_IO && std::string(e.status_name()) == "NNI_ERR_IO" &&
                  e.message() == "disk full" && std::string(e.what()) == "NNI_ERR_IO: disk full",
              "nni::Error carries status, name and message: " + std::string(e.what()));
        const nni::Error copy = e; // exceptions are copied; the copy is the same error
        CHECK(copy.status() == NNI_ERR_IO && copy.message() == "disk full",
              "a copied nni::Error keeps status and message");
    }

    // ------------------------------------------------------------ session creation errors
    const std::string missing = "/nonexistent/dir/no-such-model.onnx";
    EXPECT_ERROR(nni::Session s(missing), NNI_ERR_MODEL, missing);
    {
        nni::SessionOptions o;
        o.model_path = NNI_TEST_MODEL;
        o.device = static_cast<nni::Device>(99);
        EXPECT_ERROR(nni::Session s(o), NNI_ERR_INVALID_ARGUMENT, "device");
        o.device = nni::Device::Cpu;
        o.num_threads = -1;
        EXPECT_ERROR(nni::Session s(o), NNI_ERR_INVALID_ARGUMENT, "num_threads");
    }
    {
        const std::string corrupt = "cpp_binding_test_corrupt.onnx";
        std::ofstream(corrupt) << "this is not an ONNX model";
        EXPECT_ERROR(nni::Session s(corrupt, nni::Device::Cpu), NNI_ERR_MODEL, "");
        std::remove(corrupt.c_str());
    }

    nni::Session s = open_session();
    CHECK(s.valid() && s.native_handle() != nullptr, "nni::Session from SessionOptions");
    EXPECT_OK(nni::Session other(NNI_TEST_MODEL, nni::Device::Cpu, 1, false));

    // ------------------------------------------------------------------ before an image
    CHECK(s.dims() == (nni::Dims3{0, 0, 0}) && s.voxel_count() == 0, "no image: dims all zero");
    EXPECT_ERROR(s.add_point(A.center()), NNI_ERR_NO_IMAGE, "");
    EXPECT_ERROR(s.get_mask(), NNI_ERR_NO_IMAGE, "");
    EXPECT_ERROR(s.changed_region(), NNI_ERR_NO_IMAGE, "");
    EXPECT_ERROR(s.undo(), NNI_ERR_NO_IMAGE, "");

    // ------------------------------------------------------------------ set_image errors
    const Phantom ph(100.0, 1000.0, 10);
    const std::vector<float> img = ph.as<float>();
    {
        std::vector<float> small(img.begin(), img.end() - 1);
        EXPECT_ERROR(s.set_image(small, kDims), NNI_ERR_BUFFER_SIZE, "voxel_count");
        EXPECT_ERROR(s.set_image(std::vector<float>(), kDims), NNI_ERR_BUFFER_SIZE, "");
        EXPECT_ERROR(s.set_image(static_cast<const float *>(nullptr), kDims), NNI_ERR_NULL_POINTER,
                     "data");
        EXPECT_ERROR(s.set_image(img, kDims, {1.0, std::nan(""), 1.0}), NNI_ERR_INVALID_ARGUMENT,
                     "spacing");
        EXPECT_ERROR(s.set_image(img, kDims, {1.0, -1.0, 1.0}), NNI_ERR_INVALID_ARGUMENT,
                     "spacing");
        nni::Mat3 bad_dir = nni::identity_direction;
        bad_dir[4] = std::numeric_limits<double>::infinity();
        EXPECT_ERROR(s.set_image(img, kDims, {1.0, 1.0, 1.0}, {0.0, 0.0, 0.0}, bad_dir),
                     NNI_ERR_INVALID_ARGUMENT, "direction");
        EXPECT_ERROR(s.set_image(std::vector<float>(), nni::Dims3{0, 4, 4}),
                     NNI_ERR_INVALID_ARGUMENT, "dims");
        CHECK(s.dims() == (nni::Dims3{0, 0, 0}), "failed set_image calls leave dims() unset");
    }

    // --------------------------------------------------------- one point segments sphere A
    EXPECT_OK(s.set_image(img, kDims));
    CHECK(s.dims() == kDims && s.voxel_count() == NVOX, "dims() after set_image");
    EXPECT_OK(s.add_point(A.center()));
    std::vector<uint8_t> mask = s.get_mask();
    CHECK(mask.size() == NVOX, "get_mask() returns an image-shaped vector");
    CHECK(dice(mask, ph.mask_a) >= 0.95,
          "one positive point segments sphere A: Dice " + dstr(dice(mask, ph.mask_a)));
    const std::vector<uint8_t> mask_after_a = mask;
    {
        std::vector<uint8_t> buf(NVOX, 7);
        EXPECT_OK(s.get_mask(buf.data(), buf.size()));
        CHECK(buf == mask, "get_mask(buffer) equals get_mask()");
        const nni::Region r = s.changed_region();
        CHECK(!r.empty() && box_inside(A.lo(), A.hi(), r),
              "changed_region() covers sphere A: [" + std::to_string(r.min[0]) + "," +
                  std::to_string(r.min[1]) + "," + std::to_string(r.min[2]) + ") - (" +
                  std::to_string(r.max[0]) + "," + std::to_string(r.max[1]) + "," +
                  std::to_string(r.max[2]) + ")");
        const std::vector<uint8_t> part = s.get_mask_region(r);
        CHECK(part.size() == r.voxel_count() && part == crop(mask, r.min, r.max),
              "get_mask_region(changed_region()) equals that crop of the mask");
        std::vector<uint8_t> part2(r.voxel_count());
        EXPECT_OK(s.get_mask_region(r.min, r.max, part2.data(), part2.size()));
        CHECK(part2 == part, "get_mask_region(buffer) equals get_mask_region()");
    }

    // ------------------------------------------------------------------ error mapping
    EXPECT_ERROR(s.add_point({NI, 0, 0}), NNI_ERR_OUT_OF_BOUNDS, "outside");
    EXPECT_ERROR(s.add_point({-1, 0, 0}), NNI_ERR_OUT_OF_BOUNDS, "outside");
    EXPECT_ERROR(s.add_box({NI + 5, 0, 0}, {NI + 9, 4, 4}), NNI_ERR_OUT_OF_BOUNDS, "");
    EXPECT_ERROR(s.add_scribble(std::vector<uint8_t>(NVOX - 1)), NNI_ERR_BUFFER_SIZE, "");
    EXPECT_ERROR(s.add_scribble(std::vector<uint8_t>()), NNI_ERR_BUFFER_SIZE, "");
    EXPECT_ERROR(s.add_scribble(nullptr, NVOX), NNI_ERR_NULL_POINTER, "mask");
    EXPECT_ERROR(s.add_lasso(nullptr, NVOX), NNI_ERR_NULL_POINTER, "mask");
    EXPECT_ERROR(s.set_initial_mask(std::vector<uint8_t>(3)), NNI_ERR_BUFFER_SIZE, "");
    EXPECT_ERROR(s.set_initial_mask_region({0, 0, 0}, {2, 2, 2}, std::vector<uint8_t>(7)), NNI_ERR_BUFFER_SIZE, "");
    EXPECT_ERROR(s.set_initial_mask_region({0, 0, 0}, {NI + 1, 1, 1}, std::vector<uint8_t>(NI + 1)),
                 NNI_ERR_OUT_OF_BOUNDS, "");
    EXPECT_ERROR(s.set_initial_mask_region({0, 0, 0}, {2, 2, 2}, nullptr, 8), NNI_ERR_NULL_POINTER, "mask");
    EXPECT_ERROR(s.get_mask(nullptr, NVOX), NNI_ERR_NULL_POINTER, "out");
    {
        std::vector<uint8_t> buf(NVOX + 1);
        EXPECT_ERROR(s.get_mask(buf.data(), buf.size()), NNI_ERR_BUFFER_SIZE, "");
    }
    EXPECT_ERROR(s.get_mask_region({0, 0, 0}, {0, 4, 4}), NNI_ERR_INVALID_ARGUMENT, "empty");
    EXPECT_ERROR(s.get_mask_region({0, 0, 0}, {NI + 1, 4, 4}), NNI_ERR_OUT_OF_BOUNDS, "");
    EXPECT_ERROR(s.add_scribble_region({0, 0, 0}, {4, 4, 4}, std::vector<uint8_t>(10)),
                 NNI_ERR_BUFFER_SIZE, "");
    CHECK(s.get_mask() == mask_after_a, "failed calls left the mask unchanged");

    // ------------------------------------------------------------------ shared image
    {
        std::optional<nni::Image> shared;
        EXPECT_ERROR(shared.emplace(std::vector<float>(img.begin(), img.end() - 1), kDims),
                     NNI_ERR_BUFFER_SIZE, "voxel_count");
        EXPECT_OK(shared.emplace(img, kDims));
        nni::Session a = open_session();
        nni::Session b = open_session();
        EXPECT_OK(a.set_shared_image(*shared));
        EXPECT_OK(b.set_shared_image(*shared));
        CHECK(a.dims() == kDims && b.dims() == kDims, "set_shared_image() sets dims()");
        nni::Image moved = std::move(*shared);
        EXPECT_ERROR(a.set_shared_image(*shared), NNI_ERR_NULL_POINTER, "image");
        shared.reset();
        { nni::Image gone = std::move(moved); } // the image handle goes before its sessions
        EXPECT_OK(a.add_point(A.center()));
        EXPECT_OK(b.add_point(B.center()));
        CHECK(dice(a.get_mask(), ph.mask_a) >= 0.95 && dice(b.get_mask(), ph.mask_b) >= 0.95,
              "two sessions on one shared Image, freed first: sphere A in one, B in the other");
        nni::Session c = open_session();
        EXPECT_OK(c.set_shared_image(a.share_image()));
        EXPECT_OK(c.add_point(B.center()));
        CHECK(c.get_mask() == b.get_mask(), "Session::share_image(): the same image for a third");
        std::string log;
        EXPECT_OK(log = c.export_log());
        CHECK(log.find("\"op\":\"point\"") != std::string::npos && log.back() == '}',
              "export_log(): the whole JSON log with the point");
        nni::Session bare = open_session();
        EXPECT_ERROR(bare.export_log(), NNI_ERR_NO_IMAGE, "");
    }

    // ------------------------------------------------------------------ predict, capabilities
    {
        nni::Session q = open_session();
        EXPECT_OK(q.set_image(img, kDims));
        EXPECT_OK(q.add_point(A.center(), true, false));
        CHECK(count(q.get_mask()) == 0, "a point with run_prediction = false does not predict");
        bool ran = false;
        EXPECT_OK(ran = q.predict());
        CHECK(ran && dice(q.get_mask(), ph.mask_a) >= 0.95, "predict() runs the queued point");
        EXPECT_OK(ran = q.predict());
        CHECK(!ran, "predict() with nothing queued returns false");
        std::string caps;
        EXPECT_OK(caps = q.capabilities());
        CHECK(caps.front() == '{' && caps.back() == '}' && caps.find("\"supported_interactions\"") != std::string::npos,
              "capabilities() is the JSON object");
    }

    // ------------------------------------------------------------------ undo semantics
    {
        nni::Session u = open_session();
        EXPECT_OK(u.set_image(img, kDims));
        bool r = true;
        EXPECT_OK(r = u.undo());
        CHECK(!r, "undo() on a fresh image returns false");
        EXPECT_OK(u.add_point(A.center()));
        EXPECT_OK(r = u.undo());
        CHECK(r && count(u.get_mask()) == 0, "undo() after one point returns true, mask empty");
        EXPECT_OK(r = u.undo());
        CHECK(!r && count(u.get_mask()) == 0, "a second undo() returns false (nothing before)");
        EXPECT_OK(r = u.redo());
        CHECK(r && dice(u.get_mask(), ph.mask_a) >= 0.95, "redo() brings the point back");
        EXPECT_OK(r = u.redo());
        CHECK(!r, "a second redo() returns false");
        EXPECT_OK(r = u.undo());
        EXPECT_OK(u.add_point(A.center()));
        EXPECT_OK(u.add_point(B.center()));
        const std::vector<uint8_t> ab = u.get_mask();
        CHECK(dice(ab, either(ph.mask_a, ph.mask_b)) >= 0.95, "points on A and B: both spheres");
        EXPECT_OK(r = u.undo());
        CHECK(r && dice(u.get_mask(), ph.mask_a) >= 0.95,
              "undo() drops the last prompt only: sphere A stays");
        const nni::Region cr = u.changed_region();
        CHECK(box_inside(B.lo(), B.hi(), cr), "changed_region() after undo covers sphere B");
        EXPECT_OK(r = u.undo());
        CHECK(r && count(u.get_mask()) == 0, "undo() again steps back through the history: empty");
        EXPECT_OK(r = u.undo());
        CHECK(!r && count(u.get_mask()) == 0, "and then returns false, changing nothing");
        EXPECT_OK(r = u.redo());
        EXPECT_OK(r = u.redo() && r);
        CHECK(r && u.get_mask() == ab, "two redo() calls: A and B again, exactly");
        EXPECT_OK(u.reset());
        CHECK(count(u.get_mask()) == 0, "reset() clears the mask");
        EXPECT_OK(r = u.undo());
        CHECK(!r && count(u.get_mask()) == 0, "undo() after reset() returns false (not undoable)");
    }

    // ------------------------------------------------------------------ other prompts
    {
        EXPECT_OK(s.reset());
        EXPECT_OK(s.add_box(B.lo(), B.hi()));
        CHECK(dice(s.get_mask(), ph.mask_b) >= 0.95,
              "a 3D box around B segments B: Dice " + dstr(dice(s.get_mask(), ph.mask_b)));
        EXPECT_OK(s.add_point(B.center(), false, false)); // recorded, not yet predicted
        CHECK(dice(s.get_mask(), ph.mask_b) >= 0.95, "run_prediction=false leaves the mask");
        // A negative prompt on a blob wins over positive ones: the pending negative point is
        // used by the next prediction, which removes B.
        EXPECT_OK(s.add_point({B.c[0] + 3, B.c[1], B.c[2]}, true));
        CHECK(count(s.get_mask()) == 0,
              "the next prediction uses the pending negative point: B is gone (" +
                  std::to_string(count(s.get_mask())) + " voxels left)");

        EXPECT_OK(s.reset());
        const nni::Index3 lo{B.c[0] - 3, B.c[1] - 1, B.c[2]};
        const nni::Index3 hi{B.c[0] + 4, B.c[1] + 2, B.c[2] + 1};
        std::vector<uint8_t> stroke(size_t(7 * 3 * 1), 0);
        for (size_t i = 0; i < 7; ++i) {
            stroke[i + 7] = 1; // the middle row of the box
        }
        EXPECT_OK(s.add_scribble_region(lo, hi, stroke));
        CHECK(dice(s.get_mask(), ph.mask_b) >= 0.95,
              "a scribble region on B segments B: Dice " + dstr(dice(s.get_mask(), ph.mask_b)));

        EXPECT_OK(s.reset());
        std::vector<uint8_t> scribble(NVOX, 0);
        for (int i = A.c[0] - 4; i <= A.c[0] + 4; ++i) {
            scribble[idx(i, A.c[1], A.c[2])] = 1;
        }
        EXPECT_OK(s.add_scribble(scribble));
        CHECK(dice(s.get_mask(), ph.mask_a) >= 0.95,
              "a scribble on A segments A: Dice " + dstr(dice(s.get_mask(), ph.mask_a)));

        EXPECT_OK(s.reset());
        std::vector<uint8_t> lasso(NVOX, 0);
        for (int j = B.c[1] - 5; j <= B.c[1] + 5; ++j)
            for (int i = B.c[0] - 5; i <= B.c[0] + 5; ++i) {
                lasso[idx(i, j, B.c[2])] = 1;
            }
        EXPECT_OK(s.add_lasso(lasso));
        CHECK(dice(s.get_mask(), ph.mask_b) >= 0.95,
              "a lasso on a slice of B segments B: Dice " + dstr(dice(s.get_mask(), ph.mask_b)));
        EXPECT_OK(s.add_lasso_region({A.c[0] - 2, A.c[1] - 2, A.c[2]},
                                     {A.c[0] + 3, A.c[1] + 3, A.c[2] + 1},
                                     std::vector<uint8_t>(25, 1)));
        CHECK(dice(s.get_mask(), either(ph.mask_a, ph.mask_b)) >= 0.95,
              "plus a lasso region on A: both spheres");

        EXPECT_OK(s.set_initial_mask(ph.mask_a, false));
        CHECK(s.get_mask() == ph.mask_a, "set_initial_mask(mask, run_prediction=false) sets it");
        EXPECT_OK(s.set_initial_mask(ph.mask_b));
        CHECK(s.get_mask() == ph.mask_b,
              "set_initial_mask(mask) does not predict by default (as the reference, as Python)");
        EXPECT_OK(s.set_initial_mask(ph.mask_b, true));
        CHECK(dice(s.get_mask(), ph.mask_b) >= 0.95, "set_initial_mask(mask, true) refines it");

        EXPECT_OK(s.set_autozoom(false));
        EXPECT_OK(s.reset());
        EXPECT_OK(s.add_point(A.center()));
        CHECK(dice(s.get_mask(), ph.mask_a) >= 0.95, "AutoZoom off: a point on A segments A");
        EXPECT_OK(s.set_autozoom(true));
        EXPECT_OK(s.request_cancel()); // nothing running: no effect on the next call
        EXPECT_OK(s.add_point(A.center()));
        CHECK(dice(s.get_mask(), ph.mask_a) >= 0.95,
              "request_cancel() between calls does not cancel the next call");
    }

    // ----------------------------------------------------------- every voxel type, geometry
    {
        nni::Session t = open_session();
        const Phantom small(20.0, 200.0, 2); // fits uint8_t
        auto run = [&](const char *type, auto voxels, const Phantom &p) {
            t.set_image(voxels, kDims, {0.8, 0.8, 2.5}, {-10.0, 5.0, 100.0},
                        {0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0, 1.0});
            t.add_point(A.center());
            const double d = dice(t.get_mask(), p.mask_a);
            CHECK(d >= 0.95, std::string("set_image(std::vector<") + type +
                                 ">, anisotropic spacing, rotated): Dice " + dstr(d));
        };
        EXPECT_OK(run("uint8_t", small.as<uint8_t>(), small));
        EXPECT_OK(run("int16_t", ph.as<int16_t>(), ph));
        EXPECT_OK(run("uint16_t", ph.as<uint16_t>(), ph));
        EXPECT_OK(run("int32_t", ph.as<int32_t>(), ph));
        EXPECT_OK(run("float", ph.as<float>(), ph));
        EXPECT_OK(run("double", ph.as<double>(), ph));
        const std::vector<double> f64 = ph.as<double>();
        EXPECT_OK(t.set_image(f64.data(), f64.size(), kDims, {1.0, 1.0, 1.0}, {0.0, 0.0, 0.0},
                              nni::identity_direction));
        nni_image_desc d = grid_desc(img.data());
        EXPECT_OK(t.set_image(d));
        EXPECT_OK(t.add_point(B.center()));
        CHECK(dice(t.get_mask(), ph.mask_b) >= 0.95, "set_image(nni_image_desc) works");
        d.dtype = 42;
        EXPECT_ERROR(t.set_image(d), NNI_ERR_INVALID_ARGUMENT, "dtype");
        std::vector<float> zeros(NVOX, 0.0f);
        EXPECT_ERROR(t.set_image(zeros, kDims), NNI_ERR_INVALID_ARGUMENT, "");
        CHECK(dice(t.get_mask(), ph.mask_b) >= 0.95, "failed set_image calls keep the image");
    }

    // ------------------------------------------------------------------ progress callbacks
    EXPECT_OK(s.reset());
    EXPECT_OK(s.add_point(A.center()));
    mask = s.get_mask();
    CHECK(dice(mask, ph.mask_a) >= 0.95, "callbacks: start from sphere A");
    {
        int calls = 0;
        bool in_range = true, named = true;
        EXPECT_OK(s.set_progress_callback([&](double f, const std::string &stage) {
            ++calls;
            in_range = in_range && f >= 0.0 && f <= 1.0;
            named = named && !stage.empty();
            return false; // go on
        }));
        EXPECT_OK(s.add_point(B.center()));
        CHECK(calls > 0 && in_range && named,
              "the callback runs during a prompt (" + std::to_string(calls) +
                  " calls, fractions in [0, 1], stage names)");
        CHECK(dice(s.get_mask(), either(ph.mask_a, ph.mask_b)) >= 0.95,
              "  ... and the prompt completes");
        bool undone = false;
        EXPECT_OK(undone = s.undo());
        CHECK(undone && s.get_mask() == mask, "  ... undone: back to sphere A");

        // Returning true cancels the call (the convention of C, C++, Rust and Python).
        EXPECT_OK(s.set_progress_callback([](double, const std::string &) { return true; }));
        EXPECT_ERROR(s.add_point(B.center()), NNI_ERR_CANCELLED, "");
        CHECK(s.get_mask() == mask, "a callback returning true: cancelled, mask unchanged");

        // A callback that throws a non-std exception: it is rethrown, as is, from add_point.
        int throw_calls = 0;
        EXPECT_OK(s.set_progress_callback([&](double, const std::string &) -> bool {
            ++throw_calls;
            throw UserAbort{42};
        }));
        bool caught = false;
        int code = 0;
        try {
            s.add_point(B.center());
        } catch (const UserAbort &e) {
            caught = true;
            code = e.code;
        } catch (...) {
        }
        CHECK(caught && code == 42, "a callback's exception (UserAbort{42}) is rethrown from "
                                    "add_point");
        CHECK(throw_calls == 1, "  ... the callback was not called again after it threw (" +
                                    std::to_string(throw_calls) + " calls)");
        CHECK(s.get_mask() == mask, "  ... and the mask is unchanged");

        // A std::exception is rethrown as itself, not as nni::Error.
        EXPECT_OK(s.set_progress_callback([&](double, const std::string &) -> bool {
            throw std::logic_error("boom");
        }));
        std::string what;
        bool was_nni = false;
        try {
            s.add_box(B.lo(), B.hi());
        } catch (const nni::Error &) {
            was_nni = true;
        } catch (const std::logic_error &e) {
            what = e.what();
        }
        CHECK(!was_nni && what == "boom", "a callback's std::logic_error is rethrown as itself");
        CHECK(s.get_mask() == mask, "  ... and the mask is unchanged");

        // The session still works: the pending exception is gone, the next call completes.
        calls = 0;
        EXPECT_OK(s.set_progress_callback([&](double, const std::string &) {
            ++calls;
            return false; // go on
        }));
        EXPECT_OK(s.add_point(B.center()));
        CHECK(calls > 0 && dice(s.get_mask(), either(ph.mask_a, ph.mask_b)) >= 0.95,
              "after the throwing callback, the session still segments (A and B)");
        EXPECT_OK(s.undo());
        CHECK(s.get_mask() == mask, "  ... and undo still works");

        // Removing the callback.
        calls = 0;
        EXPECT_OK(s.set_progress_callback(nullptr));
        EXPECT_OK(s.add_point(B.center()));
        CHECK(calls == 0, "set_progress_callback(nullptr) removes the callback");
        EXPECT_OK(s.undo());
    }

    // request_cancel() from another thread: the callback holds the prompt at its first
    // checkpoint until the other thread has asked to cancel.
    {
        std::atomic<bool> in_call{false}, cancel_sent{false};
        int calls = 0;
        EXPECT_OK(s.set_progress_callback([&](double, const std::string &) {
            if (calls++ == 0) {
                in_call.store(true);
                while (!cancel_sent.load()) {
                    std::this_thread::yield();
                }
            }
            return false; // go on
        }));
        bool cancel_ok = false;
        std::thread other([&] {
            while (!in_call.load()) {
                std::this_thread::yield();
            }
            try {
                s.request_cancel();
                cancel_ok = true;
            } catch (...) {
            }
            cancel_sent.store(true);
        });
        EXPECT_ERROR(s.add_point(B.center()), NNI_ERR_CANCELLED, "");
        other.join();
        CHECK(cancel_ok, "request_cancel() from another thread during a prompt");
        CHECK(s.get_mask() == mask, "  ... the prompt was cancelled and the mask is unchanged");
        EXPECT_OK(s.set_progress_callback(nullptr));
    }

    // ------------------------------------------------------------------ move semantics
    {
        static_assert(!std::is_copy_constructible<nni::Session>::value, "move-only");
        static_assert(std::is_nothrow_move_constructible<nni::Session>::value, "noexcept move");
        static_assert(std::is_nothrow_move_assignable<nni::Session>::value, "noexcept move");

        int calls = 0;
        EXPECT_OK(s.set_progress_callback([&](double, const std::string &) {
            ++calls;
            return false; // go on
        }));
        nni_session *const handle = s.native_handle();
        nni::Session m(std::move(s));
        CHECK(!s.valid() && !s && s.native_handle() == nullptr,
              "a moved-from Session holds no handle");
        CHECK(m.valid() && m.native_handle() == handle && m.dims() == kDims,
              "the move-constructed Session has the handle and the image size");
        CHECK(m.get_mask() == mask, "  ... and the mask");
        EXPECT_ERROR(s.add_point(A.center()), NNI_ERR_NULL_POINTER, "");
        EXPECT_ERROR(s.get_mask(), NNI_ERR_NULL_POINTER, "");
        EXPECT_ERROR(s.request_cancel(), NNI_ERR_NULL_POINTER, "");
        EXPECT_ERROR(s.set_progress_callback(nullptr), NNI_ERR_NULL_POINTER, "");
        EXPECT_OK(m.add_point(B.center()));
        CHECK(calls > 0, "the callback moved with the session (" + std::to_string(calls) +
                             " calls after the move)");
        CHECK(dice(m.get_mask(), either(ph.mask_a, ph.mask_b)) >= 0.95,
              "the moved-to Session segments");

        nni::Session n = open_session(); // owns a session that the assignment must free
        n = std::move(m);
        CHECK(n.native_handle() == handle && !m.valid(), "move assignment takes the handle");
        nni::Session &alias = n;
        n = std::move(alias); // self-move leaves it intact
        CHECK(n.valid() && n.native_handle() == handle, "self move assignment is harmless");
        calls = 0;
        EXPECT_OK(n.undo());
        EXPECT_OK(n.add_point(B.center()));
        CHECK(calls > 0 && dice(n.get_mask(), either(ph.mask_a, ph.mask_b)) >= 0.95,
              "the move-assigned Session segments, its callback still runs");

        s = std::move(n); // back into the moved-from object
        CHECK(s.valid() && s.native_handle() == handle, "a moved-from Session can be assigned");
        EXPECT_OK(s.set_progress_callback(nullptr));

        std::vector<nni::Session> many;
        for (int x = 0; x < 3; ++x) {
            many.push_back(open_session()); // reallocations move the sessions
        }
        for (nni::Session &v : many) {
            v.set_image(img, kDims);
            v.add_point(B.center());
        }
        bool all = true;
        for (const nni::Session &v : many) {
            all = all && dice(v.get_mask(), ph.mask_b) >= 0.95;
        }
        CHECK(all, "sessions moved around by a std::vector keep working");
    }

    std::printf("# %d checks, %d failed\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
