// nninteractive_mitk_segmenter.hpp: what the MITK tool does, in ITK terms only, so it is
// compiled and tested here (mitk_module/test) without an MITK SDK. Header-only, C++17, ITK 5.
//
// MITK keeps a multi-label segmentation as label group images (itk::Image<mitk::Label::PixelType
// = unsigned short, 3> in the reference image's geometry) and shows a tool's result as a
// preview until the user confirms it (mitk::SegWithPreviewTool). LabelSegmenter is that tool's
// engine: one session over the reference image, one active label at a time, world (LPS)
// prompts through the ITK adapter, a preview image refreshed region by region, confirm into
// the group image respecting locked labels, undo and reset.
//
//   nni::mitk_tool::LabelSegmenter seg(nni::SessionOptions{model});
//   seg.SetReferenceImage(image);                   // any itk::Image<T, 3>
//   seg.ActivateLabel(groupImage, 2);               // label 2's voxels seed the session
//   seg.AddPoint(clickLps, true);                   // preview = label 2's new extent
//   seg.AddLasso(contourLps, false);                // a negative lasso on any slice
//   seg.Undo();
//   seg.ConfirmInto(groupImage, isLocked);          // write label 2 into the group image
//
// Every method leaves everything unchanged when it throws (nni::Error).
#ifndef NNINTERACTIVE_MITK_SEGMENTER_HPP
#define NNINTERACTIVE_MITK_SEGMENTER_HPP

#include "../../adapters/common/nninteractive_editing.hpp"
#include "../../adapters/itk/nninteractive_itk.hpp"

#include <itkImage.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace nni {
namespace mitk_tool {

/// mitk::Label::PixelType.
using LabelPixel = unsigned short;
/// A label group image of an mitk::MultiLabelSegmentation (and the tool's preview).
using LabelImage = ::itk::Image<LabelPixel, 3>;
using PointType = nni::itk::PointType;
using VectorType = nni::itk::VectorType;
/// A drawn scribble or lasso (MITK's 2D tools paint into such an image).
using MaskImage = ::itk::Image<unsigned char, 3>;

/// True when `a` and `b` describe the same voxel grid: buffered region, spacing, origin and
/// direction equal within `eps` (mitk::eps is 1e-6 mm).
inline bool same_grid(const ::itk::ImageBase<3> *a, const ::itk::ImageBase<3> *b, double eps = 1e-6)
{
    if (a->GetBufferedRegion() != b->GetBufferedRegion()) {
        return false;
    }
    for (unsigned r = 0; r < 3; ++r) {
        if (std::fabs(a->GetSpacing()[r] - b->GetSpacing()[r]) > eps ||
            std::fabs(a->GetOrigin()[r] - b->GetOrigin()[r]) > eps) {
            return false;
        }
        for (unsigned c = 0; c < 3; ++c) {
            if (std::fabs(a->GetDirection()(r, c) - b->GetDirection()(r, c)) > eps) {
                return false;
            }
        }
    }
    return true;
}

/// The MITK tool's engine: see the file comment.
class LabelSegmenter {
public:
    /// Loads the model (nni::Error on failure).
    explicit LabelSegmenter(const SessionOptions &options) : session_(options) {}

    /// Sets the image to segment (its buffered region, with its geometry); drops the active
    /// label, every prompt and the preview. On failure the previous image stays.
    template <class T> void SetReferenceImage(const ::itk::Image<T, 3> *image)
    {
        const nni::itk::Geometry g = nni::itk::set_image(session_, image);
        auto preview = LabelImage::New();
        preview->CopyInformation(image);
        preview->SetRegions(image->GetBufferedRegion());
        preview->Allocate(true);
        geometry_ = g;
        reference_ = preview; // keeps the reference grid (the preview has it)
        preview_ = preview;
        editor_ = std::make_unique<edit::ObjectEditor>(session_);
        label_ = 0;
    }

    /// Makes `value` (> 0) of `group` (a label group image on the reference grid) the label the
    /// next prompts refine: its current voxels seed the session and fill the preview.
    void ActivateLabel(const LabelImage *group, LabelPixel value)
    {
        require_image();
        check_group(group);
        if (value == 0) {
            throw Error(NNI_ERR_INVALID_ARGUMENT, "mitk_tool: label value 0 is the unlabeled value");
        }
        const size_t n = voxel_count();
        editor_->begin(group->GetBufferPointer(), n, value);
        // the preview shows exactly the label's voxels
        LabelPixel *p = preview_->GetBufferPointer();
        const LabelPixel *g = group->GetBufferPointer();
        for (size_t at = 0; at < n; ++at) {
            p[at] = g[at] == value ? value : LabelPixel(0);
        }
        label_ = value;
        can_undo_ = false;
        last_changed_ = Region{};
    }

    /// The active label (0 = none).
    LabelPixel ActiveLabel() const noexcept { return label_; }

    /// A click at the physical (LPS) point `p`.
    Index3 AddPoint(const PointType &p, bool positive = true)
    {
        require_label();
        const Index3 ijk = nni::itk::add_world_point(session_, geometry_, p, positive);
        prompted();
        return ijk;
    }

    /// A 2D box drawn on a slice: opposite corners `a`, `b`, in-plane directions `u`, `v`.
    nni::itk::VoxelBox AddBox(const PointType &a, const PointType &b, const VectorType &u, const VectorType &v,
                              bool positive = true)
    {
        require_label();
        const nni::itk::VoxelBox box = nni::itk::add_world_box(session_, geometry_, a, b, u, v, positive);
        prompted();
        return box;
    }

