//! Event recording: the [`Event`] log of everything the mock saw.

use alloc::vec::Vec;

use super::MockHypervisor;
use crate::msr_protocol::PscOp;
use crate::PageSize;

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
    /// The hypervisor split a 2 MiB RMP entry into 4 KiB entries.
    Psmash {
        gpa: u64,
    },
    SetEncrypted {
        vaddr: u64,
        encrypted: bool,
    },
    /// A page state change applied (MSR protocol or NAE entry).
    Psc {
        gpa: u64,
        op: PscOp,
        size: PageSize,
    },
    Terminate {
        set: u8,
        code: u8,
    },
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
}

impl MockHypervisor {
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        core::mem::take(&mut self.events)
    }
}
