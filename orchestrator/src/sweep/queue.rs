//! The trial queue: which trial runs next, and what the sampler and the pruner are told.
//!
//! Retries and trials a resumed study left unfinished come first, then the sampler's next
//! proposal. With a `batch` (a sampler that learns, or a pruner), batch `b` is proposed only
//! once every trial of the batches before it is final, and the sampler and the pruner are told
//! their results a batch at a time in trial order: so trial `n`'s parameters and stop rule never
//! depend on timing or on the number of workers.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use models::Params;

use trainer::StopRule;

use super::pruner::Pruner;
use super::sampler::{Sampler, TrialResult};

/// What to run next.
#[derive(Debug, Clone, PartialEq)]
pub struct Next {
    /// The trial's number.
    pub trial: u64,
    /// Which attempt at it (1 for the first).
    pub attempt: u32,
    /// Its searched and fixed hyperparameters.
    pub params: Params,
    /// Where it stops early, if the pruner says.
    pub stop: Option<StopRule>,
}

/// A trial in the store, as the queue needs it on resume.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Its result, when it is final.
    pub result: Option<TrialResult>,
    /// Its number.
    pub trial: u64,
    /// Attempts made so far.
    pub attempts: u32,
    /// Its hyperparameters.
    pub params: Params,
}

/// Trials to run, and the sampler that proposes them.
pub struct TrialQueue {
    sampler: Box<dyn Sampler>,
    pruner: Box<dyn Pruner>,
    batch: Option<u64>,
    fixed: Params,
    next_new: u64,
    /// Trials the store already has (skipped when the sampler reaches them).
    known: HashSet<u64>,
    retries: VecDeque<(u64, u32)>,
    /// Parameters of trials proposed and not yet final.
    params: HashMap<u64, Params>,
    /// Final trials (this run's and the store's).
    finals: HashSet<u64>,
    /// Results not yet told (their batch is incomplete).
    untold: BTreeMap<u64, TrialResult>,
    /// Batches told so far.
    told_batches: u64,
    /// Which trials this process runs (None: all); the others are another node's share,
    /// whose results arrive through `record`.
    owns: Option<Box<dyn Fn(u64) -> bool + Send>>,
}

impl TrialQueue {
    /// A queue over `sampler`'s trials, `fixed` added to each, stopped early where `pruner`
    /// says, proposed `batch` at a time (None: as soon as asked; then results are told at
    /// once); `stored` are the study's trials.
    pub fn new(
        sampler: Box<dyn Sampler>,
        pruner: Box<dyn Pruner>,
        batch: Option<u64>,
        fixed: Params,
        stored: Vec<Stored>,
    ) -> TrialQueue {
        let batch = batch.map(|b| b.max(1));
        let mut q = TrialQueue {
            sampler,
            pruner,
            batch,
            fixed,
            next_new: 0,
            known: HashSet::new(),
            retries: VecDeque::new(),
            params: HashMap::new(),
            finals: HashSet::new(),
            untold: BTreeMap::new(),
            told_batches: 0,
            owns: None,
        };
        for s in stored {
            q.known.insert(s.trial);
            match s.result {
                Some(result) => q.record(result),
                None => {
                    q.retries.push_back((s.trial, s.attempts + 1));
                    q.params.insert(s.trial, s.params);
                }
            }
        }
        q
    }

    /// Run only the trials `owns` accepts: a node's share of a study split across nodes. The
    /// rest are skipped, and their results must be `record`ed as they come (a later batch
    /// waits for them).
    pub fn only(mut self, owns: Box<dyn Fn(u64) -> bool + Send>) -> TrialQueue {
        self.retries.retain(|(t, _)| owns(*t));
        self.owns = Some(owns);
        self
    }

