//! `uapi`: the command line for uapi-hris. Exit codes: 0 ok, 1 unexpected, 2 usage, 3 not
//! authenticated or not allowed, 4 not found, 5 conflict, 6 invalid input, 7 service unavailable.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod client;
mod commands;
mod error;
mod output;
mod profile;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match commands::run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
