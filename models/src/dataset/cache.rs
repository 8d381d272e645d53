//! The parsed, checked dataset kept as a binary image in a cache directory (a study's), so a
//! second load of the same data skips parsing.
//!
//! One image per source (its absolute path), target column and problem kind:
//! `data-<key>.img`. The image holds the source's checksum (BLAKE3 of its bytes, as
//! [`Dataset::checksum`]) and the file-system stamps of the source (size, modification and
//! change times in ns, inode, device; for a directory: the directory's and every data file's).
//!
//! The rule: an image is used when its own bytes hash to the BLAKE3 stored at its end (so a
//! truncated or corrupted image is rebuilt, never trusted) and either the source's stamps are
//! the recorded ones, or they differ and the source's bytes still hash to the recorded checksum
//! (a file touched or copied back unchanged; the image is then rewritten with the new stamps).
//! The change time cannot be set by a user (`touch -d` sets the modification time, and changes
//! the change time), so a file rewritten in place never matches by its stamps. Anything else
//! parses the source again and replaces the image.
//!
//! A reader other than [`Dataset::read_path`] (`cohort predict`'s) keeps its own images under the
//! same rules, keyed by its name and settings ([`Dataset::load_cached_by`]).
//!
//! Layout: `COHORTDS`, the format version (u32 LE), the header's length (u32 LE), the header
//! (JSON), zero padding to a multiple of 8, the features row-major then the targets (f64 in
//! native byte order, recorded in the header), the BLAKE3 of everything before it (32 bytes).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::bytes::zeroed;
use super::{Dataset, ImageBuf, ImageData, ImageRead, Problem, ProblemKind};
use crate::error::DataError;

const MAGIC: &[u8; 8] = b"COHORTDS";
const VERSION: u32 = 1;

/// How a cached load got its dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheUse {
    /// Read from a valid image: the source was not parsed.
    Hit,
    /// The source was parsed: why the image could not be used, and whether a new one was written.
    Parsed {
        /// Why there was no usable image (none yet, the source changed, the image is corrupt...).
        reason: String,
        /// Why the new image could not be written, if it could not (the load still succeeded).
        not_stored: Option<String>,
    },
}

/// The file-system stamps of one source file (or directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    path: PathBuf,
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    ino: u64,
    dev: u64,
}

/// What the image says about itself.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    source: PathBuf,
    target: Option<String>,
    kind: ProblemKind,
    little_endian: bool,
    stamps: Vec<Stamp>,
    checksum: String,
    rows: u64,
    cols: u64,
    feature_names: Vec<String>,
    target_name: String,
    problem: Problem,
}

impl Dataset {
    /// Read `path` as [`Dataset::read_path`] does, through the image cache in `cache_dir`: a
    /// valid image is read instead of the source; otherwise the source is parsed and its image
    /// written (atomically: a crash leaves no half image). The rules are in the module docs of
    /// `models::dataset::cache`. Failing to write the image is not an error (see [`CacheUse`]).
    pub fn load_cached(
        path: &Path,
        target: Option<&str>,
        kind: ProblemKind,
        cache_dir: &Path,
    ) -> Result<(Dataset, CacheUse), DataError> {
        load(
            (path, target, kind, cache_dir),
            |rows, cols| (zeroed(rows * cols), zeroed(rows)),
            arrays,
            || Dataset::read_path(path, target, kind),
            Dataset::parts,
        )
    }

    /// [`Dataset::load_cached`] into an image made by `alloc` (given its length in bytes), as
    /// [`Dataset::read_path_image`] reads: a valid cached image is read straight into it.
    pub fn load_cached_image<B: ImageBuf>(
        path: &Path,
        target: Option<&str>,
        kind: ProblemKind,
        cache_dir: &Path,
        alloc: &mut dyn FnMut(usize) -> B,
    ) -> Result<(ImageData<B>, CacheUse), DataError> {
        let alloc = std::cell::RefCell::new(alloc);
        load(
            (path, target, kind, cache_dir),
            |rows, cols| Slots {
                image: (alloc.borrow_mut())(super::image_len(rows, cols)),
                rows,
                cols,
            },
            |r: Loaded<Slots<B>>| {
                Ok(ImageData {
                    image: r.values.image,
                    feature_names: r.feature_names,
                    target_name: r.target_name,
                    problem: r.problem,
                    checksum: r.checksum,
                })
            },
            || Dataset::read_path_image(path, target, kind, *alloc.borrow_mut()),
            image_parts,
        )
    }
}

