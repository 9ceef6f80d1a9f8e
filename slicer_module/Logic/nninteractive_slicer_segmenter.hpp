// nninteractive_slicer_segmenter.hpp: what the Slicer module's logic does, in VTK terms only,
// so it is compiled and tested here (slicer_module/test) against Debian's VTK without a Slicer
// build. Header-only, C++17, VTK 9.
//
// Slicer keeps a volume as a vtkImageData index grid plus an IJK-to-RAS matrix, takes prompts
// from markups (control points in world RAS: fiducials, ROIs, open and closed curves) and keeps
// each segment as a binary labelmap. SegmentSegmenter is the logic's engine: the volume
// converted once and shared by one session per segment (switching segments keeps each one's
// prompts and history; a segment is seeded again only when its labelmap changed), one active
// segment at a time (its labelmap resampled onto the volume's grid by the caller, as
// vtkSlicerNNInteractiveLogic does), world (RAS) prompts through the VTK adapter, a preview
// labelmap refreshed region by region, apply into the segment's labelmap, undo and redo of any
// depth, reset.
//
//   nni::slicer::SegmentSegmenter seg(nni::SessionOptions{model});
//   seg.SetVolume(volumeNode->GetImageData(), ijkToWorld);  // IJK-to-RAS (with parent transforms)
//   seg.ActivateSegment(segmentLabelmapOnVolumeGrid, "Segment_1");  // or nullptr: a new one
//   seg.AddPoint(ras, true);
//   seg.AddROI(roiCornersRas, true);                        // vtkMRMLMarkupsROINode corners
//   seg.AddClosedCurve(curvePointsRas, false);              // a negative lasso
//   seg.ApplyTo(segmentLabelmapOnVolumeGrid);               // then into the segmentation node
//
// Every method leaves everything unchanged when it throws (nni::Error).
#ifndef NNINTERACTIVE_SLICER_SEGMENTER_HPP
#define NNINTERACTIVE_SLICER_SEGMENTER_HPP

#include "../../adapters/common/nninteractive_segmenter.hpp"
#include "../../adapters/vtk/nninteractive_vtk.hpp"

#include <vtkImageData.h>
#include <vtkMatrix4x4.h>
#include <vtkSmartPointer.h>

#include <array>
#include <string>
#include <vector>

namespace nni {
namespace slicer {

/// A point in world RAS.
using Ras = Vec3;

/// The 8 corners of a box with centre `centre`, full side lengths `size` (along its own axes)
/// and orientation `axes` (columns: the box's x, y, z axes in world RAS, unit length), e.g. a
/// vtkMRMLMarkupsROINode's GetCenterWorld, GetSize and the rotation of GetObjectToWorldMatrix.
inline std::vector<Ras> box_corners(const Ras &centre, const Vec3 &size, const Mat3 &axes)
{
    std::vector<Ras> corners;
    for (int c = 0; c < 8; ++c) {
        Ras p = centre;
        for (size_t a = 0; a < 3; ++a) {
            const double half = 0.5 * size[a] * (((c >> a) & 1) != 0 ? 1.0 : -1.0);
            for (size_t r = 0; r < 3; ++r) {
                p[r] += axes[r * 3 + a] * half;
            }
        }
        corners.push_back(p);
    }
    return corners;
}

/// The Slicer logic's engine: see the file comment.
class SegmentSegmenter {
public:
    /// Loads the model (nni::Error on failure).
    explicit SegmentSegmenter(const SessionOptions &options) : seg_(options) {}

    /// Sets the volume: `image` (one scalar component; Slicer's index grid) and `ijk_to_world`,
    /// the matrix from its structured IJK indices to world RAS (the volume node's IJK-to-RAS,
    /// times its parent transform's matrix when it has one). Drops the active segment, every
    /// prompt and the preview. On failure the previous volume stays.
    void SetVolume(vtkImageData *image, vtkMatrix4x4 *ijk_to_world)
    {
        if (image == nullptr || ijk_to_world == nullptr) {
            throw Error(NNI_ERR_NULL_POINTER, "slicer: the volume image or its IJK-to-RAS matrix is null");
        }
        auto preview = vtkSmartPointer<vtkImageData>::New();
        preview->SetExtent(image->GetExtent());
        preview->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
        const nni::vtk::Geometry g = nni::vtk::set_image(seg_.session(), image, ijk_to_world);
        seg_.attach(g);
        std::fill_n(static_cast<uint8_t *>(preview->GetScalarPointer()), g.voxel_count(), uint8_t(0));
        preview_ = preview;
    }

