//! Pull-request and commit links in system messages.
//!
//! The daemon writes git notices as markdown ("Agent opened a [pull request](url)", "New commit
//! added: [abc1234](url) in [#42](url)") while the docs show plain text with bare URLs, so both
//! forms are recognised (BEHAVIOUR 4.6).

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// What a link points at, judged from its URL and its markdown text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LinkKind {
    /// A pull request (or merge request).
    PullRequest,
    /// A single commit.
    Commit,
    /// Anything else.
    Other,
}

/// A link found in a system message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Link {
    /// The URL, as written.
    pub url: String,
    /// The markdown link text (`pull request`, `abc1234`, `#42`); `None` for a bare URL.
    pub text: Option<String>,
    /// What the link points at.
    pub kind: LinkKind,
    /// The system message it came from.
    pub message_id: String,
}

// The start of a markdown link, up to the scheme of its URL; the URL itself is scanned by
// hand (`scan_url`) because it may contain balanced parentheses, which a regex cannot match.
static MARKDOWN_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[([^\]\n]*)\]\(\s*<?(https?://)").expect("valid regex"));

static BARE_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"https?://").expect("valid regex"));

/// Characters that end a bare URL (besides whitespace and an unbalanced `)`).
const BARE_STOPS: &[char] = &['<', '>', '[', ']', '"', '\'', '`'];
/// Characters that end the URL of a markdown link (besides whitespace and an unbalanced `)`).
const MARKDOWN_STOPS: &[char] = &['<', '>'];

/// The end of the URL starting at `start`: it runs to whitespace, a stop character or a `)`
/// that closes nothing, and keeps balanced parentheses (`.../wiki/Foo_(bar)`); when a `(` is
/// left open, the URL ends before the first one.
fn scan_url(text: &str, start: usize, stops: &[char]) -> usize {
    let mut depth = 0usize;
    let mut first_open = None;
    let mut end = text.len();
    for (i, c) in text[start..].char_indices() {
        match c {
            '(' => {
                if depth == 0 {
                    first_open = Some(start + i);
                }
                depth += 1;
            }
            ')' if depth == 0 => {
                end = start + i;
                break;
            }
            ')' => depth -= 1,
            c if c.is_whitespace() || stops.contains(&c) => {
                end = start + i;
                break;
            }
            _ => {}
        }
    }
    match first_open {
        Some(open) if depth > 0 => open,
        _ => end,
    }
}

/// The markdown link whose match starts `caps`: `(whole range, label, url)`, or `None` when
/// the URL is not followed by the closing `)`.
fn markdown_link<'t>(
    text: &'t str,
    caps: &regex::Captures<'t>,
) -> Option<((usize, usize), &'t str, &'t str)> {
    let (whole, label, scheme) = (caps.get(0)?, caps.get(1)?, caps.get(2)?);
    let url_end = scan_url(text, scheme.end(), MARKDOWN_STOPS);
    if url_end == scheme.end() {
        return None;
    }
    // The `<` and `>` around the URL are each optional.
    let rest = &text[url_end..];
    let rest = rest.strip_prefix('>').unwrap_or(rest).trim_start();
    rest.strip_prefix(')')?;
    let end = text.len() - rest.len() + 1;
    Some((
        (whole.start(), end),
        label.as_str(),
        &text[scheme.start()..url_end],
    ))
}

