//! COM1 16550 UART console (QEMU `-serial stdio`).
//!
//! Output is gathered into FIFO-sized pieces: one wait for an empty
//! transmit FIFO, then up to 16 bytes as one string write. Under SNP every
//! status read and port write is a host exit, so a line costs one status
//! read per 16 bytes instead of one per byte.

use crate::io::{inb, outb, outsb};
use spin::Mutex;

const COM1: u16 = 0x3F8;
/// Transmit FIFO depth of the 16550A (enabled by `init`).
const FIFO_LEN: usize = 16;
/// Line status register, and its bit "transmit holding register empty"
/// (with the FIFO on: the whole transmit FIFO is empty).
const LSR: u16 = COM1 + 5;
const LSR_THRE: u8 = 0x20;

pub struct Serial {
    ready: bool,
    pending: [u8; FIFO_LEN],
    len: usize,
}

pub static CONSOLE: Mutex<Serial> = Mutex::new(Serial {
    ready: false,
    pending: [0; FIFO_LEN],
    len: 0,
});

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

    fn push(&mut self, b: u8) {
        if let Some(slot) = self.pending.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
        if self.len == FIFO_LEN {
            self.flush();
        }
    }

    /// Send what is pending: wait (bounded) for an empty FIFO, then fill it.
    fn flush(&mut self) {
        if self.len == 0 {
            return;
        }
        if !self.ready {
            self.init();
        }
        // Bounded wait: a host that never drains the UART must not hang us.
        for _ in 0..100_000 {
            if inb(LSR) & LSR_THRE != 0 {
                break;
            }
        }
        outsb(COM1, &self.pending[..self.len]);
        self.len = 0;
    }
}

impl core::fmt::Write for Serial {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                self.push(b'\r');
            }
            self.push(b);
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
    // Nothing stays pending between calls: the text is out when print returns.
    console.flush();
}

#[macro_export]
macro_rules! println {
    () => { $crate::serial::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::serial::print(format_args!("{}\n", format_args!($($arg)*))) };
}
