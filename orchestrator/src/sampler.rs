//! Samplers propose the trials of a study from its space: grid and random.
//!
//! Trial `n`'s parameters depend only on the space, the seed and `n`, never on which worker
//! ran what: so a study gives the same trials with any number of workers, and a resumed study
//! regenerates the trials it already has. (A model-based sampler will also read the history.)

use models::Params;
use rand::SeedableRng;

use crate::space::Space;

/// Proposes the parameters of trial number `n`.
pub trait Sampler: Send {
    /// Parameters of trial `n` (0-based), or None when the sampler has no more.
    fn propose(&mut self, n: u64) -> Option<Params>;
    /// How many trials the sampler will propose in all.
    fn len(&self) -> u64;
    /// Whether it proposes none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Every combination of the space, in scikit-learn's ParameterGrid order.
pub struct GridSampler {
    grid: Vec<Params>,
}

impl GridSampler {
    /// The grid of `space` (the caller has checked that every dimension is finite).
    pub fn new(space: &Space) -> GridSampler {
        GridSampler {
            grid: space.grid().unwrap_or_default(),
        }
    }
}

impl Sampler for GridSampler {
    fn propose(&mut self, n: u64) -> Option<Params> {
        self.grid.get(n as usize).cloned()
    }
    fn len(&self) -> u64 {
        self.grid.len() as u64
    }
}

/// `trials` independent draws; draw `n` comes from its own stream of the seeded generator.
pub struct RandomSampler {
    space: Space,
    seed: u64,
    trials: u64,
}

impl RandomSampler {
    /// `trials` draws from `space` seeded with `seed`.
    pub fn new(space: Space, seed: u64, trials: u64) -> RandomSampler {
        RandomSampler {
            space,
            seed,
            trials,
        }
    }
}

impl Sampler for RandomSampler {
    fn propose(&mut self, n: u64) -> Option<Params> {
        if n >= self.trials {
            return None;
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(n);
        Some(self.space.sample(&mut rng))
    }
    fn len(&self) -> u64 {
        self.trials
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::Distribution;
    use std::collections::BTreeMap;

    fn space() -> Space {
        let mut s = BTreeMap::new();
        s.insert(
            "alpha".into(),
            Distribution::Float {
                low: 0.0,
                high: 1.0,
                log: false,
                points: None,
            },
        );
        Space(s)
    }

    #[test]
    fn random_trial_n_is_the_same_whatever_order_it_is_asked_in() {
        let mut a = RandomSampler::new(space(), 42, 10);
        let mut b = RandomSampler::new(space(), 42, 10);
        let forward: Vec<_> = (0..10).map(|n| a.propose(n)).collect();
        let backward: Vec<_> = (0..10).rev().map(|n| b.propose(n)).collect();
        assert_eq!(forward, backward.into_iter().rev().collect::<Vec<_>>());
    }

    #[test]
    fn random_draws_differ_between_trials_and_seeds() {
        let mut a = RandomSampler::new(space(), 42, 10);
        let mut b = RandomSampler::new(space(), 43, 10);
        assert_ne!(a.propose(0), a.propose(1));
        assert_ne!(a.propose(0), b.propose(0));
    }

    #[test]
    fn random_sampler_stops_after_its_trials() {
        let mut a = RandomSampler::new(space(), 1, 3);
        assert!(a.propose(2).is_some());
        assert!(a.propose(3).is_none());
    }
}
