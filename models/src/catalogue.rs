//! The models cohort can sweep: their names, hyperparameters, and how to build them.
//!
//! # `logistic_regression` (classifier, probabilistic)
//!
//! Binary (one coefficient vector) or multinomial (softmax, one vector per class) logistic
//! regression, fitted by our own L-BFGS. It minimizes scikit-learn's objective exactly,
//! mean log-loss + 1/(2·C·n)·‖w‖² with the intercepts unpenalized, so `C` means what it
//! means in scikit-learn's `LogisticRegression(solver="lbfgs")`.
//!
//! | Name | Default | Range | Purpose |
//! |---|---|---|---|
//! | `C` | 1.0 | number > 0 | inverse regularization strength: smaller means a stronger L2 penalty |
//! | `penalty` | `"l2"` | `"l2"`, `"none"` | whether the L2 penalty applies (`"none"` ignores `C`) |
//! | `fit_intercept` | true | bool | fit intercepts (unpenalized) |
//! | `max_iter` | 100 | integer 1..=100000 | L-BFGS iteration limit; reaching it is not an error |
//! | `tol` | 1e-4 | number > 0 | stop when the largest gradient component of the mean objective is ≤ tol (scipy's `pgtol`) |
//!
//! # `elastic_net`, `lasso`, `ridge` (regressors)
//!
//! Linear regression by coordinate descent (linfa-elasticnet), minimizing
//! 1/(2n)·‖y − Xw − b‖² + α·ρ·‖w‖₁ + α·(1 − ρ)/2·‖w‖², the intercept b unpenalized. This is
//! scikit-learn's `ElasticNet(alpha, l1_ratio)` and `Lasso(alpha)` objective. `ridge` is the
//! same with ρ = 0, so its `alpha` is scikit-learn's `Ridge` alpha divided by n (the number of
//! training rows): scikit-learn's `Ridge` minimizes ‖y − Xw − b‖² + α·‖w‖².
//!
//! | Name | Default | Range | Purpose |
//! |---|---|---|---|
//! | `alpha` | 1.0 | number ≥ 0 | overall penalty strength (linfa's `penalty`); 0 is ordinary least squares |
//! | `l1_ratio` (`elastic_net` only) | 0.5 | number in [0, 1] | share ρ of the penalty that is L1 (`lasso`: 1, `ridge`: 0) |
//! | `fit_intercept` | true | bool | fit an intercept (features and target are centred for the fit) |
//! | `max_iter` | 1000 | integer 1..=1000000 | coordinate-descent sweeps allowed |
//! | `tol` | 1e-4 | number > 0 | stop once the duality gap is below tol·‖y‖² (checked when the largest weight change is below tol relative to the largest weight) |
//!
//! # `decision_tree` (classifier, probabilistic)
//!
//! CART classification tree, our own (`tree.rs`: linfa-trees was not reproducible, had no
//! probabilities, and fitted 3–100× slower on 40,000 × 20, see `examples/tree_speed.rs`; it
//! stays as a cross-check in the tests). It grows as scikit-learn's `DecisionTreeClassifier` with `max_features=None`: the
//! best split over all features at every node, thresholds at midpoints between consecutive
//! distinct values, rows with a value ≤ the threshold going left. Reproducible: ties go to the
//! lowest feature index, then the lowest threshold; a leaf with tied counts predicts the
//! lowest class index. No randomness, so the trial seed is unused. Probabilities are the
//! class frequencies of the training rows in the leaf, so `log_loss` can score it (a pure
//! leaf gives 0 and 1, which `log_loss` clips).
//!
//! | Name | Default | Range | Purpose |
//! |---|---|---|---|
//! | `max_depth` | unset (unlimited) | integer ≥ 1 | depth limit, the root being depth 0 (1 is a single split) |
//! | `min_samples_split` | 2 | integer ≥ 2 | fewest rows a node needs to be split |
//! | `min_samples_leaf` | 1 | integer ≥ 1 | fewest rows each side of a split must keep (a node with fewer than twice this is not split) |
//! | `min_impurity_decrease` | 0.0 | number ≥ 0 | split only if the weighted impurity decrease N_t/N·(impurity − N_t_R/N_t·right impurity − N_t_L/N_t·left impurity) ≥ value (scikit-learn's definition, N_t rows in the node, N in the fit). The default was 1e-5 with linfa-trees, which measured the decrease without the N_t/N factor; it is 0.0 now, as in scikit-learn |
//! | `criterion` | `"gini"` | `"gini"`, `"entropy"` | impurity measure: Gini 1 − Σp², or entropy −Σp·log₂p (the units `min_impurity_decrease` is in) |
//!
//! # `dummy_classifier` (classifier, probabilistic) and `dummy_regressor` (regressor)
//!
//! scikit-learn's trivial baselines: they ignore the features, so a sweep over them measures
//! the per-trial overhead of cohort itself.
//!
//! | Model | Name | Default | Range | Purpose |
//! |---|---|---|---|---|
//! | `dummy_classifier` | `strategy` | `"prior"` | `"most_frequent"`, `"prior"` | predict the most frequent training class; probabilities one-hot (`most_frequent`) or the training class frequencies (`prior`) |
//! | `dummy_regressor` | `strategy` | `"mean"` | `"mean"`, `"median"` | predict the training mean or median |
//!
//! # `random_forest_classifier`, `random_forest_regressor`, `extra_trees_classifier`, `extra_trees_regressor` (iterative: each tree is a report point)
//!
//! Forests of our deterministic tree (`forest/`), as scikit-learn's `RandomForest*` and
//! `ExtraTrees*`: each tree fits a bootstrap sample (random forest) or all rows (extra trees),
//! searching `max_features` features drawn at each node; extra trees cut each at one uniform
//! random threshold instead of the best one. Classifiers average the trees' class frequencies
//! (probabilistic), regressors their leaf means (squared error). Tree `t` draws from stream `t`
//! of the trial seed: a forest is reproducible, and a pruned one is the prefix of the full one.
//!
//! | Name | Default | Range | Purpose |
//! |---|---|---|---|
//! | `n_estimators` | 100 | integer 1..=10000 | trees; each is a report point |
//! | `criterion` (classifiers) | `"gini"` | `"gini"`, `"entropy"` | impurity measure (regressors: squared error) |
//! | `max_depth` | unset (unlimited) | integer ≥ 1 | depth limit of each tree |
//! | `min_samples_split` | 2 | integer ≥ 2 | fewest distinct rows a node needs to be split |
//! | `min_samples_leaf` | 1 | integer ≥ 1 | fewest distinct rows each side of a split must keep (a row drawn twice in a bootstrap sample counts once, as in scikit-learn) |
//! | `min_impurity_decrease` | 0.0 | number ≥ 0 | smallest weighted impurity decrease a split must bring (scikit-learn's definition) |
//! | `max_features` | `"sqrt"` (classifiers), 1.0 (regressors) | `"sqrt"`, `"log2"`, `"all"`, integer ≥ 1, or number in (0, 1] | features searched at each node: ⌊√d⌋, ⌊log₂d⌋, d, that many (at most d), or that share of d (at least 1) |
//! | `bootstrap` | true (random forest), false (extra trees) | bool | fit each tree on a bootstrap sample of the rows instead of all of them |
//! | `max_samples` | 1.0 | number in (0, 1] | bootstrap sample size as a share of the rows |
//! | `oob_score` | false | bool | with `bootstrap`, report `oob_score` (accuracy or R² of out-of-bag predictions on the training rows) at each tree |
//!
//! # `hist_gradient_boosting_classifier`, `hist_gradient_boosting_regressor` (iterative: each boosting round is a report point)
//!
//! Histogram gradient boosting, our own (`boosting/`), as scikit-learn's
//! `HistGradientBoosting*`: features binned into at most `max_bins` quantile bins, trees grown
//! leaf-wise (best gain first) on gradient/hessian histograms with the sibling's histogram
//! obtained by subtraction, leaf values −G/(H + λ) shrunk by the learning rate. Loss: binary
//! log-loss or multinomial (one tree per class per round) for the classifier, half squared error
//! for the regressor. Early stopping holds out a stratified `validation_fraction` of the
//! training rows (drawn from the trial seed) and stops when the validation loss has not improved
//! by `tol` in `n_iter_no_change` rounds; later rounds are then no-ops. The data must hold no
//! missing values (cohort refuses them at load).
//!
//! | Name | Default | Range | Purpose |
//! |---|---|---|---|
//! | `learning_rate` | 0.1 | number > 0 | shrinkage of each tree's leaf values |
//! | `max_iter` | 100 | integer 1..=10000 | boosting rounds; each is a report point |
//! | `max_leaf_nodes` | 31 | integer 2..=65536 | leaves per tree (grown best-first) |
//! | `max_depth` | unset (unlimited) | integer ≥ 1 | depth limit of each tree |
//! | `min_samples_leaf` | 20 | integer ≥ 1 | fewest rows in a leaf |
//! | `l2_regularization` | 0.0 | number ≥ 0 | λ added to the hessian sum in leaf values and gains |
//! | `max_bins` | 255 | integer 2..=255 | bins per feature |
//! | `early_stopping` | `"auto"` | `"auto"`, bool | stop on a validation split; `"auto"`: when the training fold has more than 10,000 rows |
//! | `validation_fraction` | 0.1 | number in (0, 0.99] | share of the training rows held out for early stopping |
//! | `n_iter_no_change` | 10 | integer 1..=10000 | rounds without improvement before stopping |
//! | `tol` | 1e-7 | number ≥ 0 | smallest improvement of the validation loss that counts |
//!
//! # `svc` (classifier) and `svr` (regressor)
//!
//! Support vector machines fitted by our port of libsvm's SMO solver (as scikit-learn's `SVC` and
//! `SVR`: the same steps, a 200 MB kernel-column cache, shrinking). More than two classes:
//! one-vs-one, one machine per pair of training classes, the most votes winning (ties to the
//! lowest class index), as libsvm. No probabilities (libsvm's come from Platt scaling fitted by an
//! internal cross-validation that we do not do), so `log_loss` is refused.
//!
//! | Name | Default | Range | Purpose |
//! |---|---|---|---|
//! | `C` | 1.0 | number > 0 | penalty on margin violations (`svr`: on errors beyond the tube) |
//! | `kernel` | `"rbf"` | `"linear"`, `"rbf"`, `"poly"` | ⟨x, x'⟩, exp(−γ‖x − x'‖²), or (γ⟨x, x'⟩ + coef0)^degree |
//! | `gamma` | unset (`"scale"`) | number > 0 | kernel coefficient γ; unset is scikit-learn's `"scale"`, 1/(n_features · Var(X)) of the training rows |
//! | `degree` | 3 | integer 1..=10 | degree of the polynomial kernel |
//! | `coef0` | 0.0 | number | constant term of the polynomial kernel |
//! | `tol` | 1e-3 | number > 0 | SMO stops when the KKT gap is below tol |
//! | `epsilon` (`svr` only) | 0.1 | number ≥ 0 | half-width of the tube in which errors cost nothing |
//!
//! # `gaussian_nb` and `multinomial_nb` (classifiers, probabilistic)
//!
//! Naive Bayes as scikit-learn's `GaussianNB` and `MultinomialNB`, our own (`bayes.rs`: linfa-bayes
//! prints to stderr on every multinomial fit, gives NaN probabilities when every class's
//! log-likelihood underflows, and breaks ties by hash order); linfa-bayes is the cross-check in
//! the tests. `multinomial_nb` needs non-negative features (counts): do not standardize them.
//!
//! | Model | Name | Default | Range | Purpose |
//! |---|---|---|---|---|
//! | `gaussian_nb` | `var_smoothing` | 1e-9 | number ≥ 0 | share of the largest feature variance added to every variance |
//! | `multinomial_nb` | `alpha` | 1.0 | number > 0 | additive smoothing of the per-class feature counts |
//!
//! # `knn_classifier` (probabilistic) and `knn_regressor`
//!
//! k-nearest neighbours as scikit-learn's `KNeighborsClassifier` and `KNeighborsRegressor`,
//! searched with our k-d tree or linfa-nn's ball tree or linear scan. Probabilities are the neighbours' weighted class shares.
//!
//! | Name | Default | Range | Purpose |
//! |---|---|---|---|
//! | `n_neighbors` | 5 | integer ≥ 1 | neighbours consulted (at most the training rows) |
//! | `weights` | `"uniform"` | `"uniform"`, `"distance"` | equal votes, or votes by inverse distance (a query on a training point takes only the points at distance 0) |
//! | `metric` | `"euclidean"` | `"euclidean"`, `"manhattan"`, `"chebyshev"` | the distance: L2, L1 or L∞ |
//! | `algorithm` | `"kd_tree"` | `"kd_tree"`, `"ball_tree"`, `"brute"` | the search structure: our k-d tree, linfa-nn's ball tree or scan (the same neighbours up to ties at the k-th distance, at different speeds) |
//! | `leaf_size` | 30 | integer ≥ 1 | rows per leaf of the trees |
//!
//! # `ftrl` (binary classifier, probabilistic, iterative)
//!
//! FTRL-Proximal logistic regression (McMahan et al. 2013), row by row, each epoch a report point;
//! our own (`ftrl.rs`: linfa-ftrl takes one batch step per call and starts from random weights),
//! checked against linfa-ftrl fed one row at a time. Data with more than two classes is refused
//! before the study starts ([`max_classes`]).
//!
//! | Name | Default | Range | Purpose |
//! |---|---|---|---|
//! | `alpha` | 0.1 | number > 0 | learning-rate scale α (per-coordinate rate α/(β + √Σg²)) |
//! | `beta` | 1.0 | number ≥ 0 | learning-rate smoothing β |
//! | `l1` | 1.0 | number ≥ 0 | L1 strength λ₁: a weight is exactly 0 while its |z| ≤ λ₁ |
//! | `l2` | 1.0 | number ≥ 0 | L2 strength λ₂ |
//! | `fit_intercept` | true | bool | learn an unpenalized intercept |
//! | `epochs` | 5 | integer 1..=10000 | passes over the training rows (shuffled with the seed); each is a report point |
//!
//! # `kmeans` (clustering)
//!
//! k-means for a clustering study, our own (`cluster/kmeans.rs`: scikit-learn's greedy k-means++
//! and Lloyd iterations; linfa-clustering fitted 1.9–5.7× slower and seeded worse, and stays as the
//! cross-check in the tests). The target column is
//! ignored, the centroids are fitted on each training fold, and the held-out rows are scored by
//! `silhouette` (maximize) or `inertia` (minimize; the sum over held-out rows of the squared
//! distance to the nearest centroid). Any other metric is refused, and these two score nothing else.
//! The trial seed seeds the initial centroids.
//!
//! | Name | Default | Range | Purpose |
//! |---|---|---|---|
//! | `n_clusters` | 8 | integer ≥ 1 | clusters k (at most the training rows) |
//! | `init` | `"k-means++"` | `"k-means++"`, `"random"` | first centroids: k-means++ seeding, or k random rows |
//! | `n_init` | 1 | integer 1..=1000 | restarts; the lowest training inertia wins |
//! | `max_iter` | 300 | integer 1..=100000 | Lloyd iterations per restart |
//! | `tol` | 1e-4 | number > 0 | a restart stops when the centroids move, in total squared distance, at most tol × the mean feature variance (scikit-learn's rule), or the labels stop changing |

