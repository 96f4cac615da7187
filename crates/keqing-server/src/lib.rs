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
pub mod openapi;
pub mod orders;
mod pay;
mod people;
pub mod performance;
mod pool;

use axum::Router;
use keqing_domain::access::Grants;
use keqing_store::Store;
use std::sync::Arc;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub session_ttl: chrono::Duration,
    /// When the session cookies carry `Secure` (`serve --secure-cookies`).
    pub secure_cookies: auth::SecureCookies,
    /// Reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are
    /// believed (`serve --trusted-proxy`); none by default.
    pub trusted_proxies: Vec<auth::TrustedProxy>,
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

/// Every operation of the API under `/api/v1`, with its OpenAPI description:
/// a handler is routed only through utoipa-axum's `routes!`, which reads
/// the path and method from its `#[utoipa::path]` attribute, so a route
/// cannot be served without being documented (`tests/openapi.rs`).
/// `max_upload_bytes` limits the import route's body.
pub fn api_routes(max_upload_bytes: u64) -> OpenApiRouter<AppState> {
    // The import route reads its body itself, counting against the limit
    // as it streams to a temporary file (imports::upload).
    let upload_limit = usize::try_from(max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    OpenApiRouter::new()
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::change_password))
        .routes(routes!(customers::list, customers::create))
        .routes(routes!(customers::transfer))
        .routes(routes!(customers::facets))
        .routes(routes!(pool::release_by_hand))
        .routes(routes!(pool::get_rules, pool::put_rules))
        .routes(routes!(
            customers::get_one,
            customers::update,
            customers::delete
        ))
        .routes(routes!(customers::restore))
        .routes(routes!(customers::history))
        .routes(routes!(customers::ownership))
        .routes(routes!(customers::contacts, customers::create_contact))
        .routes(routes!(customers::activities, customers::add_activity))
        .routes(routes!(customers::orders))
        .routes(routes!(customers::create_order))
        .routes(routes!(orders::update))
        .routes(routes!(orders::history))
        .routes(routes!(orders::create_payment))
        .routes(routes!(orders::update_payment))
        .routes(routes!(orders::receivables))
        .routes(routes!(customers::claim))
        .routes(routes!(customers::merge))
        .routes(routes!(customers::completeness))
        .routes(routes!(care::customer_occasions))
        .routes(routes!(customers::report_change))
        .routes(routes!(
            customers::update_contact,
            customers::delete_contact
        ))
        .routes(routes!(customers::open_changes))
        .routes(routes!(customers::register_change))
        .routes(routes!(customers::pool))
        .routes(routes!(customers::release))
        .routes(routes!(customers::incomplete))
        .routes(routes!(
            customers::get_custom_fields,
            customers::put_custom_fields
        ))
        .routes(routes!(analysis::rfm_analysis))
        .routes(routes!(analysis::abc_analysis))
        .routes(routes!(analysis::clv_analysis))
        .routes(routes!(analysis::repeat_analysis))
        .routes(routes!(analysis::funnel_analysis))
        .routes(routes!(analysis::apply))
        .routes(routes!(analysis::list_snapshots, analysis::create_snapshot))
        .routes(routes!(analysis::get_snapshot, analysis::delete_snapshot))
        .routes(routes!(analysis::snapshot_members))
        .routes(routes!(people::users, people::create_user))
        .routes(routes!(people::update_user))
        .routes(routes!(people::teams, people::create_team))
        .routes(routes!(people::update_team))
        .routes(routes!(people::regions, people::create_region))
        .routes(routes!(people::delete_region))
        .routes(routes!(people::roles))
        .routes(routes!(people::audit))
        .routes(routes!(imports::upload).layer(axum::extract::DefaultBodyLimit::max(upload_limit)))
        .routes(routes!(imports::template))
        .routes(routes!(imports::export_customers))
        .routes(routes!(imports::export_contacts))
        .routes(routes!(care::list_tasks))
        .routes(routes!(care::complete_task))
        .routes(routes!(care::skip_task))
        .routes(routes!(care::snooze_task))
        .routes(routes!(care::list_templates, care::create_template))
        .routes(routes!(care::update_template, care::delete_template))
        .routes(routes!(care::get_settings, care::put_settings))
        .routes(routes!(care::compliance))
        .routes(routes!(care::run))
        .routes(routes!(pay::get_settings))
        .routes(routes!(pay::put_duties))
        .routes(routes!(pay::put_items))
        .routes(routes!(pay::list_bases, pay::add_base, pay::put_base))
        .routes(routes!(pay::list_rates, pay::add_rate))
        .routes(routes!(pay::list_runs, pay::create_run))
        .routes(routes!(pay::get_run))
        .routes(routes!(pay::recompute_run))
        .routes(routes!(pay::review_run))
        .routes(routes!(pay::approve_run))
        .routes(routes!(pay::lock_run))
        .routes(routes!(pay::adjust_run))
        .routes(routes!(pay::export_run))
        .routes(routes!(pay::slip))
        .routes(routes!(pay::checklist, pay::score_duties))
        .routes(routes!(pay::simulate_bonus))
        .routes(routes!(pay::list_bonus, pay::create_bonus))
        .routes(routes!(pay::approve_bonus))
        .routes(routes!(pay::lock_bonus))
        .routes(routes!(pay::put_scores))
        .routes(routes!(pay::rankings))
        .routes(routes!(
            performance::list_targets,
            performance::create_target
        ))
        .routes(routes!(performance::revise_target))
        .routes(routes!(performance::get))
        .routes(routes!(performance::series))
        .routes(routes!(performance::board))
        .routes(routes!(openapi::document))
}

/// The OpenAPI description of everything [`router`] serves, as
/// `GET /api/v1/openapi.json` answers it.
pub fn openapi_document() -> serde_json::Value {
    openapi::document_json().clone()
}

/// The whole application: the API under `/api/v1`, with its description,
/// and `/healthz` beside it (for load balancers; not part of the API, so
/// not in its description).
pub(crate) fn app_routes(max_upload_bytes: u64) -> OpenApiRouter<AppState> {
    let api = api_routes(max_upload_bytes)
        .fallback(|| async { error::ApiError::not_found("endpoint") })
        .layer(axum::middleware::map_response(error::json_errors));
    OpenApiRouter::new().nest("/api/v1", api)
}

pub fn router(state: AppState) -> Router {
    let (api, _) = app_routes(state.config.max_upload_bytes).split_for_parts();
    api.route("/healthz", axum::routing::get(healthz))
        .with_state(state)
}

/// The health check: the database answers (`{status: ok, backend}`).
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
