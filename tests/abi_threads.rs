//! The C ABI from several threads, as a viewer uses it: a prompt runs on one thread while another
//! reads the mask, describes the session, tries to change it (answered `NNI_ERR_BUSY` at once) and
//! cancels it; a progress callback reads and tries to change its own session. Run by the `rust`
//! stage, and by the `tsan` stage under ThreadSanitizer (`tools/test/tsan.sh`).
//!
//! The prompt is held at its first progress checkpoint until the other thread is done, so each
//! scenario is deterministic.

use std::ffi::{c_char, c_void, CString};
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;

use nninteractive::library::*;
use nninteractive::mask::*;
use nninteractive::progress::*;
use nninteractive::prompts::*;
use nninteractive::session::*;
use nninteractive::status::nni_status::{NNI_ERR_BUSY, NNI_ERR_CANCELLED};
use nninteractive::types::*;

const DIMS: [usize; 3] = [40, 48, 44];

/// A session handle that may cross threads (the C ABI's documented thread rules hold).
#[derive(Clone, Copy)]
struct Handle(*mut nni_session);
// SAFETY: the C ABI allows every call used here from any thread (changing calls answer BUSY
// while another runs); the handle outlives the threads (joined before nni_session_free).
unsafe impl Send for Handle {}
// SAFETY: as above.
unsafe impl Sync for Handle {}