    /// A scribble (a brush stroke, points in drawing order) on the slice with normal `normal`;
    /// `brush_radius` in voxels.
    nni::itk::LassoRegion AddScribble(const std::vector<PointType> &stroke, const VectorType &normal,
                                      double brush_radius = 1.0, bool positive = true)
    {
        require_label();
        nni::itk::LassoRegion r =
            nni::itk::add_world_scribble(session_, geometry_, stroke, normal, brush_radius, positive);
        prompted();
        return r;
    }

    /// A closed lasso contour on a slice.
    nni::itk::LassoRegion AddLasso(const std::vector<PointType> &contour, bool positive = true)
    {
        require_label();
        nni::itk::LassoRegion r = nni::itk::add_world_lasso(session_, geometry_, contour, positive);
        prompted();
        return r;
    }

    /// A scribble or lasso drawn by one of MITK's 2D tools into `mask` (an image on the
    /// reference grid, nonzero = drawn), looked for inside `search` (buffer indices, usually
    /// the slice drawn on; empty = the whole image). Only the drawn voxels' box is sent.
    /// NNI_ERR_INVALID_ARGUMENT when nothing is drawn there.
    Region AddDrawnMask(const MaskImage *mask, bool lasso, bool positive = true, const Region &search = {})
    {
        require_label();
        if (mask == nullptr) {
            throw Error(NNI_ERR_NULL_POINTER, "mitk_tool: the drawn mask is null");
        }
        if (!same_grid(mask, reference_.GetPointer())) {
            throw Error(NNI_ERR_INVALID_ARGUMENT, "mitk_tool: the drawn mask is not on the reference image's grid");
        }
        const edit::DrawnRegion d =
            edit::drawn_region(mask->GetBufferPointer(), voxel_count(), geometry_.dims(), search);
        if (d.box.empty()) {
            throw Error(NNI_ERR_INVALID_ARGUMENT, "mitk_tool: nothing is drawn in the mask");
        }
        if (lasso) {
            session_.add_lasso_region(d.box.min, d.box.max, d.mask, positive);
        } else {
            session_.add_scribble_region(d.box.min, d.box.max, d.mask, positive);
        }
        prompted();
        return d.box;
    }

    /// Undoes the last prompt (one level, as the session); false when there is none since the
    /// label was activated, reset or confirmed.
    bool Undo()
    {
        require_label();
        if (!can_undo_ || !session_.undo()) {
            return false;
        }
        can_undo_ = false;
        refresh();
        return true;
    }

    /// Drops the active label's prompts: the preview returns to the label as activated (or as
    /// last confirmed).
    void ResetInteractions()
    {
        require_label();
        editor_->reset();
        can_undo_ = false;
        refresh();
    }

    /// Writes the preview into `group` as the active label: predicted voxels become the label
    /// unless they hold a label for which `locked` returns true; the label's voxels outside the
    /// prediction become unlabeled. Only the regions prompts touched are visited. The result
    /// seeds further prompts. Returns the number of voxels changed.
    size_t ConfirmInto(LabelImage *group, const std::function<bool(LabelPixel)> &locked = nullptr)
    {
        require_label();
        check_group(group);
        const size_t changed = editor_->commit(group->GetBufferPointer(), voxel_count(), label_, locked);
        if (changed > 0) {
            group->Modified();
        }
        can_undo_ = false;
        return changed;
    }

    /// The preview: the active label's value where the session predicts it, 0 elsewhere, on
    /// the reference grid. Updated in place, region by region (see LastChangedRegion()).
    const LabelImage *GetPreview() const noexcept { return preview_.GetPointer(); }

    /// The region (buffer indices) the last prompt, undo or reset refreshed in the preview.
    Region LastChangedRegion() const noexcept { return last_changed_; }

    /// The geometry the prompts are mapped with.
    const nni::itk::Geometry &GetGeometry() const noexcept { return geometry_; }

    /// The session, for settings (AutoZoom, progress callback, cancel).
    Session &GetSession() noexcept { return session_; }

private:
    size_t voxel_count() const noexcept { return geometry_.voxel_count(); }
    void require_image() const
    {
        if (!editor_) {
            throw Error(NNI_ERR_NO_IMAGE, "mitk_tool: set the reference image first");
        }
    }
    void require_label() const
    {
        require_image();
        if (label_ == 0) {
            throw Error(NNI_ERR_INVALID_ARGUMENT, "mitk_tool: activate a label first");
        }
    }
    void check_group(const LabelImage *group) const
    {
        if (group == nullptr) {
            throw Error(NNI_ERR_NULL_POINTER, "mitk_tool: the label group image is null");
        }
        if (!same_grid(group, reference_.GetPointer())) {
            throw Error(NNI_ERR_INVALID_ARGUMENT,
                        "mitk_tool: the label group image is not on the reference image's grid");
        }
    }
    void prompted()
    {
        can_undo_ = true;
        refresh();
    }
    void refresh()
    {
        last_changed_ = editor_->sync();
        editor_->write_preview(preview_->GetBufferPointer(), voxel_count(), label_, last_changed_);
        if (!last_changed_.empty()) {
            preview_->Modified();
        }
    }

    Session session_;
    nni::itk::Geometry geometry_;
    LabelImage::Pointer reference_;
    LabelImage::Pointer preview_;
    std::unique_ptr<edit::ObjectEditor> editor_;
    LabelPixel label_ = 0;
    bool can_undo_ = false;
    Region last_changed_{};
};

} // namespace mitk_tool
} // namespace nni

#endif // NNINTERACTIVE_MITK_SEGMENTER_HPP
