//! Reading a CSV or spreadsheet file into a [`Table`]: a header and rows of
//! text cells, each row with the line the user sees in their editor.
//!
//! Nothing here knows what the columns mean; [`crate::import`] does that.
//! A row that cannot be read (bytes invalid in the file's encoding, a wrong
//! number of fields, a spreadsheet error cell) is kept with its
//! [`RowIssue`], so it is reported and can be written back for fixing.

use crate::error::{IoError, Limit};
use calamine::{Data, DataRef, Reader};
use encoding_rs::GB18030;
use std::io::Cursor;
use std::path::Path;

/// Rows a spreadsheet may have: Excel's own limit (row 1,048,576). A row
/// number past it is refused with [`Limit::Rows`].
pub const MAX_ROWS: usize = 1_048_576;

/// Columns a file may have: the fields of a CSV line, or a spreadsheet
/// value's column (A to AMJ). A customers file has about 40 and a few custom
/// fields. Past it: [`Limit::Columns`].
pub const MAX_COLUMNS: usize = 1_024;

/// Characters one cell or CSV field may hold: Excel's own limit. Past it:
/// [`Limit::CellChars`].
pub const MAX_CELL_CHARS: usize = 32_767;

/// Bytes a sheet of a spreadsheet (its XML, read as a stream) may take once
/// decompressed, counted as it is decompressed, whatever the file declares:
/// about a million rows of a dozen short columns. Past it: [`Limit::SheetBytes`].
pub const MAX_SHEET_BYTES: u64 = 512 << 20;

/// Bytes an XLSX's shared strings may take once decompressed: they are held
/// in memory whole (two to four times their XML size) while the sheet is
/// read. Past it: [`Limit::SharedStringsBytes`].
pub const MAX_SHARED_STRINGS_BYTES: u64 = 64 << 20;

/// Bytes any other part of a spreadsheet that is read whole (its styles,
/// its workbook, an ODS's content) may take once decompressed. Past it:
/// [`Limit::PartBytes`].
pub const MAX_PART_BYTES: u64 = 64 << 20;

/// Bytes all the XML parts of a spreadsheet may take together once
/// decompressed. Past it: [`Limit::UnpackedBytes`].
pub const MAX_UNPACKED_BYTES: u64 = 1 << 30;

/// The longest stretch of a spreadsheet part's XML that the reader holds at
/// once (a tag, or the text between two tags): a cell of
/// [`MAX_CELL_CHARS`] characters escaped takes at most 6 bytes a character.
/// A longer one is refused as [`Limit::CellChars`] before the part is parsed.
const MAX_XML_EVENT: usize = 6 * MAX_CELL_CHARS + 4096;

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
    /// Spreadsheet: the sheet to read (default: the one named for `kind`,
    /// else the first).
    pub sheet: Option<String>,
    /// Spreadsheet without `sheet`: what the file is read for; a workbook
    /// with a sheet named for it (客户 or customers, 联系人 or contacts,
    /// 订单 or orders: [`crate::RecordKind::sheet_names`]) is read from
    /// that sheet, as an export of customers and contacts is.
    pub kind: Option<crate::fields::RecordKind>,
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
    /// A CSV quote that was not closed where it should be: the quoted field
    /// opened at `line` in this column runs to the end of the file, or has
    /// characters after its closing quote. When the field ran across lines
    /// the row is only the lines up to the one where the quote opened, and
    /// the lines after it are read as rows of their own. (A well-formed
    /// quoted field running across lines into a field that must be one line
    /// is the import's to report: it knows the fields.)
    Quote {
        column_index: usize,
        line: usize,
        problem: QuoteProblem,
    },
}

