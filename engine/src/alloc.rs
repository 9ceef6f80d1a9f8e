//! Fallible buffers: every allocation that grows with the image, the patch or a region goes
//! through [`zeroed`], so a failure becomes [`Error::OutOfMemory`] (and the transaction is rolled
//! back) instead of aborting the host process.

use crate::error::{Error, Result};

/// `n` default values (zeros), or [`Error::OutOfMemory`] naming `what`.
pub fn zeroed<T: Clone + Default>(n: usize, what: &str) -> Result<Vec<T>> {
    zeroed_in(Vec::new(), n, what)
}

/// `buf` emptied and refilled with `n` default values (zeros), its memory reused where it holds
/// enough (else grown fallibly: [`Error::OutOfMemory`] naming `what`).
pub fn zeroed_in<T: Clone + Default>(mut buf: Vec<T>, n: usize, what: &str) -> Result<Vec<T>> {
    buf.clear();
    buf.try_reserve_exact(n).map_err(|_| {
        Error::OutOfMemory(format!(
            "cannot allocate {what} ({n} values of {} bytes)",
            std::mem::size_of::<T>()
        ))
    })?;
    buf.resize(n, T::default());
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_impossible_size_is_an_error_not_an_abort() {
        match zeroed::<u64>(usize::MAX / 4, "a test buffer") {
            Err(Error::OutOfMemory(m)) => assert!(m.contains("a test buffer"), "{m}"),
            other => panic!("{:?}", other.map(|v| v.len())),
        }
        assert_eq!(zeroed::<u8>(5, "five").unwrap(), vec![0; 5]);
    }
}
