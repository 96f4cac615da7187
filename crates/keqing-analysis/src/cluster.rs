//! k-means on standardised features (001 篇6), k chosen by silhouette or
//! given; reproducible from a seed.

use serde::Serialize;

use crate::error::{AnalysisError, Result};
use crate::rfm::RfmResult;

/// SplitMix64: small, seedable, good enough for sampling and k-means++.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterOptions {
    /// Number of clusters; chosen by silhouette in `k_range` when `None`.
    pub k: Option<usize>,
    pub k_range: (usize, usize),
    pub seed: u64,
    pub max_iter: usize,
    /// Points used to compute silhouettes (and to fit while choosing k).
    pub sample: usize,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            k: None,
            k_range: (2, 8),
            seed: 42,
            max_iter: 100,
            sample: 2_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterProfile {
    pub cluster: usize,
    pub size: u64,
    pub share: f64,
    /// Feature means in the original units, in feature order.
    pub means: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterResult {
    pub k: usize,
    pub features: Vec<String>,
    /// Cluster of each row; clusters are numbered by size, largest first.
    pub labels: Vec<usize>,
    pub profiles: Vec<ClusterProfile>,
    /// Mean silhouette of each k tried (empty when k was given).
    pub silhouettes: Vec<(usize, f64)>,
    /// Within-cluster sum of squares on the standardised features.
    pub inertia: f64,
}

/// R (days), F and M (yuan) of an RFM result as feature columns.
pub fn rfm_features(r: &RfmResult) -> Vec<(String, Vec<f64>)> {
    vec![
        (
            "recency_days".into(),
            r.rows.iter().map(|x| f64::from(x.recency_days)).collect(),
        ),
        (
            "frequency".into(),
            r.rows.iter().map(|x| x.frequency as f64).collect(),
        ),
        (
            "monetary".into(),
            r.rows
                .iter()
                .map(|x| x.monetary_fen as f64 / 100.0)
                .collect(),
        ),
    ]
}

/// Clusters rows described by named feature columns of equal length.
pub fn kmeans(columns: &[(String, Vec<f64>)], opts: &ClusterOptions) -> Result<ClusterResult> {
    let d = columns.len();
    let n = columns.first().map_or(0, |c| c.1.len());
    if d == 0 || n == 0 || columns.iter().any(|c| c.1.len() != n) {
        return Err(AnalysisError::InvalidParameter(
            "need feature columns of equal, non-zero length".into(),
        ));
    }
    if columns.iter().any(|c| c.1.iter().any(|v| !v.is_finite())) {
        return Err(AnalysisError::InvalidParameter(
            "features must be finite numbers".into(),
        ));
    }
    // Standardise: row-major z-scores.
    let mut z = vec![0.0; n * d];
    for (j, (_, col)) in columns.iter().enumerate() {
        let mean = col.iter().sum::<f64>() / n as f64;
        let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        let sd = if sd > 0.0 { sd } else { 1.0 };
        for i in 0..n {
            z[i * d + j] = (col[i] - mean) / sd;
        }
    }
    let mut rng = Rng::new(opts.seed);
    let mut silhouettes = Vec::new();
    let k = match opts.k {
        Some(k) if k >= 1 && k <= n => k,
        Some(k) => {
            return Err(AnalysisError::InvalidParameter(format!(
                "k = {k} with {n} rows"
            )))
        }
        None => {
            let (lo, hi) = (
                opts.k_range.0.max(2),
                opts.k_range.1.min(n.saturating_sub(1)),
            );
            if lo > hi {
                return Err(AnalysisError::InvalidParameter(
                    "too few rows to choose k".into(),
                ));
            }
            let s = sample_rows(&z, n, d, opts.sample.max(lo + 1), &mut rng);
            let sn = s.len() / d;
            let mut best = (lo, f64::NEG_INFINITY);
            for k in lo..=hi.min(sn - 1) {
                let (_, labels, _) = lloyd(&s, sn, d, k, opts.max_iter, &mut rng);
                let sil = silhouette(&s, sn, d, k, &labels);
                silhouettes.push((k, sil));
                if sil > best.1 {
                    best = (k, sil);
                }
            }
            best.0
        }
    };
    // Best of a few k-means++ starts on all rows.
    let mut best: Option<(Vec<f64>, Vec<usize>, f64)> = None;
    for _ in 0..if n > 200_000 { 1 } else { 4 } {
        let r = lloyd(&z, n, d, k, opts.max_iter, &mut rng);
        if best.as_ref().is_none_or(|b| r.2 < b.2) {
            best = Some(r);
        }
    }
    let (_, labels, inertia) = best.ok_or_else(|| AnalysisError::Empty("no clustering".into()))?;
    // Number clusters by size, largest first.
    let mut size = vec![0u64; k];
    for &l in &labels {
        size[l] += 1;
    }
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| size[b].cmp(&size[a]).then(a.cmp(&b)));
    let mut rename = vec![0; k];
    for (new, &old) in order.iter().enumerate() {
        rename[old] = new;
    }
    let labels: Vec<usize> = labels.iter().map(|&l| rename[l]).collect();
    let mut sums = vec![vec![0.0; d]; k];
    let mut counts = vec![0u64; k];
    for (i, &l) in labels.iter().enumerate() {
        counts[l] += 1;
        for (j, (_, col)) in columns.iter().enumerate() {
            sums[l][j] += col[i];
        }
    }
    let profiles = (0..k)
        .map(|c| ClusterProfile {
            cluster: c,
            size: counts[c],
            share: counts[c] as f64 / n as f64,
            means: sums[c]
                .iter()
                .map(|s| {
                    if counts[c] > 0 {
                        s / counts[c] as f64
                    } else {
                        0.0
                    }
                })
                .collect(),
        })
        .collect();
    Ok(ClusterResult {
        k,
        features: columns.iter().map(|c| c.0.clone()).collect(),
        labels,
        profiles,
        silhouettes,
        inertia,
    })
}

