//! The shared image handle: an image converted and normalised once, given to several sessions
//! (one object each) without another float32 copy per session; and the reading of an image
//! description, which `nni_session_set_image` uses too.

use std::sync::Arc;

use nninteractive_engine::image::PreprocessedImage;
use nninteractive_engine::{Error, Result, Shape, VoxelData};

use crate::boundary::guard;
use crate::session::{nni_session, session_ref};
use crate::types::*;

/// An image converted to float32 and z-scored once, shared by the sessions it is given to. It is
/// immutable: any thread may give it to sessions at the same time. Sessions keep their own
/// reference, so the handle and the sessions may be freed in any order.
pub struct nni_image {
    pub(crate) image: Arc<PreprocessedImage>,
}

/// The voxels and shape (engine axes) of the image `desc` describes, checked: dtype, dims and
/// voxel count, alignment, finite positive spacing, finite geometry.
///
/// # Safety
/// `desc` is NULL or a readable `nni_image_desc` whose `data` holds `voxel_count` voxels of
/// `dtype`, unchanged during the call.
pub(crate) unsafe fn described_voxels<'a>(
    desc: *const nni_image_desc,
) -> Result<(VoxelData<'a>, Shape)> {
    // SAFETY: the caller promises NULL or a readable nni_image_desc.
    let d = unsafe { desc.as_ref() }.ok_or(Error::NullPointer("desc"))?;
    // SAFETY: the caller promises `voxel_count` voxels of `dtype` at `data`.
    let voxels = unsafe { voxels_of(d)? };
    if d.spacing.iter().any(|v| !v.is_finite() || *v <= 0.0) {
        return Err(Error::InvalidArgument(format!(
            "spacing {:?} must be positive and finite",
            d.spacing
        )));
    }
    if d.origin
        .iter()
        .chain(d.direction.iter())
        .any(|v| !v.is_finite())
    {
        return Err(Error::InvalidArgument(
            "origin and direction must be finite".into(),
        ));
    }
    let shape = [d.dims[2] as usize, d.dims[1] as usize, d.dims[0] as usize];
    Ok((voxels, shape))
}

/// The voxels described by `d`, checked against its dims.
///
/// # Safety
/// `d.data` points to `d.voxel_count` voxels of type `d.dtype` (checked here: non-NULL, count
/// equal to the product of the dims), unchanged during the call.
unsafe fn voxels_of<'a>(d: &nni_image_desc) -> Result<VoxelData<'a>> {
    if d.data.is_null() {
        return Err(Error::NullPointer("desc->data"));
    }
    if d.dims.iter().any(|&x| x == 0 || x > (1 << 20)) {
        return Err(Error::InvalidArgument(format!(
            "dims {:?} must be in 1..=2^20",
            d.dims
        )));
    }
    let n = d
        .dims
        .iter()
        .try_fold(1usize, |a, &x| a.checked_mul(x as usize))
        .ok_or_else(|| Error::InvalidArgument("dims overflow".into()))?;
    if d.voxel_count != n {
        return Err(Error::BufferSize(format!(
            "voxel_count {} but dims {:?} hold {n}",
            d.voxel_count, d.dims
        )));
    }
    // SAFETY: `data` is non-NULL and the caller promises `n` voxels of `dtype` (every arm).
    let voxels = unsafe {
        match d.dtype {
            NNI_DTYPE_UINT8 => VoxelData::U8(typed(d.data, n)?),
            NNI_DTYPE_INT16 => VoxelData::I16(typed(d.data, n)?),
            NNI_DTYPE_UINT16 => VoxelData::U16(typed(d.data, n)?),
            NNI_DTYPE_INT32 => VoxelData::I32(typed(d.data, n)?),
            NNI_DTYPE_FLOAT32 => VoxelData::F32(typed(d.data, n)?),
            NNI_DTYPE_FLOAT64 => VoxelData::F64(typed(d.data, n)?),
            t => return Err(Error::InvalidArgument(format!("unknown dtype {t}"))),
        }
    };
    Ok(voxels)
}

