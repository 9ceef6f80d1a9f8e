//! What the engine reads straight from an ONNX file's bytes, with no runtime loaded: the
//! `metadata_props` entries of the top-level `ModelProto` (field 14, each a
//! `StringStringEntryProto` with `key` = 1 and `value` = 2). Every other field, the graph and its
//! weights included, is skipped without being copied. Protobuf wire decoding is the `protobuf`
//! crate's; a truncated or malformed file is an error, never a panic.

use protobuf::rt::WireType;
use protobuf::CodedInputStream;

use crate::error::{Error, Result};

/// `ModelProto.metadata_props`.
const MODEL_METADATA_PROPS: u32 = 14;
/// `StringStringEntryProto.key`.
const ENTRY_KEY: u32 = 1;
/// `StringStringEntryProto.value`.
const ENTRY_VALUE: u32 = 2;

fn malformed(label: &str, e: impl std::fmt::Display) -> Error {
    Error::Model(format!("{label} is not a valid ONNX file: {e}"))
}

/// Split a raw tag into field number and wire type.
fn field(tag: u32, label: &str) -> Result<(u32, WireType)> {
    let wire = WireType::new(tag & 7)
        .ok_or_else(|| malformed(label, format!("unknown wire type {}", tag & 7)))?;
    Ok((tag >> 3, wire))
}

/// One `StringStringEntryProto`: (key, value), missing fields empty.
fn read_entry(bytes: &[u8], label: &str) -> Result<(String, String)> {
    let mut input = CodedInputStream::from_bytes(bytes);
    let (mut key, mut value) = (String::new(), String::new());
    while let Some(tag) = input
        .read_raw_tag_or_eof()
        .map_err(|e| malformed(label, e))?
    {
        match field(tag, label)? {
            (ENTRY_KEY, WireType::LengthDelimited) => {
                key = input.read_string().map_err(|e| malformed(label, e))?
            }
            (ENTRY_VALUE, WireType::LengthDelimited) => {
                value = input.read_string().map_err(|e| malformed(label, e))?
            }
            (_, wire) => input.skip_field(wire).map_err(|e| malformed(label, e))?,
        }
    }
    Ok((key, value))
}

/// The value of metadata entry `key` of the ONNX model in `bytes` (`label` names the file in
/// messages), or `None` when there is no such entry. The last entry wins, as in ONNX Runtime.
pub fn metadata_prop(bytes: &[u8], key: &str, label: &str) -> Result<Option<String>> {
    let mut input = CodedInputStream::from_bytes(bytes);
    let mut found = None;
    let mut fields = 0usize;
    while let Some(tag) = input
        .read_raw_tag_or_eof()
        .map_err(|e| malformed(label, e))?
    {
        fields += 1;
        match field(tag, label)? {
            (MODEL_METADATA_PROPS, WireType::LengthDelimited) => {
                let entry = input.read_bytes().map_err(|e| malformed(label, e))?;
                let (k, v) = read_entry(&entry, label)?;
                if k == key {
                    found = Some(v);
                }
            }
            (_, wire) => input.skip_field(wire).map_err(|e| malformed(label, e))?,
        }
    }
    if fields == 0 {
        return Err(malformed(label, "the file is empty"));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A length-delimited field: tag, varint length, bytes.
    fn ld(field: u32, data: &[u8]) -> Vec<u8> {
        let mut out = vec![((field << 3) | 2) as u8];
        let mut n = data.len();
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(b);
                break;
            }
            out.push(b | 0x80);
        }
        out.extend_from_slice(data);
        out
    }

    fn entry(k: &str, v: &str) -> Vec<u8> {
        ld(14, &[ld(1, k.as_bytes()), ld(2, v.as_bytes())].concat())
    }

    #[test]
    fn finds_the_entry_past_other_fields() {
        let model = [
            vec![0x08, 0x07],   // ir_version = 7 (varint)
            ld(7, &[0u8; 300]), // a "graph" to skip
            entry("other", "x"),
            entry("nninteractive.meta", "{\"a\": 1}"),
        ]
        .concat();
        assert_eq!(
            metadata_prop(&model, "nninteractive.meta", "m").unwrap(),
            Some("{\"a\": 1}".to_string())
        );
        assert_eq!(metadata_prop(&model, "missing", "m").unwrap(), None);
    }

    #[test]
    fn malformed_files_are_errors() {
        let good = entry("k", "v");
        for cut in 1..good.len() {
            assert!(
                metadata_prop(&good[..cut], "k", "m").is_err(),
                "cut at {cut}"
            );
        }
        assert!(metadata_prop(b"", "k", "m").is_err());
        assert!(metadata_prop(&[0x0f], "k", "m").is_err(), "wire type 7");
        // a length far past the end
        assert!(metadata_prop(&[0x72, 0xff, 0xff, 0xff, 0x0f], "k", "m").is_err());
    }
}
