//! Logging in and out, the login throttle, client addresses behind proxies,
//! cookies and CSRF (issue 23), over HTTP against a real SQLite store.

use chrono::{Duration, Utc};
use keqing_domain::Role;
use keqing_server::auth::{LoginLimiter, SecureCookies, ThrottlePolicy};
use keqing_server::{AppState, ServerConfig};
use keqing_store::{NewUser, Store};
use serde_json::{json, Value};
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

const PASSWORD: &str = "correct-horse-42";

struct Srv {
    base: String,
    store: Arc<dyn Store>,
    limiter: Arc<LoginLimiter>,
    /// Milliseconds the throttle's clock is ahead of the real one.
    ahead_ms: Arc<AtomicI64>,
    http: reqwest::Client,
    dir: Arc<tempfile::TempDir>,
}

/// A server over a fresh SQLite database, its throttle on a clock the test moves.
async fn start(config: ServerConfig) -> Srv {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = keqing_store::open(&url).await.unwrap();
    let hash = keqing_server::auth::hash_password(PASSWORD).unwrap();
    store
        .create_user(&NewUser {
            username: "wangfang".into(),
            display_name: "王芳".into(),
            role: Role::Manager,
            team_id: None,
            region: None,
            password_hash: hash,
        })
        .await
        .unwrap();
    serve_on(store, dir, config).await
}

/// Another server over the same database (a restart).
async fn serve_on(store: Arc<dyn Store>, dir: Arc<tempfile::TempDir>, config: ServerConfig) -> Srv {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut state = AppState::new(store.clone(), config);
    let ahead_ms = Arc::new(AtomicI64::new(0));
    let ahead = ahead_ms.clone();
    let limiter = Arc::new(LoginLimiter::with_clock(
        ThrottlePolicy::default(),
        Arc::new(move || Utc::now() + Duration::milliseconds(ahead.load(Ordering::SeqCst))),
    ));
    state.limiter = limiter.clone();
    tokio::spawn(keqing_server::serve(listener, state));
    Srv {
        base,
        store,
        limiter,
        ahead_ms,
        http: reqwest::Client::new(),
        dir,
    }
}

fn trusting_localhost() -> ServerConfig {
    ServerConfig {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..ServerConfig::default()
    }
}

impl Srv {
    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    fn advance(&self, secs: i64) {
        self.ahead_ms.fetch_add(secs * 1000, Ordering::SeqCst);
    }

    /// A login with these headers: status, headers, body.
    async fn login_with(
        &self,
        username: &str,
        password: &str,
        headers: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        self.login_from(&self.http, username, password, headers)
            .await
    }

    async fn login_from(
        &self,
        http: &reqwest::Client,
        username: &str,
        password: &str,
        headers: &[(&str, &str)],
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut r = http
            .post(self.url("/auth/login"))
            .json(&json!({"username": username, "password": password}));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let h = r.headers().clone();
        (status, h, r.json().await.unwrap_or(Value::Null))
    }

    async fn token(&self) -> String {
        let (s, _, b) = self.login_with("wangfang", PASSWORD, &[]).await;
        assert_eq!(s, 200, "{b}");
        b["token"].as_str().unwrap().to_string()
    }

