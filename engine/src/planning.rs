//! Prediction planning: where a prompt puts the patch and with which zoom, when AutoZoom keeps
//! growing, and how refinement patches cover the changed region (the reference's
//! `_add_patch_for_*`, `_detect_change_at_border` and `utils/bboxes.py`).

use crate::geometry::{linear, round_half_even, BBox, Shape};

/// A queued prediction: centre voxel and zoom-out factor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QueuedPatch {
    /// Patch centre, reference axes.
    pub center: [i64; 3],
    /// Zoom-out factor requested by the prompt (>= 1).
    pub zoom: f64,
}

/// Largest AutoZoom factor.
pub const MAX_ZOOM: f64 = 4.0;
/// AutoZoom growth per step.
pub const ZOOM_GROWTH: f64 = 1.5;

/// Centre and zoom for a prompt covering `roi` (`_add_patch_for_bbox_interaction` and
/// `_generic_add_patch_from_image`): zoom = max(1, max((size + patch//3) / patch)).
pub fn patch_for_roi(roi: &BBox, patch: [usize; 3]) -> QueuedPatch {
    let mut center = [0i64; 3];
    let mut zoom = 1.0f64;
    for d in 0..3 {
        center[d] = round_half_even((roi.lo[d] + roi.hi[d]) as f64 / 2.0);
        let requested = (roi.hi[d] - roi.lo[d]) + (patch[d] / 3) as i64;
        zoom = zoom.max(requested as f64 / patch[d] as f64);
    }
    QueuedPatch { center, zoom }
}

/// Scaled patch size and its box around `center` (`_build_network_input`).
pub fn scaled_box(center: [i64; 3], patch: [usize; 3], zoom: f64) -> ([usize; 3], BBox) {
    let mut size = [0usize; 3];
    let mut b = BBox::new([0; 3], [0; 3]);
    for d in 0..3 {
        let s = round_half_even(patch[d] as f64 * zoom);
        size[d] = s as usize;
        b.lo[d] = center[d] - s / 2;
        b.hi[d] = center[d] + s / 2 + s % 2;
    }
    (size, b)
}

/// The reference's `_detect_change_at_border`: compare the six faces of the new prediction with
/// the previous mask (both patch-sized), in face order, first trigger wins.
pub fn change_at_border(pred: &[u8], prev: &[f32], shape: Shape) -> bool {
    for dim in 0..3 {
        for idx in [0, shape[dim] - 1] {
            let (mut p, mut c, mut d) = (0.0f32, 0.0f32, 0.0f32);
            let others: Vec<usize> = (0..3).filter(|&x| x != dim).collect();
            for u in 0..shape[others[0]] {
                for v in 0..shape[others[1]] {
                    let mut pos = [0usize; 3];
                    pos[dim] = idx;
                    pos[others[0]] = u;
                    pos[others[1]] = v;
                    let i = linear(shape, pos[0], pos[1], pos[2]);
                    let pv = prev[i];
                    let cv = pred[i] as f32;
                    p += pv;
                    c += cv;
                    if pv != cv {
                        d += 1.0;
                    }
                }
            }
            let (p, c, d) = (p as f64, c as f64, d as f64);
            let rel = p.max(c) / p.min(c).max(1e-5) - 1.0;
            if d > 1500.0 {
                return true;
            }
            if d > 100.0 && rel > 0.2 {
                return true;
            }
        }
    }
    false
}

/// Inclusive per-axis extent of the nonzero voxels.
fn nonzero_extent(mask: &[u8], shape: Shape) -> Option<([usize; 3], [usize; 3])> {
    let b = crate::geometry::nonzero_bbox(mask, shape, |v| v != 0)?;
    Some((
        [b.lo[0] as usize, b.lo[1] as usize, b.lo[2] as usize],
        [
            b.hi[0] as usize - 1,
            b.hi[1] as usize - 1,
            b.hi[2] as usize - 1,
        ],
    ))
}

/// Summed-volume table of a 0/1 mask, for O(1) box counts.
struct SummedVolume {
    shape: Shape,
    table: Vec<u32>,
}

