//! Checks a NIfTI file against its own header before the `nifti` crate reads it.
//!
//! The crate reserves whatever a header declares before it reads a byte: the volume (dims x
//! `bitpix / 8`, with a negative `bitpix` cast to an enormous size) and each extension (`esize`).
//! A corrupt or hostile header of a few hundred bytes would make it reserve gigabytes (found by
//! `fuzz/volume_files`). Here the same sizes are computed as the crate computes them and compared
//! with what the file can hold, so such a file is refused with an error that names the field.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use nifti::{Endianness, NiftiHeader};
use nninteractive_engine::error::{Error, Result};

use crate::volume_io::io;

/// Size of a NIfTI-1 header; the extender's 4 bytes follow it.
const HEADER_BYTES: u64 = 348;
/// Where a single-file NIfTI-1 (`n+1`) file's extensions start, after the header and extender.
const EXTENSIONS_START: u64 = HEADER_BYTES + 4;
/// Deflate's largest expansion: one compressed byte never yields more than 1032 bytes, so a
/// gzip file of `n` bytes holds at most about `1032 n` (gzip's own header is not counted, which
/// only makes the bound looser).
const DEFLATE_MAX_RATIO: u64 = 1032;

/// Refuse a `.nii`/`.nii.gz` file whose header declares more data than the file holds: a
/// `bitpix` that disagrees with its `datatype`, an extension larger than what follows it, or a
/// volume larger than the rest of the file. What passes can be read without reserving more than
/// the file can fill.
pub fn check_declared_sizes(path: &Path) -> Result<()> {
    let corrupt = |why: String| Error::Io(format!("{}: corrupt NIfTI file: {why}", path.display()));
    let header = NiftiHeader::from_file(path).map_err(io(path))?;
    if header.magic != *nifti::header::MAGIC_CODE_NIP1 {
        return Err(corrupt(
            "its header is not a single-file NIfTI-1 (`n+1`) header; a .hdr/.img pair is not read"
                .into(),
        ));
    }
    let dims = header
        .dim()
        .map_err(|e| corrupt(format!("dims {:?}: {e}", header.dim)))?;
    let datatype = header
        .data_type()
        .map_err(|e| corrupt(format!("datatype {}: {e}", header.datatype)))?;
    // The crate sizes the volume by `bitpix as usize / 8` and reads it by the datatype: they
    // must agree (a negative bitpix would otherwise declare about 2^61 bytes a voxel).
    if header.bitpix <= 0 || header.bitpix as usize / 8 != datatype.size_of() {
        return Err(corrupt(format!(
            "bitpix {} disagrees with datatype {datatype:?} ({} bytes a voxel)",
            header.bitpix,
            datatype.size_of()
        )));
    }
    let volume_bytes = dims
        .iter()
        .try_fold(datatype.size_of() as u64, |acc, &d| {
            acc.checked_mul(d as u64)
        })
        .ok_or_else(|| corrupt(format!("dims {dims:?} overflow")))?;

    let file_len = std::fs::metadata(path).map_err(io(path))?.len();
    // Decompressed where the crate decompresses: a file name ending in ".gz", case and all.
    let gz = path
        .file_name()
        .is_some_and(|name| name.to_string_lossy().ends_with(".gz"));
    let raw = BufReader::new(File::open(path).map_err(io(path))?);
    let mut stream: Box<dyn Read> = if gz {
        Box::new(flate2::read::GzDecoder::new(raw))
    } else {
        Box::new(raw)
    };
    let data_start = walk_extensions(&mut stream, &header, &corrupt)?;
    let need = data_start.saturating_add(volume_bytes);
    if !gz {
        if need > file_len {
            return Err(corrupt(format!(
                "its header declares {volume_bytes} data bytes from byte {data_start}, the file has {file_len} bytes"
            )));
        }
        return Ok(());
    }
    if need
        > file_len
            .saturating_mul(DEFLATE_MAX_RATIO)
            .saturating_add(HEADER_BYTES)
    {
        return Err(corrupt(format!(
            "its header declares {volume_bytes} data bytes, more than {file_len} gzip bytes can hold"
        )));
    }
    let trailer_size = gzip_trailer_size(path).map_err(io(path))?;
    if need <= trailer_size {
        return Ok(());
    }
    // The trailer holds the size modulo 2^32: past 4 GiB it is ambiguous, so count the stream.
    if need % (1u64 << 32) == trailer_size {
        let rest = need - data_start;
        if skip_up_to(&mut stream, rest).map_err(io(path))? == rest {
            return Ok(());
        }
    }
    Err(corrupt(format!(
        "its header declares {volume_bytes} data bytes, the gzip stream holds {trailer_size} bytes in all"
    )))
}