fn runtime() -> bool {
    let path = std::env::var("NNI_ONNXRUNTIME_PATH").unwrap_or_else(|_| {
        format!(
            "{}/.deps/onnxruntime/libonnxruntime.so",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let c = CString::new(path).unwrap();
    // SAFETY: a NUL-terminated path.
    unsafe { nni_runtime_init(c.as_ptr()) == 0 }
}

/// Two bright spheres in a dim image, int16.
fn image() -> Vec<i16> {
    let [ni, nj, nk] = DIMS;
    let mut v = vec![100i16; ni * nj * nk];
    for k in 0..nk {
        for j in 0..nj {
            for i in 0..ni {
                let d = |c: [f64; 3], r: f64| {
                    let (x, y, z) = (i as f64 - c[0], j as f64 - c[1], k as f64 - c[2]);
                    x * x + y * y + z * z <= r * r
                };
                if d([12.0, 14.0, 15.0], 6.0) || d([28.0, 32.0, 30.0], 5.0) {
                    v[i + ni * (j + nj * k)] = 1000;
                }
            }
        }
    }
    v
}

fn open(model: &CString, voxels: &[i16]) -> Handle {
    // SAFETY: a plain C struct (integers and a pointer), filled by nni_session_options_init.
    let mut o: nni_session_options = unsafe { std::mem::zeroed() };
    // SAFETY: a writable options struct.
    unsafe { nni_session_options_init(&mut o) };
    o.model_path = model.as_ptr();
    o.device = NNI_DEVICE_CPU;
    o.num_threads = 1;
    let mut s = ptr::null_mut();
    // SAFETY: valid options and out pointer.
    assert_eq!(unsafe { nni_session_new(&o, &mut s) }, 0);
    let desc = nni_image_desc {
        data: voxels.as_ptr().cast(),
        dtype: NNI_DTYPE_INT16,
        voxel_count: voxels.len(),
        dims: DIMS.map(|d| d as u64),
        spacing: [1.0; 3],
        origin: [0.0; 3],
        direction: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
    };
    // SAFETY: a live session and a descriptor of `voxels`.
    assert_eq!(unsafe { nni_session_set_image(s, &desc) }, 0);
    Handle(s)
}

fn mask(h: Handle) -> (i32, Vec<u8>) {
    let mut m = vec![0u8; DIMS.iter().product()];
    // SAFETY: a live session and a buffer of the image's size.
    let rc = unsafe { nni_session_get_mask(h.0, m.as_mut_ptr(), m.len()) };
    (rc, m)
}

fn point(h: Handle, ijk: [i64; 3]) -> i32 {
    // SAFETY: a live session and three coordinates.
    unsafe { nni_session_add_point(h.0, ijk.as_ptr(), 1, 1) }
}

/// What the progress callback shares with the test: it waits at its first call until `release`
/// is set, after flagging `held`; and, when `reenter` is set, calls its own session first.
struct Gate {
    session: Handle,
    held: AtomicI32,
    release: AtomicI32,
    reenter: bool,
    reentrant_mask: AtomicI32,
    reentrant_point: AtomicI32,
    calls: AtomicUsize,
}

unsafe extern "C" fn hold(user: *mut c_void, _fraction: f64, _stage: *const c_char) -> i32 {
    // SAFETY: `user` is the Gate the test keeps alive for the whole prompt.
    let gate = unsafe { &*(user as *const Gate) };
    if gate.calls.fetch_add(1, Ordering::SeqCst) == 0 {
        if gate.reenter {
            gate.reentrant_mask
                .store(mask(gate.session).0, Ordering::SeqCst);
            gate.reentrant_point
                .store(point(gate.session, [28, 32, 30]), Ordering::SeqCst);
        }
        gate.held.store(1, Ordering::SeqCst);
        while gate.release.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
    }
    0
}

fn gate(h: Handle, reenter: bool) -> Arc<Gate> {
    let g = Arc::new(Gate {
        session: h,
        held: AtomicI32::new(0),
        release: AtomicI32::new(0),
        reenter,
        reentrant_mask: AtomicI32::new(-1),
        reentrant_point: AtomicI32::new(-1),
        calls: AtomicUsize::new(0),
    });
    // SAFETY: a live session; the Gate outlives every prompt that calls back.
    let rc = unsafe {
        nni_session_set_progress_callback(h.0, Some(hold), Arc::as_ptr(&g) as *mut c_void)
    };
    assert_eq!(rc, 0);
    g
}

fn model() -> CString {
    CString::new(format!(
        "{}/models/blob-grow-p32.onnx",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A session on the test model with the image set, when ONNX Runtime can be loaded (else the
/// test is skipped).
fn fixture() -> Option<Handle> {
    if !runtime() {
        eprintln!("skipped: no ONNX Runtime");
        return None;
    }
    // nni_session_set_image copies the voxels before it returns.
    Some(open(&model(), &image()))
}

#[test]
fn another_thread_reads_describes_is_refused_and_cancels_while_a_prompt_runs() {
    let Some(h) = fixture() else {
        return;
    };
    assert_eq!(point(h, [12, 14, 15]), 0);
    let (_, before) = mask(h);
    assert!(before.iter().any(|&v| v != 0));

    for cancel in [false, true] {
        let g = gate(h, false);
        let other = {
            let g = g.clone();
            std::thread::spawn(move || {
                while g.held.load(Ordering::SeqCst) == 0 {
                    std::thread::yield_now();
                }
                let (read, seen) = mask(h);
                let busy = point(h, [28, 32, 30]);
                let mut desc = vec![0 as c_char; 512];
                // SAFETY: a live session and a buffer of its length.
                let n = unsafe { nni_session_describe(h.0, desc.as_mut_ptr(), desc.len()) };
                let described: String = desc[..n.min(desc.len())]
                    .iter()
                    .map(|&c| c as u8 as char)
                    .collect();
                // SAFETY: a live session; NULL removes the callback.
                let swap = unsafe { nni_session_set_progress_callback(h.0, None, ptr::null_mut()) };
                let cancelled = if cancel {
                    // SAFETY: a live session.
                    unsafe { nni_session_request_cancel(h.0) }
                } else {
                    0
                };
                g.release.store(1, Ordering::SeqCst);
                (read, seen, busy, described, swap, cancelled)
            })
        };
        let rc = point(h, [28, 32, 30]);
        let (read, seen, busy, described, swap, cancelled) = other.join().unwrap();
        assert_eq!(read, 0, "the mask is readable while a prompt runs");
        assert_eq!(seen, before, "... and it is the mask before the prompt");
        assert_eq!(
            busy, NNI_ERR_BUSY as i32,
            "a second prompt is refused at once"
        );
        assert!(
            described.contains("ONNX Runtime"),
            "describe answers while a prompt runs: {described:?}"
        );
        assert_eq!(
            swap, NNI_ERR_BUSY as i32,
            "the callback cannot be swapped mid-call"
        );
        assert_eq!(cancelled, 0);
        let (_, after) = mask(h);
        if cancel {
            assert_eq!(rc, NNI_ERR_CANCELLED as i32);
            assert_eq!(after, before, "a cancelled prompt changes nothing");
        } else {
            assert_eq!(rc, 0);
            assert!(
                after.iter().filter(|&&v| v != 0).count()
                    > before.iter().filter(|&&v| v != 0).count(),
                "the second sphere was added"
            );
            // Back to the first sphere alone for the cancel round.
            // SAFETY: a live session.
            assert_eq!(unsafe { nni_session_undo(h.0) }, 0);
        }
    }
    // SAFETY: every thread that used the handle has been joined.
    unsafe { nni_session_free(h.0) };
}

#[test]
fn a_progress_callback_reads_its_session_and_is_refused_changes() {
    let Some(h) = fixture() else {
        return;
    };
    let g = gate(h, true);
    g.release.store(1, Ordering::SeqCst);
    assert_eq!(point(h, [12, 14, 15]), 0);
    assert_eq!(
        g.reentrant_mask.load(Ordering::SeqCst),
        0,
        "get_mask from the callback"
    );
    assert_eq!(
        g.reentrant_point.load(Ordering::SeqCst),
        NNI_ERR_BUSY as i32,
        "a prompt from the callback is refused, not deadlocked"
    );
    let (_, m) = mask(h);
    assert!(m.iter().any(|&v| v != 0));
    // SAFETY: no other thread uses the handle.
    unsafe { nni_session_free(h.0) };
}
