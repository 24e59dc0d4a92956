//! COM1 16550 UART console (QEMU `-serial stdio`).
//!
//! Output is gathered into FIFO-sized pieces: one wait for an empty
//! transmit FIFO, then up to 16 bytes as one string write. Under SNP every
//! status read and port write is a host exit, so a line costs one status
//! read per 16 bytes instead of one per byte.
//!
//! The UART is reached through a `PlatformIo` (`HwIo` in the guest, a mock
//! in the unit tests below).

use crate::platform::{HwIo, PlatformIo};
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Mutex;

const COM1: u16 = 0x3F8;
/// Transmit FIFO depth of the 16550A (enabled by `init`).
const FIFO_LEN: usize = 16;
/// Line status register, and its bit "transmit holding register empty"
/// (with the FIFO on: the whole transmit FIFO is empty).
const LSR: u16 = COM1 + 5;
const LSR_THRE: u8 = 0x20;

pub(crate) struct Serial<I: PlatformIo = HwIo> {
    io: I,
    ready: bool,
    pending: [u8; FIFO_LEN],
    len: usize,
}

static CONSOLE: Mutex<Serial> = Mutex::new(Serial::new(HwIo));

/// Set by the panic and exception handlers before they print: only then may
/// `print` take the console from a holder that will never run again.
static ENDING: AtomicBool = AtomicBool::new(false);

/// The VM is ending (panic or fault): the console may be taken from its
/// holder.
pub(crate) fn ending() {
    ENDING.store(true, Ordering::SeqCst);
}

impl<I: PlatformIo> Serial<I> {
    const fn new(io: I) -> Self {
        Serial {
            io,
            ready: false,
            pending: [0; FIFO_LEN],
            len: 0,
        }
    }

    fn init(&mut self) {
        let io = &self.io;
        io.outb(COM1 + 1, 0x00); // no interrupts
        io.outb(COM1 + 3, 0x80); // DLAB on
        io.outb(COM1, 0x01); // 115200 baud
        io.outb(COM1 + 1, 0x00);
        io.outb(COM1 + 3, 0x03); // 8N1, DLAB off
        io.outb(COM1 + 2, 0xC7); // FIFO on, cleared
        io.outb(COM1 + 4, 0x03); // DTR, RTS
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
            if self.io.inb(LSR) & LSR_THRE != 0 {
                break;
            }
        }
        self.io.port_write_bytes(COM1, &self.pending[..self.len]);
        self.len = 0;
    }
}

impl<I: PlatformIo> core::fmt::Write for Serial<I> {
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
        // Printing while printing (a `Display` impl that prints): the inner
        // text is dropped; taking the console would alias the outer writer.
        None if !ENDING.load(Ordering::SeqCst) => return,
        // An AP ending the VM waits for whoever holds the console (the
        // boot vCPU, or another AP), which goes on running and lets go.
        None if !crate::interrupts::on_boot_cpu() => CONSOLE.lock(),
        None => {
            // A fault or panic on the boot vCPU raised while it held the
            // console itself (no preemption); APs never keep it long.
            // SAFETY: the holder was this CPU's interrupted code, which never runs again: faults and panics end the VM (`ending` was called).
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

#[cfg(test)]
mod tests {
    use super::Serial;
    use crate::platform::mock::MockPlatform;
    use core::fmt::Write;

    #[test]
    fn text_goes_out_whole_with_crlf_line_ends() {
        // The mock's line status register (0x3FD) floats to 0xFF: always
        // ready. Nineteen bytes and a newline cross the 16-byte FIFO.
        let mock = MockPlatform::new();
        let mut serial = Serial::new(&mock);
        let text = "0123456789abcdefXYZ\n";
        serial.write_str(text).expect("infallible");
        serial.flush();
        let data: std::vec::Vec<u8> = mock
            .state
            .borrow()
            .ports_out
            .iter()
            .filter(|(port, _)| *port == 0x3F8)
            .map(|(_, v)| *v as u8)
            .collect();
        // Init writes 0x01 (divisor) to 0x3F8 first; then the text, \n as \r\n.
        assert_eq!(&data[1..], b"0123456789abcdefXYZ\r\n");
    }

    #[test]
    fn a_uart_that_never_drains_cannot_hang_the_guest() {
        // The host holds the line status register (0x3FD) at 0: the
        // transmit FIFO never empties. Each flush waits a bounded number of
        // reads, then writes anyway.
        let mock = MockPlatform::new();
        mock.state.borrow_mut().port_fixed.insert(0x3FD, 0);
        let mut serial = Serial::new(&mock);
        serial.write_str("hello\n").expect("infallible");
        serial.flush();
        let st = mock.state.borrow();
        assert_eq!(st.port_reads, 100_000);
        assert!(st
            .ports_out
            .iter()
            .any(|&(port, v)| port == 0x3F8 && v == u32::from(b'h')));
    }
}
