//! `keqing analyze <sub>`: the command line over the analyses (feature `cli`).
//!
//! Mount [`AnalyzeCommand`] as a clap subcommand and call [`run`].

use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use crate::abc::{abc, AbcCuts};
use crate::cluster::{kmeans, rfm_features, ClusterOptions};
use crate::clv::{clv, read_summary_csv, summarise, ClvModel, ClvOptions, Period, PurchaseParams};
use crate::date::{format_day, parse_date};
use crate::error::{AnalysisError, Result};
use crate::funnel::{aisas, parse_counts};
use crate::money::format_fen;
use crate::repeat::repeat_purchases;
use crate::rfm::{rfm, rfm_from_totals, RfmOptions, RfmThresholds};
use crate::{
    read_csv_totals, read_transactions, CustomerTotals, ReadOptions, ReadReport, Transactions,
};

#[derive(Debug, Clone, clap::Subcommand)]
pub enum AnalyzeCommand {
    /// RFM eight classes (八大类客户) and 1–5 scores.
    Rfm(RfmArgs),
    /// ABC / Pareto classes by cumulative share of sales.
    Abc(AbcArgs),
    /// Customer lifetime value: BG/NBD or Pareto/NBD with Gamma-Gamma.
    Clv(ClvArgs),
    /// k-means on standardised R, F, M.
    Cluster(ClusterArgs),
    /// Repeat-purchase distribution and purchase cycles.
    Repeat(RepeatArgs),
    /// AISAS funnel rates from six stage counts.
    Funnel(FunnelArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only the summary, no per-customer rows.
    #[arg(long)]
    pub summary_only: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Transactions file (CSV, or Parquet with the `parquet` feature).
    #[arg(long)]
    pub input: PathBuf,
    /// Customer id column (default: recognised, e.g. 客户编号 / customer_id).
    #[arg(long)]
    pub customer_col: Option<String>,
    /// Date column (default: recognised, e.g. 日期 / order_date).
    #[arg(long)]
    pub date_col: Option<String>,
    /// Amount column (default: recognised, e.g. 金额 / amount).
    #[arg(long)]
    pub amount_col: Option<String>,
    /// Skip bad rows (each is reported) instead of stopping at the first.
    #[arg(long)]
    pub skip_bad: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RfmArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// As-of date (default: the day after the last purchase).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Hand-set thresholds R days, F purchases, M yuan, e.g. 90,2,500.
    #[arg(long)]
    pub thresholds: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct AbcArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Class sizes in percent of sales.
    #[arg(long, default_value = "70,20,5,5")]
    pub cuts: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ClvArgs {
    /// Transactions file (needs --as-of and --freq).
    #[arg(
        long,
        conflicts_with = "summary_input",
        required_unless_present = "summary_input"
    )]
    pub input: Option<PathBuf>,
    #[arg(long)]
    pub customer_col: Option<String>,
    #[arg(long)]
    pub date_col: Option<String>,
    #[arg(long)]
    pub amount_col: Option<String>,
    #[arg(long)]
    pub skip_bad: bool,
    /// Summary file: customer_id, frequency, recency, T [, monetary_value].
    #[arg(long)]
    pub summary_input: Option<PathBuf>,
    /// End of the observation period (default: the last purchase day).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Period of frequency, recency and T: D, W or M.
    #[arg(long, default_value = "W")]
    pub freq: String,
    #[arg(long, value_enum, default_value_t = ModelArg::Bgnbd)]
    pub model: ModelArg,
    #[arg(long, default_value_t = 12)]
    pub horizon_months: u32,
    /// Monthly discount rate.
    #[arg(long, default_value_t = 0.01)]
    pub discount: f64,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelArg {
    Bgnbd,
    Pareto,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Number of clusters (default: chosen by silhouette among 2..=8).
    #[arg(long)]
    pub k: Option<usize>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long)]
    pub as_of: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RepeatArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct FunnelArgs {
    /// Six stage counts St0..St5, e.g. 750,200,150,80,75,70.
    #[arg(long)]
    pub counts: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs one analysis, writing to `stdout` (or `--out`); progress goes to
/// stderr when it is a terminal.
pub fn run(cmd: AnalyzeCommand, stdout: &mut dyn Write) -> Result<()> {
    let out_args = match &cmd {
        AnalyzeCommand::Rfm(a) => &a.output,
        AnalyzeCommand::Abc(a) => &a.output,
        AnalyzeCommand::Clv(a) => &a.output,
        AnalyzeCommand::Cluster(a) => &a.output,
        AnalyzeCommand::Repeat(a) => &a.output,
        AnalyzeCommand::Funnel(a) => &a.output,
    }
    .clone();
    let mut file;
    let w: &mut dyn Write = match &out_args.out {
        Some(p) => {
            file = BufWriter::with_capacity(
                1 << 20,
                std::fs::File::create(p).map_err(|source| AnalysisError::Io {
                    path: p.clone(),
                    source,
                })?,
            );
            &mut file
        }
        None => stdout,
    };
    let mut w = BufWriter::with_capacity(1 << 20, w);
    match cmd {
        AnalyzeCommand::Rfm(a) => run_rfm(a, &mut w)?,
        AnalyzeCommand::Abc(a) => run_abc(a, &mut w)?,
        AnalyzeCommand::Clv(a) => run_clv(a, &mut w)?,
        AnalyzeCommand::Cluster(a) => run_cluster(a, &mut w)?,
        AnalyzeCommand::Repeat(a) => run_repeat(a, &mut w)?,
        AnalyzeCommand::Funnel(a) => run_funnel(a, &mut w)?,
    }
    w.flush()?;
    Ok(())
}

/// A one-line progress display on stderr, only when stderr is a terminal.
struct Progress {
    on: bool,
    last: Instant,
    shown: bool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            on: std::io::stderr().is_terminal(),
            last: Instant::now(),
            shown: false,
        }
    }

    fn bytes(&mut self, done: u64, total: u64) {
        if !self.on || self.last.elapsed() < Duration::from_millis(100) {
            return;
        }
        self.last = Instant::now();
        let pct = (done * 100).checked_div(total).unwrap_or(0);
        let bar = "#".repeat((pct / 5) as usize);
        eprint!("\rreading [{bar:<20}] {pct:>3}% {} MB", done >> 20);
        self.shown = true;
    }

    fn done(&mut self) {
        if self.shown {
            eprint!("\r{:60}\r", "");
            self.shown = false;
        }
    }
}

