//! A sweep's progress: trials done, running, failed, pruned, the ETA and the best value so far,
//! and what each worker runs.

use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar};
use models::Direction;
use tracing::info;

use super::{Mode, end_bars, start_bars, style};

pub(super) const STUDY_TEMPLATE: &str = "{spinner} [{bar:25}] {pos}/{len} trials done · ETA {eta}";
pub(super) const WORKER_TEMPLATE: &str = "  {wide_msg}";
/// Workers shown one line each; more would not fit a terminal (the rest are counted).
const MAX_WORKER_LINES: usize = 12;
/// How often the bars take new numbers (they redraw on their own clock).
const DRAW_EVERY: Duration = Duration::from_millis(100);
/// How often a progress line is logged when there are no bars.
const LINE_EVERY: Duration = Duration::from_secs(2);

/// What one worker place is doing.
#[derive(Debug, Clone, Default)]
struct Place {
    worker: Option<u32>,
    trial: Option<(u64, Instant)>,
    /// The running trial's last report: step and objective value.
    last_report: Option<(u32, f64)>,
}

struct Bars {
    multi: MultiProgress,
    study: ProgressBar,
    /// Running, failed, pruned and the best value, under the bar (one line would not fit 80
    /// columns).
    counts: ProgressBar,
    places: Vec<ProgressBar>,
    more: Option<ProgressBar>,
}

/// A sweep's live progress, fed by the scheduler.
pub struct SweepProgress {
    mode: Mode,
    objective: String,
    direction: Direction,
    total: u64,
    done: u64,
    failed: u64,
    pruned: u64,
    /// The best value so far and its trial.
    best: Option<(f64, u64)>,
    places: Vec<Place>,
    last_shown: Instant,
    bars: Option<Bars>,
}

impl SweepProgress {
    /// Progress of a sweep of `total` trials (`already` of them final) on `slots` workers,
    /// shown as the start-up mode says.
    pub fn new(
        objective: &str,
        direction: Direction,
        total: u64,
        already: u64,
        slots: usize,
    ) -> SweepProgress {
        let mode = super::mode();
        let bars = (mode == Mode::Bars).then(|| {
            let multi = start_bars();
            let study = multi.add(
                ProgressBar::new(total)
                    .with_style(style(STUDY_TEMPLATE))
                    .with_position(already),
            );
            study.reset_eta();
            // The spinner and the ETA move even while no trial ends.
            study.enable_steady_tick(DRAW_EVERY);
            let counts = multi.add(ProgressBar::new(1).with_style(style(WORKER_TEMPLATE)));
            let places = (0..slots.min(MAX_WORKER_LINES))
                .map(|_| multi.add(ProgressBar::new(1).with_style(style(WORKER_TEMPLATE))))
                .collect();
            let more = (slots > MAX_WORKER_LINES)
                .then(|| multi.add(ProgressBar::new(1).with_style(style(WORKER_TEMPLATE))));
            Bars {
                multi,
                study,
                counts,
                places,
                more,
            }
        });
        let mut p = SweepProgress {
            mode,
            objective: objective.to_string(),
            direction,
            total,
            done: already,
            failed: 0,
            pruned: 0,
            best: None,
            places: vec![Place::default(); slots],
            last_shown: Instant::now(),
            bars,
        };
        if mode == Mode::Bars {
            p.draw();
        }
        p
    }

    /// A trial started on the worker in `slot`.
    pub fn started(&mut self, slot: usize, worker: u32, trial: u64) {
        if let Some(p) = self.places.get_mut(slot) {
            *p = Place {
                worker: Some(worker),
                trial: Some((trial, Instant::now())),
                last_report: None,
            };
        }
    }

    /// A running trial reported the objective `value` at `step`.
    pub fn report(&mut self, slot: usize, trial: u64, step: u32, value: f64) {
        if let Some(p) = self.places.get_mut(slot)
            && p.trial.is_some_and(|(t, _)| t == trial)
        {
            p.last_report = Some((step, value));
        }
    }

    /// A trial finished with `value`.
    pub fn finished(&mut self, slot: usize, trial: u64, value: f64) {
        self.ended(slot, trial);
        let better = match (self.best, self.direction) {
            (None, _) => true,
            (Some((b, _)), Direction::Maximize) => value > b,
            (Some((b, _)), Direction::Minimize) => value < b,
        };
        if better && value.is_finite() {
            self.best = Some((value, trial));
        }
    }

    /// A trial was pruned.
    pub fn pruned(&mut self, slot: usize, trial: u64) {
        self.ended(slot, trial);
        self.pruned += 1;
    }

    /// A trial failed for good (a trial that will be retried is not counted).
    pub fn failed(&mut self, trial: u64) {
        self.done += 1;
        self.failed += 1;
        for p in &mut self.places {
            if p.trial.is_some_and(|(t, _)| t == trial) {
                p.trial = None;
            }
        }
    }

    /// The worker in `slot` is gone (a fresh one may follow).
    pub fn vacated(&mut self, slot: usize) {
        if let Some(p) = self.places.get_mut(slot) {
            *p = Place::default();
        }
    }

