//! `nairi GROUP VERB`: one command per operation of the core's table, built at run time with
//! clap's builder API. Path parameters are positional arguments in template order; each
//! top-level field of the body or query model (from the embedded surface) is a `--field`
//! flag; `--data` gives the whole body as JSON; long text fields also take `--FIELD-file`;
//! secret fields are read from stdin or a no-echo prompt; uploads take a path (a directory is
//! zipped).

use std::io::IsTerminal;

use clap::{Arg, ArgAction, ArgMatches, Command};
use futures::StreamExt;
use nairi::operations::{BodyKind, CallArgs, OPERATIONS, Operation};
use serde_json::{Map, Value};

use crate::archive::upload_from_path;
use crate::exit::CliError;
use crate::globals::{Format, GlobalArgs};
use crate::input::Stdin;
use crate::output;
use crate::schema::{Field, FieldKind, model_description, model_fields};

/// Fields long enough to be worth a `--FIELD-file PATH|-` flag.
pub const LONG_TEXT_FIELDS: &[&str] = &["content", "description", "prompt", "system_prompt"];

/// Extra names of some commands, as people say them.
pub const ALIASES: &[(&str, &str)] = &[("skills.create", "upload")];

/// The operation whose list is paged through automatically (`--no-paginate` for one page),
/// and the stream that does it.
pub const PAGED: (&str, &str) = ("agents.conversations.list", "agents.conversations.list_all");

const RESERVED: &[&str] = &[
    "api-key",
    "base-url",
    "profile",
    "json",
    "table",
    "quiet",
    "data",
    "help",
    "no-paginate",
];

/// `snake_case` → `kebab-case`.
pub fn kebab(name: &str) -> String {
    name.replace('_', "-")
}

fn flag_name(field: &str) -> String {
    let long = kebab(field);
    if RESERVED.contains(&long.as_str()) {
        format!("field-{long}")
    } else {
        long
    }
}

#[derive(Default)]
struct Node {
    name: String,
    children: Vec<Node>,
    ops: Vec<&'static Operation>,
}

impl Node {
    fn child(&mut self, name: &str) -> &mut Node {
        if let Some(i) = self.children.iter().position(|c| c.name == name) {
            return &mut self.children[i];
        }
        self.children.push(Node {
            name: name.to_owned(),
            ..Default::default()
        });
        self.children.last_mut().expect("just pushed")
    }

    fn into_command(self, path: &str) -> Command {
        let verbs: Vec<String> = self
            .ops
            .iter()
            .map(|op| kebab(op.name))
            .chain(
                self.children
                    .iter()
                    .map(|c| format!("{} …", kebab(&c.name))),
            )
            .collect();
        let about = format!("{}: {}", kebab(&path.replace('.', " ")), verbs.join(", "));
        let mut cmd = Command::new(kebab(&self.name))
            .about(about)
            .subcommand_required(true)
            .arg_required_else_help(true);
        if kebab(&self.name) != self.name {
            cmd = cmd.alias(self.name.clone());
        }
        for op in self.ops {
            cmd = cmd.subcommand(op_command(op));
        }
        if path == "vaults.secrets" {
            cmd = cmd.subcommand(crate::secret_set::command());
        }
        for child in self.children {
            let child_path = format!("{path}.{}", child.name);
            cmd = cmd.subcommand(child.into_command(&child_path));
        }
        cmd
    }
}

/// The group commands (`agents`, `vaults`...), each with its verbs and sub-groups.
pub fn group_commands() -> Vec<Command> {
    let mut root = Node::default();
    for op in OPERATIONS {
        let mut node = &mut root;
        for part in op.group.split('.') {
            node = node.child(part);
        }
        node.ops.push(op);
    }
    root.children
        .into_iter()
        .map(|n| {
            let path = n.name.clone();
            n.into_command(&path)
        })
        .collect()
}

/// Whether `name` is a group command.
pub fn is_group(name: &str) -> bool {
    OPERATIONS
        .iter()
        .any(|op| kebab(op.group.split('.').next().unwrap_or_default()) == name)
}

