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
    _dir: tempfile::TempDir,
}

pub const PASSWORD: &str = "correct-horse-42";

impl App {
    pub async fn start() -> App {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = keqing_store::open(&url).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::new(store.clone(), ServerConfig::default());
        tokio::spawn(keqing_server::serve(listener, state));
        App {
            base,
            store,
            http: reqwest::Client::new(),
            _dir: dir,
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
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}
