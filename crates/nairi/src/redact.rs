//! Redaction of the API key and of the secret values a request sends, wherever a server,
//! gateway or proxy echoes them back (error bodies, decode snippets, decoded answers).
//!
//! What counts as a leak of a secret `s` (the key, or a vault secret value being sent):
//! - `s` itself and its *forms*: percent-encoded (upper- and lower-case hex), JSON-escaped
//!   (with and without `\/`), in the base64url alphabet (`+/` as `-_`), and without its
//!   trailing `=` padding;
//! - any *run*: a substring of [`MIN_RUN`] or more bytes of `s` or of one of its forms (a
//!   truncated echo, a token cut by a log line, the key without its `nr_` prefix).
//!
//! Each such span is replaced by [`REDACTED`]. The scan is linear in the text: a fast
//! literal search (one regex of fixed strings) answers "nothing here" for almost every
//! text, and only then is every [`MIN_RUN`]-byte window looked up in a hash set.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What replaces a secret wherever it was echoed.
pub(crate) const REDACTED: &str = "<redacted>";

/// Shortest run of a secret's bytes that is redacted on its own: 12 bytes of an `nr_` key
/// are 72 bits of it, so a chance match in a server's text is negligible, while an echo
/// cut anywhere still loses all but at most 11 bytes.
pub(crate) const MIN_RUN: usize = 12;

/// The literal blocks of the fast search: every run of [`MIN_RUN`] bytes contains one whole
/// block of `MIN_RUN / 2` bytes that starts at a multiple of the block size.
const BLOCK: usize = MIN_RUN / 2;

/// Characters a gateway percent-encodes (everything but the RFC 3986 unreserved ones).
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The secrets to hide and the means to find them fast.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// The API key as given (its prefix drives the daemon-key hint).
    key: String,
    /// Every form of every secret, longest first; each is redacted where it occurs whole.
    forms: Vec<String>,
    /// Every [`MIN_RUN`]-byte window of every form at least that long.
    windows: HashSet<[u8; MIN_RUN]>,
    /// Matches wherever a form or a run might start; `None` when there is nothing to find.
    prefilter: Option<regex::bytes::Regex>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor(<{} forms redacted>)", self.forms.len())
    }
}

impl Redactor {
    /// A redactor for the API key alone.
    pub(crate) fn for_key(key: &str) -> Self {
        let mut r = Redactor {
            key: key.to_owned(),
            ..Redactor::default()
        };
        r.add(key);
        r.rebuild();
        r
    }

