//! The team backend: PostgreSQL through tokio-postgres and a deadpool pool.
//!
//! A port of [`crate::sqlite`]: the same rows, audit entries, history and
//! ownership log for every call, the same errors. Where SQLite relies on its
//! single writer, this backend takes row locks (`FOR UPDATE`) inside one
//! READ COMMITTED transaction per call, so concurrent servers keep the
//! optimistic versions and the claim limit exact.

use crate::fts;
use crate::sqlite::ts;
use crate::*;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use keqing_domain::access::Role;
use std::collections::HashMap;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{IsolationLevel, NoTls, Row};

/// One schema version: its number, its script, then what SQL alone cannot
/// do (`step`), in the same transaction as the version number.
struct Migration {
    version: i64,
    sql: &'static str,
    step: Option<Step>,
}

/// The work a migration does in Rust after its script.
#[derive(Clone, Copy)]
enum Step {
    /// Every name spelled again and given its search tokens (`respell_names`),
    /// then their GIN index built once, on the filled column.
    SearchTokens,
}

impl Step {
    async fn run<C: GenericClient>(self, t: &C) -> Result<()> {
        match self {
            Step::SearchTokens => {
                respell_names(t).await?;
                t.batch_execute("CREATE INDEX customers_search ON customers USING gin (search)")
                    .await
                    .map_err(pg)
            }
        }
    }
}

/// Every schema version, numbers ascending; an open runs those the database
/// lacks, in one transaction.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("schema.sql"),
        step: None,
    },
    Migration {
        version: 2,
        sql: include_str!("schema_v2.sql"),
        step: None,
    },
    Migration {
        version: 3,
        sql: include_str!("schema_v3.sql"),
        step: None,
    },
    // Version 4 is the SQLite search index: nothing to do here.
    Migration {
        version: 4,
        sql: "SELECT 1",
        step: None,
    },
    Migration {
        version: 5,
        sql: include_str!("schema_v5.sql"),
        step: None,
    },
    Migration {
        version: 6,
        sql: include_str!("schema_v6.sql"),
        step: None,
    },
    // Version 7 stores SQLite's care tasks as day numbers and codes; the
    // columns here are DATE and the key is kept: nothing to do.
    Migration {
        version: 7,
        sql: "SELECT 1",
        step: None,
    },
    Migration {
        version: 8,
        sql: include_str!("schema_v8.sql"),
        step: None,
    },
    Migration {
        version: 9,
        sql: include_str!("schema_v9.sql"),
        step: None,
    },
    // Version 10 makes SQLite's birthday key a column; here the expression
    // index stays (it is kept row by row, never rebuilt by an import).
    Migration {
        version: 10,
        sql: "SELECT 1",
        step: None,
    },
    // Version 11 spells pinyin with a space between syllables. A database
    // before it also lacks version 14, whose step spells every name again
    // (`respell_names` compares each spelling), so the spelling is done there,
    // once.
    Migration {
        version: 11,
        sql: "SELECT 1",
        step: None,
    },
    // Versions 12 and 13 are SQLite's search index again.
    Migration {
        version: 12,
        sql: "SELECT 1",
        step: None,
    },
    Migration {
        version: 13,
        sql: "SELECT 1",
        step: None,
    },
    // Version 14 gives names search tokens, as SQLite's FTS index holds them.
    Migration {
        version: 14,
        sql: include_str!("schema_v14.sql"),
        step: Some(Step::SearchTokens),
    },
    // Version 15 lets care tasks be follow-ups.
    Migration {
        version: 15,
        sql: "ALTER TABLE care_tasks DROP CONSTRAINT care_tasks_kind_check,
              ADD CONSTRAINT care_tasks_kind_check
              CHECK (kind IN ('greeting', 'cadence', 'quota', 'deadline', 'order_day', 'follow_up'))",
        step: None,
    },
    // Version 16 indexes the audit log for its filters.
    Migration {
        version: 16,
        sql: include_str!("schema_v16.sql"),
        step: None,
    },
    // Version 17 keeps why a customer changed hands, and indexes the
    // provinces and tags the list's filters offer.
    Migration {
        version: 17,
        sql: include_str!("schema_v17.sql"),
        step: None,
    },
    // Version 18 gives orders entered by hand their unit, and indexes a
    // group's members by their parent.
    Migration {
        version: 18,
        sql: include_str!("schema_v18.sql"),
        step: None,
    },
    // Version 19: orders credited to their seller, the daily performance
    // totals and their triggers, targets and their revisions.
    Migration {
        version: 19,
        sql: include_str!("schema_v19.sql"),
        step: None,
    },
    // Version 20 versions orders and pays them in instalments (payments),
    // whose paid amounts feed the receivables metric.
    Migration {
        version: 20,
        sql: include_str!("schema_v20.sql"),
        step: None,
    },
    // Version 21 stores pay: bases, rates, settings, scores, runs, lines.
    Migration {
        version: 21,
        sql: include_str!("schema_v21.sql"),
        step: None,
    },
];
const POOL_SIZE: usize = 8;

