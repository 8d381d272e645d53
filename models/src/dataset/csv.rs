//! CSV files: parsed in parallel chunks split at line ends, or sequentially by the csv crate when
//! the file has a quote (a quoted field may hold a line end, so a line end need not end a row).
//!
//! Both paths give the same dataset and the same errors: the chunked parser hands anything it
//! does not read exactly like the csv crate (quotes, a lone carriage return) to the sequential one.

use std::ops::Range;
use std::path::Path;

use ::csv::ByteRecord;
use memchr::{memchr, memchr_iter, memchr3};

use blake3::hazmat::{ChainingValue, HasherExt};

use super::bytes::{BlockHash, HASH_BLOCK, HASH_PIECE, Window, hash_windowed, unmap_all, zeroed};
use super::{
    CellError, ImageBuf, LabelError, LabelTable, Parsed, ProblemKind, Targets, parse_number,
};
use crate::error::DataError;

/// Bytes a thread must have to parse before splitting pays for the thread.
const MIN_CHUNK: usize = 1 << 20;

/// Read and parse the CSV file `path` on up to `threads` threads, hashing it while parsing.
pub(super) fn read(
    path: &Path,
    target: Option<&str>,
    kind: ProblemKind,
    threads: usize,
) -> Result<Parsed, DataError> {
    let bytes = super::bytes::FileBytes::open(path)?;
    let chunks = (bytes.len() / MIN_CHUNK).clamp(1, threads.max(1));
    parse(path, &bytes, bytes.is_mapped(), target, kind, chunks)
}

/// Parse and hash `bytes` (the contents of `path`; a file mapping when `mapped`), split into
/// `chunks` when more than one.
fn parse(
    path: &Path,
    bytes: &[u8],
    mapped: bool,
    target: Option<&str>,
    kind: ProblemKind,
    chunks: usize,
) -> Result<Parsed, DataError> {
    if let Some(parsed) = parse_chunked(path, bytes, mapped, target, kind, chunks)? {
        return Ok(parsed);
    }
    // A file with a quote goes to the csv crate (the chunked parser's count finds any), hashed
    // beside it.
    let (table, hash) = with_hash(bytes, mapped, chunks > 1, || {
        parse_sequential(path, bytes, target, kind)
    })?;
    Ok(Parsed { hash, ..table })
}

/// The header: names (trimmed), the target's index, and the header's line.
struct Header {
    names: Vec<String>,
    target: usize,
    line: u64,
}

/// Read and check the header row with the csv crate (both paths, so both name columns alike).
fn read_header(
    path: &Path,
    reader_bytes: &[u8],
    reader: &mut ::csv::Reader<&[u8]>,
    target: Option<&str>,
) -> Result<Header, DataError> {
    let header = reader
        .byte_headers()
        .map_err(|e| DataError::Csv {
            path: path.to_path_buf(),
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    if header.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            what: "the file is empty; expected a header row and data rows".into(),
        });
    }
    let start = header.position().map_or(0, |p| p.byte());
    let line = record_line_at(reader_bytes, usize::try_from(start).unwrap_or(0));
    let mut names = Vec::with_capacity(header.len());
    for field in header.iter() {
        let name = std::str::from_utf8(field.trim_ascii()).map_err(|_| DataError::Csv {
            path: path.to_path_buf(),
            line,
            message: "the header is not valid UTF-8".into(),
        })?;
        names.push(name.to_string());
    }
    let n_cols = names.len();
    let t = match target {
        Some(t) => names
            .iter()
            .position(|n| n == t)
            .ok_or_else(|| DataError::MissingTarget {
                path: path.to_path_buf(),
                target: t.to_string(),
                columns: names.join(", "),
            })?,
        None => n_cols - 1,
    };
    if n_cols < 2 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            what: format!(
                "no feature columns: the header has only the target `{}`",
                names[t]
            ),
        });
    }
    Ok(Header {
        names,
        target: t,
        line,
    })
}

/// A csv reader over `bytes` as both paths configure it.
fn reader(bytes: &[u8]) -> ::csv::Reader<&[u8]> {
    ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes)
}

/// Everything needed to name a place in the file in an error.
struct Place<'a> {
    path: &'a Path,
    names: &'a [String],
    bytes: &'a [u8],
}

/// The line (1-based) of the record the csv crate places at `pos`.
///
/// The crate's position is where it began reading the record: before the blank lines it skips
/// and the `\n` of the previous `\r\n`, so its line number can be short; this one is not.
fn record_line(bytes: &[u8], pos: &::csv::Position) -> u64 {
    record_line_at(bytes, usize::try_from(pos.byte()).unwrap_or(bytes.len()))
}

/// The line of the record whose reading began at byte `at` (see [`record_line`]).
fn record_line_at(bytes: &[u8], at: usize) -> u64 {
    let at = at.min(bytes.len());
    let start = at
        + bytes[at..]
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
    memchr_iter(b'\n', &bytes[..start]).count() as u64 + 1
}

impl Place<'_> {
    /// The error for a bad cell, named by line, column and header.
    fn cell_error(&self, e: CellError, line: u64, col: usize, cell: &[u8]) -> DataError {
        let value = String::from_utf8_lossy(cell.trim_ascii());
        e.at(self.path, line, col, &self.names[col], &value)
    }

    /// The error for a bad class label.
    fn label_error(&self, e: LabelError, line: u64, col: usize, cell: &[u8]) -> DataError {
        match e {
            LabelError::Cell(e) => self.cell_error(e, line, col, cell),
            LabelError::NotUtf8 => DataError::Csv {
                path: self.path.to_path_buf(),
                line,
                message: format!(
                    "column {} (`{}`): the class label is not valid UTF-8",
                    col + 1,
                    self.names[col]
                ),
            },
        }
    }

    /// The error for malformed CSV, with its line.
    fn csv_error(&self, e: &::csv::Error) -> DataError {
        let line = e.position().map_or(0, |p| record_line(self.bytes, p));
        let message = match e.kind() {
            ::csv::ErrorKind::Io(io) => io.to_string(),
            _ => e.to_string(),
        };
        DataError::Csv {
            path: self.path.to_path_buf(),
            line,
            message,
        }
    }
}

