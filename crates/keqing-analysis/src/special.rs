//! Special functions for the CLV models: ln Γ and the Gauss hypergeometric ₂F₁.

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error ~1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1−x) = π / sin(πx).
        let s = (std::f64::consts::PI * x).sin().abs();
        return std::f64::consts::PI.ln() - s.ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Digamma ψ(x) = d/dx ln Γ(x) for x > 0 (recurrence, then the asymptotic series).
pub fn digamma(mut x: f64) -> f64 {
    let mut r = 0.0;
    while x < 10.0 {
        r -= 1.0 / x;
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    r + x.ln()
        - 0.5 / x
        - f * (1.0 / 12.0
            - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f * (1.0 / 240.0 - f * (1.0 / 132.0)))))
}

/// ln B(a, b).
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// ₂F₁(a, b; c; z) for 0 ≤ z < 1 by its power series, summed until the terms
/// stop mattering (the ratio of successive terms tends to z, so this is exact
/// to rounding for every z < 1, only slower as z nears 1).
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    series(a, b, c, z, ALL_TERMS).0
}

/// How many terms [`hyp2f1`] sums at most.
const ALL_TERMS: usize = 1_000_000;

/// How many terms a likelihood may sum for one ₂F₁ ([`hyp2f1_within`]):
/// enough for every z up to about 0.993. A fit evaluates the likelihood
/// for every customer at each of up to tens of thousands of steps, and an
/// optimiser wandering to where z nears 1 (α ≪ β in Pareto/NBD) made each
/// step sum millions of terms: minutes for a dozen customers.
pub const FIT_TERMS: usize = 5_000;

/// ₂F₁ as [`hyp2f1`] sums it, but NaN when the series has not converged
/// within `terms` terms: a fit's optimiser takes a non-finite likelihood as
/// the worst and steps away from it.
pub fn hyp2f1_within(a: f64, b: f64, c: f64, z: f64, terms: usize) -> f64 {
    match series(a, b, c, z, terms) {
        (sum, true) => sum,
        (_, false) => f64::NAN,
    }
}

/// The series' sum, and whether it converged (or overflowed) within
/// `terms` terms.
fn series(a: f64, b: f64, c: f64, z: f64, terms: usize) -> (f64, bool) {
    if z == 0.0 {
        return (1.0, true);
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut n = 0.0;
    for _ in 0..terms {
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        n += 1.0;
        if term.abs() <= 1e-16 * sum.abs() && n > (a + b - c).abs() {
            return (sum, true);
        }
        if !sum.is_finite() {
            return (sum, true);
        }
    }
    (sum, false)
}

/// ln(eˣ + eʸ) without overflow.
pub fn log_add_exp(x: f64, y: f64) -> f64 {
    if x == f64::NEG_INFINITY {
        return y;
    }
    if y == f64::NEG_INFINITY {
        return x;
    }
    let m = x.max(y);
    m + ((x - m).exp() + (y - m).exp()).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_gamma_matches_known_values() {
        let fact: f64 = (1..=20).map(f64::from).product();
        assert!((ln_gamma(21.0) - fact.ln()).abs() < 1e-12);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-14);
        assert!(ln_gamma(1.0).abs() < 1e-14 && ln_gamma(2.0).abs() < 1e-14);
        // Γ(0.1) = 9.513507698668732
        assert!((ln_gamma(0.1) - 9.513_507_698_668_732_f64.ln()).abs() < 1e-13);
    }

    #[test]
    fn digamma_matches_known_values_and_the_derivative() {
        // ψ(1) = −γ
        assert!((digamma(1.0) + 0.577_215_664_901_532_9).abs() < 1e-12);
        for x in [0.05, 0.7, 3.3, 40.0] {
            let h = 1e-5 * x;
            let numeric = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
            assert!(
                (digamma(x) - numeric).abs() < 1e-6 * (1.0 + numeric.abs()),
                "{x}"
            );
        }
    }

    #[test]
    fn hyp2f1_matches_closed_forms() {
        // ₂F₁(1, 1; 2; z) = −ln(1 − z) / z
        for z in [0.1, 0.5, 0.9, 0.99] {
            let want = -(1.0f64 - z).ln() / z;
            assert!(
                (hyp2f1(1.0, 1.0, 2.0, z) - want).abs() < 1e-12 * want,
                "{z}"
            );
        }
        // ₂F₁(a, b; b; z) = (1 − z)^(−a)
        assert!((hyp2f1(2.5, 3.0, 3.0, 0.3) - 0.7f64.powf(-2.5)).abs() < 1e-12);
    }

    #[test]
    fn a_likelihood_gives_up_near_one_instead_of_summing_millions_of_terms() {
        // Within the budget up to z ≈ 0.993, the same sum as hyp2f1 …
        for z in [0.5, 0.99] {
            assert_eq!(
                hyp2f1_within(1.0, 1.0, 2.0, z, FIT_TERMS),
                hyp2f1(1.0, 1.0, 2.0, z)
            );
        }
        // … and nearer 1 NaN, where hyp2f1 goes on to its million terms.
        assert!(hyp2f1_within(3.0, 2.0, 4.0, 1.0 - 1e-7, FIT_TERMS).is_nan());
        assert!(hyp2f1(3.0, 2.0, 4.0, 1.0 - 1e-7).is_finite());
    }
}
