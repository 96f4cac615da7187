//! `serve --demo`: a realistic demo company in an empty database.

use anyhow::{Context, Result};
use keqing_demo::DemoCompany;
use keqing_domain::User;
use keqing_store::Store;

/// Fills the database with the demo company when it has no customers yet,
/// then prints the demo accounts. Answers the demo's administrator when it
/// loaded the company just now, so the server can write the value analysis
/// onto the new files.
pub async fn fill(store: &dyn Store) -> Result<Option<User>> {
    let today = chrono::Local::now().date_naive();
    let company = keqing_demo::generate(
        keqing_demo::DEFAULT_SEED,
        today,
        keqing_demo::DEFAULT_CUSTOMERS,
    );
    if keqing_app::demo::fits(store, &company).await? {
        let started = std::time::Instant::now();
        eprintln!(
            "filling the empty database with the demo company {} …",
            company.name
        );
        let admin = keqing_app::demo::load(store, &company)
            .await
            .context("loading the demo company")?;
        eprintln!(
            "demo company ready: {} customers, {} orders, {} activities in {:.1} s",
            company.customers.len(),
            company.order_count(),
            company.activity_count(),
            started.elapsed().as_secs_f64()
        );
        print_accounts(&company);
        return Ok(Some(admin));
    }
    eprintln!("the database has data already: the demo company is not loaded again");
    print_accounts(&company);
    Ok(None)
}

fn print_accounts(company: &DemoCompany) {
    eprintln!(
        "demo accounts (password for all: {}):",
        keqing_demo::DEMO_PASSWORD
    );
    for u in &company.users {
        eprintln!(
            "  {:<12} {:<10} {} {}",
            u.username,
            u.role.as_str(),
            u.display_name,
            u.team.as_deref().unwrap_or("")
        );
    }
}
