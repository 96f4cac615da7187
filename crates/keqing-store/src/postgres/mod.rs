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

/// Schema versions in order; each runs once, in the transaction of the open
/// that finds it missing.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("schema.sql")),
    (2, include_str!("schema_v2.sql")),
    (3, include_str!("schema_v3.sql")),
    // Version 4 is the SQLite search index: nothing to do here.
    (4, "SELECT 1"),
    (5, include_str!("schema_v5.sql")),
    (6, include_str!("schema_v6.sql")),
    // Version 7 stores SQLite's care tasks as day numbers and codes; the
    // columns here are DATE and the key is kept: nothing to do.
    (7, "SELECT 1"),
    (8, include_str!("schema_v8.sql")),
    (9, include_str!("schema_v9.sql")),
    // Version 10 makes SQLite's birthday key a column; here the expression
    // index stays (it is kept row by row, never rebuilt by an import).
    (10, "SELECT 1"),
    // Version 11 spells pinyin with a space between syllables: the
    // migration code spells every stored name again (`respell_names`).
    (11, "SELECT 1"),
    // Versions 12 and 13 are SQLite's search index again.
    (12, "SELECT 1"),
    (13, "SELECT 1"),
    // Version 14 gives names search tokens, as SQLite's FTS index holds
    // them, which the migration code fills (`respell_names`) and then indexes.
    (14, include_str!("schema_v14.sql")),
];
/// The version whose migration spells the stored names again.
const RESPELL_VERSION: i64 = 11;
/// The version whose migration fills the names' search tokens.
const SEARCH_VERSION: i64 = 14;
const POOL_SIZE: usize = 8;
/// Attempts of one import batch that lost a race for a unique key.
const IMPORT_ATTEMPTS: usize = 3;

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
mod people;
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
            let latest = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
            if current > latest {
                return Err(StoreError::Db(format!(
                    "database schema version {current} is newer than this keqing ({latest})"
                )));
            }
            // What SQL alone cannot do comes after the scripts, once: the
            // names spelled again and given their tokens (versions 11 and
            // 14, which needs the column 14 adds), then their index, built
            // once on the filled column.
            let mut respell = false;
            for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
                t.batch_execute(sql).await.map_err(pg)?;
                respell |= *version == RESPELL_VERSION || *version == SEARCH_VERSION;
                execute(
                    &t,
                    "INSERT INTO schema_migrations (version) VALUES ($1)",
                    &[version],
                )
                .await?;
            }
            if respell {
                respell_names(&t).await?;
            }
            if current < SEARCH_VERSION {
                t.batch_execute("CREATE INDEX customers_search ON customers USING gin (search)")
                    .await
                    .map_err(pg)?;
            }
            Ok(())
        })
    }

    /// After a unique violation on customers (a concurrent writer got there
    /// first): the ids it collided with, as SQLite's `map_unique` reports them.
    async fn duplicate_or(
        &self,
        e: StoreError,
        input: &CustomerInput,
        except: Option<i64>,
    ) -> StoreError {
        if !is_unique_violation(&e) {
            return e;
        }
        let ids = match self.client().await {
            Ok(c) => dup_ids(&c, input, except).await,
            Err(e) => Err(e),
        };
        match ids {
            Ok(ids) if !ids.is_empty() => StoreError::Duplicate(ids),
            _ => e,
        }
    }

    /// Statistics taken again after an import of many rows, as PostgreSQL
    /// advises after a bulk load: plans made while a table was empty (or
    /// small) would otherwise stay until autovacuum, which a cluster may run
    /// late or not at all, analyses it; ANALYZE makes every connection plan
    /// its statements again.
    async fn analyze_after(&self, imported: u64, tables: &str) -> Result<()> {
        if imported >= ANALYZE_AFTER {
            let c = self.client().await?;
            c.batch_execute(&format!("ANALYZE {tables}"))
                .await
                .map_err(pg)?;
        }
        Ok(())
    }

    async fn import_batch(
        &self,
        chunk: &[ImportCustomer],
        owner_id: Option<i64>,
        actor: i64,
    ) -> Result<(u64, Vec<u64>)> {
        in_tx!(self, |t| {
            let now = Utc::now();
            let team = owner_team(&t, owner_id).await?;
            let mut existing = vec![];
            let index: Vec<CustomerIndex> = chunk
                .iter()
                .map(|r| CustomerIndex::of(&r.customer))
                .collect();
            // The chunk's keys looked up at once, two queries for all its
            // rows, then kept up to date as its rows are stored: looked up
            // row by row, a statement prepared while the table was empty
            // kept a plan that read every live customer (a 200,000-row file
            // stored 40,000 rows in ten minutes).
            let mut codes = taken_keys(
                &t,
                "SELECT external_code FROM customers WHERE external_code = ANY($1) AND deleted_at IS NULL",
                index.iter().filter_map(|i| i.external_code.as_deref()),
            )
            .await?;
            let mut keys = taken_keys(
                &t,
                "SELECT dedup_key FROM customers WHERE dedup_key = ANY($1) AND deleted_at IS NULL",
                index.iter().filter_map(|i| i.dedup_key.as_deref()),
            )
            .await?;
            let mut fresh: Vec<(&ImportCustomer, &CustomerIndex)> = vec![];
            for (row, idx) in chunk.iter().zip(&index) {
                let taken = |set: &std::collections::HashSet<String>, k: &Option<String>| {
                    k.as_ref().is_some_and(|k| set.contains(k))
                };
                if taken(&codes, &idx.external_code) || taken(&keys, &idx.dedup_key) {
                    existing.push(row.line);
                    continue;
                }
                codes.extend(idx.external_code.clone());
                keys.extend(idx.dedup_key.clone());
                fresh.push((row, idx));
            }
            let ids = insert_customers_bulk(&t, &fresh, owner_id, team, actor, now).await?;
            let contacts: Vec<(i64, &ContactInput)> = fresh
                .iter()
                .zip(&ids)
                .filter_map(|((row, _), id)| row.contact.as_ref().map(|c| (*id, c)))
                .collect();
            insert_contacts_bulk(&t, &contacts, now).await?;
            let n = ids.len() as u64;
            audit_row(
                &t,
                Some(actor),
                "import",
                "customer",
                None,
                &serde_json::json!({"rows": chunk.len(), "imported": n}),
                now,
            )
            .await?;
            Ok((n, existing))
        })
    }
}

