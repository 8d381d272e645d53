//! A sweep's figures: the optimization history, each hyperparameter against the objective, and
//! the intermediate values of every trial with the pruned ones marked.

use std::collections::BTreeMap;

use models::{Direction, ParamValue};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{
    AXIS_PX, FONT, Figure, LABEL_PX, TITLE_PX, log_tick, padded, padded_log, text, tick,
};
use crate::reports::StudyView;
use crate::store::{IntermediateValue, TrialState};

/// Colours: complete trials, the best so far, pruned trials.
const TRIAL: RGBColor = RGBColor(31, 119, 180);
const BEST: RGBColor = RGBColor(214, 39, 40);
const PRUNED: RGBColor = RGBColor(255, 127, 14);

/// Each trial's value and the best so far, by trial number.
pub struct History {
    /// The figure's title.
    title: String,
    /// The objective's name (the y axis).
    objective: String,
    /// (trial, value) of each complete trial.
    pub(super) values: Vec<(f64, f64)>,
    /// (trial, best value up to it).
    best: Vec<(f64, f64)>,
}

impl History {
    /// From the study's complete trials.
    pub fn new(view: &StudyView) -> History {
        let direction = view.direction();
        let mut values: Vec<(f64, f64)> = view
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .filter_map(|t| {
                t.value
                    .filter(|v| v.is_finite())
                    .map(|v| (t.trial as f64, v))
            })
            .collect();
        values.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut best = Vec::with_capacity(values.len());
        let mut so_far: Option<f64> = None;
        for &(x, v) in &values {
            let b = match (so_far, direction) {
                (None, _) => v,
                (Some(b), Direction::Maximize) => b.max(v),
                (Some(b), Direction::Minimize) => b.min(v),
            };
            so_far = Some(b);
            best.push((x, b));
        }
        History {
            title: format!("{}: optimization history", name(view)),
            objective: view.objective().to_string(),
            values,
            best,
        }
    }
}

fn name(view: &StudyView) -> String {
    view.meta
        .get("name")
        .cloned()
        .unwrap_or_else(|| "study".into())
}

impl Figure for History {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(text)?;
        let last = self.values.last().map_or(1.0, |v| v.0);
        let (y0, y1) = padded(self.values.iter().map(|v| v.1), 0.25);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, TITLE_PX))
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(-0.5..last + 0.5, y0..y1)
            .map_err(text)?;
        let yspan = y1 - y0;
        chart
            .configure_mesh()
            .x_desc("trial")
            .y_desc(&self.objective)
            .axis_desc_style((FONT, AXIS_PX))
            .label_style((FONT, LABEL_PX))
            .x_labels(10)
            .y_labels(8)
            .x_label_formatter(&|x| whole(*x))
            .y_label_formatter(&|y| tick(*y, yspan))
            .light_line_style(WHITE)
            .draw()
            .map_err(text)?;
        chart
            .draw_series(
                self.values
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 4, TRIAL.mix(0.75).filled())),
            )
            .map_err(text)?
            .label("trial value")
            .legend(|(x, y)| Circle::new((x + 10, y), 4, TRIAL.filled()));
        chart
            .draw_series(LineSeries::new(steps(&self.best), BEST.stroke_width(2)))
            .map_err(text)?
            .label("best so far")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BEST.stroke_width(2)));
        legend(&mut chart)
    }
}

/// A staircase through `points` (the best so far holds until the next improvement).
fn steps(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, &(x, y)) in points.iter().enumerate() {
        if i > 0 {
            out.push((x, points[i - 1].1));
        }
        out.push((x, y));
    }
    out
}

/// A whole-number tick label, none between whole numbers.
fn whole(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 && x >= 0.0 {
        format!("{}", x.round() as i64)
    } else {
        String::new()
    }
}

fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, LABEL_PX))
        .draw()
        .map_err(text)
}

/// How a hyperparameter's axis is laid out.
#[derive(Debug, Clone, PartialEq)]
pub enum Axis {
    /// Numbers on a linear axis.
    Linear,
    /// Positive numbers on a log axis (a log-uniform parameter).
    Log,
    /// Named categories, in this order.
    Categories(Vec<String>),
}

/// One hyperparameter against the objective, over the complete trials.
pub struct ParamFigure {
    /// The figure's title.
    title: String,
    /// The hyperparameter (the x axis).
    param: String,
    /// The objective's name (the y axis).
    objective: String,
    /// How the x axis is laid out.
    axis: Axis,
    /// (x, value); x is the category's index for categories.
    pub(super) points: Vec<(f64, f64)>,
    /// The best trial's point.
    best: Option<(f64, f64)>,
}

