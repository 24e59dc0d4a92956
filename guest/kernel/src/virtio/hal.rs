//! `virtio_drivers::Hal` over host-visible memory.
//!
//! Rings (`dma_alloc`) are whole `SharedBuffer` runs, kept for the life of
//! the appliance and reused when a driver frees them. Buffers the drivers
//! pass by reference (`share`/`unshare`) are private memory, so they are
//! never given to the device: `share` takes a bounce slot (one frame, the
//! largest buffer the kernel's only driver, virtio-net, passes) from a pool of
//! shared pages and copies the bytes in when the device is to read them;
//! `unshare` copies the device's bytes back out when it was to write them,
//! and returns the slot. The device only ever sees shared-page addresses.
//! In native mode the same code runs over ordinary memory.

use crate::shared::{SharedBuffer, SharedError};
use alloc::vec::Vec;
use core::ptr::NonNull;
use spin::Mutex;
use virtio_drivers::{BufferDirection, Hal, PhysAddr};

/// The HAL type to instantiate `virtio-drivers` devices with.
pub struct SharedHal;

/// Bounce slot size: one Ethernet frame with its virtio-net header fits.
/// No buffer virtio-net is given is larger (a receive buffer is one slot);
/// `share` panics on a larger one (the trait has no error path).
pub const SLOT_SIZE: usize = 2048;
/// Pages the pool grows by at a time.
const CHUNK_PAGES: usize = 16;

struct Ring {
    buffer: SharedBuffer,
    pages: usize,
    in_use: bool,
}

static RINGS: Mutex<Vec<Ring>> = Mutex::new(Vec::new());
static BOUNCE: Mutex<BouncePool> = Mutex::new(BouncePool::new());

struct BouncePool {
    /// Shared runs of `CHUNK_PAGES` pages, cut into `SLOT_SIZE` slots.
    chunks: Vec<SharedBuffer>,
    free_slots: Vec<u64>,
}

impl BouncePool {
    const fn new() -> Self {
        BouncePool {
            chunks: Vec::new(),
            free_slots: Vec::new(),
        }
    }

    fn grow(&mut self) -> Result<(), SharedError> {
        let chunk = SharedBuffer::allocate(CHUNK_PAGES)?;
        let slots = chunk.size() / SLOT_SIZE;
        self.free_slots.reserve(slots);
        // Hand out low addresses first (pop takes from the end).
        for i in (0..slots).rev() {
            self.free_slots.push(chunk.gpa() + (i * SLOT_SIZE) as u64);
        }
        self.chunks.push(chunk);
        Ok(())
    }

    /// A bounce slot for `len` bytes (at most `SLOT_SIZE`): its device
    /// address.
    fn take(&mut self, len: usize) -> Result<u64, SharedError> {
        if len > SLOT_SIZE {
            return Err(SharedError::OutOfBounds {
                offset: 0,
                len,
                size: SLOT_SIZE,
            });
        }
        if self.free_slots.is_empty() {
            self.grow()?;
        }
        self.free_slots.pop().ok_or(SharedError::OutOfMemory)
    }

    /// The shared run holding `gpa` and the offset of `gpa` in it.
    fn locate(&self, gpa: u64) -> Option<(&SharedBuffer, usize)> {
        self.chunks
            .iter()
            .find(|b| gpa >= b.gpa() && gpa - b.gpa() < b.size() as u64)
            .map(|b| (b, (gpa - b.gpa()) as usize))
    }

    fn give_back(&mut self, gpa: u64) {
        // Only a slot of one of our chunks goes back on the list: a later
        // `take` hands it to the device as shared memory.
        let is_slot = self.chunks.iter().any(|c| {
            gpa >= c.gpa()
                && gpa - c.gpa() < c.size() as u64
                && (gpa - c.gpa()).is_multiple_of(SLOT_SIZE as u64)
        });
        if is_slot {
            self.free_slots.push(gpa);
        }
    }
}

/// Grow the bounce pool to at least `slots` slots now, so that running out
/// of shared memory shows up at bring-up rather than under traffic.
pub fn reserve_bounce_slots(slots: usize) -> Result<(), SharedError> {
    let mut pool = BOUNCE.lock();
    while pool.free_slots.len() < slots {
        pool.grow()?;
    }
    Ok(())
}

/// Shared bytes in use by rings and the bounce pool (test image only).
#[cfg(feature = "test-api")]
pub fn shared_bytes() -> usize {
    let rings: usize = RINGS.lock().iter().map(|r| r.buffer.size()).sum();
    let bounce: usize = BOUNCE.lock().chunks.iter().map(SharedBuffer::size).sum();
    rings + bounce
}

