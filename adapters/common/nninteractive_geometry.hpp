// nninteractive_geometry.hpp: world <-> voxel geometry shared by the ITK and VTK adapters
// (adapters/itk/nninteractive_itk.hpp, adapters/vtk/nninteractive_vtk.hpp). Header-only, C++17,
// depends only on the C++ binding (bindings/cpp/nninteractive.hpp).
//
// An image's geometry is the affine map from a (continuous) buffer index (i, j, k), i fastest,
// counted from the first voxel of the buffer, to a world point:
//
//     world = origin + D * diag(spacing) * ijk
//
// with D the direction cosines (column c = world direction of index axis c), the convention of
// ITK, of VTK 9's vtkImageData and of nni_image_desc. The world frame is whatever the caller's
// is (LPS for ITK/MITK, RAS for Slicer); the library only needs voxel indices.
//
// Prompts drawn on a slice of any orientation (axial, coronal, sagittal, oblique, reformatted)
// are turned into voxel prompts the way nnInteractive's reference expects them:
//  - a 2D box becomes a half-open voxel box [min, max) whose size is 1 along the index axis
//    most aligned with the slice normal (measured in index space, so anisotropic spacing and
//    the direction matrix are accounted for), at the slice through the box's centre;
//  - a lasso polygon becomes a one-voxel-thick filled region on that same kind of slice: the
//    voxels whose centres fall inside the polygon projected onto the slice.
#ifndef NNINTERACTIVE_GEOMETRY_HPP
#define NNINTERACTIVE_GEOMETRY_HPP