    fn ended(&mut self, slot: usize, trial: u64) {
        self.done += 1;
        if let Some(p) = self.places.get_mut(slot)
            && p.trial.is_some_and(|(t, _)| t == trial)
        {
            p.trial = None;
            p.last_report = None;
        }
    }

    fn running(&self) -> usize {
        self.places.iter().filter(|p| p.trial.is_some()).count()
    }

    fn best_text(&self) -> String {
        self.best
            .map_or_else(|| "-".into(), |(b, t)| format!("{b:.4} (trial {t})"))
    }

    /// Show the numbers if it is time: the bars ten times a second, a log line every two.
    pub fn tick(&mut self) {
        let every = match self.mode {
            Mode::Bars => DRAW_EVERY,
            Mode::Lines => LINE_EVERY,
            Mode::Off => return,
        };
        if self.last_shown.elapsed() >= every {
            self.draw();
        }
    }

    fn draw(&mut self) {
        self.last_shown = Instant::now();
        match self.mode {
            Mode::Off => {}
            Mode::Lines => self.log_line(),
            Mode::Bars => {
                let Some(bars) = &self.bars else { return };
                bars.study.set_position(self.done);
                bars.counts.set_message(format!(
                    "{} running · {} failed · {} pruned · best {} {}",
                    self.running(),
                    self.failed,
                    self.pruned,
                    self.objective,
                    self.best_text()
                ));
                for (bar, p) in bars.places.iter().zip(&self.places) {
                    bar.set_message(place_text(p, &self.objective));
                }
                if let Some(more) = &bars.more {
                    let hidden = &self.places[bars.places.len()..];
                    let busy = hidden.iter().filter(|p| p.trial.is_some()).count();
                    more.set_message(format!(
                        "… {} more workers, {busy} of them running a trial",
                        hidden.len()
                    ));
                }
            }
        }
    }

    fn log_line(&self) {
        info!(
            "{}/{} trials done ({} failed, {} pruned), {} running; best {} {}",
            self.done,
            self.total,
            self.failed,
            self.pruned,
            self.running(),
            self.objective,
            self.best_text()
        );
    }

    /// The sweep is over: clear the bars, or log the last line.
    pub fn finish(&mut self) {
        match self.bars.take() {
            Some(bars) => clear(bars),
            None if self.mode == Mode::Lines => self.log_line(),
            None => {}
        }
    }
}

impl Drop for SweepProgress {
    fn drop(&mut self) {
        // An error path must not leave bars on the screen either.
        if let Some(bars) = self.bars.take() {
            clear(bars);
        }
    }
}

fn clear(bars: Bars) {
    for b in bars.places.iter().chain(&bars.more).chain([&bars.counts]) {
        b.finish_and_clear();
    }
    bars.study.finish_and_clear();
    end_bars(&bars.multi);
}

/// One worker's line: its trial, how long it has run, its last report.
fn place_text(p: &Place, objective: &str) -> String {
    let who = p
        .worker
        .map_or_else(|| "worker -".to_string(), |w| format!("worker {w}"));
    match p.trial {
        None => format!("{who}: idle"),
        Some((trial, since)) => {
            let report = p.last_report.map_or_else(
                || "no report yet".to_string(),
                |(step, v)| format!("step {step}: {objective} {v:.4}"),
            );
            format!(
                "{who}: trial {trial} ({:.0}s) · {report}",
                since.elapsed().as_secs_f64()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(direction: Direction) -> SweepProgress {
        // Unit tests never choose a mode: plain lines, nothing drawn.
        SweepProgress::new("accuracy", direction, 10, 2, 2)
    }

    #[test]
    fn counts_start_from_the_trials_already_final_and_follow_each_ending() {
        let mut p = progress(Direction::Maximize);
        p.started(0, 7, 2);
        p.started(1, 8, 3);
        assert_eq!(p.running(), 2);
        p.finished(0, 2, 0.9);
        p.pruned(1, 3);
        p.failed(4);
        assert_eq!((p.done, p.failed, p.pruned, p.running()), (5, 1, 1, 0));
    }

    #[test]
    fn the_best_so_far_follows_the_objectives_direction() {
        let mut up = progress(Direction::Maximize);
        let mut down = progress(Direction::Minimize);
        for (trial, v) in [(0, 0.5), (1, 0.7), (2, 0.6)] {
            up.finished(0, trial, v);
            down.finished(0, trial, v);
        }
        assert_eq!(up.best, Some((0.7, 1)));
        assert_eq!(down.best, Some((0.5, 0)));
        assert_eq!(up.best_text(), "0.7000 (trial 1)");
    }

    #[test]
    fn a_workers_line_shows_its_trial_and_last_report_and_ignores_other_trials_reports() {
        let mut p = progress(Direction::Maximize);
        p.started(1, 4, 9);
        p.report(1, 9, 2, 0.8125);
        p.report(1, 8, 3, 0.1);
        let line = place_text(&p.places[1], "accuracy");
        assert!(line.starts_with("worker 4: trial 9 ("), "{line}");
        assert!(line.ends_with("step 2: accuracy 0.8125"), "{line}");
        p.vacated(1);
        assert_eq!(place_text(&p.places[1], "accuracy"), "worker -: idle");
    }
}
