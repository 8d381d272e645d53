//! The command line: parse, dispatch, print, map errors to exit statuses.

mod args;
mod check;
mod init;
mod predict;
mod views;

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
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
        .with_writer(crate::progress::StderrWriter)
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
    crate::progress::init(cli.quiet);
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

/// `cohort logs`: a trial's logs. A program trial's command, exit status and output come from
/// its directory; a built-in model's trial shows its record and the lines its trainer logged.
fn logs(dir: &Path, trial: u64, stream: Option<Stream>) -> Result<u8> {
    if !dir.join(crate::store::DB_FILE).is_file() {
        return Err(BadInput::new(anyhow::anyhow!(
            "{}: not a study directory (no {})",
            dir.display(),
            crate::store::DB_FILE
        ))
        .into());
    }
    let tdir = dir.join("trials").join(trial.to_string());
    if !tdir.join(trainer::program::RECORD_FILE).is_file() {
        return builtin_logs(dir, trial, stream);
    }
    let read = |name: &str| std::fs::read_to_string(tdir.join(name)).unwrap_or_default();
    let text = match stream {
        Some(Stream::Stdout) => read("stdout.log"),
        Some(Stream::Stderr) => read("stderr.log"),
        None => {
            let command: serde_json::Value =
                serde_json::from_str(&read(trainer::program::RECORD_FILE)).unwrap_or_default();
            let exit = &command["exit"];
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
            let mut text = format!(
                "trial {trial}, attempt {}\ncommand: {argv}\ncwd: {}\nstatus: {status}\n\n--- stdout ---\n{}\n--- stderr ---\n{}",
                command["attempt"],
                command["cwd"].as_str().unwrap_or("?"),
                read("stdout.log"),
                read("stderr.log"),
            );
            // What the trainer running the program logged about it (a group it could not stop).
            let trainer = read(crate::supervisor::TRIAL_LOG_FILE);
            if !trainer.is_empty() {
                text.push_str(&format!("\n--- trainer log ---\n{trainer}"));
            }
            text
        }
    };
    print(&text)?;
    Ok(exit::OK)
}

