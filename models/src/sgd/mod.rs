//! SGD models with a flat parameter vector (parallel training).
