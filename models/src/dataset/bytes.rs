//! A data file's bytes without a copy, and output buffers that cost nothing until written.

use std::ops::Deref;
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
pub(super) struct Window<'a> {
    bytes: &'a [u8],
    /// Mapped in up to here.
    ahead: usize,
    /// Unmapped up to here (page-aligned offset).
    behind: usize,
    active: bool,
}

impl<'a> Window<'a> {
    /// A pass over `bytes` from `start`; does nothing unless `mapped` (a file mapping).
    pub(super) fn new(bytes: &'a [u8], start: usize, mapped: bool) -> Window<'a> {
        Window {
            bytes,
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

    /// Unmap the pages of [behind, until).
    fn drop_until(&mut self, until: usize) {
        if until > self.behind {
            let base = self.bytes.as_ptr() as usize;
            // SAFETY: the range is whole pages inside the private, read-only file mapping
            // `bytes` (page-aligned: the mapping starts on a page). Dropping them changes no
            // contents: a later read maps the same file pages again.
            unsafe {
                libc::madvise(
                    (base + self.behind) as *mut libc::c_void,
                    until - self.behind,
                    libc::MADV_DONTNEED,
                );
            }
            self.behind = until;
        }
    }

    /// The pass ended at `end`: unmap the whole pages it left mapped before it (a page that
    /// `end` splits stays, for the pass after it).
    pub(super) fn finish_until(&mut self, end: usize) {
        if self.active {
            self.drop_until(end.min(self.bytes.len()) & !(PAGE - 1));
        }
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