/// `cohort logs` for a built-in model's trial: its record, then its trainer's log lines.
fn builtin_logs(dir: &Path, trial: u64, stream: Option<Stream>) -> Result<u8> {
    let view = open_view(dir)?;
    let Some(t) = view.trials.iter().find(|t| t.trial == trial) else {
        let why = match view.trials.iter().map(|t| t.trial).max() {
            Some(last) => format!("the study's trials are numbered 0 to {last}"),
            None => "the study has no trial yet".to_string(),
        };
        return Err(BadInput::new(anyhow::anyhow!(
            "{}: no trial {trial} ({why})",
            dir.display()
        ))
        .into());
    };
    if stream.is_some() {
        return Err(BadInput::new(anyhow::anyhow!(
            "--stream: trial {trial} of {} ran a built-in model, which has no program output; drop --stream",
            dir.display()
        ))
        .into());
    }
    let log =
        std::fs::read_to_string(crate::supervisor::TrialLogs::path(dir, trial)).unwrap_or_default();
    let params: Vec<String> = t
        .params
        .iter()
        .map(|(k, v)| format!("{k} = {}", report::fmt_value(v)))
        .collect();
    let value = t
        .value
        .map_or_else(|| "-".to_string(), |v| format!("{v:.6}"));
    let mut text = format!(
        "trial {trial}: {} after {} attempt(s){}\n{}: {value}\nparams:\n  {}\n",
        report::state_text(t),
        t.attempts,
        t.worker
            .map_or_else(String::new, |w| format!(", last on worker {w}")),
        view.objective(),
        params.join("\n  "),
    );
    if let Some(e) = &t.error {
        text.push_str(&format!("error: {e}\n"));
    }
    text.push_str("\n--- trainer log ---\n");
    if log.is_empty() {
        text.push_str("(the trainer logged nothing during this trial)\n");
    } else {
        text.push_str(&log);
    }
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
            format,
            force_new,
            no_refit,
            overrides,
            backend,
            slurm,
        } => {
            if backend == BackendKind::Slurm {
                let json = format_or_json(format, json) == Format::Json;
                return slurm_sweep(
                    &config, workers, study_dir, force_new, json, overrides, slurm,
                );
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
                    refit: !no_refit,
                    overrides,
                },
            )?;
            finish(outcome, format_or_json(format, json))
        }
        Command::Resume {
            dir,
            workers,
            json,
            format,
            no_refit,
        } => finish(
            study::resume(&dir, workers, !no_refit)?,
            format_or_json(format, json),
        ),
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
        Command::Best { dir, format } => {
            let view = open_view(&dir)?;
            match view.best() {
                Some(t) => {
                    let text = match format {
                        Format::Json => format!(
                            "{}\n",
                            serde_json::to_string_pretty(&report::trial_json(t, Some(1)))?
                        ),
                        Format::Table => report::table(&view, Some(1), Some(TrialState::Complete)),
                        Format::Csv => report::csv(&view, Some(1), Some(TrialState::Complete)),
                    };
                    print(&text)?;
                    Ok(exit::OK)
                }
                None => {
                    eprintln!("error: {}: no complete trial yet", dir.display());
                    Ok(exit::FAILED)
                }
            }
        }
        Command::Logs { dir, trial, stream } => logs(&dir, trial, stream),
        Command::Status { dir, format } => {
            let mut view = open_view(&dir)?;
            if let Some(state) = crate::backends::slurm::study_state(&dir) {
                view.meta.insert("status".into(), state);
            }
            let now = crate::store::now();
            let text = match format {
                Format::Table => {
                    let mut text = report::status_text(&view, now);
                    if let Some(line) = views::refit_line(&view, &dir) {
                        text.push_str(&format!("  {line}\n"));
                    }
                    if let Some(slurm) = crate::backends::slurm::status_text(&dir) {
                        text.push_str(&slurm);
                    }
                    text
                }
                Format::Json => format!(
                    "{}\n",
                    serde_json::to_string_pretty(&views::status_json(&view, now))?
                ),
                Format::Csv => views::status_records(&view).to_csv(),
            };
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
            finish(outcome, Format::Table)
        }
        Command::Train {
            config,
            shards,
            study_dir,
            json,
            format,
            force_new,
            overrides,
        } => {
            let opts = crate::training::TrainOptions {
                shards: shards.map(NonZeroUsize::get),
                study_dir,
                force_new,
                overrides,
            };
            let summary = match crate::training::train(&config, &opts) {
                Err(e) if e.downcast_ref::<crate::training::Interrupted>().is_some() => {
                    return Ok(exit::INTERRUPTED);
                }
                other => other?,
            };
            match format_or_json(format, json) {
                Format::Json => print(&format!("{}\n", serde_json::to_string_pretty(&summary)?))?,
                Format::Table => print(&crate::training::summary_text(&summary))?,
                Format::Csv => print(&views::history_records(&summary).to_csv())?,
            }
            Ok(exit::OK)
        }
        Command::Models { name, format } => {
            let chosen = match &name {
                Some(name) => vec![models::lookup(name).map_err(BadInput::new)?],
                None => models::catalogue().iter().collect(),
            };
            let text = match (format, &name) {
                (Format::Table, None) => report::catalogue_text(),
                (Format::Table, Some(_)) => report::model_text(chosen[0]),
                (Format::Json, _) => format!(
                    "{}\n",
                    serde_json::to_string_pretty(&views::models_json(&chosen))?
                ),
                (Format::Csv, _) => views::models_records(&chosen).to_csv(),
            };
            print(&text)?;
            Ok(exit::OK)
        }
        Command::Predict {
            model,
            data,
            output,
            format,
        } => {
            let path = predict::model_path(&model)?;
            let file = predict::load_model(&path)?;
            // A model in a study or training directory keeps the images of the data it
            // predicted on there.
            let x = if model.is_dir() {
                let cache = model.join(crate::sweep::DATA_CACHE_DIR);
                predict::read_rows_cached(&data, &file, &cache)?
            } else {
                predict::read_rows(&data, &file)?
            };
            let prediction = file
                .predict(x.view())
                .with_context(|| format!("predicting with {}", path.display()))?;
            let records = predict::records(&file, prediction);
            let text = match format {
                Format::Csv => records.to_csv(),
                Format::Json => format!("{}\n", serde_json::to_string_pretty(&records.to_json())?),
                Format::Table => records.to_table(),
            };
            match output {
                Some(out) => std::fs::write(&out, text).map_err(|e| {
                    BadInput::new(anyhow::anyhow!("{}: cannot write: {e}", out.display()))
                })?,
                None => print(&text)?,
            }
            Ok(exit::OK)
        }
        Command::Refit { dir } => {
            let end = study::refit_study(&dir)?;
            let line = end.describe(&dir);
            match end {
                study::refit::RefitEnd::Saved { .. } => {
                    print(&format!("{line}\n"))?;
                    Ok(exit::OK)
                }
                study::refit::RefitEnd::Skipped { .. } => {
                    eprintln!("{line}");
                    Ok(exit::FAILED)
                }
                study::refit::RefitEnd::Interrupted => {
                    eprintln!("{line}");
                    Ok(exit::INTERRUPTED)
                }
                study::refit::RefitEnd::Failed { .. } => {
                    eprintln!("error: {line}");
                    Ok(exit::FAILED)
                }
            }
        }
        Command::Init { path, model } => {
            print(&init::init(&path, &model)?)?;
            Ok(exit::OK)
        }
        Command::Check {
            config,
            overrides,
            format,
        } => {
            let plan = check::check(&config, &overrides)?;
            let text = match format {
                Format::Table => plan.to_text(),
                Format::Json => format!("{}\n", serde_json::to_string_pretty(&plan.to_json())?),
                Format::Csv => plan.to_records().to_csv(),
            };
            print(&text)?;
            Ok(exit::OK)
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "cohort", &mut out);
            print(&String::from_utf8_lossy(&out))?;
            Ok(exit::OK)
        }
        Command::Plot { dir } => {
            let written = crate::plots::plot(&dir)?;
            let list: Vec<String> = written
                .iter()
                .map(|p| format!("{}\n", p.display()))
                .collect();
            print(&list.concat())?;
            Ok(exit::OK)
        }
        Command::Intermediate { dir, format } => {
            let store = Store::open_readonly(&dir).map_err(BadInput::new)?;
            let values = store.intermediate_values()?;
            print(&report::intermediate_text(&values, report_format(format))?)?;
            Ok(exit::OK)
        }
        Command::Trainer { .. } => Ok(exit::OK),
    }
}

