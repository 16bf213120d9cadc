//! The storage part (`--storage`): a fixed fio job set on one file.
//!
//! The jobs (run one after the other, `stonewall`, on a single file of
//! `--size` bytes in `--dir`, each for `--runtime` seconds, time based):
//!
//! | job          | pattern                 | block | queue depth | reports            |
//! |--------------|-------------------------|-------|-------------|--------------------|
//! | randread-4k  | random read             | 4 KiB | 32          | IOPS, latency      |
//! | randwrite-4k | random write            | 4 KiB | 32          | IOPS, latency      |
//! | seqread-1m   | sequential read         | 1 MiB | 8           | bandwidth, latency |
//! | seqwrite-1m  | sequential write        | 1 MiB | 8           | bandwidth, latency |
//!
//! Common settings: `ioengine=libaio` (falls back to `psync` if unusable),
//! `direct=1` (O_DIRECT; `0` when the filesystem refuses O_DIRECT, said in the
//! output), `norandommap`, `end_fsync=1` for writes, completion-latency
//! percentiles p50/p99/p99.9. fio writes `--output-format=json` to a file in
//! the private directory; the data file is removed at the end, on failure and
//! on Ctrl-C.

use crate::report::parse as sysparse;
use crate::signals;
use crate::tools;
use crate::util::{self, human_bytes, usage_bail};
use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

pub struct JobSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub rw: &'static str,
    pub bs: u64,
    pub iodepth: u32,
}

pub const JOBS: [JobSpec; 4] = [
    JobSpec {
        name: "randread-4k",
        description: "4 KiB random read",
        rw: "randread",
        bs: 4096,
        iodepth: 32,
    },
    JobSpec {
        name: "randwrite-4k",
        description: "4 KiB random write",
        rw: "randwrite",
        bs: 4096,
        iodepth: 32,
    },
    JobSpec {
        name: "seqread-1m",
        description: "1 MiB sequential read",
        rw: "read",
        bs: 1 << 20,
        iodepth: 8,
    },
    JobSpec {
        name: "seqwrite-1m",
        description: "1 MiB sequential write",
        rw: "write",
        bs: 1 << 20,
        iodepth: 8,
    },
];

pub const MIN_SIZE: u64 = 16 << 20;

/// fio's `--output-format=json` document: the parts perfspect reads.
#[derive(Debug, Deserialize)]
struct FioJson {
    #[serde(rename = "fio version")]
    version: Option<String>,
    jobs: Vec<FioJob>,
}

#[derive(Debug, Deserialize)]
struct FioJob {
    #[serde(default)]
    jobname: String,
    #[serde(default)]
    error: i64,
    #[serde(default)]
    read: FioSide,
    #[serde(default)]
    write: FioSide,
}

/// One direction (read or write) of a fio job.
#[derive(Debug, Default, Deserialize)]
struct FioSide {
    #[serde(default)]
    io_bytes: u64,
    #[serde(default)]
    iops: f64,
    /// Bytes per second (fio 3.x); older fio only has `bw` in KiB/s.
    bw_bytes: Option<f64>,
    #[serde(default)]
    bw: f64,
    /// Milliseconds.
    #[serde(default)]
    runtime: u64,
    clat_ns: Option<FioClat>,
}

#[derive(Debug, Default, Deserialize)]
struct FioClat {
    mean: Option<f64>,
    /// Percentile ("99.000000") -> nanoseconds.
    #[serde(default)]
    percentile: BTreeMap<String, f64>,
}

