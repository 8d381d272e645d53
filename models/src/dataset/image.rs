//! A dataset read straight into an image buffer the caller provides (shared memory, say): the
//! parsed values are written where they will be read, with no copy of the data before them.

use std::path::Path;

use super::bytes::FileBytes;
use super::{
    DataView, Dataset, Format, Parsed, Problem, ProblemKind, Targets, csv, image_len,
    image_parts_mut, read_u64, worker_threads,
};
use crate::error::DataError;

/// Memory a dataset image is read from: a fixed length, 8-byte aligned.
pub trait ImageRead {
    /// The image's bytes.
    fn bytes(&self) -> &[u8];
}

/// Memory a dataset image is written into.
pub trait ImageBuf: ImageRead {
    /// The image's bytes, to fill in place.
    fn bytes_mut(&mut self) -> &mut [u8];
}

/// An image in this process's heap, 8-byte aligned.
#[derive(Debug, Clone)]
pub struct HeapImage {
    words: Vec<u64>,
    len: usize,
}

impl HeapImage {
    /// `len` zero bytes (their pages are not touched until written).
    pub fn zeroed(len: usize) -> HeapImage {
        HeapImage {
            words: vec![0; len.div_ceil(8)],
            len,
        }
    }
}

impl ImageRead for HeapImage {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `words` holds at least `len` initialized bytes (len.div_ceil(8) u64s), any
        // byte of a u64 is a valid u8, and the slice borrows `self`.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr().cast::<u8>(), self.len) }
    }
}

impl ImageBuf for HeapImage {
    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; the mutable borrow of `self` makes the slice the only access.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr().cast::<u8>(), self.len) }
    }
}

/// What describes a dataset besides its values.
pub(super) struct Meta {
    pub(super) rows: usize,
    pub(super) feature_names: Vec<String>,
    pub(super) target_name: String,
    pub(super) problem: Problem,
    pub(super) checksum: String,
}

/// A dataset whose features and targets are an image in `B` (the layout of
/// [`Dataset::to_image`]) rather than arrays.
#[derive(Debug)]
pub struct ImageData<B> {
    /// The image: header, features row-major, targets.
    pub image: B,
    /// Feature column names.
    pub feature_names: Vec<String>,
    /// Target column name.
    pub target_name: String,
    /// Classification (with its classes) or regression.
    pub problem: Problem,
    /// As [`Dataset::checksum`].
    pub checksum: String,
}

impl<B: ImageBuf> ImageData<B> {
    /// The image of `data`, written into a buffer from `alloc` (given its length in bytes).
    pub fn of(data: &Dataset, alloc: &mut dyn FnMut(usize) -> B) -> ImageData<B> {
        let mut image = alloc(data.image_len());
        data.write_image(image.bytes_mut());
        ImageData {
            image,
            feature_names: data.feature_names.clone(),
            target_name: data.target_name.clone(),
            problem: data.problem.clone(),
            checksum: data.checksum.clone(),
        }
    }

    /// Features and targets, in place, to change (standardize, say).
    pub fn parts_mut(&mut self) -> Result<(&mut [f64], &mut [f64]), DataError> {
        let (rows, cols) = (self.n_rows(), self.n_features());
        image_parts_mut(self.image.bytes_mut(), rows, cols)
    }
}

impl<B: ImageRead> ImageData<B> {
    /// Features and targets, viewed in place.
    pub fn view(&self) -> Result<DataView<'_>, DataError> {
        DataView::from_image(self.image.bytes())
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        read_u64(self.image.bytes(), 0).map_or(0, |r| r as usize)
    }

    /// Number of feature columns.
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    /// Copy the values into arrays (small data, tests).
    pub fn to_dataset(&self) -> Result<Dataset, DataError> {
        let view = self.view()?;
        Ok(Dataset {
            x: view.x.to_owned(),
            y: view.y.to_owned(),
            feature_names: self.feature_names.clone(),
            target_name: self.target_name.clone(),
            problem: self.problem.clone(),
            checksum: self.checksum.clone(),
        })
    }
}

