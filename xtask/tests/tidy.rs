//! Tidy checks as tests, so `cargo test` enforces them: the real linters on
//! the workflows and Dockerfiles, rustfmt, clippy, and no shell scripts. A
//! missing linter fails its test with the command that installs it: nothing
//! here is skipped. The `broken_*` tests feed each linter a file with known
//! faults, proving the same invocation the real check uses can fail.

use std::path::{Path, PathBuf};
use std::process::Output;

use xshell::{Cmd, Shell, cmd};

const SETUP_HINT: &str = "run `cargo xtask setup` to install the linters";

#[test]
fn workflows_pass_actionlint() {
    let sh = &shell();
    let workflows = files_in(&project_root().join(".github/workflows"), |name| {
        name.ends_with(".yml") || name.ends_with(".yaml")
    });
    assert!(!workflows.is_empty(), "no workflow in .github/workflows");
    let out = actionlint(sh, &workflows);
    assert_passed("actionlint", &out);
}

#[test]
fn broken_workflow_fails_actionlint() {
    let sh = &shell();
    let dir = scratch_dir("actionlint");
    let workflow = dir.join("broken.yml");
    sh.write_file(&workflow, BROKEN_WORKFLOW).unwrap();
    let out = actionlint(sh, std::slice::from_ref(&workflow));
    let _ = std::fs::remove_dir_all(&dir);
    let report = text(&out);
    assert!(
        !out.status.success(),
        "actionlint passed a broken workflow:\n{report}"
    );
    for problem in [
        r#"unexpected key "timeout-minute""#,
        r#"property "nope" is not defined"#,
        "shellcheck reported issue",
    ] {
        assert!(
            report.contains(problem),
            "actionlint did not report `{problem}`:\n{report}"
        );
    }
}

#[test]
fn dockerfiles_pass_hadolint() {
    let sh = &shell();
    let out = hadolint(sh, &dockerfiles());
    assert_passed("hadolint", &out);
}

/// `apt-get update` exits 0 when it cannot fetch from the mirror, and the build
/// then fails later on a confusing missing package. Every one in our
/// Dockerfiles must treat a failed fetch as an error and say which mirror.
#[test]
fn every_apt_update_fails_in_one_line_when_the_mirror_is_unreachable() {
    let mut updates = 0;
    for file in dockerfiles() {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.contains("apt-get update") {
                continue;
            }
            updates += 1;
            let next = lines.get(i + 1).copied().unwrap_or("");
            assert!(
                line.contains("apt-get update -q -o APT::Update::Error-Mode=any")
                    && next.contains(
                        "echo \"error: the Debian mirror $DEBIAN_MIRROR is not reachable"
                    ),
                "{}:{}: apt-get update without Error-Mode=any and the one-line error after it",
                file.display(),
                i + 1
            );
        }
    }
    assert_eq!(
        updates, 2,
        "the tools' shared environment (its lists serve every recipe's source fetch) and the builder each update once"
    );
}

#[test]
fn broken_dockerfile_fails_hadolint() {
    let sh = &shell();
    let dir = scratch_dir("hadolint");
    let dockerfile = dir.join("broken.Dockerfile");
    sh.write_file(&dockerfile, BROKEN_DOCKERFILE).unwrap();
    let out = hadolint(sh, std::slice::from_ref(&dockerfile));
    let _ = std::fs::remove_dir_all(&dir);
    let report = text(&out);
    assert!(
        !out.status.success(),
        "hadolint passed a broken Dockerfile:\n{report}"
    );
    // DL3006: unpinned base image; DL3003: `cd` instead of WORKDIR;
    // DL3014: apt-get install without -y. (DL3008, unpinned apt packages, is
    // switched off in .hadolint.yaml, which explains why.)
    for rule in ["DL3006", "DL3003", "DL3014"] {
        assert!(
            report.contains(rule),
            "hadolint did not report {rule}:\n{report}"
        );
    }
}

#[test]
fn cargo_fmt_check() {
    let sh = &shell();
    let cargo = env!("CARGO");
    let out = run(
        cmd!(sh, "{cargo} fmt --all --check"),
        "install rustfmt with `rustup component add rustfmt`",
    );
    assert!(
        out.status.success(),
        "code is not formatted: run `cargo fmt --all`\n{}",
        text(&out)
    );
}