use std::sync::LazyLock;

use crate::bayes::{GaussianNb, MultinomialNb};
use crate::boosting::{BoostingSpec, EarlyStopping};
use crate::cluster::{Init, KMeans};
use crate::dataset::ProblemKind;
use crate::dummy::{ClassStrategy, DummyClassifier, DummyRegressor, ValueStrategy};
use crate::error::ModelError;
use crate::estimator::Estimator;
use crate::forest::{ForestSpec, MaxFeatures};
use crate::ftrl::Ftrl;
use crate::hyper::{HyperKind, HyperSpec, ParamValue, Params, hint};
use crate::iterative::IterativeEstimator;
use crate::linear::ElasticNet;
use crate::logistic::LogisticRegression;
use crate::neighbors::{DistanceKind, Knn, KnnClassifier, KnnRegressor, Search, Weights};
use crate::sgd::{Activation, PenaltyKind, ScheduleKind, SgdEstimator, SgdKind, SgdSpec};
use crate::svm::{KernelKind, KernelSpec, SvmClassifier, SvmRegressor};
use crate::tree::Tree;

/// A model in the catalogue.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    /// Its name in configs.
    pub name: &'static str,
    /// Classifier or regressor.
    pub problem: ProblemKind,
    /// Whether it predicts class probabilities (needed by `log_loss`).
    pub probabilistic: bool,
    /// Whether it learns epoch by epoch (each epoch a report point): built by
    /// [`build_iterative`], else by [`build`].
    pub iterative: bool,
    /// One line on what it is.
    pub summary: &'static str,
    /// Its hyperparameters.
    pub hyperparams: Vec<HyperSpec>,
}

