//! The interactive session: one preprocessed image, the prompts for one object and the current
//! mask. This file holds the session's state and its prompt calls; [`transaction`] makes each
//! prompt atomic and undoable, `predict` runs the reference's prediction pipeline (AutoZoom,
//! refinement).
//!
//! Every prompt is atomic: it records the pre-image of everything it overwrites, and a failure, a
//! cancellation or a panic part-way restores that record, so the session is left exactly as it
//! was.

use std::sync::Arc;

use half::f16;

use crate::alloc::zeroed;
use crate::backend::{CancelToken, Network, NetworkOptions};
use crate::channels::SparseChannel;
use crate::error::{Error, Result};
use crate::geometry::{
    copy_region_out, ijk, ijk_box, nonzero_bbox, paste_region, round_half_even, BBox, Shape,
};
use crate::image::{PreprocessedImage, VoxelData};
use crate::metadata::{ModelMetadata, PromptKind};
use crate::planning::{self, QueuedPatch};
use crate::prompts;

pub mod log;
mod predict;
pub mod transaction;
pub mod view;

pub use view::{MaskRef, MaskView, SessionReader};

use transaction::{MaskRecord, Step, UndoLog};

/// Progress callback: `(fraction in [0, 1], stage)`; return `true` to cancel the running call
/// (it then fails with [`Error::Cancelled`] and changes nothing), `false` to go on. This is the
/// convention of every binding (C: nonzero cancels). A panic in the callback also cancels: the
/// session is restored, then the panic continues in the caller.
pub type ProgressFn = Box<dyn FnMut(f64, &str) -> bool + Send>;

/// Renormalisation target of the interaction intensity (float16 max / 10).
const RENORM_TARGET: f64 = 6550.4;
/// Largest finite float16.
const F16_MAX: f64 = 65504.0;

/// What belongs to the current image besides what other threads may read ([`view`]): its
/// preprocessed voxels, the interaction channels, the interaction intensity and the undo record.
struct ImageState {
    /// Shared with every other session on the same image ([`Session::set_shared_image`]).
    image: Arc<PreprocessedImage>,
    channels: Vec<SparseChannel>,
    intensity: f64,
    /// The running transaction's record (Some only during a prompt).
    pending: Option<UndoLog>,
    /// Finished prompts, oldest first: undo steps back through them.
    history: std::collections::VecDeque<Step>,
    /// Undone prompts, most recently undone last: redo re-applies them.
    redo: Vec<Step>,
}

/// Which kind of mask prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskPrompt {
    /// A scribble (stroke) mask.
    Scribble,
    /// A lasso (filled closed contour) mask.
    Lasso,
}

/// One segmentation session over one image. Not `Sync`: the C ABI serialises calls with a mutex.
pub struct Session {
    net: Box<dyn Network>,
    meta: ModelMetadata,
    autozoom: bool,
    queue: Vec<QueuedPatch>,
    state: Option<ImageState>,
    /// Shape, mask and last changed box, readable from other threads (Some with `state`).
    reader: SessionReader,
    ball: Vec<f64>,
    progress: Option<ProgressFn>,
    /// Bytes the undo and redo history may hold.
    history_budget: usize,
    /// The last fraction reported in the running call (progress never goes back).
    progress_floor: f64,
    /// A panic of the progress callback, held until the transaction is rolled back.
    callback_panic: Option<Box<dyn std::any::Any + Send>>,
    cancel: Arc<CancelToken>,
    /// The calls since the image was set ([`log`]).
    log: Vec<log::LogCall>,
    /// AutoZoom when the image was set.
    log_autozoom: bool,
    /// What the network was opened with (named in the log).
    network_options: NetworkOptions,
    /// The forwards this session ran and their time.
    network_clock: Arc<crate::backend::NetworkClock>,
}

