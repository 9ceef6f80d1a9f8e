//! Reading the result: the whole mask, the mask over a box, and the box the last call changed.

use nninteractive_engine::geometry::copy_region_out;
use nninteractive_engine::{BBox, Error};

use crate::boundary::{guard, read_region, to_axes};
use crate::session::{nni_session, session_ref};

/// Copy the current mask (0/1; image-shaped, i fastest) into `out` (`len` = voxel count).
/// Thread safety: Serialised with other calls on the session (blocks while a prompt runs).
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
        let sess = s.inner.lock();
        let mask = sess.mask().ok_or(Error::NoImage)?;
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

/// Copy the mask over the box `[min_ijk, max_ijk)` (inside the image) into `out`, i fastest.
/// Thread safety: Serialised with other calls on the session (blocks while a prompt runs).
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
        let sess = s.inner.lock();
        let shape = sess.shape().ok_or(Error::NoImage)?;
        if region.is_empty() || region.clip(shape) != Some(region) {
            return Err(Error::OutOfBounds(
                "region must be non-empty and inside the image".into(),
            ));
        }
        if len != region.voxels() {
            return Err(Error::BufferSize(format!(
                "out holds {len} voxels, the region {}",
                region.voxels()
            )));
        }
        // SAFETY: `out` is non-NULL and the caller promises `len` writable bytes.
        let dst = unsafe { std::slice::from_raw_parts_mut(out, len) };
        copy_region_out(sess.mask().ok_or(Error::NoImage)?, shape, &region, dst);
        Ok(())
    })
}

/// The box `[min_ijk, max_ijk)` the last prompt, undo or initial mask wrote (clipped to the image);
/// both all zero when nothing was written. Copy just this region after each call.
/// Thread safety: Serialised with other calls on the session.
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
        let sess = s.inner.lock();
        sess.shape().ok_or(Error::NoImage)?;
        let b = sess.last_changed().unwrap_or(BBox::new([0; 3], [0; 3]));
        *lo = to_axes(&b.lo);
        *hi = to_axes(&b.hi);
        Ok(())
    })
}
