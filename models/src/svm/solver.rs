//! libsvm's SMO solver (`Solver` in libsvm's svm.cpp, which scikit-learn's `SVC` and `SVR` run),
//! step for step, so its solutions are libsvm's:
//!
//!   min ½αᵀQα + pᵀα  subject to  yᵀα = 0,  0 ≤ αᵢ ≤ Cᵢ  (yᵢ = ±1, Cᵢ = C₊ or C₋ by yᵢ).
//!
//! - Working set: second-order selection (WSS3 of Fan, Chen and Lin, 2005): i the maximal
//!   violator, j the partner that decreases the objective most.
//! - Stops when the maximal violating pair's gap is below `eps`.
//! - Shrinking: every min(l, 1000) steps, variables at a bound that cannot move are set aside;
//!   once the gap falls below 10·eps, and at the end, the gradient of the set-aside variables is
//!   reconstructed (from Ḡ, the gradient's part from variables at the upper bound, kept for all)
//!   and everything is checked again.
//! - ρ: the mean of yᵢ∇ᵢ over free variables, else the middle of the feasible interval.

use super::qmatrix::QMatrix;

/// libsvm's floor for a non-positive curvature along the working pair.
const TAU: f64 = 1e-12;

/// Where a variable stands against its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Lower,
    Upper,
    Free,
}

/// How the solver runs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    /// Stopping tolerance on the maximal violating pair's gap (libsvm's `eps`).
    pub eps: f64,
    /// Whether to shrink (libsvm's `-h 1`, scikit-learn's `shrinking=True`).
    pub shrinking: bool,
    /// Memory for cached kernel columns (libsvm's `-m`, scikit-learn's `cache_size`, in bytes).
    pub cache_bytes: usize,
}

impl Settings {
    /// libsvm's defaults with stopping tolerance `eps`: shrinking, a 200 MB cache.
    pub fn new(eps: f64) -> Settings {
        Settings {
            eps,
            shrinking: true,
            cache_bytes: 200 << 20,
        }
    }
}

/// The solver's result, in the variables' original order.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Solution {
    /// The optimal α.
    pub alpha: Vec<f64>,
    /// The offset ρ (the decision is Σ yᵢαᵢK(xᵢ, x) − ρ).
    pub rho: f64,
    /// Steps taken.
    pub iterations: usize,
    /// The fewest variables active at once (l when nothing was shrunk).
    pub fewest_active: usize,
}

struct Solver<'q, Q> {
    q: &'q mut Q,
    l: usize,
    active: usize,
    y: Vec<i8>,
    g: Vec<f64>,
    g_bar: Vec<f64>,
    status: Vec<Bound>,
    alpha: Vec<f64>,
    p: Vec<f64>,
    qd: Vec<f64>,
    /// The original index of each variable.
    index: Vec<usize>,
    c_pos: f64,
    c_neg: f64,
    eps: f64,
    unshrink: bool,
}

/// Minimize from α = 0 with linear term `p`, labels `y` (±1) and bounds `c_pos`, `c_neg`.
pub(super) fn solve<Q: QMatrix>(
    q: &mut Q,
    p: &[f64],
    y: &[i8],
    c_pos: f64,
    c_neg: f64,
    settings: &Settings,
) -> Solution {
    let l = p.len();
    let qd = q.diagonal();
    let mut s = Solver {
        q,
        l,
        active: l,
        y: y.to_vec(),
        // α = 0: the gradient Qα + p is p, and no variable is at its upper bound.
        g: p.to_vec(),
        g_bar: vec![0.0; l],
        status: vec![Bound::Lower; l],
        alpha: vec![0.0; l],
        p: p.to_vec(),
        qd,
        index: (0..l).collect(),
        c_pos,
        c_neg,
        eps: settings.eps,
        unshrink: false,
    };
    let max_iter = 10_000_000usize.max(l.saturating_mul(100));
    let mut counter = l.min(1000) + 1;
    let mut iterations = 0;
    let mut fewest_active = l;
    while iterations < max_iter {
        counter -= 1;
        if counter == 0 {
            counter = l.min(1000);
            if settings.shrinking {
                s.shrink();
                fewest_active = fewest_active.min(s.active);
            }
        }
        let (i, j) = match s.select_working_set() {
            Some(pair) => pair,
            None => {
                // Optimal on the active set: check again on all variables.
                s.reconstruct_gradient();
                s.active = l;
                match s.select_working_set() {
                    Some(pair) => {
                        counter = 1;
                        pair
                    }
                    None => break,
                }
            }
        };
        iterations += 1;
        s.step(i, j);
    }
    if s.active < l {
        s.reconstruct_gradient();
        s.active = l;
    }
    let rho = s.rho();
    let mut alpha = vec![0.0; l];
    for (k, &a) in s.alpha.iter().enumerate() {
        alpha[s.index[k]] = a;
    }
    Solution {
        alpha,
        rho,
        iterations,
        fewest_active,
    }
}

