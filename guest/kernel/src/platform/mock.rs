//! A host's devices for host unit tests and fuzzing (`crate::fuzzing`),
//! free to lie: QEMU's fw_cfg I/O ports, the PCI configuration mechanism #1 (0xCF8/0xCFC) with BARs that
//! size like hardware, and a modern virtio-pci device's registers.
//!
//! Every device rule is written here from the public descriptions (QEMU
//! hw/nvram/fw_cfg.c, the PCI local bus spec, virtio 1.2 §4.1) as literals;
//! nothing is imported from the drivers under test. Every MMIO access is
//! logged so tests can show no access ever left an assigned BAR.
// The fuzz build (`crate::fuzzing`) uses part of it; the unit tests all.
#![cfg_attr(not(test), allow(dead_code))]

use super::{PlatformIo, Width};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::vec::Vec;

/// One BAR dword as hardware implements it: writable bits and fixed bits.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct BarReg {
    pub wmask: u32,
    pub fixed: u32,
}

impl BarReg {
    /// A 32-bit memory BAR of `size` bytes (a power of two, at least 16).
    pub fn mem32(size: u32) -> Self {
        BarReg {
            wmask: !(size - 1) & 0xFFFF_FFF0,
            fixed: 0,
        }
    }
    /// Low and high dwords of a 64-bit memory BAR of `size` bytes.
    pub fn mem64(size: u64) -> [Self; 2] {
        let mask = !(size - 1);
        [
            BarReg {
                wmask: (mask as u32) & 0xFFFF_FFF0,
                fixed: 0b100,
            },
            BarReg {
                wmask: (mask >> 32) as u32,
                fixed: 0,
            },
        ]
    }
}

/// One PCI function: 256 bytes of configuration space.
#[derive(Clone)]
pub(crate) struct PciFunction {
    pub config: [u8; 256],
    pub bars: [BarReg; 6],
    /// Writes to the command register are ignored (a device that will not
    /// decode).
    pub command_locked: bool,
}

impl PciFunction {
    pub fn new(vendor: u16, device: u16) -> Self {
        let mut config = [0u8; 256];
        config[0..2].copy_from_slice(&vendor.to_le_bytes());
        config[2..4].copy_from_slice(&device.to_le_bytes());
        PciFunction {
            config,
            bars: [BarReg::default(); 6],
            command_locked: false,
        }
    }

    /// Appends capability bytes (`id`, next, then `body`) at `offset` and
    /// links it after the last one; sets the status register's list bit.
    pub fn add_cap(&mut self, offset: u8, id: u8, body: &[u8]) {
        let at = usize::from(offset);
        self.config[at] = id;
        self.config[at + 1] = 0;
        self.config[at + 2..at + 2 + body.len()].copy_from_slice(body);
        // Walk to the end of the existing list (at most 48 links).
        let mut link = 0x34usize;
        for _ in 0..48 {
            let next = usize::from(self.config[link]);
            if next == 0 {
                break;
            }
            link = next + 1;
        }
        self.config[link] = offset;
        self.config[6] |= 1 << 4;
    }

    pub fn read(&self, offset: usize, len: usize) -> u32 {
        let mut v = 0u32;
        for i in 0..len {
            v |= u32::from(self.byte(offset + i)) << (8 * i);
        }
        v
    }

    /// A BAR reads its writable bits as stored and its fixed bits always.
    fn byte(&self, at: usize) -> u8 {
        if !(0x10..0x28).contains(&at) {
            return self.config[at];
        }
        let reg = at & !3;
        let bar = self.bars[(reg - 0x10) / 4];
        let mut stored = [0u8; 4];
        stored.copy_from_slice(&self.config[reg..reg + 4]);
        let v = (u32::from_le_bytes(stored) & bar.wmask) | bar.fixed;
        (v >> (8 * (at & 3))) as u8
    }

    fn write(&mut self, offset: usize, value: u32, len: usize) {
        if (0x10..0x28).contains(&offset) {
            // BARs: dword writes only, writable bits only.
            let bar = self.bars[(offset - 0x10) / 4];
            let v = (value & bar.wmask) | bar.fixed;
            self.config[offset..offset + 4].copy_from_slice(&v.to_le_bytes());
            return;
        }
        for i in 0..len {
            let at = offset + i;
            let read_only = at < 4 || (6..8).contains(&at) || at == 0x0E;
            let locked = self.command_locked && (4..6).contains(&at);
            if !read_only && !locked {
                self.config[at] = (value >> (8 * i)) as u8;
            }
        }
    }