impl Dataset {
    /// [`Dataset::load_cached`] for a reader of the caller's own (`parse`), not
    /// [`Dataset::read_path`]: `reader` names the reader and everything its result depends on,
    /// so an image is used only by the same reader with the same settings. `parse` must give
    /// the dataset the checksum [`Dataset::checksum_of`] gives the source; the image's targets
    /// and problem are whatever `parse` gives.
    pub fn load_cached_by<E: From<DataError>>(
        path: &Path,
        reader: &str,
        cache_dir: &Path,
        parse: impl FnOnce() -> Result<Dataset, E>,
    ) -> Result<(Dataset, CacheUse), E> {
        let key = reader_key(reader);
        load(
            (path, Some(&key), ProblemKind::Regression, cache_dir),
            |rows, cols| (zeroed(rows * cols), zeroed(rows)),
            arrays,
            parse,
            Dataset::parts,
        )
    }

    /// The checksum [`Dataset::read_path`] gives the data at `path` (BLAKE3 of its bytes, of a
    /// directory's names and hashes), computed without parsing.
    pub fn checksum_of(path: &Path) -> Result<String, DataError> {
        source_checksum(path)
    }
}

/// A dataset in arrays from the values an image was read into.
fn arrays(r: Loaded<(Vec<f64>, Vec<f64>)>) -> Result<Dataset, DataError> {
    let (x, y) = r.values;
    let x = Array2::from_shape_vec((r.rows, r.feature_names.len()), x)
        .map_err(|e| DataError::Image(e.to_string()))?;
    Ok(Dataset {
        x,
        y: Array1::from(y),
        feature_names: r.feature_names,
        target_name: r.target_name,
        problem: r.problem,
        checksum: r.checksum,
    })
}

/// A dataset's values, read from an image into places of the caller's.
trait Values {
    /// The places of the features (rows × columns, row-major) and the targets.
    fn values_mut(&mut self) -> Result<(&mut [f64], &mut [f64]), String>;
}

impl Values for (Vec<f64>, Vec<f64>) {
    fn values_mut(&mut self) -> Result<(&mut [f64], &mut [f64]), String> {
        Ok((&mut self.0, &mut self.1))
    }
}

/// An image buffer sized for `rows` × `cols`, read into in place.
struct Slots<B> {
    image: B,
    rows: usize,
    cols: usize,
}

impl<B: ImageBuf> Values for Slots<B> {
    fn values_mut(&mut self) -> Result<(&mut [f64], &mut [f64]), String> {
        super::image_parts_mut(self.image.bytes_mut(), self.rows, self.cols)
            .map_err(|e| e.to_string())
    }
}

/// An imaged dataset as an image's parts.
fn image_parts<B: ImageRead>(data: &ImageData<B>) -> std::io::Result<Parts<'_>> {
    let view = data.view().map_err(std::io::Error::other)?;
    let (Some(x), Some(y)) = (view.x.to_slice(), view.y.to_slice()) else {
        return Err(std::io::Error::other(
            "the image's values are not contiguous",
        ));
    };
    Ok(Parts {
        feature_names: &data.feature_names,
        target_name: &data.target_name,
        problem: &data.problem,
        checksum: &data.checksum,
        x,
        y,
        cancel: None,
    })
}

/// The source, target, kind and cache directory of a cached load.
type Request<'a> = (&'a Path, Option<&'a str>, ProblemKind, &'a Path);