fn body_model(op: &Operation) -> Option<&'static str> {
    match op.body {
        BodyKind::Json(model) => Some(model),
        _ => None,
    }
}

fn op_command(op: &'static Operation) -> Command {
    let mut long = format!("{}\n\n{} {}", op.summary, op.method, op.path);
    let mut cmd = Command::new(kebab(op.name)).about(op.summary);
    if kebab(op.name) != op.name {
        cmd = cmd.alias(op.name);
    }
    for (id, alias) in ALIASES {
        if *id == op.id {
            cmd = cmd.visible_alias(*alias);
        }
    }
    for name in op.path_params() {
        cmd = cmd.arg(
            Arg::new(format!("path.{name}"))
                .value_name(name.to_uppercase())
                .required(true)
                .help(format!("The {} path parameter", name)),
        );
    }
    if let BodyKind::Multipart(_) = op.body {
        cmd = cmd.arg(
            Arg::new("file")
                .value_name("PATH")
                .required(true)
                .help("The file to upload (a directory is zipped first; - reads stdin)"),
        );
    }
    if let Some(model) = body_model(op) {
        if let Some(d) = model_description(model) {
            long.push_str(&format!("\n\nBody: {model}: {d}"));
        }
        cmd = cmd.arg(
            Arg::new("data")
                .long("data")
                .short('d')
                .value_name("JSON")
                .help(format!(
                    "The whole {model} body as JSON, @FILE or - (stdin); flags override its fields"
                )),
        );
        for field in model_fields(model) {
            if field.kind == FieldKind::Secret {
                long.push_str(&format!(
                    "\n\nThe {} is read from stdin, or asked for without echo on a terminal; \
                     it is never taken from an argument.",
                    field.name
                ));
            }
            cmd = add_field_args(cmd, "body", &field);
        }
    }
    if let Some(model) = op.query {
        for field in model_fields(model) {
            cmd = add_field_args(cmd, "query", &field);
        }
    }
    if op.id == PAGED.0 {
        cmd = cmd.arg(
            Arg::new("no-paginate")
                .long("no-paginate")
                .action(ArgAction::SetTrue)
                .help("Fetch one page only (default: every page, following --offset)"),
        );
    }
    cmd.long_about(long)
}

fn field_help(field: &Field) -> String {
    let mut help = field.description.clone();
    if field.required {
        help.push_str(" [required]");
    }
    if !field.values.is_empty() {
        help.push_str(&format!(" [values: {}]", field.values.join(", ")));
    }
    help
}

fn add_field_args(cmd: Command, prefix: &str, field: &Field) -> Command {
    let id = format!("{prefix}.{}", field.name);
    let long = flag_name(&field.name);
    let help = field_help(field);
    let arg = Arg::new(id.clone()).long(long.clone()).help(help);
    match field.kind {
        FieldKind::Secret => {
            if field.required {
                return cmd;
            }
            cmd.arg(
                Arg::new(id)
                    .long(format!("{long}-stdin"))
                    .action(ArgAction::SetTrue)
                    .help(format!(
                        "Set a new {}: read from stdin, or asked for without echo",
                        field.name
                    )),
            )
        }
        FieldKind::Bool => cmd.arg(
            arg.value_name("BOOL")
                .num_args(0..=1)
                .default_missing_value("true")
                .value_parser(clap::value_parser!(bool)),
        ),
        FieldKind::Integer => cmd.arg(arg.value_name("N").value_parser(clap::value_parser!(i64))),
        FieldKind::Number => cmd.arg(arg.value_name("N").value_parser(clap::value_parser!(f64))),
        FieldKind::StringList => cmd.arg(
            arg.value_name("VALUE")
                .action(ArgAction::Append)
                .value_delimiter(','),
        ),
        FieldKind::Json => cmd.arg(arg.value_name("JSON")),
        FieldKind::String => {
            let cmd = cmd.arg(arg.value_name("TEXT"));
            if LONG_TEXT_FIELDS.contains(&field.name.as_str()) {
                cmd.arg(
                    Arg::new(format!("{id}@file"))
                        .long(format!("{long}-file"))
                        .value_name("PATH")
                        .conflicts_with(id)
                        .help(format!("Read the {} from a file (- for stdin)", field.name)),
                )
            } else {
                cmd
            }
        }
    }
}

