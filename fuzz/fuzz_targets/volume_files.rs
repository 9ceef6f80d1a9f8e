//! Input files of the `nni` tool: arbitrary bytes as a NumPy `.npy`, a NIfTI `.nii` and a
//! gzipped `.nii.gz` file must be read or refused with an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("nni-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    for name in ["in.npy", "in.nii", "in.nii.gz"] {
        let path = dir.join(name);
        if std::fs::write(&path, data).is_ok() {
            let _ = nni::volume_io::read_volume(&path);
        }
    }
});
