//! Writing customers and contacts to CSV and XLSX, and writing back what an
//! import rejected so users can fix it and import again.
//!
//! Every export reads back through [`crate::import`] into the same records:
//! a customers file has a column for each of the deployment's custom fields
//! (headed with its label, or in English its key), which an import with the
//! same definitions reads back into the same values.

use crate::error::{IoError, RowError};
use crate::fields::{custom_header, RecordKind, CONSENT_PREFIX, ERROR_COLUMN};
use crate::import::{ContactRow, CustomerRef, CustomerRow};
use crate::table::Table;
use keqing_domain::custom_field::{value_text, CustomFieldDef};
use keqing_domain::Phone;
use rust_xlsxwriter::{Format, Workbook};
use std::collections::BTreeMap;

/// The language of headers and of enumeration values in an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Chinese headers (客户名称…) and labels (民营, 老客户…).
    #[default]
    Zh,
    /// The field names (`name`…) and ids (`private`, `existing`…).
    En,
}

/// The encoding of an exported CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvEncoding {
    /// UTF-8 with a byte-order mark: Excel opens it with Chinese intact.
    #[default]
    Utf8Bom,
    Utf8,
    /// GBK, for old software; a character outside GBK is an error.
    Gbk,
    /// GB18030: like GBK, and encodes every character.
    Gb18030,
}