/// Parse with the csv crate, one record at a time (any CSV, quotes included).
fn parse_sequential(
    path: &Path,
    bytes: &[u8],
    target: Option<&str>,
    kind: ProblemKind,
) -> Result<Parsed, DataError> {
    let mut reader = reader(bytes);
    let Header { names, target, .. } = read_header(path, bytes, &mut reader, target)?;
    let n_cols = names.len();
    let place = Place {
        path,
        names: &names,
        bytes,
    };

    // Line count bounds the row count, so the feature buffer is allocated once.
    let max_rows = memchr_iter(b'\n', bytes).count() + 1;
    let mut x: Vec<f64> = Vec::with_capacity(max_rows.saturating_mul(n_cols - 1));
    let mut y_values: Vec<f64> = Vec::new();
    let mut labels = LabelTable::default();
    match kind {
        ProblemKind::Regression => y_values.reserve(max_rows),
        ProblemKind::Classification | ProblemKind::Clustering => labels.rows.reserve(max_rows),
    }
    let mut record = ByteRecord::new();
    let mut n_rows = 0usize;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| place.csv_error(&e))?
    {
        let line = record.position().map_or(0, |p| record_line(bytes, p));
        if record.len() != n_cols {
            return Err(DataError::FieldCount {
                path: path.to_path_buf(),
                line,
                expected: n_cols,
                found: record.len(),
            });
        }
        for (col, cell) in record.iter().enumerate() {
            if col == target {
                match kind {
                    ProblemKind::Classification | ProblemKind::Clustering => labels
                        .push(cell)
                        .map_err(|e| place.label_error(e, line, col, cell))?,
                    ProblemKind::Regression => y_values.push(
                        parse_number(cell).map_err(|e| place.cell_error(e, line, col, cell))?,
                    ),
                }
            } else {
                x.push(parse_number(cell).map_err(|e| place.cell_error(e, line, col, cell))?);
            }
        }
        n_rows += 1;
    }
    let targets = match kind {
        ProblemKind::Regression => Targets::Values(y_values),
        ProblemKind::Classification | ProblemKind::Clustering => Targets::Labels(labels),
    };
    Ok(Parsed {
        names,
        target,
        n_rows,
        x,
        targets,
        hash: blake3::Hash::from_bytes([0; 32]),
    })
}

/// Why a chunk stopped.
enum Fail {
    /// The chunk holds something only the csv crate reads exactly (a lone carriage return).
    Fallback,
    /// Bad data on the line starting at byte `line_start`.
    At { line_start: usize, bad: Bad },
}

/// What is wrong on a line (its number is counted only when the error is reported).
enum Bad {
    FieldCount,
    Cell {
        col: usize,
        err: CellError,
        cell: Range<usize>,
    },
    Label {
        col: usize,
        err: LabelError,
        cell: Range<usize>,
    },
}

/// What one chunk read beside the values it wrote in place.
struct Chunk {
    n_rows: usize,
    /// The class labels (classification only).
    labels: Option<LabelTable>,
}

/// The shape every row must have.
#[derive(Clone, Copy)]
struct Shape {
    n_cols: usize,
    target: usize,
    kind: ProblemKind,
    /// The bytes are a file mapping: passes over them keep only a window mapped.
    mapped: bool,
}

/// Parse the data rows in `chunks` pieces on their own threads; `None` when the file needs the
/// csv crate.
fn parse_chunked(
    path: &Path,
    bytes: &[u8],
    mapped: bool,
    target: Option<&str>,
    kind: ProblemKind,
    chunks: usize,
) -> Result<Option<Parsed>, DataError> {
    let Some(plan) = plan_chunked(path, bytes, mapped, target, kind, chunks)? else {
        return Ok(None);
    };
    let regression = kind == ProblemKind::Regression;
    let mut x = zeroed(plan.rows * plan.n_features());
    let mut y = zeroed(if regression { plan.rows } else { 0 });
    let Some(done) = run_chunked(path, bytes, &plan, &mut x, &mut y)? else {
        return Ok(None);
    };
    x.truncate(done.n_rows * plan.n_features());
    y.truncate(if regression { done.n_rows } else { 0 });
    Ok(Some(plan.into_parsed(done, x, y)))
}

/// Parse `bytes` (the contents of `path`) straight into an image made by `alloc` (given its
/// length in bytes), hashing it in the same passes; `None` when the file needs the csv crate.
pub(super) fn read_image<B: ImageBuf>(
    path: &Path,
    file: &super::bytes::FileBytes,
    target: Option<&str>,
    kind: ProblemKind,
    threads: usize,
    alloc: &mut dyn FnMut(usize) -> B,
) -> Result<Option<(Parsed, B)>, DataError> {
    let (bytes, mapped): (&[u8], bool) = (file, file.is_mapped());
    let chunks = (bytes.len() / MIN_CHUNK).clamp(1, threads.max(1));
    let Some(plan) = plan_chunked(path, bytes, mapped, target, kind, chunks)? else {
        return Ok(None);
    };
    let d = plan.n_features();
    let mut image = alloc(super::image_len(plan.rows, d));
    let (x, y) = super::image_parts_mut(image.bytes_mut(), plan.rows, d)?;
    let Some(done) = run_chunked(path, bytes, &plan, x, y)? else {
        return Ok(None);
    };
    Ok(Some((
        plan.into_parsed(done, Vec::new(), Vec::new()),
        image,
    )))
}

/// Run `parse` beside the BLAKE3 hash of `bytes` (on its own thread when `beside`), for a parse
/// that does not hash as it goes.
fn with_hash<T>(
    bytes: &[u8],
    mapped: bool,
    beside: bool,
    parse: impl FnOnce() -> Result<T, DataError>,
) -> Result<(T, blake3::Hash), DataError> {
    std::thread::scope(|s| {
        let hasher = beside.then(|| s.spawn(move || hash_windowed(bytes, mapped)));
        let out = parse()?;
        let hash = match hasher {
            Some(h) => h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            None => hash_windowed(bytes, mapped),
        };
        Ok((out, hash))
    })
}

/// What the chunked parser knows before parsing: the header, the chunks and their lines.
struct Plan {
    header: Header,
    shape: Shape,
    ranges: Vec<Range<usize>>,
    /// Lines per chunk: each bounds the chunk's rows.
    lines: Vec<usize>,
    /// All lines: a bound on the rows.
    rows: usize,
    /// The file's BLAKE3, computed by the pass that counted the lines.
    hash: blake3::Hash,
}

/// What the chunked parser read beside the values it wrote in place.
struct Done {
    n_rows: usize,
    labels: Option<LabelTable>,
}

impl Plan {
    fn n_features(&self) -> usize {
        self.shape.n_cols - 1
    }

    /// The parse's result, with the features `x` and regression targets `y` (as the caller
    /// holds them).
    fn into_parsed(self, done: Done, x: Vec<f64>, y: Vec<f64>) -> Parsed {
        let targets = match done.labels {
            Some(labels) => Targets::Labels(labels),
            None if self.shape.kind == ProblemKind::Regression => Targets::Values(y),
            None => Targets::Labels(LabelTable::default()),
        };
        Parsed {
            names: self.header.names,
            target: self.header.target,
            n_rows: done.n_rows,
            x,
            targets,
            hash: self.hash,
        }
    }
}

