//! The one error shape of the emulator: `{"error": "..."}` with an HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error from the emulator, public API or control API alike.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {message}")]
pub struct EmulatorError {
    /// HTTP status code.
    pub status: u16,
    /// The text sent as `{"error": ...}`.
    pub message: String,
}

impl EmulatorError {
    /// An error with an explicit status.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }
    /// 401 Unauthorized.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, message)
    }
    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }
}

impl IntoResponse for EmulatorError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            axum::Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// Result type of request handlers.
pub type ApiResult<T> = Result<T, EmulatorError>;
