//! `perfspect benchmark`: CPU, memory and storage measurements, each part a
//! flag. Measuring lives in one file per part (cpu, memory, storage); this
//! file checks the options, runs the parts chosen and hands the result to
//! the renderer of the format asked for (render).

mod cpu;
mod frequency;
mod memory;
pub(crate) mod power;
mod render;
mod stats;
pub(crate) mod storage;
mod topology;

/// The rule a latency step is put down to a cache by (its tests use it too).
pub use memory::explains as latency_step_explained_by;

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
  --frequency (x86_64) dependent-add chains, scalar, AVX2 and AVX-512 where present, on 1, 2,
             ... all CPUs: GHz from the chain's rate per CPU-second, and the APERF/MPERF ratio
             where /dev/cpu/N/msr is readable
  --power    (x86_64) package and DRAM power and package temperature from turbostat, idle and
             while the --cpu kernels run on every CPU; turbostat is taken from tools/<arch>/
             next to the binary, the embedded copy or PATH, and missing values say why
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
    /// Achieved frequency by active cores with scalar, AVX2 and AVX-512 loops (x86_64)
    #[arg(long)]
    pub frequency: bool,
    /// Package and DRAM power and temperature, idle and under load, from turbostat (x86_64)
    #[arg(long)]
    pub power: bool,
    /// Seconds of each power phase (idle, load)
    #[arg(long, value_name = "SECS", default_value = "2", value_parser = secs)]
    pub power_seconds: f64,
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
    /// The `--frequency` part, when run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency: Option<frequency::Frequency>,
    /// The `--power` part, when run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power: Option<power::Power>,
    /// The `--memory` part, when run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<memory::Memory>,
    /// The `--storage` part, when run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<storage::Storage>,
}

pub fn cmd(a: &Args) -> Result<()> {
    let x86 = cfg!(target_arch = "x86_64");
    let (run_cpu, run_memory, run_storage) =
        (a.cpu || a.all, a.memory || a.all, a.storage || a.all);
    // --all runs the x86-only parts where they exist.
    let run_frequency = a.frequency || (a.all && x86);
    let run_power = a.power || (a.all && x86);
    if !(run_cpu || run_frequency || run_power || run_memory || run_storage) {
        usage_bail!(
            "choose a benchmark: --cpu, --frequency, --power, --memory, --storage, or --all"
        );
    }
    if (run_frequency || run_power) && !x86 {
        usage_bail!(
            "--frequency and --power measure x86_64 interfaces; this is {}",
            std::env::consts::ARCH
        );
    }
    if run_power && !(a.power_seconds >= 1.0 && a.power_seconds <= 600.0) {
        usage_bail!("--power-seconds must be between 1 and 600");
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
        frequency: None,
        power: None,
        memory: None,
        storage: None,
    };
    if run_cpu {
        r.cpu = Some(cpu::run(a.cpu_seconds, a.repeat, progress));
    }
    if run_frequency {
        r.frequency = Some(frequency::run(0.2, progress));
    }
    if run_power {
        r.power = Some(power::run(a.power_seconds, progress));
    }
    if run_memory {
        r.memory = Some(memory::run(progress));
    }
    if let Some(dir) = dir {
        r.storage = Some(storage::run(&st_opts, &dir, progress)?);
    }
    let text = render::renderer(a.format).render(&r)?;
    util::print_out(&text)
}
