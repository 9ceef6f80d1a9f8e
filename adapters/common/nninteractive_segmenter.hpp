// nninteractive_segmenter.hpp: a viewer tool's engine, toolkit-free: the image's geometry, many
// objects (label values, or segments by key) with one session each on one shared image, world
// prompts of every kind, a preview buffer refreshed region by region, commit into the label
// buffer, undo and redo of any depth, reset. Switching objects keeps each one's prompts and
// history: an object is seeded again from the host's labels only when they changed there.
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
// Memory: one float32 image and one network (sessions of one model file share it) for every
// object, plus each object's mask (one byte per voxel) and sparse prompts; at most
// max_objects() objects are kept (the least recently used other one is dropped, and seeded again
// from the labels when it comes back).
//
// Every method leaves everything unchanged when it throws (nni::Error).
#ifndef NNINTERACTIVE_SEGMENTER_HPP
#define NNINTERACTIVE_SEGMENTER_HPP

#include "nninteractive_editing.hpp"
#include "nninteractive_geometry.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace nni {
namespace edit {

/// See the file comment. `L` is the host's label pixel type (MITK: uint16; Slicer: uint8).
template <class L> class Segmenter {
public:
    /// Loads the model (nni::Error on failure); every object's session is made with `options`.
    explicit Segmenter(const SessionOptions &options, size_t max_objects = 8)
        : options_(options), session_(options), max_objects_(max_objects < 1 ? 1 : max_objects)
    {
    }

    /// The image session: set the image here (through an adapter), then attach(). Objects get
    /// their own sessions on the same image; settings go through set_autozoom().
    Session &session() noexcept { return session_; }

    /// AutoZoom on or off for every object (on by default).
    void set_autozoom(bool on)
    {
        session_.set_autozoom(on);
        for (auto &kv : objects_) {
            kv.second.session->set_autozoom(on);
        }
        options_.autozoom = on;
    }

    /// Binds to the image just set in session() with geometry `g`; drops every object.
    void attach(const geom::Geometry &g)
    {
        if (g.dims() != session_.dims()) {
            throw Error(NNI_ERR_INVALID_ARGUMENT, "Segmenter::attach: geometry and session image differ in size");
        }
        Image image = session_.share_image();
        objects_.clear();
        image_.emplace(std::move(image));
        geometry_ = g;
        active_ = nullptr;
        value_ = 0;
        preview_ = nullptr;
        last_changed_ = Region{};
    }

    /// Makes `value` (> 0) of `labels` (image-shaped, `n` voxels; null = a new, empty object)
    /// the object the next prompts refine; see activate_object() (the object's key is its value).
    void activate(const L *labels, size_t n, L value, L *preview)
    {
        activate_object(static_cast<uint64_t>(value), labels, n, value, preview);
    }

    /// Makes the object `key` (written as `value` > 0 in `labels`) the one the next prompts
    /// refine. A new object, or one whose voxels in `labels` changed since it last saw them,
    /// is seeded from them (its prompts and history dropped); otherwise it goes on where it was,
    /// prompts, prediction and history kept. `preview` (a host buffer, image-shaped, kept alive
    /// by the host while active) is filled with the object's current prediction as `value`.
    void activate_object(uint64_t key, const L *labels, size_t n, L value, L *preview)
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
        auto found = objects_.find(key);
        std::optional<Object> made;
        Object *obj = nullptr;
        if (found != objects_.end()) {
            obj = &found->second;
        } else {
            made.emplace(make_object());
            obj = &*made;
        }
        const bool fresh = made.has_value() || obj->value != value ||
                           !(labels != nullptr ? obj->editor->seed_matches(labels, n, value)
                                               : obj->editor->seed_empty());
        if (fresh) {
            if (labels != nullptr) {
                obj->editor->begin(labels, n, value);
            } else {
                obj->editor->begin();
            }
            obj->undo = obj->redo = 0;
            obj->value = value;
        }
        obj->editor->sync();
        const Region all{{0, 0, 0},
                         {static_cast<int64_t>(geometry_.dims()[0]), static_cast<int64_t>(geometry_.dims()[1]),
                          static_cast<int64_t>(geometry_.dims()[2])}};
        obj->editor->write_preview(preview, n, value, all);
        if (made) {
            if (objects_.size() >= max_objects_) {
                drop_least_recent();
                active_ = nullptr; // it may have been the one dropped; the new object is next
            }
            obj = &objects_.emplace(key, std::move(*made)).first->second;
        }
        obj->used = ++clock_;
        active_ = obj;
        value_ = value;
        preview_ = preview;
        last_changed_ = all;
    }

    /// The active label value (0 = none).
    L active() const noexcept { return value_; }

    /// How many objects are kept now, and at most.
    size_t objects() const noexcept { return objects_.size(); }
    size_t max_objects() const noexcept { return max_objects_; }

    /// A click at world point `p`.
    Index3 point(const Vec3 &p, bool positive = true)
    {
        const Index3 ijk = geom::add_world_point(active_session(), geometry_, p, positive);
        prompted();
        return ijk;
    }

    /// A 2D box drawn on a slice: opposite corners `a`, `b`, in-plane directions `u`, `v`.
    geom::VoxelBox box(const Vec3 &a, const Vec3 &b, const Vec3 &u, const Vec3 &v, bool positive = true)
    {
        const geom::VoxelBox r = geom::add_world_box(active_session(), geometry_, a, b, u, v, positive);
        prompted();
        return r;
    }

