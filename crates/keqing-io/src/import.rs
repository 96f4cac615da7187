//! Rows of a [`Table`] validated into domain types: every data row becomes
//! either a record or at least one [`RowError`], never nothing.

use crate::dates::{china_to_utc, parse_date, parse_datetime, parse_key_dates};
use crate::error::{IoError, RowError, Warning};
use crate::export::undefuse;
use crate::fields::{
    classify_headers, custom_field_name, header_map, map_headers, may_span_lines, FieldName,
    HeaderMap, RecordKind, CARD_PREFIX, CONSENT_CHANNELS, CONSENT_PREFIX, CUSTOM_PREFIX,
};
use crate::table::{QuoteProblem, Row, RowIssue, Table, TableSource};
use chrono::{NaiveDate, NaiveDateTime};
use keqing_domain::custom_field::{self, CustomFieldDef};
use keqing_domain::customer::normalise_name;
use keqing_domain::{ContactInput, CustomerInput, FieldList, Money, NewOrder, ValidationError};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How to import a table.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Header as written in the file → field name; overrides recognition.
    /// `""` or `"-"` leaves a column out without a warning.
    pub mapping: BTreeMap<String, String>,
    /// The deployment's custom profile fields (the caller reads them where
    /// they are kept): a customers file fills them by their label or key,
    /// each value checked by `keqing_domain::custom_field::check_values`, as
    /// the API checks it.
    pub custom_fields: Vec<CustomFieldDef>,
}

/// The outcome of importing one file: the good records with their lines, an
/// error for every bad row (a row may have several), warnings about columns,
/// and the count of blank rows. `records.len() + bad_rows() + blank_rows ==
/// data_rows` always holds.
#[derive(Debug, Clone, Serialize)]
pub struct ImportBatch<T> {
    pub records: Vec<(usize, T)>,
    pub errors: Vec<RowError>,
    pub warnings: Vec<Warning>,
    pub blank_rows: usize,
    /// Rows after the header, blank ones included.
    pub data_rows: usize,
}

impl<T> ImportBatch<T> {
    /// Number of rows rejected (distinct lines with an error).
    pub fn bad_rows(&self) -> usize {
        self.errors
            .iter()
            .map(|e| e.line)
            .collect::<BTreeSet<_>>()
            .len()
    }
}

/// A customer row: the customer and, when the row has contact columns filled,
/// its primary contact (联系人).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerRow {
    pub customer: CustomerInput,
    pub contact: Option<ContactInput>,
}

/// How a contacts or orders file names the customer a row belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum CustomerRef {
    /// keqing's own customer id (客户ID).
    Id(i64),
    /// Unified social credit code or other external code (客户编号), upper case
    /// as `CustomerInput` stores it.
    ExternalCode(String),
    /// The customer's name as written (客户名称); match it with
    /// `keqing_domain::customer::normalise_name`.
    Name(String),
}

/// A contact row of a contacts file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactRow {
    /// The most precise reference the row gives: id, then code, then name.
    pub customer_ref: CustomerRef,
    /// The customer's name when the row also gives it next to an id or code.
    pub customer_name: Option<String>,
    pub contact: ContactInput,
}

/// An order row of an orders file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderRow {
    pub customer_ref: CustomerRef,
    pub customer_name: Option<String>,
    /// The order number in the source system (订单号): makes a re-import idempotent.
    pub external_id: Option<String>,
    /// Wall-clock time in China as written in the file (a date alone is 00:00).
    pub ordered_at: NaiveDateTime,
    pub amount: Money,
    /// 1 when the file has no quantity.
    pub quantity: i64,
    pub product: Option<String>,
    pub channel: Option<String>,
    pub store: Option<String>,
    pub due_date: Option<NaiveDate>,
    pub paid_date: Option<NaiveDate>,
}

impl OrderRow {
    /// The domain order once the customer reference has been resolved to an id.
    pub fn to_new_order(&self, customer_id: i64) -> NewOrder {
        NewOrder {
            external_id: self.external_id.clone(),
            customer_id,
            ordered_at: china_to_utc(self.ordered_at),
            amount: self.amount,
            quantity: self.quantity,
            unit: None,
            product: self.product.clone(),
            channel: self.channel.clone(),
            store: self.store.clone(),
            due_date: self.due_date,
            paid_date: self.paid_date,
        }
    }
}

