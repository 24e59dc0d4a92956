//! `log` facade on the serial console.

use log::{Level, LevelFilter, Metadata, Record};

struct SerialLogger;

static LOGGER: SerialLogger = SerialLogger;

impl log::Log for SerialLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            let tag = match record.level() {
                Level::Error => "ERROR",
                Level::Warn => "WARN ",
                Level::Info => "INFO ",
                Level::Debug => "DEBUG",
                Level::Trace => "TRACE",
            };
            crate::println!("[{tag}] {}", record.args());
        }
    }

    fn flush(&self) {}
}

pub fn init(level: LevelFilter) {
    // A second call keeps the first logger, which is the same one.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