impl ModelInfo {
    /// The hyperparameter called `name`, if the model has one.
    pub fn param(&self, name: &str) -> Option<&HyperSpec> {
        self.hyperparams.iter().find(|h| h.name == name)
    }
}

/// A real number above `min` (exclusive) with no upper bound.
const fn above(min: f64) -> HyperKind {
    HyperKind::Float {
        min,
        max: f64::INFINITY,
        min_exclusive: true,
    }
}

/// A real number from `min` (inclusive) with no upper bound.
const fn at_least(min: f64) -> HyperKind {
    HyperKind::Float {
        min,
        max: f64::INFINITY,
        min_exclusive: false,
    }
}

/// A hyperparameter's schema entry.
fn spec(
    name: &'static str,
    kind: HyperKind,
    default: Option<ParamValue>,
    help: &'static str,
) -> HyperSpec {
    HyperSpec {
        name,
        kind,
        default,
        help,
    }
}

/// A real default.
fn float(v: f64) -> Option<ParamValue> {
    Some(ParamValue::Float(v))
}

/// An integer default.
fn int(v: i64) -> Option<ParamValue> {
    Some(ParamValue::Int(v))
}

/// A named default.
fn choice(v: &str) -> Option<ParamValue> {
    Some(ParamValue::Str(v.to_string()))
}

/// The hyperparameters shared by the three linear regressors (`l1_ratio` aside).
fn linear_params(with_l1_ratio: bool) -> Vec<HyperSpec> {
    let mut v = vec![spec(
        "alpha",
        at_least(0.0),
        float(1.0),
        "overall penalty strength; 0 is ordinary least squares",
    )];
    if with_l1_ratio {
        v.push(spec(
            "l1_ratio",
            HyperKind::Float {
                min: 0.0,
                max: 1.0,
                min_exclusive: false,
            },
            float(0.5),
            "share of the penalty that is L1 (1: lasso, 0: ridge)",
        ));
    }
    v.push(spec(
        "fit_intercept",
        HyperKind::Bool,
        Some(ParamValue::Bool(true)),
        "fit an intercept",
    ));
    v.push(spec(
        "max_iter",
        HyperKind::Int {
            min: 1,
            max: 1_000_000,
        },
        int(1000),
        "coordinate-descent sweeps allowed",
    ));
    v.push(spec(
        "tol",
        above(0.0),
        float(1e-4),
        "stop once the duality gap is below tol·‖y‖²",
    ));
    v
}

/// The hyperparameters of the SGD models and the MLP (`mlp`: no L1, hidden layers).
fn sgd_params(mlp: bool, schedule: &'static str, batch: i64) -> Vec<HyperSpec> {
    let penalties: &'static [&'static str] = if mlp {
        &["none", "l2"]
    } else {
        &["none", "l2", "l1", "elastic_net"]
    };
    let mut v = vec![
        spec(
            "alpha",
            at_least(0.0),
            float(1e-4),
            "regularization strength (also sets the optimal schedule's rates)",
        ),
        spec(
            "penalty",
            HyperKind::Choice(penalties),
            choice("l2"),
            "the penalty on the weights (intercepts and biases are never penalized)",
        ),
    ];
    if !mlp {
        v.push(spec(
            "l1_ratio",
            HyperKind::Float {
                min: 0.0,
                max: 1.0,
                min_exclusive: false,
            },
            float(0.15),
            "share of L1 in elastic_net",
        ));
    }
    v.extend([
        spec(
            "learning_rate",
            HyperKind::Choice(&["constant", "inverse_scaling", "optimal"]),
            choice(schedule),
            "the step-size schedule (scikit-learn's formulas)",
        ),
        spec(
            "eta0",
            above(0.0),
            float(0.01),
            "initial step size of constant and inverse_scaling",
        ),
        spec(
            "power_t",
            at_least(0.0),
            float(0.25),
            "exponent of inverse_scaling",
        ),
        spec(
            "batch_size",
            HyperKind::Int {
                min: 1,
                max: 1_000_000,
            },
            int(batch),
            "rows per step",
        ),
        spec(
            "epochs",
            HyperKind::Int {
                min: 1,
                max: 10_000,
            },
            int(10),
            "passes over the training rows; each epoch is a report point",
        ),
    ]);
    if mlp {
        v.extend([
            spec(
                "hidden_units",
                HyperKind::Int { min: 1, max: 4096 },
                int(64),
                "units in each hidden layer",
            ),
            spec(
                "hidden_layers",
                HyperKind::Int { min: 1, max: 2 },
                int(1),
                "hidden layers",
            ),
            spec(
                "activation",
                HyperKind::Choice(&["relu", "tanh"]),
                choice("relu"),
                "the hidden units' non-linearity",
            ),
        ]);
    }
    v
}

/// What `max_features` accepts: a name, a count, or a share of the features.
const MAX_FEATURES: &[HyperKind] = &[
    HyperKind::Choice(&["sqrt", "log2", "all"]),
    HyperKind::Int {
        min: 1,
        max: i64::MAX,
    },
    HyperKind::Float {
        min: 0.0,
        max: 1.0,
        min_exclusive: true,
    },
];

