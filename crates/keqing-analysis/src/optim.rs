//! Nelder–Mead minimisation (with restarts), used for the CLV likelihoods on
//! log-parameters.

/// Result of a minimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub evaluations: usize,
    pub converged: bool,
}

/// Minimises `f` from `x0`. Non-finite values are treated as +∞. Restarts
/// from the best point until a restart no longer improves the value.
pub fn nelder_mead(
    f: &mut dyn FnMut(&[f64]) -> f64,
    x0: &[f64],
    tol: f64,
    max_evals: usize,
) -> Minimum {
    let mut best = Minimum {
        x: x0.to_vec(),
        value: eval(f, x0),
        evaluations: 1,
        converged: false,
    };
    for round in 0..8 {
        let step = if round == 0 { 0.5 } else { 0.1 };
        let m = one_run(
            f,
            &best.x,
            step,
            tol,
            max_evals.saturating_sub(best.evaluations),
        );
        let improved = best.value - m.value;
        let evals = best.evaluations + m.evaluations;
        if m.value <= best.value {
            best = Minimum {
                evaluations: evals,
                ..m
            };
        } else {
            best.evaluations = evals;
        }
        if round > 0 && improved.abs() <= tol * (1.0 + best.value.abs()) && best.converged {
            break;
        }
        if best.evaluations >= max_evals {
            break;
        }
    }
    best
}

fn eval(f: &mut dyn FnMut(&[f64]) -> f64, x: &[f64]) -> f64 {
    let v = f(x);
    if v.is_finite() {
        v
    } else {
        f64::INFINITY
    }
}

fn one_run(
    f: &mut dyn FnMut(&[f64]) -> f64,
    x0: &[f64],
    step: f64,
    tol: f64,
    max_evals: usize,
) -> Minimum {
    let n = x0.len();
    // Adaptive coefficients (Gao & Han 2012) behave better for n > 2.
    let nf = n as f64;
    let (alpha, gamma, rho, sigma) = (1.0, 1.0 + 2.0 / nf, 0.75 - 1.0 / (2.0 * nf), 1.0 - 1.0 / nf);
    let mut pts: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
    pts.push(x0.to_vec());
    for i in 0..n {
        let mut p = x0.to_vec();
        p[i] += step;
        pts.push(p);
    }
    let mut vals: Vec<f64> = pts.iter().map(|p| eval(f, p)).collect();
    let mut evals = n + 1;
    let mut converged = false;
    while evals < max_evals {
        let mut idx: Vec<usize> = (0..=n).collect();
        idx.sort_by(|&a, &b| vals[a].total_cmp(&vals[b]));
        pts = idx.iter().map(|&i| pts[i].clone()).collect();
        vals = idx.iter().map(|&i| vals[i]).collect();
        let spread = (vals[n] - vals[0]).abs();
        let size = pts[1..]
            .iter()
            .flat_map(|p| p.iter().zip(&pts[0]).map(|(a, b)| (a - b).abs()))
            .fold(0.0f64, f64::max);
        if spread <= tol * (1.0 + vals[0].abs()) && size <= tol.sqrt() {
            converged = true;
            break;
        }
        let centroid: Vec<f64> = (0..n)
            .map(|j| pts[..n].iter().map(|p| p[j]).sum::<f64>() / nf)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            (0..n)
                .map(|j| centroid[j] + t * (pts[n][j] - centroid[j]))
                .collect()
        };
        let xr = along(-alpha);
        let fr = eval(f, &xr);
        evals += 1;
        if fr < vals[0] {
            let xe = along(-alpha * gamma);
            let fe = eval(f, &xe);
            evals += 1;
            if fe < fr {
                pts[n] = xe;
                vals[n] = fe;
            } else {
                pts[n] = xr;
                vals[n] = fr;
            }
        } else if fr < vals[n - 1] {
            pts[n] = xr;
            vals[n] = fr;
        } else {
            let (xc, fc) = if fr < vals[n] {
                let xc = along(-alpha * rho);
                let fc = eval(f, &xc);
                (xc, fc)
            } else {
                let xc = along(rho);
                let fc = eval(f, &xc);
                (xc, fc)
            };
            evals += 1;
            if fc < vals[n].min(fr) {
                pts[n] = xc;
                vals[n] = fc;
            } else {
                let best = pts[0].clone();
                for (p, v) in pts.iter_mut().zip(vals.iter_mut()).skip(1) {
                    for (pj, bj) in p.iter_mut().zip(&best) {
                        *pj = bj + sigma * (*pj - bj);
                    }
                    *v = eval(f, p);
                }
                evals += n;
            }
        }
    }
    let (bi, _) = vals
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .unwrap_or((0, &f64::INFINITY));
    Minimum {
        x: pts[bi].clone(),
        value: vals[bi],
        evaluations: evals,
        converged,
    }
}

