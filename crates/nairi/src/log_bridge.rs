//! What the bindings' log bridges share, so that Python's `logging` and a JavaScript logger
//! see the same events with the same redaction: the `NAIRI_LOG` level names, a tracing level's
//! rank on that scale, and the redaction of every key the process has been given (with the
//! forms the transport redacts in error bodies: percent-encoded, JSON-escaped, truncated runs)
//! and of any `authorization` value in a forwarded line. The core itself never logs a key; this
//! is the last guard before text leaves for another language's logger.

use std::sync::{PoisonError, RwLock};

use tracing::Level;

use crate::redact::{REDACTED, Redactor};

/// The secrets remembered so far (a redactor without a key of its own).
static SEEN: RwLock<Option<Redactor>> = RwLock::new(None);

/// The verbosity a `NAIRI_LOG` value names, 0 (off) to 5 (trace): `off`/`none`/empty,
/// `error`, `warn`/`warning`, `info`, `debug`, `trace`, in any case; `None` for another name.
///
/// ```
/// assert_eq!(nairi::log_bridge::parse_level("Warning"), Some(2));
/// assert_eq!(nairi::log_bridge::parse_level("loud"), None);
/// ```
pub fn parse_level(name: &str) -> Option<u8> {
    match name.trim().to_ascii_lowercase().as_str() {
        "" | "off" | "none" => Some(0),
        "error" => Some(1),
        "warn" | "warning" => Some(2),
        "info" => Some(3),
        "debug" => Some(4),
        "trace" => Some(5),
        _ => None,
    }
}

/// A tracing level's rank on the [`parse_level`] scale (an event is forwarded when its rank is
/// at most the chosen verbosity).
pub fn level_rank(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

/// Remembers a key (or another secret) for [`redact`], process-wide. Shorter than 4 bytes
/// once trimmed, it is ignored: redacting it wherever it occurs would garble every line.
pub fn remember_secret(secret: &str) {
    let secret = secret.trim();
    if secret.len() < 4 {
        return;
    }
    let mut seen = SEEN.write().unwrap_or_else(PoisonError::into_inner);
    let base = seen.take().unwrap_or_else(|| Redactor::for_key(""));
    *seen = Some(base.with_secrets([secret]));
}

/// `text` with every remembered secret (and its forms) replaced by `<redacted>`, and so is
/// the value after every `authorization` name (in any case, past the `"`, `:`, `=` and spaces
/// that follow it, up to the end of the line, a `,`, `}` or `"`).
///
/// ```
/// nairi::log_bridge::remember_secret("nr_example_key_0123456789");
/// let line = nairi::log_bridge::redact("sent nr_example_key_0123456789, authorization: Bearer x");
/// assert_eq!(line, "sent <redacted>, authorization: <redacted>");
/// ```
pub fn redact(text: &str) -> String {
    const NAME: &str = "authorization";
    let mut text = match &*SEEN.read().unwrap_or_else(PoisonError::into_inner) {
        Some(redactor) => redactor.redact(text),
        None => text.to_owned(),
    };
    let mut from = 0;
    while let Some(at) = text[from..].to_ascii_lowercase().find(NAME) {
        let after = from + at + NAME.len();
        let start = text[after..]
            .find(|c: char| !matches!(c, '"' | ':' | '=' | ' '))
            .map_or(text.len(), |i| after + i);
        let end = text[start..]
            .find(['\n', ',', '}', '"'])
            .map_or(text.len(), |i| start + i);
        from = start;
        if end > start {
            text.replace_range(start..end, REDACTED);
            from += REDACTED.len();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_ranks_share_one_scale() {
        let names = [
            ("off", 0),
            ("ERROR", 1),
            ("warn", 2),
            ("info", 3),
            ("debug", 4),
            ("trace", 5),
        ];
        for (name, rank) in names {
            assert_eq!(parse_level(name), Some(rank), "{name}");
        }
        assert_eq!(parse_level(" none "), Some(0));
        assert_eq!(parse_level("verbose"), None);
        assert_eq!(Some(level_rank(&Level::WARN)), parse_level("warning"));
        assert_eq!(level_rank(&Level::TRACE), 5);
    }

    #[test]
    fn remembered_keys_and_their_forms_and_authorization_values_are_redacted() {
        let key = "nr_log_bridge_test_key_abcdef0123456789=";
        assert_eq!(redact("nothing secret"), "nothing secret");
        remember_secret("   ");
        remember_secret("ab");
        assert_eq!(redact("nothing secret, ab"), "nothing secret, ab");
        remember_secret(key);
        remember_secret(key);
        let cut = &key[..20]; // a truncated echo
        let out = redact(&format!("a {key} b {cut} c"));
        assert!(!out.contains("abcdef0123456789"), "{out}");
        assert!(!out.contains(&key[3..15]), "{out}");
        assert_eq!(
            redact("{\"Authorization\": \"Bearer zzz\", \"x\": 1}"),
            "{\"Authorization\": \"<redacted>\", \"x\": 1}"
        );
        assert_eq!(
            redact("authorization=Bearer a\nAUTHORIZATION: Bearer b"),
            "authorization=<redacted>\nAUTHORIZATION: <redacted>"
        );
        assert_eq!(redact("authorization:"), "authorization:");
    }
}
