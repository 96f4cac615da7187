//! Login, sessions and the current user (SPEC §9, §11).
//!
//! Passwords are argon2id hashes. A login gives a random token; the API takes
//! it as `Authorization: Bearer`, the web workbench as an HttpOnly cookie. Only
//! the SHA-256 of a token is stored. Cookie-authenticated requests that change
//! data must send the session's CSRF token in `X-CSRF-Token`: an HMAC of the
//! session token's hash under a server secret kept in the database, so it
//! cannot be made up without the session and survives a restart.
//!
//! Failed logins slow down the (user, address) pair that makes them, with
//! looser guards per user and per address against guessing spread over many
//! addresses or many users ([`ThrottlePolicy`]): delays that grow, never a
//! hard lock that someone else could impose.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, COOKIE, RETRY_AFTER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use keqing_domain::User;
use keqing_store::Store;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

pub const SESSION_COOKIE: &str = "keqing_session";
pub const CSRF_COOKIE: &str = "keqing_csrf";

/// The longest user name a user can have (`keqing_domain::user::valid_username`):
/// a login with a longer one is refused before anything keeps it.
pub const MAX_USERNAME_CHARS: usize = 32;
pub use keqing_app::password::{
    check_password_strength, hash_password, verify_password, MAX_PASSWORD_BYTES,
};

fn random_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex(&b)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn token_hash(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

// ---------------------------------------------------------------------------
// Configuration: cookies and proxies

/// When the session cookies carry `Secure` (`serve --secure-cookies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecureCookies {
    /// When the request came over HTTPS: a trusted proxy says
    /// `X-Forwarded-Proto: https` (the server itself speaks plain HTTP).
    #[default]
    Auto,
    Always,
    Never,
}

impl std::str::FromStr for SecureCookies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(SecureCookies::Auto),
            "always" => Ok(SecureCookies::Always),
            "never" => Ok(SecureCookies::Never),
            _ => Err(format!("{s:?}: use auto, always or never")),
        }
    }
}

/// A reverse proxy whose `X-Forwarded-For` and `X-Forwarded-Proto` are
/// believed: one address, or a network `ADDR/BITS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    net: IpAddr,
    bits: u8,
}

impl TrustedProxy {
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn prefix(a: u128, b: u128, bits: u8, width: u8) -> bool {
            let shift = u32::from(width - bits);
            shift >= 128 || (a >> shift) == (b >> shift)
        }
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                prefix(u32::from(n).into(), u32::from(i).into(), self.bits, 32)
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => prefix(n.into(), i.into(), self.bits, 128),
            _ => false,
        }
    }
}

impl std::str::FromStr for TrustedProxy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let bad = || {
            format!("{s:?}: use an IP address such as 10.0.0.2, or a network such as 10.0.0.0/8")
        };
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b.parse::<u8>().map_err(|_| bad())?)),
            None => (s, None),
        };
        let net = addr
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .map_err(|_| bad())?
            .to_canonical();
        let width = if net.is_ipv4() { 32 } else { 128 };
        let bits = bits.unwrap_or(width);
        if bits > width {
            return Err(bad());
        }
        Ok(TrustedProxy { net, bits })
    }
}

impl std::fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.bits)
    }
}

// ---------------------------------------------------------------------------
// The client: its address, and whether it came over HTTPS

/// Who is asking: the client's address (from `X-Forwarded-For` when the
/// connection comes from a trusted proxy), and whether it came over HTTPS.
/// No address when the server runs without connection info (a bare router
/// in a test).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub addr: Option<IpAddr>,
    pub https: bool,
}

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(client_of(peer, &parts.headers, &st.config.trusted_proxies))
    }
}

