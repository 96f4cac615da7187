//! Stand-in for `keqing analyze <sub>` until the binary mounts it:
//! `cargo run -p keqing-analysis --features cli --example keqing_analyze -- rfm --input t.csv`.

use clap::Parser;
use keqing_analysis::cli::{run, AnalyzeCommand};

#[derive(Parser)]
#[command(
    name = "keqing-analyze",
    about = "客情 customer-value analysis on transaction files"
)]
struct Cli {
    #[command(subcommand)]
    cmd: AnalyzeCommand,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    match run(cli.cmd, &mut out) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
