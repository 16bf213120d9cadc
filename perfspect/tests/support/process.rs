//! Processes of the telemetry and flamegraph tests: a CPU-bound load pinned
//! to one CPU, a C program with a known hot function, waiting with a limit
//! and SIGINT.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The first CPU of this process's affinity mask.
pub fn first_cpu() -> usize {
    // SAFETY: sched_getaffinity fills a plain cpu_set_t.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        assert_eq!(
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set),
            0
        );
        (0..libc::CPU_SETSIZE as usize)
            .find(|c| libc::CPU_ISSET(*c, &set))
            .expect("an allowed CPU")
    }
}

/// Runs `cmd` pinned to `cpu`.
pub fn spawn_pinned(cmd: &mut Command, cpu: usize) -> Child {
    use std::os::unix::process::CommandExt;
    // SAFETY: sched_setaffinity is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.stdin(Stdio::null()).spawn().expect("spawn load")
}

/// Compiles a C program whose hot function is `perfspect_hot_spin`; it spins
/// for the number of seconds given as its argument.
pub fn hot_program(dir: &Path) -> PathBuf {
    let src = dir.join("hot.c");
    std::fs::write(
        &src,
        "#include <stdlib.h>\n#include <time.h>\nvolatile unsigned long sink;\n\
         void perfspect_hot_spin(unsigned long n) { unsigned long x = 0; \
         for (unsigned long i = 0; i < n; i++) x += i * i; sink = x; }\n\
         int main(int argc, char **argv) { time_t end = time(0) + atoi(argv[1]); \
         while (time(0) < end) perfspect_hot_spin(1000000); return 0; }\n",
    )
    .unwrap();
    let exe = dir.join("hot");
    let st = Command::new("gcc")
        .args(["-O1", "-fno-omit-frame-pointer", "-fno-inline", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()
        .expect("gcc (Debian gcc) is needed");
    assert!(st.success());
    exe
}

/// Waits for `child` up to `limit`; kills it and fails past that.
pub fn wait_for(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("perfspect did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn sigint(child: &Child) {
    // SAFETY: signalling our own child.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
}
