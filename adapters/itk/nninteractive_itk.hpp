// nninteractive_itk.hpp: header-only ITK adapter for the nninteractive C++ binding (namespace
// nni::itk). C++17, ITK 5 (tested with Debian's libinsighttoolkit5-dev, ITK 5.2).
//
//   #include "nninteractive_itk.hpp"   // with bindings/cpp and include/ on the include path
//
//   nni::Session s(model);
//   const nni::itk::Geometry g = nni::itk::set_image(s, image.GetPointer()); // any itk::Image<T,3>
//   nni::itk::add_world_point(s, g, click_lps);                              // itk::Point, LPS mm
//   nni::itk::add_world_box(s, g, corner_a, corner_b, slice_u, slice_v);     // 2D box on any slice
//   nni::itk::add_world_lasso(s, g, polygon_lps);                            // lasso on any slice
//   nni::itk::add_world_scribble(s, g, stroke_lps, slice_normal, 1.0);       // brush stroke
//   itk::Image<unsigned char, 3>::Pointer mask = nni::itk::get_mask(s, image.GetPointer());
//
// Geometry: the image's buffered region is what is segmented. Its spacing, direction and the
// world position of its first voxel (origin when the buffered region starts at index 0) go into
// nni_image_desc. Points are ITK physical points (LPS in ITK/MITK); they are turned into the
// nearest voxel exactly like itk::ImageBase::TransformPhysicalPointToIndex (round half up).
// Session indices are counted from the buffered region's first voxel; buffer_index_to_itk()
// and itk_index_to_buffer() convert. The mask comes back with the reference image's
// information (CopyInformation: origin, spacing, direction, largest region) and buffered region.
#ifndef NNINTERACTIVE_ITK_HPP
#define NNINTERACTIVE_ITK_HPP

#include "../common/nninteractive_geometry.hpp"

#include <itkImage.h>
#include <itkImageBase.h>
#include <itkPoint.h>
#include <itkVector.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

