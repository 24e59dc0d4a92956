//! fw_cfg `etc/e820` bytes -> map -> usable RAM -> heap/frame plan. Every
//! plan built from an accepted map must pass `Plan::check`, and every
//! output stays inside the fixed bounds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memory_map::{parse, MemoryMap, Plan, Range, MAX_ENTRIES, MAX_PIECES, MAX_RANGES};

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = parse(data) else { return };
    assert!(entries.as_slice().len() <= MAX_ENTRIES);
    let Ok(map) = MemoryMap::from_entries(entries.as_slice()) else {
        return;
    };
    assert!(map.ram().len() <= MAX_ENTRIES);
    assert!(map.ram().windows(2).all(|w| w[0].end <= w[1].start));
    let Ok(usable) = map.usable() else { return };
    assert!(usable.len() <= MAX_RANGES);
    assert!(usable.iter().map(Range::len).sum::<u64>() <= map.ram_total());
    if let Ok(plan) = Plan::new(usable.as_slice()) {
        assert!(plan.pieces().len() <= MAX_PIECES);
        if let Err(e) = plan.check(&map) {
            panic!("a plan from an accepted map fails its own check: {e}");
        }
    }
});
