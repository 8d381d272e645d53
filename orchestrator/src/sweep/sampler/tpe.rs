//! TPE, the Tree-structured Parzen Estimator (as in Hyperopt and Optuna), proposing in batches.
//!
//! After `startup` random trials, the told trials are split into good (the best
//! `min(ceil(n / 10), 25)`) and bad (the rest), a Parzen estimator is fitted to each (l and g),
//! `candidates` points are drawn from l and the one with the largest l(x)/g(x) is proposed.
//! Numeric parameters get truncated Gaussian kernels on [0, 1] after a (log-)scaling, with Optuna's
//! bandwidths and a prior kernel; categorical ones get Optuna's weighted categorical kernels.
//! Univariate: one estimator per parameter, each chosen on its own; multivariate: one joint
//! estimator whose kernels are products over the parameters (Optuna's `multivariate=True`).
//!
//! Ranking: complete trials by their objective; pruned trials after every complete one, the one
//! that got further first, then by its last intermediate value (as Optuna does); failed, timed-out
//! and out-of-memory trials are always bad and do not raise the number of good ones.
//!
//! Batches: trial `n`'s parameters depend only on the seed, `n` and the results of the batches
//! before its own. A batch is proposed whole the first time one of its trials is asked, from a
//! generator seeded with (seed, batch index); each proposal counts the batch's earlier proposals
//! as bad observations (a constant liar), so parallel proposals spread out. A resumed study, told
//! the same results and asked only the later trials, proposes what an uninterrupted one would.
//!
//! Cost: l has at most 26 kernels; g has one per bad trial and is evaluated at every candidate,
//! so a proposal is O(trials × candidates × parameters), in loops written to vectorize.

use std::collections::BTreeMap;

use models::{Direction, ParamValue, Params};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Sampler, TrialResult};
use crate::store::TrialState;
use crate::sweep::space::{Distribution, Space};

/// TPE's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TpeOptions {
    /// Trials proposed together from the same results (at least 1).
    pub batch: u64,
    /// Trials drawn at random before the model is used.
    pub startup: u64,
    /// Candidates drawn from the good trials' density for each proposal (at least 1).
    pub candidates: u32,
    /// One joint density over all parameters rather than one per parameter.
    pub multivariate: bool,
}

impl Default for TpeOptions {
    fn default() -> Self {
        TpeOptions {
            batch: 4,
            startup: 10,
            candidates: 24,
            multivariate: false,
        }
    }
}

/// Stream offset of the batches' generators: random start-up trial `n` uses stream `n`.
const BATCH_STREAMS: u64 = 1 << 63;
/// Optuna's `prior_weight`.
const PRIOR_WEIGHT: f64 = 1.0;

/// The Tree-structured Parzen Estimator over a space, proposing `trials` trials.
pub struct TpeSampler {
    space: Space,
    dims: Vec<Dim>,
    seed: u64,
    trials: u64,
    direction: Direction,
    opts: TpeOptions,
    told: BTreeMap<u64, Obs>,
    cache: Option<(u64, Vec<Params>)>,
}

impl TpeSampler {
    /// `trials` proposals from `space`, seeded with `seed`, improving the objective in `direction`.
    pub fn new(
        space: Space,
        seed: u64,
        trials: u64,
        direction: Direction,
        opts: TpeOptions,
    ) -> TpeSampler {
        let dims = space
            .0
            .iter()
            .map(|(name, d)| Dim {
                name: name.clone(),
                scale: Scale::of(d),
            })
            .collect();
        let opts = TpeOptions {
            batch: opts.batch.max(1),
            candidates: opts.candidates.max(1),
            ..opts
        };
        TpeSampler {
            space,
            dims,
            seed,
            trials,
            direction,
            opts,
            told: BTreeMap::new(),
            cache: None,
        }
    }

    /// The indices of the dimensions the model sees (the others have one value).
    fn model_dims(&self) -> Vec<usize> {
        (0..self.dims.len())
            .filter(|&i| self.dims[i].scale.kind().is_some())
            .collect()
    }

    /// Propose every trial of batch `b` from the results of the batches before it.
    fn propose_batch(&self, b: u64) -> Vec<Params> {
        let first = b.saturating_mul(self.opts.batch);
        let end = first.saturating_add(self.opts.batch).min(self.trials);
        let dims = self.model_dims();
        let kinds: Vec<Kind> = dims
            .iter()
            .filter_map(|&i| self.dims[i].scale.kind())
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(BATCH_STREAMS | b);
        let mut model: Option<Model> = None;
        let mut earlier: Vec<Vec<f64>> = Vec::new();
        let mut out = Vec::new();
        for n in first..end {
            let (params, x) = if n < self.opts.startup {
                let p = self.random(n);
                let x = dims
                    .iter()
                    .map(|&i| {
                        let d = &self.dims[i];
                        p.get(&d.name).map_or(f64::NAN, |v| d.scale.encode(v))
                    })
                    .collect();
                (p, x)
            } else {
                let m = model.get_or_insert_with(|| {
                    let mut m = self.fit(first, &dims, &kinds);
                    // The batch's earlier proposals (start-up draws) are liars too.
                    for x in &earlier {
                        m.lie(x);
                    }
                    m
                });
                let x = m.propose(&mut rng, self.opts.candidates as usize);
                (self.decode(&dims, &x), x)
            };
            if n + 1 < end
                && let Some(m) = model.as_mut()
            {
                m.lie(&x);
            }
            earlier.push(x);
            out.push(params);
        }
        out
    }

    /// Random start-up trial `n`, drawn as `RandomSampler` draws it.
    fn random(&self, n: u64) -> Params {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(n);
        self.space.sample(&mut rng)
    }