/// Rows an import stores from which it analyses the tables it wrote.
const ANALYZE_AFTER: u64 = 1_000;

const USER_COLS: &str = "id, username, display_name, role, team_id, region, active";

fn user_row(r: &Row) -> Result<User> {
    let role: String = get(r, 3)?;
    Ok(User {
        id: get(r, 0)?,
        username: get(r, 1)?,
        display_name: get(r, 2)?,
        role: Role::parse(&role).unwrap_or(Role::Agent),
        team_id: get(r, 4)?,
        region: get(r, 5)?,
        active: get(r, 6)?,
    })
}

const CUSTOMER_COLS: &str = "id, version, doc, owner_id, team_id, rfm_class, clv, last_follow_up_at, created_at, updated_at, deleted_at, merged_into, p_alive";

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

async fn dup_ids<C: GenericClient>(
    c: &C,
    input: &CustomerInput,
    except: Option<i64>,
) -> Result<Vec<i64>> {
    let idx = CustomerIndex::of(input);
    // Two lookups, each on its own partial unique index (an OR would not use them).
    let mut ids: Vec<i64> = vec![];
    for (sql, key) in [
        (
            "SELECT id FROM customers WHERE external_code = $1 AND deleted_at IS NULL",
            &idx.external_code,
        ),
        (
            "SELECT id FROM customers WHERE dedup_key = $1 AND deleted_at IS NULL",
            &idx.dedup_key,
        ),
    ] {
        if let Some(k) = key {
            for r in query(c, sql, &[k]).await? {
                ids.push(get(&r, 0)?);
            }
        }
    }
    ids.retain(|id| Some(*id) != except);
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
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

async fn insert_customer<C: GenericClient>(
    t: &C,
    input: &CustomerInput,
    owner: Option<i64>,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let dups = dup_ids(t, input, None).await?;
    if !dups.is_empty() {
        return Err(StoreError::Duplicate(dups));
    }
    let team = owner_team(t, owner).await?;
    insert_customer_row(t, input, owner, team, actor, now).await
}

/// Which of `keys` a live customer holds, by `sql` (`… = ANY($1)`).
async fn taken_keys<C: GenericClient>(
    c: &C,
    sql: &str,
    keys: impl Iterator<Item = &str>,
) -> Result<std::collections::HashSet<String>> {
    let keys: Vec<&str> = keys.collect();
    if keys.is_empty() {
        return Ok(Default::default());
    }
    query(c, sql, &[&keys])
        .await?
        .iter()
        .map(|r| get(r, 0))
        .collect()
}

/// Stores the rows of an import chunk with three statements whatever their
/// number (ids drawn from the sequence first, in file order; the rows; their
/// ownership events), as [`insert_customer_row`] stores one: one
/// statement a row was one round trip to the server each. Returns the ids.
async fn insert_customers_bulk<C: GenericClient>(
    t: &C,
    rows: &[(&ImportCustomer, &CustomerIndex)],
    owner: Option<i64>,
    team: Option<i64>,
    actor: i64,
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    if rows.is_empty() {
        return Ok(vec![]);
    }
    let count = rows.len() as i64;
    let mut ids: Vec<i64> = query(
        t,
        "SELECT nextval(pg_get_serial_sequence('customers', 'id')) FROM generate_series(1, $1::bigint)",
        &[&count],
    )
    .await?
    .iter()
    .map(|r| get(r, 0))
    .collect::<Result<_>>()?;
    ids.sort_unstable();
    let col = |f: fn(&CustomerIndex) -> Option<&str>| -> Vec<Option<&str>> {
        rows.iter().map(|(_, i)| f(i)).collect()
    };
    let tokens: Vec<String> = rows.iter().map(|(_, i)| i.search_tokens()).collect();
    execute(
        t,
        &format!("INSERT INTO customers (id, version, name, pinyin, initials, phone_rev, province, class, tier, stage, tags,
            external_code, dedup_key, doc, owner_id, team_id, owned_since, created_at, updated_at, search)
         SELECT id, 1, name, pinyin, initials, phone_rev, province, class, tier, stage, tags,
            external_code, dedup_key, doc::jsonb, $14, $15, $16, $16, $16, {search}
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                     $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $17::text[])
           AS u(id, name, pinyin, initials, phone_rev, province, class, tier, stage, tags, external_code,
                dedup_key, doc, tokens)",
            search = search_of("tokens")
        ),
        &[
            &ids,
            &col(|i| Some(&i.name)),
            &col(|i| Some(&i.pinyin)),
            &col(|i| Some(&i.initials)),
            &col(|i| i.phone_rev.as_deref()),
            &col(|i| i.province.as_deref()),
            &col(|i| i.class.as_deref()),
            &col(|i| i.tier.as_deref()),
            &col(|i| Some(&i.stage)),
            &col(|i| Some(&i.tags)),
            &col(|i| i.external_code.as_deref()),
            &col(|i| i.dedup_key.as_deref()),
            &col(|i| Some(&i.doc)),
            &owner,
            &team,
            &now,
            &tokens,
        ],
    )
    .await?;
    if owner.is_some() {
        execute(
            t,
            "INSERT INTO ownership_log (customer_id, at, from_user, to_user, reason, actor_id)
             SELECT id, $2, NULL, $3, 'create', $4 FROM unnest($1::bigint[]) AS u(id)",
            &[&ids, &now, &owner, &actor],
        )
        .await?;
    }
    Ok(ids)
}

