//! The command line: parse, dispatch, print, map errors to exit statuses.

mod args;

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use crate::error::{BadInput, exit};
use crate::reports::{self as report, StudyView};
use crate::store::{Store, TrialState};
use crate::sweep::scheduler::SweepEnd;
use crate::sweep::{self as study, SweepOptions};
use args::{BackendKind, Cli, Command, Format, SlurmArgs, Stream};

fn init_logging(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug,ipc_channel=info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .with_target(false)
        .compact()
        .try_init();
}

/// The `cohort` binary's entry point.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::BAD_INPUT
            } else {
                exit::OK
            });
        }
    };
    if let Command::Trainer {
        connect,
        worker,
        cores,
        memory,
        parent,
    } = cli.command
    {
        trainer::process::init_logging();
        return match trainer::run(trainer::TrainerArgs {
            connect,
            worker,
            cores,
            memory,
            parent,
        }) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    init_logging(cli.verbose, cli.quiet);
    if let Err(e) = crate::supervisor::signals::install() {
        eprintln!("error: cannot install the Ctrl-C and SIGTERM handlers: {e}");
        return ExitCode::from(exit::FAILED);
    }
    match run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_disk_full(&e) {
                eprintln!(
                    "error: the disk is full (or a file-size limit was reached); what was committed before is kept: {e:#}"
                );
                return ExitCode::from(exit::BAD_INPUT);
            }
            let code = if e.downcast_ref::<BadInput>().is_some() {
                exit::BAD_INPUT
            } else {
                exit::FAILED
            };
            eprintln!("error: {e:#}");
            ExitCode::from(code)
        }
    }
}

/// Whether the error comes from a full disk (or a file-size limit, which looks the same).
fn is_disk_full(e: &anyhow::Error) -> bool {
    use crate::store::StoreError;
    use crate::sweep::scheduler::SchedulerError;
    e.chain().any(|c| {
        // A transparent wrapper hides the store error from the chain: look inside it too.
        let store = c
            .downcast_ref::<StoreError>()
            .or(match c.downcast_ref::<SchedulerError>() {
                Some(SchedulerError::Store(s)) => Some(s),
                _ => None,
            });
        if let Some(StoreError::DiskFull { .. }) = store {
            return true;
        }
        if let Some(rusqlite::Error::SqliteFailure(f, _)) = c.downcast_ref::<rusqlite::Error>() {
            return f.code == rusqlite::ErrorCode::DiskFull;
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return matches!(
                io.raw_os_error(),
                Some(libc::ENOSPC) | Some(libc::EFBIG) | Some(libc::EDQUOT)
            );
        }
        false
    })
}

/// `cohort logs`: a program trial's command, exit status and output, from its directory.
fn logs(dir: &Path, trial: u64, stream: Option<Stream>) -> Result<u8> {
    let tdir = dir.join("trials").join(trial.to_string());
    if !tdir.is_dir() {
        let why = if dir.join(crate::store::DB_FILE).is_file() {
            format!(
                "{}: no such trial directory (trial {trial} never ran, or the study runs a built-in model)",
                tdir.display()
            )
        } else {
            format!("{}: not a study directory", dir.display())
        };
        return Err(BadInput::new(anyhow::anyhow!(why)).into());
    }
    let read = |name: &str| std::fs::read_to_string(tdir.join(name)).unwrap_or_default();
    let text = match stream {
        Some(Stream::Stdout) => read("stdout.log"),
        Some(Stream::Stderr) => read("stderr.log"),
        None => {
            let command: serde_json::Value =
                serde_json::from_str(&read("command.json")).unwrap_or_default();
            let exit: serde_json::Value =
                serde_json::from_str(&read("exit.json")).unwrap_or_default();
            let argv = command["argv"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            let status = match exit["status"].as_str() {
                Some(s) => format!("{s} ({})", exit["state"].as_str().unwrap_or("?")),
                None => "still running (or stopped before it ended)".into(),
            };
            format!(
                "trial {trial}, attempt {}\ncommand: {argv}\ncwd: {}\nstatus: {status}\n\n--- stdout ---\n{}\n--- stderr ---\n{}",
                command["attempt"],
                command["cwd"].as_str().unwrap_or("?"),
                read("stdout.log"),
                read("stderr.log"),
            )
        }
    };
    print(&text)?;
    Ok(exit::OK)
}

fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a message.
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}

fn open_view(dir: &Path) -> Result<StudyView> {
    let store = Store::open_readonly(dir).map_err(BadInput::new)?;
    // A study run on a cluster has one store per node: merged.
    let trials = if crate::store::merge::node_dirs(dir).is_empty() {
        store.trials()?
    } else {
        crate::store::merge::study_trials(dir)?
    };
    Ok(StudyView {
        meta: store.meta()?,
        trials,
    })
}

