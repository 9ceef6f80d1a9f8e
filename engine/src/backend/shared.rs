//! One loaded network behind many sessions. [`SharedNetwork`] hands each session a handle to the
//! same runtime session (weights and runtime state in memory once) and runs their forwards one at
//! a time; everything around the forward (prompts, crops, resampling, refinement planning) stays
//! per session and runs concurrently. A cancel stops only its own session's forward: the handle
//! interrupts the runtime only while that forward is the one running.
//!
//! [`open_shared`] keeps the networks loaded from files: sessions opened on the same file with the
//! same options share one network, which is freed with its last session.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::SystemTime;

use parking_lot::Mutex;

use super::{Interrupt, Network, NetworkOptions};
use crate::error::{Error, Result};
use crate::metadata::ModelMetadata;

struct Inner {
    net: Mutex<Box<dyn Network>>,
    /// The runtime's own interrupter, if it has one.
    interrupt: Option<Arc<dyn Interrupt>>,
    /// Id of the handle whose forward runs now (0: none).
    running: AtomicU64,
    next_id: AtomicU64,
    description: String,
}

/// The owner of a shared network: makes handles for sessions.
#[derive(Clone)]
pub struct SharedNetwork {
    inner: Arc<Inner>,
}

impl SharedNetwork {
    /// Share `net`.
    pub fn new(net: Box<dyn Network>) -> Self {
        SharedNetwork {
            inner: Arc::new(Inner {
                description: net.describe(),
                interrupt: net.interrupter(),
                net: Mutex::new(net),
                running: AtomicU64::new(0),
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// A handle for one more session.
    pub fn handle(&self) -> Box<dyn Network> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        Box::new(Handle {
            inner: self.inner.clone(),
            cancel: Arc::new(HandleCancel {
                inner: Arc::downgrade(&self.inner),
                id,
                requested: AtomicBool::new(false),
            }),
        })
    }

    /// How many owners and handles hold the network now.
    pub fn users(&self) -> usize {
        Arc::strong_count(&self.inner)
    }

    /// The network in words.
    pub fn describe(&self) -> String {
        self.inner.description.clone()
    }
}

/// One session's use of a shared network.
struct Handle {
    inner: Arc<Inner>,
    cancel: Arc<HandleCancel>,
}

impl Network for Handle {
    fn predict(&mut self, input: Vec<f32>) -> Result<Vec<u8>> {
        let mut net = self.inner.net.lock();
        self.inner.running.store(self.cancel.id, Ordering::SeqCst);
        if let Some(i) = &self.inner.interrupt {
            i.rearm();
        }
        let result = if self.cancel.requested.load(Ordering::SeqCst) {
            Err(Error::Cancelled)
        } else {
            net.predict(input)
        };
        self.inner.running.store(0, Ordering::SeqCst);
        result
    }

    fn describe(&self) -> String {
        self.inner.description.clone()
    }

    /// The shared network's spare buffer, unless another session's forward holds the network
    /// (then an empty one: this session does not wait).
    fn take_input_buffer(&mut self) -> Vec<f32> {
        self.inner
            .net
            .try_lock()
            .map(|mut net| net.take_input_buffer())
            .unwrap_or_default()
    }

    fn interrupter(&self) -> Option<Arc<dyn Interrupt>> {
        Some(self.cancel.clone())
    }
}

/// A session's cancel on a shared network: always stops that session before its next forward,
/// and interrupts the runtime only while that session's own forward runs.
struct HandleCancel {
    inner: Weak<Inner>,
    id: u64,
    requested: AtomicBool,
}

impl Interrupt for HandleCancel {
    fn interrupt(&self) {
        self.requested.store(true, Ordering::SeqCst);
        if let Some(inner) = self.inner.upgrade() {
            if inner.running.load(Ordering::SeqCst) == self.id {
                if let Some(i) = &inner.interrupt {
                    i.interrupt();
                }
            }
        }
    }

    fn rearm(&self) {
        self.requested.store(false, Ordering::SeqCst);
    }
}

/// What makes two loads the same network: the file (as it is now) and the options.
#[derive(Clone, PartialEq)]
struct CacheKey {
    path: PathBuf,
    len: u64,
    modified: Option<SystemTime>,
    options: NetworkOptions,
}

struct CacheEntry {
    key: CacheKey,
    net: Weak<Inner>,
    meta: ModelMetadata,
}

static LOADED: Mutex<Vec<CacheEntry>> = Mutex::new(Vec::new());

/// A network for the model file at `path` with `opts`, shared with every other live session opened
/// on the same file (unchanged since) with the same options; loaded when there is none.
pub fn open_shared(
    path: &Path,
    opts: &NetworkOptions,
) -> Result<(Box<dyn Network>, ModelMetadata)> {
    if !path.is_file() {
        return Err(Error::Model(format!(
            "model file {} does not exist",
            path.display()
        )));
    }
    let file = std::fs::metadata(path)
        .map_err(|e| Error::Model(format!("cannot read {}: {e}", path.display())))?;
    let key = CacheKey {
        path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
        len: file.len(),
        modified: file.modified().ok(),
        options: *opts,
    };
    // One load at a time: two sessions asking for the same model at once load it once.
    let mut loaded = LOADED.lock();
    loaded.retain(|e| e.net.strong_count() > 0);
    if let Some(e) = loaded.iter().find(|e| e.key == key) {
        if let Some(inner) = e.net.upgrade() {
            let shared = SharedNetwork { inner };
            return Ok((shared.handle(), e.meta.clone()));
        }
    }
    let (net, meta) = super::open_network_file(path, opts)?;
    let shared = SharedNetwork::new(net);
    loaded.push(CacheEntry {
        key,
        net: Arc::downgrade(&shared.inner),
        meta: meta.clone(),
    });
    Ok((shared.handle(), meta))
}

/// How many networks loaded from the file at `path` are alive now (each shared by one or more
/// sessions; one per set of options).
pub fn networks_loaded_from(path: &Path) -> usize {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    LOADED
        .lock()
        .iter()
        .filter(|e| e.key.path == path && e.net.strong_count() > 0)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts runs; a run takes a second unless interrupted.
    struct Slow {
        calls: Arc<AtomicUsize>,
        stop: Arc<AtomicBool>,
    }

    struct Stopper(Arc<AtomicBool>);

    impl Interrupt for Stopper {
        fn interrupt(&self) {
            self.0.store(true, Ordering::SeqCst);
        }
        fn rearm(&self) {
            self.0.store(false, Ordering::SeqCst);
        }
    }

    impl Network for Slow {
        fn predict(&mut self, input: Vec<f32>) -> Result<Vec<u8>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            for _ in 0..200 {
                if self.stop.load(Ordering::SeqCst) {
                    return Err(Error::Cancelled);
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Ok(input.iter().map(|&v| (v > 0.0) as u8).collect())
        }
        fn describe(&self) -> String {
            "slow".into()
        }
        fn interrupter(&self) -> Option<Arc<dyn Interrupt>> {
            Some(Arc::new(Stopper(self.stop.clone())))
        }
    }

    fn slow() -> (SharedNetwork, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let net = Slow {
            calls: calls.clone(),
            stop: Arc::new(AtomicBool::new(false)),
        };
        (SharedNetwork::new(Box::new(net)), calls)
    }

    #[test]
    fn handles_run_on_one_network() {
        let (shared, calls) = slow();
        let mut a = shared.handle();
        let mut b = shared.handle();
        assert_eq!(shared.users(), 3);
        assert_eq!(a.predict(vec![1.0, -1.0]).unwrap(), vec![1, 0]);
        assert_eq!(b.predict(vec![-1.0, 2.0]).unwrap(), vec![0, 1]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(a.describe(), "slow");
        drop((a, b));
        assert_eq!(shared.users(), 1);
    }

    #[test]
    fn a_cancel_stops_only_its_own_session() {
        let (shared, calls) = slow();
        let mut a = shared.handle();
        let mut b = shared.handle();
        let cancel_b = b.interrupter().unwrap();
        // a's forward runs; b cancels meanwhile: a finishes, b's next forward does not run.
        let t = std::thread::spawn(move || a.predict(vec![1.0]));
        std::thread::sleep(std::time::Duration::from_millis(100));
        cancel_b.interrupt();
        assert_eq!(t.join().unwrap().unwrap(), vec![1]);
        assert!(matches!(b.predict(vec![1.0]), Err(Error::Cancelled)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // After a rearm (the next call), b runs again; its cancel during its own forward
        // interrupts it.
        cancel_b.rearm();
        let cancel = cancel_b.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            cancel.interrupt();
        });
        // Cancelled by the runtime mid-forward (the forward ran: a second call), not before it.
        assert!(matches!(b.predict(vec![1.0]), Err(Error::Cancelled)));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        t.join().unwrap();
    }
}
