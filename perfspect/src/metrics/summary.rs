//! The end-of-run statistics: min, mean, max and 95th percentile of each
//! metric over the intervals that had a value.

use super::derive::{DEFS, Metrics};
use serde::Serialize;

/// One metric's distribution over the intervals.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stats {
    pub min: f64,
    pub mean: f64,
    pub max: f64,
    /// Nearest-rank 95th percentile.
    pub p95: f64,
    /// Intervals with a value.
    pub intervals: usize,
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn stats(values: &[f64]) -> Option<Stats> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(Stats {
        min: v[0],
        mean: v.iter().sum::<f64>() / v.len() as f64,
        max: v[v.len() - 1],
        p95: percentile(&v, 95.0),
        intervals: v.len(),
    })
}

/// Statistics of each metric of [`DEFS`], in table order.
pub fn per_metric(per: &[Metrics]) -> Vec<Option<Stats>> {
    (0..DEFS.len())
        .map(|i| stats(&per.iter().filter_map(|m| m.0[i]).collect::<Vec<_>>()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution() {
        let s = stats(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((s.min, s.mean, s.max, s.p95), (1.0, 2.5, 4.0, 4.0));
        let twenty: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(stats(&twenty).unwrap().p95, 19.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
        assert_eq!(stats(&[f64::NAN]), None);
        assert_eq!(stats(&[]), None);
    }
}
