//! What runs inside a trainer process: the worker loop, the IPC protocol shared with the
//! orchestrator, and the ParamArray (shared-memory parameters under a lock).

pub mod param_array;