    /// Base address of BAR `i` as software programmed it (64-bit aware).
    pub fn bar_base(&self, i: usize) -> u64 {
        let low = self.read(0x10 + 4 * i, 4);
        let base = u64::from(low & !0xF);
        if low & 0b110 == 0b100 {
            base | (u64::from(self.read(0x14 + 4 * i, 4)) << 32)
        } else {
            base
        }
    }

    /// Size of BAR `i` from its writable bits (64-bit aware).
    pub fn bar_size(&self, i: usize) -> u64 {
        let low = self.bars[i];
        let mask = if low.fixed & 0b110 == 0b100 {
            let high = self.bars.get(i + 1).map_or(0, |b| b.wmask);
            (u64::from(high) << 32) | u64::from(low.wmask)
        } else {
            0xFFFF_FFFF_0000_0000 | u64::from(low.wmask)
        };
        (!mask).wrapping_add(1)
    }

    pub fn command(&self) -> u16 {
        self.read(4, 2) as u16
    }
}

/// virtio 1.2 §4.1.4.3 common configuration, as the device keeps it.
#[derive(Clone, Debug, Default)]
pub(crate) struct VirtioModel {
    pub bar: usize,
    /// Where the structures sit in the BAR: common, ISR, device, notify.
    pub common_at: u64,
    pub isr_at: u64,
    pub device_at: u64,
    pub notify_at: u64,
    pub offered: u64,
    pub device_feature_select: u32,
    pub driver_feature_select: u32,
    pub driver_features: u64,
    pub status: u8,
    /// The device clears FEATURES_OK when the driver sets it.
    pub refuse_features_ok: bool,
    /// The device reports DEVICE_NEEDS_RESET (0x40) once running.
    pub needs_reset: bool,
    pub queue_select: u16,
    /// Per queue: offered size, notify offset, enable, and the programmed
    /// size and ring addresses.
    pub queue_max: Vec<u16>,
    pub queue_notify_off: Vec<u16>,
    pub queue_size: Vec<u16>,
    pub queue_enable: Vec<u16>,
    pub queue_desc: Vec<u64>,
    /// Per queue: the device area (used ring) address, when programmed.
    pub queue_device: Vec<u64>,
    /// MSI-X vector per queue (0xFFFF: none), and how many vectors the
    /// device can map (a higher one reads back as 0xFFFF).
    pub queue_msix: Vec<u16>,
    pub msix_vectors: u16,
    pub isr: u8,
    pub device_config: Vec<u8>,
    pub notifications: Vec<(u64, u16)>,
}

impl VirtioModel {
    fn queue(&self) -> Option<usize> {
        let q = usize::from(self.queue_select);
        (q < self.queue_max.len()).then_some(q)
    }

    fn read_common(&mut self, off: u64) -> u32 {
        let q = self.queue();
        let qv = |v: &Vec<u16>| q.map_or(0, |q| u32::from(v[q]));
        match off {
            0x00 => self.device_feature_select,
            0x04 => match self.device_feature_select {
                0 => self.offered as u32,
                1 => (self.offered >> 32) as u32,
                _ => 0,
            },
            0x08 => self.driver_feature_select,
            0x0C => match self.driver_feature_select {
                0 => self.driver_features as u32,
                1 => (self.driver_features >> 32) as u32,
                _ => 0,
            },
            0x12 => self.queue_max.len() as u32,
            0x14 => {
                let needs_reset = if self.needs_reset && self.status & 0x04 != 0 {
                    0x40
                } else {
                    0
                };
                u32::from(self.status | needs_reset)
            }
            0x15 => 0,
            0x16 => u32::from(self.queue_select),
            0x18 => match q {
                Some(q) if self.queue_size[q] != 0 => u32::from(self.queue_size[q]),
                Some(q) => u32::from(self.queue_max[q]),
                None => 0,
            },
            0x1A => q.map_or(0xFFFF, |q| {
                u32::from(self.queue_msix.get(q).copied().unwrap_or(0xFFFF))
            }),
            0x1C => qv(&self.queue_enable),
            0x1E => qv(&self.queue_notify_off),
            _ => 0,
        }
    }

