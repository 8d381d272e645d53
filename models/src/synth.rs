//! Synthetic datasets for tests and benchmarks (to be written).
