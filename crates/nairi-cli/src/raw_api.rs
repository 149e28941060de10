//! `nairi api METHOD PATH`: the escape hatch, like `gh api`.
//!
//! The core has no raw request entry point, so the method and path are matched against the
//! operation table and the operation runs through `Client::call_operation`: every documented
//! endpoint is reachable, with the same validation, retries and secret redaction, but a path
//! the table does not know is refused (exit 2) rather than sent.

use clap::Args;
use nairi::operations::{BodyKind, CallArgs, OPERATIONS, Operation};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::archive::upload_from_path;
use crate::exit::CliError;
use crate::globals::GlobalArgs;
use crate::input::Stdin;
use crate::output;
use crate::schema::{FieldKind, model_fields};

/// `nairi api`.
#[derive(Args, Debug, Clone)]
pub struct ApiArgs {
    /// GET, POST, PUT, PATCH or DELETE.
    pub method: String,
    /// The path under /api/public/v1 (that prefix may be included), with a query string if
    /// the endpoint takes one: /agents/support-bot, /agents/web/conversations?limit=5.
    pub path: String,
    /// The JSON body, @FILE or - (stdin).
    #[arg(long, short = 'd', value_name = "JSON")]
    pub data: Option<String>,
    /// The file of an upload (POST /attachments, /artifacts/skills); a directory is zipped.
    #[arg(long, value_name = "PATH")]
    pub file: Option<String>,
}

/// The operation for `method` and `path` (without its query), and its path parameters.
pub fn match_operation(method: &str, path: &str) -> Option<(&'static Operation, Vec<String>)> {
    let path = path.strip_prefix(nairi::config::API_PREFIX).unwrap_or(path);
    let wanted: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    OPERATIONS.iter().find_map(|op| {
        if !op.method.eq_ignore_ascii_case(method) {
            return None;
        }
        let template: Vec<&str> = op.path.split('/').skip(1).collect();
        if template.len() != wanted.len() {
            return None;
        }
        let mut params = Vec::new();
        for (t, w) in template.iter().zip(&wanted) {
            if t.starts_with('{') {
                if w.is_empty() {
                    return None;
                }
                params.push(percent_decode_str(w).decode_utf8_lossy().into_owned());
            } else if t != w {
                return None;
            }
        }
        Some((op, params))
    })
}

fn query_value(model: &str, key: &str, raw: &str) -> Value {
    let kind = model_fields(model)
        .into_iter()
        .find(|f| f.name == key)
        .map(|f| f.kind);
    match kind {
        Some(FieldKind::Integer) => raw
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| raw.into()),
        Some(FieldKind::Number) => raw
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or_else(|_| raw.into()),
        Some(FieldKind::Bool) => raw
            .parse::<bool>()
            .map(Value::from)
            .unwrap_or_else(|_| raw.into()),
        Some(FieldKind::StringList) => Value::Array(
            raw.split(',')
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ),
        _ => Value::String(raw.to_owned()),
    }
}

/// Runs `nairi api`; the answer is printed as JSON.
pub async fn run(args: ApiArgs, globals: &GlobalArgs) -> Result<(), CliError> {
    let (path, query) = match args.path.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (args.path.clone(), None),
    };
    if !path.starts_with('/') {
        return Err(CliError::usage(format!(
            "{path:?}: the path must start with /"
        )));
    }
    let (op, params) = match_operation(&args.method, &path).ok_or_else(|| {
        CliError::usage(format!(
            "{} {path} is not an endpoint of the API this version knows \
             (nairi api reaches the documented operations only)",
            args.method.to_uppercase()
        ))
    })?;
    let mut call = CallArgs::new();
    for (name, value) in op.path_params().zip(params) {
        call = call.path_param(name, value);
    }
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        let model = op.query.ok_or_else(|| {
            CliError::usage(format!(
                "{} {} takes no query parameters",
                op.method, op.path
            ))
        })?;
        let mut map = Map::new();
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_decode_str(k).decode_utf8_lossy().into_owned();
            let v = percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned();
            map.insert(k.clone(), query_value(model, &k, &v));
        }
        call.query = map;
    }
    let stdin = Stdin::new();
    match (op.body, &args.data, &args.file) {
        (BodyKind::Json(_), Some(data), None) => call = call.body(stdin.json_data(data)?),
        (_, None, None) if !matches!(op.body, BodyKind::Multipart(_)) => {}
        (BodyKind::Multipart(_), None, Some(file)) => {
            call = call.file(upload_from_path(file, &stdin)?)
        }
        (_, _, None) if matches!(op.body, BodyKind::Multipart(_)) => {
            return Err(CliError::usage(format!(
                "{} {} is an upload: give --file PATH",
                op.method, op.path
            )));
        }
        (_, _, Some(_)) => {
            return Err(CliError::usage(format!(
                "{} {} takes no file",
                op.method, op.path
            )));
        }
        _ => {
            return Err(CliError::usage(format!(
                "{} {} takes no body",
                op.method, op.path
            )));
        }
    }
    let client = globals.client()?;
    let result = client.call_operation(op.id, call).await?;
    output::print(&output::json(&result));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_the_table() {
        let (op, params) = match_operation("get", "/api/public/v1/agents/acme%2Fweb").unwrap();
        assert_eq!((op.id, params), ("agents.get", vec!["acme/web".to_owned()]));
        let (op, params) = match_operation("PATCH", "/vaults/v1/secrets/s1").unwrap();
        assert_eq!(op.id, "vaults.secrets.update");
        assert_eq!(params, ["v1", "s1"]);
        assert_eq!(
            match_operation("GET", "/agents/").unwrap().0.id,
            "agents.list"
        );
        assert!(match_operation("GET", "/nope").is_none());
        assert!(match_operation("PUT", "/agents").is_none());
        assert_eq!(
            query_value("ListConversations", "limit", "5"),
            Value::from(5)
        );
    }
}
