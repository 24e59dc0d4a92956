//! COM1 16550 UART console (QEMU `-serial stdio`).

use crate::io::{inb, outb};
use spin::Mutex;

const COM1: u16 = 0x3F8;

pub struct Serial {
    ready: bool,
}

pub static CONSOLE: Mutex<Serial> = Mutex::new(Serial { ready: false });

impl Serial {
    fn init(&mut self) {
        outb(COM1 + 1, 0x00); // no interrupts
        outb(COM1 + 3, 0x80); // DLAB on
        outb(COM1, 0x01); // 115200 baud
        outb(COM1 + 1, 0x00);
        outb(COM1 + 3, 0x03); // 8N1, DLAB off
        outb(COM1 + 2, 0xC7); // FIFO on, cleared
        outb(COM1 + 4, 0x03); // DTR, RTS
        self.ready = true;
    }

    fn write_byte(&mut self, b: u8) {
        // Bounded wait: a host that never drains the UART must not hang us.
        for _ in 0..100_000 {
            if inb(COM1 + 5) & 0x20 != 0 {
                break;
            }
        }
        outb(COM1, b);
    }
}

impl core::fmt::Write for Serial {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        if !self.ready {
            self.init();
        }
        for b in s.bytes() {
            if b == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(b);
        }
        Ok(())
    }
}

/// Print to the console without taking the lock's fast path for granted:
/// a panic while printing must still reach the console.
pub fn print(args: core::fmt::Arguments<'_>) {
    use core::fmt::Write;
    let mut console = match CONSOLE.try_lock() {
        Some(c) => c,
        None => {
            // Only reached from a fault or panic raised while the console was
            // held (single CPU, no preemption).
            // SAFETY: that holder never runs again: faults and panics end the VM.
            unsafe { CONSOLE.force_unlock() };
            CONSOLE.lock()
        }
    };
    let _ = console.write_fmt(args);
}

#[macro_export]
macro_rules! println {
    () => { $crate::serial::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::serial::print(format_args!("{}\n", format_args!($($arg)*))) };
}
