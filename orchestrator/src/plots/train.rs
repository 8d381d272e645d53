//! A training run's curve: the held-out score and the losses after each epoch.

use models::sgd::Metrics;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{AXIS_PX, FONT, Figure, LABEL_PX, TITLE_PX, padded, text, tick};
use crate::training::EpochRecord;

const HELDOUT: RGBColor = RGBColor(31, 119, 180);
const TRAIN: RGBColor = RGBColor(255, 127, 14);

/// A named series of (epoch, value) points.
type Series = (String, RGBColor, Vec<(f64, f64)>);

/// The training curve: the held-out score above, the losses below, by epoch.
pub struct TrainingCurve {
    /// The figure's title.
    title: String,
    /// The held-out score, drawn above.
    score: Series,
    /// The training and held-out losses, drawn below.
    losses: Vec<Series>,
}

impl TrainingCurve {
    /// From a run's per-epoch history.
    pub fn new(name: &str, history: &[EpochRecord]) -> TrainingCurve {
        let at = |e: &EpochRecord| f64::from(e.epoch + 1);
        let (score, heldout_loss) = match history.first().map(|e| e.heldout) {
            Some(Metrics::Regression { .. }) => (
                (
                    "held-out R²".to_string(),
                    history
                        .iter()
                        .filter_map(|e| match e.heldout {
                            Metrics::Regression { r2, .. } => Some((at(e), r2)),
                            _ => None,
                        })
                        .collect(),
                ),
                (
                    "held-out RMSE".to_string(),
                    history
                        .iter()
                        .filter_map(|e| match e.heldout {
                            Metrics::Regression { rmse, .. } => Some((at(e), rmse)),
                            _ => None,
                        })
                        .collect(),
                ),
            ),
            _ => (
                (
                    "held-out accuracy".to_string(),
                    history
                        .iter()
                        .filter_map(|e| match e.heldout {
                            Metrics::Classification { accuracy, .. } => Some((at(e), accuracy)),
                            _ => None,
                        })
                        .collect(),
                ),
                (
                    "held-out log-loss".to_string(),
                    history
                        .iter()
                        .filter_map(|e| match e.heldout {
                            Metrics::Classification { log_loss, .. } => Some((at(e), log_loss)),
                            _ => None,
                        })
                        .collect(),
                ),
            ),
        };
        let train: Vec<(f64, f64)> = history.iter().map(|e| (at(e), e.train_loss)).collect();
        TrainingCurve {
            title: format!("{name}: training curve"),
            score: (score.0, HELDOUT, score.1),
            losses: vec![
                ("training loss".to_string(), TRAIN, train),
                (heldout_loss.0, HELDOUT, heldout_loss.1),
            ],
        }
    }
}

impl Figure for TrainingCurve {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(text)?;
        let root = root.titled(&self.title, (FONT, TITLE_PX)).map_err(text)?;
        let panels = root.split_evenly((2, 1));
        let last = self.score.2.last().map_or(1.0, |p| p.0);
        let epochs = last as usize;
        panel(&panels[0], &[&self.score], last, epochs, "score", false)?;
        let losses: Vec<&Series> = self.losses.iter().collect();
        panel(&panels[1], &losses, last, epochs, "loss", true)
    }
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    series: &[&Series],
    last: f64,
    epochs: usize,
    y_desc: &str,
    x_desc: bool,
) -> Result<(), String> {
    let (y0, y1) = padded(series.iter().flat_map(|s| s.2.iter().map(|p| p.1)), 0.35);
    let yspan = y1 - y0;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(if x_desc { 55 } else { 30 })
        .y_label_area_size(90)
        .build_cartesian_2d(0.5..last + 0.5, y0..y1)
        .map_err(text)?;
    let x_fmt = |x: &f64| {
        if (x - x.round()).abs() < 1e-9 && *x >= 1.0 {
            format!("{}", x.round() as i64)
        } else {
            String::new()
        }
    };
    let y_fmt = |y: &f64| tick(*y, yspan);
    let mut mesh = chart.configure_mesh();
    mesh.y_desc(y_desc)
        .axis_desc_style((FONT, AXIS_PX))
        .label_style((FONT, LABEL_PX))
        .x_labels((epochs + 1).min(12))
        .y_labels(5)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .light_line_style(WHITE);
    if x_desc {
        mesh.x_desc("epoch");
    }
    mesh.draw().map_err(text)?;
    for (label, colour, points) in series {
        let c = *colour;
        chart
            .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))
            .map_err(text)?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled())))
            .map_err(text)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .label_font((FONT, LABEL_PX))
        .draw()
        .map_err(text)
}
