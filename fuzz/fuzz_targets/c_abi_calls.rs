//! Sequences of C ABI calls with arbitrary arguments, as a careless or hostile host makes them:
//! images of any dtype, size and (mis)stated length, prompts anywhere, regions and buffers of the
//! wrong size, NULL pointers, calls in any order, cancel at any time. Every call must return a
//! status (never NNI_ERR_PANIC: a caught panic is a bug too), and a failed call must leave the mask
//! as it was.
#![no_main]

use std::ffi::CString;
use std::ptr;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nninteractive::library::{nni_runtime_init, nni_session_options_init};
use nninteractive::mask::{
    nni_session_get_changed_region, nni_session_get_mask, nni_session_get_mask_region,
};
use nninteractive::nni_status;
use nninteractive::progress::nni_session_request_cancel;
use nninteractive::prompts::*;
use nninteractive::session::*;
use nninteractive::types::*;

#[derive(Arbitrary, Debug)]
enum Op {
    SetImage {
        dims: [u8; 3],
        dtype: i8,
        count_delta: i8,
        fill: u8,
        null: bool,
    },
    Point {
        at: [i16; 3],
        positive: bool,
        run: bool,
    },
    Box {
        lo: [i16; 3],
        hi: [i16; 3],
        positive: bool,
        run: bool,
    },
    /// A box anywhere in int64 (the ends included), checked before any float64 rounding.
    WideBox {
        lo: [i64; 3],
        hi: [i64; 3],
        run: bool,
    },
    MaskRegion {
        lo: [i16; 3],
        hi: [i16; 3],
        len_delta: i8,
        lasso: bool,
        positive: bool,
        run: bool,
        value: u8,
    },
    InitialMask {
        lo: [i16; 3],
        hi: [i16; 3],
        len_delta: i8,
        run: bool,
    },
    GetMask {
        len_delta: i8,
        null: bool,
    },
    GetRegion {
        lo: [i16; 3],
        hi: [i16; 3],
        len_delta: i8,
    },
    Changed,
    /// The queued prompts predicted (`nni_session_predict`).
    Predict {
        force_full_refine: bool,
    },
    Undo,
    Reset,
    Autozoom(bool),
    Cancel,
}

fn model() -> CString {
    CString::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/blob-grow-p32.onnx"
    ))
    .unwrap()
}

fn len_with(delta: i8, n: usize) -> usize {
    (n as i64 + delta as i64).clamp(0, 1 << 20) as usize
}

fn voxels(lo: &[i16; 3], hi: &[i16; 3]) -> usize {
    (0..3)
        .map(|d| (hi[d] as i64 - lo[d] as i64).clamp(0, 64) as usize)
        .product()
}

fn mask_now(s: *mut nni_session, n: usize) -> Option<Vec<u8>> {
    let mut m = vec![0u8; n];
    // SAFETY: a live handle and a buffer of `n` bytes.
    (unsafe { nni_session_get_mask(s, m.as_mut_ptr(), n) } == 0).then_some(m)
}

