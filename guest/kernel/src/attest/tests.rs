//! The kernel's attestation transport and secrets handling
//! (`transport.rs`) run on the host: two pages of host memory shared through
//! an `SnpGlue` over the mock hypervisor, whose guest-request responder is
//! `snp_attest`'s mock secure processor reading and writing those pages.
//! Offsets and codes are literals from the specifications: secrets page
//! (SNP ABI 56860 "Secrets Page Format"), guest message header and
//! ATTESTATION_REPORT (56860), SW_EXITINFO2 of a guest request (GHCB spec
//! 4.1.7: VMM error << 32 | firmware error; BUSY = 2, INVALID_LEN = 1).
#![allow(clippy::unwrap_used)]

use super::transport::{take_secrets, GhcbTransport, HostPage, SecretsMemory, BUSY_RETRIES};
use crate::shared::SharedError;
use crate::snp::SnpGlue;
use snp_attest::mock::{Fault, MockSecureProcessor};
use snp_attest::{AttestError, GuestMessenger, GuestRequestTransport, TransportError, REPORT_LEN};
use snp_guest::mock::{Event, MockConfig, MockHypervisor};
use snp_guest::SnpError;
use std::cell::RefCell;
use std::rc::Rc;

const PAGE: usize = 4096;
const VMPCK0: [u8; 32] = [0x42; 32];
/// The launch ranges and GHCB page as in snp/tests.rs.
const LAUNCH: [(u64, u64); 1] = [(0x10_0000, 0x50_0000)];
const GHCB: u64 = 0x40_0000;
/// The request and response pages: RAM accepted, then shared.
const REQ: u64 = 0x50_0000;
const RESP: u64 = 0x50_1000;

type Bytes = Rc<RefCell<[u8; PAGE]>>;

/// A page of "guest memory" the test and the mock secure processor both see.
#[derive(Clone)]
struct TestPage {
    gpa: u64,
    bytes: Bytes,
}

impl TestPage {
    fn new(gpa: u64) -> Self {
        Self {
            gpa,
            bytes: Rc::new(RefCell::new([0; PAGE])),
        }
    }
}

impl HostPage for TestPage {
    fn gpa(&self) -> u64 {
        self.gpa
    }
    fn write(&self, offset: usize, data: &[u8]) -> Result<(), SharedError> {
        let mut b = self.bytes.borrow_mut();
        let d = b
            .get_mut(offset..offset + data.len())
            .ok_or(SharedError::OutOfBounds {
                offset,
                len: data.len(),
                size: PAGE,
            })?;
        d.copy_from_slice(data);
        Ok(())
    }
    fn read(&self, offset: usize, out: &mut [u8]) -> Result<(), SharedError> {
        let b = self.bytes.borrow();
        let s = b
            .get(offset..offset + out.len())
            .ok_or(SharedError::OutOfBounds {
                offset,
                len: out.len(),
                size: PAGE,
            })?;
        out.copy_from_slice(s);
        Ok(())
    }
    fn fill(&self, value: u8) {
        self.bytes.borrow_mut().fill(value);
    }
}

/// A launch secrets page, version 3: VMPCK0..3 at 0x20/0x40/0x60/0x80,
/// msg_seqno_0 at 0xA0 (the OS area).
fn secrets_page(msg_seqno_0: u32) -> [u8; PAGE] {
    let mut p = [0u8; PAGE];
    p[0..4].copy_from_slice(&3u32.to_le_bytes());
    p[0x10] = 0x5A; // before the keys
    p[0x20..0x40].copy_from_slice(&VMPCK0);
    p[0x40..0x60].fill(0x11);
    p[0x60..0x80].fill(0x22);
    p[0x80..0xA0].fill(0x33);
    p[0xA0..0xA4].copy_from_slice(&msg_seqno_0.to_le_bytes());
    p[0xFFF] = 0xC3;
    p
}

struct FakeSecrets([u8; PAGE]);

impl SecretsMemory for FakeSecrets {
    fn read(&self, at: usize) -> u8 {
        self.0[at]
    }
    fn write(&mut self, at: usize, value: u8) {
        self.0[at] = value;
    }
}

