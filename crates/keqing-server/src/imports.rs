//! Import and export of customers, contacts and orders (SPEC §1): the file is
//! parsed by keqing-io, the good rows are stored, every bad row is reported
//! with its line and column. The command line and the API share this code.

use crate::auth::CurrentUser;
use crate::customers::{custom_fields_in, visibility};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::AppState;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keqing_domain::access::{Action, Resource, Scope};
use keqing_domain::custom_field::CustomFieldDef;
use keqing_domain::User;
use keqing_io::{
    CustomerRef, FieldName, ImportOptions, IoError, RecordKind, RowError, Warning, CUSTOM_PREFIX,
};
use keqing_store::{
    CustomerFilter, ImportContact, ImportCustomer, ImportRows, Store, StoreError, IMPORT_BATCH,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// What an import did, row by row.
#[derive(Debug, Clone, Serialize)]
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
async fn custom_fields_for(
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
    let table = keqing_io::read_table_bytes(bytes, file_name, &keqing_io::ReadOptions::default())?;
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
            let reader = tokio::task::spawn_blocking(move || {
                let read = keqing_io::import_customers_to(&table, &opts, IMPORT_BATCH, |chunk| {
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
            report.imported = out.imported;
            report.existing = out.existing.len() as u64;
            fill(
                &mut report,
                batch.data_rows,
                batch.blank_rows,
                batch.errors,
                batch.warnings,
            );
        }
        RecordKind::Contact => {
            let (read_tx, mut read) = ImportRows::channel(table.data_rows());
            let reader = tokio::task::spawn_blocking(move || {
                let r = keqing_io::import_contacts_to(&table, &opts, IMPORT_BATCH, |chunk| {
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
            let mut errors = batch.errors;
            errors.extend(resolved?);
            let out = stored?;
            report.imported = out.imported;
            report.existing = out.existing.len() as u64;
            fill(
                &mut report,
                batch.data_rows,
                batch.blank_rows,
                errors,
                batch.warnings,
            );
        }
        RecordKind::Order => {
            let batch = keqing_io::import_orders(&table, &opts)?;
            let mut errors = batch.errors;
            let mut cache =
                prefetch_codes(store, batch.records.iter().map(|(_, r)| &r.customer_ref)).await?;
            let mut seen: HashMap<String, u32> = HashMap::new();
            let mut orders = vec![];
            for (line, row) in &batch.records {
                let Some(id) = resolve_cached(store, &mut cache, &row.customer_ref)
                    .await?
                    .filter(|id| may_touch(*id))
                else {
                    errors.push(row_error(*line, Some("客户"), describe(&row.customer_ref)));
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
            report.imported = out.imported;
            report.existing = out.existing;
            fill(
                &mut report,
                batch.data_rows,
                batch.blank_rows,
                errors,
                batch.warnings,
            );
        }
    }
    Ok(report)
}

fn fill(
    r: &mut ImportReport,
    data_rows: usize,
    blank_rows: usize,
    mut errors: Vec<RowError>,
    warnings: Vec<Warning>,
) {
    errors.sort_by_key(|e| e.line);
    let mut lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    lines.dedup();
    r.data_rows = data_rows;
    r.blank_rows = blank_rows;
    r.rejected = lines.len();
    r.errors = errors;
    r.warnings = warnings;
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// customers: the user who owns the imported customers (default: you)
    owner: Option<i64>,
    /// the file's name when the body is the raw file (tells CSV from XLSX)
    filename: Option<String>,
    /// `true`: show what the import would do and store nothing.
    #[serde(default)]
    preview: bool,
}

/// Where the rows of a file were read from, as a preview shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewSource {
    /// `csv`, `xlsx`, `xls`, `ods`…
    pub format: String,
    /// CSV only: `utf-8`, `utf-8-bom`, `gbk` (read as GB18030, its superset) or `utf-16`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding: Option<&'static str>,
    /// CSV only: the field delimiter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Spreadsheet only: the sheet read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// The line (or spreadsheet row) of the header.
    pub header_line: usize,
}

/// A column of the file and the field it feeds.
#[derive(Debug, Clone, Serialize)]
pub struct PreviewColumn {
    pub index: usize,
    pub header: String,
    /// `name`…, or `custom.KEY` for a custom profile field.
    pub field: Option<FieldName>,
    /// The field's usual Chinese header (`客户名称`), or a custom field's label (`肤质`).
    pub field_label: Option<String>,
    /// `mapped`, `unknown` (its data is not imported), `duplicate` (an earlier
    /// column means the same field: the import refuses the file) or
    /// `ignored` (the 错误原因 column of a file of rejected rows).
    pub status: keqing_io::ColumnStatus,
}

/// What importing a file would do: `POST /imports/{kind}?preview=true`.
#[derive(Debug, Clone, Serialize)]
pub struct ImportPreview {
    pub kind: &'static str,
    pub file: String,
    pub source: PreviewSource,
    pub columns: Vec<PreviewColumn>,
    /// Required fields no column feeds (a required custom field as
    /// `custom.KEY`): the import would refuse the file.
    pub missing_required: Vec<FieldName>,
    /// Their usual Chinese headers, in the same order (`客户名称`, `肤质`).
    pub missing_required_labels: Vec<String>,
    /// What the import would refuse the whole file for, in its words.
    pub file_errors: Vec<String>,
    /// True when the import would take the file (rows may still be refused).
    pub importable: bool,
    pub data_rows: usize,
    pub blank_rows: usize,
    /// The first rows that are not blank, as the import reads them.
    pub sample: Vec<keqing_io::SampleRow>,
    /// Rows of the sample with an error.
    pub errors_in_sample: usize,
    pub warnings: Vec<Warning>,
    /// What the preview does not check.
    pub note: Option<&'static str>,
}

/// What users call a field: a column's usual Chinese header, or a custom
/// field's label.
fn field_label(kind: RecordKind, custom: &[CustomFieldDef], field: &str) -> Option<String> {
    match field.strip_prefix(CUSTOM_PREFIX) {
        Some(key) => custom
            .iter()
            .find(|d| d.key == key)
            .map(|d| d.label.clone()),
        None => kind.column(field).map(|c| c.zh.to_string()),
    }
}

/// Previews importing `bytes` as `kind` with the deployment's custom fields
/// (for customers); reads nothing from the store.
pub fn preview_file(
    kind: RecordKind,
    bytes: &[u8],
    file_name: &str,
    custom_fields: Vec<CustomFieldDef>,
) -> Result<ImportPreview, IoError> {
    let table = keqing_io::read_table_bytes(bytes, file_name, &keqing_io::ReadOptions::default())?;
    let opts = ImportOptions {
        custom_fields,
        ..Default::default()
    };
    let p = keqing_io::preview(kind, &table, &opts, keqing_io::PREVIEW_ROWS)?;
    let label = |f: &str| field_label(kind, &opts.custom_fields, f);
    let source = match &table.source {
        keqing_io::TableSource::Csv {
            encoding,
            delimiter,
        } => PreviewSource {
            format: "csv".into(),
            encoding: Some(match encoding {
                keqing_io::TextEncoding::Utf8 => "utf-8",
                keqing_io::TextEncoding::Utf8Bom => "utf-8-bom",
                keqing_io::TextEncoding::Gb18030 => "gbk",
                keqing_io::TextEncoding::Utf16 => "utf-16",
            }),
            delimiter: Some((*delimiter as char).to_string()),
            sheet: None,
            header_line: table.header_line,
        },
        keqing_io::TableSource::Sheet { name } => {
            let ext = std::path::Path::new(file_name)
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .filter(|e| ["xlsx", "xlsm", "xls", "xlsb", "ods"].contains(&e.as_str()));
            PreviewSource {
                format: ext.unwrap_or_else(|| {
                    if bytes.starts_with(b"PK") {
                        "xlsx"
                    } else {
                        "xls"
                    }
                    .into()
                }),
                encoding: None,
                delimiter: None,
                sheet: Some(name.clone()),
                header_line: table.header_line,
            }
        }
    };
    let columns = p
        .columns
        .into_iter()
        .map(|c| PreviewColumn {
            field_label: c.field.as_deref().and_then(label),
            index: c.index,
            header: c.header,
            field: c.field,
            status: c.status,
        })
        .collect();
    Ok(ImportPreview {
        kind: kind_name(kind),
        file: file_name.to_string(),
        source,
        columns,
        importable: p.missing_required.is_empty() && p.file_errors.is_empty(),
        missing_required_labels: p
            .missing_required
            .iter()
            .map(|f| label(f).unwrap_or_else(|| f.to_string()))
            .collect(),
        missing_required: p.missing_required,
        file_errors: p.file_errors,
        data_rows: p.data_rows,
        blank_rows: p.blank_rows,
        sample: p.sample,
        errors_in_sample: p.errors_in_sample,
        warnings: p.warnings,
        note: match kind {
            RecordKind::Customer => None,
            _ => Some("客户在导入时才匹配 the customer each row names is looked up when the file is imported: rows naming no customer you may change are refused then"),
        },
    })
}

fn bad_file(e: IoError) -> ApiError {
    let details = match &e {
        // A file past a reader's limit: which limit, its value, and where.
        IoError::TooLarge {
            limit,
            line,
            column,
            ..
        } => serde_json::json!({
            "limit": limit,
            "max": limit.max(),
            "line": line,
            "column": column,
        }),
        _ => serde_json::Value::Null,
    };
    let code = if matches!(e, IoError::TooLarge { .. }) {
        "file_too_large"
    } else {
        "bad_file"
    };
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string()).with_details(details)
}

/// `POST /api/v1/imports/{kind}`: the file as the raw body (name in
/// `?filename=`) or as the `file` field of a multipart form. With
/// `?preview=true`, the column mapping and the first rows checked, and
/// nothing stored.
#[utoipa::path(
    post,
    path = "/imports/{kind}",
    tag = "files",
    operation_id = "imports_upload",
    description = "Import customers, contacts or orders from CSV/XLSX (raw body with ?filename=, or multipart field `file`); returns {imported, existing, rejected, errors: [{line, column, message}]}. With ?preview=true nothing is stored: returns {kind, file, source: {format, encoding, delimiter | sheet, header_line}, columns: [{index, header, field (custom.KEY for a custom field), field_label, status: mapped|unknown|duplicate|ignored}], missing_required: [field], missing_required_labels, file_errors, importable, data_rows, sample: [{line, cells: {field: value}, errors: [{line, column, column_index, field, message}]}] (the first 20 rows), errors_in_sample, warnings, note} (a contact's or order's customer is looked up only by the import)",
    params(("kind" = String, Path, description = "customers, contacts or orders"), ImportParams),
    request_body(description = "The file: raw (with ?filename=) or multipart/form-data with the field `file`", content((crate::openapi::BinaryFile = "application/octet-stream"), (String = "text/csv"), (crate::openapi::UploadForm = "multipart/form-data"))),
    responses((status = 200, description = "{imported, existing, rejected, errors: [{line, column, message}]}; with preview=true the column mapping and the first rows checked", body = crate::openapi::AnyObject), (status = 413, description = "too_large: the file is over the upload limit", body = crate::openapi::ErrorBody), (status = 429, description = "busy: the import budget is taken; Retry-After says when to try again", body = crate::openapi::ErrorBody))
)]
pub async fn upload(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Path(kind): Path<String>,
    Query(p): Query<ImportParams>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let kind = parse_kind(&kind)
        .ok_or_else(|| ApiError::not_found("import kind (customers, contacts or orders)"))?;
    let resource = match kind {
        RecordKind::Customer => Resource::Customer,
        RecordKind::Contact => Resource::Contact,
        RecordKind::Order => Resource::Order,
    };
    if st.grants.scope(u.role, resource, Action::Create).is_none() {
        return Err(ApiError::forbidden(&format!("import {}", kind_name(kind))));
    }
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    // Who may import is checked above; what the import may take, here.
    let owner = match (kind, p.owner) {
        (RecordKind::Customer, Some(o)) if o != u.id => {
            let scope = st.grants.scope(u.role, Resource::Customer, Action::Create);
            let target = st.store.user(o).await?.ok_or_else(|| {
                crate::customers::out_of_reach("owner", o, scope, "import customers for that owner")
            })?;
            let ok = match scope {
                Some(Scope::All) => true,
                Some(Scope::Team) => target.team_id.is_some() && target.team_id == u.team_id,
                _ => false,
            };
            if !ok {
                return Err(ApiError::forbidden("import customers for that owner"));
            }
            Some(o)
        }
        _ => Some(u.id),
    };
    // Each import holds its file and its rows in memory: a bounded number
    // run at once, and the file is streamed to disk, counted against the
    // limit as it comes, before it is read.
    let _permit = admit(&st, &headers, multipart)?;
    let (file, name) = receive(
        request,
        multipart,
        p.filename.clone(),
        st.config.max_upload_bytes,
    )
    .await?;
    let bytes = tokio::fs::read(&*file).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("无法读取上传的文件 the upload could not be read back: {e}"),
        )
    })?;
    drop(file);
    if p.preview {
        // Refused above as the import would be (kind, owner); nothing is stored.
        // The preview reads the file only: parsing a big one is work for a
        // blocking thread, not for the runtime's.
        let custom = custom_fields_for(st.store.as_ref(), kind).await?;
        let preview =
            tokio::task::spawn_blocking(move || preview_file(kind, &bytes, &name, custom))
                .await
                .map_err(|e| {
                    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
                })?
                .map_err(bad_file)?;
        return Ok(Json(preview).into_response());
    }
    // Contacts and orders may only go to customers the caller may change.
    let mut allowed = std::collections::HashSet::new();
    if kind != RecordKind::Customer {
        let vis = visibility(&st, &u, resource)?;
        let scope = CustomerFilter {
            visibility: vis,
            ..Default::default()
        };
        for c in keqing_store::all_customers(st.store.as_ref(), &scope).await? {
            if st
                .grants
                .allows(&u, resource, Action::Create, crate::customers::row(&c))
            {
                allowed.insert(c.id);
            }
        }
    }
    let may = move |id: i64| allowed.contains(&id);
    let report = import_file(st.store.as_ref(), kind, &bytes, &name, owner, &u, &may)
        .await
        .map_err(|e| match e {
            ImportFailure::File(e) => bad_file(e),
            ImportFailure::Store(e) => e.into(),
        })?;
    Ok(Json(report).into_response())
}

use axum::extract::FromRequest;

/// 429 while the imports running hold too much of the import budget
/// ([`ServerConfig::import_budget_bytes`](crate::ServerConfig)) for this one.
fn busy() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "imports_busy",
        "导入繁忙，请稍后再试 other imports are running; this one does not fit beside them, try again in a moment",
    )
    .with_details(serde_json::json!({"retry_after": IMPORT_RETRY_SECONDS}))
    .with_retry_after(IMPORT_RETRY_SECONDS)
}

