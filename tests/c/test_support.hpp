// Shared by the C++ test programs: the check counter, the 64x56x48 test grid, spheres and Dice.
// Header-only.
#pragma once

#include "nninteractive.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#ifndef NNI_TEST_MODEL
#error "define NNI_TEST_MODEL (path of blob-grow-p32.onnx)"
#endif
#ifndef NNI_ONNXRUNTIME
#error "define NNI_ONNXRUNTIME (path of libonnxruntime.so)"
#endif

namespace test_support {

inline int g_checks = 0;
inline int g_failures = 0;

/// Count and print one check ("ok" / "FAIL", with file and line on failure).
inline bool check(bool ok, const std::string &what, const char *file, int line)
{
    ++g_checks;
    if (!ok) {
        ++g_failures;
    }
    std::printf("%s - %s", ok ? "ok  " : "FAIL", what.c_str());
    if (!ok) {
        const char *base = std::strrchr(file, '/');
        std::printf("  [%s:%d]", base ? base + 1 : file, line);
    }
    std::printf("\n");
    std::fflush(stdout);
    return ok;
}

constexpr int NI = 64, NJ = 56, NK = 48;
constexpr size_t NVOX = size_t(NI) * NJ * NK;

/// Linear index of voxel (i, j, k), i fastest.
constexpr size_t idx(int i, int j, int k) { return size_t(i) + size_t(NI) * (j + size_t(NJ) * k); }

/// The raw C descriptor of float32 voxels on the test grid (unit spacing, origin 0, identity
/// direction).
inline nni_image_desc grid_desc(const float *data)
{
    nni_image_desc d{};
    d.data = data;
    d.dtype = NNI_DTYPE_FLOAT32;
    d.voxel_count = NVOX;
    d.dims[0] = NI;
    d.dims[1] = NJ;
    d.dims[2] = NK;
    d.spacing[0] = d.spacing[1] = d.spacing[2] = 1.0;
    d.direction[0] = d.direction[4] = d.direction[8] = 1.0;
    return d;
}

/// A sphere in voxel coordinates.
struct Sphere {
    int c[3];
    int r;
    bool contains(int i, int j, int k) const
    {
        const int di = i - c[0], dj = j - c[1], dk = k - c[2];
        return di * di + dj * dj + dk * dk <= r * r;
    }
    std::array<int64_t, 3> center() const { return {c[0], c[1], c[2]}; }
    std::array<int64_t, 3> lo() const { return {c[0] - r, c[1] - r, c[2] - r}; }
    std::array<int64_t, 3> hi() const { return {c[0] + r + 1, c[1] + r + 1, c[2] + r + 1}; }
};

/// Dice of two 0/1 masks (1 when both are empty, -1 when the sizes differ).
inline double dice(const std::vector<uint8_t> &a, const std::vector<uint8_t> &b)
{
    if (a.size() != b.size()) {
        return -1.0;
    }
    size_t inter = 0, sa = 0, sb = 0;
    for (size_t x = 0; x < a.size(); ++x) {
        inter += (a[x] != 0 && b[x] != 0);
        sa += (a[x] != 0);
        sb += (b[x] != 0);
    }
    return sa + sb == 0 ? 1.0 : 2.0 * double(inter) / double(sa + sb);
}

} // namespace test_support

#define CHECK(cond, what) test_support::check(static_cast<bool>(cond), (what), __FILE__, __LINE__)