impl SummedVolume {
    fn new(mask: &[u8], shape: Shape) -> Self {
        let t = [shape[0] + 1, shape[1] + 1, shape[2] + 1];
        let mut table = vec![0u32; t[0] * t[1] * t[2]];
        let at = |a: usize, b: usize, c: usize| (a * t[1] + b) * t[2] + c;
        for a in 0..shape[0] {
            for b in 0..shape[1] {
                let mut row = 0u32;
                for c in 0..shape[2] {
                    row += u32::from(mask[linear(shape, a, b, c)] != 0);
                    table[at(a + 1, b + 1, c + 1)] =
                        row + table[at(a, b + 1, c + 1)] + table[at(a + 1, b, c + 1)]
                            - table[at(a, b, c + 1)];
                }
            }
        }
        SummedVolume { shape, table }
    }

    fn count(&self, lo: [usize; 3], hi: [usize; 3]) -> u64 {
        if (0..3).any(|d| hi[d] <= lo[d]) {
            return 0;
        }
        let t = [self.shape[0] + 1, self.shape[1] + 1, self.shape[2] + 1];
        let at = |a: usize, b: usize, c: usize| self.table[(a * t[1] + b) * t[2] + c] as i64;
        let (a0, b0, c0) = (lo[0], lo[1], lo[2]);
        let (a1, b1, c1) = (hi[0], hi[1], hi[2]);
        (at(a1, b1, c1) - at(a0, b1, c1) - at(a1, b0, c1) - at(a1, b1, c0)
            + at(a0, b0, c1)
            + at(a0, b1, c0)
            + at(a1, b0, c0)
            - at(a0, b0, c0)) as u64
    }
}

/// Where a planning mask sits: its origin inside the full planning region, whose shape clips the
/// cover boxes (the reference works on the full region; we pass only the part holding nonzeros).
#[derive(Clone, Copy)]
struct Frame {
    origin: [i64; 3],
    full: Shape,
}

/// The cover box of centre `c` (local), shrunk by the margin and clipped to the full region, in
/// local coordinates clipped to the local `shape`.
fn margin_bounds(
    c: [usize; 3],
    half: [usize; 3],
    end: [usize; 3],
    margin: [usize; 3],
    shape: Shape,
    frame: Frame,
) -> ([usize; 3], [usize; 3]) {
    let mut lo = [0usize; 3];
    let mut hi = [0usize; 3];
    for d in 0..3 {
        let cg = c[d] as i64 + frame.origin[d];
        let lo_g = (cg - half[d] as i64 + margin[d] as i64).max(0);
        let hi_g = (cg + end[d] as i64 - margin[d] as i64).min(frame.full[d] as i64);
        lo[d] = (lo_g - frame.origin[d]).clamp(0, shape[d] as i64) as usize;
        hi[d] = (hi_g - frame.origin[d]).clamp(0, shape[d] as i64) as usize;
    }
    (lo, hi)
}

/// The patch-sized box centred on local `c`, in full-region coordinates, unclipped.
fn box_at(c: [usize; 3], half: [usize; 3], end: [usize; 3], frame: Frame) -> BBox {
    let mut b = BBox::new([0; 3], [0; 3]);
    for d in 0..3 {
        let cg = c[d] as i64 + frame.origin[d];
        b.lo[d] = cg - half[d] as i64;
        b.hi[d] = cg + end[d] as i64;
    }
    b
}

fn zero_box(mask: &mut [u8], shape: Shape, lo: [usize; 3], hi: [usize; 3]) {
    for a in lo[0]..hi[0] {
        for b in lo[1]..hi[1] {
            let s = linear(shape, a, b, lo[2]);
            mask[s..s + hi[2].saturating_sub(lo[2])].fill(0);
        }
    }
}

