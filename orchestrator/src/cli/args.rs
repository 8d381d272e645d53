//! The command line's shape: subcommands, flags and their help (clap).

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::Override;
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
        /// Print one JSON document on stdout instead of the table (as `--format json`).
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// Output format of the report on stdout.
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Start a new study even if the directory holds a different one (it is moved aside).
        #[arg(long)]
        force_new: bool,
        /// Do not refit the best hyperparameters on all the data at the end.
        #[arg(long)]
        no_refit: bool,
        /// Override a config value: `--set cv.folds=3` (repeatable; checked like the file).
        #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
        overrides: Vec<Override>,
    },
    /// Continue a study from its directory.
    Resume {
        /// The study directory.
        dir: PathBuf,
        /// Trainer processes (default: cores minus one, at least 1).
        #[arg(short, long)]
        workers: Option<NonZeroUsize>,
        /// Print one JSON document on stdout instead of the table (as `--format json`).
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// Output format of the report on stdout.
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Do not refit the best hyperparameters on all the data at the end.
        #[arg(long)]
        no_refit: bool,
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
    /// Print the best trial (JSON unless `--format` says otherwise).
    Best {
        /// The study directory.
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "json")]
        format: Format,
    },
    /// Print trial counts by state and the running trials.
    Status {
        /// The study directory.
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
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
        /// Print the summary as JSON on stdout (as `--format json`).
        #[arg(long, conflicts_with = "format")]
        json: bool,
        /// Output format of the summary on stdout.
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Replace a previous run in the directory (it is moved aside).
        #[arg(long)]
        force_new: bool,
        /// Override a config value: `--set train.epochs=3` (repeatable; checked like the file).
        #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
        overrides: Vec<Override>,
    },
    /// List the models and their hyperparameters (or one model's).
    Models {
        /// Show only this model.
        name: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Predict with a saved model (a sweep's refit model or a `cohort train` model) for the rows
    /// of a CSV file; predictions go out as CSV, with class probabilities where the model has them.
    Predict {
        /// A model file, or a study or training directory holding one.
        model: PathBuf,
        /// A CSV file with the model's feature columns (the target column may be there too).
        data: PathBuf,
        /// Write the predictions here instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
    },
    /// Refit a finished sweep's best hyperparameters on all its data and save the model in the
    /// study directory (what a sweep does at the end unless `--no-refit`).
    Refit {
        /// The study directory.
        dir: PathBuf,
    },
    /// Write a commented starter config that runs as it is.
    Init {
        /// Where to write it (refused if it exists).
        #[arg(default_value = "cohort.toml")]
        path: PathBuf,
        /// The model to start from (`cohort models` lists them).
        #[arg(long, default_value = "logistic_regression")]
        model: String,
    },
    /// Check a sweep or training config and its data without running anything: the space's size,
    /// the model, the data's shape, the folds, the workers, what would run.
    Check {
        /// The config.
        config: PathBuf,
        /// Override a config value (repeatable), as for `sweep` and `train`.
        #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
        overrides: Vec<Override>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Print a shell completion script: `cohort completions bash > ~/.local/share/bash-completion/completions/cohort`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
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

/// How a command that reports prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
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