pub struct PgStore {
    pool: Pool,
}

/// Keeps PostgreSQL's SQLSTATE at the front of the message, so a unique
/// violation can be recognised after it became a [`StoreError`].
fn pg(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(d) => StoreError::Db(format!("{}: {}", d.code().code(), d.message())),
        None => StoreError::Db(e.to_string()),
    }
}

fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Db(m) if m.starts_with(SqlState::UNIQUE_VIOLATION.code()))
}

fn get<'a, T: FromSql<'a>>(r: &'a Row, i: usize) -> Result<T> {
    r.try_get(i).map_err(pg)
}

async fn query<C: GenericClient>(c: &C, sql: &str, p: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
    let st = c.prepare_cached(sql).await.map_err(pg)?;
    c.query(&st, p).await.map_err(pg)
}

async fn query_opt<C: GenericClient>(
    c: &C,
    sql: &str,
    p: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>> {
    let st = c.prepare_cached(sql).await.map_err(pg)?;
    c.query_opt(&st, p).await.map_err(pg)
}

/// The one row a query must return; none is [`StoreError::NotFound`].
async fn query_one<C: GenericClient>(c: &C, sql: &str, p: &[&(dyn ToSql + Sync)]) -> Result<Row> {
    query_opt(c, sql, p).await?.ok_or(StoreError::NotFound)
}

async fn execute<C: GenericClient>(c: &C, sql: &str, p: &[&(dyn ToSql + Sync)]) -> Result<u64> {
    let st = c.prepare_cached(sql).await.map_err(pg)?;
    c.execute(&st, p).await.map_err(pg)
}

/// A read-only transaction that sees one snapshot for all its statements.
async fn snapshot(
    client: &mut deadpool_postgres::Client,
) -> Result<deadpool_postgres::Transaction<'_>> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(pg)
}

/// Runs `$body` (which uses the transaction `$t`) in one transaction: all of
/// it is stored, or none.
macro_rules! in_tx {
    ($store:expr, |$t:ident| $body:expr) => {{
        let mut client = $store.client().await?;
        let $t = client.transaction().await.map_err(pg)?;
        let out: Result<_> = async { $body }.await;
        match out {
            Ok(v) => {
                $t.commit().await.map_err(pg)?;
                Ok(v)
            }
            Err(e) => {
                // Roll back before the connection goes back to the pool.
                let _ = $t.rollback().await;
                Err(e)
            }
        }
    }};
}

// After `in_tx`, which the areas use.
mod analysis;
mod backup;
mod care;
mod customers;
mod imports;
mod pay;
mod people;
mod performance;
mod records;

impl PgStore {
    /// Opens the store a `postgres://` URL names and migrates it.
    pub async fn open(url: &str) -> Result<PgStore> {
        let config: tokio_postgres::Config = url.parse().map_err(pg)?;
        PgStore::connect(config).await
    }