    /// Makes the segment `segment_id` the one the next prompts refine. `labelmap` is its binary
    /// labelmap on the volume's grid (same extent; any scalar type, nonzero = in the segment), or
    /// null for a new, empty segment. A segment seen before whose labelmap has not changed since
    /// goes on where it was (prompts, prediction, undo history); otherwise its voxels seed it.
    /// The preview shows the segment's current prediction.
    void ActivateSegment(vtkImageData *labelmap, const std::string &segment_id = std::string())
    {
        require_volume();
        const uint64_t key = std::hash<std::string>{}(segment_id);
        if (labelmap == nullptr) {
            seg_.activate_object(key, nullptr, voxel_count(), uint8_t(1), preview_buffer());
        } else {
            const std::vector<uint8_t> binary = binary_of(labelmap);
            seg_.activate_object(key, binary.data(), binary.size(), uint8_t(1), preview_buffer());
        }
        preview_->Modified();
    }

    /// True while a segment is active.
    bool HasActiveSegment() const noexcept { return seg_.active() != 0; }

    /// A click at the world point `ras` (e.g. a fiducial's control point, GetNthControlPointPositionWorld).
    Index3 AddPoint(const Ras &ras, bool positive = true) { return touched(seg_.point(ras, positive)); }

    /// A box from its world corners (box_corners() of a ROI node; a flat ROI is a 2D box).
    nni::vtk::VoxelBox AddROI(const std::vector<Ras> &corners, bool positive = true)
    {
        return touched(seg_.box_corners(corners, positive));
    }

    /// A 2D box drawn on a slice: opposite corners `a`, `b`, the slice's in-plane directions
    /// `u`, `v` (the first two columns of the slice node's XY-to-RAS matrix).
    nni::vtk::VoxelBox AddSliceBox(const Ras &a, const Ras &b, const Vec3 &u, const Vec3 &v, bool positive = true)
    {
        return touched(seg_.box(a, b, u, v, positive));
    }

    /// A lasso: a closed curve's control points (world RAS), drawn on one slice.
    nni::vtk::LassoRegion AddClosedCurve(const std::vector<Ras> &points, bool positive = true)
    {
        return touched(seg_.lasso(points, positive));
    }

    /// A scribble: an open curve's points (world RAS, in drawing order) on the slice with world
    /// normal `slice_normal` (the third column of the slice's XY-to-RAS); `brush_radius` voxels.
    nni::vtk::LassoRegion AddOpenCurve(const std::vector<Ras> &points, const Vec3 &slice_normal,
                                       double brush_radius = 1.0, bool positive = true)
    {
        return touched(seg_.scribble(points, slice_normal, brush_radius, positive));
    }

    /// Undoes the segment's last prompt; repeated, steps back through its prompts since it was
    /// seeded, reset or applied. False when there is none.
    bool Undo() { return touched(seg_.undo()); }

    /// Re-applies the prompt Undo() took back last (no network run); false when none.
    bool Redo() { return touched(seg_.redo()); }

    /// AutoZoom on or off for every segment.
    void SetAutoZoom(bool on) { seg_.set_autozoom(on); }

    /// Drops the prompts: the preview returns to the segment as activated (or last applied).
    void ResetInteractions()
    {
        seg_.reset();
        preview_->Modified();
    }

