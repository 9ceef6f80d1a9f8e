// nninteractive_editing.hpp: one object of a label image edited with a session, the way a
// viewer's segmentation tool does it (the MITK tool and the Slicer logic both use it).
// Header-only, C++17, depends only on the C++ binding (bindings/cpp/nninteractive.hpp).
//
// A viewer keeps its segmentation as a label image (MITK: one uint16 image per label group;
// Slicer: a binary labelmap per segment) and shows a preview before the user accepts it. The
// editor ties one object (a label value) of such an image to a session:
//
//   nni::edit::ObjectEditor ed(session);                 // the image is already set
//   ed.begin(labels, n, value);      // the object's current voxels seed the session
//   session.add_point(...);          // any prompt, undo or reset of the session ...
//   nni::Region r = ed.sync();       // ... then sync: the region the session changed
//   ed.write_preview(preview, n, value, r);              // copy just that region
//   ed.commit(labels, n, value, is_locked);              // accept: write the object back
//
// Buffers are image-shaped (i fastest) in the session's index order. Work is region-sized:
// sync() copies only the changed box; commit() visits only the boxes the session wrote plus
// the box of the seed, never the whole volume (begin() reads the label image once and passes
// the session only the object's box).
#ifndef NNINTERACTIVE_EDITING_HPP
#define NNINTERACTIVE_EDITING_HPP

#include "nninteractive.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace nni {
namespace edit {

/// The smallest box holding both `a` and `b` (either may be empty).
inline Region unite(const Region &a, const Region &b) noexcept
{
    if (a.empty()) {
        return b;
    }
    if (b.empty()) {
        return a;
    }
    Region u;
    for (size_t k = 0; k < 3; ++k) {
        u.min[k] = std::min(a.min[k], b.min[k]);
        u.max[k] = std::max(a.max[k], b.max[k]);
    }
    return u;
}

/// Calls `fn(offset_in_image, offset_in_region)` for every voxel of `r` (i fastest).
template <class F> void for_each_voxel(const Dims3 &dims, const Region &r, F &&fn)
{
    if (r.empty()) {
        return;
    }
    const size_t nx = static_cast<size_t>(dims[0]), ny = static_cast<size_t>(dims[1]);
    size_t local = 0;
    for (int64_t k = r.min[2]; k < r.max[2]; ++k) {
        for (int64_t j = r.min[1]; j < r.max[1]; ++j) {
            size_t at = (static_cast<size_t>(k) * ny + static_cast<size_t>(j)) * nx + static_cast<size_t>(r.min[0]);
            for (int64_t i = r.min[0]; i < r.max[0]; ++i) {
                fn(at++, local++);
            }
        }
    }
}

/// Grows a box over voxels given by their offset in the image (i fastest).
class BoxBuilder {
public:
    explicit BoxBuilder(const Dims3 &dims) noexcept
        : nx_(static_cast<size_t>(dims[0])), ny_(static_cast<size_t>(dims[1]))
    {
    }
    /// Adds the voxel at offset `at`.
    void add(size_t at) noexcept
    {
        const Index3 ijk{static_cast<int64_t>(at % nx_), static_cast<int64_t>((at / nx_) % ny_),
                         static_cast<int64_t>(at / (nx_ * ny_))};
        for (size_t k = 0; k < 3; ++k) {
            box_.min[k] = std::min(box_.min[k], ijk[k]);
            box_.max[k] = std::max(box_.max[k], ijk[k] + 1);
        }
    }
    /// The box of the voxels added; empty when none was.
    Region box() const noexcept { return box_.min[0] == INT64_MAX ? Region{} : box_; }

private:
    size_t nx_, ny_;
    Region box_{{INT64_MAX, INT64_MAX, INT64_MAX}, {INT64_MIN, INT64_MIN, INT64_MIN}};
};

/// A drawn prompt mask (image-shaped, i fastest; nonzero = drawn), as a viewer's paint or
/// contour tool leaves it, cut down to the box of its drawn voxels inside `search` (the whole
/// image when `search` is empty; usually the slice the user drew on): that box and its voxels
/// (0/1), ready for nni_session_add_scribble_region / add_lasso_region. The box is empty when
/// nothing is drawn there.
struct DrawnRegion {
    Region box;
    std::vector<uint8_t> mask;
};

template <class M> DrawnRegion drawn_region(const M *mask, size_t n, const Dims3 &dims, Region search = {})
{
    if (mask == nullptr) {
        throw Error(NNI_ERR_NULL_POINTER, "drawn_region: mask is null");
    }
    if (n != detail::dims_voxels(dims)) {
        throw Error(NNI_ERR_BUFFER_SIZE, "drawn_region: mask does not have the image's voxel count");
    }
    if (search.empty()) {
        search.min = {0, 0, 0};
        search.max = {static_cast<int64_t>(dims[0]), static_cast<int64_t>(dims[1]), static_cast<int64_t>(dims[2])};
    }
    for (size_t k = 0; k < 3; ++k) {
        search.min[k] = std::max<int64_t>(search.min[k], 0);
        search.max[k] = std::min<int64_t>(search.max[k], static_cast<int64_t>(dims[k]));
    }
    DrawnRegion out;
    BoxBuilder bb(dims);
    for_each_voxel(dims, search, [&](size_t at, size_t) {
        if (mask[at] != M(0)) {
            bb.add(at);
        }
    });
    out.box = bb.box();
    if (out.box.empty()) {
        return out;
    }
    out.mask.assign(out.box.voxel_count(), 0);
    for_each_voxel(dims, out.box, [&](size_t at, size_t local) { out.mask[local] = mask[at] != M(0) ? 1 : 0; });
    return out;
}

/// Keeps a host's preview and label buffers in step with a session for one object.
class ObjectEditor {
public:
    /// Edits with `session`, whose image must already be set (NNI_ERR_NO_IMAGE otherwise).
    /// The session must outlive the editor.
    explicit ObjectEditor(Session &session) : s_(session)
    {
        dims_ = s_.dims();
        if (dims_[0] == 0 || dims_[1] == 0 || dims_[2] == 0) {
            throw Error(NNI_ERR_NO_IMAGE, "ObjectEditor: set the session's image first");
        }
    }

