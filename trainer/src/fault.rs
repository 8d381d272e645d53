//! Fault injection for end-to-end tests, read from `COHORT_FAULT` (unset in normal use: then
//! this is a no-op). Rules are separated by commas; each is `action@target`:
//!
//! ```text
//! panic|error|exit|segv|hang|oom|sleepMS @ TRIAL[#ATTEMPT]   a sweep trial misbehaves; TRIAL is a
//!                                                         number or `*` (every trial), ATTEMPT
//!                                                         limits it to that attempt
//! slowreportMS@TRIAL[#ATTEMPT]  the trial waits MS after each report it sends, before it reads
//!                             its tasks (so a stop asked at that report point lands there)
//! prune@TRIAL:STEP            the orchestrator's: it stops the trial at that step (ignored here)
//! panic|error|exit@refit      the refit of the best trial misbehaves
//! prehello@wN                 the trainer started as worker N exits with status 3 before it
//!                             connects to the orchestrator
//! ignoreterm@*, ignoreterm@wN  every trainer (or worker N's) ignores SIGTERM: only SIGKILL stops it
//! hang@shardS:rR              shard S stops making progress (sleeps forever, sends nothing) when
//!                             it reaches round R (`average`) or merge R (`locked`, `hogwild`),
//!                             before training that chunk
//! exit@shardS:rR              shard S exits with status 3 at round/merge R, before contributing
//! exit@shardS:afterR          shard S exits with status 3 right after contributing to round/merge
//!                             R (before waiting for the round or reporting the epoch)
//! ```
//!
//! Rounds and merges are counted from 0 over the whole run (epoch × merges per epoch + chunk).
//! A shard rule fires once per ParamArray ([`crate::param_array::ParamArray::claim_once`]): in
//! the first trainer of that shard that reaches it, never in the trainer respawned after it.
//! Example: `COHORT_FAULT="panic@3,exit@5#1,sleep200@*,exit@shard1:after5"`.

/// The environment variable read by trainers.
pub const ENV: &str = "COHORT_FAULT";

/// One misbehaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Panic inside the model.
    Panic,
    /// Return a model error.
    Error,
    /// Exit the process with status 3.
    Exit,
    /// Die of SIGSEGV.
    Segfault,
    /// Sleep forever (for timeouts).
    Hang,
    /// Allocate until the memory cap is hit.
    Oom,
    /// Sleep this many milliseconds, then run the trial normally (slow trials for kill tests).
    Sleep(u64),
    /// Wait this many milliseconds after each report sent (see [`Faults::report_delay`]).
    SlowReports(u64),
}

/// A fault bound to a trial and optionally one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    fault: Fault,
    /// None: every trial.
    trial: Option<u64>,
    attempt: Option<u32>,
}

/// A misbehaviour of a whole trainer process, bound to its worker id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerFault {
    /// Exit with status 3 before connecting to the orchestrator.
    PreHello,
    /// Ignore SIGTERM.
    IgnoreTerm,
}

/// A worker fault and the worker it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WorkerRule {
    fault: WorkerFault,
    /// None: every worker.
    worker: Option<u32>,
}

/// Where in its training loop a shard misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardFault {
    /// Stop making progress on reaching the round, before training its chunk.
    Hang,
    /// Exit with status 3 at the round, before contributing to it.
    ExitBefore,
    /// Exit with status 3 right after contributing to the round.
    ExitAfter,
}

/// A shard fault, the shard and the round (or merge) it fires at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ShardRule {
    fault: ShardFault,
    shard: u32,
    round: u64,
}

/// A shard fault that applies here: what to do, and the token that makes it fire only once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardTrigger {
    /// What to do.
    pub fault: ShardFault,
    /// The rule's index, to claim with `ParamArray::claim_once` before firing.
    pub token: u32,
}

/// The parsed `COHORT_FAULT` rules.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    trials: Vec<Rule>,
    workers: Vec<WorkerRule>,
    shards: Vec<ShardRule>,
    refit: Option<Fault>,
}

/// One parsed rule of any kind.
enum Parsed {
    Trial(Rule),
    Worker(WorkerRule),
    Shard(ShardRule),
    Refit(Fault),
}

impl Faults {
    /// Read the rules from the environment (malformed rules are ignored with a warning).
    pub fn from_env() -> Faults {
        std::env::var(ENV)
            .map(|s| Faults::parse(&s))
            .unwrap_or_default()
    }

