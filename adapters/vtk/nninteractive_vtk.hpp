// nninteractive_vtk.hpp: header-only VTK adapter for the nninteractive C++ binding (namespace
// nni::vtk). C++17, VTK 9 (tested with Debian's libvtk9-dev, VTK 9.1).
//
//   #include "nninteractive_vtk.hpp"   // with bindings/cpp and include/ on the include path
//
//   nni::Session s(model);
//   // The vtkImageData's own geometry (origin, spacing, direction matrix, extent) ...
//   nni::vtk::Geometry g = nni::vtk::set_image(s, image);
//   // ... or Slicer's convention: the image data is an index grid and the real geometry is an
//   // IJK-to-RAS 4x4 matrix (vtkMRMLVolumeNode::GetIJKToRASMatrix); points are then RAS.
//   nni::vtk::Geometry g = nni::vtk::set_image(s, image, ijkToRas);
//   nni::vtk::add_world_point(s, g, ras);
//   nni::vtk::add_world_box(s, g, corner_a, corner_b, slice_u, slice_v); // e.g. columns of
//                                                                         // the slice's XYToRAS
//   nni::vtk::add_world_lasso(s, g, polygon);
//   nni::vtk::add_world_scribble(s, g, stroke, slice_normal, 1.0);       // brush stroke
//   vtkSmartPointer<vtkImageData> mask = nni::vtk::get_mask(s, image);   // same geometry
//
// Indices: session index (0, 0, 0) is the first voxel of the scalar buffer, i.e. VTK structured
// index (extent[0], extent[2], extent[4]). An IJK-to-RAS matrix maps VTK structured indices
// (as in Slicer, whose extents start at 0). World points are rounded to the nearest voxel half
// up, like the ITK adapter. VTK allows negative spacing: it is folded into the direction.
#ifndef NNINTERACTIVE_VTK_HPP
#define NNINTERACTIVE_VTK_HPP

#include "../common/nninteractive_geometry.hpp"

#include <vtkDataArray.h>
#include <vtkImageData.h>
#include <vtkMatrix3x3.h>
#include <vtkMatrix4x4.h>
#include <vtkPointData.h>
#include <vtkSmartPointer.h>
#include <vtkType.h>

#include <cstring>
#include <vector>

