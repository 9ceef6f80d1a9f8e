//! Prompt calls: points, boxes, scribbles, lassos (whole-image or over a box) and initial masks.
//! Each takes the session lock once, so no other call can change the image in between.

use nninteractive_engine::session::MaskPrompt;
use nninteractive_engine::{BBox, Error, Result, Session};

use crate::boundary::{bytes, guard, read_ijk, read_region, to_axes};
use crate::session::{nni_session, session_ref};

/// Refuse a point outside the image, naming it in (i, j, k).
fn check_inside(sess: &Session, a: [i64; 3]) -> Result<()> {
    let shape = sess.shape().ok_or(Error::NoImage)?;
    if (0..3).any(|d| a[d] < 0 || a[d] >= shape[d] as i64) {
        return Err(Error::OutOfBounds(format!(
            "voxel ({}, {}, {}) is outside the image ({} x {} x {})",
            a[2], a[1], a[0], shape[2], shape[1], shape[0]
        )));
    }
    Ok(())
}

/// Refuse, as the int64 the caller passed (in (i, j, k)), a box of no size
/// (NNI_ERR_INVALID_ARGUMENT) and one that does not meet the image (NNI_ERR_OUT_OF_BOUNDS), before
/// any coordinate goes through float64 (which rounds beyond 2^53).
fn check_box(sess: &Session, min_ijk: &[i64; 3], max_ijk: &[i64; 3]) -> Result<()> {
    let shape = sess.shape().ok_or(Error::NoImage)?;
    let named = |v: &[i64; 3]| format!("({}, {}, {})", v[0], v[1], v[2]);
    if (0..3).any(|d| max_ijk[d] <= min_ijk[d]) {
        return Err(Error::InvalidArgument(format!(
            "the box [{}, {}) has no size: every max must exceed its min",
            named(min_ijk),
            named(max_ijk)
        )));
    }
    let dims = [shape[2], shape[1], shape[0]];
    if (0..3).any(|d| max_ijk[d] <= 0 || min_ijk[d] >= dims[d] as i64) {
        return Err(Error::OutOfBounds(format!(
            "the box [{}, {}) does not meet the image ({} x {} x {})",
            named(min_ijk),
            named(max_ijk),
            dims[0],
            dims[1],
            dims[2]
        )));
    }
    Ok(())
}

/// Add a point prompt at voxel `ijk` (positive if `positive` != 0); predict if `run_prediction`.
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from this call's progress callback); cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_add_point(
    s: *mut nni_session,
    ijk: *const i64,
    positive: i32,
    run_prediction: i32,
) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a live handle, and NULL or three int64_t at `ijk`.
        let (s, ijk) = unsafe { (session_ref(s)?, read_ijk(ijk, "ijk")?) };
        let a = to_axes(ijk);
        let mut sess = s.lock()?;
        check_inside(&sess, a)?;
        sess.add_point(a.map(|v| v as f64), positive != 0, run_prediction != 0)
            .map(|_| ())
    })
}

/// Add a box prompt, half-open `[min_ijk, max_ijk)`. An axis of size 1 makes it a 2D box (drawn on
/// a slice); boxes partly outside the image are clipped, boxes entirely outside are an error.
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from this call's progress callback); cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_add_box(
    s: *mut nni_session,
    min_ijk: *const i64,
    max_ijk: *const i64,
    positive: i32,
    run_prediction: i32,
) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a live handle, and NULL or three int64_t at each
        // corner.
        let (s, min, max) = unsafe {
            (
                session_ref(s)?,
                read_ijk(min_ijk, "min_ijk")?,
                read_ijk(max_ijk, "max_ijk")?,
            )
        };
        let mut sess = s.lock()?;
        check_box(&sess, min, max)?;
        let f = |v: [i64; 3]| v.map(|x| x as f64);
        sess.add_box(
            f(to_axes(min)),
            f(to_axes(max)),
            positive != 0,
            run_prediction != 0,
        )
        .map(|_| ())
    })
}

/// Predict on the prompts queued with `run_prediction` = 0 (the reference's `_predict`), refining
/// the whole object when `force_full_refine` is nonzero. With nothing queued nothing runs.
/// `ran` (may be NULL) receives 1 when a prediction ran, 0 when nothing was queued;
/// `nni_session_get_changed_region` says what a prediction changed. The prediction is one undoable
/// step of its own.
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from this call's progress callback); cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_predict(
    s: *mut nni_session,
    force_full_refine: i32,
    ran: *mut i32,
) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a live handle.
        let s = unsafe { session_ref(s)? };
        let mut sess = s.lock()?;
        let queued = sess.queued_prompts();
        sess.predict_queued(force_full_refine != 0)?;
        if !ran.is_null() {
            // SAFETY: the caller promises NULL or a writable int32_t at `ran`.
            unsafe { *ran = i32::from(queued > 0) };
        }
        Ok(())
    })
}

/// The four mask-prompt calls: a scribble or lasso, image-shaped (`region` None) or over a box.
///
/// # Safety
/// As for the public calls: a live handle or NULL, `len` readable bytes at `mask` or NULL, and
/// three readable `int64_t` at each region corner or NULL.
unsafe fn add_mask(
    s: *mut nni_session,
    kind: MaskPrompt,
    region: Option<(*const i64, *const i64)>,
    mask: *const u8,
    len: usize,
    positive: i32,
    run_prediction: i32,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller (see above).
        let (s, mask, region) = unsafe { mask_call(s, region, mask, len)? };
        s.lock()?
            .add_mask(kind, mask, region, positive != 0, run_prediction != 0)
            .map(|_| ())
    })
}

