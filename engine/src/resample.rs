//! Resampling kernels with the reference's (PyTorch's CPU) arithmetic: nearest, area
//! (`adaptive_avg_pool3d`), trilinear (`align_corners=False`) and the replicate-padded
//! max/min window filter of `iterative_3x3_same_padding_pool3d`.
//!
//! All volumes are C-order `f32` slices (float16 values are exact in f32).

use crate::geometry::{BBox, Shape};

/// PyTorch's `nearest` source index along one axis.
fn nearest_index(out_i: usize, in_size: usize, out_size: usize) -> usize {
    if out_size == in_size {
        out_i
    } else if out_size == 2 * in_size {
        out_i >> 1
    } else {
        let scale = in_size as f32 / out_size as f32;
        ((out_i as f32 * scale).floor() as usize).min(in_size - 1)
    }
}

/// Nearest-neighbour resize of a volume of `in_shape` whose voxel `(i0, i1, i2)` is `value(..)`.
fn nearest_by(
    in_shape: Shape,
    out_shape: Shape,
    value: impl Fn(usize, usize, usize) -> f32,
) -> Vec<f32> {
    let idx: Vec<Vec<usize>> = (0..3)
        .map(|d| {
            (0..out_shape[d])
                .map(|o| nearest_index(o, in_shape[d], out_shape[d]))
                .collect()
        })
        .collect();
    let mut out = Vec::with_capacity(out_shape.iter().product());
    for &i0 in &idx[0] {
        for &i1 in &idx[1] {
            out.extend(idx[2].iter().map(|&i2| value(i0, i1, i2)));
        }
    }
    out
}

/// Nearest-neighbour resize (`F.interpolate(mode="nearest")`).
pub fn nearest(src: &[f32], in_shape: Shape, out_shape: Shape) -> Vec<f32> {
    nearest_by(in_shape, out_shape, |a, b, c| {
        src[(a * in_shape[1] + b) * in_shape[2] + c]
    })
}

/// Area resize (`adaptive_avg_pool3d` on float16, as PyTorch's CPU kernel computes it): windows
/// `[floor(o*in/out), ceil((o+1)*in/out))`, summed in **float16** (each addition rounded) in axis
/// order, then divided by the three window sizes in turn, each division rounded to float16.
/// Checked bit-exact against torch 2.15 (docs/fidelity.md).
pub fn area_to_f16(src: &[f32], in_shape: Shape, out_shape: Shape) -> Vec<f32> {
    use half::f16;
    let win = |d: usize| -> Vec<(usize, usize)> {
        (0..out_shape[d])
            .map(|o| {
                let (i, n) = (in_shape[d], out_shape[d]);
                ((o * i) / n, ((o + 1) * i).div_ceil(n))
            })
            .collect()
    };
    let (w0, w1, w2) = (win(0), win(1), win(2));
    let div = |a: f16, k: usize| f16::from_f32(a.to_f32() / k as f32);
    let mut out = Vec::with_capacity(out_shape.iter().product());
    for &(s0, e0) in &w0 {
        for &(s1, e1) in &w1 {
            for &(s2, e2) in &w2 {
                let mut sum = f16::ZERO;
                for i0 in s0..e0 {
                    for i1 in s1..e1 {
                        let row = (i0 * in_shape[1] + i1) * in_shape[2];
                        for v in &src[row + s2..row + e2] {
                            sum = f16::from_f32(sum.to_f32() + *v);
                        }
                    }
                }
                out.push(div(div(div(sum, e0 - s0), e1 - s1), e2 - s2).to_f32());
            }
        }
    }
    out
}

/// Per-axis linear interpolation table: (index of the lower neighbour, offset to the upper one,
/// lower weight, upper weight), as PyTorch's `compute_indices_weights_linear`.
fn linear_table(in_size: usize, out_size: usize) -> Vec<(usize, usize, f32, f32)> {
    let scale = in_size as f32 / out_size as f32;
    (0..out_size)
        .map(|o| {
            let real = if out_size == in_size {
                o as f32
            } else {
                (scale * (o as f32 + 0.5) - 0.5).max(0.0)
            };
            let i0 = (real.floor() as usize).min(in_size - 1);
            let lambda = (real - i0 as f32).clamp(0.0, 1.0);
            let step = usize::from(i0 < in_size - 1);
            (i0, step, 1.0 - lambda, lambda)
        })
        .collect()
}

