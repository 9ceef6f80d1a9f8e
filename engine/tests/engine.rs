//! End-to-end tests of the engine on the region-growing test model (models/blob-grow-p32.onnx):
//! real ONNX Runtime inference, real phantoms, Dice against the known objects.

use nninteractive_engine::geometry::{linear, BBox};
use nninteractive_engine::phantom::{dice, Ellipsoid, Phantom};
use nninteractive_engine::{Device, Error, MaskPrompt, Session, VoxelData};

fn session() -> Session {
    nninteractive_engine::init_runtime(None).expect("ONNX Runtime (run tools/setup/core.sh)");
    nninteractive_engine::open_session(
        std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/blob-grow-p32.onnx"
        )),
        Device::Cpu,
        1,
    )
    .expect("model")
}

/// 64^3 phantom: sphere A (r 8), sphere B (r 7), and a large ellipsoid C bigger than the patch.
fn phantom() -> Phantom {
    Phantom::new(
        [64, 64, 64],
        &[
            Ellipsoid {
                center: [16.0, 16.0, 16.0],
                radii: [7.0, 7.0, 7.0],
                value: 1000.0,
            },
            Ellipsoid {
                center: [16.0, 46.0, 46.0],
                radii: [6.0, 6.0, 6.0],
                value: 900.0,
            },
            Ellipsoid {
                center: [44.0, 30.0, 32.0],
                radii: [12.0, 26.0, 26.0],
                value: 1100.0,
            },
        ],
        100.0,
        20.0,
        1,
        3,
    )
}

fn with_image(ph: &Phantom) -> Session {
    let mut s = session();
    s.set_image(VoxelData::I16(&ph.image), ph.shape).unwrap();
    s
}

fn slice_mask(ph: &Phantom, obj: usize, a0: usize) -> Vec<u8> {
    let m = ph.object_mask(obj);
    let mut out = vec![0u8; m.len()];
    for a1 in 0..ph.shape[1] {
        for a2 in 0..ph.shape[2] {
            let i = linear(ph.shape, a0, a1, a2);
            out[i] = m[i];
        }
    }
    out
}

#[test]
fn point_segments_sphere() {
    let ph = phantom();
    let mut s = with_image(&ph);
    let changed = s
        .add_point([16.0, 16.0, 16.0], true, true)
        .unwrap()
        .expect("a prediction ran");
    let d = dice(&s.mask().unwrap(), &ph.object_mask(0));
    assert!(d >= 0.95, "dice {d}");
    assert!(changed.contains([16, 16, 16]));
    assert_eq!(s.last_changed(), Some(changed));
}

#[test]
fn box_scribble_lasso_segment_their_objects() {
    let ph = phantom();
    // 2D box on the middle slice of sphere B
    let mut s = with_image(&ph);
    s.add_box([16.0, 38.0, 38.0], [17.0, 55.0, 55.0], true, true)
        .unwrap();
    let d = dice(&s.mask().unwrap(), &ph.object_mask(1));
    assert!(d >= 0.95, "box dice {d}");

    // scribble: the sphere's middle slice as a stroke, given over the whole image
    let mut s = with_image(&ph);
    s.add_mask(
        MaskPrompt::Scribble,
        &slice_mask(&ph, 0, 16),
        None,
        true,
        true,
    )
    .unwrap();
    let d = dice(&s.mask().unwrap(), &ph.object_mask(0));
    assert!(d >= 0.95, "scribble dice {d}");

    // lasso given only over a one-slice sub-box
    let mut s = with_image(&ph);
    let region = BBox::new([16, 30, 30], [17, 62, 62]);
    let full = slice_mask(&ph, 1, 16);
    let mut sub = vec![0u8; region.voxels()];
    nninteractive_engine::geometry::copy_region_out(&full, ph.shape, &region, &mut sub);
    s.add_mask(MaskPrompt::Lasso, &sub, Some(region), true, true)
        .unwrap();
    let d = dice(&s.mask().unwrap(), &ph.object_mask(1));
    assert!(d >= 0.95, "lasso dice {d}");
}

#[test]
fn autozoom_captures_object_larger_than_patch() {
    let ph = phantom();
    let truth = ph.object_mask(2);
    let mut off = with_image(&ph);
    off.set_autozoom(false);
    off.add_point([44.0, 30.0, 32.0], true, true).unwrap();
    let d_off = dice(&off.mask().unwrap(), &truth);
    let mut on = with_image(&ph);
    on.add_point([44.0, 30.0, 32.0], true, true).unwrap();
    let d_on = dice(&on.mask().unwrap(), &truth);
    assert!(
        d_off < 0.9,
        "without AutoZoom a 32^3 patch cannot hold the object (dice {d_off})"
    );
    assert!(
        d_on >= 0.95,
        "with AutoZoom the whole object is captured (dice {d_on})"
    );
}