namespace nni {
namespace vtk {

using Geometry = geom::Geometry;
using VoxelBox = geom::VoxelBox;
using LassoRegion = geom::LassoRegion;

inline Vec3 to_vec(const double p[3]) noexcept { return {p[0], p[1], p[2]}; }

/// Dims of the image's extent, and the structured index of its first voxel.
inline Dims3 dims_of(vtkImageData *image, Index3 *first = nullptr)
{
    if (image == nullptr) {
        throw Error(NNI_ERR_NULL_POINTER, "nni::vtk: image is null");
    }
    int ext[6];
    image->GetExtent(ext);
    Dims3 d{};
    for (int a = 0; a < 3; ++a) {
        const int n = ext[2 * a + 1] - ext[2 * a] + 1;
        d[static_cast<size_t>(a)] = n > 0 ? static_cast<uint64_t>(n) : 0;
        if (first != nullptr) {
            (*first)[static_cast<size_t>(a)] = ext[2 * a];
        }
    }
    return d;
}

/// The geometry of `image`: its own origin, spacing and direction matrix when `ijk_to_world` is
/// null; else that 4x4 matrix (e.g. Slicer's IJK-to-RAS), the image's own geometry ignored.
inline Geometry geometry_of(vtkImageData *image, vtkMatrix4x4 *ijk_to_world = nullptr)
{
    Index3 first{};
    const Dims3 dims = dims_of(image, &first);
    std::array<double, 16> m{};
    if (ijk_to_world != nullptr) {
        for (int r = 0; r < 4; ++r) {
            for (int c = 0; c < 4; ++c) {
                m[static_cast<size_t>(r * 4 + c)] = ijk_to_world->GetElement(r, c);
            }
        }
    } else {
        // VTK 9: world = origin + D * diag(spacing) * ijk (vtkImageData::ComputeIndexToPhysicalMatrix).
        const double *origin = image->GetOrigin();
        const double *spacing = image->GetSpacing();
        vtkMatrix3x3 *d = image->GetDirectionMatrix();
        for (int r = 0; r < 3; ++r) {
            for (int c = 0; c < 3; ++c) {
                m[static_cast<size_t>(r * 4 + c)] = (d != nullptr ? d->GetElement(r, c) : (r == c ? 1.0 : 0.0)) * spacing[c];
            }
            m[static_cast<size_t>(r * 4 + 3)] = origin[r];
        }
        m[15] = 1.0;
    }
    return Geometry::from_matrix(dims, m, first);
}

/// Sets `image` (one scalar component) into `s` with its geometry (see geometry_of); returns it.
/// VTK_UNSIGNED_CHAR, VTK_SHORT, VTK_UNSIGNED_SHORT, VTK_INT, VTK_FLOAT and VTK_DOUBLE scalars
/// are passed as they are; other scalar types are converted to double first.
inline Geometry set_image(Session &s, vtkImageData *image, vtkMatrix4x4 *ijk_to_world = nullptr)
{
    const Geometry g = geometry_of(image, ijk_to_world);
    vtkDataArray *scalars = image->GetPointData() != nullptr ? image->GetPointData()->GetScalars() : nullptr;
    if (scalars == nullptr || scalars->GetNumberOfComponents() != 1 ||
        static_cast<size_t>(scalars->GetNumberOfTuples()) != g.voxel_count()) {
        throw Error(NNI_ERR_INVALID_ARGUMENT,
                    "nni::vtk::set_image: the image needs one-component scalars covering its extent");
    }
    const void *ptr = scalars->GetVoidPointer(0);
    int32_t dtype = 0;
    switch (scalars->GetDataType()) {
    case VTK_UNSIGNED_CHAR: dtype = NNI_DTYPE_UINT8; break;
    case VTK_SHORT: dtype = NNI_DTYPE_INT16; break;
    case VTK_UNSIGNED_SHORT: dtype = NNI_DTYPE_UINT16; break;
    case VTK_INT: dtype = sizeof(int) == 4 ? NNI_DTYPE_INT32 : 0; break;
    case VTK_FLOAT: dtype = NNI_DTYPE_FLOAT32; break;
    case VTK_DOUBLE: dtype = NNI_DTYPE_FLOAT64; break;
    default: break;
    }
    if (dtype != 0) {
        s.set_image(g.describe(ptr, dtype));
    } else {
        std::vector<double> copy(g.voxel_count());
        for (vtkIdType t = 0; t < static_cast<vtkIdType>(copy.size()); ++t) {
            copy[static_cast<size_t>(t)] = scalars->GetComponent(t, 0);
        }
        s.set_image(g.describe(copy.data(), NNI_DTYPE_FLOAT64));
    }
    return g;
}

/// Session index -> VTK structured index of `image`.
inline Index3 buffer_index_to_vtk(vtkImageData *image, const Index3 &ijk)
{
    Index3 first{};
    dims_of(image, &first);
    return {ijk[0] + first[0], ijk[1] + first[1], ijk[2] + first[2]};
}

/// Nearest voxel (session index) of a world point (RAS with an IJK-to-RAS geometry).
inline Index3 world_to_index(const Geometry &g, const Vec3 &p) { return g.world_to_index(p); }

/// Adds a point at the voxel nearest the world point `p`.
inline Index3 add_world_point(Session &s, const Geometry &g, const Vec3 &p, bool positive = true,
                              bool run_prediction = true)
{
    return geom::add_world_point(s, g, p, positive, run_prediction);
}

/// The voxel box of a 2D box drawn on a slice of any orientation; see geom::box_on_slice.
inline VoxelBox box_on_slice(const Geometry &g, const Vec3 &a, const Vec3 &b, const Vec3 &u, const Vec3 &v)
{
    return geom::box_on_slice(g, a, b, u, v);
}

/// Adds the box of box_on_slice().
inline VoxelBox add_world_box(Session &s, const Geometry &g, const Vec3 &a, const Vec3 &b, const Vec3 &u,
                              const Vec3 &v, bool positive = true, bool run_prediction = true)
{
    return geom::add_world_box(s, g, a, b, u, v, positive, run_prediction);
}

/// A lasso polygon (world points on one slice, any orientation) as a one-voxel-thick region.
inline LassoRegion lasso_on_slice(const Geometry &g, const std::vector<Vec3> &polygon)
{
    return geom::lasso_on_slice(g, polygon);
}

/// Adds the lasso of lasso_on_slice() (nni_session_add_lasso_region).
inline LassoRegion add_world_lasso(Session &s, const Geometry &g, const std::vector<Vec3> &polygon,
                                   bool positive = true, bool run_prediction = true)
{
    return geom::add_world_lasso(s, g, polygon, positive, run_prediction);
}

/// A scribble (world points in drawing order) on the slice with world normal `normal`, as a
/// one-voxel-thick region; `brush_radius` in voxels. See geom::scribble_on_slice.
inline LassoRegion scribble_on_slice(const Geometry &g, const std::vector<Vec3> &stroke, const Vec3 &normal,
                                     double brush_radius = 0.0)
{
    return geom::scribble_on_slice(g, stroke, normal, brush_radius);
}

/// Adds the scribble of scribble_on_slice() (nni_session_add_scribble_region).
inline LassoRegion add_world_scribble(Session &s, const Geometry &g, const std::vector<Vec3> &stroke,
                                      const Vec3 &normal, double brush_radius = 0.0, bool positive = true,
                                      bool run_prediction = true)
{
    return geom::add_world_scribble(s, g, stroke, normal, brush_radius, positive, run_prediction);
}

/// The session's mask (0/1, VTK_UNSIGNED_CHAR) as a new vtkImageData with exactly `reference`'s
/// geometry: extent, origin, spacing and direction matrix. (With an IJK-to-RAS geometry the same
/// matrix applies to the mask.) `reference` must be the image given to set_image.
inline vtkSmartPointer<vtkImageData> get_mask(const Session &s, vtkImageData *reference)
{
    if (reference == nullptr) {
        throw Error(NNI_ERR_NULL_POINTER, "nni::vtk::get_mask: reference is null");
    }
    auto out = vtkSmartPointer<vtkImageData>::New();
    out->SetExtent(reference->GetExtent());
    out->SetOrigin(reference->GetOrigin());
    out->SetSpacing(reference->GetSpacing());
    if (reference->GetDirectionMatrix() != nullptr) {
        out->SetDirectionMatrix(reference->GetDirectionMatrix()->GetData()); // a copy
    }
    out->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
    const size_t n = detail::dims_voxels(dims_of(reference));
    s.get_mask(static_cast<uint8_t *>(out->GetScalarPointer()), n);
    return out;
}

} // namespace vtk
} // namespace nni

#endif // NNINTERACTIVE_VTK_HPP
