//! Ctrl-C and SIGTERM: counted by a signal-hook handler, acted on by the scheduler and the
//! coordinator.
//!
//! The first signal asks for a clean stop (no new work, trainers stopped and reaped, running
//! trials recorded as interrupted); the second stops at once. signal-hook installs its handlers
//! with `SA_RESTART`, so a signal never turns a blocking read or wait into an error that could
//! look like a dead trainer. Each delivery is counted in the handler itself: two signals in a
//! row are two, where a woken iterator would see them as one.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM, SIGXFSZ};

static RECEIVED: AtomicUsize = AtomicUsize::new(0);

/// Start counting SIGINT and SIGTERM; survive SIGXFSZ (a file-size limit then surfaces as a
/// write error we report, not a death).
pub fn install() -> std::io::Result<()> {
    signal_hook::flag::register(SIGXFSZ, Arc::new(AtomicBool::new(false)))?;
    for sig in [SIGINT, SIGTERM] {
        // SAFETY: the action only increments an atomic, which is async-signal-safe.
        unsafe {
            signal_hook::low_level::register(sig, || {
                RECEIVED.fetch_add(1, Ordering::SeqCst);
            })?;
        }
    }
    Ok(())
}

/// Count `sig` as a stop signal too (a cluster's warning before the time limit).
pub fn also_stop_on(sig: i32) -> std::io::Result<()> {
    // SAFETY: the action only increments an atomic, which is async-signal-safe.
    unsafe {
        signal_hook::low_level::register(sig, || {
            RECEIVED.fetch_add(1, Ordering::SeqCst);
        })?;
    }
    Ok(())
}

/// How many stop signals have arrived.
pub fn received() -> usize {
    RECEIVED.load(Ordering::SeqCst)
}
