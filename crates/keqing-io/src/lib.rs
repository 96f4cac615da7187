//! keqing-io: the file side of importing and exporting customers, contacts
//! and orders (SPEC §1 "Import and export", §2 orders).
//!
//! 1. [`read_table`] / [`read_table_bytes`] read a CSV (UTF-8 with or without
//!    BOM, GBK/GB18030; `,` tab `;` `|`) or a spreadsheet (XLSX, XLS, ODS)
//!    into a [`Table`] of text rows with their line numbers.
//! 2. [`import_customers`], [`import_contacts`], [`import_orders`] map the
//!    Chinese or English headers to fields and validate each row with the
//!    domain parsers into an [`ImportBatch`]: good records with their lines,
//!    one [`RowError`] per problem (line, column, reason), warnings, blank rows.
//!    A customers file also fills the deployment's custom profile fields the
//!    caller passes in [`ImportOptions::custom_fields`] (a column headed with
//!    a field's label or key), each value checked by
//!    `keqing_domain::custom_field`, as the API checks it.
//!    [`preview`] shows the same mapping and checks on the first rows, with
//!    unknown, duplicate and missing columns, before anything is stored.
//! 3. [`write_customers_csv`] and friends export (customers with a column per
//!    custom field given); [`write_error_report`] and
//!    [`write_rejected_rows`] give the user back what to fix.
//!
//! No database, no web: storing the records is the caller's job, and so is
//! matching them against customers already stored (duplicates *inside* one
//! file are found here).
//!
//! ```
//! use keqing_io::{
//!     import_customers, read_table_bytes, write_error_report, write_rejected_rows, CsvEncoding,
//!     ImportOptions, IoError, Lang, ReadOptions,
//! };
//! let file = keqing_io::testdata::messy_customers_csv(10, 5, 1);
//! let table = read_table_bytes(&file.bytes, &file.file_name, &ReadOptions::default())?;
//! let batch = import_customers(&table, &ImportOptions::default())?;
//! for (_line, row) in &batch.records {
//!     // store row.customer and row.contact
//! }
//! assert_eq!(batch.records.len(), 10);
//! assert_eq!(batch.bad_rows(), 5);
//! let report: Vec<u8> = write_error_report(&batch.errors, Lang::Zh);
//! let to_fix: Vec<u8> = write_rejected_rows(&table, &batch.errors, CsvEncoding::Utf8Bom)?;
//! # let _ = (report, to_fix);
//! # Ok::<(), IoError>(())
//! ```

pub mod dates;
pub mod error;
pub mod export;
pub mod fields;
pub mod import;
pub mod pay;
pub mod preview;
pub mod table;
pub mod testdata;

pub use error::{IoError, Limit, RowError, Warning};
pub use export::{
    write_contacts_csv, write_contacts_xlsx, write_customer_book, write_customers_csv,
    write_customers_xlsx, write_error_report, write_rejected_rows, write_template_csv,
    write_template_xlsx, CsvEncoding, ExportOptions, Lang,
};
pub use fields::{
    check_custom_headers, ColumnMapping, ColumnStatus, FieldName, RecordKind, CUSTOM_PREFIX,
    ERROR_COLUMN,
};
pub use import::{
    import_contacts, import_contacts_to, import_customers, import_customers_to, import_orders,
    ContactRow, CustomerRef, CustomerRow, ImportBatch, ImportOptions, OrderRow,
};
pub use pay::{write_pay_run_xlsx, PayRow};
pub use preview::{
    preview, Preview, SampleRow, PREVIEW_CELL_CHARS, PREVIEW_MESSAGE_CHARS, PREVIEW_ROWS,
};
pub use table::{
    read_table, read_table_bytes, QuoteProblem, ReadOptions, Row, RowIssue, Table, TableSource,
    TextEncoding, MAX_CELL_CHARS, MAX_COLUMNS, MAX_PART_BYTES, MAX_ROWS, MAX_SHARED_STRINGS_BYTES,
    MAX_SHEET_BYTES, MAX_UNPACKED_BYTES,
};
