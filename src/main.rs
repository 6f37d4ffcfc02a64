use std::process::ExitCode;

use clap::Parser;

#[actix_web::main]
async fn main() -> ExitCode {
    latchkey::cli::run(latchkey::cli::Cli::parse()).await
}
