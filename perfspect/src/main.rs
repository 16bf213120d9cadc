//! perfspect's command line: the commands of the library, one variant each.

use clap::{Parser, Subcommand};
use perfspect::util::UsageError;
use perfspect::{VERSION, benchmark, flamegraph, metrics, report, signals, telemetry, tools};
use std::path::PathBuf;

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
    /// CPU utilisation, IPC/CPI, cache and branch miss rates, perf's metric groups (runs perf stat)
    Metrics(metrics::Args),
    /// Benchmarks: CPU, frequency, power, memory bandwidth and latency, storage (fio)
    Benchmark(benchmark::Args),
    /// Time series of CPU, storage, memory, network, frequency and power
    Telemetry(telemetry::Args),
    /// Where CPU time goes: perf stacks drawn as an interactive flame graph
    Flamegraph(flamegraph::Args),
    /// The embedded toolbox: perf, fio, lspci and pci.ids, ethtool, ipmitool, smartctl, ...
    Tools {
        #[command(subcommand)]
        action: ToolsAction,
    },
}

#[derive(Subcommand)]
enum ToolsAction {
    /// Name, version, architecture, size, sha256, source and package of each tool
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

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Report(args) => report::cmd(&args),
        Command::Metrics(args) => metrics::cmd(&args),
        Command::Benchmark(args) => benchmark::cmd(&args),
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