/// Deterministic stand-in for the reference's `random_sampling_fallback`: instead of `n` random
/// nonzero voxels, it evaluates `n` voxels spread evenly over the nonzero voxels in C order
/// (documented in docs/fidelity.md), keeping the first best.
fn sampling_fallback(
    mask: &mut [u8],
    shape: Shape,
    frame: Frame,
    patch: [usize; 3],
    margin: [usize; 3],
    n: usize,
) -> Vec<BBox> {
    let half = [patch[0] / 2, patch[1] / 2, patch[2] / 2];
    let end = [patch[0] - half[0], patch[1] - half[1], patch[2] - half[2]];
    let mut out = Vec::new();
    loop {
        let nonzero: Vec<usize> = mask
            .iter()
            .enumerate()
            .filter(|(_, &v)| v != 0)
            .map(|(i, _)| i)
            .collect();
        if nonzero.is_empty() {
            return out;
        }
        let sv = SummedVolume::new(mask, shape);
        let mut best: Option<([usize; 3], [usize; 3], [usize; 3])> = None;
        let mut best_n = 0u64;
        for s in 0..n {
            let i = nonzero[s * nonzero.len() / n];
            let c = [
                i / (shape[1] * shape[2]),
                (i / shape[2]) % shape[1],
                i % shape[2],
            ];
            let (lo, hi) = margin_bounds(c, half, end, margin, shape, frame);
            let k = sv.count(lo, hi);
            if k > best_n {
                best_n = k;
                best = Some((c, lo, hi));
            }
        }
        let Some((c, lo, hi)) = best else {
            // a margin larger than half the patch covers nothing: take the first voxel's box and
            // clear that voxel so the loop ends
            let i = nonzero[0];
            let c = [
                i / (shape[1] * shape[2]),
                (i / shape[2]) % shape[1],
                i % shape[2],
            ];
            out.push(box_at(c, half, end, frame));
            mask[i] = 0;
            continue;
        };
        out.push(box_at(c, half, end, frame));
        zero_box(mask, shape, lo, hi);
    }
}

/// Port of the reference's `generate_bounding_boxes(mask, patch, stride="auto", margin, max_depth)`:
/// greedy cover of the nonzero voxels by patch-sized boxes, candidates on a grid in C order,
/// first maximum wins; boxes are returned unclipped, in the order chosen.
pub fn generate_bounding_boxes(
    mask: &[u8],
    shape: Shape,
    patch: [usize; 3],
    margin: [usize; 3],
    max_depth: usize,
) -> Vec<BBox> {
    let frame = Frame {
        origin: [0; 3],
        full: shape,
    };
    generate_rec(mask, shape, frame, patch, None, margin, max_depth, 0)
}

/// [`generate_bounding_boxes`] for a planning region of shape `full` that is zero outside the box
/// at `origin` of shape `shape`, given only that box's `mask`: the same boxes (in full-region
/// coordinates), at the cost of the box instead of the region.
pub fn generate_bounding_boxes_in(
    mask: &[u8],
    shape: Shape,
    origin: [i64; 3],
    full: Shape,
    patch: [usize; 3],
    margin: [usize; 3],
    max_depth: usize,
) -> Vec<BBox> {
    generate_rec(
        mask,
        shape,
        Frame { origin, full },
        patch,
        None,
        margin,
        max_depth,
        0,
    )
}

