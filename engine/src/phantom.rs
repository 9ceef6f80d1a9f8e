//! Synthetic phantoms with known objects, for the demo and the tests: bright ellipsoids on a
//! darker, noisy background, deterministic for a given seed.

use crate::geometry::{linear, Shape};

/// One ellipsoid: centre and radii in voxels (reference axes), and its intensity.
#[derive(Clone, Copy, Debug)]
pub struct Ellipsoid {
    /// Centre `(a0, a1, a2)`.
    pub center: [f64; 3],
    /// Radii along `(a0, a1, a2)`.
    pub radii: [f64; 3],
    /// Intensity inside.
    pub value: f64,
}

impl Ellipsoid {
    /// True if voxel `p` lies inside.
    pub fn contains(&self, p: [usize; 3]) -> bool {
        (0..3)
            .map(|d| ((p[d] as f64 - self.center[d]) / self.radii[d]).powi(2))
            .sum::<f64>()
            <= 1.0
    }
}

/// A phantom: int16 image and one label per object (0 = background, `n` = object `n - 1`).
pub struct Phantom {
    /// Shape `(a0, a1, a2)`.
    pub shape: Shape,
    /// Image voxels, C order.
    pub image: Vec<i16>,
    /// Object labels, C order.
    pub labels: Vec<u8>,
}

impl Phantom {
    /// Build a phantom: background `background` plus uniform noise of +-`noise`, objects drawn in
    /// order (later ones win), a zero border of `zero_border` voxels (like a scanner's field of view).
    pub fn new(
        shape: Shape,
        objects: &[Ellipsoid],
        background: f64,
        noise: f64,
        zero_border: usize,
        seed: u64,
    ) -> Self {
        let n = shape.iter().product();
        let mut image = vec![0i16; n];
        let mut labels = vec![0u8; n];
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407)
            | 1;
        for a0 in 0..shape[0] {
            for a1 in 0..shape[1] {
                for a2 in 0..shape[2] {
                    let i = linear(shape, a0, a1, a2);
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let u = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
                    let p = [a0, a1, a2];
                    let border =
                        (0..3).any(|d| p[d] < zero_border || p[d] + zero_border >= shape[d]);
                    if border {
                        continue;
                    }
                    let mut v = background;
                    for (k, o) in objects.iter().enumerate() {
                        if o.contains(p) {
                            v = o.value;
                            labels[i] = k as u8 + 1;
                        }
                    }
                    image[i] = (v + noise * u).round() as i16;
                }
            }
        }
        Phantom {
            shape,
            image,
            labels,
        }
    }

    /// 0/1 mask of object `k` (0-based).
    pub fn object_mask(&self, k: usize) -> Vec<u8> {
        self.labels
            .iter()
            .map(|&l| u8::from(l as usize == k + 1))
            .collect()
    }
}

/// Dice coefficient of two 0/1 masks (1.0 when both are empty).
pub fn dice(a: &[u8], b: &[u8]) -> f64 {
    let (mut inter, mut sa, mut sb) = (0u64, 0u64, 0u64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (x != 0, y != 0);
        inter += u64::from(x && y);
        sa += u64::from(x);
        sb += u64::from(y);
    }
    if sa + sb == 0 {
        1.0
    } else {
        2.0 * inter as f64 / (sa + sb) as f64
    }
}

/// The demo's phantom: 96^3 CT-like volume with a large ellipsoid (bigger than a 32^3 patch),
/// a sphere and a small nodule.
pub fn demo_phantom() -> Phantom {
    Phantom::new(
        [96, 96, 96],
        &[
            Ellipsoid {
                center: [48.0, 40.0, 44.0],
                radii: [26.0, 18.0, 22.0],
                value: 1000.0,
            },
            Ellipsoid {
                center: [40.0, 74.0, 72.0],
                radii: [9.0, 9.0, 9.0],
                value: 900.0,
            },
            Ellipsoid {
                center: [72.0, 72.0, 24.0],
                radii: [5.0, 5.0, 5.0],
                value: 1100.0,
            },
        ],
        100.0,
        30.0,
        2,
        7,
    )
}
