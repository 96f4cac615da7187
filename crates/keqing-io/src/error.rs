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
}

/// One problem with one row of a file: the user sees where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
pub struct Warning {
    pub column: Option<String>,
    pub column_index: Option<usize>,
    pub message: String,
}
