//! Prompt rasterisation values: the point ball (normalised distance transform of a ball) and the
//! float16 rounding rules of each prompt type (see docs/fidelity.md).

use half::f16;

/// The reference's point: skimage `ball(r)` (a (2r+1)^3 cube), its Euclidean distance transform
/// (distance of each ball voxel to the nearest non-ball voxel of the cube) divided by its maximum.
/// Values are f64, C order.
pub fn point_ball(radius: usize) -> Vec<f64> {
    let n = 2 * radius + 1;
    let r = radius as i64;
    let inside = |a: i64, b: i64, c: i64| (a - r).pow(2) + (b - r).pow(2) + (c - r).pow(2) <= r * r;
    let mut zeros = Vec::new();
    for a in 0..n as i64 {
        for b in 0..n as i64 {
            for c in 0..n as i64 {
                if !inside(a, b, c) {
                    zeros.push((a, b, c));
                }
            }
        }
    }
    let mut out = vec![0.0f64; n * n * n];
    for a in 0..n as i64 {
        for b in 0..n as i64 {
            for c in 0..n as i64 {
                if inside(a, b, c) {
                    let d2 = zeros
                        .iter()
                        .map(|&(x, y, z)| (x - a).pow(2) + (y - b).pow(2) + (z - c).pow(2))
                        .min()
                        .unwrap_or(0);
                    out[((a as usize) * n + b as usize) * n + c as usize] = (d2 as f64).sqrt();
                }
            }
        }
    }
    let max = out.iter().cloned().fold(0.0, f64::max);
    if max > 0.0 {
        out.iter_mut().for_each(|v| *v /= max);
    }
    out
}

/// Images above this many voxels make the reference keep its prompt channels in blosc2 (numpy
/// arithmetic) instead of a dense torch tensor (`AUTO_TENSOR_MAX_VOXELS`, 2^27).
pub const BLOSC2_MIN_VOXELS: usize = 1 << 27;

/// A float64 value stored into a float16 prompt channel the way the reference does: PyTorch (dense
/// storage) rounds through float32, numpy (blosc2 storage, `large_image`) rounds directly.
#[inline]
pub fn store_f64_as_f16(v: f64, large_image: bool) -> f16 {
    if large_image {
        f64_to_f16_nearest(v)
    } else {
        f16::from_f32(v as f32)
    }
}

/// float64 to float16 with one rounding (nearest, ties to even), as numpy does. (Going through
/// float32 can round twice; `half`'s own conversion does that too.) The float32 route's result is
/// at most one float16 step away, so the nearest of it and its neighbours is the answer; float16
/// values are exact in float64, so the comparison is exact.
pub fn f64_to_f16_nearest(v: f64) -> f16 {
    let a = f16::from_f32(v as f32);
    if !v.is_finite() || !a.is_finite() {
        return a;
    }
    let step = |x: f16, up: bool| -> f16 {
        // neighbour in the total order of finite float16 values
        let bits = x.to_bits();
        let towards_larger_magnitude = (x.to_f64() >= 0.0) == up;
        let mag = bits & 0x7fff;
        let sign = bits & 0x8000;
        if mag == 0 {
            return f16::from_bits(if up { 0x0001 } else { 0x8001 });
        }
        f16::from_bits(
            sign | if towards_larger_magnitude {
                mag + 1
            } else {
                mag - 1
            },
        )
    };
    let mut best = a;
    for c in [step(a, false), step(a, true)] {
        if !c.is_finite() {
            continue;
        }
        let (dc, db) = ((c.to_f64() - v).abs(), (best.to_f64() - v).abs());
        if dc < db || (dc == db && c.to_bits() & 1 == 0 && best.to_bits() & 1 == 1) {
            best = c;
        }
    }
    best
}

/// The renormalisation factor as the reference applies it: float32 for dense storage, float16
/// (a numpy scalar on a float16 array) for blosc2 storage.
#[inline]
pub fn renorm_scale(scale: f64, large_image: bool) -> f32 {
    if large_image {
        f64_to_f16_nearest(scale).to_f32()
    } else {
        scale as f32
    }
}

/// The value a scribble or lasso mask voxel `m` is written with (numpy: the mask cast to float16,
/// then multiplied in place by the intensity, itself rounded to float16).
#[inline]
pub fn mask_value(m: u8, intensity: f64) -> f16 {
    let v = f16::from_f32(m as f32);
    if intensity == 1.0 {
        v
    } else {
        f16::from_f32(v.to_f32() * f16::from_f64(intensity).to_f32())
    }
}

/// A stored interaction value as the network sees it: divided by the current intensity in
/// float32, rounded to float16 (`_normalize_interaction_channels_for_network_`).
#[inline]
pub fn normalise(v: f16, intensity: f64) -> f32 {
    if intensity == 1.0 || intensity == 0.0 {
        v.to_f32()
    } else {
        f16::from_f32(v.to_f32() / intensity as f32).to_f32()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_blosc2_rounding_differ_on_double_rounding() {
        // just above a float16 midpoint: float32 loses the excess and then ties to even
        let v = 1.0 + 2f64.powi(-11) + 2f64.powi(-40);
        assert_eq!(store_f64_as_f16(v, false), f16::ONE);
        assert_eq!(
            store_f64_as_f16(v, true),
            f16::from_f32(1.0 + 2f32.powi(-10))
        );
    }

    #[test]
    fn ball_of_radius_four() {
        let b = point_ball(4);
        assert_eq!(b.len(), 729);
        assert_eq!(b[(4 * 9 + 4) * 9 + 4], 1.0); // centre
        assert_eq!(b[0], 0.0); // corner
        assert_eq!(b[(4 * 9 + 4) * 9], 1.0 / 17f64.sqrt()); // tip: distance 1, centre sqrt(17)
        let count = b.iter().filter(|&&v| v > 0.0).count();
        assert_eq!(count, 257); // voxels of skimage ball(4)
    }
}
