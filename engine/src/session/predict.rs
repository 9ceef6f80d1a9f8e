//! The prediction pipeline of the reference's `_predict`: the coarse prediction at the queued
//! centre, AutoZoom (growing the field of view while the prediction touches its border), then a
//! direct paste (zoom 1) or refinement patches at full resolution, each seeing the earlier ones.

use half::f16;

use crate::alloc::{zeroed, zeroed_in};
use crate::error::{Error, Result};
use crate::geometry::{
    copy_region_out, linear, nonzero_bbox, paste_region, region_nonzero_bbox, round_to_nearest_odd,
    union_all, BBox, Shape,
};
use crate::planning::{self, MAX_ZOOM, ZOOM_GROWTH};
use crate::prompts;
use crate::resample;

use super::Session;

/// Refinement margin of the reference (`_plan_refinement_bboxes`).
const REFINE_MARGIN: usize = 24;

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

impl Session {
    /// A checkpoint: fails with [`Error::Cancelled`] when cancel was requested or the progress
    /// callback asks to cancel (or panics: its payload is kept for the transaction to resume once
    /// the session is restored).
    pub(super) fn report(&mut self, fraction: f64, stage: &str) -> Result<()> {
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        // Never backwards within a call: a later stage may start below an earlier estimate.
        let fraction = fraction.clamp(0.0, 1.0).max(self.progress_floor);
        self.progress_floor = fraction;
        if let Some(cb) = self.progress.as_mut() {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(fraction, stage))) {
                Ok(false) => {}
                Ok(true) => return Err(Error::Cancelled),
                Err(payload) => {
                    self.callback_panic = Some(payload);
                    return Err(Error::Cancelled);
                }
            }
        }
        Ok(())
    }

    pub(super) fn write_mask(&mut self, region: &BBox, src: &[u8]) {
        let mut view = self.reader.get_mut();
        let shape = view.shape;
        paste_region(&mut view.mask, shape, region, src);
    }

    /// The reference's `_predict`: coarse prediction at the queued centre, AutoZoom, then either a
    /// direct paste (zoom 1) or refinement.
    pub(super) fn predict(&mut self, force_full_refine: bool) -> Result<Option<BBox>> {
        let Some(&q) = self.queue.last() else {
            return Ok(None);
        };
        let patch = self.meta.patch_size;
        let mut zoom = q.zoom.min(MAX_ZOOM);
        self.report(0.0, "coarse prediction")?;
        let buf = self.net.take_input_buffer();
        let (input, mut scaled, mut sbox, mut prev) = self.build_input(q.center, zoom, buf)?;
        let mut pred = self.net.predict(input)?;
        let mut has_change = planning::change_at_border(&pred, &prev, patch);
        let mut step = 1.0;
        while has_change && self.autozoom {
            if zoom >= MAX_ZOOM {
                break;
            }
            zoom = (zoom * ZOOM_GROWTH).min(MAX_ZOOM);
            step += 1.0;
            self.report(0.1 * step, &format!("AutoZoom x{zoom:.2}"))?;
            let buf = self.net.take_input_buffer();
            let input;
            (input, scaled, sbox, prev) = self.build_input(q.center, zoom, buf)?;
            pred = self.net.predict(input)?;
            has_change = planning::change_at_border(&pred, &prev, patch);
        }
        let shape = self.require_image()?;
        let changed = if zoom == 1.0 {
            self.record_mask(&sbox)?;
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
            let boxes =
                self.plan_refinement(&coarse, scaled, &sbox, force_full_refine, q.center)?;
            self.refine(&boxes, &coarse, scaled, &sbox)?
        };
        self.report(1.0, "done")?;
        self.queue.clear();
        Ok(changed)
    }

    /// Network input for a patch-sized box `b` at zoom 1: the image and the normalised prompt
    /// channels cropped at `b` (zero outside the image), and prev_seg taken from `prev` (a volume of
    /// `prev_shape`) at `prev_box`. Also returns that prev_seg channel, for the border test.
    /// Written into `buf` (its memory reused).
    pub(super) fn patch_input(
        &self,
        b: &BBox,
        prev: &[u8],
        prev_shape: Shape,
        prev_box: &BBox,
        buf: Vec<f32>,
    ) -> Result<(Vec<f32>, Vec<f32>)> {
        let st = self.state.as_ref().expect("image checked");
        let shape = st.image.shape;
        let np = b.voxels();
        let nch = self.meta.num_interaction_channels;
        let mut input = zeroed_in(buf, (1 + nch) * np, "the network input")?;
        let (img, channels) = input.split_at_mut(np);
        copy_region_out(&st.image.data, shape, b, img);
        let mut prev_seg = zeroed::<f32>(np, "the previous segmentation channel")?;
        for (ch, buf) in channels.chunks_exact_mut(np).enumerate() {
            if ch == self.meta.prev_seg_channel {
                let mut m = zeroed::<u8>(np, "the previous segmentation crop")?;
                copy_region_out(prev, prev_shape, prev_box, &mut m);
                buf.iter_mut().zip(&m).for_each(|(x, &v)| *x = v as f32);
                prev_seg.copy_from_slice(buf);
            } else {
                st.channels[ch].read_region(b, buf, |v| prompts::normalise(v, st.intensity));
            }
        }
        Ok((input, prev_seg))
    }

    /// Network input at `center` and `zoom`: (input, scaled size, scaled box, previous mask
    /// resampled to the patch for the border test). Written into `buf` (its memory reused).
    pub(super) fn build_input(
        &self,
        center: [i64; 3],
        zoom: f64,
        buf: Vec<f32>,
    ) -> Result<(Vec<f32>, Shape, BBox, Vec<f32>)> {
        let st = self.state.as_ref().ok_or(Error::NoImage)?;
        let shape = st.image.shape;
        let patch = self.meta.patch_size;
        let (scaled, sbox) = planning::scaled_box(center, patch, zoom);
        let np = patch.iter().product::<usize>();
        let nch = self.meta.num_interaction_channels;
        // Read-locked for the input's construction only (no callback, no network run here).
        let view = self.reader.get();
        if scaled == patch {
            let (input, prev_pred) = self.patch_input(&sbox, &view.mask, shape, &sbox, buf)?;
            return Ok((input, scaled, sbox, prev_pred));
        }
        let mut input = buf;
        input.clear();
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
                prev_pred = resample::nearest_crop_u8(&view.mask, shape, &sbox, patch);
                region_nonzero_bbox(&view.mask, shape, &sbox)
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
                let mut m = zeroed::<u8>(sub.voxels(), "the previous segmentation crop")?;
                copy_region_out(&view.mask, shape, &sub, &mut m);
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
    pub(super) fn plan_refinement(
        &self,
        coarse: &[u8],
        scaled: Shape,
        sbox: &BBox,
        force: bool,
        center: [i64; 3],
    ) -> Result<Vec<BBox>> {
        let view = self.reader.get();
        let shape = view.shape;
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
            let prev_box = nonzero_bbox(&view.mask, shape, |v| v != 0);
            planning = union_all(planning.iter().chain(prev_box.iter()));
        }
        let Some(planning) = planning else {
            return Ok(fallback());
        };
        // Only the box holding nonzeros of the diff map is materialised (exact: see
        // planning::generate_bounding_boxes_in and the opening argument below).
        let mut nonzero: Option<BBox> = None;
        let mut opened: Option<(BBox, Vec<u8>)> = None;
        if let Some(seen) = sbox.clip(shape) {
            if let Some(raw) = diff_bbox(coarse, scaled, sbox, &view.mask, shape, &seen) {
                // The opening (5^3 min, then max, borders replicated at the edges of `seen`) is
                // anti-extensive, so it is nonzero only inside `raw`; computed on `raw` grown by
                // its radius it equals the opening over `seen`.
                let sub = BBox::new(raw.lo.map(|v| v - 2), raw.hi.map(|v| v + 2))
                    .intersect(&seen)
                    .expect("raw lies in seen");
                let mut prev = zeroed::<u8>(sub.voxels(), "the refinement plan")?;
                copy_region_out(&view.mask, shape, &sub, &mut prev);
                let mut d = zeroed::<u8>(sub.voxels(), "the refinement plan")?;
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
            if let Some(m) = region_nonzero_bbox(&view.mask, shape, &planning) {
                nonzero = Some(nonzero.map_or(m, |n| n.union(&m)));
            }
        }
        let Some(nz) = nonzero else {
            return Ok(fallback());
        };
        let mut diff = zeroed::<u8>(nz.voxels(), "the refinement plan")?;
        if let Some((sub, d)) = &opened {
            paste_region(&mut diff, nz.shape(), &sub.to_local(&nz), d);
        }
        if force {
            let mut prev = zeroed::<u8>(nz.voxels(), "the refinement plan")?;
            copy_region_out(&view.mask, shape, &nz, &mut prev);
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
            return Ok(fallback());
        }
        Ok(boxes.into_iter().map(|b| b.offset(planning.lo)).collect())
    }

    /// The reference's `_refine_coarse_with_local_cache`: patches in order, each seeing the
    /// results of the earlier ones; only the refined boxes are written back.
    pub(super) fn refine(
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
        copy_region_out(&self.reader.get().mask, shape, &hull, &mut cache_prev);
        if let Some(inject) = sbox.clip(shape) {
            let mut sub = zeroed::<u8>(inject.voxels(), "the coarse prediction crop")?;
            copy_region_out(coarse, scaled, &inject.to_local(sbox), &mut sub);
            paste_region(&mut cache_prev, hs, &inject.to_local(&hull), &sub);
        }
        // Refinement takes the rest of the bar: from 0.3, or from where AutoZoom left it.
        let base = self.progress_floor.max(0.3);
        for (i, b) in boxes.iter().enumerate() {
            let done = i as f64 / boxes.len() as f64;
            self.report(
                base + (1.0 - base) * done,
                &format!("refining patch {}/{}", i + 1, boxes.len()),
            )?;
            let local = b.to_local(&hull);
            let buf = self.net.take_input_buffer();
            let (input, _) = self.patch_input(b, &cache_prev, hs, &local, buf)?;
            let pred = self.net.predict(input)?;
            paste_region(&mut cache_prev, hs, &local, &pred);
        }
        self.record_mask(&hull)?;
        for b in boxes {
            let mut sub = zeroed::<u8>(b.voxels(), "a refined patch")?;
            copy_region_out(&cache_prev, hs, &b.to_local(&hull), &mut sub);
            self.write_mask(b, &sub);
        }
        Ok(hull.clip(shape))
    }
}
