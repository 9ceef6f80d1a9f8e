//! Reading the result: the whole mask, the mask over a box, and the box the last call changed.
//! These read the session's published state (`SessionReader`), not the session itself: they
//! never wait for a running prompt (only, for milliseconds, for a paste of its result), and they
//! may be called from its progress callback. While a prompt runs they see the mask as it was
//! before it; a failed or cancelled prompt never shows.

use nninteractive_engine::geometry::copy_region_out;
use nninteractive_engine::{BBox, Error};

use crate::boundary::{guard, read_region, to_axes};
use crate::session::{nni_session, session_ref};

/// Copy the current mask (0/1; image-shaped, i fastest) into `out` (`len` = voxel count).
/// Thread safety: Any thread, also while a prompt runs (it then copies the mask as it was before
/// that prompt) and from the progress callback; never waits for a prompt.
#[no_mangle]
pub unsafe extern "C" fn nni_session_get_mask(
    s: *mut nni_session,
    out: *mut u8,
    len: usize,
) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a live handle.
        let s = unsafe { session_ref(s)? };
        if out.is_null() {
            return Err(Error::NullPointer("out"));
        }
        let view = s.reader.read().ok_or(Error::NoImage)?;
        let mask = &view.mask;
        if len != mask.len() {
            return Err(Error::BufferSize(format!(
                "out holds {len} voxels, the image {}",
                mask.len()
            )));
        }
        // SAFETY: `out` is non-NULL and the caller promises `len` writable bytes, which is the
        // mask's length; the mask is ours, so the two do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(mask.as_ptr(), out, len) };
        Ok(())
    })
}

/// Copy the mask over the box `[min_ijk, max_ijk)` (inside the image) into `out`, i fastest. An
/// empty box is `NNI_ERR_INVALID_ARGUMENT`, one not inside the image `NNI_ERR_OUT_OF_BOUNDS`.
/// Thread safety: as `nni_session_get_mask`.
#[no_mangle]
pub unsafe extern "C" fn nni_session_get_mask_region(
    s: *mut nni_session,
    min_ijk: *const i64,
    max_ijk: *const i64,
    out: *mut u8,
    len: usize,
) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a live handle, and NULL or three int64_t at each
        // corner.
        let (s, region) = unsafe { (session_ref(s)?, read_region(min_ijk, max_ijk)?) };
        if out.is_null() {
            return Err(Error::NullPointer("out"));
        }
        let view = s.reader.read().ok_or(Error::NoImage)?;
        let shape = view.shape;
        if region.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "region ({}, {}, {})..({}, {}, {}) is empty",
                region.lo[2], region.lo[1], region.lo[0], region.hi[2], region.hi[1], region.hi[0]
            )));
        }
        if region.clip(shape) != Some(region) {
            return Err(Error::OutOfBounds(format!(
                "region ({}, {}, {})..({}, {}, {}) is not inside the image ({} x {} x {})",
                region.lo[2],
                region.lo[1],
                region.lo[0],
                region.hi[2],
                region.hi[1],
                region.hi[0],
                shape[2],
                shape[1],
                shape[0]
            )));
        }
        if len != region.voxels() {
            return Err(Error::BufferSize(format!(
                "out holds {len} voxels, the region {}",
                region.voxels()
            )));
        }
        // SAFETY: `out` is non-NULL and the caller promises `len` writable bytes.
        let dst = unsafe { std::slice::from_raw_parts_mut(out, len) };
        copy_region_out(&view.mask, shape, &region, dst);
        Ok(())
    })
}

/// The box `[min_ijk, max_ijk)` the last prompt, undo or initial mask wrote (clipped to the image);
/// both all zero when nothing was written. Copy just this region after each call.
/// Thread safety: as `nni_session_get_mask`.
#[no_mangle]
pub unsafe extern "C" fn nni_session_get_changed_region(
    s: *mut nni_session,
    min_ijk: *mut i64,
    max_ijk: *mut i64,
) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a live handle, and NULL or three writable int64_t
        // at each corner.
        let (s, lo, hi) = unsafe {
            (
                session_ref(s)?,
                (min_ijk as *mut [i64; 3])
                    .as_mut()
                    .ok_or(Error::NullPointer("min_ijk"))?,
                (max_ijk as *mut [i64; 3])
                    .as_mut()
                    .ok_or(Error::NullPointer("max_ijk"))?,
            )
        };
        let view = s.reader.read().ok_or(Error::NoImage)?;
        let b = view.last_changed.unwrap_or(BBox::new([0; 3], [0; 3]));
        *lo = to_axes(&b.lo);
        *hi = to_axes(&b.hi);
        Ok(())
    })
}
