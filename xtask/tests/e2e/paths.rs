//! A checkout at an odd, long path builds the same release as any other.

use crate::support::*;

#[test]
fn a_checkout_at_an_odd_long_path_builds_the_same_release() {
    let _serial = serial();
    let reference = warm_repo("paths-reference");
    ok(xtask(&reference, &["dist"], &[]));
    // Spaces, commas, both quotes, `=`, a colon, non-ASCII, and long.
    let odd = format!(
        "odd, \"quoted\" 'path' = a:b é日本/{}/{}/checkout",
        "long-".repeat(30),
        "segment ".repeat(12)
    );
    let root = warm_repo(&odd);
    assert!(root.display().to_string().len() > 250, "{}", root.display());
    let err = ok(xtask(&root, &["dist"], &[]));
    assert!(err.contains("==> package: done"), "{}", tail(&err));
    check_dist(&root);
    same_release(
        &reference.join("dist"),
        &root.join("dist"),
        "at an odd path",
    );
}