/// A cell's text as the import reads it: trimmed, and in a CSV without the
/// `'` that keeps Excel from running it as a formula.
pub(crate) fn cell_text<'r>(source: &TableSource, cell: &'r str) -> &'r str {
    match source {
        TableSource::Csv { .. } => undefuse(cell.trim()),
        TableSource::Sheet { .. } => cell.trim(),
    }
}

/// Whether a run imports (file-level problems stop the file) or previews
/// (they are reported by the preview, and the rows are checked anyway: the
/// first of two columns meaning one field is read, a missing column is blank).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Import,
    Preview,
}

/// The columns a file of `kind` must have, given the fields its header maps:
/// each group needs one of its fields. A customers file with contact columns
/// needs the contact's name.
pub fn required_fields(
    kind: RecordKind,
    mapped: &[Option<FieldName>],
) -> &'static [&'static [&'static str]] {
    match kind {
        RecordKind::Customer if mapped.iter().flatten().any(|f| f.starts_with("contact_")) => {
            &[&["name"], &["contact_name"]]
        }
        RecordKind::Customer => &[&["name"]],
        RecordKind::Contact => &[&["name"], REF_FIELDS],
        RecordKind::Order => &[REF_FIELDS, &["order_date"], &["amount"]],
    }
}

/// A [`IoError::MissingColumn`] for every required group `map` lacks, and
/// in a customers file an [`IoError::MissingCustomColumn`] for every
/// required custom field without a column, each with the field a preview
/// names (of the ways to name a customer, the name: what most files have).
pub(crate) fn missing_columns(
    kind: RecordKind,
    map: &HeaderMap,
    custom: &[CustomFieldDef],
) -> Vec<(FieldName, IoError)> {
    let mut out = Vec::new();
    for any_of in required_fields(kind, &map.fields) {
        if !any_of.iter().any(|f| map.has(f)) {
            let mut accepted = Vec::new();
            for f in *any_of {
                if let Some(c) = kind.column(f) {
                    accepted.push(c.zh);
                    accepted.extend(c.aliases.iter().copied());
                    accepted.push(c.field);
                }
            }
            let first = kind.column(any_of[0]);
            let shown = if any_of.contains(&"customer_name") {
                "customer_name"
            } else {
                any_of[0]
            };
            out.push((
                FieldName::Borrowed(shown),
                IoError::MissingColumn {
                    field: any_of[0],
                    header: first.map(|c| c.zh).unwrap_or(any_of[0]),
                    accepted,
                },
            ));
        }
    }
    if kind == RecordKind::Customer {
        for d in custom.iter().filter(|d| d.required) {
            let field = custom_field_name(&d.key);
            if !map.has(&field) {
                out.push((
                    field,
                    IoError::MissingCustomColumn {
                        key: d.key.clone(),
                        label: d.label.clone(),
                    },
                ));
            }
        }
    }
    out
}

/// The columns of one table and how to point at them in errors.
struct Sheet<'a> {
    table: &'a Table,
    map: HeaderMap,
}

