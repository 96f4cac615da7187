//! keqing's HTTP server: the JSON API under `/api/v1` and `/healthz`.
//!
//! Handlers translate HTTP into calls on the domain and the store and back,
//! nothing more. Every row a handler touches is checked against the caller's
//! permissions here, on the server (SPEC §9).

pub mod analysis;
pub mod auth;
pub mod care;
mod customers;
pub mod error;
pub mod extract;
pub mod imports;
mod openapi;
mod people;

use axum::routing::{delete, get, patch, post};
use axum::Router;
use keqing_domain::access::Grants;
use keqing_domain::archive::PoolRules;
use keqing_store::Store;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub session_ttl: chrono::Duration,
    /// When the session cookies carry `Secure` (`serve --secure-cookies`).
    pub secure_cookies: auth::SecureCookies,
    /// Reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are
    /// believed (`serve --trusted-proxy`); none by default.
    pub trusted_proxies: Vec<auth::TrustedProxy>,
    pub pool: PoolRules,
    /// The largest file `POST /imports/{kind}` takes, in bytes; a larger
    /// upload is refused with 413 as soon as it passes the limit.
    pub max_upload_bytes: u64,
    /// How many bytes of files the imports and previews running at once
    /// may hold together (an import holds its file and its rows in memory,
    /// about four times the file at its peak). An upload takes its size
    /// (from `Content-Length`, or the whole upload limit when the client
    /// does not say) out of this budget until it is done; one that does not
    /// fit is answered 429 with `Retry-After`.
    pub import_budget_bytes: u64,
}

/// The default upload limit: 128 MiB, a million customers in CSV.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 128 * 1024 * 1024;
/// The default import budget: 192 MiB of files at once, so imports stay
/// well under 1 GB together (one big file with small ones beside it).
pub const DEFAULT_IMPORT_BUDGET_BYTES: u64 = 192 * 1024 * 1024;
/// The budget's unit: a permit is a MiB of file.
pub const IMPORT_PERMIT_BYTES: u64 = 1024 * 1024;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            session_ttl: chrono::Duration::hours(12),
            secure_cookies: auth::SecureCookies::Auto,
            trusted_proxies: Vec::new(),
            pool: PoolRules::default(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            import_budget_bytes: DEFAULT_IMPORT_BUDGET_BYTES,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub grants: Arc<Grants>,
    pub limiter: Arc<auth::LoginLimiter>,
    /// The secret CSRF tokens are derived with (kept in the database).
    pub secret: Arc<auth::ServerSecret>,
    pub config: Arc<ServerConfig>,
    /// The import budget ([`ServerConfig::import_budget_bytes`]), a permit a MiB.
    pub imports: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: ServerConfig) -> AppState {
        AppState {
            store,
            grants: Arc::new(Grants::default()),
            limiter: Arc::new(auth::LoginLimiter::default()),
            secret: Arc::new(auth::ServerSecret::default()),
            imports: Arc::new(tokio::sync::Semaphore::new(import_permits(
                config.import_budget_bytes.max(config.max_upload_bytes),
            ) as usize)),
            config: Arc::new(config),
        }
    }
}

/// Permits (MiB, rounded up, at least one) for `bytes` of file.
pub fn import_permits(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(IMPORT_PERMIT_BYTES).max(1)).unwrap_or(u32::MAX >> 4)
}

pub use customers::{custom_fields_in, CUSTOM_FIELDS_SETTING};

