//! What importing a file would do, read from the file alone.

use super::kind_name;
use keqing_domain::custom_field::CustomFieldDef;
use keqing_io::{FieldName, ImportOptions, IoError, RecordKind, Warning, CUSTOM_PREFIX};
use serde::Serialize;

/// Where the rows of a file were read from, as a preview shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreviewColumn {
    pub index: usize,
    pub header: String,
    /// `name`…, or `custom.KEY` for a custom profile field.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportPreview {
    pub kind: &'static str,
    pub file: String,
    pub source: PreviewSource,
    pub columns: Vec<PreviewColumn>,
    /// Required fields no column feeds (a required custom field as
    /// `custom.KEY`): the import would refuse the file.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
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
    let table = keqing_io::read_table_bytes(bytes, file_name, &super::read_options(kind))?;
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
