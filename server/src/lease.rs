//! One client's session as the protocol sees it: the engine's session plus the client's target
//! buffer (shape and type only: the server answers each prediction with the changed sub-volume,
//! and the client writes it into its own buffer), and the replies the protocol expects.

use nninteractive_engine::geometry::{copy_region_out, BBox, Shape};
use nninteractive_engine::{MaskPrompt, Session};

use crate::dtype::{self, WireDType};
use crate::error::ApiError;
use crate::images::ImageCache;
use crate::nnia::WireArray;

/// The client's target buffer: the label map each prediction is written into.
#[derive(Clone, Copy, Debug)]
pub struct TargetBuffer {
    /// Its shape (the image's spatial shape).
    pub shape: Shape,
    /// Its element type.
    pub dtype: WireDType,
}

/// What a prompt, prediction or undo changed: whether it ran, and the changed sub-volume in the
/// target buffer's type.
pub struct Change {
    /// The protocol's `ran_prediction`.
    pub ran: bool,
    /// The changed box (clipped to the image) and its voxels, when something was written.
    pub region: Option<(BBox, WireDType, Vec<u8>)>,
}

/// What a session holds per voxel of its image: the normalised float32 copy and the mask.
pub const BYTES_PER_VOXEL: usize = 5;

/// A session and its client's target buffer.
pub struct LeaseSession {
    session: Session,
    target: Option<TargetBuffer>,
}

impl LeaseSession {
    /// Wrap a new engine session.
    pub fn new(session: Session) -> Self {
        LeaseSession {
            session,
            target: None,
        }
    }

