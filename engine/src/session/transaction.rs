//! Undo, redo and atomic prompts: every prompt runs as one transaction that records the pre-image
//! of everything it overwrites (interaction chunks, mask regions, intensity, the prediction
//! queue). A failure, a cancel or a panic part-way restores that record, so the session is left
//! exactly as it was. On success the record, with the post-image of the same places, becomes a
//! step of the history: undo steps back one prompt at a time (the first undo is exactly the
//! reference's one level), redo re-applies an undone prompt without running the network, a new
//! prompt clears the redo steps, and the history's memory is bounded (oldest steps dropped).

use crate::alloc::zeroed;
use crate::channels::ChunkUndo;
use crate::error::{Error, Result};
use crate::geometry::{copy_region_out, paste_region, BBox};
use crate::planning::QueuedPatch;

use super::{ImageState, Session, SessionReader};

/// The saved pre-image of one mask region.
pub(super) struct MaskRecord {
    /// The box saved (clipped to the image).
    pub(super) region: BBox,
    /// Its voxels before the transaction, C order.
    pub(super) data: Vec<u8>,
    /// Whether everything outside `region` was zero before (an initial mask cleared it).
    pub(super) zero_rest: bool,
}

/// Everything one transaction changed, to undo it.
pub(super) struct UndoLog {
    /// The interaction intensity before.
    pub(super) intensity: f64,
    /// The prediction queue before.
    pub(super) queue: Vec<QueuedPatch>,
    /// Interaction channel chunks before.
    pub(super) chunks: ChunkUndo,
    /// Mask regions before, in the order they were saved.
    pub(super) mask: Vec<MaskRecord>,
}

/// Bytes the undo and redo history holds by default.
pub const DEFAULT_HISTORY_BUDGET: usize = 1 << 30;

/// One finished prompt: what it overwrote (for undo) and what it wrote (for redo).
pub(super) struct Step {
    pre: UndoLog,
    post: UndoLog,
}

impl Step {
    /// Bytes its records hold.
    pub(super) fn bytes(&self) -> usize {
        self.pre.bytes() + self.post.bytes()
    }
}

impl UndoLog {
    fn bytes(&self) -> usize {
        self.chunks.bytes() + self.mask.iter().map(|m| m.data.len()).sum::<usize>()
    }
}

/// Drop the oldest undo steps (then redo steps) until the history fits `budget`, keeping the
/// most recent undo step.
pub(super) fn enforce_budget(st: &mut ImageState, budget: usize) {
    let mut total: usize = st.history.iter().chain(&st.redo).map(Step::bytes).sum();
    while total > budget && st.history.len() > 1 {
        total -= st.history.pop_front().map_or(0, |s| s.bytes());
    }
    while total > budget && !st.redo.is_empty() {
        total -= st.redo.remove(0).bytes();
    }
}

impl Session {
    /// Revert the last prompt; repeated, step back through the history. Returns `false` when there
    /// is nothing to undo.
    pub fn undo(&mut self) -> Result<bool> {
        self.require_image()?;
        let st = self.state.as_mut().expect("image checked");
        let Some(step) = st.history.pop_back() else {
            return Ok(false);
        };
        let changed = Self::apply_log(st, &self.reader, &step.pre, &mut self.queue);
        st.redo.push(step);
        self.reader.get_mut().last_changed = changed;
        self.log.push(super::log::LogCall::Undo);
        Ok(true)
    }

    /// Re-apply the last undone prompt, without running the network. Returns `false` when there
    /// is nothing to redo (none undone since the last prompt).
    pub fn redo(&mut self) -> Result<bool> {
        self.require_image()?;
        let st = self.state.as_mut().expect("image checked");
        let Some(step) = st.redo.pop() else {
            return Ok(false);
        };
        let changed = Self::apply_log(st, &self.reader, &step.post, &mut self.queue);
        st.history.push_back(step);
        self.reader.get_mut().last_changed = changed;
        self.log.push(super::log::LogCall::Redo);
        Ok(true)
    }

    /// Write a record back (keeping it: undo and redo may repeat); returns the region changed.
    fn apply_log(
        st: &mut ImageState,
        reader: &SessionReader,
        log: &UndoLog,
        queue: &mut Vec<QueuedPatch>,
    ) -> Option<BBox> {
        let shape = st.image.shape;
        log.chunks.restore_cloned(&mut st.channels);
        let mut changed: Option<BBox> = None;
        let mut view = reader.get_mut();
        for rec in log.mask.iter().rev() {
            if rec.zero_rest {
                view.mask.fill(0);
                changed = Some(BBox::of_shape(shape));
            } else if let Some(c) = rec.region.clip(shape) {
                changed = Some(changed.map_or(c, |x| x.union(&c)));
            }
            paste_region(&mut view.mask, shape, &rec.region, &rec.data);
        }
        drop(view);
        st.intensity = log.intensity;
        queue.clone_from(&log.queue);
        changed
    }

