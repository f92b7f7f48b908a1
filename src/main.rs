use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tailtape::Cli::parse();
    match tailtape::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("tailtape: {err:#}");
            ExitCode::from(2)
        }
    }
}
