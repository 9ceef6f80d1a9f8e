//! Allocation failure is an error, not an abort: under an address-space limit, a second initial
//! mask on a 500^3 image (whose undo record needs the old mask, 125 MB) fails with
//! `Error::OutOfMemory` and leaves the session as it was. Runs in a child process (the limit is
//! per process), on the fake network.

use nninteractive_engine::testing::FakeNetwork;
use nninteractive_engine::{Error, Session, VoxelData};

const CHILD: &str = "NNI_OOM_TEST_CHILD";

fn vm_size_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmSize:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

fn child() {
    let n = 500usize;
    let shape = [n, n, n];
    let mut image = vec![0u8; n * n * n];
    image
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = (i % 7) as u8 + 1);
    let (net, meta, _) = FakeNetwork::new(16);
    let mut s = Session::new(Box::new(net), meta);
    s.set_image(VoxelData::U8(&image), shape).unwrap();
    drop(image);
    let full = vec![1u8; n * n * n];
    s.set_initial_mask(&full, false).unwrap();
    drop(full);
    let before_sum: u64 = s.mask().unwrap().iter().map(|&v| v as u64).sum();
    // From here on, at most 64 MB more address space: the old mask's undo record cannot fit.
    let limit = vm_size_bytes() + (64 << 20);
    let rl = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: setrlimit only reads the struct.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_AS, &rl) }, 0);
    let region = nninteractive_engine::BBox::new([10, 10, 10], [20, 20, 20]);
    let small = vec![1u8; 1000];
    match s.set_initial_mask_region(&small, Some(region), false) {
        Err(Error::OutOfMemory(m)) => println!("out of memory, as expected: {m}"),
        other => panic!("expected OutOfMemory, got {other:?}"),
    }
    let after_sum: u64 = s.mask().unwrap().iter().map(|&v| v as u64).sum();
    assert_eq!(before_sum, after_sum, "the mask is unchanged");
    assert!(s.can_undo(), "the undo level is kept");
    println!("child ok");
}

#[test]
fn allocation_failure_is_an_error_and_changes_nothing() {
    if std::env::var_os(CHILD).is_some() {
        child();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "allocation_failure_is_an_error_and_changes_nothing",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("child ok"), "{text}");
    assert!(text.contains("out of memory, as expected"), "{text}");
}
