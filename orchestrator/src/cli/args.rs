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
    /// Print a trial's logs and how it ended (from DIR/trials/TRIAL/).
    Logs {
        /// The study directory.
        dir: PathBuf,
        /// The trial's number.
        trial: u64,
        /// Only this stream of a program trial, as it was written.
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
    /// Draw a study's (or a training run's) figures as SVG and PNG in DIR/plots/.
    Plot {
        /// The study directory of a `cohort sweep`, or the run directory of a `cohort train`.
        dir: PathBuf,
    },
    /// Print the objective's value at each report point of each trial (works while it runs).
    Intermediate {
        /// The study directory.
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
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
