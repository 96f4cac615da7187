//! Issue 23 items 1 and 2: files built to take unbounded memory or time are
//! refused quickly with bounded memory, with an error naming the limit. The
//! memory a read takes is measured by this binary's counting allocator.

use keqing_io::testdata::xlsx;
use keqing_io::{
    import_customers, preview, read_table_bytes, ImportOptions, IoError, Limit, ReadOptions,
    RecordKind, Table, MAX_CELL_CHARS, MAX_COLUMNS, MAX_PART_BYTES, MAX_ROWS,
    MAX_SHARED_STRINGS_BYTES, PREVIEW_ROWS,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts the bytes allocated now and the most allocated since `reset`.
struct Counting;

static NOW: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            PEAK.fetch_max(NOW.fetch_add(l.size(), Relaxed) + l.size(), Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        NOW.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, size) };
        if !q.is_null() {
            if size > l.size() {
                let more = size - l.size();
                PEAK.fetch_max(NOW.fetch_add(more, Relaxed) + more, Relaxed);
            } else {
                NOW.fetch_sub(l.size() - size, Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// One measured read at a time: the counters are the whole process's.
static ONE: Mutex<()> = Mutex::new(());

/// Reads `bytes` and says what it took: the result, the most memory
/// allocated above what was allocated before, and the time.
fn measured(bytes: &[u8], name: &str) -> (Result<Table, IoError>, usize, Duration) {
    let _one = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let before = NOW.load(Relaxed);
    PEAK.store(before, Relaxed);
    let t = Instant::now();
    let r = read_table_bytes(bytes, name, &ReadOptions::default());
    let took = t.elapsed();
    (r, PEAK.load(Relaxed) - before, took)
}

const MB: usize = 1 << 20;

fn too_large(r: Result<Table, IoError>) -> (Limit, Option<usize>, Option<usize>, String) {
    match r {
        Err(e @ IoError::TooLarge { .. }) => {
            let message = e.to_string();
            let IoError::TooLarge {
                limit,
                line,
                column,
                ..
            } = e
            else {
                unreachable!()
            };
            (limit, line, column, message)
        }
        Err(e) => panic!("not a limit error: {e}"),
        Ok(t) => panic!("read {} rows past a limit", t.rows.len()),
    }
}

#[test]
fn a_declared_dimension_of_17_billion_cells_is_not_trusted() {
    // A styled empty cell at XFD1048576: the sheet is its two rows.
    let bytes = xlsx::dimension_bomb(false);
    assert!(bytes.len() < 4096);
    let (r, peak, took) = measured(&bytes, "bomb.xlsx");
    let t = r.unwrap();
    assert_eq!(t.headers, vec!["客户名称", "电话"]);
    assert_eq!(t.rows.len(), 1);
    assert_eq!(
        t.rows[0].cells.iter().collect::<Vec<_>>(),
        ["南京甲公司", "025-86001234"]
    );
    assert!(peak < 8 * MB, "{peak} bytes");
    assert!(took < Duration::from_secs(2), "{took:?}");
    let b = import_customers(&t, &ImportOptions::default()).unwrap();
    assert_eq!(b.records.len(), 1);

    // A value there is past the column limit.
    let (r, peak, _) = measured(&xlsx::dimension_bomb(true), "bomb.xlsx");
    let (limit, line, column, message) = too_large(r);
    assert_eq!(
        (limit, line, column),
        (Limit::Columns, Some(1_048_576), Some(16_384))
    );
    assert_eq!((limit.name(), limit.max()), ("columns", MAX_COLUMNS as u64));
    assert!(
        message.starts_with("超过列数上限 1,024 more than 1,024 columns (第1048576行 line 1048576, 第16384列 column 16384)"),
        "{message}"
    );
    assert!(peak < 8 * MB, "{peak} bytes");
}

#[test]
fn a_huge_shared_string_is_refused_before_it_is_loaded() {
    // One string of 65 MiB in a file of 65 KB: its text is refused as a
    // cell past the limit while the part is counted, before calamine loads it.
    let bytes = xlsx::shared_string_bomb(MAX_SHARED_STRINGS_BYTES as usize + MB);
    assert!(bytes.len() < MB, "{} bytes", bytes.len());
    let (r, peak, _) = measured(&bytes, "bomb.xlsx");
    let (limit, line, column, message) = too_large(r);
    assert_eq!((limit, line, column), (Limit::CellChars, None, None));
    assert!(
        message.starts_with("单元格超过字符数上限 32,767"),
        "{message}"
    );
    // Decompressed a piece at a time, never held.
    assert!(peak < 8 * MB, "{peak} bytes");

    // Just past the cell limit, and at it.
    let (r, _, _) = measured(&xlsx::shared_string_bomb(MAX_CELL_CHARS + 1), "s.xlsx");
    let (limit, line, column, _) = too_large(r);
    assert_eq!((limit, line, column), (Limit::CellChars, Some(2), Some(1)));
    let (r, _, _) = measured(&xlsx::shared_string_bomb(MAX_CELL_CHARS), "s.xlsx");
    assert_eq!(
        r.unwrap().rows[0].cells.get(0).map(str::len),
        Some(MAX_CELL_CHARS)
    );
}

#[test]
fn shared_strings_past_their_limit_are_refused_before_they_are_loaded() {
    // 65,000 strings of 1 KiB: each one short, all of them too much.
    let one = format!("<si><t>{}</t></si>", "a".repeat(1024));
    let head: &[u8] = br#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#;
    let sheet = format!(
        r#"{}<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row></sheetData></worksheet>"#,
        xlsx::SHEET_START
    );
    let count = (MAX_SHARED_STRINGS_BYTES as usize + MB) / one.len();
    let bytes = xlsx::build(
        &[(sheet.as_bytes(), 1)],
        &[(head, 1), (one.as_bytes(), count), (b"</sst>", 1)],
    );
    assert!(bytes.len() < 2 * MB, "{} bytes", bytes.len());
    let (r, peak, _) = measured(&bytes, "bomb.xlsx");
    let (limit, line, _, message) = too_large(r);
    assert_eq!((limit, line), (Limit::SharedStringsBytes, None));
    assert_eq!(
        (limit.name(), limit.max()),
        ("shared_strings_bytes", MAX_SHARED_STRINGS_BYTES)
    );
    assert!(
        message.starts_with("共享字符串解压后超过 64 MiB 上限 the shared strings are larger than 64 MiB uncompressed: bomb.xlsx"),
        "{message}"
    );
    assert!(peak < 8 * MB, "{peak} bytes");
}

#[test]
fn a_part_read_whole_past_its_limit_is_refused() {
    // Styles, which calamine holds whole, of 65 MiB of empty formats.
    let sheet = format!(
        r#"{}<sheetData><row r="1"><c r="A1"><v>1</v></c></row></sheetData></worksheet>"#,
        xlsx::SHEET_START
    );
    let sst: &[u8] = br#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"></sst>"#;
    let styles: &[xlsx::Piece] = &[
        (br#"<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs>"#, 1),
        (b"<xf numFmtId=\"14\"/>", (MAX_PART_BYTES as usize + MB) / 19),
        (b"</cellXfs></styleSheet>", 1),
    ];
    let bytes = xlsx::build_with(
        &[(sheet.as_bytes(), 1)],
        &[(sst, 1)],
        &[("xl/styles.xml", styles)],
    );
    let (r, peak, _) = measured(&bytes, "styles.xlsx");
    let (limit, _, _, message) = too_large(r);
    assert_eq!((limit.name(), limit.max()), ("part_bytes", MAX_PART_BYTES));
    assert!(
        message.starts_with("表格文件的部件解压后超过 64 MiB 上限"),
        "{message}"
    );
    assert!(peak < 8 * MB, "{peak} bytes");
}

#[test]
fn a_row_past_excels_last_row_is_refused() {
    let sheet = format!(
        r#"{}<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>客户名称</t></is></c><c r="B1" t="inlineStr"><is><t>电话</t></is></c></row><row r="1048577"><c r="A1048577" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>"#,
        xlsx::SHEET_START
    );
    let sst: &[u8] = br#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"></sst>"#;
    let bytes = xlsx::build(&[(sheet.as_bytes(), 1)], &[(sst, 1)]);
    let (r, peak, _) = measured(&bytes, "rows.xlsx");
    let (limit, line, _, message) = too_large(r);
    assert_eq!((limit, line), (Limit::Rows, Some(MAX_ROWS + 1)));
    assert!(
        message.starts_with("表格超过行数上限 1,048,576 the sheet has more than 1,048,576 rows"),
        "{message}"
    );
    assert!(peak < 8 * MB, "{peak} bytes");
}

/// Rows stream in: a sheet of many rows takes memory for its rows, not
/// for the rectangle it declares (a few thousand rows, quickly, in a test).
#[test]
fn many_rows_stream() {
    let (r, peak, _) = measured(&xlsx::many_rows(20_000), "many.xlsx");
    let t = r.unwrap();
    assert_eq!((t.rows.len(), t.rows[19_999].line), (20_000, 20_001));
    assert_eq!(
        t.rows[0].cells.iter().collect::<Vec<_>>(),
        ["南京甲公司", "13800000000"]
    );
    assert!(peak < 32 * MB, "{peak} bytes");
}

/// A CSV line of a million fields (the 9.4 MB file of the issue) is
/// refused at once, naming its line.
#[test]
fn a_csv_of_a_million_columns_is_refused() {
    let mut csv = "客户名称,电话".to_string();
    csv.push_str(&",x".repeat(1_000_000));
    csv.push_str("\n甲公司,025-86001234\n");
    let (r, _, took) = measured(csv.as_bytes(), "wide.csv");
    let (limit, line, column, message) = too_large(r);
    assert_eq!(
        (limit, line, column),
        (Limit::Columns, Some(1), Some(MAX_COLUMNS + 1))
    );
    assert!(
        message.starts_with("超过列数上限 1,024 more than 1,024 columns (第1行 line 1"),
        "{message}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");

    // A data line that is too wide, after a good header.
    let mut csv = "客户名称,电话\n甲公司,025-86001234\n乙公司".to_string();
    csv.push_str(&",".repeat(MAX_COLUMNS));
    csv.push('\n');
    let (r, _, _) = measured(csv.as_bytes(), "wide.csv");
    let (limit, line, _, _) = too_large(r);
    assert_eq!((limit, line), (Limit::Columns, Some(3)));
    // As wide as allowed is read.
    let mut csv = "客户名称".to_string();
    csv.push_str(&",".repeat(MAX_COLUMNS - 1));
    csv.push_str("\n甲公司\n");
    assert!(measured(csv.as_bytes(), "wide.csv").0.is_ok());
}

#[test]
fn a_csv_field_past_the_cell_limit_is_refused() {
    let csv = format!(
        "客户名称,近期的喜怒哀乐\n甲公司,短\n乙公司,\"{}\"\n",
        "长".repeat(MAX_CELL_CHARS + 1)
    );
    let (limit, line, column, message) = too_large(measured(csv.as_bytes(), "long.csv").0);
    assert_eq!((limit, line, column), (Limit::CellChars, Some(3), Some(2)));
    assert!(
        message.starts_with("单元格超过字符数上限 32,767"),
        "{message}"
    );
    // 32,767 characters of three bytes each are not too many.
    let csv = format!("客户名称,备注\n甲公司,{}\n", "长".repeat(MAX_CELL_CHARS));
    assert!(measured(csv.as_bytes(), "long.csv").0.is_ok());
}

/// The preview's answer stays small whatever the cells hold.
#[test]
fn a_preview_of_long_cells_is_bounded() {
    let long = "长".repeat(MAX_CELL_CHARS);
    let mut csv = format!("客户名称,电话,详细地址,{long}\n");
    for _ in 0..PREVIEW_ROWS + 5 {
        csv.push_str(&format!("{long},{long},{long},{long}\n"));
    }
    let t = read_table_bytes(csv.as_bytes(), "p.csv", &ReadOptions::default()).unwrap();
    let p = preview(
        RecordKind::Customer,
        &t,
        &ImportOptions::default(),
        PREVIEW_ROWS,
    )
    .unwrap();
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(p.sample.len(), PREVIEW_ROWS);
    assert!(json.len() < 100_000, "{} bytes of JSON", json.len());
    assert!(p.sample[0].cells["name"].ends_with('…'));
}