#include "nninteractive.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nni {
namespace geom {

/// Rounds half up (towards +infinity), like itk::Math::RoundHalfIntegerUp, which ITK's
/// TransformPhysicalPointToIndex uses: 2.5 -> 3, -2.5 -> -2.
inline int64_t round_half_up(double x) noexcept { return static_cast<int64_t>(std::floor(x + 0.5)); }

inline Vec3 sub(const Vec3 &a, const Vec3 &b) noexcept { return {a[0] - b[0], a[1] - b[1], a[2] - b[2]}; }
inline Vec3 add(const Vec3 &a, const Vec3 &b) noexcept { return {a[0] + b[0], a[1] + b[1], a[2] + b[2]}; }
inline Vec3 scale(const Vec3 &a, double s) noexcept { return {a[0] * s, a[1] * s, a[2] * s}; }
inline double dot(const Vec3 &a, const Vec3 &b) noexcept { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
inline Vec3 cross(const Vec3 &a, const Vec3 &b) noexcept
{
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}
inline double norm(const Vec3 &a) noexcept { return std::sqrt(dot(a, a)); }

/// Row-major 3x3 times a vector.
inline Vec3 mul(const Mat3 &m, const Vec3 &v) noexcept
{
    return {m[0] * v[0] + m[1] * v[1] + m[2] * v[2], m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
            m[6] * v[0] + m[7] * v[1] + m[8] * v[2]};
}
/// Transposed row-major 3x3 times a vector.
inline Vec3 mul_t(const Mat3 &m, const Vec3 &v) noexcept
{
    return {m[0] * v[0] + m[3] * v[1] + m[6] * v[2], m[1] * v[0] + m[4] * v[1] + m[7] * v[2],
            m[2] * v[0] + m[5] * v[1] + m[8] * v[2]};
}

/// The geometry of an image buffer: dims, and the affine map buffer index -> world.
class Geometry {
public:
    Geometry() = default;

    /// From dims, spacing (> 0), the world position of buffer voxel (0, 0, 0) and the direction
    /// cosines (row-major, column c = index axis c). Throws nni::Error(NNI_ERR_INVALID_ARGUMENT)
    /// for a singular matrix or non-positive spacing.
    Geometry(const Dims3 &dims, const Vec3 &spacing, const Vec3 &origin, const Mat3 &direction)
        : dims_(dims), spacing_(spacing), origin_(origin), direction_(direction)
    {
        for (size_t a = 0; a < 3; ++a) {
            if (!(spacing[a] > 0.0) || !std::isfinite(spacing[a])) {
                throw Error(NNI_ERR_INVALID_ARGUMENT, "geometry: spacing must be positive and finite");
            }
        }
        for (size_t r = 0; r < 3; ++r) {
            for (size_t c = 0; c < 3; ++c) {
                m_[r * 3 + c] = direction[r * 3 + c] * spacing[c];
            }
        }
        const Mat3 &m = m_;
        const double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
                           m[2] * (m[3] * m[7] - m[4] * m[6]);
        if (!(std::fabs(det) > 0.0) || !std::isfinite(det)) {
            throw Error(NNI_ERR_INVALID_ARGUMENT, "geometry: direction matrix is singular");
        }
        inv_ = {(m[4] * m[8] - m[5] * m[7]) / det, (m[2] * m[7] - m[1] * m[8]) / det,
                (m[1] * m[5] - m[2] * m[4]) / det, (m[5] * m[6] - m[3] * m[8]) / det,
                (m[0] * m[8] - m[2] * m[6]) / det, (m[2] * m[3] - m[0] * m[5]) / det,
                (m[3] * m[7] - m[4] * m[6]) / det, (m[1] * m[6] - m[0] * m[7]) / det,
                (m[0] * m[4] - m[1] * m[3]) / det};
    }

    /// From a 4x4 index-to-world matrix (row-major, e.g. Slicer's IJKToRAS, last row 0 0 0 1)
    /// whose index counts from buffer voxel `first` (usually 0; a vtkImageData's extent start).
    static Geometry from_matrix(const Dims3 &dims, const std::array<double, 16> &m,
                                const Index3 &first = {0, 0, 0})
    {
        Vec3 spacing{}, origin{};
        Mat3 dir{};
        for (size_t c = 0; c < 3; ++c) {
            const Vec3 col{m[0 * 4 + c], m[1 * 4 + c], m[2 * 4 + c]};
            spacing[c] = norm(col);
            if (!(spacing[c] > 0.0)) {
                throw Error(NNI_ERR_INVALID_ARGUMENT, "geometry: index-to-world matrix has a zero column");
            }
            for (size_t r = 0; r < 3; ++r) {
                dir[r * 3 + c] = col[r] / spacing[c];
            }
        }
        for (size_t r = 0; r < 3; ++r) {
            origin[r] = m[r * 4 + 3];
            for (size_t c = 0; c < 3; ++c) {
                origin[r] += m[r * 4 + c] * static_cast<double>(first[c]);
            }
        }
        return Geometry(dims, spacing, origin, dir);
    }

    const Dims3 &dims() const noexcept { return dims_; }
    const Vec3 &spacing() const noexcept { return spacing_; }
    const Vec3 &origin() const noexcept { return origin_; }
    const Mat3 &direction() const noexcept { return direction_; }
    size_t voxel_count() const noexcept { return static_cast<size_t>(dims_[0] * dims_[1] * dims_[2]); }

    /// World point of a continuous buffer index.
    Vec3 index_to_world(const Vec3 &ijk) const noexcept { return add(origin_, mul(m_, ijk)); }
    Vec3 index_to_world(const Index3 &ijk) const noexcept
    {
        return index_to_world(Vec3{static_cast<double>(ijk[0]), static_cast<double>(ijk[1]),
                                   static_cast<double>(ijk[2])});
    }
    /// Continuous buffer index of a world point.
    Vec3 world_to_continuous_index(const Vec3 &p) const noexcept { return mul(inv_, sub(p, origin_)); }
    /// Nearest voxel (rounding half up, as ITK's TransformPhysicalPointToIndex); may lie outside.
    Index3 world_to_index(const Vec3 &p) const noexcept
    {
        const Vec3 c = world_to_continuous_index(p);
        return {round_half_up(c[0]), round_half_up(c[1]), round_half_up(c[2])};
    }
    /// A world direction (vector) in index units.
    Vec3 world_vector_to_index(const Vec3 &v) const noexcept { return mul(inv_, v); }
    /// The normal, in index space, of a plane with world normal `n` (a covector: M^T n).
    Vec3 world_normal_to_index(const Vec3 &n) const noexcept { return mul_t(m_, n); }

    bool inside(const Index3 &ijk) const noexcept
    {
        for (size_t a = 0; a < 3; ++a) {
            if (ijk[a] < 0 || ijk[a] >= static_cast<int64_t>(dims_[a])) {
                return false;
            }
        }
        return true;
    }

    /// The descriptor nni_session_set_image wants for `data` (voxel_count voxels of dtype).
    nni_image_desc describe(const void *data, int32_t dtype) const noexcept
    {
        return image_desc(data, dtype, voxel_count(), dims_, spacing_, origin_, direction_);
    }

private:
    Dims3 dims_{};
    Vec3 spacing_{1.0, 1.0, 1.0};
    Vec3 origin_{};
    Mat3 direction_ = identity_direction;
    Mat3 m_ = identity_direction;   // direction * diag(spacing)
    Mat3 inv_ = identity_direction; // its inverse
};

/// Index of the largest |v[a]|.
inline size_t dominant_axis(const Vec3 &v) noexcept
{
    size_t best = 0;
    for (size_t a = 1; a < 3; ++a) {
        if (std::fabs(v[a]) > std::fabs(v[best])) {
            best = a;
        }
    }
    return best;
}

/// A half-open voxel box [min, max).
struct VoxelBox {
    Index3 min{};
    Index3 max{};
    /// The slice axis of a 2D box (the one of size 1), or -1 for a 3D box.
    int slice_axis = -1;
};

/// Clips `b` to the image; throws nni::Error(NNI_ERR_OUT_OF_BOUNDS) when nothing is left.
inline VoxelBox clip(const Geometry &g, VoxelBox b, const char *what)
{
    for (size_t a = 0; a < 3; ++a) {
        b.min[a] = std::max<int64_t>(b.min[a], 0);
        b.max[a] = std::min<int64_t>(b.max[a], static_cast<int64_t>(g.dims()[a]));
        if (b.max[a] <= b.min[a]) {
            throw Error(NNI_ERR_OUT_OF_BOUNDS, std::string(what) + " lies outside the image");
        }
    }
    return b;
}

/// A 2D box drawn on a slice, in world coordinates: `corner_a` and `corner_b` are opposite
/// corners of the rectangle, `slice_u` and `slice_v` the slice's in-plane world directions
/// (e.g. the first two columns of a reslice/slice-to-RAS matrix; any two non-parallel vectors
/// in the plane). The rectangle's four corners are mapped to index space; the box is the voxel
/// bounding box of their nearest voxels (rounded like world_to_index), one voxel thick along the
/// index axis most aligned with the slice normal, at the voxel nearest the rectangle's centre.
/// Clipped to the image (NNI_ERR_OUT_OF_BOUNDS when entirely outside).
inline VoxelBox box_on_slice(const Geometry &g, const Vec3 &corner_a, const Vec3 &corner_b,
                             const Vec3 &slice_u, const Vec3 &slice_v)
{
    // Orthonormal in-plane frame (Gram-Schmidt).
    const double nu = norm(slice_u);
    if (!(nu > 0.0)) {
        throw Error(NNI_ERR_INVALID_ARGUMENT, "box_on_slice: slice_u is zero");
    }
    const Vec3 u = scale(slice_u, 1.0 / nu);
    Vec3 v = sub(slice_v, scale(u, dot(slice_v, u)));
    const double nv = norm(v);
    if (!(nv > 1e-12 * std::max(1.0, norm(slice_v)))) {
        throw Error(NNI_ERR_INVALID_ARGUMENT, "box_on_slice: slice_u and slice_v are parallel");
    }
    v = scale(v, 1.0 / nv);
    const Vec3 d = sub(corner_b, corner_a);
    const Vec3 du = scale(u, dot(d, u));
    const Vec3 dv = scale(v, dot(d, v));
    const std::array<Vec3, 4> corners{corner_a, add(corner_a, du), add(corner_a, dv),
                                      add(add(corner_a, du), dv)};
    const Vec3 centre = add(corner_a, scale(add(du, dv), 0.5));

    const size_t axis = dominant_axis(g.world_normal_to_index(cross(u, v)));
    VoxelBox b;
    b.slice_axis = static_cast<int>(axis);
    for (size_t a = 0; a < 3; ++a) {
        b.min[a] = INT64_MAX;
        b.max[a] = INT64_MIN;
    }
    for (const Vec3 &c : corners) {
        const Index3 ijk = g.world_to_index(c);
        for (size_t a = 0; a < 3; ++a) {
            b.min[a] = std::min(b.min[a], ijk[a]);
            b.max[a] = std::max(b.max[a], ijk[a] + 1);
        }
    }
    const int64_t s = g.world_to_index(centre)[axis];
    b.min[axis] = s;
    b.max[axis] = s + 1;
    return clip(g, b, "box_on_slice: the box");
}

/// The voxel box of a 3D box given by its world corners (e.g. the 8 corners of a Slicer ROI,
/// any orientation): the voxels whose centres lie within the corners' bounding box in index
/// space. Along an axis where that box holds no voxel centre (a box thinner than a voxel) the
/// voxel nearest the box's centre is taken, so a flat box becomes a 2D box (slice_axis set when
/// exactly one axis is one voxel thick). Clipped to the image (NNI_ERR_OUT_OF_BOUNDS when
/// entirely outside).
inline VoxelBox box_from_corners(const Geometry &g, const std::vector<Vec3> &world_corners)
{
    if (world_corners.size() < 2) {
        throw Error(NNI_ERR_INVALID_ARGUMENT, "box_from_corners: a box needs at least 2 corners");
    }
    Vec3 lo{}, hi{};
    for (size_t c = 0; c < world_corners.size(); ++c) {
        const Vec3 p = g.world_to_continuous_index(world_corners[c]);
        for (size_t a = 0; a < 3; ++a) {
            if (!std::isfinite(p[a])) {
                throw Error(NNI_ERR_INVALID_ARGUMENT, "box_from_corners: corner is not finite");
            }
            lo[a] = c == 0 ? p[a] : std::min(lo[a], p[a]);
            hi[a] = c == 0 ? p[a] : std::max(hi[a], p[a]);
        }
    }
    VoxelBox b;
    int thin = 0;
    for (size_t a = 0; a < 3; ++a) {
        b.min[a] = static_cast<int64_t>(std::ceil(lo[a]));
        b.max[a] = static_cast<int64_t>(std::floor(hi[a])) + 1;
        if (b.max[a] <= b.min[a]) {
            b.min[a] = round_half_up(0.5 * (lo[a] + hi[a]));
            b.max[a] = b.min[a] + 1;
        }
        if (b.max[a] - b.min[a] == 1) {
            b.slice_axis = static_cast<int>(a);
            ++thin;
        }
    }
    if (thin != 1) {
        b.slice_axis = -1;
    }
    return clip(g, b, "box_from_corners: the box");
}

/// A lasso or scribble rasterised into a one-voxel-thick region: `box` (2D, slice_axis set) and
/// its voxels (`mask`, i fastest, 1 = marked), ready for nni_session_add_lasso_region or
/// nni_session_add_scribble_region.
struct LassoRegion {
    VoxelBox box;
    std::vector<uint8_t> mask;
};

/// Rasterises a closed lasso polygon drawn on a slice of any orientation, given as world points
/// (at least 3; the closing edge is implied). The polygon's plane normal (Newell's method, in
/// index space) picks the index axis most aligned with it; the slice is the voxel nearest the
/// polygon's centroid along that axis; a voxel of that slice is inside when its centre, in the
/// two other index coordinates, lies inside the polygon projected along the axis (even-odd rule).
/// A polygon smaller than a voxel marks the voxel nearest its centroid. Clipped to the image
/// (NNI_ERR_OUT_OF_BOUNDS when entirely outside).
inline LassoRegion lasso_on_slice(const Geometry &g, const std::vector<Vec3> &world_polygon)
{
    if (world_polygon.size() < 3) {
        throw Error(NNI_ERR_INVALID_ARGUMENT, "lasso_on_slice: a lasso needs at least 3 points");
    }
    std::vector<Vec3> p;
    p.reserve(world_polygon.size());
    Vec3 centroid{0.0, 0.0, 0.0};
    for (const Vec3 &w : world_polygon) {
        p.push_back(g.world_to_continuous_index(w));
        centroid = add(centroid, p.back());
    }
    centroid = scale(centroid, 1.0 / static_cast<double>(p.size()));
    Vec3 n{0.0, 0.0, 0.0}; // Newell's normal, already in index space
    for (size_t e = 0; e < p.size(); ++e) {
        const Vec3 &a = p[e];
        const Vec3 &b = p[(e + 1) % p.size()];
        n[0] += (a[1] - b[1]) * (a[2] + b[2]);
        n[1] += (a[2] - b[2]) * (a[0] + b[0]);
        n[2] += (a[0] - b[0]) * (a[1] + b[1]);
    }
    if (!(norm(n) > 0.0)) {
        throw Error(NNI_ERR_INVALID_ARGUMENT, "lasso_on_slice: the polygon is degenerate");
    }
    const size_t axis = dominant_axis(n);
    const size_t ax0 = (axis + 1) % 3 < (axis + 2) % 3 ? (axis + 1) % 3 : (axis + 2) % 3;
    const size_t ax1 = 3 - axis - ax0;

    VoxelBox b;
    b.slice_axis = static_cast<int>(axis);
    const int64_t s = round_half_up(centroid[axis]);
    b.min[axis] = s;
    b.max[axis] = s + 1;
    double lo0 = p[0][ax0], hi0 = p[0][ax0], lo1 = p[0][ax1], hi1 = p[0][ax1];
    for (const Vec3 &q : p) {
        lo0 = std::min(lo0, q[ax0]);
        hi0 = std::max(hi0, q[ax0]);
        lo1 = std::min(lo1, q[ax1]);
        hi1 = std::max(hi1, q[ax1]);
    }
    b.min[ax0] = static_cast<int64_t>(std::ceil(lo0));
    b.max[ax0] = static_cast<int64_t>(std::floor(hi0)) + 1;
    b.min[ax1] = static_cast<int64_t>(std::ceil(lo1));
    b.max[ax1] = static_cast<int64_t>(std::floor(hi1)) + 1;
    const Index3 c = {round_half_up(centroid[0]), round_half_up(centroid[1]), round_half_up(centroid[2])};
    for (size_t a : {ax0, ax1}) { // make sure the centroid's voxel is in the box
        b.min[a] = std::min(b.min[a], c[a]);
        b.max[a] = std::max(b.max[a], c[a] + 1);
    }
    b = clip(g, b, "lasso_on_slice: the lasso");

    LassoRegion r;
    r.box = b;
    const int64_t n0 = b.max[ax0] - b.min[ax0];
    const int64_t n1 = b.max[ax1] - b.min[ax1];
    const int64_t ext[3] = {b.max[0] - b.min[0], b.max[1] - b.min[1], b.max[2] - b.min[2]};
    r.mask.assign(static_cast<size_t>(ext[0] * ext[1] * ext[2]), 0);
    size_t marked = 0;
    for (int64_t y = 0; y < n1; ++y) {
        const double py = static_cast<double>(b.min[ax1] + y);
        for (int64_t x = 0; x < n0; ++x) {
            const double px = static_cast<double>(b.min[ax0] + x);
            bool in = false;
            for (size_t e = 0, f = p.size() - 1; e < p.size(); f = e++) {
                const double xe = p[e][ax0], ye = p[e][ax1], xf = p[f][ax0], yf = p[f][ax1];
                if ((ye > py) != (yf > py) && px < (xf - xe) * (py - ye) / (yf - ye) + xe) {
                    in = !in;
                }
            }
            if (in) {
                Index3 local{};
                local[axis] = 0;
                local[ax0] = x;
                local[ax1] = y;
                r.mask[static_cast<size_t>((local[2] * ext[1] + local[1]) * ext[0] + local[0])] = 1;
                ++marked;
            }
        }
    }
    if (marked == 0) {
        Index3 local{};
        for (size_t a = 0; a < 3; ++a) {
            local[a] = std::clamp(c[a], b.min[a], b.max[a] - 1) - b.min[a];
        }
        local[axis] = 0;
        r.mask[static_cast<size_t>((local[2] * ext[1] + local[1]) * ext[0] + local[0])] = 1;
    }
    return r;
}

/// Rasterises a scribble (an open brush stroke) drawn on a slice of any orientation: `stroke`
/// holds its world points in drawing order (one point is a dot), `slice_normal` is the world
/// normal of the slice it was drawn on (a stroke alone does not define a plane). The slice is
/// the index axis most aligned with that normal (as for boxes), at the voxel nearest the
/// stroke's mean position along it. The stroke is followed in steps of at most a quarter voxel;
/// every voxel of the slice within `brush_radius` voxels (in-plane, index units; 0 = the
/// nearest voxel only) of the path is marked. Voxels outside the image are dropped;
/// NNI_ERR_OUT_OF_BOUNDS when none is left.
inline LassoRegion scribble_on_slice(const Geometry &g, const std::vector<Vec3> &stroke, const Vec3 &slice_normal,
                                     double brush_radius = 0.0)
{
    if (stroke.empty()) {
        throw Error(NNI_ERR_INVALID_ARGUMENT, "scribble_on_slice: the stroke has no points");
    }
    if (!(norm(slice_normal) > 0.0)) {
        throw Error(NNI_ERR_INVALID_ARGUMENT, "scribble_on_slice: the slice normal is zero");
    }
    if (!(brush_radius >= 0.0) || brush_radius > 64.0) {
        throw Error(NNI_ERR_INVALID_ARGUMENT, "scribble_on_slice: brush_radius must be in [0, 64] voxels");
    }
    const size_t axis = dominant_axis(g.world_normal_to_index(slice_normal));
    const size_t ax0 = axis == 0 ? 1 : 0;
    const size_t ax1 = axis == 2 ? 1 : 2;
    std::vector<Vec3> p;
    p.reserve(stroke.size());
    double mean_axis = 0.0;
    for (const Vec3 &w : stroke) {
        p.push_back(g.world_to_continuous_index(w));
        mean_axis += p.back()[axis];
    }
    const int64_t slice = round_half_up(mean_axis / static_cast<double>(p.size()));

    // Mark in-plane voxels (x = ax0, y = ax1) near the path; collected first, boxed after.
    std::vector<std::array<int64_t, 2>> marked;
    const int64_t reach = static_cast<int64_t>(std::ceil(brush_radius));
    const auto stamp = [&](double x, double y) {
        const int64_t cx = round_half_up(x), cy = round_half_up(y);
        if (reach == 0) {
            marked.push_back({cx, cy});
            return;
        }
        for (int64_t dy = -reach - 1; dy <= reach + 1; ++dy) {
            for (int64_t dx = -reach - 1; dx <= reach + 1; ++dx) {
                const double ex = static_cast<double>(cx + dx) - x, ey = static_cast<double>(cy + dy) - y;
                if (ex * ex + ey * ey <= brush_radius * brush_radius || (dx == 0 && dy == 0)) {
                    marked.push_back({cx + dx, cy + dy});
                }
            }
        }
    };
    stamp(p[0][ax0], p[0][ax1]);
    for (size_t e = 1; e < p.size(); ++e) {
        const double x0 = p[e - 1][ax0], y0 = p[e - 1][ax1], x1 = p[e][ax0], y1 = p[e][ax1];
        const double len = std::max(std::fabs(x1 - x0), std::fabs(y1 - y0));
        const int64_t steps = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(len * 4.0)));
        for (int64_t k = 1; k <= steps; ++k) {
            const double t = static_cast<double>(k) / static_cast<double>(steps);
            stamp(x0 + t * (x1 - x0), y0 + t * (y1 - y0));
        }
    }