    /// A box given by its world corners (a 3D ROI, or a flat one); see geom::box_from_corners.
    geom::VoxelBox box_corners(const std::vector<Vec3> &corners, bool positive = true)
    {
        Session &s = active_session();
        const geom::VoxelBox r = geom::box_from_corners(geometry_, corners);
        s.add_box(r.min, r.max, positive);
        prompted();
        return r;
    }

    /// A closed lasso polygon on a slice.
    geom::LassoRegion lasso(const std::vector<Vec3> &polygon, bool positive = true)
    {
        geom::LassoRegion r = geom::add_world_lasso(active_session(), geometry_, polygon, positive);
        prompted();
        return r;
    }

    /// A scribble (brush stroke, points in drawing order) on the slice with world normal
    /// `normal`; `brush_radius` in voxels.
    geom::LassoRegion scribble(const std::vector<Vec3> &stroke, const Vec3 &normal, double brush_radius = 1.0,
                               bool positive = true)
    {
        geom::LassoRegion r =
            geom::add_world_scribble(active_session(), geometry_, stroke, normal, brush_radius, positive);
        prompted();
        return r;
    }

    /// A scribble or lasso a viewer's 2D tool painted into `mask` (image-shaped, nonzero =
    /// drawn), looked for inside `search` (usually the slice drawn on; empty = everywhere).
    /// NNI_ERR_INVALID_ARGUMENT when nothing is drawn there.
    template <class M> Region drawn(const M *mask, size_t n, bool lasso, bool positive = true, const Region &search = {})
    {
        Session &s = active_session();
        const DrawnRegion d = drawn_region(mask, n, geometry_.dims(), search);
        if (d.box.empty()) {
            throw Error(NNI_ERR_INVALID_ARGUMENT, "Segmenter: nothing is drawn in the mask");
        }
        if (lasso) {
            s.add_lasso_region(d.box.min, d.box.max, d.mask, positive);
        } else {
            s.add_scribble_region(d.box.min, d.box.max, d.mask, positive);
        }
        prompted();
        return d.box;
    }

    /// Undoes the active object's last prompt; repeated, steps back through its prompts since it
    /// was seeded, reset or committed (as far as the session's history budget keeps them).
    /// False when there is none.
    bool undo()
    {
        Session &s = active_session();
        if (active_->undo == 0) {
            return false;
        }
        if (!s.undo()) {
            active_->undo = 0; // older steps fell out of the history budget
            return false;
        }
        --active_->undo;
        ++active_->redo;
        refresh();
        return true;
    }

    /// Re-applies the prompt undo() took back last (without running the network); false when
    /// none was undone since the last prompt.
    bool redo()
    {
        Session &s = active_session();
        if (active_->redo == 0 || !s.redo()) {
            return false;
        }
        --active_->redo;
        ++active_->undo;
        refresh();
        return true;
    }

    /// Drops the prompts: the preview returns to the object as activated (or last committed).
    void reset()
    {
        active_session();
        active_->editor->reset();
        active_->undo = active_->redo = 0;
        refresh();
    }

    /// Writes the prediction into `labels` as the active value; see ObjectEditor::commit().
    /// Returns the number of voxels changed.
    size_t commit(L *labels, size_t n, const std::function<bool(L)> &locked = nullptr)
    {
        active_session();
        const size_t changed = active_->editor->commit(labels, n, value_, locked);
        active_->undo = active_->redo = 0;
        return changed;
    }

    /// The region the last activation, prompt, undo, redo or reset refreshed in the preview
    /// (buffer indices).
    Region last_changed() const noexcept { return last_changed_; }
    /// The geometry prompts are mapped with.
    const geom::Geometry &geometry() const noexcept { return geometry_; }

private:
    struct Object {
        std::unique_ptr<Session> session;
        std::unique_ptr<ObjectEditor> editor;
        L value = L(0);
        size_t undo = 0; ///< prompts undo() may take back
        size_t redo = 0; ///< undone prompts redo() may bring back
        uint64_t used = 0;
    };

    Object make_object()
    {
        Object o;
        o.session = std::make_unique<Session>(options_);
        o.session->set_shared_image(*image_);
        o.editor = std::make_unique<ObjectEditor>(*o.session);
        return o;
    }

    void drop_least_recent()
    {
        auto victim = objects_.end();
        for (auto it = objects_.begin(); it != objects_.end(); ++it) {
            if (victim == objects_.end() || it->second.used < victim->second.used) {
                victim = it;
            }
        }
        if (victim != objects_.end()) {
            objects_.erase(victim);
        }
    }

    void require_attached() const
    {
        if (!image_) {
            throw Error(NNI_ERR_NO_IMAGE, "Segmenter: set the image first");
        }
    }
    Session &active_session()
    {
        require_attached();
        if (active_ == nullptr) {
            throw Error(NNI_ERR_INVALID_ARGUMENT, "Segmenter: activate a label first");
        }
        return *active_->session;
    }
    void prompted()
    {
        ++active_->undo;
        active_->redo = 0;
        refresh();
    }
    void refresh()
    {
        last_changed_ = active_->editor->sync();
        active_->editor->write_preview(preview_, geometry_.voxel_count(), value_, last_changed_);
    }

    SessionOptions options_;
    Session session_;
    size_t max_objects_;
    std::optional<Image> image_;
    geom::Geometry geometry_;
    std::map<uint64_t, Object> objects_;
    Object *active_ = nullptr;
    uint64_t clock_ = 0;
    L value_ = L(0);
    L *preview_ = nullptr;
    Region last_changed_{};
};

} // namespace edit
} // namespace nni

#endif // NNINTERACTIVE_SEGMENTER_HPP
