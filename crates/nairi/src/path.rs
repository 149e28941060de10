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
    let mut out = String::with_capacity(value.len());
    push_segment(&mut out, value, field)?;
    Ok(out)
}

/// [`segment`], appended to `out` (the path being built) instead of returned; on error `out`
/// is left as it was.
pub(crate) fn push_segment(out: &mut String, value: &str, field: &str) -> Result<()> {
    // Ids and slugs are almost always plain unreserved ASCII, which encodes to itself: one
    // pass over the bytes decides it, and the value is copied as is. Anything else takes the
    // general path below, which gives the same answer for these values.
    if !value.is_empty()
        && value.len() <= MAX_PATH_SEGMENT_BYTES
        && value.bytes().all(is_unreserved)
        && !value.bytes().all(|b| b == b'.')
    {
        out.push_str(value);
        return Ok(());
    }
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
    let start = out.len();
    out.extend(utf8_percent_encode(value, SEGMENT));
    let encoded = out.len() - start;
    if encoded > MAX_PATH_SEGMENT_BYTES {
        out.truncate(start);
        return Err(too_long(field, encoded));
    }
    Ok(())
}

/// An RFC 3986 unreserved character: what [`SEGMENT`] leaves as it is.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
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
    fn the_plain_fast_path_agrees_with_the_encoder() {
        // Every ASCII character alone and inside an id: the fast path (unreserved only) and
        // the general path must give the encoder's answer, and append to what is there.
        for b in 0u8..128 {
            let c = char::from(b);
            for value in [c.to_string(), format!("cci_{c}01K"), format!("{c}{c}")] {
                let mut out = String::from("/agents/");
                match push_segment(&mut out, &value, "id") {
                    Ok(()) => {
                        let want = utf8_percent_encode(&value, SEGMENT).to_string();
                        assert_eq!(out, format!("/agents/{want}"), "{value:?}");
                        assert_eq!(segment(&value, "id").unwrap(), want);
                    }
                    Err(_) => {
                        assert_eq!(out, "/agents/", "{value:?}: nothing appended on error");
                        assert!(
                            c.is_control() || value.chars().all(|c| c == '.'),
                            "{value:?} refused"
                        );
                    }
                }
            }
        }
        let mut out = String::from("/a/");
        assert!(push_segment(&mut out, &"/".repeat(MAX_PATH_SEGMENT_BYTES), "id").is_err());
        assert_eq!(out, "/a/", "an over-long encoding is not left behind");
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