fn run(command: Command) -> Result<u8> {
    match command {
        Command::Sweep {
            config,
            workers,
            study_dir,
            json,
            force_new,
            backend,
            slurm,
        } => {
            if backend == BackendKind::Slurm {
                return slurm_sweep(&config, workers, study_dir, force_new, json, slurm);
            }
            if let Some(flag) = slurm.any_given() {
                return Err(BadInput::new(anyhow::anyhow!(
                    "{flag} is a Slurm setting: add --backend slurm"
                ))
                .into());
            }
            let outcome = study::sweep(
                &config,
                &SweepOptions {
                    workers,
                    study_dir,
                    force_new,
                },
            )?;
            finish(outcome, json)
        }
        Command::Resume { dir, workers, json } => finish(study::resume(&dir, workers)?, json),
        Command::Results {
            dir,
            format,
            top,
            state,
        } => {
            let view = open_view(&dir)?;
            let text = match format {
                Format::Table => report::table(&view, top, state),
                Format::Csv => report::csv(&view, top, state),
                Format::Json => {
                    let ranked = view.ranked();
                    let rows: Vec<_> = ranked
                        .iter()
                        .filter(|t| state.is_none_or(|s| s == t.state))
                        .take(top.unwrap_or(usize::MAX))
                        .map(|t| {
                            report::trial_json(
                                t,
                                (t.state == TrialState::Complete).then(|| {
                                    ranked
                                        .iter()
                                        .position(|r| r.trial == t.trial)
                                        .map_or(0, |p| p + 1)
                                }),
                            )
                        })
                        .collect();
                    format!("{}\n", serde_json::to_string_pretty(&rows)?)
                }
            };
            print(&text)?;
            Ok(exit::OK)
        }
        Command::Best { dir } => {
            let view = open_view(&dir)?;
            match view.best() {
                Some(t) => {
                    print(&format!(
                        "{}\n",
                        serde_json::to_string_pretty(&report::trial_json(t, Some(1)))?
                    ))?;
                    Ok(exit::OK)
                }
                None => {
                    eprintln!("error: {}: no complete trial yet", dir.display());
                    Ok(exit::FAILED)
                }
            }
        }
        Command::Logs { dir, trial, stream } => logs(&dir, trial, stream),
        Command::Status { dir } => {
            let mut view = open_view(&dir)?;
            if let Some(state) = crate::backends::slurm::study_state(&dir) {
                view.meta.insert("status".into(), state);
            }
            let mut text = report::status_text(&view, crate::store::now());
            if let Some(slurm) = crate::backends::slurm::status_text(&dir) {
                text.push_str(&slurm);
            }
            print(&text)?;
            Ok(exit::OK)
        }
        Command::Cancel { dir } => {
            let job = crate::backends::slurm::cancel(&dir)?;
            print(&format!(
                "cancelled Slurm job {job}; finished trials are kept, the rest run on the next `cohort sweep --backend slurm`\n"
            ))?;
            Ok(exit::OK)
        }
        Command::SlurmTask { dir, plan } => {
            let outcome = crate::backends::slurm::run_task(&dir, &plan)?;
            finish(outcome, false)
        }
        Command::Train {
            config,
            shards,
            study_dir,
            json,
            force_new,
        } => {
            let opts = crate::training::TrainOptions {
                shards: shards.map(NonZeroUsize::get),
                study_dir,
                force_new,
            };
            let summary = match crate::training::train(&config, &opts) {
                Err(e) if e.downcast_ref::<crate::training::Interrupted>().is_some() => {
                    return Ok(exit::INTERRUPTED);
                }
                other => other?,
            };
            if json {
                print(&format!("{}\n", serde_json::to_string_pretty(&summary)?))?;
            } else {
                print(&crate::training::summary_text(&summary))?;
            }
            Ok(exit::OK)
        }
        Command::Models { name: None } => {
            print(&report::catalogue_text())?;
            Ok(exit::OK)
        }
        Command::Models { name: Some(name) } => {
            let model = models::lookup(&name).map_err(BadInput::new)?;
            print(&report::model_text(model))?;
            Ok(exit::OK)
        }
        Command::Trainer { .. } => Ok(exit::OK),
    }
}

