//! Event recording: the [`Event`] log of everything the mock saw.

use alloc::vec::Vec;

use super::MockHypervisor;
use crate::PageSize;

/// Page state requested by a PSC (GHCB spec: 1 = private, 2 = shared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageOp {
    Private,
    Shared,
}

/// Why a nested page fault happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpfCause {
    /// The page is not assigned to the guest in the RMP.
    NotAssigned,
    /// A 4 KiB access inside a 2 MiB RMP entry (KVM answers with PSMASH).
    SizeMismatch,
}

/// Why the VM stopped (KVM returned to userspace with an error or a
/// termination; the guest never runs again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// GHCB MSR protocol or NAE termination request.
    Terminated { set: u8, code: u8 },
    /// SNP: a GHCB exit with a GPA that was not registered (KVM -EINVAL).
    GhcbNotRegistered { gpa: u64 },
    /// NAE "unsupported event" (KVM -EINVAL).
    UnsupportedEvent,
}

/// Everything the mock saw, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Msr {
        request: u64,
        response: u64,
    },
    GhcbExit {
        exit_code: u64,
        info1: u64,
        info2: u64,
        result_info1: u64,
        result_info2: u64,
    },
    Pvalidate {
        vaddr: u64,
        size: PageSize,
        validate: bool,
        rc: u32,
        cf: bool,
    },
    /// PVALIDATE faulted to the hypervisor; the guest saw nothing.
    NestedPageFault {
        gpa: u64,
        cause: NpfCause,
    },
    /// The hypervisor split a 2 MiB RMP entry into 4 KiB entries.
    Psmash {
        gpa: u64,
    },
    SetEncrypted {
        vaddr: u64,
        encrypted: bool,
    },
    /// The guest read the first and last byte of each 4 KiB page of
    /// [vaddr, vaddr + size) to evict its cache lines (CVE-2025-38560).
    EvictCache {
        vaddr: u64,
        size: PageSize,
    },
    /// A page state change applied (MSR protocol, NAE entry, or the implicit
    /// conversion of a nested page fault).
    Psc {
        gpa: u64,
        op: PageOp,
        size: PageSize,
    },
    Stopped(Stop),
    /// The guest kept running after the VM stopped (impossible on hardware).
    RanAfterStop,
    IoOut {
        port: u16,
        value: u32,
    },
    IoIn {
        port: u16,
        value: u32,
    },
    MsrWrite {
        msr: u32,
        value: u64,
    },
    MsrRead {
        msr: u32,
    },
    Cpuid {
        leaf: u32,
        subleaf: u32,
        xcr0: Option<u64>,
    },
    MmioWrite {
        gpa: u64,
        len: usize,
        value: u64,
    },
    MmioRead {
        gpa: u64,
        len: usize,
    },
    GuestRequest {
        req_gpa: u64,
        resp_gpa: u64,
        result: u64,
    },
    Rdtsc {
        with_aux: bool,
    },
    /// RMPADJUST as the guest executed it, with its return code.
    Rmpadjust {
        vaddr: u64,
        attrs: u64,
        rc: u32,
    },
}

impl MockHypervisor {
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        core::mem::take(&mut self.events)
    }
}
