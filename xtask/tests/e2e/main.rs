//! End-to-end tests on the real Docker engine. Each runs the xtask binary
//! against a scratch copy of this repository (under target/e2e/), so the
//! developer's own dist/ and tools-cache/ are never touched. Docker's layer
//! cache is shared, so only the first build and the forced rebuild (the
//! shared-cache scenario's engine A) compile the tools for real. Nothing here is skipped when Docker is missing: it fails.

mod support;

mod bench;
mod concurrency;
mod disk;
mod dist;
mod engine;
mod interruption;
mod paths;
mod refusals;
mod shared_cache;
mod shared_engine;
mod tools;
mod verify;