/// The client behind `peer`: `peer` itself unless it is a trusted proxy;
/// then the right-most address of `X-Forwarded-For` that is not a trusted
/// proxy (those left of it are the client's word and may be forged).
pub fn client_of(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[TrustedProxy]) -> Client {
    let Some(peer) = peer.map(|p| p.to_canonical()) else {
        return Client {
            addr: None,
            https: false,
        };
    };
    let is_trusted = |ip: IpAddr| trusted.iter().any(|t| t.contains(ip));
    if !is_trusted(peer) {
        return Client {
            addr: Some(peer),
            https: false,
        };
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    let mut addr = peer;
    for hop in hops.iter().rev() {
        // Something that is no address: the proxies' record ends here.
        let Some(ip) = parse_hop(hop) else { break };
        addr = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    // The scheme the nearest proxy saw (it appends or sets the last value).
    let https = headers
        .get_all("x-forwarded-proto")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    Client {
        addr: Some(addr),
        https,
    }
}

/// `1.2.3.4`, `::1`, `[::1]`, `1.2.3.4:5678` or `[::1]:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
        .map(|ip: IpAddr| ip.to_canonical())
}

impl SecureCookies {
    fn applies(self, client: &Client) -> bool {
        match self {
            SecureCookies::Always => true,
            SecureCookies::Never => false,
            SecureCookies::Auto => client.https,
        }
    }
}

// ---------------------------------------------------------------------------
// The session token of a request

/// The token of `Authorization: Bearer TOKEN`: the scheme in any case
/// (RFC 7235), whitespace around the scheme and the token tolerated.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim().split_once([' ', '\t'])?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The session token a request carries, and whether it came as the cookie.
/// The one reading of it, for authentication and logout alike.
struct Credentials {
    token: String,
    by_cookie: bool,
}

fn credentials(headers: &HeaderMap) -> Option<Credentials> {
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    match bearer {
        Some(t) => Some(Credentials {
            token: t.to_string(),
            by_cookie: false,
        }),
        None => cookie(headers, SESSION_COOKIE)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| Credentials {
                token: t.to_string(),
                by_cookie: true,
            }),
    }
}

/// The stored form (hash) of the session token a request carries.
pub fn session_token_hash(headers: &HeaderMap) -> Option<String> {
    credentials(headers).map(|c| token_hash(&c.token))
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

// ---------------------------------------------------------------------------
// CSRF: a token derived from the session

/// The `care_settings` row holding the server secret (64 hex digits).
const SECRET_SETTING: &str = "auth_secret";

/// The server's secret for CSRF tokens, read from the database (created on
/// first use), so tokens outlive a restart as sessions do.
#[derive(Default)]
pub struct ServerSecret(tokio::sync::OnceCell<[u8; 32]>);

impl ServerSecret {
    pub async fn get(&self, store: &dyn Store) -> Result<&[u8; 32], ApiError> {
        self.0
            .get_or_try_init(|| async {
                if let Some(k) = read_secret(store).await? {
                    return Ok(k);
                }
                let mut k = [0u8; 32];
                OsRng.fill_bytes(&mut k);
                store
                    .put_care_setting(SECRET_SETTING, &json!(hex(&k)))
                    .await?;
                // Another server on the same database may have stored one at
                // the same moment: use whichever is stored.
                Ok(read_secret(store).await?.unwrap_or(k))
            })
            .await
    }
}

async fn read_secret(store: &dyn Store) -> Result<Option<[u8; 32]>, ApiError> {
    let Some(v) = store.care_setting(SECRET_SETTING).await? else {
        return Ok(None);
    };
    let s = v.as_str().unwrap_or("");
    let mut k = [0u8; 32];
    if s.len() != 64 || !s.is_ascii() {
        return Ok(None);
    }
    for (i, b) in k.iter_mut().enumerate() {
        match u8::from_str_radix(&s[2 * i..2 * i + 2], 16) {
            Ok(x) => *b = x,
            Err(_) => return Ok(None),
        }
    }
    Ok(Some(k))
}

/// The CSRF token of a session: HMAC-SHA256 of the token's hash under the
/// server secret, in hex.
pub fn csrf_token(secret: &[u8; 32], session_token: &str) -> String {
    let msg = format!("keqing-csrf-v1:{}", token_hash(session_token));
    hex(&hmac_sha256(secret, msg.as_bytes()))
}

/// HMAC (RFC 2104) with SHA-256.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// Equal, in a time that depends on the lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// ---------------------------------------------------------------------------
// The login throttle

/// How failed logins slow further attempts. Every wait doubles from one
/// second up to a cap; none is a hard lock. Counts are forgotten after
/// `forget_after` without a failure.
#[derive(Debug, Clone)]
pub struct ThrottlePolicy {
    /// Failures of one (user, address) pair before it must wait; then every
    /// further attempt of the pair (refused ones too) doubles its wait.
    pub pair_free: u32,
    pub pair_cap: Duration,
    /// Failures for one user from all addresses before a pair with a
    /// failure of its own must wait, counted from that failure: guessing
    /// spread over many addresses. A pair without failures is not held up,
    /// so no one elsewhere can keep the user out.
    pub user_free: u32,
    pub user_cap: Duration,
    /// Failures from one address for all users before its attempts must
    /// wait, counted from its last failure: one address trying many users.
    pub addr_free: u32,
    pub addr_cap: Duration,
    pub forget_after: Duration,
    /// The most entries the throttle keeps (pairs, users and addresses);
    /// the oldest go first.
    pub max_entries: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            pair_free: 3,
            pair_cap: Duration::minutes(5),
            user_free: 20,
            user_cap: Duration::minutes(1),
            addr_free: 100,
            addr_cap: Duration::minutes(1),
            forget_after: Duration::hours(1),
            max_entries: 30_000,
        }
    }
}

