//! The store on its own thread: the scheduler hands it writes and never waits for the disk.

use std::path::PathBuf;

use models::{FoldScores, Params};

use super::{DB_FILE, Store, StoreError, TrialState};

/// One write to the study store, as the scheduler issues it.
#[derive(Debug)]
pub enum Write {
    /// A newly proposed trial.
    InsertTrial {
        /// Its number.
        trial: u64,
        /// Its hyperparameters.
        params: Params,
    },
    /// An attempt started.
    Started {
        /// Which trial.
        trial: u64,
        /// Its hyperparameters (the row is created when the trial first starts).
        params: Params,
        /// Which attempt.
        attempt: u32,
        /// On which worker.
        worker: u32,
        /// When (Unix seconds).
        at: f64,
    },
    /// A live report of a running attempt.
    Report {
        /// Which trial.
        trial: u64,
        /// Which attempt.
        attempt: u32,
        /// The report point.
        step: u32,
        /// The objective there, if reported.
        value: Option<f64>,
        /// Every named value there.
        values: FoldScores,
    },
    /// An attempt finished with every fold's scores.
    Finished {
        /// Which trial.
        trial: u64,
        /// Which attempt.
        attempt: u32,
        /// Each fold's scores.
        folds: Vec<FoldScores>,
        /// Each report point's values, when those are not the folds.
        reports: Option<Vec<FoldScores>>,
        /// When.
        at: f64,
    },
    /// An attempt was stopped by the pruner.
    Pruned {
        /// Which trial.
        trial: u64,
        /// Which attempt.
        attempt: u32,
        /// The last report point it reached.
        step: Option<u32>,
        /// The folds' scores when it stopped.
        folds: Vec<FoldScores>,
        /// Each report point's values, when those are not the folds.
        reports: Option<Vec<FoldScores>>,
        /// When.
        at: f64,
    },
    /// An attempt ended without scores.
    Ended {
        /// Which trial.
        trial: u64,
        /// Which attempt.
        attempt: u32,
        /// The trial's new state.
        state: TrialState,
        /// Why.
        error: String,
        /// When.
        at: f64,
    },
}

/// The store thread has stopped (on an error that `StoreWriter::finish` returns).
#[derive(Debug, thiserror::Error)]
#[error("the store writer stopped")]
pub struct WriterStopped;

/// The store on its own thread: the scheduler hands it writes and never waits for the disk.
///
/// Group commit: the thread applies the first write that arrives, then every write already
/// queued behind it, then commits. Idle, a result is committed the moment it arrives; under a
/// burst of short trials one commit covers many.
pub struct StoreWriter {
    tx: Option<std::sync::mpsc::Sender<Write>>,
    thread: Option<std::thread::JoinHandle<Result<Store, StoreError>>>,
}

impl StoreWriter {
    /// Start the writer thread on `store`; `objective` names the value that ranks trials.
    pub fn spawn(mut store: Store, objective: String) -> std::io::Result<StoreWriter> {
        let (tx, rx) = std::sync::mpsc::channel::<Write>();
        let thread = std::thread::Builder::new()
            .name("store".into())
            .spawn(move || {
                while let Ok(first) = rx.recv() {
                    store.apply(first, &objective)?;
                    while let Ok(next) = rx.try_recv() {
                        store.apply(next, &objective)?;
                    }
                    store.commit()?;
                }
                store.commit()?;
                Ok(store)
            })?;
        Ok(StoreWriter {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queue a write. Fails only if the writer has stopped on an error: `finish` returns it.
    pub fn send(&self, write: Write) -> Result<(), WriterStopped> {
        self.tx
            .as_ref()
            .ok_or(WriterStopped)?
            .send(write)
            .map_err(|_| WriterStopped)
    }

    /// Commit everything queued and return the store, or the first error the writer met.
    pub fn finish(mut self) -> Result<Store, StoreError> {
        drop(self.tx.take());
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            _ => Err(StoreError::Corrupt {
                path: PathBuf::from(DB_FILE),
                message: "the store writer thread panicked".into(),
            }),
        }
    }
}

impl Store {
    /// Apply one write (inside the open transaction).
    pub fn apply(&mut self, write: Write, objective: &str) -> Result<(), StoreError> {
        match write {
            Write::InsertTrial { trial, params } => self.insert_trial(trial, &params),
            Write::Started {
                trial,
                params,
                attempt,
                worker,
                at,
            } => self.trial_started(trial, &params, attempt, worker, at),
            Write::Report {
                trial,
                attempt,
                step,
                value,
                values,
            } => self.report(trial, attempt, step, value, &values),
            Write::Finished {
                trial,
                folds,
                reports,
                at,
                ..
            } => self.trial_finished(trial, &folds, reports.as_deref(), objective, at),
            Write::Pruned {
                trial,
                step,
                folds,
                reports,
                at,
                ..
            } => self.trial_pruned(trial, step, &folds, reports.as_deref(), at),
            Write::Ended {
                trial,
                attempt,
                state,
                error,
                at,
            } => self.attempt_ended(trial, attempt, state, &error, at),
        }
    }
}
