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

/// Whether `s` is 26 Crockford base32 characters in either case (Crockford base32 is
/// case-insensitive; the contract's pattern shows the canonical upper case).
pub fn is_ulid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 26
        && b.iter().all(|c| {
            matches!(c.to_ascii_uppercase(), b'0'..=b'9' | b'A'..=b'H' | b'J' | b'K' | b'M' | b'N' | b'P'..=b'T' | b'V'..=b'Z')
        })
}

/// `prefix` + ULID in canonical (upper) case, when `s` is `prefix` followed by a ULID in
/// either case: the form entities are stored under.
pub fn canonical_id(s: &str, prefix: &str) -> Option<String> {
    let ulid = s.strip_prefix(prefix).filter(|u| is_ulid(u))?;
    Some(format!("{prefix}{}", ulid.to_ascii_uppercase()))
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

/// A new control-API token: `emu_` + URL-safe base64 of 32 random bytes.
pub fn new_control_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes[..]);
    format!(
        "emu_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Redacts a secret for logs: a marker after at most 6 characters, and never more than a
/// quarter of the secret, so that a short one is not given away.
pub fn redact_key(key: &str) -> String {
    let shown: String = key.chars().take((key.chars().count() / 4).min(6)).collect();
    format!("{shown}…(redacted)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_sorted() {
        let a = new_id("cci_");
        let b = new_id("cci_");
        assert_eq!(canonical_id(&a, "cci_").as_deref(), Some(a.as_str()));
        assert!(a < b);
        assert!(!is_ulid("01KEQ6963XS96YDP3NF9NKB7QI"));
        assert!(!is_ulid("01keq6963xs96ydp3nf9nkb7qi"));
        assert!(is_ulid("01keq6963xs96ydp3nf9nkb7qj"));
        assert_eq!(
            canonical_id("cci_01keq6963xs96ydp3nf9nkb7qj", "cci_").as_deref(),
            Some("cci_01KEQ6963XS96YDP3NF9NKB7QJ")
        );
        assert_eq!(canonical_id("CCI_01KEQ6963XS96YDP3NF9NKB7QJ", "cci_"), None);
    }

    #[test]
    fn short_secrets_are_not_given_away() {
        assert_eq!(redact_key("hunter2"), "h…(redacted)");
        let key = new_api_key();
        assert_eq!(redact_key(&key), format!("{}…(redacted)", &key[..6]));
        assert_eq!(redact_key("abc"), "…(redacted)");
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