    const int64_t d0 = static_cast<int64_t>(g.dims()[ax0]), d1 = static_cast<int64_t>(g.dims()[ax1]);
    const int64_t da = static_cast<int64_t>(g.dims()[axis]);
    VoxelBox b;
    b.slice_axis = static_cast<int>(axis);
    b.min[axis] = slice;
    b.max[axis] = slice + 1;
    b.min[ax0] = INT64_MAX;
    b.max[ax0] = INT64_MIN;
    b.min[ax1] = INT64_MAX;
    b.max[ax1] = INT64_MIN;
    size_t inside = 0;
    for (const auto &m : marked) {
        if (m[0] < 0 || m[0] >= d0 || m[1] < 0 || m[1] >= d1) {
            continue;
        }
        ++inside;
        b.min[ax0] = std::min(b.min[ax0], m[0]);
        b.max[ax0] = std::max(b.max[ax0], m[0] + 1);
        b.min[ax1] = std::min(b.min[ax1], m[1]);
        b.max[ax1] = std::max(b.max[ax1], m[1] + 1);
    }
    if (inside == 0 || slice < 0 || slice >= da) {
        throw Error(NNI_ERR_OUT_OF_BOUNDS, "scribble_on_slice: the scribble lies outside the image");
    }
    LassoRegion r;
    r.box = b;
    const int64_t ext[3] = {b.max[0] - b.min[0], b.max[1] - b.min[1], b.max[2] - b.min[2]};
    r.mask.assign(static_cast<size_t>(ext[0] * ext[1] * ext[2]), 0);
    for (const auto &m : marked) {
        if (m[0] < 0 || m[0] >= d0 || m[1] < 0 || m[1] >= d1) {
            continue;
        }
        Index3 local{};
        local[ax0] = m[0] - b.min[ax0];
        local[ax1] = m[1] - b.min[ax1];
        r.mask[static_cast<size_t>((local[2] * ext[1] + local[1]) * ext[0] + local[0])] = 1;
    }
    return r;
}

