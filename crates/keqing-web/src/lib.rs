//! keqing's web workbench (工作台, SPEC §10): plain HTML, CSS and JavaScript
//! modules that call the JSON API under `/api/v1`, embedded in the binary.
//!
//! Everything the browser loads comes from here: no CDN, no request leaves
//! the machine, and the Content-Security-Policy says so to the browser too.
//! Files are gzip-compressed at build time (`build.rs`) and revalidated by
//! ETag, so a new binary never serves stale scripts.

use axum::extract::Path;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH, REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

struct Asset {
    /// Path under `assets/`, e.g. `js/app.js`.
    path: &'static str,
    mime: &'static str,
    raw: &'static [u8],
    /// Present when compression made the file smaller.
    gz: Option<&'static [u8]>,
    etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Only this server: scripts, styles, images and API calls (ECharts sets
/// inline styles on the elements it draws, hence `'unsafe-inline'` for styles).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The workbench at `/` and its files at `/assets/...`; merge it with the API router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/assets/{*path}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path == "index.html" {
        return StatusCode::NOT_FOUND.into_response();
    }
    serve(&path, &headers)
}

fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(a) = find(path) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut h = HeaderMap::new();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(a.mime));
    h.insert(ETAG, HeaderValue::from_static(a.etag));
    // Revalidate every time: the ETag makes that a 304 without a body.
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if a.mime.starts_with("text/html") {
        h.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
        h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    let fresh = headers
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == a.etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    let gzip_ok = headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    match a.gz {
        Some(gz) if gzip_ok => {
            h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            (h, gz).into_response()
        }
        _ => (h, a.raw).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(path: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, Vec<u8>) {
        let mut req = Request::builder().uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = router::<()>()
            .oneshot(req.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes().to_vec();
        (parts.status, parts.headers, bytes)
    }

    #[tokio::test]
    async fn index_is_served_with_a_strict_policy() {
        let (status, h, body) = get("/", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert!(h[CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        assert!(h[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("connect-src 'self'"));
        let html = String::from_utf8(body).unwrap();
        assert!(html.contains("lang=\"zh-CN\""));
        assert!(html.contains("/assets/js/app.js"));
    }

    #[tokio::test]
    async fn assets_are_compressed_and_revalidated() {
        let (status, h, _) = get("/assets/js/app.js", &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(h[CONTENT_ENCODING], "gzip");
        assert!(h[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"));
        let etag = h[ETAG].to_str().unwrap().to_string();
        let (status, _, body) = get("/assets/js/app.js", &[("if-none-match", &etag)]).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
        let (status, _, _) = get("/assets/nope.js", &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn echarts_ships_with_its_licence() {
        assert!(find("vendor/echarts.min.js").is_some());
        let lic = find("vendor/echarts-LICENSE.txt").expect("licence embedded");
        assert!(String::from_utf8_lossy(lic.raw).contains("Apache License"));
    }

    /// The first load (everything but the vendored chart library, which only
    /// pages with charts fetch) stays under 1.5 MB compressed.
    #[test]
    fn first_load_fits_the_budget() {
        let total: usize = ASSETS
            .iter()
            .filter(|a| !a.path.starts_with("vendor/"))
            .map(|a| a.gz.unwrap_or(a.raw).len())
            .sum();
        assert!(total < 1_500_000, "first load is {total} bytes compressed");
    }

    /// No first-party file names another host: nothing is fetched from outside.
    #[test]
    fn no_asset_points_off_the_machine() {
        for a in ASSETS.iter().filter(|a| !a.path.starts_with("vendor/")) {
            // An SVG's XML namespace is a name, not a request.
            let text = String::from_utf8_lossy(a.raw).replace("http://www.w3.org/2000/svg", "");
            for bad in ["http://", "https://", "//cdn"] {
                assert!(!text.contains(bad), "{} mentions {bad}", a.path);
            }
        }
    }

    /// Every module a script imports is embedded.
    #[test]
    fn imports_resolve() {
        for a in ASSETS.iter().filter(|a| a.path.starts_with("js/")) {
            let text = String::from_utf8_lossy(a.raw);
            for part in text.split("from './").skip(1) {
                let name = part.split('\'').next().unwrap_or("");
                assert!(
                    find(&format!("js/{name}")).is_some(),
                    "{} imports missing {name}",
                    a.path
                );
            }
        }
    }

    /// Every literal `t('key')` in the scripts names an entry of the one
    /// catalogue, and every entry has its Chinese and its English text.
    #[test]
    fn messages_exist_in_both_languages() {
        let catalogue =
            String::from_utf8_lossy(find("js/i18n.js").expect("catalogue").raw).to_string();
        for line in catalogue
            .lines()
            .filter(|l| l.trim_start().starts_with('\''))
        {
            let entry = line.trim();
            assert!(
                entry.contains("': ['")
                    && entry.matches("', '").count() + entry.matches("', \"").count() >= 1,
                "catalogue entry without two texts: {entry}"
            );
        }
        for a in ASSETS.iter().filter(|a| a.path.starts_with("js/")) {
            let text = String::from_utf8_lossy(a.raw);
            for (at, _) in text.match_indices("t('") {
                // `t(` itself, not the end of another name such as `cookie(`.
                if text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.') {
                    continue;
                }
                let key = text[at + 3..].split('\'').next().unwrap_or("");
                assert!(
                    catalogue.contains(&format!("'{key}': [")),
                    "{} uses the message {key:?}, which the catalogue lacks",
                    a.path
                );
            }
        }
    }
}
