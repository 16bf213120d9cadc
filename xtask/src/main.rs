//! `cargo xtask`: see the library's documentation.

fn main() -> std::process::ExitCode {
    xtask::main()
}
