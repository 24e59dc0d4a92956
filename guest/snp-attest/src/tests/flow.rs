use super::*;
use crate::message::{MSG_REPORT_REQ, REPORT_DATA_AT};
use crate::mock::{Fault, MOCK_MEASUREMENT};
use crate::{AttestError, GuestRequestTransport, TransportError};

#[test]
fn round_trip_puts_report_data_at_0x50() {
    let (mut guest, mut sp) = pair();
    let rd = report_data(0x5A);
    let report = guest.request_report(&mut sp, rd, 0).expect("report");
    assert_eq!(report[REPORT_DATA_AT..REPORT_DATA_AT + 64], rd);
    assert_eq!(report[0x90..0xC0], MOCK_MEASUREMENT);
    // The mock's report is a valid (strictly parsed) version-3 report.
    let parsed = snp_report::AttestationReport::from_bytes(&report).expect("parses");
    assert_eq!(parsed.version, 3);
    assert_eq!(parsed.report_data, rd);
    assert_eq!(parsed.measurement, MOCK_MEASUREMENT);
    assert_eq!(parsed.vmpl, 0);
}

#[test]
fn sequence_numbers_1_3_5() {
    let (mut guest, mut sp) = pair();
    for i in 0..3u8 {
        guest
            .request_report(&mut sp, report_data(i), 0)
            .expect("report");
    }
    let seqnos: Vec<u64> = sp
        .received()
        .iter()
        .map(|p| header_of(&p[..]).seqno)
        .collect();
    assert_eq!(seqnos, [1, 3, 5]);
    assert_eq!(guest.next_seqno(), 7);
    assert_eq!(sp.expected_seqno(), 7);
}

#[test]
fn first_seqno_follows_secrets_page() {
    let secrets = SecretsPage::parse(&secrets_page(3, &KEY, 40)).expect("valid");
    assert_eq!((secrets.version(), secrets.msg_seqno_0()), (3, 40));
    let mut guest = GuestMessenger::new(&secrets);
    let mut sp = MockSecureProcessor::new(KEY, 40);
    guest
        .request_report(&mut sp, report_data(1), 0)
        .expect("report");
    assert_eq!(header_of(&sp.received()[0][..]).seqno, 41);
    assert_eq!(guest.next_seqno(), 43);
}

#[test]
fn request_header_fields() {
    let (mut guest, mut sp) = pair();
    guest
        .request_report(&mut sp, report_data(0), 0)
        .expect("report");
    let page = &sp.received()[0];
    assert_eq!(header_of(&page[..]), Header::new(MSG_REPORT_REQ, 96, 1));
    assert!(page[0x10..0x20].iter().all(|&b| b == 0), "authtag[16..32]");
    assert!(page[HEADER_LEN + 96..].iter().all(|&b| b == 0));
}

#[test]
fn busy_resends_identical_bytes_without_advancing() {
    let (mut guest, mut sp) = pair();
    sp.inject(Fault::Busy);
    sp.inject(Fault::Busy);
    guest
        .request_report(&mut sp, report_data(1), 2)
        .expect("report");
    let got = sp.received();
    assert_eq!(got.len(), 3);
    assert!(
        got[0] == got[1] && got[1] == got[2],
        "BUSY resends the same bytes"
    );
    assert_eq!(header_of(&got[0][..]).seqno, 1);
    guest
        .request_report(&mut sp, report_data(2), 0)
        .expect("report");
    assert_eq!(header_of(&sp.received()[3][..]).seqno, 3);
}

#[test]
fn mock_refuses_stale_or_foreign_requests() {
    let (mut guest, mut sp) = pair();
    guest
        .request_report(&mut sp, report_data(1), 0)
        .expect("report");
    let old = sp.received()[0].clone();
    let mut response = Box::new([0u8; PAGE_SIZE]);
    // A replayed request (old seqno) is refused by the secure processor.
    assert!(matches!(
        sp.exchange(&old, &mut response),
        Err(TransportError::Failed { .. })
    ));
    // So is one under another key (with the sequence number `sp` expects).
    let other = SecretsPage::parse(&secrets_page(2, &[7; 32], 2)).expect("valid");
    let mut other_sp = MockSecureProcessor::new([7; 32], 2);
    GuestMessenger::new(&other)
        .request_report(&mut other_sp, report_data(1), 0)
        .expect("report");
    let forged = &other_sp.received()[0];
    assert_eq!(header_of(&forged[..]).seqno, sp.expected_seqno());
    assert!(sp.exchange(forged, &mut response).is_err());
}

#[test]
fn secrets_page_checks() {
    assert_eq!(
        SecretsPage::parse(&secrets_page(2, &[0; 32], 0)).map(|_| ()),
        Err(AttestError::ZeroVmpck)
    );
    assert_eq!(
        SecretsPage::parse(&secrets_page(2, &[0xFF; 32], 0)).map(|_| ()),
        Err(AttestError::WipedVmpck)
    );
    for v in [0, 1] {
        assert_eq!(
            SecretsPage::parse(&secrets_page(v, &KEY, 0)).map(|_| ()),
            Err(AttestError::SecretsVersion(v))
        );
    }
    // VMPCK0 comes from 0x20: a messenger from this page talks to a mock with KEY.
    let secrets = SecretsPage::parse(&secrets_page(5, &KEY, 0)).expect("valid");
    assert!(
        !format!("{secrets:?}").contains("66"),
        "Debug hides the key"
    );
    let mut guest = GuestMessenger::new(&secrets);
    let mut sp = MockSecureProcessor::new(KEY, 0);
    guest
        .request_report(&mut sp, report_data(9), 0)
        .expect("report");
}