/// What is wrong with a quoted CSV field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteProblem {
    /// No closing quote before the end of the file.
    Unclosed,
    /// Characters between the closing quote and the next delimiter (`"a"b,`).
    AfterClosing,
    /// The field runs across lines past [`MAX_CELL_CHARS`] characters: a
    /// quote left open, closed by a stray quote far below.
    TooLong,
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

    /// Whether any cell holds a line break (`\n` or `\r`).
    pub fn has_line_break(&self) -> bool {
        memchr::memchr2(b'\n', b'\r', self.text.as_bytes()).is_some()
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

/// Decides between UTF-8 and GB18030 (see [`gbk_read_as_utf8`] for GBK that is also valid UTF-8).
/// Lines with non-ASCII bytes vote: a UTF-8 file with a few corrupt rows
/// stays UTF-8 (those rows are reported), a GBK file is read as GBK.
fn detect_encoding(bytes: &[u8]) -> TextEncoding {
    if bytes.starts_with(BOM) {
        return TextEncoding::Utf8Bom;
    }
    if std::str::from_utf8(bytes).is_ok() {
        return if gbk_read_as_utf8(bytes) {
            TextEncoding::Gb18030
        } else {
            TextEncoding::Utf8
        };
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

/// Whether a file that is valid UTF-8 is GBK all the same. Some Chinese
/// characters' GBK bytes happen to be two-byte UTF-8 sequences (丐 is D8 A4,
/// Arabic ؤ in UTF-8; 一 is D2 BB, Cyrillic һ): a GBK file with English
/// headers and a few such names reads as UTF-8. It is GBK when every
/// non-ASCII character is such a pair (a lead C2-DF, a trail A1-BF: GBK's
/// trail bytes, where real Cyrillic, Arabic or Greek text also uses 80-A0),
/// one at least with a lead past C3 (Latin-1 letters such as é, C3 A9, are
/// UTF-8's everyday accents), no character is three or four bytes (as every
/// Chinese character in UTF-8 is), and the file reads as GB18030.
fn gbk_read_as_utf8(bytes: &[u8]) -> bool {
    let Some(first) = bytes.iter().position(|b| !b.is_ascii()) else {
        return false;
    };
    let mut past_latin1 = false;
    let mut i = first;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            i += 1;
            continue;
        }
        let trail = bytes.get(i + 1).copied().unwrap_or(0);
        if !(0xc2..=0xdf).contains(&b) || !(0xa1..=0xbf).contains(&trail) {
            return false;
        }
        past_latin1 |= b > 0xc3;
        i += 2;
    }
    past_latin1
        && GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .is_some()
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
/// The row's text is searched once, for the lead byte of U+FFFD (`EF BF BD`):
/// `str::contains` checked each cell on its own, and how it was compiled
/// changed with the code around it (a third of a million-row read once).
fn damaged(cells: &Cells) -> Option<usize> {
    let text = cells.text.as_bytes();
    let at =
        memchr::memchr_iter(0xEF, text).find(|&i| text.get(i + 1..i + 3) == Some(b"\xBF\xBD"))?;
    Some(cells.ends.partition_point(|&end| end <= at))
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
            let ends: Vec<usize> = (0..record.len())
                .map(|i| record.range(i).map_or(text.len(), |r| r.end))
                .collect();
            // Fields lie one after another without their delimiters: two
            // fields each invalid alone (`\xE2\x80` and `\xAF`) can make
            // valid text together. Then they are decoded one by one below.
            if ends.iter().all(|&e| text.is_char_boundary(e)) {
                let cells = Cells {
                    text: text.to_string(),
                    ends,
                };
                return (cells, None);
            }
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

/// Why reading a CSV body stopped.
enum ReadError {
    Csv(csv::Error),
    Limit {
        limit: Limit,
        line: usize,
        column: usize,
    },
}

impl From<csv::Error> for ReadError {
    fn from(e: csv::Error) -> Self {
        ReadError::Csv(e)
    }
}

/// The fields of a record against [`MAX_COLUMNS`], before they are decoded.
fn check_columns(fields: usize, line: usize) -> Result<(), ReadError> {
    if fields > MAX_COLUMNS {
        return Err(ReadError::Limit {
            limit: Limit::Columns,
            line,
            column: MAX_COLUMNS + 1,
        });
    }
    Ok(())
}

/// Each cell against [`MAX_CELL_CHARS`]: characters are counted only in a
/// row whose text is longer than that many bytes.
fn check_cells(cells: &Cells, line: usize) -> Result<(), ReadError> {
    if cells.text.len() <= MAX_CELL_CHARS {
        return Ok(());
    }
    match cells
        .iter()
        .position(|c| c.len() > MAX_CELL_CHARS && c.chars().count() > MAX_CELL_CHARS)
    {
        Some(i) => Err(ReadError::Limit {
            limit: Limit::CellChars,
            line,
            column: i + 1,
        }),
        None => Ok(()),
    }
}

/// Line breaks in `bytes` as [`LineCounter`] counts them (`\r\n` is one).
fn breaks_in(bytes: &[u8]) -> usize {
    let count = |c: u8| memchr::memchr_iter(c, bytes).count();
    let crlf = memchr::memchr_iter(b'\r', bytes)
        .filter(|&i| bytes.get(i + 1) == Some(&b'\n'))
        .count();
    count(b'\n') + count(b'\r') - crlf
}

/// A quoted field of a record that is not closed where it should be: the
/// offset of its opening quote in the record's bytes, its 0-based field,
/// what is wrong, and whether the field runs across lines.
type BadQuote = (usize, usize, QuoteProblem, bool);

/// Looks at the quoted fields of one record's bytes (without its final line
/// break) as the csv reader parsed them: one left open to the end of the
/// file, one with characters after its closing quote, and one running
/// across lines past [`MAX_CELL_CHARS`] (a quote left open that a stray
/// quote far below closed).
fn scan_quotes(raw: &[u8], delimiter: u8, encoding: TextEncoding) -> Option<BadQuote> {
    let spans = |b: &[u8]| memchr::memchr2(b'\n', b'\r', b).is_some();
    let (mut i, mut field) = (0, 0);
    loop {
        if raw.get(i) == Some(&b'"') {
            let open = i;
            i += 1;
            let close = loop {
                match memchr::memchr(b'"', &raw[i..]) {
                    None => {
                        return Some((open, field, QuoteProblem::Unclosed, spans(&raw[open..])))
                    }
                    Some(k) if raw.get(i + k + 1) == Some(&b'"') => i += k + 2,
                    Some(k) => break i + k,
                }
            };
            i = close + 1;
            if raw.get(i).is_some_and(|&d| d != delimiter) {
                let across = spans(&raw[open..close]);
                return Some((open, field, QuoteProblem::AfterClosing, across));
            }
            let inside = &raw[open + 1..close];
            if inside.len() > MAX_CELL_CHARS
                && spans(inside)
                && decode_lossy(inside, encoding).chars().count() > MAX_CELL_CHARS
            {
                return Some((open, field, QuoteProblem::TooLong, true));
            }
            raw.get(i)?;
        } else {
            i += memchr::memchr(delimiter, &raw[i..])?;
        }
        // At a delimiter.
        i += 1;
        field += 1;
    }
}

/// How a part of a CSV body is read.
struct CsvShape<'a> {
    builder: &'a csv::ReaderBuilder,
    delimiter: u8,
    encoding: TextEncoding,
    /// Fields in the header.
    columns: usize,
}

/// Reads the records of `body` from `from` (where a record starts) until
/// the next one would start at `stop` or after it; lines are counted from
/// the start of the body.
fn read_records(
    body: &[u8],
    from: usize,
    stop: usize,
    shape: &CsvShape,
) -> Result<Part, ReadError> {
    let mut reader = shape.builder.from_reader(&body[from..]);
    // Where `reader` started: a quote left open makes it start again.
    let mut base = from;
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
        let mut end = (base + reader.position().byte() as usize).min(body.len());
        let start = pos + leading_breaks(&body[pos..end]);
        let mut content_end = (end - trailing_breaks(&body[start..end])).max(start);
        let line = lines.line_at(start);
        check_columns(record.len(), line)?;
        let raw = &body[start..content_end];
        let bad_quote = match memchr::memchr(b'"', raw) {
            Some(_) => scan_quotes(raw, shape.delimiter, shape.encoding),
            None => None,
        };
        let mut quote_issue = None;
        if let Some((open, field, problem, across)) = bad_quote {
            let open_line = line + breaks_in(&raw[..open]);
            quote_issue = Some(RowIssue::Quote {
                column_index: field + 1,
                line: open_line,
                problem,
            });
            if across {
                // The quote was left open: the row is the lines up to the
                // one where it opened, and the lines after are read again.
                let cut = start
                    + open
                    + memchr::memchr2(b'\n', b'\r', &raw[open..]).unwrap_or(raw.len() - open);
                let mut alone = shape.builder.from_reader(&body[start..cut]);
                if !alone.read_byte_record(&mut record)? {
                    record.clear();
                }
                check_columns(record.len(), line)?;
                content_end = cut;
                end = cut;
                reader = shape.builder.from_reader(&body[cut..]);
                base = cut;
            }
        }
        pos = end;
        let last_line = lines.line_at(content_end);
        if part.first_line.is_none() {
            part.first_line = Some(line);
        } else {
            // Empty lines between the previous record and this one.
            part.blank_rows += line.saturating_sub(part.last_line + 1);
        }
        part.last_line = last_line;
        let (cells, bad) = decode_record(&record, shape.encoding);
        check_cells(&cells, line)?;
        if quote_issue.is_none() && cells.iter().all(|c| c.trim().is_empty()) && bad.is_none() {
            part.blank_rows += 1;
            continue;
        }
        let issue = match (quote_issue, bad.or_else(|| damaged(&cells))) {
            (Some(q), _) => Some(q),
            (None, Some(i)) => Some(RowIssue::BadEncoding {
                column_index: i + 1,
            }),
            (None, None) if cells.len() != shape.columns => {
                Some(RowIssue::FieldCount { found: cells.len() })
            }
            (None, None) => None,
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
    let read_err = |e: ReadError| match e {
        ReadError::Csv(source) => IoError::Csv {
            file: file_name.to_string(),
            source,
        },
        ReadError::Limit {
            limit,
            line,
            column,
        } => IoError::TooLarge {
            file: file_name.to_string(),
            limit,
            line: Some(line),
            column: Some(column),
        },
    };
    check_columns(record.len(), header_line).map_err(read_err)?;
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
    check_cells(&headers.iter().collect(), header_line).map_err(read_err)?;
    let shape = CsvShape {
        builder: &builder,
        delimiter,
        encoding,
        columns: headers.len(),
    };
    let part = |from: usize, stop: usize| read_records(body, from, stop, &shape);
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
        None => vec![part(header_end, body.len()).map_err(read_err)?],
        Some(at) => {
            let (first, second) = std::thread::scope(|s| {
                let second = s.spawn(|| part(at, body.len()));
                let first = part(header_end, at);
                (first, second.join())
            });
            let first = first.map_err(read_err)?;
            match second {
                Ok(second) if first.end <= at => vec![first, second.map_err(read_err)?],
                _ => {
                    let rest = part(first.end, body.len()).map_err(read_err)?;
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

/// The limit on one part of a zipped spreadsheet, by its name; `None` for
/// parts no reader parses (pictures, printer settings).
fn part_limit(lower: &str) -> Option<(Limit, u64)> {
    if lower.ends_with("sharedstrings.xml") || lower.ends_with("sharedstrings.bin") {
        Some((Limit::SharedStringsBytes, MAX_SHARED_STRINGS_BYTES))
    } else if !(lower.ends_with(".xml") || lower.ends_with(".rels") || lower.ends_with(".bin")) {
        None
    } else if lower.contains("worksheets/") {
        // Streamed: only one cell of it is held at once.
        Some((Limit::SheetBytes, MAX_SHEET_BYTES))
    } else {
        Some((Limit::PartBytes, MAX_PART_BYTES))
    }
}

/// Decompresses every part of a zipped spreadsheet that a reader would
/// parse, keeping nothing, and refuses the file if one part, or all of them
/// together, decompresses past its limit, or holds an XML tag or text
/// longer than [`MAX_XML_EVENT`]: the sizes a zip declares can lie, the
/// bytes counted here cannot. After it, calamine (which reads the shared
/// strings whole, and one cell's text whole) holds at most a part's limit.
/// A file that is not a readable zip is left to calamine to report.
fn check_zip_parts(bytes: &[u8], file_name: &str) -> Result<(), IoError> {
    use std::io::Read;
    let too_large = |limit| IoError::TooLarge {
        file: file_name.to_string(),
        limit,
        line: None,
        column: None,
    };
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(());
    };
    let mut total = 0u64;
    let mut buf = vec![0u8; 64 << 10];
    for i in 0..zip.len() {
        let Ok(mut part) = zip.by_index(i) else {
            continue;
        };
        let Some(name) = part.name().ok().map(|n| n.to_ascii_lowercase()) else {
            continue;
        };
        let Some((limit, max)) = part_limit(&name) else {
            continue;
        };
        // The binary parts of an XLSB (or an XLSM's macros) are only counted.
        let xml = !name.ends_with(".bin");
        let mut size = 0u64;
        let mut events = XmlEvents::default();
        loop {
            let n = match part.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            size += n as u64;
            total += n as u64;
            if size > max {
                return Err(too_large(limit));
            }
            if total > MAX_UNPACKED_BYTES {
                return Err(too_large(Limit::UnpackedBytes));
            }
            if xml && !events.feed(&buf[..n]) {
                return Err(too_large(Limit::CellChars));
            }
        }
    }
    Ok(())
}

/// The length of the XML tag or text being read, byte by byte, to bound
/// what an XML parser buffers at once (quoted attribute values are part of
/// their tag).
#[derive(Default)]
struct XmlEvents {
    in_tag: bool,
    quote: Option<u8>,
    run: usize,
}

impl XmlEvents {
    /// `false` once a tag or a text is longer than [`MAX_XML_EVENT`].
    fn feed(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            self.run += 1;
            match (self.in_tag, self.quote, b) {
                (true, Some(q), _) if b == q => self.quote = None,
                (true, Some(_), _) => {}
                (true, None, b'"' | b'\'') => self.quote = Some(b),
                (true, None, b'>') => {
                    self.in_tag = false;
                    self.run = 0;
                }
                (false, _, b'<') => {
                    self.in_tag = true;
                    self.run = 1;
                }
                _ => {}
            }
            if self.run > MAX_XML_EVENT {
                return false;
            }
        }
        true
    }
}

fn read_sheet(bytes: &[u8], file_name: &str, opts: &ReadOptions) -> Result<Table, IoError> {
    let bad = |e: calamine::Error| IoError::Spreadsheet {
        file: file_name.to_string(),
        message: e.to_string(),
    };
    if bytes.starts_with(b"PK") {
        check_zip_parts(bytes, file_name)?;
    }
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
        None => {
            let named = opts.kind.and_then(|k| {
                k.sheet_names()
                    .iter()
                    .find_map(|want| names.iter().find(|n| n.trim().eq_ignore_ascii_case(want)))
            });
            named
                .or(names.first())
                .cloned()
                .ok_or_else(|| IoError::Empty {
                    file: file_name.to_string(),
                })?
        }
    };
    let mut grid = SparseSheet::default();
    let limit = |limit, row: u32, col: u32| IoError::TooLarge {
        file: file_name.to_string(),
        limit,
        line: Some(row as usize + 1),
        column: Some(col as usize + 1),
    };
    match &mut book {
        // Read as a stream, cell by cell: the sheet's declared dimension
        // (which can claim a million rows of 16,384 columns) is never used.
        calamine::Sheets::Xlsx(x) => {
            let xlsx_err = |e: calamine::XlsxError| bad(calamine::Error::Xlsx(e));
            let mut cells = x.worksheet_cells_reader(&sheet).map_err(xlsx_err)?;
            while let Some(cell) = cells.next_cell().map_err(xlsx_err)? {
                let (row, col) = cell.get_position();
                grid.add_ref(row, col, cell.get_value())
                    .map_err(|l| limit(l, row, col))?;
            }
        }
        calamine::Sheets::Xlsb(x) => {
            let xlsb_err = |e: calamine::XlsbError| bad(calamine::Error::Xlsb(e));
            let mut cells = x.worksheet_cells_reader(&sheet).map_err(xlsb_err)?;
            while let Some(cell) = cells.next_cell().map_err(xlsb_err)? {
                let (row, col) = cell.get_position();
                grid.add_ref(row, col, cell.get_value())
                    .map_err(|l| limit(l, row, col))?;
            }
        }
        // XLS (at most 65,536 rows of 256 columns) and ODS are read whole
        // by calamine, then held to the same limits. (An ODS repeating a
        // cell over many rows and columns is expanded by calamine first:
        // not bounded here yet.)
        _ => {
            let range = book.worksheet_range(&sheet).map_err(bad)?;
            for (row, col, value) in range.used_cells() {
                let (row, col) = (row as u32, col as u32);
                let (row, col) = match range.start() {
                    Some((r0, c0)) => (r0 + row, c0 + col),
                    None => (row, col),
                };
                grid.add_data(row, col, value)
                    .map_err(|l| limit(l, row, col))?;
            }
        }
    }
    grid.into_table(file_name, sheet)
}

/// A spreadsheet's non-empty cells as they are read, row by row: only what
/// the sheet holds, never the rectangle it declares.
#[derive(Default)]
struct SparseSheet {
    rows: Vec<SparseRow>,
    /// The first and last columns holding a value.
    min_col: u32,
    max_col: u32,
}

/// One row's non-empty cells: their text one after another, and for each
/// its column, where it ends, and its error value if it holds one.
struct SparseRow {
    row: u32,
    text: String,
    cells: Vec<(u32, usize)>,
    error: Option<(u32, String)>,
}

impl SparseSheet {
    /// A cell as the XLSX stream gives it (shared strings are not copied twice).
    fn add_ref(&mut self, row: u32, col: u32, value: &DataRef) -> Result<(), Limit> {
        match value {
            DataRef::Empty => Ok(()),
            DataRef::SharedString(s) => self.add_text(row, col, s, None),
            DataRef::String(s) => self.add_text(row, col, s, None),
            other => self.add_data(row, col, &Data::from(other.clone())),
        }
    }

    fn add_data(&mut self, row: u32, col: u32, value: &Data) -> Result<(), Limit> {
        match value {
            Data::Empty => Ok(()),
            Data::String(s) => self.add_text(row, col, s, None),
            other => match cell_text(other) {
                Ok(t) => self.add_text(row, col, &t, None),
                Err(e) => self.add_text(row, col, &e.clone(), Some(e)),
            },
        }
    }

    fn add_text(
        &mut self,
        row: u32,
        col: u32,
        text: &str,
        error: Option<String>,
    ) -> Result<(), Limit> {
        if text.is_empty() && error.is_none() {
            return Ok(());
        }
        if row as usize >= MAX_ROWS {
            return Err(Limit::Rows);
        }
        if col as usize >= MAX_COLUMNS {
            return Err(Limit::Columns);
        }
        if text.len() > MAX_CELL_CHARS && text.chars().count() > MAX_CELL_CHARS {
            return Err(Limit::CellChars);
        }
        if self.rows.last().is_none_or(|r| r.row != row) {
            if self.rows.len() >= MAX_ROWS {
                return Err(Limit::Rows);
            }
            self.rows.push(SparseRow {
                row,
                text: String::new(),
                cells: Vec::new(),
                error: None,
            });
        }
        if self.rows.len() == 1 && self.rows[0].cells.is_empty() {
            (self.min_col, self.max_col) = (col, col);
        }
        self.min_col = self.min_col.min(col);
        self.max_col = self.max_col.max(col);
        let r = self.rows.last_mut().expect("a row was pushed");
        r.text.push_str(text);
        r.cells.push((col, r.text.len()));
        if let Some(e) = error {
            r.error.get_or_insert((col, e));
        }
        Ok(())
    }

    /// The table: the header is the first row with two or more cells filled
    /// among the first ten rows, so a title row above it (a merged
    /// "2025年客户名单") is passed over; a sheet whose first rows never have
    /// two cells takes its first row.
    fn into_table(mut self, file_name: &str, sheet: String) -> Result<Table, IoError> {
        // Rows in order of their number.
        if self.rows.windows(2).any(|w| w[0].row >= w[1].row) {
            self.rows.sort_by_key(|r| r.row);
        }
        let Some(first) = self.rows.first().map(|r| r.row) else {
            return Err(IoError::Empty {
                file: file_name.to_string(),
            });
        };
        let header_at = self
            .rows
            .iter()
            .take_while(|r| r.row < first + 10)
            .position(|r| r.cells.len() >= 2)
            .unwrap_or(0);
        let col0 = self.min_col;
        let width = (self.max_col - col0 + 1) as usize;
        let mut rows = Vec::with_capacity(self.rows.len() - header_at - 1);
        let mut it = self.rows.into_iter().skip(header_at);
        let header = it.next().expect("the header row is there");
        let header_row = header.row;
        let mut headers: Vec<String> = dense(&header, col0)
            .iter()
            .map(|c| c.trim().to_string())
            .collect();
        headers.resize(width, String::new());
        let mut last_row = header_row;
        for r in it {
            if r.row == last_row {
                // A row written twice: the first one read is kept.
                continue;
            }
            last_row = r.row;
            let cells = dense(&r, col0);
            let issue = match &r.error {
                Some((col, e)) => Some(RowIssue::CellError {
                    column_index: (col - col0) as usize + 1,
                    error: e.clone(),
                }),
                None => damaged(&cells).map(|i| RowIssue::BadEncoding {
                    column_index: i + 1,
                }),
            };
            if issue.is_none() && cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            rows.push(Row {
                line: r.row as usize + 1,
                cells,
                issue,
            });
        }
        // Rows after the header up to the last one with a value, less those read.
        let blank_rows = (last_row - header_row) as usize - rows.len();
        Ok(Table {
            file_name: file_name.to_string(),
            source: TableSource::Sheet { name: sheet },
            headers,
            header_line: header_row as usize + 1,
            column_offset: col0 as usize,
            rows,
            blank_rows,
        })
    }
}

/// A row's cells from column `col0` to its last value, empty where it has none.
fn dense(r: &SparseRow, col0: u32) -> Cells {
    let mut out = Cells::default();
    let put = |cells: &mut Cells, col: u32, text: &str| {
        while cells.len() < (col - col0) as usize {
            cells.push("");
        }
        cells.push(text);
    };
    let mut start = 0;
    let mut spans: Vec<(u32, usize, usize)> = r
        .cells
        .iter()
        .map(|&(col, end)| {
            let s = (col, start, end);
            start = end;
            s
        })
        .collect();
    if spans.windows(2).any(|w| w[0].0 >= w[1].0) {
        // Out of order or twice: by column, the last one read winning.
        spans.reverse();
        spans.sort_by_key(|s| s.0);
        spans.dedup_by_key(|s| s.0);
    }
    for (col, s, e) in spans {
        put(&mut out, col, &r.text[s..e]);
    }
    out
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
        // Fields invalid alone are invalid, even where their bytes together
        // would be text (U+202F split in two).
        let (c, bad) = decode_record(&record(&[b"\xE2\x80", b"\xAF"]), TextEncoding::Utf8);
        assert_eq!((c.len(), bad), (2, Some(0)));
        // U+FFFD is found in its cell, after empty ones; fullwidth
        // punctuation (EF BC 8C…) is not it.
        let c: Cells = ["甲，（）", "", "", "b\u{FFFD}", "\u{FFFD}"]
            .into_iter()
            .collect();
        assert_eq!(damaged(&c), Some(3));
        let c: Cells = ["", "\u{FFFD}"].into_iter().collect();
        assert_eq!(damaged(&c), Some(1));
        let c: Cells = ["甲，（）￼", "\u{FFFC}"].into_iter().collect();
        assert_eq!(damaged(&c), None);
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
    fn gbk_that_is_also_valid_utf8_is_read_as_gbk() {
        // 一业丐专丧 in GBK are all two-byte UTF-8 sequences.
        let (gbk, _, _) = GB18030.encode("name,phone\n一业,1\n丐专丧,2\n");
        assert!(std::str::from_utf8(&gbk).is_ok());
        assert_eq!(detect_encoding(&gbk), TextEncoding::Gb18030);
        // Real UTF-8 in Cyrillic, Arabic, Latin accents stays UTF-8.
        for text in [
            "name\nИван Петров\n",
            "name\nمحمد\n",
            "name\nCafé Müller\n",
            "name\n南京\n",
        ] {
            assert_eq!(
                detect_encoding(text.as_bytes()),
                TextEncoding::Utf8,
                "{text}"
            );
        }
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
            // Characters after a closing quote two lines down: the row is
            // the line where the quote opened, the next lines are read again.
            b"a8,\"open\nb8,x,y\nc8\"after,z\n",
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
                // A quote open to the end of the file, in a third of them.
                if pad % 3 == 0 {
                    file.extend_from_slice(b"\nu,\"unclosed,v\nw,x,y\n");
                }
                let whole = read_csv_in_halves(&file, "f.csv", None, None, usize::MAX).unwrap();
                let halves = read_csv_in_halves(&file, "f.csv", None, None, 1).unwrap();
                assert_eq!(shown(&halves), shown(&whole), "pad {pad}, end {end:?}");
                checked += whole.rows.len();
            }
        }
        assert!(checked > 48 * 4 * 10);
    }

    #[test]
    fn a_quote_left_open_ends_its_row_at_its_line() {
        let t = csv(b"a,b\n\"x,1\r\ny,2\n\nz,\"3\"4\n\"q\"\"\",5\n");
        let rows: Vec<_> = t
            .rows
            .iter()
            .map(|r| (r.line, r.cells.iter().collect::<Vec<_>>(), r.issue.clone()))
            .collect();
        let quote = |line, column_index, problem| {
            Some(RowIssue::Quote {
                column_index,
                line,
                problem,
            })
        };
        assert_eq!(
            rows,
            vec![
                // Closed at line 5, with 4 after the quote.
                (2, vec!["x,1"], quote(2, 1, QuoteProblem::AfterClosing)),
                (3, vec!["y", "2"], None),
                (5, vec!["z", "34"], quote(5, 2, QuoteProblem::AfterClosing)),
                (6, vec!["q\"", "5"], None),
            ]
        );
        assert_eq!((t.blank_rows, t.data_rows()), (1, 5));
        // Open to the end of the file.
        let t = csv(b"a,b\n1,2\n3,\"4\n5,6\n");
        assert_eq!(
            t.rows[1].issue,
            quote(3, 2, QuoteProblem::Unclosed),
            "{:?}",
            t.rows
        );
        assert_eq!(t.rows[2].cells.iter().collect::<Vec<_>>(), ["5", "6"]);
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