fuzz_target!(|ops: Vec<Op>| {
    // SAFETY: NULL asks for the environment's path (the fuzz script sets it).
    unsafe { nni_runtime_init(ptr::null()) };
    let path = model();
    let mut opts = std::mem::MaybeUninit::<nni_session_options>::uninit();
    // SAFETY: options_init fills the whole struct.
    let mut opts = unsafe {
        nni_session_options_init(opts.as_mut_ptr());
        opts.assume_init()
    };
    opts.model_path = path.as_ptr();
    opts.device = NNI_DEVICE_CPU;
    opts.num_threads = 1;
    let mut s = ptr::null_mut();
    // SAFETY: valid options and out pointer.
    if unsafe { nni_session_new(&opts, &mut s) } != 0 {
        return;
    }
    let mut voxel_count = 0usize;
    for op in ops.iter().take(24) {
        let before = (voxel_count > 0)
            .then(|| mask_now(s, voxel_count))
            .flatten();
        // SAFETY (every call below): `s` is live; every buffer passed holds the length passed
        // with it (or is NULL, which the library must refuse).
        let status = unsafe {
            match op {
                Op::SetImage {
                    dims,
                    dtype,
                    count_delta,
                    fill,
                    null,
                } => {
                    let d = dims.map(|v| (v % 24) as u64);
                    let n = (d[0] * d[1] * d[2]) as usize;
                    let data: Vec<u64> = (0..n)
                        .map(|i| (i as u64 * 2654435761) ^ *fill as u64)
                        .collect();
                    let desc = nni_image_desc {
                        data: if *null {
                            ptr::null()
                        } else {
                            data.as_ptr().cast()
                        },
                        dtype: *dtype as i32,
                        voxel_count: len_with(*count_delta, n),
                        dims: d,
                        spacing: [1.0, 1.0, 1.0],
                        origin: [0.0; 3],
                        direction: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                    };
                    let st = nni_session_set_image(s, &desc);
                    if st == 0 {
                        voxel_count = n;
                    }
                    st
                }
                Op::Point { at, positive, run } => {
                    let p = at.map(|v| v as i64);
                    nni_session_add_point(s, p.as_ptr(), *positive as i32, *run as i32)
                }
                Op::Box {
                    lo,
                    hi,
                    positive,
                    run,
                } => {
                    let (l, h) = (lo.map(|v| v as i64), hi.map(|v| v as i64));
                    nni_session_add_box(s, l.as_ptr(), h.as_ptr(), *positive as i32, *run as i32)
                }
                Op::WideBox { lo, hi, run } => {
                    nni_session_add_box(s, lo.as_ptr(), hi.as_ptr(), 1, *run as i32)
                }
                Op::MaskRegion {
                    lo,
                    hi,
                    len_delta,
                    lasso,
                    positive,
                    run,
                    value,
                } => {
                    let (l, h) = (lo.map(|v| v as i64), hi.map(|v| v as i64));
                    let m = vec![*value; len_with(*len_delta, voxels(lo, hi))];
                    let f = if *lasso {
                        nni_session_add_lasso_region
                    } else {
                        nni_session_add_scribble_region
                    };
                    f(
                        s,
                        l.as_ptr(),
                        h.as_ptr(),
                        m.as_ptr(),
                        m.len(),
                        *positive as i32,
                        *run as i32,
                    )
                }
                Op::InitialMask {
                    lo,
                    hi,
                    len_delta,
                    run,
                } => {
                    let (l, h) = (lo.map(|v| v as i64), hi.map(|v| v as i64));
                    let m = vec![1u8; len_with(*len_delta, voxels(lo, hi))];
                    nni_session_set_initial_mask_region(
                        s,
                        l.as_ptr(),
                        h.as_ptr(),
                        m.as_ptr(),
                        m.len(),
                        *run as i32,
                    )
                }
                Op::GetMask { len_delta, null } => {
                    let mut m = vec![0u8; len_with(*len_delta, voxel_count)];
                    let p = if *null {
                        ptr::null_mut()
                    } else {
                        m.as_mut_ptr()
                    };
                    nni_session_get_mask(s, p, m.len())
                }
                Op::GetRegion { lo, hi, len_delta } => {
                    let (l, h) = (lo.map(|v| v as i64), hi.map(|v| v as i64));
                    let mut m = vec![0u8; len_with(*len_delta, voxels(lo, hi))];
                    nni_session_get_mask_region(s, l.as_ptr(), h.as_ptr(), m.as_mut_ptr(), m.len())
                }
                Op::Changed => {
                    let (mut l, mut h) = ([0i64; 3], [0i64; 3]);
                    nni_session_get_changed_region(s, l.as_mut_ptr(), h.as_mut_ptr())
                }
                Op::Predict { force_full_refine } => {
                    let mut ran = -1;
                    nni_session_predict(s, *force_full_refine as i32, &mut ran)
                }
                Op::Undo => nni_session_undo(s),
                Op::Reset => nni_session_reset(s),
                Op::Autozoom(on) => nni_session_set_autozoom(s, *on as i32),
                Op::Cancel => nni_session_request_cancel(s),
            }
        };
        assert_ne!(
            status,
            nni_status::NNI_ERR_PANIC as i32,
            "a panic was caught in {op:?}"
        );
        let mutating = !matches!(
            op,
            Op::GetMask { .. }
                | Op::GetRegion { .. }
                | Op::Changed
                | Op::Cancel
                | Op::SetImage { .. }
        );
        if status != 0 && mutating {
            if let Some(before) = before {
                assert_eq!(
                    mask_now(s, voxel_count).as_ref(),
                    Some(&before),
                    "a failed {op:?} changed the mask"
                );
            }
        }
    }
    // SAFETY: the handle from nni_session_new, freed once.
    unsafe { nni_session_free(s) };
});