impl Sheet<'_> {
    fn error(&self, line: usize, col: Option<usize>, field: Option<&str>, msg: String) -> RowError {
        RowError {
            line,
            column: col.and_then(|c| self.table.headers.get(c).filter(|h| !h.is_empty()).cloned()),
            column_index: col.map(|c| self.table.column_offset + c + 1),
            field: field.map(str::to_string),
            message: msg,
        }
    }

    /// An error about a field, pointing at its column when the file has one.
    fn field_error(&self, line: usize, field: &str, msg: String) -> RowError {
        self.error(line, self.map.position(field), Some(field), msg)
    }

    /// A cell's text: trimmed, and in a CSV without the `'` that keeps Excel
    /// from running it as a formula.
    fn text<'r>(&self, cell: &'r str) -> &'r str {
        cell_text(&self.table.source, cell)
    }

    /// The trimmed text of a field in a row; `None` when absent or blank.
    fn get<'r>(&self, row: &'r Row, field: &str) -> Option<&'r str> {
        let i = self.map.position(field)?;
        row.cells
            .get(i)
            .map(|s| self.text(s))
            .filter(|s| !s.is_empty())
    }

    /// The mapped fields of a row as the members the domain parsers take
    /// (`from_fields`); `select` picks the fields and names their keys
    /// (`contact_mobile` → `mobile`).
    fn object<'f, 'k>(
        &'f self,
        row: &Row,
        select: impl Fn(&'f str) -> Option<&'k str>,
    ) -> FieldList<'k> {
        let mut m = FieldList::with_capacity(self.map.fields.len());
        for (i, f) in self.map.fields.iter().enumerate() {
            let Some(key) = f.as_deref().and_then(&select) else {
                continue;
            };
            // A blank cell is an absent value to the domain parsers.
            let v = row.cells.get(i).map(|s| self.text(s)).unwrap_or("");
            if !v.is_empty() {
                m.insert(key, Value::String(v.to_string()));
            }
        }
        m
    }

    fn validation(&self, line: usize, e: ValidationError, prefix: &str) -> Vec<RowError> {
        e.errors
            .into_iter()
            .map(|fe| {
                // The domain names a card's field `card.KEY`; the file's column is `card_KEY`.
                let field = match fe.field.strip_prefix("card.") {
                    Some(k) => format!("{prefix}{CARD_PREFIX}{k}"),
                    None => format!("{prefix}{}", fe.field),
                };
                self.field_error(line, &field, fe.message)
            })
            .collect()
    }

    /// A line break in a field that must be one line (see
    /// [`may_span_lines`]): in a CSV, a quote left open that swallowed the
    /// lines after it.
    fn line_break(&self, row: &Row) -> Option<RowError> {
        if !row.cells.has_line_break() {
            return None;
        }
        let (i, field, _) = self.map.fields.iter().enumerate().find_map(|(i, f)| {
            let f = f.as_deref().filter(|f| !may_span_lines(f))?;
            let cell = row.cells.get(i)?;
            self.text(cell)
                .contains(['\n', '\r'])
                .then_some((i, f, cell))
        })?;
        let msg = match self.table.source {
            TableSource::Csv { .. } => {
                let before: usize = row.cells.iter().take(i).map(line_breaks).sum();
                let open = row.line + before;
                format!(
                    "引号未闭合 第{open}行的引号字段跨行，但{field}只能有一行 unclosed quote: the quoted field opened at line {open} runs across lines, but {field} must be one line"
                )
            }
            TableSource::Sheet { .. } => {
                format!("单元格不能换行 {field} must be one line: the cell holds a line break")
            }
        };
        Some(self.error(row.line, Some(i), Some(field), msg))
    }

    /// The error for a row that could not be read as it stands.
    fn issue(&self, row: &Row) -> Option<RowError> {
        let n = self.table.headers.len();
        let Some(issue) = row.issue.as_ref() else {
            return self.line_break(row);
        };
        Some(match issue {
            RowIssue::BadEncoding { column_index } => self.error(
                row.line,
                Some(column_index - 1),
                None,
                "编码错误 bad encoding: the row has bytes that are not valid text in the file's encoding".into(),
            ),
            RowIssue::FieldCount { found } if *found < n => self.error(
                row.line,
                Some(*found),
                None,
                format!("缺少列 missing column: the row has {found} fields, the header {n}"),
            ),
            RowIssue::FieldCount { found } => {
                let mut e = self.error(
                    row.line,
                    None,
                    None,
                    format!("多余的列 extra fields: the row has {found} fields, the header {n}"),
                );
                e.column_index = Some(self.table.column_offset + n + 1);
                e
            }
            RowIssue::CellError {
                column_index,
                error,
            } => self.error(
                row.line,
                Some(column_index - 1),
                None,
                format!("单元格错误 the cell holds the error value {error}"),
            ),
            RowIssue::Quote {
                column_index,
                line,
                problem,
            } => self.error(
                row.line,
                Some(column_index - 1),
                None,
                match problem {
                    QuoteProblem::Unclosed => format!(
                        "引号未闭合 第{line}行的引号到文件末尾都没有闭合 unclosed quote: the quote opened at line {line} is never closed"
                    ),
                    QuoteProblem::TooLong => format!(
                        "引号未闭合 第{line}行的引号字段跨行超过 {} 个字符 unclosed quote: the quoted field opened at line {line} runs across lines past {} characters",
                        crate::error::thousands(crate::table::MAX_CELL_CHARS as u64),
                        crate::error::thousands(crate::table::MAX_CELL_CHARS as u64)
                    ),
                    QuoteProblem::AfterClosing => format!(
                        "引号后有多余字符 第{line}行的引号字段在闭合引号后还有字符 characters after the closing quote of the field opened at line {line}"
                    ),
                },
            ),
        })
    }
}