/// BFGS with a backtracking (Armijo) line search. `fg(x, grad)` returns f(x)
/// and writes its gradient. Stops when the gradient is negligible or no step
/// decreases f; `converged` tells which.
pub fn bfgs(fg: &mut dyn FnMut(&[f64], &mut [f64]) -> f64, x0: &[f64], max_iter: usize) -> Minimum {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut f = fg(&x, &mut g);
    let mut evals = 1;
    if !f.is_finite() || g.iter().any(|v| !v.is_finite()) {
        return Minimum {
            x,
            value: f64::INFINITY,
            evaluations: evals,
            converged: false,
        };
    }
    // Inverse Hessian approximation, row-major.
    let mut h = vec![0.0; n * n];
    for i in 0..n {
        h[i * n + i] = 1.0;
    }
    let mut converged = false;
    let mut xn = vec![0.0; n];
    let mut gn = vec![0.0; n];
    for _ in 0..max_iter {
        let gmax = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        // Relative to |f|: a log-likelihood summed over many customers has a
        // gradient noise floor of about 1e-10·|f| from rounding alone.
        if gmax <= 1e-9 * (1.0 + f.abs()) {
            converged = true;
            break;
        }
        let mut d: Vec<f64> = (0..n)
            .map(|i| -(0..n).map(|j| h[i * n + j] * g[j]).sum::<f64>())
            .collect();
        let mut slope: f64 = d.iter().zip(&g).map(|(a, b)| a * b).sum();
        if slope >= 0.0 {
            // Not a descent direction: reset to steepest descent.
            h.iter_mut()
                .enumerate()
                .for_each(|(k, v)| *v = if k % (n + 1) == 0 { 1.0 } else { 0.0 });
            d = g.iter().map(|v| -v).collect();
            slope = -g.iter().map(|v| v * v).sum::<f64>();
        }
        // Keep steps in log-parameter space moderate.
        let dmax = d.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let mut t = if dmax > 2.0 { 2.0 / dmax } else { 1.0 };
        let mut fnew;
        loop {
            for i in 0..n {
                xn[i] = x[i] + t * d[i];
            }
            fnew = fg(&xn, &mut gn);
            evals += 1;
            if fnew.is_finite() && fnew <= f + 1e-4 * t * slope && gn.iter().all(|v| v.is_finite())
            {
                break;
            }
            t *= 0.25;
            if t < 1e-10 {
                break;
            }
        }
        if !(fnew.is_finite() && fnew <= f) || t < 1e-10 {
            // No progress possible: at the minimum to working precision.
            converged = gmax <= 1e-6 * (1.0 + f.abs());
            break;
        }
        let s: Vec<f64> = (0..n).map(|i| xn[i] - x[i]).collect();
        let y: Vec<f64> = (0..n).map(|i| gn[i] - g[i]).collect();
        let sy: f64 = s.iter().zip(&y).map(|(a, b)| a * b).sum();
        let df = f - fnew;
        x.copy_from_slice(&xn);
        g.copy_from_slice(&gn);
        f = fnew;
        if sy > 1e-12 {
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..n)
                .map(|i| (0..n).map(|j| h[i * n + j] * y[j]).sum())
                .collect();
            let yhy: f64 = y.iter().zip(&hy).map(|(a, b)| a * b).sum();
            for i in 0..n {
                for j in 0..n {
                    h[i * n + j] += -rho * (hy[i] * s[j] + s[i] * hy[j])
                        + (rho * rho * yhy + rho) * s[i] * s[j];
                }
            }
        }
        if df <= 1e-16 * f.abs() && s.iter().all(|v| v.abs() < 1e-12) {
            converged = true;
            break;
        }
    }
    Minimum {
        x,
        value: f,
        evaluations: evals,
        converged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rosenbrock_minimum() {
        let mut f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = nelder_mead(&mut f, &[-1.2, 1.0], 1e-14, 20_000);
        assert!(m.converged);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-5 && (m.x[1] - 1.0).abs() < 1e-5,
            "{:?}",
            m.x
        );
    }

    #[test]
    fn bfgs_finds_the_rosenbrock_minimum() {
        let mut fg = |x: &[f64], g: &mut [f64]| {
            g[0] = -2.0 * (1.0 - x[0]) - 400.0 * x[0] * (x[1] - x[0] * x[0]);
            g[1] = 200.0 * (x[1] - x[0] * x[0]);
            (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2)
        };
        let m = bfgs(&mut fg, &[-1.2, 1.0], 1_000);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-6 && (m.x[1] - 1.0).abs() < 1e-6,
            "{m:?}"
        );
    }

    #[test]
    fn minimises_a_four_dimensional_quadratic() {
        let mut f = |x: &[f64]| {
            x.iter()
                .enumerate()
                .map(|(i, v)| (i as f64 + 1.0) * (v - i as f64).powi(2))
                .sum()
        };
        let m = nelder_mead(&mut f, &[5.0, 5.0, 5.0, 5.0], 1e-14, 50_000);
        for (i, v) in m.x.iter().enumerate() {
            assert!((v - i as f64).abs() < 1e-5);
        }
    }
}
