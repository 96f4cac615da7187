//! `keqing import` and `keqing export`.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use keqing_app::imports::{import_file, parse_kind, ImportFailure, ImportReport};
use keqing_domain::access::Grants;
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Args)]
pub struct ImportArgs {
    /// customers, contacts or orders
    kind: String,
    /// CSV (UTF-8 or GBK) or XLSX, with Chinese or English headers.
    file: PathBuf,
    /// Owner (user name) of imported customers; default: none (the public pool).
    #[arg(long)]
    owner: Option<String>,
    #[arg(long, default_value = crate::DEFAULT_DB, env = "KEQING_DB")]
    db: String,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Also write the bad rows, with a reason column, to this CSV to fix and re-import.
    #[arg(long)]
    rejected_out: Option<PathBuf>,
}

pub async fn import(a: ImportArgs) -> Result<()> {
    let kind = parse_kind(&a.kind).with_context(|| {
        format!(
            "cannot import {:?}: use customers, contacts or orders",
            a.kind
        )
    })?;
    // This process only imports: a big file may take the database for
    // itself while it is stored (keqing_store::open_for_import).
    let store = keqing_store::open_for_import(&a.db)
        .await
        .with_context(|| format!("opening the database {}", a.db))?;
    let owner = match &a.owner {
        None => None,
        Some(name) => Some(
            store
                .user_by_name(name)
                .await?
                .with_context(|| format!("--owner: no user {name:?}"))?
                .0
                .id,
        ),
    };
    let bytes = std::fs::read(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let name = a
        .file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let actor = keqing_app::system_user();
    let report = match import_file(store.as_ref(), kind, &bytes, &name, owner, &actor, &|_| {
        true
    })
    .await
    {
        Ok(r) => r,
        Err(ImportFailure::File(e)) => bail!("{}: {e}", a.file.display()),
        Err(ImportFailure::Store(e)) => return Err(e).context("storing the rows"),
    };
    if let Some(out) = &a.rejected_out {
        let table = keqing_io::read_table_bytes(&bytes, &name, &keqing_io::ReadOptions::default())?;
        let csv = keqing_io::write_rejected_rows(
            &table,
            &report.errors,
            keqing_io::CsvEncoding::Utf8Bom,
        )?;
        std::fs::write(out, csv).with_context(|| format!("writing {}", out.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    match a.format {
        Format::Json => writeln!(stdout, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Table => print_report(&mut stdout, &report)?,
    }
    Ok(())
}

fn print_report(out: &mut dyn Write, r: &ImportReport) -> Result<()> {
    writeln!(out, "{} {}: {} data rows", r.kind, r.file, r.data_rows)?;
    writeln!(out, "  imported  {:>8}", r.imported)?;
    writeln!(
        out,
        "  existing  {:>8}   (already stored: not created again)",
        r.existing
    )?;
    writeln!(out, "  rejected  {:>8}", r.rejected)?;
    writeln!(out, "  blank     {:>8}", r.blank_rows)?;
    for w in &r.warnings {
        writeln!(
            out,
            "  warning: {}{}",
            w.column
                .as_deref()
                .map(|c| format!("column {c}: "))
                .unwrap_or_default(),
            w.message
        )?;
    }
    for e in &r.errors {
        writeln!(
            out,
            "  line {:>6}  {:<12} {}",
            e.line,
            e.column.as_deref().unwrap_or("-"),
            e.message
        )?;
    }
    Ok(())
}

#[derive(Args)]
pub struct ExportArgs {
    /// customers
    kind: String,
    /// .csv or .xlsx
    #[arg(long)]
    out: PathBuf,
    /// Header language: zh or en.
    #[arg(long, default_value = "zh")]
    lang: String,
    #[arg(long, default_value = crate::DEFAULT_DB, env = "KEQING_DB")]
    db: String,
}

pub async fn export(a: ExportArgs) -> Result<()> {
    if a.kind != "customers" {
        bail!(
            "cannot export {:?}: customers (with their primary contact) is what exports today",
            a.kind
        );
    }
    let lang = match a.lang.as_str() {
        "zh" => keqing_io::Lang::Zh,
        "en" => keqing_io::Lang::En,
        o => bail!("--lang {o:?}: use zh or en"),
    };
    let store = crate::admin::open(&a.db).await?;
    let rows = keqing_app::exports::customer_rows(
        store.as_ref(),
        &Grants::default(),
        &keqing_app::system_user(),
    )
    .await?;
    // A column for each custom field of the deployment, as the API's export.
    let custom = keqing_app::custom_fields::custom_fields_in(store.as_ref()).await?;
    let bytes = match a.out.extension().and_then(|e| e.to_str()) {
        Some("xlsx") => keqing_io::write_customers_xlsx(&rows, &custom, lang)?,
        Some("csv") => keqing_io::write_customers_csv(
            &rows,
            &custom,
            keqing_io::ExportOptions {
                lang,
                encoding: keqing_io::CsvEncoding::Utf8Bom,
            },
        )?,
        _ => bail!("--out must end in .csv or .xlsx"),
    };
    std::fs::write(&a.out, bytes).with_context(|| format!("writing {}", a.out.display()))?;
    eprintln!("exported {} customers to {}", rows.len(), a.out.display());
    Ok(())
}