/// Add a scribble: `mask` (nonzero = drawn) covers the whole image (`len` = voxel count).
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from this call's progress callback); cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_add_scribble(
    s: *mut nni_session,
    mask: *const u8,
    len: usize,
    positive: i32,
    run_prediction: i32,
) -> i32 {
    // SAFETY: the caller's promises are add_mask's.
    unsafe {
        add_mask(
            s,
            MaskPrompt::Scribble,
            None,
            mask,
            len,
            positive,
            run_prediction,
        )
    }
}

/// Add a lasso (filled contour): `mask` covers the whole image (`len` = voxel count).
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from this call's progress callback); cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_add_lasso(
    s: *mut nni_session,
    mask: *const u8,
    len: usize,
    positive: i32,
    run_prediction: i32,
) -> i32 {
    // SAFETY: the caller's promises are add_mask's.
    unsafe {
        add_mask(
            s,
            MaskPrompt::Lasso,
            None,
            mask,
            len,
            positive,
            run_prediction,
        )
    }
}

/// Add a scribble given only over the box `[min_ijk, max_ijk)` (inside the image); `mask` is that
/// box's voxels, i fastest (`len` = box voxel count). A stroke on one slice costs one slice.
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from this call's progress callback); cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_add_scribble_region(
    s: *mut nni_session,
    min_ijk: *const i64,
    max_ijk: *const i64,
    mask: *const u8,
    len: usize,
    positive: i32,
    run_prediction: i32,
) -> i32 {
    let region = Some((min_ijk, max_ijk));
    // SAFETY: the caller's promises are add_mask's.
    unsafe {
        add_mask(
            s,
            MaskPrompt::Scribble,
            region,
            mask,
            len,
            positive,
            run_prediction,
        )
    }
}

/// Add a lasso given only over the box `[min_ijk, max_ijk)`; see `nni_session_add_scribble_region`.
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from this call's progress callback); cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_add_lasso_region(
    s: *mut nni_session,
    min_ijk: *const i64,
    max_ijk: *const i64,
    mask: *const u8,
    len: usize,
    positive: i32,
    run_prediction: i32,
) -> i32 {
    let region = Some((min_ijk, max_ijk));
    // SAFETY: the caller's promises are add_mask's.
    unsafe {
        add_mask(
            s,
            MaskPrompt::Lasso,
            region,
            mask,
            len,
            positive,
            run_prediction,
        )
    }
}

/// Start from an initial segmentation (image-shaped, `len` = voxel count): resets all prompts;
/// if `run_prediction`, refines it.
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from this call's progress callback); cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_set_initial_mask(
    s: *mut nni_session,
    mask: *const u8,
    len: usize,
    run_prediction: i32,
) -> i32 {
    // SAFETY: the caller's promises are set_initial's.
    unsafe { set_initial(s, None, mask, len, run_prediction) }
}

/// Start from an initial segmentation given only over the box `[min_ijk, max_ijk)` (inside the
/// image): `mask` is that box's voxels, i fastest (`len` = box voxel count); the rest of the image
/// is 0. Same as `nni_session_set_initial_mask` with that image-shaped mask, without one: a viewer
/// passes just the box of an existing label. Undoable; the changed region is the old mask's box
/// and this box.
/// Thread safety: One changing call at a time: `NNI_ERR_BUSY` at once while another runs
/// (also from this call's progress callback); cancellable.
#[no_mangle]
pub unsafe extern "C" fn nni_session_set_initial_mask_region(
    s: *mut nni_session,
    min_ijk: *const i64,
    max_ijk: *const i64,
    mask: *const u8,
    len: usize,
    run_prediction: i32,
) -> i32 {
    // SAFETY: the caller's promises are set_initial's.
    unsafe { set_initial(s, Some((min_ijk, max_ijk)), mask, len, run_prediction) }
}

/// The two initial-mask calls: image-shaped (`region` None) or over a box.
///
/// # Safety
/// As for [`add_mask`].
unsafe fn set_initial(
    s: *mut nni_session,
    region: Option<(*const i64, *const i64)>,
    mask: *const u8,
    len: usize,
    run_prediction: i32,
) -> i32 {
    guard(|| {
        // SAFETY: forwarded from the caller.
        let (s, mask, region) = unsafe { mask_call(s, region, mask, len)? };
        s.lock()?
            .set_initial_mask_region(mask, region, run_prediction != 0)
            .map(|_| ())
    })
}

/// The arguments of a mask call: the session, the mask's bytes and its box (None: the image).
///
/// # Safety
/// As for [`add_mask`].
unsafe fn mask_call<'a>(
    s: *mut nni_session,
    region: Option<(*const i64, *const i64)>,
    mask: *const u8,
    len: usize,
) -> Result<(&'a nni_session, &'a [u8], Option<BBox>)> {
    // SAFETY: forwarded from the caller.
    let (s, mask) = unsafe { (session_ref(s)?, bytes(mask, len, "mask")?) };
    let region = match region {
        None => None,
        // SAFETY: forwarded from the caller.
        Some((lo, hi)) => Some(unsafe { read_region(lo, hi)? }),
    };
    Ok((s, mask, region))
}
