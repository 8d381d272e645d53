//! The ParamArray: one parameter vector in shared memory that several trainer processes merge
//! into, guarded by a lock the kernel releases when its holder dies.
//!
//! # Why it looks like this
//!
//! * The memory is a file under `/dev/shm` mapped by every process (memmap2). The lock is an
//!   `flock` on that file (`std::fs::File::lock`): it is the one lock measured here that the
//!   kernel releases when its holder is SIGKILLed (process-shared mutexes, spinlocks and futexes
//!   deadlock for good). flock belongs to the *open file description*, so every process (and
//!   every handle) opens the path itself; within one process a `Mutex` serialises threads that
//!   share one handle.
//! * A holder killed mid-merge must not leave a half-applied merge visible, so the array is
//!   **double-buffered**: version `v` of the parameters lives in buffer `v % 2`. A merge reads
//!   buffer `v % 2`, writes version `v + 1` into the other buffer, and publishes it by moving the
//!   sequence counter `seq` from `2v` to `2v + 1` (writing) to `2v + 2` (published). A dead
//!   writer leaves `seq` odd and the last whole version untouched; the next lock holder sees the
//!   odd `seq` and *repairs*: it copies the last whole version forward as version `v + 1`, so the
//!   torn merge is dropped as a whole and `seq` stays monotonic.
//! * Readers never take the lock (seqlock): [`ParamArray::snapshot`] copies buffer `v % 2` and
//!   retries only if the writer of version `v + 2` (the next one to overwrite that buffer)
//!   started meanwhile. With two buffers a reader has a whole merge of slack before it retries.
//! * Every access to the shared bytes goes through `AtomicU64` (f64 bits, mostly `Relaxed`):
//!   plain racy reads or writes through raw pointers would be undefined behaviour in Rust, and
//!   relaxed atomic loads/stores compile to plain moves on x86.
//!
//! # The three merge modes
//!
//! * `locked`: a trainer calls [`ParamArray::merge_local`] every k steps: under the lock the
//!   shared array gets `local − base` (its accumulated update) and both come back as the merged
//!   state. [`ParamArray::add`] is the same with an explicit delta.
//! * `average` (synchronous local SGD): the array is created with `slots = S`
//!   ([`ParamArray::create_with_slots`]). In round `r` trainer `i` calls
//!   [`ParamArray::contribute`]`(i, r, params)`, which stores its parameters in slot `i`; the
//!   last of the S contributors publishes the mean of the slots, summed in slot order so the
//!   result does not depend on arrival order, as version `v + 1` with `round = r + 1`. Trainers
//!   then wait with [`ParamArray::wait_round`]`(r + 1, ..)`, which returns the new parameters.
//!   A contributor killed before its slot is marked simply has not contributed: the round
//!   completes when its replacement contributes; one killed after it is marked has, and its
//!   replacement sees that ([`ParamArray::contributed`]) and waits instead. A run resumed from a
//!   checkpoint creates the array at a later round ([`ParamArray::create_at`]). A publisher killed mid-average is repaired by
//!   the next lock holder (or by a waiter, which takes the lock when it sees the odd `seq`),
//!   which then publishes the round from the intact slots.
//! * `hogwild`: [`ParamArray::hogwild_add`] / [`ParamArray::hogwild_merge_local`] write the
//!   current buffer with no lock (racy by design, as in the Hogwild! paper: updates can be
//!   lost). It must not be mixed with locked merges on the same array (a locked merge
//!   publishes from a copy and can drop concurrent hogwild writes), and a snapshot then is
//!   per-element atomic, not a consistent cut.
//!
//! # Layout (all words are u64, little-endian host order)
//!
//! ```text
//! page 0   header: magic "COHORTPA", format, n, slots; seq (own cache line);
//!          meta[0], meta[1] (merges, round of the version in buffer 0 / 1);
//!          hogwild update count; repair count; claimed tokens (see `claim_once`)
//! pages    marks[slots]: slot i holds r + 1 once it contributed to round r
//! pages    buffer 0 (n f64), buffer 1 (n f64)
//! pages    slot 0 .. slot S-1 (n f64 each)
//! ```

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError as MutexTryLockError};
use std::time::{Duration, Instant};

use memmap2::MmapRaw;

/// File magic: "COHORTPA".
const MAGIC: u64 = u64::from_le_bytes(*b"COHORTPA");
/// Layout version: bump when the layout changes.
const FORMAT: u64 = 1;
/// Regions start on page boundaries (the header is one page).
const PAGE_WORDS: usize = 4096 / 8;

// Header word indices. seq and each meta record sit on their own 64-byte line so that readers
// polling seq do not share a line with the counters writers bump.
const H_MAGIC: usize = 0;
const H_FORMAT: usize = 1;
const H_N: usize = 2;
const H_SLOTS: usize = 3;
const H_SEQ: usize = 8;
const H_META: [usize; 2] = [16, 24];
const META_MERGES: usize = 0;
const META_ROUND: usize = 1;
const H_HOGWILD: usize = 32;
const H_REPAIRS: usize = 40;
const H_CLAIMS: usize = 48;

/// Where each region starts, in u64 words from the start of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Layout {
    n: usize,
    slots: usize,
    marks: usize,
    buffers: [usize; 2],
    slot0: usize,
    stride: usize,
    words: usize,
}

impl Layout {
    /// The layout for `n` parameters and `slots` averaging slots; `None` on overflow.
    fn new(n: usize, slots: usize) -> Option<Layout> {
        let pages = |words: usize| {
            words
                .checked_add(PAGE_WORDS - 1)
                .map(|w| w / PAGE_WORDS * PAGE_WORDS)
        };
        let stride = pages(n)?;
        let marks = PAGE_WORDS;
        let buf0 = marks.checked_add(pages(slots)?)?;
        let buf1 = buf0.checked_add(stride)?;
        let slot0 = buf1.checked_add(stride)?;
        let words = slot0.checked_add(stride.checked_mul(slots)?)?;
        // The byte size must fit in both usize and u64 (file length).
        words.checked_mul(8)?;
        Some(Layout {
            n,
            slots,
            marks,
            buffers: [buf0, buf1],
            slot0,
            stride,
            words,
        })
    }

    fn bytes(&self) -> usize {
        self.words * 8
    }
}

