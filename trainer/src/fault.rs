//! Fault injection for end-to-end tests: `COHORT_FAULT="panic@3,exit@5#1,sleep200@*"` makes a
//! trainer misbehave on chosen trials (`*`: every trial) and attempts, so the tests can check
//! that each fault costs exactly what it should. Unset in normal use: then this is a no-op.

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
}

/// A fault bound to a trial and optionally one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rule {
    fault: Fault,
    /// None: every trial.
    trial: Option<u64>,
    attempt: Option<u32>,
}

/// The parsed `COHORT_FAULT` rules.
#[derive(Debug, Clone, Default)]
pub struct Faults(Vec<Rule>);

impl Faults {
    /// Read the rules from the environment (malformed rules are ignored with a warning).
    pub fn from_env() -> Faults {
        std::env::var(ENV)
            .map(|s| Faults::parse(&s))
            .unwrap_or_default()
    }

    /// Parse `action@trial[#attempt]` rules separated by commas.
    pub fn parse(spec: &str) -> Faults {
        let mut rules = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let parsed = (|| {
                let (action, rest) = part.split_once('@')?;
                let (trial, attempt) = match rest.split_once('#') {
                    Some((t, a)) => (t, Some(a.parse().ok()?)),
                    None => (rest, None),
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
                    other => Fault::Sleep(other.strip_prefix("sleep")?.parse().ok()?),
                };
                Some(Rule {
                    fault,
                    trial,
                    attempt,
                })
            })();
            match parsed {
                Some(r) => rules.push(r),
                None => tracing::warn!("ignoring malformed {ENV} rule `{part}`"),
            }
        }
        Faults(rules)
    }

    /// The fault for this trial and attempt, if any.
    pub fn get(&self, trial: u64, attempt: u32) -> Option<Fault> {
        self.0
            .iter()
            .find(|r| r.trial.is_none_or(|t| t == trial) && r.attempt.is_none_or(|a| a == attempt))
            .map(|r| r.fault)
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
    fn a_star_rule_applies_to_every_trial() {
        let f = Faults::parse("sleep50@*");
        assert_eq!(f.get(0, 1), Some(Fault::Sleep(50)));
        assert_eq!(f.get(99, 3), Some(Fault::Sleep(50)));
    }

    #[test]
    fn malformed_rules_are_ignored() {
        assert_eq!(Faults::parse("explode@1,panic@x").0.len(), 0);
    }
}
