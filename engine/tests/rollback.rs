//! A failure, a cancel or a panic at any forward of a prediction (the first forward, an AutoZoom
//! forward, refinement patch k) leaves prompts, mask and undo exactly as before the call. Runs
//! on the scripted fake network (feature `fake-network`), so every stage is reached on purpose.
//!
//! "Exactly as before" is checked three ways: the mask, intensity, changed box and prompt state
//! equal the snapshot taken before the failed call; undo still reverts the previous prompt; and
//! the same prompt retried afterwards feeds the network the very inputs (hashed) and yields the
//! very mask that a session which never failed gets.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use nninteractive_engine::phantom::{Ellipsoid, Phantom};
use nninteractive_engine::testing::{FakeControl, FakeNetwork, Fault};
use nninteractive_engine::{BBox, Error, Session, VoxelData};

const PATCH: usize = 16;

/// Two bright objects, each larger than the patch, so a click zooms out and refines in patches.
fn phantom() -> Phantom {
    Phantom::new(
        [48, 48, 48],
        &[
            Ellipsoid {
                center: [14.0, 14.0, 16.0],
                radii: [9.0, 10.0, 11.0],
                value: 1000.0,
            },
            Ellipsoid {
                center: [34.0, 33.0, 31.0],
                radii: [10.0, 11.0, 12.0],
                value: 1000.0,
            },
        ],
        100.0,
        10.0,
        1,
        7,
    )
}

fn session(ph: &Phantom) -> (Session, FakeControl) {
    let (net, meta, control) = FakeNetwork::new(PATCH);
    let mut s = Session::new(Box::new(net), meta);
    s.set_image(VoxelData::I16(&ph.image), ph.shape).unwrap();
    (s, control)
}

/// Everything a caller can see of a session's state.
#[derive(Debug, PartialEq)]
struct Snapshot {
    mask: Vec<u8>,
    intensity: Option<f64>,
    last_changed: Option<BBox>,
    prompt_bytes: usize,
    can_undo: bool,
}

fn snapshot(s: &Session) -> Snapshot {
    Snapshot {
        mask: s.mask().unwrap().to_vec(),
        intensity: s.intensity(),
        last_changed: s.last_changed(),
        prompt_bytes: s.prompt_state_bytes(),
        can_undo: s.can_undo(),
    }
}

/// The first prompt (on object 0), then the one under test: a click on object 1.
fn first_prompt(s: &mut Session) {
    s.add_point([14.0, 14.0, 16.0], true, true).unwrap();
}

fn second_prompt(s: &mut Session) -> nninteractive_engine::Result<Option<BBox>> {
    s.add_point([34.0, 33.0, 31.0], true, true)
}

/// What the prompt under test does on a session that never fails: the forwards' input hashes,
/// the progress stages, and the mask after it.
struct Expected {
    before: Snapshot,
    inputs: Vec<u64>,
    stages: Vec<String>,
    after: Vec<u8>,
    after_undo_of_first: Vec<u8>,
}

fn expected(ph: &Phantom) -> Expected {
    let (mut s, control) = session(ph);
    first_prompt(&mut s);
    let before = snapshot(&s);
    let start = control.forwards();
    let stages = Arc::new(Mutex::new(Vec::new()));
    let seen = stages.clone();
    s.set_progress(Some(Box::new(move |_, stage: &str| {
        seen.lock().unwrap().push(stage.to_string());
        false
    })));
    second_prompt(&mut s).unwrap();
    let inputs = control.input_hashes()[start..].to_vec();
    let after = s.mask().unwrap().to_vec();
    let (mut u, _) = session(ph);
    first_prompt(&mut u);
    assert!(u.undo().unwrap());
    let stages = stages.lock().unwrap().clone();
    let after_undo_of_first = u.mask().unwrap().to_vec();
    Expected {
        before,
        inputs,
        stages,
        after,
        after_undo_of_first,
    }
}

/// After a failed second prompt: state as before; the retry matches the never-failing session;
/// undo then reverts the second prompt, and once more nothing (one level, as the reference).
fn check_restored(mut s: Session, control: &FakeControl, exp: &Expected, what: &str) {
    assert_eq!(snapshot(&s), exp.before, "{what}: state restored");
    control.clear();
    let start = control.forwards();
    second_prompt(&mut s).unwrap_or_else(|e| panic!("{what}: retry failed: {e}"));
    assert_eq!(
        control.input_hashes()[start..],
        exp.inputs[..],
        "{what}: the retry feeds the network the same inputs"
    );
    assert_eq!(s.mask().unwrap(), &exp.after[..], "{what}: retry mask");
    assert!(s.undo().unwrap());
    assert_eq!(
        snapshot(&s).mask,
        exp.before.mask,
        "{what}: undo after retry"
    );
}

/// After a failed second prompt, undo still reverts the first one.
fn check_undo_kept(mut s: Session, exp: &Expected, what: &str) {
    assert!(s.undo().unwrap(), "{what}: the undo level survives");
    assert_eq!(
        s.mask().unwrap(),
        &exp.after_undo_of_first[..],
        "{what}: undo reverts the earlier prompt"
    );
    assert!(!s.undo().unwrap(), "{what}: one level only");
}

