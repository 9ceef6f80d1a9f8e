//! The resampling kernels against golden files made by PyTorch's CPU kernels
//! (tools/test/make_resample_golden.py): bit-exact equality.

use nninteractive_engine::resample;

fn load(name: &str) -> (Vec<f32>, [usize; 3]) {
    let path = format!(
        "{}/../tests/data/resample/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let f = std::fs::File::open(&path).expect(&path);
    let npy = npyz::NpyFile::new(std::io::BufReader::new(f)).unwrap();
    let s = npy.shape().to_vec();
    let shape = [s[0] as usize, s[1] as usize, s[2] as usize];
    let data = if npy.dtype().descr().contains("f2") {
        npy.into_vec::<half::f16>()
            .expect(&path)
            .into_iter()
            .map(|v| v.to_f32())
            .collect()
    } else {
        npy.into_vec::<f32>().unwrap()
    };
    (data, shape)
}

fn assert_bit_exact(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len());
    let bad = got
        .iter()
        .zip(want)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    assert_eq!(
        bad,
        0,
        "{what}: {bad} of {} values differ from torch",
        want.len()
    );
}

#[test]
fn trilinear_matches_torch() {
    for tag in ["down", "aniso", "up"] {
        let (x, xs) = load(&format!("trilinear_{tag}_in.npy"));
        let (y, ys) = load(&format!("trilinear_{tag}_out.npy"));
        assert_bit_exact(&resample::trilinear(&x, xs, ys), &y, tag);
    }
}

#[test]
fn area_matches_torch() {
    for tag in ["r15", "r225", "r3375"] {
        let (x, xs) = load(&format!("area_{tag}_in.npy"));
        let (y, ys) = load(&format!("area_{tag}_out.npy"));
        assert_bit_exact(&resample::area_to_f16(&x, xs, ys), &y, tag);
    }
}

#[test]
fn nearest_matches_torch() {
    let (x, xs) = load("nearest_in.npy");
    let (y, ys) = load("nearest_out.npy");
    assert_bit_exact(&resample::nearest(&x, xs, ys), &y, "nearest");
}