    /// Parse comma-separated rules (the grammar is in the module documentation).
    pub fn parse(spec: &str) -> Faults {
        let mut faults = Faults::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part.starts_with("prune@") {
                continue;
            }
            match parse_rule(part) {
                Some(Parsed::Trial(r)) => faults.trials.push(r),
                Some(Parsed::Worker(r)) => faults.workers.push(r),
                Some(Parsed::Shard(r)) => faults.shards.push(r),
                Some(Parsed::Refit(f)) => faults.refit = Some(f),
                None => tracing::warn!("ignoring malformed {ENV} rule `{part}`"),
            }
        }
        faults
    }

    /// The fault for this trial and attempt, if any (report delays aside).
    pub fn get(&self, trial: u64, attempt: u32) -> Option<Fault> {
        self.trials
            .iter()
            .filter(|r| !matches!(r.fault, Fault::SlowReports(_)))
            .find(|r| r.trial.is_none_or(|t| t == trial) && r.attempt.is_none_or(|a| a == attempt))
            .map(|r| r.fault)
    }

    /// How long this trial waits after each report it sends, if a `slowreport` rule says so.
    pub fn report_delay(&self, trial: u64, attempt: u32) -> Option<std::time::Duration> {
        self.trials
            .iter()
            .filter(|r| {
                r.trial.is_none_or(|t| t == trial) && r.attempt.is_none_or(|a| a == attempt)
            })
            .find_map(|r| match r.fault {
                Fault::SlowReports(ms) => Some(std::time::Duration::from_millis(ms)),
                _ => None,
            })
    }

    /// The fault of the refit, if any.
    pub fn refit(&self) -> Option<Fault> {
        self.refit
    }

    /// Whether worker `worker` has the fault `fault`.
    pub fn worker_has(&self, worker: u32, fault: WorkerFault) -> bool {
        self.workers
            .iter()
            .any(|r| r.fault == fault && r.worker.is_none_or(|w| w == worker))
    }

    /// The shard fault of kind `fault` set for `shard` at `round`, if any.
    pub fn shard_at(&self, shard: u32, round: u64, fault: ShardFault) -> Option<ShardTrigger> {
        self.shards
            .iter()
            .position(|r| r.fault == fault && r.shard == shard && r.round == round)
            .map(|i| ShardTrigger {
                fault,
                token: i as u32,
            })
    }
}

/// One rule, or None if it is malformed.
fn parse_rule(part: &str) -> Option<Parsed> {
    let (action, target) = part.split_once('@')?;
    if target == "refit" {
        return Some(Parsed::Refit(match action {
            "panic" => Fault::Panic,
            "error" => Fault::Error,
            "exit" => Fault::Exit,
            _ => return None,
        }));
    }
    if let Some(rest) = target.strip_prefix("shard") {
        let (shard, at) = rest.split_once(':')?;
        let (after, round) = match at.strip_prefix("after") {
            Some(r) => (true, r),
            None => (false, at.strip_prefix('r')?),
        };
        let fault = match (action, after) {
            ("hang", false) => ShardFault::Hang,
            ("exit", false) => ShardFault::ExitBefore,
            ("exit", true) => ShardFault::ExitAfter,
            _ => return None,
        };
        return Some(Parsed::Shard(ShardRule {
            fault,
            shard: shard.parse().ok()?,
            round: round.parse().ok()?,
        }));
    }
    let worker_fault = match action {
        "prehello" => Some(WorkerFault::PreHello),
        "ignoreterm" => Some(WorkerFault::IgnoreTerm),
        _ => None,
    };
    if let Some(fault) = worker_fault {
        let worker = match target {
            "*" if fault == WorkerFault::IgnoreTerm => None,
            w => Some(w.strip_prefix('w')?.parse().ok()?),
        };
        return Some(Parsed::Worker(WorkerRule { fault, worker }));
    }
    let (trial, attempt) = match target.split_once('#') {
        Some((t, a)) => (t, Some(a.parse().ok()?)),
        None => (target, None),
    };
    let trial = if trial == "*" {
        None
    } else {
        Some(trial.parse().ok()?)
    };
    let fault = match action {
        "panic" => Fault::Panic,
        "error" => Fault::Error,
        "exit" => Fault::Exit,
        "segv" => Fault::Segfault,
        "hang" => Fault::Hang,
        "oom" => Fault::Oom,
        other => match other.strip_prefix("slowreport") {
            Some(ms) => Fault::SlowReports(ms.parse().ok()?),
            None => Fault::Sleep(other.strip_prefix("sleep")?.parse().ok()?),
        },
    };
    Some(Parsed::Trial(Rule {
        fault,
        trial,
        attempt,
    }))
}

/// Carry out a shard fault: exit with status 3, or stop making progress for good.
pub fn trigger_shard(fault: ShardFault) -> ! {
    match fault {
        ShardFault::ExitBefore | ShardFault::ExitAfter => std::process::exit(3),
        ShardFault::Hang => loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        },
    }
}

/// Ignore SIGTERM from now on in this process (only SIGKILL stops it then).
pub fn ignore_sigterm() {
    // SAFETY: setting SIGTERM's disposition to SIG_IGN installs no handler code; it only tells
    // the kernel to discard the signal.
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_IGN);
    }
}