    async fn me(&self, authorization: &str) -> u16 {
        self.http
            .get(self.url("/auth/me"))
            .header("authorization", authorization)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

fn set_cookies(h: &reqwest::header::HeaderMap) -> Vec<String> {
    h.get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn starts_chinese(m: &str) -> bool {
    m.starts_with(|c: char| ('\u{4E00}'..='\u{9FFF}').contains(&c))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_token_however_bearer_is_spelled() {
    let srv = start(ServerConfig::default()).await;
    for form in [
        "bearer {t}",
        "Bearer   {t}",
        "BEARER\t{t}  ",
        "  Bearer {t}",
    ] {
        let t = srv.token().await;
        let header = form.replace("{t}", &t);
        assert_eq!(srv.me(&header).await, 200, "{form:?} authenticates");
        let r = srv
            .http
            .post(srv.url("/auth/logout"))
            .header("authorization", &header)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{form:?}");
        assert_eq!(
            srv.me(&format!("Bearer {t}")).await,
            401,
            "the token ends with a logout by {form:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_username_or_password_is_refused_before_anything_keeps_it() {
    let srv = start(ServerConfig::default()).await;
    let huge = "x".repeat(1_900_000);
    for _ in 0..5 {
        let (s, _, b) = srv.login_with(&huge, "nope", &[]).await;
        assert_eq!(s, 422, "{}", b["message"]);
        assert_eq!(b["details"]["fields"][0]["field"], "username");
        assert!(starts_chinese(b["message"].as_str().unwrap()));
    }
    // One character over the longest name a user can have.
    let (s, _, b) = srv.login_with(&"x".repeat(33), "nope", &[]).await;
    assert_eq!(
        (s, &b["details"]["fields"][0]["field"]),
        (422, &json!("username"))
    );
    let (s, _, b) = srv
        .login_with("wangfang", &"p".repeat(1_000_000), &[])
        .await;
    assert_eq!(s, 422);
    assert_eq!(b["details"]["fields"][0]["field"], "password");
    assert_eq!(srv.limiter.len(), 0, "the throttle keeps nothing of them");
    let audit = srv.store.audit_log(1000).await.unwrap();
    let longest = audit
        .iter()
        .map(|e| e.detail.to_string().len())
        .max()
        .unwrap_or(0);
    assert!(longest < 1000, "an audit entry of {longest} bytes");
    assert!(
        !audit.iter().any(|e| e.action == "login_failed"),
        "they are not even attempts"
    );
    // The right name and password still work, and the limiter holds a bounded entry for a wrong one.
    srv.token().await;
    let (s, _, _) = srv.login_with("wangfang", "wrong-password", &[]).await;
    assert_eq!(s, 401);
    assert!(srv.limiter.len() <= 3);
}

/// Wrong passwords from one address do not keep the user out at another
/// (two loopback addresses, no proxy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_from_one_address_do_not_lock_the_user_out_elsewhere() {
    let srv = start(ServerConfig::default()).await;
    let from = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let (attacker, user) = (from("127.0.0.2"), from("127.0.0.3"));
    for _ in 0..25 {
        let (s, _, _) = srv
            .login_from(&attacker, "wangfang", "guess-123", &[])
            .await;
        assert!(s == 401 || s == 429, "{s}");
    }
    let (s, _, b) = srv.login_from(&user, "wangfang", PASSWORD, &[]).await;
    assert_eq!(s, 200, "the real user gets in at their own address: {b}");
    let (s, _, _) = srv.login_from(&attacker, "wangfang", PASSWORD, &[]).await;
    assert_eq!(
        s, 429,
        "the guessing address waits, even with the right password"
    );
}

/// Three failures of one (user, address) pair, then each further attempt
/// waits twice as long: 429 with Retry-After, the wait in the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_pair_waits_longer_and_longer() {
    let srv = start(ServerConfig::default()).await;
    for _ in 0..3 {
        let (s, _, _) = srv.login_with("wangfang", "wrong-password", &[]).await;
        assert_eq!(s, 401);
    }
    let mut waits = Vec::new();
    for _ in 0..3 {
        let (s, h, b) = srv.login_with("wangfang", PASSWORD, &[]).await;
        assert_eq!(s, 429, "{b}");
        assert_eq!(b["code"], "rate_limited");
        let m = b["message"].as_str().unwrap();
        assert!(starts_chinese(m), "{m}");
        let secs: i64 = h["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(
            m.contains(&format!("{secs}秒")) && m.contains(&format!("{secs} s")),
            "{m}"
        );
        assert_eq!(b["details"]["retry_after_seconds"], secs);
        waits.push(secs);
    }
    assert_eq!(
        waits,
        [2, 4, 8],
        "every attempt while waiting doubles the wait"
    );
    srv.advance(7);
    let (s, _, _) = srv.login_with("wangfang", PASSWORD, &[]).await;
    assert_eq!(s, 429, "not yet");
    srv.advance(16);
    let (s, _, b) = srv.login_with("wangfang", PASSWORD, &[]).await;
    assert_eq!(s, 200, "after the wait: {b}");
    // A success starts the pair afresh.
    let (s, _, _) = srv.login_with("wangfang", "wrong-password", &[]).await;
    assert_eq!(s, 401);
    srv.token().await;
    // The onset was logged, with the user name.
    let audit = srv.store.audit_log(100).await.unwrap();
    let e = audit
        .iter()
        .find(|e| e.action == "login_throttled")
        .expect("an audit entry for the lockout");
    assert_eq!(e.detail["username"], "wangfang");
    assert_eq!(e.detail["guard"], "user_and_address");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_forwarded_for_counts_only_from_a_trusted_proxy() {
    // Not trusted: the header is the client's word, and every request here is 127.0.0.1.
    let srv = start(ServerConfig::default()).await;
    for _ in 0..3 {
        let xff = [("x-forwarded-for", "10.0.0.1")];
        assert_eq!(
            srv.login_with("wangfang", "wrong-password", &xff).await.0,
            401
        );
    }
    let xff = [("x-forwarded-for", "10.0.0.2")];
    assert_eq!(
        srv.login_with("wangfang", PASSWORD, &xff).await.0,
        429,
        "a forged X-Forwarded-For does not make a new address"
    );

    // Behind a trusted proxy: the right-most address not itself a proxy.
    let srv = start(trusting_localhost()).await;
    for _ in 0..3 {
        let xff = [("x-forwarded-for", "10.0.0.1")];
        assert_eq!(
            srv.login_with("wangfang", "wrong-password", &xff).await.0,
            401
        );
    }
    for (xff, status) in [
        ("10.0.0.9, 10.0.0.1", 429),
        ("10.0.0.1, 127.0.0.1", 429),
        ("10.0.0.1", 429),
        ("10.0.0.2", 200),
        ("10.0.0.1, 10.0.0.2", 200),
    ] {
        let (s, _, b) = srv
            .login_with("wangfang", PASSWORD, &[("x-forwarded-for", xff)])
            .await;
        assert_eq!(s, status, "X-Forwarded-For: {xff}: {b}");
    }
    let audit = srv.store.audit_log(100).await.unwrap();
    let e = audit
        .iter()
        .find(|e| e.action == "login_throttled")
        .expect("the lockout is in the audit log");
    assert_eq!(e.detail["address"], "10.0.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_cookies_over_https_behind_a_trusted_proxy_or_always() {
    let https = [("x-forwarded-proto", "https")];
    let secure = |h: &reqwest::header::HeaderMap| {
        let c = set_cookies(h);
        assert_eq!(c.len(), 2, "{c:?}");
        let n = c.iter().filter(|c| c.ends_with("; Secure")).count();
        assert!(n == 0 || n == 2, "{c:?}");
        n == 2
    };
    let cases = [
        (ServerConfig::default(), &https[..], false),
        (ServerConfig::default(), &[][..], false),
        (trusting_localhost(), &[][..], false),
        (
            trusting_localhost(),
            &[("x-forwarded-proto", "http")][..],
            false,
        ),
        (trusting_localhost(), &https[..], true),
        (
            ServerConfig {
                secure_cookies: SecureCookies::Always,
                ..ServerConfig::default()
            },
            &[][..],
            true,
        ),
        (
            ServerConfig {
                secure_cookies: SecureCookies::Never,
                ..trusting_localhost()
            },
            &https[..],
            false,
        ),
    ];
    for (i, (config, headers, expected)) in cases.into_iter().enumerate() {
        let srv = start(config).await;
        let (s, h, _) = srv.login_with("wangfang", PASSWORD, headers).await;
        assert_eq!(s, 200);
        assert_eq!(secure(&h), expected, "case {i}: {:?}", set_cookies(&h));
    }

    // The logout's clearing cookies carry the same attributes.
    let srv = start(trusting_localhost()).await;
    let (_, h, b) = srv.login_with("wangfang", PASSWORD, &https).await;
    let session = set_cookies(&h)[0].split(';').next().unwrap().to_string();
    let r = srv
        .http
        .post(srv.url("/auth/logout"))
        .header("x-forwarded-proto", "https")
        .header(
            "cookie",
            format!(
                "{session}; keqing_csrf={}",
                b["csrf_token"].as_str().unwrap()
            ),
        )
        .header("x-csrf-token", b["csrf_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let cleared = set_cookies(r.headers());
    assert_eq!(
        cleared,
        [
            "keqing_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure",
            "keqing_csrf=; Path=/; SameSite=Strict; Max-Age=0; Secure"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csrf_token_is_bound_to_the_session() {
    let srv = start(ServerConfig::default()).await;
    let login = || async {
        let (s, h, b) = srv.login_with("wangfang", PASSWORD, &[]).await;
        assert_eq!(s, 200);
        let cookies: Vec<String> = set_cookies(&h)
            .iter()
            .map(|c| c.split(';').next().unwrap().to_string())
            .collect();
        let session = cookies
            .iter()
            .find(|c| c.starts_with("keqing_session="))
            .unwrap()
            .clone();
        let csrf = b["csrf_token"].as_str().unwrap().to_string();
        assert!(
            cookies.contains(&format!("keqing_csrf={csrf}")),
            "{cookies:?}"
        );
        (session, csrf)
    };
    let (session, csrf) = login().await;
    let (_, other_csrf) = login().await;
    let post = |srv: &Srv, cookie_csrf: &str, header: Option<&str>| {
        let mut r = srv
            .http
            .post(srv.url("/customers"))
            .header("cookie", format!("{session}; keqing_csrf={cookie_csrf}"))
            .json(&json!({"name": format!("甲公司{}", rand_suffix())}));
        if let Some(h) = header {
            r = r.header("x-csrf-token", h);
        }
        let send = r.send();
        async move { send.await.unwrap().status().as_u16() }
    };
    assert_eq!(post(&srv, "attacker", Some("attacker")).await, 403);
    assert_eq!(post(&srv, "", Some("")).await, 403);
    assert_eq!(post(&srv, "", None).await, 403);
    assert_eq!(
        post(&srv, &other_csrf, Some(&other_csrf)).await,
        403,
        "another session's token"
    );
    assert_eq!(post(&srv, &csrf, Some(&csrf)).await, 201);
    // The header is what counts (the cookie only carries it to the page).
    assert_eq!(post(&srv, "stale", Some(&csrf)).await, 201);
    // A bearer token needs no CSRF token.
    let t = srv.token().await;
    let r = srv
        .http
        .post(srv.url("/customers"))
        .bearer_auth(&t)
        .json(&json!({"name": "乙公司"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // An ended session is sent to the login page (401), whatever its CSRF token.
    let r = srv
        .http
        .post(srv.url("/customers"))
        .header("cookie", "keqing_session=ended; keqing_csrf=x")
        .header("x-csrf-token", "x")
        .json(&json!({"name": "丙公司"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // /auth/me gives a cookie session its CSRF cookie again (a reload
    // recovers from a stale one).
    let r = srv
        .http
        .get(srv.url("/auth/me"))
        .header("cookie", format!("{session}; keqing_csrf=stale"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(set_cookies(r.headers())[0].starts_with(&format!("keqing_csrf={csrf};")));

    // Sessions outlive a restart, and so does their CSRF token.
    let again = serve_on(srv.store.clone(), srv.dir.clone(), ServerConfig::default()).await;
    assert_eq!(post(&again, &csrf, Some(&csrf)).await, 201);
    assert_eq!(post(&again, "attacker", Some("attacker")).await, 403);
    let reopened = keqing_store::open(&format!(
        "sqlite://{}",
        srv.dir.path().join("t.db").display()
    ))
    .await
    .unwrap();
    let again = serve_on(reopened, srv.dir.clone(), ServerConfig::default()).await;
    assert_eq!(post(&again, &csrf, Some(&csrf)).await, 201);
}

fn rand_suffix() -> u64 {
    static N: AtomicI64 = AtomicI64::new(0);
    N.fetch_add(1, Ordering::SeqCst) as u64
}