/// The wait after `count` failures: none below `free`, then 1 s doubling up to `cap`.
fn backoff(count: u32, free: u32, cap: Duration) -> Duration {
    if count < free {
        return Duration::zero();
    }
    let doublings = (count - free).min(30);
    Duration::seconds(1i64 << doublings).min(cap)
}

/// Which guard holds an attempt back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    Pair,
    User,
    Address,
}

impl Guard {
    fn name(self) -> &'static str {
        match self {
            Guard::Pair => "user_and_address",
            Guard::User => "user",
            Guard::Address => "address",
        }
    }
}

/// An attempt held back: how long to wait, and by which guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    pub wait: Duration,
    pub guard: Guard,
}

impl Throttled {
    /// Whole seconds to wait, at least one (for `Retry-After`).
    pub fn seconds(&self) -> i64 {
        ((self.wait.num_milliseconds() + 999) / 1000).max(1)
    }
}

/// A guard that began to hold attempts back (logged once per count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onset {
    pub guard: Guard,
    pub failures: u32,
    pub wait: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(Box<str>, Option<IpAddr>),
    User(Box<str>),
    Addr(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    count: u32,
    last: DateTime<Utc>,
    /// The onset of this guard was logged.
    warned: bool,
}

pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Failed logins by (user, address), user and address (see [`ThrottlePolicy`]).
/// Attempts are counted when they start, so parallel ones cannot slip past,
/// and given back when they succeed.
pub struct LoginLimiter {
    table: Mutex<HashMap<Key, Entry>>,
    policy: ThrottlePolicy,
    clock: Clock,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter::new(ThrottlePolicy::default())
    }
}

/// The key form of a user name: bounded and lower case, so that neither a
/// huge name nor another spelling of one gets a table entry of its own.
fn user_key(user: &str) -> Box<str> {
    user.chars()
        .take(MAX_USERNAME_CHARS)
        .collect::<String>()
        .to_lowercase()
        .into()
}

/// The address the throttle counts: an IPv6 client by its /64 (one
/// subscriber's network, where every address is theirs to use).
fn throttle_addr(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & (u128::MAX << 64)).into()),
        v4 => v4,
    }
}

impl LoginLimiter {
    pub fn new(policy: ThrottlePolicy) -> LoginLimiter {
        LoginLimiter::with_clock(policy, Arc::new(Utc::now))
    }

