//! A tool running beside the sampler for the whole duration (turbostat,
//! perf stat): its output lines are collected by reader threads.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running child and the lines it has printed so far (stdout and stderr,
/// in arrival order).
pub struct Running {
    child: Child,
    pub lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

fn reader(src: impl Read + Send + 'static, sink: Arc<Mutex<Vec<String>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(src).lines().map_while(Result::ok) {
            sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    })
}

/// Starts `cmd` in its own process group, dying with perfspect.
pub fn start(mut cmd: Command) -> std::io::Result<Running> {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            );
            for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(s, libc::SIG_DFL);
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            Ok(())
        });
    }
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn()?;
    let lines = Arc::new(Mutex::new(Vec::new()));
    let mut readers = Vec::new();
    if let Some(o) = child.stdout.take() {
        readers.push(reader(o, lines.clone()));
    }
    if let Some(e) = child.stderr.take() {
        readers.push(reader(e, lines.clone()));
    }
    Ok(Running {
        child,
        lines,
        readers,
    })
}

impl Running {
    /// Whether it has exited (it failed early, or finished).
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Asks it to stop with SIGINT (tools print their last interval), waits
    /// up to `grace`, then kills it; returns every line it printed.
    pub fn stop(mut self, grace: Duration) -> Vec<String> {
        let pid = self.child.id() as libc::pid_t;
        if !self.exited() {
            // SAFETY: signalling our own, not yet reaped child.
            unsafe { libc::kill(pid, libc::SIGINT) };
            let deadline = Instant::now() + grace;
            while !self.exited() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        self.snapshot()
    }

    /// The lines so far.
    pub fn snapshot(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