/// Adds a world-space point (nearest voxel) to `s`; NNI_ERR_OUT_OF_BOUNDS outside the image.
inline Index3 add_world_point(Session &s, const Geometry &g, const Vec3 &world, bool positive = true,
                              bool run_prediction = true)
{
    const Index3 ijk = g.world_to_index(world);
    s.add_point(ijk, positive, run_prediction);
    return ijk;
}

/// Adds a world-space 2D box drawn on a slice (see box_on_slice) to `s`.
inline VoxelBox add_world_box(Session &s, const Geometry &g, const Vec3 &corner_a, const Vec3 &corner_b,
                              const Vec3 &slice_u, const Vec3 &slice_v, bool positive = true,
                              bool run_prediction = true)
{
    const VoxelBox b = box_on_slice(g, corner_a, corner_b, slice_u, slice_v);
    s.add_box(b.min, b.max, positive, run_prediction);
    return b;
}

/// Adds a world-space lasso drawn on a slice (see lasso_on_slice) to `s`, as a region.
inline LassoRegion add_world_lasso(Session &s, const Geometry &g, const std::vector<Vec3> &world_polygon,
                                   bool positive = true, bool run_prediction = true)
{
    LassoRegion r = lasso_on_slice(g, world_polygon);
    s.add_lasso_region(r.box.min, r.box.max, r.mask, positive, run_prediction);
    return r;
}


/// Adds a world-space scribble drawn on a slice (see scribble_on_slice) to `s`, as a region.
inline LassoRegion add_world_scribble(Session &s, const Geometry &g, const std::vector<Vec3> &stroke,
                                      const Vec3 &slice_normal, double brush_radius = 0.0, bool positive = true,
                                      bool run_prediction = true)
{
    LassoRegion r = scribble_on_slice(g, stroke, slice_normal, brush_radius);
    s.add_scribble_region(r.box.min, r.box.max, r.mask, positive, run_prediction);
    return r;
}

} // namespace geom
} // namespace nni

#endif // NNINTERACTIVE_GEOMETRY_HPP
