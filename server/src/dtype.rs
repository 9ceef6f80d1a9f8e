//! Element types on the wire (numpy's names) and the conversions the endpoints need: an image to
//! the engine's voxel types, a prompt or initial mask to bytes, the mask back to the client's
//! target buffer type.

use std::borrow::Cow;

use nninteractive_engine::VoxelData;

/// A numpy element type, by the name the protocol writes (`numpy.dtype(...).name`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireDType {
    /// `bool`
    Bool,
    /// `int8`
    Int8,
    /// `uint8`
    Uint8,
    /// `int16`
    Int16,
    /// `uint16`
    Uint16,
    /// `int32`
    Int32,
    /// `uint32`
    Uint32,
    /// `int64`
    Int64,
    /// `uint64`
    Uint64,
    /// `float16`
    Float16,
    /// `float32`
    Float32,
    /// `float64`
    Float64,
}

const ALL: [WireDType; 12] = [
    WireDType::Bool,
    WireDType::Int8,
    WireDType::Uint8,
    WireDType::Int16,
    WireDType::Uint16,
    WireDType::Int32,
    WireDType::Uint32,
    WireDType::Int64,
    WireDType::Uint64,
    WireDType::Float16,
    WireDType::Float32,
    WireDType::Float64,
];

impl WireDType {
    /// The type named `name` (numpy's spelling), if the protocol carries it.
    pub fn from_name(name: &str) -> Option<Self> {
        ALL.into_iter().find(|t| t.name() == name)
    }

    /// numpy's name of the type.
    pub fn name(self) -> &'static str {
        match self {
            WireDType::Bool => "bool",
            WireDType::Int8 => "int8",
            WireDType::Uint8 => "uint8",
            WireDType::Int16 => "int16",
            WireDType::Uint16 => "uint16",
            WireDType::Int32 => "int32",
            WireDType::Uint32 => "uint32",
            WireDType::Int64 => "int64",
            WireDType::Uint64 => "uint64",
            WireDType::Float16 => "float16",
            WireDType::Float32 => "float32",
            WireDType::Float64 => "float64",
        }
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            WireDType::Bool | WireDType::Int8 | WireDType::Uint8 => 1,
            WireDType::Int16 | WireDType::Uint16 | WireDType::Float16 => 2,
            WireDType::Int32 | WireDType::Uint32 | WireDType::Float32 => 4,
            WireDType::Int64 | WireDType::Uint64 | WireDType::Float64 => 8,
        }
    }

    /// Whether a target buffer may have this type (the reference: bool or an integer type).
    pub fn is_label_type(self) -> bool {
        !matches!(
            self,
            WireDType::Float16 | WireDType::Float32 | WireDType::Float64
        )
    }
}

