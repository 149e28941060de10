//! The one error type of the SDK and its classification.

use std::fmt;
use std::time::Duration;

use crate::redact::Redactor;

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Key prefixes of agent daemon keys, which the public API never accepts.
const DAEMON_KEY_PREFIXES: [&str; 4] = ["nairid_", "eksecd_", "ccagent_", "sys_"];

/// Every way an SDK call can fail.
///
/// The variants map one to one onto the error classes of the Python and Node packages
/// (see [`Error::kind`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a non-2xx status (boxed: the other variants stay small).
    #[error(transparent)]
    Api(#[from] Box<ApiError>),
    /// The request could not reach the server or the connection broke.
    #[error("connection error: {message}")]
    Connection {
        /// What failed, with the causes walked (reqwest hides them in `source()`).
        message: String,
        /// Whether the request provably never reached the server (connect failure).
        never_sent: bool,
        /// The underlying error (from the HTTP stack), kept for `source()` chains.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// One HTTP attempt took longer than its timeout.
    #[error("{endpoint} timed out after {}", fmt_duration(*.timeout))]
    Timeout {
        /// `METHOD path` of the request that timed out.
        endpoint: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// A 2xx response body could not be decoded into the expected type.
    #[error("could not decode the response of {endpoint}: {message}; body starts with: {snippet}")]
    Decode {
        /// `METHOD path` of the request.
        endpoint: String,
        /// The decoder's message.
        message: String,
        /// The first bytes of the offending body.
        snippet: String,
    },
    /// Input rejected before any request was sent.
    #[error("invalid {field}: {message}")]
    Validation {
        /// The offending parameter.
        field: String,
        /// Why it was rejected.
        message: String,
    },
    /// The client configuration is unusable (missing key, bad base URL...).
    #[error("configuration error: {0}")]
    Config(String),
    /// A conversation turn ended with the user message `failed`.
    #[error(transparent)]
    TurnFailed(Box<crate::conversation::TurnFailed>),
    /// Waiting for a turn exceeded its overall timeout.
    #[error(transparent)]
    WaitTimeout(Box<crate::conversation::WaitTimeout>),
    /// The conversation ended (completed or abandoned) while a turn waited, or refused a
    /// follow-up because it had.
    #[error(transparent)]
    ConversationEnded(Box<crate::conversation::ConversationEnded>),
    /// A `start` or `continue` failed ambiguously and the SDK could not establish whether the
    /// server took the prompt (see [`crate::ClientBuilder::recover_prompts`]).
    #[error(transparent)]
    OutcomeUnknown(Box<crate::api::OutcomeUnknown>),
    /// A local file or directory could not be read or written (saving an attachment).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory the operation was on.
        path: std::path::PathBuf,
        /// The operating system's error, kept for its [`std::io::ErrorKind`].
        source: std::io::Error,
    },
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error::Api(Box::new(e))
    }
}

/// Class names shared by the three languages; bindings map each to a native error class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 400.
    BadRequest,
    /// 401.
    Authentication,
    /// 403.
    PermissionDenied,
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// 422.
    UnprocessableEntity,
    /// 429.
    RateLimit,
    /// 5xx.
    InternalServer,
    /// Any other non-2xx status.
    Api,
    /// Connection failures.
    Connection,
    /// Timeouts.
    Timeout,
    /// Undecodable responses.
    Decode,
    /// Client-side validation.
    Validation,
    /// Configuration problems.
    Config,
    /// A failed conversation turn.
    TurnFailed,
    /// A wait that ran out of time.
    WaitTimeout,
    /// A prompt that may or may not have been taken.
    OutcomeUnknown,
    /// A local file system operation failed.
    Io,
    /// A conversation that ended (completed or abandoned).
    ConversationEnded,
}