pub fn router(state: AppState) -> Router {
    // The import route reads its body itself, counting against the limit
    // as it streams to a temporary file (imports::upload).
    let upload_limit = usize::try_from(state.config.max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    let api = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/me", get(auth::me))
        .route("/customers", get(customers::list).post(customers::create))
        .route("/customers/transfer", post(customers::transfer))
        .route(
            "/customers/{id}",
            get(customers::get_one)
                .patch(customers::update)
                .delete(customers::delete),
        )
        .route("/customers/{id}/restore", post(customers::restore))
        .route("/customers/{id}/history", get(customers::history))
        .route("/customers/{id}/ownership", get(customers::ownership))
        .route(
            "/customers/{id}/contacts",
            get(customers::contacts).post(customers::create_contact),
        )
        .route(
            "/customers/{id}/activities",
            get(customers::activities).post(customers::add_activity),
        )
        .route("/customers/{id}/orders", get(customers::orders))
        .route("/customers/{id}/claim", post(customers::claim))
        .route("/customers/{id}/merge", post(customers::merge))
        .route("/customers/{id}/completeness", get(customers::completeness))
        .route("/customers/{id}/occasions", get(care::customer_occasions))
        .route("/customers/{id}/changes", post(customers::report_change))
        .route(
            "/contacts/{id}",
            patch(customers::update_contact).delete(customers::delete_contact),
        )
        .route("/changes", get(customers::open_changes))
        .route("/changes/{id}/register", post(customers::register_change))
        .route("/pool", get(customers::pool))
        .route("/pool/release", post(customers::release))
        .route("/work/incomplete", get(customers::incomplete))
        .route(
            "/custom-fields",
            get(customers::get_custom_fields).put(customers::put_custom_fields),
        )
        .route("/analysis/rfm", get(analysis::rfm_analysis))
        .route("/analysis/abc", get(analysis::abc_analysis))
        .route("/analysis/clv", get(analysis::clv_analysis))
        .route("/analysis/repeat", get(analysis::repeat_analysis))
        .route("/analysis/funnel", get(analysis::funnel_analysis))
        .route("/analysis/apply", post(analysis::apply))
        .route(
            "/analysis/snapshots",
            get(analysis::list_snapshots).post(analysis::create_snapshot),
        )
        .route(
            "/analysis/snapshots/{id}",
            get(analysis::get_snapshot).delete(analysis::delete_snapshot),
        )
        .route(
            "/analysis/snapshots/{id}/members",
            get(analysis::snapshot_members),
        )
        .route("/users", get(people::users).post(people::create_user))
        .route("/users/{id}", patch(people::update_user))
        .route("/teams", get(people::teams).post(people::create_team))
        .route("/teams/{id}", patch(people::update_team))
        .route("/regions", get(people::regions).post(people::create_region))
        .route("/regions/{id}", delete(people::delete_region))
        .route("/roles", get(people::roles))
        .route("/audit", get(people::audit))
        .route(
            "/imports/{kind}",
            post(imports::upload).layer(axum::extract::DefaultBodyLimit::max(upload_limit)),
        )
        .route("/imports/{kind}/template", get(imports::template))
        .route("/exports/customers", get(imports::export_customers))
        .route("/care/tasks", get(care::list_tasks))
        .route("/care/tasks/{id}/complete", post(care::complete_task))
        .route("/care/tasks/{id}/skip", post(care::skip_task))
        .route("/care/tasks/{id}/snooze", post(care::snooze_task))
        .route(
            "/care/templates",
            get(care::list_templates).post(care::create_template),
        )
        .route(
            "/care/templates/{id}",
            patch(care::update_template).delete(care::delete_template),
        )
        .route(
            "/care/settings",
            get(care::get_settings).put(care::put_settings),
        )
        .route("/care/compliance", get(care::compliance))
        .route("/care/run", post(care::run))
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async { error::ApiError::not_found("endpoint") })
        .layer(axum::middleware::map_response(error::json_errors));
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api/v1", api)
        .with_state(state)
}

async fn healthz(
    axum::extract::State(st): axum::extract::State<AppState>,
) -> Result<axum::Json<serde_json::Value>, error::ApiError> {
    st.store.table_counts().await?;
    Ok(axum::Json(
        serde_json::json!({"status": "ok", "backend": st.store.backend()}),
    ))
}

/// Serves until the listener fails or the process is told to stop.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    serve_with(listener, state, Router::new()).await
}

/// Like [`serve`], with `extra` routes (the web workbench) merged beside the API.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    extra: Router,
) -> std::io::Result<()> {
    let app = router(state)
        .merge(extra)
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
