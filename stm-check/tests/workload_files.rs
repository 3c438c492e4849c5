//! Loading workload files: the example file loads; every kind of malformed
//! file gives its own typed error naming the file, the place and the fault.

use std::path::{Path, PathBuf};
use stm_check::workload::{LoadError, Problem, Workload, WorkloadError};

fn workloads_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("workloads")
}

/// Writes `text` to a file in a fresh temporary directory and loads it.
fn load_text(text: &str) -> (PathBuf, Result<Workload, LoadError>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, text).unwrap();
    let result = Workload::load(&path);
    (path, result, dir)
}

/// Loads `text`, expects an invalid-file error, checks that its message
/// names the file, and returns the workload error.
fn error_of(text: &str) -> WorkloadError {
    let (path, result, _dir) = load_text(text);
    let error = result.expect_err("the file is invalid");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("{}: ", path.display())),
        "{message}"
    );
    match error {
        LoadError::Invalid { error, .. } => error,
        LoadError::Io { .. } => panic!("unexpected I/O error: {message}"),
    }
}

/// A valid workload with `ops` as its only transaction's operations and
/// `invariants` as its invariants, laid out one part per line.
fn with_ops(ops: &str, invariants: &str) -> String {
    format!(
        "{{\"format\": \"stm-workload\", \"version\": 1,\n\
         \"vars\": [{{\"initial\": 1}}, {{\"initial\": 2}}],\n\
         \"threads\": [{{\"steps\": [{{\"atomically\": {{\"ops\": {ops}}}}}]}}],\n\
         \"invariants\": {invariants}}}"
    )
}

#[test]
fn the_example_files_load() {
    let transfer = Workload::load(&workloads_dir().join("transfer.json")).unwrap();
    assert_eq!(transfer.name, "transfer");
    assert!(transfer.run(&stm_core::Stm::new()).is_ok());
    let mut found = 0;
    for entry in std::fs::read_dir(workloads_dir()).unwrap() {
        let path = entry.unwrap().path();
        Workload::load(&path).unwrap_or_else(|e| panic!("{e}"));
        found += 1;
    }
    assert_eq!(found, 7);
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let path = workloads_dir().join("no-such-file.json");
    let error = Workload::load(&path).unwrap_err();
    assert!(matches!(error, LoadError::Io { .. }));
    assert!(error.to_string().contains("no-such-file.json: cannot read"));
}

#[test]
fn malformed_json_gives_its_position() {
    let error = error_of("{\"format\": \"stm-workload\",\n \"version\": 1,,\n}");
    assert_eq!(
        error,
        WorkloadError::Json {
            what: "invalid JSON",
            line: 2,
            column: 15,
            message: "key must be a string".to_string()
        },
        "{error}"
    );
    let truncated = error_of("{\"format\": \"stm-workload\", \"version\": 1, \"vars\": [");
    assert!(
        matches!(
            truncated,
            WorkloadError::Json {
                what: "truncated JSON",
                line: 1,
                ..
            }
        ),
        "{truncated}"
    );
}