/// Why a ParamArray operation failed; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ParamArrayError {
    /// A system call on the file failed.
    #[error("parameter array {path}: cannot {op}: {source}")]
    Io {
        /// The shared-memory file.
        path: PathBuf,
        /// What was being done ("create", "lock", ...).
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// `create` found the file already there (a leftover of a crashed run, or a name clash).
    #[error("parameter array {path}: already exists (a leftover of a crashed run? remove it)")]
    Exists {
        /// The shared-memory file.
        path: PathBuf,
    },
    /// The file is not a parameter array of this format (or is still being initialised).
    #[error("parameter array {path}: not a usable parameter array: {reason}")]
    Format {
        /// The shared-memory file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The requested size cannot be used.
    #[error("parameter array {path}: invalid size: {reason}")]
    Size {
        /// The shared-memory file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A slice passed in does not have the array's length.
    #[error("parameter array {path}: {what} has {found} values, the array holds {expected}")]
    Length {
        /// The shared-memory file.
        path: PathBuf,
        /// Which argument.
        what: &'static str,
        /// The array's length.
        expected: usize,
        /// The argument's length.
        found: usize,
    },
    /// An averaging slot that the array does not have.
    #[error("parameter array {path}: slot {slot} does not exist (the array has {slots} slots)")]
    Slot {
        /// The shared-memory file.
        path: PathBuf,
        /// The slot asked for.
        slot: usize,
        /// How many slots the array has.
        slots: usize,
    },
    /// A contribution to a round other than the current one.
    #[error(
        "parameter array {path}: contribution to round {given}, but the current round is {current}"
    )]
    Round {
        /// The shared-memory file.
        path: PathBuf,
        /// The round the caller contributed to.
        given: u64,
        /// The array's current round.
        current: u64,
    },
    /// A second contribution from the same slot to the same round.
    #[error("parameter array {path}: slot {slot} already contributed to round {round}")]
    AlreadyContributed {
        /// The shared-memory file.
        path: PathBuf,
        /// The slot.
        slot: usize,
        /// The round.
        round: u64,
    },
}

/// What a reader got along with the parameters: which version, after how many merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Version number: how many locked publications (merges, stores, rounds, repairs) preceded it.
    pub version: u64,
    /// Merges so far: locked merges of this version plus all hogwild updates.
    pub merges: u64,
    /// Completed averaging rounds.
    pub round: u64,
}

/// Outcome of [`ParamArray::contribute`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundStatus {
    /// The contribution is stored; `arrived` of the slots have contributed to this round.
    Waiting {
        /// Slots that have contributed so far, this one included.
        arrived: usize,
    },
    /// This was the last contribution: the mean is published and this is the new round.
    Published {
        /// The round now current (the one contributed to, plus one).
        round: u64,
    },
}

/// A shared-memory parameter vector of `n` f64 with its lock, usable from several processes.
///
/// The handle made by [`ParamArray::create`] owns the file and removes it when dropped;
/// handles made by [`ParamArray::open`] do not. See the module documentation for the protocol.
#[derive(Debug)]
pub struct ParamArray {
    path: PathBuf,
    file: File,
    map: MmapRaw,
    layout: Layout,
    owner: AtomicBool,
    /// Serialises this handle's users (flock does not exclude threads sharing one file
    /// description); holds the scratch vector `with_lock` lends out.
    local: Mutex<Vec<f64>>,
}

/// The lock held: this handle's mutex plus the flock. Dropping it unlocks.
struct Held<'a> {
    pa: &'a ParamArray,
    scratch: MutexGuard<'a, Vec<f64>>,
    locked: bool,
}

impl Held<'_> {
    /// Unlock, reporting a failure (dropping unlocks too, silently).
    fn release(mut self) -> Result<(), ParamArrayError> {
        self.locked = false;
        self.pa.file.unlock().map_err(|e| self.pa.io("unlock", e))
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if self.locked {
            // Nothing useful to do on failure here; the kernel drops the lock with the fd anyway.
            let _ = self.pa.file.unlock();
        }
    }
}

/// How long a round waiter spins before it starts sleeping.
const SPIN_BEFORE_SLEEP: Duration = Duration::from_micros(100);

impl ParamArray {
    /// Create the array at `path` (exclusively, mode 0600) holding `initial`; this handle owns it.
    pub fn create(
        path: impl AsRef<Path>,
        n: usize,
        initial: &[f64],
    ) -> Result<ParamArray, ParamArrayError> {
        ParamArray::create_with_slots(path, n, initial, 0)
    }

    /// Create the array with `slots` averaging slots (one per trainer in `average` mode).
    pub fn create_with_slots(
        path: impl AsRef<Path>,
        n: usize,
        initial: &[f64],
        slots: usize,
    ) -> Result<ParamArray, ParamArrayError> {
        ParamArray::create_at(path, n, initial, slots, 0)
    }