impl ParamFigure {
    /// The figure of `param`, laid out as `log` says for numbers.
    pub fn new(view: &StudyView, param: &str, log: bool) -> ParamFigure {
        let complete: Vec<_> = view
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .filter_map(|t| {
                Some((
                    t.params.get(param)?,
                    t.value.filter(|v| v.is_finite())?,
                    t.trial,
                ))
            })
            .collect();
        let numeric = complete
            .iter()
            .all(|(p, _, _)| matches!(p, ParamValue::Int(_) | ParamValue::Float(_)));
        let axis = if numeric && log && complete.iter().all(|(p, _, _)| number(p) > 0.0) {
            Axis::Log
        } else if numeric {
            Axis::Linear
        } else {
            let mut names: Vec<String> = complete.iter().map(|(p, _, _)| label(p)).collect();
            names.sort();
            names.dedup();
            Axis::Categories(names)
        };
        let x_of = |p: &ParamValue| match &axis {
            Axis::Categories(names) => names
                .iter()
                .position(|n| *n == label(p))
                .map_or(0.0, |i| i as f64),
            _ => number(p),
        };
        let points = complete.iter().map(|(p, v, _)| (x_of(p), *v)).collect();
        let best_trial = view.best().map(|b| b.trial);
        let best = complete
            .iter()
            .find(|(_, _, t)| Some(*t) == best_trial)
            .map(|(p, v, _)| (x_of(p), *v));
        ParamFigure {
            title: format!("{}: {param} against {}", name(view), view.objective()),
            param: param.to_string(),
            objective: view.objective().to_string(),
            axis,
            points,
            best,
        }
    }
}

fn number(p: &ParamValue) -> f64 {
    match p {
        ParamValue::Int(i) => *i as f64,
        ParamValue::Float(x) => *x,
        _ => f64::NAN,
    }
}

fn label(p: &ParamValue) -> String {
    match p {
        ParamValue::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Figure for ParamFigure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(text)?;
        let (y0, y1) = padded(self.points.iter().map(|p| p.1), 0.25);
        let yspan = y1 - y0;
        let x_desc = match self.axis {
            Axis::Log => format!("{} (log scale)", self.param),
            _ => self.param.clone(),
        };
        let builder = |root| {
            let mut b = ChartBuilder::on(root);
            b.caption(&self.title, (FONT, TITLE_PX))
                .margin(20)
                .x_label_area_size(60)
                .y_label_area_size(90);
            b
        };
        macro_rules! finish {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .draw_series(
                        self.points
                            .iter()
                            .map(|&(x, y)| Circle::new((x, y), 5, TRIAL.mix(0.7).filled())),
                    )
                    .map_err(text)?
                    .label("trial")
                    .legend(|(x, y)| Circle::new((x + 10, y), 5, TRIAL.filled()));
                if let Some((x, y)) = self.best {
                    chart
                        .draw_series(std::iter::once(Circle::new(
                            (x, y),
                            8,
                            BEST.stroke_width(3),
                        )))
                        .map_err(text)?
                        .label("best trial")
                        .legend(|(x, y)| Circle::new((x + 10, y), 6, BEST.stroke_width(3)));
                }
                legend(&mut chart)
            }};
        }
        match &self.axis {
            Axis::Log => {
                let (x0, x1) = padded_log(self.points.iter().map(|p| p.0));
                let mut chart = builder(root)
                    .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                    .map_err(text)?;
                chart
                    .configure_mesh()
                    .x_desc(&x_desc)
                    .y_desc(&self.objective)
                    .axis_desc_style((FONT, AXIS_PX))
                    .label_style((FONT, LABEL_PX))
                    // Under a decade and a half, label 2×, 3×, … too (else one label or none).
                    .x_labels(if x1 / x0 < 30.0 { 20 } else { 8 })
                    .y_labels(8)
                    .x_label_formatter(&|x| log_tick(*x))
                    .y_label_formatter(&|y| tick(*y, yspan))
                    .light_line_style(WHITE)
                    .draw()
                    .map_err(text)?;
                finish!(chart)
            }
            Axis::Linear => {
                let (x0, x1) = padded(self.points.iter().map(|p| p.0), 0.0);
                let xspan = x1 - x0;
                let mut chart = builder(root)
                    .build_cartesian_2d(x0..x1, y0..y1)
                    .map_err(text)?;
                chart
                    .configure_mesh()
                    .x_desc(&x_desc)
                    .y_desc(&self.objective)
                    .axis_desc_style((FONT, AXIS_PX))
                    .label_style((FONT, LABEL_PX))
                    .x_labels(8)
                    .y_labels(8)
                    .x_label_formatter(&|x| tick(*x, xspan))
                    .y_label_formatter(&|y| tick(*y, yspan))
                    .light_line_style(WHITE)
                    .draw()
                    .map_err(text)?;
                finish!(chart)
            }
            Axis::Categories(names) => {
                let n = names.len().max(1);
                let mut chart = builder(root)
                    .build_cartesian_2d(-0.5..n as f64 - 0.5, y0..y1)
                    .map_err(text)?;
                let name_at = |x: &f64| {
                    let i = x.round();
                    if (x - i).abs() < 1e-6 && i >= 0.0 {
                        names.get(i as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                };
                chart
                    .configure_mesh()
                    .x_desc(&x_desc)
                    .y_desc(&self.objective)
                    .axis_desc_style((FONT, AXIS_PX))
                    .label_style((FONT, LABEL_PX))
                    // One label per category: ticks at whole numbers only.
                    .x_labels(n + 1)
                    .y_labels(8)
                    .x_label_formatter(&name_at)
                    .y_label_formatter(&|y| tick(*y, yspan))
                    .disable_x_mesh()
                    .light_line_style(WHITE)
                    .draw()
                    .map_err(text)?;
                finish!(chart)
            }
        }
    }
}

