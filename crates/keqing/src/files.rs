//! `keqing import` and `keqing export`.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use keqing_app::imports::{import_file_with_progress, parse_kind, ImportFailure, ImportReport};
use keqing_domain::access::Grants;
use std::io::Write;
use std::path::PathBuf;

/// How a command prints what it did: aligned text for a person, JSON or CSV
/// for a program.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    /// For `import`: a line per rejected row's error (line, column_index,
    /// column, field, message), the counts on standard error.
    Csv,
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
    /// table (for a person), json (the whole report) or csv (the errors).
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
    let bar = crate::progress::Bar::new(
        &format!("importing {}", a.file.display()),
        crate::progress::Unit::Rows,
    );
    let report = match import_file_with_progress(
        store.as_ref(),
        kind,
        &bytes,
        &name,
        owner,
        &actor,
        &|_| true,
        bar.progress(),
    )
    .await
    {
        Ok(r) => r,
        Err(ImportFailure::File(e)) => bail!("{}: {e}", a.file.display()),
        Err(ImportFailure::Store(e)) => return Err(e).context("storing the rows"),
    };
    bar.finish();
    if let Some(out) = &a.rejected_out {
        let table =
            keqing_io::read_table_bytes(&bytes, &name, &keqing_app::imports::read_options(kind))?;
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
        Format::Csv => {
            let csv = keqing_io::write_error_report(&report.errors, keqing_io::Lang::En);
            // Without the byte-order mark: the output of a program, not a
            // file for a spreadsheet.
            stdout.write_all(csv.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&csv))?;
            eprintln!(
                "{} {}: {} data rows, {} imported, {} existing, {} rejected, {} blank",
                report.kind,
                report.file,
                report.data_rows,
                report.imported,
                report.existing,
                report.rejected,
                report.blank_rows
            );
        }
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
    /// customers (with every contact beside them) or contacts
    kind: String,
    /// .csv or .xlsx. Customers as .xlsx: a workbook of two sheets, 客户 and
    /// 联系人; as .csv: this file and FILE-contacts.csv beside it.
    #[arg(long)]
    out: PathBuf,
    /// Header language: zh or en.
    #[arg(long, default_value = "zh")]
    lang: String,
    #[arg(long, default_value = crate::DEFAULT_DB, env = "KEQING_DB")]
    db: String,
}

/// The contacts file written beside a customers CSV: `x.csv` → `x-contacts.csv`.
pub fn contacts_beside(out: &std::path::Path) -> PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    out.with_file_name(format!("{stem}-contacts.csv"))
}

/// Writes the customers (and every contact) or the contacts of the whole
/// database. Both import back with `keqing import`: customers first, then
/// contacts (from the same workbook, or from the contacts file).
pub async fn export(a: ExportArgs) -> Result<()> {
    if !matches!(a.kind.as_str(), "customers" | "contacts") {
        bail!("cannot export {:?}: use customers or contacts", a.kind);
    }
    let lang = match a.lang.as_str() {
        "zh" => keqing_io::Lang::Zh,
        "en" => keqing_io::Lang::En,
        o => bail!("--lang {o:?}: use zh or en"),
    };
    let xlsx = match a.out.extension().and_then(|e| e.to_str()) {
        Some("xlsx") => true,
        Some("csv") => false,
        _ => bail!("--out must end in .csv or .xlsx"),
    };
    let csv = keqing_io::ExportOptions {
        lang,
        encoding: keqing_io::CsvEncoding::Utf8Bom,
    };
    let store = crate::admin::open(&a.db).await?;
    let export = keqing_app::exports::customer_export(
        store.as_ref(),
        &Grants::default(),
        &keqing_app::system_user(),
    )
    .await?;
    let contacts = export.contact_rows();
    let write = |path: &std::path::Path, bytes: Vec<u8>| {
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
    };
    if a.kind == "contacts" {
        let bytes = if xlsx {
            keqing_io::write_contacts_xlsx(&contacts, lang)?
        } else {
            keqing_io::write_contacts_csv(&contacts, csv)?
        };
        write(&a.out, bytes)?;
        eprintln!(
            "exported {} contacts to {}",
            contacts.len(),
            a.out.display()
        );
        return Ok(());
    }
    // A column for each custom field of the deployment, as the API's export.
    let custom = keqing_app::custom_fields::custom_fields_in(store.as_ref()).await?;
    if xlsx {
        write(
            &a.out,
            keqing_io::write_customer_book(&export.customers, &contacts, &custom, lang)?,
        )?;
        eprintln!(
            "exported {} customers and {} contacts to {} (sheets 客户 and 联系人)",
            export.customers.len(),
            contacts.len(),
            a.out.display()
        );
    } else {
        let beside = contacts_beside(&a.out);
        write(
            &a.out,
            keqing_io::write_customers_csv(&export.customers, &custom, csv)?,
        )?;
        write(&beside, keqing_io::write_contacts_csv(&contacts, csv)?)?;
        eprintln!(
            "exported {} customers to {} and {} contacts to {}",
            export.customers.len(),
            a.out.display(),
            contacts.len(),
            beside.display()
        );
    }
    Ok(())
}