/// Read past the header and the extensions as the `nifti` crate does, refusing an extension that
/// declares more than the stream holds. Returns where the volume starts in the (decompressed)
/// stream: the crate reads it right after the last extension, whatever `vox_offset` says.
fn walk_extensions(
    stream: &mut dyn Read,
    header: &NiftiHeader,
    corrupt: &dyn Fn(String) -> Error,
) -> Result<u64> {
    let short = |what: &str| corrupt(format!("the file ends inside its {what}"));
    skip_up_to(stream, HEADER_BYTES).map_err(|_| short("header"))?;
    let mut extender = [0u8; 4];
    stream
        .read_exact(&mut extender)
        .map_err(|_| short("extender"))?;
    let mut position = EXTENSIONS_START;
    if extender[0] == 0 {
        return Ok(position);
    }
    let extensions_len = (header.vox_offset.max(0.0) as u64).saturating_sub(EXTENSIONS_START);
    while position - EXTENSIONS_START < extensions_len {
        let mut fields = [0u8; 8];
        stream
            .read_exact(&mut fields)
            .map_err(|_| short("extensions"))?;
        let esize = read_i32(
            [fields[0], fields[1], fields[2], fields[3]],
            header.endianness,
        );
        if esize < 8 {
            return Err(corrupt(format!(
                "an extension at byte {position} declares {esize} bytes, less than its own 8-byte fields"
            )));
        }
        let data = esize as u64 - 8;
        let held = skip_up_to(stream, data).map_err(|e| corrupt(e.to_string()))?;
        if held != data {
            return Err(corrupt(format!(
                "an extension at byte {position} declares {esize} bytes, the file holds {} more",
                held + 8
            )));
        }
        position += esize as u64;
    }
    Ok(position)
}

/// Read and drop up to `n` bytes; returns how many there were.
fn skip_up_to(stream: &mut dyn Read, n: u64) -> std::io::Result<u64> {
    std::io::copy(&mut stream.take(n), &mut std::io::sink())
}

fn read_i32(b: [u8; 4], endianness: Endianness) -> i32 {
    match endianness {
        Endianness::Little => i32::from_le_bytes(b),
        Endianness::Big => i32::from_be_bytes(b),
    }
}

