//! Whatever bytes a user uploads, reading and importing never panics, and
//! every data row is accounted for exactly once.

use keqing_io::{import_customers, import_orders, read_table_bytes, ImportOptions, ReadOptions};
use proptest::prelude::*;
use std::collections::BTreeSet;

fn pieces() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"\"".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        plain_piece(),
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|v| v.concat())
}

/// Pieces without quotes or a byte-order mark.
fn plain_pieces() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(plain_piece(), 0..60).prop_map(|v| v.concat())
}

fn plain_piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b",".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b" ".to_vec()),
        Just("甲公司".as_bytes().to_vec()),
        Just(encoding_rs::GBK.encode("乙公司").0.into_owned()),
        Just(b"13812345678".to_vec()),
        Just(b"\xFF".to_vec()),
        Just(b"\xCE".to_vec()),
        "[a-z0-9;\t]{1,4}".prop_map(|s| s.into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_row_is_accounted_for(body in pieces(), header in prop_oneof![Just("客户名称,单位电话\n"), Just("name;phone\n"), Just("客户编号,日期,金额\n")]) {
        let mut bytes = header.as_bytes().to_vec();
        bytes.extend_from_slice(&body);
        let Ok(table) = read_table_bytes(&bytes, "x.csv", &ReadOptions::default()) else {
            return Ok(());
        };
        // Lines strictly increase and lie within the file.
        let total_lines = bytes.iter().filter(|b| **b == b'\n').count() + 1;
        let lines: Vec<usize> = table.rows.iter().map(|r| r.line).collect();
        prop_assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
        prop_assert!(lines.iter().all(|l| *l > table.header_line && *l <= total_lines + bytes.len()));
        let opts = ImportOptions::default();
        if let Ok(b) = import_customers(&table, &opts) {
            let bad: BTreeSet<usize> = b.errors.iter().map(|e| e.line).collect();
            let good: BTreeSet<usize> = b.records.iter().map(|r| r.0).collect();
            prop_assert!(good.is_disjoint(&bad));
            prop_assert_eq!(good.len() + bad.len() + b.blank_rows, b.data_rows);
        }
        if let Ok(b) = import_orders(&table, &opts) {
            prop_assert_eq!(b.records.len() + b.bad_rows() + b.blank_rows, b.data_rows);
        }
    }
}

/// Physical lines of a body without quotes: `\n`, `\r\n` and a lone `\r` end a line.
fn oracle_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut lines = vec![Vec::new()];
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                lines.push(Vec::new());
                i += 1;
            }
            b'\r' | b'\n' => lines.push(Vec::new()),
            b => lines.last_mut().unwrap().push(b),
        }
        i += 1;
    }
    if lines.last().is_some_and(|l| l.is_empty()) && lines.len() > 1 {
        // A final line break ends the last line; it does not start one.
        lines.pop();
    }
    lines
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn line_numbers_are_physical_lines(body in plain_pieces()) {
        let mut bytes = b"a,b\n".to_vec();
        bytes.extend_from_slice(&body);
        let table = read_table_bytes(&bytes, "x.csv", &ReadOptions::default()).unwrap();
        let lines = oracle_lines(&bytes);
        let mut want_rows = Vec::new();
        let mut want_blank = 0;
        for (i, l) in lines.iter().enumerate().skip(1) {
            let blank = l.iter().all(|b| matches!(b, b',' | b' ' | b'\t'));
            if blank {
                want_blank += 1;
            } else {
                want_rows.push(i + 1);
            }
        }
        let got: Vec<usize> = table.rows.iter().map(|r| r.line).collect();
        prop_assert_eq!(got, want_rows);
        prop_assert_eq!(table.blank_rows, want_blank);
    }
}
