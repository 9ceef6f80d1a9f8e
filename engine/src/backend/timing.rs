//! How long the network took: [`Timed`] wraps a [`Network`] and adds each forward's wall time
//! and count to a [`NetworkClock`], so a caller can tell the network's share of a click from the
//! work around it (on a GPU, the host-side input, transfers and pasting).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Interrupt, Network};
use crate::error::Result;

/// Forwards run and their total wall time, since the network was wrapped.
#[derive(Default, Debug)]
pub struct NetworkClock {
    nanos: AtomicU64,
    runs: AtomicU64,
}

impl NetworkClock {
    /// (forwards run, their total wall time) so far.
    pub fn read(&self) -> (u64, Duration) {
        (
            self.runs.load(Ordering::Relaxed),
            Duration::from_nanos(self.nanos.load(Ordering::Relaxed)),
        )
    }
}

/// A network whose forwards are timed into a shared [`NetworkClock`].
pub struct Timed {
    inner: Box<dyn Network>,
    clock: Arc<NetworkClock>,
}

impl Timed {
    /// Wrap `inner`; its forwards add to `clock`.
    pub fn new(inner: Box<dyn Network>, clock: Arc<NetworkClock>) -> Self {
        Timed { inner, clock }
    }
}

impl Network for Timed {
    fn predict(&mut self, input: Vec<f32>) -> Result<Vec<u8>> {
        let start = Instant::now();
        let out = self.inner.predict(input);
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.clock.nanos.fetch_add(nanos, Ordering::Relaxed);
        self.clock.runs.fetch_add(1, Ordering::Relaxed);
        out
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn take_input_buffer(&mut self) -> Vec<f32> {
        self.inner.take_input_buffer()
    }

    fn interrupter(&self) -> Option<Arc<dyn Interrupt>> {
        self.inner.interrupter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sleepy;
    impl Network for Sleepy {
        fn predict(&mut self, input: Vec<f32>) -> Result<Vec<u8>> {
            std::thread::sleep(Duration::from_millis(20));
            Ok(vec![0; input.len()])
        }
        fn describe(&self) -> String {
            "sleepy".into()
        }
    }

    #[test]
    fn forwards_are_counted_and_timed() {
        let clock = Arc::new(NetworkClock::default());
        let mut net = Timed::new(Box::new(Sleepy), clock.clone());
        assert_eq!(clock.read(), (0, Duration::ZERO));
        net.predict(vec![0.0; 4]).unwrap();
        net.predict(vec![0.0; 4]).unwrap();
        let (runs, took) = clock.read();
        assert_eq!(runs, 2);
        assert!(took >= Duration::from_millis(40), "{took:?}");
        assert_eq!(net.describe(), "sleepy");
    }
}
