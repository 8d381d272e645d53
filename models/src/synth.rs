//! Synthetic datasets for tests, benchmarks and quality checks, in the spirit of
//! scikit-learn's `make_classification` and `make_regression`.
//!
//! Deterministic from the seed (ChaCha8), but not bit-compatible with scikit-learn (a different
//! random generator): the *shape* of the problem is the same, so accuracies are comparable in
//! kind, not to the last digit. Rows come out already shuffled, features in a shuffled order.

use std::collections::HashSet;

use ndarray::{Array1, Array2};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Why a synthetic dataset cannot be generated with these settings.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SynthError {
    /// A count that must be positive (or at least two, for classes) is too small.
    #[error("{what} must be at least {min}, got {value}")]
    TooSmall {
        /// The setting.
        what: &'static str,
        /// The smallest allowed value.
        min: usize,
        /// The value given.
        value: usize,
    },
    /// Informative plus redundant features exceed the number of features.
    #[error(
        "n_informative ({informative}) + n_redundant ({redundant}) must not exceed n_features ({features})"
    )]
    TooManyFeatures {
        /// Informative features asked for.
        informative: usize,
        /// Redundant features asked for.
        redundant: usize,
        /// Total features.
        features: usize,
    },
    /// The hypercube of the informative features has fewer vertices than there are clusters.
    #[error(
        "n_classes ({classes}) × n_clusters_per_class ({clusters}) must not exceed 2^n_informative \
         (n_informative = {informative})"
    )]
    TooFewVertices {
        /// Classes asked for.
        classes: usize,
        /// Clusters per class asked for.
        clusters: usize,
        /// Informative features.
        informative: usize,
    },
    /// A real-valued setting outside its range.
    #[error("{what} must be {expected}, got {value}")]
    OutOfRange {
        /// The setting.
        what: &'static str,
        /// The allowed range.
        expected: &'static str,
        /// The value given.
        value: f64,
    },
    /// The array would not fit in memory addressing (rows × features overflows).
    #[error("{rows} rows × {features} features is too large")]
    TooLarge {
        /// Rows asked for.
        rows: usize,
        /// Features asked for.
        features: usize,
    },
}

/// Settings of [`ClassificationSpec::generate`]; [`ClassificationSpec::new`] gives scikit-learn's defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassificationSpec {
    /// Rows to generate.
    pub n_rows: usize,
    /// Total feature columns: informative + redundant + noise.
    pub n_features: usize,
    /// Features that carry the class signal (clusters live on their hypercube's vertices).
    pub n_informative: usize,
    /// Random linear combinations of the informative features.
    pub n_redundant: usize,
    /// Number of classes (labels 0..n_classes as f64).
    pub n_classes: usize,
    /// Gaussian clusters per class.
    pub n_clusters_per_class: usize,
    /// Fraction of labels replaced by a uniformly random class (label noise).
    pub flip_y: f64,
    /// Half the side of the hypercube: larger separates the classes more.
    pub class_sep: f64,
}

impl ClassificationSpec {
    /// scikit-learn's defaults: 2 redundant features (fewer if they do not fit), 2 clusters per
    /// class, flip_y 0.01, class_sep 1.0.
    pub fn new(
        n_rows: usize,
        n_features: usize,
        n_informative: usize,
        n_classes: usize,
    ) -> ClassificationSpec {
        ClassificationSpec {
            n_rows,
            n_features,
            n_informative,
            n_redundant: 2.min(n_features.saturating_sub(n_informative)),
            n_classes,
            n_clusters_per_class: 2,
            flip_y: 0.01,
            class_sep: 1.0,
        }
    }