    /// Parameters from the model's coordinates (`dims` order), single-valued ones added.
    fn decode(&self, dims: &[usize], x: &[f64]) -> Params {
        let mut p = Params::new();
        for d in &self.dims {
            if let Scale::Fixed(v) = &d.scale {
                p.insert(d.name.clone(), v.clone());
            }
        }
        for (&i, &u) in dims.iter().zip(x) {
            p.insert(self.dims[i].name.clone(), self.dims[i].scale.decode(u));
        }
        p
    }

    /// The model for the batch starting at trial `first`: the split of the trials told before it.
    fn fit(&self, first: u64, dims: &[usize], kinds: &[Kind]) -> Model {
        let obs: Vec<&Obs> = self.told.range(..first).map(|(_, o)| o).collect();
        let mut ranked: Vec<(usize, (u8, f64, f64))> = obs
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.rank.map(|r| (i, r)))
            .collect();
        let n_below = ranked.len().div_ceil(10).min(25);
        ranked.sort_by(|a, b| {
            (a.1.0.cmp(&b.1.0))
                .then(a.1.1.total_cmp(&b.1.1))
                .then(a.1.2.total_cmp(&b.1.2))
                .then(a.0.cmp(&b.0))
        });
        let mut good = vec![false; obs.len()];
        for &(i, _) in &ranked[..n_below] {
            good[i] = true;
        }
        // Rows in trial order, only the model's dimensions.
        let row = |o: &Obs| -> Vec<f64> { dims.iter().map(|&i| o.x[i]).collect() };
        let below: Vec<Vec<f64>> = obs
            .iter()
            .zip(&good)
            .filter(|(_, g)| **g)
            .map(|(o, _)| row(o))
            .collect();
        let above: Vec<Vec<f64>> = obs
            .iter()
            .zip(&good)
            .filter(|(_, g)| !**g)
            .map(|(o, _)| row(o))
            .collect();
        if self.opts.multivariate {
            Model::Joint(Box::new(Joint::new(kinds, below, above)))
        } else {
            Model::Each(
                kinds
                    .iter()
                    .enumerate()
                    .map(|(j, &k)| OneDim::new(k, &below, &above, j))
                    .collect(),
            )
        }
    }

    /// What a told result says for ranking: None when it is always bad.
    fn rank(&self, r: &TrialResult) -> Option<(u8, f64, f64)> {
        let signed = |v: f64| match self.direction {
            Direction::Minimize => v,
            Direction::Maximize => -v,
        };
        match r.state {
            TrialState::Complete => r
                .value
                .filter(|v| v.is_finite())
                .map(|v| (0, signed(v), 0.0)),
            TrialState::Pruned => match r.intermediate.last() {
                Some(&(step, v)) if v.is_finite() => Some((1, -f64::from(step), signed(v))),
                _ => Some((2, 0.0, 0.0)),
            },
            _ => None,
        }
    }
}

impl Sampler for TpeSampler {
    fn ask(&mut self, n: u64) -> Option<Params> {
        if n >= self.trials {
            return None;
        }
        let b = n / self.opts.batch;
        if self.cache.as_ref().is_none_or(|(cached, _)| *cached != b) {
            let proposals = self.propose_batch(b);
            self.cache = Some((b, proposals));
        }
        let (_, proposals) = self.cache.as_ref()?;
        proposals.get((n - b * self.opts.batch) as usize).cloned()
    }

    fn tell(&mut self, result: &TrialResult) {
        let x = self
            .dims
            .iter()
            .map(|d| {
                result
                    .params
                    .get(&d.name)
                    .map_or(f64::NAN, |v| d.scale.encode(v))
            })
            .collect();
        let rank = self.rank(result);
        self.told.insert(result.trial, Obs { rank, x });
    }

    fn len(&self) -> u64 {
        self.trials
    }

    fn batch(&self) -> Option<u64> {
        Some(self.opts.batch)
    }
}

/// A told trial: its ranking key (None: always bad) and its coordinates (NaN: unusable).
struct Obs {
    rank: Option<(u8, f64, f64)>,
    x: Vec<f64>,
}

/// One parameter and how it maps to the model's coordinates.
struct Dim {
    name: String,
    scale: Scale,
}

/// How a parameter maps to [0, 1] (numeric) or a choice index (categorical).
enum Scale {
    /// One possible value: not modelled.
    Fixed(ParamValue),
    /// A real: (f(x) - lo) / (hi - lo), f the identity or ln.
    Real {
        lo: f64,
        hi: f64,
        log: bool,
        low: f64,
        high: f64,
    },
    /// An integer drawn on a log scale: continuous in ln, snapped to the step grid.
    LogInt {
        lo: f64,
        hi: f64,
        low: i64,
        step: i64,
        steps: i64,
    },
    /// An integer on a linear scale: value `i` of `bins` is the bin centred at (i + 0.5) / bins.
    Int { low: i64, step: i64, bins: i64 },
    /// One of the choices, by index.
    Cat(Vec<ParamValue>),
}

/// What the model sees of a dimension.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Continuous on [0, 1].
    Real,
    /// `bins` equal bins of [0, 1].
    Bins(f64),
    /// One of `n` choices.
    Cat(usize),
}

impl Scale {
    fn of(d: &Distribution) -> Scale {
        match d {
            Distribution::Categorical(v) if v.len() <= 1 => {
                Scale::Fixed(v.first().cloned().unwrap_or(ParamValue::Bool(false)))
            }
            Distribution::Categorical(v) => Scale::Cat(v.clone()),
            Distribution::Int {
                low, high, step, ..
            } if high <= low || (high - low) / step == 0 => Scale::Fixed(ParamValue::Int(*low)),
            Distribution::Int {
                low,
                high,
                step,
                log: true,
            } => {
                let steps = (high - low) / step;
                let half = *step as f64 / 2.0;
                // Optuna widens by half a step (ln(low - 0.5) for step 1); never below low / 2 > 0.
                let lo = (*low as f64 - half).max(*low as f64 / 2.0).ln();
                let hi = ((low + steps * step) as f64 + half).ln();
                Scale::LogInt {
                    lo,
                    hi,
                    low: *low,
                    step: *step,
                    steps,
                }
            }
            Distribution::Int {
                low, high, step, ..
            } => Scale::Int {
                low: *low,
                step: *step,
                bins: (high - low) / step + 1,
            },
            Distribution::Float { low, high, .. } if low >= high => {
                Scale::Fixed(ParamValue::Float(*low))
            }
            Distribution::Float { low, high, log, .. } => {
                let f = |x: f64| if *log { x.ln() } else { x };
                Scale::Real {
                    lo: f(*low),
                    hi: f(*high),
                    log: *log,
                    low: *low,
                    high: *high,
                }
            }
        }
    }