/// The hyperparameters of the forests: random forest or extra trees, classifier or regressor.
fn forest_params(classifier: bool, extra: bool) -> Vec<HyperSpec> {
    let mut v = vec![spec(
        "n_estimators",
        HyperKind::Int {
            min: 1,
            max: 10_000,
        },
        int(100),
        "trees; each is a report point",
    )];
    if classifier {
        v.push(spec(
            "criterion",
            HyperKind::Choice(&["gini", "entropy"]),
            choice("gini"),
            "impurity measure",
        ));
    }
    v.extend([
        spec(
            "max_depth",
            HyperKind::Int {
                min: 1,
                max: i64::MAX,
            },
            None,
            "depth limit of each tree (unset: unlimited)",
        ),
        spec(
            "min_samples_split",
            HyperKind::Int {
                min: 2,
                max: i64::MAX,
            },
            int(2),
            "fewest distinct rows a node needs to be split",
        ),
        spec(
            "min_samples_leaf",
            HyperKind::Int {
                min: 1,
                max: i64::MAX,
            },
            int(1),
            "fewest distinct rows each side of a split must keep",
        ),
        spec(
            "min_impurity_decrease",
            at_least(0.0),
            float(0.0),
            "smallest weighted impurity decrease a split must bring",
        ),
        spec(
            "max_features",
            HyperKind::OneOf(MAX_FEATURES),
            if classifier {
                choice("sqrt")
            } else {
                float(1.0)
            },
            "features searched at each node: sqrt(d), log2(d), all, a count, or a share of d",
        ),
        spec(
            "bootstrap",
            HyperKind::Bool,
            Some(ParamValue::Bool(!extra)),
            "fit each tree on a bootstrap sample of the rows (else on all rows)",
        ),
        spec(
            "max_samples",
            HyperKind::Float {
                min: 0.0,
                max: 1.0,
                min_exclusive: true,
            },
            float(1.0),
            "bootstrap sample size as a share of the rows",
        ),
        spec(
            "oob_score",
            HyperKind::Bool,
            Some(ParamValue::Bool(false)),
            "with bootstrap, report oob_score (out-of-bag accuracy or R²) at each tree",
        ),
    ]);
    v
}

/// The hyperparameters of histogram gradient boosting (classifier and regressor alike).
fn boosting_params() -> Vec<HyperSpec> {
    vec![
        spec(
            "learning_rate",
            above(0.0),
            float(0.1),
            "shrinkage of each tree's leaf values",
        ),
        spec(
            "max_iter",
            HyperKind::Int {
                min: 1,
                max: 10_000,
            },
            int(100),
            "boosting rounds; each is a report point",
        ),
        spec(
            "max_leaf_nodes",
            HyperKind::Int {
                min: 2,
                max: 65_536,
            },
            int(31),
            "leaves per tree (grown best-first)",
        ),
        spec(
            "max_depth",
            HyperKind::Int {
                min: 1,
                max: i64::MAX,
            },
            None,
            "depth limit of each tree (unset: unlimited)",
        ),
        spec(
            "min_samples_leaf",
            HyperKind::Int {
                min: 1,
                max: i64::MAX,
            },
            int(20),
            "fewest rows in a leaf",
        ),
        spec(
            "l2_regularization",
            at_least(0.0),
            float(0.0),
            "L2 penalty on leaf values (added to the hessian sums)",
        ),
        spec(
            "max_bins",
            HyperKind::Int { min: 2, max: 255 },
            int(255),
            "quantile bins per feature",
        ),
        spec(
            "early_stopping",
            HyperKind::OneOf(&[HyperKind::Choice(&["auto"]), HyperKind::Bool]),
            choice("auto"),
            "stop when the loss on a validation split stops improving (auto: above 10,000 rows)",
        ),
        spec(
            "validation_fraction",
            HyperKind::Float {
                min: 0.0,
                max: 0.99,
                min_exclusive: true,
            },
            float(0.1),
            "share of the training rows held out for early stopping",
        ),
        spec(
            "n_iter_no_change",
            HyperKind::Int {
                min: 1,
                max: 10_000,
            },
            int(10),
            "rounds without improvement before stopping",
        ),
        spec(
            "tol",
            at_least(0.0),
            float(1e-7),
            "smallest improvement of the validation loss that counts",
        ),
    ]
}

/// Any real number.
const fn any_number() -> HyperKind {
    HyperKind::Float {
        min: f64::NEG_INFINITY,
        max: f64::INFINITY,
        min_exclusive: false,
    }
}

/// The hyperparameters of `svc` and (with `epsilon`) `svr`.
fn svm_params(regression: bool) -> Vec<HyperSpec> {
    let mut v = vec![
        spec(
            "C",
            above(0.0),
            float(1.0),
            if regression {
                "penalty on errors beyond the tube"
            } else {
                "penalty on margin violations"
            },
        ),
        spec(
            "kernel",
            HyperKind::Choice(&["linear", "rbf", "poly"]),
            choice("rbf"),
            "<x, x'>, exp(-gamma |x - x'|^2), or (gamma <x, x'> + coef0)^degree",
        ),
        spec(
            "gamma",
            above(0.0),
            None,
            "kernel coefficient (unset: scikit-learn's \"scale\", 1/(n_features * Var(X)))",
        ),
        spec(
            "degree",
            HyperKind::Int { min: 1, max: 10 },
            int(3),
            "degree of the polynomial kernel",
        ),
        spec(
            "coef0",
            any_number(),
            float(0.0),
            "constant term of the polynomial kernel",
        ),
        spec(
            "tol",
            above(0.0),
            float(1e-3),
            "SMO stops when the KKT gap is below tol",
        ),
    ];
    if regression {
        v.push(spec(
            "epsilon",
            at_least(0.0),
            float(0.1),
            "half-width of the tube in which errors cost nothing",
        ));
    }
    v
}

/// The hyperparameters of the k-NN models.
fn knn_params() -> Vec<HyperSpec> {
    vec![
        spec(
            "n_neighbors",
            HyperKind::Int {
                min: 1,
                max: i64::MAX,
            },
            int(5),
            "neighbours consulted (at most the training rows)",
        ),
        spec(
            "weights",
            HyperKind::Choice(&["uniform", "distance"]),
            choice("uniform"),
            "equal votes, or votes by inverse distance",
        ),
        spec(
            "metric",
            HyperKind::Choice(&["euclidean", "manhattan", "chebyshev"]),
            choice("euclidean"),
            "the distance: L2, L1 or L-infinity",
        ),
        spec(
            "algorithm",
            HyperKind::Choice(&["kd_tree", "ball_tree", "brute"]),
            choice("kd_tree"),
            "the search structure (same neighbours up to ties, different speed)",
        ),
        spec(
            "leaf_size",
            HyperKind::Int {
                min: 1,
                max: i64::MAX,
            },
            int(30),
            "rows per leaf of the trees",
        ),
    ]
}

