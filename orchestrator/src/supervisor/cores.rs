//! Which cores trainers are pinned to: this process's affinity mask, cores of other studies'
//! trainers last.

/// The machine's usable cores (our affinity mask), in order.
pub fn usable_cores() -> Vec<usize> {
    // SAFETY: sched_getaffinity fills the zeroed set we own; CPU_ISSET only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// The order in which to pin trainers: cores that no other cohort trainer (of another study
/// running on this machine) is pinned to come first, so two studies side by side do not
/// share a core while another sits idle.
pub fn pinning_order(cores: &[usize]) -> Vec<usize> {
    let taken = cores_of_other_trainers();
    let (free, busy): (Vec<usize>, Vec<usize>) = cores.iter().partition(|c| !taken.contains(c));
    free.into_iter().chain(busy).collect()
}

/// Cores that live trainers of other orchestrators are pinned to (from /proc).
fn cores_of_other_trainers() -> Vec<usize> {
    let me = std::process::id().to_string();
    let mut taken = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        let is_trainer = args.get(1) == Some(&&b"trainer"[..]) && args.contains(&&b"--connect"[..]);
        let parent = args
            .iter()
            .position(|a| *a == b"--parent")
            .and_then(|i| args.get(i + 1));
        if !is_trainer || parent == Some(&me.as_bytes()) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        let allowed = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .map(str::trim);
        if let Some(core) = allowed.and_then(|a| a.parse::<usize>().ok()) {
            taken.push(core);
        }
    }
    taken
}