/// Room in a multipart form for what is not the file (boundaries, headers,
/// other fields).
const FORM_OVERHEAD: u64 = 64 * 1024;

/// Takes the upload's share of the import budget: its size as the client
/// declares it, or the whole upload limit when it does not (a body too
/// large for the limit is refused before anything is read).
fn admit(
    st: &AppState,
    headers: &HeaderMap,
    multipart: bool,
) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    let limit = st.config.max_upload_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let room = if multipart { FORM_OVERHEAD } else { 0 };
    if declared.is_some_and(|n| n > limit.saturating_add(room)) {
        return Err(too_large(limit));
    }
    let share = declared.map_or(limit, |n| n.min(limit));
    st.imports
        .clone()
        .try_acquire_many_owned(crate::import_permits(share))
        .map_err(|_| busy())
}

/// How long a refused import is asked to wait.
const IMPORT_RETRY_SECONDS: u16 = 30;

fn too_large(limit: u64) -> ApiError {
    let mib = limit / (1024 * 1024);
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "file_too_large",
        format!(
            "上传的文件过大，上限为{mib} MB the file is larger than the import limit of {limit} bytes ({mib} MiB); import it with `keqing import` or split it"
        ),
    )
    .with_details(serde_json::json!({"limit_bytes": limit}))
}

