//! Serving, users, backup and restore.

use crate::progress::{Bar, Unit};
use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use keqing_app::password::{check_password_strength, hash_password};
use keqing_app::system_user;
use keqing_domain::{Role, User};
use keqing_server::{AppState, ServerConfig};
use keqing_store::{NewUser, Store};
use std::io::{BufRead, Write};
use std::sync::Arc;

pub async fn open(db: &str) -> Result<Arc<dyn Store>> {
    keqing_store::open(db)
        .await
        .with_context(|| format!("opening the database {db}"))
}

pub async fn serve(db: &str, addr: &str, demo: bool, config: ServerConfig) -> Result<()> {
    let _ = tracing_subscriber::fmt().with_target(false).try_init();
    let store = open(db).await?;
    let demo_admin = if demo {
        crate::demo::fill(store.as_ref()).await?
    } else {
        None
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    if !config.trusted_proxies.is_empty() {
        let list: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(|p| p.to_string())
            .collect();
        eprintln!("trusting X-Forwarded-For/-Proto from {}", list.join(", "));
    }
    let state = AppState::new(store.clone(), config);
    if let Some(admin) = demo_admin {
        // The demo's files show their value (RFM, CLV, P(alive), tier) from
        // the first page, as after an administrator's 写回客户档案.
        let r = keqing_app::analysis::apply_values(store.as_ref(), &state.grants, &admin, None)
            .await
            .map_err(|e| anyhow!("writing the value analysis onto the demo files: {e}"))?;
        eprintln!("value analysis written onto {} demo customers", r.updated);
    }
    spawn_daily_jobs(state.clone());
    eprintln!(
        "keqing is ready on http://{} ({} database)",
        listener.local_addr()?,
        store.backend()
    );
    keqing_server::serve_with(listener, state, keqing_web::router())
        .await
        .context("serving")
}

/// Jobs the server runs once at start and then every day.
fn spawn_daily_jobs(state: AppState) {
    let care_state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(24 * 3600));
        loop {
            tick.tick().await;
            match keqing_app::pool::release_stale(
                state.store.as_ref(),
                &state.grants,
                chrono::Utc::now(),
                &system_user(),
            )
            .await
            {
                Ok(ids) if !ids.is_empty() => eprintln!(
                    "released {} customers without follow-up to the pool",
                    ids.len()
                ),
                Ok(_) => {}
                Err(e) => eprintln!("pool release failed: {e}"),
            }
        }
    });
    // SPEC §4: today's care tasks (Beijing date). Hourly rather than daily:
    // order-day reminders are due only once 14:30 has passed, and a re-run
    // adds nothing (about 2.5 s for a million customers on SQLite).
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let now = chrono::Utc::now();
            let today = now
                .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8"))
                .date_naive();
            match keqing_app::care::generate(care_state.store.as_ref(), today, today, now).await {
                Ok(r) if r.total_created() > 0 => {
                    eprintln!("created {} care tasks for {today}", r.total_created())
                }
                Ok(_) => {}
                Err(e) => eprintln!("care task generation failed: {e}"),
            }
        }
    });
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input.
    Add {
        name: String,
        /// admin, director, supervisor, manager, finance or agent
        #[arg(long)]
        role: String,
        /// Team name (created if it does not exist).
        #[arg(long)]
        team: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        /// Region (province) for a regional scope.
        #[arg(long)]
        region: Option<String>,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long, default_value = crate::DEFAULT_DB, env = "KEQING_DB")]
        db: String,
    },
    /// List users.
    List {
        #[arg(long, default_value = crate::DEFAULT_DB, env = "KEQING_DB")]
        db: String,
        /// table (for a person), json or csv.
        #[arg(long, value_enum, default_value = "table")]
        format: crate::files::Format,
    },
}

