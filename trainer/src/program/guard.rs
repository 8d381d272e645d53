//! The guard: the leader of a program trial's process group, between the trainer and the
//! program, so that nothing in the group outlives the trainer.
//!
//! The kernel's parent-death signal reaches only a direct child, never the program's own
//! children (a shell's `sleep 1000 &`, DataLoader workers). The guard is that direct child: it
//! gets SIGTERM when the trainer dies (however it dies: SIGKILL on a timeout, or the
//! orchestrator's death passed on by the trainer's own parent-death signal) and then kills its
//! whole group. Otherwise it only waits for the program and exits the way the program did.
//!
//! It runs as `cohort program-guard PARENT_PID -- PROGRAM ARGS…` (the trainer's binary).

use std::ffi::OsString;

/// The subcommand the `cohort` binary routes to [`main`] before parsing anything else.
pub const SUBCOMMAND: &str = "program-guard";

/// Exit status when the program cannot be started (as shells use for "not found").
pub const CANNOT_START: i32 = 127;

/// Run the guard with its arguments (after the subcommand); never returns.
pub fn main(args: Vec<OsString>) -> ! {
    let mut args = args.into_iter();
    let parent: Option<libc::pid_t> = args
        .next()
        .and_then(|p| p.to_str().and_then(|s| s.parse().ok()));
    let rest: Vec<OsString> = args.skip_while(|a| a != "--").skip(1).collect();
    let (Some(parent), Some(program)) = (parent, rest.first()) else {
        eprintln!("usage: cohort {SUBCOMMAND} PARENT_PID -- PROGRAM [ARGS…]");
        std::process::exit(2);
    };
    // SAFETY: sigset operations on a local set; pthread_sigmask on this (only) thread.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGTERM, libc::SIGCHLD, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        // Blocked, then taken with sigwait: no handler, no race with the child's end.
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    // Our parent-death signal is set here rather than by the trainer before exec: a spawn
    // without a pre-exec hook is a posix_spawn, which does not copy the trainer's page tables.
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a plain signal number.
    unsafe {
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGTERM as libc::c_ulong,
            0,
            0,
            0,
        );
    }
    // The trainer may have died before that took effect: then we were re-parented already.
    if !parent_alive(parent) {
        kill_group();
    }
    let mut cmd = std::process::Command::new(program);
    cmd.args(&rest[1..]);
    {
        use std::os::unix::process::CommandExt;
        let unblock = set;
        // SAFETY: pthread_sigmask is async-signal-safe; the program starts with no signal blocked.
        unsafe {
            cmd.pre_exec(move || {
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &unblock, std::ptr::null_mut());
                Ok(())
            });
        }
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "cohort: cannot start `{}`: {e}",
                std::path::Path::new(program).display()
            );
            std::process::exit(CANNOT_START);
        }
    };
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: sigwait on the set blocked above, writing into a local.
        let rc = unsafe { libc::sigwait(&set, &mut sig) };
        if rc != 0 {
            continue;
        }
        if sig == libc::SIGCHLD {
            match child.try_wait() {
                Ok(Some(status)) => exit_like(status),
                Ok(None) => continue, // stopped or continued, not ended
                Err(_) => kill_group(),
            }
        }
        // SIGTERM and friends: the trainer's stop signals the whole group (the program got it
        // too) and escalates itself; only an orphaned guard acts.
        if !parent_alive(parent) {
            kill_group();
        }
    }
}

fn parent_alive(parent: libc::pid_t) -> bool {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() == parent }
}

/// SIGKILL everything in this process group, the guard included.
fn kill_group() -> ! {
    // SAFETY: kill(0, …) signals our own process group.
    unsafe {
        libc::kill(0, libc::SIGKILL);
    }
    std::process::exit(137);
}

/// End the way the program ended: its exit code, or its signal.
fn exit_like(status: std::process::ExitStatus) -> ! {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        std::process::exit(code);
    }
    if let Some(sig) = status.signal() {
        // SAFETY: default disposition, unblocked, then raised on ourselves.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            let mut one: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut one);
            libc::sigaddset(&mut one, sig);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &one, std::ptr::null_mut());
            libc::raise(sig);
        }
        std::process::exit(128 + sig);
    }
    std::process::exit(1);
}