fn sample_rows(z: &[f64], n: usize, d: usize, m: usize, rng: &mut Rng) -> Vec<f64> {
    if n <= m {
        return z.to_vec();
    }
    // Partial Fisher–Yates over row indices.
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..m {
        let j = i + rng.below((n - i) as u64) as usize;
        idx.swap(i, j);
    }
    idx[..m]
        .iter()
        .flat_map(|&i| z[i * d..(i + 1) * d].iter().copied())
        .collect()
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// k-means++ then Lloyd iterations. Returns centroids, labels, inertia.
fn lloyd(
    z: &[f64],
    n: usize,
    d: usize,
    k: usize,
    max_iter: usize,
    rng: &mut Rng,
) -> (Vec<f64>, Vec<usize>, f64) {
    let row = |i: usize| &z[i * d..(i + 1) * d];
    let mut cent = Vec::with_capacity(k * d);
    cent.extend_from_slice(row(rng.below(n as u64) as usize));
    let mut near: Vec<f64> = (0..n).map(|i| dist2(row(i), &cent[..d])).collect();
    for c in 1..k {
        let total: f64 = near.iter().sum();
        let pick = if total > 0.0 {
            let mut target = rng.f64() * total;
            let mut chosen = n - 1;
            for (i, w) in near.iter().enumerate() {
                target -= w;
                if target < 0.0 {
                    chosen = i;
                    break;
                }
            }
            chosen
        } else {
            rng.below(n as u64) as usize
        };
        cent.extend_from_slice(row(pick));
        for (i, w) in near.iter_mut().enumerate() {
            *w = w.min(dist2(row(i), &cent[c * d..(c + 1) * d]));
        }
    }
    let mut labels = vec![usize::MAX; n];
    let mut inertia = 0.0;
    for _ in 0..max_iter.max(1) {
        let mut changed = false;
        inertia = 0.0;
        for (i, label) in labels.iter_mut().enumerate() {
            let (mut bi, mut bd) = (0, f64::INFINITY);
            for c in 0..k {
                let dd = dist2(row(i), &cent[c * d..(c + 1) * d]);
                if dd < bd {
                    bi = c;
                    bd = dd;
                }
            }
            inertia += bd;
            if *label != bi {
                *label = bi;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        let mut sums = vec![0.0; k * d];
        let mut counts = vec![0usize; k];
        for (i, &l) in labels.iter().enumerate() {
            counts[l] += 1;
            for j in 0..d {
                sums[l * d + j] += z[i * d + j];
            }
        }
        for c in 0..k {
            if counts[c] > 0 {
                for j in 0..d {
                    cent[c * d + j] = sums[c * d + j] / counts[c] as f64;
                }
            }
        }
    }
    (cent, labels, inertia)
}

/// Mean silhouette coefficient.
fn silhouette(z: &[f64], n: usize, d: usize, k: usize, labels: &[usize]) -> f64 {
    let row = |i: usize| &z[i * d..(i + 1) * d];
    let mut size = vec![0usize; k];
    for &l in labels {
        size[l] += 1;
    }
    let mut total = 0.0;
    for i in 0..n {
        let mut sum = vec![0.0; k];
        for j in 0..n {
            if i != j {
                sum[labels[j]] += dist2(row(i), row(j)).sqrt();
            }
        }
        let own = labels[i];
        if size[own] <= 1 {
            continue;
        }
        let a = sum[own] / (size[own] - 1) as f64;
        let b = (0..k)
            .filter(|&c| c != own && size[c] > 0)
            .map(|c| sum[c] / size[c] as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            total += (b - a) / a.max(b);
        }
    }
    total / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs(seed: u64) -> Vec<(String, Vec<f64>)> {
        // Three well separated groups of 100, 60 and 40 points.
        let mut rng = Rng::new(seed);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (cx, cy, m) in [(0.0, 0.0, 100), (10.0, 0.0, 60), (0.0, 10.0, 40)] {
            for _ in 0..m {
                x.push(cx + rng.f64() - 0.5);
                y.push(cy + rng.f64() - 0.5);
            }
        }
        vec![("x".into(), x), ("y".into(), y)]
    }

    #[test]
    fn chooses_three_clusters_by_silhouette() {
        let r = kmeans(&blobs(1), &ClusterOptions::default()).unwrap();
        assert_eq!(r.k, 3);
        let sizes: Vec<u64> = r.profiles.iter().map(|p| p.size).collect();
        assert_eq!(sizes, vec![100, 60, 40]);
        assert!((r.profiles[1].means[0] - 10.0).abs() < 0.2);
        assert_eq!(r.silhouettes.len(), 7);
    }

    #[test]
    fn same_seed_same_result_and_sizes_sum_to_rows() {
        let data = blobs(2);
        let opts = ClusterOptions {
            k: Some(4),
            seed: 9,
            ..Default::default()
        };
        let a = kmeans(&data, &opts).unwrap();
        let b = kmeans(&data, &opts).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.profiles.iter().map(|p| p.size).sum::<u64>(), 200);
        assert!(kmeans(
            &data,
            &ClusterOptions {
                k: Some(0),
                ..Default::default()
            }
        )
        .is_err());
    }
}
