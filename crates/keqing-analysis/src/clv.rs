//! Customer lifetime value: BG/NBD and Pareto/NBD (purchase counts, P(alive)),
//! Gamma-Gamma (spend), discounted CLV; fitted by maximum likelihood.
//!
//! Formulas follow Fader, Hardie & Lee (2005) "Counting your customers the
//! easy way", Fader & Hardie's Pareto/NBD derivation notes (2005), and
//! Fader, Hardie & Lee (2005) "RFM and CLV" for Gamma-Gamma; the summary
//! conventions follow the `lifetimes` package so results can be compared.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use crate::date::civil_from_days;
use crate::error::{AnalysisError, Result, RowError};
use crate::optim::{bfgs, nelder_mead};
use crate::special::{digamma, hyp2f1, hyp2f1_within, ln_gamma, log_add_exp, FIT_TERMS};
use crate::transactions::Transactions;

/// The unit of frequency, recency and T.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Period {
    /// Days.
    D,
    /// Calendar weeks, Monday to Sunday (pandas' `W`).
    W,
    /// Calendar months.
    M,
}

impl Period {
    pub fn parse(s: &str) -> Result<Period> {
        match s.trim() {
            "D" | "d" | "day" | "days" => Ok(Period::D),
            "W" | "w" | "week" | "weeks" => Ok(Period::W),
            "M" | "m" | "month" | "months" => Ok(Period::M),
            other => Err(AnalysisError::InvalidParameter(format!(
                "period {other:?}: expected D, W or M"
            ))),
        }
    }

    /// Index of the period holding `day` (days since 1970-01-01).
    pub fn index(self, day: i32) -> i64 {
        match self {
            Period::D => i64::from(day),
            // 1970-01-05 (day 4) was a Monday.
            Period::W => i64::from((day - 4).div_euclid(7)),
            Period::M => {
                let (y, m, _) = civil_from_days(day);
                i64::from(y) * 12 + i64::from(m) - 1
            }
        }
    }

    /// Periods in a month, as `lifetimes` counts them for CLV.
    pub fn per_month(self) -> f64 {
        match self {
            Period::D => 30.0,
            Period::W => 4.345,
            Period::M => 1.0,
        }
    }
}

/// Per-customer summary the models are fitted on (x, t_x, T and mean spend).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClvData {
    pub ids: Vec<String>,
    /// Repeat purchases: distinct purchase periods minus one.
    pub frequency: Vec<f64>,
    /// Periods from the first to the last purchase.
    pub recency: Vec<f64>,
    /// Periods from the first purchase to the as-of date.
    pub t: Vec<f64>,
    /// Mean amount (yuan) of the repeat periods, 0 without repeats.
    pub monetary: Option<Vec<f64>>,
}

impl ClvData {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn validate(&self) -> Result<()> {
        let n = self.ids.len();
        if self.frequency.len() != n || self.recency.len() != n || self.t.len() != n {
            return Err(AnalysisError::InvalidParameter(
                "summary columns differ in length".into(),
            ));
        }
        if n == 0 {
            return Err(AnalysisError::Empty("no customers to fit".into()));
        }
        for i in 0..n {
            let (x, r, t) = (self.frequency[i], self.recency[i], self.t[i]);
            if !(x >= 0.0 && r >= 0.0 && t >= r && x.is_finite() && t.is_finite()) {
                return Err(AnalysisError::InvalidParameter(format!(
                    "customer {}: need 0 ≤ recency ≤ T and frequency ≥ 0 (got x={x}, t_x={r}, T={t})",
                    self.ids[i]
                )));
            }
        }
        Ok(())
    }
}

