// nninteractive_mitk_segmenter.hpp: what the MITK tool does, in ITK terms only, so it is
// compiled and tested here (mitk_module/test) without an MITK SDK. Header-only, C++17, ITK 5.
//
// MITK keeps a multi-label segmentation as label group images (itk::Image<mitk::Label::PixelType
// = unsigned short, 3> in the reference image's geometry) and shows a tool's result as a
// preview until the user confirms it (mitk::SegWithPreviewTool). LabelSegmenter is that tool's
// engine: the reference image converted once and shared by one session per label (switching
// labels keeps each one's prompts and history; a label is seeded again only when its voxels
// changed in the group image), one active label at a time, world (LPS) prompts through the ITK
// adapter, a preview image refreshed region by region, confirm into the group image respecting
// locked labels, undo and redo of any depth, reset.
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

#include "../../adapters/common/nninteractive_segmenter.hpp"
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

/// The MITK tool's engine: see the file comment. ITK types over nni::edit::Segmenter.
class LabelSegmenter {
public:
    /// Loads the model (nni::Error on failure).
    explicit LabelSegmenter(const SessionOptions &options) : seg_(options) {}

    /// Sets the image to segment (its buffered region, with its geometry); drops the active
    /// label, every prompt and the preview. On failure the previous image stays.
    template <class T> void SetReferenceImage(const ::itk::Image<T, 3> *image)
    {
        if (image == nullptr) {
            throw Error(NNI_ERR_NULL_POINTER, "mitk_tool: the reference image is null");
        }
        auto preview = LabelImage::New();
        preview->CopyInformation(image);
        preview->SetRegions(image->GetBufferedRegion());
        preview->Allocate(true);
        const nni::itk::Geometry g = nni::itk::set_image(seg_.session(), image);
        seg_.attach(g);
        preview_ = preview;
    }

    /// Makes `value` (> 0) of `group` (a label group image on the reference grid) the label the
    /// next prompts refine: its current voxels seed the session and fill the preview.
    void ActivateLabel(const LabelImage *group, LabelPixel value)
    {
        require_image();
        check_grid(group, "the label group image");
        seg_.activate(group->GetBufferPointer(), voxel_count(), value, preview_->GetBufferPointer());
        preview_->Modified();
    }

    /// The active label (0 = none).
    LabelPixel ActiveLabel() const noexcept { return seg_.active(); }

    /// A click at the physical (LPS) point `p`.
    Index3 AddPoint(const PointType &p, bool positive = true)
    {
        return touched(seg_.point(nni::itk::to_vec(p), positive));
    }

    /// A 2D box drawn on a slice (e.g. an mitk::PlanarRectangle): opposite corners `a`, `b`,
    /// in-plane directions `u`, `v` (the plane geometry's axis vectors).
    nni::itk::VoxelBox AddBox(const PointType &a, const PointType &b, const VectorType &u, const VectorType &v,
                              bool positive = true)
    {
        return touched(seg_.box(nni::itk::to_vec(a), nni::itk::to_vec(b), nni::itk::to_vec(u),
                                nni::itk::to_vec(v), positive));
    }

    /// A scribble (a brush stroke, points in drawing order) on the slice with normal `normal`;
    /// `brush_radius` in voxels.
    nni::itk::LassoRegion AddScribble(const std::vector<PointType> &stroke, const VectorType &normal,
                                      double brush_radius = 1.0, bool positive = true)
    {
        return touched(seg_.scribble(nni::itk::to_vecs(stroke), nni::itk::to_vec(normal), brush_radius, positive));
    }

    /// A closed lasso contour on a slice.
    nni::itk::LassoRegion AddLasso(const std::vector<PointType> &contour, bool positive = true)
    {
        return touched(seg_.lasso(nni::itk::to_vecs(contour), positive));
    }

    /// A scribble or lasso drawn by one of MITK's 2D tools into `mask` (an image on the
    /// reference grid, nonzero = drawn), looked for inside `search` (buffer indices, usually
    /// the slice drawn on; empty = the whole image). Only the drawn voxels' box is sent.
    /// NNI_ERR_INVALID_ARGUMENT when nothing is drawn there.
    Region AddDrawnMask(const MaskImage *mask, bool lasso, bool positive = true, const Region &search = {})
    {
        require_image();
        check_grid(mask, "the drawn mask");
        return touched(seg_.drawn(mask->GetBufferPointer(), voxel_count(), lasso, positive, search));
    }

    /// Re-applies the prompt Undo() took back last (no network run); false when none.
    bool Redo() { return touched(seg_.redo()); }

    /// AutoZoom on or off for every label.
    void SetAutoZoom(bool on) { seg_.set_autozoom(on); }

    /// Undoes the label's last prompt; repeated, steps back through its prompts; false when
    /// there is none since the label was seeded, reset or confirmed.
    bool Undo() { return touched(seg_.undo()); }

    /// Drops the active label's prompts: the preview returns to the label as activated (or as
    /// last confirmed).
    void ResetInteractions()
    {
        seg_.reset();
        preview_->Modified();
    }

    /// Writes the preview into `group` as the active label: predicted voxels become the label
    /// unless they hold a label for which `locked` returns true; the label's voxels outside the
    /// prediction become unlabeled. Only the regions prompts touched are visited. The result
    /// seeds further prompts. Returns the number of voxels changed.
    size_t ConfirmInto(LabelImage *group, const std::function<bool(LabelPixel)> &locked = nullptr)
    {
        require_image();
        check_grid(group, "the label group image");
        const size_t changed = seg_.commit(group->GetBufferPointer(), voxel_count(), locked);
        if (changed > 0) {
            group->Modified();
        }
        return changed;
    }

    /// The preview: the active label's value where the session predicts it, 0 elsewhere, on
    /// the reference grid. Updated in place, region by region (see LastChangedRegion()).
    const LabelImage *GetPreview() const noexcept { return preview_.GetPointer(); }

    /// The region (buffer indices) the last prompt, undo or reset refreshed in the preview.
    Region LastChangedRegion() const noexcept { return seg_.last_changed(); }

    /// The geometry the prompts are mapped with.
    const nni::itk::Geometry &GetGeometry() const noexcept { return seg_.geometry(); }

    /// The reference image's session (the image every label's session shares).
    Session &GetSession() noexcept { return seg_.session(); }

private:
    size_t voxel_count() const noexcept { return seg_.geometry().voxel_count(); }
    void require_image() const
    {
        if (!preview_) {
            throw Error(NNI_ERR_NO_IMAGE, "mitk_tool: set the reference image first");
        }
    }
    void check_grid(const ::itk::ImageBase<3> *image, const char *what) const
    {
        if (image == nullptr) {
            throw Error(NNI_ERR_NULL_POINTER, std::string("mitk_tool: ") + what + " is null");
        }
        if (!same_grid(image, preview_.GetPointer())) {
            throw Error(NNI_ERR_INVALID_ARGUMENT,
                        std::string("mitk_tool: ") + what + " is not on the reference image's grid");
        }
    }
    /// Marks the preview modified after a call that refreshed it; passes the result through.
    template <class R> R touched(R result)
    {
        if (!seg_.last_changed().empty()) {
            preview_->Modified();
        }
        return result;
    }

    edit::Segmenter<LabelPixel> seg_;
    LabelImage::Pointer preview_;
};

} // namespace mitk_tool
} // namespace nni

#endif // NNINTERACTIVE_MITK_SEGMENTER_HPP