/// A cached load whatever holds the values: `slots` makes the places an image is read into and
/// `build` the dataset from them; `parse` reads the source; `parts` gives what is written.
fn load<S: Values, T, E: From<DataError>>(
    (path, target, kind, cache_dir): Request<'_>,
    slots: impl FnOnce(usize, usize) -> S,
    build: impl FnOnce(Loaded<S>) -> Result<T, DataError>,
    parse: impl FnOnce() -> Result<T, E>,
    parts: impl for<'d> Fn(&'d T) -> std::io::Result<Parts<'d>>,
) -> Result<(T, CacheUse), E> {
    let source = std::path::absolute(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let image = image_path(cache_dir, &source, target, kind);
    let stamps = stamps(&source)?;
    let store = |data: &T| {
        parts(data).and_then(|p| write_image(&image, &source, target, kind, &stamps, &p))
    };
    let reason = match read_image(&image, &source, target, kind, &stamps, slots) {
        Ok(Found::Valid(read)) => return Ok((build(*read)?, CacheUse::Hit)),
        Ok(Found::Restamp(read)) => {
            let data = build(*read)?;
            // Unchanged bytes under new stamps: record the stamps so the next load is quick.
            return match store(&data).err() {
                None => Ok((data, CacheUse::Hit)),
                Some(e) => Ok((
                    data,
                    CacheUse::Parsed {
                        reason: "unchanged source with new file stamps".into(),
                        not_stored: Some(e.to_string()),
                    },
                )),
            };
        }
        Err(reason) => reason,
    };
    let data = parse()?;
    let not_stored = store(&data).err().map(|e| e.to_string());
    Ok((data, CacheUse::Parsed { reason, not_stored }))
}

/// The file-system stamps of a data source, taken before it is read, for
/// [`Dataset::store_cached`]: taken after, they could belong to a newer version of the file
/// than the one parsed, and that image would then be trusted for the newer file.
#[derive(Debug, Clone)]
pub struct SourceStamps {
    source: PathBuf,
    stamps: Vec<Stamp>,
}

impl SourceStamps {
    /// The stamps of `path` (a file, or a directory and its data files) as they are now.
    pub fn of(path: &Path) -> Result<SourceStamps, DataError> {
        let source = std::path::absolute(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let stamps = stamps(&source)?;
        Ok(SourceStamps { source, stamps })
    }
}

impl Dataset {
    /// Write this dataset, read from `stamps`' source with `target` and `kind`, as the image
    /// [`Dataset::load_cached`] will find in `cache_dir` (a study directory that did not exist
    /// when the data was read).
    pub fn store_cached(
        &self,
        stamps: &SourceStamps,
        target: Option<&str>,
        kind: ProblemKind,
        cache_dir: &Path,
    ) -> Result<(), DataError> {
        store(self.parts(), stamps, target, kind, cache_dir)
    }
}

impl<B: ImageRead> ImageData<B> {
    /// [`Dataset::store_cached`] for an imaged dataset.
    pub fn store_cached(
        &self,
        stamps: &SourceStamps,
        target: Option<&str>,
        kind: ProblemKind,
        cache_dir: &Path,
    ) -> Result<(), DataError> {
        store(image_parts(self), stamps, target, kind, cache_dir)
    }

    /// Store this dataset as the image that [`Dataset::read_cached_image_by`] finds for
    /// `reader` (see [`Dataset::load_cached_by`]). Setting `cancel` (from another thread) gives
    /// the write up within a few MiB: nothing is left behind, and the result is an error.
    pub fn store_cached_by(
        &self,
        stamps: &SourceStamps,
        reader: &str,
        cache_dir: &Path,
        cancel: Option<&AtomicBool>,
    ) -> Result<(), DataError> {
        let key = reader_key(reader);
        let kind = ProblemKind::Regression;
        let parts = image_parts(self).map(|p| Parts { cancel, ..p });
        store(parts, stamps, Some(&key), kind, cache_dir)
    }
}

impl Dataset {
    /// The image [`ImageData::store_cached_by`] stored for `reader` and the data at `path`, read
    /// into a buffer from `alloc`, if it is valid (under the rules of [`Dataset::load_cached`]);
    /// else why not. Nothing is parsed or written.
    pub fn read_cached_image_by<B: ImageBuf>(
        path: &Path,
        reader: &str,
        cache_dir: &Path,
        alloc: &mut dyn FnMut(usize) -> B,
    ) -> Result<Result<ImageData<B>, String>, DataError> {
        let source = std::path::absolute(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let key = reader_key(reader);
        let kind = ProblemKind::Regression;
        let image = image_path(cache_dir, &source, Some(&key), kind);
        let stamps = stamps(&source)?;
        let slots = |rows, cols| Slots {
            image: alloc(super::image_len(rows, cols)),
            rows,
            cols,
        };
        Ok(
            match read_image(&image, &source, Some(&key), kind, &stamps, slots) {
                Ok(Found::Valid(r) | Found::Restamp(r)) => {
                    let r = *r;
                    Ok(ImageData {
                        image: r.values.image,
                        feature_names: r.feature_names,
                        target_name: r.target_name,
                        problem: r.problem,
                        checksum: r.checksum,
                    })
                }
                Err(why) => Err(why),
            },
        )
    }
}

/// The image key of a reader of the caller's: it stands in the target's place in the image's
/// key and header; a NUL never starts a column name read from a file, so no column's image is
/// taken for it.
fn reader_key(reader: &str) -> String {
    format!("\0reader:{reader}")
}

/// Write `parts` as the image of `stamps`' source in `cache_dir`.
fn store(
    parts: std::io::Result<Parts<'_>>,
    stamps: &SourceStamps,
    target: Option<&str>,
    kind: ProblemKind,
    cache_dir: &Path,
) -> Result<(), DataError> {
    let image = image_path(cache_dir, &stamps.source, target, kind);
    parts
        .and_then(|p| write_image(&image, &stamps.source, target, kind, &stamps.stamps, &p))
        .map_err(|source| DataError::Io {
            path: image.clone(),
            source,
        })
}

/// What a usable image gave.
enum Found<T> {
    /// Usable as it is.
    Valid(Box<T>),
    /// Usable, but the source's stamps changed (its bytes did not).
    Restamp(Box<T>),
}

/// A dataset read from an image: its values in the places given, and its description.
struct Loaded<S> {
    values: S,
    rows: usize,
    feature_names: Vec<String>,
    target_name: String,
    problem: Problem,
    checksum: String,
}

/// What an image is written from: a dataset's description and its values.
struct Parts<'a> {
    feature_names: &'a [String],
    target_name: &'a str,
    problem: &'a Problem,
    checksum: &'a str,
    x: &'a [f64],
    y: &'a [f64],
    /// Set by another thread to give up the write (the temporary file is removed).
    cancel: Option<&'a AtomicBool>,
}

impl Dataset {
    /// This dataset as an image's parts (its arrays are in standard layout, so contiguous).
    fn parts(&self) -> Result<Parts<'_>, std::io::Error> {
        let (Some(x), Some(y)) = (self.x.as_slice(), self.y.as_slice()) else {
            return Err(std::io::Error::other(
                "the dataset's arrays are not contiguous",
            ));
        };
        Ok(Parts {
            feature_names: &self.feature_names,
            target_name: &self.target_name,
            problem: &self.problem,
            checksum: &self.checksum,
            x,
            y,
            cancel: None,
        })
    }
}

/// The image file for this source, target and kind.
fn image_path(cache_dir: &Path, source: &Path, target: Option<&str>, kind: ProblemKind) -> PathBuf {
    let mut h = blake3::Hasher::new();
    h.update(source.as_os_str().as_encoded_bytes());
    h.update(&[0]);
    h.update(target.map_or(&[1u8][..], str::as_bytes));
    h.update(&[0, kind as u8]);
    let key = h.finalize().to_hex();
    cache_dir.join(format!("data-{}.img", &key[..16]))
}

/// The stamps of `source` (a file, or a directory and its data files).
fn stamps(source: &Path) -> Result<Vec<Stamp>, DataError> {
    let mut paths = vec![source.to_path_buf()];
    if source.is_dir() {
        paths.extend(super::dir::data_files(source)?);
    }
    paths
        .into_iter()
        .map(|path| {
            use std::os::unix::fs::MetadataExt;
            let m = std::fs::metadata(&path).map_err(|source| DataError::Io {
                path: path.clone(),
                source,
            })?;
            let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
            Ok(Stamp {
                len: m.len(),
                mtime_ns: ns(m.mtime(), m.mtime_nsec()),
                ctime_ns: ns(m.ctime(), m.ctime_nsec()),
                ino: m.ino(),
                dev: m.dev(),
                path,
            })
        })
        .collect()
}

/// The checksum [`Dataset::read_path`] would give `source`, from its bytes (nothing parsed).
fn source_checksum(source: &Path) -> Result<String, DataError> {
    let hash = if source.is_dir() {
        super::dir::checksum(source)?
    } else {
        super::bytes::FileBytes::open(source)?.hash()
    };
    Ok(format!("blake3:{}", hash.to_hex()))
}

/// The image at `image` if it is intact and matches the request and the source; else why not.
///
/// `slots` gives the places the features (rows × columns) and the targets are read into.
fn read_image<S: Values>(
    image: &Path,
    source: &Path,
    target: Option<&str>,
    kind: ProblemKind,
    stamps: &[Stamp],
    slots: impl FnOnce(usize, usize) -> S,
) -> Result<Found<Loaded<S>>, String> {
    let mut file = match File::open(image) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err("no image yet".into()),
        Err(e) => return Err(format!("the image cannot be opened: {e}")),
    };
    let corrupt = |what: &str| format!("the image is corrupt ({what})");
    let len = file.metadata().map_err(|e| corrupt(&e.to_string()))?.len();
    let mut hasher = blake3::Hasher::new();
    let mut prefix = [0u8; 16];
    file.read_exact(&mut prefix)
        .map_err(|_| corrupt("shorter than its header"))?;
    hasher.update(&prefix);
    if &prefix[..8] != MAGIC {
        return Err(corrupt("not a dataset image"));
    }
    let version = u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]);
    if version != VERSION {
        return Err(format!(
            "the image is format version {version}, not {VERSION}"
        ));
    }
    let header_len = u32::from_le_bytes([prefix[12], prefix[13], prefix[14], prefix[15]]) as u64;
    let body_start = (16 + header_len).next_multiple_of(8);
    if body_start + 32 > len {
        return Err(corrupt("shorter than its header"));
    }
    let mut head = vec![0u8; (body_start - 16) as usize];
    file.read_exact(&mut head)
        .map_err(|e| corrupt(&e.to_string()))?;
    hasher.update(&head);
    let header: Header = serde_json::from_slice(&head[..header_len as usize])
        .map_err(|e| corrupt(&e.to_string()))?;
    if header.source != source || header.target.as_deref() != target || header.kind != kind {
        return Err("the image is of other data".into());
    }
    if header.little_endian != cfg!(target_endian = "little") {
        return Err("the image was written on a machine of the other byte order".into());
    }
    let same_stamps = header.stamps == stamps;
    if !same_stamps {
        let now = source_checksum(source).map_err(|e| e.to_string())?;
        if now != header.checksum {
            return Err(format!(
                "the source changed (checksum was {}, now {now})",
                header.checksum
            ));
        }
    }
    let (rows, cols) = (header.rows as usize, header.cols as usize);
    let n_x = rows
        .checked_mul(cols)
        .ok_or_else(|| corrupt("impossible shape"))?;
    let body_len = (n_x as u64 + rows as u64) * 8;
    if body_start + body_len + 32 != len || header.feature_names.len() != cols {
        return Err(corrupt("its length does not match its shape"));
    }
    let mut values = slots(rows, cols);
    let (x, y) = values.values_mut().map_err(|e| corrupt(&e))?;
    read_values(&mut file, x, &mut hasher).map_err(|e| corrupt(&e.to_string()))?;
    read_values(&mut file, y, &mut hasher).map_err(|e| corrupt(&e.to_string()))?;
    let mut stored = [0u8; 32];
    file.read_exact(&mut stored)
        .map_err(|e| corrupt(&e.to_string()))?;
    if hasher.finalize() != blake3::Hash::from_bytes(stored) {
        return Err(corrupt("its bytes do not match its checksum"));
    }
    let data = Box::new(Loaded {
        values,
        rows,
        feature_names: header.feature_names,
        target_name: header.target_name,
        problem: header.problem,
        checksum: header.checksum,
    });
    Ok(if same_stamps {
        Found::Valid(data)
    } else {
        Found::Restamp(data)
    })
}