/// The mock hypervisor after launch, its guest-request responder the mock
/// secure processor over the two test pages. Answers as KVM's
/// `snp_handle_guest_req` puts them in SW_EXITINFO2.
fn hypervisor(
    sp: &Rc<RefCell<MockSecureProcessor>>,
    req: &TestPage,
    resp: &TestPage,
) -> MockHypervisor {
    let mut m = MockHypervisor::new(MockConfig::default());
    for (start, end) in LAUNCH {
        m.prevalidate(start, end);
    }
    let (sp, req, resp) = (sp.clone(), req.clone(), resp.clone());
    m.set_guest_request_responder(move |req_gpa, resp_gpa| {
        assert_eq!((req_gpa, resp_gpa), (req.gpa, resp.gpa));
        let request = *req.bytes.borrow();
        let mut response = [0u8; PAGE];
        match sp.borrow_mut().respond(&request, &mut response) {
            Ok(()) => {
                *resp.bytes.borrow_mut() = response;
                0
            }
            Err(TransportError::Busy) => 2 << 32,
            Err(TransportError::Failed { code }) => code,
        }
    });
    m
}

/// Init, accept the two pages and share them (as `SharedBuffer::allocate`
/// does under SNP).
fn glue(m: &mut MockHypervisor) -> SnpGlue<&mut MockHypervisor, 256> {
    // The CPUID page only needs the C-bit leaf here (0x8000_001F, EBX = 51).
    let mut cpuid = [0u8; PAGE];
    cpuid[0] = 1;
    cpuid[0x10..0x14].copy_from_slice(&0x8000_001Fu32.to_le_bytes());
    cpuid[0x10 + 28] = 51;
    let mut g = SnpGlue::init(m, 0b111, 1 << 51, &cpuid, &LAUNCH, GHCB).unwrap();
    g.accept(REQ, RESP + 0x1000).unwrap();
    g.share_page(REQ).unwrap();
    g.share_page(RESP).unwrap();
    assert!(!g.hw().rmp(REQ).assigned && !g.hw().is_mapped_encrypted(REQ));
    assert!(!g.hw().rmp(RESP).assigned && !g.hw().is_mapped_encrypted(RESP));
    g
}

fn messenger(msg_seqno_0: u32) -> GuestMessenger {
    let mut page = FakeSecrets(secrets_page(msg_seqno_0));
    let mut copy = [0u8; PAGE];
    GuestMessenger::new(&take_secrets(&mut page, &mut copy).unwrap())
}

/// One report round trip, BUSY retried as the guest does.
fn request_report<T: GuestRequestTransport>(
    messenger: &mut GuestMessenger,
    transport: &mut T,
    report_data: [u8; 64],
) -> Result<[u8; REPORT_LEN], AttestError> {
    messenger.request_report(transport, report_data, BUSY_RETRIES)
}

fn data(tag: u8) -> [u8; 64] {
    core::array::from_fn(|i| tag ^ i as u8)
}

fn guest_requests(m: &MockHypervisor) -> usize {
    m.events()
        .iter()
        .filter(|e| matches!(e, Event::GuestRequest { .. }))
        .count()
}

/// The sequence number in a request page's header (0x20..0x28).
fn seqno(page: &[u8]) -> u64 {
    u64::from_le_bytes(page[0x20..0x28].try_into().unwrap())
}

#[test]
fn reports_through_the_glue_and_the_mock_secure_processor() {
    let sp = Rc::new(RefCell::new(MockSecureProcessor::new(VMPCK0, 6)));
    let (req, resp) = (TestPage::new(REQ), TestPage::new(RESP));
    let mut m = hypervisor(&sp, &req, &resp);
    let mut g = glue(&mut m);
    let mut msg = messenger(6);
    {
        let mut t = GhcbTransport::new(req.clone(), resp.clone(), |r, s| g.guest_request(r, s));
        for tag in [0x10, 0x20] {
            let report = request_report(&mut msg, &mut t, data(tag)).unwrap();
            // ATTESTATION_REPORT: version 3 at 0, REPORT_DATA at 0x50,
            // MEASUREMENT at 0x90 (the mock's 0xA5 bytes).
            assert_eq!(report[0..4], 3u32.to_le_bytes());
            assert_eq!(report[0x50..0x90], data(tag));
            assert_eq!(report[0x90..0xC0], [0xA5; 48]);
        }
    }
    // msg_seqno_0 = 6: requests 7 and 9, responses 8 and 10.
    let received: Vec<u64> = sp
        .borrow()
        .received()
        .iter()
        .map(|p| seqno(&p[..]))
        .collect();
    assert_eq!(received, [7, 9]);
    assert_eq!(msg.next_seqno(), 11);
    assert_eq!(sp.borrow().expected_seqno(), 11);
    assert_eq!(seqno(&resp.bytes.borrow()[..]), 10);
    assert_eq!(guest_requests(g.hw()), 2);
    assert!(g.hw().stopped().is_none());
}

