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
    /// pages, which costs more than parsing them. The mapping is prefaulted in one call
    /// (`MAP_POPULATE`), cheaper than one fault per page from the parsing threads.
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
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }.map_err(io)?;
        Ok(FileBytes::Mapped(map))
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
