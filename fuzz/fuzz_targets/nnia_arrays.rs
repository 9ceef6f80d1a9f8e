//! Request bodies of `nni serve`: arbitrary bytes as an NNIA array (the protocol's blosc2-chunked
//! format) must be read or refused with an error, never a panic, and never allocate beyond the
//! limit; what is read must survive the conversions the endpoints make and pack back to the same
//! array.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nninteractive_server::{dtype, nnia};

/// The largest array accepted here (the server's limit is a quarter of RAM).
const LIMIT: usize = 1 << 22;

fuzz_target!(|data: &[u8]| {
    let Ok(array) = nnia::unpack(data, LIMIT) else {
        return;
    };
    assert!(array.bytes().len() <= LIMIT);
    assert_eq!(array.bytes().len(), array.elements() * array.dtype.size());
    let _ = dtype::voxels(array.dtype, array.bytes());
    if let Ok(mask) = dtype::mask_bytes(array.dtype, array.bytes()) {
        assert_eq!(mask.len(), array.elements());
        let back = dtype::encode_mask(&mask, dtype::WireDType::Uint16);
        assert_eq!(back.len(), 2 * mask.len());
    }
    let packed = nnia::pack(array.dtype, &array.shape, array.bytes()).expect("pack");
    let again = nnia::unpack(&packed, LIMIT).expect("a packed array reads back");
    assert_eq!(again.shape, array.shape);
    assert_eq!(again.bytes(), array.bytes());
});
