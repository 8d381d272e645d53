//! The process group of the running program trial, and the signal handlers that never let it
//! outlive its trainer.
//!
//! A program runs in its own process group, so a stop reaches its children too (a shell's
//! `sleep 1000 &`, DataLoader workers). When the trainer is told to stop (SIGTERM from the
//! supervisor, SIGINT from a Ctrl-C at the terminal, SIGHUP), its handler gives the program the
//! same courtesy as a pruned trial gets: SIGTERM to the group, up to the grace period for it to
//! save and exit, then SIGKILL. SIGUSR1 is both the trainer's parent-death signal (the
//! orchestrator died) and how the supervisor ends a trainer at once (a timeout, a stall, a
//! second Ctrl-C): the group gets SIGKILL straight away. The trainer also tells the supervisor
//! the group's id, so a trainer killed outright (SIGKILL, the out-of-memory killer) has its
//! group killed by the supervisor.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

/// The group of the program running now (0: none).
static GROUP: AtomicI32 = AtomicI32::new(0);
/// Between SIGTERM and SIGKILL when the trainer is stopped, in milliseconds.
static GRACE_MS: AtomicU64 = AtomicU64::new(2000);
/// Set once a stop signal arrived: whatever the program does now is not the trial's result.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Record the group of the program just started (0 once it has ended).
pub fn set(pgid: libc::pid_t) {
    GROUP.store(pgid, Ordering::SeqCst);
}

/// Set how long a stopped program gets between SIGTERM and SIGKILL.
pub fn set_grace(grace: Duration) {
    GRACE_MS.store(grace.as_millis() as u64, Ordering::SeqCst);
}

/// Whether the trainer is being stopped: a program that exits now was told to, and its exit
/// must not be reported as the trial's outcome (the trial is interrupted, to run again).
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// Install the handlers that stop the running program's group, then exit. A signal this
/// trainer was told to ignore (a test's `ignoreterm`) stays ignored.
pub fn install() -> std::io::Result<()> {
    for (sig, graceful) in [
        (libc::SIGTERM, true),
        (libc::SIGINT, true),
        (libc::SIGHUP, true),
        (libc::SIGUSR1, false),
    ] {
        if is_ignored(sig) {
            continue;
        }
        let code = 128 + sig;
        // SAFETY: the action only touches atomics and calls kill(2), waitpid(2),
        // clock_gettime(2), nanosleep(2) and _exit(2), all async-signal-safe.
        unsafe {
            signal_hook::low_level::register(sig, move || {
                STOPPING.store(true, Ordering::SeqCst);
                let pgid = GROUP.load(Ordering::SeqCst);
                if pgid > 1 {
                    if graceful {
                        let grace = GRACE_MS.load(Ordering::SeqCst);
                        terminate_within(pgid, grace);
                    }
                    libc::kill(-pgid, libc::SIGKILL);
                }
                signal_hook::low_level::exit(code);
            })?;
        }
    }
    Ok(())
}

/// SIGTERM the group `pgid`, then wait up to `grace_ms` for every member to be gone. Called
/// from a signal handler: async-signal-safe calls only.
fn terminate_within(pgid: libc::pid_t, grace_ms: u64) {
    // SAFETY: kill(2), waitpid(2), clock_gettime(2) and nanosleep(2) on plain values.
    unsafe {
        libc::kill(-pgid, libc::SIGTERM);
        let start = now_ms();
        let tick = libc::timespec {
            tv_sec: 0,
            tv_nsec: 5_000_000,
        };
        loop {
            // Reap the leader (our child) if it has exited, so that a group of zombies does
            // not look alive; its grandchildren are reparented and reaped elsewhere.
            libc::waitpid(pgid, std::ptr::null_mut(), libc::WNOHANG);
            if libc::kill(-pgid, 0) != 0 || now_ms().saturating_sub(start) >= grace_ms {
                return;
            }
            libc::nanosleep(&tick, std::ptr::null_mut());
        }
    }
}

/// Monotonic milliseconds (async-signal-safe).
fn now_ms() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime(2) writes into our struct.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t);
    }
    t.tv_sec as u64 * 1000 + t.tv_nsec as u64 / 1_000_000
}

/// Whether `sig` is ignored in this process now.
fn is_ignored(sig: libc::c_int) -> bool {
    // SAFETY: sigaction with a null new action only reads the current one into our struct.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}
