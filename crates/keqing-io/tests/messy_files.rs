//! The generated files with thousands of rows, good and bad mixed: every bad
//! row is reported at its line and column, every good row is kept, and the
//! counts add up.

use keqing_io::testdata::{
    messy_customers_csv, messy_customers_csv_in, messy_orders_csv, BadKind, MessyFile,
};
use keqing_io::{
    import_customers, import_orders, read_table_bytes, write_error_report, write_rejected_rows,
    CsvEncoding, ImportBatch, ImportOptions, Lang, ReadOptions, TableSource, TextEncoding,
};
use std::collections::BTreeMap;

fn check<T>(file: &MessyFile, batch: &ImportBatch<T>) {
    let lines: Vec<usize> = batch.records.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, file.good_lines, "every good row is kept, no bad one");
    let mut by_line: BTreeMap<usize, Vec<&keqing_io::RowError>> = BTreeMap::new();
    for e in &batch.errors {
        by_line.entry(e.line).or_default().push(e);
    }
    assert_eq!(
        by_line.len(),
        file.bad.len(),
        "one rejected line per bad row"
    );
    for want in &file.bad {
        let got = by_line
            .get(&want.line)
            .unwrap_or_else(|| panic!("no error at line {} ({:?})", want.line, want.kind));
        assert_eq!(got.len(), 1, "line {}: {got:?}", want.line);
        let e = got[0];
        assert_eq!(
            e.column.as_deref(),
            Some(want.column),
            "line {} {:?}: {e:?}",
            want.line,
            want.kind
        );
        assert!(e.column_index.is_some());
        if let Some(first) = want.duplicate_of {
            assert!(e.message.contains(&format!("line {first}")), "{e:?}");
        }
        if want.kind == BadKind::BadEncoding {
            assert!(e.message.starts_with("编码错误 bad encoding"), "{e:?}");
        }
    }
    assert_eq!(batch.blank_rows, file.blank_rows);
    assert_eq!(batch.data_rows, file.data_rows);
    assert_eq!(
        batch.records.len() + batch.bad_rows() + batch.blank_rows,
        batch.data_rows
    );
}

#[test]
fn thousand_bad_customer_rows_utf8_bom() {
    let file = messy_customers_csv(2000, 1000, 7);
    let table = read_table_bytes(&file.bytes, &file.file_name, &ReadOptions::default()).unwrap();
    assert!(matches!(
        table.source,
        TableSource::Csv {
            encoding: TextEncoding::Utf8Bom,
            delimiter: b','
        }
    ));
    let batch = import_customers(&table, &ImportOptions::default()).unwrap();
    check(&file, &batch);
    assert!(batch.warnings.is_empty(), "{:?}", batch.warnings);
    let kinds: std::collections::BTreeSet<BadKind> = file.bad.iter().map(|b| b.kind).collect();
    assert_eq!(
        kinds.len(),
        BadKind::CUSTOMER.len(),
        "every kind of defect occurs"
    );
    // Every good row carries its primary contact.
    assert!(batch.records.iter().all(|(_, r)| r.contact.is_some()));
}

#[test]
fn thousand_bad_customer_rows_gbk() {
    let file = messy_customers_csv_in(1500, 1000, 11, CsvEncoding::Gbk);
    assert!(std::str::from_utf8(&file.bytes).is_err());
    let table = read_table_bytes(&file.bytes, "客户.csv", &ReadOptions::default()).unwrap();
    assert!(matches!(
        table.source,
        TableSource::Csv {
            encoding: TextEncoding::Gb18030,
            ..
        }
    ));
    let batch = import_customers(&table, &ImportOptions::default()).unwrap();
    check(&file, &batch);
    let first = &batch.records[0].1.customer;
    assert!(
        first.name.ends_with("有限公司"),
        "decoded as Chinese: {}",
        first.name
    );
}

#[test]
fn thousand_bad_order_rows() {
    let file = messy_orders_csv(3000, 1000, 3);
    let table = read_table_bytes(&file.bytes, &file.file_name, &ReadOptions::default()).unwrap();
    let batch = import_orders(&table, &ImportOptions::default()).unwrap();
    check(&file, &batch);
}

#[test]
fn same_seed_same_file() {
    assert_eq!(
        messy_customers_csv(50, 50, 1).bytes,
        messy_customers_csv(50, 50, 1).bytes
    );
    assert_ne!(
        messy_customers_csv(50, 50, 1).bytes,
        messy_customers_csv(50, 50, 2).bytes
    );
    let none_good = messy_customers_csv(0, 30, 5);
    assert!(none_good.bad.iter().all(|b| b.kind != BadKind::Duplicate));
}

#[test]
fn rejected_rows_come_back_as_a_file_to_fix() {
    let file = messy_customers_csv(100, 60, 9);
    let table = read_table_bytes(&file.bytes, &file.file_name, &ReadOptions::default()).unwrap();
    let batch = import_customers(&table, &ImportOptions::default()).unwrap();

    let report = write_error_report(&batch.errors, Lang::Zh);
    let text = String::from_utf8(report).unwrap();
    assert!(text.starts_with("\u{feff}行号,列号,列名,字段,错误原因"));
    assert_eq!(
        text.lines().count(),
        batch.errors.len() + 1 + text.matches("\n三楼").count()
    );

    let rejected = write_rejected_rows(&table, &batch.errors, CsvEncoding::Utf8Bom).unwrap();
    let again = read_table_bytes(&rejected, "rejected.csv", &ReadOptions::default()).unwrap();
    assert_eq!(again.headers.last().map(String::as_str), Some("错误原因"));
    assert_eq!(again.rows.len(), file.bad.len());
    let batch2 = import_customers(&again, &ImportOptions::default()).unwrap();
    // The 错误原因 column is not an unknown column.
    assert!(batch2.warnings.is_empty(), "{:?}", batch2.warnings);
    // Still bad, except the short rows, padded to the header (their last
    // field is optional), and the duplicates, alone now but for the second
    // and later copies of the same row.
    let still_bad = file
        .bad
        .iter()
        .filter(|b| !matches!(b.kind, BadKind::Duplicate | BadKind::MissingColumn))
        .count();
    let dups: Vec<usize> = file.bad.iter().filter_map(|b| b.duplicate_of).collect();
    let dup_targets: std::collections::BTreeSet<usize> = dups.iter().copied().collect();
    assert_eq!(
        batch2.bad_rows(),
        still_bad + dups.len() - dup_targets.len()
    );
}

/// Throughput on a large file: `cargo test -p keqing-io --release -- --ignored --nocapture`.
#[test]
#[ignore]
fn large_file_speed() {
    let file = messy_customers_csv(180_000, 20_000, 1);
    let t0 = std::time::Instant::now();
    let table = read_table_bytes(&file.bytes, &file.file_name, &ReadOptions::default()).unwrap();
    let t1 = std::time::Instant::now();
    let batch = import_customers(&table, &ImportOptions::default()).unwrap();
    let t2 = std::time::Instant::now();
    check(&file, &batch);
    eprintln!(
        "{} rows, {} MB: read {:?}, import {:?}",
        file.data_rows,
        file.bytes.len() / 1_000_000,
        t1 - t0,
        t2 - t1
    );
}
