//! `cargo xtask bench`: the build's own figures, measured the same way every
//! time (one warm-up, then several counted runs; min / median / max), written
//! to target/bench/bench.json.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::flags;
use crate::package::{self, Docs};

mod tools;

/// Each figure's name and goal; `ratio` figures have no unit.
const GOALS: [(&str, f64); 7] = [
    ("tools_cache_hit_s", 0.3),
    ("dist_nochange_s", 10.0),
    ("dist_edit_s", 60.0),
    ("package_vs_tar_gzip", 1.0),
    ("xtask_build_s", 30.0),
    ("tools_cold_s", 420.0),
    ("dist_cold_s", 480.0),
];

impl flags::Bench {
    pub fn run(self, checkout: &Shell) -> Result<()> {
        let runs = self.runs.max(1);
        // Everything is measured in a copy: an edit, a rebuild or an
        // interruption never touches the checkout.
        let copy = workspace_copy(checkout)?;
        let sh = &Shell::new()?;
        sh.change_dir(&copy);
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut figures: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        let per_tool = if self.tools {
            Some(tools::run(sh, &copy, &cargo)?)
        } else {
            None
        };

        eprintln!("bench: tools_cache_hit_s");
        figures.insert(
            "tools_cache_hit_s",
            repeat(runs, 1, || time(sh, &cargo, &["tools"], &[]))?,
        );
        eprintln!("bench: dist_nochange_s");
        figures.insert(
            "dist_nochange_s",
            repeat(runs, 1, || time(sh, &cargo, &["dist"], &[]))?,
        );
        eprintln!("bench: package_vs_tar_gzip");
        figures.insert("package_vs_tar_gzip", package_ratio(sh, &copy, runs)?);
        eprintln!("bench: dist_edit_s");
        figures.insert("dist_edit_s", dist_edit(sh, &copy, &cargo, runs)?);
        eprintln!("bench: xtask_build_s");
        let xtask_target = copy.join("target/bench/xtask-build");
        let target_arg = xtask_target.display().to_string();
        figures.insert(
            "xtask_build_s",
            repeat(runs, 1, || {
                let _ = fs::remove_dir_all(&xtask_target);
                time(
                    sh,
                    &cargo,
                    &[
                        "build",
                        "--quiet",
                        "--package",
                        "xtask",
                        "--target-dir",
                        &target_arg,
                    ],
                    &[],
                )
            })?,
        );
        let mut cold_tools = None;
        if self.cold {
            let clone = fresh_clone(checkout)?;
            eprintln!("bench: tools_cold_s (one run: several minutes)");
            let env = [(
                "CARGO_MANIFEST_DIR",
                clone.join("xtask").display().to_string(),
            )];
            let xtask = std::env::current_exe()?.display().to_string();
            let cost =
                tools::measure(|| time(sh, &xtask, &["tools", "--no-cache"], &env).map(|_| ()))?;
            cold_tools = Some(cost);
            figures.insert("tools_cold_s", vec![cost.wall]);
            eprintln!("bench: dist_cold_s (one run: several minutes)");
            cmd!(sh, "{xtask} clean-tools-cache")
                .env("CARGO_MANIFEST_DIR", clone.join("xtask"))
                .quiet()
                .run()?;
            figures.insert(
                "dist_cold_s",
                vec![time(sh, &xtask, &["dist", "--no-cache"], &env)?],
            );
        }

        let table = render_table(&figures);
        println!("{table}");
        if per_tool.is_some() || cold_tools.is_some() {
            let empty = tools::Figures { per_tool: vec![] };
            println!(
                "{}",
                tools::render(per_tool.as_ref().unwrap_or(&empty), cold_tools)
            );
        }
        let out = crate::target_dir().join("bench");
        fs::create_dir_all(&out)?;
        fs::write(out.join("bench.json"), to_json(&figures))?;
        eprintln!("bench: wrote target/bench/bench.json");
        let missed = missed_goals(&figures);
        if self.check && !missed.is_empty() {
            bail!("goals missed: {}", missed.join("; "));
        }
        Ok(())
    }
}

/// `warmup` uncounted runs, then `runs` counted ones.
fn repeat(runs: usize, warmup: usize, mut f: impl FnMut() -> Result<f64>) -> Result<Vec<f64>> {
    for _ in 0..warmup {
        f()?;
    }
    (0..runs).map(|_| f()).collect()
}

