//! What can go wrong with a whole file, and with one row of it.

use serde::Serialize;
use std::path::PathBuf;

/// A problem that stops the whole file: it cannot be read, or it lacks a
/// column every row needs. Problems of single rows are [`RowError`]s instead.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    #[error("无法读取文件 cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("文件格式不支持 {file}: not a CSV or spreadsheet file (expected .csv, .tsv, .txt, .xlsx, .xlsm, .xls or .ods)")]
    UnknownFormat { file: String },
    #[error("文件为空 {file}: the file is empty (no header line)")]
    Empty { file: String },
    #[error(
        "表头编码无法识别 {file}: the header line is not valid text in any supported encoding (UTF-8, GBK/GB18030)"
    )]
    BadHeaderEncoding { file: String },
    #[error("文件格式错误 {file}: CSV error: {source}")]
    Csv { file: String, source: csv::Error },
    #[error("无法读取表格 {file}: not a readable spreadsheet: {message}")]
    Spreadsheet { file: String, message: String },
    #[error("找不到工作表 {file}: no sheet named {sheet:?} (sheets: {})", available.join(", "))]
    NoSuchSheet {
        file: String,
        sheet: String,
        available: Vec<String>,
    },
    /// A column every row needs is not in the header.
    #[error("缺少必需的列 missing required column: {header} ({field}); accepted headers: {}", accepted.join(" / "))]
    MissingColumn {
        field: &'static str,
        /// The Chinese header the column is usually written with.
        header: &'static str,
        accepted: Vec<&'static str>,
    },
    /// A customers file lacks the column of a custom profile field the
    /// deployment marks required: every row would lack its value.
    #[error("缺少必填的自定义字段列 missing the column of the required custom field {label} (custom.{key}); accepted headers: {label} / {key} / custom.{key}")]
    MissingCustomColumn { key: String, label: String },
    /// Two columns of the header mean the same field: which one to believe is not ours to guess.
    #[error("列重复 columns {first:?} (column {first_index}) and {second:?} (column {second_index}) both mean {field}")]
    DuplicateColumn {
        /// `name`…, or `custom.KEY` for a custom profile field.
        field: String,
        first: String,
        first_index: usize,
        second: String,
        second_index: usize,
    },
    /// An explicit mapping names a field this kind of file does not have.
    #[error("列映射的字段不存在 mapping for column {column:?}: {field:?} is not a field of a {kind} file (fields: {})", expected.join(", "))]
    UnknownField {
        kind: &'static str,
        column: String,
        field: String,
        expected: Vec<String>,
    },
    /// A value that cannot be written in the chosen encoding (GBK lacks many characters).
    #[error(
        "字符无法用所选编码导出 line {line}: {ch:?} cannot be written in {encoding}; export as UTF-8 or GB18030 instead"
    )]
    NotEncodable {
        line: usize,
        ch: char,
        encoding: &'static str,
    },
    #[error("无法生成表格文件 cannot write the spreadsheet: {0}")]
    XlsxWrite(#[from] rust_xlsxwriter::XlsxError),
    /// The file is past one of the reader's limits ([`Limit`]): it is refused
    /// whole, before it can take unbounded time or memory. `limit.name()` and
    /// `limit.max()` say which limit and its value (an API answers 422 with them).
    #[error("{}", limit_message(file, *limit, *line, *column))]
    TooLarge {
        file: String,
        limit: Limit,
        /// The CSV line or spreadsheet row where the limit was passed, when one is known.
        line: Option<usize>,
        /// The 1-based column, when one is known.
        column: Option<usize>,
    },
}

/// A limit of the file readers; each is a `pub const` in [`crate::table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// [`crate::table::MAX_ROWS`] rows of a spreadsheet.
    Rows,
    /// [`crate::table::MAX_COLUMNS`] columns (fields of a CSV line, or a
    /// spreadsheet's column AMJ).
    Columns,
    /// [`crate::table::MAX_CELL_CHARS`] characters in one cell or CSV field.
    CellChars,
    /// [`crate::table::MAX_SHEET_BYTES`] bytes of one spreadsheet part (a
    /// sheet's XML) once decompressed.
    SheetBytes,
    /// [`crate::table::MAX_SHARED_STRINGS_BYTES`] bytes of an XLSX's shared
    /// strings once decompressed.
    SharedStringsBytes,
    /// [`crate::table::MAX_PART_BYTES`] bytes of another part read whole
    /// (styles, workbook, an ODS's content) once decompressed.
    PartBytes,
    /// [`crate::table::MAX_UNPACKED_BYTES`] bytes of all the parts of a
    /// spreadsheet read, once decompressed.
    UnpackedBytes,
}

