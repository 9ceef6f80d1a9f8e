// Shared pieces of the adapter tests: the test geometry, a tiny check macro, Dice, an oblique
// slice frame through a point, and world-space box corners / lasso polygons on it.
#ifndef NNI_ADAPTER_TEST_COMMON_HPP
#define NNI_ADAPTER_TEST_COMMON_HPP

#include "../common/nninteractive_geometry.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace nni_test {

using nni::Mat3;
using nni::Vec3;
namespace g = nni::geom;

inline int g_failures = 0;

#define NNI_CHECK(cond)                                                                        \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
            ++nni_test::g_failures;                                                            \
        }                                                                                      \
    } while (0)

constexpr unsigned kDims[3] = {64, 56, 48};
constexpr double kSpacing[3] = {0.8, 1.1, 2.0};
constexpr double kOrigin[3] = {-30.0, 12.0, 100.0};
constexpr double kBackground = 100.0;
constexpr double kBright = 1000.0;
constexpr double kRadius = 8.0;      // mm, the target sphere
constexpr double kDecoyRadius = 5.0; // mm, a second sphere that must stay out of the mask
// Where the spheres sit, as continuous indices; the tests turn them into world points through
// the image's own index-to-physical transform, then only ever use the world points.
constexpr double kCentreIndex[3] = {30.3, 25.6, 22.4};
constexpr double kDecoyIndex[3] = {12.0, 42.0, 10.0};

inline Mat3 matmul(const Mat3 &a, const Mat3 &b)
{
    Mat3 m{};
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c)
            for (int k = 0; k < 3; ++k)
                m[static_cast<size_t>(r * 3 + c)] += a[static_cast<size_t>(r * 3 + k)] * b[static_cast<size_t>(k * 3 + c)];
    return m;
}

/// A rotation about the axis `k` (any length) by `deg` degrees (Rodrigues), row-major.
inline Mat3 rotation(Vec3 k, double deg)
{
    k = g::scale(k, 1.0 / g::norm(k));
    const double t = deg * M_PI / 180.0, c = std::cos(t), s = std::sin(t);
    return {c + k[0] * k[0] * (1 - c),        k[0] * k[1] * (1 - c) - k[2] * s, k[0] * k[2] * (1 - c) + k[1] * s,
            k[1] * k[0] * (1 - c) + k[2] * s, c + k[1] * k[1] * (1 - c),        k[1] * k[2] * (1 - c) - k[0] * s,
            k[2] * k[0] * (1 - c) - k[1] * s, k[2] * k[1] * (1 - c) + k[0] * s, c + k[2] * k[2] * (1 - c)};
}

/// Direction: R_x(10 deg) * R_z(30 deg) * diag(1, -1, 1) (a rotation and an axis flip; det -1).
inline Mat3 test_direction()
{
    const double a = 30.0 * M_PI / 180.0, b = 10.0 * M_PI / 180.0;
    const Mat3 rz{std::cos(a), -std::sin(a), 0, std::sin(a), std::cos(a), 0, 0, 0, 1};
    const Mat3 rx{1, 0, 0, 0, std::cos(b), -std::sin(b), 0, std::sin(b), std::cos(b)};
    const Mat3 flip{1, 0, 0, 0, -1, 0, 0, 0, 1};
    return matmul(matmul(rx, rz), flip);
}

inline double dice(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t inter = 0, na = 0, nb = 0;
    for (size_t i = 0; i < n; ++i) {
        const bool x = a[i] != 0, y = b[i] != 0;
        inter += (x && y) ? 1 : 0;
        na += x ? 1 : 0;
        nb += y ? 1 : 0;
    }
    return (na + nb) == 0 ? 1.0 : 2.0 * static_cast<double>(inter) / static_cast<double>(na + nb);
}

/// An oblique slice through `centre`: normal roughly (1, 0.6, 2.2) (not along any world or
/// index axis), in-plane orthonormal u, v.
struct Slice {
    Vec3 centre, u, v, n;
};
inline Slice oblique_slice(const Vec3 &centre, const Vec3 &normal = {1.0, 0.6, 2.2})
{
    Slice s;
    s.centre = centre;
    s.n = g::scale(normal, 1.0 / g::norm(normal));
    Vec3 u = g::cross(s.n, Vec3{1.0, 0.0, 0.0});
    s.u = g::scale(u, 1.0 / g::norm(u));
    s.v = g::cross(s.n, s.u);
    return s;
}

/// A regular polygon of radius r (mm) on the slice.
inline std::vector<Vec3> circle_on(const Slice &s, double r, int n = 32)
{
    std::vector<Vec3> p;
    for (int i = 0; i < n; ++i) {
        const double t = 2.0 * M_PI * i / n;
        p.push_back(g::add(s.centre, g::add(g::scale(s.u, r * std::cos(t)), g::scale(s.v, r * std::sin(t)))));
    }
    return p;
}

/// Voxels marked in a rasterised lasso or scribble mask.
inline size_t count_marked(const std::vector<uint8_t> &mask)
{
    size_t n = 0;
    for (uint8_t v : mask) {
        n += v != 0 ? 1 : 0;
    }
    return n;
}

inline void report(const char *what, double d)
{
    std::printf("  %-44s Dice %.4f\n", what, d);
}

inline int finish(const char *name)
{
    if (g_failures == 0) {
        std::printf("%s: all checks passed\n", name);
        return 0;
    }
    std::fprintf(stderr, "%s: %d check(s) failed\n", name, g_failures);
    return 1;
}

} // namespace nni_test

#endif
