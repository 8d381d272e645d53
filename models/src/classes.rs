//! Class-index targets as the classifiers receive them: checked once, counted.

use ndarray::ArrayView1;

use crate::error::ModelError;

/// Targets `y` as class indices, and the number of classes (the largest index + 1); refuses a
/// target that is not a class index, naming `model`.
pub(crate) fn class_indices(
    y: ArrayView1<'_, f64>,
    model: &str,
) -> Result<(Vec<usize>, usize), ModelError> {
    let mut n_classes = 0;
    let classes = y
        .iter()
        .map(|&v| {
            if v >= 0.0 && v.fract() == 0.0 && v < u32::MAX as f64 {
                let c = v as usize;
                n_classes = n_classes.max(c + 1);
                Ok(c)
            } else {
                Err(ModelError::Fit(format!(
                    "{model}: target {v} is not a class index"
                )))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((classes, n_classes))
}

/// Refuse mismatched or empty training data, naming `model`.
pub(crate) fn check_rows(model: &str, rows: usize, targets: usize) -> Result<(), ModelError> {
    if rows == 0 || rows != targets {
        return Err(ModelError::Fit(format!(
            "{model}: {rows} rows of features, {targets} targets"
        )));
    }
    Ok(())
}

/// The index of the largest value, the lowest index winning ties (numpy's `argmax`).
pub(crate) fn argmax(values: impl IntoIterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, v) in values.into_iter().enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}
