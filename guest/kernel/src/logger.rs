//! `log` facade on the serial console.

use log::{LevelFilter, Metadata, Record};

struct SerialLogger;

static LOGGER: SerialLogger = SerialLogger;

impl log::Log for SerialLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            // `[WARN ]`, `[INFO ]`, `[ERROR]`: the level padded to five.
            crate::println!("[{:<5}] {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}

pub fn init(level: LevelFilter) {
    // A second call keeps the first logger, which is the same one.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
