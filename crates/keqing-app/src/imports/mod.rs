//! Import of customers, contacts and orders (SPEC §1): the file is parsed
//! by keqing-io, the good rows are stored, every bad row is reported with
//! its line and column. The command line and the API share this code.

mod preview;

pub use preview::{preview_file, ImportPreview, PreviewColumn, PreviewSource};

use crate::custom_fields::custom_fields_in;
use keqing_domain::custom_field::CustomFieldDef;
use keqing_domain::User;
use keqing_io::{CustomerRef, ImportBatch, ImportOptions, IoError, RecordKind, RowError, Warning};
use keqing_store::{ImportContact, ImportCustomer, ImportRows, Store, StoreError, IMPORT_BATCH};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// What an import did, row by row.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub kind: &'static str,
    pub file: String,
    /// Rows after the header, blank ones included.
    pub data_rows: usize,
    pub blank_rows: usize,
    /// Records stored by this run.
    pub imported: u64,
    /// Good rows whose record was stored already (a re-run creates nothing new).
    pub existing: u64,
    /// Rows refused, each reported in `errors`.
    pub rejected: usize,
    pub errors: Vec<RowError>,
    pub warnings: Vec<Warning>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// The file as a whole could not be read (format, header, missing column).
    #[error("{0}")]
    File(#[from] IoError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

pub fn kind_name(kind: RecordKind) -> &'static str {
    match kind {
        RecordKind::Customer => "customers",
        RecordKind::Contact => "contacts",
        RecordKind::Order => "orders",
    }
}

/// How a file imported as `kind` is read: a workbook from the sheet named
/// for it (an export's 客户 and 联系人 sheets), else its first.
pub fn read_options(kind: RecordKind) -> keqing_io::ReadOptions {
    keqing_io::ReadOptions {
        kind: Some(kind),
        ..Default::default()
    }
}

pub fn parse_kind(s: &str) -> Option<RecordKind> {
    match s {
        "customers" => Some(RecordKind::Customer),
        "contacts" => Some(RecordKind::Contact),
        "orders" => Some(RecordKind::Order),
        _ => None,
    }
}

fn row_error(line: usize, column: Option<&str>, message: String) -> RowError {
    RowError {
        line,
        column: column.map(str::to_string),
        column_index: None,
        field: None,
        message,
    }
}

async fn resolve(store: &dyn Store, r: &CustomerRef) -> Result<Option<i64>, StoreError> {
    Ok(match r {
        CustomerRef::Id(id) => store
            .customer(*id)
            .await?
            .filter(|c| c.deleted_at.is_none())
            .map(|c| c.id),
        CustomerRef::ExternalCode(code) => store.resolve_customer(Some(code), None).await?,
        CustomerRef::Name(name) => store.resolve_customer(None, Some(name)).await?,
    })
}

/// Resolves a customer reference once per file: many rows name the same customer.
async fn resolve_cached(
    store: &dyn Store,
    cache: &mut HashMap<CustomerRef, Option<i64>>,
    r: &CustomerRef,
) -> Result<Option<i64>, StoreError> {
    if let Some(v) = cache.get(r) {
        return Ok(*v);
    }
    let v = resolve(store, r).await?;
    cache.insert(r.clone(), v);
    Ok(v)
}

/// The external codes among `refs`, in their order.
fn external_codes<'a>(refs: impl Iterator<Item = &'a CustomerRef>) -> Vec<String> {
    refs.filter_map(|r| match r {
        CustomerRef::ExternalCode(c) => Some(c.clone()),
        _ => None,
    })
    .collect()
}

/// Resolves every external code of a file in one store call: a file of a
/// million contacts would otherwise make a million lookups.
async fn prefetch_codes<'a>(
    store: &dyn Store,
    refs: impl Iterator<Item = &'a CustomerRef>,
) -> Result<HashMap<CustomerRef, Option<i64>>, StoreError> {
    let mut codes = external_codes(refs);
    codes.sort_unstable();
    codes.dedup();
    let found = store.resolve_codes(&codes).await?;
    Ok(codes
        .into_iter()
        .zip(found)
        .map(|(c, id)| (CustomerRef::ExternalCode(c), id))
        .collect())
}

