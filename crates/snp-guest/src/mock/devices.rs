//! Device models behind NAE exits: CPUID, IOIO, MSRs, MMIO, guest requests.

use alloc::boxed::Box;

use super::exits::need;
use super::{Event, MockHypervisor, JUNK};
use crate::ghcb::{Ghcb, OFF_RAX, OFF_RCX, OFF_RDX, OFF_XCR0};
use crate::nae::{self, ghcb_err, ioio};
use crate::PAGE_SIZE_4K;

impl MockHypervisor {
    // ---- setup and inspection ----

    pub fn set_cpuid(&mut self, leaf: u32, subleaf: u32, regs: [u32; 4]) {
        self.cpuid.insert((leaf, subleaf), regs);
    }

    /// Values returned by successive IN from `port` (0xFFFF_FFFF when empty,
    /// like a floating bus).
    pub fn script_io_in(&mut self, port: u16, values: &[u32]) {
        self.io_in_script
            .entry(port)
            .or_default()
            .extend(values.iter().copied());
    }

    pub fn msr(&self, msr: u32) -> Option<u64> {
        self.msrs.get(&msr).copied()
    }

    pub fn set_msr(&mut self, msr: u32, value: u64) {
        self.msrs.insert(msr, value);
    }

    pub fn mmio(&self, gpa: u64) -> Option<u64> {
        self.mmio.get(&gpa).copied()
    }

    pub fn set_mmio(&mut self, gpa: u64, value: u64) {
        self.mmio.insert(gpa, value);
    }

    /// `f(req_gpa, resp_gpa)` returns SW_EXITINFO2.
    pub fn set_guest_request_responder(&mut self, f: impl FnMut(u64, u64) -> u64 + 'static) {
        self.guest_request = Some(Box::new(f));
    }

    // ---- NAE exits ----

    pub(super) fn exit_cpuid(&mut self, inputs: &Ghcb, g: &mut Ghcb) -> Result<u64, u64> {
        let junk = self.config.garbage;
        let leaf = need(inputs, OFF_RAX)? as u32;
        let subleaf = need(inputs, OFF_RCX)? as u32;
        let xcr0 = inputs.field_if_valid(OFF_XCR0);
        self.events.push(Event::Cpuid {
            leaf,
            subleaf,
            xcr0,
        });
        if leaf == 0xD && xcr0.is_none() {
            return Err(ghcb_err::MISSING_INPUT);
        }
        let mut regs = self
            .cpuid
            .get(&(leaf, subleaf))
            .copied()
            .unwrap_or_default();
        if leaf == 0xD && subleaf == 0 {
            // XSAVE size for the enabled features: legacy+header 0x240,
            // AVX state 0x100 more.
            regs[1] = if xcr0.unwrap_or(1) & 0x4 != 0 {
                0x340
            } else {
                0x240
            };
        }
        let hi = if junk { 0xFFFF_FFFF_0000_0000 } else { 0 };
        g.set_rax(hi | regs[0] as u64);
        g.set_rbx(hi | regs[1] as u64);
        g.set_rcx(hi | regs[2] as u64);
        g.set_rdx(hi | regs[3] as u64);
        Ok(0)
    }

    pub(super) fn exit_ioio(
        &mut self,
        info1: u64,
        inputs: &Ghcb,
        g: &mut Ghcb,
    ) -> Result<u64, u64> {
        let junk = self.config.garbage;
        if info1 & (ioio::STR | ioio::REP) != 0 {
            return Err(ghcb_err::INVALID_INPUT);
        }
        let port = (info1 >> ioio::PORT_SHIFT) as u16;
        let mask = if info1 & ioio::SZ8 != 0 {
            0xFF
        } else if info1 & ioio::SZ16 != 0 {
            0xFFFF
        } else if info1 & ioio::SZ32 != 0 {
            0xFFFF_FFFF
        } else {
            return Err(ghcb_err::INVALID_INPUT);
        };
        if info1 & ioio::TYPE_IN != 0 {
            let value = self
                .io_in_script
                .get_mut(&port)
                .and_then(|q| q.pop_front())
                .unwrap_or(0xFFFF_FFFF) as u64
                & mask;
            self.events.push(Event::IoIn {
                port,
                value: value as u32,
            });
            let rax = if junk { JUNK & !mask | value } else { value };
            g.set_rax(rax);
        } else {
            let value = need(inputs, OFF_RAX)? & mask;
            self.events.push(Event::IoOut {
                port,
                value: value as u32,
            });
        }
        Ok(0)
    }