/// Trilinear resize (`F.interpolate(mode="trilinear", align_corners=False)`), evaluated as
/// PyTorch's CPU kernel does: outermost axis first, and at each level `fma(lower, w0, upper * w1)`
/// (the upper product rounded, then one fused multiply-add). Checked bit-exact against torch 2.15.
pub fn trilinear(src: &[f32], in_shape: Shape, out_shape: Shape) -> Vec<f32> {
    let t0 = linear_table(in_shape[0], out_shape[0]);
    let t1 = linear_table(in_shape[1], out_shape[1]);
    let t2 = linear_table(in_shape[2], out_shape[2]);
    let s1 = in_shape[2];
    let s0 = in_shape[1] * in_shape[2];
    let mut out = Vec::with_capacity(out_shape.iter().product());
    for &(i0, d0, a0, b0) in &t0 {
        for &(i1, d1, a1, b1) in &t1 {
            for &(i2, d2, a2, b2) in &t2 {
                let base = i0 * s0 + i1 * s1 + i2;
                let lerp2 = |b: usize| src[b].mul_add(a2, src[b + d2] * b2);
                let lerp1 = |b: usize| lerp2(b).mul_add(a1, lerp2(b + d1 * s1) * b1);
                out.push(lerp1(base).mul_add(a0, lerp1(base + d0 * s0) * b0));
            }
        }
    }
    out
}

/// Sliding max (or min) over a `k`-wide window along every axis, 'same' size, borders
/// replicated: the reference's `iterative_3x3_same_padding_pool3d` (exact, separable).
pub fn window_filter<T: Copy + PartialOrd>(data: &mut [T], shape: Shape, k: usize, use_min: bool) {
    if k <= 1 {
        return;
    }
    let r = (k - 1) / 2;
    let pick = |a: T, b: T| if (b < a) == use_min { b } else { a };
    let strides = [shape[1] * shape[2], shape[2], 1];
    let mut line = Vec::new();
    for axis in 0..3 {
        let n = shape[axis];
        let others: Vec<usize> = (0..3).filter(|&d| d != axis).collect();
        for u in 0..shape[others[0]] {
            for v in 0..shape[others[1]] {
                let base = u * strides[others[0]] + v * strides[others[1]];
                line.clear();
                line.extend((0..n).map(|i| data[base + i * strides[axis]]));
                for i in 0..n {
                    let lo = i.saturating_sub(r);
                    let hi = (i + r).min(n - 1);
                    let mut m = line[lo];
                    for &x in &line[lo + 1..=hi] {
                        m = pick(m, x);
                    }
                    data[base + i * strides[axis]] = m;
                }
            }
        }
    }
}

/// Read voxel `l` (local to `crop`) of `src` (a volume of `shape`), 0 outside the image.
#[inline]
fn crop_value<T: Copy + Into<f32>>(src: &[T], shape: Shape, crop: &BBox, l: [usize; 3]) -> f32 {
    let g = [
        crop.lo[0] + l[0] as i64,
        crop.lo[1] + l[1] as i64,
        crop.lo[2] + l[2] as i64,
    ];
    if (0..3).all(|d| g[d] >= 0 && g[d] < shape[d] as i64) {
        src[(g[0] as usize * shape[1] + g[1] as usize) * shape[2] + g[2] as usize].into()
    } else {
        0.0
    }
}

/// [`trilinear`] of the zero-padded crop `crop` of `src` (a volume of `shape`), without
/// materialising the crop: identical values, memory of the output only.
pub fn trilinear_crop(src: &[f32], shape: Shape, crop: &BBox, out_shape: Shape) -> Vec<f32> {
    let in_shape = crop.shape();
    let t0 = linear_table(in_shape[0], out_shape[0]);
    let t1 = linear_table(in_shape[1], out_shape[1]);
    let t2 = linear_table(in_shape[2], out_shape[2]);
    let v = |a: usize, b: usize, c: usize| crop_value(src, shape, crop, [a, b, c]);
    let mut out = Vec::with_capacity(out_shape.iter().product());
    for &(i0, d0, a0, b0) in &t0 {
        for &(i1, d1, a1, b1) in &t1 {
            for &(i2, d2, a2, b2) in &t2 {
                let lerp2 = |p: usize, q: usize| v(p, q, i2).mul_add(a2, v(p, q, i2 + d2) * b2);
                let lerp1 = |p: usize| lerp2(p, i1).mul_add(a1, lerp2(p, i1 + d1) * b1);
                out.push(lerp1(i0).mul_add(a0, lerp1(i0 + d0) * b0));
            }
        }
    }
    out
}

/// [`nearest`] of the zero-padded crop `crop` of a u8 volume `src`, without materialising it.
pub fn nearest_crop_u8(src: &[u8], shape: Shape, crop: &BBox, out_shape: Shape) -> Vec<f32> {
    nearest_by(crop.shape(), out_shape, |a, b, c| {
        crop_value(src, shape, crop, [a, b, c])
    })
}

