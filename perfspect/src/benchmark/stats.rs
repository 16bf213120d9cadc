//! Summaries of repeated measurements: median, spread, geometric mean.

use serde::Serialize;

/// Repeated measurements of one quantity, summarised.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// Median of the repetitions.
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// (max - min) / median, in percent: how far repetitions disagreed.
    pub spread_pct: f64,
    /// Number of repetitions.
    pub runs: usize,
}

pub fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

pub fn geomean(v: &[f64]) -> f64 {
    if v.is_empty() || v.iter().any(|x| !(x.is_finite() && *x > 0.0)) {
        return f64::NAN;
    }
    (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp()
}

impl Spread {
    pub fn of(v: &[f64]) -> Spread {
        let median = median(v);
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let spread_pct = if median > 0.0 {
            (max - min) / median * 100.0
        } else {
            f64::NAN
        };
        Spread {
            median: round_sig(median),
            min: round_sig(min),
            max: round_sig(max),
            spread_pct: (spread_pct * 10.0).round() / 10.0,
            runs: v.len(),
        }
    }
}

/// Four significant digits: enough for measurements this noisy.
pub fn round_sig(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let d = 3 - x.abs().log10().floor() as i32;
    let m = 10f64.powi(d);
    (x * m).round() / m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        assert!((geomean(&[1.0, 100.0]) - 10.0).abs() < 1e-9);
        assert!(geomean(&[1.0, 0.0]).is_nan());
        let s = Spread::of(&[98.0, 100.0, 102.0]);
        assert_eq!(s.median, 100.0);
        assert_eq!(s.spread_pct, 4.0);
        assert_eq!(s.runs, 3);
        assert_eq!(round_sig(123_456.0), 123_500.0);
        assert_eq!(round_sig(0.012_346), 0.01235);
    }
}
