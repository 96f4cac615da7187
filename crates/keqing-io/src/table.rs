//! Reading a CSV or spreadsheet file into a [`Table`]: a header and rows of
//! text cells, each row with the line the user sees in their editor.
//!
//! Nothing here knows what the columns mean; [`crate::import`] does that.
//! A row that cannot be read (bytes invalid in the file's encoding, a wrong
//! number of fields, a spreadsheet error cell) is kept with its
//! [`RowIssue`], so it is reported and can be written back for fixing.

use crate::error::IoError;
use calamine::{Data, Reader};
use encoding_rs::GB18030;
use std::io::Cursor;
use std::path::Path;

/// The text encoding of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    /// UTF-8 starting with a byte-order mark (what Excel writes as "CSV UTF-8").
    Utf8Bom,
    /// GBK or GB18030 (GB18030 is a superset of GBK, so one decoder reads both):
    /// what Excel on a Chinese Windows writes as plain "CSV".
    Gb18030,
    /// UTF-16 with a byte-order mark: Excel's "Unicode text" (tab-separated).
    /// Only detected, by its mark; bytes invalid in it make their row an error.
    Utf16,
}

/// Where a table came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableSource {
    Csv {
        encoding: TextEncoding,
        delimiter: u8,
    },
    Sheet {
        name: String,
    },
}

/// How to read a file; the defaults detect everything.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Spreadsheet: the sheet to read (default: the first).
    pub sheet: Option<String>,
    /// CSV: the field delimiter (default: detected among `,` tab `;` `|`).
    pub delimiter: Option<u8>,
    /// CSV: the encoding (default: detected).
    pub encoding: Option<TextEncoding>,
}

/// Why a row could not be read as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowIssue {
    /// Bytes that are not valid in the file's encoding (or text holding the
    /// replacement character U+FFFD), first in this column (1-based index
    /// into the row); the cells hold a lossy decoding.
    BadEncoding { column_index: usize },
    /// The row has `found` fields where the header has a different number.
    FieldCount { found: usize },
    /// A spreadsheet cell holding an error value (`#N/A`, `#DIV/0!`…).
    CellError { column_index: usize, error: String },
}

/// One data row: its line (1-based physical line of a CSV, header = 1; the
/// first line of a record that spans lines; or the spreadsheet row number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub cells: Cells,
    pub issue: Option<RowIssue>,
}

/// A row's cells, one after another in one string: two allocations a row
/// however many cells it has. (A `String` a cell made a million-row file's
/// table about 600 MB and its reading a third slower.)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cells {
    text: String,
    /// Where each cell ends in `text`.
    ends: Vec<usize>,
}

impl Cells {
    /// A cell added after the others.
    pub fn push(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }

    /// The `i`th cell (0-based), if the row has it.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1],
        };
        Some(&self.text[start..end])
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The cells in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let cell = &self.text[start..end];
            start = end;
            cell
        })
    }
}

impl<S: AsRef<str>> FromIterator<S> for Cells {
    fn from_iter<I: IntoIterator<Item = S>>(cells: I) -> Cells {
        let mut c = Cells::default();
        for cell in cells {
            c.push(cell.as_ref());
        }
        c
    }
}

/// A file's header and data rows. Completely blank rows are not in `rows`,
/// only counted in `blank_rows`.
#[derive(Debug, Clone)]
pub struct Table {
    pub file_name: String,
    pub source: TableSource,
    pub headers: Vec<String>,
    pub header_line: usize,
    /// 0-based column of the spreadsheet where the table starts (0 for CSV):
    /// column indices reported to users are counted from column A.
    pub column_offset: usize,
    pub rows: Vec<Row>,
    pub blank_rows: usize,
}

impl Table {
    /// Number of rows after the header: read rows plus blank ones.
    pub fn data_rows(&self) -> usize {
        self.rows.len() + self.blank_rows
    }

    /// The row at a line, if there is one.
    pub fn row_at(&self, line: usize) -> Option<&Row> {
        self.rows
            .binary_search_by_key(&line, |r| r.line)
            .ok()
            .map(|i| &self.rows[i])
    }
}