#[allow(clippy::too_many_arguments)]
fn generate_rec(
    mask: &[u8],
    shape: Shape,
    frame: Frame,
    patch: [usize; 3],
    stride: Option<[usize; 3]>,
    margin: [usize; 3],
    max_depth: usize,
    depth: usize,
) -> Vec<BBox> {
    let Some((min_c, max_c)) = nonzero_extent(mask, shape) else {
        return Vec::new();
    };
    if depth > max_depth {
        let mut m = mask.to_vec();
        return sampling_fallback(&mut m, shape, frame, patch, margin, 25);
    }
    let half = [patch[0] / 2, patch[1] / 2, patch[2] / 2];
    let end = [patch[0] - half[0], patch[1] - half[1], patch[2] - half[2]];
    let stride = stride.unwrap_or_else(|| {
        let mut s = [1usize; 3];
        for d in 0..3 {
            s[d] = round_half_even((max_c[d] - min_c[d]) as f64 / 4.0).max(1) as usize;
        }
        s
    });
    let mut candidates = Vec::new();
    for a in (min_c[0]..=max_c[0].min(shape[0] - 1)).step_by(stride[0]) {
        for b in (min_c[1]..=max_c[1].min(shape[1] - 1)).step_by(stride[1]) {
            for c in (min_c[2]..=max_c[2].min(shape[2] - 1)).step_by(stride[2]) {
                if mask[linear(shape, a, b, c)] != 0 {
                    candidates.push([a, b, c]);
                }
            }
        }
    }
    if candidates.is_empty() {
        let half_stride = [
            (stride[0] / 2).max(1),
            (stride[1] / 2).max(1),
            (stride[2] / 2).max(1),
        ];
        return generate_rec(
            mask,
            shape,
            frame,
            patch,
            Some(half_stride),
            margin,
            max_depth,
            depth + 1,
        );
    }
    let mut uncovered: Vec<u8> = mask.iter().map(|&v| u8::from(v != 0)).collect();
    let mut boxes = Vec::new();
    while !candidates.is_empty() && uncovered.iter().any(|&v| v != 0) {
        let sv = SummedVolume::new(&uncovered, shape);
        let mut best = None;
        let mut best_n = 0u64;
        for (i, &c) in candidates.iter().enumerate() {
            let (lo, hi) = margin_bounds(c, half, end, margin, shape, frame);
            let n = sv.count(lo, hi);
            if n > best_n {
                best_n = n;
                best = Some((i, lo, hi));
            }
        }
        let Some((i, lo, hi)) = best else { break };
        boxes.push(box_at(candidates[i], half, end, frame));
        zero_box(&mut uncovered, shape, lo, hi);
        candidates.retain(|c| uncovered[linear(shape, c[0], c[1], c[2])] != 0);
    }
    if uncovered.iter().any(|&v| v != 0) {
        boxes.extend(sampling_fallback(
            &mut uncovered,
            shape,
            frame,
            patch,
            margin,
            10,
        ));
    }
    boxes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roi_zoom() {
        let q = patch_for_roi(&BBox::new([10, 20, 30], [11, 70, 50]), [64, 64, 64]);
        assert_eq!(q.center, [10, 45, 40]); // round(10.5) == 10 (half to even)
        assert!((q.zoom - (50.0 + 21.0) / 64.0).abs() < 1e-12);
        let (s, b) = scaled_box([10, 0, 5], [64, 64, 64], 1.5);
        assert_eq!(s, [96, 96, 96]);
        assert_eq!(b, BBox::new([-38, -48, -43], [58, 48, 53]));
    }

    #[test]
    fn single_blob_one_box() {
        let shape = [40, 40, 40];
        let mut m = vec![0u8; 40 * 40 * 40];
        for a in 15..25 {
            for b in 15..25 {
                for c in 15..25 {
                    m[linear(shape, a, b, c)] = 1;
                }
            }
        }
        let boxes = generate_bounding_boxes(&m, shape, [32, 32, 32], [4, 4, 4], 3);
        assert_eq!(boxes.len(), 1);
        assert_eq!(boxes[0].size(), [32, 32, 32]);
        // the box covers the blob
        assert!(boxes[0].lo.iter().all(|&v| v <= 15) && boxes[0].hi.iter().all(|&v| v >= 25));
    }

    #[test]
    fn boxes_from_a_sub_box_equal_boxes_from_the_region() {
        let full = [70, 60, 80];
        let mut m = vec![0u8; 70 * 60 * 80];
        let mut state = 12345u64;
        for a in 20..50 {
            for b in 10..45 {
                for c in 30..75 {
                    state = state
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    if (state >> 33).is_multiple_of(7) || (a + b + c) % 11 == 0 {
                        m[linear(full, a, b, c)] = 1;
                    }
                }
            }
        }
        let whole = generate_bounding_boxes(&m, full, [40, 40, 40], [10, 10, 10], 3);
        let sub = BBox::new([18, 8, 28], [52, 47, 77]);
        let mut part = vec![0u8; sub.voxels()];
        crate::geometry::copy_region_out(&m, full, &sub, &mut part);
        let boxes = generate_bounding_boxes_in(
            &part,
            sub.shape(),
            sub.lo,
            full,
            [40, 40, 40],
            [10, 10, 10],
            3,
        );
        assert!(whole.len() > 1);
        assert_eq!(boxes, whole);
    }

    #[test]
    fn border_change() {
        let shape = [32, 32, 32];
        let pred = vec![1u8; 32 * 32 * 32];
        let prev = vec![0f32; 32 * 32 * 32];
        assert!(change_at_border(&pred, &prev, shape));
        let prev1 = vec![1f32; 32 * 32 * 32];
        assert!(!change_at_border(&pred, &prev1, shape));
    }
}