/// Line breaks in a cell (`\r\n` is one).
fn line_breaks(cell: &str) -> usize {
    cell.matches('\n').count() + cell.matches('\r').count() - cell.matches("\r\n").count()
}

/// Where [`import_table`] puts the good records.
pub(crate) enum Records<'a, T> {
    /// All of them in the batch it returns.
    Collect,
    /// `chunk` at a time, as the rows are read, to the function, which
    /// answers `false` when it takes no more (the reading stops there).
    Stream(usize, &'a mut dyn FnMut(Vec<(usize, T)>) -> bool),
}

/// Runs `parse` on every readable row, turning everything else into errors.
fn import_table<T>(
    table: &Table,
    kind: RecordKind,
    opts: &ImportOptions,
    mode: Mode,
    mut records: Records<T>,
    mut parse: impl FnMut(&Sheet, &Row) -> Result<T, Vec<RowError>>,
) -> Result<ImportBatch<T>, IoError> {
    let map = match mode {
        Mode::Import => {
            let map = map_headers(
                kind,
                &table.headers,
                &opts.mapping,
                &opts.custom_fields,
                table.column_offset,
            )?;
            if let Some((_, e)) = missing_columns(kind, &map, &opts.custom_fields)
                .into_iter()
                .next()
            {
                return Err(e);
            }
            map
        }
        Mode::Preview => header_map(&classify_headers(
            kind,
            &table.headers,
            &opts.mapping,
            &opts.custom_fields,
            table.column_offset,
        )?),
    };
    let sheet = Sheet { table, map };
    let mut batch = ImportBatch {
        // A stream's chunks are made whole at once: grown row by row, a
        // chunk of customers (800 bytes each) was copied to a place twice
        // its size eleven times over.
        records: match &records {
            Records::Stream(chunk, _) => Vec::with_capacity(*chunk),
            Records::Collect => Vec::new(),
        },
        errors: Vec::new(),
        warnings: sheet.map.warnings.clone(),
        blank_rows: table.blank_rows,
        data_rows: table.data_rows(),
    };
    // Data under a column without a header is left out: say so once per column.
    let mut unnamed_warned = BTreeSet::new();
    for row in &table.rows {
        for (i, cell) in row.cells.iter().enumerate() {
            let unnamed = table.headers.get(i).is_none_or(|h| h.is_empty());
            if unnamed
                && i < table.headers.len()
                && !cell.trim().is_empty()
                && unnamed_warned.insert(i)
            {
                batch.warnings.push(Warning {
                    column: None,
                    column_index: Some(table.column_offset + i + 1),
                    message: format!(
                        "第{}列没有表头，数据未导入 column {} has no header: its data is not imported (first at line {})",
                        table.column_offset + i + 1,
                        table.column_offset + i + 1,
                        row.line
                    ),
                });
            }
        }
        if let Some(e) = sheet.issue(row) {
            batch.errors.push(e);
            continue;
        }
        match parse(&sheet, row) {
            Ok(r) => batch.records.push((row.line, r)),
            Err(errs) if errs.is_empty() => {
                batch
                    .errors
                    .push(sheet.error(row.line, None, None, "该行无效 invalid row".into()))
            }
            Err(errs) => batch.errors.extend(errs),
        }
        if let Records::Stream(chunk, to) = &mut records {
            if batch.records.len() >= *chunk
                && !to(std::mem::replace(
                    &mut batch.records,
                    Vec::with_capacity(*chunk),
                ))
            {
                return Ok(batch);
            }
        }
    }
    if let Records::Stream(_, to) = &mut records {
        if !batch.records.is_empty() {
            to(std::mem::take(&mut batch.records));
        }
    }
    Ok(batch)
}