/// A 16-bit ring field the device writes (an index or event index), read
/// in one access so that it cannot tear. `None` unless `gpa` is 2-aligned
/// inside a ring handed out by `dma_alloc`.
pub fn read_ring_u16(gpa: u64) -> Option<u16> {
    let rings = RINGS.lock();
    let inside = rings.iter().any(|r| {
        r.in_use && gpa >= r.buffer.gpa() && gpa + 2 <= r.buffer.gpa() + r.buffer.size() as u64
    });
    if !inside || !gpa.is_multiple_of(2) {
        return None;
    }
    // SAFETY: `gpa` is 2-aligned inside a live ring (identity-mapped RAM that stays allocated for the life of the appliance); the driver crate and the device access these fields only as whole 16-bit atomics.
    let field = unsafe { core::sync::atomic::AtomicU16::from_ptr(gpa as *mut u16) };
    Some(field.load(core::sync::atomic::Ordering::Acquire))
}

fn dma_alloc_shared(pages: usize) -> Option<u64> {
    let mut rings = RINGS.lock();
    if let Some(ring) = rings.iter_mut().find(|r| !r.in_use && r.pages == pages) {
        ring.buffer.fill(0);
        ring.in_use = true;
        return Some(ring.buffer.gpa());
    }
    let buffer = SharedBuffer::allocate(pages).ok()?;
    let gpa = buffer.gpa();
    rings.push(Ring {
        buffer,
        pages,
        in_use: true,
    });
    Some(gpa)
}

// SAFETY: `dma_alloc` returns zeroed, page-aligned shared pages that nothing else uses until `dma_dealloc` (they are identity-mapped, so the pointer is the address); `share` returns addresses of bounce slots that are handed out once until `unshare`; `mmio_phys_to_virt` is never reached because `PciTransport` does its own MMIO.
unsafe impl Hal for SharedHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        match dma_alloc_shared(pages).and_then(|gpa| Some((gpa, NonNull::new(gpa as *mut u8)?))) {
            Some(r) => r,
            // A zero address is the crate's allocation-failure signal.
            None => (0, NonNull::dangling()),
        }
    }

    /// # Safety
    /// As the trait: `paddr` comes from `dma_alloc` and is not freed twice.
    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        // Shared pages never go back to the frame allocator (it has no
        // free); they are kept, shared, for the next ring.
        match RINGS.lock().iter_mut().find(|r| r.buffer.gpa() == paddr) {
            Some(ring) => {
                ring.in_use = false;
                0
            }
            None => -1,
        }
    }

    /// # Safety
    /// As the trait; the kernel's transports never call it.
    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, _size: usize) -> NonNull<u8> {
        // Identity map. Only the crate's own PCI/MMIO transports call this,
        // and the kernel uses neither.
        NonNull::new(paddr as *mut u8).unwrap_or(NonNull::dangling())
    }

    /// # Safety
    /// As the trait: `buffer` is valid and unaliased for the call.
    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        let mut pool = BOUNCE.lock();
        let gpa = match pool.take(buffer.len()) {
            Ok(gpa) => gpa,
            // The trait has no error path, and a zero or private address
            // must never reach the device.
            Err(e) => panic!("virtio bounce pool: {e}"),
        };
        if direction != BufferDirection::DeviceToDriver {
            // SAFETY: the caller guarantees `buffer` is valid and not accessed by anyone else during this call.
            let src = unsafe { buffer.as_ref() };
            let copied = pool.locate(gpa).map(|(b, off)| b.write(off, src));
            if !matches!(copied, Some(Ok(()))) {
                panic!("virtio bounce pool: slot lookup failed");
            }
        }
        gpa
    }

    /// # Safety
    /// As the trait: `buffer` is valid and unaliased for the call, and
    /// `paddr` is what `share` returned for it.
    unsafe fn unshare(paddr: PhysAddr, mut buffer: NonNull<[u8]>, direction: BufferDirection) {
        let mut pool = BOUNCE.lock();
        if direction != BufferDirection::DriverToDevice {
            // SAFETY: the caller guarantees `buffer` is valid and not accessed by anyone else during this call; device-to-driver buffers come from `&mut [u8]`.
            let dst = unsafe { buffer.as_mut() };
            let copied = pool.locate(paddr).map(|(b, off)| b.read(off, dst));
            if !matches!(copied, Some(Ok(()))) {
                log::error!("virtio bounce pool: unshare of unknown address {paddr:#x}");
                return;
            }
        }
        pool.give_back(paddr);
    }
}
