//! perf script output to folded stacks (`frame;frame;frame count`) with
//! inferno's perf collapser, and folded stacks to structured data.

use inferno::collapse::Collapse;
use serde::Serialize;

/// Folds `perf script` output. Each line is `comm;outermost;...;innermost N`.
///
/// inferno asserts (panics) on some input it cannot read, rather than
/// returning an error (found by the perfspect_perf_output fuzz target; the
/// input is kept in fuzz/regressions/): that is caught and returned as an
/// error, without the panic message.
pub fn fold(perf_script: &str) -> std::io::Result<String> {
    let collapse = || {
        let mut out = Vec::new();
        let mut folder =
            inferno::collapse::perf::Folder::from(inferno::collapse::perf::Options::default());
        folder
            .collapse(perf_script.as_bytes(), &mut out)
            .map(|()| out)
    };
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(collapse);
    std::panic::set_hook(quiet);
    match result {
        Ok(folded) => Ok(String::from_utf8_lossy(&folded?).into_owned()),
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "perf script's output is not in a form inferno can fold",
        )),
    }
}

/// One distinct call stack.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Stack {
    /// Frames from the process name (outermost) to the sampled function.
    pub frames: Vec<String>,
    /// Sum of the sampled periods with exactly this stack: nanoseconds of CPU
    /// time for cpu-clock, cycles for cycles.
    pub weight: u64,
}

/// Parses folded lines, most sampled first.
pub fn parse_folded(folded: &str) -> Vec<Stack> {
    let mut out: Vec<Stack> = folded
        .lines()
        .filter_map(|l| {
            let (stack, n) = l.rsplit_once(' ')?;
            Some(Stack {
                frames: stack.split(';').map(str::to_string).collect(),
                weight: n.trim().parse().ok()?,
            })
        })
        .collect();
    out.sort_by(|a, b| b.weight.cmp(&a.weight).then(a.frames.cmp(&b.frames)));
    out
}

/// Samples per function where it was on CPU (the innermost frame), most first.
pub fn self_time(stacks: &[Stack]) -> Vec<(String, u64)> {
    let mut m: std::collections::BTreeMap<&str, u64> = Default::default();
    for s in stacks {
        if let Some(f) = s.frames.last() {
            *m.entry(f.as_str()).or_default() += s.weight;
        }
    }
    let mut v: Vec<(String, u64)> = m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/perf-script-cpu-clock-fp-x86_64-vm.txt"
    ));

    #[test]
    fn output_inferno_cannot_read_is_an_error_not_a_panic() {
        let err = fold("garbage line\n\tnot a stack\n\nmore\n").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }

    #[test]
    fn folds_like_inferno_collapse_perf() {
        let folded = fold(SCRIPT).unwrap();
        // inferno's collapser on its own, with its CLI's default options
        // (what `inferno-collapse-perf` prints for this input).
        let mut expect = Vec::new();
        inferno::collapse::perf::Folder::default()
            .collapse(SCRIPT.as_bytes(), &mut expect)
            .unwrap();
        assert_eq!(folded, String::from_utf8(expect).unwrap());
        // And what stackcollapse-perf.pl prints, checked by hand on the input:
        // the hot loop called from main (no symbol for main: -O1 tail call).
        let stacks = parse_folded(&folded);
        assert_eq!(
            stacks[0].frames,
            ["hot", "__libc_start_call_main", "perfspect_hot_spin"]
        );
        let samples = SCRIPT.matches("cpu-clock:").count() as u64;
        let total: u64 = stacks.iter().map(|s| s.weight).sum();
        assert_eq!(total, samples * 10_101_010, "period of 99 Hz cpu-clock");
        let top = &self_time(&stacks)[0];
        assert_eq!(top.0, "perfspect_hot_spin");
        assert!(top.1 * 10 > total * 9, "{top:?} of {total}");
    }
}
