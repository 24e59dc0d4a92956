//! `SharedBuffer` and `SharedBox` on the host: against the mock hypervisor
//! through the kernel's SNP glue (what the guest does under SEV-SNP), and
//! against a scripted backend for the failures the mock cannot be asked to
//! make at an exact page. Host memory stands in for identity-mapped RAM: a
//! page's address is its GPA.
#![allow(clippy::unwrap_used)]

use super::{SharedBox, SharedBuffer, SharedError};
use crate::platform::PageVisibility;
use crate::snp::tests::{launched, ready, Glue};
use core::cell::RefCell;
use snp_guest::mock::{MockConfig, RmpEntry};
use snp_guest::SnpError;

const PAGE: u64 = 4096;

#[repr(C, align(4096))]
struct Page([u8; 4096]);

/// `n` page-aligned host pages filled with `fill`, and the first one's address.
fn ram(n: usize, fill: u8) -> (Vec<Page>, u64) {
    let mut v: Vec<Page> = (0..n).map(|_| Page([fill; 4096])).collect();
    let gpa = v.as_mut_ptr() as u64;
    (v, gpa)
}

/// The guest's page-state calls, on the mock hypervisor.
struct MockPages<'a>(RefCell<Glue<'a>>);

impl PageVisibility for &MockPages<'_> {
    unsafe fn make_shared(&self, page: u64) -> Result<(), SnpError> {
        self.0.borrow_mut().share_page(page)
    }
    unsafe fn make_private(&self, page: u64) -> Result<(), SnpError> {
        self.0.borrow_mut().unshare_page(page)
    }
}

fn is_private(g: &Glue<'_>, page: u64) -> bool {
    let e = g.hw().rmp(page);
    e.assigned
        && e.validated
        && g.hw().is_mapped_encrypted(page)
        && g.accepted().contains(page, page + PAGE)
}

fn is_shared(g: &Glue<'_>, page: u64) -> bool {
    g.hw().rmp(page) == RmpEntry::default()
        && !g.hw().is_mapped_encrypted(page)
        && !g.accepted().contains(page, page + PAGE)
}

#[test]
fn shares_every_page_zeroed_and_drop_makes_them_private_again() {
    let (_mem, gpa) = ram(3, 0xAA);
    let mut m = launched(MockConfig::default());
    let pages = MockPages(RefCell::new(ready(&mut m)));
    pages.0.borrow_mut().accept(gpa, gpa + 3 * PAGE).unwrap();

    // SAFETY: `_mem` is ours, page-aligned, outlives the buffer, and is not read through a reference while shared.
    let buf = unsafe { SharedBuffer::share(&pages, gpa, 3) }.unwrap();
    assert_eq!((buf.gpa(), buf.size()), (gpa, 3 * 4096));
    for i in 0..3 {
        assert!(is_shared(&pages.0.borrow(), gpa + i * PAGE));
    }
    let mut out = [0xFFu8; 64];
    buf.read(4096 * 3 - 64, &mut out).unwrap();
    assert_eq!(out, [0u8; 64], "shared pages start zeroed");
    buf.write(4095, b"across a page").unwrap();
    let mut back = [0u8; 13];
    buf.read(4095, &mut back).unwrap();
    assert_eq!(&back, b"across a page");
    assert_eq!(
        buf.write(3 * 4096 - 1, b"xy"),
        Err(SharedError::OutOfBounds {
            offset: 3 * 4096 - 1,
            len: 2,
            size: 3 * 4096
        })
    );

    drop(buf);
    for i in 0..3 {
        assert!(is_private(&pages.0.borrow(), gpa + i * PAGE), "page {i}");
    }
}

#[test]
fn a_page_that_cannot_be_shared_rolls_back_the_pages_before_it() {
    let (_mem, gpa) = ram(4, 0);
    let mut m = launched(MockConfig::default());
    let pages = MockPages(RefCell::new(ready(&mut m)));
    // Pages 0 and 1 accepted, page 2 never: the glue refuses to share it.
    pages.0.borrow_mut().accept(gpa, gpa + 2 * PAGE).unwrap();
    pages.0.borrow_mut().hw_mut().take_events();

    // SAFETY: as above.
    let r = unsafe { SharedBuffer::share(&pages, gpa, 4) };
    assert!(matches!(r, Err(SharedError::PageStateChange)));
    let g = pages.0.borrow();
    assert!(is_private(&g, gpa));
    assert!(is_private(&g, gpa + PAGE));
    // Nothing was asked about pages 2 and 3.
    assert_eq!(g.hw().rmp(gpa + 3 * PAGE), RmpEntry::default());
    assert!(!g.accepted().contains(gpa + 2 * PAGE, gpa + 3 * PAGE));
}

