//! `serve --demo`: a realistic demo company in an empty database.

use anyhow::{Context, Result};
use keqing_demo::DemoCompany;
use keqing_domain::User;
use keqing_store::{CustomerFilter, Store};
use std::collections::HashMap;

/// Fills the database with the demo company when it has no customers yet,
/// then prints the demo accounts. Answers the demo's administrator when it
/// loaded the company just now, so the server can write the value analysis
/// onto the new files.
pub async fn fill(store: &dyn Store) -> Result<Option<User>> {
    let empty = store
        .list_customers(&CustomerFilter {
            limit: 1,
            include_deleted: true,
            ..Default::default()
        })
        .await?
        .total
        == 0;
    let today = chrono::Local::now().date_naive();
    let company = keqing_demo::generate(
        keqing_demo::DEFAULT_SEED,
        today,
        keqing_demo::DEFAULT_CUSTOMERS,
    );
    if empty
        && store
            .users()
            .await?
            .iter()
            .all(|u| company.user(&u.username).is_none())
    {
        let started = std::time::Instant::now();
        eprintln!(
            "filling the empty database with the demo company {} …",
            company.name
        );
        let admin = load(store, &company)
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

/// Loads the demo company; answers its administrator.
pub async fn load(store: &dyn Store, company: &DemoCompany) -> Result<User> {
    let mut teams = HashMap::new();
    for t in &company.teams {
        teams.insert(
            t.name.clone(),
            store.create_team(&t.name, Some(&t.region)).await?.id,
        );
    }
    // Every demo user has the same password: hash it once.
    let hash = keqing_server::auth::hash_password(keqing_demo::DEMO_PASSWORD)
        .map_err(|e| anyhow::anyhow!(e))?;
    let mut users: HashMap<String, User> = HashMap::new();
    for u in &company.users {
        let made = store
            .create_user(&keqing_store::NewUser {
                username: u.username.clone(),
                display_name: u.display_name.clone(),
                role: u.role,
                team_id: u.team.as_ref().and_then(|t| teams.get(t).copied()),
                region: u.region.clone(),
                password_hash: hash.clone(),
            })
            .await?;
        users.insert(u.username.clone(), made);
    }
    let admin = users
        .values()
        .find(|u| u.role == keqing_domain::Role::Admin)
        .cloned()
        .context("the demo has an administrator")?;
    let mut ids: Vec<i64> = Vec::with_capacity(company.customers.len());
    let mut orders = vec![];
    for c in &company.customers {
        let mut input = c.input.clone();
        input.referrer_id = c.referred_by.and_then(|i| ids.get(i).copied());
        let owner = c.owner.as_ref().and_then(|o| users.get(o));
        let made = store
            .create_customer(&input, owner.map(|u| u.id), &admin)
            .await?;
        ids.push(made.id);
        let mut contact_ids = vec![];
        for k in &c.contacts {
            contact_ids.push(store.create_contact(made.id, k, &admin).await?.id);
        }
        for a in &c.activities {
            let mut act = a.activity.clone();
            act.contact_id = a.contact.and_then(|i| contact_ids.get(i).copied());
            let by = users.get(&a.by).unwrap_or(&admin);
            store.add_activity(made.id, &act, by).await?;
        }
        for o in &c.orders {
            let mut o = o.clone();
            o.customer_id = made.id;
            orders.push(o);
        }
    }
    store.add_orders(&orders).await?;
    Ok(admin)
}
