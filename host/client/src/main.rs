#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    appliance_client::cli::run()
}
