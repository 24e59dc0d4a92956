//! The virtio-pci transport against a mock device that breaks the rules of
//! virtio 1.2 §4.1 (layouts and bits written here as literals).

use super::need_event;

#[test]
fn notify_only_when_the_event_index_was_published_since_the_last_decision() {
    // (event, new, old) -> must notify; virtio 1.2 2.7.10 / vring_need_event.
    assert!(need_event(0, 1, 0)); // first entry, event 0
    assert!(need_event(7, 10, 6)); // event among entries 6..10
    assert!(need_event(6, 10, 6));
    assert!(!need_event(5, 10, 6)); // already told about entry 5
    assert!(!need_event(10, 10, 6)); // device waits for entry 10: not yet
    assert!(!need_event(6, 6, 6)); // nothing new
                                   // Across the 16-bit wrap.
    assert!(need_event(0xFFFF, 2, 0xFFFE));
    assert!(need_event(1, 2, 0xFFFE));
    assert!(!need_event(0xFFFE, 3, 0xFFFF));
}
