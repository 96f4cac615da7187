//! `keqing calendar`: the occasions between two dates, as a table, JSON or CSV
//! (feature `cli`).

use std::io::Write;
use std::path::PathBuf;

use chrono::{Datelike, NaiveDate};
use thiserror::Error;

use crate::calendar::{Calendar, CalendarConfig, Occasion};
use crate::error::CareError;

/// Output format of `keqing calendar`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CalendarFormat {
    /// Aligned columns for a terminal.
    #[default]
    Table,
    /// A JSON list of `{date, occasion, name_zh, name_en}`.
    Json,
    /// CSV (UTF-8): date, weekday, occasion, name_zh, name_en.
    Csv,
}

/// Arguments of `keqing calendar`.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct CalendarArgs {
    /// First day, YYYY-MM-DD (1901-01-01 or later).
    #[arg(long, value_name = "DATE")]
    pub from: NaiveDate,
    /// Last day, YYYY-MM-DD (2099-12-31 or earlier), inclusive.
    #[arg(long, value_name = "DATE")]
    pub to: NaiveDate,
    #[arg(long, value_enum, default_value_t = CalendarFormat::Table)]
    pub format: CalendarFormat,
    /// The deployment's calendar configuration (JSON: `disabled` ids,
    /// added `occasions`); the ten built-in occasions without it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// What can go wrong running `keqing calendar`.
#[derive(Debug, Error)]
pub enum CalendarCliError {
    #[error(transparent)]
    Calendar(#[from] CareError),
    #[error("cannot read calendar configuration {path}: {source}")]
    ReadConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid calendar configuration {path}: {source}")]
    ParseConfig {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write output: {0}")]
    Write(#[from] std::io::Error),
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Runs `keqing calendar`, writing to `out`.
pub fn run_calendar(args: CalendarArgs, out: &mut dyn Write) -> Result<(), CalendarCliError> {
    let config = match &args.config {
        None => CalendarConfig::default(),
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|source| CalendarCliError::ReadConfig {
                    path: path.clone(),
                    source,
                })?;
            serde_json::from_str(&text).map_err(|source| CalendarCliError::ParseConfig {
                path: path.clone(),
                source,
            })?
        }
    };
    let occasions = Calendar::new(&config)?.occasions(args.from, args.to)?;
    match args.format {
        CalendarFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &occasions)?;
            writeln!(out)?;
        }
        CalendarFormat::Table => write_table(&occasions, args.from, args.to, out)?,
        CalendarFormat::Csv => write_csv(&occasions, out)?,
    }
    Ok(())
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_csv(occasions: &[Occasion], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "date,weekday,occasion,name_zh,name_en")?;
    for o in occasions {
        let cells = [
            o.date.to_string(),
            o.date.weekday().to_string(),
            o.id.to_string(),
            o.name_zh.to_string(),
            o.name_en.to_string(),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    Ok(())
}

/// Terminal columns of `s`: CJK characters take two.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

fn pad(s: &str, to: usize) -> String {
    format!("{s}{}", " ".repeat(to.saturating_sub(width(s))))
}

fn write_table(
    occasions: &[Occasion],
    from: NaiveDate,
    to: NaiveDate,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if occasions.is_empty() {
        return writeln!(out, "no occasions from {from} to {to}");
    }
    let header = ["date", "weekday", "occasion", "name_zh", "name_en"];
    let rows: Vec<[String; 5]> = occasions
        .iter()
        .map(|o| {
            [
                o.date.to_string(),
                o.date.weekday().to_string(),
                o.id.to_string(),
                o.name_zh.to_string(),
                o.name_en.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(width);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(width(cell));
        }
    }
    let line = |cells: [&str; 5]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&pad(cell, widths[i]));
                s.push_str("  ");
            }
        }
        s
    };
    writeln!(out, "{}", line(header))?;
    for r in &rows {
        writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4]]))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: CalendarArgs,
    }

    fn run(argv: &[&str]) -> Result<String, CalendarCliError> {
        let cli = Cli::try_parse_from(std::iter::once("calendar").chain(argv.iter().copied()))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        run_calendar(cli.args, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn table() {
        let text = run(&["--from", "2026-09-25", "--to", "2026-10-01"]).unwrap();
        assert_eq!(
            text,
            "date        weekday  occasion      name_zh  name_en\n\
             2026-09-25  Fri      mid_autumn    中秋节   Mid-Autumn Festival\n\
             2026-10-01  Thu      national_day  国庆节   National Day\n"
        );
        let empty = run(&["--from", "2026-11-27", "--to", "2026-11-28"]).unwrap();
        assert_eq!(empty, "no occasions from 2026-11-27 to 2026-11-28\n");
    }

    #[test]
    fn json_with_config() {
        let dir = std::env::temp_dir().join(format!("keqing-care-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("calendar.json");
        std::fs::write(
            &path,
            r#"{"disabled":["mid_autumn"],"occasions":[{"id":"teachers_day","name_zh":"教师节","name_en":"Teachers' Day","rule":"solar","month":9,"day":10}]}"#,
        )
        .unwrap();
        let text = run(&[
            "--from",
            "2026-09-01",
            "--to",
            "2026-09-30",
            "--format",
            "json",
            "--config",
            path.to_str().unwrap(),
        ])
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            serde_json::json!([{"date": "2026-09-10", "occasion": "teachers_day", "name_zh": "教师节", "name_en": "Teachers' Day"}])
        );
        std::fs::write(&path, r#"{"disabled":["nope"]}"#).unwrap();
        let err = run(&[
            "--from",
            "2026-09-01",
            "--to",
            "2026-09-30",
            "--config",
            path.to_str().unwrap(),
        ])
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown occasion \"nope\""),
            "{err}"
        );
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(
            run(&[
                "--from",
                "2026-09-01",
                "--to",
                "2026-09-30",
                "--config",
                path.to_str().unwrap()
            ]),
            Err(CalendarCliError::ParseConfig { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_ranges_and_dates() {
        assert!(matches!(
            run(&["--from", "2026-02-01", "--to", "2026-01-01"]),
            Err(CalendarCliError::Calendar(CareError::EmptyRange { .. }))
        ));
        assert!(
            Cli::try_parse_from(["calendar", "--from", "2026-02-30", "--to", "2026-03-01"])
                .is_err()
        );
    }
}