    fn kind(&self) -> Option<Kind> {
        match self {
            Scale::Fixed(_) => None,
            Scale::Real { .. } | Scale::LogInt { .. } => Some(Kind::Real),
            Scale::Int { bins, .. } => Some(Kind::Bins(*bins as f64)),
            Scale::Cat(c) => Some(Kind::Cat(c.len())),
        }
    }

    /// The model coordinate of a value, NaN if the value does not belong.
    fn encode(&self, v: &ParamValue) -> f64 {
        let num = match v {
            ParamValue::Int(i) => Some(*i as f64),
            ParamValue::Float(x) if x.is_finite() => Some(*x),
            _ => None,
        };
        match (self, num) {
            (Scale::Fixed(_), _) => 0.0,
            (Scale::Cat(choices), _) => choices
                .iter()
                .position(|c| same_value(c, v))
                .map_or(f64::NAN, |i| i as f64),
            (
                Scale::Real {
                    lo,
                    hi,
                    log,
                    low,
                    high,
                },
                Some(x),
            ) => {
                let x = x.clamp(*low, *high);
                let f = if *log { x.ln() } else { x };
                ((f - lo) / (hi - lo)).clamp(0.0, 1.0)
            }
            (Scale::LogInt { lo, hi, .. }, Some(x)) if x > 0.0 => {
                ((x.ln() - lo) / (hi - lo)).clamp(0.0, 1.0)
            }
            (Scale::Int { low, step, bins }, Some(x)) => {
                let i = ((x - *low as f64) / *step as f64)
                    .round()
                    .clamp(0.0, (*bins - 1) as f64);
                (i + 0.5) / *bins as f64
            }
            _ => f64::NAN,
        }
    }

    /// The value at a model coordinate.
    fn decode(&self, u: f64) -> ParamValue {
        let u = if u.is_finite() {
            u.clamp(0.0, 1.0)
        } else {
            0.5
        };
        match self {
            Scale::Fixed(v) => v.clone(),
            Scale::Cat(choices) => {
                let i = (u as usize).min(choices.len().saturating_sub(1));
                choices.get(i).cloned().unwrap_or(ParamValue::Bool(false))
            }
            Scale::Real {
                lo,
                hi,
                log,
                low,
                high,
            } => {
                let f = lo + u * (hi - lo);
                let x = if *log { f.exp() } else { f };
                ParamValue::Float(x.clamp(*low, *high))
            }
            Scale::LogInt {
                lo,
                hi,
                low,
                step,
                steps,
            } => {
                let x = (lo + u * (hi - lo)).exp();
                let k = ((x - *low as f64) / *step as f64).round() as i64;
                ParamValue::Int(low + k.clamp(0, *steps) * step)
            }
            Scale::Int { low, step, bins } => {
                let i = ((u * *bins as f64) as i64).clamp(0, bins - 1);
                ParamValue::Int(low + i * step)
            }
        }
    }
}

/// Whether a told value is this choice (a stored `1.0` may come back as `1`).
fn same_value(choice: &ParamValue, v: &ParamValue) -> bool {
    match (choice, v) {
        (ParamValue::Float(a), ParamValue::Int(b)) | (ParamValue::Int(b), ParamValue::Float(a)) => {
            *a == *b as f64
        }
        _ => choice == v,
    }
}

/// The model of one batch: l fixed, g grown by the batch's liars.
enum Model {
    Each(Vec<OneDim>),
    Joint(Box<Joint>),
}

impl Model {
    fn propose(&mut self, rng: &mut ChaCha8Rng, candidates: usize) -> Vec<f64> {
        match self {
            Model::Each(dims) => dims.iter().map(|d| d.propose(rng, candidates)).collect(),
            Model::Joint(j) => j.propose(rng, candidates),
        }
    }

    fn lie(&mut self, x: &[f64]) {
        match self {
            Model::Each(dims) => {
                for (d, &v) in dims.iter_mut().zip(x) {
                    d.lie(v);
                }
            }
            Model::Joint(j) => j.lie(x),
        }
    }
}

/// Univariate TPE for one dimension: l from the good values, g from the bad ones (kept sorted,
/// with the order each arrived in, for the bandwidths and the weights).
struct OneDim {
    kind: Kind,
    below: Mixture,
    /// (value, arrival index) of the bad observations, sorted by value.
    above: Vec<(f64, usize)>,
    g: Mixture,
}

impl OneDim {
    fn new(kind: Kind, below: &[Vec<f64>], above: &[Vec<f64>], j: usize) -> OneDim {
        let sorted = |rows: &[Vec<f64>]| {
            let mut v: Vec<(f64, usize)> = rows
                .iter()
                .map(|r| r[j])
                .filter(|x| x.is_finite())
                .enumerate()
                .map(|(i, x)| (x, i))
                .collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            v
        };
        let low = sorted(below);
        let above = sorted(above);
        OneDim {
            kind,
            below: Mixture::univariate(kind, &low),
            g: Mixture::univariate(kind, &above),
            above,
        }
    }