#[test]
fn cargo_clippy_deny_warnings() {
    let sh = &shell();
    let cargo = env!("CARGO");
    // A target directory of its own: clippy then neither holds target/'s
    // build lock against the developer's other cargo commands nor waits on
    // theirs, and its check artifacts stay apart from the test build's.
    let target = project_root().join("target/tidy-clippy");
    let clippy = cmd!(
        sh,
        "{cargo} clippy --workspace --all-targets --quiet -- -D warnings"
    )
    .env("CARGO_TARGET_DIR", &target);
    let out = run(clippy, "install clippy with `rustup component add clippy`");
    assert!(
        out.status.success(),
        "clippy found problems:\n{}",
        text(&out)
    );
}

#[test]
fn no_shell_scripts() {
    let sh = &shell();
    // Untracked files count too, so a new script fails before it is committed.
    let listing = cmd!(
        sh,
        "git ls-files --cached --others --exclude-standard -- *.sh"
    );
    let out = run(listing, "install git");
    assert!(out.status.success(), "git ls-files failed:\n{}", text(&out));
    let scripts = String::from_utf8_lossy(&out.stdout);
    assert!(
        scripts.trim().is_empty(),
        "shell scripts in the tree: make each a step of the xtask instead\n{scripts}"
    );
}

/// Unknown key, a property the matrix does not have, and an unquoted variable
/// shellcheck flags: one fault for each layer actionlint checks.
const BROKEN_WORKFLOW: &str = r#"name: broken
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    timeout-minute: 5
    strategy:
      matrix:
        os: [linux]
    steps:
      - run: echo "${{ matrix.nope }}"
      - run: rm -rf $TARGET/
"#;

const BROKEN_DOCKERFILE: &str = "FROM debian\nRUN cd /x && apt-get install foo\n";

/// actionlint with shellcheck on `run:` blocks. actionlint quietly skips
/// shell checks when shellcheck is missing, so its presence is checked first.
fn actionlint(sh: &Shell, workflows: &[PathBuf]) -> Output {
    run(cmd!(sh, "shellcheck --version"), SETUP_HINT);
    // An empty -pyflakes turns that rule off outright, rather than letting it
    // depend on whether pyflakes happens to be installed.
    run(
        cmd!(sh, "actionlint -no-color -pyflakes= {workflows...}"),
        SETUP_HINT,
    )
}

/// hadolint from the project root, so a `.hadolint.yaml` there applies to the
/// broken example as it does to the real Dockerfiles.
fn hadolint(sh: &Shell, dockerfiles: &[PathBuf]) -> Output {
    run(cmd!(sh, "hadolint --no-color {dockerfiles...}"), SETUP_HINT)
}

/// Runs `cmd` to completion whatever its exit status; fails the test with
/// `hint` when the program cannot be started.
fn run(cmd: Cmd<'_>, hint: &str) -> Output {
    cmd.quiet()
        .ignore_status()
        .output()
        .unwrap_or_else(|err| panic!("{err}: {hint}"))
}

fn assert_passed(linter: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{linter} found problems ({}):\n{}",
        out.status,
        text(out)
    );
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn shell() -> Shell {
    let sh = Shell::new().unwrap();
    sh.change_dir(project_root());
    sh
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Files directly in `dir` and below it whose name passes `keep`, sorted.
/// The Dockerfiles of the tools and builder stages.
fn dockerfiles() -> Vec<PathBuf> {
    let root = project_root();
    let mut dockerfiles = files_in(&root.join("tools"), |name| name.ends_with(".Dockerfile"));
    dockerfiles.extend(files_in(&root.join("builder"), |name| {
        name.ends_with(".Dockerfile")
    }));
    assert!(
        !dockerfiles.is_empty(),
        "no *.Dockerfile under tools/ or builder/"
    );
    dockerfiles
}

fn files_in(dir: &Path, keep: impl Fn(&str) -> bool + Copy) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_in(&path, keep));
        } else if path.file_name().and_then(|n| n.to_str()).is_some_and(keep) {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// A fresh directory for one test's files, unique to this run.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("perfspect-tidy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