impl ErrorKind {
    /// Every kind, in the order of the class table.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::BadRequest,
        ErrorKind::Authentication,
        ErrorKind::PermissionDenied,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::UnprocessableEntity,
        ErrorKind::RateLimit,
        ErrorKind::InternalServer,
        ErrorKind::Api,
        ErrorKind::Connection,
        ErrorKind::Timeout,
        ErrorKind::Decode,
        ErrorKind::Validation,
        ErrorKind::Config,
        ErrorKind::TurnFailed,
        ErrorKind::WaitTimeout,
        ErrorKind::ConversationEnded,
        ErrorKind::OutcomeUnknown,
        ErrorKind::Io,
    ];

    /// The class this one derives from in the Python and Node packages: `NairiError` for the
    /// top-level classes, `APIError` for the status classes, `APIConnectionError` for
    /// timeouts (a timeout is a connection that did not answer in time, as in openai).
    pub fn parent_class_name(self) -> &'static str {
        match self {
            ErrorKind::BadRequest
            | ErrorKind::Authentication
            | ErrorKind::PermissionDenied
            | ErrorKind::NotFound
            | ErrorKind::Conflict
            | ErrorKind::UnprocessableEntity
            | ErrorKind::RateLimit
            | ErrorKind::InternalServer => "APIError",
            ErrorKind::Timeout => "APIConnectionError",
            _ => ROOT_CLASS_NAME,
        }
    }

    /// The HTTP status a status class stands for (`None` for 5xx as a range and the others).
    pub fn status(self) -> Option<u16> {
        match self {
            ErrorKind::BadRequest => Some(400),
            ErrorKind::Authentication => Some(401),
            ErrorKind::PermissionDenied => Some(403),
            ErrorKind::NotFound => Some(404),
            ErrorKind::Conflict => Some(409),
            ErrorKind::UnprocessableEntity => Some(422),
            ErrorKind::RateLimit => Some(429),
            _ => None,
        }
    }

    /// The error class name used by the Python and Node packages.
    pub fn class_name(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "BadRequestError",
            ErrorKind::Authentication => "AuthenticationError",
            ErrorKind::PermissionDenied => "PermissionDeniedError",
            ErrorKind::NotFound => "NotFoundError",
            ErrorKind::Conflict => "ConflictError",
            ErrorKind::UnprocessableEntity => "UnprocessableEntityError",
            ErrorKind::RateLimit => "RateLimitError",
            ErrorKind::InternalServer => "InternalServerError",
            ErrorKind::Api => "APIError",
            ErrorKind::Connection => "APIConnectionError",
            ErrorKind::Timeout => "APITimeoutError",
            ErrorKind::Decode => "APIResponseValidationError",
            ErrorKind::Validation => "ValidationError",
            ErrorKind::Config => "ConfigurationError",
            ErrorKind::TurnFailed => "TurnFailedError",
            ErrorKind::WaitTimeout => "WaitTimeoutError",
            ErrorKind::OutcomeUnknown => "OutcomeUnknownError",
            ErrorKind::Io => "FileSystemError",
            ErrorKind::ConversationEnded => "ConversationEndedError",
        }
    }

    fn from_status(status: u16) -> Self {
        match status {
            400 => ErrorKind::BadRequest,
            401 => ErrorKind::Authentication,
            403 => ErrorKind::PermissionDenied,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            422 => ErrorKind::UnprocessableEntity,
            429 => ErrorKind::RateLimit,
            500..=599 => ErrorKind::InternalServer,
            _ => ErrorKind::Api,
        }
    }
}

impl Error {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Api(e) => e.kind(),
            Error::Connection { .. } => ErrorKind::Connection,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Decode { .. } => ErrorKind::Decode,
            Error::Validation { .. } => ErrorKind::Validation,
            Error::Config(_) => ErrorKind::Config,
            Error::TurnFailed(_) => ErrorKind::TurnFailed,
            Error::WaitTimeout(_) => ErrorKind::WaitTimeout,
            Error::OutcomeUnknown(_) => ErrorKind::OutcomeUnknown,
            Error::Io { .. } => ErrorKind::Io,
            Error::ConversationEnded(_) => ErrorKind::ConversationEnded,
        }
    }

    /// The HTTP status, for API errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            _ => None,
        }
    }

    /// The API error, if this is one.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(e),
            _ => None,
        }
    }

    /// A validation error for `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The error of a follow-up refused because conversation `job_id` has ended, with the
    /// server's `refusal` (lets the raw calls build it without the conversation layer).
    pub(crate) fn continue_refused_as_ended(
        job_id: &str,
        job_status: Option<crate::types::JobStatus>,
        refusal: &ApiError,
    ) -> Self {
        Error::ConversationEnded(Box::new(
            crate::conversation::ConversationEnded::refused_continue(job_id, job_status, refusal),
        ))
    }
}

/// The base class of every error in the Python and Node packages.
pub const ROOT_CLASS_NAME: &str = "NairiError";

/// A non-2xx answer from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status code.
    pub status: u16,
    /// The `error` field of a JSON body, else the raw body text, else a description of the status.
    pub message: String,
    /// The raw response body (truncated to 4 KiB), kept when it was not the documented JSON.
    pub body: Option<String>,
    /// The `x-request-id` response header, when present.
    pub request_id: Option<String>,
    /// The delay asked for by a `Retry-After` header (seconds or an HTTP date); a number too
    /// large for a `Duration` reads as `Duration::MAX`. When it exceeds
    /// [`crate::RetryPolicy::max_retry_after`] the call was not retried.
    pub retry_after: Option<Duration>,
    /// `METHOD path` of the request.
    pub endpoint: String,
    /// An extra hint for the user (e.g. a daemon key used against the public API).
    pub hint: Option<String>,
}

