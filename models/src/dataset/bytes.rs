//! A data file's bytes without a copy, and output buffers that cost nothing until written.

use std::ops::{Deref, Range};

use blake3::hazmat::{
    ChainingValue, HasherExt, Mode, left_subtree_len, merge_subtrees_non_root, merge_subtrees_root,
};
use std::path::Path;

use crate::error::DataError;

/// Files smaller than this are read into memory: mapping them costs more than copying.
const MAP_FROM: u64 = 1 << 20;

/// A file's bytes: mapped from the page cache when large, read into memory when small.
pub(super) enum FileBytes {
    /// A read-only private mapping of the whole file.
    Mapped(memmap2::Mmap),
    /// The file read into memory.
    Read(Vec<u8>),
}

impl FileBytes {
    /// The bytes of `path`.
    ///
    /// A large file is mapped, not copied: reading it would copy every byte into freshly zeroed
    /// pages, which costs more than parsing them. Nothing is mapped in yet: a pass over the
    /// bytes maps them a window at a time ([`Window`]), so the file never counts whole in the
    /// process's memory.
    pub(super) fn open(path: &Path) -> Result<FileBytes, DataError> {
        let io = |source| DataError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() || meta.len() < MAP_FROM {
            let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
            std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(io)?;
            return Ok(FileBytes::Read(bytes));
        }
        // SAFETY: the mapping is read-only and private. Another process truncating the file
        // while it is mapped would make a read of the lost pages fault (SIGBUS), and one writing
        // it would change the bytes under the parser: the same contract as every reader that
        // maps its input (ripgrep, polars). Data files are not written while a study reads them.
        let map = unsafe { memmap2::MmapOptions::new().map(&file) }.map_err(io)?;
        Ok(FileBytes::Mapped(map))
    }
}

impl FileBytes {
    /// Whether the bytes are a file mapping (passes over them go through a [`Window`]).
    pub(super) fn is_mapped(&self) -> bool {
        matches!(self, FileBytes::Mapped(_))
    }

    /// The BLAKE3 hash of the bytes, hashed through a window.
    pub(super) fn hash(&self) -> blake3::Hash {
        hash_windowed(self, self.is_mapped())
    }
}

/// The BLAKE3 hash of `bytes`; through a [`Window`] when `mapped` (a file mapping).
pub(super) fn hash_windowed(bytes: &[u8], mapped: bool) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    let mut window = Window::new(bytes, 0, mapped);
    for (i, block) in bytes.chunks(WINDOW).enumerate() {
        window.advance(i * WINDOW);
        hasher.update(block);
    }
    window.finish_until(bytes.len());
    hasher.finalize()
}

/// A file's BLAKE3 hash computed from aligned blocks that passes over separate parts of the file
/// hash in parallel: each block's chaining value is independent of the others, and the tree
/// above them is BLAKE3's own, so the result is the plain hash of the file.
pub(super) struct BlockHash {
    len: usize,
}

/// Bytes per hash block: a power of two (BLAKE3's subtrees are), one window long.
pub(super) const HASH_BLOCK: usize = WINDOW;

/// Bytes hashed (and scanned) at a time inside a block: small enough to stay in cache between
/// the scan and the hash.
pub(super) const HASH_PIECE: usize = HASH_BLOCK / 32;

impl BlockHash {
    /// The blocks of `len` bytes.
    pub(super) fn new(len: usize) -> BlockHash {
        BlockHash { len }
    }

    /// Whether the file is one block: its hash is then the plain hash of its bytes, with no
    /// chaining values to combine.
    pub(super) fn is_one_block(&self) -> bool {
        self.len <= HASH_BLOCK
    }

    /// The bytes of block `index`.
    pub(super) fn block(&self, index: usize) -> Range<usize> {
        index * HASH_BLOCK..((index + 1) * HASH_BLOCK).min(self.len)
    }

    /// The blocks that start in `range` (none for a one-block file): the ones a pass over
    /// `range` hashes, reading past its end into the last one.
    pub(super) fn starting_in(&self, range: Range<usize>) -> Range<usize> {
        if self.is_one_block() {
            return 0..0;
        }
        range.start.div_ceil(HASH_BLOCK)..range.end.div_ceil(HASH_BLOCK)
    }

    /// A hasher for block `index`, fed its bytes in order.
    pub(super) fn hasher(&self, index: usize) -> blake3::Hasher {
        let mut hasher = blake3::Hasher::new();
        hasher.set_input_offset((index * HASH_BLOCK) as u64);
        hasher
    }

    /// The file's hash from the chaining values of all its blocks in order, or from `bytes`
    /// themselves when it is one block.
    pub(super) fn combine(&self, bytes: &[u8], cvs: &[ChainingValue]) -> blake3::Hash {
        if self.is_one_block() {
            return blake3::hash(bytes);
        }
        debug_assert_eq!(cvs.len(), self.len.div_ceil(HASH_BLOCK));
        let whole = Subtree {
            cvs,
            len: self.len as u64,
        };
        let (left, right) = whole.halves();
        merge_subtrees_root(&left.cv(), &right.cv(), Mode::Hash)
    }
}

/// A subtree of a file's BLAKE3 tree: `len` bytes over the blocks `cvs`.
struct Subtree<'a> {
    cvs: &'a [ChainingValue],
    len: u64,
}

