//! The process group of the running program trial, and the signal handlers that never let it
//! outlive its trainer.
//!
//! A program runs in its own process group, so a stop reaches its children too (a shell's
//! `sleep 1000 &`, DataLoader workers). When the trainer is told to go, its handlers kill that
//! group before it exits: SIGTERM (a stop), SIGINT, SIGHUP, and SIGUSR1, which is both the
//! trainer's parent-death signal (the orchestrator died) and how the supervisor ends a trainer
//! (a timeout, a stall). The trainer also tells the supervisor the group's id, so a trainer
//! killed outright (SIGKILL, the out-of-memory killer) has its group killed by the supervisor.

use std::sync::atomic::{AtomicI32, Ordering};

/// The group of the program running now (0: none).
static GROUP: AtomicI32 = AtomicI32::new(0);

/// Record the group of the program just started (0 once it has ended).
pub fn set(pgid: libc::pid_t) {
    GROUP.store(pgid, Ordering::SeqCst);
}

/// Install the handlers that kill the running program's group, then exit. A signal this
/// trainer was told to ignore (a test's `ignoreterm`) stays ignored.
pub fn install() -> std::io::Result<()> {
    for (sig, code) in [
        (libc::SIGTERM, 128 + libc::SIGTERM),
        (libc::SIGINT, 128 + libc::SIGINT),
        (libc::SIGHUP, 128 + libc::SIGHUP),
        (libc::SIGUSR1, 128 + libc::SIGUSR1),
    ] {
        if is_ignored(sig) {
            continue;
        }
        // SAFETY: the action only reads an atomic and calls kill(2) and _exit(2), both
        // async-signal-safe.
        unsafe {
            signal_hook::low_level::register(sig, move || {
                let pgid = GROUP.load(Ordering::SeqCst);
                if pgid > 1 {
                    libc::kill(-pgid, libc::SIGKILL);
                }
                signal_hook::low_level::exit(code);
            })?;
        }
    }
    Ok(())
}

/// Whether `sig` is ignored in this process now.
fn is_ignored(sig: libc::c_int) -> bool {
    // SAFETY: sigaction with a null new action only reads the current one into our struct.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}
