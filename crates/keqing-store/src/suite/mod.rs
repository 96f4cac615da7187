//! The behaviour every backend must have. Each backend's test calls [`run_all`]
//! on a fresh, empty store.

mod analysis;
mod backup;
mod care;
mod customers;
mod imports;
mod pay;
mod payments;
mod people;
mod performance;
mod records;

use crate::*;
use analysis::analysis_snapshots;
pub use backup::{backup_round_trip, HARD_FLOATS};
use care::{care_tasks, care_tasks_follow_ownership, care_templates_and_settings};
use customers::{
    change_deadline, concurrent_edits, customers_versions_history, duplicates_and_merge,
    name_search, ownership_and_pool, search_and_filters, slipping_away,
};
use imports::{import_is_idempotent, import_whose_rows_stop_early};
use keqing_domain::contact::ContactInput;
use keqing_domain::customer::CustomerInput;
use keqing_domain::order::NewOrder;
use keqing_domain::{Money, NewActivity};
use pay::{pay_bases_rates_settings_scores, pay_evidence_of_a_month, pay_runs_lock_and_adjust};
pub use payments::{concurrent_payments, receivable_buckets, receivables_metric};
use payments::{orders_and_payments, receivables};
use people::{audit_pages, password_changes, regions_and_teams, user_changes, users_and_sessions};
use performance::{daily_totals, targets_and_revisions};
use records::{contacts_activities_orders, group_members, orders_entered_by_hand};
use serde_json::json;

/// A customer that has only a name, owned by `owner`, created by `actor`.
async fn named_customer(s: &dyn Store, name: &str, owner: Option<i64>, actor: &User) -> Customer {
    s.create_customer(&customer(json!({ "name": name })), owner, actor)
        .await
        .unwrap()
}

fn customer(v: serde_json::Value) -> CustomerInput {
    CustomerInput::from_json(v.as_object().expect("object")).expect("valid customer")
}

fn contact(v: serde_json::Value) -> ContactInput {
    ContactInput::from_json(v.as_object().expect("object")).expect("valid contact")
}

pub struct Fixture {
    pub admin: User,
    pub manager_a: User,
    pub manager_b: User,
    pub team_a: Team,
}

/// A user of `role` in `team`, named `name`, with a placeholder password hash.
pub(super) fn new_user(name: &str, role: Role, team: Option<i64>) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: name.into(),
        role,
        team_id: team,
        region: None,
        password_hash: "x".into(),
    }
}

pub async fn fixture(s: &dyn Store) -> Fixture {
    let team_a = s.create_team("南京一部", Some("江苏")).await.unwrap();
    let team_b = s.create_team("杭州二部", Some("浙江")).await.unwrap();
    let admin = s
        .create_user(&new_user("admin", Role::Admin, None))
        .await
        .unwrap();
    let manager_a = s
        .create_user(&new_user("wangfang", Role::Manager, Some(team_a.id)))
        .await
        .unwrap();
    let manager_b = s
        .create_user(&new_user("lijun", Role::Manager, Some(team_b.id)))
        .await
        .unwrap();
    Fixture {
        admin,
        manager_a,
        manager_b,
        team_a,
    }
}

/// Runs every check on an empty store.
pub async fn run_all(s: &dyn Store) {
    let f = fixture(s).await;
    users_and_sessions(s, &f).await;
    customers_versions_history(s, &f).await;
    duplicates_and_merge(s, &f).await;
    search_and_filters(s, &f).await;
    name_search(s, &f).await;
    ownership_and_pool(s, &f).await;
    slipping_away(s, &f).await;
    contacts_activities_orders(s, &f).await;
    orders_entered_by_hand(s, &f).await;
    orders_and_payments(s, &f).await;
    receivables(s, &f).await;
    group_members(s, &f).await;
    change_deadline(s, &f).await;
    import_is_idempotent(s, &f).await;
    import_whose_rows_stop_early(s, &f).await;
    concurrent_edits(s, &f).await;
    care_tasks(s, &f).await;
    care_tasks_follow_ownership(s, &f).await;
    care_templates_and_settings(s).await;
    analysis_snapshots(s, &f).await;
    user_changes(s, &f).await;
    regions_and_teams(s, &f).await;
    password_changes(s, &f).await;
    audit_pages(s, &f).await;
    pay_bases_rates_settings_scores(s, &f).await;
    pay_runs_lock_and_adjust(s, &f).await;
    pay_evidence_of_a_month(s, &f).await;
    daily_totals(s, &f).await;
    targets_and_revisions(s, &f).await;
}