    /// With a clock of its own (tests move time on without sleeping).
    pub fn with_clock(policy: ThrottlePolicy, clock: Clock) -> LoginLimiter {
        LoginLimiter {
            table: Mutex::new(HashMap::new()),
            policy,
            clock,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Entries held (pairs, users and addresses).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn keys(user: &str, addr: Option<IpAddr>) -> (Key, Key, Option<Key>) {
        let u = user_key(user);
        let addr = addr.map(throttle_addr);
        (
            Key::Pair(u.clone(), addr),
            Key::User(u),
            addr.map(Key::Addr),
        )
    }

    /// Starts an attempt: refused while a guard holds it back, else counted
    /// (as a failure until [`LoginLimiter::succeed`] gives it back).
    pub fn begin(
        &self,
        user: &str,
        addr: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<(), Throttled> {
        let p = &self.policy;
        let (pk, uk, ak) = Self::keys(user, addr);
        let mut t = self.lock();
        let live = |t: &HashMap<Key, Entry>, k: &Key| {
            t.get(k).filter(|e| now - e.last <= p.forget_after).copied()
        };
        let pair = live(&t, &pk);
        if let Some(e) = pair {
            if now < e.last + backoff(e.count, p.pair_free, p.pair_cap) {
                // An attempt while waiting counts too: the wait grows.
                let e = t.get_mut(&pk).expect("live entry");
                e.count = e.count.saturating_add(1);
                e.last = now;
                return Err(Throttled {
                    wait: backoff(e.count, p.pair_free, p.pair_cap),
                    guard: Guard::Pair,
                });
            }
        }
        let mut wait = None::<Throttled>;
        let mut hold = |until: DateTime<Utc>, guard| {
            if now < until && wait.is_none_or(|w| w.wait < until - now) {
                wait = Some(Throttled {
                    wait: until - now,
                    guard,
                });
            }
        };
        if let (Some(pe), Some(ue)) = (pair, live(&t, &uk)) {
            if pe.count > 0 {
                hold(
                    pe.last + backoff(ue.count, p.user_free, p.user_cap),
                    Guard::User,
                );
            }
        }
        if let Some(ae) = ak.as_ref().and_then(|k| live(&t, k)) {
            hold(
                ae.last + backoff(ae.count, p.addr_free, p.addr_cap),
                Guard::Address,
            );
        }
        if let Some(w) = wait {
            return Err(w);
        }
        for k in [Some(pk), Some(uk), ak].into_iter().flatten() {
            self.count(&mut t, k, now);
        }
        Ok(())
    }

    fn count(&self, t: &mut HashMap<Key, Entry>, k: Key, now: DateTime<Utc>) {
        if !t.contains_key(&k) && t.len() >= self.policy.max_entries {
            self.prune(t, now);
        }
        let e = t.entry(k).or_insert(Entry {
            count: 0,
            last: now,
            warned: false,
        });
        if now - e.last > self.policy.forget_after {
            *e = Entry {
                count: 0,
                last: now,
                warned: false,
            };
        }
        e.count = e.count.saturating_add(1);
        e.last = now;
    }

    /// Drops forgotten entries, then the oldest eighth when still full.
    fn prune(&self, t: &mut HashMap<Key, Entry>, now: DateTime<Utc>) {
        let forget = self.policy.forget_after;
        t.retain(|_, e| now - e.last <= forget);
        let max = self.policy.max_entries.max(1);
        if t.len() >= max {
            let keep = max - max.div_ceil(8);
            let mut by_age: Vec<(DateTime<Utc>, Key)> =
                t.iter().map(|(k, e)| (e.last, k.clone())).collect();
            by_age.sort_unstable_by_key(|(last, _)| *last);
            for (_, k) in by_age.into_iter().take(t.len() - keep) {
                t.remove(&k);
            }
        }
    }

    /// The attempt failed: its time is now; returns the guards that begin
    /// to hold attempts back with it (each once, for the log).
    pub fn fail(&self, user: &str, addr: Option<IpAddr>, now: DateTime<Utc>) -> Vec<Onset> {
        let p = &self.policy;
        let (pk, uk, ak) = Self::keys(user, addr);
        let mut t = self.lock();
        let mut onsets = Vec::new();
        let guards = [
            (Some(pk), Guard::Pair, p.pair_free, p.pair_cap),
            (Some(uk), Guard::User, p.user_free, p.user_cap),
            (ak, Guard::Address, p.addr_free, p.addr_cap),
        ];
        for (k, guard, free, cap) in guards {
            let Some(e) = k.and_then(|k| t.get_mut(&k)) else {
                continue;
            };
            e.last = e.last.max(now);
            if e.count >= free && !e.warned {
                e.warned = true;
                onsets.push(Onset {
                    guard,
                    failures: e.count,
                    wait: backoff(e.count, free, cap),
                });
            }
        }
        onsets
    }

    /// The attempt succeeded: the pair starts afresh, and the user's and
    /// the address's counts give the attempt back.
    pub fn succeed(&self, user: &str, addr: Option<IpAddr>) {
        let (pk, uk, ak) = Self::keys(user, addr);
        let mut t = self.lock();
        t.remove(&pk);
        for k in [Some(uk), ak].into_iter().flatten() {
            if let Some(e) = t.get_mut(&k) {
                e.count = e.count.saturating_sub(1);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Handlers

/// The logged-in user of a request.
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(cred) = credentials(&parts.headers) else {
            return Err(ApiError::unauthorized());
        };
        // An ended session answers 401 (back to the login page) before the
        // CSRF token is looked at.
        let user = state
            .store
            .session_user(&token_hash(&cred.token), Utc::now())
            .await?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "session_expired",
                    "登录已过期，请重新登录 your session has expired or was ended; log in again",
                )
            })?;
        if cred.by_cookie && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .unwrap_or("");
            let secret = state.secret.get(state.store.as_ref()).await?;
            let expected = csrf_token(secret, &cred.token);
            if !constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "安全校验失败，请刷新页面 missing or wrong X-CSRF-Token header (send the keqing_csrf cookie's value)",
                ));
            }
        }
        Ok(CurrentUser(user))
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginBody {
    username: String,
    password: String,
}