    /// Generate features (rows × n_features, row-major) and class labels 0..n_classes (as f64).
    pub fn generate(&self, seed: u64) -> Result<(Array2<f64>, Array1<f64>), SynthError> {
        self.validate()?;
        let (n, d, ni, nr) = (
            self.n_rows,
            self.n_features,
            self.n_informative,
            self.n_redundant,
        );
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n_clusters = self.n_classes * self.n_clusters_per_class;

        let centroids = hypercube_vertices(n_clusters, ni, &mut rng)
            .into_iter()
            .map(|v| {
                v.into_iter()
                    .map(|bit| if bit { self.class_sep } else { -self.class_sep })
                    .collect()
            })
            .collect::<Vec<Vec<f64>>>();
        // One random covariance (ni × ni, uniform in [-1, 1]) per cluster, as scikit-learn.
        let covariances: Vec<Vec<f64>> = (0..n_clusters)
            .map(|_| (0..ni * ni).map(|_| rng.gen_range(-1.0..1.0)).collect())
            .collect();
        let mixing: Vec<f64> = (0..ni * nr).map(|_| rng.gen_range(-1.0..1.0)).collect();

        // Equal cluster sizes (the first clusters take the remainder), rows in random order.
        let mut cluster_of_row: Vec<usize> = (0..n).map(|i| i % n_clusters).collect();
        cluster_of_row.shuffle(&mut rng);
        // Where each logical feature (informative, redundant, noise) lands: shuffled columns.
        let mut column: Vec<usize> = (0..d).collect();
        column.shuffle(&mut rng);

        let mut x = vec![0.0; n * d];
        let mut y = Vec::with_capacity(n);
        let mut z = vec![0.0; ni];
        let mut inf = vec![0.0; ni];
        for (row, &k) in x.chunks_exact_mut(d).zip(&cluster_of_row) {
            for zj in z.iter_mut() {
                *zj = rng.sample(StandardNormal);
            }
            // inf = z · A_k + centroid_k
            let a = &covariances[k];
            inf.copy_from_slice(&centroids[k]);
            for (i, zi) in z.iter().enumerate() {
                for (o, aij) in inf.iter_mut().zip(&a[i * ni..(i + 1) * ni]) {
                    *o += zi * aij;
                }
            }
            for (j, v) in inf.iter().enumerate() {
                row[column[j]] = *v;
            }
            for r in 0..nr {
                let v: f64 = inf
                    .iter()
                    .enumerate()
                    .map(|(i, v)| v * mixing[i * nr + r])
                    .sum();
                row[column[ni + r]] = v;
            }
            for &c in &column[ni + nr..] {
                row[c] = rng.sample(StandardNormal);
            }
            let label = if self.flip_y > 0.0 && rng.r#gen::<f64>() < self.flip_y {
                rng.gen_range(0..self.n_classes)
            } else {
                k % self.n_classes
            };
            y.push(label as f64);
        }
        let x = Array2::from_shape_vec((n, d), x).map_err(|_| SynthError::TooLarge {
            rows: n,
            features: d,
        })?;
        Ok((x, Array1::from(y)))
    }

    fn validate(&self) -> Result<(), SynthError> {
        at_least("n_rows", self.n_rows, 1)?;
        at_least("n_features", self.n_features, 1)?;
        at_least("n_informative", self.n_informative, 1)?;
        at_least("n_classes", self.n_classes, 2)?;
        at_least("n_clusters_per_class", self.n_clusters_per_class, 1)?;
        if self.n_informative + self.n_redundant > self.n_features {
            return Err(SynthError::TooManyFeatures {
                informative: self.n_informative,
                redundant: self.n_redundant,
                features: self.n_features,
            });
        }
        let clusters = self.n_classes.checked_mul(self.n_clusters_per_class);
        let fits = match clusters {
            Some(c) if self.n_informative >= usize::BITS as usize => c > 0,
            Some(c) => c <= 1usize << self.n_informative,
            None => false,
        };
        if !fits {
            return Err(SynthError::TooFewVertices {
                classes: self.n_classes,
                clusters: self.n_clusters_per_class,
                informative: self.n_informative,
            });
        }
        if !(0.0..=1.0).contains(&self.flip_y) {
            return Err(SynthError::OutOfRange {
                what: "flip_y",
                expected: "in [0, 1]",
                value: self.flip_y,
            });
        }
        if !(self.class_sep.is_finite() && self.class_sep > 0.0) {
            return Err(SynthError::OutOfRange {
                what: "class_sep",
                expected: "positive",
                value: self.class_sep,
            });
        }
        if self.n_rows.checked_mul(self.n_features).is_none() {
            return Err(SynthError::TooLarge {
                rows: self.n_rows,
                features: self.n_features,
            });
        }
        Ok(())
    }
}

/// A classification problem with scikit-learn's default shape (see [`ClassificationSpec::new`]):
/// features rows × n_features and labels 0..n_classes as f64.
pub fn make_classification(
    n_rows: usize,
    n_features: usize,
    n_informative: usize,
    n_classes: usize,
    seed: u64,
) -> Result<(Array2<f64>, Array1<f64>), SynthError> {
    ClassificationSpec::new(n_rows, n_features, n_informative, n_classes).generate(seed)
}

/// Settings of [`RegressionSpec::generate`] (scikit-learn's `make_regression` without low rank).
#[derive(Debug, Clone, PartialEq)]
pub struct RegressionSpec {
    /// Rows to generate.
    pub n_rows: usize,
    /// Feature columns, each standard normal.
    pub n_features: usize,
    /// Features with a non-zero coefficient (uniform in [0, 100), as scikit-learn).
    pub n_informative: usize,
    /// Standard deviation of the Gaussian noise added to the target.
    pub noise: f64,
    /// Constant added to the target.
    pub bias: f64,
}

