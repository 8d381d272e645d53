//! L-BFGS with a strong-Wolfe line search, keeping every evaluated point's value and
//! gradient so the search never recomputes one.

use crate::error::ModelError;

use super::kernels::Objective;

/// y += a · x.
#[inline(always)]
fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Where L-BFGS stopped.
pub(super) struct LbfgsResult {
    pub(super) theta: Vec<f64>,
    pub(super) n_iter: usize,
    pub(super) n_evals: usize,
    pub(super) converged: bool,
}

/// Memory of L-BFGS (pairs kept), as scipy's default `maxcor`.
const MEMORY: usize = 10;

/// A point with its value and gradient.
#[derive(Clone)]
struct Point {
    theta: Vec<f64>,
    grad: Vec<f64>,
    f: f64,
}

/// Minimize `obj` from θ = 0.
pub(super) fn lbfgs(
    obj: &Objective<'_>,
    max_iter: usize,
    tol: f64,
) -> Result<LbfgsResult, ModelError> {
    let dim = obj.dim();
    let mut evals = 0usize;
    let mut eval = |pt: &mut Point| {
        evals += 1;
        pt.f = obj.eval(&pt.theta, &mut pt.grad);
    };
    let mut cur = Point {
        theta: vec![0.0; dim],
        grad: vec![0.0; dim],
        f: 0.0,
    };
    eval(&mut cur);
    if !cur.f.is_finite() || cur.grad.iter().any(|g| !g.is_finite()) {
        return Err(ModelError::Fit(
            "logistic regression: the features contain NaN or infinite values".into(),
        ));
    }
    let mut trial = cur.clone();
    let mut spare = cur.clone();
    let mut s_hist: Vec<Vec<f64>> = Vec::with_capacity(MEMORY);
    let mut y_hist: Vec<Vec<f64>> = Vec::with_capacity(MEMORY);
    let mut rho: Vec<f64> = Vec::with_capacity(MEMORY);
    let mut dir = vec![0.0; dim];
    let mut alpha_buf = vec![0.0; MEMORY];
    let mut converged = max_abs(&cur.grad) <= tol;
    let mut n_iter = 0;
    while !converged && n_iter < max_iter {
        n_iter += 1;
        two_loop(&cur.grad, &s_hist, &y_hist, &rho, &mut alpha_buf, &mut dir);
        let mut slope = dot_full(&cur.grad, &dir);
        if slope >= 0.0 {
            // Not a descent direction (rounding): restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho.clear();
            for (d, g) in dir.iter_mut().zip(&cur.grad) {
                *d = -g;
            }
            slope = dot_full(&cur.grad, &dir);
        }
        // First iteration: a step of length 1 in θ, as scipy's L-BFGS-B.
        let step0 = if s_hist.is_empty() {
            1.0 / norm2(&dir).max(f64::MIN_POSITIVE)
        } else {
            1.0
        };
        let Some(_) = line_search(&mut eval, &cur, &dir, slope, step0, &mut trial, &mut spare)
        else {
            break; // no acceptable step: rounding limits progress; keep the current point
        };
        // `trial` now holds the accepted point.
        let f_old = cur.f;
        let mut s: Vec<f64> = if s_hist.len() == MEMORY {
            s_hist.remove(0)
        } else {
            vec![0.0; dim]
        };
        let mut yv: Vec<f64> = if y_hist.len() == MEMORY {
            y_hist.remove(0)
        } else {
            vec![0.0; dim]
        };
        if rho.len() == MEMORY {
            rho.remove(0);
        }
        for i in 0..dim {
            s[i] = trial.theta[i] - cur.theta[i];
            yv[i] = trial.grad[i] - cur.grad[i];
        }
        let sy = dot_full(&s, &yv);
        let yy = dot_full(&yv, &yv);
        if sy > f64::EPSILON * yy {
            rho.push(1.0 / sy);
            s_hist.push(s);
            y_hist.push(yv);
        }
        std::mem::swap(&mut cur, &mut trial);
        // scipy's pgtol, then its ftol as scikit-learn sets it (64 machine epsilons).
        let small_gradient = max_abs(&cur.grad) <= tol;
        let small_decrease =
            (f_old - cur.f) <= 64.0 * f64::EPSILON * f_old.abs().max(cur.f.abs()).max(1.0);
        converged = small_gradient || small_decrease;
    }
    Ok(LbfgsResult {
        theta: cur.theta,
        n_iter,
        n_evals: evals,
        converged,
    })
}