    /// This redactor plus `secrets` (the values a request sends).
    pub(crate) fn with_secrets<'a>(&self, secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut r = self.clone();
        for s in secrets {
            r.add(s);
        }
        r.rebuild();
        r
    }

    /// The API key, for the daemon-key hint (never to be shown).
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    fn add(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let percent = utf8_percent_encode(secret, ENCODED).to_string();
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json
            .strip_prefix('"')
            .and_then(|j| j.strip_suffix('"'))
            .unwrap_or("")
            .to_owned();
        let candidates = [
            secret.to_owned(),
            secret.trim_end_matches('=').to_owned(),
            lower_hex(&percent),
            json.replace('/', "\\/"),
            secret
                .trim_end_matches('=')
                .replace('+', "-")
                .replace('/', "_"),
            percent,
            json,
        ];
        for form in candidates {
            if !form.is_empty() && !self.forms.contains(&form) {
                if form.len() >= MIN_RUN {
                    for w in form.as_bytes().windows(MIN_RUN) {
                        if let Ok(w) = <[u8; MIN_RUN]>::try_from(w) {
                            self.windows.insert(w);
                        }
                    }
                }
                self.forms.push(form);
            }
        }
    }

    fn rebuild(&mut self) {
        self.forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        let mut literals: Vec<&[u8]> = Vec::new();
        for form in &self.forms {
            let bytes = form.as_bytes();
            if bytes.len() < MIN_RUN {
                literals.push(bytes);
            } else {
                let mut start = 0;
                while start + BLOCK <= bytes.len() {
                    literals.push(&bytes[start..start + BLOCK]);
                    start += BLOCK;
                }
            }
        }
        literals.sort();
        literals.dedup();
        let pattern = literals
            .iter()
            .map(|lit| {
                lit.iter()
                    .map(|b| format!("\\x{b:02x}"))
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("|");
        // An empty pattern would match everywhere; no literals means nothing to redact.
        self.prefilter = (!literals.is_empty())
            .then(|| {
                regex::bytes::RegexBuilder::new(&format!("(?-u:{pattern})"))
                    .unicode(false)
                    .size_limit(1 << 24)
                    .build()
                    .ok()
            })
            .flatten();
    }

    /// `text` with every form and every run of a secret replaced by [`REDACTED`].
    ///
    /// Redact before truncating, so that a cut never leaves more of a secret behind than a
    /// run shorter than [`MIN_RUN`].
    pub(crate) fn redact(&self, text: &str) -> String {
        self.redact_cow(text, true).into_owned()
    }

    /// Like [`Redactor::redact`]; `whole_forms` off redacts runs only (for identifiers of a
    /// decoded answer, which a short secret such as `01` must not corrupt).
    pub(crate) fn redact_cow<'t>(&self, text: &'t str, whole_forms: bool) -> Cow<'t, str> {
        if self.forms.is_empty() {
            return Cow::Borrowed(text);
        }
        match &self.prefilter {
            Some(p) if !p.is_match(text.as_bytes()) => return Cow::Borrowed(text),
            // `None`: the fast search failed to build (it never should); scan in full.
            _ => {}
        }
        let bytes = text.as_bytes();
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for form in &self.forms {
            if whole_forms || form.len() >= MIN_RUN {
                spans.extend(
                    text.match_indices(form.as_str())
                        .map(|(i, m)| (i, i + m.len())),
                );
            }
        }
        if !self.windows.is_empty() {
            for (i, w) in bytes.windows(MIN_RUN).enumerate() {
                if let Ok(w) = <[u8; MIN_RUN]>::try_from(w)
                    && self.windows.contains(&w)
                {
                    spans.push((i, i + MIN_RUN));
                }
            }
        }
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut iter = spans.into_iter().peekable();
        while let Some((mut start, mut end)) = iter.next() {
            while let Some(&(s, e)) = iter.peek() {
                if s > end {
                    break;
                }
                end = end.max(e);
                iter.next();
            }
            // A run of a non-ASCII secret may start or end inside a character.
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            while !text.is_char_boundary(end) {
                end += 1;
            }
            if start < copied {
                start = copied;
            }
            if end <= copied {
                continue;
            }
            out.push_str(&text[copied..start]);
            out.push_str(REDACTED);
            copied = end;
        }
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }

    /// Redacts every string and object key of a decoded JSON answer in place; the values of
    /// identifier fields (`id`, `*_id`, `*_ids`) lose runs only, not short whole forms.
    pub(crate) fn redact_value(&self, value: &mut serde_json::Value) {
        self.redact_value_inner(value, false);
    }

    fn redact_value_inner(&self, value: &mut serde_json::Value, is_id: bool) {
        use serde_json::Value;
        match value {
            Value::String(s) => {
                if let Cow::Owned(r) = self.redact_cow(s, !is_id) {
                    *s = r;
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.redact_value_inner(item, is_id);
                }
            }
            Value::Object(map) => {
                let taken = std::mem::take(map);
                for (k, mut v) in taken {
                    let id = k == "id" || k.ends_with("_id") || k.ends_with("_ids");
                    self.redact_value_inner(&mut v, id);
                    map.insert(self.redact_cow(&k, true).into_owned(), v);
                }
            }
            _ => {}
        }
    }
}

