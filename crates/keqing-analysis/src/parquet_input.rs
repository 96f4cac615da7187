//! Parquet transaction files (feature `parquet`), read column by column
//! without Arrow. Supported: customer as string or integer; date as DATE,
//! TIMESTAMP or string; amount as DECIMAL, integer yuan, float (rounded to
//! fen) or string. Row errors report `line` = 1-based row number + 1, as if
//! the file had a header line like a CSV.

use std::path::Path;

use parquet::basic::{LogicalType, TimeUnit, Type as PhysicalType};
use parquet::column::reader::ColumnReader;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::ColumnDescriptor;

use crate::csv::{resolve_columns, ReadOptions, ReadReport};
use crate::date::parse_date;
use crate::error::{AnalysisError, Result, RowError};
use crate::money::parse_amount_fen;
use crate::transactions::{Transactions, TransactionsBuilder};

const BATCH: usize = 64 * 1024;

/// A column's values for one row group, before conversion.
enum Raw {
    Bytes(Vec<parquet::data_type::ByteArray>),
    FixedBytes(Vec<parquet::data_type::FixedLenByteArray>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

fn perr(e: parquet::errors::ParquetError) -> AnalysisError {
    AnalysisError::Parquet(e.to_string())
}

/// Reads all values of a column in a row group; `None` entries are nulls.
fn read_column(mut reader: ColumnReader, rows: usize) -> Result<(Raw, Vec<i16>)> {
    let mut def: Vec<i16> = Vec::with_capacity(rows);
    macro_rules! read {
        ($r:expr, $variant:ident) => {{
            let mut vals = Vec::with_capacity(rows);
            loop {
                let (recs, _, _) = $r
                    .read_records(BATCH, Some(&mut def), None, &mut vals)
                    .map_err(perr)?;
                if recs == 0 {
                    break;
                }
            }
            Raw::$variant(vals)
        }};
    }
    let raw = match reader {
        ColumnReader::ByteArrayColumnReader(ref mut r) => read!(r, Bytes),
        ColumnReader::FixedLenByteArrayColumnReader(ref mut r) => read!(r, FixedBytes),
        ColumnReader::Int32ColumnReader(ref mut r) => read!(r, I32),
        ColumnReader::Int64ColumnReader(ref mut r) => read!(r, I64),
        ColumnReader::FloatColumnReader(ref mut r) => read!(r, F32),
        ColumnReader::DoubleColumnReader(ref mut r) => read!(r, F64),
        _ => {
            return Err(AnalysisError::Parquet(
                "unsupported column type (boolean or int96)".into(),
            ))
        }
    };
    Ok((raw, def))
}

/// Reads a Parquet transactions file into [`Transactions`].
pub fn read_parquet(path: &Path, opts: &ReadOptions) -> Result<(Transactions, ReadReport)> {
    let file = std::fs::File::open(path).map_err(|source| AnalysisError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = SerializedFileReader::new(file).map_err(perr)?;
    let meta = reader.metadata();
    let schema = meta.file_metadata().schema_descr();
    let header: Vec<String> = schema
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let cols = resolve_columns(&header, opts)?;
    let names = [
        header[cols[0]].clone(),
        header[cols[1]].clone(),
        header[cols[2]].clone(),
    ];
    let descr_ptr: Vec<_> = cols.iter().map(|&i| schema.column(i)).collect();
    let descr: Vec<&ColumnDescriptor> = descr_ptr.iter().map(|c| c.as_ref()).collect();
    let mut b = TransactionsBuilder::with_capacity(meta.file_metadata().num_rows().max(0) as usize);
    let mut report = ReadReport {
        columns: names.clone(),
        ..Default::default()
    };
    let mut row_base: u64 = 0;
    for g in 0..reader.num_row_groups() {
        let rg = reader.get_row_group(g).map_err(perr)?;
        let rows = rg.metadata().num_rows().max(0) as usize;
        let mut cols_raw = Vec::with_capacity(3);
        for &ci in &cols {
            cols_raw.push(read_column(rg.get_column_reader(ci).map_err(perr)?, rows)?);
        }
        // Value index per column advances only on non-null rows.
        let mut vi = [0usize; 3];
        for row in 0..rows {
            let line = row_base + row as u64 + 2;
            let mut fail = |col: usize, reason: String| -> Result<()> {
                let e = RowError {
                    line,
                    column: names[col].clone(),
                    reason,
                };
                if opts.skip_bad {
                    report.skipped.push(e);
                    Ok(())
                } else {
                    Err(AnalysisError::Row(e))
                }
            };
            let mut present = [true; 3];
            for k in 0..3 {
                let (_, def) = &cols_raw[k];
                let max_def = descr[k].max_def_level();
                if max_def > 0 && def.get(row).copied().unwrap_or(max_def) < max_def {
                    present[k] = false;
                }
            }
            let idx = vi;
            for k in 0..3 {
                if present[k] {
                    vi[k] += 1;
                }
            }
            if let Some(k) = (0..3).find(|&k| !present[k]) {
                fail(k, "missing value (null)".into())?;
                continue;
            }
            let key = match customer_key(&cols_raw[0].0, idx[0]) {
                Ok(k) => k,
                Err(r) => {
                    fail(0, r)?;
                    continue;
                }
            };
            let day = match day_value(&cols_raw[1].0, idx[1], descr[1]) {
                Ok(d) => d,
                Err(r) => {
                    fail(1, r)?;
                    continue;
                }
            };
            let fen = match fen_value(&cols_raw[2].0, idx[2], descr[2]) {
                Ok(a) => a,
                Err(r) => {
                    fail(2, r)?;
                    continue;
                }
            };
            b.push(&key, day, fen);
        }
        row_base += rows as u64;
    }
    let tx = b.finish();
    report.rows = tx.len() as u64;
    Ok((tx, report))
}

fn customer_key(raw: &Raw, i: usize) -> Result<String, String> {
    let key = match raw {
        Raw::Bytes(v) => std::str::from_utf8(v[i].data())
            .map_err(|_| "customer id is not UTF-8")?
            .trim()
            .to_string(),
        Raw::I32(v) => v[i].to_string(),
        Raw::I64(v) => v[i].to_string(),
        _ => return Err("customer id must be a string or an integer".into()),
    };
    if key.is_empty() {
        return Err("empty customer id".into());
    }
    Ok(key)
}

fn day_value(raw: &Raw, i: usize, d: &ColumnDescriptor) -> Result<i32, String> {
    const DAY_MS: i64 = 86_400_000;
    match (raw, d.logical_type_ref()) {
        (Raw::I32(v), _) if d.physical_type() == PhysicalType::INT32 => Ok(v[i]),
        (Raw::I64(v), Some(LogicalType::Timestamp(ts))) => {
            let per_day = match ts.unit {
                TimeUnit::MILLIS => DAY_MS,
                TimeUnit::MICROS => DAY_MS * 1_000,
                TimeUnit::NANOS => DAY_MS * 1_000_000,
            };
            i32::try_from(v[i].div_euclid(per_day)).map_err(|_| "timestamp out of range".into())
        }
        (Raw::I64(v), _) => {
            // INT64 without a logical type: yyyymmdd as a number.
            parse_date(v[i].to_string().as_bytes()).map_err(|r| r.to_string())
        }
        (Raw::Bytes(v), _) => parse_date(v[i].data())
            .map_err(|r| format!("{r}: {:?}", String::from_utf8_lossy(v[i].data()))),
        _ => Err("date must be DATE, TIMESTAMP or a string".into()),
    }
}

fn scale_to_fen(unscaled: i128, scale: i32) -> Result<i64, String> {
    let v = if scale <= 2 {
        unscaled.checked_mul(10i128.pow((2 - scale) as u32))
    } else {
        let div = 10i128.pow((scale - 2) as u32);
        if unscaled % div != 0 {
            return Err("more than two decimal places (fen)".into());
        }
        Some(unscaled / div)
    };
    v.and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| "amount too large".into())
}

fn fen_value(raw: &Raw, i: usize, d: &ColumnDescriptor) -> Result<i64, String> {
    let scale = match d.logical_type_ref() {
        Some(LogicalType::Decimal(dec)) => Some(dec.scale),
        _ if d.converted_type() == parquet::basic::ConvertedType::DECIMAL => Some(d.type_scale()),
        _ => None,
    };
    let float = |f: f64| -> Result<i64, String> {
        let fen = (f * 100.0).round();
        if fen.is_finite() && fen.abs() < 9.0e15 {
            Ok(fen as i64)
        } else {
            Err("not a finite amount".into())
        }
    };
    match raw {
        Raw::I32(v) => scale_to_fen(i128::from(v[i]), scale.unwrap_or(0)),
        Raw::I64(v) => scale_to_fen(i128::from(v[i]), scale.unwrap_or(0)),
        Raw::F32(v) => float(f64::from(v[i])),
        Raw::F64(v) => float(v[i]),
        Raw::FixedBytes(v) => {
            let bytes = v[i].data();
            if bytes.len() > 16 || scale.is_none() {
                return Err("unsupported fixed-length amount".into());
            }
            // Big-endian two's complement.
            let mut x: i128 = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
                -1
            } else {
                0
            };
            for &byte in bytes {
                x = (x << 8) | i128::from(byte);
            }
            scale_to_fen(x, scale.unwrap_or(0))
        }
        Raw::Bytes(v) if scale.is_some() => {
            let bytes = v[i].data();
            let mut x: i128 = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
                -1
            } else {
                0
            };
            for &byte in bytes.iter().take(16) {
                x = (x << 8) | i128::from(byte);
            }
            scale_to_fen(x, scale.unwrap_or(0))
        }
        Raw::Bytes(v) => parse_amount_fen(v[i].data())
            .map_err(|r| format!("{r}: {:?}", String::from_utf8_lossy(v[i].data()))),
    }
}