#[test]
fn busy_is_retried_with_the_same_bytes() {
    let sp = Rc::new(RefCell::new(MockSecureProcessor::new(VMPCK0, 0)));
    sp.borrow_mut().inject(Fault::Busy);
    sp.borrow_mut().inject(Fault::Busy);
    let (req, resp) = (TestPage::new(REQ), TestPage::new(RESP));
    let mut m = hypervisor(&sp, &req, &resp);
    let mut g = glue(&mut m);
    let mut msg = messenger(0);
    let mut t = GhcbTransport::new(req, resp, |r, s| g.guest_request(r, s));
    let report = request_report(&mut msg, &mut t, data(0x33)).unwrap();
    drop(t);
    assert_eq!(report[0x50..0x90], data(0x33));
    let sp = sp.borrow();
    let seen = sp.received();
    assert_eq!(seen.len(), 3);
    assert!(seen[0][..] == seen[1][..] && seen[1][..] == seen[2][..]);
    assert_eq!(seqno(&seen[0][..]), 1);
    assert_eq!(msg.next_seqno(), 3);
    assert_eq!(guest_requests(g.hw()), 3);
}

#[test]
fn a_firmware_error_is_mapped_and_wipes_the_key() {
    let sp = Rc::new(RefCell::new(MockSecureProcessor::new(VMPCK0, 0)));
    sp.borrow_mut().inject(Fault::Fail);
    let (req, resp) = (TestPage::new(REQ), TestPage::new(RESP));
    let mut m = hypervisor(&sp, &req, &resp);
    let mut g = glue(&mut m);
    let mut msg = messenger(0);
    let mut t = GhcbTransport::new(req, resp, |r, s| g.guest_request(r, s));
    // The mock's refusal: firmware INVALID_PARAM (0x16) in the low 32 bits.
    assert_eq!(
        request_report(&mut msg, &mut t, data(1)),
        Err(AttestError::Transport(TransportError::Failed {
            code: 0x16
        }))
    );
    assert!(msg.is_wiped());
    assert_eq!(
        request_report(&mut msg, &mut t, data(2)),
        Err(AttestError::KeyWiped)
    );
}

#[test]
fn busy_without_end_runs_out_of_retries() {
    let sp = Rc::new(RefCell::new(MockSecureProcessor::new(VMPCK0, 0)));
    // BUSY_RETRIES (1000) resends, plus the first try.
    for _ in 0..1001 {
        sp.borrow_mut().inject(Fault::Busy);
    }
    let (req, resp) = (TestPage::new(REQ), TestPage::new(RESP));
    let mut m = hypervisor(&sp, &req, &resp);
    let mut g = glue(&mut m);
    let mut msg = messenger(0);
    let mut t = GhcbTransport::new(req, resp, |r, s| g.guest_request(r, s));
    assert_eq!(
        request_report(&mut msg, &mut t, data(1)),
        Err(AttestError::Transport(TransportError::Busy))
    );
    assert!(msg.is_wiped());
    drop(t);
    assert_eq!(sp.borrow().received().len(), 1001);
}

