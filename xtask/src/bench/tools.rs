//! `cargo xtask bench --tools`: what each tool's build costs, and what the
//! cold tools stage costs against the floor of this machine (the CPU seconds
//! of the whole cold build spread over every core).
//!
//! A tool's build alone: its stages only (the shared environment and its
//! source package come from Docker's layer cache), forced to compile by a
//! build argument declared in each of its stages with a new value each time,
//! built from the Dockerfile `cargo tools` would write for it. A recipe edit:
//! `cargo tools` after the same declaration is added to the tool's recipe,
//! the whole stage as a developer sees it (cache verdict, the build,
//! extraction, oss_source.tgz written again, the image).

use std::fs;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::recipe::Recipes;
use crate::toolbox::{ARCHES, TOOLS, Tool};

/// Wall and CPU seconds of one command: CPU from /proc/stat, every core's
/// busy time while it ran (the machine is otherwise idle during a bench).
#[derive(Debug, Clone, Copy)]
pub struct Cost {
    pub wall: f64,
    pub cpu: f64,
}

fn busy_seconds() -> Result<f64> {
    let stat = fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let line = stat.lines().next().context("/proc/stat is empty")?;
    Ok(busy_of(line)? / clock_ticks())
}

/// Busy jiffies of /proc/stat's `cpu` line: user, nice, system, irq,
/// softirq and steal (not idle, not iowait).
pub fn busy_of(line: &str) -> Result<f64> {
    let fields: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse::<f64>())
        .collect::<Result<_, _>>()
        .context("parsing /proc/stat")?;
    if fields.len() < 8 {
        bail!(
            "/proc/stat's cpu line has {} fields, expected 8 or more",
            fields.len()
        );
    }
    Ok(fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7])
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

pub fn measure(f: impl FnOnce() -> Result<()>) -> Result<Cost> {
    let (start, busy) = (Instant::now(), busy_seconds()?);
    f()?;
    Ok(Cost {
        wall: start.elapsed().as_secs_f64(),
        cpu: busy_seconds()? - busy,
    })
}

/// Declares `ARG PERFSPECT_BENCH=<value>` in each of `tool`'s own stages:
/// their RUN steps see a new build argument, so they run again.
pub fn force_compile(dockerfile: &str, tool: &Tool, value: &str) -> String {
    let stages: Vec<String> = ARCHES
        .iter()
        .map(|arch| format!(" AS {}-{arch}", tool.name))
        .collect();
    let mut out = String::new();
    for line in dockerfile.lines() {
        out += line;
        out.push('\n');
        if line.starts_with("FROM ") && stages.iter().any(|s| line.ends_with(s.as_str())) {
            out += &format!("ARG PERFSPECT_BENCH={value}\n");
        }
    }
    out
}

/// A value no earlier run used: nanoseconds since the epoch (one word, so
/// the `ARG` line declares exactly one argument).
fn nonce() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .to_string()
}

/// One tool's build alone, in the bench's copy `copy`.
fn alone(sh: &Shell, copy: &Path, recipes: &Recipes, tool: &'static Tool) -> Result<Cost> {
    let text = recipes.dockerfile(&[tool], &[])?;
    let nonce = nonce();
    let file = copy.join("target/bench/tool.Dockerfile");
    fs::create_dir_all(file.parent().expect("has a parent"))?;
    fs::write(&file, force_compile(&text, tool, &nonce))?;
    let context = copy.join("tools");
    measure(|| {
        crate::docker::build_and_discard(sh, &file, &recipes.build_args(), &context)
            .with_context(|| format!("building {} alone", tool.name))
    })
}

/// `cargo tools` in `copy` after an edit of `tool`'s recipe that makes it
/// compile; the recipe is restored and the cache made whole again after.
fn recipe_edit(sh: &Shell, copy: &Path, cargo: &str, tool: &'static Tool) -> Result<Cost> {
    let path = copy.join("tools").join(tool.recipe());
    let original = fs::read_to_string(&path)?;
    let nonce = nonce();
    fs::write(&path, force_compile(&original, tool, &nonce))?;
    let run = |sh: &Shell| -> Result<()> {
        cmd!(sh, "{cargo} tools")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run()?;
        Ok(())
    };
    let cost = measure(|| run(sh));
    fs::write(&path, original)?;
    run(sh).context("restoring tools-cache/ after the recipe edit")?;
    cost
}

pub struct Figures {
    pub per_tool: Vec<(&'static str, Cost, Cost)>,
}

pub fn run(sh: &Shell, copy: &Path, cargo: &str) -> Result<Figures> {
    let files = crate::tools_cache::read_tree(&copy.join("tools"))?;
    let base = crate::docker::DEFAULT_BASE_IMAGE;
    let recipes = Recipes::new(files, base)?;
    // Everything but the forced stages from the layer cache.
    cmd!(sh, "{cargo} tools")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()?;
    let mut per_tool = Vec::new();
    for tool in &TOOLS {
        eprintln!("bench: {} alone, then its recipe edited", tool.name);
        let a = alone(sh, copy, &recipes, tool)?;
        let e = recipe_edit(sh, copy, cargo, tool)?;
        per_tool.push((tool.name, a, e));
    }
    Ok(Figures { per_tool })
}

pub fn render(figures: &Figures, cold: Option<Cost>) -> String {
    let mut out = format!(
        "{:<20} {:>10} {:>9} {:>12} {:>10}\n",
        "tool", "alone (s)", "CPU (s)", "edited (s)", "goal (s)"
    );
    for (name, alone, edit) in &figures.per_tool {
        let goal = alone.wall + 15.0;
        out += &format!(
            "{name:<20} {:>10.1} {:>9.1} {:>12.1} {:>10.1} {}\n",
            alone.wall,
            alone.cpu,
            edit.wall,
            goal,
            if edit.wall <= goal { "ok" } else { "MISSED" }
        );
    }
    if let Some(cold) = cold {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let floor = cold.cpu / cores;
        out += &format!(
            "cold tools stage: {:.1} s wall, {:.1} CPU s; floor {:.1} s ({cores} cores); ratio {:.2} (goal 1.15, and 420 s)\n",
            cold.wall,
            cold.cpu,
            floor,
            cold.wall / floor
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_stat_busy_time_leaves_out_idle_and_iowait() {
        let line = "cpu  100 5 50 1000 30 2 3 4 0 0";
        assert_eq!(busy_of(line).unwrap(), 164.0);
        assert!(busy_of("cpu 1 2 3").is_err());
    }

    #[test]
    fn only_the_tools_own_stages_are_forced() {
        let text = "FROM env AS fio-source\nRUN fetch\nFROM fio-source AS fio-x86_64\nRUN make\nFROM fio-source AS fio-aarch64\nRUN make\nFROM scratch\n";
        let fio = crate::toolbox::tool("fio").unwrap();
        let forced = force_compile(text, fio, "7");
        assert_eq!(forced.matches("ARG PERFSPECT_BENCH=7\n").count(), 2);
        assert!(forced.contains("AS fio-x86_64\nARG PERFSPECT_BENCH=7\nRUN make"));
        assert!(forced.starts_with("FROM env AS fio-source\nRUN fetch\n"));
    }
}