/// A code Excel has turned into a number and shortened (`9.13201E+17`): the
/// digits are lost, so the value must not be taken as a code.
fn shortened_by_excel(v: &str) -> bool {
    let Some((mantissa, exp)) = v.split_once(['E', 'e']) else {
        return false;
    };
    let exp = exp.strip_prefix('+').unwrap_or(exp);
    !mantissa.is_empty()
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !exp.is_empty()
        && exp.bytes().all(|b| b.is_ascii_digit())
}

/// Errors for code columns whose values Excel has shortened.
fn check_codes(s: &Sheet, row: &Row, fields: &[&str], errors: &mut Vec<RowError>) {
    for f in fields {
        if let Some(v) = s.get(row, f).filter(|v| shortened_by_excel(v)) {
            errors.push(s.field_error(
                row.line,
                f,
                format!("编号被Excel改成了科学计数法 {v:?} is a code Excel shortened to a number: format the column as text and export again"),
            ));
        }
    }
}

/// The first line of each key a file holds, for telling its duplicates: a
/// hash map sized for every row at once and on foldhash, whose seed is
/// random per process like the standard one's. With SipHash, growing as
/// they filled, a customers file's two maps were about 4% of its import's
/// processor time (`perf`, 300,000 customers); with these, that import took
/// a median 14.7 s of processor time against 15.5 s (three runs each, in
/// turn).
type Seen<K> = HashMap<K, usize, foldhash::fast::RandomState>;

fn seen_in<K>(table: &Table) -> Seen<K> {
    HashMap::with_capacity_and_hasher(table.data_rows(), Default::default())
}

/// "与第N行重复（…） duplicate of line N (…)": `zh` and `what` say what is the same.
fn duplicate(line: usize, zh: &str, what: &str) -> String {
    format!("与第{line}行重复（{zh}） duplicate of line {line} ({what})")
}

/// Imports a customers file (客户). Each row is a `CustomerInput`, plus the
/// primary contact when any `联系人…` column is filled (a file with contact
/// columns must have the 联系人 column: map a 手机 column that is the
/// company's own number to `phone`). A second row with the
/// same external code, or the same normalised name and phone, is an error
/// "duplicate of line N".
pub fn import_customers(
    table: &Table,
    opts: &ImportOptions,
) -> Result<ImportBatch<CustomerRow>, IoError> {
    customers_in(table, opts, Mode::Import)
}

/// [`import_customers`] handing the good records to `to`, `chunk` at a
/// time, as the rows are read, so a big file is stored while it is read.
/// `to` answers `false` to stop the reading. The batch returned holds the
/// errors, warnings and counts, and no records.
pub fn import_customers_to(
    table: &Table,
    opts: &ImportOptions,
    chunk: usize,
    mut to: impl FnMut(Vec<(usize, CustomerRow)>) -> bool,
) -> Result<ImportBatch<CustomerRow>, IoError> {
    customers_to(table, opts, Mode::Import, Records::Stream(chunk, &mut to))
}

pub(crate) fn customers_in(
    table: &Table,
    opts: &ImportOptions,
    mode: Mode,
) -> Result<ImportBatch<CustomerRow>, IoError> {
    customers_to(table, opts, mode, Records::Collect)
}

