//! Login, sessions and the current user (SPEC §9, §11).
//!
//! Passwords are argon2id hashes. A login gives a random token; the API takes
//! it as `Authorization: Bearer`, the web workbench as an HttpOnly cookie. Only
//! the SHA-256 of a token is stored. Cookie-authenticated requests that change
//! data must echo the CSRF cookie in `X-CSRF-Token`.

use crate::error::ApiError;
use crate::AppState;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use keqing_domain::User;
use rand_core::{OsRng, RngCore};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

pub const SESSION_COOKIE: &str = "keqing_session";
pub const CSRF_COOKIE: &str = "keqing_csrf";

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A password users may choose: at least 8 characters.
pub fn check_password_strength(p: &str) -> Result<(), String> {
    if p.chars().count() < 8 {
        return Err("密码至少需要8个字符 a password needs at least 8 characters".into());
    }
    Ok(())
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn token_hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

/// Failed logins per key (username, or client address) in a sliding window.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
}

/// Five wrong passwords for one user, or twenty from one address, in 15 minutes.
const WINDOW_MINUTES: i64 = 15;
const MAX_PER_USER: usize = 5;
const MAX_PER_ADDR: usize = 20;

impl LoginLimiter {
    fn recent(&self, key: &str, now: DateTime<Utc>) -> usize {
        let mut m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let v = m.entry(key.to_string()).or_default();
        v.retain(|t| *t > now - Duration::minutes(WINDOW_MINUTES));
        v.len()
    }

    /// Seconds to wait when the user or address is locked out.
    pub fn blocked(&self, user: &str, addr: Option<IpAddr>, now: DateTime<Utc>) -> bool {
        self.recent(&format!("u:{user}"), now) >= MAX_PER_USER
            || addr.is_some_and(|a| self.recent(&format!("a:{a}"), now) >= MAX_PER_ADDR)
    }

    pub fn fail(&self, user: &str, addr: Option<IpAddr>, now: DateTime<Utc>) {
        let mut m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(format!("u:{user}")).or_default().push(now);
        if let Some(a) = addr {
            m.entry(format!("a:{a}")).or_default().push(now);
        }
    }

    pub fn succeed(&self, user: &str) {
        let mut m = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        m.remove(&format!("u:{user}"));
    }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The client's address when the server runs with connection info (it does
/// in production; a bare router in a test may not).
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The logged-in user of a request.
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        let (token, by_cookie) = match bearer {
            Some(t) => (t.to_string(), false),
            None => match cookie(&parts.headers, SESSION_COOKIE) {
                Some(t) => (t.to_string(), true),
                None => return Err(ApiError::unauthorized()),
            },
        };
        if by_cookie && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok());
            let expected = cookie(&parts.headers, CSRF_COOKIE);
            if sent.is_none() || sent != expected {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "安全校验失败，请刷新页面 missing or wrong X-CSRF-Token header",
                ));
            }
        }
        let user = state
            .store
            .session_user(&token_hash(&token), Utc::now())
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "session_expired",
                    "登录已过期，请重新登录 your session has expired or was ended; log in again",
                )
            })?;
        Ok(CurrentUser(user))
    }
}

#[derive(Deserialize)]
pub struct LoginBody {
    username: String,
    password: String,
}

pub async fn login(
    State(st): State<AppState>,
    ClientAddr(addr): ClientAddr,
    body: Result<Json<LoginBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "请提供用户名和密码 send {{\"username\", \"password\"}}: {e}"
        ))
    })?;
    let now = Utc::now();
    if st.limiter.blocked(&body.username, addr, now) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("登录失败次数过多 too many failed logins; wait {WINDOW_MINUTES} minutes and try again"),
        ));
    }
    let found = st.store.user_by_name(&body.username).await?;
    let password = body.password.clone();
    let ok_user = match found {
        Some((user, hash)) if user.active => {
            // Verifying costs tens of milliseconds: keep it off the async threads.
            let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                .await
                .unwrap_or(false);
            ok.then_some(user)
        }
        _ => {
            // Spend the same time on an unknown user, so timing does not tell.
            let _ =
                tokio::task::spawn_blocking(move || verify_password(&password, DUMMY_HASH)).await;
            None
        }
    };
    let Some(user) = ok_user else {
        st.limiter.fail(&body.username, addr, now);
        st.store
            .audit(
                None,
                "login_failed",
                "user",
                None,
                json!({"username": body.username}),
            )
            .await?;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "用户名或密码错误 wrong username or password",
        ));
    };
    st.limiter.succeed(&body.username);
    let token = random_token();
    let expires = now + st.config.session_ttl;
    st.store
        .create_session(&token_hash(&token), user.id, expires)
        .await?;
    st.store
        .audit(
            Some(user.id),
            "login",
            "user",
            Some(user.id),
            serde_json::Value::Null,
        )
        .await?;
    let csrf = random_token();
    let secure = if st.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let max_age = st.config.session_ttl.num_seconds();
    let mut resp = Json(json!({
        "token": token,
        "expires_at": expires,
        "csrf_token": csrf,
        "user": user,
    }))
    .into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    )) {
        h.append(SET_COOKIE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={csrf}; Path=/; SameSite=Strict; Max-Age={max_age}{secure}"
    )) {
        h.append(SET_COOKIE, v);
    }
    Ok(resp)
}

pub async fn logout(
    State(st): State<AppState>,
    headers: HeaderMap,
    CurrentUser(u): CurrentUser,
) -> Result<Response, ApiError> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
        .or_else(|| cookie(&headers, SESSION_COOKIE).map(str::to_string));
    if let Some(t) = token {
        st.store.delete_session(&token_hash(&t)).await?;
    }
    st.store
        .audit(
            Some(u.id),
            "logout",
            "user",
            Some(u.id),
            serde_json::Value::Null,
        )
        .await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().append(
        SET_COOKIE,
        HeaderValue::from_static("keqing_session=; Path=/; Max-Age=0"),
    );
    Ok(resp)
}

pub async fn me(CurrentUser(u): CurrentUser) -> Json<User> {
    Json(u)
}

/// An argon2id hash of a random password, verified against for unknown users.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2kHHv/3x7cJ0M1TxHzUj6Pn8i2pYkD0Y0vQnBv5b0kI";