/// A generated regression problem with its true coefficients.
#[derive(Debug, Clone)]
pub struct RegressionData {
    /// Features, rows × n_features.
    pub x: Array2<f64>,
    /// Targets: `x · coef + bias + noise`.
    pub y: Array1<f64>,
    /// The true coefficients (zero for the non-informative features).
    pub coef: Array1<f64>,
}

impl RegressionSpec {
    /// Generate the problem.
    pub fn generate(&self, seed: u64) -> Result<RegressionData, SynthError> {
        at_least("n_rows", self.n_rows, 1)?;
        at_least("n_features", self.n_features, 1)?;
        if self.n_informative > self.n_features {
            return Err(SynthError::TooManyFeatures {
                informative: self.n_informative,
                redundant: 0,
                features: self.n_features,
            });
        }
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return Err(SynthError::OutOfRange {
                what: "noise",
                expected: "finite and >= 0",
                value: self.noise,
            });
        }
        if !self.bias.is_finite() {
            return Err(SynthError::OutOfRange {
                what: "bias",
                expected: "finite",
                value: self.bias,
            });
        }
        let (n, d) = (self.n_rows, self.n_features);
        let total = n.checked_mul(d).ok_or(SynthError::TooLarge {
            rows: n,
            features: d,
        })?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut informative: Vec<usize> = (0..d).collect();
        informative.shuffle(&mut rng);
        let mut coef = vec![0.0; d];
        for &j in &informative[..self.n_informative] {
            coef[j] = 100.0 * rng.r#gen::<f64>();
        }
        let mut x = Vec::with_capacity(total);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let mut target = self.bias;
            for c in &coef {
                let v: f64 = rng.sample(StandardNormal);
                target += c * v;
                x.push(v);
            }
            if self.noise > 0.0 {
                target += self.noise * rng.sample::<f64, _>(StandardNormal);
            }
            y.push(target);
        }
        let x = Array2::from_shape_vec((n, d), x).map_err(|_| SynthError::TooLarge {
            rows: n,
            features: d,
        })?;
        Ok(RegressionData {
            x,
            y: Array1::from(y),
            coef: Array1::from(coef),
        })
    }
}

/// A regression problem: `n_informative` of `n_features` standard-normal features matter,
/// targets get Gaussian noise of standard deviation `noise` (bias 0).
pub fn make_regression(
    n_rows: usize,
    n_features: usize,
    n_informative: usize,
    noise: f64,
    seed: u64,
) -> Result<(Array2<f64>, Array1<f64>), SynthError> {
    let data = RegressionSpec {
        n_rows,
        n_features,
        n_informative,
        noise,
        bias: 0.0,
    }
    .generate(seed)?;
    Ok((data.x, data.y))
}

fn at_least(what: &'static str, value: usize, min: usize) -> Result<(), SynthError> {
    if value < min {
        Err(SynthError::TooSmall { what, min, value })
    } else {
        Ok(())
    }
}

