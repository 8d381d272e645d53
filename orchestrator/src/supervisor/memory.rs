//! The memory of the process tree: this orchestrator and its trainers, read from /proc.
//!
//! PSS (proportional set size) splits shared pages among the processes that map them, so the
//! shared dataset counts once however many trainers map it; RSS counts it in every one.

/// Memory of a set of processes, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TreeMemory {
    /// Summed resident set sizes.
    pub rss: u64,
    /// Summed proportional set sizes (shared pages counted once in all).
    pub pss: u64,
}

impl TreeMemory {
    /// The larger of each, for a peak.
    pub fn max(self, other: TreeMemory) -> TreeMemory {
        TreeMemory {
            rss: self.rss.max(other.rss),
            pss: self.pss.max(other.pss),
        }
    }
}

/// The memory of this process and `pids` now (processes that are gone count nothing).
pub fn tree_memory(pids: impl IntoIterator<Item = u32>) -> TreeMemory {
    let mut total = TreeMemory::default();
    for pid in std::iter::once(std::process::id()).chain(pids) {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) else {
            continue;
        };
        let kib = |key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        total.rss += kib("Rss:") * 1024;
        total.pss += kib("Pss:") * 1024;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_memory_and_a_gone_one_adds_none() {
        let me = tree_memory([]);
        assert!(me.rss > 0 && me.pss > 0 && me.pss <= me.rss, "{me:?}");
        // No process has pid 0 in /proc: it adds nothing (allow for our own pages moving).
        let with = tree_memory([0]);
        assert!(with.rss.abs_diff(me.rss) < 4 << 20, "{me:?} vs {with:?}");
    }
}