    fn write_common(&mut self, off: u64, value: u32) {
        let q = self.queue();
        match off {
            0x00 => self.device_feature_select = value,
            0x08 => self.driver_feature_select = value,
            0x0C => match self.driver_feature_select {
                0 => {
                    self.driver_features = (self.driver_features & !0xFFFF_FFFF) | u64::from(value)
                }
                1 => {
                    self.driver_features =
                        (self.driver_features & 0xFFFF_FFFF) | (u64::from(value) << 32)
                }
                _ => {}
            },
            0x14 => {
                let mut status = value as u8;
                if status == 0 {
                    // Reset: every queue forgets its set-up (§4.1.4.3.1).
                    self.queue_size.iter_mut().for_each(|s| *s = 0);
                    self.queue_enable.iter_mut().for_each(|s| *s = 0);
                }
                if self.refuse_features_ok {
                    status &= !0x08;
                }
                self.status = status;
            }
            0x16 => self.queue_select = value as u16,
            0x18 => {
                if let Some(q) = q {
                    self.queue_size[q] = value as u16;
                }
            }
            0x1A => {
                if let Some(slot) = q.and_then(|q| self.queue_msix.get_mut(q)) {
                    let v = value as u16;
                    *slot = if v < self.msix_vectors { v } else { 0xFFFF };
                }
            }
            0x1C => {
                if let Some(q) = q {
                    self.queue_enable[q] = value as u16;
                }
            }
            0x20 | 0x24 => {
                if let Some(q) = q {
                    let shift = if off == 0x20 { 0 } else { 32 };
                    let keep = self.queue_desc[q] & !(0xFFFF_FFFFu64 << shift);
                    self.queue_desc[q] = keep | (u64::from(value) << shift);
                }
            }
            0x30 | 0x34 => {
                if let Some(slot) = q.and_then(|q| self.queue_device.get_mut(q)) {
                    let shift = if off == 0x30 { 0 } else { 32 };
                    let keep = *slot & !(0xFFFF_FFFFu64 << shift);
                    *slot = keep | (u64::from(value) << shift);
                }
            }
            _ => {}
        }
    }
}

/// One logged MMIO access: address, width, and the value for writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MmioAccess {
    pub gpa: u64,
    pub width: Width,
    pub write: Option<u32>,
}

#[derive(Default)]
pub(crate) struct State {
    // fw_cfg (QEMU hw/nvram/fw_cfg.c): a selector, items by key, a cursor.
    pub fw_items: BTreeMap<u16, Vec<u8>>,
    pub fw_selected: Option<u16>,
    pub fw_offset: usize,
    /// Data-port bytes read in total (to show reads stay bounded).
    pub fw_bytes_read: usize,
    // PCI configuration mechanism #1.
    pub pci_address: u32,
    pub pci: BTreeMap<(u8, u8, u8), PciFunction>,
    pub virtio: Option<((u8, u8, u8), VirtioModel)>,
    pub mmio_log: Vec<MmioAccess>,
    pub ports_out: Vec<(u16, u32)>,
    /// Ports that always read this value (a device stuck in one state).
    pub port_fixed: BTreeMap<u16, u32>,
    pub port_reads: usize,
    /// MSR values reads return (0 for any other).
    pub msrs: BTreeMap<u32, u64>,
    /// Every MSR write, in order.
    pub msr_writes: Vec<(u32, u64)>,
}

/// The mock machine. `&MockPlatform` is what drivers get in tests.
#[derive(Default)]
pub(crate) struct MockPlatform {
    pub state: RefCell<State>,
}

const FW_SELECTOR: u16 = 0x510;
const FW_DATA: u16 = 0x511;

impl MockPlatform {
    pub fn new() -> Self {
        Self::default()
    }