fn load(a: &InputArgs) -> Result<(Transactions, ReadReport)> {
    let opts = ReadOptions {
        customer_col: a.customer_col.clone(),
        date_col: a.date_col.clone(),
        amount_col: a.amount_col.clone(),
        skip_bad: a.skip_bad,
        ..Default::default()
    };
    let mut p = Progress::new();
    let r = read_transactions(&a.input, &opts, &mut |d, t| p.bytes(d, t));
    p.done();
    let (tx, rep) = r?;
    report_skipped(&rep);
    Ok((tx, rep))
}

/// Per-customer totals up to `up_to`: read straight from CSV (no rows kept),
/// or through [`Transactions`] for other formats. Without `ids` a CSV's
/// customer keys are not kept (summaries need none).
fn load_totals(
    a: &InputArgs,
    up_to: Option<i32>,
    ids: bool,
) -> Result<(CustomerTotals, ReadReport)> {
    let is_csv = !a
        .input
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"));
    if !is_csv {
        let (tx, rep) = load(a)?;
        return Ok((CustomerTotals::from_transactions(&tx, up_to), rep));
    }
    let opts = ReadOptions {
        customer_col: a.customer_col.clone(),
        date_col: a.date_col.clone(),
        amount_col: a.amount_col.clone(),
        skip_bad: a.skip_bad,
        customer_ids: ids,
        ..Default::default()
    };
    let mut p = Progress::new();
    let r = read_csv_totals(&a.input, &opts, up_to, &mut |d, t| p.bytes(d, t));
    p.done();
    let (totals, rep) = r?;
    report_skipped(&rep);
    Ok((totals, rep))
}

fn report_skipped(rep: &ReadReport) {
    for e in &rep.skipped {
        eprintln!("skipped {e}");
    }
    if !rep.skipped.is_empty() {
        eprintln!("{} bad rows skipped", rep.skipped.len());
    }
}

fn input_json(rep: &ReadReport) -> Value {
    json!({ "rows": rep.rows, "skipped_rows": rep.skipped.len(), "skipped": rep.skipped, "columns": rep.columns })
}

fn parse_day(s: &str) -> Result<i32> {
    parse_date(s.as_bytes())
        .map_err(|r| AnalysisError::InvalidParameter(format!("date {s:?}: {r}")))
}

