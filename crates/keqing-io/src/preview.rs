//! What an import of a file would do, before anything is stored: how each
//! column maps to a field (unknown and duplicate columns included), which
//! required columns are missing, and the first rows as the import reads them,
//! each with its errors. The mapping and the row checks are the import's own
//! ([`crate::fields::classify_headers`], `import_customers` and friends), so
//! the preview cannot disagree with the import it announces.

use crate::error::{IoError, RowError, Warning};
use crate::fields::{
    classify_headers, header_map, ColumnMapping, ColumnStatus, FieldName, RecordKind,
};
use crate::import::{cell_text, contacts_in, customers_in, missing_columns, orders_in, Mode};
use crate::table::Table;
use crate::{ImportBatch, ImportOptions};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many data rows a preview shows unless told otherwise.
pub const PREVIEW_ROWS: usize = 20;

/// Characters of a cell or header a preview shows; a longer one is cut
/// there and ends with `…`. With the readers' [`crate::table::MAX_COLUMNS`],
/// a preview of [`PREVIEW_ROWS`] rows stays within a few MB whatever the file.
pub const PREVIEW_CELL_CHARS: usize = 100;

/// Characters of a message (a row error, a file error, a warning) a preview
/// shows: messages quote the values they refuse.
pub const PREVIEW_MESSAGE_CHARS: usize = 300;

/// Cuts `s` to `max` characters, marking the cut with `…`.
fn clip(s: &mut String, max: usize) {
    if s.len() <= max {
        return;
    }
    if let Some((at, _)) = s.char_indices().nth(max) {
        s.truncate(at);
        s.push('…');
    }
}

/// A file's preview: see [`preview`].
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    /// Every column of the header, in file order.
    pub columns: Vec<ColumnMapping>,
    /// A field for each required column the file lacks (for "one of these"
    /// columns, such as the customer a contact belongs to, the usual one;
    /// `custom.KEY` for a required custom field). The import refuses the
    /// file while this is not empty.
    pub missing_required: Vec<FieldName>,
    /// What stops the import of the whole file, in the import's own words
    /// (a missing required column, two columns meaning one field); empty when
    /// the file can be imported.
    pub file_errors: Vec<String>,
    /// Rows after the header, blank ones included.
    pub data_rows: usize,
    pub blank_rows: usize,
    /// The first rows that are not blank.
    pub sample: Vec<SampleRow>,
    /// Rows of the sample with at least one error.
    pub errors_in_sample: usize,
    /// Warnings about columns (unknown ones, data under a column without a header).
    pub warnings: Vec<Warning>,
}

/// One data row as the import reads it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SampleRow {
    /// The file's line (header = 1) or the spreadsheet row.
    pub line: usize,
    /// The non-blank values of the mapped columns, by field (`custom.KEY`
    /// for a custom field), as written in the file.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, String>))]
    pub cells: BTreeMap<FieldName, String>,
    /// What the import would refuse the row for.
    pub errors: Vec<RowError>,
}

/// Previews importing `table` as `kind`: the column mapping and the first
/// `rows` non-blank data rows with their errors, checked as the import checks
/// them (duplicates inside the sample included). Nothing about stored data is
/// known here: a contact's or order's customer is not looked up.
///
/// File-level problems that make the import refuse the file are reported in
/// [`Preview::missing_required`] and [`Preview::file_errors`] rather than
/// returned; the only error is an explicit mapping to a field `kind` lacks.
pub fn preview(
    kind: RecordKind,
    table: &Table,
    opts: &ImportOptions,
    rows: usize,
) -> Result<Preview, IoError> {
    let columns = classify_headers(
        kind,
        &table.headers,
        &opts.mapping,
        &opts.custom_fields,
        table.column_offset,
    )?;
    let map = header_map(&columns);
    let missing = missing_columns(kind, &map, &opts.custom_fields);
    let mut file_errors: Vec<String> = missing.iter().map(|(_, e)| e.to_string()).collect();
    let missing_required = missing.into_iter().map(|(f, _)| f).collect();
    if let Err(e) = crate::fields::map_headers(
        kind,
        &table.headers,
        &opts.mapping,
        &opts.custom_fields,
        table.column_offset,
    ) {
        file_errors.push(e.to_string());
    }

    let sample_table = Table {
        file_name: table.file_name.clone(),
        source: table.source.clone(),
        headers: table.headers.clone(),
        header_line: table.header_line,
        column_offset: table.column_offset,
        rows: table.rows.iter().take(rows).cloned().collect(),
        blank_rows: 0,
    };
    // The warnings name the unknown columns and data under a column without
    // a header (in the sample: a later row may have more).
    let (errors, warnings) = match kind {
        RecordKind::Customer => parts(customers_in(&sample_table, opts, Mode::Preview)?),
        RecordKind::Contact => parts(contacts_in(&sample_table, opts, Mode::Preview)?),
        RecordKind::Order => parts(orders_in(&sample_table, opts, Mode::Preview)?),
    };
    let mut by_line: BTreeMap<usize, Vec<RowError>> = BTreeMap::new();
    for e in errors {
        by_line.entry(e.line).or_default().push(e);
    }
    let sample: Vec<SampleRow> = sample_table
        .rows
        .iter()
        .map(|row| SampleRow {
            line: row.line,
            cells: columns
                .iter()
                .zip(row.cells.iter())
                .filter(|(c, _)| c.status == ColumnStatus::Mapped)
                .filter_map(|(c, cell)| {
                    let v = cell_text(&table.source, cell);
                    Some((c.field.clone()?, v.to_string())).filter(|_| !v.is_empty())
                })
                .collect(),
            errors: by_line.remove(&row.line).unwrap_or_default(),
        })
        .collect();
    let errors_in_sample = sample.iter().filter(|r| !r.errors.is_empty()).count();
    let (mut columns, mut file_errors, mut sample, mut warnings) =
        (columns, file_errors, sample, warnings);
    for c in &mut columns {
        clip(&mut c.header, PREVIEW_CELL_CHARS);
    }
    for e in &mut file_errors {
        clip(e, PREVIEW_MESSAGE_CHARS);
    }
    for w in &mut warnings {
        if let Some(c) = &mut w.column {
            clip(c, PREVIEW_CELL_CHARS);
        }
        clip(&mut w.message, PREVIEW_MESSAGE_CHARS);
    }
    for row in &mut sample {
        for v in row.cells.values_mut() {
            clip(v, PREVIEW_CELL_CHARS);
        }
        for e in &mut row.errors {
            if let Some(c) = &mut e.column {
                clip(c, PREVIEW_CELL_CHARS);
            }
            clip(&mut e.message, PREVIEW_MESSAGE_CHARS);
        }
    }
    Ok(Preview {
        columns,
        missing_required,
        file_errors,
        data_rows: table.data_rows(),
        blank_rows: table.blank_rows,
        sample,
        errors_in_sample,
        warnings,
    })
}

