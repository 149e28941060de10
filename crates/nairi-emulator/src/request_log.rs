//! The request log of the public API: bounded per entry and in entries, read from snapshots.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::ids;

/// One public-API request as recorded by the emulator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LoggedRequest {
    /// 1-based sequence number; never reset, so it keeps growing across clears and resets.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Raw request path (truncated to 1 KiB, `LOG_FIELD_LIMIT`).
    pub path: String,
    /// Raw query string, if any (truncated to 1 KiB, `LOG_FIELD_LIMIT`).
    pub query: Option<String>,
    /// Response status; 0 while in flight or when no response was sent (a dropped connection).
    pub status: u16,
    /// Request headers, lower-case names; credentials redacted, each name and value truncated
    /// to 1 KiB (`LOG_FIELD_LIMIT`) and all of them together to 16 KiB (`LOG_HEADERS_LIMIT`).
    pub headers: BTreeMap<String, String>,
    /// Request body bytes read; 0 for a request refused from its head alone.
    pub body_len: u64,
    /// When the request arrived (RFC 3339).
    pub at: String,
    /// Id of the fault applied to this request, if any.
    pub fault: Option<String>,
}

/// Entries the request log keeps; the oldest are dropped first.
pub const REQUEST_LOG_CAPACITY: usize = 10_000;

/// Longest stored path, query, header name or header value, in bytes; longer ones are cut at a
/// character boundary and end with `…(truncated)`.
pub const LOG_FIELD_LIMIT: usize = 1024;

/// Most bytes of header names and values kept per entry; the headers past it are left out and
/// counted under the name [`OMITTED_HEADERS`].
pub const LOG_HEADERS_LIMIT: usize = 16 * 1024;

/// The header name under which an entry counts the headers left out past
/// [`LOG_HEADERS_LIMIT`]; it cannot clash with a real header, which may not contain `…`.
pub const OMITTED_HEADERS: &str = "…(omitted)";

/// Cuts `s` to at most [`LOG_FIELD_LIMIT`] bytes (on a character boundary), marking the cut.
pub(crate) fn truncate_for_log(s: &str) -> String {
    if s.len() <= LOG_FIELD_LIMIT {
        return s.to_string();
    }
    let mut end = LOG_FIELD_LIMIT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…(truncated)", &s[..end])
}

/// Whether a header carries a credential: its value is never logged in full.
fn is_credential(name: &str) -> bool {
    [
        "auth", "cookie", "token", "key", "secret", "password", "session",
    ]
    .iter()
    .any(|part| name.contains(part))
}

/// Keeps the scheme of an `Authorization`-style value (`Bearer nr_abc…(redacted)`).
fn redact(name: &str, value: &str) -> String {
    if name.ends_with("authorization")
        && let Some((scheme, secret)) = value.split_once(' ')
    {
        return format!("{scheme} {}", ids::redact_key(secret.trim()));
    }
    ids::redact_key(value)
}

/// The headers as logged: lower-case names, credentials redacted, everything bounded.
pub(crate) fn headers_for_log(h: &HeaderMap) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut kept = 0usize;
    let mut omitted = 0usize;
    for (k, v) in h {
        let name = k.as_str().to_ascii_lowercase();
        let raw = String::from_utf8_lossy(v.as_bytes());
        let value = if is_credential(&name) {
            redact(&name, &raw)
        } else {
            raw.into_owned()
        };
        let (name, value) = (truncate_for_log(&name), truncate_for_log(&value));
        if kept + name.len() + value.len() > LOG_HEADERS_LIMIT {
            omitted += 1;
            continue;
        }
        kept += name.len() + value.len();
        out.insert(name, value);
    }
    if omitted > 0 {
        out.insert(OMITTED_HEADERS.to_string(), format!("{omitted} headers"));
    }
    out
}

/// The request log, behind its own lock so that logging never waits on the state lock.
///
/// Entries are shared (`Arc`) so that a reader copies pointers under the lock and serialises
/// after releasing it; an outcome recorded meanwhile copies that one entry instead.
#[derive(Default)]
pub(crate) struct RequestLog {
    /// Ordered by `seq`, with no gaps: entry `i` has `seq == entries[0].seq + i`.
    entries: VecDeque<Arc<LoggedRequest>>,
    last_seq: u64,
}

impl RequestLog {
    /// Records an arriving request; returns its sequence number.
    pub fn arrive(&mut self, mut entry: LoggedRequest) -> u64 {
        self.last_seq += 1;
        entry.seq = self.last_seq;
        if self.entries.len() >= REQUEST_LOG_CAPACITY {
            self.entries.pop_front();
        }
        self.entries.push_back(Arc::new(entry));
        self.last_seq
    }

    /// The entry with this sequence number, if it is still kept.
    pub fn get_mut(&mut self, seq: u64) -> Option<&mut LoggedRequest> {
        let first = self.entries.front()?.seq;
        let i = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.entries
            .get_mut(i)
            .filter(|e| e.seq == seq)
            .map(Arc::make_mut)
    }

    /// A snapshot of the entries with a sequence number above `seq`, oldest first.
    pub fn since(&self, seq: u64) -> Vec<Arc<LoggedRequest>> {
        let start = self.entries.partition_point(|e| e.seq <= seq);
        self.entries.range(start..).cloned().collect()
    }

    /// Forgets every entry; the sequence goes on.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_shares_entries_and_outlives_later_updates() {
        let mut log = RequestLog::default();
        let seq = log.arrive(LoggedRequest::default());
        let first = log.since(0);
        let second = log.since(0);
        // Taking a snapshot copies no entry: the lock is held for pointer copies only.
        assert!(Arc::ptr_eq(&first[0], &second[0]));
        log.get_mut(seq).unwrap().status = 200;
        assert_eq!(
            first[0].status, 0,
            "a snapshot is not changed under its reader"
        );
        assert_eq!(log.since(0)[0].status, 200);
    }

    #[test]
    fn headers_are_bounded_per_entry() {
        let mut h = HeaderMap::new();
        let long_name = "x".repeat(3 * LOG_FIELD_LIMIT);
        h.insert(
            axum::http::HeaderName::from_bytes(long_name.as_bytes()).unwrap(),
            "v".parse().unwrap(),
        );
        for i in 0..100 {
            h.insert(
                axum::http::HeaderName::from_bytes(format!("x-h{i:03}").as_bytes()).unwrap(),
                "v".repeat(1000).parse().unwrap(),
            );
        }
        let logged = headers_for_log(&h);
        let bytes: usize = logged.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(bytes <= LOG_HEADERS_LIMIT + 64, "{bytes}");
        assert!(logged.keys().all(|k| k.len() <= LOG_FIELD_LIMIT + 16));
        assert!(logged[OMITTED_HEADERS].ends_with(" headers"));
    }
}
