//! perfspect: Linux performance analysis in one static binary.

mod benchmark;
mod flamegraph;
mod metrics;
mod os;
mod report;
mod signals;
mod telemetry;
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
    Report(report::Args),
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
    /// Storage benchmark with fio: 4 KiB random IOPS, 1 MiB sequential bandwidth
    #[command(
        after_help = "Jobs, run one after the other on one file of --size bytes in --dir, \
--runtime seconds each:
  randread-4k   4 KiB random read,      queue depth 32
  randwrite-4k  4 KiB random write,     queue depth 32
  seqread-1m    1 MiB sequential read,  queue depth 8
  seqwrite-1m   1 MiB sequential write, queue depth 8
with ioengine=libaio (psync if unusable), direct=1 (O_DIRECT; 0 where the filesystem refuses it), \
reporting IOPS, bandwidth and completion latency mean/p50/p99/p99.9. The file is removed at the \
end, on failure and on Ctrl-C."
    )]
    Benchmark {
        /// Run the storage benchmark
        #[arg(long)]
        storage: bool,
        /// Directory on the filesystem to test (a temporary file is created there)
        #[arg(long, value_name = "DIR", default_value = ".")]
        dir: PathBuf,
        /// Size of the test file (K, M, G, T suffixes, binary)
        #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = size)]
        size: u64,
        /// Seconds per job (4 jobs run one after the other)
        #[arg(long, value_name = "SECS", default_value = "5")]
        runtime: u64,
        /// Output format
        #[arg(long, short = 'f', value_enum, default_value = "txt")]
        format: benchmark::Format,
    },
    /// Time series of CPU, storage, memory, network, frequency and power
    Telemetry(telemetry::Args),
    /// Where CPU time goes: perf stacks drawn as an interactive flame graph
    Flamegraph(flamegraph::Args),
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

fn size(s: &str) -> Result<u64, String> {
    util::parse_size(s)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Report(args) => report::cmd(&args),
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
        Command::Benchmark {
            storage,
            dir,
            size,
            runtime,
            format,
        } => benchmark::cmd(&benchmark::Options {
            storage,
            dir,
            size,
            runtime,
            format,
        }),
        Command::Telemetry(a) => telemetry::cmd(&a),
        Command::Flamegraph(a) => flamegraph::cmd(&a),
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