/// Stores contacts `(customer id, contact)` with one statement, as
/// [`insert_contact`] stores one.
async fn insert_contacts_bulk<C: GenericClient>(
    t: &C,
    rows: &[(i64, &ContactInput)],
    now: DateTime<Utc>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let customers: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let names: Vec<&str> = rows.iter().map(|r| r.1.name.as_str()).collect();
    let mobiles: Vec<Option<String>> = rows
        .iter()
        .map(|r| r.1.mobile.as_ref().map(|m| rev(&m.digits())))
        .collect();
    let docs: Vec<String> = rows
        .iter()
        .map(|r| crate::stored_contact_doc(r.1))
        .collect();
    execute(
        t,
        "INSERT INTO contacts (customer_id, version, name, mobile_rev, doc, created_at)
         SELECT c, 1, n, m, d::jsonb, $5
         FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS u(c, n, m, d, o)
         ORDER BY o",
        &[&customers, &names, &mobiles, &docs, &now],
    )
    .await?;
    Ok(())
}

/// The `search` column's value from a name's tokens (`fts::tokens`, separated
/// by spaces) given as the SQL text `tokens`: the tokens are the lexemes as
/// they are, no text-search parser or dictionary touches them.
fn search_of(tokens: &str) -> String {
    format!("array_to_tsvector(string_to_array({tokens}, ' '))")
}

/// Inserts a customer checked for duplicates already, and logs its first owner.
async fn insert_customer_row<C: GenericClient>(
    t: &C,
    input: &CustomerInput,
    owner: Option<i64>,
    team: Option<i64>,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let idx = CustomerIndex::of(input);
    let row = query_one(
        t,
        &format!("INSERT INTO customers (version, name, pinyin, initials, phone_rev, province, class, tier, stage, tags,
            external_code, dedup_key, doc, owner_id, team_id, owned_since, created_at, updated_at, search)
         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text::jsonb, $13, $14, $15, $15, $15,
                 {search})
         RETURNING id",
            search = search_of("$16")
        ),
        &[
            &idx.name,
            &idx.pinyin,
            &idx.initials,
            &idx.phone_rev,
            &idx.province,
            &idx.class,
            &idx.tier,
            &idx.stage,
            &idx.tags,
            &idx.external_code,
            &idx.dedup_key,
            &idx.doc,
            &owner,
            &team,
            &now,
            &idx.search_tokens(),
        ],
    )
    .await?;
    let id: i64 = get(&row, 0)?;
    log_owner(t, id, None, owner, "create", actor, now).await?;
    Ok(id)
}

