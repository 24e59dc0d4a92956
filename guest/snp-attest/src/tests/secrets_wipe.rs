//! VMPCK0..3 are all overwritten in the launch page; the private copy is
//! zeroized after parsing. Offsets from 56860 "Secrets Page Format".

use super::*;
use crate::{wipe_vmpcks, AttestError, VMPCKS};

#[test]
fn all_four_vmpcks_are_wiped() {
    assert_eq!(VMPCKS, 0x20..0xA0);
    let mut page = secrets_page(3, &KEY, 9);
    page[0x60..0x80].copy_from_slice(&[0x22; 32]); // VMPCK2
    page[0x80..0xA0].copy_from_slice(&[0x33; 32]); // VMPCK3
    page[0x10] = 0x5A; // before the keys: not touched
    wipe_vmpcks(&mut page);
    for at in [0x20, 0x40, 0x60, 0x80] {
        assert!(
            page[at..at + 32].iter().all(|&b| b == 0xFF),
            "VMPCK at {at:#x}"
        );
    }
    assert_eq!(page[0x10], 0x5A);
    assert_eq!(page[0..4], 3u32.to_le_bytes());
    assert_eq!(page[0xA0..0xA4], 9u32.to_le_bytes());
    // A wiped page has no usable VMPCK0: all 0xFF is a key the host knows
    // (it could answer as the secure processor), so parsing refuses it.
    assert_eq!(
        SecretsPage::parse(&page).map(|_| ()),
        Err(AttestError::WipedVmpck)
    );
}

#[test]
fn take_zeroizes_the_private_copy() {
    let mut copy = secrets_page(2, &KEY, 4);
    let secrets = SecretsPage::take(&mut copy).expect("valid");
    assert_eq!(secrets.msg_seqno_0(), 4);
    assert!(copy.iter().all(|&b| b == 0));
    // Also when the page is refused.
    let mut copy = secrets_page(1, &KEY, 4);
    assert!(SecretsPage::take(&mut copy).is_err());
    assert!(copy.iter().all(|&b| b == 0));
}