pub async fn add_user(
    store: &dyn Store,
    name: &str,
    role: Role,
    team: Option<&str>,
    display: Option<&str>,
    region: Option<&str>,
    password: &str,
) -> Result<User> {
    if !keqing_domain::user::valid_username(name) {
        bail!("user name {name:?}: use 2–32 letters, digits, '_', '.' or '-'");
    }
    check_password_strength(password).map_err(|e| anyhow!(e))?;
    let mut region = region.map(str::to_string);
    let team_id = match team {
        None => None,
        Some(t) => {
            let teams = store.teams().await?;
            match teams.iter().find(|x| x.name == t) {
                Some(x) => {
                    // A new user without a region of their own is in their team's.
                    if region.is_none() {
                        region = x.region.clone();
                    }
                    Some(x.id)
                }
                None => Some(store.create_team(t, region.as_deref()).await?.id),
            }
        }
    };
    let hash = hash_password(password).map_err(|e| anyhow!(e))?;
    Ok(store
        .create_user(&NewUser {
            username: name.to_string(),
            display_name: display.unwrap_or(name).to_string(),
            role,
            team_id,
            region,
            password_hash: hash,
        })
        .await?)
}

pub async fn user(cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add {
            name,
            role,
            team,
            display_name,
            region,
            password_stdin: _,
            db,
        } => {
            let role = Role::parse(&role).map_err(|e| anyhow!("--role: {e}"))?;
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .context("reading the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let store = open(&db).await?;
            let u = add_user(
                store.as_ref(),
                &name,
                role,
                team.as_deref(),
                display_name.as_deref(),
                region.as_deref(),
                password,
            )
            .await?;
            println!("added user {} (id {}, role {})", u.username, u.id, u.role);
            Ok(())
        }
        UserCommand::List { db, format } => {
            let store = open(&db).await?;
            let users = store.users().await?;
            let teams: std::collections::HashMap<i64, String> = store
                .teams()
                .await?
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect();
            let team = |u: &User| {
                u.team_id
                    .and_then(|t| teams.get(&t).cloned())
                    .unwrap_or_default()
            };
            let mut out = std::io::stdout().lock();
            match format {
                crate::files::Format::Json => {
                    let list: Vec<serde_json::Value> = users
                        .iter()
                        .map(|u| {
                            let mut v = serde_json::to_value(u).unwrap_or_default();
                            v["team"] = u.team_id.map(|_| team(u)).into();
                            v
                        })
                        .collect();
                    writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
                }
                crate::files::Format::Csv => {
                    writeln!(
                        out,
                        "id,username,display_name,role,team_id,team,region,active"
                    )?;
                    for u in &users {
                        let cells = [
                            u.id.to_string(),
                            u.username.clone(),
                            u.display_name.clone(),
                            u.role.as_str().to_string(),
                            u.team_id.map(|t| t.to_string()).unwrap_or_default(),
                            team(u),
                            u.region.clone().unwrap_or_default(),
                            u.active.to_string(),
                        ];
                        let line: Vec<String> = cells
                            .iter()
                            .map(|c| keqing_care::cli::csv_field(c))
                            .collect();
                        writeln!(out, "{}", line.join(","))?;
                    }
                }
                crate::files::Format::Table => {
                    for u in &users {
                        writeln!(
                            out,
                            "{:>4}  {:<16} {:<10} team {:<4} {}",
                            u.id,
                            u.username,
                            u.role.as_str(),
                            u.team_id.map(|t| t.to_string()).unwrap_or_default(),
                            if u.active { "" } else { "(inactive)" }
                        )?;
                    }
                }
            }
            Ok(())
        }
    }
}

pub async fn backup(db: &str, out: &std::path::Path) -> Result<()> {
    let store = open(db).await?;
    let bar = Bar::new(&format!("backing up to {}", out.display()), Unit::Rows);
    let counts =
        keqing_app::backup::backup_with_progress(store.as_ref(), out, &|d, t| bar.set(d, t))
            .await?;
    bar.finish();
    let (n, list) = keqing_app::backup::summary(&counts);
    println!("backed up {n} rows to {}: {list}", out.display());
    Ok(())
}

/// Restores a backup into an empty database, verified (a restore that
/// does not verify leaves the database empty).
pub async fn restore(file: &std::path::Path, db: &str) -> Result<()> {
    let store = open(db).await?;
    let bar = Bar::new(&format!("restoring {}", file.display()), Unit::Bytes);
    let counts =
        keqing_app::backup::restore_with_progress(store.as_ref(), file, &|d, t| bar.set(d, t))
            .await?;
    bar.finish();
    let (n, list) = keqing_app::backup::summary(&counts);
    println!(
        "restored {n} rows from {} and verified them: {list}",
        file.display()
    );
    Ok(())
}
