//! How a failed command explains itself: the reason it gave on stderr, and
//! whether that reason is a full disk (whichever program met it: cargo, ld,
//! docker cp, apt).

/// How a full disk reads in the output of the tools we run (cargo, ld,
/// docker cp, apt) and in Rust's own I/O errors.
pub const DISK_FULL: &str = "no space left on device";

pub fn mentions_disk_full(text: &str) -> bool {
    text.to_ascii_lowercase().contains(DISK_FULL)
}

/// The reason a failed command gave on stderr: its first `error:` line (cargo
/// puts notes after it), else its last line.
pub fn reason(stderr: &[u8], fallback: &str) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines = || text.lines().map(str::trim).filter(|l| !l.is_empty());
    lines()
        .find_map(|l| {
            let head = l.get(..6)?;
            head.eq_ignore_ascii_case("error:").then(|| l[6..].trim())
        })
        .or_else(|| lines().next_back())
        .unwrap_or(fallback)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_s_reason_is_its_error_line() {
        let cargo = b"error: no matching package named `anyhow` found\nlocation searched: registry\n\n  As a reminder, you're using offline mode\n";
        assert_eq!(
            reason(cargo, "x"),
            "no matching package named `anyhow` found"
        );
        let cp = b"write /x/fio: no space left on device\n";
        assert_eq!(reason(cp, "x"), "write /x/fio: no space left on device");
        assert_eq!(
            reason(b"Error: No such container:path: c:/bin\n", "x"),
            "No such container:path: c:/bin"
        );
        assert_eq!(reason(b"\n", "docker cp failed"), "docker cp failed");
    }
}
