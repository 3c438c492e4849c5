//! Every schedule committed under `tests/stm-check-regressions/` replays on
//! the engine as built, and must pass: each one is a failure stm-check found
//! once (with a bug injected, or before a fix), and the bug must stay gone.
//! Like proptest-regressions, add the file `stm-check explore` saved to this
//! folder to keep guarding against it.

use std::path::Path;
use stm_check::explore::replay_saved;
use stm_check::schedule::{ScheduleFile, Target};
use stm_check::workload::Workload;

#[test]
fn committed_schedules_replay_without_failure() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("stm-check-regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no schedule", dir.display());
    for path in files {
        let file = ScheduleFile::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let Target::Workload { workload, .. } = &file.target else {
            panic!("{}: only workload schedules replay here", path.display());
        };
        let workload = Workload::from_json_str(&workload.to_string())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // The file's runtime configuration, on the correct engine (the
        // bug it was found with is gone, so the execution may leave the
        // schedule where the bug made it differ).
        let replayed = replay_saved(&path, &workload, &file, None, false);
        assert_eq!(
            replayed.failure,
            None,
            "{} fails again (found by {} with {:?} injected)",
            path.display(),
            file.driver.scheduler,
            file.driver.injected_bug
        );
    }
}