/// A gzip file's last 4 bytes: the uncompressed size modulo 2^32.
fn gzip_trailer_size(path: &Path) -> std::io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(path)?;
    let mut trailer = [0u8; 4];
    f.seek(SeekFrom::End(-4))?;
    f.read_exact(&mut trailer)?;
    Ok(u32::from_le_bytes(trailer) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian NIfTI-1 header with the given fields, its extender and `tail`.
    fn nifti_bytes(
        bitpix: i16,
        datatype: i16,
        dims: [i16; 8],
        vox_offset: f32,
        extender: u8,
        tail: &[u8],
    ) -> Vec<u8> {
        let mut h = vec![0u8; 348];
        h[0..4].copy_from_slice(&348i32.to_le_bytes());
        for (i, d) in dims.iter().enumerate() {
            h[40 + 2 * i..42 + 2 * i].copy_from_slice(&d.to_le_bytes());
        }
        h[70..72].copy_from_slice(&datatype.to_le_bytes());
        h[72..74].copy_from_slice(&bitpix.to_le_bytes());
        for i in 0..8 {
            h[76 + 4 * i..80 + 4 * i].copy_from_slice(&1f32.to_le_bytes());
        }
        h[108..112].copy_from_slice(&vox_offset.to_le_bytes());
        h[112..116].copy_from_slice(&1f32.to_le_bytes());
        h[344..348].copy_from_slice(b"n+1\0");
        h.extend_from_slice(&[extender, 0, 0, 0]);
        h.extend_from_slice(tail);
        h
    }

    fn extension(esize: i32, data: usize) -> Vec<u8> {
        let mut e = esize.to_le_bytes().to_vec();
        e.extend_from_slice(&4i32.to_le_bytes());
        e.extend(std::iter::repeat_n(0u8, data));
        e
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    /// Writes `bytes` as `name` in a fresh folder and checks it.
    fn check(name: &str, bytes: &[u8]) -> Result<()> {
        let dir =
            std::env::temp_dir().join(format!("nni-nifti-guard-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let result = check_declared_sizes(&path);
        std::fs::remove_dir_all(&dir).ok();
        result
    }

    fn refusal(result: Result<()>) -> String {
        match result {
            Err(e) => e.to_string(),
            Ok(()) => panic!("a corrupt file passed"),
        }
    }

    const DIMS_2X3X4: [i16; 8] = [3, 2, 3, 4, 1, 1, 1, 1];

    #[test]
    fn a_consistent_file_passes_plain_and_gzipped() {
        let file = nifti_bytes(16, 4, DIMS_2X3X4, 352.0, 0, &[7u8; 48]);
        check("a.nii", &file).unwrap();
        check("a.nii.gz", &gzip(&file)).unwrap();
        let with_extension = [extension(16, 8), vec![7u8; 48]].concat();
        let file = nifti_bytes(16, 4, DIMS_2X3X4, 368.0, 1, &with_extension);
        check("e.nii", &file).unwrap();
        check("e.nii.gz", &gzip(&file)).unwrap();
        // The real reader accepts what passed.
        let dir = std::env::temp_dir().join(format!("nni-nifti-guard-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("e.nii");
        std::fs::write(&path, &file).unwrap();
        let volume = crate::volume_io::read_volume(&path).unwrap();
        assert_eq!(volume.shape, [4, 3, 2]);
        std::fs::remove_dir_all(&dir).ok();
    }

    /// The fuzzer's crash: bitpix -8 made the crate reserve 2^61 bytes a voxel.
    #[test]
    fn a_negative_bitpix_is_refused_before_any_reservation() {
        let file = nifti_bytes(-8, 2, [3, 2, 1, 1, 1, 1, 1, 1], 352.0, 0, &[0, 0]);
        for (name, bytes) in [("n.nii", file.clone()), ("n.nii.gz", gzip(&file))] {
            let msg = refusal(check(name, &bytes));
            assert!(msg.contains("bitpix -8 disagrees"), "{msg}");
        }
        let msg = refusal(check(
            "w.nii",
            &nifti_bytes(32, 4, DIMS_2X3X4, 352.0, 0, &[0; 96]),
        ));
        assert!(msg.contains("bitpix 32 disagrees"), "{msg}");
    }

    #[test]
    fn a_volume_larger_than_the_file_is_refused() {
        let file = nifti_bytes(16, 4, [3, 4096, 4096, 4096, 1, 1, 1, 1], 352.0, 0, &[0; 64]);
        let msg = refusal(check("v.nii", &file));
        assert!(msg.contains("the file has 416 bytes"), "{msg}");
        let msg = refusal(check("v.nii.gz", &gzip(&file)));
        assert!(msg.contains("more than"), "{msg}");
        // Within the deflate bound but not in the stream: the trailer tells.
        let file = nifti_bytes(16, 4, [3, 64, 64, 4, 1, 1, 1, 1], 352.0, 0, &[0; 64]);
        let msg = refusal(check("t.nii.gz", &gzip(&file)));
        assert!(msg.contains("the gzip stream holds 416 bytes"), "{msg}");
    }

    #[test]
    fn an_extension_larger_than_the_file_or_smaller_than_its_fields_is_refused() {
        let tail = [extension(0x7fff_fff0, 16), vec![0u8; 48]].concat();
        let file = nifti_bytes(16, 4, DIMS_2X3X4, 1000.0, 1, &tail);
        for name in ["x.nii", "x.nii.gz"] {
            let bytes = if name.ends_with(".gz") {
                gzip(&file)
            } else {
                file.clone()
            };
            let msg = refusal(check(name, &bytes));
            assert!(msg.contains("declares 2147483632 bytes"), "{msg}");
        }
        let tail = [extension(0, 0), extension(0, 0), vec![0u8; 48]].concat();
        let msg = refusal(check(
            "z.nii",
            &nifti_bytes(16, 4, DIMS_2X3X4, 1000.0, 1, &tail),
        ));
        assert!(msg.contains("less than its own 8-byte fields"), "{msg}");
        let tail = [extension(-8, 0), vec![0u8; 48]].concat();
        let msg = refusal(check(
            "m.nii",
            &nifti_bytes(16, 4, DIMS_2X3X4, 1000.0, 1, &tail),
        ));
        assert!(msg.contains("declares -8 bytes"), "{msg}");
    }

    #[test]
    fn a_header_pair_or_bad_dims_are_refused() {
        let mut file = nifti_bytes(16, 4, DIMS_2X3X4, 352.0, 0, &[0; 48]);
        file[344..348].copy_from_slice(b"ni1\0");
        assert!(refusal(check("p.nii", &file)).contains("not a single-file NIfTI-1"));
        let file = nifti_bytes(16, 4, [0, 2, 3, 4, 1, 1, 1, 1], 352.0, 0, &[0; 48]);
        assert!(refusal(check("d.nii", &file)).contains("dims"));
        let file = nifti_bytes(16, 4, [3, 2, 0, 4, 1, 1, 1, 1], 352.0, 0, &[0; 48]);
        assert!(refusal(check("d0.nii", &file)).contains("dims"));
    }
}
