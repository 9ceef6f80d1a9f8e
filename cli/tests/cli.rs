//! The `nni` tool end to end: a NIfTI phantom in, a NIfTI mask out with the same geometry, and a
//! PNG; `.npy` in and out; a bad prompt is a clear error with a non-zero exit.

use std::path::PathBuf;
use std::process::Command;

use nifti::{IntoNdArray, NiftiObject};
use nninteractive_engine::phantom::{dice, Ellipsoid, Phantom};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("nni-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn phantom() -> Phantom {
    Phantom::new(
        [40, 48, 56],
        &[Ellipsoid {
            center: [20.0, 24.0, 30.0],
            radii: [6.0, 7.0, 8.0],
            value: 1000.0,
        }],
        100.0,
        10.0,
        0,
        5,
    )
}

#[test]
fn nifti_in_nifti_out_same_geometry() {
    let dir = tmpdir("nifti");
    let ph = phantom();
    // NIfTI is x fastest: array (x, y, z) = (a2, a1, a0)
    let s = ph.shape;
    let arr = ndarray::Array3::from_shape_fn((s[2], s[1], s[0]), |(x, y, z)| {
        ph.image[(z * s[1] + y) * s[2] + x]
    });
    let header = nifti::NiftiHeader {
        pixdim: [1.0, 0.7, 0.8, 2.5, 1.0, 1.0, 1.0, 1.0],
        sform_code: 1,
        srow_x: [0.0, -0.8, 0.0, 10.0],
        srow_y: [0.7, 0.0, 0.0, -20.0],
        srow_z: [0.0, 0.0, 2.5, 30.0],
        ..Default::default()
    };
    let input = dir.join("ct.nii.gz");
    nifti::writer::WriterOptions::new(&input)
        .reference_header(&header)
        .write_nifti(&arr)
        .unwrap();
    let out = dir.join("mask.nii.gz");
    let png = dir.join("mask.png");
    let status = Command::new(env!("CARGO_BIN_EXE_nni"))
        .args([
            "segment",
            "--device",
            "cpu",
            "--model",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../models/blob-grow-p32.onnx"),
        ])
        .arg("--image")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .arg("--png")
        .arg(&png)
        .args(["--point", "30,24,20"])
        .status()
        .unwrap();
    assert!(status.success());
    let obj = nifti::ReaderOptions::new().read_file(&out).unwrap();
    let h = obj.header().clone();
    assert_eq!(&h.dim[..4], &[3, s[2] as u16, s[1] as u16, s[0] as u16]);
    assert_eq!(h.srow_x, header.srow_x);
    assert_eq!(h.srow_y, header.srow_y);
    assert_eq!(h.srow_z, header.srow_z);
    assert_eq!(&h.pixdim[1..4], &header.pixdim[1..4]);
    let m = obj.into_volume().into_ndarray::<u8>().unwrap();
    let mut mask = vec![0u8; ph.image.len()];
    for z in 0..s[0] {
        for y in 0..s[1] {
            for x in 0..s[2] {
                mask[(z * s[1] + y) * s[2] + x] = m[[x, y, z]];
            }
        }
    }
    let d = dice(&mask, &ph.object_mask(0));
    assert!(d >= 0.95, "dice {d}");
    assert!(std::fs::metadata(&png).unwrap().len() > 0);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn npy_in_npy_out_and_clear_errors() {
    let dir = tmpdir("npy");
    let ph = phantom();
    let input = dir.join("ct.npy");
    nni::volume_io::write_npy(&input, &ph.image, ph.shape).unwrap();
    let out = dir.join("mask.npy");
    let ok = Command::new(env!("CARGO_BIN_EXE_nni"))
        .args(["segment", "--device", "cpu"])
        .arg("--image")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .args(["--box", "20,16,20,41,33,21"])
        .status()
        .unwrap();
    assert!(ok.success());
    let vol = nni::volume_io::read_volume(&out).unwrap();
    assert_eq!(vol.shape, ph.shape);
    let mask: Vec<u8> = vol.voxels.to_f32().iter().map(|&v| v as u8).collect();
    assert!(dice(&mask, &ph.object_mask(0)) >= 0.95);
    let bad = Command::new(env!("CARGO_BIN_EXE_nni"))
        .args(["segment", "--device", "cpu"])
        .arg("--image")
        .arg(&input)
        .arg("--out")
        .arg(dir.join("x.npy"))
        .args(["--point", "500,1,1"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("outside the image"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

/// With --network-url the local network's flags are ignored, and said so; a network server that
/// is not there is a clear error, and no mask is written.
#[test]
fn a_remote_network_names_ignored_flags_and_an_absent_server() {
    let dir = tmpdir("remote");
    let ph = phantom();
    let input = dir.join("ct.npy");
    nni::volume_io::write_npy(&input, &ph.image, ph.shape).unwrap();
    let out = dir.join("mask.npy");
    let run = Command::new(env!("CARGO_BIN_EXE_nni"))
        .args(["segment", "--fast", "--device", "cpu"])
        .args(["--network-url", "http://127.0.0.1:9/v2/models/m"])
        .args(["--network-retries", "0"])
        .arg("--image")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .args(["--point", "20,16,20"])
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("--device, --fast ignored"), "{stderr}");
    assert!(stderr.contains("network server unavailable"), "{stderr}");
    assert!(stderr.contains("127.0.0.1:9"), "{stderr}");
    assert!(!out.exists());
    std::fs::remove_dir_all(&dir).ok();
}

/// Every input the fuzzer keeps for the file readers (seeds and the crashes it found) is read or
/// refused with an error, as .npy, .nii and .nii.gz alike: the fuzz corpus as a stable regression.
#[test]
fn fuzz_corpus_files_are_read_or_refused_never_a_crash() {
    let corpus = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fuzz/corpus/volume_files"
    ));
    let dir = tmpdir("fuzz-corpus");
    let mut n = 0;
    for entry in std::fs::read_dir(corpus).unwrap() {
        let source = entry.unwrap().path();
        let bytes = std::fs::read(&source).unwrap();
        // Hostile NIfTI headers (declaring more than the file holds) are refused by the header
        // check, before the nifti crate reserves what they declare.
        let hostile_nifti = source
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("nifti-"));
        for name in ["in.npy", "in.nii", "in.nii.gz"] {
            let path = dir.join(name);
            std::fs::write(&path, &bytes).unwrap();
            let result = nni::volume_io::read_volume(&path);
            if hostile_nifti && name == "in.nii" {
                let err = result.err().map(|e| e.to_string()).unwrap_or_default();
                assert!(
                    err.contains("corrupt NIfTI file"),
                    "{}: {err}",
                    source.display()
                );
            }
            n += 1;
        }
    }
    assert!(n >= 12, "the corpus holds its seeds");
}
