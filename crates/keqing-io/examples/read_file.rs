//! Reads an import file as the server does, to time it and measure its
//! memory (`/usr/bin/time -v`): `read_file PATH [customers|preview]` prints
//! the rows read, or the error, and the seconds taken. `read_file --bombs
//! DIR` writes the spreadsheets of issue 23 that readers must refuse.

use keqing_io::{import_customers, preview, read_table, ImportOptions, ReadOptions, RecordKind};
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--bombs") {
        let dir = Path::new(args.get(1).map_or(".", String::as_str));
        let files = [
            (
                "dimension.xlsx",
                keqing_io::testdata::xlsx::dimension_bomb(true),
            ),
            (
                "dimension_empty.xlsx",
                keqing_io::testdata::xlsx::dimension_bomb(false),
            ),
            (
                "shared_string.xlsx",
                keqing_io::testdata::xlsx::shared_string_bomb(1 << 30),
            ),
            (
                "rows.xlsx",
                keqing_io::testdata::xlsx::many_rows(10_000_000),
            ),
            // Not a bomb: a million rows, within the limits.
            (
                "rows_1m.xlsx",
                keqing_io::testdata::xlsx::many_rows(1_000_000),
            ),
        ];
        for (name, bytes) in files {
            std::fs::write(dir.join(name), &bytes).expect("writable directory");
            println!("{name}: {} bytes", bytes.len());
        }
        return;
    }
    let Some(path) = args.first() else {
        eprintln!("usage: read_file PATH [customers|preview] | read_file --bombs DIR");
        std::process::exit(2);
    };
    let t = Instant::now();
    let table = match read_table(Path::new(path), &ReadOptions::default()) {
        Ok(table) => table,
        Err(e) => {
            println!("error after {:.2} s: {e}", t.elapsed().as_secs_f64());
            return;
        }
    };
    println!(
        "{} rows, {} columns in {:.2} s",
        table.rows.len(),
        table.headers.len(),
        t.elapsed().as_secs_f64()
    );
    let opts = ImportOptions::default();
    match args.get(1).map(String::as_str) {
        Some("customers") => match import_customers(&table, &opts) {
            Ok(b) => println!(
                "{} customers, {} bad rows in {:.2} s",
                b.records.len(),
                b.bad_rows(),
                t.elapsed().as_secs_f64()
            ),
            Err(e) => println!("error: {e}"),
        },
        Some("preview") => match preview(RecordKind::Customer, &table, &opts, 20) {
            Ok(p) => println!(
                "preview of {} bytes of JSON in {:.2} s",
                serde_json::to_string(&p).map_or(0, |j| j.len()),
                t.elapsed().as_secs_f64()
            ),
            Err(e) => println!("error: {e}"),
        },
        _ => {}
    }
}
