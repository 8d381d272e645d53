//! Grid search: every combination of the space, in scikit-learn's `ParameterGrid` order.

use models::Params;

use super::{Sampler, TrialResult};
use crate::sweep::space::Space;

/// Every combination of the space, computed from the trial number (never listed in memory).
pub struct GridSampler {
    space: Space,
    size: u64,
}

impl GridSampler {
    /// The grid of `space`; the config check has refused spaces without a finite grid, and
    /// grids too large to run.
    pub fn new(space: Space) -> GridSampler {
        let size = space
            .grid_size()
            .map_or(0, |n| u64::try_from(n).unwrap_or(u64::MAX));
        GridSampler { space, size }
    }
}

impl Sampler for GridSampler {
    fn ask(&mut self, n: u64) -> Option<Params> {
        (n < self.size).then(|| self.space.grid_point(n))
    }
    fn tell(&mut self, _: &TrialResult) {}
    fn len(&self) -> u64 {
        self.size
    }
}
