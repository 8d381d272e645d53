//! Process-level setup of a trainer: die with the orchestrator, cap memory, pin to a core, log as JSON.

use crate::worker::TrainerError;

/// Ask the kernel to SIGKILL us when the orchestrator exits, so a killed orchestrator leaves no
/// trainer computing on (a busy trainer would only notice at its next message).
pub fn die_with_parent(parent: Option<u32>) -> Result<(), TrainerError> {
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a plain signal number; no memory is passed.
    unsafe {
        libc::prctl(
            // SIGUSR1 ends a trainer as SIGKILL would (its default action), and lets a program
            // trainer kill its program's group first (see `program::group`).
            libc::PR_SET_PDEATHSIG,
            libc::SIGUSR1 as libc::c_ulong,
            0,
            0,
            0,
        );
    }
    // The parent may have died before prctl took effect: then we were re-parented already.
    if let Some(pid) = parent {
        // SAFETY: getppid has no preconditions.
        let ppid = unsafe { libc::getppid() } as u32;
        if ppid != pid {
            return Err(TrainerError::Orphaned(pid));
        }
    }
    Ok(())
}

/// Cap the address space so a runaway model fails an allocation instead of taking the machine.
pub fn cap_memory(bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit reads the struct we pass by pointer; it lives across the call.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    if rc != 0 {
        tracing::warn!(bytes, error = %std::io::Error::last_os_error(), "could not cap memory");
    }
}

/// Pin this process (and so the programs it starts) to `cores`; the error says why not (the
/// orchestrator logs it once).
pub fn pin(cores: &[usize]) -> Result<Vec<usize>, String> {
    match cores {
        [] => Err("no core assigned".into()),
        [core] => {
            if core_affinity::set_for_current(core_affinity::CoreId { id: *core }) {
                Ok(vec![*core])
            } else {
                Err(format!("sched_setaffinity to core {core} was refused"))
            }
        }
        many => {
            // SAFETY: CPU_ZERO/CPU_SET fill a zeroed set we own; sched_setaffinity reads it.
            let rc = unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_ZERO(&mut set);
                for &c in many {
                    libc::CPU_SET(c, &mut set);
                }
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
            };
            if rc == 0 {
                Ok(many.to_vec())
            } else {
                Err(format!(
                    "sched_setaffinity to cores {many:?} was refused: {}",
                    std::io::Error::last_os_error()
                ))
            }
        }
    }
}

/// Log as JSON lines on stderr: the orchestrator reads the pipe and re-emits them tagged with
/// this worker's id. A blocking writer, so nothing is lost when the process dies.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        // The innermost span (a trial's number) tags each line; the list of spans adds nothing.
        .with_current_span(true)
        .with_span_list(false)
        .try_init();
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = crate::worker::panic_message(info.payload());
        tracing::error!(%location, "{message}");
    }));
}
