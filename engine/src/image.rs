//! Image preprocessing: dtype conversion, z-score statistics over the nonzero bounding box,
//! normalisation of the whole image (the reference's `_background_set_image`).

use crate::error::{Error, Result};
use crate::geometry::{linear, BBox, Shape};

/// Voxel types accepted by `set_image`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DType {
    /// unsigned 8-bit
    U8,
    /// signed 16-bit (CT)
    I16,
    /// unsigned 16-bit
    U16,
    /// signed 32-bit
    I32,
    /// 32-bit float
    F32,
    /// 64-bit float
    F64,
}

impl DType {
    /// Bytes per voxel.
    pub fn size(self) -> usize {
        match self {
            DType::U8 => 1,
            DType::I16 | DType::U16 => 2,
            DType::I32 | DType::F32 => 4,
            DType::F64 => 8,
        }
    }
}

/// A borrowed, typed voxel buffer in C order (a2 fastest).
#[derive(Clone, Copy, Debug)]
pub enum VoxelData<'a> {
    /// unsigned 8-bit voxels
    U8(&'a [u8]),
    /// signed 16-bit voxels
    I16(&'a [i16]),
    /// unsigned 16-bit voxels
    U16(&'a [u16]),
    /// signed 32-bit voxels
    I32(&'a [i32]),
    /// 32-bit float voxels
    F32(&'a [f32]),
    /// 64-bit float voxels
    F64(&'a [f64]),
}

impl VoxelData<'_> {
    /// Number of voxels.
    pub fn len(&self) -> usize {
        match self {
            VoxelData::U8(d) => d.len(),
            VoxelData::I16(d) => d.len(),
            VoxelData::U16(d) => d.len(),
            VoxelData::I32(d) => d.len(),
            VoxelData::F32(d) => d.len(),
            VoxelData::F64(d) => d.len(),
        }
    }

    /// True for an empty buffer.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn to_f32(self) -> Result<Vec<f32>> {
        let n = self.len();
        let mut out: Vec<f32> = Vec::new();
        out.try_reserve_exact(n).map_err(|_| {
            Error::OutOfMemory(format!("cannot allocate the float32 image ({n} voxels)"))
        })?;
        match self {
            VoxelData::U8(d) => out.extend(d.iter().map(|&v| v as f32)),
            VoxelData::I16(d) => out.extend(d.iter().map(|&v| v as f32)),
            VoxelData::U16(d) => out.extend(d.iter().map(|&v| v as f32)),
            VoxelData::I32(d) => out.extend(d.iter().map(|&v| v as f32)),
            VoxelData::F32(d) => out.extend_from_slice(d),
            VoxelData::F64(d) => out.extend(d.iter().map(|&v| v as f32)),
        }
        Ok(out)
    }
}

/// The preprocessed image: float32, z-scored with statistics from the nonzero bounding box.
pub struct PreprocessedImage {
    /// Spatial shape, reference axes.
    pub shape: Shape,
    /// Normalised voxels, C order.
    pub data: Vec<f32>,
    /// Mean used for normalisation (float32, as the reference rounds it).
    pub mean: f32,
    /// Standard deviation used for normalisation (float32, unbiased).
    pub std: f32,
    /// Bounding box of the nonzero voxels the statistics were taken over.
    pub nonzero_bbox: BBox,
    /// SHA-256 of `data`, computed on first use (prompt logs).
    sha256: std::sync::OnceLock<String>,
}

impl PreprocessedImage {
    /// Convert, validate and normalise. Errors: wrong length, NaN/inf voxels, all-zero image,
    /// zero standard deviation.
    pub fn new(voxels: VoxelData<'_>, shape: Shape) -> Result<Self> {
        let n = shape.iter().try_fold(1usize, |acc, &s| acc.checked_mul(s));
        let n =
            n.ok_or_else(|| Error::InvalidArgument(format!("image shape {shape:?} overflows")))?;
        if shape.contains(&0) {
            return Err(Error::InvalidArgument(format!(
                "image shape {shape:?} has an empty axis"
            )));
        }
        if voxels.len() != n {
            return Err(Error::BufferSize(format!(
                "image buffer holds {} voxels, dims say {n}",
                voxels.len()
            )));
        }
        let mut data = voxels.to_f32()?;
        if let Some(pos) = data.iter().position(|v| !v.is_finite()) {
            let ijk = [
                pos % shape[2],
                (pos / shape[2]) % shape[1],
                pos / (shape[1] * shape[2]),
            ];
            let what = match voxels {
                VoxelData::F32(d) if d[pos].is_nan() => "is NaN".to_string(),
                VoxelData::F64(d) if d[pos].is_nan() => "is NaN".to_string(),
                VoxelData::F64(d) if d[pos].is_finite() => format!(
                    "is {:e}, outside the float32 range the network computes in",
                    d[pos]
                ),
                _ => "is infinite".to_string(),
            };
            return Err(Error::InvalidArgument(format!(
                "image voxel ({}, {}, {}) {what}",
                ijk[0], ijk[1], ijk[2]
            )));
        }
        let bbox =
            crate::geometry::nonzero_bbox(&data, shape, |v: f32| v != 0.0).ok_or_else(|| {
                Error::InvalidArgument(
                    "image is entirely zero; cannot determine normalisation statistics".into(),
                )
            })?;
        let (mean, std) = region_mean_std(&data, shape, &bbox);
        if std.is_nan() || std <= 0.0 || !std.is_finite() {
            return Err(Error::InvalidArgument(
                "image is constant over its nonzero region (zero standard deviation): it cannot be normalised (the reference would divide by zero)".into(),
            ));
        }
        for v in data.iter_mut() {
            *v = (*v - mean) / std;
        }
        Ok(PreprocessedImage {
            shape,
            data,
            mean,
            std,
            nonzero_bbox: bbox,
            sha256: std::sync::OnceLock::new(),
        })
    }
}

impl PreprocessedImage {
    /// SHA-256 (hex) of the normalised voxels as float32 little-endian, C order; computed once.
    pub fn sha256(&self) -> &str {
        self.sha256
            .get_or_init(|| crate::session::log::float32_sha256(&self.data))
    }
}

/// Mean (float32-rounded) and unbiased standard deviation (accumulated in f64 around that
/// float32 mean, then rounded) over `bbox`. See docs/fidelity.md for the summation order.
fn region_mean_std(data: &[f32], shape: Shape, bbox: &BBox) -> (f32, f32) {
    let count = bbox.voxels() as f64;
    let mut sum = 0.0f64;
    for_rows(data, shape, bbox, |row| {
        sum += row.iter().map(|&v| v as f64).sum::<f64>()
    });
    let mean = (sum / count) as f32;
    let m = mean as f64;
    let mut ss = 0.0f64;
    for_rows(data, shape, bbox, |row| {
        ss += row
            .iter()
            .map(|&v| (v as f64 - m) * (v as f64 - m))
            .sum::<f64>()
    });
    let denom = if count > 1.0 { count - 1.0 } else { f64::NAN };
    (mean, (ss / denom).sqrt() as f32)
}

/// Call `f` on every a2-row of `bbox` (inside the image).
fn for_rows(data: &[f32], shape: Shape, bbox: &BBox, mut f: impl FnMut(&[f32])) {
    let s = bbox.shape();
    for a0 in 0..s[0] {
        for a1 in 0..s[1] {
            let start = linear(
                shape,
                bbox.lo[0] as usize + a0,
                bbox.lo[1] as usize + a1,
                bbox.lo[2] as usize,
            );
            f(&data[start..start + s[2]]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_over_nonzero_box() {
        // 1x2x4 volume: zeros on the border, values 2 and 4 inside
        let raw: Vec<i16> = vec![0, 2, 4, 0, 0, 4, 2, 0];
        let img = PreprocessedImage::new(VoxelData::I16(&raw), [1, 2, 4]).unwrap();
        assert_eq!(img.nonzero_bbox, BBox::new([0, 0, 1], [1, 2, 3]));
        assert_eq!(img.mean, 3.0);
        assert!((img.std - (4.0f32 / 3.0).sqrt()).abs() < 1e-6);
        assert_eq!(img.data[0], -3.0 / img.std);
    }

    #[test]
    fn rejects_bad_images() {
        assert!(PreprocessedImage::new(VoxelData::F32(&[0.0; 8]), [2, 2, 2]).is_err());
        assert!(
            PreprocessedImage::new(VoxelData::F32(&[1.0, f32::NAN, 0.0, 0.0]), [1, 2, 2]).is_err()
        );
        assert!(PreprocessedImage::new(VoxelData::F32(&[1.0; 3]), [1, 2, 2]).is_err());
    }
}
