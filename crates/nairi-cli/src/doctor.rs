//! `nairi doctor`: what a user gets wrong, each failing check with its fix.

use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use crate::exit::CliError;
use crate::globals::{GlobalArgs, Settings, build_client};

/// Agent daemon key prefixes, which the public API never accepts.
pub const DAEMON_KEY_PREFIXES: &[&str] = &["nairid_", "eksecd_", "ccagent_", "sys_"];
/// Clock skew beyond which a warning is given.
pub const MAX_SKEW: Duration = Duration::from_secs(30);
const PROXY_VARS: &[&str] = &[
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// `nairi doctor`.
#[derive(Args, Debug, Clone)]
pub struct DoctorArgs {}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Fine.
    Ok,
    /// Works, but worth a look.
    Warn,
    /// Broken.
    Fail,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What is checked.
    pub name: &'static str,
    /// The outcome.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// How to fix it, when it is not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn check(
    name: &'static str,
    status: Status,
    detail: impl Into<String>,
    fix: Option<&str>,
) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
        fix: fix.map(str::to_owned),
    }
}

/// The key's shape.
pub fn key_check(key: &str) -> Check {
    if let Some(p) = DAEMON_KEY_PREFIXES.iter().find(|p| key.starts_with(**p)) {
        return check(
            "key type",
            Status::Fail,
            format!("the key starts with `{p}`: an agent daemon key, which the public API refuses"),
            Some(
                "create a public API key (it starts with `nr_`) in the Nairi dashboard and `nairi login` with it",
            ),
        );
    }
    if key.starts_with("nr_") {
        check("key type", Status::Ok, "an `nr_` public API key", None)
    } else {
        check(
            "key type",
            Status::Warn,
            "the key does not start with `nr_`, as public API keys do",
            Some("check that you copied a public API key from the dashboard"),
        )
    }
}

fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            format!("{u} (credentials hidden)")
        }
        _ => raw.to_owned(),
    }
}

fn proxy_check(base: &url::Url) -> Check {
    let set: Vec<String> = PROXY_VARS
        .iter()
        .filter_map(|v| {
            std::env::var(v)
                .ok()
                .filter(|s| !s.is_empty())
                .map(|s| format!("{v}={}", redact_url(&s)))
        })
        .collect();
    if set.is_empty() {
        return check("proxy", Status::Ok, "no proxy variables set", None);
    }
    let no_proxy = std::env::var("NO_PROXY")
        .or_else(|_| std::env::var("no_proxy"))
        .unwrap_or_default();
    let host = base.host_str().unwrap_or_default().to_owned();
    let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]" | "::1");
    if loopback
        && !no_proxy
            .split(',')
            .any(|h| h.trim() == host || h.trim() == "*")
    {
        return check(
            "proxy",
            Status::Warn,
            format!("{}; {host} is local but not in NO_PROXY", set.join(", ")),
            Some("export NO_PROXY=localhost,127.0.0.1"),
        );
    }
    check("proxy", Status::Ok, set.join(", "), None)
}

/// Runs every check.
pub async fn checks(settings: &Settings) -> Vec<Check> {
    let mut out = Vec::new();
    match &settings.api_key {
        Some((key, source)) => {
            out.push(check(
                "API key",
                Status::Ok,
                format!("set from {source}"),
                None,
            ));
            out.push(key_check(key));
        }
        None => out.push(check(
            "API key",
            Status::Fail,
            "no key: none on the command line, in NAIRI_API_KEY or in the config file",
            Some("run `nairi login` (or export NAIRI_API_KEY=nr_...)"),
        )),
    }
    let (raw_url, url_source) = &settings.base_url;
    let base = match nairi::config::normalise_base_url(raw_url, false) {
        Ok(u) => {
            out.push(check(
                "base URL",
                Status::Ok,
                format!("{raw_url} (from {url_source})"),
                None,
            ));
            u
        }
        Err(e) => {
            out.push(check(
                "base URL",
                Status::Fail,
                format!("{raw_url} (from {url_source}): {e}"),
                Some("use a root URL such as https://api.nairi.ai (--base-url or NAIRI_BASE_URL)"),
            ));
            return out;
        }
    };
    out.push(proxy_check(&base));
    let probe = format!("{}/models", base.as_str().trim_end_matches('/'));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build();
    let started = Instant::now();
    let response = match http {
        Ok(c) => c.get(&probe).send().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match response {
        Ok(r) => {
            let ms = started.elapsed().as_millis();
            out.push(check(
                "reachable",
                Status::Ok,
                format!("HTTP {} in {ms} ms", r.status().as_u16()),
                None,
            ));
            let date = r
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|d| d.to_str().ok())
                .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok());
            match date {
                Some(server) => {
                    let skew =
                        (chrono::Utc::now() - server.with_timezone(&chrono::Utc)).num_seconds();
                    if skew.unsigned_abs() > MAX_SKEW.as_secs() {
                        out.push(check(
                            "clock",
                            Status::Warn,
                            format!("this machine's clock is {skew:+} s off the server's"),
                            Some("synchronise the clock (e.g. `timedatectl set-ntp true`)"),
                        ));
                    } else {
                        out.push(check(
                            "clock",
                            Status::Ok,
                            format!("{skew:+} s from the server's"),
                            None,
                        ));
                    }
                }
                None => out.push(check(
                    "clock",
                    Status::Warn,
                    "the server sent no Date header",
                    None,
                )),
            }
        }
        Err(e) => {
            out.push(check(
                "reachable",
                Status::Fail,
                format!("{probe}: {e}"),
                Some("check the base URL, your network and the proxy variables"),
            ));
            return out;
        }
    }
    if settings.api_key.is_some() {
        let result = match build_client(settings) {
            Ok(client) => client
                .agents()
                .list()
                .await
                .map_err(|e| e.to_string())
                .map(|a| a.len()),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(n) => out.push(check(
                "authentication",
                Status::Ok,
                format!("the key works ({n} agents visible)"),
                None,
            )),
            Err(e) => out.push(check(
                "authentication",
                Status::Fail,
                e,
                Some("the key was refused: create a new one in the dashboard and `nairi login`"),
            )),
        }
    }
    out
}

/// Runs `nairi doctor`; exit 1 when a check fails.
pub async fn run(globals: &GlobalArgs) -> Result<(), CliError> {
    let settings = globals.settings()?;
    let results = checks(&settings).await;
    if globals.json {
        crate::output::print(&serde_json::to_string_pretty(&results).unwrap_or_default());
    } else {
        for c in &results {
            let mark = match c.status {
                Status::Ok => "✓",
                Status::Warn => "!",
                Status::Fail => "✗",
            };
            crate::output::print(&format!("{mark} {}: {}", c.name, c.detail));
            if let Some(fix) = &c.fix {
                crate::output::print(&format!("    fix: {fix}"));
            }
        }
    }
    if results.iter().any(|c| c.status == Status::Fail) {
        return Err(CliError::Reported(crate::exit::API_ERROR));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_told_apart() {
        assert_eq!(key_check("nr_abc").status, Status::Ok);
        let daemon = key_check("ccagent_abc");
        assert_eq!(daemon.status, Status::Fail);
        assert!(daemon.fix.is_some());
        assert_eq!(key_check("sk-abc").status, Status::Warn);
        assert_eq!(
            redact_url("http://u:p@proxy:3128"),
            "http://proxy:3128/ (credentials hidden)"
        );
    }
}