/// The bytes of `values`, to read or write them in place.
fn as_bytes_mut(values: &mut [f64]) -> &mut [u8] {
    // SAFETY: an f64 is 8 plain bytes and every bit pattern is a valid f64; the byte slice covers
    // exactly the values' memory and borrows them mutably, so nothing else aliases it.
    unsafe {
        std::slice::from_raw_parts_mut(
            values.as_mut_ptr().cast::<u8>(),
            std::mem::size_of_val(values),
        )
    }
}

/// The bytes of `values`.
fn as_bytes(values: &[f64]) -> &[u8] {
    // SAFETY: as in `as_bytes_mut`, read-only.
    unsafe {
        std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values))
    }
}

/// Fill `values` from `file`, hashing the bytes read.
fn read_values(
    file: &mut File,
    values: &mut [f64],
    hasher: &mut blake3::Hasher,
) -> std::io::Result<()> {
    for piece in as_bytes_mut(values).chunks_mut(4 << 20) {
        file.read_exact(piece)?;
        hasher.update(piece);
    }
    Ok(())
}

/// Write `data`'s image to `image` through a temporary file renamed into place.
fn write_image(
    image: &Path,
    source: &Path,
    target: Option<&str>,
    kind: ProblemKind,
    stamps: &[Stamp],
    data: &Parts<'_>,
) -> std::io::Result<()> {
    let dir = image.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let header = Header {
        source: source.to_path_buf(),
        target: target.map(str::to_string),
        kind,
        little_endian: cfg!(target_endian = "little"),
        stamps: stamps.to_vec(),
        checksum: data.checksum.to_string(),
        rows: data.y.len() as u64,
        cols: data.feature_names.len() as u64,
        feature_names: data.feature_names.to_vec(),
        target_name: data.target_name.to_string(),
        problem: data.problem.clone(),
    };
    let json = serde_json::to_vec(&header).map_err(std::io::Error::other)?;
    let header_len = u32::try_from(json.len()).map_err(std::io::Error::other)?;
    let tmp = tempfile_in(dir)?;
    let result = (|| {
        let mut w = HashingWriter {
            inner: BufWriter::with_capacity(1 << 20, &tmp.1),
            hasher: blake3::Hasher::new(),
        };
        w.write_all(MAGIC)?;
        w.write_all(&VERSION.to_le_bytes())?;
        w.write_all(&header_len.to_le_bytes())?;
        w.write_all(&json)?;
        let pad = (16 + json.len()).next_multiple_of(8) - (16 + json.len());
        w.write_all(&[0u8; 8][..pad])?;
        for piece in as_bytes(data.x)
            .chunks(8 << 20)
            .chain(as_bytes(data.y).chunks(8 << 20))
        {
            if data.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    "the write was given up",
                ));
            }
            w.write_all(piece)?;
        }
        let hash = w.hasher.finalize();
        let mut inner = w.inner;
        inner.write_all(hash.as_bytes())?;
        inner.flush()?;
        drop(inner);
        std::fs::rename(&tmp.0, image)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp.0);
    }
    result
}

