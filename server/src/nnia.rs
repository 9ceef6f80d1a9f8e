//! The protocol's array format ("NNIA", version 1), read and written with c-blosc2:
//!
//! ```text
//! "NNIA" | version u8 = 1 | codec u8 (1 ZSTD, 2 LZ4) | ndim u8 | name length u8 | dtype name (ASCII)
//! | shape: ndim x i64 LE | chunk count u32 LE
//! | per chunk: uncompressed length u64 LE | compressed length u64 LE | one blosc2 chunk
//! ```
//!
//! Chunks hold at most 1 GiB uncompressed each, C order, little-endian. Reading checks every
//! length against the bytes present and the declared shape before it allocates or decompresses,
//! and refuses arrays above a byte limit, so a hostile body costs at most that limit.

use std::mem::MaybeUninit;

use crate::dtype::WireDType;

/// The four bytes every packed array starts with.
pub const MAGIC: &[u8; 4] = b"NNIA";
/// The format version written and accepted.
pub const VERSION: u8 = 1;
/// Largest uncompressed chunk written (c-blosc2 takes at most 2 GiB - 1 per call).
pub const CHUNK_BYTES: usize = 1 << 30;
/// Most dimensions accepted.
const MAX_NDIM: usize = 8;
/// Bytes of a blosc2 chunk's (extended) header: c-blosc2 reads that many before it checks the
/// buffer's length, so a shorter chunk is refused here first (a fuzzer finding).
const CHUNK_HEADER_BYTES: usize = 32;

/// A decoded array: its element type, shape and little-endian C-order bytes in an 8-byte aligned
/// buffer (so typed views need no copy).
pub struct WireArray {
    /// Element type.
    pub dtype: WireDType,
    /// Shape, C order.
    pub shape: Vec<usize>,
    storage: Vec<u64>,
    len: usize,
}

impl WireArray {
    /// The array's bytes.
    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice(&self.storage)[..self.len]
    }

    /// Number of elements.
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Why a body is not a readable array.
#[derive(Debug, thiserror::Error)]
pub enum NniaError {
    /// The bytes are not a well-formed array.
    #[error("malformed array: {0}")]
    Malformed(String),
    /// The array is larger than the server accepts.
    #[error("array too large: {0}")]
    TooLarge(String),
    /// The buffer for it could not be allocated.
    #[error("out of memory: {0}")]
    OutOfMemory(String),
}

fn malformed(msg: impl Into<String>) -> NniaError {
    NniaError::Malformed(msg.into())
}

