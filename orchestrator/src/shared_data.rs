//! A dataset image in shared memory, written in place before it is shared.

use ipc_channel::ipc::IpcSharedMemory;
use models::{HeapImage, ImageBuf, ImageRead};

/// A new shared-memory segment that a dataset image is written into, then shared with the
/// trainers ([`SharedImage::into_shared`]).
pub struct SharedImage(Segment);

enum Segment {
    Shared(IpcSharedMemory),
    /// Where a segment of this size cannot be made now (see [`SharedImage::new`]).
    Heap(HeapImage),
}

impl SharedImage {
    /// A zeroed segment of `len` bytes.
    ///
    /// Shared memory is a file to the kernel, so a file size limit (`ulimit -f`) smaller than
    /// the image refuses it, and ipc-channel aborts on that. Such an image is built in this
    /// process's memory instead and copied into shared memory when it is shared, which is
    /// where the limit is met, as it was before images were written in place.
    pub fn new(len: usize) -> SharedImage {
        if exceeds_file_size_limit(len) {
            return SharedImage(Segment::Heap(HeapImage::zeroed(len)));
        }
        SharedImage(Segment::Shared(IpcSharedMemory::from_byte(0, len)))
    }

    /// The segment, to send to trainers (read-only from now on).
    pub fn into_shared(self) -> IpcSharedMemory {
        match self.0 {
            Segment::Shared(shm) => shm,
            Segment::Heap(image) => IpcSharedMemory::from_bytes(image.bytes()),
        }
    }
}

/// Whether a file of `len` bytes is over this process's file size limit.
fn exceeds_file_size_limit(len: usize) -> bool {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we pass and reads nothing else.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit) } == 0;
    ok && limit.rlim_cur != libc::RLIM_INFINITY && len as u64 > limit.rlim_cur
}

impl ImageRead for SharedImage {
    fn bytes(&self) -> &[u8] {
        match &self.0 {
            Segment::Shared(shm) => shm,
            Segment::Heap(image) => image.bytes(),
        }
    }
}

/// A shared image, read-only (what trainers map), e.g. to write it to disk meanwhile.
pub struct SharedView(pub IpcSharedMemory);

impl ImageRead for SharedView {
    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl ImageBuf for SharedImage {
    fn bytes_mut(&mut self) -> &mut [u8] {
        match &mut self.0 {
            // SAFETY: the segment is created in `new` and owned here until `into_shared` gives
            // it away: it is neither cloned nor sent while a `SharedImage` holds it, so this is
            // its only reader or writer (ipc-channel's condition for `deref_mut`).
            Segment::Shared(shm) => unsafe { shm.deref_mut() },
            Segment::Heap(image) => image.bytes_mut(),
        }
    }
}
