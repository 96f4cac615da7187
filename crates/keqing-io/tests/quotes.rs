//! Issue 23 item 9: a quote left open, or characters after a closing quote,
//! must not swallow the rows after it silently. The files are in
//! `tests/data/`.

use keqing_io::{
    import_customers, read_table, CustomerRow, ImportBatch, ImportOptions, ReadOptions,
};
use std::path::Path;

fn import(name: &str) -> ImportBatch<CustomerRow> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let table = read_table(&path, &ReadOptions::default()).unwrap();
    let batch = import_customers(&table, &ImportOptions::default()).unwrap();
    assert_eq!(
        batch.records.len() + batch.bad_rows() + batch.blank_rows,
        batch.data_rows,
        "{name}: every row is accounted for"
    );
    batch
}

/// The customers imported, by line and name.
fn names(b: &ImportBatch<CustomerRow>) -> Vec<(usize, &str)> {
    b.records
        .iter()
        .map(|(line, r)| (*line, r.customer.name.as_str()))
        .collect()
}

/// The errors as (line, 1-based column, message).
fn errors(b: &ImportBatch<CustomerRow>) -> Vec<(usize, Option<usize>, &str)> {
    b.errors
        .iter()
        .map(|e| (e.line, e.column_index, e.message.as_str()))
        .collect()
}

#[test]
fn an_unclosed_quote_is_a_row_error_and_the_rows_after_it_are_kept() {
    let b = import("unclosed_quote.csv");
    // 正常客户甲 is its own customer, not part of a name spanning three lines.
    assert_eq!(names(&b), vec![(3, "正常客户甲")]);
    let e = errors(&b);
    assert_eq!(e.len(), 2, "{e:?}");
    // The quote opened at line 2 is closed at line 4 with 另一个 after it.
    assert_eq!((e[0].0, e[0].1), (2, Some(1)));
    assert!(e[0].2.starts_with("引号后有多余字符"), "{}", e[0].2);
    assert!(e[0].2.contains("opened at line 2"), "{}", e[0].2);
    // Line 4: 13800000002 after the quote closing "另一个,".
    assert_eq!((e[1].0, e[1].1), (4, Some(1)));
    assert!(e[1].2.contains("opened at line 4"), "{}", e[1].2);
}

#[test]
fn a_quote_open_to_the_end_of_the_file_is_reported_where_it_opened() {
    let b = import("unclosed_quote_at_end.csv");
    assert_eq!(
        names(&b),
        vec![(2, "正常客户甲"), (4, "正常客户乙"), (5, "正常客户丙")]
    );
    let e = errors(&b);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1), (3, Some(1)));
    assert!(e[0].2.starts_with("引号未闭合"), "{}", e[0].2);
    assert!(
        e[0].2.contains("opened at line 3 is never closed"),
        "{}",
        e[0].2
    );
}

#[test]
fn a_quoted_name_running_across_lines_is_refused() {
    let b = import("quote_across_name.csv");
    assert_eq!(names(&b), vec![(4, "正常客户丙")]);
    let e = errors(&b);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1), (2, Some(1)));
    assert_eq!(b.errors[0].field.as_deref(), Some("name"));
    assert!(e[0].2.starts_with("引号未闭合"), "{}", e[0].2);
    assert!(
        e[0].2.contains("opened at line 2 runs across lines"),
        "{}",
        e[0].2
    );
}

#[test]
fn characters_after_a_closing_quote_are_a_row_error() {
    let b = import("after_closing_quote.csv");
    assert_eq!(names(&b), vec![(3, "正常客户甲")]);
    let e = errors(&b);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1), (2, Some(1)));
    assert!(e[0].2.starts_with("引号后有多余字符"), "{}", e[0].2);
}

/// Fields that may hold line breaks keep them: an address, a note of the
/// relationship card (CRLF inside, doubled quotes).
#[test]
fn quoted_fields_that_may_span_lines_still_do() {
    let b = import("multiline_fields.csv");
    assert!(b.errors.is_empty(), "{:?}", b.errors);
    assert_eq!(names(&b), vec![(2, "甲公司"), (4, "乙公司")]);
    assert_eq!(
        b.records[0].1.customer.address.as_deref(),
        Some("南京市鼓楼区\n中山路1号")
    );
    let note = b.records[1].1.customer.card.recent_events.as_deref();
    assert!(
        note.is_some_and(|n| n.contains("很高兴") && n.contains("\"一定到\"")),
        "{note:?}"
    );
}

/// A name with a line break in a spreadsheet cell (Alt+Enter) is refused too.
#[test]
fn a_spreadsheet_name_with_a_line_break_is_refused() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write(0, 0, "客户名称").unwrap();
    sheet.write(0, 1, "详细地址").unwrap();
    sheet.write(1, 0, "甲公司\n乙公司").unwrap();
    sheet.write(2, 0, "丙公司").unwrap();
    sheet.write(2, 1, "南京市\n鼓楼区").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let table = keqing_io::read_table_bytes(&bytes, "c.xlsx", &ReadOptions::default()).unwrap();
    let b = import_customers(&table, &ImportOptions::default()).unwrap();
    assert_eq!(names(&b), vec![(3, "丙公司")]);
    let e = errors(&b);
    assert_eq!((e.len(), e[0].0, e[0].1), (1, 2, Some(1)), "{e:?}");
    assert!(e[0].2.starts_with("单元格不能换行"), "{}", e[0].2);
}

/// A quote left open at line 2 and closed by a stray quote thousands of
/// lines below: the field would be one cell past the cell limit, refusing
/// the whole file. It is a row error at line 2, and the lines it swallowed
/// are read as the rows they are.
#[test]
fn a_quote_closed_far_below_is_a_row_error_not_a_refused_file() {
    let mut csv = String::from("客户名称,电话\n\"未闭合客户,13800000000\n");
    for i in 0..3000 {
        csv.push_str(&format!("正常客户{i},1380000{i:04}\n"));
    }
    csv.push_str("另一个\",13800009999\n");
    let table =
        keqing_io::read_table_bytes(csv.as_bytes(), "far.csv", &ReadOptions::default()).unwrap();
    let b = import_customers(&table, &ImportOptions::default()).unwrap();
    let e = errors(&b);
    assert_eq!((e[0].0, e[0].1), (2, Some(1)), "{e:?}");
    assert!(
        e[0].2
            .contains("opened at line 2 runs across lines past 32,767 characters"),
        "{}",
        e[0].2
    );
    let kept = names(&b)
        .iter()
        .filter(|(_, n)| n.starts_with("正常客户"))
        .count();
    assert_eq!(kept, 3000);
    assert_eq!(names(&b)[0], (3, "正常客户0"));
}