/// A user name or password longer than any account has is refused before
/// the throttle or the audit log sees it.
fn check_lengths(b: &LoginBody) -> Result<(), ApiError> {
    if b.username.len() > 4 * MAX_USERNAME_CHARS || b.username.chars().count() > MAX_USERNAME_CHARS
    {
        return Err(ApiError::invalid(
            "username",
            format!("用户名不能超过{MAX_USERNAME_CHARS}个字符 a user name has at most {MAX_USERNAME_CHARS} characters"),
        ));
    }
    if b.password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::invalid(
            "password",
            format!("密码不能超过{MAX_PASSWORD_BYTES}字节 a password has at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(())
}

fn throttled_response(t: Throttled) -> Response {
    let secs = t.seconds();
    let mut resp = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("登录失败次数过多，请{secs}秒后再试 too many failed logins; try again in {secs} s"),
    )
    .with_details(json!({"retry_after_seconds": secs, "guard": t.guard.name()}))
    .into_response();
    resp.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(secs));
    resp
}

/// A guard began to hold logins back: a warning and an audit entry (the
/// user name is bounded by then).
async fn log_onset(
    st: &AppState,
    username: &str,
    addr: Option<IpAddr>,
    o: &Onset,
) -> Result<(), ApiError> {
    let username = user_key(username);
    let address = addr.map(|a| a.to_string());
    tracing::warn!(
        guard = o.guard.name(),
        username = %username,
        address = address.as_deref().unwrap_or("-"),
        failures = o.failures,
        wait_seconds = o.wait.num_seconds(),
        "failed logins: further attempts must wait"
    );
    st.store
        .audit(
            None,
            "login_throttled",
            "user",
            None,
            json!({
                "guard": o.guard.name(),
                "username": username,
                "address": address,
                "failures": o.failures,
                "wait_seconds": o.wait.num_seconds(),
            }),
        )
        .await?;
    Ok(())
}

fn set_cookie(
    h: &mut HeaderMap,
    name: &str,
    value: &str,
    http_only: bool,
    max_age: i64,
    secure: bool,
) {
    let c = format!(
        "{name}={value}; Path=/;{} SameSite=Strict; Max-Age={max_age}{}",
        if http_only { " HttpOnly;" } else { "" },
        if secure { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        h.append(SET_COOKIE, v);
    }
}

#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    operation_id = "auth_login",
    description = "Log in with {username, password}; returns a bearer token (and sets the session cookie)",
    request_body = LoginBody,
    responses((status = 200, description = "Logged in: {token, expires_at, csrf_token, user}; sets the session and CSRF cookies", body = LoginAnswer), (status = 400, description = "bad_request: send {username, password}", body = crate::openapi::ErrorBody), (status = 401, description = "unauthorized: wrong user name or password", body = crate::openapi::ErrorBody), (status = 429, description = "rate_limited: too many failed logins; Retry-After says when to try again", body = crate::openapi::ErrorBody))
)]
pub async fn login(
    State(st): State<AppState>,
    client: Client,
    body: Result<Json<LoginBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "请提供用户名和密码 send {{\"username\", \"password\"}}: {e}"
        ))
    })?;
    check_lengths(&body)?;
    let addr = client.addr;
    if let Err(t) = st.limiter.begin(&body.username, addr, st.limiter.now()) {
        return Ok(throttled_response(t));
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
        for o in st.limiter.fail(&body.username, addr, st.limiter.now()) {
            log_onset(&st, &body.username, addr, &o).await?;
        }
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
    st.limiter.succeed(&body.username, addr);
    let now = Utc::now();
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
    let csrf = csrf_token(st.secret.get(st.store.as_ref()).await?, &token);
    let secure = st.config.secure_cookies.applies(&client);
    let max_age = st.config.session_ttl.num_seconds();
    let mut resp = Json(LoginAnswer {
        token: token.clone(),
        expires_at: expires,
        csrf_token: csrf.clone(),
        user,
    })
    .into_response();
    let h = resp.headers_mut();
    set_cookie(h, SESSION_COOKIE, &token, true, max_age, secure);
    set_cookie(h, CSRF_COOKIE, &csrf, false, max_age, secure);
    Ok(resp)
}