/// The catalogue, built on first use.
static CATALOGUE: LazyLock<Vec<ModelInfo>> = LazyLock::new(|| {
    vec![
        ModelInfo {
            name: "logistic_regression",
            problem: ProblemKind::Classification,
            probabilistic: true,
            iterative: false,
            summary: "L2-regularized logistic regression (binary or multinomial), scikit-learn's lbfgs objective",
            hyperparams: vec![
                spec(
                    "C",
                    above(0.0),
                    float(1.0),
                    "inverse regularization strength (smaller: stronger L2 penalty)",
                ),
                spec(
                    "penalty",
                    HyperKind::Choice(&["l2", "none"]),
                    choice("l2"),
                    "whether the L2 penalty applies",
                ),
                spec(
                    "fit_intercept",
                    HyperKind::Bool,
                    Some(ParamValue::Bool(true)),
                    "fit unpenalized intercepts",
                ),
                spec(
                    "max_iter",
                    HyperKind::Int {
                        min: 1,
                        max: 100_000,
                    },
                    int(100),
                    "L-BFGS iteration limit",
                ),
                spec(
                    "tol",
                    above(0.0),
                    float(1e-4),
                    "stop when max |gradient| of the mean objective is at most tol",
                ),
            ],
        },
        ModelInfo {
            name: "elastic_net",
            problem: ProblemKind::Regression,
            probabilistic: false,
            iterative: false,
            summary: "linear regression with combined L1 and L2 penalties (coordinate descent)",
            hyperparams: linear_params(true),
        },
        ModelInfo {
            name: "lasso",
            problem: ProblemKind::Regression,
            probabilistic: false,
            iterative: false,
            summary: "linear regression with an L1 penalty (coordinate descent)",
            hyperparams: linear_params(false),
        },
        ModelInfo {
            name: "ridge",
            problem: ProblemKind::Regression,
            probabilistic: false,
            iterative: false,
            summary: "linear regression with an L2 penalty (coordinate descent; alpha is scikit-learn's Ridge alpha / n)",
            hyperparams: linear_params(false),
        },
        ModelInfo {
            name: "decision_tree",
            problem: ProblemKind::Classification,
            probabilistic: true,
            iterative: false,
            summary: "CART classification tree (scikit-learn's splitting rules, deterministic tie-breaks)",
            hyperparams: vec![
                spec(
                    "max_depth",
                    HyperKind::Int {
                        min: 1,
                        max: i64::MAX,
                    },
                    None,
                    "depth limit (unset: unlimited)",
                ),
                spec(
                    "min_samples_split",
                    HyperKind::Int {
                        min: 2,
                        max: i64::MAX,
                    },
                    int(2),
                    "fewest rows a node needs to be split",
                ),
                spec(
                    "min_samples_leaf",
                    HyperKind::Int {
                        min: 1,
                        max: i64::MAX,
                    },
                    int(1),
                    "fewest rows each side of a split must keep",
                ),
                spec(
                    "min_impurity_decrease",
                    at_least(0.0),
                    float(0.0),
                    "smallest weighted impurity decrease N_t/N·(impurity − children's) a split must bring",
                ),
                spec(
                    "criterion",
                    HyperKind::Choice(&["gini", "entropy"]),
                    choice("gini"),
                    "impurity measure (entropy in bits)",
                ),
            ],
        },
        ModelInfo {
            name: "sgd_logistic",
            problem: ProblemKind::Classification,
            probabilistic: true,
            iterative: true,
            summary: "logistic regression by SGD (scikit-learn's SGDClassifier(loss=\"log_loss\")), epoch by epoch",
            hyperparams: sgd_params(false, "optimal", 1),
        },
        ModelInfo {
            name: "sgd_linear_regression",
            problem: ProblemKind::Regression,
            probabilistic: false,
            iterative: true,
            summary: "least-squares linear regression by SGD (scikit-learn's SGDRegressor), epoch by epoch",
            hyperparams: sgd_params(false, "inverse_scaling", 1),
        },
        ModelInfo {
            name: "mlp",
            problem: ProblemKind::Classification,
            probabilistic: true,
            iterative: true,
            summary: "multi-layer perceptron classifier (one or two hidden layers) by mini-batch SGD, epoch by epoch",
            hyperparams: sgd_params(true, "constant", 32),
        },
        ModelInfo {
            name: "random_forest_classifier",
            problem: ProblemKind::Classification,
            probabilistic: true,
            iterative: true,
            summary: "random forest of CART trees on bootstrap samples (scikit-learn's RandomForestClassifier), tree by tree",
            hyperparams: forest_params(true, false),
        },
        ModelInfo {
            name: "random_forest_regressor",
            problem: ProblemKind::Regression,
            probabilistic: false,
            iterative: true,
            summary: "random forest of squared-error trees on bootstrap samples (scikit-learn's RandomForestRegressor), tree by tree",
            hyperparams: forest_params(false, false),
        },
        ModelInfo {
            name: "extra_trees_classifier",
            problem: ProblemKind::Classification,
            probabilistic: true,
            iterative: true,
            summary: "extremely randomized trees: random thresholds (scikit-learn's ExtraTreesClassifier), tree by tree",
            hyperparams: forest_params(true, true),
        },
        ModelInfo {
            name: "extra_trees_regressor",
            problem: ProblemKind::Regression,
            probabilistic: false,
            iterative: true,
            summary: "extremely randomized regression trees (scikit-learn's ExtraTreesRegressor), tree by tree",
            hyperparams: forest_params(false, true),
        },
        ModelInfo {
            name: "hist_gradient_boosting_classifier",
            problem: ProblemKind::Classification,
            probabilistic: true,
            iterative: true,
            summary: "histogram gradient boosting, log-loss (scikit-learn's HistGradientBoostingClassifier), round by round",
            hyperparams: boosting_params(),
        },
        ModelInfo {
            name: "hist_gradient_boosting_regressor",
            problem: ProblemKind::Regression,
            probabilistic: false,
            iterative: true,
            summary: "histogram gradient boosting, squared error (scikit-learn's HistGradientBoostingRegressor), round by round",
            hyperparams: boosting_params(),
        },
        ModelInfo {
            name: "dummy_classifier",
            problem: ProblemKind::Classification,
            probabilistic: true,
            iterative: false,
            summary: "baseline: predicts the most frequent training class, ignoring the features",
            hyperparams: vec![spec(
                "strategy",
                HyperKind::Choice(&["most_frequent", "prior"]),
                choice("prior"),
                "probabilities one-hot (most_frequent) or the training class frequencies (prior)",
            )],
        },
        ModelInfo {
            name: "dummy_regressor",
            problem: ProblemKind::Regression,
            probabilistic: false,
            iterative: false,
            summary: "baseline: predicts the training mean or median, ignoring the features",
            hyperparams: vec![spec(
                "strategy",
                HyperKind::Choice(&["mean", "median"]),
                choice("mean"),
                "the constant predicted",
            )],
        },
        ModelInfo {
            name: "svc",
            problem: ProblemKind::Classification,
            probabilistic: false,
            iterative: false,
            summary: "support vector classifier (libsvm's SMO, as scikit-learn's SVC; one-vs-one for more than two classes)",
            hyperparams: svm_params(false),
        },
        ModelInfo {
            name: "svr",
            problem: ProblemKind::Regression,
            probabilistic: false,
            iterative: false,
            summary: "epsilon-support vector regression (libsvm's SMO, as scikit-learn's SVR)",
            hyperparams: svm_params(true),
        },
        ModelInfo {
            name: "gaussian_nb",
            problem: ProblemKind::Classification,
            probabilistic: true,
            iterative: false,
            summary: "Gaussian naive Bayes (scikit-learn's GaussianNB)",
            hyperparams: vec![spec(
                "var_smoothing",
                at_least(0.0),
                float(1e-9),
                "share of the largest feature variance added to every variance",
            )],
        },
        ModelInfo {
            name: "multinomial_nb",
            problem: ProblemKind::Classification,
            probabilistic: true,
            iterative: false,
            summary: "multinomial naive Bayes for non-negative counts (scikit-learn's MultinomialNB)",
            hyperparams: vec![spec(
                "alpha",
                above(0.0),
                float(1.0),
                "additive smoothing of the per-class feature counts",
            )],
        },
        ModelInfo {
            name: "knn_classifier",
            problem: ProblemKind::Classification,
            probabilistic: true,
            iterative: false,
            summary: "k-nearest-neighbours classifier (k-d tree, ball tree or scan)",
            hyperparams: knn_params(),
        },
        ModelInfo {
            name: "knn_regressor",
            problem: ProblemKind::Regression,
            probabilistic: false,
            iterative: false,
            summary: "k-nearest-neighbours regressor (k-d tree, ball tree or scan)",
            hyperparams: knn_params(),
        },
        ModelInfo {
            name: "ftrl",
            problem: ProblemKind::Classification,
            probabilistic: true,
            iterative: true,
            summary: "FTRL-Proximal logistic regression for two classes, row by row, epoch by epoch",
            hyperparams: vec![
                spec(
                    "alpha",
                    above(0.0),
                    float(0.1),
                    "learning-rate scale (per-coordinate rate alpha/(beta + sqrt(sum g^2)))",
                ),
                spec("beta", at_least(0.0), float(1.0), "learning-rate smoothing"),
                spec(
                    "l1",
                    at_least(0.0),
                    float(1.0),
                    "L1 strength: a weight is exactly 0 while |z| <= l1",
                ),
                spec("l2", at_least(0.0), float(1.0), "L2 strength"),
                spec(
                    "fit_intercept",
                    HyperKind::Bool,
                    Some(ParamValue::Bool(true)),
                    "learn an unpenalized intercept",
                ),
                spec(
                    "epochs",
                    HyperKind::Int {
                        min: 1,
                        max: 10_000,
                    },
                    int(5),
                    "passes over the training rows; each epoch is a report point",
                ),
            ],
        },
        ModelInfo {
            name: "kmeans",
            problem: ProblemKind::Clustering,
            probabilistic: false,
            iterative: false,
            summary: "k-means clustering (greedy k-means++, Lloyd); scored by silhouette or inertia, the target ignored",
            hyperparams: vec![
                spec(
                    "n_clusters",
                    HyperKind::Int {
                        min: 1,
                        max: i64::MAX,
                    },
                    int(8),
                    "clusters k (at most the training rows)",
                ),
                spec(
                    "init",
                    HyperKind::Choice(&["k-means++", "random"]),
                    choice("k-means++"),
                    "first centroids: k-means++ seeding, or k random rows",
                ),
                spec(
                    "n_init",
                    HyperKind::Int { min: 1, max: 1000 },
                    int(1),
                    "restarts; the lowest training inertia wins",
                ),
                spec(
                    "max_iter",
                    HyperKind::Int {
                        min: 1,
                        max: 100_000,
                    },
                    int(300),
                    "Lloyd iterations per restart",
                ),
                spec(
                    "tol",
                    above(0.0),
                    float(1e-4),
                    "stop when the centroids move at most tol x mean feature variance (squared)",
                ),
            ],
        },
    ]
});