    /// Writes the prediction into `labelmap` (the segment's binary labelmap on the volume's
    /// grid, VTK_UNSIGNED_CHAR, same extent; allocated and zeroed when it has no scalars): 1
    /// where predicted, 0 where the segment no longer is. Only the regions prompts touched are
    /// visited. Returns the number of voxels changed.
    size_t ApplyTo(vtkImageData *labelmap)
    {
        require_volume();
        if (labelmap == nullptr) {
            throw Error(NNI_ERR_NULL_POINTER, "slicer: the segment labelmap is null");
        }
        const bool unallocated = labelmap->GetPointData() == nullptr || labelmap->GetPointData()->GetScalars() == nullptr;
        if (unallocated) {
            labelmap->SetExtent(preview_->GetExtent());
            labelmap->AllocateScalars(VTK_UNSIGNED_CHAR, 1);
            std::fill_n(static_cast<uint8_t *>(labelmap->GetScalarPointer()), voxel_count(), uint8_t(0));
        } else {
            check_grid(labelmap);
            // (the scalars' own type: vtkImageData::GetScalarType() is gone in VTK 9.6)
            vtkDataArray *scalars = labelmap->GetPointData()->GetScalars();
            if (scalars->GetDataType() != VTK_UNSIGNED_CHAR || scalars->GetNumberOfComponents() != 1 ||
                static_cast<size_t>(scalars->GetNumberOfTuples()) != voxel_count()) {
                throw Error(NNI_ERR_INVALID_ARGUMENT, "slicer: ApplyTo wants a one-component unsigned char labelmap");
            }
        }
        const size_t changed = seg_.commit(static_cast<uint8_t *>(labelmap->GetScalarPointer()), voxel_count());
        if (changed > 0) {
            labelmap->Modified();
        }
        return changed;
    }

    /// The preview: 1 where the session predicts the segment, 0 elsewhere, on the volume's
    /// grid (same extent; its geometry is SetVolume's IJK-to-world). Updated in place, region by
    /// region.
    vtkImageData *GetPreview() const noexcept { return preview_; }

    /// The region (session indices = VTK indices minus the extent's start) the last prompt,
    /// undo or reset refreshed in the preview.
    Region LastChangedRegion() const noexcept { return seg_.last_changed(); }

    /// The geometry prompts are mapped with.
    const nni::vtk::Geometry &GetGeometry() const noexcept { return seg_.geometry(); }

    /// The volume's session (the image every segment's session shares).
    Session &GetSession() noexcept { return seg_.session(); }

private:
    size_t voxel_count() const noexcept { return seg_.geometry().voxel_count(); }
    uint8_t *preview_buffer() { return static_cast<uint8_t *>(preview_->GetScalarPointer()); }
    void require_volume() const
    {
        if (!preview_) {
            throw Error(NNI_ERR_NO_IMAGE, "slicer: set the volume first");
        }
    }
    void check_grid(vtkImageData *labelmap) const
    {
        int ext[6], mine[6];
        labelmap->GetExtent(ext);
        preview_->GetExtent(mine);
        for (int a = 0; a < 6; ++a) {
            if (ext[a] != mine[a]) {
                throw Error(NNI_ERR_INVALID_ARGUMENT,
                            "slicer: the segment labelmap is not on the volume's grid (resample it first)");
            }
        }
    }
    std::vector<uint8_t> binary_of(vtkImageData *labelmap) const
    {
        check_grid(labelmap);
        vtkDataArray *scalars = labelmap->GetPointData() != nullptr ? labelmap->GetPointData()->GetScalars() : nullptr;
        if (scalars == nullptr || static_cast<size_t>(scalars->GetNumberOfTuples()) != voxel_count()) {
            throw Error(NNI_ERR_INVALID_ARGUMENT, "slicer: the segment labelmap has no scalars");
        }
        std::vector<uint8_t> out(voxel_count());
        if (scalars->GetDataType() == VTK_UNSIGNED_CHAR && scalars->GetNumberOfComponents() == 1) {
            const auto *p = static_cast<const uint8_t *>(scalars->GetVoidPointer(0));
            for (size_t at = 0; at < out.size(); ++at) {
                out[at] = p[at] != 0 ? 1 : 0;
            }
        } else {
            for (size_t at = 0; at < out.size(); ++at) {
                out[at] = scalars->GetComponent(static_cast<vtkIdType>(at), 0) != 0.0 ? 1 : 0;
            }
        }
        return out;
    }
    template <class R> R touched(R result)
    {
        if (!seg_.last_changed().empty()) {
            preview_->Modified();
        }
        return result;
    }

    edit::Segmenter<uint8_t> seg_;
    vtkSmartPointer<vtkImageData> preview_;
};

} // namespace slicer
} // namespace nni

#endif // NNINTERACTIVE_SLICER_SEGMENTER_HPP
