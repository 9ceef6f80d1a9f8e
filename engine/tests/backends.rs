//! The runtimes behind the `Network` seam agree: OpenVINO float32 and bfloat16 against ONNX
//! Runtime float32 on the region-growing test model, and the choice of runtime follows the
//! options (with the reason said when it falls back).

use nninteractive_engine::phantom::{dice, Ellipsoid, Phantom};
use nninteractive_engine::{BackendChoice, Device, NetworkOptions, Precision, Session, VoxelData};

fn model() -> &'static std::path::Path {
    std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/blob-grow-p32.onnx"
    ))
}

fn phantom() -> Phantom {
    Phantom::new(
        [48, 48, 48],
        &[
            Ellipsoid {
                center: [16.0, 18.0, 20.0],
                radii: [7.0, 8.0, 6.0],
                value: 1000.0,
            },
            Ellipsoid {
                center: [32.0, 30.0, 28.0],
                radii: [14.0, 13.0, 15.0],
                value: 900.0,
            },
        ],
        100.0,
        20.0,
        1,
        11,
    )
}

fn session(backend: BackendChoice, precision: Precision) -> Session {
    let opts = NetworkOptions {
        device: Device::Cpu,
        precision,
        backend,
        num_threads: 1,
        warm_up: false,
    };
    nninteractive_engine::open_session_with(model(), &opts).expect("session")
}

fn clicks(s: &mut Session, ph: &Phantom) -> Vec<Vec<u8>> {
    s.set_image(VoxelData::I16(&ph.image), ph.shape).unwrap();
    let mut out = Vec::new();
    s.add_point([16.0, 18.0, 20.0], true, true).unwrap();
    out.push(s.mask().unwrap().to_vec());
    s.add_point([32.0, 30.0, 28.0], true, true).unwrap();
    out.push(s.mask().unwrap().to_vec());
    s.add_box([20.0, 20.0, 28.0], [44.0, 40.0, 29.0], false, true)
        .unwrap();
    out.push(s.mask().unwrap().to_vec());
    out
}

#[test]
fn openvino_float32_and_bfloat16_agree_with_onnx_runtime() {
    let ph = phantom();
    let mut ort = session(BackendChoice::OnnxRuntime, Precision::Exact);
    assert!(
        ort.describe_network().contains("ONNX Runtime"),
        "{}",
        ort.describe_network()
    );
    let reference = clicks(&mut ort, &ph);
    assert!(dice(&reference[1], &ph.object_mask(1)) > 0.9);

    let mut ov = session(BackendChoice::OpenVino, Precision::Exact);
    let d = ov.describe_network();
    assert!(d.contains("OpenVINO") && d.contains("float32"), "{d}");
    for (i, (a, b)) in clicks(&mut ov, &ph).iter().zip(&reference).enumerate() {
        assert!(
            dice(a, b) >= 0.999,
            "OpenVINO float32, click {i}: Dice {}",
            dice(a, b)
        );
    }

    let mut fast = session(BackendChoice::OpenVino, Precision::Fast);
    let d = fast.describe_network();
    assert!(d.contains("OpenVINO"), "{d}");
    for (i, (a, b)) in clicks(&mut fast, &ph).iter().zip(&reference).enumerate() {
        assert!(
            dice(a, b) >= 0.98,
            "OpenVINO fast ({d}), click {i}: Dice {}",
            dice(a, b)
        );
    }
}

#[test]
fn fast_on_onnx_runtime_says_it_runs_float32() {
    let s = session(BackendChoice::OnnxRuntime, Precision::Fast);
    let d = s.describe_network();
    assert!(
        d.contains("ONNX Runtime") && d.contains("running float32"),
        "{d}"
    );
}

#[test]
fn auto_fast_picks_openvino_bf16_or_float32_and_says_why() {
    let s = session(BackendChoice::Auto, Precision::Fast);
    let d = s.describe_network();
    let bf16 = nninteractive_engine::backend::openvino::cpu_has_bf16().unwrap();
    assert!(d.contains("OpenVINO"), "{d}");
    if bf16 {
        // The model's bfloat16 variant (models/blob-grow-p32.bf16.onnx) runs.
        assert!(
            d.contains("bfloat16, the full-resolution decoder float32")
                && !d.contains("runs float32"),
            "{d}"
        );
    } else {
        assert!(
            d.contains("no native bfloat16") && d.contains("float32"),
            "{d}"
        );
    }
    let exact = session(BackendChoice::Auto, Precision::Exact);
    assert!(exact.describe_network().contains("ONNX Runtime"));
}

#[test]
fn fast_without_the_bfloat16_variant_runs_float32_and_says_why() {
    let dir = std::env::temp_dir().join(format!("nni-no-bf16-variant-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let alone = dir.join("blob-grow-p32.onnx");
    std::fs::copy(model(), &alone).unwrap();
    let opts = NetworkOptions {
        device: Device::Cpu,
        precision: Precision::Fast,
        backend: BackendChoice::Auto,
        num_threads: 1,
        warm_up: false,
    };
    let s = nninteractive_engine::open_session_with(&alone, &opts).expect("session");
    let d = s.describe_network();
    drop(s);
    std::fs::remove_dir_all(&dir).unwrap();
    let bf16 = nninteractive_engine::backend::openvino::cpu_has_bf16().unwrap();
    assert!(
        d.contains("OpenVINO") && d.contains("(CPU, float32)"),
        "{d}"
    );
    let why = if bf16 {
        "no bfloat16 variant"
    } else {
        "no native bfloat16"
    };
    assert!(d.contains(why), "{d}");
}