/// The most classes the classifier `name` can learn, if it has a limit (`ftrl`: 2); a study
/// whose data has more is refused before it starts.
pub fn max_classes(name: &str) -> Option<usize> {
    (name == "ftrl").then_some(2)
}

/// Every model, in display order.
pub fn catalogue() -> &'static [ModelInfo] {
    &CATALOGUE
}

/// The model called `name`, or an error suggesting the closest name.
pub fn lookup(name: &str) -> Result<&'static ModelInfo, ModelError> {
    catalogue()
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| ModelError::UnknownModel {
            name: name.to_string(),
            hint: hint(name, catalogue().iter().map(|m| m.name)),
        })
}

/// Check `params` against the model's schema and fill in defaults: the checked, complete set.
///
/// An integer given for a real parameter is widened to `Float`. A parameter whose default is
/// unset (like `max_depth`) stays absent when not given.
pub fn check_params(model: &ModelInfo, params: &Params) -> Result<Params, ModelError> {
    let mut checked = Params::new();
    for (name, value) in params {
        let Some(spec) = model.param(name) else {
            return Err(ModelError::UnknownParam {
                model: model.name.to_string(),
                name: name.clone(),
                hint: hint(name, model.hyperparams.iter().map(|h| h.name)),
            });
        };
        let Some(accepted) = spec.kind.accept(value) else {
            return Err(ModelError::InvalidParam {
                model: model.name.to_string(),
                name: name.clone(),
                value: value.to_string(),
                expected: spec.kind.expected(),
            });
        };
        checked.insert(name.clone(), accepted);
    }
    for spec in &model.hyperparams {
        if let (false, Some(default)) = (checked.contains_key(spec.name), &spec.default) {
            checked.insert(spec.name.to_string(), default.clone());
        }
    }
    Ok(checked)
}

/// Build the estimator for `name` with `params` (checked as by [`check_params`]); `seed` feeds
/// any randomness in the fit.
///
/// Only `kmeans` uses `seed` (for its initial centroids); every other fit is deterministic
/// given its data.
pub fn build(name: &str, params: &Params, seed: u64) -> Result<Box<dyn Estimator>, ModelError> {
    let model = lookup(name)?;
    let p = Checked {
        model: model.name,
        params: check_params(model, params)?,
    };
    if model.iterative {
        return Err(ModelError::InvalidParam {
            model: model.name.to_string(),
            name: "model".to_string(),
            value: model.name.to_string(),
            expected: "a model that fits in one go (this one is iterative: build_iterative)"
                .to_string(),
        });
    }
    let estimator: Box<dyn Estimator> = match model.name {
        "logistic_regression" => Box::new(LogisticRegression {
            c: p.float("C")?,
            l2: p.choice("penalty")? == "l2",
            fit_intercept: p.boolean("fit_intercept")?,
            max_iter: p.count("max_iter")?,
            tol: p.float("tol")?,
        }),
        "elastic_net" | "lasso" | "ridge" => Box::new(ElasticNet {
            alpha: p.float("alpha")?,
            l1_ratio: match model.name {
                "lasso" => 1.0,
                "ridge" => 0.0,
                _ => p.float("l1_ratio")?,
            },
            fit_intercept: p.boolean("fit_intercept")?,
            max_iter: u32::try_from(p.count("max_iter")?).unwrap_or(u32::MAX),
            tol: p.float("tol")?,
        }),
        "decision_tree" => Box::new(Tree {
            max_depth: if p.params.contains_key("max_depth") {
                Some(p.count("max_depth")?)
            } else {
                None
            },
            min_samples_split: p.count("min_samples_split")?,
            min_samples_leaf: p.count("min_samples_leaf")?,
            min_impurity_decrease: p.float("min_impurity_decrease")?,
            entropy: p.choice("criterion")? == "entropy",
        }),
        "dummy_classifier" => Box::new(DummyClassifier {
            strategy: if p.choice("strategy")? == "most_frequent" {
                ClassStrategy::MostFrequent
            } else {
                ClassStrategy::Prior
            },
        }),
        "dummy_regressor" => Box::new(DummyRegressor {
            strategy: if p.choice("strategy")? == "median" {
                ValueStrategy::Median
            } else {
                ValueStrategy::Mean
            },
        }),
        "svc" | "svr" => {
            let kernel = KernelSpec {
                kind: match p.choice("kernel")? {
                    "linear" => KernelKind::Linear,
                    "poly" => KernelKind::Poly,
                    _ => KernelKind::Rbf,
                },
                gamma: if p.params.contains_key("gamma") {
                    Some(p.float("gamma")?)
                } else {
                    None
                },
                degree: u32::try_from(p.count("degree")?).unwrap_or(u32::MAX),
                coef0: p.float("coef0")?,
            };
            if model.name == "svc" {
                Box::new(SvmClassifier {
                    c: p.float("C")?,
                    kernel,
                    tol: p.float("tol")?,
                })
            } else {
                Box::new(SvmRegressor {
                    c: p.float("C")?,
                    epsilon: p.float("epsilon")?,
                    kernel,
                    tol: p.float("tol")?,
                })
            }
        }
        "kmeans" => Box::new(KMeans {
            n_clusters: p.count("n_clusters")?,
            n_init: p.count("n_init")?,
            max_iter: p.count("max_iter")?,
            tol: p.float("tol")?,
            init: if p.choice("init")? == "random" {
                Init::Random
            } else {
                Init::PlusPlus
            },
            seed,
        }),
        "gaussian_nb" => Box::new(GaussianNb {
            var_smoothing: p.float("var_smoothing")?,
        }),
        "multinomial_nb" => Box::new(MultinomialNb {
            alpha: p.float("alpha")?,
        }),
        "knn_classifier" | "knn_regressor" => {
            let knn = Knn {
                n_neighbors: p.count("n_neighbors")?,
                weights: if p.choice("weights")? == "distance" {
                    Weights::Distance
                } else {
                    Weights::Uniform
                },
                metric: match p.choice("metric")? {
                    "manhattan" => DistanceKind::Manhattan,
                    "chebyshev" => DistanceKind::Chebyshev,
                    _ => DistanceKind::Euclidean,
                },
                search: match p.choice("algorithm")? {
                    "ball_tree" => Search::BallTree,
                    "brute" => Search::Brute,
                    _ => Search::KdTree,
                },
                leaf_size: p.count("leaf_size")?,
            };
            if model.name == "knn_classifier" {
                Box::new(KnnClassifier(knn))
            } else {
                Box::new(KnnRegressor(knn))
            }
        }
        other => {
            return Err(ModelError::UnknownModel {
                name: other.to_string(),
                hint: String::new(),
            });
        }
    };
    Ok(estimator)
}

