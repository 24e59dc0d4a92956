use super::*;
use crate::error::HeaderField;
use crate::message::AAD;
use crate::mock::{Fault, STATUS_INVALID_PARAMS};
use crate::{AttestError, TransportError};

fn assert_dead(guest: &mut GuestMessenger, sp: &mut MockSecureProcessor) {
    assert!(guest.is_wiped());
    let seen = sp.received().len();
    assert_eq!(
        guest.request_report(sp, report_data(9), 3),
        Err(AttestError::KeyWiped)
    );
    assert_eq!(sp.received().len(), seen, "nothing more is sent");
}

/// One good round trip, then `fault` on the second.
fn second_request_with(fault: Fault, busy_retries: u32) -> AttestError {
    let (mut guest, mut sp) = pair();
    guest
        .request_report(&mut sp, report_data(0), 0)
        .expect("first report");
    sp.inject(fault);
    let err = guest
        .request_report(&mut sp, report_data(1), busy_retries)
        .expect_err("refused");
    assert_dead(&mut guest, &mut sp);
    err
}

#[test]
fn each_fault_is_refused_and_wipes_the_key() {
    let bad = |field, value| AttestError::BadHeader { field, value };
    let cases = [
        (Fault::WrongTag, AttestError::BadTag),
        (
            Fault::WrongSeqno,
            AttestError::BadSequence {
                expected: 4,
                got: 6,
            },
        ),
        (Fault::WrongMsgType, bad(HeaderField::MessageType, 4)),
        (Fault::ShortMsgSz, bad(HeaderField::MessageSize, 0x20 + 100)),
        (
            Fault::BadStatus(STATUS_INVALID_PARAMS),
            AttestError::FirmwareStatus(0x16),
        ),
        (Fault::BadReportSize(1000), AttestError::BadReportSize(1000)),
        (Fault::WrongReportData, AttestError::ReportDataMismatch),
        (
            Fault::Replay,
            AttestError::BadSequence {
                expected: 4,
                got: 2,
            },
        ),
        (
            Fault::Fail,
            AttestError::Transport(TransportError::Failed { code: 0x16 }),
        ),
        // BUSY beyond the retry budget counts as a failure.
        (Fault::Busy, AttestError::Transport(TransportError::Busy)),
    ];
    for (fault, want) in cases {
        assert_eq!(second_request_with(fault, 0), want, "{fault:?}");
        assert!(!want.to_string().is_empty());
    }
}

#[test]
fn truncated_response_is_refused() {
    // The transport always hands over a whole page, so only the check
    // itself can see a short response: the first request's bytes, answered
    // by a second mock, cut short.
    let (mut guest, mut sp) = pair();
    guest
        .request_report(&mut sp, report_data(1), 0)
        .expect("report");
    let mut response = Box::new([0u8; PAGE_SIZE]);
    MockSecureProcessor::new(KEY, 0)
        .respond(&sp.received()[0], &mut response)
        .expect("ok");
    let check = |len| guest.check_response(1, &report_data(1), &response[..len]);
    assert!(check(PAGE_SIZE).is_ok());
    for len in [0, HEADER_LEN - 1, HEADER_LEN, HEADER_LEN + 0x4C0 - 1] {
        assert_eq!(check(len), Err(AttestError::Truncated { len }));
    }
}

#[test]
fn every_header_byte_in_the_aad_is_authenticated() {
    for at in AAD {
        let err = second_request_with(Fault::FlipByte(at), 0);
        let field_checked = matches!(at, 0x30..=0x37 | 0x3C);
        if field_checked {
            // A flipped msg_sz can stay in bounds: then the tag catches it.
            let ok = matches!(err, AttestError::BadHeader { .. } | AttestError::BadTag);
            assert!(ok, "{at:#x}: {err}");
        } else {
            // Reserved bytes pass the field checks: only the tag catches them.
            assert_eq!(err, AttestError::BadTag, "{at:#x}");
        }
    }
    // Ciphertext and tag bytes too; the seqno (0x20) goes into the IV.
    for at in [0x00, 0x0F, 0x60, 0x60 + 0x4BF] {
        assert_eq!(
            second_request_with(Fault::FlipByte(at), 0),
            AttestError::BadTag
        );
    }
    assert!(matches!(
        second_request_with(Fault::FlipByte(0x20), 0),
        AttestError::BadSequence { .. }
    ));
    // authtag[16..32] is not part of the tag, nor reserved 0x28..0x30.
    let (mut guest, mut sp) = pair();
    sp.inject(Fault::FlipByte(0x10));
    sp.inject(Fault::FlipByte(0x28));
    guest
        .request_report(&mut sp, report_data(1), 0)
        .expect("ok");
    guest
        .request_report(&mut sp, report_data(2), 0)
        .expect("ok");
}