/// `cohort sweep --backend slurm`: submit, and with `--wait` wait and print the merged results.
fn slurm_sweep(
    config: &Path,
    workers: Option<NonZeroUsize>,
    study_dir: Option<std::path::PathBuf>,
    force_new: bool,
    json: bool,
    args: SlurmArgs,
) -> Result<u8> {
    use crate::backends::slurm::{self, SlurmFlags, Submitted};
    if workers.is_some() {
        return Err(BadInput::new(anyhow::anyhow!(
            "--workers does not apply to --backend slurm: each node runs as many trainers as Slurm allocated it CPUs (`slurm.cpus`, or whole nodes)"
        ))
        .into());
    }
    let flags = SlurmFlags {
        nodes: args.nodes,
        partition: args.partition,
        time: args.time,
        account: args.account,
        mem: args.mem,
        signal: args.signal,
    };
    let opts = SweepOptions {
        workers: None,
        study_dir,
        force_new,
    };
    let (dir, total) = match slurm::submit(config, &opts, &flags)? {
        Submitted::Nothing { dir, total } => {
            eprintln!(
                "every trial of the study in {} is final: nothing to submit",
                dir.display()
            );
            (dir, total)
        }
        Submitted::Job { dir, record, total } => {
            let line = format!(
                "submitted Slurm job {} ({} array tasks) for {} trials; `cohort status {}` follows it",
                record.job,
                record.nodes,
                record.trials,
                dir.display()
            );
            // With --json, stdout carries only JSON: the submission itself, or the study after --wait.
            match (json, args.wait) {
                (false, _) => print(&format!("{line}\n"))?,
                (true, true) => eprintln!("{line}"),
                (true, false) => print(&format!(
                    "{}\n",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "job": record.job,
                        "array_tasks": record.nodes,
                        "trials": record.trials,
                        "submission": record.submission,
                        "study_dir": dir,
                    }))?
                ))?,
            }
            if !args.wait {
                return Ok(exit::OK);
            }
            if !slurm::wait(&dir)? {
                eprintln!(
                    "stopped waiting; the job runs on (`cohort cancel {}` stops it)",
                    dir.display()
                );
                return Ok(exit::INTERRUPTED);
            }
            (dir, total)
        }
    };
    if !args.wait {
        return Ok(exit::OK);
    }
    let view = open_view(&dir)?;
    let finals = view.trials.iter().filter(|t| t.state.is_final()).count();
    let unfinished = (total as usize).saturating_sub(finals);
    if json {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report::study_json(&view, "finished"))?
        ))?;
    } else {
        let mut text = report::table(&view, Some(SUMMARY_ROWS), None);
        if let Some(b) = view.best() {
            text.push_str(&format!(
                "\nbest: trial {} with {} {:.4}\nstudy: {}\n",
                b.trial,
                view.objective(),
                b.value.unwrap_or(f64::NAN),
                dir.display()
            ));
        }
        print(&text)?;
    }
    if unfinished > 0 {
        eprintln!(
            "{unfinished} trials did not finish (cancelled or out of time): run the same command again to submit them"
        );
        return Ok(exit::FAILED);
    }
    Ok(if view.best().is_some() {
        exit::OK
    } else {
        exit::FAILED
    })
}

/// Rows of the table printed at the end of a sweep.
const SUMMARY_ROWS: usize = 20;

fn finish(outcome: study::StudyOutcome, json: bool) -> Result<u8> {
    let status = match outcome.end {
        SweepEnd::Finished => "finished",
        SweepEnd::Interrupted => "interrupted",
    };
    let store = &outcome.store;
    let meta = store.meta()?;
    // The JSON document has every trial; the table only the best rows (no need to read all).
    let (view, total) = if json {
        let view = StudyView {
            meta,
            trials: store.trials()?,
        };
        let total = view.trials.len();
        (view, total)
    } else {
        let mut view = StudyView {
            meta,
            trials: Vec::new(),
        };
        view.trials = store.best_trials(view.direction(), SUMMARY_ROWS)?;
        (view, store.trial_count()?)
    };
    let view = &view;
    if json {
        print(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report::study_json(view, status))?
        ))?;
    } else {
        // A long table helps nobody at the end of a sweep: the best rows, and where the rest are.
        let mut text = report::table(view, Some(SUMMARY_ROWS), None);
        if total > SUMMARY_ROWS {
            text.push_str(&format!(
                "… {} more trials: cohort results {}\n",
                total - SUMMARY_ROWS,
                outcome.dir.display()
            ));
        }
        match view.best() {
            Some(b) => {
                let params: Vec<String> =
                    b.params.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                let s = b.metrics.get(view.objective());
                text.push_str(&format!(
                    "\nbest: trial {} with {} {:.4} ± {:.4}\n  {}\nstudy: {}\n",
                    b.trial,
                    view.objective(),
                    s.map_or(f64::NAN, |s| s.mean),
                    s.map_or(f64::NAN, |s| s.std),
                    params.join("\n  "),
                    outcome.dir.display()
                ));
            }
            None => text.push_str(&format!(
                "\nno trial completed\nstudy: {}\n",
                outcome.dir.display()
            )),
        }
        let mib = |key: &str| {
            view.meta
                .get(key)
                .and_then(|v| v.parse::<f64>().ok())
                .map_or("?".to_string(), |b| format!("{:.0} MiB", b / 1048576.0))
        };
        text.push_str(&format!(
            "memory: peak {} for the orchestrator and its trainers ({} resident summed), data {}\n",
            mib("peak_memory_pss"),
            mib("peak_memory_rss"),
            mib("data_bytes")
        ));
        print(&text)?;
    }
    Ok(match outcome.end {
        SweepEnd::Interrupted => exit::INTERRUPTED,
        SweepEnd::Finished if view.best().is_none() => exit::FAILED,
        SweepEnd::Finished => exit::OK,
    })
}