    fn propose(&self, rng: &mut ChaCha8Rng, candidates: usize) -> f64 {
        let mut buf = Scratch::default();
        let mut seen: Vec<(f64, f64)> = Vec::with_capacity(candidates);
        let mut best = (f64::NEG_INFINITY, f64::NAN);
        for _ in 0..candidates {
            let x = self.below.sample(rng)[0];
            // Discrete candidates repeat: score each value once.
            let score = match seen.iter().find(|(v, _)| *v == x) {
                Some(&(_, s)) => s,
                None => {
                    let s =
                        self.below.log_density(&[x], &mut buf) - self.g.log_density(&[x], &mut buf);
                    seen.push((x, s));
                    s
                }
            };
            if best.1.is_nan() || score > best.0 {
                best = (score, x);
            }
        }
        best.1
    }

    fn lie(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        let at = self.above.partition_point(|(v, _)| *v < x);
        self.above.insert(at, (x, self.above.len()));
        self.g = Mixture::univariate(self.kind, &self.above);
    }
}

/// Multivariate TPE: one joint mixture for l, one for g (rebuilt as liars arrive).
struct Joint {
    kinds: Vec<Kind>,
    below: Mixture,
    above: Vec<Vec<f64>>,
    g: Mixture,
}

impl Joint {
    fn new(kinds: &[Kind], below: Vec<Vec<f64>>, above: Vec<Vec<f64>>) -> Joint {
        let complete = |rows: Vec<Vec<f64>>| -> Vec<Vec<f64>> {
            rows.into_iter()
                .filter(|r| r.iter().all(|x| x.is_finite()))
                .collect()
        };
        let below = complete(below);
        let above = complete(above);
        Joint {
            kinds: kinds.to_vec(),
            below: Mixture::joint(kinds, &below),
            g: Mixture::joint(kinds, &above),
            above,
        }
    }

    fn propose(&self, rng: &mut ChaCha8Rng, candidates: usize) -> Vec<f64> {
        let mut buf = Scratch::default();
        let mut best: (f64, Vec<f64>) = (f64::NEG_INFINITY, Vec::new());
        for _ in 0..candidates {
            let x = self.below.sample(rng);
            let score = self.below.log_density(&x, &mut buf) - self.g.log_density(&x, &mut buf);
            if best.1.is_empty() || score > best.0 {
                best = (score, x);
            }
        }
        best.1
    }

    fn lie(&mut self, x: &[f64]) {
        if x.iter().all(|v| v.is_finite()) {
            self.above.push(x.to_vec());
            self.g = Mixture::joint(&self.kinds, &self.above);
        }
    }
}

/// Optuna's default weights of `n` observations in arrival order: the 25 newest weigh 1, older
/// ones ramp up from 1/n.
fn obs_weight(i: usize, n: usize) -> f64 {
    if n < 25 || i + 25 >= n {
        return 1.0;
    }
    let ramp = n - 25;
    let first = 1.0 / n as f64;
    if ramp == 1 {
        first
    } else {
        first + (1.0 - first) * i as f64 / (ramp - 1) as f64
    }
}

/// A mixture of product kernels over some dimensions; the last kernel is the prior.
struct Mixture {
    /// Kernel weights (sum 1), for sampling.
    w: Vec<f64>,
    /// Per kernel: its weight times its constant factors, over e^`ln_scale` (so at most 1).
    coef: Vec<f64>,
    /// ln of the factor taken out of `coef`, so sums neither overflow nor underflow.
    ln_scale: f64,
    comps: Vec<Comp>,
    /// One Gaussian dimension: its kernels in blocks, so the far ones are skipped.
    blocks: Vec<Block>,
}

/// `BLOCK` consecutive kernels of a one-dimensional mixture: negligible farther than `reach`
/// from `lo..=hi`, the span of their centres.
struct Block {
    lo: f64,
    hi: f64,
    reach: f64,
}

/// Kernels per block.
const BLOCK: usize = 16;
/// Kernels farther than this many bandwidths add under e^-40 of their weight: skipped.
const FAR: f64 = 9.0;

/// One dimension of a mixture's kernels.
enum Comp {
    /// Truncated Gaussians on [0, 1] (`bins`: the value is a bin and its probability the mass).
    Gauss {
        mu: Vec<f64>,
        sigma: Vec<f64>,
        inv: Vec<f64>,
        bins: Option<f64>,
    },
    /// Weighted categorical: each kernel favours its observed choice (`usize::MAX`: the prior,
    /// uniform); `hit` is the ln ratio of the favoured choice's probability to another's, `miss`
    /// the probability of a choice it does not favour.
    Cat {
        obs: Vec<usize>,
        n: usize,
        p_hit: f64,
        hit: f64,
        miss: f64,
    },
}

/// Buffers reused across density evaluations.
#[derive(Default)]
struct Scratch {
    t: Vec<f64>,
    f: Vec<f64>,
}

impl Mixture {
    /// One dimension, observations `(value, arrival index)` sorted by value: Optuna's univariate
    /// bandwidth (distance to the farther neighbour, the prior's centre among them). Kernels
    /// that are the same (repeated integers or choices) are merged, their weights added.
    fn univariate(kind: Kind, sorted: &[(f64, usize)]) -> Mixture {
        let n = sorted.len();
        let w: Vec<f64> = sorted.iter().map(|&(_, i)| obs_weight(i, n)).collect();
        let mu: Vec<f64> = sorted.iter().map(|&(x, _)| x).collect();
        let comp = match kind {
            Kind::Cat(c) => {
                let (mut w, obs, _) = merge(w, mu, vec![0.0; n]);
                w.push(PRIOR_WEIGHT);
                return Mixture::new(
                    w,
                    vec![Comp::cat(c, obs.into_iter().map(|x| x as usize), n)],
                    false,
                );
            }
            Kind::Real | Kind::Bins(_) => {
                let mut sigma = vec![0.0; n];
                if n > 0 {
                    // Neighbours with the prior's centre and both ends: 0, ..., 1.
                    let p = mu.partition_point(|&x| x < 0.5);
                    let mut m = Vec::with_capacity(n + 3);
                    m.push(0.0);
                    m.extend_from_slice(&mu[..p]);
                    m.push(0.5);
                    m.extend_from_slice(&mu[p..]);
                    m.push(1.0);
                    let last = n + 1;
                    let at = |i: usize| -> f64 {
                        if i == 1 {
                            m[2] - m[1]
                        } else if i == last {
                            m[last] - m[last - 1]
                        } else {
                            (m[i] - m[i - 1]).max(m[i + 1] - m[i])
                        }
                    };
                    let min = 1.0 / (n as f64 + 2.0).min(100.0);
                    for (k, s) in sigma.iter_mut().enumerate() {
                        // Observation k is at k + 1 in `m`, or k + 2 past the prior.
                        let i = if k < p { k + 1 } else { k + 2 };
                        *s = at(i).clamp(min, 1.0);
                    }
                }
                let (mut w, mut mu, mut sigma) = merge(w, mu, sigma);
                w.push(PRIOR_WEIGHT);
                mu.push(0.5);
                sigma.push(1.0);
                (w, Comp::gauss(mu, sigma, kind))
            }
        };
        Mixture::new(comp.0, vec![comp.1], true)
    }