/// Wall seconds of one command, its output kept only to explain a failure.
fn time(sh: &Shell, program: &str, args: &[&str], env: &[(&str, String)]) -> Result<f64> {
    let mut command = cmd!(sh, "{program} {args...}").quiet().ignore_stdout();
    for (k, v) in env {
        command = command.env(k, v);
    }
    let start = Instant::now();
    let out = command.ignore_status().output()?;
    let elapsed = start.elapsed().as_secs_f64();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        bail!(
            "`{program} {}` failed while benchmarking: {}",
            args.join(" "),
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        );
    }
    Ok(elapsed)
}

/// `cargo dist` after an edit of one perfspect source file (in the copy); the
/// file is restored afterwards, on failure too, and dist/ rebuilt from it.
fn dist_edit(sh: &Shell, copy: &Path, cargo: &str, runs: usize) -> Result<Vec<f64>> {
    let path = copy.join("perfspect/src/main.rs");
    let original = fs::read(&path).context("reading perfspect/src/main.rs")?;
    let mut n = 0;
    let result = repeat(runs, 1, || {
        n += 1;
        let mut edited = original.clone();
        edited.extend_from_slice(format!("\n// bench edit {n}\n").as_bytes());
        fs::write(&path, edited)?;
        time(sh, cargo, &["dist"], &[])
    });
    fs::write(&path, &original).context("restoring perfspect/src/main.rs")?;
    time(sh, cargo, &["dist"], &[]).context("rebuilding dist/ from the restored tree")?;
    result
}

/// In-process packaging of the x86_64 tarball's files over `tar -czf` of the
/// same files, pair by pair.
fn package_ratio(sh: &Shell, copy: &Path, runs: usize) -> Result<Vec<f64>> {
    let root = copy;
    let binary = copy.join("target/dist-build/x86_64-unknown-linux-gnu/release/perfspect");
    let docs = Docs {
        license: fs::read(root.join("LICENSE"))?,
        notice: fs::read(root.join("NOTICE"))?,
        third_party: b"bench".to_vec(),
    };
    let content = fs::read(&binary).context("reading the x86_64 binary: run `cargo dist` first")?;
    let dir = copy.join("target/bench/package");
    let _ = fs::remove_dir_all(&dir);
    let tree = dir.join("perfspect");
    fs::create_dir_all(tree.join("tools/x86_64"))?;
    fs::create_dir_all(tree.join("tools/aarch64"))?;
    fs::write(tree.join("perfspect"), &content)?;
    fs::write(tree.join("LICENSE"), &docs.license)?;
    fs::write(tree.join("NOTICE"), &docs.notice)?;
    fs::write(tree.join("THIRD_PARTY_PROGRAMS"), &docs.third_party)?;
    let tarball = dir.join("tar.tgz");
    repeat(runs, 1, || {
        let start = Instant::now();
        let bytes = package::tgz(&package::entries(fs::read(&binary)?, vec![], &docs), 0)?;
        fs::write(dir.join("ours.tgz"), bytes)?;
        let ours = start.elapsed().as_secs_f64();
        let start = Instant::now();
        cmd!(sh, "tar -czf {tarball} -C {dir} perfspect")
            .quiet()
            .run()?;
        let theirs = start.elapsed().as_secs_f64();
        Ok(ours / theirs)
    })
}

/// The checkout's files (tracked and untracked, not ignored) mirrored into
/// target/bench/work and committed there, with tools-cache/ and the warm
/// build outputs copied the first time. The copy persists between benches so
/// its own target/ stays warm; files that differ are rewritten, files the
/// checkout no longer has removed.
fn workspace_copy(sh: &Shell) -> Result<PathBuf> {
    let root = crate::project_root();
    let dest = crate::target_dir().join("bench/work");
    fs::create_dir_all(&dest)?;
    let listing = cmd!(sh, "git ls-files -z --cached --others --exclude-standard")
        .quiet()
        .read()
        .context("listing the checkout's files with git")?;
    let files: BTreeSet<&str> = listing.split('\0').filter(|p| !p.is_empty()).collect();
    for rel in &files {
        let (src, dst) = (root.join(rel), dest.join(rel));
        let Ok(content) = fs::read(&src) else {
            continue;
        };
        if fs::read(&dst).ok().as_deref() != Some(content.as_slice()) {
            fs::create_dir_all(dst.parent().expect("a file has a parent"))?;
            fs::write(&dst, &content).with_context(|| format!("copying {rel} for the bench"))?;
            fs::set_permissions(&dst, fs::metadata(&src)?.permissions())?;
        }
    }
    let sh_copy = Shell::new()?;
    sh_copy.change_dir(&dest);
    if !dest.join(".git").exists() {
        cmd!(sh_copy, "git init -q").quiet().run()?;
    }
    let tracked = cmd!(sh_copy, "git ls-files -z").quiet().read()?;
    for rel in tracked.split('\0').filter(|p| !p.is_empty()) {
        if !files.contains(rel) {
            let _ = fs::remove_file(dest.join(rel));
        }
    }
    cmd!(sh_copy, "git add -A").quiet().run()?;
    let changed = !cmd!(sh_copy, "git status --porcelain")
        .quiet()
        .read()?
        .is_empty();
    if changed {
        cmd!(
            sh_copy,
            "git -c user.name=bench -c user.email=bench@localhost commit -q --allow-empty -m bench"
        )
        .quiet()
        .run()?;
    }
    let manifest = |dir: &Path| fs::read(dir.join("tools-cache/manifest.json")).ok();
    if manifest(&root) != manifest(&dest) {
        let _ = fs::remove_dir_all(dest.join("tools-cache"));
    }
    for warm in ["tools-cache", "target/dist-build", "target/vendor"] {
        let (src, dst) = (root.join(warm), dest.join(warm));
        if src.is_dir() && !dst.exists() {
            fs::create_dir_all(dst.parent().expect("has a parent"))?;
            cmd!(sh, "cp -a --reflink=auto {src} {dst}").quiet().run()?;
        }
    }
    Ok(dest)
}