    /// Create the array holding `initial` as the parameters of averaging round `round` (a run
    /// resumed from a checkpoint): shards opening it start at that round, no slot has
    /// contributed to it yet.
    pub fn create_at(
        path: impl AsRef<Path>,
        n: usize,
        initial: &[f64],
        slots: usize,
        round: u64,
    ) -> Result<ParamArray, ParamArrayError> {
        let path = path.as_ref().to_path_buf();
        if n == 0 {
            return Err(ParamArrayError::Size {
                path,
                reason: "n must be at least 1".into(),
            });
        }
        if initial.len() != n {
            return Err(ParamArrayError::Length {
                path,
                what: "initial values",
                expected: n,
                found: initial.len(),
            });
        }
        let Some(layout) = Layout::new(n, slots) else {
            return Err(ParamArrayError::Size {
                path,
                reason: format!("{n} values × {slots} slots overflow"),
            });
        };
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(ParamArrayError::Exists { path });
            }
            Err(e) => {
                return Err(ParamArrayError::Io {
                    path,
                    op: "create",
                    source: e,
                });
            }
        };
        // From here on a failure must not leave the file behind: remove it before returning.
        let made = (|| {
            file.set_len(layout.bytes() as u64)
                .map_err(|e| ("set the size of", e))?;
            MmapRaw::map_raw(&file).map_err(|e| ("map", e))
        })();
        let map = match made {
            Ok(m) => m,
            Err((op, source)) => {
                let _ = std::fs::remove_file(&path);
                return Err(ParamArrayError::Io { path, op, source });
            }
        };
        let pa = ParamArray {
            path,
            file,
            map,
            layout,
            owner: AtomicBool::new(true),
            local: Mutex::new(Vec::new()),
        };
        let w = pa.words();
        w[H_FORMAT].store(FORMAT, Ordering::Relaxed);
        w[H_N].store(n as u64, Ordering::Relaxed);
        w[H_SLOTS].store(slots as u64, Ordering::Relaxed);
        for (cell, x) in pa.buffer(0).iter().zip(initial) {
            cell.store(x.to_bits(), Ordering::Relaxed);
        }
        pa.set_meta(0, META_ROUND, round);
        // Otherwise the file starts zeroed: seq 0, merges 0, marks 0 (a mark is a round + 1, so
        // no slot has contributed to `round` or any later one).
        // The magic goes last so that an `open` racing with us sees "not initialised", not garbage.
        w[H_MAGIC].store(MAGIC, Ordering::Release);
        Ok(pa)
    }

    /// Open an existing array by path (each process opens it itself); this handle does not own it.
    pub fn open(path: impl AsRef<Path>) -> Result<ParamArray, ParamArrayError> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| ParamArrayError::Io {
                path: path.clone(),
                op: "open",
                source: e,
            })?;
        let len = file
            .metadata()
            .map_err(|e| ParamArrayError::Io {
                path: path.clone(),
                op: "read the metadata of",
                source: e,
            })?
            .len();
        let format_err = |reason: String| ParamArrayError::Format {
            path: path.clone(),
            reason,
        };
        if len < (PAGE_WORDS * 8) as u64 {
            return Err(format_err(format!(
                "{len} bytes is shorter than the header"
            )));
        }
        let map = MmapRaw::map_raw(&file).map_err(|e| ParamArrayError::Io {
            path: path.clone(),
            op: "map",
            source: e,
        })?;
        // SAFETY: the mapping is page-aligned and at least one page long (checked above); the
        // header words are only accessed atomically.
        let header =
            unsafe { std::slice::from_raw_parts(map.as_ptr().cast::<AtomicU64>(), PAGE_WORDS) };
        if header[H_MAGIC].load(Ordering::Acquire) != MAGIC {
            return Err(format_err(
                "bad magic (not a cohort parameter array, or not initialised yet)".into(),
            ));
        }
        let format = header[H_FORMAT].load(Ordering::Relaxed);
        if format != FORMAT {
            return Err(format_err(format!(
                "layout version {format}, this build reads {FORMAT}"
            )));
        }
        let n = header[H_N].load(Ordering::Relaxed);
        let slots = header[H_SLOTS].load(Ordering::Relaxed);
        let layout = usize::try_from(n)
            .ok()
            .zip(usize::try_from(slots).ok())
            .filter(|&(n, _)| n > 0)
            .and_then(|(n, s)| Layout::new(n, s))
            .ok_or_else(|| format_err(format!("header says n = {n}, slots = {slots}")))?;
        if layout.bytes() as u64 != len || map.len() != layout.bytes() {
            return Err(format_err(format!(
                "file is {len} bytes, n = {n} and slots = {slots} need {}",
                layout.bytes()
            )));
        }
        Ok(ParamArray {
            path,
            file,
            map,
            layout,
            owner: AtomicBool::new(false),
            local: Mutex::new(Vec::new()),
        })
    }

    /// The conventional location of an array named `name`: `/dev/shm/name`.
    pub fn shm_path(name: &str) -> PathBuf {
        Path::new("/dev/shm").join(name)
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.layout.n
    }

    /// Always false: an array holds at least one parameter (kept for clippy's `len` convention).
    pub fn is_empty(&self) -> bool {
        self.layout.n == 0
    }

    /// Number of averaging slots (0 unless made by `create_with_slots`).
    pub fn slots(&self) -> usize {
        self.layout.slots
    }

    /// Whether this handle removes the file when dropped.
    pub fn is_owner(&self) -> bool {
        self.owner.load(Ordering::Relaxed)
    }

    /// Remove the file now (any handle may; idempotent). Mappings stay valid until dropped.
    pub fn remove(&self) -> Result<(), ParamArrayError> {
        self.owner.store(false, Ordering::Relaxed);
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(self.io("remove", e)),
            _ => Ok(()),
        }
    }

    // ---------------------------------------------------------------- locked operations

    /// Add `delta` to every parameter under the lock: one merge.
    pub fn add(&self, delta: &[f64]) -> Result<(), ParamArrayError> {
        self.check_len("delta", delta.len())?;
        let held = self.acquire()?;
        self.publish(1, |cur, next| {
            // Two halves with a test-only pause point between them: the crash test stops a
            // holder exactly here, with half of the new version written.
            let half = delta.len() / 2;
            add_into(&cur[..half], &delta[..half], &next[..half]);
            #[cfg(test)]
            tests::pause_point(tests::Pause::MidWrite);
            add_into(&cur[half..], &delta[half..], &next[half..]);
        });
        held.release()
    }

    /// The `locked` mode step: shared += `local − base`, then `local` and `base` both become
    /// the merged parameters (one merge, one pass, under the lock).
    pub fn merge_local(&self, local: &mut [f64], base: &mut [f64]) -> Result<(), ParamArrayError> {
        self.check_len("local parameters", local.len())?;
        self.check_len("base parameters", base.len())?;
        let held = self.acquire()?;
        self.publish(1, |cur, next| {
            for (((c, nx), l), b) in cur
                .iter()
                .zip(next)
                .zip(local.iter_mut())
                .zip(base.iter_mut())
            {
                let merged = load(c) + (*l - *b);
                nx.store(merged.to_bits(), Ordering::Relaxed);
                *l = merged;
                *b = merged;
            }
        });
        held.release()
    }

    /// Overwrite the parameters with `values` under the lock (counts as a merge).
    pub fn store(&self, values: &[f64]) -> Result<(), ParamArrayError> {
        self.check_len("values", values.len())?;
        let held = self.acquire()?;
        self.publish(1, |_, next| {
            for (nx, v) in next.iter().zip(values) {
                nx.store(v.to_bits(), Ordering::Relaxed);
            }
        });
        held.release()
    }

    /// Run `f` on a copy of the current parameters under the lock, then publish the result as
    /// one merge. A panic in `f` publishes nothing and releases the lock.
    pub fn with_lock<R>(&self, f: impl FnOnce(&mut [f64]) -> R) -> Result<R, ParamArrayError> {
        let mut held = self.acquire()?;
        let v = self.seq().load(Ordering::Relaxed) / 2;
        let scratch = &mut *held.scratch;
        scratch.clear();
        scratch.extend(self.buffer(v).iter().map(load));
        let out = f(scratch);
        let values: &[f64] = scratch;
        self.publish(1, |_, next| {
            for (nx, v) in next.iter().zip(values) {
                nx.store(v.to_bits(), Ordering::Relaxed);
            }
        });
        held.release()?;
        Ok(out)
    }

    // ---------------------------------------------------------------- averaging rounds

    /// `average` mode: store `params` as slot `slot`'s contribution to round `round`; the last
    /// contributor of the round publishes the slot-order mean as the next round.
    pub fn contribute(
        &self,
        slot: usize,
        round: u64,
        params: &[f64],
    ) -> Result<RoundStatus, ParamArrayError> {
        self.check_len("contributed parameters", params.len())?;
        if slot >= self.layout.slots {
            return Err(ParamArrayError::Slot {
                path: self.path.clone(),
                slot,
                slots: self.layout.slots,
            });
        }
        let held = self.acquire()?;
        let current = self.meta(self.seq().load(Ordering::Relaxed) / 2, META_ROUND);
        if current != round {
            return Err(ParamArrayError::Round {
                path: self.path.clone(),
                given: round,
                current,
            });
        }
        let mark = &self.marks()[slot];
        if mark.load(Ordering::Relaxed) == round + 1 {
            return Err(ParamArrayError::AlreadyContributed {
                path: self.path.clone(),
                slot,
                round,
            });
        }
        for (cell, p) in self.slot(slot).iter().zip(params) {
            cell.store(p.to_bits(), Ordering::Relaxed);
        }
        // Marked only once the slot is whole: a contributor killed before this line has not
        // contributed, and its replacement may write the slot again.
        mark.store(round + 1, Ordering::Release);
        #[cfg(test)]
        tests::pause_point(tests::Pause::AfterMark);
        let status = match self.publish_round_if_complete(round) {
            Some(next) => RoundStatus::Published { round: next },
            None => RoundStatus::Waiting {
                arrived: self.arrived(round),
            },
        };
        held.release()?;
        Ok(status)
    }

    /// Whether slot `slot` has contributed to round `round` (a respawned `average` trainer
    /// must then wait for the round instead of contributing again).
    pub fn contributed(&self, slot: usize, round: u64) -> Result<bool, ParamArrayError> {
        if slot >= self.layout.slots {
            return Err(ParamArrayError::Slot {
                path: self.path.clone(),
                slot,
                slots: self.layout.slots,
            });
        }
        Ok(self.marks()[slot].load(Ordering::Acquire) == round + 1)
    }

    /// Wait (polling, no lock) until the round is at least `round`, then copy the parameters
    /// into `out`; `Ok(None)` after `timeout` (so the caller can check on its peers).
    ///
    /// A waiter that sees a publisher died mid-average (odd `seq` with the lock free) takes the
    /// lock, repairs and publishes the round itself.
    pub fn wait_round(
        &self,
        round: u64,
        out: &mut [f64],
        timeout: Duration,
    ) -> Result<Option<Snapshot>, ParamArrayError> {
        self.check_len("output", out.len())?;
        let start = Instant::now();
        let mut pause = Duration::from_micros(10);
        loop {
            let current = self.round();
            if current >= round {
                return self.snapshot(out).map(Some);
            }
            // Odd seq, or a complete but unpublished round, with the lock free means its
            // holder died: acquiring recovers (repairs, then publishes the round).
            let torn = !self.seq().load(Ordering::Acquire).is_multiple_of(2);
            let complete = self.layout.slots > 0 && self.arrived(current) == self.layout.slots;
            if (torn || complete)
                && let Some(held) = self.try_acquire()?
            {
                held.release()?;
                continue;
            }
            let waited = start.elapsed();
            if waited >= timeout {
                return Ok(None);
            }
            // Rounds usually complete within microseconds of each other: spin briefly (each
            // trainer owns its core), then sleep in short steps so a late peer costs little.
            if waited < SPIN_BEFORE_SLEEP {
                std::thread::yield_now();
                continue;
            }
            std::thread::sleep(pause.min(timeout.saturating_sub(waited)));
            pause = (pause * 2).min(Duration::from_micros(200));
        }
    }

    // ---------------------------------------------------------------- lock-free operations

    /// Copy a consistent version of the parameters into `out` without the lock (seqlock).
    pub fn snapshot(&self, out: &mut [f64]) -> Result<Snapshot, ParamArrayError> {
        self.check_len("output", out.len())?;
        let mut tries = 0u32;
        loop {
            let s1 = self.seq().load(Ordering::Acquire);
            // Odd s1: version v + 1 is being written into the other buffer; v is still whole.
            let v = s1 / 2;
            for (o, c) in out.iter_mut().zip(self.buffer(v)) {
                *o = load(c);
            }
            let merges = self.meta(v, META_MERGES);
            let round = self.meta(v, META_ROUND);
            fence(Ordering::Acquire);
            let s2 = self.seq().load(Ordering::Relaxed);
            // Buffer v % 2 is next overwritten by the writer of version v + 2, which first
            // moves seq to 2v + 3: anything below that means our copy is whole.
            if s2 < 2 * v + 3 {
                let hogwild = self.words()[H_HOGWILD].load(Ordering::Relaxed);
                return Ok(Snapshot {
                    version: v,
                    merges: merges + hogwild,
                    round,
                });
            }
            tries += 1;
            if tries.is_multiple_of(16) {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }

    /// `hogwild` mode: add `delta` to the current parameters with no lock (updates may be lost
    /// to concurrent writers, by design).
    pub fn hogwild_add(&self, delta: &[f64]) -> Result<(), ParamArrayError> {
        self.check_len("delta", delta.len())?;
        let v = self.seq().load(Ordering::Acquire) / 2;
        for (c, d) in self.buffer(v).iter().zip(delta) {
            c.store((load(c) + d).to_bits(), Ordering::Relaxed);
        }
        self.words()[H_HOGWILD].fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// `hogwild` mode step: shared += `local − base` with no lock, then `local` and `base`
    /// both become the shared parameters as read back.
    pub fn hogwild_merge_local(
        &self,
        local: &mut [f64],
        base: &mut [f64],
    ) -> Result<(), ParamArrayError> {
        self.check_len("local parameters", local.len())?;
        self.check_len("base parameters", base.len())?;
        let v = self.seq().load(Ordering::Acquire) / 2;
        for ((c, l), b) in self
            .buffer(v)
            .iter()
            .zip(local.iter_mut())
            .zip(base.iter_mut())
        {
            let merged = load(c) + (*l - *b);
            c.store(merged.to_bits(), Ordering::Relaxed);
            *l = merged;
            *b = merged;
        }
        self.words()[H_HOGWILD].fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Merges so far (locked merges plus hogwild updates), for merges-per-second reporting.
    pub fn merges(&self) -> u64 {
        self.read_meta().0
    }

    /// Completed averaging rounds.
    pub fn round(&self) -> u64 {
        self.read_meta().1
    }

    /// The current version number (locked publications so far, repairs included).
    pub fn version(&self) -> u64 {
        self.seq().load(Ordering::Acquire) / 2
    }

    /// How many torn merges (writers killed mid-merge) have been repaired.
    pub fn repairs(&self) -> u64 {
        self.words()[H_REPAIRS].load(Ordering::Relaxed)
    }

    /// Claim `token` (taken modulo 64) for the life of the array: true for the first caller in any
    /// process, false for every later one. Fault injection uses it so that a fault fires in the
    /// first trainer that reaches it and not again in the trainer respawned after it.
    pub fn claim_once(&self, token: u32) -> bool {
        let bit = 1u64 << (token % 64);
        self.words()[H_CLAIMS].fetch_or(bit, Ordering::AcqRel) & bit == 0
    }

    /// Whether `token` (taken modulo 64) has been claimed, without claiming it.
    pub fn claimed(&self, token: u32) -> bool {
        let bit = 1u64 << (token % 64);
        self.words()[H_CLAIMS].load(Ordering::Acquire) & bit != 0
    }

    // ---------------------------------------------------------------- internals

    /// All the shared words.
    fn words(&self) -> &[AtomicU64] {
        // SAFETY: the mapping is page-aligned, exactly `layout.words` u64 long (checked at
        // create/open), and lives as long as `self`. AtomicU64 has u64's size and alignment,
        // and this process touches the shared bytes only through these atomics.
        unsafe {
            std::slice::from_raw_parts(self.map.as_ptr().cast::<AtomicU64>(), self.layout.words)
        }
    }

    fn seq(&self) -> &AtomicU64 {
        &self.words()[H_SEQ]
    }

    /// The buffer holding version `version`.
    fn buffer(&self, version: u64) -> &[AtomicU64] {
        let start = self.layout.buffers[(version % 2) as usize];
        &self.words()[start..start + self.layout.n]
    }

    fn marks(&self) -> &[AtomicU64] {
        &self.words()[self.layout.marks..self.layout.marks + self.layout.slots]
    }

    fn slot(&self, i: usize) -> &[AtomicU64] {
        let start = self.layout.slot0 + i * self.layout.stride;
        &self.words()[start..start + self.layout.n]
    }

    /// A meta field of version `version`.
    fn meta(&self, version: u64, field: usize) -> u64 {
        self.words()[H_META[(version % 2) as usize] + field].load(Ordering::Relaxed)
    }

    fn set_meta(&self, version: u64, field: usize, value: u64) {
        self.words()[H_META[(version % 2) as usize] + field].store(value, Ordering::Relaxed);
    }

    /// (merges, round) of a consistent version, read like a snapshot.
    fn read_meta(&self) -> (u64, u64) {
        loop {
            let s1 = self.seq().load(Ordering::Acquire);
            let v = s1 / 2;
            let merges = self.meta(v, META_MERGES);
            let round = self.meta(v, META_ROUND);
            fence(Ordering::Acquire);
            if self.seq().load(Ordering::Relaxed) < 2 * v + 3 {
                return (
                    merges + self.words()[H_HOGWILD].load(Ordering::Relaxed),
                    round,
                );
            }
            std::hint::spin_loop();
        }
    }

    fn io(&self, op: &'static str, source: io::Error) -> ParamArrayError {
        ParamArrayError::Io {
            path: self.path.clone(),
            op,
            source,
        }
    }

    fn check_len(&self, what: &'static str, found: usize) -> Result<(), ParamArrayError> {
        if found == self.layout.n {
            Ok(())
        } else {
            Err(ParamArrayError::Length {
                path: self.path.clone(),
                what,
                expected: self.layout.n,
                found,
            })
        }
    }

    /// Take the lock (blocking), then repair a torn merge left by a dead holder.
    fn acquire(&self) -> Result<Held<'_>, ParamArrayError> {
        let scratch = self.local.lock().unwrap_or_else(PoisonError::into_inner);
        self.file.lock().map_err(|e| self.io("lock", e))?;
        let held = Held {
            pa: self,
            scratch,
            locked: true,
        };
        self.recover();
        Ok(held)
    }

    /// Take the lock if it is free right now (then repair as `acquire` does).
    fn try_acquire(&self) -> Result<Option<Held<'_>>, ParamArrayError> {
        let scratch = match self.local.try_lock() {
            Ok(g) => g,
            Err(MutexTryLockError::Poisoned(p)) => p.into_inner(),
            Err(MutexTryLockError::WouldBlock) => return Ok(None),
        };
        match self.file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(None),
            Err(TryLockError::Error(e)) => return Err(self.io("lock", e)),
        }
        let held = Held {
            pa: self,
            scratch,
            locked: true,
        };
        self.recover();
        Ok(Some(held))
    }

    /// Under the lock: if the previous holder died mid-write (odd seq), publish the last whole
    /// version again as the next one.
    fn repair_if_torn(&self) {
        let s = self.seq().load(Ordering::Acquire);
        if s.is_multiple_of(2) {
            return;
        }
        let v = s / 2;
        // seq is already odd, so readers of the buffer we overwrite will retry.
        fence(Ordering::Release);
        for (c, nx) in self.buffer(v).iter().zip(self.buffer(v + 1)) {
            nx.store(c.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        self.set_meta(v + 1, META_MERGES, self.meta(v, META_MERGES));
        self.set_meta(v + 1, META_ROUND, self.meta(v, META_ROUND));
        self.seq().store(s + 1, Ordering::Release);
        self.words()[H_REPAIRS].fetch_add(1, Ordering::Relaxed);
    }

    /// Under the lock: repair a torn merge, then publish a round whose contributions are all
    /// in (its last contributor died after marking its slot, before or while publishing).
    fn recover(&self) {
        self.repair_if_torn();
        if self.layout.slots > 0 {
            let round = self.meta(self.seq().load(Ordering::Relaxed) / 2, META_ROUND);
            self.publish_round_if_complete(round);
        }
    }

    /// Under the lock, with seq even: write version v + 1 with `fill(current, next)` and
    /// publish it, counting `merges` merges.
    fn publish(&self, merges: u64, fill: impl FnOnce(&[AtomicU64], &[AtomicU64])) {
        self.publish_with_round(merges, 0, fill);
    }

    fn publish_with_round(
        &self,
        merges: u64,
        rounds: u64,
        fill: impl FnOnce(&[AtomicU64], &[AtomicU64]),
    ) {
        let s = self.seq().load(Ordering::Relaxed);
        debug_assert!(s.is_multiple_of(2), "publish with a torn version");
        let v = s / 2;
        // The odd value is an RMW so that it extends the release sequence of the store that
        // published version v (a reader acquiring 2v + 1 still sees version v whole).
        self.seq().fetch_add(1, Ordering::Relaxed);
        fence(Ordering::Release);
        fill(self.buffer(v), self.buffer(v + 1));
        self.set_meta(v + 1, META_MERGES, self.meta(v, META_MERGES) + merges);
        self.set_meta(v + 1, META_ROUND, self.meta(v, META_ROUND) + rounds);
        self.seq().store(s + 2, Ordering::Release);
    }

    /// Slots that have contributed to `round`.
    fn arrived(&self, round: u64) -> usize {
        self.marks()
            .iter()
            .filter(|m| m.load(Ordering::Acquire) == round + 1)
            .count()
    }

    /// Under the lock: if every slot contributed to `round`, publish their mean (summed in slot
    /// order, so arrival order does not change a bit) as round + 1; returns the new round.
    fn publish_round_if_complete(&self, round: u64) -> Option<u64> {
        if self.arrived(round) < self.layout.slots {
            return None;
        }
        let slots = self.layout.slots;
        self.publish_with_round(1, 1, |_, next| {
            let half = self.layout.n / 2;
            self.average_slots(0..half, next);
            #[cfg(test)]
            tests::pause_point(tests::Pause::MidWrite);
            self.average_slots(half..self.layout.n, next);
        });
        debug_assert!(slots > 0);
        Some(round + 1)
    }

    fn average_slots(&self, range: std::ops::Range<usize>, next: &[AtomicU64]) {
        let scale = 1.0 / self.layout.slots as f64;
        for j in range {
            let mut sum = 0.0;
            for i in 0..self.layout.slots {
                sum += load(&self.slot(i)[j]);
            }
            next[j].store((sum * scale).to_bits(), Ordering::Relaxed);
        }
    }
}

impl Drop for ParamArray {
    fn drop(&mut self) {
        if self.owner.load(Ordering::Relaxed) {
            // Best effort: a leftover file is reported by the next `create` (Exists).
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Read one f64 cell.
fn load(c: &AtomicU64) -> f64 {
    f64::from_bits(c.load(Ordering::Relaxed))
}

/// next[i] = cur[i] + delta[i].
fn add_into(cur: &[AtomicU64], delta: &[f64], next: &[AtomicU64]) {
    for ((c, d), nx) in cur.iter().zip(delta).zip(next) {
        nx.store((load(c) + d).to_bits(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Child, Command, Stdio};
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::sync::mpsc;

    /// Where a child process told to pause stops (see `pause_point`).
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub(super) enum Pause {
        /// Nowhere.
        Never = 0,
        /// Half-way through writing a new version (merge or round average).
        MidWrite = 1,
        /// After marking an averaging slot, before publishing the round.
        AfterMark = 2,
    }

    /// Set in a child process to make it stop at a pause point.
    static PAUSE: AtomicUsize = AtomicUsize::new(Pause::Never as usize);

    /// A point where a crash test stops a lock holder. In a child told to pause here, announce
    /// it on stdout and sleep until the parent kills us.
    pub(super) fn pause_point(at: Pause) {
        if at != Pause::Never && PAUSE.load(Ordering::Relaxed) == at as usize {
            println!("COHORT_CHILD_PAUSED");
            std::thread::sleep(Duration::from_secs(60));
            std::process::exit(3);
        }
    }

    const ROLE: &str = "COHORT_PA_CHILD_ROLE";
    const PATH: &str = "COHORT_PA_CHILD_PATH";
    const REPS: &str = "COHORT_PA_CHILD_REPS";
    const GO: &str = "COHORT_PA_CHILD_GO";

    /// A unique /dev/shm path for one test.
    fn shm(name: &str) -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let k = N.fetch_add(1, Ordering::Relaxed);
        ParamArray::shm_path(&format!("cohort-test-{}-{name}-{k}", std::process::id()))
    }

    /// Run this test binary again as a child that executes `child_role` with `role`.
    fn spawn_child(role: &str, path: &Path, reps: usize, go: &Path) -> Child {
        let name = concat!(module_path!(), "::child_role");
        let name = name.split_once("::").map_or(name, |(_, rest)| rest);
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env(ROLE, role)
            .env(PATH, path)
            .env(REPS, reps.to_string())
            .env(GO, go)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap()
    }

    /// Wait for a child's exit and its stdout lines.
    fn finish(child: Child) -> Vec<String> {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "child failed: {:?}\n{text}",
            out.status
        );
        text.lines().map(str::to_owned).collect()
    }

    /// Read a child's stdout until it reports it paused mid-merge (or fail after 10 s).
    fn wait_paused(child: &mut Child) {
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.contains("COHORT_CHILD_PAUSED") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("child never paused mid-merge");
    }

    /// Wait for the parent's go file so that all children start merging together.
    fn wait_go(go: &Path) {
        let start = Instant::now();
        while !go.exists() {
            assert!(start.elapsed() < Duration::from_secs(10), "no go signal");
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// The child side of the multi-process tests; does nothing when run as a normal test.
    #[test]
    fn child_role() {
        let Ok(role) = std::env::var(ROLE) else {
            return;
        };
        let path = PathBuf::from(std::env::var(PATH).unwrap());
        let reps: usize = std::env::var(REPS).unwrap().parse().unwrap();
        let go = PathBuf::from(std::env::var(GO).unwrap());
        let pa = ParamArray::open(&path).unwrap();
        let ones = vec![1.0; pa.len()];
        match role.as_str() {
            "locked_add" => {
                wait_go(&go);
                for _ in 0..reps {
                    pa.add(&ones).unwrap();
                }
            }
            "hogwild_add" => {
                wait_go(&go);
                for _ in 0..reps {
                    pa.hogwild_add(&ones).unwrap();
                }
            }
            "pause_mid_add" => {
                pa.add(&ones).unwrap();
                PAUSE.store(Pause::MidWrite as usize, Ordering::Relaxed);
                pa.add(&ones).unwrap();
                unreachable!("the pause point exits");
            }
            "pause_mid_average" | "pause_after_mark" => {
                let at = if role == "pause_mid_average" {
                    Pause::MidWrite
                } else {
                    Pause::AfterMark
                };
                PAUSE.store(at as usize, Ordering::Relaxed);
                let twos = vec![2.0; pa.len()];
                pa.contribute(1, 0, &twos).unwrap();
                unreachable!("the pause point exits");
            }
            other => panic!("unknown child role {other}"),
        }
    }

    /// Start `s` children in `role`, each doing `reps` merges of +1 on every element, and
    /// return the final array.
    fn run_children(role: &str, s: usize, reps: usize, n: usize) -> (Vec<f64>, Snapshot) {
        let path = shm(role);
        let go = path.with_extension("go");
        let pa = ParamArray::create(&path, n, &vec![0.0; n]).unwrap();
        let children: Vec<Child> = (0..s)
            .map(|_| spawn_child(role, &path, reps, &go))
            .collect();
        std::fs::write(&go, b"go").unwrap();
        for c in children {
            finish(c);
        }
        let _ = std::fs::remove_file(&go);
        let mut out = vec![0.0; n];
        let snap = pa.snapshot(&mut out).unwrap();
        (out, snap)
    }

    #[test]
    fn locked_adds_from_several_processes_are_all_counted_exactly() {
        let (s, k, n) = (3, 2000, 4096);
        let started = Instant::now();
        let (out, snap) = run_children("locked_add", s, k, n);
        let expected = (s * k) as f64;
        assert!(
            out.iter().all(|&x| x == expected),
            "some element differs from S·K = {expected}"
        );
        assert_eq!(snap.merges, (s * k) as u64);
        assert_eq!(snap.version, (s * k) as u64);
        println!(
            "locked: {s} processes × {k} merges of {n} f64: every element = {expected} (exact); {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        );
    }

    /// The share of element updates hogwild may lose with two writers: the README measures
    /// 0.01–0.09 %, and up to 0.5 % was seen here on a loaded 2-core machine (the writers are
    /// then descheduled in lockstep more often); 5 % leaves a tenfold margin over that and still
    /// fails a writer that adds to a stale copy (which loses about half the updates).
    const HOGWILD_MAX_LOST: f64 = 0.05;

    #[test]
    fn hogwild_adds_without_the_lock_lose_at_most_five_percent_of_updates_and_never_add_any() {
        let (s, k, n) = (2, 3000, 4096);
        let (out, snap) = run_children("hogwild_add", s, k, n);
        let expected = (s * k) as f64;
        assert!(
            out.iter().all(|&x| x <= expected),
            "more updates than were made"
        );
        let lost: f64 = out.iter().map(|x| expected - x).sum();
        let short = out.iter().filter(|&&x| x < expected).count();
        let lost_share = lost / (expected * n as f64);
        println!(
            "hogwild: {s} processes × {k} lock-free adds of {n} f64: {short} of {n} elements short, \
             {lost} of {} updates lost ({:.3}%)",
            expected * n as f64,
            100.0 * lost_share
        );
        assert!(
            lost_share <= HOGWILD_MAX_LOST,
            "lost {:.3}% of updates, more than the documented {:.0}%",
            100.0 * lost_share,
            100.0 * HOGWILD_MAX_LOST
        );
        assert_eq!(snap.merges, (s * k) as u64);
    }

    #[test]
    fn an_array_created_at_a_round_is_opened_at_that_round_with_its_parameters() {
        let path = shm("at");
        let _pa = ParamArray::create_at(&path, 3, &[1.0, 2.0, 3.0], 2, 6).unwrap();
        let shard = ParamArray::open(&path).unwrap();
        let mut out = vec![0.0; 3];
        let snap = shard.snapshot(&mut out).unwrap();
        assert_eq!(out, vec![1.0, 2.0, 3.0]);
        assert_eq!((snap.round, snap.merges, snap.version), (6, 0, 0));
        assert!(!shard.contributed(0, 6).unwrap() && !shard.contributed(1, 6).unwrap());
    }

    #[test]
    fn an_array_created_at_a_round_takes_contributions_to_that_round_only() {
        let path = shm("at-round");
        let pa = ParamArray::create_at(&path, 2, &[0.0; 2], 2, 6).unwrap();
        assert!(matches!(
            pa.contribute(0, 5, &[1.0; 2]),
            Err(ParamArrayError::Round {
                given: 5,
                current: 6,
                ..
            })
        ));
        pa.contribute(0, 6, &[1.0; 2]).unwrap();
        assert_eq!(
            pa.contribute(1, 6, &[3.0; 2]).unwrap(),
            RoundStatus::Published { round: 7 }
        );
        let mut out = vec![0.0; 2];
        assert_eq!(pa.snapshot(&mut out).unwrap().round, 7);
        assert_eq!(out, vec![2.0, 2.0]);
    }

    #[test]
    fn contributed_tells_whether_a_slot_is_in_the_current_round() {
        let path = shm("contributed");
        let pa = ParamArray::create_with_slots(&path, 2, &[0.0; 2], 2).unwrap();
        pa.contribute(1, 0, &[1.0; 2]).unwrap();
        assert!(pa.contributed(1, 0).unwrap());
        assert!(!pa.contributed(0, 0).unwrap());
        assert!(!pa.contributed(1, 1).unwrap());
        assert!(matches!(
            pa.contributed(2, 0),
            Err(ParamArrayError::Slot { slot: 2, .. })
        ));
    }

    #[test]
    fn a_token_is_claimed_once_across_handles() {
        let path = shm("claim");
        let pa = ParamArray::create(&path, 1, &[0.0]).unwrap();
        let other = ParamArray::open(&path).unwrap();
        assert!(pa.claim_once(3));
        assert!(
            !other.claim_once(3),
            "a second handle claimed the same token"
        );
        assert!(!pa.claim_once(3));
        assert!(!other.claimed(4));
        assert!(other.claim_once(4), "tokens are independent");
        assert!(pa.claimed(4) && pa.claimed(3) && !pa.claimed(5));
    }

    #[test]
    fn a_holder_killed_mid_merge_releases_the_lock_and_readers_see_the_last_whole_merge() {
        let n = 10_000;
        let path = shm("kill");
        let pa = Arc::new(ParamArray::create(&path, n, &vec![0.0; n]).unwrap());
        let mut child = spawn_child("pause_mid_add", &path, 0, Path::new("/nonexistent"));
        wait_paused(&mut child);
        // The child holds the lock with half of merge 2 written: seq is odd.
        assert_eq!(pa.seq().load(Ordering::Acquire), 3);
        let mut out = vec![0.0; n];
        let snap = pa.snapshot(&mut out).unwrap();
        assert!(
            out.iter().all(|&x| x == 1.0),
            "a reader saw part of the torn merge"
        );
        assert_eq!((snap.version, snap.merges), (1, 1));
        child.kill().unwrap();
        child.wait().unwrap();

        // The next holder gets the lock (not a deadlock) and repairs before merging.
        let (tx, rx) = mpsc::channel();
        let pa2 = Arc::clone(&pa);
        std::thread::spawn(move || tx.send(pa2.add(&vec![1.0; n])));
        rx.recv_timeout(Duration::from_secs(5))
            .expect("lock never released")
            .unwrap();
        assert_eq!(pa.repairs(), 1);
        let snap = pa.snapshot(&mut out).unwrap();
        assert!(
            out.iter().all(|&x| x == 2.0),
            "the torn merge leaked into the repaired state"
        );
        assert_eq!(snap.merges, 2);
        assert_eq!(snap.version, 3, "versions: merge 1, repair, merge 3");
    }

    #[test]
    fn a_publisher_killed_mid_average_is_repaired_by_a_waiter_that_publishes_the_round() {
        let n = 5_000;
        let path = shm("kill-avg");
        let pa = ParamArray::create_with_slots(&path, n, &vec![0.0; n], 2).unwrap();
        assert_eq!(
            pa.contribute(0, 0, &vec![1.0; n]).unwrap(),
            RoundStatus::Waiting { arrived: 1 }
        );
        let mut child = spawn_child("pause_mid_average", &path, 0, Path::new("/nonexistent"));
        wait_paused(&mut child);
        child.kill().unwrap();
        child.wait().unwrap();
        let mut out = vec![0.0; n];
        let snap = pa
            .wait_round(1, &mut out, Duration::from_secs(5))
            .unwrap()
            .expect("round never published");
        assert!(
            out.iter().all(|&x| x == 1.5),
            "expected the mean of 1 and 2"
        );
        assert_eq!(snap.round, 1);
        assert_eq!(pa.repairs(), 1);
    }

    #[test]
    fn a_last_contributor_killed_before_publishing_leaves_a_round_that_a_waiter_publishes() {
        let n = 3_000;
        let path = shm("kill-mark");
        let pa = ParamArray::create_with_slots(&path, n, &vec![0.0; n], 2).unwrap();
        pa.contribute(0, 0, &vec![1.0; n]).unwrap();
        let mut child = spawn_child("pause_after_mark", &path, 0, Path::new("/nonexistent"));
        wait_paused(&mut child);
        child.kill().unwrap();
        child.wait().unwrap();
        // Both slots are marked, seq is even: nothing is torn, the round is just unpublished.
        assert!(pa.seq().load(Ordering::Acquire).is_multiple_of(2));
        let mut out = vec![0.0; n];
        let snap = pa
            .wait_round(1, &mut out, Duration::from_secs(5))
            .unwrap()
            .expect("round never published");
        assert!(out.iter().all(|&x| x == 1.5));
        assert_eq!((snap.round, pa.repairs()), (1, 0));
    }

    #[test]
    fn snapshots_never_return_a_torn_merge() {
        let n = 20_000;
        let path = shm("torn");
        let pa = ParamArray::create(&path, n, &vec![0.0; n]).unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (path, done) = (path.clone(), Arc::clone(&done));
                std::thread::spawn(move || {
                    let pa = ParamArray::open(&path).unwrap();
                    let mut out = vec![0.0; n];
                    let (mut reads, mut last) = (0u64, 0u64);
                    while !done.load(Ordering::Relaxed) {
                        let snap = pa.snapshot(&mut out).unwrap();
                        assert!(
                            out.iter().all(|&x| x == out[0]),
                            "torn snapshot at version {}",
                            snap.version
                        );
                        assert_eq!(
                            out[0], snap.version as f64,
                            "values belong to another version"
                        );
                        assert!(snap.version >= last, "versions went backwards");
                        last = snap.version;
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();
        let writer = ParamArray::open(&path).unwrap();
        let mut values = vec![0.0; n];
        for m in 1..=1500 {
            values.fill(m as f64);
            writer.store(&values).unwrap();
        }
        done.store(true, Ordering::Relaxed);
        let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
        assert!(reads > 0);
        assert_eq!(pa.merges(), 1500);
    }

    #[test]
    fn an_average_round_publishes_the_slot_order_mean_once_every_slot_contributed() {
        let n = 1000;
        let path = shm("avg");
        let pa = ParamArray::create_with_slots(&path, n, &vec![0.0; n], 3).unwrap();
        let other = ParamArray::open(&path).unwrap();
        let a: Vec<f64> = (0..n).map(|i| i as f64 * 0.1).collect();
        let b: Vec<f64> = (0..n).map(|i| 1.0 / (i + 1) as f64).collect();
        let c: Vec<f64> = (0..n).map(|i| -(i as f64).sqrt()).collect();
        assert_eq!(
            other.contribute(2, 0, &c).unwrap(),
            RoundStatus::Waiting { arrived: 1 }
        );
        assert_eq!(
            pa.contribute(0, 0, &a).unwrap(),
            RoundStatus::Waiting { arrived: 2 }
        );
        let mut out = vec![0.0; n];
        assert_eq!(
            pa.wait_round(1, &mut out, Duration::from_millis(5))
                .unwrap(),
            None
        );
        assert!(matches!(
            pa.contribute(0, 0, &a),
            Err(ParamArrayError::AlreadyContributed {
                slot: 0,
                round: 0,
                ..
            })
        ));
        assert_eq!(
            other.contribute(1, 0, &b).unwrap(),
            RoundStatus::Published { round: 1 }
        );
        let snap = pa
            .wait_round(1, &mut out, Duration::from_secs(1))
            .unwrap()
            .unwrap();
        for j in 0..n {
            assert_eq!(
                out[j],
                (a[j] + b[j] + c[j]) * (1.0 / 3.0),
                "element {j} is not the slot-order mean"
            );
        }
        assert_eq!((snap.round, snap.merges), (1, 1));
        assert!(matches!(
            pa.contribute(1, 0, &b),
            Err(ParamArrayError::Round {
                given: 0,
                current: 1,
                ..
            })
        ));
        assert!(matches!(
            pa.contribute(3, 1, &b),
            Err(ParamArrayError::Slot {
                slot: 3,
                slots: 3,
                ..
            })
        ));
    }

    #[test]
    fn locked_merge_local_adds_the_accumulated_update_and_returns_the_merged_state() {
        let path = shm("merge-local");
        let pa = ParamArray::create(&path, 3, &[1.0, 2.0, 3.0]).unwrap();
        pa.add(&[10.0, 10.0, 10.0]).unwrap();
        let (mut local, mut base) = (vec![1.5, 2.0, 2.0], vec![1.0, 2.0, 3.0]);
        pa.merge_local(&mut local, &mut base).unwrap();
        assert_eq!(local, vec![11.5, 12.0, 12.0]);
        assert_eq!(base, local);
        let r = pa.with_lock(|p| {
            p[0] = -1.0;
            p.len()
        });
        assert_eq!(r.unwrap(), 3);
        let mut out = vec![0.0; 3];
        let snap = pa.snapshot(&mut out).unwrap();
        assert_eq!(out, vec![-1.0, 12.0, 12.0]);
        assert_eq!(snap.merges, 3);
        let mut hl = vec![0.0, 13.0, 12.0];
        let mut hb = vec![-1.0, 12.0, 12.0];
        pa.hogwild_merge_local(&mut hl, &mut hb).unwrap();
        assert_eq!(hl, vec![0.0, 13.0, 12.0]);
        assert_eq!(pa.merges(), 4);
    }

    #[test]
    fn the_file_is_created_with_mode_0600() {
        let path = shm("mode");
        let _pa = ParamArray::create(&path, 8, &[0.0; 8]).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn the_owner_removes_the_file_on_drop_and_openers_do_not() {
        let path = shm("drop");
        let pa = ParamArray::create(&path, 4, &[1.0; 4]).unwrap();
        drop(ParamArray::open(&path).unwrap());
        assert!(path.exists(), "a non-owner removed the file");
        drop(pa);
        assert!(!path.exists(), "the owner left the file behind");
    }

    #[test]
    fn remove_deletes_the_file_at_once_and_is_idempotent() {
        let path = shm("remove");
        let pa = ParamArray::create(&path, 4, &[1.0; 4]).unwrap();
        pa.remove().unwrap();
        assert!(!path.exists());
        pa.remove().unwrap();
        pa.add(&[1.0; 4]).unwrap();
    }

    #[test]
    fn create_refuses_an_existing_file_and_bad_sizes() {
        let path = shm("exists");
        let _pa = ParamArray::create(&path, 4, &[0.0; 4]).unwrap();
        let err = ParamArray::create(&path, 4, &[0.0; 4]).unwrap_err();
        assert!(matches!(err, ParamArrayError::Exists { .. }));
        assert!(
            err.to_string().contains(path.to_str().unwrap()),
            "error does not name the path: {err}"
        );
        let other = shm("sizes");
        assert!(matches!(
            ParamArray::create(&other, 0, &[]),
            Err(ParamArrayError::Size { .. })
        ));
        assert!(matches!(
            ParamArray::create(&other, 3, &[0.0; 2]),
            Err(ParamArrayError::Length { .. })
        ));
        assert!(matches!(
            ParamArray::create(&other, usize::MAX / 4, &[]),
            Err(ParamArrayError::Length { .. })
        ));
        assert!(!other.exists());
    }

    #[test]
    fn open_rejects_files_that_are_not_parameter_arrays() {
        let path = shm("garbage");
        std::fs::write(&path, vec![7u8; 8192]).unwrap();
        let err = ParamArray::open(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(err, ParamArrayError::Format { .. }), "{err}");
        let missing = shm("missing");
        assert!(matches!(
            ParamArray::open(&missing),
            Err(ParamArrayError::Io { op: "open", .. })
        ));
    }

    #[test]
    fn slices_of_the_wrong_length_are_refused() {
        let path = shm("len");
        let pa = ParamArray::create(&path, 4, &[0.0; 4]).unwrap();
        assert!(matches!(
            pa.add(&[1.0; 3]),
            Err(ParamArrayError::Length {
                expected: 4,
                found: 3,
                ..
            })
        ));
        assert!(matches!(
            pa.snapshot(&mut [0.0; 5]),
            Err(ParamArrayError::Length { .. })
        ));
        assert!(matches!(
            pa.hogwild_add(&[1.0; 1]),
            Err(ParamArrayError::Length { .. })
        ));
        assert!(matches!(
            pa.contribute(0, 0, &[0.0; 4]),
            Err(ParamArrayError::Slot { slots: 0, .. })
        ));
    }
}
