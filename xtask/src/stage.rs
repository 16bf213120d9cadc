//! Stage boundaries in the log: one line when a stage starts, one with its duration when it ends.

use std::time::Instant;

use anyhow::Result;

/// Runs `f` as the stage `name`, framing it with a start line and an end line
/// that gives the wall time and the outcome the stage reported.
pub fn run<T>(name: &str, f: impl FnOnce() -> Result<(T, String)>) -> Result<T> {
    eprintln!("==> {name}: started");
    let start = Instant::now();
    match f() {
        Ok((value, outcome)) => {
            eprintln!(
                "==> {name}: done in {:.2} s ({outcome})",
                start.elapsed().as_secs_f64()
            );
            Ok(value)
        }
        Err(err) => {
            eprintln!(
                "==> {name}: failed after {:.2} s",
                start.elapsed().as_secs_f64()
            );
            Err(err)
        }
    }
}