async fn log_owner<C: GenericClient>(
    t: &C,
    customer: i64,
    from: Option<i64>,
    to: Option<i64>,
    reason: &str,
    actor: Option<i64>,
    now: DateTime<Utc>,
) -> Result<()> {
    // A customer created in the pool changed no hands: nothing to log (an
    // import of a million such customers wrote a million empty events).
    if from.is_none() && to.is_none() {
        return Ok(());
    }
    execute(
        t,
        "INSERT INTO ownership_log (customer_id, at, from_user, to_user, reason, actor_id) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&customer, &now, &from, &to, &reason, &actor],
    )
    .await?;
    Ok(())
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

/// Puts a region a user or team is given on the list of regions when it is
/// not there yet, so every region in use is listed. The row stays locked
/// until the commit, so a removal of the region waits and then sees it used.
async fn ensure_region<C: GenericClient>(t: &C, region: Option<&str>) -> Result<()> {
    if let Some(r) = region.filter(|r| !r.is_empty()) {
        execute(
            t,
            "INSERT INTO regions (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name",
            &[&r],
        )
        .await?;
    }
    Ok(())
}

const REGION_SELECT: &str = "SELECT r.id, r.name,
        (SELECT count(*) FROM users u WHERE u.region = r.name),
        (SELECT count(*) FROM teams t WHERE t.region = r.name)
     FROM regions r";

fn region_row(r: &Row) -> Result<Region> {
    Ok(Region {
        id: get(r, 0)?,
        name: get(r, 1)?,
        users: get(r, 2)?,
        teams: get(r, 3)?,
    })
}

/// A team name another team has: refused, not a database failure.
fn team_name_taken(e: StoreError, name: &str) -> StoreError {
    if is_unique_violation(&e) {
        refuse::team_exists(name)
    } else {
        e
    }
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

async fn history_insert<C: GenericClient>(
    t: &C,
    customer: i64,
    user: Option<i64>,
    changes: &[FieldChange],
    now: DateTime<Utc>,
) -> Result<()> {
    for ch in changes {
        execute(
            t,
            "INSERT INTO customer_history (customer_id, at, user_id, field, old, new) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&customer, &now, &user, &ch.field, &ch.old, &ch.new],
        )
        .await?;
    }
    Ok(())
}

async fn write_customer_doc<C: GenericClient>(
    t: &C,
    id: i64,
    input: &CustomerInput,
    now: DateTime<Utc>,
) -> Result<()> {
    let idx = CustomerIndex::of(input);
    execute(
        t,
        &format!("UPDATE customers SET version = version + 1, name = $2, pinyin = $3, initials = $4, phone_rev = $5,
            province = $6, class = $7, tier = $8, stage = $9, tags = $10, external_code = $11, dedup_key = $12,
            doc = $13::text::jsonb, updated_at = $14, search = {search} WHERE id = $1",
            search = search_of("$15")
        ),
        &[
            &id,
            &idx.name,
            &idx.pinyin,
            &idx.initials,
            &idx.phone_rev,
            &idx.province,
            &idx.class,
            &idx.tier,
            &idx.stage,
            &idx.tags,
            &idx.external_code,
            &idx.dedup_key,
            &idx.doc,
            &now,
            &idx.search_tokens(),
        ],
    )
    .await?;
    Ok(())
}

async fn insert_contact<C: GenericClient>(
    t: &C,
    customer_id: i64,
    input: &ContactInput,
    now: DateTime<Utc>,
) -> Result<i64> {
    let doc = crate::stored_contact_doc(input);
    let mobile_rev = input.mobile.as_ref().map(|m| rev(&m.digits()));
    let row = query_one(
        t,
        "INSERT INTO contacts (customer_id, version, name, mobile_rev, doc, created_at) VALUES ($1, 1, $2, $3, $4::text::jsonb, $5) RETURNING id",
        &[&customer_id, &input.name, &mobile_rev, &doc, &now],
    )
    .await?;
    get(&row, 0)
}

const CONTACT_COLS: &str = "id, customer_id, version, doc, created_at, deleted_at";

fn contact_row(r: &Row) -> Result<Contact> {
    let doc: serde_json::Value = get(r, 3)?;
    Ok(Contact {
        id: get(r, 0)?,
        customer_id: get(r, 1)?,
        version: get(r, 2)?,
        fields: contact_input(&doc)?,
        created_at: get(r, 4)?,
        deleted_at: get(r, 5)?,
    })
}

async fn get_contact<C: GenericClient>(c: &C, id: i64) -> Result<Option<Contact>> {
    query_opt(
        c,
        &format!("SELECT {CONTACT_COLS} FROM contacts WHERE id = $1"),
        &[&id],
    )
    .await?
    .map(|r| contact_row(&r))
    .transpose()
}

const CHANGE_COLS: &str =
    "r.id, r.customer_id, r.note, r.reported_on, r.due_on, r.registered_on, r.reported_by";

fn change_row(r: &Row) -> Result<ChangeReport> {
    Ok(ChangeReport {
        id: get(r, 0)?,
        customer_id: get(r, 1)?,
        note: get(r, 2)?,
        reported_on: get(r, 3)?,
        due_on: get(r, 4)?,
        registered_on: get(r, 5)?,
        reported_by: get(r, 6)?,
    })
}

async fn change_report<C: GenericClient>(c: &C, id: i64) -> Result<ChangeReport> {
    let row = query_one(
        c,
        &format!("SELECT {CHANGE_COLS} FROM change_reports r WHERE r.id = $1"),
        &[&id],
    )
    .await?;
    change_row(&row)
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

/// The WHERE clause and parameters of a customer list: SQLite's
/// `customer_where`. SQLite's LIKE ignores the case of ASCII letters, so
/// names and tags use ILIKE, which on "C"-collated columns folds ASCII only;
/// pinyin and initials are lower-case already and keep LIKE, whose prefix
/// patterns can use the index.
fn customer_where(f: &CustomerFilter) -> (String, Params) {
    let mut w: Vec<String> = vec![];
    let mut p = Params::default();
    if f.deleted_only {
        w.push("deleted_at IS NOT NULL".into());
    } else if !f.include_deleted {
        w.push("deleted_at IS NULL".into());
    }
    match &f.visibility {
        Visibility::All => {}
        Visibility::OwnerOrPool(u) => {
            let a = p.push(*u);
            w.push(format!("(owner_id IS NULL OR owner_id = {a})"));
        }
        Visibility::TeamOrPool { user, team } => {
            let a = p.push(*user);
            let b = p.push(*team);
            w.push(format!(
                "(owner_id IS NULL OR owner_id = {a} OR team_id = {b})"
            ));
        }
        Visibility::RegionOrPool { user, region } => {
            let a = p.push(*user);
            let b = p.push(region.clone());
            w.push(format!(
                "(owner_id IS NULL OR owner_id = {a} OR province = {b})"
            ));
        }
    }
    match &f.query {
        None => {}
        // The tokens narrow the search to the customers holding them (the
        // GIN index customers_search); the test after them decides, as on
        // SQLite, where it confirms the FTS index's candidates.
        Some(NameQuery::Text(t)) => {
            if let Some(m) = fts::text_match(t) {
                let a = p.push(m.tsquery());
                w.push(format!("search @@ {a}::text::tsquery"));
            }
            let a = p.push(format!("%{}%", like_escape(t)));
            w.push(format!("name ILIKE {a} ESCAPE '\\'"));
        }
        Some(NameQuery::Pinyin(q)) => {
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
        Some(NameQuery::PhoneSuffix(d)) => {
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
    if let Some(o) = f.owner_id {
        let a = p.push(o);
        w.push(format!("owner_id = {a}"));
    }
    if f.in_pool {
        w.push("owner_id IS NULL".into());
    }
    if f.owned_only {
        w.push("owner_id IS NOT NULL".into());
    }
    if let Some(after) = f.after_id {
        let a = p.push(after);
        w.push(format!("id > {a}"));
    }
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
    for (col, v) in [
        ("province", &f.province),
        ("class", &f.class),
        ("tier", &f.tier),
        ("stage", &f.stage),
    ] {
        if let Some(v) = v {
            let a = p.push(v.clone());
            w.push(format!("{col} = {a}"));
        }
    }
    let clause = if w.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", w.join(" AND "))
    };
    (clause, p)
}

/// How a column travels in a backup, which is SQLite's view of the row.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    /// DOUBLE PRECISION here and REAL in SQLite (a probability, never money).
    Float,
    Text,
    /// BOOLEAN here, 0/1 in SQLite and in backups.
    Bool,
    /// TIMESTAMPTZ here, `sqlite::ts` text in backups.
    Ts,
    /// DATE here, `YYYY-MM-DD` in backups.
    Date,
    /// JSONB here, a JSON value in backups.
    Json,
}

use Kind::*;

/// Every backed-up table's columns, in SQLite's column order.
const COLUMNS: &[(&str, &[(&str, Kind)])] = &[
    (
        "regions",
        &[("id", Int), ("name", Text), ("created_at", Ts)],
    ),
    ("teams", &[("id", Int), ("name", Text), ("region", Text)]),
    (
        "users",
        &[
            ("id", Int),
            ("username", Text),
            ("display_name", Text),
            ("role", Text),
            ("team_id", Int),
            ("region", Text),
            ("password_hash", Text),
            ("active", Bool),
            ("created_at", Ts),
        ],
    ),
    (
        "customers",
        &[
            ("id", Int),
            ("version", Int),
            ("name", Text),
            ("pinyin", Text),
            ("initials", Text),
            ("phone_rev", Text),
            ("province", Text),
            ("class", Text),
            ("tier", Text),
            ("stage", Text),
            ("tags", Text),
            ("external_code", Text),
            ("dedup_key", Text),
            ("doc", Json),
            ("owner_id", Int),
            ("team_id", Int),
            ("rfm_class", Text),
            ("clv", Text),
            ("last_follow_up_at", Ts),
            ("owned_since", Ts),
            ("created_at", Ts),
            ("updated_at", Ts),
            ("deleted_at", Ts),
            ("merged_into", Int),
            ("p_alive", Float),
        ],
    ),
    (
        "contacts",
        &[
            ("id", Int),
            ("customer_id", Int),
            ("version", Int),
            ("name", Text),
            ("mobile_rev", Text),
            ("doc", Json),
            ("created_at", Ts),
            ("deleted_at", Ts),
        ],
    ),
    (
        "activities",
        &[
            ("id", Int),
            ("customer_id", Int),
            ("contact_id", Int),
            ("user_id", Int),
            ("kind", Text),
            ("at", Ts),
            ("doc", Json),
        ],
    ),
    (
        "orders",
        &[
            ("id", Int),
            ("customer_id", Int),
            ("external_id", Text),
            ("ordered_at", Ts),
            ("amount_fen", Int),
            ("quantity", Int),
            ("product", Text),
            ("channel", Text),
            ("store", Text),
            ("due_date", Date),
            ("paid_date", Date),
        ],
    ),
    (
        "customer_history",
        &[
            ("id", Int),
            ("customer_id", Int),
            ("at", Ts),
            ("user_id", Int),
            ("field", Text),
            ("old", Json),
            ("new", Json),
        ],
    ),
    (
        "ownership_log",
        &[
            ("id", Int),
            ("customer_id", Int),
            ("at", Ts),
            ("from_user", Int),
            ("to_user", Int),
            ("reason", Text),
            ("actor_id", Int),
        ],
    ),
    (
        "change_reports",
        &[
            ("id", Int),
            ("customer_id", Int),
            ("note", Text),
            ("reported_on", Date),
            ("due_on", Date),
            ("registered_on", Date),
            ("reported_by", Int),
        ],
    ),
    (
        "audit_log",
        &[
            ("id", Int),
            ("at", Ts),
            ("user_id", Int),
            ("action", Text),
            ("entity", Text),
            ("entity_id", Int),
            ("detail", Json),
        ],
    ),
    (
        "care_templates",
        &[
            ("id", Int),
            ("name", Text),
            ("body", Text),
            ("occasion", Text),
            ("active", Bool),
        ],
    ),
    ("care_texts", &[("id", Int), ("body", Text)]),
    (
        "care_tasks",
        &[
            ("id", Int),
            ("kind", Text),
            ("planned_for", Date),
            ("date", Date),
            ("customer_id", Int),
            ("contact_id", Int),
            ("owner_id", Int),
            ("occasions_id", Int),
            ("template_id", Int),
            ("message_id", Int),
            ("channel", Text),
            ("status", Text),
            ("reason", Text),
            ("snoozed_until", Date),
            ("activity_id", Int),
            ("created_at", Ts),
            ("updated_at", Ts),
        ],
    ),
    (
        "care_settings",
        &[("key", Text), ("value", Json), ("updated_at", Ts)],
    ),
    (
        "analysis_snapshots",
        &[
            ("id", Int),
            ("kind", Text),
            ("name", Text),
            ("params", Json),
            ("as_of", Date),
            ("summary", Json),
            ("members", Int),
            ("created_at", Ts),
            ("created_by", Int),
        ],
    ),
    (
        "analysis_snapshot_members",
        &[
            ("id", Int),
            ("snapshot_id", Int),
            ("customer_id", Int),
            ("class", Text),
            ("data", Json),
        ],
    ),
];

fn columns_of(table: &str) -> Result<&'static [(&'static str, Kind)]> {
    COLUMNS
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, c)| *c)
        .ok_or_else(|| StoreError::Db(format!("unknown table in backup: {table:?}")))
}

