//! Request extractors whose every rejection is an [`ApiError`]: a body, a
//! query or a path that cannot be read answers `{code, message, details}`
//! like every other error, naming the field that was wrong.
//!
//! - [`Json`]: a typed JSON body. Not JSON: 400 with line and column; a
//!   wrong content type: 415; over the body limit: 413; a member of the
//!   wrong type or missing: 422 naming it; a NUL or other control character
//!   in any string: 422 naming where.
//! - [`Query`]: typed query parameters; a bad one is a 422 naming it, and a
//!   control character in any value is refused.
//! - [`Path`]: typed path parameters; a bad one is a 400 naming it.
//! - [`Paging`]: `page` and `per_page` checked, with an offset that cannot
//!   overflow.

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use keqing_domain::text::has_forbidden_control;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde::Serialize;
use serde_json::Value;

/// A typed JSON body; as a response, the value as JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !json_content_type(req.headers()).unwrap_or(false) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "请求内容应为JSON send the body as JSON, with Content-Type: application/json",
            ));
        }
        let value = body_value(req, state).await?;
        typed(value).map(Json)
    }
}

/// An optional body: none when the request names no content type and sends
/// nothing; otherwise read as [`Json`] reads it.
impl<T: DeserializeOwned, S: Send + Sync> axum::extract::OptionalFromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, ApiError> {
        if json_content_type(req.headers()).is_none() {
            let bytes = body_bytes(req, state).await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(None);
            }
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "请求内容应为JSON send the body as JSON, with Content-Type: application/json",
            ));
        }
        <Json<T> as FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}

/// `Some(true)` for a JSON content type, `Some(false)` for another one,
/// `None` when the request names none.
pub(crate) fn json_content_type(headers: &HeaderMap) -> Option<bool> {
    let ct = headers.get(CONTENT_TYPE)?;
    let ct = ct.to_str().ok().unwrap_or("").to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or("").trim();
    Some(essence == "application/json" || essence.ends_with("+json"))
}

/// Reads the body: 413 past the body limit, 400 when it cannot be read.
pub(crate) async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|e: BytesRejection| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too_large",
                    "请求内容过大 the body is larger than this endpoint takes",
                )
            } else {
                ApiError::bad_request(format!("无法读取请求内容 could not read the body: {e}"))
            }
        })
}

/// The body as JSON, with no control character in any of its strings.
pub(crate) async fn body_value<S: Send + Sync>(req: Request, state: &S) -> Result<Value, ApiError> {
    let bytes = body_bytes(req, state).await?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "请求内容不是有效的JSON the body is not valid JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    if let Some(at) = control_at(&value, &mut String::new()) {
        let field = if at.is_empty() {
            "body".to_string()
        } else {
            at
        };
        return Err(ApiError::invalid(
            &field,
            "含有控制字符 contains a control character (such as NUL, ESC or BEL)",
        ));
    }
    Ok(value)
}

/// Where in `v` a string (or a member's name) holds a control character
/// other than a line break or tab, as `a.b[2]`.
fn control_at(v: &Value, path: &mut String) -> Option<String> {
    match v {
        Value::String(s) => has_forbidden_control(s).then(|| path.clone()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, it)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = control_at(it, path);
            path.truncate(len);
            found
        }),
        Value::Object(m) => m.iter().find_map(|(k, it)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(k);
            let found = if has_forbidden_control(k) {
                Some(path.clone())
            } else {
                control_at(it, path)
            };
            path.truncate(len);
            found
        }),
        _ => None,
    }
}

/// `value` as a `T`, or a 422 naming the member that did not fit.
pub(crate) fn typed<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let (field, message) = field_and_message(&e.path().to_string(), &e.inner().to_string());
        ApiError::invalid(&field, format!("字段格式不正确 {field}: {message}"))
    })
}

/// The field an error is about: the path serde walked, or for a missing
/// member (reported at its parent) the member's name.
fn field_and_message(path: &str, message: &str) -> (String, String) {
    let named = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|m| m.split_once('`'))
            .map(|(name, _)| name)
    };
    let (missing, unknown) = (named("missing field `"), named("unknown field `"));
    let field = match (path, missing.or(unknown)) {
        (".", Some(name)) => name.to_string(),
        // serde_path_to_error may already have walked into the member.
        (p, Some(name)) if p == name || p.ends_with(&format!(".{name}")) => p.to_string(),
        (p, Some(name)) => format!("{p}.{name}"),
        (".", None) => "body".to_string(),
        (p, None) => p.to_string(),
    };
    let message = match (missing, unknown) {
        (Some(_), _) => "缺少此字段 this field is required".to_string(),
        (_, Some(_)) => format!("未知的字段 {message}"),
        _ => message.to_string(),
    };
    (field, message)
}