#[test]
fn exchange_maps_the_exit_results() {
    let (req, resp) = (TestPage::new(REQ), TestPage::new(RESP));
    let request = [0x5Au8; PAGE];
    let mut response = [0u8; PAGE];
    let cases = [
        (SnpError::GuestRequestBusy, TransportError::Busy),
        (
            SnpError::GuestRequestFirmwareError { code: 0x27 },
            TransportError::Failed { code: 0x27 },
        ),
        (
            SnpError::GuestRequestInvalidLen,
            TransportError::Failed { code: u64::MAX },
        ),
        (
            SnpError::GuestRequestVmmError { code: 7 },
            TransportError::Failed { code: u64::MAX },
        ),
    ];
    for (exit, expected) in cases {
        let mut t = GhcbTransport::new(req.clone(), resp.clone(), |_, _| Err(exit));
        assert_eq!(t.exchange(&request, &mut response), Err(expected));
    }
    // Success: the request is in its page, the response page is read back.
    let answered = resp.clone();
    let mut t = GhcbTransport::new(req.clone(), resp.clone(), |r, s| {
        assert_eq!((r, s), (REQ, RESP));
        answered.bytes.borrow_mut()[0x100] = 0x77;
        Ok(())
    });
    t.exchange(&request, &mut response).unwrap();
    assert_eq!(req.bytes.borrow()[..], request[..]);
    assert_eq!(response[0x100], 0x77);
}

#[test]
fn a_host_that_answers_without_writing_leaves_zeros_not_stale_bytes() {
    let (req, resp) = (TestPage::new(REQ), TestPage::new(RESP));
    resp.fill(0xAA);
    let mut t = GhcbTransport::new(req, resp, |_, _| Ok(()));
    let mut response = [0xEEu8; PAGE];
    t.exchange(&[1; PAGE], &mut response).unwrap();
    assert!(response.iter().all(|&b| b == 0));
}

#[test]
fn take_secrets_wipes_all_four_vmpcks_and_zeroizes_the_copy() {
    let mut page = FakeSecrets(secrets_page(9));
    let mut copy = [0u8; PAGE];
    let secrets = take_secrets(&mut page, &mut copy).unwrap();
    assert_eq!(secrets.version(), 3);
    assert_eq!(secrets.msg_seqno_0(), 9);
    assert!(copy.iter().all(|&b| b == 0));
    let p = &page.0;
    assert!(p[0x20..0xA0].iter().all(|&b| b == 0xFF));
    // Everything else stays.
    assert_eq!(p[0..4], 3u32.to_le_bytes());
    assert_eq!(p[0x10], 0x5A);
    assert_eq!(p[0xA0..0xA4], 9u32.to_le_bytes());
    assert_eq!(p[0xFFF], 0xC3);
    let mut expected = secrets_page(9);
    expected[0x20..0xA0].fill(0xFF);
    assert_eq!(p[..], expected[..]);
    // The copy carried the launch key: the mock secure processor (VMPCK0,
    // msg_seqno_0 = 9) accepts its requests.
    let mut msg = GuestMessenger::new(&secrets);
    let mut sp = MockSecureProcessor::new(VMPCK0, 9);
    assert!(msg.request_report(&mut sp, data(4), 0).is_ok());
}

#[test]
fn take_secrets_wipes_even_a_page_it_refuses() {
    // Version 1 is refused, but the keys are gone from the page anyway and
    // the copy is zeroized.
    let mut bytes = secrets_page(0);
    bytes[0..4].copy_from_slice(&1u32.to_le_bytes());
    let mut page = FakeSecrets(bytes);
    let mut copy = [0u8; PAGE];
    assert_eq!(
        take_secrets(&mut page, &mut copy)
            .err()
            .map(|e| e.to_string()),
        Some(AttestError::SecretsVersion(1).to_string())
    );
    assert!(page.0[0x20..0xA0].iter().all(|&b| b == 0xFF));
    assert!(copy.iter().all(|&b| b == 0));
    // A second take is refused: all 0xFF is the wipe pattern, a key the
    // host knows, which would let it forge the secure processor's answers.
    let mut copy = [0u8; PAGE];
    page.0[0..4].copy_from_slice(&3u32.to_le_bytes());
    assert_eq!(
        take_secrets(&mut page, &mut copy).err(),
        Some(AttestError::WipedVmpck)
    );
    assert!(copy.iter().all(|&b| b == 0));
}