fn unreadable(e: impl std::fmt::Display) -> ApiError {
    unreadable_as(e, None)
}

/// A multipart form that could not be read; 413 where the form was cut at
/// the body limit.
fn bad_form(e: axum::extract::multipart::MultipartError) -> ApiError {
    let status = e.status();
    unreadable_as(e, Some(status))
}

fn unreadable_as(e: impl std::fmt::Display, status: Option<StatusCode>) -> ApiError {
    let text = e.to_string();
    if status == Some(StatusCode::PAYLOAD_TOO_LARGE) || text.contains("length limit") {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "file_too_large",
            format!("上传的文件过大 the upload is larger than the import limit: {text}"),
        );
    }
    ApiError::bad_request(format!(
        "无法读取上传的文件 could not read the upload: {text}"
    ))
}

/// Streams an upload (the raw body, or a multipart form's `file` field) to
/// a temporary file, refusing it with 413 once it passes `limit` bytes.
async fn receive(
    request: axum::extract::Request,
    multipart: bool,
    filename: Option<String>,
    limit: u64,
) -> Result<(tempfile::TempPath, String), ApiError> {
    use tokio::io::AsyncWriteExt;
    let temp = tempfile::Builder::new()
        .prefix("keqing-upload-")
        .tempfile()
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("无法保存上传的文件 no room for the upload: {e}"),
            )
        })?;
    let (std_file, path) = temp.into_parts();
    let mut out = tokio::fs::File::from_std(std_file);
    let mut written: u64 = 0;
    let mut write = async |chunk: &[u8]| -> Result<(), ApiError> {
        written += chunk.len() as u64;
        if written > limit {
            return Err(too_large(limit));
        }
        out.write_all(chunk).await.map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("无法保存上传的文件 the upload could not be written: {e}"),
            )
        })
    };
    let name = if multipart {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(unreadable)?;
        let mut found = None;
        while let Some(mut field) = form.next_field().await.map_err(bad_form)? {
            if field.name() != Some("file") || found.is_some() {
                continue;
            }
            found = Some(field.file_name().unwrap_or("upload.csv").to_string());
            while let Some(chunk) = field.chunk().await.map_err(bad_form)? {
                write(&chunk).await?;
            }
        }
        found.ok_or_else(|| {
            ApiError::invalid("file", "缺少上传的文件 the form has no `file` field")
        })?
    } else {
        use axum::body::HttpBody;
        let mut body = request.into_body();
        while let Some(frame) =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
        {
            if let Ok(data) = frame.map_err(unreadable)?.into_data() {
                write(&data).await?;
            }
        }
        filename.unwrap_or_else(|| "upload.csv".into())
    };
    out.flush().await.map_err(unreadable)?;
    Ok((path, name))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// csv (default) or xlsx
    format: Option<String>,
    /// zh (default: Chinese headers) or en
    lang: Option<String>,
}