/// For a PATCH member that may be left out, set to null or given: absent
/// is `None` (with `#[serde(default)]`), null is `Some(None)`.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Typed query parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        parse_query(q).map(Query)
    }
}

pub(crate) fn parse_query<T: DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    for (k, v) in form_urlencoded::parse(q.as_bytes()) {
        if has_forbidden_control(&k) || has_forbidden_control(&v) {
            return Err(ApiError::invalid(
                &k,
                "查询参数含有控制字符 the query parameter contains a control character (such as NUL)",
            ));
        }
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
    serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
        let (field, message) = field_and_message(&e.path().to_string(), &e.inner().to_string());
        ApiError::invalid(
            &field,
            format!("查询参数不正确 query parameter {field}: {message}"),
        )
    })
}

/// Typed path parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let message = match e.kind() {
                    ErrorKind::ParseErrorAtKey {
                        key,
                        value,
                        expected_type,
                    } => format!(
                        "路径参数不正确 path parameter {key}: {value:?} is not a {expected_type}"
                    ),
                    ErrorKind::ParseError {
                        value,
                        expected_type,
                    } => {
                        format!("路径参数不正确 path parameter {value:?} is not a {expected_type}")
                    }
                    other => format!("路径参数不正确 bad path parameter: {other}"),
                };
                Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_path", message))
            }
            Err(e) => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("路径参数无法读取 the path could not be read: {e}"),
            )),
        }
    }
}

/// The largest page number any list takes: with at most 1,000 rows a page,
/// a billion rows; a larger number is a mistake, not a page.
pub const MAX_PAGE: i64 = 1_000_000;

/// A checked `page` and `per_page`: `page` below 1 reads as 1; above
/// [`MAX_PAGE`] it is a 422, so the offset never overflows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
    pub offset: i64,
}

impl Paging {
    /// `per_page` defaults to `default` and is clamped to `1..=max`.
    pub fn new(
        page: Option<i64>,
        per_page: Option<i64>,
        default: i64,
        max: i64,
    ) -> Result<Paging, ApiError> {
        Paging::of(page, per_page.unwrap_or(default).clamp(1, max))
    }

    /// A checked page of `per_page` rows (already validated by the caller).
    pub fn of(page: Option<i64>, per_page: i64) -> Result<Paging, ApiError> {
        let page = page.unwrap_or(1).max(1);
        if page > MAX_PAGE {
            return Err(ApiError::invalid(
                "page",
                format!("页码应为1到{MAX_PAGE} page must be between 1 and {MAX_PAGE}"),
            ));
        }
        let offset = (page - 1)
            .checked_mul(per_page)
            .ok_or_else(|| ApiError::invalid("page", "页码过大 page is too large"))?;
        Ok(Paging {
            page,
            per_page,
            offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_refuses_a_page_that_would_overflow() {
        assert!(Paging::of(Some(i64::MAX), 200).is_err());
        assert!(Paging::of(Some(MAX_PAGE + 1), 1).is_err());
        let p = Paging::of(Some(MAX_PAGE), 1000).unwrap();
        assert_eq!(p.offset, (MAX_PAGE - 1) * 1000);
        assert_eq!(Paging::of(Some(-5), 20).unwrap().offset, 0);
        assert_eq!(
            Paging::new(Some(3), Some(5000), 20, 200).unwrap().offset,
            400
        );
    }

    #[test]
    fn control_characters_are_found_with_their_path() {
        let v = serde_json::json!({"name": "ok", "contacts": [{"name": "a"}, {"notes": "x\u{0}"}]});
        assert_eq!(
            control_at(&v, &mut String::new()).as_deref(),
            Some("contacts[1].notes")
        );
        let ok = serde_json::json!({"notes": "两行\n文字"});
        assert_eq!(control_at(&ok, &mut String::new()), None);
    }

    #[test]
    fn a_missing_or_unknown_member_is_named() {
        assert_eq!(
            field_and_message(".", "missing field `to_user`").0,
            "to_user"
        );
        assert_eq!(field_and_message("note", "invalid type").0, "note");
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Patch {
            name: Option<String>,
            inner: Option<Inner>,
        }
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Inner {
            a: Option<u8>,
        }
        let field = |v: Value| match typed::<Patch>(v) {
            Err(e) => e.details["fields"][0]["field"].clone(),
            Ok(p) => panic!("{p:?} taken"),
        };
        assert_eq!(field(serde_json::json!({"colour": "red"})), "colour");
        assert_eq!(field(serde_json::json!({"inner": {"b": 1}})), "inner.b");
    }
}