/// Reads a CSV or spreadsheet file; the format is told by the file name and
/// checked against the content.
pub fn read_table(path: &Path, opts: &ReadOptions) -> Result<Table, IoError> {
    let bytes = std::fs::read(path).map_err(|source| IoError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    read_table_bytes(&bytes, &name, opts)
}

/// Reads a file already in memory (an upload); `file_name` tells the format.
pub fn read_table_bytes(
    bytes: &[u8],
    file_name: &str,
    opts: &ReadOptions,
) -> Result<Table, IoError> {
    let ext = Path::new(file_name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let zip_or_ole = bytes.starts_with(b"PK\x03\x04")
        || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    match ext.as_str() {
        "xlsx" | "xlsm" | "xls" | "xlsb" | "ods" => read_sheet(bytes, file_name, opts),
        "csv" | "txt" | "tsv" if !zip_or_ole => {
            let delim = opts
                .delimiter
                .or(if ext == "tsv" { Some(b'\t') } else { None });
            read_csv(bytes, file_name, delim, opts.encoding)
        }
        // A spreadsheet saved under a CSV name, or no telling extension: trust the content.
        _ if zip_or_ole => read_sheet(bytes, file_name, opts),
        "csv" | "txt" | "tsv" | "" => read_csv(bytes, file_name, opts.delimiter, opts.encoding),
        _ => Err(IoError::UnknownFormat {
            file: file_name.to_string(),
        }),
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Decides between UTF-8 and GB18030 for bytes that are not all valid UTF-8.
/// Lines with non-ASCII bytes vote: a UTF-8 file with a few corrupt rows
/// stays UTF-8 (those rows are reported), a GBK file is read as GBK.
fn detect_encoding(bytes: &[u8]) -> TextEncoding {
    if bytes.starts_with(BOM) {
        return TextEncoding::Utf8Bom;
    }
    if std::str::from_utf8(bytes).is_ok() {
        return TextEncoding::Utf8;
    }
    let (mut utf8, mut gb) = (0usize, 0usize);
    for line in bytes.split(|b| *b == b'\n') {
        if line.is_ascii() {
            continue;
        }
        if std::str::from_utf8(line).is_ok() {
            utf8 += 1;
        } else if GB18030
            .decode_without_bom_handling_and_without_replacement(line)
            .is_some()
        {
            gb += 1;
        }
    }
    if utf8 > gb {
        TextEncoding::Utf8
    } else {
        TextEncoding::Gb18030
    }
}

/// The delimiter used most often outside quotes in the first line (comma when none is).
fn detect_delimiter(bytes: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let candidates = [b',', b'\t', b';', b'|'];
    let mut quoted = false;
    for &b in bytes {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = candidates.iter().position(|c| *c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let mut best = 0;
    for i in 1..4 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    candidates[best]
}

/// Decodes one field; `None` when its bytes are invalid in the encoding.
fn decode(field: &[u8], enc: TextEncoding) -> Option<String> {
    match enc {
        TextEncoding::Utf8 | TextEncoding::Utf8Bom | TextEncoding::Utf16 => {
            std::str::from_utf8(field).ok().map(str::to_string)
        }
        TextEncoding::Gb18030 => GB18030
            .decode_without_bom_handling_and_without_replacement(field)
            .map(|c| c.into_owned()),
    }
}

/// The first cell holding U+FFFD, the mark an earlier lossy conversion
/// leaves where it destroyed text: such a row is as bad as invalid bytes.
fn damaged(cells: &Cells) -> Option<usize> {
    cells.iter().position(|c| c.contains('\u{FFFD}'))
}

fn decode_lossy(field: &[u8], enc: TextEncoding) -> String {
    match enc {
        TextEncoding::Utf8 | TextEncoding::Utf8Bom | TextEncoding::Utf16 => {
            String::from_utf8_lossy(field).into_owned()
        }
        TextEncoding::Gb18030 => GB18030.decode_without_bom_handling(field).0.into_owned(),
    }
}

/// A record's cells, and the first cell whose bytes are invalid in the
/// encoding (then every cell is decoded with replacement characters). UTF-8,
/// the common case, is checked and copied whole: the record's fields lie one
/// after another in one buffer.
fn decode_record(record: &csv::ByteRecord, enc: TextEncoding) -> (Cells, Option<usize>) {
    let utf8 = matches!(
        enc,
        TextEncoding::Utf8 | TextEncoding::Utf8Bom | TextEncoding::Utf16
    );
    if utf8 {
        if let Ok(text) = std::str::from_utf8(record.as_slice()) {
            let ends = (0..record.len())
                .map(|i| record.range(i).map_or(text.len(), |r| r.end))
                .collect();
            let cells = Cells {
                text: text.to_string(),
                ends,
            };
            return (cells, None);
        }
    }
    let mut cells = Cells::default();
    let mut bad = None;
    for (i, f) in record.iter().enumerate() {
        match decode(f, enc) {
            Some(c) => cells.push(&c),
            None => {
                bad = Some(i);
                break;
            }
        }
    }
    match bad {
        None => (cells, None),
        Some(_) => (record.iter().map(|f| decode_lossy(f, enc)).collect(), bad),
    }
}

/// 1-based line numbers of byte offsets, counted forward once. A line break
/// is `\n`, `\r\n` or a lone `\r`, as the csv reader takes them.
struct LineCounter<'a> {
    bytes: &'a [u8],
    upto: usize,
    breaks: usize,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            upto: 0,
            breaks: 0,
        }
    }

    /// A counter already at `offset`: its line breaks counted at once (the
    /// loops the compiler turns into vector compares), not byte by byte, for
    /// the part of a file read from its middle.
    fn at(bytes: &'a [u8], offset: usize) -> Self {
        let offset = offset.min(bytes.len());
        let head = &bytes[..offset];
        let count = |c: u8| head.iter().filter(|&&b| b == c).count();
        // `\r\n` is one break (counted at its `\n`), a lone `\r` another:
        // as `is_break` has it, also for a `\r` at the end of `head`.
        let crlf = head.windows(2).filter(|w| w == b"\r\n").count()
            + usize::from(head.last() == Some(&b'\r') && bytes.get(offset) == Some(&b'\n'));
        LineCounter {
            bytes,
            upto: offset,
            breaks: count(b'\n') + count(b'\r') - crlf,
        }
    }

    /// The line of the byte at `offset` (offsets must not go backwards).
    fn line_at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.bytes.len());
        while self.upto < offset {
            if is_break(self.bytes, self.upto) {
                self.breaks += 1;
            }
            self.upto += 1;
        }
        self.breaks + 1
    }
}

fn is_break(bytes: &[u8], i: usize) -> bool {
    match bytes[i] {
        b'\n' => true,
        b'\r' => bytes.get(i + 1) != Some(&b'\n'),
        _ => false,
    }
}

fn leading_breaks(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count()
}

fn trailing_breaks(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .rev()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count()
}

/// A CSV file from which a second thread reads its second half (bytes
/// after the header; smaller files are read on one thread).
const PARALLEL_READ: usize = 8 << 20;

/// The records read from one part of a CSV body.
struct Part {
    rows: Vec<Row>,
    /// Blank rows among its records (not before its first one).
    blank_rows: usize,
    /// The line of its first record and the last line of its last one.
    first_line: Option<usize>,
    last_line: usize,
    /// Where its reading stopped in the body.
    end: usize,
    /// The lines of the whole body, from the part that read to its end.
    total_lines: Option<usize>,
}

/// Reads the records of `body` from `from` (where a record starts) until
/// the next one would start at `stop` or after it; lines are counted from
/// the start of the body.
fn read_records(
    body: &[u8],
    from: usize,
    stop: usize,
    builder: &csv::ReaderBuilder,
    columns: usize,
    encoding: TextEncoding,
) -> Result<Part, csv::Error> {
    let mut reader = builder.from_reader(&body[from..]);
    let mut record = csv::ByteRecord::new();
    // The csv reader skips empty lines and its own line numbers drift on
    // them and on CRLF, so lines are counted here from byte offsets.
    let mut lines = LineCounter::at(body, from);
    let mut part = Part {
        rows: Vec::new(),
        blank_rows: 0,
        first_line: None,
        last_line: 0,
        end: from,
        total_lines: None,
    };
    let mut pos = from;
    // Only line breaks before `stop`: the next record starts there or after.
    while !body[pos..stop.max(pos)]
        .iter()
        .all(|b| matches!(b, b'\r' | b'\n'))
        && reader.read_byte_record(&mut record)?
    {
        let end = (from + reader.position().byte() as usize).min(body.len());
        let start = pos + leading_breaks(&body[pos..end]);
        let content_end = (end - trailing_breaks(&body[start..end])).max(start);
        pos = end;
        let line = lines.line_at(start);
        let last_line = lines.line_at(content_end);
        if part.first_line.is_none() {
            part.first_line = Some(line);
        } else {
            // Empty lines between the previous record and this one.
            part.blank_rows += line.saturating_sub(part.last_line + 1);
        }
        part.last_line = last_line;
        let (cells, bad) = decode_record(&record, encoding);
        if cells.iter().all(|c| c.trim().is_empty()) && bad.is_none() {
            part.blank_rows += 1;
            continue;
        }
        let issue = match bad.or_else(|| damaged(&cells)) {
            Some(i) => Some(RowIssue::BadEncoding {
                column_index: i + 1,
            }),
            None if cells.len() != columns => Some(RowIssue::FieldCount { found: cells.len() }),
            None => None,
        };
        part.rows.push(Row { line, cells, issue });
    }
    part.end = pos;
    if stop == body.len() {
        part.total_lines = Some(lines.line_at(body.len()));
    }
    Ok(part)
}

fn read_csv(
    bytes: &[u8],
    file_name: &str,
    delimiter: Option<u8>,
    encoding: Option<TextEncoding>,
) -> Result<Table, IoError> {
    read_csv_in_halves(bytes, file_name, delimiter, encoding, PARALLEL_READ)
}

/// [`read_csv`], reading the body in two halves at once when it has
/// `parallel` bytes or more after the header.
fn read_csv_in_halves(
    bytes: &[u8],
    file_name: &str,
    delimiter: Option<u8>,
    encoding: Option<TextEncoding>,
    parallel: usize,
) -> Result<Table, IoError> {
    if let Some((utf16, _)) = encoding_rs::Encoding::for_bom(bytes) {
        if utf16 != encoding_rs::UTF_8 {
            // Decoded whole to UTF-8; a broken sequence becomes U+FFFD, which
            // makes its row a bad-encoding error like invalid bytes do.
            let (text, _) = utf16.decode_with_bom_removal(bytes);
            let mut t = read_csv_in_halves(
                text.as_bytes(),
                file_name,
                delimiter,
                Some(TextEncoding::Utf8),
                parallel,
            )?;
            t.source = TableSource::Csv {
                encoding: TextEncoding::Utf16,
                delimiter: match t.source {
                    TableSource::Csv { delimiter, .. } => delimiter,
                    TableSource::Sheet { .. } => b'\t',
                },
            };
            return Ok(t);
        }
    }
    let encoding = encoding.unwrap_or_else(|| detect_encoding(bytes));
    let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let delimiter = delimiter.unwrap_or_else(|| detect_delimiter(body));
    let csv_err = |source| IoError::Csv {
        file: file_name.to_string(),
        source,
    };
    // Parsing bytes before decoding is safe for GBK and GB18030: their
    // multi-byte sequences never contain the bytes of `,` `;` `|` tab, quote
    // or line breaks (trail bytes are ≥ 0x30).
    let builder = {
        let mut b = csv::ReaderBuilder::new();
        b.has_headers(false).flexible(true).delimiter(delimiter);
        b
    };
    // The header: the first record.
    let mut reader = builder.from_reader(body);
    let mut record = csv::ByteRecord::new();
    if !reader.read_byte_record(&mut record).map_err(csv_err)? {
        return Err(IoError::Empty {
            file: file_name.to_string(),
        });
    }
    let header_end = (reader.position().byte() as usize).min(body.len());
    let mut lines = LineCounter::new(body);
    let header_start = leading_breaks(&body[..header_end]);
    let header_line = lines.line_at(header_start);
    let header_last = lines
        .line_at((header_end - trailing_breaks(&body[header_start..header_end])).max(header_start));
    let decoded: Vec<Option<String>> = record.iter().map(|f| decode(f, encoding)).collect();
    if decoded.iter().any(Option::is_none) {
        return Err(IoError::BadHeaderEncoding {
            file: file_name.to_string(),
        });
    }
    let headers: Vec<String> = decoded
        .into_iter()
        .map(|c| c.unwrap_or_default().trim().to_string())
        .collect();
    let part = |from: usize, stop: usize| {
        read_records(body, from, stop, &builder, headers.len(), encoding)
    };
    // A big file is read in two halves at once. The second starts after a
    // line break near the middle, which is where a record starts unless a
    // quoted field runs across it: the first half, read up to there, tells
    // (its last record ends before it, only line breaks between); if not,
    // the second half's rows are dropped and the first goes on to the end.
    let middle = header_end + (body.len() - header_end) / 2;
    let split = (body.len() - header_end >= parallel)
        .then(|| body[middle..].iter().position(|&b| b == b'\n'))
        .flatten()
        .map(|i| middle + i + 1)
        .filter(|&at| at < body.len());
    let mut parts = match split {
        None => vec![part(header_end, body.len()).map_err(csv_err)?],
        Some(at) => {
            let (first, second) = std::thread::scope(|s| {
                let second = s.spawn(|| part(at, body.len()));
                let first = part(header_end, at);
                (first, second.join())
            });
            let first = first.map_err(csv_err)?;
            match second {
                Ok(second) if first.end <= at => vec![first, second.map_err(csv_err)?],
                _ => {
                    let rest = part(first.end, body.len()).map_err(csv_err)?;
                    vec![first, rest]
                }
            }
        }
    };
    let mut rows = std::mem::take(&mut parts[0].rows);
    let mut blank_rows = 0;
    let mut prev_last_line = header_last;
    for p in &mut parts {
        if let Some(first) = p.first_line {
            // Empty lines between the part's first record and the one before.
            blank_rows += first.saturating_sub(prev_last_line + 1);
            prev_last_line = p.last_line;
        }
        blank_rows += p.blank_rows;
        rows.append(&mut p.rows);
    }
    // Empty lines after the last record (a final line break ends the last
    // line, it does not start an empty one).
    let total_lines = parts
        .last()
        .and_then(|p| p.total_lines)
        .unwrap_or_else(|| lines.line_at(body.len()))
        - usize::from(trailing_breaks(body) > 0);
    blank_rows += total_lines.saturating_sub(prev_last_line);
    Ok(Table {
        file_name: file_name.to_string(),
        source: TableSource::Csv {
            encoding,
            delimiter,
        },
        headers,
        header_line,
        column_offset: 0,
        rows,
        blank_rows,
    })
}

/// A spreadsheet cell as the text a user would have typed.
fn cell_text(d: &Data) -> Result<String, String> {
    Ok(match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        // Phone numbers and codes typed into Excel become numbers: write them
        // back without a decimal point.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            if dt.as_f64() < 1.0 {
                format!("{h:02}:{mi:02}:{s:02}")
            } else if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        Data::DateTime(dt) => dt.as_f64().to_string(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => return Err(e.to_string()),
    })
}