/// Customers with their primary contact, in the caller's scope.
pub async fn customer_rows(
    st: &AppState,
    u: &User,
) -> Result<Vec<keqing_io::CustomerRow>, ApiError> {
    let scope = CustomerFilter {
        visibility: visibility(st, u, Resource::Customer)?,
        ..Default::default()
    };
    let mut rows = vec![];
    for c in keqing_store::all_customers(st.store.as_ref(), &scope).await? {
        let contact = st
            .store
            .contacts(c.id)
            .await?
            .into_iter()
            .next()
            .map(|k| k.fields);
        rows.push(keqing_io::CustomerRow {
            customer: c.fields,
            contact,
        });
    }
    Ok(rows)
}

/// `GET /api/v1/exports/customers?format=csv|xlsx&lang=zh|en`.
#[utoipa::path(
    get,
    path = "/exports/customers",
    tag = "files",
    operation_id = "imports_export_customers",
    description = "Export the customers in your scope as CSV or XLSX (format=csv|xlsx, lang=zh|en), with a column per custom field headed with its label (zh) or key (en)",
    params(ExportParams),
    responses((status = 200, description = "The file", content((String = "text/csv"), (crate::openapi::BinaryFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))))
)]
pub async fn export_customers(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let lang = match p.lang.as_deref() {
        None | Some("zh") => keqing_io::Lang::Zh,
        Some("en") => keqing_io::Lang::En,
        Some(o) => {
            return Err(ApiError::invalid(
                "lang",
                format!("语言参数不正确 use zh or en, not {o:?}"),
            ))
        }
    };
    let rows = customer_rows(&st, &u).await?;
    let custom = custom_fields_in(st.store.as_ref()).await?;
    let fail = |e: IoError| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "export_failed",
            e.to_string(),
        )
    };
    let (bytes, ctype, ext) = match p.format.as_deref() {
        None | Some("csv") => (
            keqing_io::write_customers_csv(
                &rows,
                &custom,
                keqing_io::ExportOptions {
                    lang,
                    encoding: keqing_io::CsvEncoding::Utf8Bom,
                },
            )
            .map_err(fail)?,
            "text/csv; charset=utf-8",
            "csv",
        ),
        Some("xlsx") => (
            keqing_io::write_customers_xlsx(&rows, &custom, lang).map_err(fail)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        Some(o) => {
            return Err(ApiError::invalid(
                "format",
                format!("导出格式不正确 use csv or xlsx, not {o:?}"),
            ))
        }
    };
    st.store
        .audit(
            Some(u.id),
            "export",
            "customer",
            None,
            serde_json::json!({"rows": rows.len(), "format": ext}),
        )
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"customers.{ext}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /api/v1/imports/{kind}/template`: an empty file to fill in, a CSV
/// (UTF-8 with BOM, so spreadsheet programs read the Chinese) whose header
/// row is every column the import knows, by its Chinese name, and for
/// customers each custom field of the deployment by its label.
#[utoipa::path(
    get,
    path = "/imports/{kind}/template",
    tag = "files",
    operation_id = "imports_template",
    description = "An empty CSV to fill in (UTF-8 with BOM): a header row of every column the import of customers, contacts or orders knows, by its Chinese name, and for customers each custom field by its label",
    params(("kind" = String, Path, description = "customers, contacts or orders")),
    responses((status = 200, description = "An empty CSV (UTF-8 with BOM) with a header row", body = String, content_type = "text/csv"))
)]
pub async fn template(
    State(st): State<AppState>,
    CurrentUser(_u): CurrentUser,
    Path(kind): Path<String>,
) -> Result<Response, ApiError> {
    let kind = parse_kind(&kind)
        .ok_or_else(|| ApiError::not_found("import kind (customers, contacts or orders)"))?;
    let custom = custom_fields_for(st.store.as_ref(), kind).await?;
    let header_row: Vec<String> = kind
        .columns()
        .iter()
        .map(|c| c.zh.to_string())
        .chain(
            custom
                .iter()
                .map(|d| keqing_io::fields::custom_header(&custom, d, &d.label)),
        )
        .collect();
    // A label is free text: quoted where CSV needs it.
    let quoted: Vec<String> = header_row
        .into_iter()
        .map(|h| {
            if h.contains([',', '"', '\r', '\n']) {
                format!("\"{}\"", h.replace('"', "\"\""))
            } else {
                h
            }
        })
        .collect();
    let body = format!("\u{feff}{}\r\n", quoted.join(","));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"keqing-{}-template.csv\"",
                    kind_name(kind)
                ),
            ),
        ],
        body,
    )
        .into_response())
}
