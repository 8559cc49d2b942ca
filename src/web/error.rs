//! The one table from errors to HTTP: a stable snake_case code, a status and
//! a message safe to show. Causes go to the log, never to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("not found")]
    NotFound,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("upload too large")]
    TooLarge,
    #[error("log in first (a session cookie or Authorization: Bearer <API token>)")]
    Unauthorized,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A page opened without a login: answered with a redirect.
    #[error("log in first")]
    LoginRequired { next: String },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    fn code(&self) -> (&'static str, StatusCode) {
        match self {
            ApiError::NotFound => ("not_found", StatusCode::NOT_FOUND),
            ApiError::BadRequest(_) => ("bad_request", StatusCode::BAD_REQUEST),
            ApiError::TooLarge => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            ApiError::Unauthorized => ("unauthorized", StatusCode::UNAUTHORIZED),
            ApiError::Forbidden(_) => ("forbidden", StatusCode::FORBIDDEN),
            ApiError::Conflict(_) => ("conflict", StatusCode::CONFLICT),
            ApiError::LoginRequired { .. } => ("login_required", StatusCode::SEE_OTHER),
            ApiError::Internal(_) => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

impl From<crate::store::Error> for ApiError {
    fn from(e: crate::store::Error) -> Self {
        ApiError::Internal(Box::new(e))
    }
}

impl From<crate::workflow::Error> for ApiError {
    fn from(e: crate::workflow::Error) -> Self {
        ApiError::Internal(Box::new(e))
    }
}

impl From<crate::workflow::review::ReviewError> for ApiError {
    fn from(e: crate::workflow::review::ReviewError) -> Self {
        use crate::workflow::review::ReviewError as R;
        match e {
            R::NotFound => ApiError::NotFound,
            R::Invalid(m) => ApiError::BadRequest(m),
            R::NotAllowed(m) => ApiError::Forbidden(m),
            e @ R::WrongState { .. } => ApiError::Conflict(e.to_string()),
            R::Conflict(m) => ApiError::Conflict(m),
            R::Store(e) => ApiError::Internal(Box::new(e)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::LoginRequired { next } = &self {
            let to: String = url_encode(next);
            return axum::response::Redirect::to(&format!("/login?next={to}")).into_response();
        }
        let (code, status) = self.code();
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = %crate::workflow::error_chain(cause.as_ref()), "request failed");
        }
        (
            status,
            Json(serde_json::json!({ "error": { "code": code, "message": self.to_string() } })),
        )
            .into_response()
    }
}

/// Percent-encodes a path (or any text) for a query value.
pub(super) fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
