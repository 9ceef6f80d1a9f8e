//! Boxes, shapes and index arithmetic in the reference's axis order.
//!
//! Axes are those of a C-order array `image[a0, a1, a2]` (a2 varies fastest), which is the
//! reference's (x, y, z). Boxes are half-open `[lo, hi)` per axis and may extend past the image.

/// Spatial shape `[n0, n1, n2]` of a volume, a2 fastest.
pub type Shape = [usize; 3];

/// A half-open box `[lo[d], hi[d])` per axis; coordinates may be negative or past the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BBox {
    /// Inclusive lower corner.
    pub lo: [i64; 3],
    /// Exclusive upper corner.
    pub hi: [i64; 3],
}

impl BBox {
    /// Box from corners.
    pub fn new(lo: [i64; 3], hi: [i64; 3]) -> Self {
        BBox { lo, hi }
    }

    /// The whole volume of `shape`.
    pub fn of_shape(shape: Shape) -> Self {
        BBox {
            lo: [0; 3],
            hi: [shape[0] as i64, shape[1] as i64, shape[2] as i64],
        }
    }

    /// Extent per axis (may be <= 0 for an empty box).
    pub fn size(&self) -> [i64; 3] {
        [
            self.hi[0] - self.lo[0],
            self.hi[1] - self.lo[1],
            self.hi[2] - self.lo[2],
        ]
    }

    /// Extent per axis as a shape; panics never, negative sizes clamp to 0.
    pub fn shape(&self) -> Shape {
        let s = self.size();
        [
            s[0].max(0) as usize,
            s[1].max(0) as usize,
            s[2].max(0) as usize,
        ]
    }

    /// Number of voxels (0 for an empty box).
    pub fn voxels(&self) -> usize {
        let s = self.shape();
        s[0] * s[1] * s[2]
    }

    /// True if some axis has no extent.
    pub fn is_empty(&self) -> bool {
        (0..3).any(|d| self.hi[d] <= self.lo[d])
    }

    /// The part inside `shape`, or `None` when nothing is left (the reference's `_clip_bbox_to_shape`).
    pub fn clip(&self, shape: Shape) -> Option<BBox> {
        let mut out = *self;
        for d in 0..3 {
            out.lo[d] = out.lo[d].max(0);
            out.hi[d] = out.hi[d].min(shape[d] as i64);
        }
        if out.is_empty() {
            None
        } else {
            Some(out)
        }
    }

    /// The smallest box holding both.
    pub fn union(&self, other: &BBox) -> BBox {
        let mut out = *self;
        for d in 0..3 {
            out.lo[d] = out.lo[d].min(other.lo[d]);
            out.hi[d] = out.hi[d].max(other.hi[d]);
        }
        out
    }

    /// The overlap, or `None`.
    pub fn intersect(&self, other: &BBox) -> Option<BBox> {
        let mut out = *self;
        for d in 0..3 {
            out.lo[d] = out.lo[d].max(other.lo[d]);
            out.hi[d] = out.hi[d].min(other.hi[d]);
        }
        if out.is_empty() {
            None
        } else {
            Some(out)
        }
    }

    /// This box in the local coordinates of `frame` (subtract its lower corner).
    pub fn to_local(&self, frame: &BBox) -> BBox {
        let mut out = *self;
        for d in 0..3 {
            out.lo[d] -= frame.lo[d];
            out.hi[d] -= frame.lo[d];
        }
        out
    }

    /// Shift by `offset`.
    pub fn offset(&self, offset: [i64; 3]) -> BBox {
        let mut out = *self;
        for d in 0..3 {
            out.lo[d] += offset[d];
            out.hi[d] += offset[d];
        }
        out
    }

    /// True if the point lies inside.
    pub fn contains(&self, p: [i64; 3]) -> bool {
        (0..3).all(|d| p[d] >= self.lo[d] && p[d] < self.hi[d])
    }
}

/// A point or size given in the engine's axes `(a0, a1, a2)`, written as the C ABI's and the
/// viewers' `(i, j, k)` = `(a2, a1, a0)`: messages name voxels the way their readers address them.
pub fn ijk<T: std::fmt::Display>(v: [T; 3]) -> String {
    let [a0, a1, a2] = v;
    format!("({a2}, {a1}, {a0})")
}

/// A half-open box in `(i, j, k)` order, for messages (see [`ijk`]).
pub fn ijk_box(b: &BBox) -> String {
    format!("{}..{}", ijk(b.lo), ijk(b.hi))
}

/// Union of an optional list of boxes (the reference's `_union_bboxes`).
pub fn union_all<'a>(boxes: impl IntoIterator<Item = &'a BBox>) -> Option<BBox> {
    boxes.into_iter().fold(None, |acc: Option<BBox>, b| {
        Some(acc.map_or(*b, |a| a.union(b)))
    })
}

/// Linear index of `(a0, a1, a2)` in a C-order volume of `shape`.
#[inline]
pub fn linear(shape: Shape, a0: usize, a1: usize, a2: usize) -> usize {
    (a0 * shape[1] + a1) * shape[2] + a2
}

/// Python's `round` (half to even) of a float, as an integer.
#[inline]
pub fn round_half_even(x: f64) -> i64 {
    x.round_ties_even() as i64
}

/// Python's floor division for a positive divisor.
#[inline]
pub fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

/// The reference's `round_to_nearest_odd`: whichever of ceil/floor is odd, else round + 1.
pub fn round_to_nearest_odd(x: f64) -> i64 {
    let cl = x.ceil() as i64;
    let fl = x.floor() as i64;
    if cl.rem_euclid(2) == 1 {
        cl
    } else if fl.rem_euclid(2) == 1 {
        fl
    } else {
        round_half_even(x) + 1
    }
}

