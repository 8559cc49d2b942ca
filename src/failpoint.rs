//! Crash points for the crash-safety tests. The claim "a killed process
//! never loses or double-imports an invoice" is only worth something if a
//! test kills the real binary at the worst moments; timing a `kill -9` to
//! land between two statements is luck, so those moments are named here and
//! `APFLOW_FAILPOINT=<name>` makes the process abort exactly there, as a
//! power cut would. Unset (always, in production) it costs one cached
//! lookup.
//!
//! The points, in pipeline order: `inbox-stored` (a folder file stored, not
//! yet moved), `mail-stored` / `mail-recorded` (IMAP), `job-claimed`,
//! `read-worker` (inside the reading child), `extract-before-commit`,
//! `extract-committed`, `decide-before-commit`, `decide-committed`,
//! `run-before-file` (a payment run committed, its file not yet written),
//! `run-file-written` (written, not yet recorded as such).

use std::sync::OnceLock;

/// Aborts the process if `APFLOW_FAILPOINT` names this point.
pub fn hit(name: &str) {
    static ARMED: OnceLock<Option<String>> = OnceLock::new();
    let armed = ARMED.get_or_init(|| std::env::var("APFLOW_FAILPOINT").ok());
    if armed.as_deref() == Some(name) {
        eprintln!("apflow: failpoint {name} reached; aborting");
        std::process::abort();
    }
}