impl CsvEncoding {
    fn name(self) -> &'static str {
        match self {
            CsvEncoding::Utf8Bom | CsvEncoding::Utf8 => "UTF-8",
            CsvEncoding::Gbk => "GBK",
            CsvEncoding::Gb18030 => "GB18030",
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ExportOptions {
    pub lang: Lang,
    pub encoding: CsvEncoding,
}

/// A sheet of text: header and rows, before it becomes CSV or XLSX.
struct Grid {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn header(kind: RecordKind, field: &str, lang: Lang) -> String {
    match (lang, kind.column(field)) {
        (Lang::Zh, Some(c)) => c.zh.to_string(),
        _ => field.to_string(),
    }
}

fn label<T: Copy>(
    v: Option<T>,
    lang: Lang,
    zh: fn(T) -> &'static str,
    en: fn(T) -> &'static str,
) -> String {
    match v {
        None => String::new(),
        Some(v) if lang == Lang::Zh => zh(v).to_string(),
        Some(v) => en(v).to_string(),
    }
}

fn yes_no(lang: Lang, b: bool) -> &'static str {
    match (lang, b) {
        (Lang::Zh, true) => "是",
        (Lang::Zh, false) => "否",
        (Lang::En, true) => "yes",
        (Lang::En, false) => "no",
    }
}

fn text<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn customer_grid(rows: &[CustomerRow], custom: &[CustomFieldDef], lang: Lang) -> Grid {
    let kind = RecordKind::Customer;
    // The primary contact's columns when a row has one; an export whose
    // contacts are a sheet or file of their own has none.
    let with_contact = rows.iter().any(|r| r.contact.is_some());
    let fields: Vec<&str> = kind
        .columns()
        .iter()
        .map(|c| c.field)
        .filter(|f| with_contact || !f.starts_with("contact_"))
        .collect();
    let yes_no = |b: bool| yes_no(lang, b);
    let rows = rows
        .iter()
        .map(|r| {
            let c = &r.customer;
            let p = r.contact.as_ref();
            fields
                .iter()
                .map(|f| match *f {
                    "name" => c.name.clone(),
                    "kind" => label(Some(c.kind), lang, |k| k.label_zh(), |k| k.as_str()),
                    "company_type" => label(c.company_type, lang, |k| k.label_zh(), |k| k.as_str()),
                    "industry" => text(&c.industry),
                    "province" => text(&c.province),
                    "city" => text(&c.city),
                    "district" => text(&c.district),
                    "address" => text(&c.address),
                    "phone" => phone_text(&c.phone),
                    "website" => text(&c.website),
                    "email" => text(&c.email),
                    "external_code" => text(&c.external_code),
                    "source" => label(c.source, lang, |k| k.label_zh(), |k| k.as_str()),
                    "referrer_id" => text(&c.referrer_id),
                    "stage" => label(Some(c.stage), lang, |k| k.label_zh(), |k| k.as_str()),
                    "business_stage" => label(
                        Some(c.business_stage),
                        lang,
                        |k| k.label_zh(),
                        |k| k.as_str(),
                    ),
                    "class" => text(&c.class),
                    "tier" => text(&c.tier),
                    "tags" => c.tags.join(","),
                    "key_customer" => yes_no(c.key_customer).to_string(),
                    "key_dates" => crate::dates::key_dates_text(&c.key_dates),
                    "parent_id" => text(&c.parent_id),
                    "card_interests" => text(&c.card.interests),
                    "card_recent_events" => text(&c.card.recent_events),
                    "card_business_progress" => text(&c.card.business_progress),
                    "card_taboos" => text(&c.card.taboos),
                    "card_gifts_forbidden" => yes_no(c.card.gifts_forbidden).to_string(),
                    "card_gift_policy" => text(&c.card.gift_policy),
                    "card_preferred_contact_time" => text(&c.card.preferred_contact_time),
                    "contact_name" => p.map(|p| p.name.clone()).unwrap_or_default(),
                    "contact_mobile" => p.map(|p| phone_text(&p.mobile)).unwrap_or_default(),
                    "contact_title" => p.map(|p| text(&p.title)).unwrap_or_default(),
                    "contact_birthday" => p.map(|p| text(&p.birthday)).unwrap_or_default(),
                    "contact_level" => label(
                        p.and_then(|p| p.level),
                        lang,
                        |k| k.label_zh(),
                        |k| k.as_str(),
                    ),
                    "contact_email" => p.map(|p| text(&p.email)).unwrap_or_default(),
                    _ => String::new(),
                })
                .chain(custom.iter().map(|d| {
                    c.custom
                        .get(&d.key)
                        .map(|v| value_text(d, v))
                        .unwrap_or_default()
                }))
                .collect()
        })
        .collect();
    Grid {
        headers: fields
            .iter()
            .map(|f| header(kind, f, lang))
            .chain(custom.iter().map(|d| {
                let preferred = match lang {
                    Lang::Zh => &d.label,
                    Lang::En => &d.key,
                };
                custom_header(custom, d, preferred)
            }))
            .collect(),
        rows,
    }
}

fn contact_grid(rows: &[ContactRow], lang: Lang) -> Grid {
    let kind = RecordKind::Contact;
    let with_ids = rows
        .iter()
        .any(|r| matches!(r.customer_ref, CustomerRef::Id(_)));
    let fields: Vec<&str> = kind
        .columns()
        .iter()
        .map(|c| c.field)
        .filter(|f| with_ids || *f != "customer_id")
        .collect();
    let rows = rows
        .iter()
        .map(|r| {
            let c = &r.contact;
            fields
                .iter()
                .map(|f| match (*f, &r.customer_ref) {
                    ("customer_id", CustomerRef::Id(id)) => id.to_string(),
                    ("customer_code", CustomerRef::ExternalCode(code)) => code.clone(),
                    ("customer_name", CustomerRef::Name(n)) => n.clone(),
                    ("customer_name", _) => text(&r.customer_name),
                    ("name", _) => c.name.clone(),
                    ("mobile", _) => phone_text(&c.mobile),
                    ("phone", _) => phone_text(&c.phone),
                    ("email", _) => text(&c.email),
                    ("wechat", _) => text(&c.wechat),
                    ("qq", _) => text(&c.qq),
                    ("title", _) => text(&c.title),
                    ("level", _) => label(c.level, lang, |k| k.label_zh(), |k| k.as_str()),
                    ("buying_role", _) => {
                        label(c.buying_role, lang, |k| k.label_zh(), |k| k.as_str())
                    }
                    ("style", _) => label(c.style, lang, |k| k.label_zh(), |k| k.as_str()),
                    ("birthday", _) => text(&c.birthday),
                    ("hobbies", _) => text(&c.hobbies),
                    ("notes", _) => text(&c.notes),
                    (f, _) if f.starts_with(CONSENT_PREFIX) => {
                        let given = match &f[CONSENT_PREFIX.len()..] {
                            "phone" => c.consent.phone,
                            "sms" => c.consent.sms,
                            "email" => c.consent.email,
                            _ => c.consent.wechat,
                        };
                        yes_no(lang, given).to_string()
                    }
                    _ => String::new(),
                })
                .collect()
        })
        .collect();
    Grid {
        headers: fields.iter().map(|f| header(kind, f, lang)).collect(),
        rows,
    }
}

/// A value Excel would run as a formula (`=`, `@`, or `+`/`-` not followed by
/// a plain number) is written with a leading `'`; import removes it. Text
/// already starting with `'`s before such a mark gets one more, so that
/// import gives it back unchanged.
fn defuse(v: &str) -> String {
    if is_formula_like(v.trim_start_matches('\'')) {
        format!("'{v}")
    } else {
        v.to_string()
    }
}

fn is_formula_like(v: &str) -> bool {
    match v.chars().next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => {
            let rest = &v[1..];
            rest.is_empty()
                || !rest
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        }
        _ => false,
    }
}

/// Undoes [`defuse`] (for CSV files only: a spreadsheet cell is text as it stands).
pub(crate) fn undefuse(v: &str) -> &str {
    match v.strip_prefix('\'') {
        Some(rest) if is_formula_like(v.trim_start_matches('\'')) => rest,
        _ => v,
    }
}

/// A phone as `Phone::parse` reads it back: the extension of a landline
/// (stored `025-86001234-8`) is written `025-86001234转8`.
fn phone_text(p: &Option<Phone>) -> String {
    let Some(p) = p else {
        return String::new();
    };
    let s = p.as_str();
    match s.rmatch_indices('-').nth(1).and(s.rfind('-')) {
        Some(i) if !p.is_mobile() => format!("{}转{}", &s[..i], &s[i + 1..]),
        _ => s.to_string(),
    }
}

fn csv_field(out: &mut String, v: &str) {
    if v.contains([',', '"', '\r', '\n']) || v.starts_with(' ') || v.ends_with(' ') {
        out.push('"');
        out.push_str(&v.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(v);
    }
}

fn csv_line(out: &mut String, cells: impl IntoIterator<Item = String>) {
    for (i, c) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_field(out, &c);
    }
    out.push_str("\r\n");
}

/// Encodes CSV text. `strict`: a character the encoding lacks is an error
/// (for exports); otherwise it becomes `?` (for rejected rows, which may hold
/// the replacement characters of a bad-encoding row).
fn encode(text: &str, enc: CsvEncoding, strict: bool) -> Result<Vec<u8>, IoError> {
    let codec = match enc {
        CsvEncoding::Utf8Bom => {
            let mut out = b"\xEF\xBB\xBF".to_vec();
            out.extend_from_slice(text.as_bytes());
            return Ok(out);
        }
        CsvEncoding::Utf8 => return Ok(text.as_bytes().to_vec()),
        CsvEncoding::Gbk => encoding_rs::GBK,
        CsvEncoding::Gb18030 => encoding_rs::GB18030,
    };
    let (bytes, _, had_errors) = codec.encode(text);
    if !had_errors {
        return Ok(bytes.into_owned());
    }
    let mut out = Vec::with_capacity(text.len());
    let mut line = 1;
    let mut buf = [0u8; 4];
    for ch in text.chars() {
        let (b, _, bad) = codec.encode(ch.encode_utf8(&mut buf));
        if !bad {
            out.extend_from_slice(&b);
        } else if strict {
            return Err(IoError::NotEncodable {
                line,
                ch,
                encoding: enc.name(),
            });
        } else {
            out.push(b'?');
        }
        if ch == '\n' {
            line += 1;
        }
    }
    Ok(out)
}

fn grid_csv(g: &Grid, enc: CsvEncoding) -> Result<Vec<u8>, IoError> {
    let mut s = String::new();
    csv_line(&mut s, g.headers.iter().cloned());
    for r in &g.rows {
        csv_line(&mut s, r.iter().map(|v| defuse(v)));
    }
    encode(&s, enc, true)
}

fn grid_xlsx(g: &Grid, sheet: &str) -> Result<Vec<u8>, IoError> {
    let mut book = Workbook::new();
    add_sheet(&mut book, g, sheet)?;
    Ok(book.save_to_buffer()?)
}

fn add_sheet(book: &mut Workbook, g: &Grid, sheet: &str) -> Result<(), IoError> {
    let ws = book.add_worksheet();
    ws.set_name(sheet)?;
    let bold = Format::new().set_bold();
    for (j, h) in g.headers.iter().enumerate() {
        let col = u16::try_from(j).unwrap_or(u16::MAX);
        ws.write_string_with_format(0, col, h, &bold)?;
        ws.set_column_width(col, 16)?;
    }
    for (i, r) in g.rows.iter().enumerate() {
        let row = u32::try_from(i + 1).unwrap_or(u32::MAX);
        for (j, v) in r.iter().enumerate() {
            if !v.is_empty() {
                // Text cells: phone numbers and codes must not become numbers.
                ws.write_string(row, u16::try_from(j).unwrap_or(u16::MAX), v)?;
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

/// The name of a kind's sheet in `lang` ([`RecordKind::sheet_names`]).
fn sheet_name(kind: RecordKind, lang: Lang) -> &'static str {
    kind.sheet_names()[usize::from(lang == Lang::En)]
}

/// Customers (with their primary contact's columns, then a column for each
/// custom field of `custom`) as CSV.
pub fn write_customers_csv(
    rows: &[CustomerRow],
    custom: &[CustomFieldDef],
    opts: ExportOptions,
) -> Result<Vec<u8>, IoError> {
    grid_csv(&customer_grid(rows, custom, opts.lang), opts.encoding)
}

/// Customers as an XLSX workbook with one sheet (客户 / customers), the
/// columns of [`write_customers_csv`].
pub fn write_customers_xlsx(
    rows: &[CustomerRow],
    custom: &[CustomFieldDef],
    lang: Lang,
) -> Result<Vec<u8>, IoError> {
    let name = if lang == Lang::Zh {
        "客户"
    } else {
        "customers"
    };
    grid_xlsx(&customer_grid(rows, custom, lang), name)
}

/// Customers and all their contacts as one XLSX workbook of two sheets:
/// 客户 / customers (the columns of [`write_customers_csv`], without a
/// primary contact's) and 联系人 / contacts (those of [`write_contacts_csv`]).
/// The workbook imports back as it is: as customers first (the import
/// reads the 客户 sheet), then as contacts (the 联系人 sheet), each contact
/// finding its customer by its code or name.
pub fn write_customer_book(
    customers: &[CustomerRow],
    contacts: &[ContactRow],
    custom: &[CustomFieldDef],
    lang: Lang,
) -> Result<Vec<u8>, IoError> {
    let mut book = Workbook::new();
    add_sheet(
        &mut book,
        &customer_grid(customers, custom, lang),
        sheet_name(RecordKind::Customer, lang),
    )?;
    add_sheet(
        &mut book,
        &contact_grid(contacts, lang),
        sheet_name(RecordKind::Contact, lang),
    )?;
    Ok(book.save_to_buffer()?)
}

/// Contacts with the customer each belongs to, as CSV.
pub fn write_contacts_csv(rows: &[ContactRow], opts: ExportOptions) -> Result<Vec<u8>, IoError> {
    grid_csv(&contact_grid(rows, opts.lang), opts.encoding)
}

/// Contacts as an XLSX workbook with one sheet (联系人 / contacts).
pub fn write_contacts_xlsx(rows: &[ContactRow], lang: Lang) -> Result<Vec<u8>, IoError> {
    let name = if lang == Lang::Zh {
        "联系人"
    } else {
        "contacts"
    };
    grid_xlsx(&contact_grid(rows, lang), name)
}

/// The errors of an import as a CSV (UTF-8 with BOM): line, column index,
/// column header, field and reason, one error a line.
pub fn write_error_report(errors: &[RowError], lang: Lang) -> Vec<u8> {
    let headers = match lang {
        Lang::Zh => ["行号", "列号", "列名", "字段", ERROR_COLUMN],
        Lang::En => ["line", "column_index", "column", "field", "message"],
    };
    let mut s = String::new();
    csv_line(&mut s, headers.iter().map(|h| h.to_string()));
    for e in errors {
        csv_line(
            &mut s,
            [
                e.line.to_string(),
                text(&e.column_index),
                e.column.clone().unwrap_or_default(),
                e.field.clone().unwrap_or_default(),
                e.message.clone(),
            ]
            .map(|v| defuse(&v)),
        );
    }
    let mut out = b"\xEF\xBB\xBF".to_vec();
    out.extend_from_slice(s.as_bytes());
    out
}

/// The rejected rows of an import, as they were, under the file's own header
/// plus an 错误原因 column: the file a user fixes and imports again (the
/// 错误原因 column is ignored on import). Rows keep their order.
pub fn write_rejected_rows(
    table: &Table,
    errors: &[RowError],
    encoding: CsvEncoding,
) -> Result<Vec<u8>, IoError> {
    let mut reasons: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for e in errors {
        let r = match &e.column {
            Some(c) if !c.is_empty() => format!("{c}: {}", e.message),
            _ => e.message.clone(),
        };
        reasons.entry(e.line).or_default().push(r);
    }
    let width = table.headers.len();
    let mut s = String::new();
    csv_line(
        &mut s,
        table
            .headers
            .iter()
            .cloned()
            .chain(std::iter::once(ERROR_COLUMN.to_string())),
    );
    for (line, rs) in &reasons {
        let mut cells: Vec<String> = table
            .row_at(*line)
            .map(|r| r.cells.iter().map(defuse).collect())
            .unwrap_or_default();
        if cells.len() < width {
            cells.resize(width, String::new());
        }
        cells.push(rs.join("; "));
        csv_line(&mut s, cells);
    }
    encode(&s, encoding, false)
}

/// Database ids users cannot know when filling a file by hand.
const ID_FIELDS: [&str; 3] = ["customer_id", "referrer_id", "parent_id"];

fn template_grid(kind: RecordKind, lang: Lang) -> Grid {
    Grid {
        headers: kind
            .columns()
            .iter()
            .filter(|c| !ID_FIELDS.contains(&c.field))
            .map(|c| header(kind, c.field, lang))
            .collect(),
        rows: Vec::new(),
    }
}

/// An empty import file with every column of `kind` (下载导入模板).
pub fn write_template_csv(kind: RecordKind, opts: ExportOptions) -> Result<Vec<u8>, IoError> {
    grid_csv(&template_grid(kind, opts.lang), opts.encoding)
}

/// [`write_template_csv`] as an XLSX workbook.
pub fn write_template_xlsx(kind: RecordKind, lang: Lang) -> Result<Vec<u8>, IoError> {
    let name = match (kind, lang) {
        (RecordKind::Customer, Lang::Zh) => "客户",
        (RecordKind::Contact, Lang::Zh) => "联系人",
        (RecordKind::Order, Lang::Zh) => "订单",
        (k, Lang::En) => k.as_str(),
    };
    grid_xlsx(&template_grid(kind, lang), name)
}
