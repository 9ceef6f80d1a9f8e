//! Undo and atomic prompts: every prompt runs as one transaction that records the pre-image of
//! everything it overwrites (interaction chunks, mask regions, intensity, the prediction queue).
//! A failure, a cancel or a panic part-way restores that record, so the session is left exactly
//! as it was; on success the record is the one level of undo the reference offers.

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

impl Session {
    /// Revert the last prompt (one level). Returns `false` when there is nothing to undo.
    pub fn undo(&mut self) -> Result<bool> {
        self.require_image()?;
        let st = self.state.as_mut().expect("image checked");
        let Some(log) = st.undo.take() else {
            return Ok(false);
        };
        let changed = Self::restore_log(st, &self.reader, log, &mut self.queue);
        self.reader.get_mut().last_changed = changed;
        Ok(true)
    }

    fn restore_log(
        st: &mut ImageState,
        reader: &SessionReader,
        log: UndoLog,
        queue: &mut Vec<QueuedPatch>,
    ) -> Option<BBox> {
        let shape = st.image.shape;
        log.chunks.restore(&mut st.channels);
        let mut changed: Option<BBox> = None;
        let mut view = reader.get_mut();
        for rec in log.mask.into_iter().rev() {
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
        *queue = log.queue;
        changed
    }

    /// Run `op` as one undoable, atomic step: on error (or cancellation) everything it changed is
    /// restored and the previous undo level is kept.
    pub(super) fn atomic(
        &mut self,
        op: impl FnOnce(&mut Self) -> Result<Option<BBox>>,
    ) -> Result<Option<BBox>> {
        self.cancel.rearm();
        self.progress_floor = 0.0;
        let st = self.state.as_mut().ok_or(Error::NoImage)?;
        let previous = st.undo.take();
        let previous_changed = self.reader.get().last_changed;
        st.undo = Some(UndoLog {
            intensity: st.intensity,
            queue: self.queue.clone(),
            chunks: ChunkUndo::default(),
            mask: Vec::new(),
        });
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op(self)))
            .unwrap_or_else(|p| Err(Error::Panic(crate::panic_message(&*p))));
        match outcome {
            Ok(changed) => {
                if let Some(c) = changed {
                    self.reader.get_mut().last_changed = Some(c);
                }
                Ok(changed)
            }
            Err(e) => {
                let st = self.state.as_mut().expect("state kept");
                if let Some(log) = st.undo.take() {
                    Self::restore_log(st, &self.reader, log, &mut self.queue);
                }
                st.undo = previous;
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
        if let (Some(log), Some(valid)) = (st.undo.as_mut(), region.clip(shape)) {
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
