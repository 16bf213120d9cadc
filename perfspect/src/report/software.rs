//! The Software group's version table: the host's compilers, C library,
//! interpreters and crypto library, as found on PATH.

use super::model::{Section, Table, Val};
use super::probe;
use super::system::Sys;

/// Row label, command, arguments.
const PROGRAMS: &[(&str, &str, &[&str])] = &[
    ("GCC", "gcc", &["--version"]),
    ("Binutils (ld)", "ld", &["--version"]),
    ("GLIBC", "ldd", &["--version"]),
    ("Python", "python", &["--version"]),
    ("Python 3", "python3", &["--version"]),
    ("Java", "java", &["-version"]),
    ("OpenSSL", "openssl", &["version"]),
];

/// The first version-like token of the first line: "gcc (Debian 12.2.0-14)
/// 12.2.0" -> "12.2.0"; `openjdk version "17.0.2" 2022-01-18` -> "17.0.2".
pub fn version_of(text: &str) -> Option<String> {
    let line = text.lines().find(|l| !l.trim().is_empty())?;
    line.split(|c: char| c.is_whitespace() || c == '"' || c == '(' || c == ')')
        .map(|t| {
            t.chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect::<String>()
        })
        .find(|t| t.contains('.') && t.starts_with(|c: char| c.is_ascii_digit()))
        .map(|t| t.trim_end_matches('.').to_string())
}

pub fn software(sys: &Sys) -> Section {
    let results: Vec<Result<String, String>> = std::thread::scope(|sc| {
        let handles: Vec<_> = PROGRAMS
            .iter()
            .map(|(_, cmd, args)| sc.spawn(move || probe::run(sys, cmd, args)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err("probe panicked".into())))
            .collect()
    });
    let mut t = Table::new(
        "software_versions",
        "Software versions",
        &[
            ("name", "Software"),
            ("version", "Version"),
            ("command", "Command"),
        ],
    );
    for ((label, cmd, args), r) in PROGRAMS.iter().zip(results) {
        let v = match r {
            Ok(out) => match version_of(&out) {
                Some(v) => Val::text(v),
                None => Val::na(format!("{cmd} printed no version")),
            },
            Err(e) if e.contains("not bundled or on PATH") => Val::na(format!("{cmd} not on PATH")),
            Err(e) => Val::na(e),
        };
        t.rows.push(vec![
            Val::text(*label),
            v,
            Val::text(format!("{cmd} {}", args.join(" "))),
        ]);
    }
    let mut s = Section::new("software", "Software versions");
    s.tables.push(t);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_real_first_lines() {
        let v = |t: &str| version_of(t);
        assert_eq!(
            v("gcc (Debian 12.2.0-14+deb12u1) 12.2.0\nCopyright"),
            Some("12.2.0".into())
        );
        assert_eq!(
            v("ldd (Debian GLIBC 2.36-9+deb12u14) 2.36\n"),
            Some("2.36".into())
        );
        assert_eq!(
            v("GNU ld (GNU Binutils for Debian) 2.40\n"),
            Some("2.40".into())
        );
        assert_eq!(v("Python 3.11.2\n"), Some("3.11.2".into()));
        assert_eq!(
            v("openjdk version \"17.0.16\" 2025-07-15\nOpenJDK Runtime"),
            Some("17.0.16".into())
        );
        assert_eq!(
            v("OpenSSL 3.0.17 1 Jul 2025 (Library: OpenSSL 3.0.17 1 Jul 2025)\n"),
            Some("3.0.17".into())
        );
        assert_eq!(v("no digits here\n"), None);
    }
}