    pub(super) fn exit_msr(&mut self, info1: u64, inputs: &Ghcb, g: &mut Ghcb) -> Result<u64, u64> {
        let junk = self.config.garbage;
        let msr = need(inputs, OFF_RCX)? as u32;
        if info1 == 1 {
            let lo = need(inputs, OFF_RAX)? & 0xFFFF_FFFF;
            let hi = need(inputs, OFF_RDX)? & 0xFFFF_FFFF;
            let value = hi << 32 | lo;
            self.msrs.insert(msr, value);
            self.events.push(Event::MsrWrite { msr, value });
        } else if info1 == 0 {
            let value = self.msrs.get(&msr).copied().unwrap_or(0);
            self.events.push(Event::MsrRead { msr });
            let hi = if junk { 0xBAD0_0000_0000_0000 } else { 0 };
            g.set_rax(hi | (value & 0xFFFF_FFFF));
            g.set_rdx(hi | value >> 32);
        } else {
            return Err(ghcb_err::INVALID_INPUT);
        }
        Ok(0)
    }

    pub(super) fn exit_mmio(
        &mut self,
        gpa: u64,
        exit_code: u64,
        info1: u64,
        info2: u64,
        inputs: &Ghcb,
        g: &mut Ghcb,
    ) -> Result<u64, u64> {
        let junk = self.config.garbage;
        let len = info2 as usize;
        let scratch = need(inputs, crate::ghcb::OFF_SW_SCRATCH)?;
        let buf_off = self.scratch_offset(gpa, scratch, len)?;
        if !matches!(len, 1 | 2 | 4 | 8) {
            return Err(ghcb_err::INVALID_INPUT);
        }
        let mask = if len == 8 {
            u64::MAX
        } else {
            (1u64 << (len * 8)) - 1
        };
        if exit_code == nae::EXIT_MMIO_WRITE {
            let mut b = [0u8; 8];
            for (i, d) in b.iter_mut().enumerate().take(len) {
                *d = inputs.as_bytes().get(buf_off + i).copied().unwrap_or(0);
            }
            let value = u64::from_le_bytes(b);
            self.mmio.insert(info1, value);
            self.events.push(Event::MmioWrite {
                gpa: info1,
                len,
                value,
            });
        } else {
            let value = self.mmio.get(&info1).copied().unwrap_or(u64::MAX) & mask;
            self.events.push(Event::MmioRead { gpa: info1, len });
            if junk {
                g.shared_buffer_mut().fill(0xEE);
            }
            let bytes = value.to_le_bytes();
            if let Some(dst) = g.as_bytes_mut().get_mut(buf_off..buf_off + len) {
                dst.copy_from_slice(&bytes[..len]);
            }
        }
        Ok(0)
    }

    pub(super) fn exit_guest_request(&mut self, info1: u64, info2: u64) -> Result<u64, u64> {
        let ok = |m: &Self, a: u64| a.is_multiple_of(PAGE_SIZE_4K) && !m.rmp(a).assigned;
        if info1 == info2 || !ok(self, info1) || !ok(self, info2) {
            return Err(ghcb_err::INVALID_INPUT);
        }
        let result = match self.guest_request.as_mut() {
            Some(f) => f(info1, info2),
            None => 0,
        };
        self.events.push(Event::GuestRequest {
            req_gpa: info1,
            resp_gpa: info2,
            result,
        });
        Ok(result)
    }
}
