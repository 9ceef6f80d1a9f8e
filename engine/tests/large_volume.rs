//! A 512 x 512 x 1000 volume (262 M voxels, int16) works within the memory budget: one float32
//! image copy, the 1-byte mask and compact prompt state; a click costs region-sized memory.
//! Its own test binary, so the process's peak memory is this test's alone.

use nninteractive_engine::{Device, VoxelData};

fn peak_rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

#[test]
fn full_size_ct_fits_the_budget() {
    let shape = [1000usize, 512, 512];
    let n: usize = shape.iter().product();
    let mut img = vec![0i16; n];
    // a body with a bright sphere at (500, 256, 256), radius 12
    for a0 in 0..shape[0] {
        for a1 in 16..shape[1] - 16 {
            let row = (a0 * shape[1] + a1) * shape[2];
            for a2 in 16..shape[2] - 16 {
                let d2 =
                    (a0 as i64 - 500).pow(2) + (a1 as i64 - 256).pow(2) + (a2 as i64 - 256).pow(2);
                img[row + a2] = if d2 <= 144 {
                    1200
                } else {
                    40 + ((a0 + a1 + a2) % 4) as i16
                };
            }
        }
    }
    let input_bytes = (n * 2) as u64;
    nninteractive_engine::init_runtime(None).unwrap();
    let mut s = nninteractive_engine::open_session(
        std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/blob-grow-p32.onnx"
        )),
        Device::Cpu,
        1,
    )
    .unwrap();
    s.set_image(VoxelData::I16(&img), shape).unwrap();
    let changed = s
        .add_point([500.0, 256.0, 256.0], true, true)
        .unwrap()
        .unwrap();
    let mask = s.mask().unwrap();
    let fg = mask.iter().filter(|&&v| v != 0).count();
    assert!(
        (7000..7500).contains(&fg),
        "sphere of radius 12 has ~7238 voxels, got {fg}"
    );
    assert!(
        changed.voxels() <= 32 * 32 * 32,
        "the changed region is one patch: {changed:?}"
    );
    // budget: caller's input + float32 image (4 B) + mask (1 B) + small change
    let budget = input_bytes + (n as u64) * 5 + 512 * 1024 * 1024;
    let peak = peak_rss_bytes();
    assert!(
        peak < budget,
        "peak {} MiB over budget {} MiB",
        peak >> 20,
        budget >> 20
    );
    assert!(
        s.prompt_state_bytes() < 1 << 20,
        "prompt state {} bytes",
        s.prompt_state_bytes()
    );
}