fn read_sheet(bytes: &[u8], file_name: &str, opts: &ReadOptions) -> Result<Table, IoError> {
    let bad = |e: calamine::Error| IoError::Spreadsheet {
        file: file_name.to_string(),
        message: e.to_string(),
    };
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(bad)?;
    let names = book.sheet_names();
    let sheet = match &opts.sheet {
        Some(s) if names.contains(s) => s.clone(),
        Some(s) => {
            return Err(IoError::NoSuchSheet {
                file: file_name.to_string(),
                sheet: s.clone(),
                available: names,
            })
        }
        None => names.first().cloned().ok_or_else(|| IoError::Empty {
            file: file_name.to_string(),
        })?,
    };
    let range = book.worksheet_range(&sheet).map_err(bad)?;
    let Some((row0, col0)) = range.start() else {
        return Err(IoError::Empty {
            file: file_name.to_string(),
        });
    };
    // The header is the first row with two or more cells filled, so a title
    // row above it (a merged "2025年客户名单") is passed over; a sheet whose
    // first rows never have two cells takes its first non-empty row.
    let filled = |r: &[Data]| r.iter().filter(|c| !matches!(c, Data::Empty)).count();
    let all: Vec<&[Data]> = range.rows().collect();
    let header_at = all
        .iter()
        .take(10)
        .position(|r| filled(r) >= 2)
        .or_else(|| all.iter().position(|r| filled(r) >= 1))
        .ok_or_else(|| IoError::Empty {
            file: file_name.to_string(),
        })?;
    let headers: Vec<String> = all[header_at]
        .iter()
        .map(|c| cell_text(c).unwrap_or_default().trim().to_string())
        .collect();
    let header_line = row0 as usize + header_at + 1;
    let it = all.iter().enumerate().skip(header_at + 1);
    let mut rows = Vec::new();
    let mut blank_rows = 0;
    for (i, r) in it {
        let line = row0 as usize + i + 1;
        let mut issue = None;
        let cells: Cells = r
            .iter()
            .enumerate()
            .map(|(j, c)| match cell_text(c) {
                Ok(t) => t,
                Err(e) => {
                    let text = e.clone();
                    issue.get_or_insert(RowIssue::CellError {
                        column_index: j + 1,
                        error: e,
                    });
                    text
                }
            })
            .collect();
        if issue.is_none() {
            issue = damaged(&cells).map(|i| RowIssue::BadEncoding {
                column_index: i + 1,
            });
        }
        if issue.is_none() && cells.iter().all(|c| c.trim().is_empty()) {
            blank_rows += 1;
            continue;
        }
        rows.push(Row { line, cells, issue });
    }
    Ok(Table {
        file_name: file_name.to_string(),
        source: TableSource::Sheet { name: sheet },
        headers,
        header_line,
        column_offset: col0 as usize,
        rows,
        blank_rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_of_a_record() {
        let c: Cells = ["甲公司", "", "南京市"].into_iter().collect();
        assert_eq!(
            (c.len(), c.get(0), c.get(1), c.get(2), c.get(3)),
            (3, Some("甲公司"), Some(""), Some("南京市"), None)
        );
        assert_eq!(c.iter().collect::<Vec<_>>(), ["甲公司", "", "南京市"]);
        assert!(Cells::default().is_empty() && Cells::default().get(0).is_none());

        let record = |fields: &[&[u8]]| csv::ByteRecord::from(fields.to_vec());
        let (c, bad) = decode_record(&record(&["甲".as_bytes(), b"", b"x"]), TextEncoding::Utf8);
        assert_eq!(
            (c.iter().collect::<Vec<_>>(), bad),
            (vec!["甲", "", "x"], None)
        );
        // The second field is not UTF-8: it is named, and the row's text kept
        // with replacement characters.
        let (c, bad) = decode_record(&record(&[b"ok", b"\xff\xfe", b"z"]), TextEncoding::Utf8);
        assert_eq!(
            (c.iter().collect::<Vec<_>>(), bad),
            (vec!["ok", "\u{FFFD}\u{FFFD}", "z"], Some(1))
        );
        // GBK 南京 is decoded cell by cell.
        let (c, bad) = decode_record(
            &record(&[&[0xC4, 0xCF, 0xBE, 0xA9], b"1"]),
            TextEncoding::Gb18030,
        );
        assert_eq!(
            (c.iter().collect::<Vec<_>>(), bad),
            (vec!["南京", "1"], None)
        );
    }

    fn csv(text: &[u8]) -> Table {
        read_table_bytes(text, "t.csv", &ReadOptions::default()).unwrap()
    }

    #[test]
    fn lines_blank_rows_and_multiline_records() {
        let t = csv(b"a,b\n1,2\n\n,\n\"x\ny\",3\n4,5\n\n\n");
        let lines: Vec<usize> = t.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 5, 7]);
        assert_eq!(t.rows[1].cells.iter().collect::<Vec<_>>(), ["x\ny", "3"]);
        // line 3 empty, line 4 only a comma, lines 8 and 9 empty
        assert_eq!(t.blank_rows, 4);
        assert_eq!(t.data_rows(), 7);
    }

    #[test]
    fn no_final_newline_and_crlf() {
        let t = csv(b"a,b\r\n1,2\r\n\r\n3,4");
        assert_eq!(
            t.rows.iter().map(|r| r.line).collect::<Vec<_>>(),
            vec![2, 4]
        );
        assert_eq!(t.blank_rows, 1);
        assert_eq!(t.rows[1].cells.iter().collect::<Vec<_>>(), ["3", "4"]);
    }

    #[test]
    fn delimiters_are_detected() {
        assert_eq!(detect_delimiter(b"a;b;c\n1,5;2;3"), b';');
        assert_eq!(detect_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(detect_delimiter(b"\"a,b\";c\n"), b';');
        assert_eq!(detect_delimiter(b"a\n"), b',');
    }

    #[test]
    fn utf16_unicode_text() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "客户名称\t城市\r\n甲公司\t南京市\r\n".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let t = read_table_bytes(&bytes, "客户.txt", &ReadOptions::default()).unwrap();
        assert_eq!(
            t.source,
            TableSource::Csv {
                encoding: TextEncoding::Utf16,
                delimiter: b'\t'
            }
        );
        assert_eq!(t.headers, vec!["客户名称", "城市"]);
        assert_eq!(
            t.rows[0].cells.iter().collect::<Vec<_>>(),
            ["甲公司", "南京市"]
        );
        assert_eq!(t.rows[0].line, 2);
    }

    #[test]
    fn a_line_counter_started_anywhere_counts_as_one_from_the_start() {
        let text = b"a\r\nb\rc\n\r\r\n\nd\r";
        for from in 0..=text.len() {
            let mut walked = LineCounter::new(text);
            let mut started = LineCounter::at(text, from);
            for offset in from..=text.len() {
                assert_eq!(
                    started.line_at(offset),
                    walked.line_at(offset),
                    "{from} {offset}"
                );
            }
        }
    }

    /// A table as text, to compare two readings of one file.
    fn shown(t: &Table) -> String {
        format!(
            "{:?} {:?} {} {:?} {}",
            t.headers,
            t.source,
            t.header_line,
            t.rows
                .iter()
                .map(|r| (
                    r.line,
                    r.cells.iter().collect::<Vec<_>>(),
                    format!("{:?}", r.issue)
                ))
                .collect::<Vec<_>>(),
            t.blank_rows
        )
    }

    #[test]
    fn a_file_read_in_two_halves_is_the_file_read_whole() {
        // Records that a split near the middle may cut: quoted fields over
        // line breaks (also a break right after the quote), quotes inside,
        // blank lines, CRLF, a lone CR, blank records, a short and a long
        // row, bytes that are not UTF-8. Padding rows move the middle over
        // each of them in turn.
        let tricky: &[&[u8]] = &[
            b"a1,\"two\nlines\",x\n",
            b"a2,\"\nstarts with a break\r\n\n\",y\r\n",
            b"\n\n",
            b"a3,\"say \"\"hi\"\"\nthen\",z\n",
            b",,\n",
            b"a4,b\rlone,c\n",
            b"a5,short\n",
            b"a6,b,c,d\n",
            b"a7,\xff\xfe,bad\n",
            b"\r\n",
        ];
        let mut checked = 0;
        for pad in 0..48 {
            for end in [&b""[..], b"\n", b"\n\n", b"last,row,x"] {
                let mut file = b"h1,h2,h3\n".to_vec();
                for i in 0..pad {
                    file.extend_from_slice(format!("p{i},v,w\n").as_bytes());
                }
                for t in tricky {
                    file.extend_from_slice(t);
                }
                file.extend_from_slice(b"tail,\"q\nq\",t\n");
                file.extend_from_slice(end);
                let whole = read_csv_in_halves(&file, "f.csv", None, None, usize::MAX).unwrap();
                let halves = read_csv_in_halves(&file, "f.csv", None, None, 1).unwrap();
                assert_eq!(shown(&halves), shown(&whole), "pad {pad}, end {end:?}");
                checked += whole.rows.len();
            }
        }
        assert!(checked > 48 * 4 * 10);
    }

    #[test]
    fn field_count_and_encoding_issues() {
        let t = csv(b"a,b\n1\n1,2,3\n\xff,2\n");
        assert_eq!(t.rows[0].issue, Some(RowIssue::FieldCount { found: 1 }));
        assert_eq!(t.rows[1].issue, Some(RowIssue::FieldCount { found: 3 }));
        assert_eq!(
            t.rows[2].issue,
            Some(RowIssue::BadEncoding { column_index: 1 })
        );
    }
}
