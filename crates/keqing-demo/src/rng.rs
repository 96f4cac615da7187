//! A small seeded generator (SplitMix64) and the few distributions the demo needs.
//!
//! Only integer arithmetic and IEEE `+ - * /` are used (no `ln`, `exp` or
//! `cos` from the platform's libm), so a seed gives the same company on every
//! machine.

#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// An independent stream for one part of the company, so that adding a
    /// field to contacts does not reshuffle every order.
    pub(crate) fn fork(&mut self, salt: u64) -> Rng {
        Rng(self.next_u64() ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Picks by integer weights: `items` are `(value, weight)`.
    pub(crate) fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut r = self.below(total as usize) as u32;
        for (v, w) in items {
            if r < *w {
                return *v;
            }
            r -= w;
        }
        items[items.len() - 1].0
    }

    /// A standard normal variate, approximated by the Irwin–Hall sum of twelve
    /// uniforms (exact mean and variance, tails cut at ±6).
    pub(crate) fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.unit()).sum::<f64>() - 6.0
    }

    /// `exp(sigma · N(0, 1))`: a log-normal factor with median 1.
    pub(crate) fn log_normal(&mut self, sigma: f64) -> f64 {
        exp(sigma * self.normal())
    }
}

/// `e^x` by range reduction and a Taylor polynomial: accurate to about 1e-12
/// relative for |x| ≤ 20, which is all the demo needs, and bit-identical on
/// every platform.
pub(crate) fn exp(x: f64) -> f64 {
    let y = x / 1024.0;
    let mut r = 1.0 + y * (1.0 + y / 2.0 * (1.0 + y / 3.0 * (1.0 + y / 4.0 * (1.0 + y / 5.0))));
    for _ in 0..10 {
        r *= r;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_close_to_std() {
        for x in [-8.0, -1.0, 0.0, 0.5, 1.0, 3.0, 8.0] {
            let rel = (exp(x) - f64::exp(x)).abs() / f64::exp(x);
            assert!(rel < 1e-9, "exp({x}): {rel}");
        }
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = Rng::new(7);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            seen[r.below(5)] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