impl FioClat {
    fn percentile(&self, p: f64) -> Option<f64> {
        self.percentile
            .iter()
            .find(|(k, _)| k.parse::<f64>().is_ok_and(|x| (x - p).abs() < 1e-6))
            .map(|(_, v)| *v)
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobResult {
    pub name: String,
    /// "read" or "write": the direction that did the I/O.
    pub direction: String,
    pub iops: f64,
    pub bw_bytes: f64,
    pub io_bytes: u64,
    pub runtime_ms: u64,
    pub lat_mean_ns: Option<f64>,
    pub p50_ns: Option<f64>,
    pub p99_ns: Option<f64>,
    pub p999_ns: Option<f64>,
    pub error: i64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FioOutput {
    pub version: Option<String>,
    pub jobs: Vec<JobResult>,
}

/// Parses fio's `--output-format=json` output. Text before the first `{`
/// (fio's warnings, when they go to the same stream) is skipped.
pub fn parse_fio_json(text: &str) -> Result<FioOutput> {
    let start = text
        .find('{')
        .ok_or_else(|| anyhow!("fio printed no JSON"))?;
    let doc: FioJson = serde_json::from_str(&text[start..])
        .context("fio's JSON output is not what fio 3 writes")?;
    let jobs = doc
        .jobs
        .into_iter()
        .map(|j| {
            let (direction, s) = if j.write.io_bytes > j.read.io_bytes {
                ("write", j.write)
            } else {
                ("read", j.read)
            };
            let clat = s.clat_ns.unwrap_or_default();
            JobResult {
                name: if j.jobname.is_empty() {
                    "?".into()
                } else {
                    j.jobname
                },
                direction: direction.to_string(),
                iops: s.iops,
                bw_bytes: s.bw_bytes.unwrap_or(s.bw * 1024.0),
                io_bytes: s.io_bytes,
                runtime_ms: s.runtime,
                lat_mean_ns: clat.mean.filter(|_| s.io_bytes > 0),
                p50_ns: clat.percentile(50.0),
                p99_ns: clat.percentile(99.0),
                p999_ns: clat.percentile(99.9),
                error: j.error,
            }
        })
        .collect();
    Ok(FioOutput {
        version: doc
            .version
            .map(|v| v.trim_start_matches("fio-").to_string()),
        jobs,
    })
}

/// The fio command line (after the binary) for the job set.
pub fn fio_args(
    dir: &Path,
    file: &str,
    size: u64,
    runtime: u64,
    engine: &str,
    direct: bool,
    output: &Path,
) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "--output-format=json".into(),
        format!("--output={}", output.display()),
        "--eta=never".into(),
        // Threads, not processes: stopping fio stops every job.
        "--thread".into(),
        format!("--directory={}", dir.display()),
        format!("--filename={file}"),
        format!("--size={size}"),
        format!("--runtime={runtime}"),
        "--time_based=1".into(),
        format!("--ioengine={engine}"),
        format!("--direct={}", u8::from(direct)),
        "--percentile_list=50:99:99.9".into(),
        "--norandommap=1".into(),
        "--randrepeat=0".into(),
        "--group_reporting=1".into(),
    ];
    for j in &JOBS {
        a.push(format!("--name={}", j.name));
        a.push(format!("--rw={}", j.rw));
        a.push(format!("--bs={}", j.bs));
        a.push(format!("--iodepth={}", j.iodepth));
        a.push("--stonewall".into());
        if j.rw.contains("write") {
            a.push("--end_fsync=1".into());
        }
    }
    a
}

/// What the storage part needs from the command line.
pub struct Options<'a> {
    pub dir: &'a Path,
    pub size: u64,
    pub runtime: u64,
}

fn c_path(p: &Path) -> Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    Ok(std::ffi::CString::new(p.as_os_str().as_bytes())?)
}

/// Bytes available to unprivileged users in the filesystem of `dir`.
fn free_space(dir: &Path) -> Result<u64> {
    let fs = crate::os::statvfs(dir).with_context(|| format!("statvfs {}", dir.display()))?;
    Ok(fs.available)
}

/// Whether files in `dir` can be opened with O_DIRECT.
fn supports_direct(dir: &Path) -> Result<bool> {
    let probe = dir.join(format!(".perfspect-direct-{}", util::random_hex(6)?));
    signals::register_cleanup(probe.clone());
    let c = c_path(&probe)?;
    // SAFETY: open/close on a path we own.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_DIRECT | libc::O_CLOEXEC,
            0o600,
        )
    };
    let err = std::io::Error::last_os_error();
    if fd >= 0 {
        // SAFETY: fd was just opened.
        unsafe { libc::close(fd) };
    }
    signals::cleanup_now(&probe);
    if fd >= 0 {
        return Ok(true);
    }
    match err.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => Ok(false),
        _ => Err(err).with_context(|| format!("cannot create a file in {}", dir.display())),
    }
}

/// (filesystem type, device) of the mount holding `dir`.
fn filesystem_of(dir: &Path) -> Option<(String, String)> {
    let mounts = sysparse::parse_mounts(&std::fs::read_to_string("/proc/self/mounts").ok()?);
    mounts
        .into_iter()
        .filter(|(_, m, _, _)| dir.starts_with(m))
        .max_by_key(|(_, m, _, _)| m.len())
        .map(|(d, _, t, _)| (t, d))
}

