//! `keqing`: the one binary. It wires the libraries together and reports
//! errors with context; the work itself lives in the crates.

mod admin;
mod care_cmd;
mod demo;
mod files;
mod progress;
mod sqlite_alloc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "keqing",
    version,
    about = "客情 keqing — customer archive, value analysis and relationship care"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const DEFAULT_DB: &str = "sqlite://keqing.db";

#[derive(Subcommand)]
enum Command {
    /// Start the web workbench and the JSON API.
    Serve {
        /// sqlite://PATH (the default, embedded) or postgres://…
        #[arg(long, default_value = DEFAULT_DB, env = "KEQING_DB")]
        db: String,
        #[arg(long, default_value = "127.0.0.1:8080", env = "KEQING_ADDR")]
        addr: String,
        /// Fill an empty database with a realistic demo company.
        #[arg(long)]
        demo: bool,
        /// The largest file an import over the API takes, in MiB (413 past it).
        #[arg(long, default_value_t = 128, env = "KEQING_MAX_UPLOAD_MB")]
        max_upload_mb: u64,
        /// How many MiB of files the imports running at once may hold
        /// together; an upload that does not fit is answered 429.
        #[arg(long, default_value_t = 192, env = "KEQING_IMPORT_BUDGET_MB")]
        import_budget_mb: u64,
        /// A reverse proxy (IP address, or network such as 10.0.0.0/8) whose
        /// X-Forwarded-For and X-Forwarded-Proto are believed; repeat the flag
        /// or separate with commas. Without one, those headers are ignored.
        #[arg(
            long = "trusted-proxy",
            value_name = "ADDR",
            env = "KEQING_TRUSTED_PROXIES",
            value_delimiter = ','
        )]
        trusted_proxies: Vec<keqing_server::auth::TrustedProxy>,
        /// When the session cookies are marked Secure: auto (when a trusted
        /// proxy says X-Forwarded-Proto: https), always or never.
        #[arg(
            long,
            value_name = "auto|always|never",
            default_value = "auto",
            env = "KEQING_SECURE_COOKIES"
        )]
        secure_cookies: keqing_server::auth::SecureCookies,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: admin::UserCommand,
    },
    /// Write every table to a backup file (JSON lines), consistently, while the server runs.
    Backup {
        #[arg(long, default_value = DEFAULT_DB, env = "KEQING_DB")]
        db: String,
        /// The backup file to write.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Import customers, contacts or orders from CSV or XLSX; bad rows are
    /// reported with line and column, good rows are kept, re-runs add nothing.
    Import(files::ImportArgs),
    /// Export customers (with every contact) or contacts to CSV or XLSX.
    Export(files::ExportArgs),
    /// Value analysis on a transactions file: rfm, abc, clv, cluster, repeat, funnel.
    Analyze {
        #[command(subcommand)]
        command: keqing_analysis::cli::AnalyzeCommand,
    },
    /// Occasions (festivals, solar terms) between two dates.
    Calendar(keqing_care::cli::CalendarArgs),
    /// Relationship care: generate the care tasks of a date range.
    Care {
        #[command(subcommand)]
        command: care_cmd::CareCommand,
    },
    /// Restore a backup into an empty database and verify it row for row.
    Restore {
        /// The backup file to read.
        file: std::path::PathBuf,
        #[arg(long, default_value = DEFAULT_DB, env = "KEQING_DB")]
        db: String,
    },
}

/// An import or a festival's care run allocates and frees millions of small
/// strings and documents; mimalloc spends a fraction of glibc's time on them.
/// Built without transparent huge pages: with them the server under load
/// held 309 MB instead of 257 (glibc: 256).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its `include/mimalloc.h`, version 3;
/// the Rust bindings name no constant for it). `purge_delay_is_option_15`
/// checks the number against the option's documented default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// For `keqing care`: memory a phase frees goes back to the system after
/// 10 ms, not mimalloc 3's default of a second. A festival's care run frees
/// the pages of one phase before the next allocates other sizes, and with
/// the default both stayed resident (re-run of a festival with another
/// stored six days before: 512–533 MB, over the 500 MB goal; 415–430 MB
/// with 10 ms). The server keeps the default: purging after every burst of
/// requests cost it 10–15% of its throughput under the mixed load.
fn alloc_tuning() {
    // SAFETY: called once in main before the runtime starts, while no other
    // thread exists (the function is documented as not thread safe).
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10) }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    sqlite_alloc::configure();
    if matches!(cli.command, Command::Care { .. }) {
        alloc_tuning();
    }
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")
        .and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The error and its causes, one line: what went wrong and where.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve {
            db,
            addr,
            demo,
            max_upload_mb,
            import_budget_mb,
            trusted_proxies,
            secure_cookies,
        } => {
            let config = keqing_server::ServerConfig {
                max_upload_bytes: max_upload_mb.saturating_mul(1024 * 1024),
                import_budget_bytes: import_budget_mb.saturating_mul(1024 * 1024),
                trusted_proxies,
                secure_cookies,
                ..keqing_server::ServerConfig::default()
            };
            admin::serve(&db, &addr, demo, config).await
        }
        Command::User { command } => admin::user(command).await,
        Command::Backup { db, out } => admin::backup(&db, &out).await,
        Command::Restore { file, db } => admin::restore(&file, &db).await,
        Command::Import(a) => files::import(a).await,
        Command::Export(a) => files::export(a).await,
        Command::Care { command } => care_cmd::care(command).await,
        Command::Analyze { command } => {
            keqing_analysis::cli::run(command, &mut std::io::stdout().lock())?;
            Ok(())
        }
        Command::Calendar(a) => {
            keqing_care::cli::run_calendar(a, &mut std::io::stdout().lock())?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod alloc_tests {
    use super::MI_OPTION_PURGE_DELAY;

    /// The option number is mimalloc 3's purge delay: its default is 1000 ms
    /// and it reads back what is set (an upgrade that renumbers the options
    /// fails here, not silently in production).
    #[test]
    fn purge_delay_is_option_15() {
        // SAFETY: this test is the only code in its process touching options.
        unsafe {
            assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), 1000);
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 10);
            assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), 10);
        }
    }
}
