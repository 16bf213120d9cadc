//! What each fuzz target under `fuzz/` does with its input, here so that the
//! regression test (`tests/fuzz_regressions.rs`) replays kept inputs through
//! exactly the same code. Each asserts more than "does not panic" where the
//! parser promises more.

use crate::{docker, embedded, failure, sbom, settings, toolbox, tools_cache};

/// tools/versions.env: every pin parsed back is a valid KEY=VALUE.
pub fn versions_env(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(pins) = tools_cache::parse_pins(text) {
        assert!(!pins.is_empty());
        for (key, value) in pins {
            assert!(!key.is_empty() && !value.is_empty());
            assert!(!key.contains('=') && !value.contains(char::is_whitespace));
        }
    }
}

/// tools-cache/manifest.json: whatever parses renders back to the same bytes.
pub fn cache_manifest(data: &[u8]) {
    if let Ok(manifest) = tools_cache::Manifest::parse(data) {
        assert_eq!(manifest.render().as_bytes(), data);
    }
}

/// What docker prints that the xtask reads: inspections, build output lines,
/// failed commands' stderr, and the settings' values.
pub fn docker_output(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some((id, _)) = docker::parse_id_and_label(&text) {
        assert!(id.starts_with("sha256:"));
    }
    let _ = docker::uses_containerd_store(&text);
    let _ = docker::du_total_is_zero(&text);
    let _ = crate::layer_cache::read_progress(text.lines());
    for line in text.lines() {
        if let Some(hint) = docker::error_hint(line) {
            assert!(!hint.is_empty() && line.contains(hint));
        }
    }
    let reason = failure::reason(data, "fallback");
    assert!(!reason.contains('\n'));
    let _ = crate::layer_cache::LayerCache::parse_setting(&text);
    let _ = settings::debian_mirror(&text);
    let _ = settings::source_date_epoch(&text);
    let _ = settings::skip_tools_cache(&text);
}

/// `perfspect tools list --format json`, as the check stage reads it.
pub fn tool_list(data: &[u8]) {
    if let Ok(listed) = embedded::parse_list(&String::from_utf8_lossy(data)) {
        let _ = embedded::compare("x86_64", &listed, &tools_cache::Manifest::default());
    }
}

/// What `verify` and the SBOM read: a link's library list
/// (tools-cache/linked/) and an SBOM. Every file a list names lands in
/// exactly one library; an SBOM reads back or is refused, never a panic.
pub fn supply_chain(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(linked) = toolbox::parse_linked(&text) {
        let libraries = toolbox::libraries(&linked);
        let files: usize = libraries.iter().map(|l| l.files.len()).sum();
        assert!(files <= linked.len());
        assert!(
            libraries
                .iter()
                .all(|l| !l.source.is_empty() && !l.files.is_empty())
        );
    }
    let _ = sbom::read(data);
}

/// What a target does with one input.
pub type Target = fn(&[u8]);

/// Each target by the name of its directory under fuzz/.
pub const TARGETS: [(&str, Target); 5] = [
    ("xtask_versions_env", versions_env),
    ("xtask_cache_manifest", cache_manifest),
    ("xtask_docker_output", docker_output),
    ("xtask_tool_list", tool_list),
    ("xtask_supply_chain", supply_chain),
];