fn yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn write_json_doc<T: Serialize>(
    w: &mut dyn Write,
    summary: &Value,
    extra: &[(&str, Value)],
    rows_key: &str,
    rows: Option<&mut dyn Iterator<Item = T>>,
) -> Result<()> {
    write!(w, "{{\"summary\":")?;
    serde_json::to_writer(&mut *w, summary)?;
    for (k, v) in extra {
        write!(w, ",\"{k}\":")?;
        serde_json::to_writer(&mut *w, v)?;
    }
    if let Some(rows) = rows {
        write!(w, ",\"{rows_key}\":[")?;
        for (i, r) in rows.enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            serde_json::to_writer(&mut *w, &r)?;
        }
        w.write_all(b"]")?;
    }
    writeln!(w, "}}")?;
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Display width, counting CJK and full-width characters as two columns.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            if ('\u{1100}'..='\u{115F}').contains(&c) || ('\u{2E80}'..='\u{FFEF}').contains(&c) {
                2
            } else {
                1
            }
        })
        .sum()
}

fn table(w: &mut dyn Write, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(width(c));
        }
    }
    let line = |w: &mut dyn Write, cells: &[String]| -> std::io::Result<()> {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(widths[i] - width(c)));
            }
        }
        writeln!(w, "{}", s.trim_end())
    };
    line(w, &header.iter().map(|h| h.to_string()).collect::<Vec<_>>())?;
    line(
        w,
        &widths.iter().map(|n| "-".repeat(*n)).collect::<Vec<_>>(),
    )?;
    for r in rows {
        line(w, r)?;
    }
    Ok(())
}

fn pct(v: f64) -> String {
    format!("{:.2}%", v * 100.0)
}

const TABLE_ROWS: usize = 20;