/// Every link of `text`, markdown links first in order, then bare URLs outside them;
/// duplicates (same URL) are dropped.
///
/// Linear in the length of `text`: markdown links are found left to right, bare URLs are
/// checked against them with a cursor, and seen URLs are kept in a set.
pub fn parse_links(text: &str, message_id: &str) -> Vec<Link> {
    // Markdown links, in order, with the ranges they cover (sorted and disjoint).
    let mut markdown: Vec<(usize, usize, &str, &str)> = Vec::new();
    let mut pos = 0;
    while let Some(caps) = MARKDOWN_START.captures_at(text, pos) {
        let Some(whole) = caps.get(0) else { break };
        match markdown_link(text, &caps) {
            Some(((start, end), label, url)) => {
                markdown.push((start, end, label, url));
                pos = end;
            }
            None => pos = whole.end(),
        }
    }

    // Bare URLs outside the markdown links, in order.
    let mut bare: Vec<(usize, &str)> = Vec::new();
    let mut cursor = 0;
    let mut pos = 0;
    while let Some(m) = BARE_START.find_at(text, pos) {
        let start = m.start();
        while cursor < markdown.len() && markdown[cursor].1 <= start {
            cursor += 1;
        }
        if let Some(&(covered_start, covered_end, ..)) = markdown.get(cursor)
            && covered_start <= start
        {
            pos = covered_end;
            continue;
        }
        let end = scan_url(text, m.end(), BARE_STOPS);
        pos = end.max(m.end());
        let url = text[start..end].trim_end_matches(['.', ',', ';', ':', '!', '?', '*', '_']);
        if url.len() <= "https://".len() {
            continue;
        }
        bare.push((start, url));
    }

    // Merge both (each is in text order) and drop repeated URLs.
    let mut seen: HashSet<&str> = HashSet::with_capacity(markdown.len() + bare.len());
    let mut links = Vec::with_capacity(markdown.len() + bare.len());
    let (mut md, mut bare) = (markdown.into_iter().peekable(), bare.into_iter().peekable());
    loop {
        let take_markdown = match (md.peek(), bare.peek()) {
            (Some(m), Some(b)) => m.0 < b.0,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let (url, label) = if take_markdown {
            let (_, _, label, url) = md.next().expect("peeked");
            (url, Some(label.trim()))
        } else {
            (bare.next().expect("peeked").1, None)
        };
        if !seen.insert(url) {
            continue;
        }
        links.push(Link {
            url: url.to_owned(),
            text: label.filter(|l| !l.is_empty()).map(str::to_owned),
            kind: classify(url, label),
            message_id: message_id.to_owned(),
        });
    }
    links
}

/// Classifies by URL path (GitHub `/pull/`, GitLab `/merge_requests/`, Bitbucket
/// `/pull-requests/`; `/commit/`), falling back to the markdown text.
fn classify(url: &str, label: Option<&str>) -> LinkKind {
    let path = url
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(url)
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let has_segment = |names: &[&str]| {
        let segments: Vec<&str> = path.split('/').collect();
        segments
            .windows(2)
            .any(|w| names.contains(&w[0]) && !w[1].is_empty())
    };
    if has_segment(&["pull", "pulls", "merge_requests", "pull-requests"]) {
        return LinkKind::PullRequest;
    }
    if has_segment(&["commit", "commits"]) {
        return LinkKind::Commit;
    }
    let label = label.unwrap_or("").to_ascii_lowercase();
    if label.contains("pull request") || label.contains("merge request") {
        LinkKind::PullRequest
    } else {
        LinkKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(links: &[Link]) -> Vec<(&str, LinkKind)> {
        links.iter().map(|l| (l.url.as_str(), l.kind)).collect()
    }

    #[test]
    fn daemon_markdown_pull_request() {
        let links = parse_links(
            "Agent opened a [pull request](https://github.com/acme/app/pull/42)",
            "cmsg_1",
        );
        assert_eq!(
            urls(&links),
            [("https://github.com/acme/app/pull/42", LinkKind::PullRequest)]
        );
        assert_eq!(links[0].text.as_deref(), Some("pull request"));
        assert_eq!(links[0].message_id, "cmsg_1");
    }

    #[test]
    fn daemon_markdown_commit_in_pull_request() {
        let links = parse_links(
            "New commit added: [a1b2c3d](https://github.com/acme/app/commit/a1b2c3d4e5f6) in \
             [#42](https://github.com/acme/app/pull/42)",
            "m",
        );
        assert_eq!(
            urls(&links),
            [
                (
                    "https://github.com/acme/app/commit/a1b2c3d4e5f6",
                    LinkKind::Commit
                ),
                ("https://github.com/acme/app/pull/42", LinkKind::PullRequest),
            ]
        );
        assert_eq!(links[0].text.as_deref(), Some("a1b2c3d"));
    }

    #[test]
    fn documented_plain_form_with_bare_url_and_trailing_period() {
        let links = parse_links(
            "Agent opened a pull request: https://gitlab.com/acme/app/-/merge_requests/7.",
            "m",
        );
        assert_eq!(
            urls(&links),
            [(
                "https://gitlab.com/acme/app/-/merge_requests/7",
                LinkKind::PullRequest
            )]
        );
        assert_eq!(links[0].text, None);
    }

    #[test]
    fn mixed_forms_are_ordered_and_deduplicated() {
        let text = "See https://example.com/docs and [the PR](https://github.com/a/b/pull/1); \
                    again https://github.com/a/b/pull/1";
        let links = parse_links(text, "m");
        assert_eq!(
            urls(&links),
            [
                ("https://example.com/docs", LinkKind::Other),
                ("https://github.com/a/b/pull/1", LinkKind::PullRequest),
            ]
        );
    }

    #[test]
    fn label_decides_when_the_url_does_not() {
        let links = parse_links("[pull request](https://git.example.com/r/55)", "m");
        assert_eq!(links[0].kind, LinkKind::PullRequest);
        let links = parse_links("[docs](https://example.com/pull)", "m");
        assert_eq!(links[0].kind, LinkKind::Other, "no id after /pull");
    }

    #[test]
    fn balanced_parentheses_stay_in_the_url() {
        let wiki = "https://en.wikipedia.org/wiki/Foo_(bar)";
        let links = parse_links(&format!("See {wiki} for more."), "m");
        assert_eq!(urls(&links), [(wiki, LinkKind::Other)]);
        let links = parse_links(&format!("See [x]({wiki}) for more."), "m");
        assert_eq!(urls(&links), [(wiki, LinkKind::Other)]);
        assert_eq!(links[0].text.as_deref(), Some("x"));
        let links = parse_links(&format!("[x](<{wiki}>) and ({wiki})"), "m");
        assert_eq!(urls(&links), [(wiki, LinkKind::Other)], "deduplicated");
        let links = parse_links(&format!("(see {wiki}), then [y]({wiki}_(baz)(qux))"), "m");
        assert_eq!(
            urls(&links),
            [
                (wiki, LinkKind::Other),
                (
                    "https://en.wikipedia.org/wiki/Foo_(bar)_(baz)(qux)",
                    LinkKind::Other
                ),
            ]
        );
    }

    #[test]
    fn unbalanced_parentheses_end_the_url() {
        let links = parse_links(
            "(see https://example.com/a) and [b](https://example.com/b) (c)",
            "m",
        );
        assert_eq!(
            urls(&links),
            [
                ("https://example.com/a", LinkKind::Other),
                ("https://example.com/b", LinkKind::Other),
            ]
        );
        let links = parse_links(
            "open https://example.com/x(y and https://example.com/p(q)(r",
            "m",
        );
        assert_eq!(
            urls(&links),
            [
                ("https://example.com/x", LinkKind::Other),
                ("https://example.com/p(q)", LinkKind::Other),
            ]
        );
        // A markdown link whose URL never closes is read as a bare URL.
        let links = parse_links("[x](https://example.com/a(b) tail", "m");
        assert_eq!(
            urls(&links),
            [("https://example.com/a(b)", LinkKind::Other)]
        );
        assert_eq!(links[0].text, None);
    }

    #[test]
    fn bare_urls_inside_markdown_links_are_not_repeated() {
        let links = parse_links(
            "[https://example.com/label](https://example.com/target) https://example.com/after",
            "m",
        );
        assert_eq!(
            urls(&links),
            [
                ("https://example.com/target", LinkKind::Other),
                ("https://example.com/after", LinkKind::Other),
            ]
        );
        assert_eq!(links[0].text.as_deref(), Some("https://example.com/label"));
    }

    #[test]
    fn twenty_thousand_links_in_one_message() {
        const N: usize = 20_000;
        let mut text = String::new();
        for i in 0..N {
            if i % 2 == 0 {
                text.push_str(&format!("[#{i}](https://github.com/a/b/pull/{i}) "));
            } else {
                text.push_str(&format!("https://example.com/wiki/P_({i}). "));
            }
        }
        // Every link again: all duplicates.
        let again = text.clone();
        text.push_str(&again);
        let links = parse_links(&text, "cmsg_big");
        assert_eq!(links.len(), N);
        for (i, link) in links.iter().enumerate() {
            if i % 2 == 0 {
                assert_eq!(link.url, format!("https://github.com/a/b/pull/{i}"));
                assert_eq!(link.text, Some(format!("#{i}")));
                assert_eq!(link.kind, LinkKind::PullRequest);
            } else {
                assert_eq!(link.url, format!("https://example.com/wiki/P_({i})"));
                assert_eq!(link.text, None);
                assert_eq!(link.kind, LinkKind::Other);
            }
            assert_eq!(link.message_id, "cmsg_big");
        }
    }

    #[test]
    fn text_without_links_or_with_odd_markup_is_harmless() {
        assert!(parse_links("nairid encountered error: boom", "m").is_empty());
        assert!(parse_links("[broken](not a url) https:// ", "m").is_empty());
        assert!(parse_links("", "m").is_empty());
        let links = parse_links("[x](<https://example.com/a>)", "m");
        assert_eq!(urls(&links), [("https://example.com/a", LinkKind::Other)]);
    }
}