    /// All dimensions, one row per observation in arrival order: Optuna's multivariate bandwidth
    /// (0.2 n^(-1/(d+4)), the same for every kernel).
    fn joint(kinds: &[Kind], rows: &[Vec<f64>]) -> Mixture {
        let n = rows.len();
        let mut w: Vec<f64> = (0..n).map(|i| obs_weight(i, n)).collect();
        w.push(PRIOR_WEIGHT);
        let min = 1.0 / (n as f64 + 2.0).min(100.0);
        let s = (0.2 * (n.max(1) as f64).powf(-1.0 / (kinds.len() as f64 + 4.0))).clamp(min, 1.0);
        let comps = kinds
            .iter()
            .enumerate()
            .map(|(j, &kind)| match kind {
                Kind::Cat(c) => Comp::cat(c, rows.iter().map(|r| r[j] as usize), n),
                Kind::Real | Kind::Bins(_) => {
                    let mut mu: Vec<f64> = rows.iter().map(|r| r[j]).collect();
                    let mut sigma = vec![s; n];
                    mu.push(0.5);
                    sigma.push(1.0);
                    Comp::gauss(mu, sigma, kind)
                }
            })
            .collect();
        Mixture::new(w, comps, false)
    }

    fn new(mut w: Vec<f64>, comps: Vec<Comp>, blocked: bool) -> Mixture {
        let total: f64 = w.iter().sum();
        for x in &mut w {
            *x /= total;
        }
        let mut coef = w.clone();
        for c in &comps {
            for (k, x) in coef.iter_mut().enumerate() {
                *x *= c.constant(k);
            }
        }
        let ln_scale = if coef.iter().all(|c| c.is_normal()) {
            let top = coef.iter().copied().fold(0.0, f64::max);
            for c in &mut coef {
                *c /= top;
            }
            top.ln()
        } else {
            // So many dimensions that a product left the f64 range: the same in logs.
            let logs: Vec<f64> = (0..w.len())
                .map(|k| w[k].ln() + comps.iter().map(|c| c.constant(k).ln()).sum::<f64>())
                .collect();
            let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            for (c, l) in coef.iter_mut().zip(&logs) {
                *c = (l - top).exp();
            }
            top
        };
        let blocks = match comps.first() {
            Some(Comp::Gauss {
                mu, sigma, bins, ..
            }) if blocked => {
                let h = bins.map_or(0.0, |b| 0.5 / b);
                mu.chunks(BLOCK)
                    .zip(sigma.chunks(BLOCK))
                    .map(|(m, s)| Block {
                        lo: m.iter().copied().fold(f64::INFINITY, f64::min),
                        hi: m.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                        reach: FAR * s.iter().copied().fold(0.0, f64::max) + h,
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        Mixture {
            w,
            coef,
            ln_scale,
            comps,
            blocks,
        }
    }

    /// ln of the density at `x` (one coordinate per component), up to a constant shared by
    /// every mixture over the same dimensions.
    fn log_density(&self, x: &[f64], s: &mut Scratch) -> f64 {
        if let (false, [Comp::Gauss { mu, inv, bins, .. }], [v]) =
            (self.blocks.is_empty(), self.comps.as_slice(), x)
        {
            return self.log_density_1d(*v, mu, inv, *bins, s);
        }
        let n = self.coef.len();
        s.t.clear();
        s.t.resize(n, 0.0);
        let mut factors = false;
        for (c, &v) in self.comps.iter().zip(x) {
            match c {
                Comp::Gauss {
                    mu,
                    inv,
                    bins: None,
                    ..
                } => {
                    for ((t, &m), &i) in s.t.iter_mut().zip(mu).zip(inv) {
                        let z = (v - m) * i;
                        *t -= 0.5 * z * z;
                    }
                }
                Comp::Gauss {
                    mu,
                    inv,
                    bins: Some(bins),
                    ..
                } => {
                    if !factors {
                        s.f.clear();
                        s.f.resize(n, 1.0);
                        factors = true;
                    }
                    let h = 0.5 / bins;
                    for ((f, &m), &i) in s.f.iter_mut().zip(mu).zip(inv) {
                        // The bin's mass, scaled by the bin count to stay near 1.
                        *f *= normal_mass((v - h - m) * i, (v + h - m) * i) * bins;
                    }
                }
                Comp::Cat { obs, hit, .. } => {
                    let c = v as usize;
                    for (t, &o) in s.t.iter_mut().zip(obs) {
                        *t += if o == c { *hit } else { 0.0 };
                    }
                }
            }
        }
        let f = factors.then_some(s.f.as_slice());
        let sum = sum_exp(&s.t, &self.coef, f);
        if sum > 1e-290 {
            return self.ln_scale + sum.ln();
        }
        // Every kernel is far away (many dimensions): take the largest term out exactly.
        let terms: Vec<f64> = (0..n)
            .map(|k| {
                let f = f.map_or(1.0, |f| f[k].max(f64::MIN_POSITIVE));
                s.t[k] + (self.coef[k] * f).max(f64::MIN_POSITIVE).ln()
            })
            .collect();
        let top = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let rest: f64 = terms.iter().map(|&t| (t - top).exp()).sum();
        self.ln_scale + top + rest.ln()
    }

    /// One Gaussian dimension: only the blocks of kernels within reach of `v`. The prior (σ = 1)
    /// is always within reach, so the sum is never zero.
    fn log_density_1d(
        &self,
        v: f64,
        mu: &[f64],
        inv: &[f64],
        bins: Option<f64>,
        s: &mut Scratch,
    ) -> f64 {
        let mut sum = 0.0;
        for (b, blk) in self.blocks.iter().enumerate() {
            if v < blk.lo - blk.reach || v > blk.hi + blk.reach {
                continue;
            }
            let r = b * BLOCK..((b + 1) * BLOCK).min(mu.len());
            let (m, i, c) = (&mu[r.clone()], &inv[r.clone()], &self.coef[r]);
            s.t.clear();
            match bins {
                None => {
                    s.t.extend(m.iter().zip(i).map(|(&m, &i)| {
                        let z = (v - m) * i;
                        -0.5 * z * z
                    }));
                    sum += sum_exp(&s.t, c, None);
                }
                Some(bins) => {
                    let h = 0.5 / bins;
                    s.t.extend(
                        m.iter()
                            .zip(i)
                            .map(|(&m, &i)| normal_mass((v - h - m) * i, (v + h - m) * i) * bins),
                    );
                    sum += s.t.iter().zip(c).map(|(t, c)| t * c).sum::<f64>();
                }
            }
        }
        self.ln_scale + sum.ln()
    }

    /// One draw: a kernel by weight, then each coordinate from that kernel.
    fn sample(&self, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let mut r: f64 = rng.r#gen();
        let mut k = self.w.len() - 1;
        for (i, &w) in self.w.iter().enumerate() {
            if r < w {
                k = i;
                break;
            }
            r -= w;
        }
        self.comps.iter().map(|c| c.sample(k, rng)).collect()
    }
}

/// Merge runs of equal (centre, bandwidth) kernels, adding their weights.
fn merge(w: Vec<f64>, mu: Vec<f64>, sigma: Vec<f64>) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut out = (Vec::new(), Vec::new(), Vec::<f64>::new());
    for ((w, m), s) in w.into_iter().zip(mu).zip(sigma) {
        match (out.0.last_mut(), out.1.last(), out.2.last()) {
            (Some(lw), Some(&lm), Some(&ls)) if lm == m && ls == s => *lw += w,
            _ => {
                out.0.push(w);
                out.1.push(m);
                out.2.push(s);
            }
        }
    }
    out
}

impl Comp {
    fn gauss(mu: Vec<f64>, sigma: Vec<f64>, kind: Kind) -> Comp {
        let inv = sigma.iter().map(|s| 1.0 / s).collect();
        let bins = match kind {
            Kind::Bins(b) => Some(b),
            _ => None,
        };
        Comp::Gauss {
            mu,
            sigma,
            inv,
            bins,
        }
    }

    /// Optuna's categorical kernels over `n` observations (+ the prior): an observation's kernel
    /// gives its choice weight 1 + p and every choice p = prior_weight / kernels, normalized.
    fn cat(choices: usize, obs: impl Iterator<Item = usize>, n: usize) -> Comp {
        let p = PRIOR_WEIGHT / (n + 1) as f64;
        let mut obs: Vec<usize> = obs.map(|x| x.min(choices.saturating_sub(1))).collect();
        obs.push(usize::MAX);
        Comp::Cat {
            obs,
            n: choices,
            p_hit: (1.0 + p) / (choices as f64 * p + 1.0),
            hit: ((1.0 + p) / p).ln(),
            miss: p / (choices as f64 * p + 1.0),
        }
    }

    /// Kernel `k`'s constant factor: the Gaussian's 1 / (σ Z √(2π)) (Z its mass on [0, 1]; a
    /// bin's mass is divided by Z alone), a categorical's probability of a choice it does not
    /// favour.
    fn constant(&self, k: usize) -> f64 {
        match self {
            Comp::Gauss {
                mu, sigma, bins, ..
            } => {
                let (m, s) = (mu[k], sigma[k]);
                let (a, b) = (-m / s, (1.0 - m) / s);
                // Deep inside [0, 1] nothing is cut off: skip the tails.
                let z = if a < -FAR && b > FAR {
                    1.0
                } else {
                    normal_mass(a, b).max(f64::MIN_POSITIVE)
                };
                match bins {
                    None => 1.0 / (s * z * (2.0 * std::f64::consts::PI).sqrt()),
                    Some(_) => 1.0 / z,
                }
            }
            Comp::Cat { obs, n, miss, .. } => {
                if obs[k] == usize::MAX {
                    1.0 / *n as f64
                } else {
                    *miss
                }
            }
        }
    }

    fn sample(&self, k: usize, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            Comp::Gauss {
                mu, sigma, bins, ..
            } => {
                let x = truncated_normal(mu[k], sigma[k], rng);
                match bins {
                    Some(b) => ((x * b).floor().clamp(0.0, b - 1.0) + 0.5) / b,
                    None => x,
                }
            }
            Comp::Cat { obs, n, p_hit, .. } => {
                let o = obs[k];
                if o == usize::MAX {
                    return rng.gen_range(0..*n) as f64;
                }
                if rng.r#gen::<f64>() < *p_hit {
                    return o as f64;
                }
                let c = rng.gen_range(0..n - 1);
                (if c >= o { c + 1 } else { c }) as f64
            }
        }
    }
}

/// Σ c e^t (× f), in eight independent sums: one running sum would be a chain the compiler may
/// not reorder, and so could not vectorize.
fn sum_exp(t: &[f64], c: &[f64], f: Option<&[f64]>) -> f64 {
    const LANES: usize = 8;
    let mut acc = [0.0; LANES];
    let head = t.len() / LANES * LANES;
    match f {
        Some(f) => {
            for ((tc, cc), fc) in t[..head]
                .chunks_exact(LANES)
                .zip(c.chunks_exact(LANES))
                .zip(f.chunks_exact(LANES))
            {
                for i in 0..LANES {
                    acc[i] += fast_exp(tc[i]) * cc[i] * fc[i];
                }
            }
            for (i, k) in (head..t.len()).enumerate() {
                acc[i] += fast_exp(t[k]) * c[k] * f[k];
            }
        }
        None => {
            for (tc, cc) in t[..head].chunks_exact(LANES).zip(c.chunks_exact(LANES)) {
                for i in 0..LANES {
                    acc[i] += fast_exp(tc[i]) * cc[i];
                }
            }
            for (i, k) in (head..t.len()).enumerate() {
                acc[i] += fast_exp(t[k]) * c[k];
            }
        }
    }
    acc.iter().sum()
}

/// A normal(mu, sigma) draw inside [0, 1], by rejection: sigma ≤ 1 and mu in [0, 1] keep at
/// least a third of the mass inside, so a few tries do.
fn truncated_normal(mu: f64, sigma: f64, rng: &mut ChaCha8Rng) -> f64 {
    for _ in 0..100 {
        // Box-Muller.
        let u1: f64 = 1.0 - rng.r#gen::<f64>();
        let u2: f64 = rng.r#gen();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        let x = mu + sigma * z;
        if (0.0..=1.0).contains(&x) {
            return x;
        }
    }
    mu.clamp(0.0, 1.0)
}

/// e^x for x ≤ 700 (below -700 taken as -700), relative error about 1e-11: no calls and no
/// branches, so loops over kernels vectorize (std's `exp` is a call per element).
#[inline(always)]
fn fast_exp(x: f64) -> f64 {
    const ROUND: f64 = 6_755_399_441_055_744.0; // 1.5 × 2^52: adding it rounds to an integer.
    const LN2_HI: f64 = 0.693_147_180_369_123_8;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    let x = if x < -700.0 { -700.0 } else { x };
    let t = x * std::f64::consts::LOG2_E + ROUND;
    let k = t - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    // Taylor series of e^r on |r| ≤ ln 2 / 2, to degree 9.
    let mut p = 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // t's low bits hold k; 2^k is k + 1023 in the exponent field.
    let bits = t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(1023) << 52;
    p * f64::from_bits(bits)
}

/// The standard normal's upper tail P(Z > z) for z ≥ 0, relative error below 1.2e-7
/// (Numerical Recipes' erfc).
#[inline(always)]
fn upper_tail(z: f64) -> f64 {
    let x = z * std::f64::consts::FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x);
    let poly = -1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    0.5 * t * fast_exp(-x * x + poly)
}

