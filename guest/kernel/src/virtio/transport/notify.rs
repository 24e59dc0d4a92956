//! Notification suppression with VIRTIO_F_EVENT_IDX (virtio 1.2, 2.7.10):
//! the driver tells the device of new buffers only when the device asked.

use super::PciTransport;
use crate::platform::PlatformIo;

/// Where a split virtqueue's rings are, and the available index at the
/// last notification decision.
#[derive(Clone, Copy, Debug)]
pub(super) struct RingState {
    /// `idx` of the available ring (virtio 1.2, 2.7.6: flags, idx, ring).
    pub(super) avail_idx: u64,
    /// `avail_event` of the used ring: after flags, idx and `size`
    /// 8-byte elements (2.7.8).
    pub(super) avail_event: u64,
    /// Available index when the driver last decided whether to notify.
    pub(super) old_idx: u16,
}

/// The driver must notify iff the device's event index lies in the entries
/// published since the last decision (virtio 1.2, 2.7.10;
/// `vring_need_event`): `new - event - 1 < new - old`, modulo 2^16.
pub fn need_event(event: u16, new: u16, old: u16) -> bool {
    new.wrapping_sub(event).wrapping_sub(1) < new.wrapping_sub(old)
}

impl<I: PlatformIo + Copy> PciTransport<I> {
    /// With VIRTIO_F_EVENT_IDX, whether the device asked to be notified of
    /// the entries added since the last decision (its avail_event). The
    /// driver crate calls `notify` whenever the available index has passed
    /// avail_event at all, also when the device was already told about that
    /// entry; this is the spec's exact rule. Without EVENT_IDX the crate
    /// already honours VIRTQ_USED_F_NO_NOTIFY (2.7.7). Anything unreadable:
    /// notify.
    pub(super) fn device_wants_notify(&mut self, queue: u16) -> bool {
        if !self.event_idx {
            return true;
        }
        let Some(ring) = self
            .rings
            .get_mut(usize::from(queue))
            .and_then(Option::as_mut)
        else {
            return true;
        };
        // The new index must be visible before avail_event is read (the
        // device orders the other way round): a full fence, as Linux's
        // virtio_mb before vring_need_event.
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
        let (Some(new), Some(event)) = (
            crate::virtio::hal::read_ring_u16(ring.avail_idx),
            crate::virtio::hal::read_ring_u16(ring.avail_event),
        ) else {
            return true;
        };
        let old = core::mem::replace(&mut ring.old_idx, new);
        need_event(event, new, old)
    }
}
