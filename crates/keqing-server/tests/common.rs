//! Starts the real server on a random port over a fresh SQLite database.

#![allow(dead_code)]

use keqing_domain::{Role, User};
use keqing_server::{AppState, ServerConfig};
use keqing_store::{NewUser, Store};
use serde_json::{json, Value};
use std::sync::Arc;

pub struct App {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub http: reqwest::Client,
    /// The server's import permits: a test holds one to fill the server.
    pub imports: Arc<tokio::sync::Semaphore>,
    _dir: tempfile::TempDir,
    /// The PostgreSQL schema this test owns (dropped at the end), when on PostgreSQL.
    pg_schema: Option<(String, String)>,
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some((url, schema)) = self.pg_schema.take() {
            // Drop runs inside the test's runtime: clean up on a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok((c, conn)) =
                        tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                    {
                        tokio::spawn(conn);
                        let _ = c
                            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// On PostgreSQL when `KEQING_TEST_PG_URL` is set (each test in a fresh
/// schema), on a SQLite file otherwise.
async fn test_store(dir: &std::path::Path) -> (Arc<dyn Store>, Option<(String, String)>) {
    match std::env::var("KEQING_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos();
            let schema = format!("kq_api_{}_{}_{}", std::process::id(), n, nanos);
            let store = keqing_store::PgStore::open_in_schema(&url, &schema)
                .await
                .unwrap();
            (Arc::new(store), Some((url, schema)))
        }
        _ => {
            let url = format!("sqlite://{}", dir.join("t.db").display());
            (keqing_store::open(&url).await.unwrap(), None)
        }
    }
}

pub const PASSWORD: &str = "correct-horse-42";

impl App {
    pub async fn start() -> App {
        App::start_with(ServerConfig::default()).await
    }

    /// A server with `config` instead of the default one.
    pub async fn start_with(config: ServerConfig) -> App {
        let dir = tempfile::tempdir().unwrap();
        let (store, pg_schema) = test_store(dir.path()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(store.clone(), config);
        let imports = state.imports.clone();
        tokio::spawn(keqing_server::serve(listener, state));
        App {
            base,
            store,
            http: reqwest::Client::new(),
            imports,
            _dir: dir,
            pg_schema,
        }
    }

    pub async fn user(&self, name: &str, role: Role, team: Option<i64>) -> User {
        let hash = keqing_server::auth::hash_password(PASSWORD).unwrap();
        self.store
            .create_user(&NewUser {
                username: name.into(),
                display_name: name.into(),
                role,
                team_id: team,
                region: None,
                password_hash: hash,
            })
            .await
            .unwrap()
    }

    pub async fn login(&self, name: &str) -> String {
        let r = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": name, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login of {name}");
        r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn call(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}/api/v1{}", self.base, path);
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, url);
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        answer(req.send().await.unwrap()).await
    }

    /// POSTs a file as the raw body (an import, `?filename=` in `path`).
    #[allow(dead_code)] // not every test binary imports files
    pub async fn post_file(&self, token: &str, path: &str, bytes: Vec<u8>) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/api/v1{}", self.base, path))
            .bearer_auth(token)
            .body(bytes)
            .send()
            .await
            .unwrap();
        answer(r).await
    }
}

/// A response's status and its JSON body (the text, when it is not JSON).
async fn answer(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// An order of `customer_id` on a day at 10:00 UTC, numbered `external_id`,
/// of one item.
#[allow(dead_code)] // not every test binary stores orders
pub fn order(
    external_id: String,
    customer_id: i64,
    day: chrono::NaiveDate,
    amount: keqing_domain::Money,
) -> keqing_domain::order::NewOrder {
    keqing_domain::order::NewOrder {
        external_id: Some(external_id),
        customer_id,
        ordered_at: day.and_hms_opt(10, 0, 0).unwrap().and_utc(),
        amount,
        quantity: 1,
        unit: None,
        product: None,
        channel: None,
        store: None,
        due_date: None,
        paid_date: None,
    }
}