/// Why a row's customer is not one it may touch: 找不到客户 or 客户名称不唯一,
/// then the English as before.
fn describe(r: &CustomerRef) -> String {
    match r {
        CustomerRef::Id(id) => {
            format!("找不到客户或无权修改 no customer with id {id} that you may change")
        }
        CustomerRef::ExternalCode(c) => {
            format!("找不到客户或无权修改 no customer with code {c} that you may change")
        }
        CustomerRef::Name(n) => format!(
            "找不到客户、客户重名或无权修改 no single customer named {n:?} that you may change"
        ),
    }
}

/// The custom fields a file of `kind` may fill: the deployment's, for customers.
pub async fn custom_fields_for(
    store: &dyn Store,
    kind: RecordKind,
) -> Result<Vec<CustomFieldDef>, StoreError> {
    match kind {
        RecordKind::Customer => custom_fields_in(store).await,
        _ => Ok(vec![]),
    }
}

/// Imports one file. `may_touch` says whether `actor` may add to a customer
/// (contacts, orders); rows for other customers are refused row by row. A
/// customers file fills the deployment's custom fields, read here from the
/// store (for the API and the command line alike).
pub async fn import_file(
    store: &dyn Store,
    kind: RecordKind,
    bytes: &[u8],
    file_name: &str,
    owner: Option<i64>,
    actor: &User,
    may_touch: &(dyn Fn(i64) -> bool + Send + Sync),
) -> Result<ImportReport, ImportFailure> {
    import_file_with_progress(
        store,
        kind,
        bytes,
        file_name,
        owner,
        actor,
        may_touch,
        crate::no_progress(),
    )
    .await
}