/// Follows the subcommand chain of a group command to its operation and the verb's matches.
pub fn resolve<'m>(
    group: &str,
    matches: &'m ArgMatches,
) -> Option<(&'static Operation, &'m ArgMatches)> {
    let mut path = vec![group.to_owned()];
    let mut current = matches;
    while let Some((name, sub)) = current.subcommand() {
        path.push(name.to_owned());
        current = sub;
    }
    let (verb, groups) = path.split_last()?;
    let op = OPERATIONS.iter().find(|op| {
        let op_groups: Vec<String> = op.group.split('.').map(kebab).collect();
        op_groups == groups && kebab(op.name) == *verb
    })?;
    Some((op, current))
}

fn field_value(
    m: &ArgMatches,
    id: &str,
    field: &Field,
    stdin: &Stdin,
) -> Result<Option<Value>, CliError> {
    let value = match field.kind {
        FieldKind::Secret => {
            let wanted = field.required || m.get_flag(id);
            if !wanted {
                return Ok(None);
            }
            let prompt = format!("{}: ", field.name);
            Value::String(stdin.read_secret("the secret value", &prompt)?)
        }
        FieldKind::Bool => match m.get_one::<bool>(id) {
            Some(b) => Value::Bool(*b),
            None => return Ok(None),
        },
        FieldKind::Integer => match m.get_one::<i64>(id) {
            Some(n) => Value::from(*n),
            None => return Ok(None),
        },
        FieldKind::Number => match m.get_one::<f64>(id) {
            Some(n) => Value::from(*n),
            None => return Ok(None),
        },
        FieldKind::StringList => match m.get_many::<String>(id) {
            Some(values) => Value::Array(values.cloned().map(Value::String).collect()),
            None => return Ok(None),
        },
        FieldKind::Json => match m.get_one::<String>(id) {
            Some(raw) => serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.clone())),
            None => return Ok(None),
        },
        FieldKind::String => {
            let file_id = format!("{id}@file");
            let from_file = m
                .try_get_one::<String>(&file_id)
                .ok()
                .flatten()
                .map(|path| stdin.text_from("a --*-file flag", path))
                .transpose()?;
            match from_file.or_else(|| m.get_one::<String>(id).cloned()) {
                Some(s) => Value::String(s),
                None => return Ok(None),
            }
        }
    };
    Ok(Some(value))
}

fn fields_into(
    m: &ArgMatches,
    prefix: &str,
    model: &str,
    target: &mut Map<String, Value>,
    stdin: &Stdin,
) -> Result<(), CliError> {
    let fields = model_fields(model);
    for field in &fields {
        if field.kind == FieldKind::Secret && target.contains_key(&field.name) {
            continue;
        }
        let id = format!("{prefix}.{}", field.name);
        if let Some(v) = field_value(m, &id, field, stdin)? {
            target.insert(field.name.clone(), v);
        }
    }
    if let Some(missing) = fields
        .iter()
        .find(|f| f.required && !target.contains_key(&f.name))
    {
        return Err(CliError::usage(format!(
            "missing --{} (or give {:?} in --data)",
            flag_name(&missing.name),
            missing.name
        )));
    }
    Ok(())
}