fn customers_to(
    table: &Table,
    opts: &ImportOptions,
    mode: Mode,
    records: Records<CustomerRow>,
) -> Result<ImportBatch<CustomerRow>, IoError> {
    let mut by_code: Seen<String> = seen_in(table);
    let mut by_key: Seen<String> = seen_in(table);
    // Contact columns without the contact's name would reject every row that
    // fills them: `required_fields` says it once, for the file.
    import_table(
        table,
        RecordKind::Customer,
        opts,
        mode,
        records,
        |s, row| {
            let line = row.line;
            let mut errors = Vec::new();
            check_codes(s, row, &["external_code"], &mut errors);
            let custom = custom_values(s, row, &opts.custom_fields, &mut errors);
            let mut obj = s.object(row, |f| {
                (!f.starts_with("contact_")
                    && !f.starts_with(CARD_PREFIX)
                    && !f.starts_with(CUSTOM_PREFIX))
                .then_some(f)
            });
            let card = s.object(row, |f| f.strip_prefix(CARD_PREFIX));
            if !card.is_empty() {
                obj.insert("card", Value::Object(card.to_map()));
            }
            // A cell of key dates (`公司成立日 2006-05-18；…`), parsed here as
            // the custom fields are.
            let key_dates = match obj.remove("key_dates") {
                Some(Value::String(text)) => parse_key_dates(&text)
                    .map_err(|m| errors.push(s.field_error(line, "key_dates", m)))
                    .unwrap_or_default(),
                _ => vec![],
            };
            // Filled in place: the struct update syntax copied all of it.
            let customer = CustomerInput::from_fields(&obj)
                .map(|mut c| {
                    c.custom = custom;
                    c.key_dates = key_dates;
                    c
                })
                .map_err(|e| errors.extend(s.validation(line, e, "")))
                .ok();
            let contact_obj = s.object(row, |f| f.strip_prefix("contact_").and_then(contact_field));
            let contact = if !contact_obj.is_empty() {
                ContactInput::from_fields(&contact_obj)
                    .map_err(|e| errors.extend(s.validation(line, e, "contact_")))
                    .ok()
            } else {
                None
            };
            let Some(customer) = customer.filter(|_| errors.is_empty()) else {
                return Err(errors);
            };
            if let Some(code) = &customer.external_code {
                if let Some(first) = by_code.get(code) {
                    return Err(vec![s.field_error(
                        line,
                        "external_code",
                        duplicate(*first, "统一社会信用代码相同", "same external code"),
                    )]);
                }
            }
            if let Some(key) = customer.dedup_key() {
                if let Some(first) = by_key.get(&key) {
                    return Err(vec![s.field_error(
                        line,
                        "name",
                        duplicate(*first, "客户名称和电话相同", "same name and phone"),
                    )]);
                }
                by_key.insert(key, line);
            }
            if let Some(code) = &customer.external_code {
                by_code.insert(code.clone(), line);
            }
            Ok(CustomerRow { customer, contact })
        },
    )
}

/// A customers row's values of the deployment's custom fields, checked and
/// normalised as the API checks them (a bad value, or none for a required
/// field, is an error naming `custom.KEY` and its column).
fn custom_values(
    s: &Sheet,
    row: &Row,
    defs: &[CustomFieldDef],
    errors: &mut Vec<RowError>,
) -> BTreeMap<String, Value> {
    if defs.is_empty() {
        return BTreeMap::new();
    }
    let given = s
        .object(row, |f| f.strip_prefix(CUSTOM_PREFIX))
        .to_map()
        .into_iter()
        .collect();
    custom_field::check_values(defs, &given)
        .map_err(|e| {
            for mut fe in e.errors {
                // The domain's message starts with the field's label for the
                // API; here the error names the column already.
                let key = fe.field.strip_prefix(CUSTOM_PREFIX).unwrap_or_default();
                let label = defs.iter().find(|d| d.key == key).map(|d| &d.label);
                if let Some(rest) = label
                    .filter(|_| s.map.has(&fe.field))
                    .and_then(|l| fe.message.strip_prefix(l.as_str()))
                    .and_then(|m| m.strip_prefix(": "))
                {
                    fe.message = rest.to_string();
                }
                errors.push(s.field_error(row.line, &fe.field, fe.message));
            }
        })
        .unwrap_or_default()
}

/// The contact field behind a `contact_…` column of a customers file.
fn contact_field(f: &str) -> Option<&'static str> {
    keqing_domain::contact::CONTACT_FIELDS
        .iter()
        .copied()
        .find(|c| *c == f)
}