#[test]
fn negative_prompt_removes_and_undo_restores_exactly() {
    let ph = phantom();
    let mut s = with_image(&ph);
    s.add_point([16.0, 16.0, 16.0], true, true).unwrap();
    s.add_point([16.0, 46.0, 46.0], true, true).unwrap();
    let both = s.mask().unwrap().to_vec();
    let union: Vec<u8> = ph
        .labels
        .iter()
        .map(|&l| u8::from(l == 1 || l == 2))
        .collect();
    assert!(dice(&both, &union) >= 0.95);
    let intensity = s.intensity().unwrap();
    s.add_point([16.0, 46.0, 46.0], false, true).unwrap();
    let d = dice(&s.mask().unwrap(), &ph.object_mask(0));
    assert!(d >= 0.95, "negative click removed sphere B (dice vs A {d})");
    assert!(s.undo().unwrap());
    assert_eq!(
        s.mask().unwrap(),
        &both[..],
        "undo restores the mask exactly"
    );
    assert_eq!(s.intensity().unwrap(), intensity);
    // Undo goes on through the history (the reference stops after one level).
    assert!(s.undo().unwrap());
    let d = dice(&s.mask().unwrap(), &ph.object_mask(0));
    assert!(d >= 0.95, "second undo: back to sphere A alone (dice {d})");
    assert!(s.undo().unwrap());
    assert!(
        s.mask().unwrap().iter().all(|&v| v == 0),
        "third undo: empty"
    );
    assert!(!s.undo().unwrap(), "nothing before the first prompt");
}

#[test]
fn undo_and_redo_of_any_depth_give_each_step_exactly() {
    let ph = phantom();
    let mut s = with_image(&ph);
    let empty = s.mask().unwrap().to_vec();
    let mut masks = vec![empty];
    let mut intensities = vec![s.intensity().unwrap()];
    s.add_point([16.0, 16.0, 16.0], true, true).unwrap();
    masks.push(s.mask().unwrap().to_vec());
    intensities.push(s.intensity().unwrap());
    s.add_box([40.0, 10.0, 10.0], [41.0, 52.0, 54.0], true, true)
        .unwrap();
    masks.push(s.mask().unwrap().to_vec());
    intensities.push(s.intensity().unwrap());
    s.add_point([16.0, 46.0, 46.0], true, true).unwrap();
    masks.push(s.mask().unwrap().to_vec());
    intensities.push(s.intensity().unwrap());
    assert_eq!(s.history_depth().0, 3);
    for k in (0..3).rev() {
        assert!(s.undo().unwrap(), "undo to step {k}");
        assert_eq!(
            s.mask().unwrap(),
            &masks[k][..],
            "undo gives step {k} exactly"
        );
        assert_eq!(s.intensity().unwrap(), intensities[k]);
    }
    assert!(!s.undo().unwrap());
    for k in 1..=3 {
        assert!(s.redo().unwrap(), "redo to step {k}");
        assert_eq!(
            s.mask().unwrap(),
            &masks[k][..],
            "redo gives step {k} exactly"
        );
        assert_eq!(s.intensity().unwrap(), intensities[k]);
    }
    assert!(!s.redo().unwrap(), "nothing left to redo");
    // After undo, a prompt clears the redo steps; the prompt sees the undone state's prompts.
    assert!(s.undo().unwrap());
    assert!(s.can_redo());
    s.add_point([16.0, 46.0, 46.0], true, true).unwrap();
    assert!(!s.can_redo(), "a new prompt clears redo");
    assert_eq!(
        s.mask().unwrap(),
        &masks[3][..],
        "the same prompt again gives the same mask"
    );
    // A budget too small for more than one step keeps the newest only.
    s.set_history_budget(1);
    assert_eq!(s.history_depth().0, 1);
    assert!(s.undo().unwrap());
    assert_eq!(s.mask().unwrap(), &masks[2][..]);
    assert!(!s.undo().unwrap());
}

#[test]
fn queued_prompts_predict_at_the_last_centre() {
    let ph = phantom();
    let mut s = with_image(&ph);
    assert_eq!(s.add_point([16.0, 16.0, 16.0], true, false).unwrap(), None);
    assert!(
        s.mask().unwrap().iter().all(|&v| v == 0),
        "no prediction yet"
    );
    s.add_point([16.0, 46.0, 46.0], true, true).unwrap();
    // both seeds are in the channels, the patch sits at the last one (sphere B); sphere A lies
    // partly in that 32^3 patch only if close: it is 30 voxels away, so only B is complete
    let d = dice(&s.mask().unwrap(), &ph.object_mask(1));
    assert!(d >= 0.95, "dice {d}");
}

