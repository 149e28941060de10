//! A small Markdown renderer for replies shown on a terminal: headings, emphasis, inline code,
//! fenced code blocks, lists and quotes, with ANSI styles (or plain text without them).

const BOLD: &str = "\x1b[1m";
const UNDERLINE: &str = "\x1b[4m";
const DIM: &str = "\x1b[2m";
const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

/// Renders `text` for a terminal; `ansi` switches the styles on.
pub fn render(text: &str, ansi: bool) -> String {
    let style = |codes: &str, s: &str| {
        if ansi {
            format!("{codes}{s}{RESET}")
        } else {
            s.to_owned()
        }
    };
    let mut out = Vec::new();
    let mut in_code = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(lang) = trimmed.strip_prefix("```") {
            in_code = !in_code;
            if in_code && !lang.trim().is_empty() {
                out.push(style(DIM, &format!("  ── {} ──", lang.trim())));
            } else if in_code {
                out.push(style(DIM, "  ────"));
            }
            continue;
        }
        if in_code {
            out.push(format!("  {}", style(CYAN, line)));
            continue;
        }
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
            let title = inline(trimmed[hashes..].trim(), ansi);
            let codes = if hashes == 1 {
                format!("{BOLD}{UNDERLINE}")
            } else {
                BOLD.to_owned()
            };
            out.push(style(&codes, &title));
            continue;
        }
        let indent = &line[..line.len() - trimmed.len()];
        if let Some(item) = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
            .or_else(|| trimmed.strip_prefix("+ "))
        {
            out.push(format!("{indent}  • {}", inline(item, ansi)));
            continue;
        }
        if let Some(quote) = trimmed.strip_prefix('>') {
            out.push(format!(
                "{indent}{}",
                style(DIM, &format!("│ {}", quote.trim_start()))
            ));
            continue;
        }
        if trimmed.chars().all(|c| c == '-' || c == '*' || c == '_') && trimmed.len() >= 3 {
            out.push(style(DIM, "────────"));
            continue;
        }
        out.push(inline(line, ansi));
    }
    out.join("\n")
}

/// Emphasis (`**bold**`, `*em*`, `_em_`) and `inline code`.
fn inline(text: &str, ansi: bool) -> String {
    let mut out = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('`')
            && let Some(end) = after.find('`')
        {
            out.push_str(&wrap(&after[..end], CYAN, ansi));
            rest = &after[end + 1..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("**")
            && let Some(end) = after.find("**")
            && end > 0
        {
            out.push_str(&wrap(&after[..end], BOLD, ansi));
            rest = &after[end + 2..];
            continue;
        }
        let mut chars = rest.chars();
        let c = chars.next().expect("not empty");
        out.push(c);
        rest = chars.as_str();
    }
    out
}

fn wrap(s: &str, codes: &str, ansi: bool) -> String {
    if ansi {
        format!("{codes}{s}{RESET}")
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_rendering_keeps_the_text_readable() {
        let md = "# Title\n\nSome **bold** and `code`.\n- one\n- two\n```rust\nfn main() {}\n```\n> quoted";
        let out = render(md, false);
        assert_eq!(
            out,
            "Title\n\nSome bold and code.\n  • one\n  • two\n  ── rust ──\n  fn main() {}\n│ quoted"
        );
        let styled = render("## Sub\n**b**", true);
        assert!(styled.contains("\x1b[1mSub\x1b[0m"));
        assert!(styled.contains("\x1b[1mb\x1b[0m"));
        assert_eq!(render("a ** b", false), "a ** b");
    }
}
