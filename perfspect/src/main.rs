//! perfspect: Linux performance analysis in one static binary.

mod benchmark;
mod metrics;
mod report;
mod signals;
mod tools;
mod util;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use util::UsageError;

/// The full version string (`PERFSPECT_VERSION` at build time).
pub const VERSION: &str = tools::VERSION;

#[derive(Parser)]
#[command(
    name = "perfspect",
    version = VERSION,
    about = "Linux performance analysis: host report, perf metrics, storage benchmark",
    long_about = None,
    disable_help_subcommand = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Host configuration: system, CPU, memory, storage, network, mitigations
    Report {
        /// Output format; repeat or separate with commas for several
        #[arg(long, short = 'f', value_enum, value_delimiter = ',')]
        format: Vec<report::Format>,
        /// Write report.<format> files into this existing directory instead of stdout
        #[arg(long, short = 'o', value_name = "DIR")]
        output: Option<PathBuf>,
    },
    /// CPU utilisation, IPC/CPI, cache and branch miss rates (runs perf stat)
    #[command(
        after_help = "Counts cycles, instructions, cache-references, cache-misses, branches, \
branch-misses, task-clock, context-switches, cpu-migrations and page-faults with the embedded perf \
(`perf stat -x, -I <ms> -a` or `-p PID`). System-wide CPU utilisation comes from /proc/stat. \
Where the CPU exposes no hardware counters (most virtual machines) the software metrics remain \
and the output says which metrics are unavailable and why. The duration is rounded up to whole \
intervals. Needs root, CAP_PERFMON or kernel.perf_event_paranoid <= 0 for system-wide counting."
    )]
    Metrics {
        /// How long to measure, in seconds
        #[arg(long, short = 'd', default_value = "10", value_name = "SECS", value_parser = secs, allow_negative_numbers = true)]
        duration: f64,
        /// Length of one reporting interval, in seconds
        #[arg(long, short = 'i', default_value = "1", value_name = "SECS", value_parser = secs, allow_negative_numbers = true)]
        interval: f64,
        /// Measure this process instead of the whole system
        #[arg(long, short = 'p', value_name = "PID")]
        pid: Option<u32>,
        /// Output format
        #[arg(long, short = 'f', value_enum, default_value = "txt")]
        format: metrics::Format,
    },
    /// Benchmarks: CPU kernels, memory bandwidth and latency, storage (fio)
    Benchmark(benchmark::Args),
    /// The embedded perf and fio
    Tools {
        #[command(subcommand)]
        action: ToolsAction,
    },
}

#[derive(Subcommand)]
enum ToolsAction {
    /// Name, version, architecture, size, sha256 and source of each tool
    List {
        /// Output format
        #[arg(long, short = 'f', value_enum, default_value = "txt")]
        format: ListFormat,
    },
    /// Write the tools into an existing directory
    Extract {
        /// Destination directory
        dir: PathBuf,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ListFormat {
    Txt,
    Json,
}

fn secs(s: &str) -> Result<f64, String> {
    util::parse_seconds(s)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Report { format, output } => report::cmd(&format, output.as_deref()),
        Command::Metrics {
            duration,
            interval,
            pid,
            format,
        } => metrics::cmd(&metrics::Options {
            duration,
            interval,
            pid,
            format,
        }),
        Command::Benchmark(args) => benchmark::cmd(&args),
        Command::Tools { action } => match action {
            ToolsAction::List { format } => tools::cmd_list(format == ListFormat::Json),
            ToolsAction::Extract { dir } => tools::cmd_extract(&dir),
        },
    }
}

/// clap's multi-line error, as one line: "error: invalid value 'x' for
/// '--format <FORMAT>' [possible values: txt, json, html]".
fn one_line(err: &clap::Error) -> String {
    let text = err.to_string();
    let mut parts: Vec<&str> = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() {
            if parts.is_empty() {
                continue;
            }
            break;
        }
        parts.push(l);
    }
    let joined = parts.join(" ");
    if joined.starts_with("error:") {
        joined
    } else {
        format!("error: {joined}")
    }
}

fn main() {
    signals::install();
    let code = match Cli::try_parse() {
        Err(e) => match e.kind() {
            clap::error::ErrorKind::DisplayHelp
            | clap::error::ErrorKind::DisplayVersion
            | clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    2
                } else {
                    0
                }
            }
            _ => {
                eprintln!("{}", one_line(&e));
                2
            }
        },
        Ok(cli) => match run(cli) {
            Ok(()) => 0,
            Err(e) => {
                signals::park_if_interrupted();
                eprintln!("error: {e:#}");
                if e.downcast_ref::<UsageError>().is_some() {
                    2
                } else {
                    1
                }
            }
        },
    };
    signals::run_cleanup();
    std::process::exit(code);
}
