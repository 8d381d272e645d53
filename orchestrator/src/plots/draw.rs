//! Drawing helpers shared by the figures: the embedded font, saving one figure as SVG and PNG,
//! tick labels that stay short.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

/// Figure size in pixels (the SVG's too).
pub const SIZE: (u32, u32) = (960, 600);
/// The font family every text uses: DejaVu Sans, embedded, so no system font is needed.
pub const FONT: &str = "sans-serif";
/// Font size of a figure's title.
pub const TITLE_PX: u32 = 26;
/// Font size of an axis's description.
pub const AXIS_PX: u32 = 20;
/// Font size of tick labels and legends.
pub const LABEL_PX: u32 = 16;

/// Why a figure could not be drawn or saved.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PlotError {
    /// The figure's file.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

/// A figure that can be drawn on any backend.
pub trait Figure {
    /// Draw the whole figure on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Register the embedded font once (plotters draws PNG text only with a registered font).
fn register_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
            .and_then(|()| {
                plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
            })
            .map_err(|_| "the embedded font is invalid".to_string())
    })
    .clone()
}

/// Save `figure` as `dir/stem.svg` and `dir/stem.png`; the paths written.
pub fn save(figure: &impl Figure, dir: &Path, stem: &str) -> Result<Vec<PathBuf>, PlotError> {
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    let fail = |path: &Path, message: String| PlotError {
        path: path.to_path_buf(),
        message,
    };
    register_font().map_err(|m| fail(&svg, m))?;
    {
        let root = SVGBackend::new(&svg, SIZE).into_drawing_area();
        figure.draw(&root).map_err(|m| fail(&svg, m))?;
        root.present().map_err(|e| fail(&svg, e.to_string()))?;
    }
    {
        let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
        figure.draw(&root).map_err(|m| fail(&png, m))?;
        root.present().map_err(|e| fail(&png, e.to_string()))?;
    }
    Ok(vec![svg, png])
}

/// A drawing error as text.
pub fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// A tick label with as few digits as the axis's span needs.
pub fn tick(v: f64, span: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        // 1e-4, 2.5e-6: no trailing ".0".
        return format!("{v:.1e}").replace(".0e", "e");
    }
    let decimals = if span > 0.0 {
        // Ticks fall at most a tenth of the span apart: one digit finer than that.
        (-(span / 10.0).log10()).ceil().clamp(0.0, 6.0) as usize
    } else {
        3
    };
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A tick label on a log axis: the value with its own magnitude's digits.
pub fn log_tick(v: f64) -> String {
    if v <= 0.0 {
        return String::new();
    }
    tick(v, v)
}

/// `(low, high)` of `values` widened so points are not drawn on the frame, with `top` of the
/// span added above (room for the legend).
pub fn padded(values: impl Iterator<Item = f64>, top: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = if hi > lo {
        hi - lo
    } else {
        lo.abs().max(1.0) * 0.1
    };
    (lo - 0.05 * span, hi + (0.05 + top) * span)
}

/// `(low, high)` of positive `values` for a log axis, padded by a factor.
pub fn padded_log(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.1, 10.0);
    }
    let f = if hi > lo { (hi / lo).powf(0.05) } else { 2.0 };
    (lo / f, hi * f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_use_the_digits_the_span_needs() {
        assert_eq!(tick(0.9824, 0.05), "0.982");
        assert_eq!(tick(0.95, 0.5), "0.95");
        assert_eq!(tick(12.0, 40.0), "12");
        assert_eq!(tick(0.0001, 0.001), "1e-4");
        assert_eq!(tick(2.5e-6, 1e-5), "2.5e-6");
        assert_eq!(log_tick(0.001), "0.001");
        assert_eq!(log_tick(100.0), "100");
    }
}
