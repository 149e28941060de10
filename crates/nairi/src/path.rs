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

/// Encodes one path segment supplied by the caller; `field` names it in the error.
///
/// Empty and dot-only values are refused: URL parsers resolve `.`/`..` (even encoded as
/// `%2E`), which would change the route.
pub fn segment(value: &str, field: &str) -> Result<String> {
    if value.is_empty() {
        return Err(Error::validation(field, "must not be empty"));
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
    Ok(utf8_percent_encode(value, SEGMENT).to_string())
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