#[test]
fn an_unknown_version_is_named() {
    let error = error_of(r#"{"format": "stm-workload", "version": 3, "whatever": true}"#);
    assert_eq!(
        error,
        WorkloadError::UnsupportedVersion {
            found: 3,
            supported: 1
        }
    );
    assert_eq!(
        error.to_string(),
        "unsupported workload format version 3; this stm-check reads version 1"
    );
}

#[test]
fn another_format_is_refused() {
    let error = error_of(r#"{"format": "stm-history", "version": 1, "transactions": []}"#);
    assert_eq!(
        error,
        WorkloadError::UnknownFormat {
            found: "stm-history".to_string()
        }
    );
}

#[test]
fn a_wrong_shape_gives_its_position() {
    // "amount" must be an integer.
    let error = error_of(&with_ops(r#"[{"add": {"var": 0, "amount": "one"}}]"#, "[]"));
    match &error {
        WorkloadError::Json {
            what,
            line,
            message,
            ..
        } => {
            assert_eq!((*what, *line), ("unexpected JSON shape", 3));
            assert!(
                message.contains("invalid type: string \"one\""),
                "{message}"
            );
        }
        other => panic!("expected a JSON error, got {other}"),
    }
    // A misspelt field is refused, not ignored.
    let error =
        error_of(&with_ops(r#"[{"read": 0}]"#, "[]").replace("initial\": 2", "inital\": 2"));
    assert!(
        error.to_string().contains("unknown field `inital`"),
        "{error}"
    );
}

#[test]
fn a_var_index_out_of_range_is_located() {
    let error = error_of(&with_ops(r#"[{"read": 0}, {"scan": [1, 2]}]"#, "[]"));
    assert_eq!(
        error.problem(),
        Some(&Problem::VarOutOfRange { var: 2, vars: 2 })
    );
    let WorkloadError::Invalid { at, .. } = &error else {
        panic!("{error}")
    };
    assert_eq!(at.path, "threads[0].steps[0].atomically.ops[1].scan[1]");
    assert_eq!(at.line_column, Some((3, 74)));
    assert_eq!(
        error.to_string(),
        "threads[0].steps[0].atomically.ops[1].scan[1] (line 3, column 74): \
         variable index 2 is out of range: the workload has 2 variable(s), indices 0 to 1"
    );
    // In invariants too.
    let error = error_of(&with_ops(r#"[{"read": 0}]"#, r#"[{"counter": 5}]"#));
    assert_eq!(
        error.problem(),
        Some(&Problem::VarOutOfRange { var: 5, vars: 2 })
    );
    assert!(
        error
            .to_string()
            .starts_with("invariants[0].counter (line 4, column 28)"),
        "{error}"
    );
}

#[test]
fn zero_threads_is_refused() {
    let error = error_of(
        r#"{"format": "stm-workload", "version": 1, "vars": [{"initial": 0}], "threads": []}"#,
    );
    assert_eq!(error.problem(), Some(&Problem::NoThreads));
    assert_eq!(
        error.to_string(),
        "threads (line 1, column 79): a workload needs at least one thread, found zero threads"
    );
}

#[test]
fn no_vars_and_no_steps_are_refused() {
    let error = error_of(
        r#"{"format": "stm-workload", "version": 1, "vars": [], "threads": [{"steps": []}]}"#,
    );
    assert_eq!(error.problem(), Some(&Problem::NoVars));
    let error = error_of(
        r#"{"format": "stm-workload", "version": 1, "vars": [{"initial": 0}], "threads": [{"steps": []}]}"#,
    );
    assert_eq!(error.problem(), Some(&Problem::NoSteps));
}

#[test]
fn an_empty_transaction_is_refused() {
    let error = error_of(&with_ops("[]", "[]"));
    assert_eq!(error.problem(), Some(&Problem::EmptyTransaction));
    assert!(
        error
            .to_string()
            .starts_with("threads[0].steps[0].atomically (line 3, column"),
        "{error}"
    );
}

#[test]
fn a_transfer_to_itself_is_refused() {
    let error = error_of(&with_ops(
        r#"[{"read": 0}, {"or_else": {"first": [], "second": [{"transfer": {"from": 1, "to": 1, "amount": 3}}]}}]"#,
        "[]",
    ));
    assert_eq!(error.problem(), Some(&Problem::TransferToItself { var: 1 }));
    assert!(
        error.to_string().starts_with(
            "threads[0].steps[0].atomically.ops[1].or_else.second[0].transfer (line 3,"
        ),
        "{error}"
    );
}

#[test]
fn bad_queues_are_refused() {
    let queue = |workers: usize, items: &str| {
        format!(
            r#"{{"format": "stm-workload", "version": 1, "vars": [{{"initial": 0}}],
              "threads": [{{"steps": [{{"queue": {{"mode": "run", "workers": {workers}, "items": {items}}}}}]}}]}}"#
        )
    };
    assert_eq!(
        error_of(&queue(0, r#"[{"ops": [{"read": 0}]}]"#)).problem(),
        Some(&Problem::ZeroWorkers)
    );
    assert_eq!(
        error_of(&queue(2, "[]")).problem(),
        Some(&Problem::EmptyQueue)
    );
    assert_eq!(
        error_of(&queue(2, r#"[{"ops": [{"read": 0}]}, {"ops": []}]"#)).problem(),
        Some(&Problem::EmptyTransaction)
    );
}

#[test]
fn a_counter_changed_by_a_write_is_refused() {
    let error = error_of(&with_ops(
        r#"[{"add": {"var": 0, "amount": 1}}, {"write": {"var": 0, "value": 7}}]"#,
        r#"[{"counter": 0}]"#,
    ));
    assert_eq!(
        error.problem(),
        Some(&Problem::CounterChanged {
            var: 0,
            op: "write"
        })
    );
}

#[test]
fn an_empty_condition_is_refused() {
    let error = error_of(&with_ops(
        r#"[{"assert": {"sum": [], "cmp": "==", "value": 0}}]"#,
        "[]",
    ));
    assert_eq!(error.problem(), Some(&Problem::NoVarsListed));
}