    /// Trials of other nodes that the next batch waits for (empty: waiting on none).
    pub fn awaited(&mut self) -> Vec<u64> {
        let (Some(b), Some(owns)) = (self.batch, &self.owns) else {
            return Vec::new();
        };
        let lo = self.told_batches * b;
        let hi = (lo + b).min(self.sampler.len());
        (lo..hi)
            .filter(|t| !owns(*t) && !self.finals.contains(t))
            .collect()
    }

    /// How many trials the study has in all.
    pub fn total(&self) -> u64 {
        self.sampler.len()
    }

    /// The parameters of a trial that is not final yet.
    pub fn params(&self, trial: u64) -> Option<&Params> {
        self.params.get(&trial)
    }

    /// The next trial to run, or None when none can start now (all proposed, or the next
    /// batch waits for results).
    pub fn next_trial(&mut self) -> Option<Next> {
        if let Some((trial, attempt)) = self.retries.pop_front() {
            let params = self.params.get(&trial).cloned().unwrap_or_default();
            let stop = self.pruner.rule(trial);
            return Some(Next {
                trial,
                attempt,
                params,
                stop,
            });
        }
        self.skip_known();
        let n = self.next_new;
        if n >= self.sampler.len() {
            return None;
        }
        if let Some(b) = self.batch
            && n / b > self.told_batches
        {
            return None;
        }
        let mut params = self.fixed.clone();
        params.extend(self.sampler.ask(n)?);
        self.next_new += 1;
        self.params.insert(n, params.clone());
        let stop = self.pruner.rule(n);
        Some(Next {
            trial: n,
            attempt: 1,
            params,
            stop,
        })
    }

    fn skip_known(&mut self) {
        while self.next_new < self.sampler.len()
            && (self.known.contains(&self.next_new)
                || self.owns.as_ref().is_some_and(|owns| !owns(self.next_new)))
        {
            self.next_new += 1;
        }
    }

    /// Whether every trial has been handed out (none left to retry or propose).
    pub fn is_exhausted(&mut self) -> bool {
        self.skip_known();
        self.retries.is_empty() && self.next_new >= self.sampler.len()
    }

    /// Run `trial` again (its trainer died, or it never started), as attempt `attempt`.
    pub fn retry(&mut self, trial: u64, attempt: u32) {
        self.retries.push_back((trial, attempt));
    }

    /// Put back a trial handed out but never started, to go first.
    pub fn put_back(&mut self, trial: u64, attempt: u32) {
        self.retries.push_front((trial, attempt));
    }

    /// A live report of a running trial: whether the pruner wants it stopped now.
    pub fn live_report(&mut self, trial: u64, step: u32, value: f64) -> bool {
        self.pruner.report(trial, step, value)
    }

