//! Device models behind NAE exits: CPUID, IOIO, MSRs, MMIO, TSC, guest
//! requests. Register semantics follow KVM's exit handlers.

use alloc::boxed::Box;

use super::exits::{scratch_area, Inputs, Outcome, Regs};
use super::layout::*;
use super::{Event, MockHypervisor};

impl MockHypervisor {
    // ---- set-up and inspection ----

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

    /// `f(req_gpa, resp_gpa)` returns SW_EXITINFO2 (VMM error << 32 |
    /// firmware error).
    pub fn set_guest_request_responder(&mut self, f: impl FnMut(u64, u64) -> u64 + 'static) {
        self.guest_request = Some(Box::new(f));
    }

    /// KVM's CPUID answer: the table, with the XSAVE area size of leaf 0xD
    /// subleaf 0 following the vCPU's XCR0 (x87+SSE 0x240, +AVX 0x340).
    pub(super) fn cpuid_answer(&self, leaf: u32, subleaf: u32) -> [u32; 4] {
        let mut regs = self
            .cpuid
            .get(&(leaf, subleaf))
            .copied()
            .unwrap_or_default();
        if leaf == 0xD && subleaf == 0 {
            regs[1] = if self.xcr0 & 0x4 != 0 { 0x340 } else { 0x240 };
        }
        regs
    }

    // ---- NAE exits ----

    pub(super) fn exit_cpuid(&mut self, regs: &mut Regs) -> Outcome {
        let leaf = regs.rax as u32;
        let subleaf = regs.rcx as u32;
        self.events.push(Event::Cpuid {
            leaf,
            subleaf,
            xcr0: (leaf == 0xD).then_some(self.xcr0),
        });
        let [a, b, c, d] = self.cpuid_answer(leaf, subleaf);
        regs.rax = a as u64;
        regs.rbx = b as u64;
        regs.rcx = c as u64;
        regs.rdx = d as u64;
        Outcome::Done
    }

    pub(super) fn exit_ioio(
        &mut self,
        gpa: u64,
        input: &Inputs,
        regs: &mut Regs,
        page: &mut [u8; PAGE],
    ) -> Outcome {
        let info1 = input.info1;
        let size: u64 = if info1 & IOIO_SZ8 != 0 {
            1
        } else if info1 & IOIO_SZ16 != 0 {
            2
        } else if info1 & IOIO_SZ32 != 0 {
            4
        } else {
            // No size: KVM resumes the guest without doing anything.
            return Outcome::Done;
        };
        let mask = (1u64 << (size * 8)) - 1;
        let port = (info1 >> 16) as u16;
        let is_in = info1 & IOIO_TYPE_IN != 0;
        if info1 & IOIO_STR != 0 {
            // sev_es_string_io: SW_EXITINFO2 is the count, the data is in
            // the scratch area.
            let count = input.info2;
            if count > i32::MAX as u64 {
                return Outcome::BadInput(ERR_INVALID_INPUT);
            }
            let bytes = count * size;
            if bytes == 0 {
                return Outcome::Done;
            }
            let (off, _) = match scratch_area(gpa, input.scratch, bytes) {
                Ok(a) => a,
                Err(reason) => return Outcome::BadInput(reason),
            };
            for i in 0..count as usize {
                let at = off + i * size as usize;
                if is_in {
                    let v = self.io_in_value(port, mask);
                    if let Some(d) = page.get_mut(at..at + size as usize) {
                        d.copy_from_slice(&v.to_le_bytes()[..size as usize]);
                    }
                } else {
                    let v = rd64(page, at) & mask;
                    self.events.push(Event::IoOut {
                        port,
                        value: v as u32,
                    });
                }
            }
            return Outcome::Done;
        }
        if is_in {
            regs.rax = self.io_in_value(port, mask);
        } else {
            self.events.push(Event::IoOut {
                port,
                value: (regs.rax & mask) as u32,
            });
        }
        Outcome::Done
    }

    fn io_in_value(&mut self, port: u16, mask: u64) -> u64 {
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
        value
    }

    /// `msr_interception`: SW_EXITINFO1 non-zero is a write of EDX:EAX.
    pub(super) fn exit_msr(
        &mut self,
        input: &Inputs,
        regs: &mut Regs,
        page: &mut [u8; PAGE],
    ) -> Outcome {
        let msr = regs.rcx as u32;
        if input.info1 != 0 {
            let value = (regs.rdx & 0xFFFF_FFFF) << 32 | regs.rax & 0xFFFF_FFFF;
            self.msrs.insert(msr, value);
            self.events.push(Event::MsrWrite { msr, value });
        } else {
            self.events.push(Event::MsrRead { msr });
            match self.msrs.get(&msr).copied() {
                Some(value) => {
                    regs.rax = value & 0xFFFF_FFFF;
                    regs.rdx = value >> 32;
                }
                // KVM answers an unknown MSR with #GP, injected through the
                // GHCB for SEV-ES guests.
                None => {
                    set_field(page, SW_EXIT_INFO1, RESP_ISSUE_EXCEPTION);
                    set_field(page, SW_EXIT_INFO2, INJECT_GP);
                }
            }
        }
        Outcome::Done
    }

    /// A hypervisor that intercepts RDTSC/RDTSCP serves them like this.
    /// (Upstream KVM sets neither intercept for SEV-ES/SNP guests.)
    pub(super) fn exit_rdtsc(&mut self, with_aux: bool, regs: &mut Regs) -> Outcome {
        self.tsc += 0x1_0000;
        regs.rax = self.tsc & 0xFFFF_FFFF;
        regs.rdx = self.tsc >> 32;
        if with_aux {
            regs.rcx = self.config.tsc_aux as u64;
        }
        self.events.push(Event::Rdtsc { with_aux });
        Outcome::Done
    }

    /// MMIO read/write: length 1..=8 (GHCB v2), data in the scratch area.
    pub(super) fn exit_mmio(&mut self, gpa: u64, input: &Inputs, page: &mut [u8; PAGE]) -> Outcome {
        let len = input.info2;
        if len == 0 {
            return Outcome::Done;
        }
        if len > 8 {
            return Outcome::BadInput(ERR_INVALID_INPUT);
        }
        let (off, _) = match scratch_area(gpa, input.scratch, len) {
            Ok(a) => a,
            Err(reason) => return Outcome::BadInput(reason),
        };
        let len = len as usize;
        let addr = input.info1;
        if input.exit_code == EXIT_MMIO_WRITE {
            let mut b = [0u8; 8];
            if let (Some(d), Some(s)) = (b.get_mut(..len), page.get(off..off + len)) {
                d.copy_from_slice(s);
            }
            let value = u64::from_le_bytes(b);
            self.mmio.insert(addr, value);
            self.events.push(Event::MmioWrite {
                gpa: addr,
                len,
                value,
            });
        } else {
            let value = self.mmio.get(&addr).copied().unwrap_or(u64::MAX);
            self.events.push(Event::MmioRead { gpa: addr, len });
            if let Some(d) = page.get_mut(off..off + len) {
                d.copy_from_slice(&value.to_le_bytes()[..len]);
            }
        }
        Outcome::Done
    }

    /// `snp_handle_guest_req`: the answer goes to SW_EXITINFO2.
    pub(super) fn exit_guest_request(&mut self, req_gpa: u64, resp_gpa: u64) -> u64 {
        let result = match self.guest_request.as_mut() {
            Some(f) => f(req_gpa, resp_gpa),
            None => 0,
        };
        self.events.push(Event::GuestRequest {
            req_gpa,
            resp_gpa,
            result,
        });
        result
    }
}