/// The call's arguments from the verb's matches.
pub fn call_args(op: &Operation, m: &ArgMatches, stdin: &Stdin) -> Result<CallArgs, CliError> {
    let mut args = CallArgs::new();
    for name in op.path_params() {
        let id = format!("path.{name}");
        let value = m
            .get_one::<String>(&id)
            .ok_or_else(|| CliError::usage(format!("missing {}", name.to_uppercase())))?;
        args = args.path_param(name, value.clone());
    }
    if let BodyKind::Multipart(_) = op.body {
        let path = m
            .get_one::<String>("file")
            .ok_or_else(|| CliError::usage("missing PATH"))?;
        args = args.file(upload_from_path(path, stdin)?);
    }
    if let Some(model) = body_model(op) {
        let data = m
            .get_one::<String>("data")
            .map(|raw| stdin.json_data(raw))
            .transpose()?;
        let mut body = match data {
            None => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(CliError::usage("--data must be a JSON object")),
        };
        fields_into(m, "body", model, &mut body, stdin)?;
        args = args.body(Value::Object(body));
    }
    if let Some(model) = op.query {
        let mut query = Map::new();
        fields_into(m, "query", model, &mut query, stdin)?;
        args.query = query;
    }
    Ok(args)
}

/// Runs one resource command and prints its result.
pub async fn run(
    op: &'static Operation,
    m: &ArgMatches,
    globals: &GlobalArgs,
) -> Result<(), CliError> {
    let stdin = Stdin::new();
    let args = call_args(op, m, &stdin)?;
    let client = globals.client()?;
    let paged = op.id == PAGED.0 && !m.get_flag("no-paginate");
    let result = if paged {
        let stream_args = CallArgs {
            path: args.path,
            body: Some(Value::Object(args.query)),
            ..CallArgs::default()
        };
        let mut stream = client.stream_operation(PAGED.1, stream_args)?;
        let mut items = Vec::new();
        while let Some(item) = stream.next().await {
            items.push(item?);
        }
        Value::Array(items)
    } else {
        client.call_operation(op.id, args).await?
    };
    let format = globals.format();
    output::print(&output::render(
        &result,
        output::result_model(op.result),
        format,
    ));
    if result.is_null() && format == Format::Table && std::io::stderr().is_terminal() {
        eprintln!("Done: {} {}", op.method, op.id);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_command() {
        let root = Command::new("nairi").subcommands(group_commands());
        root.clone().debug_assert();
        for op in OPERATIONS {
            let mut argv: Vec<String> = vec!["nairi".into()];
            argv.extend(op.group.split('.').map(kebab));
            argv.push(kebab(op.name));
            argv.extend(op.path_params().map(|p| format!("x-{p}")));
            if let BodyKind::Multipart(_) = op.body {
                argv.push("file.zip".into());
            }
            let m = root
                .clone()
                .try_get_matches_from(&argv)
                .unwrap_or_else(|e| panic!("{}: {e}", op.id));
            let (group, sub) = m.subcommand().unwrap();
            let (found, leaf) = resolve(group, sub).unwrap();
            assert_eq!(found.id, op.id);
            for p in op.path_params() {
                assert_eq!(
                    leaf.get_one::<String>(&format!("path.{p}")).unwrap(),
                    &format!("x-{p}")
                );
            }
        }
    }

    #[test]
    fn flags_become_the_body() {
        let root = Command::new("nairi").subcommands(group_commands());
        let m = root
            .try_get_matches_from([
                "nairi",
                "mcp-configs",
                "create",
                "--title",
                "T",
                "--description",
                "D",
                "--data",
                r#"{"content": "{}", "title": "old"}"#,
                "--is-sensitive",
            ])
            .unwrap();
        let (group, sub) = m.subcommand().unwrap();
        let (op, leaf) = resolve(group, sub).unwrap();
        let args = call_args(op, leaf, &Stdin::new()).unwrap();
        assert_eq!(
            args.body.unwrap(),
            serde_json::json!({"title": "T", "description": "D", "content": "{}", "is_sensitive": true})
        );
        let root = Command::new("nairi").subcommands(group_commands());
        let m = root
            .try_get_matches_from(["nairi", "rules", "create", "--title", "T"])
            .unwrap();
        let (group, sub) = m.subcommand().unwrap();
        let (op, leaf) = resolve(group, sub).unwrap();
        match call_args(op, leaf, &Stdin::new()) {
            Err(CliError::Usage(msg)) => assert!(msg.contains("missing --content"), "{msg}"),
            other => panic!("{other:?}"),
        }
    }
}