/// Checks the storage options before any part runs; returns the directory, resolved.
pub fn validate(o: &Options) -> Result<PathBuf> {
    if o.runtime == 0 || o.runtime > 3600 {
        usage_bail!("--runtime must be between 1 and 3600 seconds");
    }
    if o.size < MIN_SIZE {
        usage_bail!("--size must be at least {}", human_bytes(MIN_SIZE));
    }
    util::check_writable_dir(o.dir, "directory")?;
    let dir = std::fs::canonicalize(o.dir)
        .with_context(|| format!("cannot resolve {}", o.dir.display()))?;
    let free = free_space(&dir)?;
    if free < o.size {
        usage_bail!(
            "not enough free space in {}: --size {} needs {}, only {} available",
            dir.display(),
            human_bytes(o.size),
            human_bytes(o.size),
            human_bytes(free)
        );
    }
    Ok(dir)
}

struct FioRun {
    ok: bool,
    status: String,
    stderr: String,
    output: Option<String>,
}

fn run_fio(args: &[String], output: &Path) -> Result<FioRun> {
    let mut cmd = tools::command("fio")?;
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = signals::spawn_tracked(&mut cmd).context("cannot start fio")?;
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let status = signals::wait_tracked(&mut child).context("waiting for fio")?;
    Ok(FioRun {
        ok: status.success(),
        status: status.to_string(),
        stderr: err,
        output: std::fs::read_to_string(output).ok(),
    })
}

/// The storage part's result, as written in the JSON output.
#[derive(Debug, Serialize)]
pub struct Storage {
    /// fio's version and where it came from (embedded, override, PATH).
    pub fio: FioInfo,
    /// The directory tested.
    pub directory: String,
    /// Its filesystem type, from /proc/self/mounts.
    pub filesystem: Option<String>,
    /// The device that filesystem is mounted from.
    pub device: Option<String>,
    /// Size of the test file.
    pub size_bytes: u64,
    /// Seconds per job.
    pub runtime_s: u64,
    /// fio's ioengine: libaio, or psync where libaio is unusable.
    pub ioengine: String,
    /// Whether O_DIRECT was used (page cache bypassed).
    pub direct: bool,
    /// One entry per job, in the order they ran.
    pub jobs: Vec<Job>,
    /// Anything that changed how the jobs ran.
    pub notes: Vec<String>,
    /// Seconds the part took, fio's start-up included.
    pub duration_s: f64,
}

#[derive(Debug, Serialize)]
pub struct FioInfo {
    /// fio's version, from its JSON.
    pub version: Option<String>,
    /// Where the fio binary came from.
    pub source: String,
}

#[derive(Debug, Serialize)]
pub struct Job {
    /// Job name, e.g. `randread-4k`.
    pub name: &'static str,
    /// What the job does.
    pub description: &'static str,
    /// fio's `rw` setting.
    pub rw: &'static str,
    /// Bytes per I/O.
    pub block_size_bytes: u64,
    /// I/Os in flight.
    pub iodepth: u32,
    /// `read` or `write`: the direction that did the I/O.
    pub direction: String,
    /// I/O operations per second.
    pub iops: f64,
    /// Bytes per second.
    pub bandwidth_bytes_per_s: u64,
    /// Bytes moved in the job.
    pub io_bytes: u64,
    /// Milliseconds the job ran.
    pub runtime_ms: u64,
    /// Completion latency per I/O, microseconds.
    pub latency_us: Latency,
}

/// Completion latency (fio's clat), microseconds; null where fio gave none.
#[derive(Debug, Serialize)]
pub struct Latency {
    pub mean: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p99_9: Option<f64>,
}