/// [`import_file`] telling `progress` the data rows read of the file's
/// (rows are stored as they are read, a batch behind).
#[allow(clippy::too_many_arguments)]
pub async fn import_file_with_progress(
    store: &dyn Store,
    kind: RecordKind,
    bytes: &[u8],
    file_name: &str,
    owner: Option<i64>,
    actor: &User,
    may_touch: &(dyn Fn(i64) -> bool + Send + Sync),
    progress: crate::Progress,
) -> Result<ImportReport, ImportFailure> {
    let table = keqing_io::read_table_bytes(bytes, file_name, &read_options(kind))?;
    let total = table.data_rows() as u64;
    let header_line = table.header_line;
    // The rows read by the line of a batch's last row.
    let read_to = move |line: usize| (line.saturating_sub(header_line) as u64).min(total);
    progress(0, total);
    let opts = ImportOptions {
        custom_fields: custom_fields_for(store, kind).await?,
        ..Default::default()
    };
    let mut report = ImportReport {
        kind: kind_name(kind),
        file: file_name.to_string(),
        data_rows: 0,
        blank_rows: 0,
        imported: 0,
        existing: 0,
        rejected: 0,
        errors: vec![],
        warnings: vec![],
    };
    match kind {
        RecordKind::Customer => {
            // The file is read on one thread while the store writes what it
            // has read: a million rows are never all in memory, parsed.
            let (tx, rows) = ImportRows::channel(table.data_rows());
            let told = progress.clone();
            let reader = tokio::task::spawn_blocking(move || {
                let read = keqing_io::import_customers_to(&table, &opts, IMPORT_BATCH, |chunk| {
                    if let Some((line, _)) = chunk.last() {
                        told(read_to(*line), total);
                    }
                    tx.blocking_send(
                        chunk
                            .into_iter()
                            .map(|(line, r)| ImportCustomer {
                                line: line as u64,
                                customer: r.customer,
                                contact: r.contact,
                            })
                            .collect(),
                    )
                });
                if read.is_ok() {
                    tx.blocking_finish();
                }
                read
            });
            let stored = store.import_customers(rows, owner, actor).await;
            // A file that cannot be read is the answer, before what the store made of it.
            let batch = reader.await.map_err(|e| StoreError::Db(e.to_string()))??;
            let out = stored?;
            fill(
                &mut report,
                out.imported,
                out.existing.len() as u64,
                batch,
                vec![],
            );
        }
        RecordKind::Contact => {
            let (read_tx, mut read) = ImportRows::channel(table.data_rows());
            let told = progress.clone();
            let reader = tokio::task::spawn_blocking(move || {
                let r = keqing_io::import_contacts_to(&table, &opts, IMPORT_BATCH, |chunk| {
                    if let Some((line, _)) = chunk.last() {
                        told(read_to(*line), total);
                    }
                    read_tx.blocking_send(chunk)
                });
                if r.is_ok() {
                    read_tx.blocking_finish();
                }
                r
            });
            let (tx, rows) = ImportRows::channel(read.expected());
            // Each batch read has its customers looked up while the store
            // writes the batch before: its external codes in one call, the
            // rest (ids, names) one by one, remembered for the file. (The
            // codes were remembered too: a million contacts' map cost the
            // import a second of the thread that reads ahead of the writer.)
            // The codes' answers come in the rows' order: sorted, put in a
            // map and looked up again, they took half of this thread's time.
            let resolve = async {
                let mut errors = vec![];
                let mut cache = HashMap::new();
                while let Some(chunk) = read.next().await? {
                    let codes = external_codes(chunk.iter().map(|(_, r)| &r.customer_ref));
                    let mut by_code = store.resolve_codes(&codes).await?.into_iter();
                    let mut rows = Vec::with_capacity(chunk.len());
                    for (line, row) in chunk {
                        let id = match &row.customer_ref {
                            CustomerRef::ExternalCode(_) => by_code.next().flatten(),
                            _ => resolve_cached(store, &mut cache, &row.customer_ref).await?,
                        };
                        let Some(id) = id.filter(|id| may_touch(*id)) else {
                            errors.push(row_error(line, Some("客户"), describe(&row.customer_ref)));
                            continue;
                        };
                        rows.push(ImportContact {
                            line: line as u64,
                            customer_id: id,
                            contact: row.contact,
                        });
                    }
                    if !tx.send(rows).await {
                        break;
                    }
                }
                tx.finish().await;
                Ok::<_, StoreError>(errors)
            };
            let (resolved, stored) = tokio::join!(resolve, store.import_contacts(rows, actor));
            let batch = reader.await.map_err(|e| StoreError::Db(e.to_string()))??;
            let refused = resolved?;
            let out = stored?;
            fill(
                &mut report,
                out.imported,
                out.existing.len() as u64,
                batch,
                refused,
            );
        }
        RecordKind::Order => {
            let batch = keqing_io::import_orders(&table, &opts)?;
            let mut refused = vec![];
            let mut cache =
                prefetch_codes(store, batch.records.iter().map(|(_, r)| &r.customer_ref)).await?;
            let mut seen: HashMap<String, u32> = HashMap::new();
            let mut orders = vec![];
            for (i, (line, row)) in batch.records.iter().enumerate() {
                if i % 1000 == 0 {
                    progress(read_to(*line), total);
                }
                let Some(id) = resolve_cached(store, &mut cache, &row.customer_ref)
                    .await?
                    .filter(|id| may_touch(*id))
                else {
                    refused.push(row_error(*line, Some("客户"), describe(&row.customer_ref)));
                    continue;
                };
                let mut o = row.to_new_order(id);
                if o.external_id.is_none() {
                    // Without an order number, the row's content (and how many
                    // identical rows came before it) names it: a re-run is idempotent.
                    let key = format!(
                        "{id}|{}|{}|{}|{:?}|{:?}",
                        row.ordered_at, row.amount, row.quantity, row.product, row.store
                    );
                    let n = seen.entry(key.clone()).or_insert(0);
                    *n += 1;
                    let h = Sha256::digest(format!("{key}|{n}").as_bytes());
                    o.external_id = Some(format!(
                        "auto-{}",
                        h.iter()
                            .take(10)
                            .map(|b| format!("{b:02x}"))
                            .collect::<String>()
                    ));
                }
                orders.push(o);
            }
            let out = store.add_orders(&orders).await?;
            fill(&mut report, out.imported, out.existing, batch, refused);
        }
    }
    progress(total, total);
    Ok(report)
}

/// The report of a file: what the store `imported` and found `existing`,
/// the rows `read` refused and those `refused` here (their customer), by line.
fn fill<T>(
    r: &mut ImportReport,
    imported: u64,
    existing: u64,
    read: ImportBatch<T>,
    refused: Vec<RowError>,
) {
    let mut errors = read.errors;
    errors.extend(refused);
    errors.sort_by_key(|e| e.line);
    let mut lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    lines.dedup();
    r.imported = imported;
    r.existing = existing;
    r.data_rows = read.data_rows;
    r.blank_rows = read.blank_rows;
    r.rejected = lines.len();
    r.errors = errors;
    r.warnings = read.warnings;
}
