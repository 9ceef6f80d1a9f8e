//! The interactive session: one preprocessed image, the prompts for one object, the current mask,
//! and the reference's prediction pipeline (patch placement, AutoZoom, refinement, undo).
//!
//! Every prompt is atomic: it records the pre-image of everything it overwrites, and a failure or a
//! cancellation part-way restores that record, so the session is left exactly as it was.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use half::f16;

use crate::backend::Network;
use crate::channels::{ChunkUndo, SparseChannel};
use crate::error::{Error, Result};
use crate::geometry::{
    copy_region_out, linear, nonzero_bbox, paste_region, region_nonzero_bbox, round_half_even,
    round_to_nearest_odd, union_all, BBox, Shape,
};
use crate::image::{PreprocessedImage, VoxelData};
use crate::metadata::{ModelMetadata, PromptKind};
use crate::planning::{self, QueuedPatch, MAX_ZOOM, ZOOM_GROWTH};
use crate::prompts;
use crate::resample;

/// Progress callback: `(fraction in [0, 1], stage)`; return `false` to cancel.
pub type ProgressFn = Box<dyn FnMut(f64, &str) -> bool + Send>;

/// Renormalisation target of the interaction intensity (float16 max / 10).
const RENORM_TARGET: f64 = 6550.4;
/// Largest finite float16.
const F16_MAX: f64 = 65504.0;
/// Refinement margin of the reference (`_plan_refinement_bboxes`).
const REFINE_MARGIN: usize = 24;

struct MaskRecord {
    region: BBox,
    data: Vec<u8>,
    zero_rest: bool,
}

struct UndoLog {
    intensity: f64,
    queue: Vec<QueuedPatch>,
    chunks: ChunkUndo,
    mask: Vec<MaskRecord>,
}

struct ImageState {
    image: PreprocessedImage,
    channels: Vec<SparseChannel>,
    mask: Vec<u8>,
    intensity: f64,
    undo: Option<UndoLog>,
    last_changed: Option<BBox>,
}

/// Which kind of mask prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskPrompt {
    /// A scribble (stroke) mask.
    Scribble,
    /// A lasso (filled closed contour) mask.
    Lasso,
}

/// Bounding box (image coordinates) of the voxels of `seen` where the coarse prediction (a volume
/// of `scaled` at `sbox`) differs from the mask, scanning rows without copies.
fn diff_bbox(
    coarse: &[u8],
    scaled: Shape,
    sbox: &BBox,
    mask: &[u8],
    shape: Shape,
    seen: &BBox,
) -> Option<BBox> {
    let mut out: Option<BBox> = None;
    let n2 = seen.shape()[2];
    for a0 in seen.lo[0]..seen.hi[0] {
        for a1 in seen.lo[1]..seen.hi[1] {
            let m = linear(shape, a0 as usize, a1 as usize, seen.lo[2] as usize);
            let c = linear(
                scaled,
                (a0 - sbox.lo[0]) as usize,
                (a1 - sbox.lo[1]) as usize,
                (seen.lo[2] - sbox.lo[2]) as usize,
            );
            let (mr, cr) = (&mask[m..m + n2], &coarse[c..c + n2]);
            let Some(first) = mr.iter().zip(cr).position(|(a, b)| a != b) else {
                continue;
            };
            let last = mr
                .iter()
                .zip(cr)
                .rposition(|(a, b)| a != b)
                .unwrap_or(first);
            let b = BBox::new(
                [a0, a1, seen.lo[2] + first as i64],
                [a0 + 1, a1 + 1, seen.lo[2] + last as i64 + 1],
            );
            out = Some(out.map_or(b, |o| o.union(&b)));
        }
    }
    out
}

/// One segmentation session over one image. Not `Sync`: the C ABI serialises calls with a mutex.
pub struct Session {
    net: Box<dyn Network>,
    meta: ModelMetadata,
    autozoom: bool,
    queue: Vec<QueuedPatch>,
    state: Option<ImageState>,
    ball: Vec<f64>,
    progress: Option<ProgressFn>,
    cancel: Arc<AtomicBool>,
}