impl<Q: QMatrix> Solver<'_, Q> {
    fn c(&self, i: usize) -> f64 {
        if self.y[i] > 0 {
            self.c_pos
        } else {
            self.c_neg
        }
    }

    fn update_status(&mut self, i: usize) {
        let c = self.c(i);
        self.status[i] = if self.alpha[i] >= c {
            Bound::Upper
        } else if self.alpha[i] <= 0.0 {
            Bound::Lower
        } else {
            Bound::Free
        };
    }

    fn swap_index(&mut self, i: usize, j: usize) {
        self.q.swap_index(i, j);
        self.y.swap(i, j);
        self.g.swap(i, j);
        self.status.swap(i, j);
        self.alpha.swap(i, j);
        self.p.swap(i, j);
        self.qd.swap(i, j);
        self.index.swap(i, j);
        self.g_bar.swap(i, j);
    }

    /// WSS3: `None` when the active variables are optimal within `eps`.
    fn select_working_set(&mut self) -> Option<(usize, usize)> {
        let active = self.active;
        // i maximizes −yᵢ∇ᵢ over the variables that can move up (in the direction yᵢ).
        let mut gmax = f64::NEG_INFINITY;
        let mut gmax_idx = None;
        // Slices of the active length, zipped: no bounds checks in the loops.
        let (g, status, y) = (&self.g[..active], &self.status[..active], &self.y[..active]);
        for (t, ((&g, &st), &y)) in g.iter().zip(status).zip(y).enumerate() {
            if y > 0 {
                if st != Bound::Upper && -g >= gmax {
                    gmax = -g;
                    gmax_idx = Some(t);
                }
            } else if st != Bound::Lower && g >= gmax {
                gmax = g;
                gmax_idx = Some(t);
            }
        }
        let i = gmax_idx?;
        let yi = f64::from(self.y[i]);
        let qdi = self.qd[i];
        let qi = self.q.column(i, active);
        let (g, status, y, qd) = (
            &self.g[..active],
            &self.status[..active],
            &self.y[..active],
            &self.qd[..active],
        );
        let mut gmax2 = f64::NEG_INFINITY;
        let mut gmin_idx = None;
        let mut obj_diff_min = f64::INFINITY;
        for (j, ((((&gj, &st), &yj), &qdj), &qij)) in
            g.iter().zip(status).zip(y).zip(qd).zip(qi).enumerate()
        {
            let (grad_diff, quad_coef) = if yj > 0 {
                if st == Bound::Lower {
                    continue;
                }
                if gj >= gmax2 {
                    gmax2 = gj;
                }
                (gmax + gj, qdi + qdj - 2.0 * yi * f64::from(qij))
            } else {
                if st == Bound::Upper {
                    continue;
                }
                if -gj >= gmax2 {
                    gmax2 = -gj;
                }
                (gmax - gj, qdi + qdj + 2.0 * yi * f64::from(qij))
            };
            if grad_diff > 0.0 {
                let obj_diff =
                    -(grad_diff * grad_diff) / if quad_coef > 0.0 { quad_coef } else { TAU };
                if obj_diff <= obj_diff_min {
                    gmin_idx = Some(j);
                    obj_diff_min = obj_diff;
                }
            }
        }
        if gmax + gmax2 < self.eps {
            return None;
        }
        gmin_idx.map(|j| (i, j))
    }

    /// Solve the two-variable subproblem of `i` and `j` and update the gradients.
    fn step(&mut self, i: usize, j: usize) {
        let (active, l) = (self.active, self.l);
        let (ci, cj) = (self.c(i), self.c(j));
        let (old_i, old_j) = (self.alpha[i], self.alpha[j]);
        let (qi, qj) = self.q.pair(i, j, active);
        let (g, a, qd) = (&mut self.g, &mut self.alpha, &self.qd);
        if self.y[i] != self.y[j] {
            let mut quad_coef = qd[i] + qd[j] + 2.0 * f64::from(qi[j]);
            if quad_coef <= 0.0 {
                quad_coef = TAU;
            }
            let delta = (-g[i] - g[j]) / quad_coef;
            let diff = a[i] - a[j];
            a[i] += delta;
            a[j] += delta;
            if diff > 0.0 {
                if a[j] < 0.0 {
                    a[j] = 0.0;
                    a[i] = diff;
                }
            } else if a[i] < 0.0 {
                a[i] = 0.0;
                a[j] = -diff;
            }
            if diff > ci - cj {
                if a[i] > ci {
                    a[i] = ci;
                    a[j] = ci - diff;
                }
            } else if a[j] > cj {
                a[j] = cj;
                a[i] = cj + diff;
            }
        } else {
            let mut quad_coef = qd[i] + qd[j] - 2.0 * f64::from(qi[j]);
            if quad_coef <= 0.0 {
                quad_coef = TAU;
            }
            let delta = (g[i] - g[j]) / quad_coef;
            let sum = a[i] + a[j];
            a[i] -= delta;
            a[j] += delta;
            if sum > ci {
                if a[i] > ci {
                    a[i] = ci;
                    a[j] = sum - ci;
                }
            } else if a[j] < 0.0 {
                a[j] = 0.0;
                a[i] = sum;
            }
            if sum > cj {
                if a[j] > cj {
                    a[j] = cj;
                    a[i] = sum - cj;
                }
            } else if a[i] < 0.0 {
                a[i] = 0.0;
                a[j] = sum;
            }
        }
        let (dai, daj) = (a[i] - old_i, a[j] - old_j);
        for ((gk, &qik), &qjk) in g[..active].iter_mut().zip(qi).zip(qj) {
            *gk += f64::from(qik) * dai + f64::from(qjk) * daj;
        }
        for (k, c) in [(i, ci), (j, cj)] {
            let was_upper = self.status[k] == Bound::Upper;
            self.update_status(k);
            if was_upper != (self.status[k] == Bound::Upper) {
                let sign = if was_upper { -c } else { c };
                let qk = self.q.column(k, l);
                for (b, &q) in self.g_bar.iter_mut().zip(qk) {
                    *b += sign * f64::from(q);
                }
            }
        }
    }

    /// Whether variable `i` is at a bound it cannot leave, given the violations `gmax1`
    /// (max −yᵢ∇ᵢ over those that can move up) and `gmax2` (max yᵢ∇ᵢ over those that can move
    /// down).
    fn is_shrinkable(&self, i: usize, gmax1: f64, gmax2: f64) -> bool {
        let g = self.g[i];
        match (self.status[i], self.y[i] > 0) {
            (Bound::Upper, true) => -g > gmax1,
            (Bound::Upper, false) => -g > gmax2,
            (Bound::Lower, true) => g > gmax2,
            (Bound::Lower, false) => g > gmax1,
            (Bound::Free, _) => false,
        }
    }

    fn shrink(&mut self) {
        let mut gmax1 = f64::NEG_INFINITY;
        let mut gmax2 = f64::NEG_INFINITY;
        // gmax1: max −yᵢ∇ᵢ over I_up (yᵢαᵢ can grow); gmax2: max yᵢ∇ᵢ over I_low (it can shrink).
        for i in 0..self.active {
            let positive = self.y[i] > 0;
            let yg = if positive { self.g[i] } else { -self.g[i] };
            let (up, low) = match self.status[i] {
                Bound::Free => (true, true),
                Bound::Lower => (positive, !positive),
                Bound::Upper => (!positive, positive),
            };
            if up {
                gmax1 = gmax1.max(-yg);
            }
            if low {
                gmax2 = gmax2.max(yg);
            }
        }
        if !self.unshrink && gmax1 + gmax2 <= self.eps * 10.0 {
            // Near the end: bring everything back once, and shrink afresh from there.
            self.unshrink = true;
            self.reconstruct_gradient();
            self.active = self.l;
        }
        let mut i = 0;
        while i < self.active {
            if self.is_shrinkable(i, gmax1, gmax2) {
                self.active -= 1;
                while self.active > i {
                    if !self.is_shrinkable(self.active, gmax1, gmax2) {
                        self.swap_index(i, self.active);
                        break;
                    }
                    self.active -= 1;
                }
            }
            i += 1;
        }
    }

    /// The gradient of the inactive variables, from Ḡ and the free active variables.
    fn reconstruct_gradient(&mut self) {
        let (active, l) = (self.active, self.l);
        if active == l {
            return;
        }
        for j in active..l {
            self.g[j] = self.g_bar[j] + self.p[j];
        }
        let free = (0..active)
            .filter(|&j| self.status[j] == Bound::Free)
            .count();
        // Read whichever is cheaper: the inactive columns' active part, or the free columns'
        // inactive part.
        if free * l > 2 * active * (l - active) {
            for i in active..l {
                let qi = self.q.column(i, active);
                for ((&st, &a), &q) in self.status.iter().zip(&self.alpha).zip(qi) {
                    if st == Bound::Free {
                        self.g[i] += a * f64::from(q);
                    }
                }
            }
        } else {
            for i in 0..active {
                if self.status[i] == Bound::Free {
                    let ai = self.alpha[i];
                    let qi = self.q.column(i, l);
                    for (gj, &q) in self.g[active..].iter_mut().zip(&qi[active..]) {
                        *gj += ai * f64::from(q);
                    }
                }
            }
        }
    }

    fn rho(&self) -> f64 {
        let mut free = 0usize;
        let mut sum_free = 0.0;
        let mut ub = f64::INFINITY;
        let mut lb = f64::NEG_INFINITY;
        for i in 0..self.active {
            let positive = self.y[i] > 0;
            let yg = if positive { self.g[i] } else { -self.g[i] };
            match self.status[i] {
                Bound::Upper if positive => lb = lb.max(yg),
                Bound::Upper => ub = ub.min(yg),
                Bound::Lower if positive => ub = ub.min(yg),
                Bound::Lower => lb = lb.max(yg),
                Bound::Free => {
                    free += 1;
                    sum_free += yg;
                }
            }
        }
        if free > 0 {
            sum_free / free as f64
        } else {
            (ub + lb) / 2.0
        }
    }
}
