//! Named points where a run can be held still, so the interruption tests can
//! kill it exactly there (mid-extraction, mid-packaging, mid-rename) rather
//! than at whatever moment a timer hits. Inert unless
//! `PERFSPECT_XTASK_PAUSE_AT` names the point.

use std::time::Duration;

use crate::settings::PAUSE_AT as VAR;

/// Holds the run at `name` (for ten minutes, long enough for any test to
/// signal it) when PERFSPECT_XTASK_PAUSE_AT=`name`; otherwise returns at once.
pub fn point(name: &str) {
    if std::env::var(VAR).is_ok_and(|v| v == name) {
        eprintln!("paused at {name} ({VAR})");
        std::thread::sleep(Duration::from_secs(600));
    }
}