    /// Starts editing a new, empty object: drops the session's prompts.
    void begin()
    {
        s_.reset();
        seed_box_ = Region{};
        seed_.clear();
        touched_ = Region{};
        pending_ = Region{};
        active_ = true;
    }

    /// Starts editing the object `value` of `labels` (image-shaped, `n` voxels): drops the
    /// session's prompts, and when the object has voxels they become the session's initial mask
    /// (no prediction), so prompts refine what is already there. Remembers those voxels (their
    /// box only) for reset() and commit().
    template <class L> void begin(const L *labels, size_t n, L value)
    {
        check_size(n, labels != nullptr);
        BoxBuilder bb(dims_);
        for (size_t at = 0; at < voxel_count(); ++at) {
            if (labels[at] == value) {
                bb.add(at);
            }
        }
        const Region box = bb.box();
        if (box.empty()) {
            begin();
            return;
        }
        std::vector<uint8_t> seed(box.voxel_count(), 0);
        for_each_voxel(dims_, box, [&](size_t at, size_t local) { seed[local] = labels[at] == value ? 1 : 0; });
        s_.set_initial_mask_region(box.min, box.max, seed, false); // throws, changing nothing
        seed_box_ = box;
        seed_ = std::move(seed);
        touched_ = seed_box_;
        pending_ = Region{};
        active_ = true;
    }

    /// Whether the object `value` of `labels` is exactly the seed this editor holds (as begin()
    /// found it or the last commit() left it): when it is, the host has not changed it since.
    template <class L> bool seed_matches(const L *labels, size_t n, L value) const
    {
        check_size(n, labels != nullptr);
        if (!active_) {
            return false;
        }
        BoxBuilder bb(dims_);
        for (size_t at = 0; at < voxel_count(); ++at) {
            if (labels[at] == value) {
                bb.add(at);
            }
        }
        const Region box = bb.box();
        if (box.empty() || seed_box_.empty()) {
            return box.empty() && seed_box_.empty();
        }
        if (box.min != seed_box_.min || box.max != seed_box_.max) {
            return false;
        }
        bool same = true;
        for_each_voxel(dims_, box, [&](size_t at, size_t local) {
            same = same && (labels[at] == value ? 1 : 0) == seed_[local];
        });
        return same;
    }