    /// Set the image: `[1, x, y, z]` (one channel), normalised once for every lease that sends
    /// the same image (`cache`). Drops every prompt, the mask and the target buffer
    /// (`set_target_buffer` must follow), as the reference does. Returns the image's shape as
    /// sent, and whether another session already held the image.
    pub fn set_image(
        &mut self,
        image: &WireArray,
        cache: &ImageCache,
        budget: usize,
    ) -> Result<(Vec<usize>, bool), ApiError> {
        let channels = self.session.metadata().num_image_channels;
        if image.shape.len() != 4 {
            return Err(ApiError::bad_request(format!(
                "expected a 4d image as input, got {}d. Shape {:?}",
                image.shape.len(),
                image.shape
            )));
        }
        if image.shape[0] != channels {
            return Err(ApiError::bad_request(format!(
                "the image has {} channels (shape {:?}); this model takes {channels}",
                image.shape[0], image.shape
            )));
        }
        let shape = [image.shape[1], image.shape[2], image.shape[3]];
        let cost = shape
            .iter()
            .try_fold(BYTES_PER_VOXEL, |a: usize, &d| a.checked_mul(d))
            .unwrap_or(usize::MAX);
        if cost > budget {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "an image of {shape:?} voxels needs {:.1} MiB in a session (a float32 copy and the mask), more than one lease may hold ({:.1} MiB; nni serve --max-lease-mb)",
                    cost as f64 / 1048576.0,
                    budget as f64 / 1048576.0
                ),
            ));
        }
        let (normalised, shared) = cache.get_or_make(image, shape)?;
        self.session.set_shared_image(normalised)?;
        self.target = None;
        Ok((image.shape.clone(), shared))
    }

    /// Set the target buffer's shape and type (the reference: 3D, positive sizes, bool or an
    /// integer type); when an image is set, the shape must be the image's.
    pub fn set_target_buffer(&mut self, target: TargetBuffer) -> Result<(), ApiError> {
        if let Some(shape) = self.session.shape() {
            if shape != target.shape {
                return Err(ApiError::bad_request(format!(
                    "target buffer shape {:?} differs from the image's {shape:?}",
                    target.shape
                )));
            }
        }
        self.target = Some(target);
        Ok(())
    }

    /// Turn AutoZoom on or off.
    pub fn set_autozoom(&mut self, on: bool) {
        self.session.set_autozoom(on);
    }

    /// Drop every prompt and the mask (nothing to do before an image is set).
    pub fn reset(&mut self) -> Result<(), ApiError> {
        if self.session.shape().is_some() {
            self.session.reset()?;
        }
        Ok(())
    }

    /// Step back one prompt.
    pub fn undo(&mut self) -> Result<Change, ApiError> {
        if self.session.shape().is_none() {
            return Ok(Change {
                ran: false,
                region: None,
            });
        }
        let ran = self.session.undo()?;
        let changed = if ran {
            self.session.last_changed()
        } else {
            None
        };
        self.change(ran, changed)
    }

    /// Predict on the prompts queued without a prediction.
    pub fn predict(&mut self, force_full_refine: bool) -> Result<Change, ApiError> {
        self.ready()?;
        let changed = self.session.predict_queued(force_full_refine)?;
        self.change(changed.is_some(), changed)
    }

    /// A point at `coords` (the image array's axes).
    pub fn add_point(
        &mut self,
        coords: [f64; 3],
        positive: bool,
        run: bool,
    ) -> Result<Change, ApiError> {
        self.ready()?;
        let changed = self.session.add_point(coords, positive, run)?;
        self.change(run, changed)
    }

    /// A box, half-open `[lo, hi)` per axis.
    pub fn add_bbox(
        &mut self,
        lo: [f64; 3],
        hi: [f64; 3],
        positive: bool,
        run: bool,
    ) -> Result<Change, ApiError> {
        self.ready()?;
        let changed = self.session.add_box(lo, hi, positive, run)?;
        self.change(run, changed)
    }

    /// A scribble or lasso mask, image-shaped or covering `region` only.
    pub fn add_mask(
        &mut self,
        kind: MaskPrompt,
        mask: &WireArray,
        region: Option<BBox>,
        positive: bool,
        run: bool,
    ) -> Result<Change, ApiError> {
        let shape = self.ready()?;
        let expected = region.map_or(shape, |r| r.shape());
        check_mask_shape(mask, expected, region.is_some())?;
        let values = dtype::mask_bytes(mask.dtype, mask.bytes()).map_err(ApiError::bad_request)?;
        let changed = self
            .session
            .add_mask(kind, &values, region, positive, run)?;
        self.change(run, changed)
    }

    /// Start over from an initial segmentation (image-shaped).
    pub fn add_initial_seg(&mut self, mask: &WireArray, run: bool) -> Result<Change, ApiError> {
        let shape = self.ready()?;
        check_mask_shape(mask, shape, false)?;
        let values = dtype::mask_bytes(mask.dtype, mask.bytes()).map_err(ApiError::bad_request)?;
        let changed = self.session.set_initial_mask(&values, run)?;
        self.change(run, changed)
    }

    /// The image's shape, once an image and a matching target buffer are set.
    fn ready(&self) -> Result<Shape, ApiError> {
        let shape = self.session.shape().ok_or_else(|| {
            ApiError::bad_request("no image: call set_image (then set_target_buffer) first")
        })?;
        match self.target {
            None => Err(ApiError::bad_request(
                "no target buffer: call set_target_buffer after set_image",
            )),
            Some(t) if t.shape != shape => Err(ApiError::bad_request(format!(
                "target buffer shape {:?} differs from the image's {shape:?}",
                t.shape
            ))),
            Some(_) => Ok(shape),
        }
    }

    /// The reply to an operation: when it ran and wrote something, the written box and its
    /// voxels in the target buffer's type.
    fn change(&self, ran: bool, changed: Option<BBox>) -> Result<Change, ApiError> {
        let (Some(shape), Some(target)) = (self.session.shape(), self.target) else {
            return Ok(Change { ran, region: None });
        };
        let Some(region) = changed.filter(|_| ran).and_then(|b| b.clip(shape)) else {
            return Ok(Change { ran, region: None });
        };
        let mask = self
            .session
            .mask()
            .ok_or_else(|| ApiError::internal("the session has an image but no mask"))?;
        let mut values = vec![0u8; region.voxels()];
        copy_region_out(&mask, shape, &region, &mut values);
        Ok(Change {
            ran,
            region: Some((
                region,
                target.dtype,
                dtype::encode_mask(&values, target.dtype),
            )),
        })
    }
}

/// A prompt mask must be 3D (or 4D with one leading channel) and of the expected shape.
fn check_mask_shape(mask: &WireArray, expected: Shape, for_region: bool) -> Result<(), ApiError> {
    let dims: &[usize] = match mask.shape.as_slice() {
        [1, rest @ ..] if rest.len() == 3 => rest,
        s => s,
    };
    if dims != expected {
        let of = if for_region {
            "its interaction_bbox"
        } else {
            "the image"
        };
        return Err(ApiError::bad_request(format!(
            "mask shape {:?} differs from {of}: {expected:?}",
            mask.shape
        )));
    }
    Ok(())
}
