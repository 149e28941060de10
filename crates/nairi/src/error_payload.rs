//! The serialised form of an [`Error`]: what a binding reads to raise its native class.

use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::types::Message;

/// Every field a binding needs to build its error, in one flat object.
///
/// `class` is [`ErrorKind::class_name`]; the other fields are present when they apply to that
/// class: the API fields (`status`, `request_id`, `retry_after`, `hint`, `endpoint`, `body`),
/// `field` for a validation error, and the turn fields (`job_id`, `message_id`, `detail`,
/// `last_status`, `system_messages`) for `TurnFailedError` and `WaitTimeoutError`. Durations
/// are seconds. Nothing here holds the API key: the messages were redacted when the error
/// was built.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ErrorPayload {
    /// The class name shared by the three languages (`NotFoundError`).
    pub class: &'static str,
    /// The full human-readable message (the Rust `Display`).
    pub message: String,
    /// The HTTP status of an API error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The `x-request-id` of the answer, for support tickets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Seconds the server asked to wait (`Retry-After`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<f64>,
    /// An extra hint for the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// `METHOD path` of the request that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The raw (redacted, truncated) body of an API error that was not the documented JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The parameter a validation error is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The file or directory of a file-system error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Whether a connection error provably never reached the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub never_sent: Option<bool>,
    /// Seconds of the timeout that expired, or that a wait lasted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// The conversation of a turn error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The user message of a turn error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The failure detail of a failed turn (prefix removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The job's status of an ended conversation (`completed`, `abandoned`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_status: Option<String>,
    /// The platform's notice that ended the conversation ("Job abandoned: ...").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// The agent of a prompt whose outcome is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// SHA-256 (hex) of a prompt whose outcome is unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_sha256: Option<String>,
    /// When that call started (RFC 3339, this machine's clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// The last status seen by a wait that timed out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
    /// The last transient error while waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// This turn's system messages (a failure can produce two).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system_messages: Vec<Message>,
    /// The causes below the message, outermost first (a connection error's HTTP stack).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
}

impl ErrorPayload {
    fn new(kind: ErrorKind, message: String) -> Self {
        ErrorPayload {
            class: kind.class_name(),
            message,
            status: None,
            request_id: None,
            retry_after: None,
            hint: None,
            endpoint: None,
            body: None,
            field: None,
            path: None,
            never_sent: None,
            timeout: None,
            job_id: None,
            message_id: None,
            detail: None,
            job_status: None,
            notice: None,
            agent_id: None,
            prompt_sha256: None,
            started_at: None,
            last_status: None,
            last_error: None,
            system_messages: Vec::new(),
            causes: Vec::new(),
        }
    }
}

