//! Reading request bodies within bounds: a size cap checked against `Content-Length` before
//! any byte is read, and a deadline for the whole body, so a slow or endless upload cannot
//! hold a connection or memory.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::EmulatorError;
use crate::state::Shared;

/// Default time a client has to send a whole request body.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a body was not read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Larger than the limit, by its `Content-Length` or as it arrived (413).
    TooLarge(usize),
    /// Not complete within the deadline (408, connection closed).
    Timeout(Duration),
    /// The client broke off or sent a malformed body (400).
    Unreadable,
}

impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        let mut resp = match self {
            BodyError::TooLarge(limit) => {
                EmulatorError::new(413, format!("request body too large (limit {limit} bytes)"))
            }
            BodyError::Timeout(t) => EmulatorError::new(
                408,
                format!("request body not received within {} ms", t.as_millis()),
            ),
            BodyError::Unreadable => EmulatorError::bad_request("could not read request body"),
        }
        .into_response();
        // The rest of the body is never read: the connection cannot carry another request.
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        resp
    }
}

/// The declared length, when it exceeds `limit`: refused before a byte is read (and so before
/// hyper sends `100 Continue`).
pub(crate) fn declared_too_large(headers: &HeaderMap, limit: usize) -> Option<BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    (declared > limit as u64).then_some(BodyError::TooLarge(limit))
}

/// Reads the whole body: at most `limit` bytes, within `timeout`.
pub(crate) async fn read(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, BodyError> {
    if let Some(e) = declared_too_large(headers, limit) {
        return Err(e);
    }
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(BodyError::Timeout(timeout)),
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            Err(if too_large {
                BodyError::TooLarge(limit)
            } else {
                BodyError::Unreadable
            })
        }
    }
}

/// A control-API body: at most [`crate::CONTROL_BODY_LIMIT`] bytes, within the body timeout.
pub(crate) struct ControlBody(pub Bytes);

impl FromRequest<Shared> for ControlBody {
    type Rejection = BodyError;

    async fn from_request(req: Request, app: &Shared) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        read(
            &parts.headers,
            body,
            crate::admin::CONTROL_BODY_LIMIT,
            app.limits.body_timeout,
        )
        .await
        .map(ControlBody)
    }
}