#[test]
fn initial_mask_reset_and_refinement() {
    let ph = phantom();
    let mut s = with_image(&ph);
    let init = ph.object_mask(0);
    assert_eq!(s.set_initial_mask(&init, false).unwrap(), None);
    assert_eq!(s.mask().unwrap(), &init[..]);
    // refine a rough initial mask (a cube inside sphere A) into the sphere
    let mut rough = vec![0u8; init.len()];
    for a in 13..19 {
        for b in 13..19 {
            for c in 13..19 {
                rough[linear(ph.shape, a, b, c)] = 1;
            }
        }
    }
    s.set_initial_mask(&rough, true).unwrap();
    let d = dice(&s.mask().unwrap(), &init);
    assert!(d >= 0.95, "dice {d}");
    s.reset().unwrap();
    assert!(s.mask().unwrap().iter().all(|&v| v == 0));
    assert!(!s.can_undo());
}

#[test]
fn initial_mask_region_matches_the_image_shaped_call() {
    let ph = phantom();
    let full = ph.object_mask(1);
    let b = BBox::new([9, 39, 39], [24, 53, 53]); // sphere B's box, engine axes
    let sh = b.shape();
    let mut part = vec![0u8; b.voxels()];
    for a in 0..sh[0] {
        for c in 0..sh[1] {
            for d in 0..sh[2] {
                let g = linear(ph.shape, a + 9, c + 39, d + 39);
                part[(a * sh[1] + c) * sh[2] + d] = full[g];
            }
        }
    }
    assert_eq!(
        part.iter().map(|&v| v as usize).sum::<usize>(),
        full.iter().map(|&v| v as usize).sum::<usize>()
    );
    for run_prediction in [false, true] {
        let mut by_image = with_image(&ph);
        let mut by_region = with_image(&ph);
        // an earlier prompt: its mask must be cleared by both calls
        by_image.add_point([16.0, 16.0, 16.0], true, true).unwrap();
        by_region.add_point([16.0, 16.0, 16.0], true, true).unwrap();
        let before = by_region.mask().unwrap().to_vec();
        by_image.set_initial_mask(&full, run_prediction).unwrap();
        by_region
            .set_initial_mask_region(&part, Some(b), run_prediction)
            .unwrap();
        assert_eq!(
            by_region.mask().unwrap(),
            by_image.mask().unwrap(),
            "run_prediction {run_prediction}"
        );
        if !run_prediction {
            assert_eq!(by_region.mask().unwrap(), &full[..]);
            // the changed region covers the old object (sphere A) and the new box, not the image
            let changed = by_region.last_changed().expect("changed");
            assert!(changed.voxels() < full.len());
            assert_eq!(changed.union(&b), changed);
        }
        assert!(by_region.undo().unwrap());
        assert_eq!(by_region.mask().unwrap(), &before[..]);
    }
    // bad regions change nothing
    let mut s = with_image(&ph);
    s.set_initial_mask_region(&part, Some(b), false).unwrap();
    let kept = s.mask().unwrap().to_vec();
    let outside = BBox::new([60, 39, 39], [75, 53, 53]);
    assert!(matches!(
        s.set_initial_mask_region(&part, Some(outside), false),
        Err(Error::OutOfBounds(_))
    ));
    assert!(matches!(
        s.set_initial_mask_region(&part[1..], Some(b), false),
        Err(Error::BufferSize(_))
    ));
    assert_eq!(s.mask().unwrap(), &kept[..]);
}

#[test]
fn failures_leave_the_session_unchanged() {
    let ph = phantom();
    let mut s = with_image(&ph);
    s.add_point([16.0, 16.0, 16.0], true, true).unwrap();
    let before = s.mask().unwrap().to_vec();
    let intensity = s.intensity();
    let bytes = s.prompt_state_bytes();
    assert!(matches!(
        s.add_box([1.0, 1.0, 1.0], [1.0, 5.0, 5.0], true, true),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        s.add_box([100.0, 0.0, 0.0], [101.0, 5.0, 5.0], true, true),
        Err(Error::OutOfBounds(_))
    ));
    assert!(matches!(
        s.add_mask(MaskPrompt::Scribble, &[1, 2, 3], None, true, true),
        Err(Error::BufferSize(_))
    ));
    assert!(matches!(
        s.set_image(VoxelData::F32(&[0.0; 8]), [2, 2, 2]),
        Err(Error::InvalidArgument(_))
    ));
    // cancellation in the middle of a prediction rolls back the prompt
    s.set_progress(Some(Box::new(|_, _| true))); // true cancels
    assert!(matches!(
        s.add_point([16.0, 46.0, 46.0], true, true),
        Err(Error::Cancelled)
    ));
    s.set_progress(None);
    assert_eq!(s.mask().unwrap(), &before[..]);
    assert_eq!(s.intensity(), intensity);
    assert_eq!(s.prompt_state_bytes(), bytes);
    // the undo level of the last successful prompt survives the failures
    assert!(s.undo().unwrap());
    assert!(s.mask().unwrap().iter().all(|&v| v == 0));
}