impl Session {
    /// A session over `net`, described by `meta`.
    pub fn new(net: Box<dyn Network>, meta: ModelMetadata) -> Self {
        let network_clock = Arc::new(crate::backend::NetworkClock::default());
        let net: Box<dyn Network> = Box::new(crate::backend::timing::Timed::new(
            net,
            network_clock.clone(),
        ));
        let ball = prompts::point_ball(meta.point_radius);
        let cancel = Arc::new(CancelToken::new(net.interrupter()));
        Session {
            net,
            meta,
            autozoom: true,
            queue: Vec::new(),
            state: None,
            reader: SessionReader::default(),
            ball,
            progress: None,
            history_budget: transaction::DEFAULT_HISTORY_BUDGET,
            progress_floor: 0.0,
            callback_panic: None,
            cancel,
            log: Vec::new(),
            log_autozoom: true,
            network_options: NetworkOptions::default(),
            network_clock,
        }
    }

    /// Record what the network was opened with (the prompt log names it).
    pub fn set_network_options(&mut self, options: NetworkOptions) {
        self.network_options = options;
    }

    /// The model's metadata.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.meta
    }

    /// Where the network runs, in words.
    pub fn describe_network(&self) -> String {
        self.net.describe()
    }

    /// The network forwards this session has run and their total wall time (the rest of a
    /// call's time is the work around the network: prompts, crops, resampling, pasting).
    pub fn network_time(&self) -> (u64, std::time::Duration) {
        self.network_clock.read()
    }

    /// Turn AutoZoom on or off (on by default, as in the reference).
    pub fn set_autozoom(&mut self, on: bool) {
        if on != self.autozoom && self.state.is_some() {
            self.log.push(log::LogCall::Autozoom { on });
        }
        self.autozoom = on;
    }

    /// Install (or remove) the progress callback.
    pub fn set_progress(&mut self, progress: Option<ProgressFn>) {
        self.progress = progress;
    }

    /// The session's cancel request: [`CancelToken::cancel`] from any thread stops the running
    /// call (within the network run under way where the runtime allows it); the call then fails
    /// with [`Error::Cancelled`] and changes nothing.
    pub fn cancel_token(&self) -> Arc<CancelToken> {
        self.cancel.clone()
    }

    /// Spatial shape of the current image, reference axes.
    pub fn shape(&self) -> Option<Shape> {
        self.state.as_ref().map(|s| s.image.shape)
    }

    /// The current mask (0/1, or the initial segmentation's values), image-shaped, C order.
    pub fn mask(&self) -> Option<MaskRef<'_>> {
        self.reader.read().map(|v| {
            MaskRef(parking_lot::MappedRwLockReadGuard::map(v, |v| {
                v.mask.as_slice()
            }))
        })
    }

    /// The region written by the last operation (clipped to the image), if any.
    pub fn last_changed(&self) -> Option<BBox> {
        self.reader.read().and_then(|v| v.last_changed)
    }

    /// A handle other threads may read shape, mask and last changed box through while a call
    /// runs on this session (see [`view`]).
    pub fn reader(&self) -> SessionReader {
        self.reader.clone()
    }

    /// Current interaction intensity (grows by 1/decay per prompt).
    pub fn intensity(&self) -> Option<f64> {
        self.state.as_ref().map(|s| s.intensity)
    }

    /// Whether an undo is available.
    pub fn can_undo(&self) -> bool {
        self.state.as_ref().is_some_and(|s| !s.history.is_empty())
    }

    /// Whether a redo is available.
    pub fn can_redo(&self) -> bool {
        self.state.as_ref().is_some_and(|s| !s.redo.is_empty())
    }

    /// (undo steps, redo steps, bytes they hold).
    pub fn history_depth(&self) -> (usize, usize, usize) {
        self.state.as_ref().map_or((0, 0, 0), |s| {
            let bytes = s.history.iter().chain(&s.redo).map(Step::bytes).sum();
            (s.history.len(), s.redo.len(), bytes)
        })
    }

    /// Bound the memory of the undo and redo history to `bytes` (default 1 GiB): the oldest
    /// steps are dropped first (the most recent step is always kept).
    pub fn set_history_budget(&mut self, bytes: usize) {
        self.history_budget = bytes;
        if let Some(st) = self.state.as_mut() {
            transaction::enforce_budget(st, bytes);
        }
    }

    /// Bytes held by the interaction channels (compact prompt state).
    pub fn prompt_state_bytes(&self) -> usize {
        self.state
            .as_ref()
            .map(|s| {
                s.channels
                    .iter()
                    .map(|c| c.allocated_chunks())
                    .sum::<usize>()
                    * crate::channels::CHUNK.pow(3)
                    * 2
            })
            .unwrap_or(0)
    }

    /// Set a new image: converted to float32 and z-scored. Prompts, mask and undo are dropped; the
    /// prediction queue is kept, as in the reference. On error the session is unchanged.
    pub fn set_image(&mut self, voxels: VoxelData<'_>, shape: Shape) -> Result<()> {
        let image = PreprocessedImage::new(voxels, shape)?;
        self.set_shared_image(Arc::new(image))
    }

    /// Set an image preprocessed once and shared with other sessions (one object each): the
    /// same as [`Session::set_image`] with its voxels, without another float32 copy. The
    /// preprocessing depends on the image alone, so sessions of different models may share one.
    pub fn set_shared_image(&mut self, image: Arc<PreprocessedImage>) -> Result<()> {
        let shape = image.shape;
        let n = image.data.len();
        let mut mask = Vec::new();
        mask.try_reserve_exact(n)
            .map_err(|_| Error::OutOfMemory(format!("cannot allocate the mask ({n} voxels)")))?;
        mask.resize(n, 0u8);
        let channels = (0..self.meta.num_interaction_channels)
            .map(|_| SparseChannel::new(shape))
            .collect();
        self.state = Some(ImageState {
            image,
            channels,
            intensity: 1.0,
            pending: None,
            history: Default::default(),
            redo: Vec::new(),
        });
        self.reader.replace(Some(MaskView {
            shape,
            mask,
            last_changed: None,
        }));
        self.log.clear();
        self.log_autozoom = self.autozoom;
        Ok(())
    }

    /// The current image, preprocessed (for sharing with another session).
    pub fn image(&self) -> Option<Arc<PreprocessedImage>> {
        self.state.as_ref().map(|s| s.image.clone())
    }

    // ----------------------------------------------------------------- prompts

    /// Add a point at voxel `coords` (rounded half to even). Points outside the image write
    /// nothing but still queue their centre, as in the reference.
    pub fn add_point(
        &mut self,
        coords: [f64; 3],
        positive: bool,
        run_prediction: bool,
    ) -> Result<Option<BBox>> {
        self.require_kind(PromptKind::Points)?;
        self.require_image()?;
        let (pos_ch, neg_ch) = self.meta.channels(PromptKind::Points);
        let ch = if positive { pos_ch } else { neg_ch };
        let changed = self.atomic(|s| {
            let c = [
                round_half_even(coords[0]),
                round_half_even(coords[1]),
                round_half_even(coords[2]),
            ];
            s.queue.push(QueuedPatch {
                center: c,
                zoom: 1.0,
            });
            s.bump_intensity();
            let r = s.meta.point_radius as i64;
            let n = (2 * r + 1) as usize;
            let region = BBox::new(
                [c[0] - r, c[1] - r, c[2] - r],
                [c[0] + r + 1, c[1] + r + 1, c[2] + r + 1],
            );
            let st = s.state.as_mut().expect("image checked");
            let intensity = st.intensity;
            let large = st.image.data.len() > prompts::BLOSC2_MIN_VOXELS;
            let ball = &s.ball;
            let undo = st.pending.as_mut().map(|u| &mut u.chunks);
            st.channels[ch].modify_region(ch, &region, undo, |p, v| {
                let l = [
                    (p[0] as i64 - region.lo[0]) as usize,
                    (p[1] as i64 - region.lo[1]) as usize,
                    (p[2] as i64 - region.lo[2]) as usize,
                ];
                let b = ball[(l[0] * n + l[1]) * n + l[2]];
                let new = prompts::store_f64_as_f16(b * intensity, large);
                if new > *v {
                    *v = new;
                }
            });
            if run_prediction {
                s.predict(false)
            } else {
                Ok(None)
            }
        })?;
        self.log.push(log::LogCall::Point {
            ijk: log::swap_axes(coords),
            positive,
            run_prediction,
        });
        Ok(changed)
    }

    /// Add a box, half-open `[lo, hi)` in voxel coordinates. A box with an axis of size 1 is a 2D
    /// box; one without needs a model that supports 3D boxes. Rounded and clipped to the image.
    pub fn add_box(
        &mut self,
        lo: [f64; 3],
        hi: [f64; 3],
        positive: bool,
        run_prediction: bool,
    ) -> Result<Option<BBox>> {
        let shape = self.require_image()?;
        let size = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
        if size.iter().any(|&s| !s.is_finite() || s <= 0.0) {
            return Err(Error::InvalidArgument(format!(
                "box {}..{} (i, j, k) must have a positive size on every axis",
                ijk(lo),
                ijk(hi)
            )));
        }
        let flat_axes = size.iter().filter(|&&s| s == 1.0).count();
        if flat_axes == 0 && !self.meta.supports(PromptKind::BBox3d) {
            return Err(Error::Unsupported(format!(
                "box of size {} (i, j, k) is 3D (no axis of size 1); this model supports only 2D boxes",
                ijk(size)
            )));
        }
        let kind = if flat_axes >= 1 && self.meta.supports(PromptKind::BBox2d) {
            PromptKind::BBox2d
        } else {
            PromptKind::BBox3d
        };
        self.require_kind(kind)?;
        let (pos_ch, neg_ch) = self.meta.channels(kind);
        let ch = if positive { pos_ch } else { neg_ch };
        let rounded_lo = lo.map(round_half_even);
        let rounded_hi = hi.map(round_half_even);
        if (0..3).any(|d| rounded_hi[d] <= 0 || rounded_lo[d] >= shape[d] as i64) {
            return Err(Error::OutOfBounds(format!(
                "box {}..{} (i, j, k) does not intersect the image {} voxels",
                ijk(lo),
                ijk(hi),
                ijk(shape)
            )));
        }
        let mut b = BBox::new([0; 3], [0; 3]);
        for d in 0..3 {
            let mut start = rounded_lo[d].max(0);
            let mut end = rounded_hi[d].min(shape[d] as i64);
            if end <= start {
                if start == 0 {
                    end = 1.min(shape[d] as i64);
                } else {
                    start = (start - 1).max(0);
                }
            }
            b.lo[d] = start;
            b.hi[d] = end;
        }
        let changed = self.atomic(|s| {
            let q = planning::patch_for_roi(&b, s.meta.patch_size);
            s.queue.push(q);
            s.bump_intensity();
            let st = s.state.as_mut().expect("image checked");
            let value = prompts::store_f64_as_f16(
                st.intensity,
                st.image.data.len() > prompts::BLOSC2_MIN_VOXELS,
            );
            let undo = st.pending.as_mut().map(|u| &mut u.chunks);
            st.channels[ch].modify_region(ch, &b, undo, |_, v| *v = value);
            if run_prediction {
                s.predict(false)
            } else {
                Ok(None)
            }
        })?;
        self.log.push(log::LogCall::Box {
            min_ijk: log::swap_axes(lo),
            max_ijk: log::swap_axes(hi),
            positive,
            run_prediction,
        });
        Ok(changed)
    }

    /// Add a scribble or lasso mask. `region` (default: the whole image) is the box the mask covers;
    /// `mask` is C-ordered over it. Nonzero values scale the prompt (the reference does not binarise).
    pub fn add_mask(
        &mut self,
        kind: MaskPrompt,
        mask: &[u8],
        region: Option<BBox>,
        positive: bool,
        run_prediction: bool,
    ) -> Result<Option<BBox>> {
        let pkind = match kind {
            MaskPrompt::Scribble => PromptKind::Scribble,
            MaskPrompt::Lasso => PromptKind::Lasso,
        };
        self.require_kind(pkind)?;
        let shape = self.require_image()?;
        let region = checked_mask_region(region, shape, mask.len())?;
        let (pos_ch, neg_ch) = self.meta.channels(pkind);
        let ch = if positive { pos_ch } else { neg_ch };
        let rs = region.shape();
        let changed = self.atomic(|s| {
            let local = nonzero_bbox(mask, rs, |v| v != 0);
            if let Some(local) = local {
                let roi = local.offset(region.lo);
                let q = planning::patch_for_roi(&roi, s.meta.patch_size);
                s.queue.push(q);
            }
            s.bump_intensity();
            if let Some(local) = local {
                let write = local.offset(region.lo);
                let st = s.state.as_mut().expect("image checked");
                let intensity = st.intensity;
                let undo = st.pending.as_mut().map(|u| &mut u.chunks);
                st.channels[ch].modify_region(ch, &write, undo, |p, v| {
                    let l = [
                        (p[0] as i64 - region.lo[0]) as usize,
                        (p[1] as i64 - region.lo[1]) as usize,
                        (p[2] as i64 - region.lo[2]) as usize,
                    ];
                    let m = mask[(l[0] * rs[1] + l[1]) * rs[2] + l[2]];
                    if m != 0 {
                        let new = prompts::mask_value(m, intensity);
                        if new > *v {
                            *v = new;
                        }
                    }
                });
            }
            if run_prediction {
                s.predict(false)
            } else {
                Ok(None)
            }
        })?;
        let (min_ijk, max_ijk, rle) = log::logged_mask(mask, region);
        self.log.push(match kind {
            MaskPrompt::Scribble => log::LogCall::Scribble {
                min_ijk,
                max_ijk,
                rle,
                positive,
                run_prediction,
            },
            MaskPrompt::Lasso => log::LogCall::Lasso {
                min_ijk,
                max_ijk,
                rle,
                positive,
                run_prediction,
            },
        });
        Ok(changed)
    }

    /// Start over from an initial segmentation: resets every prompt, writes `mask` as the current
    /// result and, if asked, refines it with a prediction over the whole object.
    pub fn set_initial_mask(&mut self, mask: &[u8], run_prediction: bool) -> Result<Option<BBox>> {
        self.set_initial_mask_region(mask, None, run_prediction)
    }

    /// [`Session::set_initial_mask`] with the initial segmentation given only over `region`
    /// (default: the whole image; C-ordered over it): voxels outside it are 0. The same result as
    /// the image-shaped call with that mask pasted into zeros, without an image-sized buffer.
    pub fn set_initial_mask_region(
        &mut self,
        mask: &[u8],
        region: Option<BBox>,
        run_prediction: bool,
    ) -> Result<Option<BBox>> {
        if !self.meta.supports_initial_label {
            return Err(Error::Unsupported(
                "this model does not accept an initial segmentation".into(),
            ));
        }
        let shape = self.require_image()?;
        let region = checked_mask_region(region, shape, mask.len())?;
        let changed = self.atomic(|s| {
            let st = s.state.as_mut().expect("image checked");
            let log = st.pending.as_mut().expect("atomic starts a log");
            for (i, c) in st.channels.iter_mut().enumerate() {
                if !c.is_empty() {
                    c.clear(i, Some(&mut log.chunks));
                }
            }
            let mut view = s.reader.get_mut();
            let old_box = nonzero_bbox(&view.mask, shape, |v| v != 0);
            let saved = old_box.unwrap_or(BBox::new([0; 3], [0; 3]));
            let mut data = zeroed(saved.voxels(), "the undo record of the mask")?;
            copy_region_out(&view.mask, shape, &saved, &mut data);
            log.mask.push(MaskRecord {
                region: saved,
                data,
                zero_rest: true,
            });
            st.intensity = 1.0;
            if let Some(old) = old_box {
                let zeros = zeroed(old.voxels(), "the cleared mask region")?;
                paste_region(&mut view.mask, shape, &old, &zeros);
            }
            paste_region(&mut view.mask, shape, &region, mask);
            view.last_changed = Some(match old_box {
                Some(old) => old.union(&region),
                None => region,
            });
            drop(view);
            if run_prediction {
                let rs = region.shape();
                if let Some(b) = nonzero_bbox(mask, rs, |v| v != 0) {
                    let q = planning::patch_for_roi(&b.offset(region.lo), s.meta.patch_size);
                    s.queue.push(q);
                }
                s.predict(true)
            } else {
                Ok(None)
            }
        })?;
        let (min_ijk, max_ijk, rle) = log::logged_mask(mask, region);
        self.log.push(log::LogCall::InitialMask {
            min_ijk,
            max_ijk,
            rle,
            run_prediction,
        });
        Ok(changed)
    }

    /// How many prompts wait for a prediction (added with `run_prediction = false` since the last
    /// prediction).
    pub fn queued_prompts(&self) -> usize {
        self.queue.len()
    }

    /// Predict on the prompts queued without a prediction (`run_prediction = false`): the
    /// reference's `_predict`, the remote protocol's `/predict`. Returns the changed region, or
    /// `None` when nothing is queued (nothing runs, nothing is recorded). The prediction is one
    /// undoable step of its own: where the reference's single undo reverts it together with the
    /// prompt before it, here the first undo reverts the prediction and the next one the prompt.
    pub fn predict_queued(&mut self, force_full_refine: bool) -> Result<Option<BBox>> {
        self.require_image()?;
        if self.queue.is_empty() {
            return Ok(None);
        }
        let changed = self.atomic(|s| s.predict(force_full_refine))?;
        self.log.push(log::LogCall::Predict { force_full_refine });
        Ok(changed)
    }

    /// Drop every prompt and the mask (the reference's `reset_interactions`); not undoable. The
    /// prediction queue is kept, as in the reference.
    pub fn reset(&mut self) -> Result<()> {
        let shape = self.require_image()?;
        let st = self.state.as_mut().expect("image checked");
        st.pending = None;
        st.history.clear();
        st.redo.clear();
        for c in st.channels.iter_mut() {
            *c = SparseChannel::new(shape);
        }
        st.intensity = 1.0;
        let mut view = self.reader.get_mut();
        view.mask.fill(0);
        view.last_changed = None;
        drop(view);
        self.log.push(log::LogCall::Reset);
        Ok(())
    }

    // ----------------------------------------------------------------- internals

    fn require_image(&self) -> Result<Shape> {
        self.state
            .as_ref()
            .map(|s| s.image.shape)
            .ok_or(Error::NoImage)
    }

    fn require_kind(&self, kind: PromptKind) -> Result<()> {
        if self.meta.supports(kind) {
            Ok(())
        } else {
            Err(Error::Unsupported(format!(
                "prompt type `{}` is not supported by model `{}`",
                kind.key(),
                self.meta.name
            )))
        }
    }

    fn bump_intensity(&mut self) {
        let decay = self.meta.interaction_decay;
        let prev_seg = self.meta.prev_seg_channel;
        let st = self.state.as_mut().expect("image checked");
        if decay < 1.0 {
            st.intensity *= 1.0 / decay;
            if st.intensity > F16_MAX {
                let large = st.image.data.len() > prompts::BLOSC2_MIN_VOXELS;
                let scale = prompts::renorm_scale(RENORM_TARGET / st.intensity, large);
                let log = st.pending.as_mut().map(|u| &mut u.chunks);
                let mut log = log;
                for (i, c) in st.channels.iter_mut().enumerate() {
                    if i != prev_seg && !c.is_empty() {
                        c.map_all(i, log.as_deref_mut(), |v| f16::from_f32(v.to_f32() * scale));
                    }
                }
                st.intensity = RENORM_TARGET;
            }
        }
    }
}

/// The box a region-given mask covers (default: the whole image), checked: non-empty, inside the
/// image, and `len` voxels long.
fn checked_mask_region(region: Option<BBox>, shape: Shape, len: usize) -> Result<BBox> {
    let region = region.unwrap_or_else(|| BBox::of_shape(shape));
    if region.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "mask region {} (i, j, k) has an empty axis",
            ijk_box(&region)
        )));
    }
    if (0..3).any(|d| region.lo[d] < 0 || region.hi[d] > shape[d] as i64) {
        return Err(Error::OutOfBounds(format!(
            "mask region {} (i, j, k) exceeds the image {} voxels",
            ijk_box(&region),
            ijk(shape)
        )));
    }
    if len != region.voxels() {
        return Err(Error::BufferSize(format!(
            "mask has {len} voxels, its region needs {}",
            region.voxels()
        )));
    }
    Ok(region)
}
