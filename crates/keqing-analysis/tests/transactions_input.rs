//! Building `Transactions` from files and from code, and the CLV summary
//! from raw CDNOW transactions.

use std::path::PathBuf;

use keqing_analysis::clv::{fit_bgnbd, read_summary_csv, summarise, ClvData, Period};
use keqing_analysis::date::days_from_civil;
use keqing_analysis::{read_csv, ReadOptions, TransactionsBuilder};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[test]
fn small_chinese_csv_reads_amounts_as_fen() {
    let (tx, rep) = read_csv(&data("orders_small.csv"), &ReadOptions::default()).unwrap();
    assert_eq!(rep.rows, 4);
    assert_eq!(tx.customer_ids, vec!["C001", "C002", "C003"]);
    assert_eq!(tx.amount_fen, vec![123_450, 9_900, 50, 1_000]);
    assert_eq!(tx.day[0], days_from_civil(2025, 3, 1));
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_decimal_and_timestamp_files_match_the_csv() {
    let (csv, _) = read_csv(&data("orders_small.csv"), &ReadOptions::default()).unwrap();
    for f in [
        "orders_small_decimal.parquet",
        "orders_small_timestamp.parquet",
    ] {
        let (pq, rep) = keqing_analysis::read_parquet(&data(f), &ReadOptions::default()).unwrap();
        assert_eq!(pq, csv, "{f}");
        assert_eq!(rep.rows, 4);
    }
}

/// The raw CDNOW sample (customer, ID, yyyymmdd, quantity, amount) as
/// transactions, built in code the way the server builds them from orders.
fn cdnow_transactions() -> keqing_analysis::Transactions {
    let text = std::fs::read_to_string(data("CDNOW_sample.txt")).unwrap();
    let mut b = TransactionsBuilder::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let day = keqing_analysis::date::parse_date(f[2].as_bytes()).unwrap();
        let fen = keqing_analysis::money::parse_amount_fen(f[4].as_bytes()).unwrap();
        b.push(f[1].trim_start_matches('0'), day, fen);
    }
    b.finish()
}

#[test]
fn cdnow_summary_from_raw_transactions_matches_the_published_summary() {
    let tx = cdnow_transactions();
    let end = days_from_civil(1997, 9, 30);
    let s = summarise(&tx, Some(end), Period::D).unwrap();
    let published = read_summary_csv(&data("cdnow_customers_summary.csv")).unwrap();
    assert_eq!(s.len(), published.len());
    let round2 = |v: f64| (v * 100.0).round() / 100.0;
    let mut ours: Vec<(String, f64, f64, f64)> = (0..s.len())
        .map(|i| {
            (
                s.ids[i].clone(),
                s.frequency[i],
                round2(s.recency[i] / 7.0),
                round2(s.t[i] / 7.0),
            )
        })
        .collect();
    ours.sort_by_key(|r| r.0.parse::<u32>().unwrap());
    for (i, o) in ours.iter().enumerate() {
        let want = (
            published.ids[i].clone(),
            published.frequency[i],
            published.recency[i],
            published.t[i],
        );
        assert_eq!(*o, want);
    }
    // Fitting on that summary (in weeks) gives the SPEC parameters.
    let weeks = ClvData {
        recency: s.recency.iter().map(|d| d / 7.0).collect(),
        t: s.t.iter().map(|d| d / 7.0).collect(),
        monetary: None,
        ..s
    };
    let p = fit_bgnbd(&weeks).unwrap().params;
    assert!(
        (p.r - 0.2426).abs() < 5e-4 && (p.a - 0.7929).abs() < 5e-4,
        "{p:?}"
    );
}

#[test]
fn weekly_periods_follow_calendar_weeks_like_pandas() {
    // 2025-12-29 is a Monday: Sunday 12-28 and Monday 12-29 are in different weeks.
    let w = |y, m, d| Period::W.index(days_from_civil(y, m, d));
    assert_eq!(w(2025, 12, 29), w(2026, 1, 4));
    assert_eq!(w(2025, 12, 28) + 1, w(2025, 12, 29));
    assert_eq!(
        Period::M.index(days_from_civil(2025, 3, 31)) + 1,
        Period::M.index(days_from_civil(2025, 4, 1))
    );
    let mut b = TransactionsBuilder::new();
    b.push("a", days_from_civil(2025, 1, 6), 1000);
    b.push("a", days_from_civil(2025, 1, 7), 500); // same week: one period, amounts added
    b.push("a", days_from_civil(2025, 1, 20), 3000);
    b.push("b", days_from_civil(2025, 1, 20), 100);
    let s = summarise(&b.finish(), Some(days_from_civil(2025, 2, 3)), Period::W).unwrap();
    assert_eq!((s.frequency[0], s.recency[0], s.t[0]), (1.0, 2.0, 4.0));
    assert_eq!(s.monetary.as_ref().unwrap()[0], 30.0);
    assert_eq!((s.frequency[1], s.t[1]), (0.0, 2.0));
}