/// Carry out a fault that ends or stalls the process; `Panic` panics; `Error` returns the
/// message of a model error.
pub fn trigger(fault: Fault) -> Result<(), String> {
    match fault {
        Fault::Panic => panic!("injected panic"),
        Fault::Error => Err("injected model error".into()),
        Fault::Exit => std::process::exit(3),
        Fault::Segfault => {
            // SAFETY: restoring the default action (Rust's runtime handles SIGSEGV for stack
            // overflows and would return from a raised one), then raising it at ourselves.
            unsafe {
                libc::signal(libc::SIGSEGV, libc::SIG_DFL);
                libc::raise(libc::SIGSEGV);
            }
            Ok(())
        }
        Fault::Sleep(ms) => {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok(())
        }
        Fault::SlowReports(_) => Ok(()),
        Fault::Hang => loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        },
        Fault::Oom => {
            let mut hog: Vec<Vec<u8>> = Vec::new();
            loop {
                // Touch every page so the memory is really used, not just reserved.
                hog.push(vec![1u8; 64 << 20]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_bind_to_a_trial_and_optionally_an_attempt() {
        let f = Faults::parse("panic@3, exit@5#1");
        assert_eq!(f.get(3, 1), Some(Fault::Panic));
        assert_eq!(f.get(3, 2), Some(Fault::Panic));
        assert_eq!(f.get(5, 1), Some(Fault::Exit));
        assert_eq!(f.get(5, 2), None);
        assert_eq!(f.get(4, 1), None);
    }

    #[test]
    fn a_report_delay_stands_beside_another_trial_fault() {
        let f = Faults::parse("sleep30@*,slowreport50@2,prune@2:1");
        assert_eq!(f.get(2, 1), Some(Fault::Sleep(30)));
        assert_eq!(
            f.report_delay(2, 1),
            Some(std::time::Duration::from_millis(50))
        );
        assert_eq!(f.report_delay(3, 1), None);
    }

    #[test]
    fn a_star_rule_applies_to_every_trial() {
        let f = Faults::parse("sleep50@*");
        assert_eq!(f.get(0, 1), Some(Fault::Sleep(50)));
        assert_eq!(f.get(99, 3), Some(Fault::Sleep(50)));
    }

    #[test]
    fn malformed_rules_are_ignored() {
        let f = Faults::parse(
            "explode@1,panic@x,prehello@*,prehello@3,hang@shard1:after2,exit@shard:r1,exit@shard1:x2",
        );
        assert!(
            f.trials.is_empty() && f.workers.is_empty() && f.shards.is_empty(),
            "{f:?}"
        );
    }

    #[test]
    fn prehello_binds_to_one_worker_id() {
        let f = Faults::parse("prehello@w2");
        assert!(f.worker_has(2, WorkerFault::PreHello));
        assert!(!f.worker_has(1, WorkerFault::PreHello));
        assert!(!f.worker_has(2, WorkerFault::IgnoreTerm));
    }

    #[test]
    fn ignoreterm_binds_to_every_worker_or_one() {
        let every = Faults::parse("ignoreterm@*");
        assert!(every.worker_has(0, WorkerFault::IgnoreTerm));
        assert!(every.worker_has(7, WorkerFault::IgnoreTerm));
        let one = Faults::parse("ignoreterm@w1");
        assert!(one.worker_has(1, WorkerFault::IgnoreTerm));
        assert!(!one.worker_has(0, WorkerFault::IgnoreTerm));
    }

    #[test]
    fn shard_rules_bind_to_a_shard_a_round_and_a_point_in_the_round() {
        let f = Faults::parse("hang@shard1:r4, exit@shard0:r2, exit@shard0:after5");
        assert_eq!(
            f.shard_at(1, 4, ShardFault::Hang).map(|t| t.fault),
            Some(ShardFault::Hang)
        );
        assert_eq!(f.shard_at(1, 3, ShardFault::Hang), None);
        assert_eq!(f.shard_at(0, 4, ShardFault::Hang), None);
        assert!(f.shard_at(0, 2, ShardFault::ExitBefore).is_some());
        assert_eq!(f.shard_at(0, 2, ShardFault::ExitAfter), None);
        assert!(f.shard_at(0, 5, ShardFault::ExitAfter).is_some());
        assert_eq!(f.shard_at(0, 5, ShardFault::ExitBefore), None);
    }

    #[test]
    fn each_shard_rule_has_its_own_token() {
        let f = Faults::parse("exit@shard0:r2,exit@shard1:r2");
        let a = f.shard_at(0, 2, ShardFault::ExitBefore).map(|t| t.token);
        let b = f.shard_at(1, 2, ShardFault::ExitBefore).map(|t| t.token);
        assert!(a.is_some() && b.is_some() && a != b);
    }

    #[test]
    fn trial_rules_still_parse_next_to_worker_and_shard_rules() {
        let f = Faults::parse("ignoreterm@*,panic@3#2,exit@shard0:after1,sleep10@*");
        assert_eq!(f.get(3, 2), Some(Fault::Panic));
        assert_eq!(f.get(3, 1), Some(Fault::Sleep(10)));
        assert_eq!((f.trials.len(), f.workers.len(), f.shards.len()), (2, 1, 1));
    }
}