impl Subtree<'_> {
    /// Its two children as BLAKE3 splits it: the left one the largest power of two of chunks
    /// below `len` (a whole number of blocks, since `len` exceeds a block).
    fn halves(&self) -> (Subtree<'_>, Subtree<'_>) {
        let left = left_subtree_len(self.len);
        let (l, r) = self.cvs.split_at((left / HASH_BLOCK as u64) as usize);
        (
            Subtree { cvs: l, len: left },
            Subtree {
                cvs: r,
                len: self.len - left,
            },
        )
    }

    /// Its chaining value as a non-root subtree.
    fn cv(&self) -> ChainingValue {
        if let [one] = self.cvs {
            return *one;
        }
        let (left, right) = self.halves();
        merge_subtrees_non_root(&left.cv(), &right.cv(), Mode::Hash)
    }
}

/// How much of a mapped file one pass maps in at a time (small in tests, so that test files
/// slide it).
#[cfg(not(test))]
pub(super) const WINDOW: usize = 8 << 20;
#[cfg(test)]
pub(super) const WINDOW: usize = 64 << 10;

const PAGE: usize = 4096;

/// One front-to-back pass over a file mapping that keeps only a window of it mapped: the pages
/// ahead are mapped in one call (`MADV_POPULATE_READ`, cheaper than a fault per page), the pages
/// behind are unmapped (`MADV_DONTNEED`; the page cache keeps them, and a later read maps them
/// again). A file read whole stays out of the process's resident memory, which would otherwise
/// count every page of it.
///
/// A fault may map a whole large page-cache folio (up to 2 MiB here), pages behind the fault
/// included, so each unmapping reaches [`FOLIO_REACH`] back over pages already unmapped, and the
/// pass's end unmaps all of its range.
pub(super) struct Window<'a> {
    bytes: &'a [u8],
    /// The pass's first whole page (page-aligned offset).
    first: usize,
    /// Mapped in up to here.
    ahead: usize,
    /// Unmapped up to here (page-aligned offset).
    behind: usize,
    active: bool,
}

/// How far back an unmapping reaches over pages it already unmapped: past the largest folio a
/// fault ahead can map whole.
const FOLIO_REACH: usize = 4 << 20;

impl<'a> Window<'a> {
    /// A pass over `bytes` from `start`; does nothing unless `mapped` (a file mapping).
    pub(super) fn new(bytes: &'a [u8], start: usize, mapped: bool) -> Window<'a> {
        Window {
            bytes,
            first: start.next_multiple_of(PAGE),
            ahead: start,
            behind: start.next_multiple_of(PAGE),
            active: mapped,
        }
    }

    /// The pass has reached `pos`.
    #[inline]
    pub(super) fn advance(&mut self, pos: usize) {
        if self.active && (pos >= self.ahead || pos >= self.behind + 2 * WINDOW) {
            self.slide(pos);
        }
    }

    #[cold]
    fn slide(&mut self, pos: usize) {
        let base = self.bytes.as_ptr() as usize;
        if pos >= self.ahead {
            let from = (base + pos) & !(PAGE - 1);
            let to = (base + pos + WINDOW).min(base + self.bytes.len());
            if to > from {
                // SAFETY: [from, to) lies in the live read-only mapping `bytes` points into
                // (rounded down to its page); populating only faults pages in for reading.
                unsafe {
                    libc::madvise(
                        from as *mut libc::c_void,
                        to - from,
                        libc::MADV_POPULATE_READ,
                    );
                }
            }
            self.ahead = pos + WINDOW;
        }
        // Keep a window behind too: a row being parsed may start before `pos`.
        let until = pos.saturating_sub(WINDOW) & !(PAGE - 1);
        self.drop_until(until);
    }

    /// Unmap the pages of [behind, until), reaching [`FOLIO_REACH`] further back.
    fn drop_until(&mut self, until: usize) {
        if until > self.behind {
            let from = self.behind.saturating_sub(FOLIO_REACH).max(self.first);
            unmap(self.bytes, from..until);
            self.behind = until;
        }
    }

    /// The pass ended at `end`: unmap every whole page of its range (a page that `end` splits
    /// stays, for the pass after it).
    pub(super) fn finish_until(&mut self, end: usize) {
        if self.active {
            let end = end.min(self.bytes.len()) & !(PAGE - 1);
            if end > self.first {
                unmap(self.bytes, self.first..end);
            }
            self.behind = self.behind.max(end);
        }
    }
}

/// Unmap the whole pages of `bytes[range]` (page-aligned offsets) from this process.
fn unmap(bytes: &[u8], range: Range<usize>) {
    let base = bytes.as_ptr() as usize;
    // SAFETY: the range is whole pages inside the read-only file mapping `bytes` (page-aligned:
    // the mapping starts on a page). Dropping them changes no contents: a later read maps the
    // same file pages again.
    unsafe {
        libc::madvise(
            (base + range.start) as *mut libc::c_void,
            range.len(),
            libc::MADV_DONTNEED,
        );
    }
}

/// After passes over parts of a file mapping on several threads: unmap all of it, the folios a
/// pass's faults mapped in its neighbour's range after that neighbour had finished included.
pub(super) fn unmap_all(bytes: &[u8], mapped: bool) {
    if mapped {
        unmap(bytes, 0..bytes.len() & !(PAGE - 1));
    }
}

impl Deref for FileBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(map) => map,
            FileBytes::Read(bytes) => bytes,
        }
    }
}

/// A zeroed buffer of `len` values whose pages are not touched yet.
///
/// `vec![0.0; n]` allocates with calloc: a large block is fresh anonymous memory that the kernel
/// zeroes on first touch, so the parsing threads fault its pages in parallel as they write.
/// (Transparent huge pages were measured slower here: zeroing a fresh 2 MiB page on this VM cost
/// more than the 4 KiB faults it saves.)
pub(super) fn zeroed(len: usize) -> Vec<f64> {
    vec![0.0f64; len]
}
