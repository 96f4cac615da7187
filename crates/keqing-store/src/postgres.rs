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
    (1, include_str!("postgres_schema.sql")),
    (2, include_str!("postgres_schema_v2.sql")),
    (3, include_str!("postgres_schema_v3.sql")),
    // Version 4 is the SQLite search index: nothing to do here.
    (4, "SELECT 1"),
    (5, include_str!("postgres_schema_v5.sql")),
    (6, include_str!("postgres_schema_v6.sql")),
    // Version 7 stores SQLite's care tasks as day numbers and codes; the
    // columns here are DATE and the key is kept: nothing to do.
    (7, "SELECT 1"),
    (8, include_str!("postgres_schema_v8.sql")),
    (9, include_str!("postgres_schema_v9.sql")),
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
    (14, include_str!("postgres_schema_v14.sql")),
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

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn regions(&self) -> Result<Vec<Region>> {
        let c = self.client().await?;
        query(&c, &format!("{REGION_SELECT} ORDER BY r.id"), &[])
            .await?
            .iter()
            .map(region_row)
            .collect()
    }

    async fn create_region(&self, name: &str, actor: Option<i64>) -> Result<Region> {
        in_tx!(self, |t| {
            let made = query_opt(
                &t,
                "INSERT INTO regions (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id",
                &[&name],
            )
            .await?;
            let Some(made) = made else {
                let row = query_one(&t, "SELECT id FROM regions WHERE name = $1", &[&name]).await?;
                return Err(StoreError::Duplicate(vec![get(&row, 0)?]));
            };
            let id: i64 = get(&made, 0)?;
            audit_row(
                &t,
                actor,
                "create",
                "region",
                Some(id),
                &serde_json::json!({"name": name}),
                Utc::now(),
            )
            .await?;
            region_row(&query_one(&t, &format!("{REGION_SELECT} WHERE r.id = $1"), &[&id]).await?)
        })
    }

    async fn delete_region(&self, id: i64, actor: Option<i64>) -> Result<()> {
        in_tx!(self, |t| {
            // Locked first: a user or team being given the region meanwhile
            // (which locks it too) commits before the count below.
            if query_opt(&t, "SELECT 1 FROM regions WHERE id = $1 FOR UPDATE", &[&id])
                .await?
                .is_none()
            {
                return Err(StoreError::NotFound);
            }
            let r = region_row(
                &query_one(&t, &format!("{REGION_SELECT} WHERE r.id = $1"), &[&id]).await?,
            )?;
            if r.users > 0 || r.teams > 0 {
                return Err(refuse::region_in_use(&r.name, r.users, r.teams));
            }
            execute(&t, "DELETE FROM regions WHERE id = $1", &[&id]).await?;
            audit_row(
                &t,
                actor,
                "delete",
                "region",
                Some(id),
                &serde_json::json!({"name": r.name}),
                Utc::now(),
            )
            .await
        })
    }

    async fn update_team(&self, id: i64, change: &TeamChange, actor: Option<i64>) -> Result<Team> {
        in_tx!(self, |t| {
            let row = query_opt(
                &t,
                "SELECT id, name, region FROM teams WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?
            .ok_or(StoreError::NotFound)?;
            let old = Team {
                id: get(&row, 0)?,
                name: get(&row, 1)?,
                region: get(&row, 2)?,
            };
            let new = change.apply(&old);
            let Some(detail) = team_change_detail(&old, &new) else {
                return Ok(old);
            };
            ensure_region(&t, new.region.as_deref()).await?;
            execute(
                &t,
                "UPDATE teams SET name = $2, region = $3 WHERE id = $1",
                &[&id, &new.name, &new.region],
            )
            .await
            .map_err(|e| team_name_taken(e, &new.name))?;
            audit_row(&t, actor, "update", "team", Some(id), &detail, Utc::now()).await?;
            Ok(new)
        })
    }

    async fn create_team(&self, name: &str, region: Option<&str>) -> Result<Team> {
        in_tx!(self, |t| {
            ensure_region(&t, region).await?;
            let row = query_one(
                &t,
                "INSERT INTO teams (name, region) VALUES ($1, $2) RETURNING id",
                &[&name, &region],
            )
            .await
            .map_err(|e| team_name_taken(e, name))?;
            Ok(Team {
                id: get(&row, 0)?,
                name: name.to_string(),
                region: region.map(str::to_string),
            })
        })
    }

    async fn teams(&self) -> Result<Vec<Team>> {
        let c = self.client().await?;
        query(&c, "SELECT id, name, region FROM teams ORDER BY id", &[])
            .await?
            .iter()
            .map(|r| {
                Ok(Team {
                    id: get(r, 0)?,
                    name: get(r, 1)?,
                    region: get(r, 2)?,
                })
            })
            .collect()
    }

    async fn create_user(&self, u: &NewUser) -> Result<User> {
        in_tx!(self, |t| {
            let now = Utc::now();
            ensure_region(&t, u.region.as_deref()).await?;
            let row = query_one(
                &t,
                &format!(
                    "INSERT INTO users (username, display_name, role, team_id, region, password_hash, active, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7) RETURNING {USER_COLS}"
                ),
                &[&u.username, &u.display_name, &u.role.as_str(), &u.team_id, &u.region, &u.password_hash, &now],
            )
            .await
            .map_err(|e| match &e {
                StoreError::Db(m) if m.starts_with(SqlState::UNIQUE_VIOLATION.code()) => {
                    refuse::user_exists(&u.username)
                }
                StoreError::Db(m) if m.starts_with(SqlState::FOREIGN_KEY_VIOLATION.code()) => {
                    refuse::no_team(u.team_id.unwrap_or_default())
                }
                _ => e,
            })?;
            user_row(&row)
        })
    }

    async fn user(&self, id: i64) -> Result<Option<User>> {
        let c = self.client().await?;
        query_opt(
            &c,
            &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
            &[&id],
        )
        .await?
        .map(|r| user_row(&r))
        .transpose()
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<(User, String)>> {
        let c = self.client().await?;
        query_opt(
            &c,
            &format!("SELECT {USER_COLS}, password_hash FROM users WHERE username = $1"),
            &[&username],
        )
        .await?
        .map(|r| Ok((user_row(&r)?, get(&r, 7)?)))
        .transpose()
    }

    async fn users(&self) -> Result<Vec<User>> {
        let c = self.client().await?;
        query(
            &c,
            &format!("SELECT {USER_COLS} FROM users ORDER BY id"),
            &[],
        )
        .await?
        .iter()
        .map(user_row)
        .collect()
    }

    async fn set_password(&self, user_id: i64, hash: &str) -> Result<()> {
        in_tx!(self, |t| {
            let n = execute(
                &t,
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                &[&user_id, &hash],
            )
            .await?;
            // A new password ends every session of the old one.
            execute(&t, "DELETE FROM sessions WHERE user_id = $1", &[&user_id]).await?;
            if n == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
    }

    async fn set_user_active(&self, user_id: i64, active: bool) -> Result<()> {
        in_tx!(self, |t| {
            let n = execute(
                &t,
                "UPDATE users SET active = $2 WHERE id = $1",
                &[&user_id, &active],
            )
            .await?;
            if !active {
                execute(&t, "DELETE FROM sessions WHERE user_id = $1", &[&user_id]).await?;
            }
            if n == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        })
    }

    async fn update_user(&self, id: i64, change: &UserChange, actor: Option<i64>) -> Result<User> {
        in_tx!(self, |t| {
            // The active administrators first, always in id order, so that two
            // administrators demoting themselves at once cannot both succeed:
            // the second waits here and then sees the first one gone.
            let admins: Vec<i64> = query(
                &t,
                "SELECT id FROM users WHERE role = 'admin' AND active ORDER BY id FOR UPDATE",
                &[],
            )
            .await?
            .iter()
            .map(|r| get(r, 0))
            .collect::<Result<_>>()?;
            let old = query_opt(
                &t,
                &format!("SELECT {USER_COLS} FROM users WHERE id = $1 FOR UPDATE"),
                &[&id],
            )
            .await?
            .map(|r| user_row(&r))
            .transpose()?
            .ok_or(StoreError::NotFound)?;
            let new = change.apply(&old);
            let Some(mut detail) = user_change_detail(&old, &new) else {
                return Ok(old);
            };
            if new.team_id != old.team_id {
                if let Some(team) = new.team_id {
                    // FOR SHARE: the team cannot go while this commits.
                    if query_opt(&t, "SELECT 1 FROM teams WHERE id = $1 FOR SHARE", &[&team])
                        .await?
                        .is_none()
                    {
                        return Err(refuse::no_team(team));
                    }
                }
            }
            let other_admins = admins.iter().filter(|a| **a != id).count() as i64;
            if removes_last_admin(&old, &new, other_admins) {
                return Err(refuse::last_admin());
            }
            ensure_region(&t, new.region.as_deref()).await?;
            execute(
                &t,
                "UPDATE users SET role = $2, team_id = $3, region = $4, active = $5 WHERE id = $1",
                &[
                    &id,
                    &new.role.as_str(),
                    &new.team_id,
                    &new.region,
                    &new.active,
                ],
            )
            .await?;
            if !new.active {
                execute(&t, "DELETE FROM sessions WHERE user_id = $1", &[&id]).await?;
            }
            if new.team_id != old.team_id {
                // Team scope follows the owner: their customers move with them.
                let moved = execute(
                    &t,
                    "UPDATE customers SET team_id = $2 WHERE owner_id = $1",
                    &[&id, &new.team_id],
                )
                .await?;
                detail["customers_moved"] = moved.into();
            }
            audit_row(&t, actor, "update", "user", Some(id), &detail, Utc::now()).await?;
            Ok(new)
        })
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        in_tx!(self, |t| {
            let now = Utc::now();
            execute(&t, "DELETE FROM sessions WHERE expires_at < $1", &[&now]).await?;
            execute(
                &t,
                "INSERT INTO sessions (token_hash, user_id, expires_at, created_at) VALUES ($1, $2, $3, $4)",
                &[&token_hash, &user_id, &expires_at, &now],
            )
            .await?;
            Ok(())
        })
    }

    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let c = self.client().await?;
        let cols = USER_COLS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        query_opt(
            &c,
            &format!(
                "SELECT {cols} FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active"
            ),
            &[&token_hash, &now],
        )
        .await?
        .map(|r| user_row(&r))
        .transpose()
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let c = self.client().await?;
        execute(
            &c,
            "DELETE FROM sessions WHERE token_hash = $1",
            &[&token_hash],
        )
        .await?;
        Ok(())
    }

    async fn find_duplicates(&self, input: &CustomerInput) -> Result<Vec<i64>> {
        let c = self.client().await?;
        dup_ids(&c, input, None).await
    }

    async fn create_customer(
        &self,
        input: &CustomerInput,
        owner_id: Option<i64>,
        actor: &User,
    ) -> Result<Customer> {
        let r = in_tx!(self, |t| {
            let now = Utc::now();
            let id = insert_customer(&t, input, owner_id, Some(actor.id), now).await?;
            audit_row(
                &t,
                Some(actor.id),
                "create",
                "customer",
                Some(id),
                &serde_json::json!({"name": input.name}),
                now,
            )
            .await?;
            must_customer(&t, id).await
        });
        match r {
            Err(e) => Err(self.duplicate_or(e, input, None).await),
            ok => ok,
        }
    }

    async fn customer(&self, id: i64) -> Result<Option<Customer>> {
        let c = self.client().await?;
        get_customer(&c, id).await
    }

    async fn customers_by_ids(&self, ids: &[i64]) -> Result<Vec<Customer>> {
        let c = self.client().await?;
        let ids = ids.to_vec();
        let rows = query(
            &c,
            &format!("SELECT {CUSTOMER_COLS} FROM customers WHERE id = ANY($1)"),
            &[&ids],
        )
        .await?;
        let mut found = std::collections::HashMap::new();
        for r in &rows {
            let c = customer_row(r)?;
            found.insert(c.id, c);
        }
        // In the order asked for, as SQLite answers.
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
    }

    async fn update_customer(
        &self,
        id: i64,
        expected_version: i64,
        input: &CustomerInput,
        changes: &[FieldChange],
        actor: &User,
    ) -> Result<Customer> {
        let r = in_tx!(self, |t| {
            // The row lock makes the version check and the write one step:
            // a concurrent editor waits here, then sees the new version.
            let row = query_one(
                &t,
                "SELECT version FROM customers WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
                &[&id],
            )
            .await?;
            let current: i64 = get(&row, 0)?;
            if current != expected_version {
                return Err(StoreError::Conflict {
                    expected: expected_version,
                    current,
                });
            }
            let dups = dup_ids(&t, input, Some(id)).await?;
            if !dups.is_empty() {
                return Err(StoreError::Duplicate(dups));
            }
            let now = Utc::now();
            write_customer_doc(&t, id, input, now).await?;
            history_insert(&t, id, Some(actor.id), changes, now).await?;
            audit_row(
                &t,
                Some(actor.id),
                "update",
                "customer",
                Some(id),
                &serde_json::json!({"fields": changes.iter().map(|c| &c.field).collect::<Vec<_>>()}),
                now,
            )
            .await?;
            must_customer(&t, id).await
        });
        match r {
            Err(e) => Err(self.duplicate_or(e, input, Some(id)).await),
            ok => ok,
        }
    }

    async fn delete_customer(&self, id: i64, actor: &User) -> Result<()> {
        in_tx!(self, |t| {
            let now = Utc::now();
            let n = execute(
                &t,
                "UPDATE customers SET deleted_at = $2, version = version + 1, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL",
                &[&id, &now],
            )
            .await?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            history_insert(
                &t,
                id,
                Some(actor.id),
                &[FieldChange {
                    field: "deleted".into(),
                    old: false.into(),
                    new: true.into(),
                }],
                now,
            )
            .await?;
            audit_row(
                &t,
                Some(actor.id),
                "delete",
                "customer",
                Some(id),
                &serde_json::Value::Null,
                now,
            )
            .await
        })
    }

    async fn restore_customer(&self, id: i64, actor: &User) -> Result<Customer> {
        let mut fields = None;
        let r = in_tx!(self, |t| {
            lock_customers(&t, &[id]).await?;
            let c = must_customer(&t, id).await?;
            if c.deleted_at.is_none() {
                return Ok(c);
            }
            let dups = dup_ids(&t, &c.fields, Some(id)).await?;
            fields = Some(c.fields);
            if !dups.is_empty() {
                return Err(StoreError::Duplicate(dups));
            }
            let now = Utc::now();
            execute(
                &t,
                "UPDATE customers SET deleted_at = NULL, merged_into = NULL, version = version + 1, updated_at = $2 WHERE id = $1",
                &[&id, &now],
            )
            .await?;
            history_insert(
                &t,
                id,
                Some(actor.id),
                &[FieldChange {
                    field: "deleted".into(),
                    old: true.into(),
                    new: false.into(),
                }],
                now,
            )
            .await?;
            audit_row(
                &t,
                Some(actor.id),
                "restore",
                "customer",
                Some(id),
                &serde_json::Value::Null,
                now,
            )
            .await?;
            must_customer(&t, id).await
        });
        match (r, fields) {
            (Err(e), Some(f)) => Err(self.duplicate_or(e, &f, Some(id)).await),
            (r, _) => r,
        }
    }

    async fn list_customers(&self, f: &CustomerFilter) -> Result<Page<Customer>> {
        let mut client = self.client().await?;
        // The count and the page from one snapshot, so they agree.
        let c = snapshot(&mut client).await?;
        let (w, mut p) = customer_where(f);
        let limit = f.limit.clamp(1, 1000);
        let (total, capped) = if f.skip_total {
            (-1, false)
        } else {
            let n = list_count_limit(f.offset, limit);
            let row = c
                .query_one(
                    format!("SELECT count(*) FROM (SELECT 1 FROM customers {w} LIMIT {n}) AS x")
                        .as_str(),
                    &p.refs(),
                )
                .await
                .map_err(pg)?;
            capped_total(get(&row, 0)?, n)
        };
        let order = match (&f.query, f.sort) {
            (Some(NameQuery::Pinyin(_)), CustomerSort::IdAsc) => "length(initials), id",
            (Some(NameQuery::Text(_)), CustomerSort::IdAsc) => "length(name), id",
            (_, CustomerSort::IdAsc) => "id",
            (_, CustomerSort::NameAsc) => "name, id",
            (_, CustomerSort::UpdatedDesc) => "updated_at DESC, id",
            (_, CustomerSort::LastFollowUpAsc) => {
                "last_follow_up_at IS NOT NULL, last_follow_up_at, id"
            }
        };
        let offset = f.offset.max(0);
        let l = p.push(limit);
        let o = p.push(offset);
        let rows = c
            .query(
                format!(
                    "SELECT {CUSTOMER_COLS} FROM customers {w} ORDER BY {order} LIMIT {l} OFFSET {o}"
                )
                .as_str(),
                &p.refs(),
            )
            .await
            .map_err(pg)?;
        let items = rows.iter().map(customer_row).collect::<Result<Vec<_>>>()?;
        c.commit().await.map_err(pg)?;
        Ok(Page {
            capped,
            items,
            total,
            offset,
            limit,
        })
    }

    async fn history(&self, customer_id: i64) -> Result<Vec<HistoryEntry>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, customer_id, at, user_id, field, old, new FROM customer_history WHERE customer_id = $1 ORDER BY id",
            &[&customer_id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(HistoryEntry {
                id: get(r, 0)?,
                customer_id: get(r, 1)?,
                at: get(r, 2)?,
                user_id: get(r, 3)?,
                field: get(r, 4)?,
                old: get(r, 5)?,
                new: get(r, 6)?,
            })
        })
        .collect()
    }

    async fn merge_customers(&self, keep: i64, other: i64, actor: &User) -> Result<Customer> {
        if keep == other {
            return Err(refuse::merge_into_itself());
        }
        in_tx!(self, |t| {
            lock_customers(&t, &[keep, other]).await?;
            let k = must_customer(&t, keep).await?;
            let o = must_customer(&t, other).await?;
            if k.deleted_at.is_some() || o.deleted_at.is_some() {
                return Err(refuse::merge_live_only());
            }
            let now = Utc::now();
            for table in [
                "contacts",
                "activities",
                "orders",
                "customer_history",
                "ownership_log",
                "change_reports",
            ] {
                execute(
                    &t,
                    &format!("UPDATE {table} SET customer_id = $1 WHERE customer_id = $2"),
                    &[&keep, &other],
                )
                .await?;
            }
            execute(
                &t,
                "UPDATE customers SET deleted_at = $3, merged_into = $1, version = version + 1, updated_at = $3 WHERE id = $2",
                &[&keep, &other, &now],
            )
            .await?;
            execute(
                &t,
                "UPDATE customers SET version = version + 1, updated_at = $2 WHERE id = $1",
                &[&keep, &now],
            )
            .await?;
            history_insert(
                &t,
                keep,
                Some(actor.id),
                &[FieldChange {
                    field: "merged".into(),
                    old: serde_json::Value::Null,
                    new: serde_json::json!({"id": other, "name": o.fields.name}),
                }],
                now,
            )
            .await?;
            audit_row(
                &t,
                Some(actor.id),
                "merge",
                "customer",
                Some(keep),
                &serde_json::json!({"merged": other}),
                now,
            )
            .await?;
            must_customer(&t, keep).await
        })
    }

    async fn transfer_customers(
        &self,
        ids: &[i64],
        to_user: i64,
        reason: &str,
        actor: &User,
    ) -> Result<u64> {
        in_tx!(self, |t| {
            let team = owner_team(&t, Some(to_user)).await?;
            lock_customers(&t, ids).await?;
            let now = Utc::now();
            let mut n = 0;
            for id in ids {
                let row = query_one(
                    &t,
                    "SELECT owner_id FROM customers WHERE id = $1 AND deleted_at IS NULL",
                    &[id],
                )
                .await?;
                let from: Option<i64> = get(&row, 0)?;
                if from == Some(to_user) {
                    continue;
                }
                execute(
                    &t,
                    "UPDATE customers SET owner_id = $2, team_id = $3, owned_since = $4, version = version + 1, updated_at = $4 WHERE id = $1",
                    &[id, &to_user, &team, &now],
                )
                .await?;
                log_owner(
                    &t,
                    *id,
                    from,
                    Some(to_user),
                    "transfer",
                    Some(actor.id),
                    now,
                )
                .await?;
                history_insert(
                    &t,
                    *id,
                    Some(actor.id),
                    &[FieldChange {
                        field: "owner_id".into(),
                        old: from.into(),
                        new: to_user.into(),
                    }],
                    now,
                )
                .await?;
                n += 1;
            }
            audit_row(
                &t,
                Some(actor.id),
                "transfer",
                "customer",
                None,
                &serde_json::json!({"ids": ids, "to": to_user, "reason": reason}),
                now,
            )
            .await?;
            Ok(n)
        })
    }

    async fn release_stale(
        &self,
        rules: &PoolRules,
        now: DateTime<Utc>,
        actor: &User,
    ) -> Result<Vec<i64>> {
        in_tx!(self, |t| {
            // SQLite's max(a, b) is NULL when either is; GREATEST would skip it.
            let rows = query(
                &t,
                "SELECT id, owner_id, class,
                    coalesce(CASE WHEN last_follow_up_at IS NULL OR owned_since IS NULL THEN NULL
                                  ELSE GREATEST(last_follow_up_at, owned_since) END,
                             owned_since, created_at)
                 FROM customers WHERE owner_id IS NOT NULL AND deleted_at IS NULL
                 ORDER BY id FOR UPDATE",
                &[],
            )
            .await?;
            let mut released = vec![];
            for r in &rows {
                let (id, owner, class, last): (i64, i64, Option<String>, DateTime<Utc>) =
                    (get(r, 0)?, get(r, 1)?, get(r, 2)?, get(r, 3)?);
                if last < rules.cutoff(class.as_deref(), now) {
                    execute(
                        &t,
                        "UPDATE customers SET owner_id = NULL, team_id = NULL, owned_since = $2, version = version + 1, updated_at = $2 WHERE id = $1",
                        &[&id, &now],
                    )
                    .await?;
                    log_owner(&t, id, Some(owner), None, "release", Some(actor.id), now).await?;
                    history_insert(
                        &t,
                        id,
                        Some(actor.id),
                        &[FieldChange {
                            field: "owner_id".into(),
                            old: owner.into(),
                            new: serde_json::Value::Null,
                        }],
                        now,
                    )
                    .await?;
                    released.push(id);
                }
            }
            if !released.is_empty() {
                audit_row(
                    &t,
                    Some(actor.id),
                    "release",
                    "customer",
                    None,
                    &serde_json::json!({"ids": released}),
                    now,
                )
                .await?;
            }
            Ok(released)
        })
    }

    async fn claim(&self, customer_id: i64, user: &User, max_owned: i64) -> Result<Customer> {
        let (uid, team) = (user.id, user.team_id);
        in_tx!(self, |t| {
            let row = query_one(
                &t,
                "SELECT owner_id FROM customers WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
                &[&customer_id],
            )
            .await?;
            let owner: Option<i64> = get(&row, 0)?;
            if owner.is_some() {
                return Err(refuse::not_in_pool());
            }
            // One claim per user at a time, so two claims cannot both pass
            // the limit (the count below runs after the other committed).
            query_one(
                &t,
                "SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE",
                &[&uid],
            )
            .await?;
            let row = query_one(
                &t,
                "SELECT count(*) FROM customers WHERE owner_id = $1 AND deleted_at IS NULL",
                &[&uid],
            )
            .await?;
            let owned: i64 = get(&row, 0)?;
            if owned >= max_owned {
                return Err(refuse::pool_limit(owned, max_owned));
            }
            let now = Utc::now();
            execute(
                &t,
                "UPDATE customers SET owner_id = $2, team_id = $3, owned_since = $4, version = version + 1, updated_at = $4 WHERE id = $1",
                &[&customer_id, &uid, &team, &now],
            )
            .await?;
            log_owner(&t, customer_id, None, Some(uid), "claim", Some(uid), now).await?;
            history_insert(
                &t,
                customer_id,
                Some(uid),
                &[FieldChange {
                    field: "owner_id".into(),
                    old: serde_json::Value::Null,
                    new: uid.into(),
                }],
                now,
            )
            .await?;
            audit_row(
                &t,
                Some(uid),
                "claim",
                "customer",
                Some(customer_id),
                &serde_json::Value::Null,
                now,
            )
            .await?;
            must_customer(&t, customer_id).await
        })
    }

    async fn ownership_log(&self, customer_id: i64) -> Result<Vec<OwnershipEvent>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, customer_id, at, from_user, to_user, reason, actor_id FROM ownership_log WHERE customer_id = $1 ORDER BY id",
            &[&customer_id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(OwnershipEvent {
                id: get(r, 0)?,
                customer_id: get(r, 1)?,
                at: get(r, 2)?,
                from_user: get(r, 3)?,
                to_user: get(r, 4)?,
                reason: get(r, 5)?,
                actor_id: get(r, 6)?,
            })
        })
        .collect()
    }

    async fn set_values(&self, updates: &[ValueUpdate]) -> Result<()> {
        in_tx!(self, |t| {
            let mut ids: Vec<i64> = updates.iter().map(|u| u.customer_id).collect();
            ids.sort_unstable();
            lock_customers(&t, &ids).await?;
            for u in updates {
                let Some(mut c) = get_customer(&t, u.customer_id).await? else {
                    continue;
                };
                c.fields.class = u.class.clone().or(c.fields.class);
                c.fields.tier = u.tier.clone().or(c.fields.tier);
                let idx = CustomerIndex::of(&c.fields);
                execute(
                    &t,
                    "UPDATE customers SET class = $2, tier = $3, doc = $4::text::jsonb, rfm_class = coalesce($5, rfm_class), clv = coalesce($6, clv), p_alive = coalesce($7, p_alive) WHERE id = $1",
                    &[&u.customer_id, &idx.class, &idx.tier, &idx.doc, &u.rfm_class, &u.clv, &u.p_alive],
                )
                .await?;
            }
            Ok(())
        })
    }

    async fn create_contact(
        &self,
        customer_id: i64,
        input: &ContactInput,
        actor: &User,
    ) -> Result<Contact> {
        in_tx!(self, |t| {
            // FOR SHARE: a concurrent delete of the customer waits for this contact.
            let live = query_opt(
                &t,
                "SELECT deleted_at IS NULL FROM customers WHERE id = $1 FOR SHARE",
                &[&customer_id],
            )
            .await?;
            match live {
                Some(r) if get::<bool>(&r, 0)? => {}
                _ => return Err(StoreError::NotFound),
            }
            let now = Utc::now();
            let id = insert_contact(&t, customer_id, input, now).await?;
            audit_row(
                &t,
                Some(actor.id),
                "create",
                "contact",
                Some(id),
                &serde_json::json!({"customer_id": customer_id}),
                now,
            )
            .await?;
            get_contact(&t, id).await?.ok_or(StoreError::NotFound)
        })
    }

    async fn contact(&self, id: i64) -> Result<Option<Contact>> {
        let c = self.client().await?;
        get_contact(&c, id).await
    }

    async fn contacts(&self, customer_id: i64) -> Result<Vec<Contact>> {
        let c = self.client().await?;
        query(
            &c,
            &format!("SELECT {CONTACT_COLS} FROM contacts WHERE customer_id = $1 AND deleted_at IS NULL ORDER BY id"),
            &[&customer_id],
        )
        .await?
        .iter()
        .map(contact_row)
        .collect()
    }

    async fn update_contact(
        &self,
        id: i64,
        expected_version: i64,
        input: &ContactInput,
        actor: &User,
    ) -> Result<Contact> {
        in_tx!(self, |t| {
            let row = query_one(
                &t,
                "SELECT version FROM contacts WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
                &[&id],
            )
            .await?;
            let current: i64 = get(&row, 0)?;
            if current != expected_version {
                return Err(StoreError::Conflict {
                    expected: expected_version,
                    current,
                });
            }
            let now = Utc::now();
            let mobile_rev = input.mobile.as_ref().map(|m| rev(&m.digits()));
            let doc = crate::stored_contact_doc(input);
            execute(
                &t,
                "UPDATE contacts SET version = version + 1, name = $2, mobile_rev = $3, doc = $4::text::jsonb WHERE id = $1",
                &[&id, &input.name, &mobile_rev, &doc],
            )
            .await?;
            audit_row(
                &t,
                Some(actor.id),
                "update",
                "contact",
                Some(id),
                &serde_json::Value::Null,
                now,
            )
            .await?;
            get_contact(&t, id).await?.ok_or(StoreError::NotFound)
        })
    }

    async fn delete_contact(&self, id: i64, actor: &User) -> Result<()> {
        in_tx!(self, |t| {
            let now = Utc::now();
            let n = execute(
                &t,
                "UPDATE contacts SET deleted_at = $2, version = version + 1 WHERE id = $1 AND deleted_at IS NULL",
                &[&id, &now],
            )
            .await?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            audit_row(
                &t,
                Some(actor.id),
                "delete",
                "contact",
                Some(id),
                &serde_json::Value::Null,
                now,
            )
            .await
        })
    }

    async fn add_activity(
        &self,
        customer_id: i64,
        a: &NewActivity,
        actor: &User,
    ) -> Result<Activity> {
        let mut a = a.clone();
        in_tx!(self, |t| insert_activity(&t, customer_id, &mut a, actor.id)
            .await)
    }

    async fn activities(&self, customer_id: i64) -> Result<Vec<Activity>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, customer_id, user_id, at, doc FROM activities WHERE customer_id = $1 ORDER BY at DESC, id DESC",
            &[&customer_id],
        )
        .await?
        .iter()
        .map(|r| {
            let doc: serde_json::Value = get(r, 4)?;
            Ok(Activity {
                id: get(r, 0)?,
                customer_id: get(r, 1)?,
                user_id: get(r, 2)?,
                fields: activity_input(&doc)?,
                at: get(r, 3)?,
            })
        })
        .collect()
    }

    async fn add_orders(&self, orders: &[NewOrder]) -> Result<OrderImportOutcome> {
        let mut out = OrderImportOutcome::default();
        for chunk in orders.chunks(IMPORT_BATCH * 5) {
            let (i, e) = in_tx!(self, |t| {
                let (mut i, mut e) = (0u64, 0u64);
                for o in chunk {
                    // A concurrent import of the same order waits, then does nothing.
                    let n = execute(
                        &t,
                        "INSERT INTO orders (customer_id, external_id, ordered_at, amount_fen, quantity, product, channel, store, due_date, paid_date)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (external_id) DO NOTHING",
                        &[
                            &o.customer_id,
                            &o.external_id,
                            &o.ordered_at,
                            &o.amount.fen(),
                            &o.quantity,
                            &o.product,
                            &o.channel,
                            &o.store,
                            &o.due_date,
                            &o.paid_date,
                        ],
                    )
                    .await?;
                    if n == 1 {
                        i += 1
                    } else {
                        e += 1
                    }
                }
                Ok((i, e))
            })?;
            out.imported += i;
            out.existing += e;
        }
        Ok(out)
    }

    async fn orders(&self, customer_id: i64) -> Result<Vec<Order>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, customer_id, external_id, ordered_at, amount_fen, quantity, product, channel, store, due_date, paid_date
             FROM orders WHERE customer_id = $1 ORDER BY ordered_at DESC, id DESC",
            &[&customer_id],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(Order {
                id: get(r, 0)?,
                fields: NewOrder {
                    customer_id: get(r, 1)?,
                    external_id: get(r, 2)?,
                    ordered_at: get(r, 3)?,
                    amount: keqing_domain::Money(get(r, 4)?),
                    quantity: get(r, 5)?,
                    product: get(r, 6)?,
                    channel: get(r, 7)?,
                    store: get(r, 8)?,
                    due_date: get(r, 9)?,
                    paid_date: get(r, 10)?,
                },
            })
        })
        .collect()
    }

    async fn order_facts(&self) -> Result<Vec<OrderFact>> {
        let c = self.client().await?;
        // The UTC day, as SQLite's substr(ordered_at, 1, 10) of the stored text.
        query(
            &c,
            "SELECT o.customer_id, (o.ordered_at AT TIME ZONE 'UTC')::date, o.amount_fen
             FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.deleted_at IS NULL ORDER BY o.id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(OrderFact {
                customer_id: get(r, 0)?,
                date: get(r, 1)?,
                amount_fen: get(r, 2)?,
            })
        })
        .collect()
    }

    async fn resolve_codes(&self, codes: &[String]) -> Result<Vec<Option<i64>>> {
        let c = self.client().await?;
        let mut out = Vec::with_capacity(codes.len());
        for chunk in codes.chunks(10_000) {
            let mut found = HashMap::with_capacity(chunk.len());
            let upper: Vec<String> = chunk.iter().map(|c| c.to_ascii_uppercase()).collect();
            for r in query(
                &c,
                "SELECT external_code, id FROM customers WHERE external_code = ANY($1) AND deleted_at IS NULL",
                &[&upper],
            )
            .await?
            {
                found.insert(r.get::<_, String>(0), r.get::<_, i64>(1));
            }
            out.extend(upper.iter().map(|code| found.get(code).copied()));
        }
        Ok(out)
    }

    async fn resolve_customer(
        &self,
        external_code: Option<&str>,
        name: Option<&str>,
    ) -> Result<Option<i64>> {
        let c = self.client().await?;
        if let Some(code) = external_code {
            let code = code.to_ascii_uppercase();
            return query_opt(
                &c,
                "SELECT id FROM customers WHERE external_code = $1 AND deleted_at IS NULL",
                &[&code],
            )
            .await?
            .map(|r| get(&r, 0))
            .transpose();
        }
        if let Some(name) = name {
            let rows = query(
                &c,
                "SELECT id FROM customers WHERE name = $1 AND deleted_at IS NULL LIMIT 2",
                &[&name],
            )
            .await?;
            return if rows.len() == 1 {
                Ok(Some(get(&rows[0], 0)?))
            } else {
                Ok(None)
            };
        }
        Ok(None)
    }

    async fn report_change(
        &self,
        customer_id: i64,
        note: &str,
        reported_on: NaiveDate,
        actor: &User,
    ) -> Result<ChangeReport> {
        in_tx!(self, |t| {
            must_customer(&t, customer_id).await?;
            let due = keqing_domain::archive::change_due(reported_on);
            let row = query_one(
                &t,
                "INSERT INTO change_reports (customer_id, note, reported_on, due_on, reported_by) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                &[&customer_id, &note, &reported_on, &due, &actor.id],
            )
            .await?;
            Ok(ChangeReport {
                id: get(&row, 0)?,
                customer_id,
                note: note.to_string(),
                reported_on,
                due_on: due,
                registered_on: None,
                reported_by: Some(actor.id),
            })
        })
    }

    async fn register_change(&self, id: i64, on: NaiveDate, actor: &User) -> Result<ChangeReport> {
        in_tx!(self, |t| {
            let n = execute(
                &t,
                "UPDATE change_reports SET registered_on = $2 WHERE id = $1 AND registered_on IS NULL",
                &[&id, &on],
            )
            .await?;
            if n == 1 {
                audit_row(
                    &t,
                    Some(actor.id),
                    "register_change",
                    "change_report",
                    Some(id),
                    &serde_json::Value::Null,
                    Utc::now(),
                )
                .await?;
            }
            change_report(&t, id).await
        })
    }

    async fn open_changes(&self, owner_id: Option<i64>) -> Result<Vec<ChangeReport>> {
        let c = self.client().await?;
        query(
            &c,
            &format!(
                "SELECT {CHANGE_COLS} FROM change_reports r JOIN customers c ON c.id = r.customer_id
                 WHERE r.registered_on IS NULL AND c.deleted_at IS NULL AND ($1::bigint IS NULL OR c.owner_id = $1)
                 ORDER BY r.due_on, r.id"
            ),
            &[&owner_id],
        )
        .await?
        .iter()
        .map(change_row)
        .collect()
    }

    async fn import_customers(
        &self,
        mut rows: ImportRows<ImportCustomer>,
        owner_id: Option<i64>,
        actor: &User,
    ) -> Result<ImportOutcome> {
        let mut out = ImportOutcome::default();
        while let Some(batch) = rows.next().await? {
            for chunk in batch.chunks(IMPORT_BATCH) {
                let mut attempt = 1;
                let (n, existing) = loop {
                    match self.import_batch(chunk, owner_id, actor.id).await {
                        // Another writer stored one of these customers meanwhile:
                        // the batch rolled back, and a rerun counts it as existing.
                        Err(e) if is_unique_violation(&e) && attempt < IMPORT_ATTEMPTS => {
                            attempt += 1
                        }
                        r => break r?,
                    }
                };
                out.imported += n;
                out.existing.extend(existing);
            }
        }
        self.analyze_after(out.imported, "customers, contacts, ownership_log")
            .await?;
        Ok(out)
    }

    async fn import_contacts(
        &self,
        mut rows: ImportRows<ImportContact>,
        actor: &User,
    ) -> Result<ImportOutcome> {
        let actor = actor.id;
        let mut out = ImportOutcome::default();
        while let Some(chunk) = rows.next().await? {
            let chunk = &chunk;
            let (n, existing) = in_tx!(self, |t| {
                let now = Utc::now();
                let (mut n, mut existing) = (0u64, vec![]);
                // The live contacts of the chunk's customers, looked up at
                // once (row by row, a plan prepared on an empty table could
                // stay), kept up to date as the chunk's rows are stored.
                let mut customers: Vec<i64> = chunk.iter().map(|r| r.customer_id).collect();
                customers.sort_unstable();
                customers.dedup();
                let mut held: std::collections::HashSet<(i64, String, Option<String>)> = query(
                    &t,
                    "SELECT customer_id, name, mobile_rev FROM contacts
                     WHERE customer_id = ANY($1) AND deleted_at IS NULL",
                    &[&customers],
                )
                .await?
                .iter()
                .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
                .collect::<Result<_>>()?;
                let mut fresh: Vec<(i64, &ContactInput)> = vec![];
                for row in chunk {
                    let mobile = row.contact.mobile.as_ref().map(|m| rev(&m.digits()));
                    let key = (row.customer_id, row.contact.name.clone(), mobile);
                    if held.contains(&key) {
                        existing.push(row.line);
                        continue;
                    }
                    held.insert(key);
                    fresh.push((row.customer_id, &row.contact));
                    n += 1;
                }
                insert_contacts_bulk(&t, &fresh, now).await?;
                audit_row(
                    &t,
                    Some(actor),
                    "import",
                    "contact",
                    None,
                    &serde_json::json!({"rows": chunk.len(), "imported": n}),
                    now,
                )
                .await?;
                Ok::<_, StoreError>((n, existing))
            })?;
            out.imported += n;
            out.existing.extend(existing);
        }
        self.analyze_after(out.imported, "contacts").await?;
        Ok(out)
    }

    async fn audit(
        &self,
        user_id: Option<i64>,
        action: &str,
        entity: &str,
        entity_id: Option<i64>,
        detail: serde_json::Value,
    ) -> Result<()> {
        let c = self.client().await?;
        audit_row(&c, user_id, action, entity, entity_id, &detail, Utc::now()).await
    }

    async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, at, user_id, action, entity, entity_id, detail FROM audit_log ORDER BY id DESC LIMIT $1",
            &[&limit],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(AuditEntry {
                id: get(r, 0)?,
                at: get(r, 1)?,
                user_id: get(r, 2)?,
                action: get(r, 3)?,
                entity: get(r, 4)?,
                entity_id: get(r, 5)?,
                detail: get(r, 6)?,
            })
        })
        .collect()
    }

    async fn table_counts(&self) -> Result<TableCounts> {
        let c = self.client().await?;
        let mut out = vec![];
        for t in TABLES {
            let row = query_one(&c, &format!("SELECT count(*) FROM {t}"), &[]).await?;
            out.push((t.to_string(), get(&row, 0)?));
        }
        Ok(out)
    }

    async fn export_all(&self, out: &mut (dyn std::io::Write + Send)) -> Result<TableCounts> {
        let mut client = self.client().await?;
        // One snapshot for every table, so the export is consistent.
        let t = snapshot(&mut client).await?;
        let mut counts: Vec<(String, i64)> = TABLES.iter().map(|t| (t.to_string(), 0)).collect();
        export_rows(&t, &mut |table, row| {
            let line = serde_json::json!({"table": table, "row": row});
            writeln!(out, "{line}").map_err(db_err)?;
            if let Some(c) = counts.iter_mut().find(|(t, _)| t == table) {
                c.1 += 1;
            }
            Ok(())
        })
        .await?;
        t.commit().await.map_err(pg)?;
        Ok(counts)
    }

    async fn import_all(&self, input: &mut (dyn std::io::BufRead + Send)) -> Result<TableCounts> {
        let mut rows = read_backup(input)?;
        upgrade_backup(&mut rows);
        // One transaction: a row that fails or a difference found by the
        // verification leaves the database as empty as it was.
        in_tx!(self, |t| {
            // No other writer while the emptiness check and the load run.
            t.batch_execute(&format!(
                "LOCK TABLE {} IN EXCLUSIVE MODE",
                TABLES.join(", ")
            ))
            .await
            .map_err(pg)?;
            for table in TABLES {
                let row =
                    query_one(&t, &format!("SELECT EXISTS (SELECT 1 FROM {table})"), &[]).await?;
                if get::<bool>(&row, 0)? {
                    return Err(refuse::restore_needs_empty());
                }
            }
            // Rows arrive in table order, but customers may point at later ones.
            t.batch_execute("SET CONSTRAINTS ALL DEFERRED")
                .await
                .map_err(pg)?;
            // Rows of a table with the same columns go in one statement of
            // up to 500 rows: one round trip per row made the demo's restore
            // take a minute.
            let mut batch = RestoreBatch::default();
            for v in &rows {
                let table = v["table"].as_str().unwrap_or_default();
                if !TABLES.contains(&table) {
                    return Err(StoreError::Db(format!(
                        "unknown table in backup: {table:?}"
                    )));
                }
                let Some(row) = v["row"].as_object() else {
                    continue;
                };
                let cols = columns_of(table)?;
                let mut names = vec![];
                let mut values = vec![];
                for (col, value) in row {
                    let Some((name, kind)) = cols.iter().find(|(c, _)| c == col) else {
                        return Err(StoreError::Db(format!(
                            "unknown column in backup: {table}.{col}"
                        )));
                    };
                    names.push(*name);
                    values.push(json_to_param(table, name, *kind, value)?);
                }
                if !batch.takes(table, &names) {
                    batch.flush(&t).await?;
                    batch.table = table.to_string();
                    batch.names = names;
                }
                batch.values.push(values);
            }
            batch.flush(&t).await?;
            // Restored ids were written explicitly: move each sequence past them.
            for table in TABLES
                .iter()
                .filter(|t| columns_of(t).is_ok_and(|c| c[0].0 == "id"))
            {
                t.batch_execute(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) FROM {table}"
                ))
                .await
                .map_err(pg)?;
            }
            // A backup of an older version spells pinyin without spaces.
            respell_names(&t).await?;
            // Verify before the commit: the rows read back as a backup
            // writes them must be the backup's.
            let mut check = crate::verify::RestoreCheck::new(&rows);
            export_rows(&t, &mut |table, row| {
                check.row(table, &row);
                Ok(())
            })
            .await?;
            check.finish()
        })
    }

    async fn insert_care_tasks(&self, batch: CareTaskBatch) -> Result<u64> {
        if batch.tasks.is_empty() {
            return Ok(0);
        }
        in_tx!(self, |t| {
            let texts = care_text_ids(&t, &batch.texts).await?;
            let text = |i: u32| {
                texts.get(i as usize).copied().ok_or_else(|| {
                    StoreError::Db(format!("care task text {i} is not in the batch"))
                })
            };
            let now = Utc::now();
            let mut n = 0u64;
            // One statement per chunk: the rows travel as arrays.
            for chunk in batch.tasks.chunks(10_000) {
                let kinds: Vec<&str> = chunk.iter().map(|k| k.kind).collect();
                let planned: Vec<NaiveDate> = chunk.iter().map(|k| k.planned_for).collect();
                let dates: Vec<NaiveDate> = chunk.iter().map(|k| k.date).collect();
                let customers: Vec<Option<i64>> = chunk.iter().map(|k| k.customer_id).collect();
                let contacts: Vec<Option<i64>> = chunk.iter().map(|k| k.contact_id).collect();
                let owners: Vec<Option<i64>> = chunk.iter().map(|k| k.salesperson_id).collect();
                let occasions: Vec<i64> = chunk
                    .iter()
                    .map(|k| text(k.occasions))
                    .collect::<Result<_>>()?;
                let templates: Vec<Option<i64>> = chunk
                    .iter()
                    .map(|k| k.template.map(text).transpose())
                    .collect::<Result<_>>()?;
                let messages: Vec<Option<i64>> = chunk
                    .iter()
                    .map(|k| k.message.map(text).transpose())
                    .collect::<Result<_>>()?;
                let channels: Vec<Option<&str>> = chunk.iter().map(|k| k.channel).collect();
                n += execute(
                    &t,
                    "INSERT INTO care_tasks (kind, planned_for, date, customer_id, contact_id, owner_id, occasions_id, template_id, message_id, channel, status, created_at)
                     SELECT k, pf, d, cu, co, ow, oc, tp, ms, ch, 'open', $11
                     FROM unnest($1::text[], $2::date[], $3::date[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[])
                          AS x(k, pf, d, cu, co, ow, oc, tp, ms, ch)
                     ON CONFLICT DO NOTHING",
                    &[&kinds, &planned, &dates, &customers, &contacts, &owners, &occasions, &templates, &messages, &channels, &now],
                )
                .await?;
            }
            Ok(n)
        })
    }

    async fn care_tasks(&self, f: &CareTaskFilter) -> Result<Page<CareTaskRow>> {
        let c = self.client().await?;
        let q = match &f.owners {
            Some(o) if o.is_empty() => return Ok(Page::empty(f.offset, f.limit)),
            // The open tasks of the customers the owners have now (due on
            // their planned day through the key, the others through their
            // own index), then the tasks that keep their owner.
            Some(_) => {
                let mine = format!(
                    "SELECT {} FROM customers c JOIN care_tasks t ON coalesce(t.customer_id, -t.owner_id) = c.id
                     WHERE c.owner_id = ANY($5) AND c.deleted_at IS NULL AND t.status IN ('open', 'snoozed')",
                    care_task_cols("c.owner_id")
                );
                format!(
                    "{mine} AND t.date = t.planned_for AND ($1::date IS NULL OR t.planned_for >= $1)
                       AND ($2::date IS NULL OR t.planned_for <= $2) AND {CARE_TASK_WHERE}
                     UNION ALL
                     {mine} AND t.customer_id = c.id AND t.date <> t.planned_for AND {CARE_TASK_WHERE}
                     UNION ALL
                     SELECT {} FROM care_tasks t LEFT JOIN customers c ON c.id = t.customer_id
                     WHERE (t.customer_id IS NULL OR t.status IN ('done', 'skipped')) AND t.owner_id = ANY($5)
                       AND (t.customer_id IS NULL OR c.deleted_at IS NULL) AND {CARE_TASK_WHERE}",
                    care_task_cols("t.owner_id")
                )
            }
            None => format!(
                "SELECT {} FROM care_tasks t LEFT JOIN customers c ON c.id = t.customer_id
                 WHERE (t.customer_id IS NULL OR c.deleted_at IS NULL) AND {CARE_TASK_WHERE} AND $5::bigint[] IS NULL",
                care_task_cols(CARE_TASK_OWNER)
            ),
        };
        let p: [&(dyn ToSql + Sync); 5] = [&f.from, &f.to, &f.status, &f.kind, &f.owners];
        let total: i64 = get(
            &query_one(&c, &format!("SELECT count(*) FROM ({q}) x"), &p).await?,
            0,
        )?;
        let limit = if f.limit > 0 { Some(f.limit) } else { None };
        let offset = f.offset.max(0);
        let mut p7: Vec<&(dyn ToSql + Sync)> = p.to_vec();
        p7.push(&limit);
        p7.push(&offset);
        let rows = query(
            &c,
            &format!("SELECT * FROM ({q}) x ORDER BY date, id LIMIT $6 OFFSET $7"),
            &p7,
        )
        .await?;
        let mut rows = rows.iter().map(care_task_row).collect::<Result<Vec<_>>>()?;
        if f.details {
            care_task_details(&c, &mut rows).await?;
        }
        Ok(Page {
            capped: false,
            items: rows.into_iter().map(|b| b.row).collect(),
            total,
            offset: f.offset,
            limit: f.limit,
        })
    }

    async fn care_task(&self, id: i64) -> Result<Option<CareTaskRow>> {
        let c = self.client().await?;
        get_care_task(&c, id).await
    }

    async fn set_care_task_status(
        &self,
        id: i64,
        change: &CareStatusChange,
        actor: &User,
    ) -> Result<CareTaskRow> {
        in_tx!(self, |t| {
            query_one(
                &t,
                "SELECT id FROM care_tasks WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?;
            let task = get_care_task(&t, id).await?.ok_or(StoreError::NotFound)?;
            if task.status != change.expected {
                return Err(refuse::task_moved_on(&task.status, &change.expected));
            }
            let activity_id = match (change.activity.clone(), task.customer_id) {
                (Some(mut a), Some(customer)) => {
                    Some(insert_activity(&t, customer, &mut a, actor.id).await?.id)
                }
                _ => task.activity_id,
            };
            let now = Utc::now();
            // Closed, a customer's task keeps the customer's owner of now;
            // open again, it follows the customer's owner again.
            execute(
                &t,
                "UPDATE care_tasks SET status = $2, reason = $3, snoozed_until = $4, activity_id = $5, updated_at = $6,
                        owner_id = CASE WHEN customer_id IS NULL THEN owner_id
                                        WHEN $2 IN ('done', 'skipped') THEN (SELECT c.owner_id FROM customers c WHERE c.id = care_tasks.customer_id) END
                 WHERE id = $1",
                &[&id, &change.status, &change.reason, &change.snoozed_until, &activity_id, &now],
            )
            .await?;
            audit_row(
                &t,
                Some(actor.id),
                &change.status,
                "care_task",
                Some(id),
                &serde_json::json!({"from": task.status}),
                now,
            )
            .await?;
            get_care_task(&t, id).await?.ok_or(StoreError::NotFound)
        })
    }

    async fn care_templates(&self) -> Result<Vec<CareTemplate>> {
        let c = self.client().await?;
        query(
            &c,
            "SELECT id, name, body, occasion, active FROM care_templates ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(care_template_row)
        .collect()
    }

    async fn create_care_template(&self, n: &NewCareTemplate) -> Result<CareTemplate> {
        let c = self.client().await?;
        let row = query_one(
            &c,
            "INSERT INTO care_templates (name, body, occasion, active) VALUES ($1, $2, $3, $4) RETURNING id, name, body, occasion, active",
            &[&n.name, &n.body, &n.occasion, &n.active],
        )
        .await?;
        care_template_row(&row)
    }

    async fn update_care_template(&self, id: i64, n: &NewCareTemplate) -> Result<CareTemplate> {
        let c = self.client().await?;
        let row = query_one(
            &c,
            "UPDATE care_templates SET name = $2, body = $3, occasion = $4, active = $5 WHERE id = $1 RETURNING id, name, body, occasion, active",
            &[&id, &n.name, &n.body, &n.occasion, &n.active],
        )
        .await?;
        care_template_row(&row)
    }

    async fn delete_care_template(&self, id: i64) -> Result<()> {
        let c = self.client().await?;
        if execute(&c, "DELETE FROM care_templates WHERE id = $1", &[&id]).await? == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    async fn care_setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let c = self.client().await?;
        query_opt(
            &c,
            "SELECT value FROM care_settings WHERE key = $1",
            &[&key],
        )
        .await?
        .map(|r| get(&r, 0))
        .transpose()
    }

    async fn put_care_setting(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        let c = self.client().await?;
        execute(
            &c,
            "INSERT INTO care_settings (key, value, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            &[&key, value, &Utc::now()],
        )
        .await?;
        Ok(())
    }

    async fn care_customers(&self, q: &CareCustomerQuery) -> Result<Vec<CareCustomerFacts>> {
        let c = self.client().await?;
        let mut ids = q.ids.clone();
        ids.sort_unstable();
        ids.dedup();
        let rows = query(
            &c,
            "SELECT id, name, owner_id, team_id, class, tier, doc->>'business_stage', (doc->>'key_customer')::boolean,
                    (doc->'card'->>'gifts_forbidden')::boolean, doc->'key_dates', doc->'custom'->'order_weekdays'
             FROM customers WHERE deleted_at IS NULL AND owner_id IS NOT NULL
               AND ($1 OR id = ANY($2) OR class IS NOT NULL OR tier IS NOT NULL
                    OR coalesce((doc->>'key_customer')::boolean, false)
                    OR jsonb_array_length(coalesce(doc->'key_dates', '[]')) > 0
                    OR doc->'custom'->'order_weekdays' IS NOT NULL)
             ORDER BY id",
            &[&q.all, &ids],
        )
        .await?;
        rows.iter()
            .map(|r| {
                let key_dates: Option<serde_json::Value> = get(r, 9)?;
                Ok(CareCustomerFacts {
                    id: get(r, 0)?,
                    name: get(r, 1)?,
                    owner_id: get(r, 2)?,
                    team_id: get(r, 3)?,
                    class: get(r, 4)?,
                    tier: get(r, 5)?,
                    business_stage: get(r, 6)?,
                    key_customer: get::<Option<bool>>(r, 7)?.unwrap_or(false),
                    gifts_forbidden: get::<Option<bool>>(r, 8)?.unwrap_or(false),
                    key_dates: match key_dates {
                        None | Some(serde_json::Value::Null) => vec![],
                        Some(v) => serde_json::from_value(v).map_err(db_err)?,
                    },
                    order_weekdays: get::<Option<serde_json::Value>>(r, 10)?
                        .filter(|v| !v.is_null()),
                })
            })
            .collect()
    }

    async fn care_contacts(
        &self,
        keys: Option<&[String]>,
        customer_ids: &[i64],
    ) -> Result<Vec<CareContactFacts>> {
        let c = self.client().await?;
        let keys: Option<Vec<String>> = keys.map(<[String]>::to_vec);
        let ids = customer_ids.to_vec();
        let rows = query(
            &c,
            "SELECT p.id, p.customer_id, p.name, p.doc->>'title', p.doc->>'level', p.doc->>'birthday'
             FROM contacts p JOIN customers c ON c.id = p.customer_id
             WHERE p.deleted_at IS NULL AND c.deleted_at IS NULL AND c.owner_id IS NOT NULL
               AND ($1::text[] IS NULL OR (p.doc->>'birthday' IS NOT NULL AND
                    (CASE WHEN p.doc->>'birthday' LIKE '农历闰%' THEN 'LL'
                          WHEN p.doc->>'birthday' LIKE '农历%' THEN 'L'
                          ELSE 'S' END || right(p.doc->>'birthday', 5)) = ANY($1))
                    OR p.customer_id = ANY($2))
             ORDER BY p.customer_id, p.id",
            &[&keys, &ids],
        )
        .await?;
        rows.iter()
            .map(|r| {
                let level: Option<String> = get(r, 4)?;
                let birthday: Option<String> = get(r, 5)?;
                Ok(CareContactFacts {
                    id: get(r, 0)?,
                    customer_id: get(r, 1)?,
                    name: get(r, 2)?,
                    title: get(r, 3)?,
                    level: level
                        .as_deref()
                        .and_then(|l| keqing_domain::contact::ContactLevel::parse(l).ok()),
                    birthday: birthday
                        .as_deref()
                        .and_then(|b| keqing_domain::contact::Birthday::parse(b).ok()),
                })
            })
            .collect()
    }

    async fn care_roster(&self, after: i64, limit: i64) -> Result<CareRoster> {
        let mut client = self.client().await?;
        let t = snapshot(&mut client).await?;
        let customers = query(
            &t,
            "SELECT id, owner_id FROM customers WHERE deleted_at IS NULL AND owner_id IS NOT NULL
               AND id > $1 ORDER BY id LIMIT $2",
            &[&after, &limit],
        )
        .await?
        .iter()
        .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
        .collect::<Result<Vec<(i64, i64)>>>()?;
        let contacts = match (customers.first(), customers.last()) {
            (Some(&(lo, _)), Some(&(hi, _))) => query(
                &t,
                "SELECT p.id, p.customer_id FROM contacts p JOIN customers c ON c.id = p.customer_id
                 WHERE p.deleted_at IS NULL AND c.deleted_at IS NULL AND c.owner_id IS NOT NULL
                   AND p.customer_id >= $1 AND p.customer_id <= $2
                 ORDER BY p.customer_id, p.id",
                &[&lo, &hi],
            )
            .await?
            .iter()
            .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
            .collect::<Result<Vec<_>>>()?,
            _ => vec![],
        };
        t.commit().await.map_err(pg)?;
        Ok(CareRoster {
            customers,
            contacts,
        })
    }

    async fn care_task_contacts(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        planned: (NaiveDate, NaiveDate),
    ) -> Result<CareTaskContacts> {
        let c = self.client().await?;
        let rows = query(
            &c,
            "SELECT kind, customer_id, contact_id, planned_for, date FROM care_tasks
             WHERE date >= $1 AND date <= $2 AND status = 'open' AND customer_id IS NOT NULL
             UNION ALL
             SELECT kind, customer_id, contact_id, planned_for, snoozed_until FROM care_tasks
             WHERE status = 'snoozed' AND snoozed_until >= $1 AND snoozed_until <= $2 AND customer_id IS NOT NULL",
            &[&from, &to],
        )
        .await?;
        let mut out = CareTaskContacts::default();
        for r in &rows {
            let Some(kind) = care_kind(get::<&str>(r, 0)?) else {
                continue;
            };
            let task = CareTaskContact {
                kind,
                customer_id: get(r, 1)?,
                contact_id: get(r, 2)?,
                planned_for: get(r, 3)?,
                date: get(r, 4)?,
            };
            out.push(task, planned);
        }
        Ok(out.finish())
    }

    async fn activity_facts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        stages_from: DateTime<Utc>,
    ) -> Result<Vec<ActivityFact>> {
        let c = self.client().await?;
        let rows = query(
            &c,
            "SELECT a.customer_id, a.user_id, a.kind, a.at, CASE WHEN a.kind = 'visit' AND a.at >= $3 THEN c.doc->>'business_stage' END
             FROM activities a JOIN customers c ON c.id = a.customer_id
             WHERE a.at >= $1 AND a.at < $2 AND c.deleted_at IS NULL ORDER BY a.at, a.id",
            &[&from, &to, &stages_from],
        )
        .await?;
        let mut out = vec![];
        for r in &rows {
            let kind: String = get(r, 2)?;
            let Ok(kind) = keqing_domain::activity::ActivityKind::parse(&kind) else {
                continue;
            };
            out.push(ActivityFact {
                customer_id: get(r, 0)?,
                user_id: get(r, 1)?,
                kind,
                at: get(r, 3)?,
                customer_stage: get(r, 4)?,
            });
        }
        Ok(out)
    }

    async fn create_analysis_snapshot(&self, n: &NewAnalysisSnapshot) -> Result<AnalysisSnapshot> {
        in_tx!(self, |t| {
            let row = query_one(
                &t,
                &format!(
                    "INSERT INTO analysis_snapshots (kind, name, params, as_of, summary, members, created_at, created_by)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {SNAPSHOT_COLS}"
                ),
                &[
                    &n.kind,
                    &n.name,
                    &n.params,
                    &n.as_of,
                    &n.summary,
                    &(n.members.len() as i64),
                    &Utc::now(),
                    &n.created_by,
                ],
            )
            .await?;
            let snap = snapshot_row(&row)?;
            // Members in batches of arrays: one statement per batch, not per row.
            for chunk in n.members.chunks(IMPORT_BATCH * 5) {
                let ids: Vec<i64> = chunk.iter().map(|m| m.customer_id).collect();
                let classes: Vec<Option<String>> = chunk.iter().map(|m| m.class.clone()).collect();
                let data: Vec<serde_json::Value> = chunk.iter().map(|m| m.data.clone()).collect();
                execute(
                    &t,
                    "INSERT INTO analysis_snapshot_members (snapshot_id, customer_id, class, data)
                     SELECT $1, m.customer_id, m.class, m.data
                     FROM unnest($2::bigint[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS m(customer_id, class, data, n)
                     ORDER BY m.n",
                    &[&snap.id, &ids, &classes, &data],
                )
                .await?;
            }
            Ok(snap)
        })
    }

    async fn analysis_snapshots(&self, created_by: Option<i64>) -> Result<Vec<AnalysisSnapshot>> {
        let c = self.client().await?;
        query(
            &c,
            &format!(
                "SELECT {SNAPSHOT_COLS} FROM analysis_snapshots
                 WHERE $1::bigint IS NULL OR created_by = $1 ORDER BY id DESC"
            ),
            &[&created_by],
        )
        .await?
        .iter()
        .map(snapshot_row)
        .collect()
    }

    async fn analysis_snapshot(&self, id: i64) -> Result<Option<AnalysisSnapshot>> {
        let c = self.client().await?;
        query_opt(
            &c,
            &format!("SELECT {SNAPSHOT_COLS} FROM analysis_snapshots WHERE id = $1"),
            &[&id],
        )
        .await?
        .map(|r| snapshot_row(&r))
        .transpose()
    }

    async fn analysis_snapshot_members(
        &self,
        id: i64,
        f: &SnapshotMemberFilter,
    ) -> Result<Page<SnapshotMemberRow>> {
        let c = self.client().await?;
        // The caller's scope over live customers, as a customer list has it.
        let (w, mut p) = customer_where(&CustomerFilter {
            visibility: f.visibility.clone(),
            ..Default::default()
        });
        let scope = w.strip_prefix("WHERE ").unwrap_or("TRUE").to_string();
        let sid = p.push(id);
        let class = p.push(f.class.clone());
        let from = format!(
            "FROM analysis_snapshot_members m JOIN customers c ON c.id = m.customer_id
             WHERE m.snapshot_id = {sid} AND ({class}::text IS NULL OR m.class = {class})
               AND m.customer_id IN (SELECT id FROM customers WHERE {scope})"
        );
        let total: i64 = get(
            &query_one(&c, &format!("SELECT count(*) {from}"), &p.refs()).await?,
            0,
        )?;
        let limit = if f.limit > 0 { Some(f.limit) } else { None };
        let lim = p.push(limit);
        let off = p.push(f.offset.max(0));
        let rows = query(
            &c,
            &format!(
                "SELECT m.customer_id, c.name, c.owner_id, m.class, m.data {from}
                 ORDER BY m.id LIMIT {lim} OFFSET {off}"
            ),
            &p.refs(),
        )
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(SnapshotMemberRow {
                    customer_id: get(r, 0)?,
                    name: get(r, 1)?,
                    owner_id: get(r, 2)?,
                    class: get(r, 3)?,
                    data: get(r, 4)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Page {
            capped: false,
            items,
            total,
            offset: f.offset.max(0),
            limit: f.limit,
        })
    }

    async fn delete_analysis_snapshot(&self, id: i64) -> Result<()> {
        in_tx!(self, |t| {
            execute(
                &t,
                "DELETE FROM analysis_snapshot_members WHERE snapshot_id = $1",
                &[&id],
            )
            .await?;
            if execute(&t, "DELETE FROM analysis_snapshots WHERE id = $1", &[&id]).await? == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        })
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
