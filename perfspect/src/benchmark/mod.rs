//! `perfspect benchmark`: CPU, memory and storage measurements, each part a
//! flag. Measuring lives in one file per part (cpu, memory, storage); this
//! file checks the options, runs the parts chosen and hands the result to
//! the renderer of the format asked for (render).

mod cpu;
mod memory;
mod render;
mod stats;
mod storage;
mod topology;

use crate::util::{self, usage_bail};
use anyhow::Result;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Txt,
    Json,
    Html,
}

/// The `benchmark` subcommand's arguments.
#[derive(clap::Args)]
#[command(after_help = "Parts, each a flag (--all for every one):
  --cpu      integer, floating-point, vector and memory-bound kernels on one CPU and on all:
             a score (geometric mean of the kernels' M ops/s) and per kernel, with the spread
             of --repeat repetitions
  --memory   bandwidth (STREAM-like triad and a read-only stream, all CPUs, per NUMA node) and
             latency (a dependent random pointer chase from 16 KiB to 2x the last-level cache;
             the cache levels show as steps)
  --storage  fio jobs, one after the other on one file of --size bytes in --dir, --runtime
             seconds each:
               randread-4k   4 KiB random read,      queue depth 32
               randwrite-4k  4 KiB random write,     queue depth 32
               seqread-1m    1 MiB sequential read,  queue depth 8
               seqwrite-1m   1 MiB sequential write, queue depth 8
             with ioengine=libaio (psync if unusable), direct=1 (O_DIRECT; 0 where the
             filesystem refuses it), reporting IOPS, bandwidth and completion latency
             mean/p50/p99/p99.9. The file is removed at the end, on failure and on Ctrl-C.")]
pub struct Args {
    /// CPU kernels on one CPU and on all: score and per-kernel rates
    #[arg(long)]
    pub cpu: bool,
    /// Memory bandwidth and latency by working-set size
    #[arg(long)]
    pub memory: bool,
    /// Storage benchmark with fio: 4 KiB random IOPS, 1 MiB sequential bandwidth
    #[arg(long)]
    pub storage: bool,
    /// Every part
    #[arg(long)]
    pub all: bool,
    /// Seconds per timed run of one CPU kernel
    #[arg(long, value_name = "SECS", default_value = "0.1", value_parser = secs)]
    pub cpu_seconds: f64,
    /// Repetitions of each CPU kernel (the spread is over these)
    #[arg(long, value_name = "N", default_value = "5")]
    pub repeat: usize,
    /// Directory on the filesystem to test (a temporary file is created there)
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Size of the storage test file (K, M, G, T suffixes, binary)
    #[arg(long, value_name = "SIZE", default_value = "256M", value_parser = size)]
    pub size: u64,
    /// Seconds per storage job (4 jobs run one after the other)
    #[arg(long, value_name = "SECS", default_value = "5")]
    pub runtime: u64,
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value = "txt")]
    pub format: Format,
}

fn secs(s: &str) -> Result<f64, String> {
    util::parse_seconds(s)
}

fn size(s: &str) -> Result<u64, String> {
    util::parse_size(s)
}

/// Everything one run measured: the JSON output, and what the text and HTML
/// renderers read.
#[derive(Debug, Serialize)]
pub struct Results {
    /// perfspect's version.
    pub perfspect_version: &'static str,
    /// When the run started (UTC, ISO 8601).
    pub started: String,
    /// The `--cpu` part, when run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<cpu::Cpu>,
    /// The `--memory` part, when run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<memory::Memory>,
    /// The `--storage` part, when run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<storage::Storage>,
}

pub fn cmd(a: &Args) -> Result<()> {
    let (run_cpu, run_memory, run_storage) =
        (a.cpu || a.all, a.memory || a.all, a.storage || a.all);
    if !(run_cpu || run_memory || run_storage) {
        usage_bail!("choose a benchmark: --cpu, --memory, --storage, or --all");
    }
    if run_cpu && !(a.cpu_seconds >= 0.01 && a.cpu_seconds <= 60.0) {
        usage_bail!("--cpu-seconds must be between 0.01 and 60");
    }
    if run_cpu && !(1..=100).contains(&a.repeat) {
        usage_bail!("--repeat must be between 1 and 100");
    }
    let st_opts = storage::Options {
        dir: &a.dir,
        size: a.size,
        runtime: a.runtime,
    };
    // Every option is checked before the first part runs.
    let dir = if run_storage {
        Some(storage::validate(&st_opts)?)
    } else {
        None
    };
    let progress = a.format == Format::Txt;
    let mut r = Results {
        perfspect_version: crate::VERSION,
        started: util::now_utc_iso(),
        cpu: None,
        memory: None,
        storage: None,
    };
    if run_cpu {
        r.cpu = Some(cpu::run(a.cpu_seconds, a.repeat, progress));
    }
    if run_memory {
        r.memory = Some(memory::run(progress));
    }
    if let Some(dir) = dir {
        r.storage = Some(storage::run(&st_opts, &dir, progress)?);
    }
    let text = match a.format {
        Format::Txt => render::txt(&r),
        Format::Json => serde_json::to_string_pretty(&r)? + "\n",
        Format::Html => render::html(&r),
    };
    util::print_out(&text)
}