impl Limit {
    /// The limit's name in an API answer: `rows`, `columns`, `cell_chars`…
    pub fn name(self) -> &'static str {
        match self {
            Limit::Rows => "rows",
            Limit::Columns => "columns",
            Limit::CellChars => "cell_chars",
            Limit::SheetBytes => "sheet_bytes",
            Limit::SharedStringsBytes => "shared_strings_bytes",
            Limit::PartBytes => "part_bytes",
            Limit::UnpackedBytes => "unpacked_bytes",
        }
    }

    /// The limit's value.
    pub fn max(self) -> u64 {
        use crate::table::*;
        match self {
            Limit::Rows => MAX_ROWS as u64,
            Limit::Columns => MAX_COLUMNS as u64,
            Limit::CellChars => MAX_CELL_CHARS as u64,
            Limit::SheetBytes => MAX_SHEET_BYTES,
            Limit::SharedStringsBytes => MAX_SHARED_STRINGS_BYTES,
            Limit::PartBytes => MAX_PART_BYTES,
            Limit::UnpackedBytes => MAX_UNPACKED_BYTES,
        }
    }
}

/// `1048576` as `1,048,576`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn limit_message(file: &str, limit: Limit, line: Option<usize>, column: Option<usize>) -> String {
    let max = thousands(limit.max());
    let mib = thousands(limit.max() >> 20);
    let mut s = match limit {
        Limit::Rows => format!("表格超过行数上限 {max} the sheet has more than {max} rows"),
        Limit::Columns => format!("超过列数上限 {max} more than {max} columns"),
        Limit::CellChars => {
            format!("单元格超过字符数上限 {max} a cell has more than {max} characters")
        }
        Limit::SheetBytes => format!(
            "工作表解压后超过 {mib} MiB 上限 a sheet is larger than {mib} MiB uncompressed"
        ),
        Limit::SharedStringsBytes => format!(
            "共享字符串解压后超过 {mib} MiB 上限 the shared strings are larger than {mib} MiB uncompressed"
        ),
        Limit::PartBytes => format!(
            "表格文件的部件解压后超过 {mib} MiB 上限 a part of the spreadsheet (styles, workbook, content) is larger than {mib} MiB uncompressed"
        ),
        Limit::UnpackedBytes => format!(
            "表格文件解压后超过 {mib} MiB 上限 the spreadsheet is larger than {mib} MiB uncompressed"
        ),
    };
    if let Some(l) = line {
        s.push_str(&format!(" (第{l}行 line {l}"));
        if let Some(c) = column {
            s.push_str(&format!(", 第{c}列 column {c}"));
        }
        s.push(')');
    }
    s.push_str(": ");
    s.push_str(file);
    s
}

/// One problem with one row of a file: the user sees where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowError {
    /// 1-based physical line of a CSV file (header = 1; a record spanning
    /// lines is reported at its first line), or the spreadsheet row number.
    pub line: usize,
    /// The column's header as written in the file, when the problem has a column.
    pub column: Option<String>,
    /// 1-based index of that column.
    pub column_index: Option<usize>,
    /// The field the column maps to (`phone`, `contact_mobile`, `amount`…,
    /// `custom.KEY` for a custom profile field).
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "第{}行 line {}", self.line, self.line)?;
        if let Some(c) = &self.column {
            write!(f, ", column {c:?}")?;
        }
        if let Some(i) = self.column_index {
            write!(f, " (#{i})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Something the user should know that does not reject a row (an unknown
/// column whose data is left out, an empty header…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Warning {
    pub column: Option<String>,
    pub column_index: Option<usize>,
    pub message: String,
}