    /// A trial is final: tell the sampler and the pruner (at once, or when its batch is
    /// complete).
    pub fn record(&mut self, result: TrialResult) {
        self.params.remove(&result.trial);
        self.finals.insert(result.trial);
        let Some(b) = self.batch else {
            self.sampler.tell(&result);
            self.pruner.tell(&result);
            return;
        };
        self.untold.insert(result.trial, result);
        loop {
            let lo = self.told_batches * b;
            let hi = (lo + b).min(self.sampler.len());
            if lo >= hi || !(lo..hi).all(|t| self.finals.contains(&t)) {
                break;
            }
            for t in lo..hi {
                if let Some(r) = self.untold.remove(&t) {
                    self.sampler.tell(&r);
                    self.pruner.tell(&r);
                }
            }
            self.told_batches += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::TrialState;
    use crate::sweep::pruner::NoPruner;
    use models::ParamValue;

    /// Proposes x = 1 + the best x told so far (0 before any result): a sampler whose proposals
    /// depend on results, in batches of 2.
    struct FollowTheBest {
        best: Option<(f64, i64)>,
        told: Vec<u64>,
    }

    impl Sampler for FollowTheBest {
        fn ask(&mut self, _: u64) -> Option<Params> {
            let x = self.best.map_or(0, |(_, x)| x + 1);
            Some(Params::from([("x".to_string(), ParamValue::Int(x))]))
        }
        fn tell(&mut self, r: &TrialResult) {
            self.told.push(r.trial);
            let x = match r.params.get("x") {
                Some(ParamValue::Int(x)) => *x,
                _ => 0,
            };
            if let Some(v) = r.value
                && self.best.is_none_or(|(b, _)| v > b)
            {
                self.best = Some((v, x));
            }
        }
        fn len(&self) -> u64 {
            8
        }
        fn batch(&self) -> Option<u64> {
            Some(2)
        }
    }

    fn sampler() -> Box<dyn Sampler> {
        Box::new(FollowTheBest {
            best: None,
            told: Vec::new(),
        })
    }

    /// A queue over the results-driven sampler, in its batches of 2.
    fn queue(stored: Vec<Stored>) -> TrialQueue {
        let s = sampler();
        let batch = s.batch();
        TrialQueue::new(s, Box::new(NoPruner), batch, Params::new(), stored)
    }

    /// The objective of a trial: x plus a small trial-dependent wobble.
    fn result(n: &Next) -> TrialResult {
        let x = match n.params.get("x") {
            Some(ParamValue::Int(x)) => *x as f64,
            _ => 0.0,
        };
        let value = x + (n.trial % 3) as f64 * 0.1;
        TrialResult {
            trial: n.trial,
            params: n.params.clone(),
            state: TrialState::Complete,
            value: Some(value),
            intermediate: vec![(0, value)],
        }
    }

    /// Run the queue with `workers` trials in flight, finishing them in the order `pick`
    /// chooses; the parameters of each trial.
    fn run(q: TrialQueue, workers: usize, pick: impl Fn(usize) -> usize) -> BTreeMap<u64, Params> {
        run_keeping(q, workers, pick, |n| n.params.clone())
    }

    /// As `run`, keeping what `keep` takes of each trial handed out.
    fn run_keeping<T>(
        mut q: TrialQueue,
        workers: usize,
        pick: impl Fn(usize) -> usize,
        keep: impl Fn(&Next) -> T,
    ) -> BTreeMap<u64, T> {
        let mut seen = BTreeMap::new();
        let mut running: Vec<Next> = Vec::new();
        loop {
            while running.len() < workers
                && let Some(n) = q.next_trial()
            {
                seen.insert(n.trial, keep(&n));
                running.push(n);
            }
            if running.is_empty() {
                assert!(q.is_exhausted());
                return seen;
            }
            let done = running.remove(pick(running.len()) % running.len());
            q.record(result(&done));
        }
    }

    #[test]
    fn results_driven_trials_are_the_same_whatever_the_workers_and_timing() {
        let one = run(queue(vec![]), 1, |_| 0);
        let two_fifo = run(queue(vec![]), 2, |_| 0);
        let two_lifo = run(queue(vec![]), 2, |n| n - 1);
        let three = run(queue(vec![]), 3, |n| n / 2);
        assert_eq!(one.len(), 8);
        assert_eq!(one, two_fifo);
        assert_eq!(one, two_lifo);
        assert_eq!(one, three);
        // It did learn: later batches propose larger x than the first.
        assert_eq!(one[&0]["x"], ParamValue::Int(0));
        assert_ne!(one[&7]["x"], ParamValue::Int(0));
    }

    #[test]
    fn stop_rules_are_the_same_whatever_the_workers_and_timing() {
        let rules = |workers, pick: fn(usize) -> usize| {
            let pruner = crate::sweep::pruner::MedianPruner::new(
                models::Direction::Maximize,
                std::num::NonZeroUsize::MIN,
                0,
            );
            let s = sampler();
            let batch = s.batch();
            let q = TrialQueue::new(s, Box::new(pruner), batch, Params::new(), vec![]);
            run_keeping(q, workers, pick, |n| n.stop.clone())
        };
        let one = rules(1, |_| 0);
        assert_eq!(one, rules(2, |n| n - 1));
        assert_eq!(one, rules(3, |n| n / 2));
        assert_eq!(one[&1], None, "the first batch has nothing to compare with");
        assert!(one[&7].is_some());
    }

    #[test]
    fn a_batch_waits_for_the_results_of_the_batch_before_it() {
        let mut q = queue(vec![]);
        let a = q.next_trial().unwrap();
        let b = q.next_trial().unwrap();
        assert_eq!(
            q.next_trial(),
            None,
            "batch 1 must wait for batch 0's results"
        );
        assert!(!q.is_exhausted());
        q.record(result(&b));
        assert_eq!(q.next_trial(), None);
        q.record(result(&a));
        assert_eq!(q.next_trial().map(|n| n.trial), Some(2));
    }

    #[test]
    fn a_resumed_queue_rebuilds_the_sampler_and_continues_identically() {
        let whole = run(queue(vec![]), 2, |_| 0);
        // The store after a crash: trials 0-3 final, 4 started and unfinished, 5 never started.
        let stored: Vec<Stored> = (0..5)
            .map(|t| {
                let next = Next {
                    trial: t,
                    attempt: 1,
                    params: whole[&t].clone(),
                    stop: None,
                };
                Stored {
                    result: (t < 4).then(|| result(&next)),
                    trial: t,
                    attempts: 1,
                    params: whole[&t].clone(),
                }
            })
            .collect();
        let mut q = queue(stored.clone());
        let retried = q.next_trial().unwrap();
        assert_eq!((retried.trial, retried.attempt), (4, 2));
        let rest = run(queue(stored), 2, |_| 0);
        assert_eq!(rest.keys().copied().collect::<Vec<_>>(), [4, 5, 6, 7]);
        for t in 4..8 {
            assert_eq!(rest[&t], whole[&t], "trial {t}");
        }
    }

    #[test]
    fn nodes_sharing_a_study_propose_the_trials_one_node_alone_would() {
        let whole = run(queue(vec![]), 2, |_| 0);
        // Two nodes, even and odd trials, each told the other's results as they finish.
        let mut nodes: Vec<TrialQueue> = (0..2u64)
            .map(|k| queue(vec![]).only(Box::new(move |t| t % 2 == k)))
            .collect();
        let mut seen = BTreeMap::new();
        loop {
            let mut progressed = false;
            for k in 0..2 {
                while let Some(n) = nodes[k].next_trial() {
                    assert_eq!(n.trial % 2, k as u64, "node {k} ran another node's trial");
                    progressed = true;
                    seen.insert(n.trial, n.params.clone());
                    let r = result(&n);
                    for node in nodes.iter_mut() {
                        node.record(r.clone());
                    }
                }
            }
            if !progressed {
                break;
            }
        }
        assert!(nodes.iter_mut().all(|q| q.is_exhausted()));
        assert_eq!(seen, whole);
    }

    #[test]
    fn a_node_waits_on_the_other_nodes_trials_of_the_batch() {
        let mut q = queue(vec![]).only(Box::new(|t| t % 2 == 0));
        let a = q.next_trial().unwrap();
        assert_eq!(a.trial, 0);
        assert_eq!(q.next_trial(), None);
        q.record(result(&a));
        assert_eq!(q.awaited(), [1], "trial 1 is the other node's");
        assert_eq!(q.next_trial(), None);
    }

    #[test]
    fn a_sampler_without_a_batch_is_told_each_result_at_once() {
        let space = crate::sweep::space::Space::default();
        let mut q = TrialQueue::new(
            Box::new(crate::sweep::sampler::RandomSampler::new(space, 1, 3)),
            Box::new(NoPruner),
            None,
            Params::new(),
            vec![],
        );
        let a = q.next_trial().unwrap();
        let b = q.next_trial().unwrap();
        let c = q.next_trial().unwrap();
        assert_eq!((a.trial, b.trial, c.trial), (0, 1, 2));
        assert!(q.is_exhausted());
    }
}
