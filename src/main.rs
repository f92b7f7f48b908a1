use std::process::ExitCode;

use clap::Parser;

// Cassettes are trees of many small allocations; mimalloc builds and frees them about twice as
// fast as the system allocator (`cargo bench --bench validate`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = tailtape::Cli::parse();
    match tailtape::run(cli) {
        Ok(code) => code,
        Err(err) => {
            tailtape::log::error(format!("{err:#}"));
            ExitCode::from(2)
        }
    }
}
