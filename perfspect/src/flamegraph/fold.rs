//! perf script output to folded stacks (`frame;frame;frame count`) with
//! inferno's perf collapser, and folded stacks to structured data.

use inferno::collapse::Collapse;
use serde::Serialize;

/// Folds `perf script` output. Each line is `comm;outermost;...;innermost N`.
pub fn fold(perf_script: &str) -> std::io::Result<String> {
    let mut out = Vec::new();
    let mut folder = inferno::collapse::perf::Folder::from(inferno::collapse::perf::Options::default());
    folder.collapse(perf_script.as_bytes(), &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// One distinct call stack.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stack {
    /// Frames from the process name (outermost) to the sampled function.
    pub frames: Vec<String>,
    /// Samples with exactly this stack.
    pub samples: u64,
}

/// Parses folded lines, most sampled first.
pub fn parse_folded(folded: &str) -> Vec<Stack> {
    let mut out: Vec<Stack> = folded
        .lines()
        .filter_map(|l| {
            let (stack, n) = l.rsplit_once(' ')?;
            Some(Stack {
                frames: stack.split(';').map(str::to_string).collect(),
                samples: n.trim().parse().ok()?,
            })
        })
        .collect();
    out.sort_by(|a, b| b.samples.cmp(&a.samples).then(a.frames.cmp(&b.frames)));
    out
}

/// Samples per function where it was on CPU (the innermost frame), most first.
pub fn self_time(stacks: &[Stack]) -> Vec<(String, u64)> {
    let mut m: std::collections::BTreeMap<&str, u64> = Default::default();
    for s in stacks {
        if let Some(f) = s.frames.last() {
            *m.entry(f.as_str()).or_default() += s.samples;
        }
    }
    let mut v: Vec<(String, u64)> = m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}