/// Read the header and split the data rows into `chunks` ranges with their line counts; `None`
/// when the file needs the csv crate.
fn plan_chunked(
    path: &Path,
    bytes: &[u8],
    mapped: bool,
    target: Option<&str>,
    kind: ProblemKind,
    chunks: usize,
) -> Result<Option<Plan>, DataError> {
    let mut reader = reader(bytes);
    let header = read_header(path, bytes, &mut reader, target)?;
    // Without quotes the header is exactly its line: the data start after it.
    let line_ends = |n: u64| memchr_iter(b'\n', bytes).nth((n as usize).wrapping_sub(1));
    let header_start = if header.line <= 1 {
        0
    } else {
        line_ends(header.line - 1).map_or(bytes.len(), |i| i + 1)
    };
    let data_start = line_ends(header.line).map_or(bytes.len(), |i| i + 1);
    let header_text = bytes[header_start..data_start].strip_suffix(b"\n");
    let header_text = header_text.unwrap_or(&bytes[header_start..data_start]);
    let header_text = header_text.strip_suffix(b"\r").unwrap_or(header_text);
    let header_text = header_text
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(header_text);
    // A lone carriage return ends a record for the csv crate; an empty header line means the
    // crate read the header elsewhere: either way, leave the file to it.
    if header_text.is_empty()
        || memchr(b'\r', header_text).is_some()
        || memchr(b'"', header_text).is_some()
    {
        return Ok(None);
    }
    let shape = Shape {
        n_cols: header.names.len(),
        target: header.target,
        kind,
        mapped,
    };
    let ranges = split_at_lines(bytes, data_start, chunks);
    let blocks = BlockHash::new(bytes.len());
    // The ranges are contiguous and end at the file's end; the first pass starts at 0, so the
    // header's bytes are hashed with the first chunk's and the hash is the whole file's.
    let mut spans = ranges.clone();
    spans[0].start = 0;
    // Each chunk's line count bounds its rows: it places the chunk's rows in the final matrix,
    // so every thread parses straight into place and nothing is copied after.
    let counts = in_parallel(&spans, |span| {
        let data = span.start.max(data_start)..span.end;
        count_lines(bytes, data, span, mapped, &blocks)
    });
    unmap_all(bytes, mapped);
    // A quoted field may hold a line end, so line ends need not end rows: the csv crate's.
    let Some(counts) = counts.into_iter().collect::<Option<Vec<Counted>>>() else {
        return Ok(None);
    };
    let lines: Vec<usize> = counts.iter().map(|c| c.lines).collect();
    let cvs: Vec<ChainingValue> = counts.into_iter().flat_map(|c| c.cvs).collect();
    let hash = blocks.combine(bytes, &cvs);
    let rows = lines.iter().sum();
    Ok(Some(Plan {
        header,
        shape,
        ranges,
        lines,
        rows,
        hash,
    }))
}

