//! What other threads may read while a call runs on a session: the image's shape, the mask and
//! the box the last call changed. They sit behind a reader-writer lock that the running call
//! takes only for short sections (reading a crop, pasting a result), never across a network run
//! or a progress callback, so a reader (a viewer redrawing, or the progress callback itself)
//! waits for milliseconds at most and always sees a mask as one call left it, or as it was.

use std::sync::Arc;

use parking_lot::{
    MappedRwLockReadGuard, MappedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};

use crate::geometry::{BBox, Shape};

/// The readable state of a session with an image.
#[derive(Debug)]
pub struct MaskView {
    /// Spatial shape of the image, reference axes.
    pub shape: Shape,
    /// The mask, image-shaped, C order.
    pub mask: Vec<u8>,
    /// The region the last call wrote (clipped to the image), if any.
    pub last_changed: Option<BBox>,
}

/// A handle on a session's readable state, usable from any thread while the session is busy.
#[derive(Clone, Default)]
pub struct SessionReader(Arc<RwLock<Option<MaskView>>>);

impl SessionReader {
    /// The readable state, or None before the first image.
    pub fn read(&self) -> Option<MappedRwLockReadGuard<'_, MaskView>> {
        RwLockReadGuard::try_map(self.0.read(), |v| v.as_ref()).ok()
    }

    /// The readable state of a session whose image the caller has checked.
    pub(crate) fn get(&self) -> MappedRwLockReadGuard<'_, MaskView> {
        self.read().expect("image checked")
    }

    /// Writable access, for the short sections that change the mask.
    pub(crate) fn get_mut(&self) -> MappedRwLockWriteGuard<'_, MaskView> {
        RwLockWriteGuard::map(self.0.write(), |v| v.as_mut().expect("image checked"))
    }

    /// Replace the whole state (a new image).
    pub(crate) fn replace(&self, view: Option<MaskView>) {
        *self.0.write() = view;
    }
}

/// A read-locked view of the mask, from [`crate::Session::mask`]; release it before the next call
/// that changes the session.
pub struct MaskRef<'a>(pub(crate) MappedRwLockReadGuard<'a, [u8]>);

impl std::ops::Deref for MaskRef<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for MaskRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MaskRef({} voxels)", self.0.len())
    }
}

impl PartialEq<&[u8]> for MaskRef<'_> {
    fn eq(&self, other: &&[u8]) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<MaskRef<'_>> for MaskRef<'_> {
    fn eq(&self, other: &MaskRef<'_>) -> bool {
        *self.0 == *other.0
    }
}
