//! Pull-request and commit links in system messages.
//!
//! The daemon writes git notices as markdown ("Agent opened a [pull request](url)", "New commit
//! added: [abc1234](url) in [#42](url)") while the docs show plain text with bare URLs, so both
//! forms are recognised (BEHAVIOUR 4.6).

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

/// What a link points at, judged from its URL and its markdown text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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

// The URL part stops at whitespace and at the closing parenthesis; URLs containing `)` are
// rare in git hosting links and would otherwise swallow the rest of the sentence.
static MARKDOWN_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[([^\]\n]*)\]\(\s*<?(https?://[^\s)>]+)>?\s*\)").expect("valid regex")
});

static BARE_URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"https?://[^\s<>()\[\]"'`]+"#).expect("valid regex"));

/// Every link of `text`, markdown links first in order, then bare URLs outside them;
/// duplicates (same URL) are dropped.
pub fn parse_links(text: &str, message_id: &str) -> Vec<Link> {
    let mut found: Vec<(usize, Link)> = Vec::new();
    let mut covered: Vec<(usize, usize)> = Vec::new();
    for caps in MARKDOWN_LINK.captures_iter(text) {
        let (Some(whole), Some(label), Some(url)) = (caps.get(0), caps.get(1), caps.get(2)) else {
            continue;
        };
        covered.push((whole.start(), whole.end()));
        let label = label.as_str().trim();
        found.push((
            whole.start(),
            Link {
                url: url.as_str().to_owned(),
                text: (!label.is_empty()).then(|| label.to_owned()),
                kind: classify(url.as_str(), Some(label)),
                message_id: message_id.to_owned(),
            },
        ));
    }
    for m in BARE_URL.find_iter(text) {
        if covered
            .iter()
            .any(|&(s, e)| m.start() >= s && m.start() < e)
        {
            continue;
        }
        let url = m
            .as_str()
            .trim_end_matches(['.', ',', ';', ':', '!', '?', '*', '_']);
        if url.len() <= "https://".len() {
            continue;
        }
        found.push((
            m.start(),
            Link {
                url: url.to_owned(),
                text: None,
                kind: classify(url, None),
                message_id: message_id.to_owned(),
            },
        ));
    }
    found.sort_by_key(|(pos, _)| *pos);
    let mut links: Vec<Link> = Vec::with_capacity(found.len());
    for (_, link) in found {
        if !links.iter().any(|l| l.url == link.url) {
            links.push(link);
        }
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
    fn text_without_links_or_with_odd_markup_is_harmless() {
        assert!(parse_links("nairid encountered error: boom", "m").is_empty());
        assert!(parse_links("[broken](not a url) https:// ", "m").is_empty());
        assert!(parse_links("", "m").is_empty());
        let links = parse_links("[x](<https://example.com/a>)", "m");
        assert_eq!(urls(&links), [("https://example.com/a", LinkKind::Other)]);
    }
}