/// dir = −H·g by the two-loop recursion (H₀ = γI with γ = sᵀy/yᵀy of the latest pair).
fn two_loop(
    g: &[f64],
    s_hist: &[Vec<f64>],
    y_hist: &[Vec<f64>],
    rho: &[f64],
    alpha: &mut [f64],
    dir: &mut [f64],
) {
    for (d, gi) in dir.iter_mut().zip(g) {
        *d = -gi;
    }
    let m = s_hist.len();
    for i in (0..m).rev() {
        let a = rho[i] * dot_full(&s_hist[i], dir);
        alpha[i] = a;
        axpy(-a, &y_hist[i], dir);
    }
    if let (Some(s), Some(y)) = (s_hist.last(), y_hist.last()) {
        let gamma = dot_full(s, y) / dot_full(y, y);
        for d in dir.iter_mut() {
            *d *= gamma;
        }
    }
    for i in 0..m {
        let b = rho[i] * dot_full(&y_hist[i], dir);
        axpy(alpha[i] - b, &s_hist[i], dir);
    }
}

/// Sufficient decrease (Armijo) and curvature constants of the strong Wolfe conditions.
const C1: f64 = 1e-4;
const C2: f64 = 0.9;
/// Line-search evaluations allowed per iteration (scikit-learn passes scipy `maxls=50`).
const MAX_LS: usize = 50;

/// Strong-Wolfe line search along `dir` from `cur` (Nocedal & Wright, algorithms 3.5 and 3.6,
/// with cubic interpolation). On success `trial` holds the accepted point and its step is
/// returned. `spare` holds the best point satisfying sufficient decrease found so far.
fn line_search(
    eval: &mut impl FnMut(&mut Point),
    cur: &Point,
    dir: &[f64],
    slope0: f64,
    step0: f64,
    trial: &mut Point,
    lo: &mut Point,
) -> Option<f64> {
    let f0 = cur.f;
    let at = |pt: &mut Point, step: f64, eval: &mut dyn FnMut(&mut Point)| -> f64 {
        for ((t, c), d) in pt.theta.iter_mut().zip(&cur.theta).zip(dir) {
            *t = c + step * d;
        }
        eval(pt);
        dot_full(&pt.grad, dir)
    };
    // Bracketing phase. `lo` is the last step with sufficient decrease (0 at the start).
    let (mut a_lo, mut f_lo, mut d_lo) = (0.0, f0, slope0);
    let mut lo_is_cur = true;
    let mut step = step0;
    let mut evals = 0;
    let (a_hi, f_hi, d_hi);
    loop {
        let d = at(trial, step, eval);
        evals += 1;
        let f = trial.f;
        if !f.is_finite() || f > f0 + C1 * step * slope0 || (!lo_is_cur && f >= f_lo) {
            (a_hi, f_hi, d_hi) = (step, f, d);
            break;
        }
        if d.abs() <= -C2 * slope0 {
            return Some(step);
        }
        if d >= 0.0 {
            // Overshot the minimum along dir: zoom between here (new lo) and the old lo.
            let old = (a_lo, f_lo, d_lo);
            std::mem::swap(trial, lo);
            lo_is_cur = false;
            (a_lo, f_lo, d_lo) = (step, f, d);
            (a_hi, f_hi, d_hi) = old;
            break;
        }
        std::mem::swap(trial, lo);
        lo_is_cur = false;
        (a_lo, f_lo, d_lo) = (step, f, d);
        if evals >= MAX_LS {
            return finish_lo(trial, lo, lo_is_cur, a_lo);
        }
        step *= 4.0;
    }
    // Zoom phase: keep lo (sufficient decrease, lowest f) and hi bracketing a Wolfe point.
    let (mut a_hi, mut f_hi, mut d_hi) = (a_hi, f_hi, d_hi);
    while evals < MAX_LS {
        let step = cubic_min(a_lo, f_lo, d_lo, a_hi, f_hi, d_hi);
        if (a_hi - a_lo).abs() <= f64::EPSILON * a_lo.abs().max(a_hi.abs()) {
            break;
        }
        let d = at(trial, step, eval);
        evals += 1;
        let f = trial.f;
        if !f.is_finite() || f > f0 + C1 * step * slope0 || f >= f_lo {
            (a_hi, f_hi, d_hi) = (step, f, d);
        } else {
            if d.abs() <= -C2 * slope0 {
                return Some(step);
            }
            if d * (a_hi - a_lo) >= 0.0 {
                (a_hi, f_hi, d_hi) = (a_lo, f_lo, d_lo);
            }
            std::mem::swap(trial, lo);
            lo_is_cur = false;
            (a_lo, f_lo, d_lo) = (step, f, d);
        }
    }
    finish_lo(trial, lo, lo_is_cur, a_lo)
}