/// Parse the planned chunks on their own threads into `x` (`plan.rows` rows of features) and,
/// for regression, `y` (`plan.rows` targets); the rows read are then the first ones of both.
/// `None` when the file needs the csv crate.
fn run_chunked(
    path: &Path,
    bytes: &[u8],
    plan: &Plan,
    x: &mut [f64],
    y: &mut [f64],
) -> Result<Option<Done>, DataError> {
    let shape = plan.shape;
    let n_features = plan.n_features();
    let regression = shape.kind == ProblemKind::Regression;
    let mut x_slots = Vec::with_capacity(plan.lines.len());
    let mut y_slots = Vec::with_capacity(plan.lines.len());
    let (mut x_rest, mut y_rest) = (&mut x[..], &mut y[..]);
    for &n in &plan.lines {
        let (slot, rest) = x_rest.split_at_mut(n * n_features);
        x_slots.push(slot);
        x_rest = rest;
        let (slot, rest) = y_rest.split_at_mut(if regression { n } else { 0 });
        y_slots.push(slot);
        y_rest = rest;
    }
    let jobs: Vec<_> = (plan.ranges.iter().cloned())
        .zip(x_slots)
        .zip(y_slots)
        .collect();
    let results: Vec<Result<Chunk, Fail>> = std::thread::scope(|s| {
        let mut jobs = jobs.into_iter();
        let first = jobs.next();
        let handles: Vec<_> = jobs
            .map(|((r, xs), ys)| s.spawn(move || parse_chunk(bytes, r, shape, xs, ys)))
            .collect();
        let mut results = Vec::with_capacity(handles.len() + 1);
        if let Some(((r, xs), ys)) = first {
            results.push(parse_chunk(bytes, r, shape, xs, ys));
        }
        for h in handles {
            results.push(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        results
    });
    unmap_all(bytes, shape.mapped);
    let mut labels: Option<LabelTable> = None;
    // Rows so far, and where the next chunk's slot starts.
    let (mut n_rows, mut slot_start) = (0, 0);
    // The first failure in file order is the one to report.
    for (result, &n_lines) in results.into_iter().zip(&plan.lines) {
        let chunk = match result {
            Ok(chunk) => chunk,
            Err(Fail::Fallback) => return Ok(None),
            Err(Fail::At { line_start, bad }) => {
                return Err(located(path, bytes, &plan.header.names, line_start, bad));
            }
        };
        // Blank lines leave a slot's tail unused: close the gap.
        if slot_start != n_rows {
            let from = slot_start * n_features..(slot_start + chunk.n_rows) * n_features;
            x.copy_within(from, n_rows * n_features);
            if regression {
                y.copy_within(slot_start..slot_start + chunk.n_rows, n_rows);
            }
        }
        n_rows += chunk.n_rows;
        slot_start += n_lines;
        match (&mut labels, chunk.labels) {
            (_, None) => {}
            (None, Some(l)) => labels = Some(l),
            (Some(acc), Some(l)) => acc.append(l),
        }
    }
    Ok(Some(Done { n_rows, labels }))
}

/// `f` applied to each range, the first on this thread and the others on their own.
fn in_parallel<T: Send>(ranges: &[Range<usize>], f: impl Fn(Range<usize>) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = ranges[1..]
            .iter()
            .map(|r| {
                let r = r.clone();
                s.spawn(move || f(r))
            })
            .collect();
        let mut out = vec![f(ranges[0].clone())];
        for h in handles {
            out.push(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        out
    })
}

/// What the first pass over a chunk found.
struct Counted {
    /// The chunk's lines.
    lines: usize,
    /// The chaining values of the hash blocks that start in the pass's span, in order.
    cvs: Vec<ChainingValue>,
}

/// Lines in `bytes[data]` (line ends, plus one for a last line without one), and the chaining
/// values of the hash blocks that start in `span` (which holds `data`), through a window when
/// `mapped`; `None` when `data` holds a quote. The pass reads on past `span` to the end of the
/// last block it hashes.
fn count_lines(
    bytes: &[u8],
    data: Range<usize>,
    span: Range<usize>,
    mapped: bool,
    blocks: &BlockHash,
) -> Option<Counted> {
    let hashed = blocks.starting_in(span.clone());
    let end = if hashed.is_empty() {
        span.end
    } else {
        blocks.block(hashed.end - 1).end.max(span.end)
    };
    let mut window = Window::new(bytes, span.start, mapped);
    let mut ends = 0;
    let mut cvs = Vec::with_capacity(hashed.len());
    let mut hasher = None;
    let mut at = span.start;
    // Pieces are aligned (after the first) and never straddle a block, so each block in
    // `hashed` is fed whole from its start; the scan and the hash read a piece while it is in
    // cache. memchr scans with the widest vector instructions the CPU has.
    while at < end {
        let to = ((at / HASH_PIECE + 1) * HASH_PIECE).min(end);
        window.advance(at);
        let scanned = at.max(data.start)..to.min(data.end);
        if !scanned.is_empty() {
            let piece = &bytes[scanned];
            if memchr(b'"', piece).is_some() {
                return None;
            }
            ends += memchr_iter(b'\n', piece).count();
        }
        let block = at / HASH_BLOCK;
        if hashed.contains(&block) {
            let h = hasher.get_or_insert_with(|| blocks.hasher(block));
            h.update(&bytes[at..to]);
            if to == blocks.block(block).end {
                cvs.push(h.finalize_non_root());
                hasher = None;
            }
        }
        at = to;
    }
    window.finish_until(end);
    let last = bytes[data].last();
    Some(Counted {
        lines: ends + usize::from(last.is_some_and(|&b| b != b'\n')),
        cvs,
    })
}

/// `chunks` ranges covering `bytes[start..]`, each ending just after a line end (or at the end).
fn split_at_lines(bytes: &[u8], start: usize, chunks: usize) -> Vec<Range<usize>> {
    let len = bytes.len() - start;
    let mut ranges = Vec::with_capacity(chunks);
    let mut from = start;
    for k in 1..chunks {
        let guess = (start + len / chunks * k).max(from);
        let to = memchr(b'\n', &bytes[guess..]).map_or(bytes.len(), |i| guess + i + 1);
        ranges.push(from..to);
        from = to;
    }
    ranges.push(from..bytes.len());
    ranges
}

/// The error for `bad` on the line starting at `line_start`, numbered as the csv crate does.
fn located(path: &Path, bytes: &[u8], names: &[String], line_start: usize, bad: Bad) -> DataError {
    let line = memchr_iter(b'\n', &bytes[..line_start]).count() as u64 + 1;
    // The csv crate checks a row's field count before its cells: so does this error.
    let rest = &bytes[line_start..];
    let text = &rest[..memchr(b'\n', rest).unwrap_or(rest.len())];
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    let found = memchr_iter(b',', text).count() + 1;
    if found != names.len() || matches!(bad, Bad::FieldCount) {
        return DataError::FieldCount {
            path: path.to_path_buf(),
            line,
            expected: names.len(),
            found,
        };
    }
    let place = Place { path, names, bytes };
    match bad {
        Bad::Cell { col, err, cell } => place.cell_error(err, line, col, &bytes[cell]),
        Bad::Label { col, err, cell } => place.label_error(err, line, col, &bytes[cell]),
        Bad::FieldCount => unreachable!("returned above"),
    }
}

/// Parse the whole lines in `bytes[range]`, writing features row-major into `x` and regression
/// targets into `y` (both sized for one row per line).
fn parse_chunk(
    bytes: &[u8],
    range: Range<usize>,
    shape: Shape,
    x: &mut [f64],
    y: &mut [f64],
) -> Result<Chunk, Fail> {
    let Shape {
        n_cols,
        target,
        kind,
        mapped,
    } = shape;
    let n_features = n_cols - 1;
    let classify = kind != ProblemKind::Regression;
    // Lines after the chunk are not ours; a line end always closes the chunk's last line.
    let data = &bytes[..range.end];
    let mut pos = range.start;
    let mut labels = LabelTable::default();
    if classify {
        labels.rows.reserve(x.len() / n_features.max(1));
    }
    let mut n_rows = 0;
    let mut window = Window::new(bytes, pos, mapped);
    while pos < data.len() {
        window.advance(pos);
        let line_start = pos;
        // Blank lines are skipped, as the csv crate does.
        match (data[pos], data.get(pos + 1)) {
            (b'\n', _) => {
                pos += 1;
                continue;
            }
            (b'\r', Some(b'\n')) => {
                pos += 2;
                continue;
            }
            (b'\r', None) => {
                pos += 1;
                continue;
            }
            (b'\r', Some(_)) => return Err(Fail::Fallback),
            _ => {}
        }
        let fail = |bad| Fail::At { line_start, bad };
        // The slots hold one row per line, so a row always has its place.
        let Some(row) = x.get_mut(n_rows * n_features..(n_rows + 1) * n_features) else {
            return Err(Fail::Fallback);
        };
        let mut feature = 0;
        for col in 0..n_cols {
            let rest = &data[pos..];
            if classify && col == target {
                let len = field_len(rest);
                labels.push(&rest[..len]).map_err(|err| {
                    fail(Bad::Label {
                        col,
                        err,
                        cell: pos..pos + len,
                    })
                })?;
                pos += len;
            } else {
                // Most cells are a bare number: parse it in place; anything else (spaces, bad
                // text) goes through the cell parser, which trims and names the fault.
                let (v, len) = match number_at(rest) {
                    Some((v, n)) => (v, n),
                    None => {
                        let len = field_len(rest);
                        let v = parse_number(&rest[..len]).map_err(|err| {
                            fail(Bad::Cell {
                                col,
                                err,
                                cell: pos..pos + len,
                            })
                        })?;
                        (v, len)
                    }
                };
                if !v.is_finite() {
                    return Err(fail(Bad::Cell {
                        col,
                        err: CellError::NotFinite,
                        cell: pos..pos + len,
                    }));
                }
                if col == target {
                    if let Some(slot) = y.get_mut(n_rows) {
                        *slot = v;
                    }
                } else if let Some(slot) = row.get_mut(feature) {
                    *slot = v;
                    feature += 1;
                }
                pos += len;
            }
            let last = col + 1 == n_cols;
            match (data.get(pos), data.get(pos + 1)) {
                (Some(b','), _) if !last => pos += 1,
                (Some(b','), _) => return Err(fail(Bad::FieldCount)),
                (Some(b'\r'), Some(c)) if *c != b'\n' => return Err(Fail::Fallback),
                _ if !last => return Err(fail(Bad::FieldCount)),
                (None, _) => {}
                (Some(b'\r'), Some(_)) => pos += 2,
                (Some(_), _) => pos += 1,
            }
        }
        n_rows += 1;
    }
    window.finish_until(range.end);
    Ok(Chunk {
        n_rows,
        labels: classify.then_some(labels),
    })
}

/// The number that fills the field at the start of `rest` and its length, when the field is a
/// bare number (no spaces), else `None`.
#[inline]
fn number_at(rest: &[u8]) -> Option<(f64, usize)> {
    if let Some(found) = plain_decimal(rest) {
        return Some(found);
    }
    match fast_float2::parse_partial::<f64, _>(rest) {
        Ok((v, n)) if n > 0 && matches!(rest.get(n), None | Some(b',' | b'\n' | b'\r')) => {
            Some((v, n))
        }
        _ => None,
    }
}

/// The common cell quickly: a plain decimal (`-?digits[.digits]`, at most 19 digits, at most 22
/// after the point) that fills its field. Its digits, read as an integer, are exact in a u64, so
/// one product with a power of five gives the correctly rounded value ([`scaled_decimal`]).
/// Anything else returns `None` for the general parser.
#[inline]
fn plain_decimal(s: &[u8]) -> Option<(f64, usize)> {
    let negative = s.first() == Some(&b'-');
    let mut i = usize::from(negative);
    let mut w: u64 = 0;
    let int_start = i;
    while let Some(d) = s.get(i).map(|c| c.wrapping_sub(b'0')).filter(|&d| d <= 9) {
        w = w.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    let n_int = i - int_start;
    let mut n_frac = 0;
    if s.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while let Some(eight) = s.get(i..i + 8) {
            let v = u64::from_le_bytes(eight.try_into().ok()?);
            if !is_8_digits(v) {
                break;
            }
            w = w.wrapping_mul(100_000_000).wrapping_add(eight_digits(v));
            i += 8;
        }
        while let Some(d) = s.get(i).map(|c| c.wrapping_sub(b'0')).filter(|&d| d <= 9) {
            w = w.wrapping_mul(10).wrapping_add(u64::from(d));
            i += 1;
        }
        n_frac = i - frac_start;
    }
    let digits = n_int + n_frac;
    if digits == 0 || digits > 19 || n_frac > 22 {
        return None;
    }
    if !matches!(s.get(i), None | Some(b',' | b'\n' | b'\r')) {
        return None;
    }
    let v = if w == 0 {
        0.0
    } else {
        scaled_decimal(w, n_frac)?
    };
    Some((if negative { -v } else { v }, i))
}

/// 5^q for q = −22..=0 as 128-bit significands (high word, low word), normalized so the top bit
/// is set, rounded up for negative q: the rows of Lemire's table that a decimal with at most 22
/// digits after the point needs.
const POW5_128: [(u64, u64); 23] = [
    (0xf1c9_0080_baf7_2cb1, 0x5324_c68b_12dd_6339),
    (0x971d_a050_74da_7bee, 0xd3f6_fc16_ebca_5e04),
    (0xbce5_0864_9211_1aea, 0x88f4_bb1c_a6bc_f585),
    (0xec1e_4a7d_b695_61a5, 0x2b31_e9e3_d06c_32e6),
    (0x9392_ee8e_921d_5d07, 0x3aff_322e_6243_9fd0),
    (0xb877_aa32_36a4_b449, 0x09be_feb9_fad4_87c3),
    (0xe695_94be_c44d_e15b, 0x4c2e_be68_7989_a9b4),
    (0x901d_7cf7_3ab0_acd9, 0x0f9d_3701_4bf6_0a11),
    (0xb424_dc35_095c_d80f, 0x5384_84c1_9ef3_8c95),
    (0xe12e_1342_4bb4_0e13, 0x2865_a5f2_06b0_6fba),
    (0x8cbc_cc09_6f50_88cb, 0xf93f_87b7_442e_45d4),
    (0xafeb_ff0b_cb24_aafe, 0xf78f_69a5_1539_d749),
    (0xdbe6_fece_bded_d5be, 0xb573_440e_5a88_4d1c),
    (0x8970_5f41_36b4_a597, 0x3168_0a88_f895_3031),
    (0xabcc_7711_8461_cefc, 0xfdc2_0d2b_36ba_7c3e),
    (0xd6bf_94d5_e57a_42bc, 0x3d32_9076_0469_1b4d),
    (0x8637_bd05_af6c_69b5, 0xa63f_9a49_c2c1_b110),
    (0xa7c5_ac47_1b47_8423, 0x0fcf_80dc_3372_1d54),
    (0xd1b7_1758_e219_652b, 0xd3c3_6113_404e_a4a9),
    (0x8312_6e97_8d4f_df3b, 0x645a_1cac_0831_26ea),
    (0xa3d7_0a3d_70a3_d70a, 0x3d70_a3d7_0a3d_70a4),
    (0xcccc_cccc_cccc_cccc, 0xcccc_cccc_cccc_cccd),
    (0x8000_0000_0000_0000, 0x0000_0000_0000_0000),
];

/// The correctly rounded value of `w` / 10^`n_frac` for a non-zero integer `w` and `n_frac` ≤ 22,
/// by the Eisel–Lemire method: one 64×128-bit product with 5^−n_frac in place of a division
/// (which was measured slower even where `w` and the power of ten are exact in f64). For a mantissa read exactly (at most 19 digits) and a decimal exponent
/// in −27..=55 the product is never ambiguous, so the result is always exact; `None` only for a
/// value outside the normal range, which a cell of this shape cannot hold.
#[inline]
fn scaled_decimal(w: u64, n_frac: usize) -> Option<f64> {
    const EXPLICIT_BITS: i32 = 52;
    let q = -i32::try_from(n_frac).ok()?;
    let (hi5, lo5) = *POW5_128.get(22usize.checked_sub(n_frac)?)?;
    let lz = w.leading_zeros();
    let w = w << lz;
    let product = u128::from(w) * u128::from(hi5);
    let (mut lo, mut hi) = (product as u64, (product >> 64) as u64);
    // Only when the bits below the 55 kept are all ones can the low word change them.
    const MASK: u64 = u64::MAX >> (EXPLICIT_BITS + 3);
    if hi & MASK == MASK {
        let second = ((u128::from(w) * u128::from(lo5)) >> 64) as u64;
        lo = lo.wrapping_add(second);
        if second > lo {
            hi += 1;
        }
    }
    let upper = (hi >> 63) as i32;
    let shift = upper + 64 - EXPLICIT_BITS - 3;
    let mut mantissa = hi >> shift;
    // ⌊q·log2(10)⌋ + 63 in fixed point, then the IEEE bias.
    let mut power2 = ((q * (152_170 + 65_536)) >> 16) + 63 + upper - lz as i32 + 1023;
    if power2 <= 0 {
        return None;
    }
    // An exact tie (possible only for q ≥ −4) rounds to even.
    if lo <= 1 && q >= -4 && mantissa & 3 == 1 && (mantissa << shift) == hi {
        mantissa &= !1;
    }
    mantissa += mantissa & 1;
    mantissa >>= 1;
    if mantissa >= 2 << EXPLICIT_BITS {
        mantissa = 1 << EXPLICIT_BITS;
        power2 += 1;
    }
    mantissa &= !(1 << EXPLICIT_BITS);
    if power2 >= 0x7FF {
        return None;
    }
    Some(f64::from_bits(mantissa | (power2 as u64) << EXPLICIT_BITS))
}

/// Whether the 8 bytes of `v` (little-endian) are all ASCII digits.
#[inline]
fn is_8_digits(v: u64) -> bool {
    let a = v.wrapping_add(0x4646_4646_4646_4646);
    let b = v.wrapping_sub(0x3030_3030_3030_3030);
    (a | b) & 0x8080_8080_8080_8080 == 0
}

/// The value of 8 ASCII digits (little-endian in `v`), in a few multiplications.
#[inline]
fn eight_digits(v: u64) -> u64 {
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 0x000F_4240_0000_0064;
    const MUL2: u64 = 0x0000_2710_0000_0001;
    let v = v.wrapping_sub(0x3030_3030_3030_3030);
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let v1 = (v & MASK).wrapping_mul(MUL1);
    let v2 = ((v >> 16) & MASK).wrapping_mul(MUL2);
    u64::from((v1.wrapping_add(v2) >> 32) as u32)
}

/// Length of the field at the start of `rest` (up to a comma or a line end).
fn field_len(rest: &[u8]) -> usize {
    memchr3(b',', b'\n', b'\r', rest).unwrap_or(rest.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Dataset, Problem};
    use std::io::Write;

    fn csv_file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn read(text: &str, target: Option<&str>, kind: ProblemKind) -> Result<Dataset, DataError> {
        let f = csv_file(text);
        Dataset::read_csv(f.path(), target, kind)
    }

    fn classes(d: &Dataset) -> Vec<String> {
        match &d.problem {
            Problem::Classification { classes } => classes.clone(),
            Problem::Regression | Problem::Clustering => panic!("not a classification"),
        }
    }

    /// About 2 MiB of rows: a file that is mapped, and that windows slide over many times.
    fn numbered_rows() -> String {
        let mut text = String::from("a,b,y\n");
        for r in 0..120_000u32 {
            text.push_str(&format!("{}.25,-{},{}\n", r, r % 977, r % 3));
        }
        text
    }

    /// `bytes`, the mapping of the regression file `path`, parsed through windows in `chunks`.
    fn parse_mapped(path: &Path, bytes: &[u8], chunks: usize) -> Parsed {
        parse(path, bytes, true, None, ProblemKind::Regression, chunks).unwrap()
    }

    #[test]
    fn a_mapped_file_read_through_windows_is_read_whole() {
        let text = numbered_rows();
        let f = csv_file(&text);
        let bytes = super::super::bytes::FileBytes::open(f.path()).unwrap();
        assert!(bytes.is_mapped());
        let whole = parse(
            f.path(),
            text.as_bytes(),
            false,
            None,
            ProblemKind::Regression,
            1,
        )
        .unwrap()
        .into_dataset(f.path(), ProblemKind::Regression)
        .unwrap();
        for chunks in [1, 3] {
            let windowed = parse_mapped(f.path(), &bytes, chunks)
                .into_dataset(f.path(), ProblemKind::Regression)
                .unwrap();
            assert_eq!(windowed.x, whole.x);
            assert_eq!(windowed.y, whole.y);
            assert_eq!(windowed.checksum, whole.checksum);
        }
        assert_eq!(whole.x[[119_999, 0]], 119_999.25);
        assert_eq!(bytes.hash(), blake3::hash(text.as_bytes()));
    }

    /// The resident size of the mapping that starts at `at`, from `/proc/self/smaps`.
    fn resident_kib(at: *const u8) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let start = format!("{:x}-", at as usize);
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&start)).skip(1);
        let rss = lines.find(|l| l.starts_with("Rss:")).unwrap();
        rss.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn a_parse_of_a_mapped_file_leaves_none_of_it_resident() {
        let text = numbered_rows();
        // Written just now, the file sits in the page cache in large folios, which a fault may
        // map whole, pages behind it included.
        let f = csv_file(&text);
        let bytes = super::super::bytes::FileBytes::open(f.path()).unwrap();
        assert!(bytes.is_mapped() && bytes.len() > 16 * HASH_BLOCK);
        for chunks in [1, 3] {
            parse_mapped(f.path(), &bytes, chunks);
            // At most the last page, which the file's end splits.
            let kib = resident_kib(bytes.as_ptr());
            assert!(kib <= 4, "{kib} KiB of {} resident", bytes.len() / 1024);
        }
        let _ = bytes.hash();
        assert!(resident_kib(bytes.as_ptr()) <= 4);
    }

    #[test]
    fn last_column_is_the_default_target() {
        let d = read(
            "a,b,label\n1,2,0\n3,4,1\n",
            None,
            ProblemKind::Classification,
        )
        .unwrap();
        assert_eq!(d.feature_names, ["a", "b"]);
        assert_eq!(d.target_name, "label");
        assert_eq!(d.x, ndarray::array![[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(d.y.to_vec(), [0.0, 1.0]);
    }

    #[test]
    fn target_column_can_be_named_anywhere() {
        let d = read(
            "y,a,b\n1.5,1,2\n-2,3,4\n",
            Some("y"),
            ProblemKind::Regression,
        )
        .unwrap();
        assert_eq!(d.feature_names, ["a", "b"]);
        assert_eq!(d.y.to_vec(), [1.5, -2.0]);
        assert_eq!(d.x.row(1).to_vec(), [3.0, 4.0]);
        assert_eq!(d.problem, Problem::Regression);
    }

    #[test]
    fn numeric_classes_sort_numerically() {
        let d = read(
            "a,c\n1,10\n2,9\n3,-1\n4,9.0\n",
            None,
            ProblemKind::Classification,
        )
        .unwrap();
        // 9 and 9.0 are one class, named as first written.
        assert_eq!(classes(&d), ["-1", "9", "10"]);
        assert_eq!(d.y.to_vec(), [2.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn named_classes_sort_lexicographically() {
        let d = read(
            "a,c\n1,dog\n2,cat\n3, emu \n4,cat\n",
            None,
            ProblemKind::Classification,
        )
        .unwrap();
        assert_eq!(classes(&d), ["cat", "dog", "emu"]);
        assert_eq!(d.y.to_vec(), [1.0, 0.0, 2.0, 0.0]);
    }

    #[test]
    fn blank_trailing_lines_are_ignored() {
        let d = read("a,y\n1,2\n3,4\n\n\n", None, ProblemKind::Regression).unwrap();
        assert_eq!(d.n_rows(), 2);
    }

    #[test]
    fn checksum_is_blake3_of_the_file() {
        let d = read("a,y\n1,2\n", None, ProblemKind::Regression).unwrap();
        // From `blake3.blake3(b"a,y\n1,2\n").hexdigest()` (the Python `blake3` package).
        assert_eq!(
            d.checksum,
            "blake3:2b9837cdd1b0b81f27f22f909d2dc500dfcff5bb5d13380c530e332e7fe7f018"
        );
    }

    #[test]
    fn missing_file_is_an_io_error_naming_the_path() {
        let err = Dataset::read_csv(
            Path::new("/nonexistent/data.csv"),
            None,
            ProblemKind::Regression,
        )
        .unwrap_err();
        assert!(matches!(err, DataError::Io { .. }));
        assert!(err.to_string().contains("/nonexistent/data.csv"));
    }

    #[test]
    fn empty_file_is_refused() {
        let err = read("", None, ProblemKind::Regression).unwrap_err();
        assert!(matches!(err, DataError::Empty { .. }), "{err}");
    }

    #[test]
    fn header_only_file_is_refused() {
        let err = read("a,b,y\n", None, ProblemKind::Regression).unwrap_err();
        assert!(err.to_string().contains("no data rows"), "{err}");
    }

    #[test]
    fn single_column_file_has_no_features() {
        let err = read("y\n1\n2\n", None, ProblemKind::Regression).unwrap_err();
        assert!(err.to_string().contains("no feature columns"), "{err}");
    }

    #[test]
    fn wrong_field_count_names_the_line() {
        let err = read("a,b,y\n1,2,3\n4,5\n", None, ProblemKind::Regression).unwrap_err();
        match err {
            DataError::FieldCount {
                line,
                expected,
                found,
                ..
            } => assert_eq!((line, expected, found), (3, 3, 2)),
            e => panic!("{e}"),
        }
    }

    #[test]
    fn non_numeric_cell_names_line_column_and_header() {
        let err = read("a,b,y\n1,2,3\n4,five,6\n", None, ProblemKind::Regression).unwrap_err();
        match &err {
            DataError::NotANumber {
                line,
                column,
                name,
                value,
                ..
            } => {
                assert_eq!(
                    (*line, *column, name.as_str(), value.as_str()),
                    (3, 2, "b", "five")
                )
            }
            e => panic!("{e}"),
        }
        assert!(err.to_string().contains("line 3, column 2 (`b`)"), "{err}");
    }

    #[test]
    fn nan_cell_is_refused_with_line_and_column() {
        for bad in ["nan", "NaN", "inf", "-inf", "Infinity", "+INF"] {
            let err = read(
                &format!("a,b,y\n1,2,3\n4,{bad},6\n"),
                None,
                ProblemKind::Regression,
            )
            .unwrap_err();
            match err {
                DataError::NotFinite { line, column, .. } => {
                    assert_eq!((line, column), (3, 2), "{bad}")
                }
                e => panic!("{bad}: {e}"),
            }
        }
    }

    #[test]
    fn nan_regression_target_is_refused() {
        let err = read("a,y\n1,2\n4,NaN\n", None, ProblemKind::Regression).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::NotFinite {
                    line: 3,
                    column: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn nan_class_label_is_refused() {
        let err = read("a,y\n1,0\n4,nan\n", None, ProblemKind::Classification).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::NotFinite {
                    line: 3,
                    column: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn empty_cell_is_refused_as_missing_value() {
        let err = read("a,b,y\n1,,3\n", None, ProblemKind::Regression).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::EmptyCell {
                    line: 2,
                    column: 2,
                    ..
                }
            ),
            "{err}"
        );
        let err = read("a,y\n1,0\n2,\n", None, ProblemKind::Classification).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::EmptyCell {
                    line: 3,
                    column: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn missing_target_column_lists_the_columns() {
        let err = read("a,b\n1,2\n", Some("label"), ProblemKind::Classification).unwrap_err();
        match err {
            DataError::MissingTarget {
                target, columns, ..
            } => assert_eq!((target.as_str(), columns.as_str()), ("label", "a, b")),
            e => panic!("{e}"),
        }
    }

    #[test]
    fn one_class_target_is_refused() {
        let err = read("a,y\n1,yes\n2,yes\n", None, ProblemKind::Classification).unwrap_err();
        assert!(
            matches!(err, DataError::OneClass { ref class, .. } if class == "yes"),
            "{err}"
        );
    }

    #[test]
    fn crlf_line_ends_and_a_byte_order_mark_are_accepted() {
        let d = read(
            "\u{feff}a,y\r\n1,2\r\n3,4\r\n",
            None,
            ProblemKind::Regression,
        )
        .unwrap();
        assert_eq!(d.feature_names, ["a"]);
        assert_eq!(d.y.to_vec(), [2.0, 4.0]);
    }

    #[test]
    fn surrounding_spaces_and_quotes_are_accepted() {
        let d = read(
            "\"a\", b ,y\n\" 1.5\", 2 ,3\n",
            None,
            ProblemKind::Regression,
        )
        .unwrap();
        assert_eq!(d.feature_names, ["a", "b"]);
        assert_eq!(d.x.row(0).to_vec(), [1.5, 2.0]);
    }

    /// A file of `rows` rows: 3 features, a label named `c{row % 7}` for classification (the last
    /// label first seen late), a number for regression; `bad` replaces the cell at (row, col).
    fn big_text(rows: usize, named: bool, bad: &[(usize, usize, &str)]) -> String {
        let mut s = String::from("a,b,c,y\r\n");
        for r in 0..rows {
            let mut cells = [
                format!("{}", r as f64 * 0.25 - 3.0),
                format!("{:e}", (r % 13) as f64 / 7.0),
                format!(" {} ", r % 5),
                if named && r < rows * 3 / 4 {
                    format!("c{}", r % 6)
                } else if named {
                    format!("c{}", r % 7)
                } else {
                    format!("{}.5", r % 11)
                },
            ];
            for &(row, col, text) in bad {
                if row == r {
                    cells[col] = text.to_string();
                }
            }
            s.push_str(&cells.join(","));
            s.push_str(if r % 2 == 0 { "\n" } else { "\r\n" });
            if r % 100 == 0 {
                s.push('\n');
            }
        }
        s
    }

    /// The text read in `chunks` chunks (on threads), or with the csv crate when `chunks` is 0.
    fn read_in(text: &str, kind: ProblemKind, chunks: usize) -> Result<Dataset, DataError> {
        let path = Path::new("data.csv");
        let bytes = text.as_bytes();
        let parsed = if chunks == 0 {
            parse_sequential(path, bytes, None, kind).map(|p| Parsed {
                hash: blake3::hash(bytes),
                ..p
            })
        } else {
            parse(path, bytes, false, None, kind, chunks)
        };
        parsed?.into_dataset(path, kind)
    }

    #[test]
    fn chunked_and_sequential_parses_give_identical_datasets() {
        for (named, kind) in [
            (true, ProblemKind::Classification),
            (false, ProblemKind::Classification),
            (false, ProblemKind::Regression),
        ] {
            let text = big_text(5000, named, &[]);
            assert_eq!(
                split_at_lines(text.as_bytes(), 10, 4)
                    .iter()
                    .filter(|r| !r.is_empty())
                    .count(),
                4,
                "the file is split"
            );
            let sequential = read_in(&text, kind, 0).unwrap();
            assert_eq!(sequential.n_rows(), 5000);
            for chunks in [1, 2, 3, 4, 7] {
                assert_eq!(read_in(&text, kind, chunks).unwrap(), sequential);
            }
        }
    }

    #[test]
    fn the_chunked_parse_hashes_the_whole_file_however_it_is_split_into_blocks_and_chunks() {
        // Around one, several and exactly whole hash blocks, and a block boundary falling on a
        // chunk boundary or inside the header.
        let row = "1.25,-3,0\n";
        for len in [
            HASH_BLOCK / 2,
            HASH_BLOCK,
            HASH_BLOCK + 1,
            3 * HASH_BLOCK,
            3 * HASH_BLOCK + 7,
            5 * HASH_BLOCK - 3,
        ] {
            let mut text = String::from("a,b,y\n");
            while text.len() + row.len() <= len {
                text.push_str(row);
            }
            // Pad the last line so the file is exactly `len` bytes.
            text.insert_str(text.len() - 1, &"0".repeat(len - text.len()));
            assert_eq!(text.len(), len);
            let expected = format!("blake3:{}", blake3::hash(text.as_bytes()).to_hex());
            for chunks in [1, 2, 3, 5] {
                let d = read_in(&text, ProblemKind::Regression, chunks).unwrap();
                assert_eq!(d.checksum, expected, "{len} bytes in {chunks} chunks");
            }
        }
    }

    #[test]
    fn chunked_class_labels_keep_the_sequential_classes() {
        let text = big_text(5000, true, &[]);
        let d = read_in(&text, ProblemKind::Classification, 4).unwrap();
        // c6 is first seen in the last quarter, so only the last chunk meets it.
        assert_eq!(classes(&d), ["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
    }

    #[test]
    fn error_in_a_later_chunk_names_its_line_in_the_file() {
        // Row r is on line 2 + r + r / 100 + 1 (the header, then a blank line after every
        // hundredth row): row 4321 is on line 4367.
        let text = big_text(5000, false, &[(4321, 1, "oops")]);
        assert_eq!(
            text.lines().nth(4366).map(|l| l.contains("oops")),
            Some(true)
        );
        let err = read_in(&text, ProblemKind::Regression, 4).unwrap_err();
        assert!(
            err.to_string()
                .contains("line 4367, column 2 (`b`): expected a number, found `oops`"),
            "{err}"
        );
    }

    #[test]
    fn first_error_in_file_order_is_reported_when_several_chunks_fail() {
        let text = big_text(5000, false, &[(4900, 0, "late"), (1200, 2, "")]);
        for chunks in [0, 2, 4] {
            let err = read_in(&text, ProblemKind::Regression, chunks).unwrap_err();
            assert!(
                matches!(
                    err,
                    DataError::EmptyCell {
                        line: 1214,
                        column: 3,
                        ..
                    }
                ),
                "{chunks} chunks: {err}"
            );
        }
    }

    #[test]
    fn plain_decimal_fast_path_agrees_bit_for_bit_with_the_general_parser() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "0.0",
            "-0.0",
            "5.",
            ".5",
            "-.5",
            "9007199254740992",
            "9007199254740993",
            "0.9007199254740993",
            "1234567890123456789",
            "12345678901234567890",
            "0.1",
            "0.3",
            "-1.5",
            "00000000000000000001",
            "1.00000000",
            "3.14159265",
            "123.45678901",
        ]
        .map(String::from)
        .to_vec();
        for _ in 0..300_000 {
            // Shortest round-trip text of random values, as Python and Rust write floats.
            let v: f64 = rng.r#gen::<f64>() * 10f64.powi(rng.gen_range(-8..8));
            let v = if rng.r#gen::<bool>() { -v } else { v };
            texts.push(format!("{v}"));
            // 17 to 19 significant digits: above 2^53, the scaled decimal.
            let n = rng.gen_range(17..=19);
            let digits: String = (0..n).map(|_| rng.gen_range(b'0'..=b'9') as char).collect();
            let point = rng.gen_range(0..=n);
            texts.push(format!("{}.{}", &digits[..point], &digits[point..]));
            // Random digit strings around the 19-digit and 2^53 limits.
            let int: String = (0..rng.gen_range(0..6))
                .map(|_| rng.gen_range(b'0'..=b'9') as char)
                .collect();
            let frac: String = (0..rng.gen_range(0..20))
                .map(|_| rng.gen_range(b'0'..=b'9') as char)
                .collect();
            texts.push(format!("{int}.{frac}"));
        }
        let mut fast = 0;
        for text in &texts {
            for end in ["", ",", "\n", "\r\n"] {
                let cell = format!("{text}{end}");
                let general = fast_float2::parse_partial::<f64, _>(cell.as_bytes())
                    .ok()
                    .filter(|&(_, n)| n > 0 && n == text.len());
                if let Some((v, n)) = plain_decimal(cell.as_bytes()) {
                    fast += 1;
                    let (g, m) =
                        general.unwrap_or_else(|| panic!("{cell:?}: only the fast path reads it"));
                    assert_eq!((v.to_bits(), n), (g.to_bits(), m), "{cell:?}");
                }
            }
        }
        // The fast path must actually be taken for most plain decimals.
        assert!(
            fast > texts.len(),
            "{fast} of {} cells took the fast path",
            4 * texts.len()
        );
    }

    #[test]
    fn quoted_field_holding_a_line_end_still_parses() {
        let d = read(
            "a,b,y\n1,2,\"two\nlines\"\n3,4,plain\n5,6,plain\n",
            None,
            ProblemKind::Classification,
        )
        .unwrap();
        assert_eq!(classes(&d), ["plain", "two\nlines"]);
        assert_eq!(d.y.to_vec(), [1.0, 0.0, 0.0]);
        assert_eq!(d.x.row(2).to_vec(), [5.0, 6.0]);
    }

    #[test]
    fn edge_cases_parse_alike_in_chunks_and_sequentially() {
        let cases = [
            "a,y\n1,2\n3,4\n",
            "\u{feff}a,y\r\n1,2\r\n3,4\r\n",
            "\n\na,y\n\n1,2\n\r\n3,4",
            "a,y\n1,2\n3,4\r",
            "a,y\r1,2\r3,4\r",
            "a,y\n1,2\r3,4\n",
            "a , y\n 1 , 2 \n\t3\t,4\n",
            "a,y\n1,2\n3,4,5\n",
            "a,y\n1,2\n3\n",
            "a,y\n1,2\n   \n",
            "a,y\n1,x\n3,4\n",
            "a,y\n1,2\n3,inf\n",
            "a,y\n1,2\n3,\n",
            "a,y\n+1,2\n.5,4.\n1e3,-0.5E-2\n",
            "a,b,y\n1,2,cat\n3,4,dog\n5,6,cat\n",
            "a,b,y\n1,2,cat\n3,4,nan\n",
            "a,b,y\n1,2,cat\n3,4, \n",
            "a,b\n",
            "",
        ];
        for text in cases {
            for kind in [ProblemKind::Classification, ProblemKind::Regression] {
                let sequential = read_in(text, kind, 0);
                for chunks in [1, 2, 3] {
                    match (&sequential, read_in(text, kind, chunks)) {
                        (Ok(a), Ok(b)) => assert_eq!(a, &b),
                        (Err(a), Err(b)) => {
                            assert_eq!(a.to_string(), b.to_string(), "{text:?}")
                        }
                        (a, b) => panic!("{text:?} {kind:?} {chunks}: {a:?} vs {b:?}"),
                    }
                }
            }
        }
    }
}
