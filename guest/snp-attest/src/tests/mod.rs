mod evidence;
mod faults;
mod flow;
mod kat;
mod mock_independence;
mod secrets_wipe;

use crate::message::{Header, Page, HEADER_LEN, PAGE_SIZE};
use crate::mock::MockSecureProcessor;
use crate::{GuestMessenger, SecretsPage};

const KEY: [u8; 32] = [0x42; 32];

fn secrets_page(version: u32, key: &[u8; 32], msg_seqno_0: u32) -> Box<Page> {
    let mut page = Box::new([0u8; PAGE_SIZE]);
    page[0..4].copy_from_slice(&version.to_le_bytes());
    page[0x20..0x40].copy_from_slice(key);
    page[0x40..0x60].copy_from_slice(&[0x11; 32]); // VMPCK1: must not be used
    page[0xA0..0xA4].copy_from_slice(&msg_seqno_0.to_le_bytes());
    page[0xA4..0xA8].copy_from_slice(&0x7777_7777u32.to_le_bytes()); // msg_seqno_1
    page
}

/// A messenger and a mock secure processor sharing VMPCK0, fresh VM.
fn pair() -> (GuestMessenger, MockSecureProcessor) {
    let secrets = SecretsPage::parse(&secrets_page(2, &KEY, 0)).expect("valid secrets page");
    (
        GuestMessenger::new(&secrets),
        MockSecureProcessor::new(KEY, 0),
    )
}

fn header_of(page: &[u8]) -> Header {
    let mut head = [0u8; HEADER_LEN];
    head.copy_from_slice(&page[..HEADER_LEN]);
    Header::read(&head)
}

fn report_data(tag: u8) -> [u8; 64] {
    core::array::from_fn(|i| tag ^ i as u8)
}
