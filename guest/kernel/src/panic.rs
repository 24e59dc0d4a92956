//! Panic handler: prints where, never what (a formatted message could carry
//! secret data), then ends the VM with a failure exit. Guest builds only.
//!
//! Running out of memory also ends here: on the stable toolchain an
//! infallible allocation that fails calls `handle_alloc_error`, whose default
//! handler (in `alloc/src/alloc.rs`) panics with a formatted message. That
//! case gets one fixed line with the refused request's size, as recorded by
//! the heap, instead of a panic location.
#![cfg(not(any(test, feature = "fuzz")))]
use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    if crate::platform::kind() == crate::platform::Kind::Snp && !crate::interrupts::on_boot_cpu() {
        // An SNP AP cannot reach the console (no GHCB of its own).
        crate::snp::terminate(crate::exit::reason::AP_EXIT);
    }
    crate::serial::ending();
    let oom = info
        .location()
        .is_some_and(|l| l.file().ends_with("alloc/src/alloc.rs"));
    let size = crate::memory::heap::failed_size();
    if oom && size != 0 {
        crate::println!("FATAL: out of memory ({size} bytes requested)");
        crate::exit::exit(crate::exit::ExitCode::Failure)
    }
    match info.location() {
        Some(loc) => crate::println!("PANIC at {}:{}:{}", loc.file(), loc.line(), loc.column()),
        None => crate::println!("PANIC at an unknown location"),
    }
    // Only a literal message (no formatted arguments) is safe to show.
    if let Some(msg) = info.message().as_str() {
        crate::println!("PANIC message: {msg}");
    }
    crate::exit::exit(crate::exit::ExitCode::Failure)
}
