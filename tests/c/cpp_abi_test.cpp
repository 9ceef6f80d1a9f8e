// Tests of the nninteractive C ABI from C++17: the header must compile as C++, the session is
// owned by a std::unique_ptr with a custom deleter, and nni_session_request_cancel is called from
// a second thread while another thread runs prompts.
//
// Prints one line per check ("ok" / "FAIL") and exits non-zero if any check failed.
#include "nninteractive.h"

#include "test_support.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using namespace test_support;

std::string last_error()
{
    const size_t n = nni_last_error_message(nullptr, 0);
    std::string msg(n, '\0');
    nni_last_error_message(&msg[0], n + 1); // std::string keeps room for the NUL
    return msg;
}

std::string status_text(int32_t rc)
{
    std::string s = nni_status_name(rc);
    if (rc != NNI_OK) {
        s += ": " + last_error();
    }
    return s;
}
#define EXPECT_OK(call)                                                                 \
    do {                                                                                \
        const int32_t rc_ = (call);                                                     \
        CHECK(rc_ == NNI_OK, std::string(#call) + " -> " + status_text(rc_));           \
    } while (0)

// The header is usable from C++: C linkage, plain structs, constants usable in constexpr.
static_assert(std::is_standard_layout<nni_session_options>::value, "options: standard layout");
static_assert(std::is_standard_layout<nni_image_desc>::value, "image desc: standard layout");
static_assert(std::is_trivially_copyable<nni_image_desc>::value, "image desc: trivially copyable");
static_assert(NNI_OK == 0 && NNI_ERR_CANCELLED == 10, "status constants are integer constants");
static_assert(std::is_same<decltype(&nni_session_free), void (*)(nni_session *)>::value,
              "nni_session_free has the documented signature");
static_assert(std::is_same<nni_progress_callback,
                           int32_t (*)(void *, double, const char *)>::value,
              "progress callback type");

struct SessionDeleter {
    void operator()(nni_session *s) const noexcept { nni_session_free(s); }
};
using SessionPtr = std::unique_ptr<nni_session, SessionDeleter>;

SessionPtr open_session()
{
    nni_session_options o;
    nni_session_options_init(&o);
    o.model_path = NNI_TEST_MODEL;
    o.num_threads = 1;
    // Default device (AUTO): CUDA when available, else CPU.
    nni_session *raw = nullptr;
    const int32_t rc = nni_session_new(&o, &raw);
    CHECK(rc == NNI_OK && raw != nullptr,
          "nni_session_new (device AUTO) -> " + status_text(rc));
    return SessionPtr(raw);
}





} // namespace

int main()
{
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    std::printf("# nninteractive C ABI test (C++17), model %s\n", NNI_TEST_MODEL);

    CHECK(nni_abi_version() == NNI_ABI_VERSION, "nni_abi_version() == NNI_ABI_VERSION");
    EXPECT_OK(nni_runtime_init(NNI_ONNXRUNTIME)); // an explicit path this time
    EXPECT_OK(nni_runtime_init(NNI_ONNXRUNTIME)); // the same path again is fine

    const Sphere a{{18, 20, 16}, 9};
    const Sphere b{{44, 36, 32}, 9};
    std::vector<float> img(NVOX);
    std::vector<uint8_t> mask_a(NVOX), mask_b(NVOX);
    uint32_t rng = 777u;
    for (int k = 0; k < NK; ++k)
        for (int j = 0; j < NJ; ++j)
            for (int i = 0; i < NI; ++i) {
                rng = rng * 1664525u + 1013904223u;
                const float n = float(int((rng >> 16) % 21u) - 10);
                const bool in_a = a.contains(i, j, k), in_b = b.contains(i, j, k);
                img[idx(i, j, k)] = (in_a || in_b ? 1000.0f : 100.0f) + n;
                mask_a[idx(i, j, k)] = in_a;
                mask_b[idx(i, j, k)] = in_b;
            }

    SessionPtr session = open_session();
    if (!session) {
        std::printf("# cannot continue without a session\n");
        return 2;
    }
    nni_session *s = session.get();

    const nni_image_desc d = grid_desc(img.data());
    EXPECT_OK(nni_session_set_image(s, &d));

    // One positive point on sphere A.
    const int64_t pa[3] = {a.c[0], a.c[1], a.c[2]};
    const int64_t pb[3] = {b.c[0], b.c[1], b.c[2]};
    std::vector<uint8_t> mask(NVOX);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_OK(nni_session_add_point(s, pa, 1, 1));
    const auto prompt_us = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::steady_clock::now() - t0)
                               .count();
    std::printf("# one prompt takes about %lld us\n", static_cast<long long>(prompt_us));
    EXPECT_OK(nni_session_get_mask(s, mask.data(), mask.size()));
    const double dsc = dice(mask, mask_a);
    CHECK(dsc >= 0.95, "one positive point segments sphere A: Dice " + std::to_string(dsc));
    const std::vector<uint8_t> mask_after_a = mask;

    // Deterministic cross-thread cancel: the progress callback holds the prompt at its first
    // checkpoint until another thread has called nni_session_request_cancel; the prompt must
    // then stop at its next checkpoint with NNI_ERR_CANCELLED and change nothing.
    {
        struct Gate {
            std::atomic<int> calls{0};
            std::atomic<bool> in_call{false};
            std::atomic<bool> cancel_sent{false};
        } gate;
        auto cb = [](void *user, double, const char *) -> int32_t {
            auto *g = static_cast<Gate *>(user);
            if (g->calls.fetch_add(1) == 0) {
                g->in_call.store(true);
                while (!g->cancel_sent.load()) {
                    std::this_thread::yield();
                }
            }
            return 0; // never cancels by itself
        };
        EXPECT_OK(nni_session_set_progress_callback(s, cb, &gate));
        int32_t cancel_rc = -1;
        std::thread other([&] {
            while (!gate.in_call.load()) {
                std::this_thread::yield();
            }
            cancel_rc = nni_session_request_cancel(s);
            gate.cancel_sent.store(true);
        });
        const int32_t rc = nni_session_add_point(s, pb, 1, 1);
        other.join();
        CHECK(cancel_rc == NNI_OK, std::string("nni_session_request_cancel from another thread "
                                               "during a prompt -> ") +
                                       nni_status_name(cancel_rc));
        CHECK(rc == NNI_ERR_CANCELLED, std::string("the running prompt returns "
                                                   "NNI_ERR_CANCELLED -> ") +
                                           status_text(rc));
        EXPECT_OK(nni_session_get_mask(s, mask.data(), mask.size()));
        CHECK(mask == mask_after_a, "  ... and the mask is unchanged");
        EXPECT_OK(nni_session_set_progress_callback(s, nullptr, nullptr));
    }

    // Calls from inside the progress callback never deadlock: reads answer at once with the mask
    // as it was before the running prompt; calls that would change the session or run the
    // network return NNI_ERR_BUSY at once, doing nothing; the prompt then completes.
    {
        struct Reentry {
            nni_session *s = nullptr;
            const nni_image_desc *desc = nullptr;
            std::vector<uint8_t> seen;
            int32_t get_mask = -1, get_region = -1, changed = -1, add_point = -1, set_cb = -1,
                    undo = -1, set_image = -1, autozoom = -1;
            size_t describe = 0;
            int calls = 0;
        } r;
        r.s = s;
        r.desc = &d;
        r.seen.resize(NVOX);
        auto cb = [](void *user, double, const char *) -> int32_t {
            auto *r = static_cast<Reentry *>(user);
            if (r->calls++ == 0) {
                const int64_t lo[3] = {0, 0, 0}, hi[3] = {2, 2, 2};
                uint8_t part[8];
                int64_t cmin[3], cmax[3];
                char text[256];
                const int64_t at[3] = {1, 1, 1};
                r->get_mask = nni_session_get_mask(r->s, r->seen.data(), r->seen.size());
                r->get_region = nni_session_get_mask_region(r->s, lo, hi, part, sizeof part);
                r->changed = nni_session_get_changed_region(r->s, cmin, cmax);
                r->describe = nni_session_describe(r->s, text, sizeof text);
                r->add_point = nni_session_add_point(r->s, at, 1, 1);
                r->set_cb = nni_session_set_progress_callback(r->s, nullptr, nullptr);
                r->undo = nni_session_undo(r->s);
                r->autozoom = nni_session_set_autozoom(r->s, 0);
                r->set_image = nni_session_set_image(r->s, r->desc);
            }
            return 0;
        };
        EXPECT_OK(nni_session_set_progress_callback(s, cb, &r));
        EXPECT_OK(nni_session_add_point(s, pb, 1, 1));
        CHECK(r.get_mask == NNI_OK && r.seen == mask_after_a,
              "from the callback, nni_session_get_mask answers with the mask before the prompt");
        CHECK(r.get_region == NNI_OK && r.changed == NNI_OK && r.describe > 0,
              "  ... and get_mask_region, get_changed_region, describe answer too");
        CHECK(r.add_point == NNI_ERR_BUSY && r.set_cb == NNI_ERR_BUSY && r.undo == NNI_ERR_BUSY &&
                  r.autozoom == NNI_ERR_BUSY && r.set_image == NNI_ERR_BUSY,
              std::string("  ... add_point, set_progress_callback, undo, set_autozoom, set_image: "
                          "NNI_ERR_BUSY (") +
                  nni_status_name(r.add_point) + ", " + nni_status_name(r.set_cb) + ", " +
                  nni_status_name(r.undo) + ", " + nni_status_name(r.autozoom) + ", " +
                  nni_status_name(r.set_image) + ")");
        EXPECT_OK(nni_session_get_mask(s, mask.data(), mask.size()));
        CHECK(dice(mask, mask_b) >= 0.95 || dice(mask, mask_a) < 0.95 || mask != mask_after_a,
              "  ... and the prompt completed (the mask changed)");
        EXPECT_OK(nni_session_set_progress_callback(s, nullptr, nullptr));
        EXPECT_OK(nni_session_undo(s));
        EXPECT_OK(nni_session_get_mask(s, mask.data(), mask.size()));
        CHECK(mask == mask_after_a, "  ... undone: back to sphere A, the busy calls changed nothing");
    }

    // Another thread reading while a prompt runs is answered at once: the callback holds the
    // prompt until the reader has finished (bounded wait: a reader that blocked would time out).
    {
        struct Hold {
            std::atomic<bool> in_call{false}, read_done{false};
            std::atomic<int> calls{0};
        } hold;
        auto cb = [](void *user, double, const char *) -> int32_t {
            auto *h = static_cast<Hold *>(user);
            if (h->calls.fetch_add(1) == 0) {
                h->in_call.store(true);
                const auto t0 = std::chrono::steady_clock::now();
                while (!h->read_done.load() &&
                       std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20)) {
                    std::this_thread::yield();
                }
            }
            return 0;
        };
        EXPECT_OK(nni_session_set_progress_callback(s, cb, &hold));
        int32_t read_rc = -1, write_rc = -1;
        std::vector<uint8_t> seen(NVOX);
        std::thread reader([&] {
            while (!hold.in_call.load()) {
                std::this_thread::yield();
            }
            read_rc = nni_session_get_mask(s, seen.data(), seen.size());
            write_rc = nni_session_add_point(s, pb, 1, 1);
            hold.read_done.store(true);
        });
        EXPECT_OK(nni_session_add_point(s, pb, 1, 1));
        reader.join();
        CHECK(read_rc == NNI_OK && seen == mask_after_a,
              "another thread's nni_session_get_mask during a prompt: at once, the mask before it");
        CHECK(write_rc == NNI_ERR_BUSY, std::string("  ... its nni_session_add_point: ") +
                                            nni_status_name(write_rc));
        EXPECT_OK(nni_session_set_progress_callback(s, nullptr, nullptr));
        EXPECT_OK(nni_session_undo(s));
    }

    // A prompt loop on one thread, cancellation requests from another.
    std::atomic<bool> done{false};
    std::atomic<long> cancels{0};
    uint32_t crng = 4242u;
    std::thread canceller([&] {
        while (!done.load()) {
            const int32_t rc = nni_session_request_cancel(s);
            if (rc != NNI_OK) {
                std::printf("FAIL - nni_session_request_cancel returned %s\n", nni_status_name(rc));
                std::fflush(stdout);
            }
            cancels.fetch_add(1);
            // Pseudo-random pauses between a tenth of a prompt and three prompts, so that some
            // prompts finish and others are cancelled at different checkpoints.
            crng = crng * 1664525u + 1013904223u;
            const long long pause =
                prompt_us / 10 + static_cast<long long>((crng >> 8) % uint32_t(3 * prompt_us + 1));
            std::this_thread::sleep_for(std::chrono::microseconds(pause));
        }
    });

    constexpr int kIterations = 60;
    int n_ok = 0, n_cancelled = 0, n_other = 0, n_changed_on_cancel = 0;
    std::string other;
    std::thread prompter([&] {
        std::vector<uint8_t> before(NVOX), after(NVOX);
        for (int it = 0; it < kIterations; ++it) {
            // Only this thread changes the session, so a cancelled call must leave it as here.
            if (nni_session_get_mask(s, before.data(), before.size()) != NNI_OK) {
                ++n_other;
                other += " get_mask(before) failed";
            }
            int32_t rc;
            switch (it % 5) {
            case 0: rc = nni_session_add_point(s, pb, 1, 1); break;
            case 1: rc = nni_session_add_point(s, pa, 0, 1); break;
            case 2: rc = nni_session_add_point(s, pa, 1, 1); break;
            case 3: rc = nni_session_undo(s); break;
            default: {
                const int64_t lo[3] = {b.c[0] - b.r, b.c[1] - b.r, b.c[2]};
                const int64_t hi[3] = {b.c[0] + b.r + 1, b.c[1] + b.r + 1, b.c[2] + 1};
                rc = nni_session_add_box(s, lo, hi, it % 2, 1);
                break;
            }
            }
            if (rc == NNI_OK || (it % 5 == 3 && rc == NNI_ERR_NOTHING_TO_UNDO)) {
                ++n_ok;
            } else if (rc == NNI_ERR_CANCELLED) {
                ++n_cancelled;
                if (nni_session_get_mask(s, after.data(), after.size()) != NNI_OK ||
                    after != before) {
                    ++n_changed_on_cancel;
                }
            } else {
                ++n_other;
                other += std::string(" ") + nni_status_name(rc) + " (" + last_error() + ")";
            }
        }
    });
    prompter.join();
    done.store(true);
    canceller.join();

    CHECK(n_other == 0, "prompt loop: " + std::to_string(n_ok) + " OK, " +
                            std::to_string(n_cancelled) + " cancelled, " +
                            std::to_string(n_other) + " other" + other + " (" +
                            std::to_string(cancels.load()) + " cancel requests)");
    CHECK(n_ok + n_cancelled == kIterations, "every call returned NNI_OK or NNI_ERR_CANCELLED");
    CHECK(n_changed_on_cancel == 0, "cancelled calls left the mask unchanged (" +
                                        std::to_string(n_changed_on_cancel) + " changed)");

    EXPECT_OK(nni_session_get_mask(s, mask.data(), mask.size()));
    size_t bad = 0;
    for (uint8_t v : mask)
        bad += v > 1;
    CHECK(bad == 0, "final mask is a valid 0/1 mask (" + std::to_string(bad) + " bad voxels)");
    size_t stray = 0;
    for (size_t x = 0; x < NVOX; ++x)
        stray += mask[x] && !mask_a[x] && !mask_b[x];
    CHECK(stray == 0, "final mask lies inside the spheres (" + std::to_string(stray) +
                          " stray voxels)");

    // Without the canceller the session still segments correctly.
    EXPECT_OK(nni_session_reset(s));
    EXPECT_OK(nni_session_add_point(s, pb, 1, 1));
    EXPECT_OK(nni_session_get_mask(s, mask.data(), mask.size()));
    const double dsc_b = dice(mask, mask_b);
    CHECK(dsc_b >= 0.95, "after the cancel storm a point on B segments it: Dice " +
                             std::to_string(dsc_b));

    // Error messages are per thread: a failure on another thread does not touch this one's.
    CHECK(nni_session_reset(nullptr) == NNI_ERR_NULL_POINTER, "nni_session_reset(nullptr) fails");
    const std::string mine = last_error();
    std::thread([] { (void)nni_session_get_mask(nullptr, nullptr, 0); }).join();
    CHECK(last_error() == mine && !mine.empty(),
          "the last error message is thread-local: \"" + mine + "\"");

    session.reset(); // the deleter frees the session
    CHECK(!session, "unique_ptr released the session");

    std::printf("# %d checks, %d failed\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