impl Session {
    /// A session over `net`, described by `meta`.
    pub fn new(net: Box<dyn Network>, meta: ModelMetadata) -> Self {
        let ball = prompts::point_ball(meta.point_radius);
        Session {
            net,
            meta,
            autozoom: true,
            queue: Vec::new(),
            state: None,
            ball,
            progress: None,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The model's metadata.
    pub fn metadata(&self) -> &ModelMetadata {
        &self.meta
    }

    /// Where the network runs, in words.
    pub fn describe_network(&self) -> String {
        self.net.describe()
    }

    /// Turn AutoZoom on or off (on by default, as in the reference).
    pub fn set_autozoom(&mut self, on: bool) {
        self.autozoom = on;
    }

    /// Install (or remove) the progress callback.
    pub fn set_progress(&mut self, progress: Option<ProgressFn>) {
        self.progress = progress;
    }

    /// A flag that cancels the running operation when set (from any thread).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// Spatial shape of the current image, reference axes.
    pub fn shape(&self) -> Option<Shape> {
        self.state.as_ref().map(|s| s.image.shape)
    }

    /// The current mask (0/1, or the initial segmentation's values), image-shaped, C order.
    pub fn mask(&self) -> Option<&[u8]> {
        self.state.as_ref().map(|s| s.mask.as_slice())
    }

    /// The region written by the last operation (clipped to the image), if any.
    pub fn last_changed(&self) -> Option<BBox> {
        self.state.as_ref().and_then(|s| s.last_changed)
    }

    /// Current interaction intensity (grows by 1/decay per prompt).
    pub fn intensity(&self) -> Option<f64> {
        self.state.as_ref().map(|s| s.intensity)
    }

    /// Whether an undo is available.
    pub fn can_undo(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.undo.is_some())
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
            mask,
            intensity: 1.0,
            undo: None,
            last_changed: None,
        });
        Ok(())
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
        self.atomic(|s| {
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
            let large = st.mask.len() > prompts::BLOSC2_MIN_VOXELS;
            let ball = &s.ball;
            let undo = st.undo.as_mut().map(|u| &mut u.chunks);
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
        })
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
                "box {lo:?}..{hi:?} must have a positive size on every axis"
            )));
        }
        let flat_axes = size.iter().filter(|&&s| s == 1.0).count();
        if flat_axes == 0 && !self.meta.supports(PromptKind::BBox3d) {
            return Err(Error::Unsupported(format!(
                "box of size {size:?} is 3D (no axis of size 1); this model supports only 2D boxes"
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
                "box {lo:?}..{hi:?} does not intersect the image {shape:?}"
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
        self.atomic(|s| {
            let q = planning::patch_for_roi(&b, s.meta.patch_size);
            s.queue.push(q);
            s.bump_intensity();
            let st = s.state.as_mut().expect("image checked");
            let value =
                prompts::store_f64_as_f16(st.intensity, st.mask.len() > prompts::BLOSC2_MIN_VOXELS);
            let undo = st.undo.as_mut().map(|u| &mut u.chunks);
            st.channels[ch].modify_region(ch, &b, undo, |_, v| *v = value);
            if run_prediction {
                s.predict(false)
            } else {
                Ok(None)
            }
        })
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
        self.atomic(|s| {
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
                let undo = st.undo.as_mut().map(|u| &mut u.chunks);
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
        })
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
        self.atomic(|s| {
            let st = s.state.as_mut().expect("image checked");
            let log = st.undo.as_mut().expect("atomic starts a log");
            for (i, c) in st.channels.iter_mut().enumerate() {
                if !c.is_empty() {
                    c.clear(i, Some(&mut log.chunks));
                }
            }
            let old_box = nonzero_bbox(&st.mask, shape, |v| v != 0);
            let saved = old_box.unwrap_or(BBox::new([0; 3], [0; 3]));
            let mut data = vec![0u8; saved.voxels()];
            copy_region_out(&st.mask, shape, &saved, &mut data);
            log.mask.push(MaskRecord {
                region: saved,
                data,
                zero_rest: true,
            });
            st.intensity = 1.0;
            if let Some(old) = old_box {
                let zeros = vec![0u8; old.voxels()];
                paste_region(&mut st.mask, shape, &old, &zeros);
            }
            paste_region(&mut st.mask, shape, &region, mask);
            st.last_changed = Some(match old_box {
                Some(old) => old.union(&region),
                None => region,
            });
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
        })
    }

    /// Drop every prompt and the mask (the reference's `reset_interactions`); not undoable. The
    /// prediction queue is kept, as in the reference.
    pub fn reset(&mut self) -> Result<()> {
        let shape = self.require_image()?;
        let st = self.state.as_mut().expect("image checked");
        st.undo = None;
        for c in st.channels.iter_mut() {
            *c = SparseChannel::new(shape);
        }
        st.mask.fill(0);
        st.intensity = 1.0;
        st.last_changed = None;
        Ok(())
    }

    /// Revert the last prompt (one level). Returns `false` when there is nothing to undo.
    pub fn undo(&mut self) -> Result<bool> {
        self.require_image()?;
        let st = self.state.as_mut().expect("image checked");
        let Some(log) = st.undo.take() else {
            return Ok(false);
        };
        let changed = Self::restore_log(st, log, &mut self.queue);
        st.last_changed = changed;
        Ok(true)
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

    fn restore_log(
        st: &mut ImageState,
        log: UndoLog,
        queue: &mut Vec<QueuedPatch>,
    ) -> Option<BBox> {
        let shape = st.image.shape;
        log.chunks.restore(&mut st.channels);
        let mut changed: Option<BBox> = None;
        for rec in log.mask.into_iter().rev() {
            if rec.zero_rest {
                st.mask.fill(0);
                changed = Some(BBox::of_shape(shape));
            } else if let Some(c) = rec.region.clip(shape) {
                changed = Some(changed.map_or(c, |x| x.union(&c)));
            }
            paste_region(&mut st.mask, shape, &rec.region, &rec.data);
        }
        st.intensity = log.intensity;
        *queue = log.queue;
        changed
    }

    /// Run `op` as one undoable, atomic step: on error (or cancellation) everything it changed is
    /// restored and the previous undo level is kept.
    fn atomic(
        &mut self,
        op: impl FnOnce(&mut Self) -> Result<Option<BBox>>,
    ) -> Result<Option<BBox>> {
        self.cancel.store(false, Ordering::SeqCst);
        let st = self.state.as_mut().ok_or(Error::NoImage)?;
        let previous = st.undo.take();
        let previous_changed = st.last_changed;
        st.undo = Some(UndoLog {
            intensity: st.intensity,
            queue: self.queue.clone(),
            chunks: ChunkUndo::default(),
            mask: Vec::new(),
        });
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op(self)))
            .unwrap_or_else(|p| Err(Error::Panic(crate::panic_message(&p))));
        match outcome {
            Ok(changed) => {
                if let (Some(st), Some(c)) = (self.state.as_mut(), changed) {
                    st.last_changed = Some(c);
                }
                Ok(changed)
            }
            Err(e) => {
                let st = self.state.as_mut().expect("state kept");
                if let Some(log) = st.undo.take() {
                    Self::restore_log(st, log, &mut self.queue);
                }
                st.undo = previous;
                st.last_changed = previous_changed;
                Err(e)
            }
        }
    }

    fn bump_intensity(&mut self) {
        let decay = self.meta.interaction_decay;
        let prev_seg = self.meta.prev_seg_channel;
        let st = self.state.as_mut().expect("image checked");
        if decay < 1.0 {
            st.intensity *= 1.0 / decay;
            if st.intensity > F16_MAX {
                let large = st.mask.len() > prompts::BLOSC2_MIN_VOXELS;
                let scale = prompts::renorm_scale(RENORM_TARGET / st.intensity, large);
                let log = st.undo.as_mut().map(|u| &mut u.chunks);
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

    fn report(&mut self, fraction: f64, stage: &str) -> Result<()> {
        if self.cancel.load(Ordering::SeqCst) {
            return Err(Error::Cancelled);
        }
        if let Some(cb) = self.progress.as_mut() {
            if !cb(fraction.clamp(0.0, 1.0), stage) {
                return Err(Error::Cancelled);
            }
        }
        Ok(())
    }

    fn write_mask(&mut self, region: &BBox, src: &[u8]) {
        let st = self.state.as_mut().expect("image checked");
        let shape = st.image.shape;
        paste_region(&mut st.mask, shape, region, src);
    }

    fn record_mask(&mut self, region: &BBox) {
        let st = self.state.as_mut().expect("image checked");
        let shape = st.image.shape;
        if let (Some(log), Some(valid)) = (st.undo.as_mut(), region.clip(shape)) {
            let mut data = vec![0u8; valid.voxels()];
            copy_region_out(&st.mask, shape, &valid, &mut data);
            log.mask.push(MaskRecord {
                region: valid,
                data,
                zero_rest: false,
            });
        }
    }

    /// The reference's `_predict`: coarse prediction at the queued centre, AutoZoom, then either a
    /// direct paste (zoom 1) or refinement.
    fn predict(&mut self, force_full_refine: bool) -> Result<Option<BBox>> {
        let Some(&q) = self.queue.last() else {
            return Ok(None);
        };
        let patch = self.meta.patch_size;
        let mut zoom = q.zoom.min(MAX_ZOOM);
        self.report(0.0, "coarse prediction")?;
        let (mut input, mut scaled, mut sbox, mut prev) = self.build_input(q.center, zoom)?;
        let mut pred = self.net.predict(std::mem::take(&mut input))?;
        let mut has_change = planning::change_at_border(&pred, &prev, patch);
        let mut step = 1.0;
        while has_change && self.autozoom {
            if zoom >= MAX_ZOOM {
                break;
            }
            zoom = (zoom * ZOOM_GROWTH).min(MAX_ZOOM);
            step += 1.0;
            self.report(0.1 * step, &format!("AutoZoom x{zoom:.2}"))?;
            (input, scaled, sbox, prev) = self.build_input(q.center, zoom)?;
            pred = self.net.predict(std::mem::take(&mut input))?;
            has_change = planning::change_at_border(&pred, &prev, patch);
        }
        let shape = self.require_image()?;
        let changed = if zoom == 1.0 {
            self.record_mask(&sbox);
            self.write_mask(&sbox, &pred);
            sbox.clip(shape)
        } else {
            let coarse: Vec<u8> = if scaled != patch {
                let as_f32: Vec<f32> = pred.iter().map(|&v| v as f32).collect();
                resample::trilinear(&as_f32, patch, scaled)
                    .into_iter()
                    .map(|v| u8::from(v >= 0.5))
                    .collect()
            } else {
                pred
            };
            let boxes = self.plan_refinement(&coarse, scaled, &sbox, force_full_refine, q.center);
            self.refine(&boxes, &coarse, scaled, &sbox)?
        };
        self.report(1.0, "done")?;
        self.queue.clear();
        Ok(changed)
    }

    /// Network input for a patch-sized box `b` at zoom 1: the image and the normalised prompt
    /// channels cropped at `b` (zero outside the image), and prev_seg taken from `prev` (a volume of
    /// `prev_shape`) at `prev_box`. Also returns that prev_seg channel, for the border test.
    fn patch_input(
        &self,
        b: &BBox,
        prev: &[u8],
        prev_shape: Shape,
        prev_box: &BBox,
    ) -> (Vec<f32>, Vec<f32>) {
        let st = self.state.as_ref().expect("image checked");
        let shape = st.image.shape;
        let np = b.voxels();
        let nch = self.meta.num_interaction_channels;
        let mut input = vec![0f32; (1 + nch) * np];
        let (img, channels) = input.split_at_mut(np);
        copy_region_out(&st.image.data, shape, b, img);
        let mut prev_seg = vec![0f32; np];
        for (ch, buf) in channels.chunks_exact_mut(np).enumerate() {
            if ch == self.meta.prev_seg_channel {
                let mut m = vec![0u8; np];
                copy_region_out(prev, prev_shape, prev_box, &mut m);
                buf.iter_mut().zip(&m).for_each(|(x, &v)| *x = v as f32);
                prev_seg.copy_from_slice(buf);
            } else {
                st.channels[ch].read_region(b, buf, |v| prompts::normalise(v, st.intensity));
            }
        }
        (input, prev_seg)
    }

    /// Network input at `center` and `zoom`: (input, scaled size, scaled box, previous mask
    /// resampled to the patch for the border test).
    fn build_input(
        &self,
        center: [i64; 3],
        zoom: f64,
    ) -> Result<(Vec<f32>, Shape, BBox, Vec<f32>)> {
        let st = self.state.as_ref().ok_or(Error::NoImage)?;
        let shape = st.image.shape;
        let patch = self.meta.patch_size;
        let (scaled, sbox) = planning::scaled_box(center, patch, zoom);
        let np = patch.iter().product::<usize>();
        let nch = self.meta.num_interaction_channels;
        if scaled == patch {
            let (input, prev_pred) = self.patch_input(&sbox, &st.mask, shape, &sbox);
            return Ok((input, scaled, sbox, prev_pred));
        }
        let mut input = Vec::new();
        input
            .try_reserve_exact((1 + nch) * np)
            .map_err(|_| Error::OutOfMemory("network input".into()))?;
        let prev_seg = self.meta.prev_seg_channel;
        let intensity = st.intensity;
        let mut prev_pred = Vec::new();
        let k = round_to_nearest_odd(zoom * 2.0 - 1.0).max(1) as usize;
        let dilate = if k > 1 {
            self.meta.dilation_channels()
        } else {
            Vec::new()
        };
        // Region-sized: nothing of scaled size is materialised. The image is sampled straight
        // from the full volume; each interaction channel only over its nonzero box, grown by
        // the max-filter radius (see resample::area_to_f16_sparse for why this is exact).
        input.extend(resample::trilinear_crop(
            &st.image.data,
            shape,
            &sbox,
            patch,
        ));
        for ch in 0..nch {
            let nonzero = if ch == prev_seg {
                prev_pred = resample::nearest_crop_u8(&st.mask, shape, &sbox, patch);
                region_nonzero_bbox(&st.mask, shape, &sbox)
            } else {
                st.channels[ch].allocated_bbox(&sbox)
            };
            let Some(nonzero) = nonzero else {
                input.resize(input.len() + np, 0.0);
                continue;
            };
            let r = if dilate.contains(&ch) {
                ((k - 1) / 2) as i64
            } else {
                0
            };
            let grown = BBox::new(nonzero.lo.map(|v| v - r), nonzero.hi.map(|v| v + r));
            let sub = grown
                .intersect(&sbox)
                .expect("nonzero box lies in the crop");
            let mut buf = Vec::new();
            buf.try_reserve_exact(sub.voxels())
                .map_err(|_| Error::OutOfMemory("zoomed channel".into()))?;
            buf.resize(sub.voxels(), 0f32);
            if ch == prev_seg {
                let mut m = vec![0u8; sub.voxels()];
                copy_region_out(&st.mask, shape, &sub, &mut m);
                buf.iter_mut().zip(&m).for_each(|(b, &v)| *b = v as f32);
            } else {
                st.channels[ch].read_region(&sub, &mut buf, |v| v.to_f32());
            }
            if r > 0 {
                resample::window_filter(&mut buf, sub.shape(), k, false);
            }
            let mut small = resample::area_to_f16_sparse(&buf, &sub.to_local(&sbox), scaled, patch);
            if ch != prev_seg {
                small
                    .iter_mut()
                    .for_each(|v| *v = prompts::normalise(f16::from_f32(*v), intensity));
            }
            input.extend_from_slice(&small);
        }
        Ok((input, scaled, sbox, prev_pred))
    }

    /// The reference's `_plan_refinement_bboxes`.
    fn plan_refinement(
        &self,
        coarse: &[u8],
        scaled: Shape,
        sbox: &BBox,
        force: bool,
        center: [i64; 3],
    ) -> Vec<BBox> {
        let st = self.state.as_ref().expect("image checked");
        let shape = st.image.shape;
        let patch = self.meta.patch_size;
        let fallback = || {
            let mut b = BBox::new([0; 3], [0; 3]);
            for d in 0..3 {
                b.lo[d] = center[d] - (patch[d] / 2) as i64;
                b.hi[d] = b.lo[d] + patch[d] as i64;
            }
            vec![b]
        };
        let mut planning = sbox.clip(shape);
        if force {
            let prev_box = nonzero_bbox(&st.mask, shape, |v| v != 0);
            planning = union_all(planning.iter().chain(prev_box.iter()));
        }
        let Some(planning) = planning else {
            return fallback();
        };
        // Only the box holding nonzeros of the diff map is materialised (exact: see
        // planning::generate_bounding_boxes_in and the opening argument below).
        let mut nonzero: Option<BBox> = None;
        let mut opened: Option<(BBox, Vec<u8>)> = None;
        if let Some(seen) = sbox.clip(shape) {
            if let Some(raw) = diff_bbox(coarse, scaled, sbox, &st.mask, shape, &seen) {
                // The opening (5^3 min, then max, borders replicated at the edges of `seen`) is
                // anti-extensive, so it is nonzero only inside `raw`; computed on `raw` grown by
                // its radius it equals the opening over `seen`.
                let sub = BBox::new(raw.lo.map(|v| v - 2), raw.hi.map(|v| v + 2))
                    .intersect(&seen)
                    .expect("raw lies in seen");
                let mut prev = vec![0u8; sub.voxels()];
                copy_region_out(&st.mask, shape, &sub, &mut prev);
                let mut d = vec![0u8; sub.voxels()];
                copy_region_out(coarse, scaled, &sub.to_local(sbox), &mut d);
                d.iter_mut()
                    .zip(&prev)
                    .for_each(|(x, &p)| *x = u8::from(*x != p));
                resample::window_filter(&mut d, sub.shape(), 5, true);
                resample::window_filter(&mut d, sub.shape(), 5, false);
                nonzero = nonzero_bbox(&d, sub.shape(), |v| v != 0).map(|b| b.offset(sub.lo));
                opened = Some((sub, d));
            }
        }
        if force {
            if let Some(m) = region_nonzero_bbox(&st.mask, shape, &planning) {
                nonzero = Some(nonzero.map_or(m, |n| n.union(&m)));
            }
        }
        let Some(nz) = nonzero else {
            return fallback();
        };
        let mut diff = vec![0u8; nz.voxels()];
        if let Some((sub, d)) = &opened {
            paste_region(&mut diff, nz.shape(), &sub.to_local(&nz), d);
        }
        if force {
            let mut prev = vec![0u8; nz.voxels()];
            copy_region_out(&st.mask, shape, &nz, &mut prev);
            diff.iter_mut().zip(&prev).for_each(|(d, &p)| {
                if p != 0 {
                    *d = 1
                }
            });
        }
        let mut margin = [REFINE_MARGIN; 3];
        for d in 0..3 {
            // The reference's cover boxes are empty when 2*margin >= patch (it then fails); use a
            // quarter patch there instead (docs/fidelity.md).
            if 2 * margin[d] >= patch[d] {
                margin[d] = patch[d] / 4;
            }
        }
        let origin = [
            nz.lo[0] - planning.lo[0],
            nz.lo[1] - planning.lo[1],
            nz.lo[2] - planning.lo[2],
        ];
        let boxes = planning::generate_bounding_boxes_in(
            &diff,
            nz.shape(),
            origin,
            planning.shape(),
            patch,
            margin,
            3,
        );
        if boxes.is_empty() {
            return fallback();
        }
        boxes.into_iter().map(|b| b.offset(planning.lo)).collect()
    }

    /// The reference's `_refine_coarse_with_local_cache`: patches in order, each seeing the
    /// results of the earlier ones; only the refined boxes are written back.
    fn refine(
        &mut self,
        boxes: &[BBox],
        coarse: &[u8],
        scaled: Shape,
        sbox: &BBox,
    ) -> Result<Option<BBox>> {
        let shape = self.require_image()?;
        let hull = union_all(boxes.iter()).expect("at least one box");
        let hs = hull.shape();
        let mut cache_prev = Vec::new();
        cache_prev
            .try_reserve_exact(hull.voxels())
            .map_err(|_| Error::OutOfMemory("refinement cache".into()))?;
        cache_prev.resize(hull.voxels(), 0u8);
        {
            let st = self.state.as_ref().expect("image checked");
            copy_region_out(&st.mask, shape, &hull, &mut cache_prev);
        }
        if let Some(inject) = sbox.clip(shape) {
            let mut sub = vec![0u8; inject.voxels()];
            copy_region_out(coarse, scaled, &inject.to_local(sbox), &mut sub);
            paste_region(&mut cache_prev, hs, &inject.to_local(&hull), &sub);
        }
        for (i, b) in boxes.iter().enumerate() {
            self.report(
                0.3 + 0.7 * i as f64 / boxes.len() as f64,
                &format!("refining patch {}/{}", i + 1, boxes.len()),
            )?;
            let local = b.to_local(&hull);
            let (input, _) = self.patch_input(b, &cache_prev, hs, &local);
            let pred = self.net.predict(input)?;
            paste_region(&mut cache_prev, hs, &local, &pred);
        }
        self.record_mask(&hull);
        for b in boxes {
            let mut sub = vec![0u8; b.voxels()];
            copy_region_out(&cache_prev, hs, &b.to_local(&hull), &mut sub);
            self.write_mask(b, &sub);
        }
        Ok(hull.clip(shape))
    }
}

/// The box a region-given mask covers (default: the whole image), checked: non-empty, inside the
/// image, and `len` voxels long.
fn checked_mask_region(region: Option<BBox>, shape: Shape, len: usize) -> Result<BBox> {
    let region = region.unwrap_or_else(|| BBox::of_shape(shape));
    if region.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "mask region {region:?} has an empty axis"
        )));
    }
    if (0..3).any(|d| region.lo[d] < 0 || region.hi[d] > shape[d] as i64) {
        return Err(Error::OutOfBounds(format!(
            "mask region {region:?} exceeds the image {shape:?}"
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
