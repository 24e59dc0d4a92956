//! Panic handler: prints where, never what (a formatted message could carry
//! secret data), then ends the VM with a failure exit. Guest builds only.
#![cfg(not(test))]
use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    crate::serial::ending();
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