/// A contact's consent from the row's 允许电话联系… columns (是 or 否), the
/// default for each channel left blank; `None` when the row fills none.
fn consent_of(s: &Sheet, row: &Row, errors: &mut Vec<RowError>) -> Option<Value> {
    let mut consent = serde_json::to_value(keqing_domain::contact::Consent::default()).ok()?;
    let mut any = false;
    for channel in CONSENT_CHANNELS {
        let field = format!("{CONSENT_PREFIX}{channel}");
        let Some(v) = s.get(row, &field) else {
            continue;
        };
        any = true;
        match yes_no(v) {
            Some(b) => consent[channel] = Value::Bool(b),
            None => errors.push(s.field_error(
                row.line,
                &field,
                format!("应填“是”或“否” expected yes/no, got {v:?}"),
            )),
        }
    }
    any.then_some(consent)
}

/// 是 / 否 as a user types them (yes/no, true/false, 1/0, 允许/不允许).
fn yes_no(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "是" | "yes" | "y" | "true" | "1" | "允许" | "同意" => Some(true),
        "否" | "no" | "n" | "false" | "0" | "不允许" | "不同意" | "拒绝" => Some(false),
        _ => None,
    }
}

const REF_FIELDS: &[&str] = &["customer_id", "customer_code", "customer_name"];

/// The customer a row refers to, or an error naming the reference columns.
fn customer_ref(s: &Sheet, row: &Row) -> Result<(CustomerRef, Option<String>), RowError> {
    let name = s.get(row, "customer_name").map(str::to_string);
    if let Some(id) = s.get(row, "customer_id") {
        return match id.parse::<i64>() {
            Ok(id) => Ok((CustomerRef::Id(id), name)),
            Err(_) => Err(s.field_error(
                row.line,
                "customer_id",
                format!("不是客户ID not a customer id: {id:?}"),
            )),
        };
    }
    if let Some(code) = s.get(row, "customer_code") {
        return Ok((CustomerRef::ExternalCode(code.to_ascii_uppercase()), name));
    }
    if let Some(n) = name {
        return Ok((CustomerRef::Name(n), None));
    }
    let field = REF_FIELDS
        .iter()
        .rev()
        .find(|f| s.map.has(f))
        .copied()
        .unwrap_or("customer_name");
    Err(s.field_error(
        row.line,
        field,
        "缺少客户 the row names no customer (give 客户编号 or 客户名称)".into(),
    ))
}

/// Imports a contacts file (联系人): each row names its customer and a
/// contact. The same customer, name and mobile twice is "duplicate of line N".
pub fn import_contacts(
    table: &Table,
    opts: &ImportOptions,
) -> Result<ImportBatch<ContactRow>, IoError> {
    contacts_in(table, opts, Mode::Import)
}

/// [`import_contacts`] handing the good records to `to` as they are read
/// (see [`import_customers_to`]).
pub fn import_contacts_to(
    table: &Table,
    opts: &ImportOptions,
    chunk: usize,
    mut to: impl FnMut(Vec<(usize, ContactRow)>) -> bool,
) -> Result<ImportBatch<ContactRow>, IoError> {
    contacts_to(table, opts, Mode::Import, Records::Stream(chunk, &mut to))
}

pub(crate) fn contacts_in(
    table: &Table,
    opts: &ImportOptions,
    mode: Mode,
) -> Result<ImportBatch<ContactRow>, IoError> {
    contacts_to(table, opts, mode, Records::Collect)
}