    /// Opens the store in `schema` of the database `url` names, creating the
    /// schema when missing: one database can hold several stores (tests).
    pub async fn open_in_schema(url: &str, schema: &str) -> Result<PgStore> {
        if schema.is_empty()
            || !schema
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(StoreError::Refused(format!(
                "schema name {schema:?}: use lower-case letters, digits and _"
            )));
        }
        let mut config: tokio_postgres::Config = url.parse().map_err(pg)?;
        {
            let (client, conn) = config.connect(NoTls).await.map_err(pg)?;
            let task = tokio::spawn(conn);
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await
                .map_err(pg)?;
            drop(client);
            let _ = task.await;
        }
        config.options(format!("-c search_path={schema}"));
        PgStore::connect(config).await
    }

    /// Opens the store with a ready configuration (host, database, options
    /// such as `-c search_path=…`) and migrates it.
    pub async fn connect(config: tokio_postgres::Config) -> Result<PgStore> {
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(db_err)?;
        let store = PgStore { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Client> {
        self.pool.get().await.map_err(db_err)
    }

    async fn migrate(&self) -> Result<()> {
        in_tx!(self, |t| {
            // Two servers starting at once: the second waits here until the
            // first has committed, then finds nothing left to do.
            t.batch_execute(
                "SELECT pg_advisory_xact_lock(hashtext('keqing-migrate'), hashtext(coalesce(current_schema(), '')));
                 CREATE TABLE IF NOT EXISTS schema_migrations (
                     version BIGINT PRIMARY KEY,
                     applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                 );",
            )
            .await
            .map_err(pg)?;
            let row = query_one(
                &t,
                "SELECT coalesce(max(version), 0) FROM schema_migrations",
                &[],
            )
            .await?;
            let current: i64 = get(&row, 0)?;
            let latest = MIGRATIONS.last().map(|m| m.version).unwrap_or(0);
            if current > latest {
                return Err(StoreError::Db(format!(
                    "database schema version {current} is newer than this keqing ({latest})"
                )));
            }
            debug_assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
            for m in MIGRATIONS.iter().filter(|m| m.version > current) {
                t.batch_execute(m.sql).await.map_err(pg)?;
                if let Some(step) = m.step {
                    step.run(&t).await?;
                }
                execute(
                    &t,
                    "INSERT INTO schema_migrations (version) VALUES ($1)",
                    &[&m.version],
                )
                .await?;
            }
            Ok(())
        })
    }
}

/// A customer's columns as [`customer_row`] reads them (the last, its
/// latest order, one seek on `orders_customer`).
const CUSTOMER_COLS: &str = "id, version, doc, owner_id, team_id, rfm_class, clv, last_follow_up_at, created_at, updated_at, deleted_at, merged_into, p_alive,
    (SELECT max(ordered_at) FROM orders WHERE orders.customer_id = customers.id) AS last_order_at";

fn customer_row(r: &Row) -> Result<Customer> {
    let doc: serde_json::Value = get(r, 2)?;
    Ok(Customer {
        id: get(r, 0)?,
        version: get(r, 1)?,
        fields: customer_input(&doc)?,
        owner_id: get(r, 3)?,
        team_id: get(r, 4)?,
        rfm_class: get(r, 5)?,
        clv: get(r, 6)?,
        last_follow_up_at: get(r, 7)?,
        created_at: get(r, 8)?,
        updated_at: get(r, 9)?,
        deleted_at: get(r, 10)?,
        merged_into: get(r, 11)?,
        p_alive: get(r, 12)?,
        last_order_at: get(r, 13)?,
    })
}

async fn get_customer<C: GenericClient>(c: &C, id: i64) -> Result<Option<Customer>> {
    query_opt(
        c,
        &format!("SELECT {CUSTOMER_COLS} FROM customers WHERE id = $1"),
        &[&id],
    )
    .await?
    .map(|r| customer_row(&r))
    .transpose()
}

async fn must_customer<C: GenericClient>(c: &C, id: i64) -> Result<Customer> {
    get_customer(c, id).await?.ok_or(StoreError::NotFound)
}

/// Locks the customer rows `ids` (in id order, so two callers cannot
/// deadlock) until the transaction ends.
async fn lock_customers<C: GenericClient>(c: &C, ids: &[i64]) -> Result<()> {
    let ids = ids.to_vec();
    query(
        c,
        "SELECT id FROM customers WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        &[&ids],
    )
    .await?;
    Ok(())
}

async fn owner_team<C: GenericClient>(c: &C, owner: Option<i64>) -> Result<Option<i64>> {
    match owner {
        None => Ok(None),
        Some(o) => {
            let row = query_opt(c, "SELECT team_id FROM users WHERE id = $1", &[&o])
                .await?
                .ok_or_else(|| refuse::no_user(o))?;
            get(&row, 0)
        }
    }
}

/// The `search` column's value from a name's tokens (`fts::tokens`, separated
/// by spaces) given as the SQL text `tokens`: the tokens are the lexemes as
/// they are, no text-search parser or dictionary touches them.
fn search_of(tokens: &str) -> String {
    format!("array_to_tsvector(string_to_array({tokens}, ' '))")
}

/// Writes each customer's pinyin, initials and search tokens again from its
/// name, where the spelling differs (after a migration that changed it, or a
/// restore of an older backup) or the tokens are missing (a restore, which
/// does not carry them, or the migration that added them). A change to the
/// tokens themselves (`fts::tokens`) needs a migration that sets the column
/// to NULL before this runs.
async fn respell_names<C: GenericClient>(t: &C) -> Result<()> {
    let rows = t
        .query(
            "SELECT id, name, pinyin, initials, search IS NULL FROM customers",
            &[],
        )
        .await
        .map_err(pg)?;
    let (mut ids, mut pinyin, mut initials, mut tokens) = (vec![], vec![], vec![], vec![]);
    for r in &rows {
        let name: String = get(r, 1)?;
        let k = keqing_domain::search::name_keys(&name);
        let (p, i, missing): (String, String, bool) = (get(r, 2)?, get(r, 3)?, get(r, 4)?);
        if missing || p != k.pinyin || i != k.initials {
            tokens.push(fts::tokens(&fts::Keyed {
                name: &name,
                pinyin: &k.pinyin,
                initials: &k.initials,
            }));
            ids.push(get::<i64>(r, 0)?);
            pinyin.push(k.pinyin);
            initials.push(k.initials);
        }
    }
    for at in (0..ids.len()).step_by(10_000) {
        let to = (at + 10_000).min(ids.len());
        execute(
            t,
            &format!(
                "UPDATE customers c SET pinyin = n.pinyin, initials = n.initials, search = {}
                 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS n(id, pinyin, initials, tokens)
                 WHERE c.id = n.id",
                search_of("n.tokens")
            ),
            &[&&ids[at..to], &&pinyin[at..to], &&initials[at..to], &&tokens[at..to]],
        )
        .await?;
    }
    Ok(())
}

async fn audit_row<C: GenericClient>(
    t: &C,
    user: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    detail: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    execute(
        t,
        "INSERT INTO audit_log (at, user_id, action, entity, entity_id, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&now, &user, &action, &entity, &entity_id, detail],
    )
    .await?;
    Ok(())
}

type Param = Box<dyn ToSql + Sync + Send>;

/// Numbered parameters of a query built piece by piece.
#[derive(Default)]
struct Params(Vec<Param>);

impl Params {
    fn push(&mut self, v: impl ToSql + Sync + Send + 'static) -> String {
        self.push_boxed(Box::new(v))
    }

    fn push_boxed(&mut self, v: Param) -> String {
        self.0.push(v);
        format!("${}", self.0.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

impl crate::customers::BindCustomer for Params {
    fn int(&mut self, v: i64) -> String {
        self.push(v)
    }

    fn text(&mut self, v: String) -> String {
        self.push(v)
    }

    fn opt_int(&mut self, v: Option<i64>) -> String {
        self.push(v)
    }

    fn opt_text(&mut self, v: Option<String>) -> String {
        self.push(v)
    }

    fn real(&mut self, v: f64) -> String {
        self.push(v)
    }

    fn time(&mut self, v: DateTime<Utc>) -> String {
        self.push(v)
    }
}

/// The WHERE clause and parameters of a customer list: SQLite's
/// `customer_where`. SQLite's LIKE ignores the case of ASCII letters, so
/// names and tags use ILIKE, which on "C"-collated columns folds ASCII only;
/// pinyin and initials are lower-case already and keep LIKE, whose prefix
/// patterns can use the index.
fn customer_where(f: &CustomerFilter) -> (String, Params) {
    let mut w: Vec<String> = vec![];
    let mut p = Params::default();
    crate::customers::scope_conditions(f, &mut w, &mut p);
    // Every word of a search must match: each its tokens (which the GIN
    // index intersects) and its test, as on SQLite.
    for q in crate::customers::search_words(f) {
        match q {
            // The tokens narrow the search to the customers holding them (the
            // GIN index customers_search); the test after them decides, as on
            // SQLite, where it confirms the FTS index's candidates.
            NameQuery::Text(t) => {
                if let Some(m) = fts::text_match(t) {
                    let a = p.push(m.tsquery());
                    w.push(format!("search @@ {a}::text::tsquery"));
                }
                let a = p.push(format!("%{}%", like_escape(t)));
                w.push(format!("name ILIKE {a} ESCAPE '\\'"));
            }
            NameQuery::Pinyin(q) => {
                // Pinyin from a syllable's start (SQLite: keqing_pinyin_matches).
                let q = q.to_ascii_lowercase();
                if let Some(m) = fts::pinyin_match(&q) {
                    let a = p.push(format!("{} | {}", m.full.tsquery(), m.initials.tsquery()));
                    w.push(format!("search @@ {a}::text::tsquery"));
                }
                let a = p.push(keqing_domain::search::pinyin_regex(&q));
                let b = p.push(keqing_domain::search::subsequence_pattern(&like_escape(&q)));
                w.push(format!("(pinyin ~ {a} OR initials LIKE {b} ESCAPE '\\')"));
            }
            NameQuery::PhoneSuffix(d) => {
                // Reversed digits: a suffix is a prefix, a range on the "C" index.
                // SQLite's `range OR id IN (contacts)` as one IN over a UNION, so
                // both ranges use their index (an OR with a subquery scans).
                let r = rev(d);
                let a = p.push(r.clone());
                let b = p.push(format!("{r}:"));
                w.push(format!(
                    "id IN (SELECT id FROM customers WHERE phone_rev >= {a} AND phone_rev < {b}
                       UNION ALL SELECT customer_id FROM contacts
                       WHERE deleted_at IS NULL AND mobile_rev >= {a} AND mobile_rev < {b})"
                ));
            }
        }
    }
    crate::customers::owner_conditions(f, &mut w, &mut p);
    if let Some((k, v)) = &f.custom {
        let a = p.push(k.clone());
        let b = p.push(v.clone());
        w.push(format!(
            "EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE
                 WHEN jsonb_typeof(doc->'custom'->{a}::text) = 'array' THEN doc->'custom'->{a}::text
                 ELSE jsonb_build_array(doc->'custom'->{a}::text) END) e WHERE e = {b}::text)"
        ));
    }
    if let Some(t) = &f.tag {
        let a = p.push(format!("%|{}|%", like_escape(t)));
        w.push(format!("tags ILIKE {a} ESCAPE '\\'"));
    }
    if let Some(parent) = f.parent_id {
        // The expression and condition of the partial index customers_parent (schema_v18.sql).
        let a = p.push(parent);
        w.push(format!(
            "doc ? 'parent_id' AND (doc->>'parent_id')::bigint = {a}"
        ));
    }
    crate::customers::column_conditions(f, &mut w, &mut p);
    crate::customers::value_conditions(f, &mut w, &mut p);
    let clause = if w.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", w.join(" AND "))
    };
    (clause, p)
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }
}

/// Logs an activity; a follow-up also stamps the customer's last follow-up.
async fn insert_activity<C: GenericClient>(
    t: &C,
    customer_id: i64,
    a: &mut NewActivity,
    actor: i64,
) -> Result<Activity> {
    let at = *a.at.get_or_insert_with(Utc::now);
    let doc = serde_json::to_value(&*a).map_err(db_err)?;
    must_customer(t, customer_id).await?;
    let row = query_one(
        t,
        "INSERT INTO activities (customer_id, contact_id, user_id, kind, at, doc) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        &[&customer_id, &a.contact_id, &actor, &a.kind.as_str(), &at, &doc],
    )
    .await?;
    let id: i64 = get(&row, 0)?;
    if a.kind.is_follow_up() {
        execute(
            t,
            "UPDATE customers SET last_follow_up_at = $2 WHERE id = $1 AND (last_follow_up_at IS NULL OR last_follow_up_at < $2)",
            &[&customer_id, &at],
        )
        .await?;
    }
    Ok(Activity {
        id,
        customer_id,
        user_id: Some(actor),
        fields: a.clone(),
        at,
    })
}