/// End a line search that found no Wolfe point: accept the best point with sufficient decrease.
fn finish_lo(trial: &mut Point, lo: &mut Point, lo_is_cur: bool, a_lo: f64) -> Option<f64> {
    if lo_is_cur {
        return None;
    }
    std::mem::swap(trial, lo);
    Some(a_lo)
}

/// Minimizer of the cubic through (a, fa, da) and (b, fb, db), kept inside the middle 80 % of
/// the interval (bisection if the cubic has no usable minimum).
fn cubic_min(a: f64, fa: f64, da: f64, b: f64, fb: f64, db: f64) -> f64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let width = hi - lo;
    let d1 = da + db - 3.0 * (fa - fb) / (a - b);
    let disc = d1 * d1 - da * db;
    let mut t = if disc >= 0.0 {
        let d2 = (b - a).signum() * disc.sqrt();
        b - (b - a) * ((db + d2 - d1) / (db - da + 2.0 * d2))
    } else {
        f64::NAN
    };
    if !t.is_finite() {
        t = 0.5 * (lo + hi);
    }
    t.clamp(lo + 0.1 * width, hi - 0.1 * width)
}

/// Σ aᵢbᵢ (small vectors: parameters).
fn dot_full(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// ‖a‖₂.
fn norm2(a: &[f64]) -> f64 {
    dot_full(a, a).sqrt()
}

/// max |aᵢ|.
fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::super::LogisticRegression;
    use super::super::fixtures::{assert_close, small_problem, tight};

    #[test]
    fn default_tolerance_stops_with_a_small_gradient() {
        let (x, yb, _) = small_problem();
        let m = LogisticRegression::default()
            .fit_model(x.view(), yb.view())
            .unwrap();
        assert!(m.converged && m.n_iter < 30, "{} iterations", m.n_iter);
        assert_close(
            m.coef.as_slice().unwrap(),
            &[3.5615197297752825, 1.6295786791039217, -3.1709295130909947],
            1e-2,
        );
    }

    #[test]
    fn max_iter_bounds_the_iterations() {
        let (x, yb, _) = small_problem();
        let m = LogisticRegression {
            max_iter: 2,
            ..tight(1.0)
        }
        .fit_model(x.view(), yb.view())
        .unwrap();
        assert_eq!(m.n_iter, 2);
        assert!(!m.converged);
    }
}