    /// The post-image of a finished transaction: the same places as its record `pre`, as they
    /// are now.
    fn capture_post(&self, pre: &UndoLog) -> Result<UndoLog> {
        let st = self.state.as_ref().expect("image checked");
        let view = self.reader.get();
        let shape = view.shape;
        let mut mask = Vec::new();
        if pre.mask.iter().any(|r| r.zero_rest) {
            // The prompt rewrote the whole mask (an initial mask): keep all of it, as its nonzero
            // box over zeros.
            let b = crate::geometry::nonzero_bbox(&view.mask, shape, |v| v != 0)
                .unwrap_or(BBox::new([0; 3], [0; 3]));
            let mut data = zeroed(b.voxels(), "the redo record of the mask")?;
            copy_region_out(&view.mask, shape, &b, &mut data);
            mask.push(MaskRecord {
                region: b,
                data,
                zero_rest: true,
            });
        } else {
            for r in &pre.mask {
                let mut data = zeroed(r.region.voxels(), "the redo record of the mask")?;
                copy_region_out(&view.mask, shape, &r.region, &mut data);
                mask.push(MaskRecord {
                    region: r.region,
                    data,
                    zero_rest: false,
                });
            }
        }
        Ok(UndoLog {
            intensity: st.intensity,
            queue: self.queue.clone(),
            chunks: pre.chunks.capture_current(&st.channels),
            mask,
        })
    }

    /// Run `op` as one undoable, atomic step: on error (or cancellation, or a panic) everything it
    /// changed is restored and the history is as before; on success it becomes the newest step of
    /// the history and the redo steps are dropped.
    pub(super) fn atomic(
        &mut self,
        op: impl FnOnce(&mut Self) -> Result<Option<BBox>>,
    ) -> Result<Option<BBox>> {
        self.cancel.rearm();
        self.progress_floor = 0.0;
        let st = self.state.as_mut().ok_or(Error::NoImage)?;
        let previous_changed = self.reader.get().last_changed;
        st.pending = Some(UndoLog {
            intensity: st.intensity,
            queue: self.queue.clone(),
            chunks: ChunkUndo::default(),
            mask: Vec::new(),
        });
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op(self)))
            .unwrap_or_else(|p| Err(Error::Panic(crate::panic_message(&*p))));
        let outcome = outcome.and_then(|changed| {
            let pre = self
                .state
                .as_mut()
                .and_then(|st| st.pending.take())
                .expect("atomic started a log");
            match self.capture_post(&pre) {
                Ok(post) => Ok((changed, Step { pre, post })),
                Err(e) => {
                    self.state.as_mut().expect("state kept").pending = Some(pre);
                    Err(e)
                }
            }
        });
        match outcome {
            Ok((changed, step)) => {
                let budget = self.history_budget;
                let st = self.state.as_mut().expect("state kept");
                st.redo.clear();
                st.history.push_back(step);
                enforce_budget(st, budget);
                if let Some(c) = changed {
                    self.reader.get_mut().last_changed = Some(c);
                }
                Ok(changed)
            }
            Err(e) => {
                let st = self.state.as_mut().expect("state kept");
                if let Some(log) = st.pending.take() {
                    Self::apply_log(st, &self.reader, &log, &mut self.queue);
                }
                self.reader.get_mut().last_changed = previous_changed;
                if let Some(payload) = self.callback_panic.take() {
                    std::panic::resume_unwind(payload);
                }
                Err(e)
            }
        }
    }

    pub(super) fn record_mask(&mut self, region: &BBox) -> Result<()> {
        let st = self.state.as_mut().expect("image checked");
        let shape = st.image.shape;
        if let (Some(log), Some(valid)) = (st.pending.as_mut(), region.clip(shape)) {
            let mut data = zeroed(valid.voxels(), "the undo record of the mask")?;
            copy_region_out(&self.reader.get().mask, shape, &valid, &mut data);
            log.mask.push(MaskRecord {
                region: valid,
                data,
                zero_rest: false,
            });
        }
        Ok(())
    }
}
