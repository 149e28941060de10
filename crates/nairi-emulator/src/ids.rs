//! Identifier, API-key and timestamp helpers.

use std::sync::Mutex;

use base64::Engine;
use chrono::{DateTime, SubsecRound, Utc};
use rand::RngExt;

static GENERATOR: Mutex<Option<ulid::Generator>> = Mutex::new(None);

/// A fresh ULID string; monotonic so that IDs created in the same millisecond still sort by creation.
pub fn new_ulid() -> String {
    let mut guard = GENERATOR.lock().unwrap_or_else(|e| e.into_inner());
    let generator = guard.get_or_insert_with(ulid::Generator::new);
    match generator.generate() {
        Ok(id) => id.to_string(),
        Err(overflow) => overflow.commit_overflow_random().to_string(),
    }
}

/// A fresh identifier with a type prefix, e.g. `cci_01K…`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", new_ulid())
}

/// Whether `s` is 26 upper-case Crockford base32 characters (the contract's ID pattern).
pub fn is_ulid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 26
        && b.iter().all(|c| {
            matches!(c, b'0'..=b'9' | b'A'..=b'H' | b'J' | b'K' | b'M' | b'N' | b'P'..=b'T' | b'V'..=b'Z')
        })
}

/// Whether `s` is `prefix` followed by a valid ULID.
pub fn has_prefix_ulid(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(is_ulid)
}

/// A new public API key: `nr_` + URL-safe base64 (with padding) of 32 random bytes, 44 characters.
pub fn new_api_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes[..]);
    format!(
        "nr_{}",
        base64::engine::general_purpose::URL_SAFE.encode(bytes)
    )
}

/// The current time truncated to milliseconds, so stored and printed values compare equal.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

/// RFC 3339 UTC with millisecond precision and a `Z` suffix.
pub fn fmt_ts(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Serde helper for timestamps in the wire format.
pub fn ser_ts<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&fmt_ts(t))
}

/// Redacts an API key for logs: the first few characters and a marker.
pub fn redact_key(key: &str) -> String {
    let shown: String = key.chars().take(6).collect();
    format!("{shown}…(redacted)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_sorted() {
        let a = new_id("cci_");
        let b = new_id("cci_");
        assert!(has_prefix_ulid(&a, "cci_"));
        assert!(a < b);
        assert!(!is_ulid("01KEQ6963XS96YDP3NF9NKB7QI"));
        assert!(!is_ulid("01keq6963xs96ydp3nf9nkb7qj"));
    }

    #[test]
    fn api_key_shape() {
        let k = new_api_key();
        assert!(k.starts_with("nr_"));
        assert_eq!(k.len(), 47);
    }

    #[test]
    fn timestamp_format() {
        let t = now();
        let s = fmt_ts(&t);
        assert!(s.ends_with('Z'));
        assert_eq!(s.len(), 24);
    }
}
