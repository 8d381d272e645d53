//! Random search: independent draws, each from its own stream of the seeded generator.

use models::Params;
use rand::SeedableRng;

use super::{Sampler, TrialResult};
use crate::sweep::space::Space;

/// `trials` independent draws; draw `n` comes from stream `n` of the seeded generator.
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
    fn ask(&mut self, n: u64) -> Option<Params> {
        if n >= self.trials {
            return None;
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(n);
        Some(self.space.sample(&mut rng))
    }
    fn tell(&mut self, _: &TrialResult) {}
    fn len(&self) -> u64 {
        self.trials
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::space::Distribution;
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
        let forward: Vec<_> = (0..10).map(|n| a.ask(n)).collect();
        let backward: Vec<_> = (0..10).rev().map(|n| b.ask(n)).collect();
        assert_eq!(forward, backward.into_iter().rev().collect::<Vec<_>>());
    }

    #[test]
    fn random_draws_differ_between_trials_and_seeds() {
        let mut a = RandomSampler::new(space(), 42, 10);
        let mut b = RandomSampler::new(space(), 43, 10);
        assert_ne!(a.ask(0), a.ask(1));
        assert_ne!(a.ask(0), b.ask(0));
    }

    #[test]
    fn random_sampler_stops_after_its_trials() {
        let mut a = RandomSampler::new(space(), 1, 3);
        assert!(a.ask(2).is_some());
        assert!(a.ask(3).is_none());
    }
}