/// Build the iterative model `name` (one with `iterative` set) with `params` (checked as by
/// [`check_params`]); `seed` sets its initial parameters and each epoch's row order.
pub fn build_iterative(
    name: &str,
    params: &Params,
    seed: u64,
) -> Result<Box<dyn IterativeEstimator>, ModelError> {
    let model = lookup(name)?;
    let p = Checked {
        model: model.name,
        params: check_params(model, params)?,
    };
    if let Some(forest) = forest_spec(&p, seed)? {
        return Ok(Box::new(forest));
    }
    if let Some(boosting) = boosting_spec(&p, seed)? {
        return Ok(Box::new(boosting));
    }
    let kind = match model.name {
        "ftrl" => {
            return Ok(Box::new(Ftrl {
                alpha: p.float("alpha")?,
                beta: p.float("beta")?,
                l1: p.float("l1")?,
                l2: p.float("l2")?,
                fit_intercept: p.boolean("fit_intercept")?,
                epochs: p.count("epochs")?,
                seed,
            }));
        }
        "sgd_logistic" => SgdKind::Logistic,
        "sgd_linear_regression" => SgdKind::LinearRegression,
        "mlp" => SgdKind::Mlp,
        other => {
            return Err(ModelError::InvalidParam {
                model: other.to_string(),
                name: "model".to_string(),
                value: other.to_string(),
                expected: "an iterative model (sgd_logistic, sgd_linear_regression, mlp, ftrl)"
                    .to_string(),
            });
        }
    };
    let schedule = match p.choice("learning_rate")? {
        "constant" => ScheduleKind::Constant,
        "inverse_scaling" => ScheduleKind::InverseScaling,
        _ => ScheduleKind::Optimal,
    };
    let penalty = match p.choice("penalty")? {
        "none" => PenaltyKind::None,
        "l1" => PenaltyKind::L1,
        "elastic_net" => PenaltyKind::ElasticNet,
        _ => PenaltyKind::L2,
    };
    let mut spec = SgdSpec {
        penalty,
        alpha: p.float("alpha")?,
        learning_rate: Some(schedule),
        eta0: p.float("eta0")?,
        power_t: p.float("power_t")?,
        batch_size: p.count("batch_size")?,
        ..SgdSpec::new(kind)
    };
    if kind == SgdKind::Mlp {
        spec.hidden = vec![p.count("hidden_units")?; p.count("hidden_layers")?];
        spec.activation = if p.choice("activation")? == "tanh" {
            Activation::Tanh
        } else {
            Activation::Relu
        };
    } else {
        spec.l1_ratio = p.float("l1_ratio")?;
    }
    Ok(Box::new(SgdEstimator {
        spec,
        epochs: p.count("epochs")?,
        seed,
    }))
}

/// The forest `p` describes, if its model is one of the forests.
fn forest_spec(p: &Checked, seed: u64) -> Result<Option<ForestSpec>, ModelError> {
    let extra = match p.model {
        "random_forest_classifier" | "random_forest_regressor" => false,
        "extra_trees_classifier" | "extra_trees_regressor" => true,
        _ => return Ok(None),
    };
    let max_features = match p.get("max_features")? {
        ParamValue::Str(s) if s == "log2" => MaxFeatures::Log2,
        ParamValue::Str(s) if s == "all" => MaxFeatures::All,
        ParamValue::Str(_) => MaxFeatures::Sqrt,
        ParamValue::Int(_) => MaxFeatures::Count(p.count("max_features")?),
        _ => MaxFeatures::Fraction(p.float("max_features")?),
    };
    Ok(Some(ForestSpec {
        n_estimators: p.count("n_estimators")?,
        max_depth: if p.params.contains_key("max_depth") {
            Some(p.count("max_depth")?)
        } else {
            None
        },
        min_samples_split: p.count("min_samples_split")?,
        min_samples_leaf: p.count("min_samples_leaf")?,
        min_impurity_decrease: p.float("min_impurity_decrease")?,
        entropy: p.params.get("criterion").and_then(ParamValue::as_str) == Some("entropy"),
        max_features,
        bootstrap: p.boolean("bootstrap")?,
        max_samples: p.float("max_samples")?,
        oob_score: p.boolean("oob_score")?,
        extra,
        seed,
    }))
}

/// The boosting model `p` describes, if its model is histogram gradient boosting.
fn boosting_spec(p: &Checked, seed: u64) -> Result<Option<BoostingSpec>, ModelError> {
    if !matches!(
        p.model,
        "hist_gradient_boosting_classifier" | "hist_gradient_boosting_regressor"
    ) {
        return Ok(None);
    }
    Ok(Some(BoostingSpec {
        learning_rate: p.float("learning_rate")?,
        max_iter: p.count("max_iter")?,
        max_leaf_nodes: p.count("max_leaf_nodes")?,
        max_depth: if p.params.contains_key("max_depth") {
            Some(p.count("max_depth")?)
        } else {
            None
        },
        min_samples_leaf: p.count("min_samples_leaf")?,
        l2_regularization: p.float("l2_regularization")?,
        max_bins: p.count("max_bins")?,
        early_stopping: match p.get("early_stopping")? {
            ParamValue::Bool(true) => EarlyStopping::On,
            ParamValue::Bool(false) => EarlyStopping::Off,
            _ => EarlyStopping::Auto,
        },
        validation_fraction: p.float("validation_fraction")?,
        n_iter_no_change: p.count("n_iter_no_change")?,
        tol: p.float("tol")?,
        seed,
    }))
}

/// A checked, defaults-filled parameter set, read by type.
struct Checked {
    model: &'static str,
    params: Params,
}

impl Checked {
    /// The value of `name` (present after `check_params` unless its default is unset).
    fn get(&self, name: &str) -> Result<&ParamValue, ModelError> {
        self.params
            .get(name)
            .ok_or_else(|| ModelError::InvalidParam {
                model: self.model.to_string(),
                name: name.to_string(),
                value: "nothing".to_string(),
                expected: "a value".to_string(),
            })
    }