    /// Whether the editor is active on an object without voxels (a new one, or one committed
    /// empty).
    bool seed_empty() const noexcept { return active_ && seed_box_.empty(); }

    /// Drops the session's prompts and returns to the object as begin() found it (or as the
    /// last commit() left it); sync() afterwards reports the region to refresh.
    void reset()
    {
        require_active();
        if (seed_box_.empty()) {
            s_.reset();
        } else {
            s_.set_initial_mask_region(seed_box_.min, seed_box_.max, seed_, false);
        }
        pending_ = unite(touched_, seed_box_);
    }

    /// After a session call that changed the mask (a prompt, undo, reset()): the region the
    /// host must refresh (the session's changed region, plus what reset() cleared), added to
    /// the region commit() will visit.
    Region sync()
    {
        require_active();
        const Region r = unite(s_.changed_region(), pending_);
        pending_ = Region{};
        touched_ = unite(touched_, r);
        return r;
    }

    /// Writes the session's mask over `r` into `preview` (image-shaped, `n` voxels) as
    /// `value` (inside) or 0 (outside); other voxels are left alone.
    template <class L> void write_preview(L *preview, size_t n, L value, const Region &r) const
    {
        check_size(n, preview != nullptr);
        if (r.empty()) {
            return;
        }
        const std::vector<uint8_t> m = s_.get_mask_region(r);
        for_each_voxel(dims_, r, [&](size_t at, size_t local) { preview[at] = m[local] ? value : L(0); });
    }

    /// Accepts the session's mask as the object `value` of `labels`: inside it, voxels become
    /// `value` unless `locked(current)` says their current label must not be overwritten;
    /// voxels of `value` outside it become 0. Visits only the regions the session wrote and the
    /// seed's box. The result becomes the new seed (for reset()). Returns the voxels changed.
    template <class L>
    size_t commit(L *labels, size_t n, L value, const std::function<bool(L)> &locked = nullptr)
    {
        require_active();
        check_size(n, labels != nullptr);
        const Region r = unite(touched_, seed_box_);
        if (r.empty()) {
            return 0;
        }
        const std::vector<uint8_t> m = s_.get_mask_region(r);
        size_t changed = 0;
        BoxBuilder bb(dims_);
        for_each_voxel(dims_, r, [&](size_t at, size_t local) {
            const L cur = labels[at];
            L next = cur;
            if (m[local]) {
                if (cur != value && !(cur != L(0) && locked && locked(cur))) {
                    next = value;
                }
            } else if (cur == value) {
                next = L(0);
            }
            if (next != cur) {
                labels[at] = next;
                ++changed;
            }
            if (next == value) {
                bb.add(at);
            }
        });
        // the committed object is the new seed
        seed_box_ = bb.box();
        seed_.assign(seed_box_.voxel_count(), 0);
        for_each_voxel(dims_, seed_box_, [&](size_t at, size_t local) { seed_[local] = labels[at] == value ? 1 : 0; });
        return changed;
    }

private:
    size_t voxel_count() const noexcept { return detail::dims_voxels(dims_); }
    void check_size(size_t n, bool buffer_ok) const
    {
        if (!buffer_ok) {
            throw Error(NNI_ERR_NULL_POINTER, "ObjectEditor: buffer is null");
        }
        if (n != voxel_count()) {
            throw Error(NNI_ERR_BUFFER_SIZE, "ObjectEditor: buffer does not have the image's voxel count");
        }
    }
    void require_active() const
    {
        if (!active_) {
            throw Error(NNI_ERR_INVALID_ARGUMENT, "ObjectEditor: call begin() first");
        }
    }

    Session &s_;
    Dims3 dims_{};
    Region seed_box_{};
    std::vector<uint8_t> seed_; // the seed's voxels over seed_box_
    Region touched_{};
    Region pending_{};
    bool active_ = false;
};

} // namespace edit
} // namespace nni

#endif // NNINTERACTIVE_EDITING_HPP