/// `count` distinct random vertices of the `dims`-dimensional unit hypercube (validated to exist).
fn hypercube_vertices(count: usize, dims: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<bool>> {
    let mut seen = HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    // Rejection sampling: count <= 2^dims, so this terminates; when count is close to 2^dims it
    // costs a coupon-collector factor, harmless for the cluster counts used in practice.
    while out.len() < count {
        let v: Vec<bool> = (0..dims).map(|_| rng.r#gen::<bool>()).collect();
        if seen.insert(v.clone()) {
            out.push(v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_is_deterministic_from_the_seed() {
        let a = make_classification(500, 10, 3, 3, 42).unwrap();
        let b = make_classification(500, 10, 3, 3, 42).unwrap();
        let c = make_classification(500, 10, 3, 3, 43).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.0, c.0);
    }

    #[test]
    fn classification_has_the_asked_shape_and_balanced_labels() {
        let (x, y) = make_classification(10_000, 12, 4, 3, 1).unwrap();
        assert_eq!(x.dim(), (10_000, 12));
        assert!(x.iter().all(|v| v.is_finite()));
        let mut counts = [0usize; 3];
        for &label in &y {
            assert!(label == 0.0 || label == 1.0 || label == 2.0);
            counts[label as usize] += 1;
        }
        for c in counts {
            assert!(
                (3_200..3_470).contains(&c),
                "unbalanced classes: {counts:?}"
            );
        }
    }

    #[test]
    fn classification_redundant_features_are_combinations_of_informative_ones() {
        // With 2 informative, 2 redundant and no noise, the 4 columns have rank 2.
        let spec = ClassificationSpec {
            flip_y: 0.0,
            ..ClassificationSpec::new(200, 4, 2, 2)
        };
        let (x, _) = spec.generate(5).unwrap();
        let g = x.t().dot(&x);
        // Gram matrix of rank 2: every 3×3 principal minor vanishes (relative to the scale).
        let minor = |a: usize, b: usize, c: usize| {
            let m = |i: usize, j: usize| g[[[a, b, c][i], [a, b, c][j]]];
            m(0, 0) * (m(1, 1) * m(2, 2) - m(1, 2) * m(2, 1))
                - m(0, 1) * (m(1, 0) * m(2, 2) - m(1, 2) * m(2, 0))
                + m(0, 2) * (m(1, 0) * m(2, 1) - m(1, 1) * m(2, 0))
        };
        let scale = g.diag().iter().product::<f64>().powf(0.75);
        assert!(minor(0, 1, 2).abs() < 1e-6 * scale && minor(1, 2, 3).abs() < 1e-6 * scale);
    }

    #[test]
    fn classification_labels_follow_the_clusters_except_flipped_ones() {
        // Without label noise and with well-separated clusters, the informative signal
        // separates the classes: the per-class means differ clearly.
        let spec = ClassificationSpec {
            flip_y: 0.0,
            class_sep: 3.0,
            ..ClassificationSpec::new(4000, 6, 3, 2)
        };
        let (x, y) = spec.generate(9).unwrap();
        let mean = |c: f64| {
            let rows: Vec<usize> = (0..y.len()).filter(|&i| y[i] == c).collect();
            x.select(ndarray::Axis(0), &rows)
                .mean_axis(ndarray::Axis(0))
                .unwrap()
        };
        let gap = (&mean(0.0) - &mean(1.0)).mapv(f64::abs).sum();
        assert!(gap > 1.0, "class means barely differ: {gap}");
    }

    #[test]
    fn classification_rejects_impossible_settings() {
        assert!(matches!(
            make_classification(10, 3, 4, 2, 0),
            Err(SynthError::TooManyFeatures { .. })
        ));
        assert!(matches!(
            make_classification(10, 8, 2, 3, 0),
            Err(SynthError::TooFewVertices { .. })
        ));
        assert!(matches!(
            make_classification(10, 8, 3, 1, 0),
            Err(SynthError::TooSmall {
                what: "n_classes",
                ..
            })
        ));
        assert!(matches!(
            make_classification(0, 8, 3, 2, 0),
            Err(SynthError::TooSmall { what: "n_rows", .. })
        ));
        let spec = ClassificationSpec {
            flip_y: 1.5,
            ..ClassificationSpec::new(10, 8, 3, 2)
        };
        assert!(matches!(
            spec.generate(0),
            Err(SynthError::OutOfRange { what: "flip_y", .. })
        ));
        assert!(matches!(
            make_classification(usize::MAX, 8, 3, 2, 0),
            Err(SynthError::TooLarge { .. })
        ));
    }

    #[test]
    fn classification_of_200k_rows_by_32_features_is_fast() {
        let start = std::time::Instant::now();
        let (x, _) = make_classification(200_000, 32, 2, 2, 11).unwrap();
        let took = start.elapsed();
        assert_eq!(x.dim(), (200_000, 32));
        // The dev profile is optimised; release takes a fraction of this.
        assert!(took.as_secs_f64() < 2.0, "took {took:?}");
    }

    #[test]
    fn regression_targets_are_the_linear_model_plus_noise() {
        let spec = RegressionSpec {
            n_rows: 5000,
            n_features: 8,
            n_informative: 3,
            noise: 2.0,
            bias: 1.5,
        };
        let data = spec.generate(3).unwrap();
        assert_eq!(data.coef.iter().filter(|&&c| c != 0.0).count(), 3);
        let resid = &data.y - &(data.x.dot(&data.coef) + 1.5);
        let sd = (resid.mapv(|r| r * r).sum() / resid.len() as f64).sqrt();
        assert!((sd - 2.0).abs() < 0.1, "noise sd {sd}");
        assert_eq!(
            make_regression(50, 4, 2, 0.5, 7).unwrap(),
            make_regression(50, 4, 2, 0.5, 7).unwrap()
        );
    }

    #[test]
    fn regression_rejects_impossible_settings() {
        assert!(matches!(
            make_regression(10, 3, 4, 1.0, 0),
            Err(SynthError::TooManyFeatures { .. })
        ));
        assert!(matches!(
            make_regression(10, 3, 2, -1.0, 0),
            Err(SynthError::OutOfRange { what: "noise", .. })
        ));
        assert!(matches!(
            make_regression(10, 0, 0, 1.0, 0),
            Err(SynthError::TooSmall { .. })
        ));
    }
}
