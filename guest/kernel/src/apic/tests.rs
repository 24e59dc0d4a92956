//! The x2APIC driver against the mock platform: the order of the enabling
//! writes, calibration against a timer the host controls, and the clamps.

use super::*;
use crate::platform::mock::MockPlatform;

/// A mock APIC enabled in xAPIC mode at the usual base, with ID 3.
fn mock_apic() -> MockPlatform {
    let mock = MockPlatform::new();
    mock.state
        .borrow_mut()
        .msrs
        .insert(IA32_APIC_BASE, 0xFEE0_0000 | BASE_ENABLE | (1 << 8));
    mock.state.borrow_mut().msrs.insert(ID, 3);
    mock
}

fn enable(
    mock: &MockPlatform,
    left: u64,
    window_us: u64,
) -> Result<LocalApic<&MockPlatform>, ApicError> {
    // SAFETY: a mock APIC; no real register is touched.
    unsafe {
        LocalApic::enable(mock, true, || {
            // The timer ran while the kernel waited.
            mock.state.borrow_mut().msrs.insert(TIMER_CURRENT, left);
            window_us
        })
    }
}

#[test]
fn enables_x2apic_masks_legacy_lines_and_calibrates() {
    let mock = mock_apic();
    // 62.5 MHz after divide-by-16 (a 1 GHz bus): 625,000 ticks in 10 ms.
    let apic = enable(&mock, u64::from(u32::MAX) - 625_000, 10_000).expect("enabled");
    assert_eq!(apic.id(), 3);
    assert_eq!(apic.ticks_per_ms(), 62_500);
    let writes = mock.state.borrow().msr_writes.clone();
    let base = writes
        .iter()
        .find(|w| w.0 == IA32_APIC_BASE)
        .expect("APIC base written");
    assert_eq!(
        base.1 & (BASE_ENABLE | BASE_X2APIC),
        BASE_ENABLE | BASE_X2APIC
    );
    assert_eq!(base.1 & 0xFFFF_F000, 0xFEE0_0000, "base address kept");
    for lint in [LVT_LINT0, LVT_LINT1] {
        assert!(
            writes.contains(&(lint, LVT_MASKED)),
            "LINT {lint:#x} masked"
        );
    }
    assert!(writes.contains(&(SVR, SVR_ENABLE | 0xFF)));
    // Left unmasked in one-shot mode, and stopped.
    assert_eq!(
        mock.state.borrow().msrs[&LVT_TIMER],
        u64::from(TIMER_VECTOR)
    );
    assert_eq!(mock.state.borrow().msrs[&TIMER_INITIAL], 0);
}

#[test]
fn a_disabled_apic_is_enabled_before_x2apic_mode() {
    let mock = MockPlatform::new();
    let _ = enable(&mock, u64::from(u32::MAX) - 1_000_000, 10_000).expect("enabled");
    let bases: Vec<u64> = mock
        .state
        .borrow()
        .msr_writes
        .iter()
        .filter(|w| w.0 == IA32_APIC_BASE)
        .map(|w| w.1)
        .collect();
    // Disabled -> x2APIC in one write faults on real CPUs.
    assert_eq!(bases, [BASE_ENABLE, BASE_ENABLE | BASE_X2APIC]);
}

#[test]
fn no_x2apic_is_refused_without_touching_a_register() {
    let mock = MockPlatform::new();
    // SAFETY: a mock APIC.
    let r = unsafe { LocalApic::enable(&mock, false, || 10_000) };
    assert_eq!(r.err(), Some(ApicError::NoX2apic));
    assert!(mock.state.borrow().msr_writes.is_empty());
}

#[test]
fn a_timer_that_does_not_run_or_wraps_is_refused() {
    for left in [u64::from(u32::MAX), u64::from(u32::MAX) - 5, 0] {
        let mock = mock_apic();
        assert!(
            matches!(
                enable(&mock, left, 10_000),
                Err(ApicError::Calibration { .. })
            ),
            "left {left:#x}"
        );
    }
    // A zero-length window is not a division by zero.
    let mock = mock_apic();
    assert!(enable(&mock, 1, 0).is_ok());
}

#[test]
fn arm_converts_and_clamps_the_count() {
    let mock = mock_apic();
    let apic = enable(&mock, u64::from(u32::MAX) - 625_000, 10_000).expect("enabled");
    let initial = || mock.state.borrow().msrs[&TIMER_INITIAL];
    apic.arm(1_000);
    assert_eq!(initial(), 62_500);
    apic.arm(0);
    assert_eq!(
        initial(),
        1,
        "at least one tick: a count of 0 stops the timer"
    );
    apic.arm(u64::MAX);
    assert_eq!(initial(), u64::from(u32::MAX));
    apic.disarm();
    assert_eq!(initial(), 0);
    apic.end_of_interrupt();
    assert_eq!(mock.state.borrow().msr_writes.last(), Some(&(EOI, 0)));
}
