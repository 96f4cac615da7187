//! API errors: `{ "code", "message", "details" }` with the right status (SPEC §10).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use keqing_domain::ValidationError;
use keqing_store::StoreError;
use serde_json::{json, Value};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = details;
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
        (self.status, Json(body)).into_response()
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.to_string())
            .with_details(json!({"fields": e.errors}))
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
            StoreError::Duplicate(ids) => ApiError::new(
                StatusCode::CONFLICT,
                "duplicate",
                "客户已存在 a customer with the same external code, or the same name and phone, exists already; merge instead",
            )
            .with_details(json!({"duplicates": ids})),
            StoreError::Refused(m) => {
                ApiError::new(StatusCode::CONFLICT, "refused", format!("操作被拒绝 {m}"))
            }
            StoreError::Db(m) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the database failed")
                .with_details(json!({"error": m})),
        }
    }
}

/// A JSON body parsed with a clear error when it is not JSON or not an object.
pub struct JsonObject(pub serde_json::Map<String, Value>);

impl<S: Send + Sync> axum::extract::FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                ApiError::bad_request(format!("无法读取请求内容 could not read the body: {e}"))
            })?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(JsonObject(m)),
            Ok(_) => Err(ApiError::bad_request(
                "请求内容应为JSON对象 the body must be a JSON object",
            )),
            Err(e) => Err(ApiError::bad_request(format!(
                "请求内容不是有效的JSON the body is not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ))),
        }
    }
}