/// The rows shared by a volume of `big` and `region` (a box in its coordinates): for each, the
/// offset in the big volume, the offset in a volume of `region.shape()`, and the row length.
fn overlap_rows(big: Shape, region: &BBox, mut f: impl FnMut(usize, usize, usize)) {
    let Some(valid) = region.clip(big) else {
        return;
    };
    let (vs, local, small) = (valid.shape(), valid.to_local(region), region.shape());
    for a0 in 0..vs[0] {
        for a1 in 0..vs[1] {
            let b = linear(
                big,
                valid.lo[0] as usize + a0,
                valid.lo[1] as usize + a1,
                valid.lo[2] as usize,
            );
            let r = linear(
                small,
                local.lo[0] as usize + a0,
                local.lo[1] as usize + a1,
                local.lo[2] as usize,
            );
            f(b, r, vs[2]);
        }
    }
}

/// Copy the part of `src` (a volume of `src_shape`) under `region` into `dst` (a volume of
/// `region.shape()`), leaving `dst` voxels outside `src` untouched. Generic over the element type.
pub fn copy_region_out<T: Copy>(src: &[T], src_shape: Shape, region: &BBox, dst: &mut [T]) {
    overlap_rows(src_shape, region, |s, d, n| {
        dst[d..d + n].copy_from_slice(&src[s..s + n])
    });
}

/// Paste `src` (a volume of `region.shape()`) into `dst` (a volume of `dst_shape`) at `region`,
/// writing only the part inside `dst` (the reference's `paste_tensor`).
pub fn paste_region<T: Copy>(dst: &mut [T], dst_shape: Shape, region: &BBox, src: &[T]) {
    overlap_rows(dst_shape, region, |d, s, n| {
        dst[d..d + n].copy_from_slice(&src[s..s + n])
    });
}

/// Bounding box of the voxels where `pred(value)` holds, or `None` (projections, no index lists).
pub fn nonzero_bbox<T: Copy>(data: &[T], shape: Shape, pred: impl Fn(T) -> bool) -> Option<BBox> {
    let mut occ = [
        vec![false; shape[0]],
        vec![false; shape[1]],
        vec![false; shape[2]],
    ];
    for a0 in 0..shape[0] {
        for a1 in 0..shape[1] {
            let row = &data[linear(shape, a0, a1, 0)..linear(shape, a0, a1, 0) + shape[2]];
            let mut any = false;
            for (a2, &v) in row.iter().enumerate() {
                if pred(v) {
                    occ[2][a2] = true;
                    any = true;
                }
            }
            if any {
                occ[0][a0] = true;
                occ[1][a1] = true;
            }
        }
    }
    let mut lo = [0i64; 3];
    let mut hi = [0i64; 3];
    for d in 0..3 {
        let first = occ[d].iter().position(|&b| b)?;
        let last = occ[d].iter().rposition(|&b| b)?;
        lo[d] = first as i64;
        hi[d] = last as i64 + 1;
    }
    Some(BBox { lo, hi })
}

/// Bounding box (image coordinates) of the nonzero voxels of `data` (a volume of `shape`) inside
/// `region` (clipped to the volume), or `None`. Reads only the region.
pub fn region_nonzero_bbox(data: &[u8], shape: Shape, region: &BBox) -> Option<BBox> {
    let valid = region.clip(shape)?;
    let (lo, hi) = (valid.lo.map(|v| v as usize), valid.hi.map(|v| v as usize));
    let mut out: Option<BBox> = None;
    for a0 in lo[0]..hi[0] {
        for a1 in lo[1]..hi[1] {
            let start = linear(shape, a0, a1, lo[2]);
            let row = &data[start..start + (hi[2] - lo[2])];
            let (Some(first), Some(last)) = (
                row.iter().position(|&v| v != 0),
                row.iter().rposition(|&v| v != 0),
            ) else {
                continue;
            };
            let b = BBox::new(
                [a0 as i64, a1 as i64, (lo[2] + first) as i64],
                [a0 as i64 + 1, a1 as i64 + 1, (lo[2] + last) as i64 + 1],
            );
            out = Some(out.map_or(b, |o| o.union(&b)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_rounding_matches_reference() {
        assert_eq!(round_to_nearest_odd(1.0), 1);
        assert_eq!(round_to_nearest_odd(2.0), 3);
        assert_eq!(round_to_nearest_odd(2.5), 3);
        assert_eq!(round_to_nearest_odd(3.5), 3);
        assert_eq!(round_to_nearest_odd(4.0), 5);
        assert_eq!(round_to_nearest_odd(6.0), 7);
        assert_eq!(round_half_even(4.5), 4);
        assert_eq!(round_half_even(5.5), 6);
        assert_eq!(round_half_even(-0.5), 0);
    }

    #[test]
    fn clip_and_paste() {
        let b = BBox::new([-2, 1, 3], [2, 3, 9]);
        assert_eq!(b.clip([4, 4, 5]), Some(BBox::new([0, 1, 3], [2, 3, 5])));
        assert_eq!(BBox::new([5, 0, 0], [6, 1, 1]).clip([4, 4, 4]), None);
        let mut dst = vec![0u8; 4 * 4 * 5];
        let src = vec![1u8; b.voxels()];
        paste_region(&mut dst, [4, 4, 5], &b, &src);
        assert_eq!(dst.iter().filter(|&&v| v == 1).count(), 2 * 2 * 2);
        let mut back = vec![9u8; b.voxels()];
        copy_region_out(&dst, [4, 4, 5], &b, &mut back);
        assert_eq!(back.iter().filter(|&&v| v == 1).count(), 8);
        assert_eq!(
            nonzero_bbox(&dst, [4, 4, 5], |v| v != 0),
            Some(BBox::new([0, 1, 3], [2, 3, 5]))
        );
    }
}
