//! The `akapit` binary: parse arguments, run the command, map the result to an exit
//! code (0 found, 1 nothing found, 2 error). Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = akapit::cli::Cli::parse();
    match akapit::commands::run(cli) {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(error) => {
            eprintln!("akapit: error: {error}");
            ExitCode::from(akapit::error::ERROR_EXIT)
        }
    }
}
