// nninteractive_segmenter.hpp: a viewer tool's engine, toolkit-free: one session, the image's
// geometry, one active object (a label value) at a time, world prompts of every kind, a
// preview buffer refreshed region by region, commit into the label buffer, undo and reset.
// The MITK tool (mitk_module/core, ITK types) and the Slicer logic (slicer_module/Logic, VTK
// types) are thin typed wrappers over it. Header-only, C++17, depends only on the C++ binding.
//
//   nni::edit::Segmenter<uint16_t> seg(nni::SessionOptions{model});
//   seg.session().set_image(geometry.describe(voxels, NNI_DTYPE_INT16));
//   seg.attach(geometry);                       // after every set_image
//   seg.activate(labels, n, 3, preview);        // label 3; preview: host buffer, image-shaped
//   seg.point(click_world, true);               // preview now shows label 3's prediction
//   seg.commit(labels, n, is_locked);           // accept
//
// Every method leaves everything unchanged when it throws (nni::Error).
#ifndef NNINTERACTIVE_SEGMENTER_HPP
#define NNINTERACTIVE_SEGMENTER_HPP

#include "nninteractive_editing.hpp"
#include "nninteractive_geometry.hpp"

#include <functional>
#include <memory>
#include <vector>

namespace nni {
namespace edit {

/// See the file comment. `L` is the host's label pixel type (MITK: uint16; Slicer: uint8).
template <class L> class Segmenter {
public:
    /// Loads the model (nni::Error on failure).
    explicit Segmenter(const SessionOptions &options) : session_(options) {}

    /// The session: set its image (through an adapter), then attach(); settings (AutoZoom,
    /// progress callback, cancel) go here too.
    Session &session() noexcept { return session_; }

    /// Binds to the image just set in session() with geometry `g`; drops the active object.
    void attach(const geom::Geometry &g)
    {
        auto editor = std::make_unique<ObjectEditor>(session_);
        if (g.dims() != session_.dims()) {
            throw Error(NNI_ERR_INVALID_ARGUMENT, "Segmenter::attach: geometry and session image differ in size");
        }
        editor_ = std::move(editor);
        geometry_ = g;
        value_ = 0;
        preview_ = nullptr;
        can_undo_ = false;
        last_changed_ = Region{};
    }

    /// Makes `value` (> 0) of `labels` (image-shaped, `n` voxels; null = a new, empty object)
    /// the object the next prompts refine; its voxels seed the session. `preview` (a host
    /// buffer, image-shaped, kept alive by the host while active) is filled with the object:
    /// `value` inside, 0 outside, and refreshed after every prompt.
    void activate(const L *labels, size_t n, L value, L *preview)
    {
        require_attached();
        if (value == L(0)) {
            throw Error(NNI_ERR_INVALID_ARGUMENT, "Segmenter: label value 0 is the unlabeled value");
        }
        if (preview == nullptr) {
            throw Error(NNI_ERR_NULL_POINTER, "Segmenter: preview buffer is null");
        }
        if (n != geometry_.voxel_count()) {
            throw Error(NNI_ERR_BUFFER_SIZE, "Segmenter: buffer does not have the image's voxel count");
        }
        if (labels != nullptr) {
            editor_->begin(labels, n, value);
        } else {
            editor_->begin();
        }
        for (size_t at = 0; at < n; ++at) {
            preview[at] = labels != nullptr && labels[at] == value ? value : L(0);
        }
        value_ = value;
        preview_ = preview;
        can_undo_ = false;
        last_changed_ = Region{};
    }

    /// The active label value (0 = none).
    L active() const noexcept { return value_; }

    /// A click at world point `p`.
    Index3 point(const Vec3 &p, bool positive = true)
    {
        require_active();
        const Index3 ijk = geom::add_world_point(session_, geometry_, p, positive);
        prompted();
        return ijk;
    }

    /// A 2D box drawn on a slice: opposite corners `a`, `b`, in-plane directions `u`, `v`.
    geom::VoxelBox box(const Vec3 &a, const Vec3 &b, const Vec3 &u, const Vec3 &v, bool positive = true)
    {
        require_active();
        const geom::VoxelBox r = geom::add_world_box(session_, geometry_, a, b, u, v, positive);
        prompted();
        return r;
    }

    /// A box given by its world corners (a 3D ROI, or a flat one); see geom::box_from_corners.
    geom::VoxelBox box_corners(const std::vector<Vec3> &corners, bool positive = true)
    {
        require_active();
        const geom::VoxelBox r = geom::box_from_corners(geometry_, corners);
        session_.add_box(r.min, r.max, positive);
        prompted();
        return r;
    }

    /// A closed lasso polygon on a slice.
    geom::LassoRegion lasso(const std::vector<Vec3> &polygon, bool positive = true)
    {
        require_active();
        geom::LassoRegion r = geom::add_world_lasso(session_, geometry_, polygon, positive);
        prompted();
        return r;
    }

    /// A scribble (brush stroke, points in drawing order) on the slice with world normal
    /// `normal`; `brush_radius` in voxels.
    geom::LassoRegion scribble(const std::vector<Vec3> &stroke, const Vec3 &normal, double brush_radius = 1.0,
                               bool positive = true)
    {
        require_active();
        geom::LassoRegion r = geom::add_world_scribble(session_, geometry_, stroke, normal, brush_radius, positive);
        prompted();
        return r;
    }

    /// A scribble or lasso a viewer's 2D tool painted into `mask` (image-shaped, nonzero =
    /// drawn), looked for inside `search` (usually the slice drawn on; empty = everywhere).
    /// NNI_ERR_INVALID_ARGUMENT when nothing is drawn there.
    template <class M> Region drawn(const M *mask, size_t n, bool lasso, bool positive = true, const Region &search = {})
    {
        require_active();
        const DrawnRegion d = drawn_region(mask, n, geometry_.dims(), search);
        if (d.box.empty()) {
            throw Error(NNI_ERR_INVALID_ARGUMENT, "Segmenter: nothing is drawn in the mask");
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
    /// object was activated, reset or committed.
    bool undo()
    {
        require_active();
        if (!can_undo_ || !session_.undo()) {
            return false;
        }
        can_undo_ = false;
        refresh();
        return true;
    }

    /// Drops the prompts: the preview returns to the object as activated (or last committed).
    void reset()
    {
        require_active();
        editor_->reset();
        can_undo_ = false;
        refresh();
    }

    /// Writes the prediction into `labels` as the active value; see ObjectEditor::commit().
    /// Returns the number of voxels changed.
    size_t commit(L *labels, size_t n, const std::function<bool(L)> &locked = nullptr)
    {
        require_active();
        const size_t changed = editor_->commit(labels, n, value_, locked);
        can_undo_ = false;
        return changed;
    }

    /// The region the last prompt, undo or reset refreshed in the preview (buffer indices).
    Region last_changed() const noexcept { return last_changed_; }
    /// The geometry prompts are mapped with.
    const geom::Geometry &geometry() const noexcept { return geometry_; }

private:
    void require_attached() const
    {
        if (!editor_) {
            throw Error(NNI_ERR_NO_IMAGE, "Segmenter: set the image first");
        }
    }
    void require_active() const
    {
        require_attached();
        if (value_ == L(0)) {
            throw Error(NNI_ERR_INVALID_ARGUMENT, "Segmenter: activate a label first");
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
        editor_->write_preview(preview_, geometry_.voxel_count(), value_, last_changed_);
    }

    Session session_;
    geom::Geometry geometry_;
    std::unique_ptr<ObjectEditor> editor_;
    L value_ = L(0);
    L *preview_ = nullptr;
    bool can_undo_ = false;
    Region last_changed_{};
};

} // namespace edit
} // namespace nni

#endif // NNINTERACTIVE_SEGMENTER_HPP
