//! A scripted test double of the network (feature `fake-network`), for tests of what the session
//! does when a forward fails, is cancelled or panics at any stage of a prediction (first forward,
//! an AutoZoom forward, refinement patch k), without ONNX Runtime.
//!
//! [`FakeNetwork`] predicts "foreground where the image channel is above zero" (bright voxels of a
//! z-scored image), so a bright object larger than the patch makes the session zoom out and
//! refine in several patches, as the real network does. A [`FakeControl`] held by the test counts
//! forwards, records a hash of every input, and plans faults at given forward numbers.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::backend::{CancelToken, Interrupt, Network};
use crate::error::{Error, Result};
use crate::metadata::ModelMetadata;

/// What the fake network does on a planned forward.
#[derive(Clone)]
pub enum Fault {
    /// The forward fails with [`Error::Inference`].
    Fail,
    /// The forward succeeds and cancels the given token (the session's), as another thread
    /// calling cancel during the forward would.
    Cancel(Arc<CancelToken>),
    /// The forward panics.
    Panic,
    /// The forward runs until it is interrupted (the session's cancel reaching the run under
    /// way), then fails with [`Error::Cancelled`]; after 30 s without an interrupt it fails with
    /// [`Error::Inference`] instead, so a broken interrupt fails a test rather than hanging it.
    RunUntilInterrupted,
}

#[derive(Default)]
struct Script {
    forwards: usize,
    faults: BTreeMap<usize, Fault>,
    input_hashes: Vec<u64>,
    /// A forward is running and waits for an interrupt.
    waiting: bool,
    /// Interrupts received (and not yet consumed by a waiting forward).
    interrupted: bool,
    /// Interrupts that stopped a waiting forward.
    interrupts_taken: usize,
}

/// The fake network's interrupt: wakes a forward that runs until interrupted.
struct FakeInterrupt(FakeControl);

impl Interrupt for FakeInterrupt {
    fn interrupt(&self) {
        self.0.script().interrupted = true;
        (self.0).0 .1.notify_all();
    }

    fn rearm(&self) {
        self.0.script().interrupted = false;
    }
}

/// The test's handle on a [`FakeNetwork`]: forward count, input hashes, planned faults.
#[derive(Clone, Default)]
pub struct FakeControl(Arc<(Mutex<Script>, Condvar)>);

impl FakeControl {
    fn script(&self) -> MutexGuard<'_, Script> {
        // A panic planned by a test never happens while the lock is held: recover the data.
        self.0 .0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a forward is running and waiting for an interrupt.
    pub fn is_waiting(&self) -> bool {
        self.script().waiting
    }

    /// How many forwards an interrupt stopped.
    pub fn interrupts_taken(&self) -> usize {
        self.script().interrupts_taken
    }

    /// Forwards run so far (failed ones included).
    pub fn forwards(&self) -> usize {
        self.script().forwards
    }

    /// Hash of each forward's input, in order (failed forwards included).
    pub fn input_hashes(&self) -> Vec<u64> {
        self.script().input_hashes.clone()
    }

    /// Plan `fault` for forward number `n` (0-based, counted over the network's life).
    pub fn plan(&self, n: usize, fault: Fault) {
        self.script().faults.insert(n, fault);
    }

    /// Drop every planned fault.
    pub fn clear(&self) {
        self.script().faults.clear();
    }
}

/// The fake network: foreground where the image channel (the first of the input) is above zero.
pub struct FakeNetwork {
    patch: [usize; 3],
    control: FakeControl,
}

impl FakeNetwork {
    /// A fake network of cubic patch `patch`, its metadata (every prompt kind, point radius 2),
    /// and the control handle.
    pub fn new(patch: usize) -> (Self, ModelMetadata, FakeControl) {
        let meta = ModelMetadata::from_json(&format!(
            r#"{{"format": 1, "name": "fake network", "patch_size": [{patch}, {patch}, {patch}],
                "point_radius": 2, "supports_initial_label": true,
                "supported_interactions": {{"points": true, "bbox2d": true, "bbox3d": true,
                                            "scribble": true, "lasso": true}}}}"#
        ))
        .expect("the fake network's metadata is valid");
        let control = FakeControl::default();
        let net = FakeNetwork {
            patch: [patch; 3],
            control: control.clone(),
        };
        (net, meta, control)
    }
}

impl Network for FakeNetwork {
    fn predict(&mut self, input: Vec<f32>) -> Result<Vec<u8>> {
        let fault = {
            let mut script = self.control.script();
            let n = script.forwards;
            script.forwards += 1;
            let mut h = std::collections::hash_map::DefaultHasher::new();
            input.len().hash(&mut h);
            input.iter().for_each(|v| v.to_bits().hash(&mut h));
            script.input_hashes.push(h.finish());
            script.faults.get(&n).cloned()
        };
        let np: usize = self.patch.iter().product();
        if input.len() < np {
            return Err(Error::Inference(format!(
                "fake network: input of {} values, a patch has {np}",
                input.len()
            )));
        }
        match fault {
            Some(Fault::Fail) => Err(Error::Inference("fake network: planned failure".into())),
            Some(Fault::Panic) => panic!("fake network: planned panic"),
            Some(Fault::Cancel(token)) => {
                token.cancel();
                Ok(foreground(&input[..np]))
            }
            Some(Fault::RunUntilInterrupted) => self.run_until_interrupted(),
            None => Ok(foreground(&input[..np])),
        }
    }

    fn interrupter(&self) -> Option<Arc<dyn Interrupt>> {
        Some(Arc::new(FakeInterrupt(self.control.clone())))
    }

    fn describe(&self) -> String {
        format!("fake network, patch {:?}", self.patch)
    }
}

impl FakeNetwork {
    fn run_until_interrupted(&self) -> Result<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let (lock, wake) = &*self.control.0;
        let mut script = lock.lock().unwrap_or_else(|e| e.into_inner());
        script.waiting = true;
        while !script.interrupted {
            let now = Instant::now();
            if now >= deadline {
                script.waiting = false;
                return Err(Error::Inference(
                    "fake network: no interrupt within 30 s".into(),
                ));
            }
            script = wake
                .wait_timeout(script, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        script.waiting = false;
        script.interrupts_taken += 1;
        Err(Error::Cancelled)
    }
}

fn foreground(image: &[f32]) -> Vec<u8> {
    image.iter().map(|&v| u8::from(v > 0.0)).collect()
}
