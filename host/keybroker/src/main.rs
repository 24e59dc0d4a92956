use std::process::ExitCode;

fn main() -> ExitCode {
    keybroker::cli::run()
}