#[test]
fn calls_before_set_image_are_errors() {
    let mut s = session();
    assert!(matches!(
        s.add_point([1.0, 1.0, 1.0], true, true),
        Err(Error::NoImage)
    ));
    assert!(matches!(s.undo(), Err(Error::NoImage)));
    assert!(matches!(s.reset(), Err(Error::NoImage)));
    assert!(s.mask().is_none());
}

#[test]
fn prompt_state_is_region_sized() {
    // a click on a 512 x 512 x 200 image allocates a few 16^3 chunks, not a channel
    let shape = [200, 512, 512];
    let mut img = vec![0i16; shape.iter().product()];
    img.iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = (i % 7) as i16 + 1);
    let mut s = session();
    s.set_image(VoxelData::I16(&img), shape).unwrap();
    s.add_point([100.0, 256.0, 256.0], true, false).unwrap();
    assert!(
        s.prompt_state_bytes() <= 8 * 16 * 16 * 16 * 2,
        "{} bytes",
        s.prompt_state_bytes()
    );
}

#[test]
fn missing_and_corrupt_models_are_model_errors() {
    nninteractive_engine::init_runtime(None).unwrap();
    let missing = nninteractive_engine::open_session(
        std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/does-not-exist.onnx"
        )),
        Device::Cpu,
        1,
    );
    assert!(matches!(missing, Err(Error::Model(_))));
    let dir = std::env::temp_dir().join(format!("nni-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.onnx");
    std::fs::write(&bad, b"this is not an onnx model").unwrap();
    assert!(matches!(
        nninteractive_engine::open_session(&bad, Device::Cpu, 1),
        Err(Error::Model(_))
    ));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn intensity_renormalises_before_float16_overflows() {
    // decay 0.9: the intensity grows by 1/0.9 per prompt and passes 65504 at the 106th prompt,
    // where the reference rescales every prompt channel and restarts at 6550.4
    let ph = phantom();
    let mut s = with_image(&ph);
    for i in 0..105 {
        s.add_point([16.0, 16.0, 16.0 + (i % 3) as f64], true, false)
            .unwrap();
    }
    let before = s.intensity().unwrap();
    assert!(
        before < 65504.0 && before * (1.0 / 0.9) > 65504.0,
        "{before}"
    );
    s.add_point([16.0, 46.0, 46.0], true, true).unwrap();
    assert_eq!(s.intensity().unwrap(), 6550.4);
    // the prediction at sphere B still works after the rescale (no overflow to inf, no underflow)
    let union: Vec<u8> = ph.labels.iter().map(|&l| u8::from(l == 2)).collect();
    assert!(dice(&s.mask().unwrap(), &union) >= 0.95);
    // undo restores the intensity and the unscaled channels
    assert!(s.undo().unwrap());
    assert_eq!(s.intensity().unwrap(), before);
}

#[test]
fn prompt_log_replays_every_kind_of_call_bit_for_bit() {
    use nninteractive_engine::session::log::{self, LogCall, PromptLog};
    let ph = phantom();
    let mut s = with_image(&ph);
    let shape = ph.shape;
    let n = shape.iter().product::<usize>();
    s.add_point([16.0, 16.0, 16.0], true, true).unwrap();
    s.add_box([16.0, 40.0, 40.0], [17.0, 53.0, 53.0], true, true)
        .unwrap();
    let mut scribble = vec![0u8; n];
    for a2 in 28..36 {
        scribble[linear(shape, 44, 30, a2)] = 1;
    }
    s.add_mask(MaskPrompt::Scribble, &scribble, None, true, false)
        .unwrap();
    s.predict_queued(false).unwrap().expect("a queued prompt");
    s.undo().unwrap();
    s.redo().unwrap();
    s.set_autozoom(false);
    let region = BBox::new([14, 14, 14], [19, 19, 19]);
    let lasso = vec![1u8; region.voxels()];
    s.add_mask(MaskPrompt::Lasso, &lasso, Some(region), false, true)
        .unwrap();
    assert!(!s.redo().unwrap()); // nothing to redo: not logged
    let before_reset = s.export_log().unwrap();
    s.reset().unwrap();
    let initial = s.mask().map(|m| m.to_vec()).unwrap();
    s.set_initial_mask(&initial, false).unwrap();
    s.add_point([16.0, 46.0, 46.0], true, true).unwrap();
    let text = s.export_log().unwrap();
    let logged: PromptLog = serde_json::from_str(&text).unwrap();
    let ops: Vec<&str> = logged
        .calls
        .iter()
        .map(|c| match c {
            LogCall::Point { .. } => "point",
            LogCall::Box { .. } => "box",
            LogCall::Scribble { .. } => "scribble",
            LogCall::Lasso { .. } => "lasso",
            LogCall::InitialMask { .. } => "initial",
            LogCall::Predict { .. } => "predict",
            LogCall::Undo => "undo",
            LogCall::Redo => "redo",
            LogCall::Reset => "reset",
            LogCall::Autozoom { .. } => "autozoom",
        })
        .collect();
    assert_eq!(
        ops,
        [
            "point", "box", "scribble", "predict", "undo", "redo", "autozoom", "lasso", "reset",
            "initial", "point"
        ]
    );
    // Coordinates are (i, j, k): the box's flat axis a0 is k.
    assert_eq!(
        logged.calls[1],
        LogCall::Box {
            min_ijk: [40.0, 40.0, 16.0],
            max_ijk: [53.0, 53.0, 17.0],
            positive: true,
            run_prediction: true
        }
    );
    assert_eq!(logged.model.name, "blob-grow-p32");
    assert_eq!(logged.model.sha256.len(), 64);
    assert_eq!(logged.image.dims_ijk, [64, 64, 64]);

    for (text, what) in [(&before_reset, "before the reset"), (&text, "at the end")] {
        let logged: PromptLog = serde_json::from_str(text).unwrap();
        let mut r = session();
        r.set_autozoom(logged.autozoom);
        r.set_image(VoxelData::I16(&ph.image), ph.shape).unwrap();
        assert_eq!(r.image().unwrap().sha256(), logged.image.sha256);
        log::replay(&mut r, &logged).unwrap();
        let mask = r.mask().unwrap().to_vec();
        assert_eq!(log::sha256_hex(&mask), logged.mask.sha256, "{what}");
        // The replayed session's own log is the same log.
        let again: PromptLog = serde_json::from_str(&r.export_log().unwrap()).unwrap();
        assert_eq!(again.calls, logged.calls, "{what}");
    }
    assert_eq!(
        log::sha256_hex(&s.mask().unwrap()),
        logged.mask.sha256,
        "the log names the session's mask"
    );
    // A log that diverges (an undo with nothing to undo) is an error, not a silent difference.
    let mut broken = logged.clone();
    broken.calls.insert(0, LogCall::Undo);
    let mut r = session();
    r.set_image(VoxelData::I16(&ph.image), ph.shape).unwrap();
    let err = log::replay(&mut r, &broken).unwrap_err();
    assert!(err.to_string().contains("nothing to undo"), "{err}");
}

#[test]
fn sessions_on_one_model_file_share_one_network() {
    use nninteractive_engine::backend::shared::networks_loaded_from;
    use nninteractive_engine::NetworkOptions;
    nninteractive_engine::init_runtime(None).expect("ONNX Runtime (run tools/setup/core.sh)");
    // A copy of the model of its own: other tests' sessions are on other files.
    let dir = std::env::temp_dir().join(format!("nni-shared-net-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("model.onnx");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../models/blob-grow-p32.onnx"),
        &model,
    )
    .unwrap();
    let cpu = |threads| NetworkOptions {
        device: Device::Cpu,
        num_threads: threads,
        ..NetworkOptions::default()
    };
    let a = nninteractive_engine::open_session_with(&model, &cpu(1)).unwrap();
    let b = nninteractive_engine::open_session_with(&model, &cpu(1)).unwrap();
    assert_eq!(
        networks_loaded_from(&model),
        1,
        "same file, same options: one network"
    );
    let c = nninteractive_engine::open_session_with(&model, &cpu(2)).unwrap();
    assert_eq!(
        networks_loaded_from(&model),
        2,
        "other options: another network"
    );
    drop((a, b, c));
    assert_eq!(
        networks_loaded_from(&model),
        0,
        "freed with the last session"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