    /// The error for a value of the wrong type (cannot happen after `check_params`).
    fn wrong(&self, name: &str, expected: &str) -> ModelError {
        let value = self
            .params
            .get(name)
            .map_or_else(|| "nothing".to_string(), |v| v.to_string());
        ModelError::InvalidParam {
            model: self.model.to_string(),
            name: name.to_string(),
            value,
            expected: expected.to_string(),
        }
    }

    /// A real parameter.
    fn float(&self, name: &str) -> Result<f64, ModelError> {
        self.get(name)?
            .as_f64()
            .ok_or_else(|| self.wrong(name, "a number"))
    }

    /// A non-negative integer parameter.
    fn count(&self, name: &str) -> Result<usize, ModelError> {
        let v = self
            .get(name)?
            .as_i64()
            .ok_or_else(|| self.wrong(name, "an integer"))?;
        usize::try_from(v).map_err(|_| self.wrong(name, "a non-negative integer"))
    }

    /// A boolean parameter.
    fn boolean(&self, name: &str) -> Result<bool, ModelError> {
        self.get(name)?
            .as_bool()
            .ok_or_else(|| self.wrong(name, "true or false"))
    }

    /// A named-choice parameter.
    fn choice(&self, name: &str) -> Result<&str, ModelError> {
        self.get(name)?
            .as_str()
            .ok_or_else(|| self.wrong(name, "a name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    fn params(pairs: &[(&str, ParamValue)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn every_model_builds_with_its_defaults_and_fits() {
        // Non-negative, as multinomial naive Bayes needs.
        let x = Array2::from_shape_fn((40, 2), |(i, j)| ((i * (j + 1)) as f64 * 0.7).sin() + 1.0);
        let y_class: Array1<f64> = (0..40).map(|i| (i % 2) as f64).collect();
        let y_value: Array1<f64> = x.column(0).mapv(|v| 2.0 * v + 1.0);
        for m in catalogue() {
            let y = match m.problem {
                ProblemKind::Classification | ProblemKind::Clustering => &y_class,
                ProblemKind::Regression => &y_value,
            };
            let prediction = if m.iterative {
                let est = build_iterative(m.name, &Params::new(), 0).unwrap();
                let classes = if m.problem == ProblemKind::Classification {
                    2
                } else {
                    0
                };
                let mut learner = est.start(x.view(), y.view(), classes).unwrap();
                learner.epoch(x.view(), y.view()).unwrap();
                learner.predict(x.view()).unwrap()
            } else {
                let est = build(m.name, &Params::new(), 0).unwrap();
                est.fit(x.view(), y.view()).unwrap().predict(x.view())
            };
            match (m.problem, prediction) {
                (ProblemKind::Classification, crate::Prediction::Classes { proba, .. }) => {
                    assert_eq!(proba.is_some(), m.probabilistic, "{}", m.name)
                }
                (ProblemKind::Regression, crate::Prediction::Values(_)) => {}
                (ProblemKind::Clustering, crate::Prediction::Clusters { .. }) => {}
                _ => panic!("{} predicts the wrong kind", m.name),
            }
        }
    }

    #[test]
    fn an_iterative_model_is_built_only_as_iterative_and_learns_epoch_by_epoch() {
        assert!(build("sgd_logistic", &Params::new(), 0).is_err());
        assert!(build_iterative("logistic_regression", &Params::new(), 0).is_err());
        let (x, y) = crate::synth::make_classification(400, 5, 3, 2, 1).unwrap();
        let est = build_iterative(
            "mlp",
            &params(&[
                ("epochs", ParamValue::Int(10)),
                ("hidden_units", ParamValue::Int(8)),
                ("eta0", ParamValue::Float(0.1)),
            ]),
            7,
        )
        .unwrap();
        assert_eq!(est.epochs(), 10);
        let mut learner = est.start(x.view(), y.view(), 2).unwrap();
        let accuracy = |p: crate::Prediction| match p {
            crate::Prediction::Classes { class, .. } => {
                class
                    .iter()
                    .zip(&y)
                    .filter(|(c, t)| **c as f64 == **t)
                    .count() as f64
                    / 400.0
            }
            crate::Prediction::Values(_) | crate::Prediction::Clusters { .. } => 0.0,
        };
        let before = accuracy(learner.predict(x.view()).unwrap());
        for _ in 0..10 {
            learner.epoch(x.view(), y.view()).unwrap();
        }
        let after = accuracy(learner.predict(x.view()).unwrap());
        assert!(after > before.max(0.7), "{before} -> {after}");
    }

    #[test]
    fn unknown_model_suggests_the_closest_name() {
        let err = lookup("logistic_regresion").unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown model `logistic_regresion`, did you mean `logistic_regression`?"
        );
    }

    #[test]
    fn unknown_model_far_from_all_lists_them() {
        let err = lookup("qda").unwrap_err().to_string();
        assert!(
            err.starts_with(
                "unknown model `qda`, expected one of: logistic_regression, elastic_net"
            ),
            "{err}"
        );
    }

    #[test]
    fn unknown_param_suggests_the_closest_name() {
        let m = lookup("logistic_regression").unwrap();
        let err = check_params(m, &params(&[("c", ParamValue::Float(1.0))])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "model `logistic_regression` has no hyperparameter `c`, did you mean `C`?"
        );
    }

    #[test]
    fn out_of_range_param_says_what_was_expected() {
        let m = lookup("logistic_regression").unwrap();
        let err = check_params(m, &params(&[("C", ParamValue::Float(-1.0))])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "hyperparameter `C` of `logistic_regression`: expected a number > 0, found -1"
        );
        let err = check_params(m, &params(&[("max_iter", ParamValue::Int(0))])).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("expected an integer in 1..=100000, found 0"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_param_says_what_was_expected() {
        let m = lookup("decision_tree").unwrap();
        let err =
            check_params(m, &params(&[("criterion", ParamValue::Str("mse".into()))])).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("expected one of \"gini\", \"entropy\", found \"mse\""),
            "{err}"
        );
        let err = check_params(m, &params(&[("max_depth", ParamValue::Float(2.5))])).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("expected an integer >= 1, found 2.5"),
            "{err}"
        );
    }

    #[test]
    fn defaults_are_filled_and_integers_widened() {
        let m = lookup("logistic_regression").unwrap();
        let checked = check_params(m, &params(&[("C", ParamValue::Int(3))])).unwrap();
        assert_eq!(checked["C"], ParamValue::Float(3.0));
        assert_eq!(checked["max_iter"], ParamValue::Int(100));
        assert_eq!(checked["penalty"], ParamValue::Str("l2".into()));
        assert_eq!(checked.len(), 5);
    }

    #[test]
    fn unset_default_stays_absent() {
        let checked = check_params(lookup("decision_tree").unwrap(), &Params::new()).unwrap();
        assert!(!checked.contains_key("max_depth"));
    }

    #[test]
    fn checking_is_idempotent() {
        let m = lookup("elastic_net").unwrap();
        let once = check_params(m, &params(&[("alpha", ParamValue::Int(2))])).unwrap();
        assert_eq!(check_params(m, &once).unwrap(), once);
    }

    #[test]
    fn build_refuses_bad_params() {
        assert!(matches!(
            build("ridge", &params(&[("l1_ratio", ParamValue::Float(0.5))]), 0),
            Err(ModelError::UnknownParam { .. })
        ));
    }

    #[test]
    fn every_hyperparameter_default_is_in_range() {
        for m in catalogue() {
            for h in &m.hyperparams {
                if let Some(d) = &h.default {
                    assert!(h.kind.accept(d).is_some(), "{}.{}", m.name, h.name);
                }
            }
        }
    }
}