/// Summarises transactions per customer in periods of `period` up to `as_of`
/// (default: the last day in the data, as `lifetimes` does). Purchases in the
/// same period count once and their amounts are added.
pub fn summarise(tx: &Transactions, as_of: Option<i32>, period: Period) -> Result<ClvData> {
    tx.validate()?;
    let as_of = match as_of.or_else(|| tx.day_range().map(|r| r.1)) {
        Some(d) => d,
        None => return Err(AnalysisError::Empty("no transactions".into())),
    };
    let end = period.index(as_of);
    let k = tx.customer_count();
    // Bucket the rows by customer (counting sort, O(n)), then sort each
    // customer's few (period, amount) pairs to walk its periods.
    let mut start = vec![0usize; k + 1];
    for i in 0..tx.len() {
        if tx.day[i] <= as_of {
            start[tx.customer[i] as usize + 1] += 1;
        }
    }
    for c in 0..k {
        start[c + 1] += start[c];
    }
    let mut cursor = start.clone();
    let mut rows = vec![(0i64, 0i64); start[k]];
    for i in 0..tx.len() {
        if tx.day[i] <= as_of {
            let c = tx.customer[i] as usize;
            rows[cursor[c]] = (period.index(tx.day[i]), tx.amount_fen[i]);
            cursor[c] += 1;
        }
    }
    // Each customer's (period, amount) pairs, sorted, give its summary; two
    // threads take half of the customers each.
    let part = |from: usize, to: usize, rows: &mut [(i64, i64)]| -> ClvData {
        let base = start[from];
        let mut data = ClvData {
            monetary: Some(Vec::new()),
            ..Default::default()
        };
        for c in from..to {
            let mine = &mut rows[start[c] - base..start[c + 1] - base];
            if mine.is_empty() {
                continue;
            }
            mine.sort_unstable_by_key(|r| r.0);
            let first = mine[0].0;
            let mut last = first;
            let mut periods = 0u64;
            let mut repeat_sum: i64 = 0;
            let mut j = 0;
            while j < mine.len() {
                let p = mine[j].0;
                let mut sum = 0i64;
                while j < mine.len() && mine[j].0 == p {
                    sum += mine[j].1;
                    j += 1;
                }
                if periods > 0 {
                    repeat_sum += sum;
                }
                periods += 1;
                last = p;
            }
            let x = (periods - 1) as f64;
            data.ids.push(tx.customer_ids[c].clone());
            data.frequency.push(x);
            data.recency.push((last - first) as f64);
            data.t.push((end - first) as f64);
            if let Some(m) = data.monetary.as_mut() {
                m.push(if periods > 1 {
                    repeat_sum as f64 / 100.0 / x
                } else {
                    0.0
                });
            }
        }
        data
    };
    let data = if rows.len() < 100_000 {
        part(0, k, &mut rows)
    } else {
        let mid = k / 2;
        let (lo, hi) = rows.split_at_mut(start[mid]);
        let (mut a, b) = std::thread::scope(|s| {
            let h = s.spawn(|| part(mid, k, hi));
            let a = part(0, mid, lo);
            (a, h.join())
        });
        match b {
            Ok(b) => {
                a.ids.extend(b.ids);
                a.frequency.extend(b.frequency);
                a.recency.extend(b.recency);
                a.t.extend(b.t);
                if let (Some(m), Some(bm)) = (a.monetary.as_mut(), b.monetary) {
                    m.extend(bm);
                }
                a
            }
            Err(_) => {
                return Err(AnalysisError::InvalidParameter(
                    "summary thread panicked".into(),
                ))
            }
        }
    };
    if data.ids.is_empty() {
        return Err(AnalysisError::Empty(
            "no purchases on or before the as-of date".into(),
        ));
    }
    Ok(data)
}

/// Reads a summary CSV with columns customer id, frequency, recency, T and
/// optionally monetary_value (also the CDNOW names ID, x, t_x, T, zbar).
pub fn read_summary_csv(path: &Path) -> Result<ClvData> {
    let text = std::fs::read_to_string(path).map_err(|source| AnalysisError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_summary_csv(&text)
}

pub fn parse_summary_csv(text: &str) -> Result<ClvData> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .ok_or_else(|| AnalysisError::Empty("empty summary file".into()))?
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_string())
        .collect();
    let norm: Vec<String> = header
        .iter()
        .map(|h| h.to_lowercase().replace([' ', '_'], ""))
        .collect();
    let find = |names: &[&str]| norm.iter().position(|h| names.contains(&h.as_str()));
    let need = |names: &[&str], what: &str| {
        find(names).ok_or_else(|| {
            AnalysisError::Header(format!(
                "summary file has no {what} column; header {header:?}"
            ))
        })
    };
    let ci = need(
        &["customerid", "id", "customer", "客户编号", "客户id"],
        "customer id",
    )?;
    let xi = need(&["frequency", "x"], "frequency")?;
    let ri = need(&["recency", "tx"], "recency")?;
    let ti = header
        .iter()
        .position(|h| h == "T")
        .or_else(|| find(&["age", "t"]))
        .ok_or_else(|| {
            AnalysisError::Header(format!("summary file has no T column; header {header:?}"))
        })?;
    let mi = find(&["monetaryvalue", "monetary", "zbar", "m"]);
    let mut d = ClvData {
        monetary: mi.map(|_| Vec::new()),
        ..Default::default()
    };
    for (n, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line
            .split(',')
            .map(|s| s.trim().trim_matches('"'))
            .collect();
        let num = |i: usize, col: &str| -> Result<f64> {
            f.get(i)
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    AnalysisError::Row(RowError {
                        line: n as u64 + 2,
                        column: col.to_string(),
                        reason: "not a number".into(),
                    })
                })
        };
        d.ids
            .push(f.get(ci).map(|s| s.to_string()).unwrap_or_default());
        d.frequency.push(num(xi, &header[xi])?);
        d.recency.push(num(ri, &header[ri])?);
        d.t.push(num(ti, &header[ti])?);
        if let (Some(mi), Some(m)) = (mi, d.monetary.as_mut()) {
            m.push(num(mi, &header[mi])?);
        }
    }
    d.validate()?;
    Ok(d)
}