#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    operation_id = "auth_logout",
    description = "End this session",
    responses((status = 204, description = "Logged out; the cookies are cleared"))
)]
pub async fn logout(
    State(st): State<AppState>,
    client: Client,
    headers: HeaderMap,
    CurrentUser(u): CurrentUser,
) -> Result<Response, ApiError> {
    if let Some(c) = credentials(&headers) {
        st.store.delete_session(&token_hash(&c.token)).await?;
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
    let secure = st.config.secure_cookies.applies(&client);
    let h = resp.headers_mut();
    set_cookie(h, SESSION_COOKIE, "", true, 0, secure);
    set_cookie(h, CSRF_COOKIE, "", false, 0, secure);
    Ok(resp)
}

/// The current user. A cookie session also gets its CSRF cookie again, so a
/// reloaded page recovers from a stale one.
#[utoipa::path(
    get,
    path = "/auth/me",
    tag = "auth",
    operation_id = "auth_me",
    description = "The logged-in user",
    responses((status = 200, description = "The logged-in user (with a fresh CSRF cookie for a cookie session)", body = keqing_domain::User))
)]
pub async fn me(
    State(st): State<AppState>,
    client: Client,
    headers: HeaderMap,
    CurrentUser(u): CurrentUser,
) -> Result<Response, ApiError> {
    let mut resp = Json(u).into_response();
    if let Some(c) = credentials(&headers).filter(|c| c.by_cookie) {
        let csrf = csrf_token(st.secret.get(st.store.as_ref()).await?, &c.token);
        let secure = st.config.secure_cookies.applies(&client);
        let max_age = st.config.session_ttl.num_seconds();
        set_cookie(
            resp.headers_mut(),
            CSRF_COOKIE,
            &csrf,
            false,
            max_age,
            secure,
        );
    }
    Ok(resp)
}

/// `{current, new}`: a user changes their own password.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    /// the password the user has now
    current: String,
    /// the password they choose (at least 8 characters)
    new: String,
}

