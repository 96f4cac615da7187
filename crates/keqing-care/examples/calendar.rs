//! `cargo run -p keqing-care --features cli --example calendar -- --from 2026-01-01 --to 2026-12-31`
use clap::Parser;
use keqing_care::cli::{run_calendar, CalendarArgs};

#[derive(Parser)]
#[command(name = "calendar", about = "Greeting occasions between two dates")]
struct Cli {
    #[command(flatten)]
    args: CalendarArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    match run_calendar(cli.args, &mut stdout.lock()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