    /// This thread's mock, emptied: a platform that lives for `'static`,
    /// for drivers whose types must (the smoltcp device). Allocated once
    /// per thread and never freed; each call starts it afresh.
    pub fn for_this_thread() -> &'static Self {
        std::thread_local! {
            static MOCK: &'static MockPlatform = std::boxed::Box::leak(std::boxed::Box::default());
        }
        let mock = MOCK.with(|m| *m);
        *mock.state.borrow_mut() = State::default();
        mock
    }

    /// fw_cfg with the signature, the ID (traditional interface only, no
    /// DMA) and a directory of `files` at keys 0x20, 0x21, ...
    pub fn with_fw_cfg(files: &[(&[u8], &[u8])]) -> Self {
        let mock = Self::new();
        let mut entries = Vec::new();
        for (i, (name, data)) in files.iter().enumerate() {
            let key = 0x20 + i as u16;
            entries.push(dir_entry(name, data.len() as u32, key));
            mock.set_fw_item(key, data.to_vec());
        }
        mock.set_fw_directory(files.len() as u32, &entries.concat());
        mock
    }

    pub fn set_fw_item(&self, key: u16, data: Vec<u8>) {
        self.state.borrow_mut().fw_items.insert(key, data);
    }

    /// The directory item (key 0x19): big-endian count, then raw entries.
    pub fn set_fw_directory(&self, count: u32, entries: &[u8]) {
        let mut item = count.to_be_bytes().to_vec();
        item.extend_from_slice(entries);
        let mut st = self.state.borrow_mut();
        st.fw_items.insert(0x0000, b"QEMU".to_vec());
        st.fw_items.insert(0x0001, 1u32.to_le_bytes().to_vec());
        st.fw_items.insert(0x0019, item);
    }

    pub fn add_pci(&self, device: u8, f: PciFunction) {
        self.state.borrow_mut().pci.insert((0, device, 0), f);
    }

    pub fn pci(&self, device: u8) -> PciFunction {
        self.state.borrow().pci[&(0, device, 0)].clone()
    }

    pub fn mmio_log(&self) -> Vec<MmioAccess> {
        self.state.borrow().mmio_log.clone()
    }

    fn fw_read_byte(st: &mut State) -> u8 {
        st.fw_bytes_read += 1;
        // Past the item's end (or with no item selected) QEMU reads 0.
        let b = st
            .fw_selected
            .and_then(|k| st.fw_items.get(&k))
            .and_then(|item| item.get(st.fw_offset).copied())
            .unwrap_or(0);
        st.fw_offset += 1;
        b
    }

    fn pci_target(st: &State) -> Option<((u8, u8, u8), usize)> {
        let a = st.pci_address;
        if a & 0x8000_0000 == 0 {
            return None;
        }
        let bdf = (
            (a >> 16) as u8,
            ((a >> 11) & 0x1F) as u8,
            ((a >> 8) & 7) as u8,
        );
        Some((bdf, (a & 0xFC) as usize))
    }

    /// The virtio model and the offset inside its BAR that `gpa..gpa+len`
    /// falls in, when the BAR is assigned and decoding is on.
    fn virtio_target(st: &State, gpa: u64, len: u64) -> Option<u64> {
        let (bdf, model) = st.virtio.as_ref()?;
        let f = st.pci.get(bdf)?;
        let base = f.bar_base(model.bar);
        let size = f.bar_size(model.bar);
        let decoding = f.command() & 0b10 != 0;
        let end = gpa.checked_add(len).zip(base.checked_add(size));
        let inside = gpa >= base && end.is_some_and(|(end, limit)| end <= limit);
        (decoding && base != 0 && inside).then(|| gpa - base)
    }
}

/// A raw fw_cfg directory entry (QEMU FWCfgFile): be32 size, be16 select,
/// be16 reserved, then a 56-byte name, NUL-padded.
pub(crate) fn dir_entry(name: &[u8], size: u32, select: u16) -> Vec<u8> {
    let mut e = Vec::with_capacity(64);
    e.extend_from_slice(&size.to_be_bytes());
    e.extend_from_slice(&select.to_be_bytes());
    e.extend_from_slice(&[0, 0]);
    let mut n = [0u8; 56];
    n[..name.len()].copy_from_slice(name);
    e.extend_from_slice(&n);
    e
}

impl PlatformIo for MockPlatform {
    fn port_read(&self, port: u16, width: Width) -> u32 {
        let mut st = self.state.borrow_mut();
        let len = width as usize;
        st.port_reads += 1;
        if let Some(&v) = st.port_fixed.get(&port) {
            return v;
        }
        match port {
            FW_DATA => u32::from(Self::fw_read_byte(&mut st)),
            0xCF8 if width == Width::Dword => st.pci_address,
            0xCFC..=0xCFF => match Self::pci_target(&st) {
                Some((bdf, reg)) => match st.pci.get(&bdf) {
                    Some(f) => f.read(reg + usize::from(port - 0xCFC), len),
                    None => u32::MAX >> (32 - 8 * len),
                },
                None => u32::MAX >> (32 - 8 * len),
            },
            _ => u32::MAX >> (32 - 8 * len),
        }
    }