/// The image's voxels as the engine takes them, without a copy where the engine has the type
/// (uint8, int16, uint16, int32, float32, float64; bool as uint8) and converted otherwise (int8 to
/// int16, float16 to float32, 32- and 64-bit integers to float64: the engine converts every
/// image to float32).
pub enum Voxels<'a> {
    /// Borrowed from the wire buffer.
    U8(&'a [u8]),
    /// Borrowed or converted.
    I16(Cow<'a, [i16]>),
    /// Borrowed.
    U16(&'a [u16]),
    /// Borrowed.
    I32(&'a [i32]),
    /// Borrowed or converted.
    F32(Cow<'a, [f32]>),
    /// Converted.
    F64(Vec<f64>),
}

impl Voxels<'_> {
    /// The engine's view of them.
    pub fn as_voxel_data(&self) -> VoxelData<'_> {
        match self {
            Voxels::U8(d) => VoxelData::U8(d),
            Voxels::I16(d) => VoxelData::I16(d),
            Voxels::U16(d) => VoxelData::U16(d),
            Voxels::I32(d) => VoxelData::I32(d),
            Voxels::F32(d) => VoxelData::F32(d),
            Voxels::F64(d) => VoxelData::F64(d),
        }
    }
}

fn le<T: bytemuck::Pod>(bytes: &[u8]) -> &[T] {
    bytemuck::cast_slice(bytes)
}

/// View (or convert) `bytes` of `dtype` as image voxels. `bytes` must be aligned for the type
/// (the wire reader's buffers are 8-byte aligned).
pub fn voxels(dtype: WireDType, bytes: &[u8]) -> Voxels<'_> {
    match dtype {
        WireDType::Bool | WireDType::Uint8 => Voxels::U8(bytes),
        WireDType::Int8 => Voxels::I16(Cow::Owned(bytes.iter().map(|&b| b as i8 as i16).collect())),
        WireDType::Int16 => Voxels::I16(Cow::Borrowed(le(bytes))),
        WireDType::Uint16 => Voxels::U16(le(bytes)),
        WireDType::Int32 => Voxels::I32(le(bytes)),
        WireDType::Uint32 => Voxels::F64(le::<u32>(bytes).iter().map(|&v| v as f64).collect()),
        WireDType::Int64 => Voxels::F64(le::<i64>(bytes).iter().map(|&v| v as f64).collect()),
        WireDType::Uint64 => Voxels::F64(le::<u64>(bytes).iter().map(|&v| v as f64).collect()),
        WireDType::Float16 => Voxels::F32(Cow::Owned(
            le::<u16>(bytes)
                .iter()
                .map(|&v| half::f16::from_bits(v).to_f32())
                .collect(),
        )),
        WireDType::Float32 => Voxels::F32(Cow::Borrowed(le(bytes))),
        WireDType::Float64 => Voxels::F64(le::<f64>(bytes).to_vec()),
    }
}

/// A prompt or initial mask as the engine's bytes: each value must be a whole number in 0..=255
/// (the reference scales a prompt by its value; 0/1 masks are the rule).
pub fn mask_bytes(dtype: WireDType, bytes: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    fn whole<T: Copy>(
        data: &[T],
        to_f64: impl Fn(T) -> f64,
        dtype: WireDType,
    ) -> Result<Cow<'static, [u8]>, String> {
        let mut out = Vec::with_capacity(data.len());
        for (i, &v) in data.iter().enumerate() {
            let x = to_f64(v);
            if !(0.0..=255.0).contains(&x) || x.fract() != 0.0 {
                return Err(format!(
                    "mask value {x} at flat index {i} ({}) is not a whole number in 0..=255",
                    dtype.name()
                ));
            }
            out.push(x as u8);
        }
        Ok(Cow::Owned(out))
    }
    match dtype {
        WireDType::Bool | WireDType::Uint8 => Ok(Cow::Borrowed(bytes)),
        WireDType::Int8 => whole(bytes, |v: u8| v as i8 as f64, dtype),
        WireDType::Int16 => whole(le::<i16>(bytes), |v| v as f64, dtype),
        WireDType::Uint16 => whole(le::<u16>(bytes), |v| v as f64, dtype),
        WireDType::Int32 => whole(le::<i32>(bytes), |v| v as f64, dtype),
        WireDType::Uint32 => whole(le::<u32>(bytes), |v| v as f64, dtype),
        WireDType::Int64 => whole(le::<i64>(bytes), |v| v as f64, dtype),
        WireDType::Uint64 => whole(le::<u64>(bytes), |v| v as f64, dtype),
        WireDType::Float16 => whole(
            le::<u16>(bytes),
            |v| half::f16::from_bits(v).to_f64(),
            dtype,
        ),
        WireDType::Float32 => whole(le::<f32>(bytes), |v| v as f64, dtype),
        WireDType::Float64 => whole(le::<f64>(bytes), |v| v, dtype),
    }
}

/// Mask values (0..=255) as little-endian elements of the target buffer's type.
pub fn encode_mask(values: &[u8], dtype: WireDType) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * dtype.size());
    for &v in values {
        match dtype {
            WireDType::Bool => out.push((v != 0) as u8),
            WireDType::Int8 | WireDType::Uint8 => out.push(v),
            WireDType::Int16 | WireDType::Uint16 => {
                out.extend_from_slice(&(v as u16).to_le_bytes())
            }
            WireDType::Int32 | WireDType::Uint32 => {
                out.extend_from_slice(&(v as u32).to_le_bytes())
            }
            WireDType::Int64 | WireDType::Uint64 => {
                out.extend_from_slice(&(v as u64).to_le_bytes())
            }
            WireDType::Float16 => {
                out.extend_from_slice(&half::f16::from_f32(v as f32).to_bits().to_le_bytes())
            }
            WireDType::Float32 => out.extend_from_slice(&(v as f32).to_le_bytes()),
            WireDType::Float64 => out.extend_from_slice(&(v as f64).to_le_bytes()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for t in ALL {
            assert_eq!(WireDType::from_name(t.name()), Some(t));
        }
        assert_eq!(WireDType::from_name("complex64"), None);
        assert!(!WireDType::Float32.is_label_type());
        assert!(WireDType::Bool.is_label_type());
    }

    #[test]
    fn masks_must_be_whole_bytes() {
        let ok: Vec<u8> = [0i16, 1, 255]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let aligned: Vec<u16> = bytemuck::cast_slice(&ok).to_vec();
        assert_eq!(
            &*mask_bytes(WireDType::Int16, bytemuck::cast_slice(&aligned)).unwrap(),
            &[0, 1, 255]
        );
        let bad: Vec<f32> = vec![0.0, 0.5];
        let e = mask_bytes(WireDType::Float32, bytemuck::cast_slice(&bad)).unwrap_err();
        assert!(e.contains("0.5"), "{e}");
        let neg: Vec<i32> = vec![-1];
        assert!(mask_bytes(WireDType::Int32, bytemuck::cast_slice(&neg)).is_err());
    }

    #[test]
    fn encodes_target_types() {
        assert_eq!(encode_mask(&[0, 1], WireDType::Uint16), vec![0, 0, 1, 0]);
        assert_eq!(encode_mask(&[2], WireDType::Bool), vec![1]);
        assert_eq!(
            encode_mask(&[1], WireDType::Int64),
            vec![1, 0, 0, 0, 0, 0, 0, 0]
        );
    }
}
