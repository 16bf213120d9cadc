//! perfspect: Linux performance analysis in one static binary. The commands
//! live here, each a module that reads the system apart from rendering what it
//! read; `main.rs` is the command line over them. A library so that the fuzz
//! targets under `fuzz/` reach the parsers of outside text (/proc, /sys,
//! perf's and fio's output, SMBIOS tables).

pub mod benchmark;
pub mod flamegraph;
pub mod fuzzing;
pub mod metrics;
pub mod os;
pub mod report;
pub mod signals;
pub mod telemetry;
pub mod tools;
pub mod util;

/// The full version string (`PERFSPECT_VERSION` at build time).
pub const VERSION: &str = tools::VERSION;