/// The objective at each report point of every trial; pruned trials marked where they stopped.
pub struct Intermediate {
    /// The figure's title.
    title: String,
    /// The objective's name (the y axis).
    objective: String,
    /// Per trial: its state and (step, value) points.
    curves: Vec<(TrialState, Vec<(f64, f64)>)>,
}

impl Intermediate {
    /// From the study's intermediate values (the last attempt of each trial).
    pub fn new(view: &StudyView, values: &[IntermediateValue]) -> Intermediate {
        // Per trial: the last attempt seen, the trial's state, that attempt's points.
        type Curve = (u32, TrialState, Vec<(f64, f64)>);
        let mut by_trial: BTreeMap<u64, Curve> = BTreeMap::new();
        for v in values {
            let Some(value) = v.value.filter(|x| x.is_finite()) else {
                continue;
            };
            let e = by_trial
                .entry(v.trial)
                .or_insert((v.attempt, v.state, Vec::new()));
            if v.attempt > e.0 {
                *e = (v.attempt, v.state, Vec::new());
            }
            if v.attempt == e.0 {
                e.2.push((f64::from(v.step), value));
            }
        }
        Intermediate {
            title: format!("{}: intermediate values", name(view)),
            objective: view.objective().to_string(),
            curves: by_trial.into_values().map(|(_, s, c)| (s, c)).collect(),
        }
    }

    /// Whether there is anything to draw.
    pub fn is_empty(&self) -> bool {
        self.curves.iter().all(|c| c.1.is_empty())
    }
}

impl Figure for Intermediate {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(text)?;
        let last_step = self
            .curves
            .iter()
            .flat_map(|c| c.1.iter().map(|p| p.0))
            .fold(0.0, f64::max);
        let (y0, y1) = padded(
            self.curves.iter().flat_map(|c| c.1.iter().map(|p| p.1)),
            0.25,
        );
        let yspan = y1 - y0;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, (FONT, TITLE_PX))
            .margin(20)
            .x_label_area_size(60)
            .y_label_area_size(90)
            .build_cartesian_2d(-0.2..last_step + 0.2, y0..y1)
            .map_err(text)?;
        chart
            .configure_mesh()
            .x_desc("step (report point)")
            .y_desc(&self.objective)
            .axis_desc_style((FONT, AXIS_PX))
            .label_style((FONT, LABEL_PX))
            .x_labels((last_step as usize + 2).min(12))
            .y_labels(8)
            .x_label_formatter(&|x| whole(*x))
            .y_label_formatter(&|y| tick(*y, yspan))
            .light_line_style(WHITE)
            .draw()
            .map_err(text)?;
        let any_pruned = self.curves.iter().any(|c| c.0 == TrialState::Pruned);
        let others = if any_pruned { "other trial" } else { "trial" };
        let mut labelled = (false, false);
        for (state, points) in &self.curves {
            let pruned = *state == TrialState::Pruned;
            let colour = if pruned { PRUNED } else { TRIAL };
            let series = chart
                .draw_series(LineSeries::new(points.iter().copied(), colour.mix(0.6)))
                .map_err(text)?;
            if pruned && !labelled.1 {
                labelled.1 = true;
                series
                    .label("pruned trial (× where it stopped)")
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], PRUNED));
            } else if !pruned && !labelled.0 {
                labelled.0 = true;
                series
                    .label(others)
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], TRIAL));
            }
            if pruned && let Some(&end) = points.last() {
                chart
                    .draw_series(std::iter::once(Cross::new(end, 6, PRUNED.stroke_width(2))))
                    .map_err(text)?;
            }
        }
        legend(&mut chart)
    }
}