/// Every row of every table in a backup's shape, tables in [`TABLES`]
/// order, rows in key order, to `row`.
async fn export_rows<C: GenericClient>(
    t: &C,
    row: &mut (dyn FnMut(&'static str, serde_json::Map<String, serde_json::Value>) -> Result<()>
              + Send),
) -> Result<()> {
    for &table in TABLES {
        let cols = columns_of(table)?;
        let names = cols.iter().map(|c| c.0).collect::<Vec<_>>().join(", ");
        // Rows in key order, text keys in byte order as SQLite sorts them.
        let order = match cols[0] {
            ("id", _) => "id".to_string(),
            (key, _) => format!("{key} COLLATE \"C\""),
        };
        let rows = t
            .query(
                format!("SELECT {names} FROM {table} ORDER BY {order}").as_str(),
                &[],
            )
            .await
            .map_err(pg)?;
        for r in &rows {
            let mut m = serde_json::Map::new();
            for (i, (col, kind)) in cols.iter().enumerate() {
                m.insert(col.to_string(), column_to_json(r, i, *kind)?);
            }
            row(table, m)?;
        }
    }
    Ok(())
}

/// Restored rows of one table with the same columns, for one INSERT.
#[derive(Default)]
struct RestoreBatch {
    table: String,
    names: Vec<&'static str>,
    values: Vec<Vec<Param>>,
}

impl RestoreBatch {
    /// Whether a row of `table` with the columns `names` joins the batch.
    fn takes(&self, table: &str, names: &[&'static str]) -> bool {
        self.table == table
            && self.names == names
            && self.values.len() < 500
            && (self.values.len() + 1) * names.len() < 60_000
    }

    async fn flush<C: GenericClient>(&mut self, t: &C) -> Result<()> {
        if self.values.is_empty() {
            return Ok(());
        }
        let width = self.names.len();
        let rows: Vec<String> = (0..self.values.len())
            .map(|r| {
                let places: Vec<String> =
                    (1..=width).map(|c| format!("${}", r * width + c)).collect();
                format!("({})", places.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.table,
            self.names.join(", "),
            rows.join(", ")
        );
        let params: Vec<&(dyn ToSql + Sync)> = self
            .values
            .iter()
            .flatten()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        t.execute(sql.as_str(), &params).await.map_err(pg)?;
        self.values.clear();
        Ok(())
    }
}

/// One column of a row as a backup writes it.
fn column_to_json(r: &Row, i: usize, kind: Kind) -> Result<serde_json::Value> {
    use serde_json::Value;
    Ok(match kind {
        Int => get::<Option<i64>>(r, i)?.map_or(Value::Null, Value::from),
        Float => get::<Option<f64>>(r, i)?.map_or(Value::Null, Value::from),
        Text => get::<Option<String>>(r, i)?.map_or(Value::Null, Value::from),
        Bool => get::<Option<bool>>(r, i)?.map_or(Value::Null, |b| Value::from(b as i64)),
        Ts => get::<Option<DateTime<Utc>>>(r, i)?.map_or(Value::Null, |t| Value::from(ts(t))),
        Date => get::<Option<NaiveDate>>(r, i)?.map_or(Value::Null, |d| {
            Value::from(d.format("%Y-%m-%d").to_string())
        }),
        Json => get::<Option<Value>>(r, i)?.unwrap_or(Value::Null),
    })
}

/// One value of a backup as the parameter for its column.
fn json_to_param(table: &str, col: &str, kind: Kind, v: &serde_json::Value) -> Result<Param> {
    use serde_json::Value;
    let bad = || StoreError::Db(format!("backup {table}.{col}: unexpected value {v}"));
    if v.is_null() && kind != Json {
        return Ok(match kind {
            Int => Box::new(None::<i64>),
            Float => Box::new(None::<f64>),
            Bool => Box::new(None::<bool>),
            Ts => Box::new(None::<DateTime<Utc>>),
            Date => Box::new(None::<NaiveDate>),
            Text | Json => Box::new(None::<String>),
        });
    }
    Ok(match kind {
        Int => Box::new(v.as_i64().ok_or_else(bad)?),
        Float => Box::new(v.as_f64().ok_or_else(bad)?),
        Text => Box::new(match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        Bool => Box::new(match v {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_i64().ok_or_else(bad)? != 0,
            _ => return Err(bad()),
        }),
        Ts => Box::new(
            DateTime::parse_from_rfc3339(v.as_str().ok_or_else(bad)?)
                .map_err(|_| bad())?
                .with_timezone(&Utc),
        ),
        Date => Box::new(
            NaiveDate::parse_from_str(v.as_str().ok_or_else(bad)?, "%Y-%m-%d")
                .map_err(|_| bad())?,
        ),
        // A JSON null is the document `null`, as SQLite stores the text "null".
        Json => Box::new(v.clone()),
    })
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }
}

const SNAPSHOT_COLS: &str =
    "id, kind, name, params, as_of, summary, created_at, created_by, members";

fn snapshot_row(r: &Row) -> Result<AnalysisSnapshot> {
    Ok(AnalysisSnapshot {
        id: get(r, 0)?,
        kind: get(r, 1)?,
        name: get(r, 2)?,
        params: get(r, 3)?,
        as_of: get(r, 4)?,
        summary: get(r, 5)?,
        created_at: get(r, 6)?,
        created_by: get(r, 7)?,
        members: get(r, 8)?,
    })
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

/// Whose a task is (see [`CareTaskRow::owner_id`]), with customers as `c`.
const CARE_TASK_OWNER: &str = "CASE WHEN t.customer_id IS NOT NULL AND t.status IN ('open', 'snoozed') THEN c.owner_id ELSE t.owner_id END";

/// The filter of a task list: $1 from, $2 to, $3 status, $4 kind.
const CARE_TASK_WHERE: &str = "(t.contact_id IS NULL OR EXISTS (SELECT 1 FROM contacts p WHERE p.id = t.contact_id AND p.deleted_at IS NULL))
      AND ($1::date IS NULL OR t.date >= $1) AND ($2::date IS NULL OR t.date <= $2)
      AND ($3::text IS NULL OR t.status = $3) AND ($4::text IS NULL OR t.kind = $4)";

fn care_task_cols(owner: &str) -> String {
    format!(
        "t.id AS id, t.kind, t.planned_for, t.date AS date, t.customer_id, t.contact_id, {owner} AS owner_id, t.channel, t.status, t.reason, t.snoozed_until, t.activity_id, t.created_at, coalesce(t.updated_at, t.created_at) AS updated_at, t.occasions_id, t.template_id, t.message_id"
    )
}

fn care_task_row(r: &Row) -> Result<CareTaskBase> {
    let kind: String = get(r, 1)?;
    let planned_for: NaiveDate = get(r, 2)?;
    let (customer_id, contact_id, owner_id): (Option<i64>, Option<i64>, Option<i64>) =
        (get(r, 4)?, get(r, 5)?, get(r, 6)?);
    Ok(CareTaskBase {
        row: CareTaskRow {
            id: get(r, 0)?,
            key: care_task_key(&kind, customer_id, contact_id, owner_id, planned_for),
            kind,
            planned_for,
            date: get(r, 3)?,
            customer_id,
            contact_id,
            owner_id,
            occasions: serde_json::Value::Null,
            channel: get(r, 7)?,
            message: None,
            template: None,
            status: get(r, 8)?,
            reason: get(r, 9)?,
            snoozed_until: get(r, 10)?,
            activity_id: get(r, 11)?,
            created_at: get(r, 12)?,
            updated_at: get(r, 13)?,
            facts: None,
        },
        occasions_id: get(r, 14)?,
        template_id: get(r, 15)?,
        message_id: get(r, 16)?,
    })
}

/// Reads the texts of `rows` and the facts their channel and message are
/// made from: the customer, the contact and the owner as they are now.
async fn care_task_details<C: GenericClient>(c: &C, rows: &mut [CareTaskBase]) -> Result<()> {
    let ids = |f: &dyn Fn(&CareTaskBase) -> Vec<Option<i64>>| -> Vec<i64> {
        let mut v: Vec<i64> = rows.iter().flat_map(f).flatten().collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let text_ids = ids(&|r| vec![Some(r.occasions_id), r.template_id, r.message_id]);
    let customer_ids = ids(&|r| vec![r.row.customer_id]);
    let contact_ids = ids(&|r| vec![r.row.contact_id]);
    let owner_ids = ids(&|r| vec![r.row.owner_id]);
    let mut texts: HashMap<i64, String> = HashMap::new();
    for r in query(
        c,
        "SELECT id, body FROM care_texts WHERE id = ANY($1)",
        &[&text_ids],
    )
    .await?
    {
        texts.insert(get(&r, 0)?, get(&r, 1)?);
    }
    let mut customers: HashMap<i64, (String, Option<String>, bool)> = HashMap::new();
    for r in query(
        c,
        "SELECT id, name, doc->>'business_stage', (doc->'card'->>'gifts_forbidden')::boolean FROM customers WHERE id = ANY($1)",
        &[&customer_ids],
    )
    .await?
    {
        customers.insert(
            get(&r, 0)?,
            (get(&r, 1)?, get(&r, 2)?, get::<Option<bool>>(&r, 3)?.unwrap_or(false)),
        );
    }
    let mut contacts: HashMap<i64, (String, Option<String>, Option<String>)> = HashMap::new();
    for r in query(
        c,
        "SELECT id, name, doc->>'title', doc->>'level' FROM contacts WHERE id = ANY($1)",
        &[&contact_ids],
    )
    .await?
    {
        contacts.insert(get(&r, 0)?, (get(&r, 1)?, get(&r, 2)?, get(&r, 3)?));
    }
    let mut owners: HashMap<i64, String> = HashMap::new();
    for r in query(
        c,
        "SELECT id, display_name FROM users WHERE id = ANY($1)",
        &[&owner_ids],
    )
    .await?
    {
        owners.insert(get(&r, 0)?, get(&r, 1)?);
    }
    fill_care_task_details(rows, &texts, &customers, &contacts, &owners)
}

/// One task (whatever the state of its customer and contact), with details.
async fn get_care_task<C: GenericClient>(c: &C, id: i64) -> Result<Option<CareTaskRow>> {
    let Some(r) = query_opt(
        c,
        &format!(
            "SELECT {} FROM care_tasks t LEFT JOIN customers c ON c.id = t.customer_id WHERE t.id = $1",
            care_task_cols(CARE_TASK_OWNER)
        ),
        &[&id],
    )
    .await?
    else {
        return Ok(None);
    };
    let mut rows = vec![care_task_row(&r)?];
    care_task_details(c, &mut rows).await?;
    Ok(rows.pop().map(|b| b.row))
}

/// The ids of `texts` in care_texts, storing the new ones.
async fn care_text_ids<C: GenericClient>(c: &C, texts: &[String]) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(texts.len());
    for body in texts {
        execute(
            c,
            "INSERT INTO care_texts (body) VALUES ($1) ON CONFLICT DO NOTHING",
            &[body],
        )
        .await?;
        let row = query_one(
            c,
            "SELECT id FROM care_texts WHERE md5(body) = md5($1) AND body = $1",
            &[body],
        )
        .await?;
        ids.push(get(&row, 0)?);
    }
    Ok(ids)
}

fn care_template_row(r: &Row) -> Result<CareTemplate> {
    Ok(CareTemplate {
        id: get(r, 0)?,
        name: get(r, 1)?,
        body: get(r, 2)?,
        occasion: get(r, 3)?,
        active: get(r, 4)?,
    })
}