/// `%2B` as `%2b`: some gateways write lower-case hex.
fn lower_hex(percent: &str) -> String {
    let mut out = String::with_capacity(percent.len());
    let mut rest = percent;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let esc = rest.get(i..i + 3).unwrap_or(&rest[i..]);
        out.push_str(&esc.to_ascii_lowercase());
        rest = &rest[i + esc.len()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key in the real format: `nr_` and 44 base64 characters, the last one `=`.
    const KEY: &str = "nr_Ab3+dE/fGh1jKlMn0pQr+sTuV/wXyZ2aBcDeFgHiJk9=";

    #[test]
    fn the_key_is_found_in_every_form() {
        assert_eq!(KEY.len(), 47);
        let r = Redactor::for_key(KEY);
        let percent = utf8_percent_encode(KEY, ENCODED).to_string();
        assert!(percent.contains("%2B") && percent.contains("%2F") && percent.contains("%3D"));
        let forms = [
            KEY.to_owned(),
            percent.clone(),
            lower_hex(&percent),
            KEY.trim_end_matches('=').to_owned(),
            KEY.replace('/', "\\/"),
            KEY.trim_end_matches('=')
                .replace('+', "-")
                .replace('/', "_"),
            // Truncated echoes: the middle and the tail, 12 bytes each.
            KEY[10..22].to_owned(),
            KEY[35..].to_owned(),
            percent[20..32].to_owned(),
        ];
        for form in forms {
            let text = format!("token={form}&x=1");
            let out = r.redact(&text);
            assert!(out.contains(REDACTED), "{form} -> {out}");
            assert!(out.starts_with("token=") && out.ends_with("&x=1"), "{out}");
            for w in KEY.as_bytes().windows(MIN_RUN) {
                assert!(!out.as_bytes().windows(MIN_RUN).any(|o| o == w), "{out}");
            }
        }
    }

    #[test]
    fn short_fragments_and_unrelated_text_are_kept() {
        let r = Redactor::for_key(KEY);
        let short = &KEY[10..21]; // 11 bytes: below a run
        assert_eq!(r.redact(short), short);
        let text = "nothing to see here, {\"error\":\"rate limited\"} nr_ and sk_";
        assert!(matches!(r.redact_cow(text, true), Cow::Borrowed(_)));
        assert_eq!(Redactor::default().redact(KEY), KEY);
    }

    #[test]
    fn overlapping_and_adjacent_spans_merge_into_one() {
        let r = Redactor::for_key(KEY);
        assert_eq!(r.redact(&format!("a{KEY}{KEY}b")), "a<redacted>b");
        assert_eq!(r.redact(&format!("{KEY} {KEY}")), "<redacted> <redacted>");
    }

    #[test]
    fn secrets_of_a_request_are_added() {
        let r = Redactor::for_key(KEY).with_secrets(["hunter2", "pässwörd-längër-als-12"]);
        assert_eq!(r.redact("pw hunter2!"), "pw <redacted>!");
        let out = r.redact("echo: pässwörd-längër-als");
        assert_eq!(out, "echo: <redacted>");
        // Identifiers lose runs only: a short secret does not corrupt an id.
        let r = Redactor::for_key(KEY).with_secrets(["01"]);
        let mut v = serde_json::json!({"id": "sec_01X", "env_key": "K01", "extra": {"01": ["01"]}});
        r.redact_value(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"id": "sec_01X", "env_key": "K<redacted>", "extra": {"<redacted>": ["<redacted>"]}})
        );
    }

    #[test]
    fn a_64_kib_body_of_near_misses_is_kept_and_a_key_at_its_end_found() {
        let r = Redactor::for_key(KEY);
        // Every block of the fast search matches, so the window scan runs over all of it.
        let near = &KEY[..MIN_RUN - 1];
        let text: String = std::iter::repeat_n(near, 65_536 / near.len() + 1).collect();
        let out = r.redact(&text);
        assert!(!out.contains(REDACTED));
        let text = format!("{text}{KEY}");
        assert!(r.redact(&text).ends_with(REDACTED));
    }
}
