//! Boot self-tests the test suite asks for through fw_cfg file
//! `opt/appliance/selftest` (comma-separated words). Compiled only into the
//! test image (feature `test-image`); the production image never reads the
//! file. Untrusted input, but it can only make the appliance exercise
//! itself, fault on purpose or power off.

use crate::{http_server, model_selftest, net_selftest, test_routes};
use alloc::boxed::Box;
use alloc::vec::Vec;
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
    /// A page fault on an unmapped address after boot (the exception
    /// report is what the test checks).
    pub fault: bool,
    /// Infallible 1 MiB allocations until the heap runs out (the fixed
    /// out-of-memory line and the failure exit are what the test checks).
    pub oom: bool,
}

/// Runs what the host asked for, in a fixed order. Returns when nothing
/// asked for ends the VM (`exit` powers off; `http` and `net` never return).
pub fn run_requested(info: &BootInfo, listen_port: Option<u16>) {
    let tests = requested(info);
    if tests.fault {
        kernel::fault_test::late_fault();
    }
    if tests.heap {
        heap(info);
    }
    if tests.oom {
        oom();
    }
    if tests.fw_cfg_stream {
        fw_cfg_stream(info);
    }
    if tests.model {
        model_selftest::run(info);
    }
    if tests.http {
        http_server::run_test(
            http_server::Options {
                port: listen_port.unwrap_or(http_server::DEFAULT_PORT),
                config: http1::ServerConfig {
                    max_body_bytes: test_routes::BODY_LIMIT,
                    ..Default::default()
                },
                max_queued: test_routes::MAX_QUEUED,
            },
            tests.http_fast_timeouts,
            &mut test_routes::TestRoutes,
        );
    }
    if tests.net || tests.net_static {
        net_selftest::run(tests.net_static);
    }
    if tests.exit {
        println!("appliance: self-test exit");
        kernel::exit(kernel::ExitCode::Success);
    }
}

pub fn requested(info: &BootInfo) -> Requested {
    let mut req = Requested::default();
    let Some(fw) = info.fw_cfg.as_ref() else {
        return req;
    };
    let Ok(file) = fw.find("opt/appliance/selftest") else {
        return req;
    };
    let Ok(buf) = fw.read_file_vec(file, 64) else {
        println!("selftest: request too long, ignored");
        return req;
    };
    for word in buf.split(|&b| b == b',' || b == b'\n' || b == b' ') {
        match word {
            b"heap" => req.heap = true,
            b"exit" => req.exit = true,
            b"fault" => req.fault = true,
            b"oom" => req.oom = true,
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
    const WORDS: usize = BLOCK / 8;
    const PAGE_WORDS: usize = 4096 / 8;
    let heap = info.memory.heap_size;
    let mut blocks: Vec<Box<[u64]>> = Vec::new();
    if blocks
        .try_reserve_exact((heap / BLOCK as u64) as usize + 1)
        .is_err()
    {
        println!("heap test: FAILED to allocate the block list");
        kernel::exit(kernel::ExitCode::Failure);
    }
    let mut bad = 0usize;
    while blocks.len() < blocks.capacity() {
        let mut block: Vec<u64> = Vec::new();
        if block.try_reserve_exact(WORDS).is_err() {
            break;
        }
        block.resize(WORDS, 0);
        let tag =
            |page: usize| (page as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xA5A5_5A5A_DEAD_BEEF;
        let base = blocks.len() * (WORDS / PAGE_WORDS);
        for (i, word) in block.iter_mut().step_by(PAGE_WORDS).enumerate() {
            *word = tag(base + i);
        }
        // Keeps the compiler from proving the reads below equal the writes.
        let block = core::hint::black_box(block);
        for (i, word) in block.iter().step_by(PAGE_WORDS).enumerate() {
            if *word != tag(base + i) {
                bad += 1;
            }
        }
        blocks.push(block.into_boxed_slice());
    }
    // The block list counts: it was allocated from the same heap.
    let touched = blocks.len() as u64 * BLOCK as u64 + (blocks.capacity() * 16) as u64;
    drop(blocks);
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

/// Allocate 1 MiB blocks with the infallible API and keep them all until
/// the heap refuses one: the kernel must then print its fixed
/// out-of-memory line and end the VM with a failure, not hang.
pub fn oom() -> ! {
    println!("oom test: allocating until the heap runs out");
    loop {
        let block: &mut [u8] = alloc::vec![0x5Au8; 1 << 20].leak();
        core::hint::black_box(block);
    }
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