impl ApiError {
    /// The class of this error, from its status.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::from_status(self.status)
    }

    /// Builds the error from a response's parts. The key is inspected for its prefix, and
    /// every form of it and of the request's secrets in the body, the message and the
    /// request id (a proxy echoing the Authorization header) is replaced by `<redacted>`
    /// before anything is kept.
    pub(crate) fn from_response(
        status: u16,
        body: &[u8],
        request_id: Option<String>,
        retry_after: Option<Duration>,
        endpoint: String,
        secrets: &Redactor,
    ) -> Self {
        let key = secrets.key();
        let text = secrets.redact(&String::from_utf8_lossy(body));
        let json_message = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                v.get("error")
                    .and_then(|e| e.as_str())
                    .map(|m| secrets.redact(m))
            });
        let request_id = request_id.map(|id| secrets.redact(&id));
        let (message, raw) = match json_message {
            Some(m) => (m, None),
            None if text.trim().is_empty() => (
                format!("HTTP {status} with an empty body"),
                Some(String::new()),
            ),
            None => (summarise_body(&text), Some(truncate(&text, 4096))),
        };
        let hint = (status == 401)
            .then(|| {
                DAEMON_KEY_PREFIXES
                    .iter()
                    .find(|p| key.starts_with(*p))
                    .map(|p| {
                        format!(
                            "the key starts with `{p}`, which is an agent daemon key; \
                             the public API needs an `nr_` key from Settings -> API Key"
                        )
                    })
            })
            .flatten();
        ApiError {
            status,
            message,
            body: raw,
            request_id,
            retry_after,
            endpoint,
            hint,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}) from {}: {}",
            self.status,
            self.kind().class_name(),
            self.endpoint,
            self.message
        )?;
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// One line that tells a person what a non-JSON body was (an HTML page says so).
fn summarise_body(text: &str) -> String {
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
        let title = lower
            .find("<title>")
            .and_then(|s| {
                let rest = &trimmed[s + 7..];
                rest.find("</title>").map(|e| rest[..e].trim().to_owned())
            })
            .filter(|t| !t.is_empty());
        return match title {
            Some(t) => format!("non-JSON HTML response: {t}"),
            None => "non-JSON HTML response (likely from a proxy or gateway)".to_owned(),
        };
    }
    truncate(trimmed, 300)
}

/// Cuts `text` to at most `max` bytes on a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

fn fmt_duration(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_error_body_gives_the_message() {
        let e = ApiError::from_response(
            404,
            br#"{"error":"rule not found"}"#,
            None,
            None,
            "GET /x".into(),
            &Redactor::for_key("nr_k"),
        );
        assert_eq!(e.message, "rule not found");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.body.is_none());
    }

    #[test]
    fn html_body_is_summarised_and_kept() {
        let html =
            "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>";
        let e = ApiError::from_response(
            502,
            html.as_bytes(),
            None,
            None,
            "GET /x".into(),
            &Redactor::for_key("nr_k"),
        );
        assert_eq!(e.message, "non-JSON HTML response: 502 Bad Gateway");
        assert_eq!(e.body.as_deref(), Some(html));
        assert_eq!(e.kind(), ErrorKind::InternalServer);
    }

    #[test]
    fn empty_body_is_described() {
        let e = ApiError::from_response(
            503,
            b"",
            Some("req_1".into()),
            None,
            "GET /x".into(),
            &Redactor::for_key("nr_k"),
        );
        assert_eq!(e.message, "HTTP 503 with an empty body");
        assert!(e.to_string().contains("request id req_1"));
    }

    #[test]
    fn daemon_key_gets_a_hint_on_401() {
        for key in ["nairid_abc", "eksecd_abc", "ccagent_abc", "sys_abc"] {
            let e = ApiError::from_response(
                401,
                br#"{"error":"unauthorized"}"#,
                None,
                None,
                "GET /agents".into(),
                &Redactor::for_key(key),
            );
            let text = e.to_string();
            assert!(text.contains("`nr_` key"), "{text}");
            assert!(
                !text.contains(key),
                "the key itself must not be quoted: {text}"
            );
        }
        let e = ApiError::from_response(
            401,
            b"{}",
            None,
            None,
            "GET /agents".into(),
            &Redactor::for_key("nr_abc"),
        );
        assert!(e.hint.is_none());
    }

    #[test]
    fn an_echoed_key_is_redacted_everywhere() {
        let key = "nr_s3cr3t";
        let e = ApiError::from_response(
            400,
            br#"{"error":"bad key nr_s3cr3t"}"#,
            Some("id-nr_s3cr3t".into()),
            None,
            "GET /x".into(),
            &Redactor::for_key(key),
        );
        assert_eq!(e.message, "bad key <redacted>");
        assert_eq!(e.request_id.as_deref(), Some("id-<redacted>"));
        let e = ApiError::from_response(
            502,
            b"nr_s3cr3t nr_s3cr3t",
            None,
            None,
            "GET /x".into(),
            &Redactor::for_key(key),
        );
        assert_eq!(e.message, "<redacted> <redacted>");
        assert_eq!(e.body.as_deref(), Some("<redacted> <redacted>"));
        assert_eq!(Redactor::for_key("").redact("abc"), "abc");
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("ééé", 3), "é…");
    }
}
