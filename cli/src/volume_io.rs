//! Volume files for the `nni` tool and the tests: NumPy `.npy` and NIfTI `.nii`/`.nii.gz` in,
//! the mask out in the same format and geometry (the PNG preview is in [`crate::preview`]).
//!
//! Buffers are C-order over `(a0, a1, a2)` = `(k, j, i)`: for NIfTI that is its own voxel order
//! (x fastest); for `.npy` the array's axes are the reference's axes as they are.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use nninteractive_engine::error::{Error, Result};
use nninteractive_engine::geometry::{linear, Shape};
use nninteractive_engine::image::VoxelData;

/// Owned voxels of a loaded volume.
pub enum Voxels {
    /// unsigned 8-bit
    U8(Vec<u8>),
    /// signed 16-bit
    I16(Vec<i16>),
    /// unsigned 16-bit
    U16(Vec<u16>),
    /// signed 32-bit
    I32(Vec<i32>),
    /// 32-bit float
    F32(Vec<f32>),
    /// 64-bit float
    F64(Vec<f64>),
}

impl Voxels {
    /// Borrow as engine input.
    pub fn view(&self) -> VoxelData<'_> {
        match self {
            Voxels::U8(v) => VoxelData::U8(v),
            Voxels::I16(v) => VoxelData::I16(v),
            Voxels::U16(v) => VoxelData::U16(v),
            Voxels::I32(v) => VoxelData::I32(v),
            Voxels::F32(v) => VoxelData::F32(v),
            Voxels::F64(v) => VoxelData::F64(v),
        }
    }

    /// Values as f32 (for previews).
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Voxels::U8(v) => v.iter().map(|&x| x as f32).collect(),
            Voxels::I16(v) => v.iter().map(|&x| x as f32).collect(),
            Voxels::U16(v) => v.iter().map(|&x| x as f32).collect(),
            Voxels::I32(v) => v.iter().map(|&x| x as f32).collect(),
            Voxels::F32(v) => v.clone(),
            Voxels::F64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }
}

/// A loaded volume: voxels, shape `(a0, a1, a2)` and, for NIfTI, its header (kept for writing).
pub struct Volume {
    /// The voxels, C order.
    pub voxels: Voxels,
    /// Shape `(a0, a1, a2)`.
    pub shape: Shape,
    /// The NIfTI header the volume came with.
    pub nifti_header: Option<nifti::NiftiHeader>,
}

/// An I/O error about `path`, its message prefixed with the path.
pub(crate) fn io<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> Error + '_ {
    move |e| Error::Io(format!("{}: {e}", path.display()))
}

fn is_nifti(path: &Path) -> bool {
    let s = path.to_string_lossy().to_lowercase();
    s.ends_with(".nii") || s.ends_with(".nii.gz")
}

/// Read a `.npy` or `.nii`/`.nii.gz` volume. A corrupt file is an error, never a crash.
pub fn read_volume(path: &Path) -> Result<Volume> {
    if is_nifti(path) {
        read_nifti(path)
    } else {
        read_npy(path)
    }
}

/// Longest `.npy` header accepted (numpy writes about 128 bytes).
const NPY_MAX_HEADER: usize = 4096;

/// The `.npy` preamble, before npyz parses the header: magic, version, a header length within
/// [`NPY_MAX_HEADER`], ASCII text, brackets nested at most 3 deep (numpy writes a dict holding a
/// tuple: 2). npyz parses the header as a Python literal with a backtracking grammar that a few
/// hundred bytes of unclosed `{{{{` keep busy for minutes (found by fuzz/volume_files).
fn check_npy_preamble(path: &Path) -> Result<()> {
    use std::io::{Read, Seek};
    let mut head = [0u8; 12];
    let mut f = File::open(path).map_err(io(path))?;
    let n = f.read(&mut head).map_err(io(path))?;
    let bad = |why: &str| Error::Io(format!("{}: not a .npy file: {why}", path.display()));
    if n < 10 || &head[..6] != b"\x93NUMPY" {
        return Err(bad("no NUMPY magic"));
    }
    let len = match head[6] {
        1 => u16::from_le_bytes([head[8], head[9]]) as usize,
        2 | 3 if n >= 12 => u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize,
        v => return Err(bad(&format!("unknown format version {v}"))),
    };
    if len > NPY_MAX_HEADER {
        return Err(bad(&format!(
            "a header of {len} bytes (at most {NPY_MAX_HEADER} accepted)"
        )));
    }
    let start = if head[6] == 1 { 10 } else { 12 };
    let mut text = vec![0u8; len];
    f.seek(std::io::SeekFrom::Start(start)).map_err(io(path))?;
    f.read_exact(&mut text)
        .map_err(|_| bad("the header is cut short"))?;
    if !text.is_ascii() {
        return Err(bad("the header is not ASCII"));
    }
    let mut depth = 0i32;
    for &c in &text {
        match c {
            b'{' | b'(' | b'[' => depth += 1,
            b'}' | b')' | b']' => depth -= 1,
            _ => {}
        }
        if !(0..=3).contains(&depth) {
            return Err(bad(
                "the header's brackets are unbalanced or nested too deep",
            ));
        }
    }
    Ok(())
}