impl Dataset {
    /// Read `path` as [`Dataset::read_path`] does, into an image made by `alloc` (given the
    /// image's length in bytes).
    ///
    /// A CSV file the parallel parser reads (no quotes) is parsed straight into the image, so the
    /// data never exists twice; any other source is read into arrays first and then imaged (the
    /// arrays are dropped before this returns).
    pub fn read_path_image<B: ImageBuf>(
        path: &Path,
        target: Option<&str>,
        kind: ProblemKind,
        alloc: &mut dyn FnMut(usize) -> B,
    ) -> Result<ImageData<B>, DataError> {
        if !path.is_dir() && Format::of(path) == Some(Format::Csv) {
            let bytes = FileBytes::open(path)?;
            let read = csv::read_image(path, &bytes, target, kind, worker_threads(), alloc)?;
            drop(bytes);
            if let Some((parsed, image)) = read {
                return finish(parsed, image, path, kind, alloc);
            }
        }
        let data = Dataset::read_path(path, target, kind)?;
        Ok(ImageData::of(&data, alloc))
    }
}

/// Decode the targets of a CSV parsed into `image` (sized for one row a line) and write them
/// in; when blank lines left fewer rows than lines, the rows move into an image of their size.
fn finish<B: ImageBuf>(
    parsed: Parsed,
    mut image: B,
    path: &Path,
    kind: ProblemKind,
    alloc: &mut dyn FnMut(usize) -> B,
) -> Result<ImageData<B>, DataError> {
    let planned = read_u64(image.bytes(), 0).map_or(0, |r| r as usize);
    let d = parsed.names.len() - 1;
    let in_place = matches!(parsed.targets, Targets::Values(_));
    let (meta, _, y) = parsed.decode(path, kind)?;
    let rows = meta.rows;
    if rows != planned {
        let mut exact = alloc(image_len(rows, d));
        let (from_x, from_y) = image_parts_mut(image.bytes_mut(), planned, d)?;
        let (to_x, to_y) = image_parts_mut(exact.bytes_mut(), rows, d)?;
        to_x.copy_from_slice(&from_x[..rows * d]);
        to_y.copy_from_slice(&from_y[..rows]);
        image = exact;
    }
    if !in_place {
        let (_, to_y) = image_parts_mut(image.bytes_mut(), rows, d)?;
        to_y.copy_from_slice(&y);
    }
    Ok(ImageData {
        image,
        feature_names: meta.feature_names,
        target_name: meta.target_name,
        problem: meta.problem,
        checksum: meta.checksum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn both(name: &str, text: &str, kind: ProblemKind) -> (Dataset, Dataset) {
        let (_dir, path) = file(name, text);
        let arrays = Dataset::read_path(&path, None, kind).unwrap();
        let image = Dataset::read_path_image(&path, None, kind, &mut HeapImage::zeroed).unwrap();
        (arrays, image.to_dataset().unwrap())
    }

    #[test]
    fn csv_parsed_into_an_image_is_the_dataset_read_into_arrays() {
        let (a, b) = both(
            "d.csv",
            "a,b,y\n1,2,cat\n3,4,dog\n5,6,cat\n",
            ProblemKind::Classification,
        );
        assert_eq!(a, b);
        assert_eq!(b.y.to_vec(), [0.0, 1.0, 0.0]);
    }

    #[test]
    fn regression_targets_are_written_in_place() {
        let (a, b) = both("d.csv", "a,y\n1,0.5\n2,-1.5\n", ProblemKind::Regression);
        assert_eq!(a, b);
        assert_eq!(b.y.to_vec(), [0.5, -1.5]);
    }

    #[test]
    fn blank_lines_leave_an_image_of_the_rows_read() {
        for kind in [ProblemKind::Regression, ProblemKind::Classification] {
            let (a, b) = both("d.csv", "a,y\n1,0\n\n\n2,1\n\n3,0\n", kind);
            assert_eq!(a, b);
            assert_eq!(b.x.column(0).to_vec(), [1.0, 2.0, 3.0]);
        }
    }

    #[test]
    fn quoted_csv_and_other_formats_are_imaged_after_reading() {
        let (a, b) = both(
            "d.csv",
            "a,\"y\"\n1,\"x\"\n2,z\n",
            ProblemKind::Classification,
        );
        assert_eq!(a, b);
    }

    #[test]
    fn a_bad_cell_names_file_line_and_column() {
        let (_dir, path) = file("d.csv", "a,b,y\n1,2,0\n3,oops,1\n");
        let err = Dataset::read_path_image(
            &path,
            None,
            ProblemKind::Classification,
            &mut HeapImage::zeroed,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("d.csv") && text.contains("line 3") && text.contains("column 2"),
            "{text}"
        );
    }
}
