//! Images shared between leases: clients that upload the same image (the same voxels, type and
//! shape) get one normalised float32 copy, not one each, as long as any session holds it.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use nninteractive_engine::image::PreprocessedImage;
use nninteractive_engine::Shape;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use crate::dtype;
use crate::error::ApiError;
use crate::nnia::WireArray;

/// The images sessions hold now, by a hash of what the client sent.
#[derive(Default)]
pub struct ImageCache {
    images: Mutex<HashMap<[u8; 32], Weak<PreprocessedImage>>>,
}

/// SHA-256 of an uploaded image: its type, shape and bytes.
fn key_of(image: &WireArray) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(image.dtype.name().as_bytes());
    for &d in &image.shape {
        h.update((d as u64).to_le_bytes());
    }
    h.update(image.bytes());
    h.finalize().into()
}

impl ImageCache {
    /// The normalised image of `image` (spatial `shape`): the one another session holds when the
    /// same image was sent before, else a new one. The flag says whether it was shared.
    pub fn get_or_make(
        &self,
        image: &WireArray,
        shape: Shape,
    ) -> Result<(Arc<PreprocessedImage>, bool), ApiError> {
        let key = key_of(image);
        if let Some(found) = self.images.lock().get(&key).and_then(Weak::upgrade) {
            return Ok((found, true));
        }
        let voxels = dtype::voxels(image.dtype, image.bytes());
        let made = Arc::new(PreprocessedImage::new(voxels.as_voxel_data(), shape)?);
        let mut images = self.images.lock();
        images.retain(|_, w| w.strong_count() > 0);
        images.insert(key, Arc::downgrade(&made));
        Ok((made, false))
    }
}
