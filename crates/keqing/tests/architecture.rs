//! ARCHITECTURE.md's dependency rules, checked on every test run.

fn deps(krate: &str) -> Vec<String> {
    let path = format!("{}/../{krate}/Cargo.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = vec![];
    let mut in_deps = false;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            // Normal dependencies only: dev-dependencies may bring test tools.
            in_deps = l == "[dependencies]";
            continue;
        }
        if in_deps {
            if let Some((name, _)) = l.split_once('=') {
                out.push(name.trim().to_string());
            }
        }
    }
    out
}

const WEB_OR_DB: &[&str] = &[
    "axum",
    "hyper",
    "reqwest",
    "tower",
    "tower-http",
    "rusqlite",
    "tokio-postgres",
    "deadpool-postgres",
    "sqlx",
];

#[test]
fn libraries_have_no_web_or_database_dependency() {
    for krate in [
        "keqing-domain",
        "keqing-analysis",
        "keqing-care",
        "keqing-io",
        "keqing-demo",
    ] {
        let d = deps(krate);
        for bad in WEB_OR_DB {
            assert!(
                !d.iter().any(|x| x == bad),
                "{krate} must not depend on {bad}"
            );
        }
    }
}

#[test]
fn the_engines_and_the_domain_depend_on_no_other_keqing_crate() {
    for krate in ["keqing-domain", "keqing-analysis", "keqing-care"] {
        assert!(
            !deps(krate).iter().any(|x| x.starts_with("keqing")),
            "{krate} must stand alone"
        );
    }
    for krate in ["keqing-io", "keqing-demo"] {
        let d: Vec<_> = deps(krate)
            .into_iter()
            .filter(|x| x.starts_with("keqing"))
            .collect();
        assert_eq!(d, vec!["keqing-domain"], "{krate} may use only the domain");
    }
}

#[test]
fn the_workbench_knows_the_api_only_over_http() {
    assert!(
        !deps("keqing-web").iter().any(|x| x.starts_with("keqing")),
        "keqing-web must not depend on other keqing crates"
    );
}

#[test]
fn only_the_store_speaks_sql_and_the_store_knows_no_web() {
    let store = deps("keqing-store");
    for bad in [
        "axum",
        "hyper",
        "keqing-io",
        "keqing-analysis",
        "keqing-care",
        "keqing-server",
    ] {
        assert!(
            !store.iter().any(|x| x == bad),
            "keqing-store must not depend on {bad}"
        );
    }
    let server = deps("keqing-server");
    for bad in ["rusqlite", "tokio-postgres", "deadpool-postgres", "sqlx"] {
        assert!(
            !server.iter().any(|x| x == bad),
            "keqing-server must not depend on {bad}: SQL lives in the store"
        );
    }
}

#[test]
fn the_use_cases_know_no_http() {
    let app = deps("keqing-app");
    for bad in WEB_OR_DB.iter().chain(&["keqing-server", "keqing-web"]) {
        assert!(
            !app.iter().any(|x| x == bad),
            "keqing-app must not depend on {bad}: the server and the command line call it, not the other way"
        );
    }
}

/// What the binary may take from `keqing-server`: what it needs to serve.
/// Everything else it does (imports, care, analysis, the pool, the demo,
/// passwords) is `keqing-app`'s.
const SERVING: &[&str] = &[
    "AppState",
    "ServerConfig",
    "auth::TrustedProxy",
    "auth::SecureCookies",
    "serve",
    "serve_with",
    "router",
];

/// The paths a text names under `keqing_server`, use groups expanded:
/// `keqing_server::{AppState, auth::{SecureCookies}}` names `AppState` and
/// `auth::SecureCookies`. A use of the crate that is not a path (`use
/// keqing_server;`, `keqing_server as s`) is named as it stands.
fn server_paths(text: &str) -> Vec<String> {
    fn group(prefix: &str, text: &str, out: &mut Vec<String>) {
        // `text` starts after `{`; items split at top-level commas.
        let (mut depth, mut start) = (0usize, 0usize);
        for (i, c) in text.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    item(prefix, &text[start..i], out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    item(prefix, &text[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
    }
    fn item(prefix: &str, text: &str, out: &mut Vec<String>) {
        let t = text.trim();
        if t.is_empty() {
            return;
        }
        match t.split_once('{') {
            Some((head, rest)) => group(&format!("{prefix}{head}"), rest, out),
            None => out.push(format!("{prefix}{t}")),
        }
    }
    let mut out = vec![];
    for (at, _) in text.match_indices("keqing_server") {
        let rest = &text[at + "keqing_server".len()..];
        let Some(path) = rest.strip_prefix("::") else {
            out.push(format!(
                "keqing_server{}",
                rest.lines().next().unwrap_or_default()
            ));
            continue;
        };
        let end = path
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(path.len());
        match path[end..].strip_prefix('{') {
            Some(g) => group(&path[..end], g, &mut out),
            None => out.push(path[..end].to_string()),
        }
    }
    out
}

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn the_binary_uses_the_server_only_to_serve() {
    let mut files = vec![];
    rust_files(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(!files.is_empty());
    let mut bad = vec![];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for p in server_paths(&text) {
            let p: String = p.chars().filter(|c| !c.is_whitespace()).collect();
            let allowed = SERVING
                .iter()
                .any(|s| p == *s || p.starts_with(&format!("{s}::")));
            if !allowed {
                bad.push(format!("{}: keqing_server::{p}", f.display()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "the binary uses keqing-server only to serve; call keqing-app for the rest:\n{}",
        bad.join("\n")
    );
}

#[test]
fn server_paths_expand_use_groups() {
    let text = "use keqing_server::{AppState, auth::{SecureCookies, hash_password}};\n\
                let c = keqing_server::ServerConfig::default();\n\
                use keqing_server::auth::{TrustedProxy, token_hash};\n\
                use keqing_server as s;";
    assert_eq!(
        server_paths(text),
        [
            "AppState",
            "auth::SecureCookies",
            "auth::hash_password",
            "ServerConfig::default",
            "auth::TrustedProxy",
            "auth::token_hash",
            "keqing_server as s;",
        ]
    );
}
