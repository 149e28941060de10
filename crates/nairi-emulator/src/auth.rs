//! Who may call what: organisation keys on the public and control APIs, and the control token
//! that scopes `/_emulator` on a server reachable from other machines.

use std::net::IpAddr;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::EmulatorError;
use crate::state::Shared;

/// The header that carries the control token (`Authorization` carries organisation keys).
pub const CONTROL_TOKEN_HEADER: &str = "x-emulator-token";

/// The key of an `Authorization: Bearer <key>` header (scheme case-insensitive), if any.
fn bearer(h: &HeaderMap) -> Option<String> {
    let v = h.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, key) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| key.trim().to_string())
        .filter(|k| !k.is_empty())
}

/// The organisation key of a request (public or control API): 401 when the bearer key is
/// missing or belongs to no organisation.
pub(crate) fn authenticate(app: &Shared, h: &HeaderMap) -> Result<String, EmulatorError> {
    let key = bearer(h).ok_or_else(|| {
        EmulatorError::unauthorized("missing API key: send Authorization: Bearer <key>")
    })?;
    if app.lock().orgs.contains_key(&key) {
        Ok(key)
    } else {
        Err(EmulatorError::unauthorized("invalid API key"))
    }
}

/// The organisation key of a control call, checked from the head alone: as an extractor it
/// runs before the body is read, so an unauthenticated upload is refused without reading it.
pub(crate) struct OrgKey(pub String);

impl FromRequestParts<Shared> for OrgKey {
    type Rejection = EmulatorError;

    async fn from_request_parts(parts: &mut Parts, app: &Shared) -> Result<Self, Self::Rejection> {
        authenticate(app, &parts.headers).map(OrgKey)
    }
}

/// Whether a server bound to `ip` scopes its control API by default: only loopback cannot be
/// reached from another machine.
pub(crate) fn token_required_by_default(ip: IpAddr) -> bool {
    !ip.to_canonical().is_loopback()
}

/// Compares without an early exit, so the time taken says nothing about the token.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Refuses every control call without the control token, when the server requires one.
pub(crate) async fn require_control_token(
    State(app): State<Shared>,
    req: Request,
    next: Next,
) -> Response {
    if app.control.required {
        let sent = req
            .headers()
            .get(CONTROL_TOKEN_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !same_secret(sent, app.control.token.as_bytes()) {
            let what = if sent.is_empty() {
                "missing"
            } else {
                "invalid"
            };
            return EmulatorError::unauthorized(format!(
                "{what} control token: the control API of an emulator bound to a non-loopback \
                 address needs {CONTROL_TOKEN_HEADER}: <token printed at start>"
            ))
            .into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_leaves_the_control_api_open() {
        for open in ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert!(!token_required_by_default(open.parse().unwrap()), "{open}");
        }
        for scoped in [
            "0.0.0.0",
            "::",
            "192.168.1.10",
            "10.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(
                token_required_by_default(scoped.parse().unwrap()),
                "{scoped}"
            );
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"emu_a", b"emu_a"));
        assert!(!same_secret(b"emu_a", b"emu_b"));
        assert!(!same_secret(b"emu_a", b"emu_ab"));
        assert!(!same_secret(b"", b"emu_a"));
    }
}
