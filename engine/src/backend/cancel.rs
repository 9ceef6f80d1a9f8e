//! Cancelling a running call from another thread: a [`CancelToken`] sets the session's flag, read
//! at every checkpoint of a prediction, and interrupts the network run under way where the runtime
//! allows it (ONNX Runtime's run-level terminate), so a cancel does not wait for a whole forward.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Something that stops a network run under way, from any thread.
pub trait Interrupt: Send + Sync {
    /// Make the run under way (or the next one) stop with [`crate::Error::Cancelled`].
    fn interrupt(&self);
    /// Let the next runs proceed again (at the start of each call).
    fn rearm(&self);
}

/// The cancel request of one session: shared with the host (C ABI, server), which may call
/// [`CancelToken::cancel`] from any thread at any time.
#[derive(Default)]
pub struct CancelToken {
    flag: AtomicBool,
    interrupt: Mutex<Option<Arc<dyn Interrupt>>>,
}

impl CancelToken {
    /// A token that interrupts `interrupt`'s runs too.
    pub fn new(interrupt: Option<Arc<dyn Interrupt>>) -> Self {
        CancelToken {
            flag: AtomicBool::new(false),
            interrupt: Mutex::new(interrupt),
        }
    }

    /// Ask the running call to stop: at its next checkpoint, and within the network run under way
    /// where the runtime can be interrupted. Never blocks for long.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        if let Some(i) = self
            .interrupt
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            i.interrupt();
        }
    }

    /// Whether cancel was asked since the call began.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Clear the request at the start of a call.
    pub(crate) fn rearm(&self) {
        self.flag.store(false, Ordering::SeqCst);
        if let Some(i) = self
            .interrupt
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
        {
            i.rearm();
        }
    }
}