#[test]
fn the_prompt_under_test_reaches_autozoom_and_several_refinement_patches() {
    let exp = expected(&phantom());
    assert!(
        exp.stages.iter().any(|s| s.starts_with("AutoZoom")),
        "stages: {:?}",
        exp.stages
    );
    let patches = exp
        .stages
        .iter()
        .filter(|s| s.starts_with("refining patch"))
        .count();
    assert!(patches >= 2, "stages: {:?}", exp.stages);
    assert_eq!(
        exp.inputs.len(),
        exp.stages.len() - 1,
        "one forward a stage"
    );
    assert_ne!(exp.after, exp.before.mask);
}

#[test]
fn a_failed_forward_at_any_stage_changes_nothing() {
    let ph = phantom();
    let exp = expected(&ph);
    for k in 0..exp.inputs.len() {
        for fault in ["fail", "panic"] {
            let what = format!("{fault} at forward {k} ({})", exp.stages[k]);
            let (mut s, control) = session(&ph);
            first_prompt(&mut s);
            let n = control.forwards() + k;
            control.plan(
                n,
                if fault == "fail" {
                    Fault::Fail
                } else {
                    Fault::Panic
                },
            );
            match second_prompt(&mut s) {
                Err(Error::Inference(_)) if fault == "fail" => {}
                Err(Error::Panic(m)) if fault == "panic" => assert!(m.contains("planned"), "{m}"),
                other => panic!("{what}: got {other:?}"),
            }
            assert_eq!(control.forwards(), n + 1, "{what}: stops at that forward");
            check_restored(s, &control, &exp, &what);
            let (mut s, control) = session(&ph);
            first_prompt(&mut s);
            control.plan(control.forwards() + k, Fault::Fail);
            assert!(second_prompt(&mut s).is_err());
            check_undo_kept(s, &exp, &what);
        }
    }
}

#[test]
fn a_cancel_during_any_forward_changes_nothing() {
    let ph = phantom();
    let exp = expected(&ph);
    for k in 0..exp.inputs.len() {
        let what = format!("cancel during forward {k} ({})", exp.stages[k]);
        let (mut s, control) = session(&ph);
        first_prompt(&mut s);
        let n = control.forwards() + k;
        control.plan(n, Fault::Cancel(s.cancel_token()));
        assert!(
            matches!(second_prompt(&mut s), Err(Error::Cancelled)),
            "{what}"
        );
        assert_eq!(
            control.forwards(),
            n + 1,
            "{what}: no forward after the cancel"
        );
        check_restored(s, &control, &exp, &what);
    }
}

#[test]
fn a_callback_that_cancels_or_panics_at_any_stage_changes_nothing() {
    let ph = phantom();
    let exp = expected(&ph);
    for (k, stage) in exp.stages.iter().enumerate() {
        for panics in [false, true] {
            let what = format!(
                "callback {} at stage {k} ({stage})",
                if panics { "panicking" } else { "cancelling" }
            );
            let (mut s, control) = session(&ph);
            first_prompt(&mut s);
            let mut calls = 0;
            s.set_progress(Some(Box::new(move |_, _: &str| {
                calls += 1;
                if calls == k + 1 && panics {
                    panic!("callback panic at stage {k}");
                }
                calls == k + 1
            })));
            let outcome = catch_unwind(AssertUnwindSafe(|| second_prompt(&mut s)));
            match outcome {
                Ok(Err(Error::Cancelled)) if !panics => {}
                Err(payload) if panics => {
                    let msg = nninteractive_engine::panic_message(&*payload);
                    assert!(msg.contains("callback panic"), "{what}: {msg}");
                }
                Ok(other) => panic!("{what}: got {other:?}"),
                Err(_) => panic!("{what}: unexpected panic"),
            }
            s.set_progress(None);
            check_restored(s, &control, &exp, &what);
        }
    }
}

#[test]
fn progress_never_goes_back_within_a_call() {
    let ph = phantom();
    let (mut s, _) = session(&ph);
    first_prompt(&mut s);
    let fractions = Arc::new(Mutex::new(Vec::new()));
    let seen = fractions.clone();
    s.set_progress(Some(Box::new(move |f, _: &str| {
        seen.lock().unwrap().push(f);
        false
    })));
    second_prompt(&mut s).unwrap();
    let f = fractions.lock().unwrap().clone();
    assert!(f.windows(2).all(|w| w[1] >= w[0]), "{f:?}");
    assert_eq!(f.first(), Some(&0.0));
    assert_eq!(f.last(), Some(&1.0));
}

#[test]
fn a_cancel_from_another_thread_interrupts_the_forward_under_way() {
    let ph = phantom();
    let exp = expected(&ph);
    // At the first forward, and at a refinement patch.
    for k in [0, exp.inputs.len() - 1] {
        let what = format!("cancel during forward {k} ({})", exp.stages[k]);
        let (mut s, control) = session(&ph);
        first_prompt(&mut s);
        control.plan(control.forwards() + k, Fault::RunUntilInterrupted);
        let token = s.cancel_token();
        let watcher = control.clone();
        let canceller = std::thread::spawn(move || {
            while !watcher.is_waiting() {
                std::thread::yield_now();
            }
            token.cancel();
        });
        let outcome = second_prompt(&mut s);
        canceller.join().unwrap();
        assert!(
            matches!(outcome, Err(Error::Cancelled)),
            "{what}: {outcome:?}"
        );
        assert_eq!(
            control.interrupts_taken(),
            1,
            "{what}: the run under way was interrupted"
        );
        check_restored(s, &control, &exp, &what);
    }
}