    fn port_write(&self, port: u16, value: u32, width: Width) {
        let mut st = self.state.borrow_mut();
        st.ports_out.push((port, value));
        match port {
            FW_SELECTOR if width == Width::Word => {
                st.fw_selected = Some(value as u16);
                st.fw_offset = 0;
            }
            0xCF8 if width == Width::Dword => st.pci_address = value,
            0xCFC..=0xCFF => {
                if let Some((bdf, reg)) = Self::pci_target(&st) {
                    if let Some(f) = st.pci.get_mut(&bdf) {
                        f.write(reg + usize::from(port - 0xCFC), value, width as usize);
                    }
                }
            }
            _ => {}
        }
    }

    fn port_read_bytes(&self, port: u16, buf: &mut [u8]) {
        // The fw_cfg data port in one copy, byte for byte what the loop
        // below gives: the long fuzz run reads files of up to 140 kB.
        let mut st = self.state.borrow_mut();
        if port == FW_DATA && !st.port_fixed.contains_key(&port) {
            let start = st.fw_offset;
            let item = st.fw_selected.and_then(|k| st.fw_items.get(&k));
            let have = item.map_or(&[][..], |i| i.get(start..).unwrap_or(&[]));
            let n = have.len().min(buf.len());
            buf[..n].copy_from_slice(&have[..n]);
            buf[n..].fill(0);
            st.port_reads += buf.len();
            st.fw_bytes_read += buf.len();
            st.fw_offset += buf.len();
            return;
        }
        drop(st);
        for b in buf {
            *b = self.port_read(port, Width::Byte) as u8;
        }
    }

    fn port_write_bytes(&self, port: u16, bytes: &[u8]) {
        for &b in bytes {
            self.port_write(port, u32::from(b), Width::Byte);
        }
    }

    unsafe fn mmio_read(&self, gpa: u64, width: Width) -> u32 {
        let mut st = self.state.borrow_mut();
        st.mmio_log.push(MmioAccess {
            gpa,
            width,
            write: None,
        });
        let Some(off) = Self::virtio_target(&st, gpa, width as u64) else {
            return u32::MAX; // nothing decodes there
        };
        let Some((_, m)) = st.virtio.as_mut() else {
            return u32::MAX;
        };
        if off >= m.common_at && off < m.common_at + 0x38 {
            let v = m.read_common(off - m.common_at);
            return v & (u32::MAX >> (32 - 8 * width as u32));
        }
        if off == m.isr_at {
            return u32::from(core::mem::take(&mut m.isr)); // read clears (§4.1.4.5)
        }
        if off >= m.device_at {
            let at = (off - m.device_at) as usize;
            let mut v = 0u32;
            for i in 0..width as usize {
                v |= u32::from(m.device_config.get(at + i).copied().unwrap_or(0)) << (8 * i);
            }
            return v;
        }
        0
    }

    unsafe fn mmio_write(&self, gpa: u64, value: u32, width: Width) {
        let mut st = self.state.borrow_mut();
        st.mmio_log.push(MmioAccess {
            gpa,
            width,
            write: Some(value),
        });
        let Some(off) = Self::virtio_target(&st, gpa, width as u64) else {
            return;
        };
        let Some((_, m)) = st.virtio.as_mut() else {
            return;
        };
        if off >= m.common_at && off < m.common_at + 0x38 {
            m.write_common(off - m.common_at, value);
        } else if off >= m.notify_at {
            m.notifications.push((off - m.notify_at, value as u16));
        }
    }

    unsafe fn msr_read(&self, msr: u32) -> u64 {
        self.state.borrow().msrs.get(&msr).copied().unwrap_or(0)
    }

    unsafe fn msr_write(&self, msr: u32, value: u64) {
        let mut st = self.state.borrow_mut();
        st.msr_writes.push((msr, value));
        st.msrs.insert(msr, value);
    }
}