fn run_rfm(a: RfmArgs, w: &mut dyn Write) -> Result<()> {
    let as_of = a.as_of.as_deref().map(parse_day).transpose()?;
    let (totals, rep) = load_totals(&a.input, as_of, !a.output.summary_only)?;
    let thresholds = match &a.thresholds {
        None => None,
        Some(s) => {
            let v: Vec<f64> = s
                .split(',')
                .map(|p| p.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .map_err(|_| {
                    AnalysisError::InvalidParameter(format!(
                        "thresholds {s:?}: expected R,F,M like 90,2,500"
                    ))
                })?;
            match v[..] {
                [r, f, m] => Some(RfmThresholds {
                    r_days: r,
                    f,
                    m_fen: m * 100.0,
                }),
                _ => {
                    return Err(AnalysisError::InvalidParameter(format!(
                        "thresholds {s:?}: expected three numbers"
                    )))
                }
            }
        }
    };
    let skip_scores = a.output.summary_only;
    let res = rfm_from_totals(
        &totals,
        &RfmOptions {
            as_of,
            thresholds,
            skip_scores,
        },
    )?;
    let classes: serde_json::Map<String, Value> = res
        .classes
        .iter()
        .map(|c| {
            (
                c.class.key().to_string(),
                json!({
                    "count": c.count,
                    "label_zh": c.class.label_zh(),
                    "customer_share": c.customer_share,
                    "sales_share": c.sales_share,
                    "sales": yuan(c.sales_fen),
                }),
            )
        })
        .collect();
    let summary = json!({
        "as_of": format_day(res.as_of),
        "customers": res.customers,
        "transactions": res.transactions,
        "means": { "r": res.mean_r_days, "f": res.mean_f, "m": res.mean_m_fen / 100.0 },
        "thresholds": { "r": res.thresholds.r_days, "f": res.thresholds.f, "m": res.thresholds.m_fen / 100.0 },
        "classes": classes,
        "input": input_json(&rep),
    });
    let ids = &totals.customer_ids;
    match a.output.format {
        Format::Json => {
            let mut rows = res.rows.iter().map(|r| {
                json!({
                    "customer_id": ids[r.customer as usize],
                    "r": r.recency_days,
                    "f": r.frequency,
                    "m": yuan(r.monetary_fen),
                    "r_score": r.r_score,
                    "f_score": r.f_score,
                    "m_score": r.m_score,
                    "score": r.score_code(),
                    "class": r.class.key(),
                })
            });
            let rows: Option<&mut dyn Iterator<Item = Value>> = if a.output.summary_only {
                None
            } else {
                Some(&mut rows)
            };
            write_json_doc(w, &summary, &[], "customers", rows)
        }
        Format::Csv if !a.output.summary_only => {
            writeln!(w, "customer_id,r,f,m,r_score,f_score,m_score,score,class")?;
            for r in &res.rows {
                writeln!(
                    w,
                    "{},{},{},{},{},{},{},{},{}",
                    csv_field(&ids[r.customer as usize]),
                    r.recency_days,
                    r.frequency,
                    format_fen(r.monetary_fen),
                    r.r_score,
                    r.f_score,
                    r.m_score,
                    r.score_code(),
                    r.class.key()
                )?;
            }
            Ok(())
        }
        Format::Csv => {
            writeln!(w, "class,label_zh,count,customer_share,sales_share")?;
            for c in &res.classes {
                writeln!(
                    w,
                    "{},{},{},{},{}",
                    c.class.key(),
                    c.class.label_zh(),
                    c.count,
                    c.customer_share,
                    c.sales_share
                )?;
            }
            Ok(())
        }
        Format::Table => {
            writeln!(
                w,
                "RFM as of {}: {} customers, {} transactions; means R {:.2} days, F {:.2}, M {:.2} yuan\n",
                format_day(res.as_of),
                res.customers,
                res.transactions,
                res.mean_r_days,
                res.mean_f,
                res.mean_m_fen / 100.0
            )?;
            let rows: Vec<Vec<String>> = res
                .classes
                .iter()
                .map(|c| {
                    vec![
                        c.class.label_zh().to_string(),
                        c.class.key().to_string(),
                        c.count.to_string(),
                        pct(c.customer_share),
                        pct(c.sales_share),
                    ]
                })
                .collect();
            table(
                w,
                &["class", "key", "customers", "share", "sales share"],
                &rows,
            )?;
            if !a.output.summary_only {
                writeln!(w)?;
                let rows: Vec<Vec<String>> = res
                    .rows
                    .iter()
                    .take(TABLE_ROWS)
                    .map(|r| {
                        vec![
                            ids[r.customer as usize].clone(),
                            r.recency_days.to_string(),
                            r.frequency.to_string(),
                            format_fen(r.monetary_fen),
                            r.score_code(),
                            r.class.label_zh().to_string(),
                        ]
                    })
                    .collect();
                table(
                    w,
                    &["customer", "R days", "F", "M yuan", "score", "class"],
                    &rows,
                )?;
                if res.rows.len() > TABLE_ROWS {
                    writeln!(
                        w,
                        "… {} more customers (use --format csv or json for all)",
                        res.rows.len() - TABLE_ROWS
                    )?;
                }
            }
            Ok(())
        }
    }
}

fn run_abc(a: AbcArgs, w: &mut dyn Write) -> Result<()> {
    let cuts = AbcCuts::parse(&a.cuts)?;
    let (tx, rep) = load(&a.input)?;
    let res = abc(&tx, &cuts)?;
    let classes: serde_json::Map<String, Value> = res
        .classes
        .iter()
        .map(|c| {
            (
                c.class.key().to_string(),
                json!({ "customers": c.customers, "customer_share": c.customer_share, "sales": yuan(c.sales_fen), "sales_share": c.sales_share }),
            )
        })
        .collect();
    let summary = json!({
        "customers": res.customers.len(),
        "total_sales": yuan(res.total_sales_fen),
        "cuts": cuts.0,
        "classes": classes,
        "top20_share": res.top20_share,
        "input": input_json(&rep),
    });
    let ids = &tx.customer_ids;
    match a.output.format {
        Format::Json => {
            let pareto = serde_json::to_value(res.pareto())?;
            let mut rows = res.customers.iter().map(|c| {
                json!({ "customer_id": ids[c.customer as usize], "rank": c.rank, "sales": yuan(c.sales_fen), "share_before": c.share_before, "class": c.class.key() })
            });
            let rows: Option<&mut dyn Iterator<Item = Value>> = if a.output.summary_only {
                None
            } else {
                Some(&mut rows)
            };
            write_json_doc(w, &summary, &[("pareto", pareto)], "customers", rows)
        }
        Format::Csv if !a.output.summary_only => {
            writeln!(w, "customer_id,rank,sales,share_before,class")?;
            for c in &res.customers {
                writeln!(
                    w,
                    "{},{},{},{},{}",
                    csv_field(&ids[c.customer as usize]),
                    c.rank,
                    format_fen(c.sales_fen),
                    c.share_before,
                    c.class.key()
                )?;
            }
            Ok(())
        }
        Format::Csv => {
            writeln!(w, "class,customers,customer_share,sales,sales_share")?;
            for c in &res.classes {
                writeln!(
                    w,
                    "{},{},{},{},{}",
                    c.class.key(),
                    c.customers,
                    c.customer_share,
                    format_fen(c.sales_fen),
                    c.sales_share
                )?;
            }
            Ok(())
        }
        Format::Table => {
            writeln!(
                w,
                "ABC: {} customers, sales {} yuan; top 20% of customers hold {} of sales\n",
                res.customers.len(),
                format_fen(res.total_sales_fen),
                pct(res.top20_share)
            )?;
            let rows: Vec<Vec<String>> = res
                .classes
                .iter()
                .map(|c| {
                    vec![
                        c.class.key().into(),
                        c.customers.to_string(),
                        pct(c.customer_share),
                        format_fen(c.sales_fen),
                        pct(c.sales_share),
                    ]
                })
                .collect();
            table(
                w,
                &["class", "customers", "share", "sales yuan", "sales share"],
                &rows,
            )?;
            Ok(())
        }
    }
}

fn run_clv(a: ClvArgs, w: &mut dyn Write) -> Result<()> {
    let period = Period::parse(&a.freq)?;
    let (data, as_of, input) = match (&a.input, &a.summary_input) {
        (Some(path), _) => {
            let ia = InputArgs {
                input: path.clone(),
                customer_col: a.customer_col.clone(),
                date_col: a.date_col.clone(),
                amount_col: a.amount_col.clone(),
                skip_bad: a.skip_bad,
            };
            let (tx, rep) = load(&ia)?;
            let as_of = match a.as_of.as_deref().map(parse_day).transpose()? {
                Some(d) => d,
                None => tx
                    .day_range()
                    .map(|r| r.1)
                    .ok_or_else(|| AnalysisError::Empty("no transactions".into()))?,
            };
            (
                summarise(&tx, Some(as_of), period)?,
                Some(format_day(as_of)),
                Some(input_json(&rep)),
            )
        }
        (None, Some(path)) => (read_summary_csv(path)?, None, None),
        (None, None) => {
            return Err(AnalysisError::InvalidParameter(
                "give --input or --summary-input".into(),
            ))
        }
    };
    let model = match a.model {
        ModelArg::Bgnbd => ClvModel::BgNbd,
        ModelArg::Pareto => ClvModel::Pareto,
    };
    let opts = ClvOptions {
        model,
        period,
        horizon_months: a.horizon_months,
        monthly_discount: a.discount,
        per_customer: !a.output.summary_only,
    };
    let res = clv(&data, &opts)?;
    let summary = json!({
        "model": match model { ClvModel::BgNbd => "bgnbd", ClvModel::Pareto => "pareto" },
        "period": a.freq.trim().to_uppercase(),
        "as_of": as_of,
        "customers": data.len(),
        "params": res.params,
        "log_likelihood": res.log_likelihood,
        "spend_params": res.spend.as_ref().map(|s| s.params),
        "spend_log_likelihood": res.spend.as_ref().map(|s| s.log_likelihood),
        "evaluations": res.evaluations,
        "spend_evaluations": res.spend.as_ref().map(|s| s.evaluations),
        "horizon_months": a.horizon_months,
        "monthly_discount": a.discount,
        "total_clv": res.total_clv,
        "input": input,
    });
    match a.output.format {
        Format::Json => {
            let mut rows = res.customers.iter();
            let rows: Option<&mut dyn Iterator<Item = _>> = if a.output.summary_only {
                None
            } else {
                Some(&mut rows)
            };
            write_json_doc(w, &summary, &[], "customers", rows)
        }
        Format::Csv if !a.output.summary_only => {
            writeln!(w, "customer_id,frequency,recency,T,monetary_value,p_alive,expected_purchases,expected_spend,clv")?;
            let o = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
            for c in &res.customers {
                writeln!(
                    w,
                    "{},{},{},{},{},{},{},{},{}",
                    csv_field(&c.customer_id),
                    c.frequency,
                    c.recency,
                    c.t,
                    o(c.monetary_value),
                    c.p_alive,
                    c.expected_purchases,
                    o(c.expected_spend),
                    o(c.clv)
                )?;
            }
            Ok(())
        }
        Format::Csv | Format::Table => {
            let p = match res.params {
                PurchaseParams::BgNbd(p) => format!(
                    "BG/NBD r = {:.4}, α = {:.4}, a = {:.4}, b = {:.4}",
                    p.r, p.alpha, p.a, p.b
                ),
                PurchaseParams::Pareto(p) => {
                    format!(
                        "Pareto/NBD r = {:.4}, α = {:.4}, s = {:.4}, β = {:.4}",
                        p.r, p.alpha, p.s, p.beta
                    )
                }
            };
            writeln!(
                w,
                "{} customers; {p}; log-likelihood {:.4}",
                data.len(),
                res.log_likelihood
            )?;
            if let Some(s) = &res.spend {
                writeln!(
                    w,
                    "Gamma-Gamma p = {:.4}, q = {:.4}, v = {:.4}",
                    s.params.p, s.params.q, s.params.v
                )?;
            }
            if a.output.format == Format::Table && !a.output.summary_only {
                writeln!(w)?;
                let mut top: Vec<&crate::clv::ClvCustomer> = res.customers.iter().collect();
                top.sort_by(|x, y| {
                    y.clv
                        .unwrap_or(y.expected_purchases)
                        .total_cmp(&x.clv.unwrap_or(x.expected_purchases))
                });
                let rows: Vec<Vec<String>> = top
                    .iter()
                    .take(TABLE_ROWS)
                    .map(|c| {
                        vec![
                            c.customer_id.clone(),
                            c.frequency.to_string(),
                            format!("{:.4}", c.p_alive),
                            format!("{:.4}", c.expected_purchases),
                            c.clv.map(|v| format!("{:.2}", v)).unwrap_or_default(),
                        ]
                    })
                    .collect();
                writeln!(
                    w,
                    "top {} customers by value over {} months:",
                    rows.len(),
                    a.horizon_months
                )?;
                table(
                    w,
                    &["customer", "x", "P(alive)", "E[purchases]", "CLV yuan"],
                    &rows,
                )?;
            }
            Ok(())
        }
    }
}

fn run_cluster(a: ClusterArgs, w: &mut dyn Write) -> Result<()> {
    let (tx, rep) = load(&a.input)?;
    let as_of = a.as_of.as_deref().map(parse_day).transpose()?;
    let r = rfm(
        &tx,
        &RfmOptions {
            as_of,
            thresholds: None,
            skip_scores: true,
        },
    )?;
    let res = kmeans(
        &rfm_features(&r),
        &ClusterOptions {
            k: a.k,
            seed: a.seed,
            ..Default::default()
        },
    )?;
    let summary = json!({
        "k": res.k,
        "features": res.features,
        "silhouettes": res.silhouettes.iter().map(|(k, s)| json!({"k": k, "silhouette": s})).collect::<Vec<_>>(),
        "inertia": res.inertia,
        "profiles": res.profiles,
        "input": input_json(&rep),
    });
    let ids = &tx.customer_ids;
    match a.output.format {
        Format::Json => {
            let mut rows = r
                .rows
                .iter()
                .zip(&res.labels)
                .map(|(c, l)| json!({ "customer_id": ids[c.customer as usize], "cluster": l }));
            let rows: Option<&mut dyn Iterator<Item = Value>> = if a.output.summary_only {
                None
            } else {
                Some(&mut rows)
            };
            write_json_doc(w, &summary, &[], "customers", rows)
        }
        Format::Csv if !a.output.summary_only => {
            writeln!(w, "customer_id,r,f,m,cluster")?;
            for (c, l) in r.rows.iter().zip(&res.labels) {
                writeln!(
                    w,
                    "{},{},{},{},{l}",
                    csv_field(&ids[c.customer as usize]),
                    c.recency_days,
                    c.frequency,
                    format_fen(c.monetary_fen)
                )?;
            }
            Ok(())
        }
        Format::Csv | Format::Table => {
            if a.output.format == Format::Table {
                writeln!(w, "k-means on standardised R, F, M: k = {}\n", res.k)?;
            }
            let rows: Vec<Vec<String>> = res
                .profiles
                .iter()
                .map(|p| {
                    let mut v = vec![p.cluster.to_string(), p.size.to_string(), pct(p.share)];
                    v.extend(p.means.iter().map(|m| format!("{m:.2}")));
                    v
                })
                .collect();
            if a.output.format == Format::Csv {
                writeln!(w, "cluster,size,share,mean_r,mean_f,mean_m")?;
                for r in rows {
                    writeln!(w, "{}", r.join(","))?;
                }
                return Ok(());
            }
            table(
                w,
                &[
                    "cluster",
                    "size",
                    "share",
                    "mean R days",
                    "mean F",
                    "mean M yuan",
                ],
                &rows,
            )
        }
    }
}

fn run_repeat(a: RepeatArgs, w: &mut dyn Write) -> Result<()> {
    let (tx, rep) = load(&a.input)?;
    let r = repeat_purchases(&tx)?;
    let summary = json!({
        "customers": r.customers,
        "repeat_rate": r.repeat_rate,
        "mean_cycle_days": r.mean_cycle_days,
        "distribution": r.distribution,
        "input": input_json(&rep),
    });
    let ids = &tx.customer_ids;
    match a.output.format {
        Format::Json => {
            let mut rows = r
                .cycle_days
                .iter()
                .enumerate()
                .map(|(c, d)| json!({ "customer_id": ids[c], "cycle_days": d }));
            let rows: Option<&mut dyn Iterator<Item = Value>> = if a.output.summary_only {
                None
            } else {
                Some(&mut rows)
            };
            write_json_doc(w, &summary, &[], "customers", rows)
        }
        Format::Csv if !a.output.summary_only => {
            writeln!(w, "customer_id,cycle_days")?;
            for (c, d) in r.cycle_days.iter().enumerate() {
                writeln!(
                    w,
                    "{},{}",
                    csv_field(&ids[c]),
                    d.map(|v| v.to_string()).unwrap_or_default()
                )?;
            }
            Ok(())
        }
        Format::Csv => {
            writeln!(w, "purchases,customers,share")?;
            for b in &r.distribution {
                writeln!(w, "{},{},{}", b.purchases, b.customers, b.share)?;
            }
            Ok(())
        }
        Format::Table => {
            writeln!(
                w,
                "{} customers; repeat rate {}; mean purchase cycle {}\n",
                r.customers,
                pct(r.repeat_rate),
                r.mean_cycle_days
                    .map(|d| format!("{d:.1} days"))
                    .unwrap_or_else(|| "n/a".into())
            )?;
            let rows: Vec<Vec<String>> = r
                .distribution
                .iter()
                .map(|b| {
                    vec![
                        b.purchases.to_string(),
                        b.customers.to_string(),
                        pct(b.share),
                    ]
                })
                .collect();
            table(w, &["purchases", "customers", "share"], &rows)
        }
    }
}

fn run_funnel(a: FunnelArgs, w: &mut dyn Write) -> Result<()> {
    let r = aisas(parse_counts(&a.counts)?)?;
    match a.output.format {
        Format::Json => {
            serde_json::to_writer(
                &mut *w,
                &json!({
                    "counts": r.counts,
                    "rates": r.rates,
                    "weakest": r.weakest.key(),
                    "weakest_zh": r.weakest.label_zh(),
                }),
            )?;
            writeln!(w)?;
            Ok(())
        }
        Format::Csv => {
            writeln!(w, "stage,rate_percent")?;
            let v = [
                r.rates.attention,
                r.rates.interest,
                r.rates.search,
                r.rates.action,
                r.rates.share,
            ];
            for (s, v) in crate::funnel::FunnelStage::ALL.iter().zip(v) {
                writeln!(w, "{},{}", s.key(), v)?;
            }
            writeln!(w, "overall,{}", r.rates.overall)?;
            Ok(())
        }
        Format::Table => {
            let v = [
                r.rates.attention,
                r.rates.interest,
                r.rates.search,
                r.rates.action,
                r.rates.share,
            ];
            let mut rows: Vec<Vec<String>> = crate::funnel::FunnelStage::ALL
                .iter()
                .zip(v)
                .enumerate()
                .map(|(i, (s, v))| {
                    vec![
                        format!("{} {}", s.label_zh(), s.key()),
                        format!("St{}/St{i}", i + 1),
                        format!("{v:.2}%"),
                    ]
                })
                .collect();
            rows.push(vec![
                "overall H".into(),
                "St4/St0".into(),
                format!("{:.2}%", round(r.rates.overall, 2)),
            ]);
            table(w, &["stage", "ratio", "rate"], &rows)?;
            writeln!(
                w,
                "\nweakest stage: {} ({})",
                r.weakest.label_zh(),
                r.weakest.key()
            )?;
            Ok(())
        }
    }
}