namespace nni {
namespace itk {

using Geometry = geom::Geometry;
using VoxelBox = geom::VoxelBox;
using LassoRegion = geom::LassoRegion;
using PointType = ::itk::Point<double, 3>;
using VectorType = ::itk::Vector<double, 3>;
using MaskImageType = ::itk::Image<unsigned char, 3>;

inline Vec3 to_vec(const PointType &p) noexcept { return {p[0], p[1], p[2]}; }
inline Vec3 to_vec(const VectorType &v) noexcept { return {v[0], v[1], v[2]}; }
/// Physical points as plain world points.
inline std::vector<Vec3> to_vecs(const std::vector<PointType> &points)
{
    std::vector<Vec3> v;
    v.reserve(points.size());
    for (const PointType &p : points) {
        v.push_back(to_vec(p));
    }
    return v;
}

/// The geometry of `image`'s buffered region (session index 0 = its first voxel).
inline Geometry geometry_of(const ::itk::ImageBase<3> *image)
{
    if (image == nullptr) {
        throw Error(NNI_ERR_NULL_POINTER, "nni::itk: image is null");
    }
    const auto region = image->GetBufferedRegion();
    Dims3 dims{};
    Vec3 spacing{}, origin{};
    Mat3 dir{};
    PointType first;
    image->TransformIndexToPhysicalPoint(region.GetIndex(), first);
    for (unsigned a = 0; a < 3; ++a) {
        dims[a] = static_cast<uint64_t>(region.GetSize()[a]);
        spacing[a] = image->GetSpacing()[a];
        origin[a] = first[a];
        for (unsigned c = 0; c < 3; ++c) {
            dir[a * 3 + c] = image->GetDirection()(a, c); // row a, column c (column = index axis)
        }
    }
    return Geometry(dims, spacing, origin, dir);
}

/// Session (buffer) index -> ITK index of `image`.
inline ::itk::Index<3> buffer_index_to_itk(const ::itk::ImageBase<3> *image, const Index3 &ijk)
{
    ::itk::Index<3> idx;
    const auto start = image->GetBufferedRegion().GetIndex();
    for (unsigned a = 0; a < 3; ++a) {
        idx[a] = static_cast<::itk::IndexValueType>(ijk[a]) + start[a];
    }
    return idx;
}

/// ITK index of `image` -> session (buffer) index.
inline Index3 itk_index_to_buffer(const ::itk::ImageBase<3> *image, const ::itk::Index<3> &idx)
{
    const auto start = image->GetBufferedRegion().GetIndex();
    return {static_cast<int64_t>(idx[0] - start[0]), static_cast<int64_t>(idx[1] - start[1]),
            static_cast<int64_t>(idx[2] - start[2])};
}

/// Sets `image` (its buffered region) into `s` with its full geometry; returns that geometry.
/// Voxel types the C ABI takes (uint8, int16, uint16, int32, float, double) are passed as they
/// are; other scalar types are converted to double first.
template <class T> Geometry set_image(Session &s, const ::itk::Image<T, 3> *image)
{
    static_assert(std::is_arithmetic<T>::value, "nni::itk::set_image: scalar images only");
    const Geometry g = geometry_of(image);
    const T *buf = image->GetBufferPointer();
    if (buf == nullptr || g.voxel_count() == 0) {
        throw Error(NNI_ERR_INVALID_ARGUMENT, "nni::itk::set_image: the image has no buffer");
    }
    if constexpr (is_voxel_type<T>::value) {
        s.set_image(g.describe(buf, detail::dtype_of<T>::value));
    } else {
        std::vector<double> copy(buf, buf + g.voxel_count());
        s.set_image(g.describe(copy.data(), NNI_DTYPE_FLOAT64));
    }
    return g;
}

/// Nearest voxel (session index) of a physical point, rounded like
/// TransformPhysicalPointToIndex; may lie outside the image (check with g.inside()).
inline Index3 world_to_index(const Geometry &g, const PointType &p) { return g.world_to_index(to_vec(p)); }

/// Adds a positive (or negative) point at the voxel nearest the physical point `p`.
inline Index3 add_world_point(Session &s, const Geometry &g, const PointType &p, bool positive = true,
                              bool run_prediction = true)
{
    return geom::add_world_point(s, g, to_vec(p), positive, run_prediction);
}

/// The voxel box of a 2D box drawn on a slice of any orientation: opposite corners `a`, `b`
/// and the slice's in-plane directions `u`, `v` (physical). See geom::box_on_slice.
inline VoxelBox box_on_slice(const Geometry &g, const PointType &a, const PointType &b, const VectorType &u,
                             const VectorType &v)
{
    return geom::box_on_slice(g, to_vec(a), to_vec(b), to_vec(u), to_vec(v));
}

/// Adds the 2D box of box_on_slice() as a box prompt.
inline VoxelBox add_world_box(Session &s, const Geometry &g, const PointType &a, const PointType &b,
                              const VectorType &u, const VectorType &v, bool positive = true,
                              bool run_prediction = true)
{
    return geom::add_world_box(s, g, to_vec(a), to_vec(b), to_vec(u), to_vec(v), positive, run_prediction);
}

/// A lasso polygon (physical points on one slice, any orientation) as a one-voxel-thick region.
inline LassoRegion lasso_on_slice(const Geometry &g, const std::vector<PointType> &polygon)
{
    return geom::lasso_on_slice(g, to_vecs(polygon));
}

/// Adds the lasso of lasso_on_slice() (nni_session_add_lasso_region).
inline LassoRegion add_world_lasso(Session &s, const Geometry &g, const std::vector<PointType> &polygon,
                                   bool positive = true, bool run_prediction = true)
{
    return geom::add_world_lasso(s, g, to_vecs(polygon), positive, run_prediction);
}

/// A scribble (physical points in drawing order) on the slice with physical normal `normal`,
/// as a one-voxel-thick region; `brush_radius` in voxels. See geom::scribble_on_slice.
inline LassoRegion scribble_on_slice(const Geometry &g, const std::vector<PointType> &stroke,
                                     const VectorType &normal, double brush_radius = 0.0)
{
    return geom::scribble_on_slice(g, to_vecs(stroke), to_vec(normal), brush_radius);
}

/// Adds the scribble of scribble_on_slice() (nni_session_add_scribble_region).
inline LassoRegion add_world_scribble(Session &s, const Geometry &g, const std::vector<PointType> &stroke,
                                      const VectorType &normal, double brush_radius = 0.0, bool positive = true,
                                      bool run_prediction = true)
{
    return geom::add_world_scribble(s, g, to_vecs(stroke), to_vec(normal), brush_radius, positive, run_prediction);
}

/// The session's mask (0/1) as an image with exactly `reference`'s geometry: CopyInformation
/// (origin, spacing, direction, largest possible region) and the same buffered region.
/// `reference` must be the image given to set_image (NNI_ERR_BUFFER_SIZE if the sizes differ).
inline MaskImageType::Pointer get_mask(const Session &s, const ::itk::ImageBase<3> *reference)
{
    if (reference == nullptr) {
        throw Error(NNI_ERR_NULL_POINTER, "nni::itk::get_mask: reference is null");
    }
    MaskImageType::Pointer out = MaskImageType::New();
    out->CopyInformation(reference);
    out->SetBufferedRegion(reference->GetBufferedRegion());
    out->SetRequestedRegion(reference->GetBufferedRegion());
    out->Allocate();
    const size_t n = static_cast<size_t>(reference->GetBufferedRegion().GetNumberOfPixels());
    s.get_mask(out->GetBufferPointer(), n);
    return out;
}

} // namespace itk
} // namespace nni

#endif // NNINTERACTIVE_ITK_HPP
