//! A dataset image in shared memory, written in place before it is shared.

use ipc_channel::ipc::IpcSharedMemory;
use models::ImageBuf;

/// A new shared-memory segment that a dataset image is written into, then shared with the
/// trainers ([`SharedImage::into_shared`]).
pub struct SharedImage(IpcSharedMemory);

impl SharedImage {
    /// A zeroed segment of `len` bytes.
    pub fn new(len: usize) -> SharedImage {
        SharedImage(IpcSharedMemory::from_byte(0, len))
    }

    /// The segment, to send to trainers (read-only from now on).
    pub fn into_shared(self) -> IpcSharedMemory {
        self.0
    }
}

impl ImageBuf for SharedImage {
    fn bytes(&self) -> &[u8] {
        &self.0
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: the segment is created in `new` and owned here until `into_shared` gives it
        // away: it is neither cloned nor sent while a `SharedImage` holds it, so this is its only
        // reader or writer (ipc-channel's condition for `deref_mut`).
        unsafe { self.0.deref_mut() }
    }
}
