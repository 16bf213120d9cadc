//! Every environment variable the xtask reads, by name, with its strict
//! parser. `flags.rs` declares each as the `env` of a flag, so `--help`
//! documents them all; the end-to-end tests include this file to clear the
//! same list around their runs.

pub const BASE_IMAGE: &str = "PERFSPECT_BASE_IMAGE";
pub const SKIP_TOOLS_CACHE: &str = "SKIP_TOOLS_CACHE";
pub const TOOLS_CACHE_HIT: &str = "TOOLS_CACHE_HIT";
pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
pub const LAYER_CACHE: &str = "PERFSPECT_LAYER_CACHE";
pub const WRITE_LAYER_CACHE: &str = "PERFSPECT_WRITE_LAYER_CACHE";
/// Set by GitHub Actions, GitLab and most CI systems: such a run writes a
/// shared registry layer cache.
pub const CI: &str = "CI";
pub const DEBIAN_MIRROR: &str = "PERFSPECT_DEBIAN_MIRROR";
pub const SOURCE_DATE_EPOCH: &str = "SOURCE_DATE_EPOCH";
/// Test hook: hold a run still at a named point (see `pause.rs`).
pub const PAUSE_AT: &str = "PERFSPECT_XTASK_PAUSE_AT";

/// Read by flags' test and the end-to-end tests.
#[allow(dead_code)]
pub const ALL: [&str; 10] = [
    BASE_IMAGE,
    SKIP_TOOLS_CACHE,
    TOOLS_CACHE_HIT,
    GITHUB_ACTIONS,
    LAYER_CACHE,
    WRITE_LAYER_CACHE,
    CI,
    DEBIAN_MIRROR,
    SOURCE_DATE_EPOCH,
    PAUSE_AT,
];

/// An on/off variable: empty, `0`, `false` or `no` is off; `1`, `true` or
/// `yes` is on; anything else is an error naming the variable, not a guess.
pub fn switch(name: &str, value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" => Ok(false),
        "1" | "true" | "yes" => Ok(true),
        other => Err(format!(
            "{name} has unexpected value `{other}`: use 1/true/yes or 0/false/no (or unset it)"
        )),
    }
}

pub fn skip_tools_cache(value: &str) -> Result<bool, String> {
    switch(SKIP_TOOLS_CACHE, value)
}

pub fn tools_cache_hit(value: &str) -> Result<bool, String> {
    switch(TOOLS_CACHE_HIT, value)
}

pub fn github_actions(value: &str) -> Result<bool, String> {
    switch(GITHUB_ACTIONS, value)
}

pub fn write_layer_cache(value: &str) -> Result<bool, String> {
    switch(WRITE_LAYER_CACHE, value)
}

/// CI: systems set `true`, `1` or their own name; only empty, `0`, `false`
/// and `no` mean a run is not CI's.
pub fn ci(value: &str) -> Result<bool, String> {
    Ok(switch(CI, value).unwrap_or(true))
}

/// A Debian mirror as apt's sources.list takes it: an http(s) URL, without
/// its trailing slash; empty means the Dockerfiles' default.
pub fn debian_mirror(value: &str) -> Result<String, String> {
    let url = value.trim();
    if url.is_empty()
        || ((url.starts_with("http://") || url.starts_with("https://"))
            && !url.contains(char::is_whitespace))
    {
        Ok(url.trim_end_matches('/').to_string())
    } else {
        Err(format!(
            "{DEBIAN_MIRROR} has unexpected value `{url}`: use a mirror URL such as http://deb.debian.org/debian (or unset it)"
        ))
    }
}

/// SOURCE_DATE_EPOCH: seconds since the epoch, or unset (also when empty).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch(pub Option<u64>);

pub fn source_date_epoch(value: &str) -> Result<Epoch, String> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(Epoch(None));
    }
    v.parse().map(|s| Epoch(Some(s))).map_err(|_| {
        format!("{SOURCE_DATE_EPOCH} is `{v}`, not a number of seconds: fix or unset it")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_are_strict_and_name_their_variable() {
        assert_eq!(skip_tools_cache(""), Ok(false));
        assert_eq!(skip_tools_cache("0"), Ok(false));
        assert_eq!(skip_tools_cache("no"), Ok(false));
        assert_eq!(skip_tools_cache("1"), Ok(true));
        assert_eq!(tools_cache_hit("TRUE"), Ok(true));
        let err = skip_tools_cache("maybe").unwrap_err();
        assert!(
            err.contains("SKIP_TOOLS_CACHE") && err.contains("maybe"),
            "{err}"
        );
        assert!(github_actions("y").unwrap_err().contains("GITHUB_ACTIONS"));
        assert_eq!(ci("woodpecker"), Ok(true));
        assert_eq!(ci("false"), Ok(false));
        assert_eq!(ci(""), Ok(false));
    }

    #[test]
    fn mirror_is_a_url_or_the_default() {
        assert_eq!(debian_mirror(" ").unwrap(), "");
        assert_eq!(
            debian_mirror("http://m.example/debian/").unwrap(),
            "http://m.example/debian"
        );
        let err = debian_mirror("ftp.debian.org").unwrap_err();
        assert!(err.contains("PERFSPECT_DEBIAN_MIRROR"), "{err}");
    }

    #[test]
    fn epoch_is_seconds() {
        assert_eq!(source_date_epoch(""), Ok(Epoch(None)));
        assert_eq!(
            source_date_epoch("1700000000"),
            Ok(Epoch(Some(1_700_000_000)))
        );
        assert!(
            source_date_epoch("yesterday")
                .unwrap_err()
                .contains("SOURCE_DATE_EPOCH is `yesterday`")
        );
    }
}