/// A copy of HEAD in target/bench/cold, for the cold figures.
fn fresh_clone(sh: &Shell) -> Result<PathBuf> {
    let dest = crate::target_dir().join("bench/cold");
    let _ = fs::remove_dir_all(&dest);
    let root = crate::project_root();
    cmd!(sh, "git clone --quiet --no-hardlinks {root} {dest}")
        .quiet()
        .run()?;
    Ok(dest)
}

pub fn stats(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    (v[0], median, v[v.len() - 1])
}

fn goal(name: &str) -> Option<f64> {
    GOALS.iter().find(|(n, _)| *n == name).map(|(_, g)| *g)
}

pub fn render_table(figures: &BTreeMap<&str, Vec<f64>>) -> String {
    let mut out = format!(
        "{:<22} {:>5} {:>9} {:>9} {:>9} {:>8}  {}\n",
        "figure", "runs", "min", "median", "max", "goal", ""
    );
    for (name, _) in GOALS {
        let Some(values) = figures.get(name) else {
            continue;
        };
        let (min, median, max) = stats(values);
        let goal = goal(name).unwrap_or(f64::INFINITY);
        let verdict = if median <= goal { "ok" } else { "MISSED" };
        out += &format!(
            "{name:<22} {:>5} {min:>9.3} {median:>9.3} {max:>9.3} {goal:>8} {verdict}\n",
            values.len()
        );
    }
    out
}

/// Each figure's median at the top level, the raw runs under `runs`.
pub fn to_json(figures: &BTreeMap<&str, Vec<f64>>) -> String {
    let mut top = serde_json::Map::new();
    let mut runs = serde_json::Map::new();
    let mut goals = serde_json::Map::new();
    for (name, values) in figures {
        top.insert(name.to_string(), stats(values).1.into());
        runs.insert(name.to_string(), values.clone().into());
        goals.insert(name.to_string(), goal(name).into());
    }
    top.insert("runs".into(), runs.into());
    top.insert("goals".into(), goals.into());
    serde_json::to_string_pretty(&serde_json::Value::Object(top)).expect("json always serialises")
        + "\n"
}

pub fn missed_goals(figures: &BTreeMap<&str, Vec<f64>>) -> Vec<String> {
    figures
        .iter()
        .filter_map(|(name, values)| {
            let goal = goal(name)?;
            let median = stats(values).1;
            (median > goal).then(|| format!("{name} median {median:.3} > goal {goal}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_min_median_max() {
        assert_eq!(stats(&[3.0, 1.0, 2.0]), (1.0, 2.0, 3.0));
        assert_eq!(stats(&[4.0, 1.0, 2.0, 3.0]), (1.0, 2.5, 4.0));
    }

    #[test]
    fn json_has_medians_at_top_and_runs_below() {
        let figures = BTreeMap::from([("tools_cache_hit_s", vec![0.3, 0.2, 0.4])]);
        let v: serde_json::Value = serde_json::from_str(&to_json(&figures)).unwrap();
        assert_eq!(v["tools_cache_hit_s"], 0.3);
        assert_eq!(
            v["runs"]["tools_cache_hit_s"],
            serde_json::json!([0.3, 0.2, 0.4])
        );
    }

    #[test]
    fn missed_goals_are_named() {
        let figures = BTreeMap::from([
            ("tools_cache_hit_s", vec![0.9]),
            ("dist_nochange_s", vec![3.0]),
        ]);
        let missed = missed_goals(&figures);
        assert_eq!(missed, ["tools_cache_hit_s median 0.900 > goal 0.3"]);
    }
}