/// A backend that records calls and fails where told.
#[derive(Default)]
struct Script {
    fail_shared: Option<u64>,
    fail_private: Option<u64>,
    log: RefCell<Vec<(u64, &'static str)>>,
}

impl PageVisibility for &Script {
    unsafe fn make_shared(&self, page: u64) -> Result<(), SnpError> {
        self.log.borrow_mut().push((page, "shared"));
        match self.fail_shared {
            Some(p) if p == page => Err(SnpError::NotAccepted { gpa: page }),
            _ => Ok(()),
        }
    }
    unsafe fn make_private(&self, page: u64) -> Result<(), SnpError> {
        self.log.borrow_mut().push((page, "private"));
        match self.fail_private {
            Some(p) if p == page => Err(SnpError::AlreadyAccepted { gpa: page }),
            _ => Ok(()),
        }
    }
}

#[test]
fn rollback_goes_backwards_and_carries_on_past_a_page_it_must_leak() {
    let (_mem, gpa) = ram(4, 0);
    let script = Script {
        fail_shared: Some(gpa + 3 * PAGE),
        fail_private: Some(gpa + PAGE),
        ..Script::default()
    };
    // SAFETY: as above.
    let r = unsafe { SharedBuffer::share(&script, gpa, 4) };
    assert!(matches!(r, Err(SharedError::PageStateChange)));
    assert_eq!(
        *script.log.borrow(),
        [
            (gpa, "shared"),
            (gpa + PAGE, "shared"),
            (gpa + 2 * PAGE, "shared"),
            (gpa + 3 * PAGE, "shared"),
            (gpa + 2 * PAGE, "private"),
            // Fails: left shared and leaked; the rollback goes on.
            (gpa + PAGE, "private"),
            (gpa, "private"),
        ]
    );
}

#[test]
fn drop_tries_every_page_even_after_a_failure() {
    let (_mem, gpa) = ram(3, 0);
    let script = Script {
        fail_private: Some(gpa),
        ..Script::default()
    };
    // SAFETY: as above.
    let buf = unsafe { SharedBuffer::share(&script, gpa, 3) }.unwrap();
    script.log.borrow_mut().clear();
    drop(buf);
    assert_eq!(
        *script.log.borrow(),
        [
            (gpa, "private"),
            (gpa + PAGE, "private"),
            (gpa + 2 * PAGE, "private")
        ]
    );
}

#[test]
fn shared_box_reads_and_writes_the_whole_value_and_drop_unshares() {
    let (_mem, gpa) = ram(2, 0xEE);
    let mut m = launched(MockConfig::default());
    let pages = MockPages(RefCell::new(ready(&mut m)));
    pages.0.borrow_mut().accept(gpa, gpa + 2 * PAGE).unwrap();

    // 4104 bytes: the value spans both pages.
    type Value = [u64; 513];
    // SAFETY: as above.
    let buf = unsafe { SharedBuffer::share(&pages, gpa, 2) }.unwrap();
    let boxed = SharedBox::<Value, _>::in_buffer(buf).unwrap();
    assert_eq!(boxed.gpa(), gpa);
    assert_eq!(boxed.read().unwrap(), [0u64; 513]);
    let mut v = [0u64; 513];
    v[0] = 0x0123_4567_89AB_CDEF;
    v[512] = 42;
    boxed.write(&v).unwrap();
    assert_eq!(boxed.read().unwrap(), v);
    assert!(is_shared(&pages.0.borrow(), gpa + PAGE));
    drop(boxed);
    assert!(is_private(&pages.0.borrow(), gpa));
    assert!(is_private(&pages.0.borrow(), gpa + PAGE));
}

#[test]
fn shared_box_refuses_a_buffer_smaller_than_the_value() {
    let (_mem, gpa) = ram(1, 0);
    let script = Script::default();
    // SAFETY: as above.
    let buf = unsafe { SharedBuffer::share(&script, gpa, 1) }.unwrap();
    let r = SharedBox::<[u8; 4097], _>::in_buffer(buf);
    assert!(matches!(
        r,
        Err(SharedError::OutOfBounds {
            offset: 0,
            len: 4097,
            size: 4096
        })
    ));
}
