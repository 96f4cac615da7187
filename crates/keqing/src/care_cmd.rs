//! `keqing care run`: plans and stores the care tasks of a date range
//! (SPEC §4) — the same generation the API's `POST /care/run` and the
//! server's daily job use.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum CareCommand {
    /// Generate the care tasks (greetings, cadence, order day, deadline,
    /// quota) of FROM..=TO; a re-run creates nothing new.
    Run(RunArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// First day (YYYY-MM-DD, Beijing date).
    #[arg(long)]
    from: NaiveDate,
    /// Last day (YYYY-MM-DD); defaults to FROM.
    #[arg(long)]
    to: Option<NaiveDate>,
    #[arg(long, default_value = crate::DEFAULT_DB, env = "KEQING_DB")]
    db: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn care(command: CareCommand) -> Result<()> {
    match command {
        CareCommand::Run(a) => run(a).await,
    }
}

async fn run(a: RunArgs) -> Result<()> {
    let to = a.to.unwrap_or(a.from);
    let store = keqing_store::open(&a.db)
        .await
        .with_context(|| format!("opening {}", a.db))?;
    let started = std::time::Instant::now();
    let bar = crate::progress::Bar::new(
        &format!("care tasks {}..={to}", a.from),
        crate::progress::Unit::Customers,
    );
    let report = keqing_app::care::generate_with_progress(
        store.as_ref(),
        a.from,
        to,
        chrono::Utc::now(),
        &|d, t| bar.set(d, t),
    )
    .await
    .with_context(|| format!("generating the care tasks of {}..={to}", a.from))?;
    bar.finish();
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!("care tasks {}..={}", report.from, report.to);
    println!("{:<10} {:>10} {:>10}", "kind", "planned", "created");
    for kind in ["greeting", "cadence", "order_day", "deadline", "quota"] {
        println!(
            "{:<10} {:>10} {:>10}",
            kind,
            report.planned.get(kind).copied().unwrap_or(0),
            report.created.get(kind).copied().unwrap_or(0)
        );
    }
    println!(
        "{:<10} {:>10} {:>10}",
        "total",
        report.planned.values().sum::<u64>(),
        report.total_created()
    );
    if report.deferred_by_cap + report.dropped_by_cap > 0 {
        println!(
            "frequency cap: {} deferred, {} dropped",
            report.deferred_by_cap, report.dropped_by_cap
        );
    }
    eprintln!("took {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
