//! Live progress on stderr while a sweep or a training runs.
//!
//! On a terminal: bars drawn with indicatif (a study bar and one line per worker or shard),
//! redrawn in place and cleared when the run ends, so the final screen holds only the report.
//! Anywhere else (a pipe, a file, CI): the plain periodic log lines, through tracing. `--quiet`
//! shows neither. Nothing here ever writes to stdout, which carries tables and JSON.
//!
//! Log lines written while bars are drawn go through [`StderrWriter`], which lifts the bars,
//! writes the line above them and draws them again: the two never garble each other.

mod sweep;
mod train;

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, OnceLock};

use indicatif::{MultiProgress, ProgressDrawTarget};

pub use sweep::SweepProgress;
pub use train::TrainProgress;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bars redrawn in place (stderr is a terminal).
    Bars,
    /// Periodic log lines through tracing.
    Lines,
    /// Nothing (`--quiet`).
    Off,
}

static MODE: OnceLock<Mode> = OnceLock::new();
/// The bars being drawn now, if any: log lines are written around them.
static ACTIVE: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Choose the mode once, at start-up: bars only when stderr is a terminal that can redraw.
pub fn init(quiet: bool) {
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    let mode = if quiet {
        Mode::Off
    } else if std::io::stderr().is_terminal() && !dumb {
        Mode::Bars
    } else {
        Mode::Lines
    };
    let _ = MODE.set(mode);
}

/// The mode chosen at start-up (plain lines when none was chosen, as in library use).
pub fn mode() -> Mode {
    MODE.get().copied().unwrap_or(Mode::Lines)
}

/// A new set of bars on stderr, registered so log lines are written above them.
fn start_bars() -> MultiProgress {
    // 10 redraws a second: smooth enough to read, cheap next to the work.
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    if let Ok(mut active) = ACTIVE.lock() {
        *active = Some(multi.clone());
    }
    multi
}

/// Clear the bars (nothing of them stays on screen) and stop routing log lines around them.
fn end_bars(multi: &MultiProgress) {
    if let Ok(mut active) = ACTIVE.lock() {
        *active = None;
    }
    let _ = multi.clear();
}

/// Stderr for the log subscriber: while bars are drawn, each line is written above them.
#[derive(Debug, Clone, Copy, Default)]
pub struct StderrWriter;

impl Write for StderrWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let active = ACTIVE.lock().ok().and_then(|a| a.clone());
        match active {
            Some(multi) => multi.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for StderrWriter {
    type Writer = StderrWriter;

    fn make_writer(&'a self) -> Self::Writer {
        StderrWriter
    }
}

/// A template checked by the tests below; the plain default if it ever failed to parse.
fn style(template: &str) -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(template)
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses() {
        for t in [
            super::sweep::STUDY_TEMPLATE,
            super::sweep::WORKER_TEMPLATE,
            super::train::EPOCH_TEMPLATE,
            super::train::SHARD_TEMPLATE,
        ] {
            assert!(indicatif::ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }
}