fn read_npy(path: &Path) -> Result<Volume> {
    check_npy_preamble(path)?;
    let f = File::open(path).map_err(io(path))?;
    let npy = npyz::NpyFile::new(BufReader::new(f)).map_err(io(path))?;
    if npy.order() != npyz::Order::C {
        return Err(Error::Io(format!(
            "{}: Fortran-order arrays are not supported",
            path.display()
        )));
    }
    let s = npy.shape().to_vec();
    if s.len() != 3 {
        return Err(Error::Io(format!(
            "{}: expected a 3D array, got shape {s:?}",
            path.display()
        )));
    }
    let shape = [s[0] as usize, s[1] as usize, s[2] as usize];
    let descr = npy.dtype().descr().replace('\'', "");
    // The data must be in the file before the reader allocates what the header declares.
    let item = descr
        .trim_start_matches(['<', '>', '|', '='])
        .get(1..)
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(1);
    let declared = s
        .iter()
        .try_fold(item, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::Io(format!("{}: shape {s:?} overflows", path.display())))?;
    let file_len = std::fs::metadata(path).map_err(io(path))?.len();
    if declared > file_len {
        return Err(Error::Io(format!(
            "{}: corrupt .npy file: its header declares {declared} data bytes, the file has {file_len}",
            path.display()
        )));
    }
    let voxels = match descr.trim_start_matches(['<', '|', '=']) {
        "u1" | "b1" => Voxels::U8(npy.into_vec::<u8>().map_err(io(path))?),
        "i2" => Voxels::I16(npy.into_vec::<i16>().map_err(io(path))?),
        "u2" => Voxels::U16(npy.into_vec::<u16>().map_err(io(path))?),
        "i4" => Voxels::I32(npy.into_vec::<i32>().map_err(io(path))?),
        "f4" => Voxels::F32(npy.into_vec::<f32>().map_err(io(path))?),
        "f8" => Voxels::F64(npy.into_vec::<f64>().map_err(io(path))?),
        other => {
            return Err(Error::Io(format!(
                "{}: unsupported dtype {other}",
                path.display()
            )))
        }
    };
    Ok(Volume {
        voxels,
        shape,
        nifti_header: None,
    })
}

/// The data a NIfTI header declares (dims x element size) must be the data the file holds: the
/// nifti crate panics converting a volume where they disagree (found by fuzz/volume_files).
fn check_nifti_data_size(vol: &nifti::InMemNiftiVolume, path: &Path) -> Result<()> {
    use nifti::NiftiVolume;
    let elem = vol.data_type().size_of();
    let declared = vol
        .dim()
        .iter()
        .try_fold(elem, |acc, &d| acc.checked_mul(d as usize));
    if declared != Some(vol.raw_data().len()) {
        return Err(Error::Io(format!(
            "{}: corrupt NIfTI file: its header declares dims {:?} of {elem}-byte voxels, its data holds {} bytes",
            path.display(),
            vol.dim(),
            vol.raw_data().len()
        )));
    }
    Ok(())
}

fn read_nifti(path: &Path) -> Result<Volume> {
    use nifti::{IntoNdArray, NiftiObject};
    crate::nifti_guard::check_declared_sizes(path)?;
    let obj = nifti::ReaderOptions::new()
        .read_file(path)
        .map_err(io(path))?;
    let header = obj.header().clone();
    check_nifti_data_size(obj.volume(), path)?;
    let arr = obj.into_volume().into_ndarray::<f32>().map_err(io(path))?;
    let d = arr.shape().to_vec();
    if d.len() < 3 || d[3..].iter().any(|&x| x != 1) {
        return Err(Error::Io(format!(
            "{}: expected a 3D volume, got dims {d:?}",
            path.display()
        )));
    }
    let (nx, ny, nz) = (d[0], d[1], d[2]);
    // NIfTI stores x fastest, which is our C order over (z, y, x): take the memory order directly
    // when the array is laid out that way, else index it.
    let out: Vec<f32> = match (arr.t().is_standard_layout(), arr.as_slice_memory_order()) {
        (true, Some(data)) => data.to_vec(),
        _ => {
            let mut out = Vec::with_capacity(nx * ny * nz);
            let mut idx = vec![0usize; d.len()];
            for z in 0..nz {
                for y in 0..ny {
                    for x in 0..nx {
                        idx[0] = x;
                        idx[1] = y;
                        idx[2] = z;
                        out.push(arr[ndarray::IxDyn(&idx)]);
                    }
                }
            }
            out
        }
    };
    Ok(Volume {
        voxels: Voxels::F32(out),
        shape: [nz, ny, nx],
        nifti_header: Some(header),
    })
}

/// Write a 0/1 mask in the input's format: `.npy` (uint8, C order) or NIfTI (uint8, with the
/// reference header's geometry).
pub fn write_mask(
    path: &Path,
    mask: &[u8],
    shape: Shape,
    like: Option<&nifti::NiftiHeader>,
) -> Result<()> {
    if is_nifti(path) {
        let arr = ndarray::Array3::from_shape_fn((shape[2], shape[1], shape[0]), |(x, y, z)| {
            mask[linear(shape, z, y, x)]
        });
        let mut opts = nifti::writer::WriterOptions::new(path);
        if let Some(h) = like {
            opts = opts.reference_header(h);
        }
        opts.write_nifti(&arr).map_err(io(path))
    } else {
        write_npy(path, mask, shape)
    }
}

/// Write a C-order `.npy` array of `shape`.
pub fn write_npy<T: npyz::AutoSerialize + Copy>(
    path: &Path,
    data: &[T],
    shape: Shape,
) -> Result<()> {
    use npyz::WriterBuilder;
    let f = File::create(path).map_err(io(path))?;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[shape[0] as u64, shape[1] as u64, shape[2] as u64])
        .writer(BufWriter::new(f))
        .begin_nd()
        .map_err(io(path))?;
    w.extend(data.iter().copied()).map_err(io(path))?;
    w.finish().map_err(io(path))
}