fn contacts_to(
    table: &Table,
    opts: &ImportOptions,
    mode: Mode,
    records: Records<ContactRow>,
) -> Result<ImportBatch<ContactRow>, IoError> {
    let mut seen: Seen<(CustomerRef, String, String)> = seen_in(table);
    import_table(table, RecordKind::Contact, opts, mode, records, |s, row| {
        let line = row.line;
        let mut errors = Vec::new();
        check_codes(s, row, &["customer_code"], &mut errors);
        let r = customer_ref(s, row).map_err(|e| errors.push(e)).ok();
        let mut obj = s.object(row, contact_field);
        if let Some(consent) = consent_of(s, row, &mut errors) {
            obj.insert("consent", consent);
        }
        let contact = ContactInput::from_fields(&obj)
            .map_err(|e| errors.extend(s.validation(line, e, "")))
            .ok();
        let (Some((customer_ref, customer_name)), Some(contact), true) =
            (r, contact, errors.is_empty())
        else {
            return Err(errors);
        };
        let key = (
            customer_ref.clone(),
            normalise_name(&contact.name),
            contact
                .mobile
                .as_ref()
                .map(|m| m.digits())
                .unwrap_or_default(),
        );
        if let Some(first) = seen.get(&key) {
            return Err(vec![s.field_error(
                line,
                "name",
                duplicate(
                    *first,
                    "客户、姓名和手机号码相同",
                    "same customer, name and mobile",
                ),
            )]);
        }
        seen.insert(key, line);
        Ok(ContactRow {
            customer_ref,
            customer_name,
            contact,
        })
    })
}

/// Imports an orders file (订单). Dates without a zone are China time;
/// amounts take `¥` and thousands separators; the same order number twice is
/// "duplicate of line N".
pub fn import_orders(
    table: &Table,
    opts: &ImportOptions,
) -> Result<ImportBatch<OrderRow>, IoError> {
    orders_in(table, opts, Mode::Import)
}

pub(crate) fn orders_in(
    table: &Table,
    opts: &ImportOptions,
    mode: Mode,
) -> Result<ImportBatch<OrderRow>, IoError> {
    let mut seen: Seen<String> = seen_in(table);
    import_table(
        table,
        RecordKind::Order,
        opts,
        mode,
        Records::Collect,
        |s, row| {
            let line = row.line;
            let mut errors = Vec::new();
            check_codes(s, row, &["customer_code", "external_id"], &mut errors);
            let r = customer_ref(s, row).map_err(|e| errors.push(e)).ok();
            let need = |field: &str, errors: &mut Vec<RowError>| {
                let v = s.get(row, field);
                if v.is_none() {
                    errors.push(s.field_error(
                        line,
                        field,
                        "不能为空 required value is empty".into(),
                    ));
                }
                v
            };
            let ordered_at = need("order_date", &mut errors).and_then(|v| {
                parse_datetime(v)
                    .map_err(|m| errors.push(s.field_error(line, "order_date", m)))
                    .ok()
            });
            let amount = need("amount", &mut errors).and_then(|v| {
                Money::parse(v)
                    // 金额格式不正确 not an amount: …, 金额最多保留两位小数 …
                    .map_err(|e| errors.push(s.field_error(line, "amount", e.to_string())))
                    .ok()
            });
            let quantity = match s.get(row, "quantity") {
                None => Some(1),
                Some(q) => q
                    .parse::<i64>()
                    .map_err(|_| {
                        errors.push(s.field_error(
                            line,
                            "quantity",
                            format!("数量应为整数 not a whole number: {q:?}"),
                        ))
                    })
                    .ok(),
            };
            let date = |field: &str, errors: &mut Vec<RowError>| match s.get(row, field) {
                None => None,
                Some(v) => parse_date(v)
                    .map_err(|m| errors.push(s.field_error(line, field, m)))
                    .ok(),
            };
            let due_date = date("due_date", &mut errors);
            let paid_date = date("paid_date", &mut errors);
            let external_id = s.get(row, "external_id").map(str::to_string);
            let (
                Some((customer_ref, customer_name)),
                Some(ordered_at),
                Some(amount),
                Some(quantity),
                true,
            ) = (r, ordered_at, amount, quantity, errors.is_empty())
            else {
                return Err(errors);
            };
            if let Some(id) = &external_id {
                if let Some(first) = seen.get(id) {
                    return Err(vec![s.field_error(
                        line,
                        "external_id",
                        duplicate(*first, "订单号相同", "same order number"),
                    )]);
                }
                seen.insert(id.clone(), line);
            }
            let text = |f: &str| s.get(row, f).map(str::to_string);
            Ok(OrderRow {
                customer_ref,
                customer_name,
                external_id,
                ordered_at,
                amount,
                quantity,
                product: text("product"),
                channel: text("channel"),
                store: text("store"),
                due_date,
                paid_date,
            })
        },
    )
}
