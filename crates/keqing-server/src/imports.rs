//! Import and export of customers, contacts and orders over HTTP (SPEC §1):
//! the upload is received and bounded here; the import itself, its
//! preview and what an export holds are `keqing-app`'s, shared with the
//! command line.

use crate::auth::CurrentUser;
use crate::customers::{custom_fields_in, visibility};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query};
use crate::AppState;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keqing_app::exports::customer_export;
use keqing_app::imports::{
    custom_fields_for, import_file, kind_name, parse_kind, preview_file, ImportFailure,
};
use keqing_domain::access::{Action, Resource, Scope};
use keqing_io::{IoError, RecordKind};
use keqing_store::CustomerFilter;
use serde::Deserialize;

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
    responses((status = 200, description = "What the import did, row by row; with preview=true the column mapping and the first rows checked", body = ImportAnswer), (status = 413, description = "too_large: the file is over the upload limit", body = crate::openapi::ErrorBody), (status = 429, description = "busy: the import budget is taken; Retry-After says when to try again", body = crate::openapi::ErrorBody))
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
        return Ok(Json(ImportAnswer::Preview(preview)).into_response());
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
    Ok(Json(ImportAnswer::Report(report)).into_response())
}

/// An import's answer: what it did, or with `preview=true` what it would do.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ImportAnswer {
    Report(keqing_app::imports::ImportReport),
    Preview(keqing_app::imports::ImportPreview),
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

/// An export's language and format (csv, the default, or xlsx).
fn export_choice(p: &ExportParams) -> Result<(keqing_io::Lang, &str), ApiError> {
    let lang = export_lang(p.lang.as_deref())?;
    let format = p.format.as_deref().unwrap_or("csv");
    if !matches!(format, "csv" | "xlsx") {
        return Err(bad_format(format));
    }
    Ok((lang, format))
}

/// The header language of an export (`lang`).
fn export_lang(lang: Option<&str>) -> Result<keqing_io::Lang, ApiError> {
    match lang {
        None | Some("zh") => Ok(keqing_io::Lang::Zh),
        Some("en") => Ok(keqing_io::Lang::En),
        Some(o) => Err(ApiError::invalid(
            "lang",
            format!("语言参数不正确 use zh or en, not {o:?}"),
        )),
    }
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A file to download, audited as an export of `what` (`rows` rows).
async fn export_answer(
    st: &AppState,
    u: &keqing_domain::User,
    what: &str,
    rows: usize,
    (bytes, ext): (Vec<u8>, &str),
) -> Result<Response, ApiError> {
    st.store
        .audit(
            Some(u.id),
            "export",
            what,
            None,
            serde_json::json!({"rows": rows, "format": ext}),
        )
        .await?;
    let ctype = if ext == "xlsx" {
        XLSX
    } else {
        "text/csv; charset=utf-8"
    };
    let name = if what == "contact" {
        "contacts"
    } else {
        "customers"
    };
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{ext}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

fn export_failed(e: IoError) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "export_failed",
        e.to_string(),
    )
}

fn bad_format(o: &str) -> ApiError {
    ApiError::invalid(
        "format",
        format!("导出格式不正确 use csv or xlsx, not {o:?}"),
    )
}

/// `GET /api/v1/exports/customers?format=csv|xlsx&lang=zh|en`: the
/// customers in the caller's scope. As XLSX, a workbook of two sheets,
/// 客户 (customers) and 联系人 (every contact of each, with its customer's
/// code or name); as CSV the customers, whose contacts are the CSV of
/// `GET /exports/contacts`. Either imports back: the customers through
/// `/imports/customers`, then the contacts through `/imports/contacts`
/// (the same workbook: the import reads the sheet named for its kind).
#[utoipa::path(
    get,
    path = "/exports/customers",
    tag = "files",
    operation_id = "imports_export_customers",
    description = "Export the customers in your scope (format=csv|xlsx, lang=zh|en), with a column per custom field headed with its label (zh) or key (en). XLSX: a workbook of two sheets, 客户/customers and 联系人/contacts (every contact, naming its customer by code or name); CSV: the customers, whose contacts are GET /exports/contacts. Both import back: customers first (POST /imports/customers), then contacts (POST /imports/contacts, which reads the workbook's contacts sheet)",
    params(ExportParams),
    responses((status = 200, description = "The file", content((String = "text/csv"), (crate::openapi::BinaryFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = 422, description = "invalid: format or lang", body = crate::openapi::ErrorBody))
)]
pub async fn export_customers(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let (lang, format) = export_choice(&p)?;
    let export = customer_export(st.store.as_ref(), &st.grants, &u).await?;
    let custom = custom_fields_in(st.store.as_ref()).await?;
    let file = if format == "xlsx" {
        let contacts = export.contact_rows();
        keqing_io::write_customer_book(&export.customers, &contacts, &custom, lang)
    } else {
        keqing_io::write_customers_csv(
            &export.customers,
            &custom,
            keqing_io::ExportOptions {
                lang,
                encoding: keqing_io::CsvEncoding::Utf8Bom,
            },
        )
    }
    .map_err(export_failed)?;
    export_answer(&st, &u, "customer", export.customers.len(), (file, format)).await
}

/// `GET /api/v1/exports/contacts?format=csv|xlsx&lang=zh|en`: every contact
/// of the customers in the caller's scope, each naming its customer by its
/// code (统一社会信用代码) or else its name, with its consent per channel:
/// the file `POST /imports/contacts` reads back after the customers.
#[utoipa::path(
    get,
    path = "/exports/contacts",
    tag = "files",
    operation_id = "imports_export_contacts",
    description = "Export every contact of the customers in your scope (format=csv|xlsx, lang=zh|en), each naming its customer by code or name, with birthday (solar or 农历) and consent per channel; imports back through POST /imports/contacts once the customers are in",
    params(ExportParams),
    responses((status = 200, description = "The file", content((String = "text/csv"), (crate::openapi::BinaryFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = 422, description = "invalid: format or lang", body = crate::openapi::ErrorBody))
)]
pub async fn export_contacts(
    State(st): State<AppState>,
    CurrentUser(u): CurrentUser,
    Query(p): Query<ExportParams>,
) -> Result<Response, ApiError> {
    let (lang, format) = export_choice(&p)?;
    let contacts = customer_export(st.store.as_ref(), &st.grants, &u)
        .await?
        .contact_rows();
    let file = if format == "xlsx" {
        keqing_io::write_contacts_xlsx(&contacts, lang)
    } else {
        keqing_io::write_contacts_csv(
            &contacts,
            keqing_io::ExportOptions {
                lang,
                encoding: keqing_io::CsvEncoding::Utf8Bom,
            },
        )
    }
    .map_err(export_failed)?;
    export_answer(&st, &u, "contact", contacts.len(), (file, format)).await
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
