//! The command line's shape: subcommands, flags and their help (clap).

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::store::TrialState;

/// cohort: hyperparameter sweeps across trainer processes, one per core.
#[derive(Debug, Parser)]
#[command(
    name = "cohort",
    version,
    about = "Hyperparameter sweeps and data-parallel training across trainer processes, one per core",
    long_about = None
)]
pub(super) struct Cli {
    /// More log output on stderr (-v: each trial, -vv: everything); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only warnings and errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Run (or resume) the sweep described by a TOML config.
    Sweep {
        /// The study config.
        config: PathBuf,
        /// Trainer processes (default: cores minus one, at least 1).
        #[arg(short, long)]
        workers: Option<NonZeroUsize>,
        /// Study directory (default: runs/<study name>).
        #[arg(long)]
        study_dir: Option<PathBuf>,
        /// Print one JSON document on stdout instead of the table.
        #[arg(long)]
        json: bool,
        /// Start a new study even if the directory holds a different one (it is moved aside).
        #[arg(long)]
        force_new: bool,
        /// Where trainers run: this machine, or a Slurm cluster (one array task per node).
        #[arg(long, value_enum, default_value = "local")]
        backend: BackendKind,
        #[command(flatten)]
        slurm: SlurmArgs,
    },
    /// Cancel a study's Slurm job (scancel); finished trials are kept.
    Cancel {
        /// The study directory.
        dir: PathBuf,
    },
    /// Run one array task's share of a study (started by Slurm).
    #[command(hide = true)]
    SlurmTask {
        /// The study directory.
        dir: PathBuf,
        /// The submission's plan.
        #[arg(long)]
        plan: PathBuf,
    },
    /// Continue a study from its directory.
    Resume {
        /// The study directory.
        dir: PathBuf,
        /// Trainer processes (default: cores minus one, at least 1).
        #[arg(short, long)]
        workers: Option<NonZeroUsize>,
        /// Print one JSON document on stdout instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Print a study's trials (works while it runs).
    Results {
        /// The study directory.
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Only the K best trials.
        #[arg(long)]
        top: Option<usize>,
        /// Only trials in this state.
        #[arg(long, value_parser = parse_state)]
        state: Option<TrialState>,
    },
    /// Print the best trial as JSON.
    Best {
        /// The study directory.
        dir: PathBuf,
    },
    /// Print trial counts by state and the running trials.
    Status {
        /// The study directory.
        dir: PathBuf,
    },
    /// Print a program trial's logs and how it ended (from DIR/trials/TRIAL/).
    Logs {
        /// The study directory.
        dir: PathBuf,
        /// The trial's number.
        trial: u64,
        /// Only this stream, as it was written.
        #[arg(long, value_enum)]
        stream: Option<Stream>,
    },
    /// Train one model data-parallel: one trainer per shard, merging into shared memory.
    Train {
        /// The training config.
        config: PathBuf,
        /// Shards, one trainer each (default: the config's `train.shards`, else 1).
        #[arg(short, long)]
        shards: Option<NonZeroUsize>,
        /// Study directory (default: runs/<name>).
        #[arg(long)]
        study_dir: Option<PathBuf>,
        /// Print the summary as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Replace a previous run in the directory (it is moved aside).
        #[arg(long)]
        force_new: bool,
    },
    /// List the models and their hyperparameters (or one model's).
    Models {
        /// Show only this model.
        name: Option<String>,
    },
    /// Run as a trainer process (started by the orchestrator).
    #[command(hide = true)]
    Trainer {
        /// The orchestrator's one-shot server name.
        #[arg(long)]
        connect: String,
        /// This worker's id.
        #[arg(long)]
        worker: u32,
        /// Cores to pin to, comma-separated.
        #[arg(long, value_delimiter = ',')]
        cores: Vec<usize>,
        /// Address-space cap, bytes.
        #[arg(long)]
        memory: Option<u64>,
        /// The orchestrator's pid.
        #[arg(long)]
        parent: Option<u32>,
    },
}

/// Where a sweep's trainers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum BackendKind {
    /// Trainer processes on this machine.
    Local,
    /// A Slurm array job: one task per node, each with its own trainer pool.
    Slurm,
}

/// `--backend slurm` settings; each overrides the config's `[slurm]` table.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct SlurmArgs {
    /// Slurm: nodes (array tasks) to spread the trials over.
    #[arg(long)]
    pub nodes: Option<std::num::NonZeroU32>,
    /// Slurm: the partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Slurm: each task's time limit (e.g. 01:00:00).
    #[arg(long)]
    pub time: Option<String>,
    /// Slurm: the account charged.
    #[arg(long)]
    pub account: Option<String>,
    /// Slurm: memory per node (e.g. 8G).
    #[arg(long)]
    pub mem: Option<String>,
    /// Slurm: the warning signal before the time limit (default B:USR1@60).
    #[arg(long)]
    pub signal: Option<String>,
    /// Slurm: wait for the job to end, then print the results.
    #[arg(long)]
    pub wait: bool,
}

impl SlurmArgs {
    /// The first Slurm-only flag given, for a local sweep's refusal.
    pub fn any_given(&self) -> Option<&'static str> {
        [
            (self.nodes.is_some(), "--nodes"),
            (self.partition.is_some(), "--partition"),
            (self.time.is_some(), "--time"),
            (self.account.is_some(), "--account"),
            (self.mem.is_some(), "--mem"),
            (self.signal.is_some(), "--signal"),
            (self.wait, "--wait"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }
}

/// One of a program's output streams.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum Stream {
    Stdout,
    Stderr,
}

/// How `results` prints.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum Format {
    Table,
    Json,
    Csv,
}

/// A `--state` value.
fn parse_state(s: &str) -> Result<TrialState, String> {
    TrialState::from_name(s).ok_or_else(|| {
        format!(
            "expected one of {}",
            TrialState::ALL.map(|t| t.name()).join(", ")
        )
    })
}
