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