fn parts<T>(b: ImportBatch<T>) -> (Vec<RowError>, Vec<Warning>) {
    (b.errors, b.warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{read_table_bytes, ReadOptions};

    fn run(kind: RecordKind, csv: &str) -> Preview {
        let t = read_table_bytes(csv.as_bytes(), "p.csv", &ReadOptions::default()).unwrap();
        preview(kind, &t, &ImportOptions::default(), PREVIEW_ROWS).unwrap()
    }

    #[test]
    fn columns_rows_and_errors_as_the_import_sees_them() {
        let p = run(
            RecordKind::Customer,
            "客户名称,电话,微信群,省份,错误原因\n甲公司,025-86001234,x,江苏,\n乙公司,abc,,江苏,\n\n丙公司,,,浙江,\n",
        );
        let status: Vec<_> = p
            .columns
            .iter()
            .map(|c| (c.field.as_deref(), c.status))
            .collect();
        assert_eq!(
            status,
            vec![
                (Some("name"), ColumnStatus::Mapped),
                (Some("phone"), ColumnStatus::Mapped),
                (None, ColumnStatus::Unknown),
                (Some("province"), ColumnStatus::Mapped),
                (None, ColumnStatus::Ignored),
            ]
        );
        assert!(p.missing_required.is_empty() && p.file_errors.is_empty());
        assert_eq!((p.data_rows, p.blank_rows, p.sample.len()), (4, 1, 3));
        assert_eq!(p.sample[0].cells["name"], "甲公司");
        assert!(!p.sample[0].cells.contains_key("微信群"));
        assert_eq!(p.sample[1].line, 3);
        assert_eq!(p.sample[1].errors[0].field.as_deref(), Some("phone"));
        assert_eq!(p.sample[1].errors[0].column.as_deref(), Some("电话"));
        assert_eq!(p.errors_in_sample, 1);
        assert_eq!(p.warnings.len(), 1);
    }

    #[test]
    fn missing_and_duplicate_columns_are_shown_not_refused() {
        let p = run(RecordKind::Contact, "姓名,手机,手机号\n王伟,13812345678,\n");
        assert_eq!(p.missing_required, vec!["customer_name"]);
        assert_eq!(p.columns[2].status, ColumnStatus::Duplicate);
        assert_eq!(p.columns[2].field.as_deref(), Some("mobile"));
        assert_eq!(p.file_errors.len(), 2, "{:?}", p.file_errors);
        // The row is still checked: it names no customer.
        assert_eq!(p.sample[0].errors.len(), 1);
        let p = run(RecordKind::Order, "客户编号,金额\nA1,12\n");
        assert_eq!(p.missing_required, vec!["order_date"]);
        let p = run(RecordKind::Customer, "客户名称,手机\n甲公司,13812345678\n");
        assert_eq!(p.missing_required, vec!["contact_name"]);
    }

    #[test]
    fn only_the_first_rows_are_checked() {
        let mut csv = String::from("客户名称,电话\n");
        for i in 0..30 {
            csv.push_str(&format!("公司{i},abc\n"));
        }
        let p = run(RecordKind::Customer, &csv);
        assert_eq!(
            (p.data_rows, p.sample.len(), p.errors_in_sample),
            (30, 20, 20)
        );
    }
}