/// The reports' name for a `--format` value.
fn report_format(f: Format) -> report::Format {
    match f {
        Format::Table => report::Format::Table,
        Format::Json => report::Format::Json,
        Format::Csv => report::Format::Csv,
    }
}

/// `cohort sweep --backend slurm`: submit, and with `--wait` wait and print the merged results.
fn slurm_sweep(
    config: &Path,
    workers: Option<NonZeroUsize>,
    study_dir: Option<std::path::PathBuf>,
    force_new: bool,
    json: bool,
    overrides: Vec<crate::config::Override>,
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
    // Each node saves what it finds; a refit is `cohort refit DIR` once the job is done.
    let opts = SweepOptions {
        workers: None,
        study_dir,
        force_new,
        refit: false,
        overrides,
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

/// `--format`, or `--json` where a command had it before `--format`.
fn format_or_json(format: Option<Format>, json: bool) -> Format {
    format.unwrap_or(if json { Format::Json } else { Format::Table })
}

fn finish(outcome: study::StudyOutcome, format: Format) -> Result<u8> {
    let json = format == Format::Json;
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
        let mut doc = report::study_json(view, status);
        if let (Some(obj), Some(refit)) = (doc.as_object_mut(), &outcome.refit) {
            obj.insert("refit".into(), serde_json::to_value(refit)?);
        }
        print(&format!("{}\n", serde_json::to_string_pretty(&doc)?))?;
    } else if format == Format::Csv {
        let all = StudyView {
            meta: view.meta.clone(),
            trials: store.trials()?,
        };
        print(&report::csv(&all, None, None))?;
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
        if let Some(refit) = &outcome.refit {
            text.push_str(&refit.describe(&outcome.dir));
            text.push('\n');
        }
        print(&text)?;
    }
    Ok(match outcome.end {
        SweepEnd::Interrupted => exit::INTERRUPTED,
        SweepEnd::Finished if outcome.refit == Some(study::refit::RefitEnd::Interrupted) => {
            exit::INTERRUPTED
        }
        SweepEnd::Finished if view.best().is_none() => exit::FAILED,
        SweepEnd::Finished => exit::OK,
    })
}