impl Error {
    /// The serialised form, from which every binding builds its native error.
    ///
    /// ```
    /// let err = nairi::Error::validation("name", "must not be empty");
    /// let payload = err.to_payload();
    /// assert_eq!(payload.class, "ValidationError");
    /// assert_eq!(payload.field.as_deref(), Some("name"));
    /// ```
    pub fn to_payload(&self) -> ErrorPayload {
        let mut p = ErrorPayload::new(self.kind(), self.to_string());
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            let text = s.to_string();
            if !p.message.contains(&text) && !p.causes.contains(&text) {
                p.causes.push(text);
            }
            source = s.source();
        }
        match self {
            Error::Api(e) => {
                p.status = Some(e.status);
                p.request_id = e.request_id.clone();
                p.retry_after = e.retry_after.map(|d| d.as_secs_f64());
                p.hint = e.hint.clone();
                p.endpoint = Some(e.endpoint.clone());
                p.body = e.body.clone();
                // The message is the API error's own, which `Display` decorates.
                p.causes.clear();
            }
            Error::Connection { never_sent, .. } => p.never_sent = Some(*never_sent),
            Error::Timeout { endpoint, timeout } => {
                p.endpoint = Some(endpoint.clone());
                p.timeout = Some(timeout.as_secs_f64());
            }
            Error::Decode { endpoint, .. } => p.endpoint = Some(endpoint.clone()),
            Error::Validation { field, .. } => p.field = Some(field.clone()),
            Error::Config(_) => {}
            Error::ConversationEnded(c) => {
                p.job_id = Some(c.job_id.clone());
                p.message_id = c.message_id.clone();
                p.job_status = c.job_status.as_ref().map(|s| s.as_str().to_owned());
                p.notice = c.notice.clone();
                p.last_status = c.last_status.as_ref().map(|s| s.as_str().to_owned());
                p.request_id = c.request_id.clone();
                p.causes.clear();
            }
            Error::OutcomeUnknown(o) => {
                p.agent_id = o.agent_id.clone();
                p.job_id = o.job_id.clone();
                p.prompt_sha256 = Some(o.prompt_sha256.clone());
                p.started_at = Some(o.started_at.to_rfc3339());
                p.detail = Some(o.reason.clone());
                p.causes.clear();
            }
            Error::Io { path, .. } => p.path = Some(path.display().to_string()),
            Error::TurnFailed(t) => {
                p.job_id = Some(t.job_id.clone());
                p.message_id = Some(t.message_id.clone());
                p.detail = t.detail.clone();
                p.system_messages = t.system_messages.clone();
                p.causes.clear();
            }
            Error::WaitTimeout(t) => {
                p.job_id = Some(t.job_id.clone());
                p.message_id = Some(t.message_id.clone());
                p.last_status = t.last_status.as_ref().map(|s| s.as_str().to_owned());
                p.timeout = Some(t.waited.as_secs_f64());
                p.last_error = t.last_error.clone();
                p.causes.clear();
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::error::ApiError;

    #[test]
    fn an_api_error_carries_its_fields() {
        let mut api = ApiError::from_response(
            429,
            br#"{"error":"slow down"}"#,
            Some("req_9".into()),
            Some(Duration::from_millis(1500)),
            "GET /agents".into(),
            &crate::redact::Redactor::for_key("nr_k"),
        );
        api.hint = Some("wait".into());
        let v = serde_json::to_value(Error::from(api).to_payload()).unwrap();
        assert_eq!(v["class"], "RateLimitError");
        assert_eq!(v["status"], 429);
        assert_eq!(v["request_id"], "req_9");
        assert_eq!(v["retry_after"], 1.5);
        assert_eq!(v["hint"], "wait");
        assert_eq!(v["endpoint"], "GET /agents");
        assert!(v["message"].as_str().unwrap().contains("slow down"));
        assert!(v.get("field").is_none() && v.get("causes").is_none());
    }

    #[test]
    fn every_variant_names_its_class_and_validation_its_field() {
        let cases = [
            (
                Error::validation("body.nmae", "unknown field"),
                "ValidationError",
            ),
            (Error::Config("no key".into()), "ConfigurationError"),
            (
                Error::Timeout {
                    endpoint: "GET /x".into(),
                    timeout: Duration::from_secs(2),
                },
                "APITimeoutError",
            ),
            (
                Error::Connection {
                    message: "reset".into(),
                    never_sent: true,
                    source: Some("peer reset the stream".into()),
                },
                "APIConnectionError",
            ),
        ];
        for (err, class) in cases {
            let p = err.to_payload();
            assert_eq!(p.class, class);
            assert_eq!(p.message, err.to_string());
        }
        let p = Error::validation("body.nmae", "unknown field").to_payload();
        assert_eq!(p.field.as_deref(), Some("body.nmae"));
        let p = Error::Connection {
            message: "reset".into(),
            never_sent: true,
            source: Some("peer reset the stream".into()),
        }
        .to_payload();
        assert_eq!(p.causes, ["peer reset the stream"]);
        assert_eq!(p.never_sent, Some(true));
    }
}
