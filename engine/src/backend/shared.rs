//! One loaded network behind many sessions: [`SharedNetwork`] hands each session a handle to the
//! same runtime session (weights and runtime state in memory once) and runs their forwards one at a
//! time, in the order they ask. Everything around the forward (prompts, crops, resampling,
//! refinement planning) stays per session and runs concurrently.

use std::sync::Arc;

use parking_lot::Mutex;

use super::{Interrupt, Network};
use crate::error::Result;

/// A cloneable handle to one network; every clone runs its forwards on the same runtime session,
/// serialised by a lock.
#[derive(Clone)]
pub struct SharedNetwork {
    inner: Arc<Mutex<Box<dyn Network>>>,
    description: Arc<str>,
}

impl SharedNetwork {
    /// Share `net` (its description is read once, here).
    pub fn new(net: Box<dyn Network>) -> Self {
        let description = net.describe().into();
        SharedNetwork {
            inner: Arc::new(Mutex::new(net)),
            description,
        }
    }

    /// A handle for one more session.
    pub fn handle(&self) -> Box<dyn Network> {
        Box::new(self.clone())
    }

    /// How many handles (sessions, plus this one) share the network now.
    pub fn users(&self) -> usize {
        Arc::strong_count(&self.inner)
    }
}

impl Network for SharedNetwork {
    fn predict(&mut self, input: Vec<f32>) -> Result<Vec<u8>> {
        self.inner.lock().predict(input)
    }

    fn describe(&self) -> String {
        format!("{} (shared)", self.description)
    }

    /// None: interrupting the shared runtime would stop whichever session's forward is under
    /// way, not only the caller's; a cancel takes effect at the next checkpoint instead.
    fn interrupter(&self) -> Option<Arc<dyn Interrupt>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counting(std::sync::Arc<std::sync::atomic::AtomicUsize>);

    impl Network for Counting {
        fn predict(&mut self, input: Vec<f32>) -> Result<Vec<u8>> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(input.iter().map(|&v| (v > 0.0) as u8).collect())
        }
        fn describe(&self) -> String {
            "counting".into()
        }
    }

    #[test]
    fn handles_run_on_one_network() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let shared = SharedNetwork::new(Box::new(Counting(calls.clone())));
        let mut a = shared.handle();
        let mut b = shared.handle();
        assert_eq!(shared.users(), 3);
        assert_eq!(a.predict(vec![1.0, -1.0]).unwrap(), vec![1, 0]);
        assert_eq!(b.predict(vec![-1.0, 2.0]).unwrap(), vec![0, 1]);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(a.describe(), "counting (shared)");
        drop((a, b));
        assert_eq!(shared.users(), 1);
    }
}