/// P(a < Z < b) for a standard normal Z (a ≤ b), from the tails so neither side cancels.
#[inline(always)]
fn normal_mass(a: f64, b: f64) -> f64 {
    let p = upper_tail(a.abs());
    let q = upper_tail(b.abs());
    let m = if a >= 0.0 {
        p - q
    } else if b <= 0.0 {
        q - p
    } else {
        1.0 - p - q
    };
    if m > 0.0 { m } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::sampler::RandomSampler;

    /// A log-uniform real, a stepped int, a log-scaled int and a categorical.
    fn space() -> Space {
        Space(BTreeMap::from([
            (
                "lr".to_string(),
                Distribution::Float {
                    low: 1e-4,
                    high: 1.0,
                    log: true,
                    points: None,
                },
            ),
            (
                "units".to_string(),
                Distribution::Int {
                    low: 2,
                    high: 30,
                    step: 4,
                    log: false,
                },
            ),
            (
                "width".to_string(),
                Distribution::Int {
                    low: 1,
                    high: 1000,
                    step: 1,
                    log: true,
                },
            ),
            (
                "act".to_string(),
                Distribution::Categorical(vec![
                    ParamValue::Str("relu".into()),
                    ParamValue::Str("tanh".into()),
                    ParamValue::Str("gelu".into()),
                ]),
            ),
        ]))
    }

    fn num(p: &Params, k: &str) -> f64 {
        match p.get(k) {
            Some(ParamValue::Float(x)) => *x,
            Some(ParamValue::Int(i)) => *i as f64,
            _ => f64::NAN,
        }
    }

    /// Smallest at lr = 1e-2, units = 14, width = 30, act = gelu.
    fn objective(p: &Params) -> f64 {
        let act = if p.get("act") == Some(&ParamValue::Str("gelu".into())) {
            0.0
        } else {
            0.2
        };
        (num(p, "lr").log10() + 2.0).powi(2)
            + ((num(p, "units") - 14.0) / 8.0).powi(2)
            + (num(p, "width").log10() - 30f64.log10()).powi(2)
            + act
    }

    fn result(trial: u64, params: Params, value: f64) -> TrialResult {
        TrialResult {
            trial,
            params,
            state: TrialState::Complete,
            value: Some(value),
            intermediate: Vec::new(),
        }
    }

    /// Ask and tell `s` to the end a batch at a time, as the queue does; every trial's params.
    fn drive(s: &mut dyn Sampler) -> Vec<Params> {
        let batch = s.batch().unwrap_or(1);
        let mut all = Vec::new();
        let mut n = 0;
        while n < s.len() {
            let end = (n + batch).min(s.len());
            let ps: Vec<Params> = (n..end).map(|t| s.ask(t).unwrap_or_default()).collect();
            for (t, p) in (n..end).zip(&ps) {
                s.tell(&result(t, p.clone(), objective(p)));
            }
            all.extend(ps);
            n = end;
        }
        all
    }

    fn tpe(seed: u64, trials: u64, multivariate: bool) -> TpeSampler {
        let opts = TpeOptions {
            multivariate,
            ..TpeOptions::default()
        };
        TpeSampler::new(space(), seed, trials, Direction::Minimize, opts)
    }

    #[test]
    fn start_up_trials_are_random_searchs_draws() {
        let mut t = tpe(5, 30, false);
        let mut r = RandomSampler::new(space(), 5, 30);
        let ours = drive(&mut t);
        for n in 0..10 {
            assert_eq!(Some(ours[n as usize].clone()), r.ask(n), "trial {n}");
        }
        assert_ne!(Some(ours[12].clone()), r.ask(12));
    }

    #[test]
    fn proposals_stay_inside_the_space_in_both_modes() {
        for multivariate in [false, true] {
            let mut s = tpe(3, 80, multivariate);
            for p in drive(&mut s) {
                let lr = num(&p, "lr");
                assert!((1e-4..=1.0).contains(&lr), "lr {lr}");
                let units = num(&p, "units") as i64;
                assert!(
                    [2, 6, 10, 14, 18, 22, 26, 30].contains(&units),
                    "units {units}"
                );
                let width = num(&p, "width");
                assert!((1.0..=1000.0).contains(&width) && width.fract() == 0.0);
                assert!(
                    matches!(p.get("act"), Some(ParamValue::Str(a)) if ["relu", "tanh", "gelu"].contains(&a.as_str()))
                );
                assert_eq!(p.len(), 4);
            }
        }
    }

    #[test]
    fn the_same_seed_and_results_give_the_same_trials() {
        for multivariate in [false, true] {
            let a = drive(&mut tpe(9, 40, multivariate));
            let b = drive(&mut tpe(9, 40, multivariate));
            let c = drive(&mut tpe(10, 40, multivariate));
            assert_eq!(a, b);
            assert_ne!(a[20..], c[20..]);
        }
    }

    #[test]
    fn a_resumed_sampler_proposes_what_an_uninterrupted_one_does() {
        let whole = drive(&mut tpe(4, 40, false));
        // Rebuilt after 22 trials (batches 0-4 told, trials 20 and 21 of batch 5 already run),
        // then asked trials 22 onwards only.
        let mut resumed = tpe(4, 40, false);
        for (t, p) in whole.iter().enumerate().take(20) {
            resumed.tell(&result(t as u64, p.clone(), objective(p)));
        }
        for t in 22..24 {
            assert_eq!(
                resumed.ask(t).as_ref(),
                Some(&whole[t as usize]),
                "trial {t}"
            );
        }
    }

    #[test]
    fn proposals_within_a_batch_do_not_pile_up() {
        // One int of 8 values: without the liar, every proposal of a batch is the same argmax.
        // (Batches 3-5: once the model has converged, it may rightly propose one value.)
        let space = Space(BTreeMap::from([(
            "x".to_string(),
            Distribution::Int {
                low: 0,
                high: 7,
                step: 1,
                log: false,
            },
        )]));
        for multivariate in [false, true] {
            let opts = TpeOptions {
                batch: 4,
                multivariate,
                ..TpeOptions::default()
            };
            let mut s = TpeSampler::new(space.clone(), 6, 40, Direction::Minimize, opts);
            for b in 0..10 {
                let ps: Vec<Params> = (b * 4..b * 4 + 4).filter_map(|t| s.ask(t)).collect();
                let mut xs: Vec<f64> = ps.iter().map(|p| num(p, "x")).collect();
                for (t, p) in (b * 4..).zip(&ps) {
                    s.tell(&result(t, p.clone(), (num(p, "x") - 3.0).powi(2)));
                }
                xs.dedup();
                assert!(
                    !(3..6).contains(&b) || xs.len() > 1,
                    "multivariate {multivariate}: batch {b} proposed {xs:?}"
                );
            }
        }
    }

    #[test]
    fn failed_and_pruned_trials_are_never_ranked_above_a_complete_one() {
        let s = tpe(1, 10, false);
        let failed = TrialResult {
            state: TrialState::Failed,
            value: None,
            ..result(0, Params::new(), 0.0)
        };
        let pruned = TrialResult {
            state: TrialState::Pruned,
            value: None,
            intermediate: vec![(0, -100.0)],
            ..result(1, Params::new(), 0.0)
        };
        let complete = s.rank(&result(2, Params::new(), 1e9));
        assert_eq!(s.rank(&failed), None);
        assert!(s.rank(&pruned) > complete);
    }

    #[test]
    fn tpe_beats_random_search_over_60_trials_on_the_median_of_seeds() {
        for multivariate in [false, true] {
            let best = |ps: Vec<Params>| ps.iter().map(objective).fold(f64::INFINITY, f64::min);
            let mut wins = Vec::new();
            for seed in 0..9 {
                let t = best(drive(&mut tpe(seed, 60, multivariate)));
                let r = best(drive(&mut RandomSampler::new(space(), seed, 60)));
                wins.push(t - r);
            }
            wins.sort_by(f64::total_cmp);
            assert!(
                wins[4] < 0.0,
                "multivariate {multivariate}: TPE − random {wins:?}"
            );
        }
    }

    #[test]
    fn fast_exp_and_the_normal_mass_match_the_exact_ones() {
        for x in [-700.0, -30.5, -1.0, -1e-9, 0.0, 0.3, 5.0] {
            let e: f64 = f64::exp(x);
            assert!((fast_exp(x) - e).abs() <= 1e-10 * e, "{x}");
        }
        // P(-1 < Z < 1) and a far tail P(8 < Z < 9).
        assert!((normal_mass(-1.0, 1.0) - 0.682_689_492_137_086).abs() < 1e-7);
        let tail = 6.220_960_574_271_784e-16 - 1.128_588_405_953_03e-19;
        assert!((normal_mass(8.0, 9.0) - tail).abs() < 1e-6 * tail);
    }
}