/// Runs the four jobs on a directory checked by [`validate`].
pub fn run(o: &Options, dir: &Path, progress: bool) -> Result<Storage> {
    let started = Instant::now();
    let fio_source = tools::find("fio")
        .map(|s| s.describe())
        .ok_or_else(|| anyhow::Error::new(util::UsageError(tools::no_tools_message("fio"))))?;
    tools::get("fio")?;
    let direct = supports_direct(dir)?;
    let mut notes = Vec::new();
    if !direct {
        notes.push(
            "the filesystem refuses O_DIRECT: ran with direct=0, so reads and writes go through the page cache"
                .to_string(),
        );
    }
    let fs = filesystem_of(dir);
    let file = format!("perfspect-fio-{}.dat", util::random_hex(8)?);
    let data_path = dir.join(&file);
    let output = tools::session_dir()?.join("fio.json");
    // Registered before fio can create it.
    signals::register_cleanup(data_path.clone());

    if progress {
        eprintln!(
            "storage: {} fio jobs of {} s each on a {} file in {} ...",
            JOBS.len(),
            o.runtime,
            human_bytes(o.size),
            dir.display()
        );
    }
    let mut engine = "libaio";
    let mut run = run_fio(
        &fio_args(dir, &file, o.size, o.runtime, engine, direct, &output),
        &output,
    )?;
    if !run.ok
        && (run.stderr.contains("libaio")
            || run.stderr.contains("io_setup")
            || run.stderr.contains("ioengine"))
    {
        engine = "psync";
        notes.push("libaio is unusable here: ran with ioengine=psync (queue depth 1)".into());
        let _ = std::fs::remove_file(&output);
        run = run_fio(
            &fio_args(dir, &file, o.size, o.runtime, engine, direct, &output),
            &output,
        )?;
    }
    signals::cleanup_now(&data_path);
    if !run.ok {
        let msg: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(3)
            .collect();
        bail!(
            "fio failed ({}): {}",
            run.status,
            if msg.is_empty() {
                "no message".into()
            } else {
                msg.join(" / ")
            }
        );
    }
    let parsed = parse_fio_json(run.output.as_deref().unwrap_or_default())?;
    if let Some(bad) = parsed.jobs.iter().find(|j| j.error != 0) {
        bail!(
            "fio job {} failed with error {}: {}",
            bad.name,
            bad.error,
            run.stderr.trim()
        );
    }
    let us = |v: Option<f64>| {
        v.filter(|x| x.is_finite())
            .map(|n| util::round(n / 1000.0, 3))
    };
    let jobs = JOBS
        .iter()
        .filter_map(|spec| {
            let r = parsed.jobs.iter().find(|j| j.name == spec.name)?;
            Some(Job {
                name: spec.name,
                description: spec.description,
                rw: spec.rw,
                block_size_bytes: spec.bs,
                iodepth: spec.iodepth,
                direction: r.direction.clone(),
                iops: util::round(r.iops, 1),
                bandwidth_bytes_per_s: r.bw_bytes.round() as u64,
                io_bytes: r.io_bytes,
                runtime_ms: r.runtime_ms,
                latency_us: Latency {
                    mean: us(r.lat_mean_ns),
                    p50: us(r.p50_ns),
                    p99: us(r.p99_ns),
                    p99_9: us(r.p999_ns),
                },
            })
        })
        .collect();
    Ok(Storage {
        fio: FioInfo {
            version: parsed.version,
            source: fio_source,
        },
        directory: dir.display().to_string(),
        filesystem: fs.as_ref().map(|(t, _)| t.clone()),
        device: fs.map(|(_, d)| d),
        size_bytes: o.size,
        runtime_s: o.runtime,
        ioengine: engine.to_string(),
        direct,
        jobs,
        notes,
        duration_s: util::round(started.elapsed().as_secs_f64(), 2),
    })
}

pub fn fmt_lat(ns: Option<f64>) -> String {
    match ns {
        None => "-".into(),
        Some(n) if n < 1_000.0 => format!("{n:.0} ns"),
        Some(n) if n < 1_000_000.0 => format!("{:.1} us", n / 1e3),
        Some(n) => format!("{:.2} ms", n / 1e6),
    }
}

