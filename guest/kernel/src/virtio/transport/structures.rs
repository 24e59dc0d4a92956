//! Finding a virtio-pci function's structures (common, notify, ISR, device
//! configuration) and its first MSI-X table entry through the PCI
//! capability list, each cut from its BAR as an `MmioRegion`. Every offset
//! and length is the device's word: one outside its BAR is a typed error.

use super::{TransportError, COMMON_CFG_LEN, MODERN_DEVICE_ID_BASE, VIRTIO_VENDOR_ID};
use crate::pci::{self, Function, MemoryBar};
use crate::platform::{MmioError, MmioRegion, PlatformIo};
use virtio_drivers::transport::DeviceType;

// virtio_pci_cap (virtio 1.2, 4.1.4): cap_vndr, cap_next, cap_len,
// cfg_type, bar, id, padding[2], le32 offset, le32 length; the notify
// capability adds le32 notify_off_multiplier.
const PCI_CAP_VENDOR: u8 = 0x09;
const CAP_LEN: usize = 16;
const NOTIFY_CAP_LEN: usize = 20;
const CFG_COMMON: u8 = 1;
const CFG_NOTIFY: u8 = 2;
const CFG_ISR: u8 = 3;
const CFG_DEVICE: u8 = 4;

// MSI-X (PCI 3.0, 6.8.2): capability id, Message Control, table BIR and
// offset; 16-byte table entries: address low, address high, data, vector
// control.
const PCI_CAP_MSIX: u8 = 0x11;
const MSIX_ENTRY_LEN: u64 = 16;

/// The first modern virtio function of `device_type` on bus 0.
pub(crate) fn find<I: PlatformIo + Copy>(io: I, device_type: DeviceType) -> Option<Function<I>> {
    let id = MODERN_DEVICE_ID_BASE + device_type as u16;
    pci::bus0_functions(io).find(|f| f.vendor_id() == VIRTIO_VENDOR_ID && f.device_id() == id)
}

/// The whole of an assigned memory BAR as device memory.
fn bar_region<I: PlatformIo>(io: I, bar: MemoryBar) -> MmioRegion<I> {
    // SAFETY: `bar` was placed by `pci::assign_memory_bars` inside an `MmioWindow`, whose (unsafe) constructor promised device address space disjoint from RAM (in the guest the q35 PCI hole, kept apart from RAM by the memory plan); BARs get disjoint whole pages of it, identity-mapped uncached by `PciTransport::new` before this runs, and the transport built from this function is their only user.
    unsafe { MmioRegion::new(io, bar.base, bar.size) }
}

/// One virtio structure as its capability describes it.
struct CapInfo {
    cfg_type: u8,
    bar: u8,
    offset: u32,
    length: u32,
    multiplier: u32,
}

/// Reads the virtio capability at config offset `at`, refusing one too
/// short for its structure or running off the configuration space. `None`
/// for capability types the transport does not use.
fn read_cap<I: PlatformIo>(f: &Function<I>, at: u8) -> Result<Option<CapInfo>, TransportError> {
    let short = TransportError::ShortCapability {
        at,
        len: f.read8(at.saturating_add(2)),
    };
    if usize::from(at) + CAP_LEN > 256 {
        return Err(short);
    }
    let cap_len = usize::from(f.read8(at + 2));
    let cfg_type = f.read8(at + 3);
    let need = match cfg_type {
        CFG_NOTIFY => NOTIFY_CAP_LEN,
        CFG_COMMON | CFG_ISR | CFG_DEVICE => CAP_LEN,
        _ => return Ok(None), // PCI config access and shared memory: unused
    };
    if cap_len < need || usize::from(at) + need > 256 {
        return Err(short);
    }
    Ok(Some(CapInfo {
        cfg_type,
        bar: f.read8(at + 4),
        offset: f.read32(at + 8),
        length: f.read32(at + 12),
        multiplier: if cfg_type == CFG_NOTIFY {
            f.read32(at + 16)
        } else {
            0
        },
    }))
}

/// The virtio structures of a function, each cut from its BAR.
pub(super) struct Structures<I: PlatformIo> {
    pub(super) common: MmioRegion<I>,
    pub(super) notify: MmioRegion<I>,
    pub(super) notify_multiplier: u32,
    pub(super) isr: MmioRegion<I>,
    pub(super) device_cfg: Option<MmioRegion<I>>,
    /// The MSI-X capability's offset and its table's first entry.
    pub(super) msix: Option<(u8, MmioRegion<I>)>,
}

/// The first entry of the function's MSI-X table, when the capability at
/// `at` describes one inside an assigned BAR.
fn msix_entry<I: PlatformIo + Copy>(
    f: &Function<I>,
    at: u8,
    bars: &[Option<MemoryBar>; 6],
) -> Option<MmioRegion<I>> {
    if usize::from(at) + 8 > 256 {
        return None;
    }
    let table = f.read32(at + 4);
    let bar = bars.get((table & 7) as usize).copied().flatten()?;
    bar_region(f.io(), bar)
        .subregion(u64::from(table & !7), MSIX_ENTRY_LEN)
        .ok()
}

pub(super) fn find_structures<I: PlatformIo + Copy>(
    f: &Function<I>,
    io: I,
    bars: &[Option<MemoryBar>; 6],
) -> Result<Structures<I>, TransportError> {
    let mut common = None;
    let mut notify = None;
    let mut isr = None;
    let mut device_cfg = None;
    let mut msix = None;
    for (id, at) in f.capabilities() {
        if id == PCI_CAP_MSIX && msix.is_none() {
            msix = msix_entry(f, at, bars).map(|entry| (at, entry));
        }
        if id != PCI_CAP_VENDOR {
            continue;
        }
        let Some(cap) = read_cap(f, at)? else {
            continue;
        };
        let slot = match cap.cfg_type {
            CFG_COMMON => &mut common,
            CFG_NOTIFY => &mut notify,
            CFG_ISR => &mut isr,
            _ => &mut device_cfg,
        };
        if slot.is_some() {
            continue; // the first of each type is the one to use (4.1.4.1)
        }
        let bad = TransportError::BadCapability {
            cfg_type: cap.cfg_type,
            bar: cap.bar,
            offset: cap.offset,
            length: cap.length,
        };
        let bar = bars
            .get(usize::from(cap.bar))
            .copied()
            .flatten()
            .ok_or(bad)?;
        let region = bar_region(io, bar)
            .subregion(u64::from(cap.offset), u64::from(cap.length))
            .map_err(|_: MmioError| bad)?;
        *slot = Some((region, cap.multiplier, bad));
    }
    let (common, _, bad) =
        common.ok_or(TransportError::MissingCapability("common configuration"))?;
    if common.size() < COMMON_CFG_LEN {
        return Err(bad);
    }
    let (notify, notify_multiplier, bad) =
        notify.ok_or(TransportError::MissingCapability("notification"))?;
    if notify.size() < 2 {
        return Err(bad);
    }
    let (isr, _, bad) = isr.ok_or(TransportError::MissingCapability("ISR status"))?;
    if isr.size() == 0 {
        return Err(bad);
    }
    Ok(Structures {
        common,
        notify,
        notify_multiplier,
        isr,
        device_cfg: device_cfg.map(|(r, _, _)| r),
        msix,
    })
}