/// `n` voxels of type `T` at `data`; a buffer not aligned to `T` is refused (a misaligned
/// slice would be undefined behaviour).
///
/// # Safety
/// `data` is non-NULL and points to `n` readable values of `T`, unchanged during the call.
unsafe fn typed<'a, T>(data: *const std::ffi::c_void, n: usize) -> Result<&'a [T]> {
    let align = std::mem::align_of::<T>();
    if !(data as usize).is_multiple_of(align) {
        return Err(Error::InvalidArgument(format!(
            "desc->data is not aligned to its voxel type ({align} bytes)"
        )));
    }
    // SAFETY: aligned (checked), non-NULL and `n` readable values (the caller's promise).
    Ok(unsafe { std::slice::from_raw_parts(data.cast(), n) })
}

/// Make a shared image: the voxels `desc` describes, converted to float32 and normalised once
/// (checked as `nni_session_set_image` checks them; the buffer is copied before this returns).
/// On success `*out` owns a handle to free with `nni_image_free`; on failure `*out` is NULL.
/// Thread safety: Any thread.
#[no_mangle]
pub unsafe extern "C" fn nni_image_new(
    desc: *const nni_image_desc,
    out: *mut *mut nni_image,
) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a writable pointer slot.
        let out = unsafe { out.as_mut() }.ok_or(Error::NullPointer("out"))?;
        *out = std::ptr::null_mut();
        // SAFETY: the caller promises NULL or a readable nni_image_desc with its voxels.
        let (voxels, shape) = unsafe { described_voxels(desc)? };
        let image = PreprocessedImage::new(voxels, shape)?;
        *out = Box::into_raw(Box::new(nni_image {
            image: Arc::new(image),
        }));
        Ok(())
    })
}

/// Free a shared image handle (NULL is ignored). Sessions it was given to keep the image until
/// they are freed or given another one.
/// Thread safety: Not concurrently with a call that takes this handle.
#[no_mangle]
pub unsafe extern "C" fn nni_image_free(img: *mut nni_image) {
    if !img.is_null() {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // SAFETY: the caller promises a handle from nni_image_new, freed once.
            drop(unsafe { Box::from_raw(img) })
        }));
    }
}

/// Give the session a shared image: the same as `nni_session_set_image` with its voxels
/// (prompts, mask and undo dropped), without another copy. The image's preprocessing does not
/// depend on the model, so sessions of different models may share one. On failure the previous
/// image stays.
/// Thread safety: One changing call at a time on the session: `NNI_ERR_BUSY` at once while
/// another runs (also from a progress callback); the image may be given to other sessions at the
/// same time.
#[no_mangle]
pub unsafe extern "C" fn nni_session_set_shared_image(
    s: *mut nni_session,
    img: *const nni_image,
) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a live handle.
        let s = unsafe { session_ref(s)? };
        // SAFETY: the caller promises NULL or a live image handle.
        let img = unsafe { img.as_ref() }.ok_or(Error::NullPointer("image"))?;
        s.lock()?.set_shared_image(img.image.clone())
    })
}

/// A shared image handle for the image `s` holds now (set by `nni_session_set_image` or
/// `nni_session_set_shared_image`), to give to more sessions without converting it again. On
/// success `*out` owns a handle to free with `nni_image_free`; `NNI_ERR_NO_IMAGE` before an image.
/// Thread safety: One changing call at a time on the session: `NNI_ERR_BUSY` at once while
/// another runs (also from a progress callback).
#[no_mangle]
pub unsafe extern "C" fn nni_session_share_image(
    s: *mut nni_session,
    out: *mut *mut nni_image,
) -> i32 {
    guard(|| {
        // SAFETY: the caller promises NULL or a writable pointer slot.
        let out = unsafe { out.as_mut() }.ok_or(Error::NullPointer("out"))?;
        *out = std::ptr::null_mut();
        // SAFETY: the caller promises NULL or a live handle.
        let s = unsafe { session_ref(s)? };
        let image = s.lock()?.image().ok_or(Error::NoImage)?;
        *out = Box::into_raw(Box::new(nni_image { image }));
        Ok(())
    })
}
