//! Boot self-tests the test suite asks for through fw_cfg file
//! `opt/appliance/selftest` (comma-separated words). Untrusted input, but
//! it can only make the appliance exercise itself or power off.

use alloc::alloc::{alloc, dealloc, Layout};
use kernel::{println, BootInfo};

#[derive(Default)]
pub struct Requested {
    pub heap: bool,
    pub model: bool,
    pub fw_cfg_stream: bool,
    /// Network test service (never returns; `QUIT` powers off).
    pub net: bool,
    pub net_static: bool,
    /// HTTP test server (`http_server`; never returns; `POST /quit` powers
    /// off). Runs instead of the raw TCP service when both are asked for.
    pub http: bool,
    /// With `http`: short idle and read timeouts, for the stall tests.
    pub http_fast_timeouts: bool,
    pub exit: bool,
}

pub fn requested(info: &BootInfo) -> Requested {
    let mut req = Requested::default();
    let Some(fw) = info.fw_cfg.as_ref() else {
        return req;
    };
    let Ok(file) = fw.find("opt/appliance/selftest") else {
        return req;
    };
    let mut buf = [0u8; 64];
    let Ok(len) = fw.read_file(file, &mut buf) else {
        println!("selftest: request too long, ignored");
        return req;
    };
    for word in buf[..len].split(|&b| b == b',' || b == b'\n' || b == b' ') {
        match word {
            b"heap" => req.heap = true,
            b"exit" => req.exit = true,
            b"model" => req.model = true,
            b"fwcfg-stream" => req.fw_cfg_stream = true,
            b"net" => req.net = true,
            b"net-static" => req.net_static = true,
            b"http" => req.http = true,
            b"http-fast-timeouts" => req.http_fast_timeouts = true,
            b"" => {}
            _ => println!("selftest: unknown request ignored"),
        }
    }
    req
}

/// Allocate the heap in 1 MiB blocks until it is exhausted, write and check
/// every page, free it all, and report how much was reached.
pub fn heap(info: &BootInfo) {
    const BLOCK: usize = 1 << 20;
    const MAX_BLOCKS: usize = 1 << 16; // 64 GiB
    let layout = match Layout::from_size_align(BLOCK, 4096) {
        Ok(l) => l,
        Err(_) => return,
    };
    // The block list itself lives in the first block.
    // SAFETY: layout is non-zero-sized.
    let list = unsafe { alloc(layout) } as *mut usize;
    if list.is_null() {
        println!("heap test: FAILED to allocate the first block");
        kernel::exit(kernel::ExitCode::Failure);
    }
    let capacity = (BLOCK / core::mem::size_of::<usize>()).min(MAX_BLOCKS);
    let mut count = 0usize;
    let mut bad = 0usize;
    while count < capacity {
        // SAFETY: layout is non-zero-sized.
        let p = unsafe { alloc(layout) };
        if p.is_null() {
            break;
        }
        for page in (0..BLOCK).step_by(4096) {
            let tag = (p as usize + page) as u64 ^ 0xA5A5_5A5A_DEAD_BEEF;
            // SAFETY: within the block just allocated.
            unsafe { core::ptr::write_volatile(p.add(page) as *mut u64, tag) };
        }
        for page in (0..BLOCK).step_by(4096) {
            let tag = (p as usize + page) as u64 ^ 0xA5A5_5A5A_DEAD_BEEF;
            // SAFETY: as above.
            if unsafe { core::ptr::read_volatile(p.add(page) as *const u64) } != tag {
                bad += 1;
            }
        }
        // SAFETY: `count < capacity` entries fit in the list block.
        unsafe { *list.add(count) = p as usize };
        count += 1;
    }
    for i in 0..count {
        // SAFETY: every entry was allocated above with `layout`.
        unsafe { dealloc(*list.add(i) as *mut u8, layout) };
    }
    // SAFETY: allocated above with `layout`.
    unsafe { dealloc(list as *mut u8, layout) };
    let touched = (count + 1) as u64 * BLOCK as u64;
    let heap = info.memory.heap_size;
    println!(
        "heap test: touched {} MiB of a {} MiB heap ({} MiB RAM), {} bad pages",
        touched >> 20,
        heap >> 20,
        info.memory.ram_total >> 20,
        bad
    );
    // Allocation overhead may leave at most a block or two unused.
    if bad != 0 || touched + 2 * BLOCK as u64 + (heap / 64) < heap {
        println!("heap test: FAILED");
        kernel::exit(kernel::ExitCode::Failure);
    }
    println!("heap test: ok");
}

/// Test-only build feature: a page fault on an unmapped address.
pub fn deliberate_fault() {
    println!("fault test: touching an unmapped address");
    // SAFETY: none; this is the deliberate fault the test build exists for. The exception handler reports it and ends the VM.
    unsafe { core::ptr::write_volatile(0x7F_0000_0000_usize as *mut u64, 1) };
}

/// Stream fw_cfg file `opt/appliance/stream-test` (any size) through the
/// bounded DMA path and print its length and SHA-256, so the test suite can
/// check large transfers without the guest holding the file in memory.
pub fn fw_cfg_stream(info: &BootInfo) {
    use sha2::{Digest, Sha256};
    let Some(fw) = info.fw_cfg.as_ref() else {
        return;
    };
    let file = match fw.find("opt/appliance/stream-test") {
        Ok(f) => f,
        Err(e) => {
            println!("fw_cfg stream: FAILED: {e}");
            kernel::exit(kernel::ExitCode::Failure);
        }
    };
    let heap_before = kernel::stats::heap_free();
    let t0 = kernel::time::tsc();
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    let mut lowest_free = heap_before;
    let result = fw.stream_file(file, |piece| {
        hasher.update(piece);
        total += piece.len() as u64;
        lowest_free = lowest_free.min(kernel::stats::heap_free());
    });
    if let Err(e) = result {
        println!("fw_cfg stream: FAILED: {e}");
        kernel::exit(kernel::ExitCode::Failure);
    }
    let digest = hasher.finalize();
    let mut hex = alloc::string::String::new();
    for b in digest {
        use core::fmt::Write;
        let _ = write!(hex, "{b:02x}");
    }
    println!(
        "fw_cfg stream: {total} bytes sha256 {hex} in {} us, heap in use while streaming {} KiB",
        kernel::time::us_since(t0),
        (heap_before - lowest_free) >> 10
    );
}