/// [`area_to_f16`] of a volume of `in_shape` that is zero outside `sub` (a box inside it), given
/// only `data`, the C-order values over `sub`. Identical results: the float16 running sum of a
/// window is unchanged by adding zeros, so only the part of each window inside `sub` is summed;
/// the divisors remain the full window sizes. Cost is proportional to `sub`, not to the volume.
pub fn area_to_f16_sparse(data: &[f32], sub: &BBox, in_shape: Shape, out_shape: Shape) -> Vec<f32> {
    use half::f16;
    let ss = sub.shape();
    let win = |d: usize| -> Vec<(usize, usize, usize, usize)> {
        (0..out_shape[d])
            .map(|o| {
                let (i, n) = (in_shape[d], out_shape[d]);
                let (s, e) = ((o * i) / n, ((o + 1) * i).div_ceil(n));
                let cs = (s as i64).max(sub.lo[d]) - sub.lo[d];
                let ce = (e as i64).min(sub.hi[d]) - sub.lo[d];
                (
                    e - s,
                    cs.max(0) as usize,
                    ce.max(0) as usize,
                    usize::from(ce > cs),
                )
            })
            .collect()
    };
    let (w0, w1, w2) = (win(0), win(1), win(2));
    let div = |a: f16, k: usize| f16::from_f32(a.to_f32() / k as f32);
    let mut out = vec![0f32; out_shape.iter().product()];
    for (o0, &(k0, s0, e0, h0)) in w0.iter().enumerate() {
        if h0 == 0 {
            continue;
        }
        for (o1, &(k1, s1, e1, h1)) in w1.iter().enumerate() {
            if h1 == 0 {
                continue;
            }
            for (o2, &(k2, s2, e2, h2)) in w2.iter().enumerate() {
                if h2 == 0 {
                    continue;
                }
                let mut sum = f16::ZERO;
                for i0 in s0..e0 {
                    for i1 in s1..e1 {
                        let row = (i0 * ss[1] + i1) * ss[2];
                        for v in &data[row + s2..row + e2] {
                            sum = f16::from_f32(sum.to_f32() + *v);
                        }
                    }
                }
                out[(o0 * out_shape[1] + o1) * out_shape[2] + o2] =
                    div(div(div(sum, k0), k1), k2).to_f32();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_sizes_are_identity() {
        let src: Vec<f32> = (0..27).map(|v| v as f32).collect();
        assert_eq!(nearest(&src, [3, 3, 3], [3, 3, 3]), src);
        assert_eq!(trilinear(&src, [3, 3, 3], [3, 3, 3]), src);
        assert_eq!(area_to_f16(&src, [3, 3, 3], [3, 3, 3]), src);
    }

    #[test]
    fn area_halves() {
        let src: Vec<f32> = (0..8).map(|v| v as f32).collect();
        assert_eq!(area_to_f16(&src, [2, 2, 2], [1, 1, 1]), vec![3.5]);
    }

    #[test]
    fn window_filter_replicates_borders() {
        let mut d = vec![0.0, 0.0, 1.0, 0.0, 0.0];
        window_filter(&mut d, [1, 1, 5], 3, false);
        assert_eq!(d, vec![0.0, 1.0, 1.0, 1.0, 0.0]);
        window_filter(&mut d, [1, 1, 5], 3, true);
        assert_eq!(d, vec![0.0, 0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn crop_and_sparse_variants_equal_the_dense_ones() {
        let shape = [20, 18, 22];
        let src: Vec<f32> = (0..20 * 18 * 22)
            .map(|i| ((i * 7919) % 97) as f32 / 13.0)
            .collect();
        let crop = BBox::new([-5, 3, -7], [25, 30, 20]);
        let cs = crop.shape();
        let mut padded = vec![0f32; crop.voxels()];
        crate::geometry::copy_region_out(&src, shape, &crop, &mut padded);
        assert_eq!(
            trilinear_crop(&src, shape, &crop, [16, 16, 16]),
            trilinear(&padded, cs, [16, 16, 16])
        );
        let src_u8: Vec<u8> = src.iter().map(|&v| v as u8).collect();
        let mut padded_u8 = vec![0u8; crop.voxels()];
        crate::geometry::copy_region_out(&src_u8, shape, &crop, &mut padded_u8);
        let p32: Vec<f32> = padded_u8.iter().map(|&v| v as f32).collect();
        assert_eq!(
            nearest_crop_u8(&src_u8, shape, &crop, [16, 16, 16]),
            nearest(&p32, cs, [16, 16, 16])
        );
        // sparse area: zero the crop outside a sub-box, compare
        let sub = BBox::new([4, 2, 9], [17, 20, 15]);
        let mut zeroed = vec![0f32; crop.voxels()];
        let mut data = vec![0f32; sub.voxels()];
        crate::geometry::copy_region_out(&padded, cs, &sub, &mut data);
        crate::geometry::paste_region(&mut zeroed, cs, &sub, &data);
        let halves: Vec<f32> = zeroed
            .iter()
            .map(|&v| half::f16::from_f32(v).to_f32())
            .collect();
        let data_h: Vec<f32> = data
            .iter()
            .map(|&v| half::f16::from_f32(v).to_f32())
            .collect();
        assert_eq!(
            area_to_f16_sparse(&data_h, &sub, cs, [16, 16, 16]),
            area_to_f16(&halves, cs, [16, 16, 16])
        );
    }

    #[test]
    fn trilinear_upsample_midpoints() {
        let src = vec![0.0f32, 1.0];
        let out = trilinear(&src, [1, 1, 2], [1, 1, 4]);
        assert_eq!(out, vec![0.0, 0.25, 0.75, 1.0]);
    }
}
