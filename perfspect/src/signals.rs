//! Ctrl-C / SIGTERM handling and clean-up.
//!
//! SIGINT, SIGTERM and SIGHUP are blocked in every thread and received by one
//! dedicated thread with `sigwait`, so the handling code is ordinary Rust, not
//! an async-signal handler. On a signal it stops the running child (perf or
//! fio: forwards the signal, waits up to 3 s, then SIGKILL), removes every
//! registered path (the private tools directory, benchmark files) and exits
//! with 128 + signal number. Children get an empty signal mask, default
//! actions, their own process group and `PR_SET_PDEATHSIG`, so they also die
//! if perfspect is killed hard.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static CHILD: AtomicI32 = AtomicI32::new(0);
/// Held while spawning, so a signal can't slip between spawn and bookkeeping.
static SPAWN: Mutex<()> = Mutex::new(());
static CLEANUP: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// True if the signal was ignored when perfspect started (`nohup`, or a
/// background job of a non-interactive shell): such a signal stays ignored.
fn inherited_ignore(sig: libc::c_int) -> bool {
    // SAFETY: querying the current action only (act is null).
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise and fill a plain C struct.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in SIGNALS {
            if !inherited_ignore(s) {
                libc::sigaddset(&mut set, s);
            }
        }
        set
    }
}

/// Must be called first in `main`, before any other thread exists.
pub fn install() {
    let set = signal_set();
    // SAFETY: blocking signals in the calling (main) thread; threads spawned
    // later inherit the mask.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return; // keep the default behaviour rather than fail
    }
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            loop {
                let mut sig: libc::c_int = 0;
                // SAFETY: `set` is a valid, initialised signal set.
                if unsafe { libc::sigwait(&set, &mut sig) } == 0 {
                    on_signal(sig);
                }
            }
        });
    if spawned.is_err() {
        // SAFETY: undo the mask so signals keep their default effect.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut()) };
    }
}

fn on_signal(sig: libc::c_int) -> ! {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let _guard = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        stop_child(pid, sig);
    }
    run_cleanup();
    let name = match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        _ => "SIGHUP",
    };
    eprintln!("perfspect: interrupted by {name}, cleaned up");
    std::process::exit(128 + sig);
}

fn stop_child(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: plain syscalls on a pid we spawned and have not reaped (main
    // thread may reap it concurrently: then waitpid reports ECHILD).
    unsafe {
        // The child leads its own process group: stop it and anything it forked.
        libc::kill(-pid, sig);
        libc::kill(pid, sig);
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let mut status = 0;
            let r = libc::waitpid(pid, &mut status, libc::WNOHANG);
            if r != 0 {
                return; // reaped, or not ours any more
            }
            if Instant::now() >= deadline {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// True once a signal arrived (the process is about to exit).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// If a signal arrived, wait here for the signal thread to exit the process,
/// so the main thread doesn't report the child's death as a failure.
pub fn park_if_interrupted() {
    if interrupted() {
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    }
}

/// Removes `path` (file or directory tree) at exit, Ctrl-C included.
pub fn register_cleanup(path: PathBuf) {
    CLEANUP.lock().unwrap_or_else(|e| e.into_inner()).push(path);
}

/// Removes `path` now and forgets it.
pub fn cleanup_now(path: &std::path::Path) {
    let mut list = CLEANUP.lock().unwrap_or_else(|e| e.into_inner());
    remove_path(path);
    list.retain(|p| p != path);
}

/// Removes every registered path. Idempotent.
pub fn run_cleanup() {
    let paths: Vec<PathBuf> =
        std::mem::take(&mut *CLEANUP.lock().unwrap_or_else(|e| e.into_inner()));
    for p in paths.iter().rev() {
        remove_path(p);
    }
}

fn remove_path(p: &std::path::Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(p);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(p);
        }
        Err(_) => {}
    }
}

/// Spawns a child that the signal thread will stop on Ctrl-C.
pub fn spawn_tracked(cmd: &mut Command) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; it runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGTERM as libc::c_ulong,
                0,
                0,
                0,
            );
            // Default actions and an empty mask (ours blocks them for
            // sigwait), so that the signals we forward are not ignored.
            for s in SIGNALS {
                libc::signal(s, libc::SIG_DFL);
            }
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            Ok(())
        });
    }
    // Own process group: a terminal's Ctrl-C reaches only perfspect, which
    // stops the child itself (and can clean up after it).
    cmd.process_group(0);
    let _guard = SPAWN.lock().unwrap_or_else(|e| e.into_inner());
    if interrupted() {
        drop(_guard);
        park_if_interrupted();
    }
    let child = cmd.spawn()?;
    CHILD.store(child.id() as i32, Ordering::SeqCst);
    Ok(child)
}

/// Waits for a child spawned with [`spawn_tracked`].
pub fn wait_tracked(child: &mut Child) -> std::io::Result<std::process::ExitStatus> {
    let r = child.wait();
    park_if_interrupted();
    CHILD.store(0, Ordering::SeqCst);
    r
}
