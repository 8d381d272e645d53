//! The shared-memory parameter array with its lock (to be written).
