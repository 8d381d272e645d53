//! Datasets, models, metrics and cross-validation: pure computation, no processes, no IPC.
//!
//! Everything here is testable in-process. The `trainer` crate runs it inside trainer
//! processes; the `orchestrator` crate uses the catalogue and the dataset reader to validate
//! a study before any process starts.

pub mod boosting;
pub mod catalogue;
pub mod cv;
pub mod dataset;
pub mod error;
pub mod estimator;
pub mod evaluate;
pub mod forest;
pub mod hyper;
pub mod iterative;
pub mod metrics;
pub mod preprocess;
pub mod rows;
pub mod saved;
pub mod sgd;
pub mod synth;

mod bayes;
mod classes;
mod cluster;
mod dummy;
mod ftrl;
mod linear;
pub mod logistic;
mod neighbors;
mod staged;
mod svm;
mod tree;

pub use catalogue::{ModelInfo, build, build_iterative, catalogue, lookup};
pub use cv::{Fold, Folds, Holdout};
pub use dataset::{
    CacheUse, CellOptions, DataView, Dataset, HeapImage, ImageBuf, ImageData, ImageRead, Problem,
    ProblemKind, SourceStamps, Vocabularies,
};
pub use error::{DataError, ModelError};
pub use estimator::{Estimator, Fitted, Prediction};
pub use evaluate::{CrossValidator, Evaluation, FoldScores};
pub use hyper::{HyperKind, HyperSpec, ParamValue, Params};
pub use iterative::{IterativeEstimator, Learner};
pub use metrics::{Direction, Metric};
pub use rows::RowSet;
pub use saved::{ModelFile, SavedModel};
