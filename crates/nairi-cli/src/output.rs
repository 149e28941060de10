//! Printing results: a table for a person, JSON for a machine, ids for `xargs`.

use serde_json::Value;

use crate::globals::Format;

/// Widest cell of a table; longer values are cut with `…`.
pub const MAX_CELL: usize = 60;

/// The columns a table shows for a model, the most useful first. A model missing here shows
/// `id` and its other scalar fields.
pub fn key_columns(model: &str) -> &'static [&'static str] {
    match model {
        "Agent" => &["id", "agent_id", "name", "instances_count", "updated_at"],
        "Conversation" => &["id", "agent_id", "status", "updated_at"],
        "Message" => &["id", "role", "status", "progress_type", "content"],
        "Resource" => &["id", "entity_type", "entity_id", "created_at"],
        "EnvVar" => &["id", "key", "value", "updated_at"],
        "Rule" => &["id", "title", "description", "updated_at"],
        "McpConfig" => &["id", "title", "description", "is_sensitive", "updated_at"],
        "Skill" => &["id", "name", "description", "updated_at"],
        "Vault" => &["id", "name", "description", "secrets_count"],
        "VaultSecret" => &["id", "env_key", "allowed_domains", "updated_at"],
        "Channel" => &[
            "channel_id",
            "channel_name",
            "channel_type",
            "mode",
            "default_agent_id",
        ],
        "ScheduledJob" => &[
            "id",
            "schedule",
            "timezone",
            "job_type",
            "is_enabled",
            "agent_id",
        ],
        "Model" => &["id", "provider", "display_name", "is_free"],
        "LlmIntegration" => &["id", "name", "provider", "updated_at"],
        "GithubRepo" => &["id", "full_name", "installation_id"],
        "TurnHandle" => &["job_id", "message_id"],
        "AttachmentUpload" => &["attachment_id"],
        "Attachment" => &["id", "filename", "content_type", "size_bytes"],
        "DeployStatus" => &["status"],
        _ => &[],
    }
}

/// The model named by a result type: `Vec<Agent>` → `Agent`.
pub fn result_model(result: &str) -> &str {
    result
        .strip_prefix("Vec<")
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or(result)
}

/// Renders `value` in `format` (without a trailing newline for an empty result).
pub fn render(value: &Value, model: &str, format: Format) -> String {
    match format {
        // `()` results (deletes) print nothing, as `gh` does; the exit code says it worked.
        _ if value.is_null() => String::new(),
        Format::Json => json(value),
        Format::Quiet => ids(value).join("\n"),
        Format::Table => match value {
            Value::Array(items) => table(items, model),
            Value::Object(_) => record(value, model),
            other => scalar(other),
        },
    }
}

/// Pretty JSON.
pub fn json(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// The id of each item (or of the one object): `id`, else the first field ending in `_id`.
pub fn ids(value: &Value) -> Vec<String> {
    let one = |v: &Value| -> Option<String> {
        let obj = v.as_object()?;
        let id = obj.get("id").or_else(|| {
            obj.iter()
                .find(|(k, v)| k.ends_with("_id") && v.is_string())
                .map(|(_, v)| v)
        })?;
        Some(scalar(id))
    };
    match value {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        Value::Object(_) => one(value).into_iter().collect(),
        Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// A value as one line of a cell.
pub fn scalar(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            items.iter().map(scalar).collect::<Vec<_>>().join(",")
        }
        other => other.to_string(),
    };
    let line: String = text
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .collect();
    truncate(&line, MAX_CELL)
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn columns_for(items: &[Value], model: &str) -> Vec<String> {
    let present = |col: &str| items.iter().any(|i| i.get(col).is_some());
    let mut cols: Vec<String> = key_columns(model)
        .iter()
        .filter(|c| present(c))
        .map(|c| (*c).to_owned())
        .collect();
    if cols.is_empty()
        && let Some(Value::Object(first)) = items.first()
    {
        let mut keys: Vec<&String> = first
            .iter()
            .filter(|(_, v)| !v.is_object() && !v.is_array())
            .map(|(k, _)| k)
            .collect();
        keys.sort_by_key(|k| (k.as_str() != "id", k.as_str().to_owned()));
        cols = keys.into_iter().take(6).cloned().collect();
    }
    cols
}

/// Rows of objects as aligned columns under an upper-case header.
pub fn table(items: &[Value], model: &str) -> String {
    if items.is_empty() {
        return String::new();
    }
    if !items.iter().all(Value::is_object) {
        return items.iter().map(scalar).collect::<Vec<_>>().join("\n");
    }
    let cols = columns_for(items, model);
    let header: Vec<String> = cols.iter().map(|c| c.to_uppercase()).collect();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            cols.iter()
                .map(|c| i.get(c).map(scalar).unwrap_or_default())
                .collect()
        })
        .collect();
    grid(&header, &rows)
}

/// One object as `KEY  VALUE` lines, the model's key columns first.
pub fn record(value: &Value, model: &str) -> String {
    let Some(obj) = value.as_object() else {
        return scalar(value);
    };
    let mut keys: Vec<&String> = obj.keys().collect();
    let rank = |k: &str| {
        key_columns(model)
            .iter()
            .position(|c| *c == k)
            .unwrap_or(usize::MAX)
    };
    keys.sort_by_key(|k| (rank(k), k.as_str().to_owned()));
    let rows: Vec<Vec<String>> = keys
        .into_iter()
        .map(|k| {
            let v = &obj[k];
            let shown = match (model, k.as_str()) {
                ("Attachment", "data") => {
                    format!("<{} base64 characters>", v.as_str().map_or(0, str::len))
                }
                _ => scalar(v),
            };
            vec![k.clone(), shown]
        })
        .collect();
    grid(&[], &rows)
}

fn grid(header: &[String], rows: &[Vec<String>]) -> String {
    let width = |cells: &[String], i: usize| cells.get(i).map_or(0, |c| c.chars().count());
    let ncols = header
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0));
    let widths: Vec<usize> = (0..ncols)
        .map(|i| {
            rows.iter()
                .map(|r| width(r, i))
                .chain(std::iter::once(width(header, i)))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(cell);
                out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.trim_end().to_owned()
    };
    let mut lines = Vec::new();
    if !header.is_empty() {
        lines.push(line(header));
    }
    lines.extend(rows.iter().map(|r| line(r)));
    lines.join("\n")
}

/// Prints a rendered result on stdout, with a newline unless it is empty.
pub fn print(text: &str) {
    use std::io::Write;
    if !text.is_empty() {
        // A closed pipe (`nairi agents list | head -1`) is not an error worth a panic.
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_and_cut() {
        let items = vec![
            json!({"id": "cci_1", "agent_id": "web", "name": "Web", "extra": {"x": 1}}),
            json!({"id": "cci_22", "agent_id": "support/bot", "name": "x".repeat(80)}),
        ];
        let out = table(&items, "Agent");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "ID      AGENT_ID     NAME");
        assert_eq!(lines[1], "cci_1   web          Web");
        assert!(lines[2].ends_with('…'));
        assert_eq!(ids(&Value::Array(items)), ["cci_1", "cci_22"]);
        assert_eq!(ids(&json!({"attachment_id": "att_1"})), ["att_1"]);
        assert_eq!(render(&json!([]), "Agent", Format::Table), "");
    }

    #[test]
    fn records_put_key_fields_first() {
        let out = record(&json!({"b": 1, "id": "r_1", "title": "T\nU"}), "Rule");
        assert_eq!(out, "id     r_1\ntitle  T U\nb      1");
        assert_eq!(result_model("Vec<Rule>"), "Rule");
    }
}