/// A new file in `dir` with a name no other writer uses.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, File)> {
    let path = dir.join(format!(
        ".data-{}-{:?}.tmp",
        std::process::id(),
        std::thread::current().id()
    ));
    let file = File::create(&path)?;
    Ok((path, file))
}

/// A writer that hashes what passes through it.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: blake3::Hasher,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CSV source in its own directory, and a cache directory beside it.
    struct Setup {
        dir: tempfile::TempDir,
        source: PathBuf,
        cache: PathBuf,
    }

    fn setup() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("data.csv");
        std::fs::write(&source, "a,b,y\n1,2,0\n3,4,1\n5,6,0\n").unwrap();
        let cache = dir.path().join("study").join("cache");
        Setup { dir, source, cache }
    }

    fn load(s: &Setup) -> (Dataset, CacheUse) {
        Dataset::load_cached(&s.source, None, ProblemKind::Classification, &s.cache).unwrap()
    }

    fn reason(u: &CacheUse) -> &str {
        match u {
            CacheUse::Parsed { reason, .. } => reason,
            CacheUse::Hit => "hit",
        }
    }

    /// The only image in the cache directory.
    fn image(s: &Setup) -> PathBuf {
        let mut images: Vec<PathBuf> = std::fs::read_dir(&s.cache)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(images.len(), 1, "{images:?}");
        images.pop().unwrap()
    }

    #[test]
    fn second_load_reads_the_image_instead_of_parsing() {
        let s = setup();
        let (first, used) = load(&s);
        assert_eq!(reason(&used), "no image yet");
        assert!(matches!(
            used,
            CacheUse::Parsed {
                not_stored: None,
                ..
            }
        ));
        let (second, used) = load(&s);
        assert_eq!(used, CacheUse::Hit);
        assert_eq!(second, first);
    }

    fn load_image(s: &Setup) -> (Dataset, CacheUse) {
        let (data, used) = Dataset::load_cached_image(
            &s.source,
            None,
            ProblemKind::Classification,
            &s.cache,
            &mut crate::dataset::HeapImage::zeroed,
        )
        .unwrap();
        (data.to_dataset().unwrap(), used)
    }

    #[test]
    fn an_image_load_shares_the_cache_with_an_array_load() {
        let s = setup();
        let (first, used) = load_image(&s);
        assert_eq!(reason(&used), "no image yet");
        let (second, used) = load(&s);
        assert_eq!(used, CacheUse::Hit);
        let (third, used) = load_image(&s);
        assert_eq!(used, CacheUse::Hit);
        for d in [&second, &third] {
            assert_eq!(
                (&d.x, &d.y, &d.checksum),
                (&first.x, &first.y, &first.checksum)
            );
            assert_eq!(d.problem, first.problem);
        }
        std::fs::write(&s.source, "a,b,y\n1,2,0\n3,4,1\n5,7,0\n").unwrap();
        let (changed, used) = load_image(&s);
        assert!(reason(&used).starts_with("the source changed"), "{used:?}");
        assert_eq!(changed.x[[2, 1]], 7.0);
    }

    #[test]
    fn modified_source_is_parsed_again() {
        let s = setup();
        load(&s);
        // Same length, different bytes.
        std::fs::write(&s.source, "a,b,y\n1,2,0\n3,4,1\n5,7,0\n").unwrap();
        let (d, used) = load(&s);
        assert!(reason(&used).starts_with("the source changed"), "{used:?}");
        assert_eq!(d.x[[2, 1]], 7.0);
        assert_eq!(load(&s).1, CacheUse::Hit);
    }

    #[test]
    fn touched_but_unchanged_source_still_uses_the_image() {
        let s = setup();
        load(&s);
        let f = std::fs::File::options()
            .write(true)
            .open(&s.source)
            .unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
        drop(f);
        assert_eq!(load(&s).1, CacheUse::Hit);
        assert_eq!(load(&s).1, CacheUse::Hit);
    }

    #[test]
    fn corrupted_image_is_rebuilt_not_trusted() {
        let s = setup();
        let (clean, _) = load(&s);
        let path = image(&s);
        let mut bytes = std::fs::read(&path).unwrap();
        // A flipped bit in the first feature value: still a valid f64.
        let at = bytes.len() - 32 - 8 * (clean.x.len() + clean.y.len());
        bytes[at] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let (d, used) = load(&s);
        assert!(
            reason(&used).contains("do not match its checksum"),
            "{used:?}"
        );
        assert_eq!(d.x, clean.x);
        assert_eq!(load(&s).1, CacheUse::Hit);
    }

    #[test]
    fn truncated_image_is_rebuilt() {
        let s = setup();
        load(&s);
        let path = image(&s);
        let bytes = std::fs::read(&path).unwrap();
        for len in [0, 10, bytes.len() - 1] {
            std::fs::write(&path, &bytes[..len]).unwrap();
            let (_, used) = load(&s);
            assert!(reason(&used).contains("corrupt"), "{len}: {used:?}");
        }
    }

    #[test]
    fn another_target_has_its_own_image() {
        let s = setup();
        load(&s);
        let other =
            Dataset::load_cached(&s.source, Some("a"), ProblemKind::Regression, &s.cache).unwrap();
        assert_eq!(reason(&other.1), "no image yet");
        assert_eq!(other.0.feature_names, ["b", "y"]);
        assert_eq!(load(&s).1, CacheUse::Hit);
    }

    #[test]
    fn image_stored_after_a_plain_read_is_found() {
        let s = setup();
        let stamps = SourceStamps::of(&s.source).unwrap();
        let d = Dataset::read_path(&s.source, None, ProblemKind::Classification).unwrap();
        d.store_cached(&stamps, None, ProblemKind::Classification, &s.cache)
            .unwrap();
        let (cached, used) = load(&s);
        assert_eq!(used, CacheUse::Hit);
        assert_eq!(cached.x, d.x);
    }

    #[test]
    fn bad_data_is_an_error_and_leaves_no_image() {
        let s = setup();
        std::fs::write(&s.source, "a,y\n1,cat\nx,dog\n").unwrap();
        let err = Dataset::load_cached(&s.source, None, ProblemKind::Classification, &s.cache)
            .unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        assert!(!s.cache.exists() || std::fs::read_dir(&s.cache).unwrap().next().is_none());
        drop(s.dir);
    }
}