pub fn fmt_bw(b: f64) -> String {
    if b >= (1u64 << 30) as f64 {
        format!("{:.2} GiB/s", b / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB/s", b / (1u64 << 20) as f64)
    }
}

/// The storage section of the text output.
pub fn render_txt(st: &Storage) -> String {
    let mut s = String::new();
    let fs = match (&st.filesystem, &st.device) {
        (Some(t), Some(d)) => format!(" ({t} on {d})"),
        _ => String::new(),
    };
    let _ = writeln!(
        s,
        "storage: {}{fs}, {} file, {} s per job, fio {} ({})",
        st.directory,
        human_bytes(st.size_bytes),
        st.runtime_s,
        st.fio.version.as_deref().unwrap_or("unknown"),
        st.fio.source
    );
    let _ = writeln!(
        s,
        "settings: ioengine={}, direct={}{}\n",
        st.ioengine,
        u8::from(st.direct),
        if st.direct {
            " (O_DIRECT: page cache bypassed)"
        } else {
            ""
        }
    );
    let ns = |us: Option<f64>| fmt_lat(us.map(|u| u * 1000.0));
    let rows: Vec<Vec<String>> = st
        .jobs
        .iter()
        .map(|r| {
            vec![
                r.name.to_string(),
                format!("{} QD{}", r.description, r.iodepth),
                format!("{:.0}", r.iops),
                fmt_bw(r.bandwidth_bytes_per_s as f64),
                ns(r.latency_us.mean),
                ns(r.latency_us.p50),
                ns(r.latency_us.p99),
                ns(r.latency_us.p99_9),
            ]
        })
        .collect();
    s.push_str(&util::text_table(
        &[
            "JOB",
            "PATTERN",
            "IOPS",
            "BANDWIDTH",
            "LAT MEAN",
            "P50",
            "P99",
            "P99.9",
        ],
        &rows,
        &[false, false, true, true, true, true, true, true],
    ));
    s.push_str("\nlatency: completion latency (clat) per I/O\n");
    for n in &st.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIO: &str = include_str!("../../tests/data/fio-3.33-x86_64-libaio.json");

    #[test]
    fn fio_capture() {
        let f = parse_fio_json(FIO).unwrap();
        assert_eq!(f.version.as_deref(), Some("3.33"));
        let names: Vec<&str> = f.jobs.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(names, JOBS.iter().map(|j| j.name).collect::<Vec<_>>());
        let rr = &f.jobs[0];
        assert_eq!(rr.direction, "read");
        assert!((rr.iops - 115_521.478_521).abs() < 1e-6);
        assert_eq!(rr.bw_bytes, 473_175_976.0);
        assert_eq!(rr.p50_ns, Some(238_592.0));
        assert_eq!(rr.p99_ns, Some(1_073_152.0));
        assert_eq!(rr.p999_ns, Some(4_227_072.0));
        assert!(rr.lat_mean_ns.unwrap() > 0.0);
        assert_eq!(rr.error, 0);
        let sw = &f.jobs[3];
        assert_eq!(sw.direction, "write");
        assert!((sw.iops - 1826.693227).abs() < 1e-6);
        assert_eq!(sw.p999_ns, Some(61_079_552.0));
        assert!(f.jobs.iter().all(|j| j.io_bytes > 0 && j.runtime_ms > 0));
    }

    #[test]
    fn fio_noise_and_errors() {
        let noisy = format!("fio: some warning\n{FIO}");
        assert_eq!(parse_fio_json(&noisy).unwrap().jobs.len(), 4);
        assert!(parse_fio_json("fio: engine libaio not loadable").is_err());
        assert!(parse_fio_json("{\"jobs\": 3}").is_err());
        let minimal = r#"{"jobs":[{"jobname":"x","error":5,"read":{"io_bytes":0},"write":{"io_bytes":4096,"iops":1.0,"bw":4}}]}"#;
        let f = parse_fio_json(minimal).unwrap();
        assert_eq!(f.jobs[0].error, 5);
        assert_eq!(f.jobs[0].direction, "write");
        assert_eq!(f.jobs[0].bw_bytes, 4096.0);
        assert_eq!(f.jobs[0].p50_ns, None);
        assert_eq!(f.version, None);
    }

    #[test]
    fn job_arguments() {
        let a = fio_args(
            Path::new("/data"),
            "f.dat",
            1 << 28,
            5,
            "libaio",
            true,
            Path::new("/p/out.json"),
        );
        assert!(a.contains(&"--output-format=json".to_string()));
        assert!(a.contains(&"--size=268435456".to_string()));
        assert!(a.contains(&"--direct=1".to_string()));
        assert!(a.contains(&"--thread".to_string()));
        assert_eq!(a.iter().filter(|x| *x == "--stonewall").count(), 4);
        assert_eq!(a.iter().filter(|x| *x == "--end_fsync=1").count(), 2);
        assert!(a.contains(&"--percentile_list=50:99:99.9".to_string()));
    }

    #[test]
    fn latency_format() {
        assert_eq!(fmt_lat(None), "-");
        assert_eq!(fmt_lat(Some(950.0)), "950 ns");
        assert_eq!(fmt_lat(Some(238_592.0)), "238.6 us");
        assert_eq!(fmt_lat(Some(4_227_072.0)), "4.23 ms");
    }
}
