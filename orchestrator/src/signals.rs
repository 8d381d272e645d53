//! Ctrl-C and SIGTERM: counted by a signal handler, acted on by the scheduler.
//!
//! The first signal asks for a clean stop (no new trials, trainers stopped and reaped, running
//! trials recorded as interrupted); the second stops at once.

use std::sync::atomic::{AtomicUsize, Ordering};

static RECEIVED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    RECEIVED.fetch_add(1, Ordering::SeqCst);
}

/// Install the handler for SIGINT and SIGTERM (and ignore SIGPIPE and SIGXFSZ, which become
/// error returns we report instead of deaths).
pub fn install() {
    // SAFETY: the handler only touches an atomic, which is async-signal-safe; sigaction gets a
    // zeroed, then filled struct that outlives the call.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as *const () as usize;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
        libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// How many stop signals have arrived.
pub fn received() -> usize {
    RECEIVED.load(Ordering::SeqCst)
}
