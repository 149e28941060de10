//! Path building: every caller-supplied segment is percent-encoded and checked.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::{Error, Result};

/// Everything but RFC 3986 unreserved characters is encoded, so `/`, `?`, `#` and `%` in an
/// id can never change the route (a slug `acme/web` travels as `acme%2Fweb`).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Longest encoded path segment sent: 2 KiB. Nairi ids are under 40 characters and agent
/// slugs a few dozen; anything near this is a bug or a hostile value (a server-supplied
/// 100,000-character message id), refused before sending instead of failing as a retried
/// connection error (servers answer 414 or drop the connection).
pub const MAX_PATH_SEGMENT_BYTES: usize = 2048;

/// Longest URL sent, query included: 8000 bytes, the length RFC 9110 (section 4.1)
/// recommends every sender and recipient support; common servers and proxies refuse longer
/// request lines (Apache 8190 bytes, nginx an 8 KiB buffer by default).
pub const MAX_URL_BYTES: usize = 8000;

/// Encodes one path segment supplied by the caller; `field` names it in the error.
///
/// Empty and dot-only values are refused: URL parsers resolve `.`/`..` (even encoded as
/// `%2E`), which would change the route. A value longer than [`MAX_PATH_SEGMENT_BYTES`]
/// once encoded is refused too.
pub fn segment(value: &str, field: &str) -> Result<String> {
    if value.is_empty() {
        return Err(Error::validation(field, "must not be empty"));
    }
    // Checked before encoding too, so a huge value is never copied into a huger string.
    if value.len() > MAX_PATH_SEGMENT_BYTES {
        return Err(too_long(field, value.len()));
    }
    if value.chars().all(|c| c == '.') {
        return Err(Error::validation(
            field,
            format!("{value:?} is not a valid identifier"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::validation(
            field,
            "must not contain control characters",
        ));
    }
    let encoded = utf8_percent_encode(value, SEGMENT).to_string();
    if encoded.len() > MAX_PATH_SEGMENT_BYTES {
        return Err(too_long(field, encoded.len()));
    }
    Ok(encoded)
}

fn too_long(field: &str, len: usize) -> Error {
    Error::validation(
        field,
        format!("is {len} bytes long (encoded); the limit is {MAX_PATH_SEGMENT_BYTES} bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slashes_and_specials_are_encoded() {
        assert_eq!(segment("acme/web", "agent").unwrap(), "acme%2Fweb");
        assert_eq!(segment("../x", "id").unwrap(), "..%2Fx");
        assert_eq!(segment("a?b#c%d e", "id").unwrap(), "a%3Fb%23c%25d%20e");
        assert_eq!(
            segment("cci_01KEQ6963XS96YDP3NF9NKB7QJ", "id").unwrap(),
            "cci_01KEQ6963XS96YDP3NF9NKB7QJ"
        );
    }

    #[test]
    fn over_long_segments_are_refused_before_and_after_encoding() {
        let at_limit = "a".repeat(MAX_PATH_SEGMENT_BYTES);
        assert_eq!(segment(&at_limit, "id").unwrap(), at_limit);
        for bad in [
            "a".repeat(MAX_PATH_SEGMENT_BYTES + 1),
            "x".repeat(100_000),
            // Within the limit as text, three times over it once encoded.
            "/".repeat(MAX_PATH_SEGMENT_BYTES),
        ] {
            let err = segment(&bad, "message_id").unwrap_err();
            assert!(
                matches!(err, Error::Validation { ref field, ref message }
                    if field == "message_id" && message.contains("2048")),
                "{err}"
            );
        }
    }

    #[test]
    fn empty_and_dot_segments_are_refused() {
        for bad in ["", ".", "..", "...", "a\nb"] {
            let err = segment(bad, "agent_id").unwrap_err();
            assert!(
                matches!(err, Error::Validation { ref field, .. } if field == "agent_id"),
                "{bad:?}"
            );
        }
    }
}