/// A bounds-checked reader over the body.
struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], NniaError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| {
            malformed(format!(
                "truncated: {what} needs {n} bytes at offset {}, the body has {}",
                self.at,
                self.buf.len()
            ))
        })?;
        let s = &self.buf[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> Result<u8, NniaError> {
        Ok(self.take(1, what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32, NniaError> {
        Ok(u32::from_le_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self, what: &str) -> Result<u64, NniaError> {
        Ok(u64::from_le_bytes(
            self.take(8, what)?.try_into().expect("8 bytes"),
        ))
    }
}

/// Read a packed array, refusing one of more than `max_bytes` uncompressed bytes.
pub fn unpack(buf: &[u8], max_bytes: usize) -> Result<WireArray, NniaError> {
    let mut c = Cursor { buf, at: 0 };
    if buf.len() < 8 {
        return Err(malformed(format!(
            "{} bytes is too short for an array header",
            buf.len()
        )));
    }
    let magic = c.take(4, "magic")?;
    if magic != MAGIC {
        return Err(malformed(format!(
            "bad magic b\"{}\" (expected b\"NNIA\")",
            magic.escape_ascii()
        )));
    }
    let version = c.u8("version")?;
    if version != VERSION {
        return Err(malformed(format!(
            "unsupported wire version {version} (this server reads {VERSION})"
        )));
    }
    let codec = c.u8("codec")?;
    if codec != 1 && codec != 2 {
        return Err(malformed(format!(
            "unsupported codec id {codec} (1 = ZSTD, 2 = LZ4)"
        )));
    }
    let ndim = c.u8("ndim")? as usize;
    if ndim > MAX_NDIM {
        return Err(malformed(format!("{ndim} dimensions (at most {MAX_NDIM})")));
    }
    let name_len = c.u8("dtype name length")? as usize;
    let name = c.take(name_len, "dtype name")?;
    let name = std::str::from_utf8(name).map_err(|_| malformed("dtype name is not ASCII"))?;
    let dtype = WireDType::from_name(name)
        .ok_or_else(|| malformed(format!("unsupported dtype {name:?}")))?;
    let mut shape = Vec::with_capacity(ndim);
    for d in 0..ndim {
        let v = c.u64("shape")? as i64;
        if v < 0 {
            return Err(malformed(format!("axis {d} has negative size {v}")));
        }
        shape.push(v as usize);
    }
    let total = shape
        .iter()
        .try_fold(dtype.size(), |acc: usize, &d| acc.checked_mul(d))
        .filter(|&t| t <= max_bytes)
        .ok_or_else(|| {
            NniaError::TooLarge(format!(
                "shape {shape:?} of {} needs more than the server's limit of {max_bytes} bytes",
                dtype.name()
            ))
        })?;
    // First the chunk table, whole: every chunk's lengths, its blosc2 header and frame size
    // checked against the bytes present and the declared size, before anything is allocated (a
    // 45-byte body declaring 2^31 voxels and no chunks made the server reserve and zero 2 GiB).
    let nchunks = c.u32("chunk count")? as usize;
    let mut chunks: Vec<(&[u8], usize)> = Vec::new(); // grows with chunks present, not nchunks
    let mut declared = 0usize;
    for i in 0..nchunks {
        let ulen = c.u64("chunk length")?;
        let clen = c.u64("chunk length")?;
        let ulen = usize::try_from(ulen).map_err(|_| malformed("chunk length overflows"))?;
        let clen = usize::try_from(clen).map_err(|_| malformed("chunk length overflows"))?;
        if ulen > total - declared {
            return Err(malformed(format!(
                "chunk {i} holds {ulen} bytes, only {} remain of the declared {total}",
                total - declared
            )));
        }
        if ulen % dtype.size() != 0 {
            return Err(malformed(format!(
                "chunk {i} length {ulen} is not a multiple of the item size {}",
                dtype.size()
            )));
        }
        let src = c.take(clen, "chunk")?;
        if src.len() < CHUNK_HEADER_BYTES {
            return Err(malformed(format!(
                "chunk {i} has {} bytes, less than a blosc2 chunk header ({CHUNK_HEADER_BYTES})",
                src.len()
            )));
        }
        // c-blosc2 trusts the header's compressed size: a "repeated value" chunk whose header
        // claims more bytes than the chunk holds is read past its end (fuzz finding, session
        // 5). A chunk as blosc2 writes it is exactly its header's compressed size.
        let header_cbytes = u32::from_le_bytes([src[12], src[13], src[14], src[15]]) as usize;
        if header_cbytes != src.len() {
            return Err(malformed(format!(
                "chunk {i} has {} bytes, its blosc2 header says {header_cbytes}",
                src.len()
            )));
        }
        let frame_bytes = blosc2::chunk::Chunk::from_compressed(src.into())
            .map_err(|e| malformed(format!("chunk {i} is not a blosc2 chunk ({e:?})")))?
            .nbytes();
        if frame_bytes != ulen {
            return Err(malformed(format!(
                "chunk {i} size mismatch: header says {ulen} bytes, its blosc2 frame says {frame_bytes}"
            )));
        }
        declared += ulen;
        chunks.push((src, ulen));
    }
    if declared != total {
        return Err(malformed(format!(
            "payload size mismatch: the shape declares {total} bytes, the chunks hold {declared}"
        )));
    }

    let mut storage: Vec<u64> = Vec::new();
    let words = total.div_ceil(8);
    storage
        .try_reserve_exact(words)
        .map_err(|_| NniaError::OutOfMemory(format!("cannot allocate {total} bytes")))?;
    storage.resize(words, 0);
    let mut decoder = blosc2::chunk::Decoder::new(blosc2::DParams::default())
        .map_err(|e| malformed(format!("blosc2 decoder: {e:?}")))?;
    let mut written = 0usize;
    {
        let out: &mut [u8] = bytemuck::cast_slice_mut(&mut storage);
        for (i, &(src, ulen)) in chunks.iter().enumerate() {
            let dst = &mut out[written..written + ulen];
            // SAFETY: `u8` and `MaybeUninit<u8>` have the same layout, and every byte of `dst` is
            // initialised (zeroed above), so viewing it as possibly-uninitialised is sound; the
            // decoder only writes into it.
            let dst: &mut [MaybeUninit<u8>] =
                unsafe { std::slice::from_raw_parts_mut(dst.as_mut_ptr().cast(), dst.len()) };
            let n = decoder
                .decompress_into(src, dst)
                .map_err(|e| malformed(format!("chunk {i} does not decompress ({e:?})")))?;
            if n != ulen {
                return Err(malformed(format!(
                    "chunk {i} decompressed to {n} bytes, its header says {ulen}"
                )));
            }
            written += ulen;
        }
    }
    if written != total {
        return Err(malformed(format!(
            "payload size mismatch: expected {total} bytes, got {written}"
        )));
    }
    Ok(WireArray {
        dtype,
        shape,
        storage,
        len: total,
    })
}

/// Pack little-endian C-order `data` of `dtype` and `shape` (ZSTD, level 3, no filter: masks
/// compress best without one).
pub fn pack(dtype: WireDType, shape: &[usize], data: &[u8]) -> Result<Vec<u8>, NniaError> {
    debug_assert_eq!(
        shape.iter().product::<usize>() * dtype.size(),
        data.len(),
        "data matches its shape"
    );
    let name = dtype.name().as_bytes();
    let mut out = Vec::with_capacity(64 + data.len() / 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[VERSION, 1, shape.len() as u8, name.len() as u8]);
    out.extend_from_slice(name);
    for &d in shape {
        out.extend_from_slice(&(d as i64).to_le_bytes());
    }
    let chunks: Vec<&[u8]> = data.chunks(CHUNK_BYTES).collect();
    out.extend_from_slice(&(chunks.len() as u32).to_le_bytes());
    let mut params = blosc2::CParams::default();
    params
        .compressor(blosc2::CompressAlgo::Zstd)
        .clevel(3)
        .typesize(dtype.size())
        .and_then(|p| p.filters(&[]))
        .map_err(|e| malformed(format!("blosc2 parameters: {e:?}")))?;
    let mut encoder = blosc2::chunk::Encoder::new(params)
        .map_err(|e| malformed(format!("blosc2 encoder: {e:?}")))?;
    for chunk in chunks {
        let packed = encoder
            .compress(chunk)
            .map_err(|e| malformed(format!("blosc2 compression failed: {e:?}")))?;
        let bytes = packed.as_bytes();
        out.extend_from_slice(&(chunk.len() as u64).to_le_bytes());
        out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<usize>, Vec<u8>) {
        let shape = vec![3, 4, 5];
        let data: Vec<u8> = (0..60u16)
            .flat_map(|v| ((v / 7) as i16 - 3).to_le_bytes())
            .collect();
        (shape, data)
    }

    #[test]
    fn round_trip() {
        let (shape, data) = sample();
        let packed = pack(WireDType::Int16, &shape, &data).unwrap();
        let a = unpack(&packed, 1 << 20).unwrap();
        assert_eq!(a.dtype, WireDType::Int16);
        assert_eq!(a.shape, shape);
        assert_eq!(a.bytes(), &data[..]);
        let typed: &[i16] = bytemuck::cast_slice(a.bytes());
        assert_eq!(typed[59], 5);
    }

    #[test]
    fn empty_array_round_trips() {
        let packed = pack(WireDType::Uint8, &[0, 4], &[]).unwrap();
        let a = unpack(&packed, 16).unwrap();
        assert_eq!(a.shape, vec![0, 4]);
        assert!(a.bytes().is_empty());
    }

    fn err(buf: &[u8], max: usize) -> String {
        match unpack(buf, max) {
            Ok(_) => panic!("accepted a bad array"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_chunk_shorter_than_its_header_says_is_refused() {
        // The fuzz finding of session 5 (fuzz/corpus/nnia_arrays/crash-2bb5d6a6...): a
        // "repeated value" chunk whose header claims more bytes than it holds, which c-blosc2
        // read past its end.
        let crash = include_bytes!(
            "../../fuzz/corpus/nnia_arrays/crash-2bb5d6a6728fe3d950f84e8caaf52dc22ff9fe80"
        );
        let e = err(crash, 1 << 20);
        assert!(e.contains("its blosc2 header says"), "{e}");
        // And a good array (one chunk, at its end) whose chunk header claims 4 more bytes.
        let (shape, data) = sample();
        let good = pack(WireDType::Int16, &shape, &data).unwrap();
        let n = good.len();
        let clen = (32..n)
            .find(|&k| {
                let at = n - k + 12;
                u32::from_le_bytes([good[at], good[at + 1], good[at + 2], good[at + 3]]) as usize
                    == k
            })
            .expect("the chunk's header");
        let mut bad = good.clone();
        bad[n - clen + 12..n - clen + 16].copy_from_slice(&(clen as u32 + 4).to_le_bytes());
        let e = err(&bad, 1 << 20);
        assert!(e.contains("its blosc2 header says"), "{e}");
        assert!(unpack(&good, 1 << 20).is_ok());
    }

    #[test]
    fn refuses_bad_headers_and_payloads() {
        let (shape, data) = sample();
        let good = pack(WireDType::Int16, &shape, &data).unwrap();
        let mut bad = good.clone();
        bad[0] = b'X';
        assert!(err(&bad, 1 << 20).contains("bad magic"));
        let mut bad = good.clone();
        bad[4] = 2;
        assert!(err(&bad, 1 << 20).contains("wire version"));
        let mut bad = good.clone();
        bad[5] = 9;
        assert!(err(&bad, 1 << 20).contains("codec"));
        for cut in [3, 9, 20, good.len() - 1] {
            let e = err(&good[..cut], 1 << 20);
            assert!(e.contains("truncated") || e.contains("too short"), "{e}");
        }
        assert!(err(&good, 100).contains("too large"));
        // A shape that disagrees with the payload.
        let wrong = pack(WireDType::Int16, &[3, 4, 4], &data[..96]).unwrap();
        let at = 4 + 4 + "int16".len();
        let mut spliced = good.clone();
        spliced[at..at + 24].copy_from_slice(&wrong[at..at + 24]);
        assert!(err(&spliced, 1 << 20).contains("remain"));
    }

    #[test]
    fn refuses_a_chunk_claiming_a_huge_size() {
        let (shape, data) = sample();
        let good = pack(WireDType::Int16, &shape, &data).unwrap();
        let header = 4 + 4 + "int16".len() + 3 * 8 + 4;
        let mut bad = good.clone();
        bad[header..header + 8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        assert!(err(&bad, 1 << 20).contains("remain"));
        // A shape claiming terabytes is refused before anything is allocated.
        let mut huge = good.clone();
        let at = 4 + 4 + "int16".len();
        huge[at..at + 8].copy_from_slice(&(1i64 << 40).to_le_bytes());
        assert!(err(&huge, 1 << 30).contains("too large"));
        // A chunk shorter than a blosc2 header (c-blosc2 would read past it).
        let mut short = good[..header + 16].to_vec();
        short.extend_from_slice(&good[header + 16..header + 16 + 20]);
        short[header + 8..header + 16].copy_from_slice(&20u64.to_le_bytes());
        assert!(err(&short, 1 << 20).contains("header"));
        // A chunk whose blosc2 frame disagrees with its header.
        let mut lie = good.clone();
        lie[header..header + 8].copy_from_slice(&(100u64).to_le_bytes());
        assert!(err(&lie, 1 << 20).contains("mismatch"));
    }

    #[test]
    fn the_chunk_table_is_checked_before_anything_is_allocated() {
        // A header declaring 2^40 uint8 voxels (1 TiB, under the limit given here) and no chunks:
        // refused as malformed from the chunk table alone. Had the buffer been reserved first,
        // this would be "cannot allocate" (or, for 2 GiB, 2 GiB reserved and zeroed for a
        // 45-byte body).
        let mut body = Vec::new();
        body.extend_from_slice(MAGIC);
        body.extend_from_slice(&[VERSION, 1, 3, 5]);
        body.extend_from_slice(b"uint8");
        for d in [1u64 << 20, 1 << 10, 1 << 10] {
            body.extend_from_slice(&d.to_le_bytes());
        }
        body.extend_from_slice(&0u32.to_le_bytes());
        let e = err(&body, usize::MAX / 2);
        assert!(
            e.contains("declares 1099511627776 bytes, the chunks hold 0"),
            "{e}"
        );
        // A chunk count far above the chunks present costs nothing either.
        let n = body.len();
        body[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(err(&body, usize::MAX / 2).contains("truncated"));
    }
}