/// `POST /api/v1/auth/password`: the logged-in user changes their own
/// password. The current one is checked (422 naming `current`, and wrong
/// guesses slow down as failed logins do); the new one must meet the
/// password policy (422 naming `new`). Every other session of the user ends;
/// this one goes on. In the audit log as `password_change`.
#[utoipa::path(
    post,
    path = "/auth/password",
    tag = "auth",
    operation_id = "auth_change_password",
    description = "Change your own password {current, new}: 422 names `current` when it is wrong and `new` when it breaks the policy (at least 8 characters, not the current one); the user's other sessions end, this one goes on; 429 after repeated wrong guesses",
    request_body = PasswordChange,
    responses((status = 204, description = "Changed; the user's other sessions ended"), (status = 422, description = "invalid: `current` is wrong or `new` breaks the policy", body = crate::openapi::ErrorBody), (status = 429, description = "rate_limited: too many wrong current passwords; Retry-After says when to try again", body = crate::openapi::ErrorBody))
)]
pub async fn change_password(
    State(st): State<AppState>,
    client: Client,
    headers: HeaderMap,
    CurrentUser(u): CurrentUser,
    crate::extract::Json(b): crate::extract::Json<PasswordChange>,
) -> Result<Response, ApiError> {
    if b.current.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::invalid(
            "current",
            "当前密码不正确 the current password is wrong",
        ));
    }
    let mut errors = keqing_domain::error::Collector::default();
    if let Err(e) = check_password_strength(&b.new) {
        errors.push("new", e);
    } else if b.new == b.current {
        errors.push(
            "new",
            "新密码不能与当前密码相同 the new password must differ from the current one",
        );
    }
    // Guessing the current password through a session left open is slowed
    // down as guessing at the login is.
    let addr = client.addr;
    if let Err(t) = st.limiter.begin(&u.username, addr, st.limiter.now()) {
        return Ok(throttled_response(t));
    }
    let hash = st
        .store
        .user_by_name(&u.username)
        .await?
        .map(|(_, h)| h)
        .unwrap_or_default();
    let current = b.current.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&current, &hash))
        .await
        .unwrap_or(false);
    if ok {
        st.limiter.succeed(&u.username, addr);
    } else {
        for o in st.limiter.fail(&u.username, addr, st.limiter.now()) {
            log_onset(&st, &u.username, addr, &o).await?;
        }
        errors.push("current", "当前密码不正确 the current password is wrong");
    }
    errors.finish()?;
    let new = b.new;
    let hash = tokio::task::spawn_blocking(move || hash_password(&new))
        .await
        .map_err(|e| ApiError::bad_request(e.to_string()))?
        .map_err(ApiError::bad_request)?;
    let keep = session_token_hash(&headers);
    st.store
        .change_password(u.id, &hash, keep.as_deref(), "password_change", Some(u.id))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// An argon2id hash of a random password, verified against for unknown users.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2kHHv/3x7cJ0M1TxHzUj6Pn8i2pYkD0Y0vQnBv5b0kI";

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn the_username_bound_is_the_longest_valid_name() {
        let longest = "a".repeat(MAX_USERNAME_CHARS);
        assert!(keqing_domain::user::valid_username(&longest));
        assert!(!keqing_domain::user::valid_username(&format!("{longest}a")));
    }

    #[test]
    fn bearer_tokens_in_any_case_and_spacing() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER   abc  "), Some("abc"));
        assert_eq!(bearer_token("  Bearer\tabc"), Some("abc"));
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer   "), None);
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }

    #[test]
    fn trusted_proxies_parse_and_match() {
        let one: TrustedProxy = "10.0.0.2".parse().unwrap();
        assert!(one.contains("10.0.0.2".parse().unwrap()));
        assert!(!one.contains("10.0.0.3".parse().unwrap()));
        assert!(one.contains("::ffff:10.0.0.2".parse().unwrap()));
        let net: TrustedProxy = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains("10.200.1.1".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let all: TrustedProxy = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let v6: TrustedProxy = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
        assert!("proxy.local".parse::<TrustedProxy>().is_err());
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop() {
        let trusted: Vec<TrustedProxy> =
            vec!["10.0.0.2".parse().unwrap(), "10.1.0.0/16".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "6.6.6.6, 1.2.3.4, 10.1.0.9".parse().unwrap(),
        );
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert_eq!(
            client_of(ip("10.0.0.2"), &h, &trusted),
            Client {
                addr: ip("1.2.3.4"),
                https: true
            }
        );
        // From anyone else the headers are the client's own word.
        assert_eq!(
            client_of(ip("5.5.5.5"), &h, &trusted),
            Client {
                addr: ip("5.5.5.5"),
                https: false
            }
        );
        assert_eq!(
            client_of(ip("10.0.0.2"), &HeaderMap::new(), &trusted).addr,
            ip("10.0.0.2")
        );
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", "1.2.3.4".parse().unwrap());
        h.append("x-forwarded-for", "[2001:db8::1]:443".parse().unwrap());
        assert_eq!(
            client_of(ip("::ffff:10.0.0.2"), &h, &trusted).addr,
            ip("2001:db8::1")
        );
        assert_eq!(client_of(None, &h, &trusted).addr, None);
    }

    #[test]
    fn one_pair_waits_longer_and_longer_and_others_do_not() {
        let l = LoginLimiter::default();
        let (a, b) = (ip("1.1.1.1"), ip("2.2.2.2"));
        let mut now = at(0);
        for _ in 0..3 {
            l.begin("wangfang", a, now).unwrap();
            assert!(l.fail("wangfang", a, now).len() <= 1);
        }
        // After three failures: 1 s; an attempt while waiting doubles it.
        let waits: Vec<i64> = (0..10)
            .map(|_| {
                let t = l.begin("WangFang", a, now).unwrap_err();
                assert_eq!(t.guard, Guard::Pair);
                t.seconds()
            })
            .collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        // After the wait: one attempt.
        // A second early is an attempt while waiting: the wait starts again.
        now += Duration::seconds(299);
        assert_eq!(l.begin("wangfang", a, now).unwrap_err().seconds(), 300);
        now += Duration::seconds(300);
        l.begin("wangfang", a, now).unwrap();
        l.fail("wangfang", a, now);
        assert_eq!(l.begin("wangfang", a, now).unwrap_err().seconds(), 300);
        // The same user from elsewhere is not held up at all.
        l.begin("wangfang", b, now).unwrap();
        l.succeed("wangfang", b);
        // Forgotten after an hour without failures.
        l.begin("wangfang", a, now + Duration::minutes(61)).unwrap();
    }

    #[test]
    fn guessing_from_many_addresses_slows_only_the_guessers() {
        let l = LoginLimiter::default();
        let now = at(0);
        for i in 0..25 {
            let a = ip(&format!("9.9.9.{i}"));
            l.begin("wangfang", a, now).unwrap();
            l.fail("wangfang", a, now);
        }
        // Each guesser now waits before its next guess, well before its own
        // pair's limit…
        let t = l.begin("wangfang", ip("9.9.9.1"), now).unwrap_err();
        assert_eq!(t.guard, Guard::User);
        assert_eq!(t.seconds(), 32);
        // …but the real user at a clean address gets in, and after a typo
        // waits at most the cap, counted from their own attempt.
        let me = ip("1.2.3.4");
        l.begin("wangfang", me, now).unwrap();
        l.fail("wangfang", me, now);
        let t = l.begin("wangfang", me, now).unwrap_err();
        assert_eq!((t.guard, t.seconds()), (Guard::User, 60));
        l.begin("wangfang", me, now + Duration::seconds(60))
            .unwrap();
    }

    #[test]
    fn an_ipv6_client_counts_by_its_network() {
        let l = LoginLimiter::default();
        let now = at(0);
        for i in 1..=3 {
            let a = ip(&format!("2001:db8:1:2::{i}"));
            l.begin("wangfang", a, now).unwrap();
            l.fail("wangfang", a, now);
        }
        let t = l
            .begin("wangfang", ip("2001:db8:1:2:ffff::9"), now)
            .unwrap_err();
        assert_eq!(t.guard, Guard::Pair);
        l.begin("wangfang", ip("2001:db8:1:3::1"), now).unwrap();
        assert_eq!(
            throttle_addr("1.2.3.4".parse().unwrap()),
            ip("1.2.3.4").unwrap()
        );
        assert_eq!(
            throttle_addr("::ffff:1.2.3.4".parse().unwrap()),
            ip("1.2.3.4").unwrap()
        );
    }

    #[test]
    fn one_address_trying_many_users_waits() {
        let l = LoginLimiter::default();
        let a = ip("7.7.7.7");
        let now = at(0);
        let mut onsets = 0;
        for i in 0..100 {
            let u = format!("user{i}");
            l.begin(&u, a, now).unwrap();
            onsets += l.fail(&u, a, now).len();
        }
        assert_eq!(onsets, 1, "the address's onset is logged once");
        let t = l.begin("someone", a, now).unwrap_err();
        assert_eq!((t.guard, t.seconds()), (Guard::Address, 1));
        l.begin("someone", a, now + Duration::seconds(1)).unwrap();
    }

    #[test]
    fn the_table_is_bounded() {
        let l = LoginLimiter::new(ThrottlePolicy {
            max_entries: 100,
            ..ThrottlePolicy::default()
        });
        let now = at(0);
        for i in 0..1000 {
            let u = format!("user{i}");
            let a = ip(&format!("10.0.{}.{}", i / 256, i % 256));
            l.begin(&u, a, now + Duration::seconds(i)).unwrap();
            l.fail(&u, a, now + Duration::seconds(i));
        }
        assert!(l.len() <= 100, "{} entries", l.len());
        // The newest are kept.
        let t = l.begin("user999", ip("10.0.3.231"), now + Duration::seconds(999));
        assert!(t.is_ok(), "one failure does not hold a pair back");
        assert!(l.lock().contains_key(&Key::User("user999".into())));
        // A huge name is kept bounded.
        l.begin(&"x".repeat(100_000), None, now).unwrap();
        assert!(l.lock().keys().all(
            |k| matches!(k, Key::User(u) | Key::Pair(u, _) if u.len() <= MAX_USERNAME_CHARS)
                || matches!(k, Key::Addr(_))
        ));
    }
}

/// The answer to a login; the token and the CSRF token are also set as cookies.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginAnswer {
    /// the bearer token (also the session cookie)
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// a cookie session sends it back as X-CSRF-Token
    pub csrf_token: String,
    pub user: User,
}
