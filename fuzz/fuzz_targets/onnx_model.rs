//! Model files as a hostile host or a corrupt download hands them over: the ONNX metadata reader
//! and the metadata's JSON validation take arbitrary bytes and must answer with an error, never a
//! panic, a hang or an allocation the bytes do not justify.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nninteractive_engine::metadata::{ModelMetadata, METADATA_KEY};
use nninteractive_engine::onnx_file::metadata_prop;

fuzz_target!(|data: &[u8]| {
    let _ = metadata_prop(data, METADATA_KEY, "fuzz");
    if let Ok(meta) = ModelMetadata::from_onnx(data, "fuzz") {
        // Whatever passes validation is sane enough to size buffers from.
        let voxels: usize = meta.patch_size.iter().product();
        assert!(voxels * (1 + meta.num_interaction_channels) * 4 <= 4 << 30);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ModelMetadata::from_json(text);
    }
});
