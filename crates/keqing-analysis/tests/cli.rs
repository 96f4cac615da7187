//! The `keqing analyze` subcommands end to end (feature `cli`).
#![cfg(feature = "cli")]

use std::path::PathBuf;

use clap::Parser;
use keqing_analysis::cli::{run, AnalyzeCommand};
use serde_json::Value;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: AnalyzeCommand,
}

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
        .display()
        .to_string()
}

fn analyze(args: &[&str]) -> String {
    let cli =
        Cli::try_parse_from(std::iter::once("keqing-analyze").chain(args.iter().copied())).unwrap();
    let mut out = Vec::new();
    run(cli.cmd, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&analyze(args)).unwrap()
}

#[test]
fn funnel_fixture_as_json_and_table() {
    let v = json(&[
        "funnel",
        "--counts",
        "750,200,150,80,75,70",
        "--format",
        "json",
    ]);
    assert_eq!(v["rates"]["attention"], 26.67);
    assert_eq!(v["rates"]["interest"], 75.0);
    assert_eq!(v["rates"]["search"], 53.33);
    assert_eq!(v["rates"]["action"], 93.75);
    assert_eq!(v["rates"]["share"], 93.33);
    assert_eq!(v["rates"]["overall"], 10.0);
    assert_eq!(v["weakest"], "attention");
    let table = analyze(&["funnel", "--counts", "750,200,150,80,75,70"]);
    assert!(table.contains("weakest stage: 注意 (attention)"), "{table}");
}

#[test]
fn rfm_json_has_all_eight_classes_and_customers() {
    let f = data("orders_small.csv");
    let v = json(&[
        "rfm",
        "--input",
        &f,
        "--format",
        "json",
        "--as-of",
        "2025-04-16",
    ]);
    let s = &v["summary"];
    assert_eq!(s["as_of"], "2025-04-16");
    assert_eq!(s["customers"], 3);
    assert_eq!(s["transactions"], 4);
    let classes = s["classes"].as_object().unwrap();
    let keys: Vec<&str> = classes.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "important_value",
            "important_develop",
            "important_keep",
            "important_retain",
            "general_value",
            "general_develop",
            "general_keep",
            "general_retain"
        ]
    );
    let total: u64 = classes.values().map(|c| c["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 3);
    // C001: last 2025-04-01 (15 days), 2 purchases, 1235 yuan: R (mean 24.67), F, M high.
    let c1 = v["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["customer_id"] == "C001")
        .unwrap();
    assert_eq!(
        (c1["r"].as_i64(), c1["f"].as_i64(), c1["m"].as_f64()),
        (Some(15), Some(2), Some(1235.0))
    );
    assert_eq!(c1["class"], "important_value");
    assert_eq!(classes["important_value"]["label_zh"], "重要价值客户");
    // Summary only: no customers.
    let v = json(&["rfm", "--input", &f, "--format", "json", "--summary-only"]);
    assert!(v.get("customers").is_none());
}

#[test]
fn rfm_csv_rows_and_bad_rows() {
    let dir = std::env::temp_dir().join(format!("keqing-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "客户编号,日期,金额\nA,2025-01-01,10\nB,2025-13-01,5\nC,2025-01-02,abc\nD,2025-01-03,7\n",
    )
    .unwrap();
    let b = bad.display().to_string();
    let cli = Cli::try_parse_from(["k", "rfm", "--input", &b]).unwrap();
    let err = run(cli.cmd, &mut Vec::new()).unwrap_err().to_string();
    assert!(err.contains("line 3") && err.contains("日期"), "{err}");
    let v = json(&["rfm", "--input", &b, "--skip-bad", "--format", "json"]);
    assert_eq!(v["summary"]["input"]["skipped_rows"], 2);
    assert_eq!(v["summary"]["input"]["skipped"][1]["line"], 4);
    assert_eq!(v["summary"]["input"]["skipped"][1]["column"], "金额");
    let csv = analyze(&["rfm", "--input", &b, "--skip-bad", "--format", "csv"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("customer_id,r,f,m,r_score,f_score,m_score,score,class")
    );
    assert_eq!(lines.count(), 2);
    let out = dir.join("out.json");
    analyze(&[
        "rfm",
        "--input",
        &b,
        "--skip-bad",
        "--format",
        "json",
        "--out",
        &out.display().to_string(),
    ]);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["summary"]["customers"], 2);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn abc_and_repeat_and_cluster() {
    let f = data("orders_small.csv");
    let v = json(&["abc", "--input", &f, "--format", "json"]);
    assert_eq!(v["summary"]["classes"]["A"]["customers"], 1);
    assert_eq!(v["pareto"].as_array().unwrap().len(), 101);
    assert_eq!(v["customers"][0]["customer_id"], "C001");
    let v = json(&["repeat", "--input", &f, "--format", "json"]);
    assert_eq!(v["summary"]["customers"], 3);
    assert_eq!(v["summary"]["distribution"][1]["purchases"], 2);
    let v = json(&["cluster", "--input", &f, "--k", "2", "--format", "json"]);
    assert_eq!(v["summary"]["k"], 2);
    let sizes: u64 = v["summary"]["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["size"].as_u64().unwrap())
        .sum();
    assert_eq!(sizes, 3);
}

#[test]
fn clv_from_the_cdnow_summary_file() {
    let f = data("cdnow_customers_summary_with_transactions.csv");
    let v = json(&[
        "clv",
        "--summary-input",
        &f,
        "--format",
        "json",
        "--summary-only",
    ]);
    let p = &v["summary"]["params"];
    assert!((p["r"].as_f64().unwrap() - 0.2426).abs() < 1e-4);
    assert!((p["b"].as_f64().unwrap() - 2.4258).abs() < 1e-4);
    assert!((v["summary"]["spend_params"]["q"].as_f64().unwrap() - 3.7446).abs() < 1e-4);
    let v = json(&[
        "clv",
        "--summary-input",
        &f,
        "--model",
        "pareto",
        "--format",
        "json",
    ]);
    // 11.67 to 4 significant digits (the likelihood is flat in β).
    assert!((v["summary"]["params"]["beta"].as_f64().unwrap() - 11.6661).abs() < 5e-3);
    assert_eq!(v["customers"].as_array().unwrap().len(), 2357);
    let c1 = &v["customers"][0];
    assert!(c1["clv"].as_f64().unwrap() > 0.0 && c1["p_alive"].as_f64().unwrap() <= 1.0);
}