/// A fast hasher for the float bit patterns the fits group by (no DoS
/// concern: the keys are the user's own numbers). SipHash was a tenth of a
/// CLV run.
#[derive(Default, Clone, Copy)]
struct BitsHasher(u64);

impl std::hash::Hasher for BitsHasher {
    fn finish(&self) -> u64 {
        let h = self.0;
        h ^ (h >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    #[inline]
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(26) ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<BitsHasher>>;

/// Customers with equal (x, t_x, T) share one likelihood term.
struct Groups {
    x: Vec<f64>,
    tx: Vec<f64>,
    t: Vec<f64>,
    w: Vec<f64>,
    /// Index into `xs` of each group's x.
    xi: Vec<usize>,
    xs: Vec<f64>,
    /// Distinct T and t_x values and each group's index into them, so the
    /// logarithms are taken once per distinct value and evaluation.
    ts: Distinct,
    txs: Distinct,
    /// Group of each customer.
    of_customer: Vec<usize>,
}

#[derive(Default)]
struct Distinct {
    values: Vec<f64>,
    idx: Vec<u32>,
}

impl Distinct {
    fn new(v: &[f64]) -> Distinct {
        let mut map: FastMap<u64, u32> = FastMap::default();
        let mut d = Distinct::default();
        for &x in v {
            let next = d.values.len() as u32;
            let i = *map.entry(x.to_bits()).or_insert(next);
            if i == next {
                d.values.push(x);
            }
            d.idx.push(i);
        }
        d
    }
}

impl Groups {
    fn new(d: &ClvData) -> Groups {
        let mut map: FastMap<(u64, u64, u64), usize> = FastMap::default();
        let mut g = Groups {
            x: vec![],
            tx: vec![],
            t: vec![],
            w: vec![],
            xi: vec![],
            xs: vec![],
            ts: Distinct::default(),
            txs: Distinct::default(),
            of_customer: Vec::with_capacity(d.len()),
        };
        let mut xmap: FastMap<u64, usize> = FastMap::default();
        for i in 0..d.len() {
            let key = (
                d.frequency[i].to_bits(),
                d.recency[i].to_bits(),
                d.t[i].to_bits(),
            );
            match map.get(&key) {
                Some(&j) => {
                    g.w[j] += 1.0;
                    g.of_customer.push(j);
                }
                None => {
                    g.of_customer.push(g.x.len());
                    map.insert(key, g.x.len());
                    g.x.push(d.frequency[i]);
                    g.tx.push(d.recency[i]);
                    g.t.push(d.t[i]);
                    g.w.push(1.0);
                    let nx = g.xs.len();
                    let xi = *xmap.entry(d.frequency[i].to_bits()).or_insert(nx);
                    if xi == nx {
                        g.xs.push(d.frequency[i]);
                    }
                    g.xi.push(xi);
                }
            }
        }
        g.ts = Distinct::new(&g.t);
        g.txs = Distinct::new(&g.tx);
        g
    }
}

/// A model of purchase counts.
pub trait PurchaseModel {
    /// Probability the customer is still active.
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64;
    /// Expected purchases in the next `horizon` periods if the customer is
    /// alive; it depends on x and T only, which lets CLV share it.
    fn purchases_if_alive(&self, horizon: f64, x: f64, t: f64) -> f64;
    /// Expected purchases in the next `horizon` periods.
    fn expected_purchases(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> f64 {
        self.purchases_if_alive(horizon, x, t) * self.p_alive(x, t_x, t)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BgNbdParams {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl BgNbdParams {
    /// Log-likelihood of one customer.
    pub fn log_likelihood(&self, x: f64, t_x: f64, t: f64) -> f64 {
        let BgNbdParams { r, alpha, a, b } = *self;
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
        let a3 = -(r + x) * (alpha + t).ln();
        if x > 0.0 {
            let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + t_x).ln();
            a1 + a2 + log_add_exp(a3, a4)
        } else {
            a1 + a2 + a3
        }
    }

    /// Unconditional expected purchases in (0, t] for a new customer.
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        let BgNbdParams { r, alpha, a, b } = *self;
        let z = t / (alpha + t);
        (a + b - 1.0) / (a - 1.0)
            * (1.0 - (alpha / (alpha + t)).powf(r) * hyp2f1(r, b, a + b - 1.0, z))
    }
}

impl PurchaseModel for BgNbdParams {
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        if x == 0.0 {
            return 1.0;
        }
        let BgNbdParams { r, alpha, a, b } = *self;
        let log_ratio = (r + x) * ((alpha + t) / (alpha + t_x)).ln() + (a / (b + x - 1.0)).ln();
        1.0 / (1.0 + log_ratio.exp())
    }

    fn purchases_if_alive(&self, h: f64, x: f64, t: f64) -> f64 {
        let BgNbdParams { r, alpha, a, b } = *self;
        let z = h / (alpha + t + h);
        let f = hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        (a + b + x - 1.0) / (a - 1.0) * (1.0 - ((alpha + t) / (alpha + t + h)).powf(r + x) * f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParetoNbdParams {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

impl ParetoNbdParams {
    /// ln A₀ of the derivation notes (eq. 19/20), in log space.
    /// `f2`: the ₂F₁ to use ([`hyp2f1`], or a fit's bounded one).
    fn log_a0(&self, x: f64, t_x: f64, t: f64, f2: fn(f64, f64, f64, f64) -> f64) -> f64 {
        let ParetoNbdParams { r, alpha, s, beta } = *self;
        let (min, max, b2) = if alpha < beta {
            (alpha, beta, r + x)
        } else {
            (beta, alpha, s + 1.0)
        };
        let rsx = r + s + x;
        let d = max - min;
        let p1 = f2(rsx, b2, rsx + 1.0, d / (max + t_x));
        let p2 = f2(rsx, b2, rsx + 1.0, d / (max + t));
        let l1 = p1.ln() - rsx * (max + t_x).ln();
        let l2 = p2.ln() - rsx * (max + t).ln();
        // ln(e^l1 − e^l2), l1 > l2.
        l1 + (-(l2 - l1).exp()).ln_1p()
    }

    /// Log-likelihood of one customer, as a fit evaluates it: NaN where a
    /// ₂F₁ would need more than [`FIT_TERMS`] terms.
    pub fn log_likelihood(&self, x: f64, t_x: f64, t: f64) -> f64 {
        let ParetoNbdParams { r, alpha, s, beta } = *self;
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln();
        let alive = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
        let dead = s.ln()
            + self.log_a0(x, t_x, t, |a, b, c, z| hyp2f1_within(a, b, c, z, FIT_TERMS))
            - (r + s + x).ln();
        a1 + log_add_exp(alive, dead)
    }
}

impl PurchaseModel for ParetoNbdParams {
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        let ParetoNbdParams { r, alpha, s, beta } = *self;
        let alive = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
        let dead = s.ln() + self.log_a0(x, t_x, t, hyp2f1) - (r + s + x).ln();
        (alive - log_add_exp(alive, dead)).exp()
    }

    fn purchases_if_alive(&self, h: f64, x: f64, t: f64) -> f64 {
        let ParetoNbdParams { r, alpha, s, beta } = *self;
        let p1 = (r + x) * (beta + t) / ((alpha + t) * (s - 1.0));
        let p2 = 1.0 - ((beta + t) / (beta + t + h)).powf(s - 1.0);
        p1 * p2
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GammaGammaParams {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

impl GammaGammaParams {
    /// Expected mean spend per purchase of a customer with `x` repeat
    /// purchases of mean `m`; the population mean p·v/(q − 1) when x = 0.
    pub fn expected_spend(&self, x: f64, m: f64) -> f64 {
        let GammaGammaParams { p, q, v } = *self;
        if x > 0.0 {
            p * (v + x * m) / (p * x + q - 1.0)
        } else {
            p * v / (q - 1.0)
        }
    }
}

/// A fitted model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit<P> {
    pub params: P,
    /// Total log-likelihood at the estimate.
    pub log_likelihood: f64,
    pub evaluations: usize,
}

const TOL: f64 = 1e-13;
const MAX_EVALS: usize = 40_000;

fn check(d: &ClvData) -> Result<Groups> {
    d.validate()?;
    Ok(Groups::new(d))
}

/// Minimises with BFGS on analytic gradients, falling back to Nelder–Mead
/// when BFGS cannot finish.
fn minimise(fg: &mut dyn FnMut(&[f64], &mut [f64]) -> f64, x0: &[f64]) -> crate::optim::Minimum {
    let n = x0.len();
    let m = bfgs(fg, x0, 1_000);
    if m.converged && m.value.is_finite() {
        return m;
    }
    let mut scratch = vec![0.0; n];
    let start = if m.value.is_finite() {
        m.x.clone()
    } else {
        x0.to_vec()
    };
    let mut f = |x: &[f64]| fg(x, &mut scratch);
    let nm = nelder_mead(&mut f, &start, TOL, MAX_EVALS);
    crate::optim::Minimum {
        evaluations: nm.evaluations + m.evaluations,
        ..nm
    }
}

/// Sums `f` over `0..n` (five accumulators), on two threads when `n` is large.
fn par_sum5(n: usize, f: &(dyn Fn(std::ops::Range<usize>) -> [f64; 5] + Sync)) -> [f64; 5] {
    if n < 8_192 {
        return f(0..n);
    }
    let mid = n / 2;
    std::thread::scope(|s| {
        let h = s.spawn(|| f(mid..n));
        let a = f(0..mid);
        let b = h.join().unwrap_or_else(|_| f(mid..n));
        [
            a[0] + b[0],
            a[1] + b[1],
            a[2] + b[2],
            a[3] + b[3],
            a[4] + b[4],
        ]
    })
}

/// Fits BG/NBD (r, α, a, b) by maximum likelihood.
pub fn fit_bgnbd(d: &ClvData) -> Result<Fit<BgNbdParams>> {
    fit_bgnbd_groups(&check(d)?)
}

/// BG/NBD on customers grouped by (x, t_x, T): one likelihood term per group.
fn fit_bgnbd_groups(g: &Groups) -> Result<Fit<BgNbdParams>> {
    let total_w: f64 = g.w.iter().sum();
    // Negative log-likelihood and its gradient in log-parameters.
    let mut fg = |th: &[f64], grad: &mut [f64]| -> f64 {
        let (r, alpha, a, b) = (th[0].exp(), th[1].exp(), th[2].exp(), th[3].exp());
        // Per distinct x: ln Γ terms, ln(b + x − 1) and the ψ terms of the gradient.
        let px: Vec<[f64; 5]> =
            g.xs.iter()
                .map(|&x| {
                    [
                        ln_gamma(r + x) + ln_gamma(b + x) - ln_gamma(a + b + x),
                        (b + x - 1.0).ln(),
                        digamma(r + x),
                        digamma(b + x),
                        digamma(a + b + x),
                    ]
                })
                .collect();
        let lt: Vec<(f64, f64)> =
            g.ts.values
                .iter()
                .map(|t| ((alpha + t).ln(), 1.0 / (alpha + t)))
                .collect();
        let ltx: Vec<(f64, f64)> = g
            .txs
            .values
            .iter()
            .map(|t| ((alpha + t).ln(), 1.0 / (alpha + t)))
            .collect();
        let la = a.ln();
        let sum = |range: std::ops::Range<usize>| -> [f64; 5] {
            let mut acc = [0.0; 5];
            for i in range {
                let (x, w) = (g.x[i], g.w[i]);
                let p = &px[g.xi[i]];
                let (lt, it) = lt[g.ts.idx[i] as usize];
                let a3 = -(r + x) * lt;
                let (lse, w4, ltx, itx) = if x > 0.0 {
                    let (ltx, itx) = ltx[g.txs.idx[i] as usize];
                    let a4 = la - p[1] - (r + x) * ltx;
                    // ln(e^a3 + e^a4) and e^a4 / (e^a3 + e^a4) from one exp.
                    let e = (-(a3 - a4).abs()).exp();
                    let lse = a3.max(a4) + e.ln_1p();
                    let w4 = if a4 >= a3 {
                        1.0 / (1.0 + e)
                    } else {
                        e / (1.0 + e)
                    };
                    (lse, w4, ltx, itx)
                } else {
                    (a3, 0.0, 0.0, 0.0)
                };
                let w3 = 1.0 - w4;
                acc[0] += w * (p[0] + lse);
                acc[1] += w * (p[2] - w3 * lt - w4 * ltx);
                acc[2] += w * (-(r + x) * (w3 * it + w4 * itx));
                acc[3] += w * (-p[4] + w4 / a);
                acc[4] += w * (p[3] - p[4] - if x > 0.0 { w4 / (b + x - 1.0) } else { 0.0 });
            }
            acc
        };
        let s = par_sum5(g.x.len(), &sum);
        let (dab, db) = (digamma(a + b), digamma(b));
        let ll = s[0] + total_w * (-ln_gamma(r) + r * alpha.ln() + ln_gamma(a + b) - ln_gamma(b));
        grad[0] = -r * (s[1] + total_w * (-digamma(r) + alpha.ln()));
        grad[1] = -alpha * (s[2] + total_w * r / alpha);
        grad[2] = -a * (s[3] + total_w * dab);
        grad[3] = -b * (s[4] + total_w * (dab - db));
        -ll
    };
    let m = minimise(&mut fg, &[0.0; 4]);
    if !m.value.is_finite() {
        return Err(AnalysisError::NoConvergence(
            "BG/NBD likelihood is not finite".into(),
        ));
    }
    let e: Vec<f64> = m.x.iter().map(|v| v.exp()).collect();
    Ok(Fit {
        params: BgNbdParams {
            r: e[0],
            alpha: e[1],
            a: e[2],
            b: e[3],
        },
        log_likelihood: -m.value,
        evaluations: m.evaluations,
    })
}

/// Fits Pareto/NBD (r, α, s, β) by maximum likelihood.
pub fn fit_pareto_nbd(d: &ClvData) -> Result<Fit<ParetoNbdParams>> {
    fit_pareto_groups(&check(d)?)
}

fn fit_pareto_groups(g: &Groups) -> Result<Fit<ParetoNbdParams>> {
    let mut f = |th: &[f64]| -> f64 {
        let p = ParetoNbdParams {
            r: th[0].exp(),
            alpha: th[1].exp(),
            s: th[2].exp(),
            beta: th[3].exp(),
        };
        let mut ll = 0.0;
        for i in 0..g.x.len() {
            ll += g.w[i] * p.log_likelihood(g.x[i], g.tx[i], g.t[i]);
        }
        -ll
    };
    let m = nelder_mead(&mut f, &[0.0; 4], TOL, MAX_EVALS);
    if !m.value.is_finite() {
        return Err(AnalysisError::NoConvergence(
            "Pareto/NBD likelihood is not finite".into(),
        ));
    }
    let e: Vec<f64> = m.x.iter().map(|v| v.exp()).collect();
    Ok(Fit {
        params: ParetoNbdParams {
            r: e[0],
            alpha: e[1],
            s: e[2],
            beta: e[3],
        },
        log_likelihood: -m.value,
        evaluations: m.evaluations,
    })
}

/// Fits Gamma-Gamma (p, q, v) on the repeat buyers (x > 0, monetary > 0).
pub fn fit_gamma_gamma(d: &ClvData) -> Result<Fit<GammaGammaParams>> {
    let mon = d.monetary.as_ref().ok_or_else(|| {
        AnalysisError::InvalidParameter("Gamma-Gamma needs monetary values".into())
    })?;
    let mut xs: Vec<f64> = Vec::new();
    let mut xmap: FastMap<u64, usize> = FastMap::default();
    let mut rows: Vec<(usize, f64, f64, f64)> = Vec::new(); // (x index, x, ln m, m)
    for (&x, &m) in d.frequency.iter().zip(mon) {
        if x > 0.0 && m > 0.0 {
            let n = xs.len();
            let k = *xmap.entry(x.to_bits()).or_insert(n);
            if k == n {
                xs.push(x);
            }
            rows.push((k, x, m.ln(), m));
        }
    }
    if rows.len() < 3 {
        return Err(AnalysisError::Empty(
            "Gamma-Gamma needs at least three repeat buyers".into(),
        ));
    }
    let lnx: Vec<f64> = xs.iter().map(|x| x.ln()).collect();
    let n = rows.len() as f64;
    let mut fg = |th: &[f64], grad: &mut [f64]| -> f64 {
        let (p, q, v) = (th[0].exp(), th[1].exp(), th[2].exp());
        // Per distinct x: ln Γ(px+q) − ln Γ(px) + px ln x, ψ(px+q), ψ(px).
        let px: Vec<[f64; 3]> = xs
            .iter()
            .zip(&lnx)
            .map(|(&x, &lx)| {
                [
                    ln_gamma(p * x + q) - ln_gamma(p * x) + p * x * lx,
                    digamma(p * x + q),
                    digamma(p * x),
                ]
            })
            .collect();
        let lv = v.ln();
        let sum = |range: std::ops::Range<usize>| -> [f64; 5] {
            let mut acc = [0.0; 5];
            for &(k, x, lm, m) in &rows[range] {
                let c = &px[k];
                let xm = x * m + v;
                let l = xm.ln();
                acc[0] += c[0] + (p * x - 1.0) * lm - (p * x + q) * l;
                acc[1] += x * (c[1] - c[2] + lnx[k] + lm - l);
                acc[2] += c[1] - l;
                acc[3] += (p * x + q) / xm;
            }
            acc
        };
        let s = par_sum5(rows.len(), &sum);
        let ll = s[0] + n * (-ln_gamma(q) + q * lv);
        grad[0] = -p * s[1];
        grad[1] = -q * (s[2] + n * (lv - digamma(q)));
        grad[2] = -v * (n * q / v - s[3]);
        -ll
    };
    // Start at p = 1, q = 2 and v = mean spend, where the model's mean spend
    // p·v/(q − 1) equals the observed one (the likelihood has a long ridge
    // in p·v that a start far from the data wanders along).
    let mean_m = rows.iter().map(|r| r.3).sum::<f64>() / n;
    let m = minimise(&mut fg, &[0.0, 2f64.ln(), mean_m.ln()]);
    if !m.value.is_finite() {
        return Err(AnalysisError::NoConvergence(
            "Gamma-Gamma likelihood is not finite".into(),
        ));
    }
    let e: Vec<f64> = m.x.iter().map(|v| v.exp()).collect();
    Ok(Fit {
        params: GammaGammaParams {
            p: e[0],
            q: e[1],
            v: e[2],
        },
        log_likelihood: -m.value,
        evaluations: m.evaluations,
    })
}

/// Which purchase-count model to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClvModel {
    #[default]
    BgNbd,
    Pareto,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvOptions {
    pub model: ClvModel,
    /// Unit of the summary (for converting months to periods).
    pub period: Period,
    pub horizon_months: u32,
    /// Monthly discount rate, e.g. 0.01.
    pub monthly_discount: f64,
    /// Return a row per customer in [`ClvResult::customers`]; without them
    /// (`false`) only the parameters and the totals (a summary).
    pub per_customer: bool,
}

impl Default for ClvOptions {
    fn default() -> Self {
        Self {
            model: ClvModel::BgNbd,
            period: Period::W,
            horizon_months: 12,
            monthly_discount: 0.01,
            per_customer: true,
        }
    }
}

/// Fitted parameters of either purchase model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PurchaseParams {
    BgNbd(BgNbdParams),
    Pareto(ParetoNbdParams),
}

impl PurchaseModel for PurchaseParams {
    fn p_alive(&self, x: f64, t_x: f64, t: f64) -> f64 {
        match self {
            PurchaseParams::BgNbd(p) => p.p_alive(x, t_x, t),
            PurchaseParams::Pareto(p) => p.p_alive(x, t_x, t),
        }
    }

    fn purchases_if_alive(&self, h: f64, x: f64, t: f64) -> f64 {
        match self {
            PurchaseParams::BgNbd(p) => p.purchases_if_alive(h, x, t),
            PurchaseParams::Pareto(p) => p.purchases_if_alive(h, x, t),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClvCustomer {
    pub customer_id: String,
    pub frequency: f64,
    pub recency: f64,
    #[serde(rename = "T")]
    pub t: f64,
    pub monetary_value: Option<f64>,
    pub p_alive: f64,
    /// Expected purchases over the horizon.
    pub expected_purchases: f64,
    /// Expected mean spend per purchase (yuan), with Gamma-Gamma.
    pub expected_spend: Option<f64>,
    /// Discounted value (yuan) over the horizon, with Gamma-Gamma.
    pub clv: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClvResult {
    pub model: ClvModel,
    pub params: PurchaseParams,
    pub log_likelihood: f64,
    /// Likelihood evaluations the purchase-model fit took.
    pub evaluations: usize,
    pub spend: Option<Fit<GammaGammaParams>>,
    /// Number of customers, P(alive) summed over them, and their CLV summed
    /// (with Gamma-Gamma).
    pub total_customers: usize,
    pub total_p_alive: f64,
    pub total_clv: Option<f64>,
    /// Empty unless [`ClvOptions::per_customer`].
    pub customers: Vec<ClvCustomer>,
}

/// Fits the chosen purchase model (and Gamma-Gamma when monetary values
/// exist) and predicts P(alive), purchases and discounted CLV per customer.
pub fn clv(d: &ClvData, opts: &ClvOptions) -> Result<ClvResult> {
    if !(opts.monthly_discount > -1.0 && opts.monthly_discount.is_finite()) {
        return Err(AnalysisError::InvalidParameter(
            "discount rate must be above -1".into(),
        ));
    }
    let g = check(d)?;
    let (params, ll, evaluations) = match opts.model {
        ClvModel::BgNbd => {
            let f = fit_bgnbd_groups(&g)?;
            (
                PurchaseParams::BgNbd(f.params),
                f.log_likelihood,
                f.evaluations,
            )
        }
        ClvModel::Pareto => {
            let f = fit_pareto_groups(&g)?;
            (
                PurchaseParams::Pareto(f.params),
                f.log_likelihood,
                f.evaluations,
            )
        }
    };
    let has_money = d
        .monetary
        .as_ref()
        .is_some_and(|m| m.iter().any(|v| *v > 0.0));
    let spend = if has_money {
        Some(fit_gamma_gamma(d)?)
    } else {
        None
    };
    let per = opts.period.per_month();
    let months = opts.horizon_months;
    let horizon = f64::from(months) * per;
    // Purchases if alive and their discounted monthly stream depend on (x, T)
    // only, P(alive) on (x, t_x, T): compute each once per distinct key.
    let discount = 1.0 + opts.monthly_discount;
    let mut xt_index: FastMap<(u64, u64), usize> = FastMap::default();
    let mut xt: Vec<(f64, f64)> = Vec::new();
    let group_xt: Vec<usize> = (0..g.x.len())
        .map(|i| {
            let next = xt.len();
            let j = *xt_index
                .entry((g.x[i].to_bits(), g.t[i].to_bits()))
                .or_insert(next);
            if j == next {
                xt.push((g.x[i], g.t[i]));
            }
            j
        })
        .collect();
    let per_xt = |j: usize| -> [f64; 2] {
        let (x, t) = xt[j];
        let mut prev = 0.0;
        let mut stream = 0.0;
        // Discounted monthly purchases, as lifetimes' customer_lifetime_value.
        for k in 1..=months {
            let cum = params.purchases_if_alive(f64::from(k) * per, x, t);
            stream += (cum - prev) / discount.powi(k as i32);
            prev = cum;
        }
        let expected = if months == 0 {
            params.purchases_if_alive(horizon, x, t)
        } else {
            prev
        };
        [expected, stream]
    };
    let n_xt = xt.len();
    let xt_values: Vec<[f64; 2]> = if n_xt > 2_048 {
        let mid = n_xt / 2;
        std::thread::scope(|s| {
            let h = s.spawn(|| (mid..n_xt).map(per_xt).collect::<Vec<_>>());
            let mut a: Vec<[f64; 2]> = (0..mid).map(per_xt).collect();
            match h.join() {
                Ok(b) => a.extend(b),
                Err(_) => a.extend((mid..n_xt).map(per_xt)),
            }
            a
        })
    } else {
        (0..n_xt).map(per_xt).collect()
    };
    let groups: Vec<[f64; 3]> = (0..g.x.len())
        .map(|i| {
            let alive = params.p_alive(g.x[i], g.tx[i], g.t[i]);
            let [expected, stream] = xt_values[group_xt[i]];
            [alive, expected * alive, stream * alive]
        })
        .collect();
    let mut total_p_alive = 0.0;
    let mut total_clv = 0.0;
    let mut customers = Vec::with_capacity(if opts.per_customer { d.len() } else { 0 });
    for i in 0..d.len() {
        let [p_alive, expected_purchases, stream] = groups[g.of_customer[i]];
        let x = d.frequency[i];
        let m = d.monetary.as_ref().map(|m| m[i]);
        let expected_spend = spend
            .as_ref()
            .map(|s| s.params.expected_spend(x, m.unwrap_or(0.0)));
        let value = expected_spend.map(|sp| sp * stream);
        total_p_alive += p_alive;
        total_clv += value.unwrap_or(0.0);
        if opts.per_customer {
            customers.push(ClvCustomer {
                customer_id: d.ids[i].clone(),
                frequency: x,
                recency: d.recency[i],
                t: d.t[i],
                monetary_value: m,
                p_alive,
                expected_purchases,
                expected_spend,
                clv: value,
            });
        }
    }
    Ok(ClvResult {
        model: opts.model,
        params,
        log_likelihood: ll,
        evaluations,
        total_clv: spend.as_ref().map(|_| total_clv),
        spend,
        total_customers: d.len(),
        total_p_alive,
        customers,
    })
}
