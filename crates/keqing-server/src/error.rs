//! API errors: `{ "code", "message", "details" }` with the right status (SPEC §10).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use keqing_app::AppError;
use keqing_domain::ValidationError;
use keqing_store::StoreError;
use serde_json::{json, Value};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u16>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Value::Null,
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = details;
        self
    }

    /// Sent with a `Retry-After` header of `seconds`.
    pub fn with_retry_after(mut self, seconds: u16) -> ApiError {
        self.retry_after = Some(seconds);
        self
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "请先登录 log in first: no valid session or token",
        )
    }

    pub fn forbidden(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("无权操作 your role may not {what}"),
        )
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("未找到 {what} not found"),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::from(ValidationError::one(field, message))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, details = %self.details, "request failed");
        }
        let body = json!({"code": self.code, "message": self.message, "details": self.details});
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(s),
            );
        }
        resp
    }
}

/// A short random reference that ties an answer to its line in the log.
fn error_reference() -> String {
    use rand_core::RngCore;
    format!("E{:08x}", rand_core::OsRng.next_u32())
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
            .with_details(json!({"fields": e.errors}))
    }
}

/// A use case's failure (`keqing-app`) as the answer the API has always
/// given for it.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        match e {
            AppError::Invalid(e) => e.into(),
            AppError::NotFound(what) => ApiError::not_found(&what),
            AppError::Forbidden(what) => ApiError::forbidden(&what),
            AppError::NoOrders => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "no_orders", e.to_string())
            }
            AppError::Analysis(_) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "analysis", e.to_string())
            }
            AppError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound => ApiError::not_found("record"),
            StoreError::Conflict { expected, current } => ApiError::new(
                StatusCode::CONFLICT,
                "version_conflict",
                "记录已被他人修改 someone else saved this record first; reload it and apply your change again",
            )
            .with_details(json!({"expected_version": expected, "current_version": current})),
            // Which records they are is for the handler to say, to those
            // who may read them (customers::scoped_duplicate).
            StoreError::Duplicate(_) => ApiError::new(
                StatusCode::CONFLICT,
                "duplicate",
                "记录已存在 a record with the same key exists already",
            ),
            StoreError::Invalid { field, message } => ApiError::invalid(&field, message),
            StoreError::Refused(m) => {
                ApiError::new(StatusCode::CONFLICT, "refused", format!("操作被拒绝 {m}"))
            }
            StoreError::Db(m) => {
                // The database's own words stay in the log: they can name
                // tables, values and versions nobody outside should read.
                let reference = error_reference();
                tracing::error!(reference = %reference, error = %m, "database error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("数据库出错，请稍后重试 the database failed; the server log has it under {reference}"),
                )
                .with_details(json!({"reference": reference}))
            }
        }
    }
}

/// A JSON object body for a parser that names every wrong member at once
/// (the domain's `from_json`, a merge patch keeping absent apart from
/// null), where a typed body would stop at the first. `T` is the schema
/// the body is documented with (`request_body = T`); the object itself is
/// handed over. Not JSON, not an object, or a control character: the
/// answers of [`crate::extract`]; a request naming no content type is read
/// as JSON.
pub struct JsonObject<T>(
    pub serde_json::Map<String, Value>,
    pub std::marker::PhantomData<fn() -> T>,
);

impl<T, S: Send + Sync> axum::extract::FromRequest<S> for JsonObject<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        if crate::extract::json_content_type(req.headers()) == Some(false) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "请求内容应为JSON send the body as JSON, with Content-Type: application/json",
            ));
        }
        match crate::extract::body_value(req, state).await? {
            Value::Object(m) => Ok(JsonObject(m, std::marker::PhantomData)),
            _ => Err(ApiError::bad_request(
                "请求内容应为JSON对象 the body must be a JSON object",
            )),
        }
    }
}

/// Every error answer of the API in the documented shape: a rejection made
/// outside our handlers (a method the route does not have, a body over a
/// layer's limit) comes as plain text, and is answered here as
/// `{code, message, details}` with the same status.
pub async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (code, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "不支持此请求方法 this endpoint does not take that method",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too_large",
            "请求内容过大 the body is larger than this endpoint takes",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "请求内容类型不正确 this endpoint does not take that content type",
        ),
        StatusCode::NOT_FOUND => ("not_found", "未找到 not found"),
        s if s.is_server_error() => ("internal", "服务器出错 the server failed"),
        _ => ("bad_request", "请求不正确 the request could not be read"),
    };
    let mut out = ApiError::new(status, code, message).into_response();
    for (name, value) in resp.headers() {
        if name == axum::http::header::ALLOW || name == axum::http::header::RETRY_AFTER {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}
