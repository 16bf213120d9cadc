//! Running the toolbox (lspci, ethtool, smartctl, ipmitool, ...) for the
//! report: each command has a timeout, and a failure comes back as the reason
//! the cells will show ("not available: ethtool not bundled or on PATH").
//!
//! A tool is looked up as perfspect's other tools are (the override directory
//! `tools/<arch>/` beside the binary, then the embedded copy), then on PATH and
//! in /usr/sbin and /sbin (root's tools, absent from a user's PATH).

use super::system::Sys;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a single tool may run before it is killed.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The bundled tools the report runs.
const TOOLBOX: &[&str] = &[
    "lspci",
    crate::tools::PCI_IDS,
    "ethtool",
    "ipmitool",
    "smartctl",
    "intel-speed-select",
];

/// Extracts the report's bundled tools before its groups run them at once
/// (see [`crate::tools::prepare`]).
pub fn prepare(sys: &Sys) {
    if sys.is_real() {
        crate::tools::prepare(TOOLBOX);
    }
}

/// Where `name` is, if anywhere.
pub fn locate(name: &str) -> Option<PathBuf> {
    if let Some(p) = crate::tools::bundled(name) {
        return Some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The standard output of `name args`, or why there is none. A non-zero exit
/// still returns the output when there is some (smartctl's exit status is a
/// bit mask of findings, not a failure).
pub fn run(sys: &Sys, name: &str, args: &[&str]) -> Result<String, String> {
    if !sys.is_real() {
        return Err(format!("{name} not run: reading a saved tree"));
    }
    let Some(path) = locate(name) else {
        return Err(format!("{name} not bundled or on PATH"));
    };
    // lspci's `-i <pci.ids>`: the database perfspect bundles.
    let fixed = crate::tools::fixed_args(name).map_err(|e| format!("{name} not run: {e:#}"))?;
    let mut child = Command::new(path)
        .args(fixed)
        .args(args)
        .env("LC_ALL", "C")
        .env_remove("LANG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{name} could not start: {e}"))?;
    // Read both pipes on their own threads so a chatty tool cannot block.
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.read_to_string(&mut s);
        }
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.read_to_string(&mut s);
        }
        s
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    let out = out_t.join().unwrap_or_default();
    let err = err_t.join().unwrap_or_default();
    match status {
        None => Err(format!("{name} timed out after {} s", TIMEOUT.as_secs())),
        Some(_) if !out.trim().is_empty() => Ok(out),
        // `java -version` and friends answer on stderr.
        Some(st) if st.success() && !err.trim().is_empty() => Ok(err),
        Some(st) => {
            let first = err
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            Err(format!("{name} failed ({st}): {}", first.trim()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_tool_says_so() {
        let e = run(&Sys::new(), "perfspect-no-such-tool", &[]).unwrap_err();
        assert_eq!(e, "perfspect-no-such-tool not bundled or on PATH");
    }

    #[test]
    fn output_and_failure() {
        let sys = Sys::new();
        assert_eq!(run(&sys, "sh", &["-c", "echo hi"]).unwrap(), "hi\n");
        let e = run(&sys, "sh", &["-c", "echo oops >&2; exit 3"]).unwrap_err();
        assert!(e.contains("oops") && e.contains("3"), "{e}");
    }
}
