//! Runs the cross-language scenarios of `tests/scenarios/` through the generic call, against
//! a fresh emulator each. The Python and Node packages run the same files; see
//! `tests/scenarios/README.md` for the format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nairi::operations::CallArgs;
use nairi::{Client, ClientOptions};
use nairi_emulator::{AgentSeed, Emulator, Fault, ScriptedTurn, Timings};
use serde::Deserialize;
use serde_json::{Map, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    setup: Setup,
    steps: Vec<Step>,
    /// The requests the emulator must have recorded, in this order (others may come between).
    #[serde(default)]
    requests: Vec<ExpectedRequest>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Setup {
    /// Agents created (and deployed when asked) before the first step; their JSON is saved
    /// under their slug.
    agents: Vec<AgentSeed>,
    /// Client options (seconds); the key and base URL come from the emulator.
    client: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    /// An operation id, run through the generic call with `args`.
    #[serde(default)]
    call: Option<String>,
    #[serde(default)]
    args: Value,
    /// Scripted turns for an agent: `{"agent": "slug", "turns": [..]}`.
    #[serde(default)]
    script: Option<ScriptStep>,
    /// A fault to inject now.
    #[serde(default)]
    fault: Option<Fault>,
    /// Sets a job's status as the platform would: `{"job": .., "status": .., "reason": ..}`.
    #[serde(default)]
    job_status: Option<JobStatusStep>,
    /// A streaming call (`conversations.watch`, `agents.conversations.list_all`) with `args`:
    /// for a watch `expect.events` checks the events and `expect.result` the last one; for a
    /// list the items are the result.
    #[serde(default)]
    stream: Option<String>,
    /// What the step must give.
    #[serde(default)]
    expect: Expect,
    /// Variables to save from the result: name -> JSON pointer (`/id`, `/0/job_id`).
    #[serde(default)]
    save: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobStatusStep {
    job: String,
    status: String,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptStep {
    agent: String,
    turns: Vec<ScriptedTurn>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Expect {
    /// A subset of the result: every key given must match; lists must match in length.
    result: Option<Value>,
    /// The length of a list result.
    len: Option<usize>,
    /// The error: a subset of its serialised form (`class`, `status`, `field`, `detail`..).
    error: Option<Value>,
    /// For a watch: these event types appear in this order (others may come between), and
    /// the last event is of the last type given.
    events: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedRequest {
    method: String,
    /// The path under `/api/public/v1`, variables substituted.
    path: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    query: Option<String>,
}

fn scenario_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/scenarios")
}

fn load_all() -> Vec<(PathBuf, Scenario)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenario_dir())
        .expect("tests/scenarios exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let s: Scenario =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, s)
        })
        .collect()
}

/// `${name}` in every string replaced by the saved variable (a whole-string reference keeps
/// the variable's JSON type).
fn substitute(v: &Value, vars: &BTreeMap<String, Value>) -> Value {
    match v {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
                && !name.contains("${")
            {
                return vars
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| panic!("unknown variable {name}"));
            }
            let mut out = s.clone();
            for (k, val) in vars {
                let text = match val {
                    Value::String(t) => t.clone(),
                    other => other.to_string(),
                };
                out = out.replace(&format!("${{{k}}}"), &text);
            }
            assert!(!out.contains("${"), "unknown variable in {s:?}");
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, vars)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), substitute(x, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether `actual` contains `expected`: objects by the keys given, lists element-wise with
/// the same length, scalars equal.
fn contains(actual: &Value, expected: &Value, at: &str) -> Result<(), String> {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for (k, ev) in e {
                let av = a
                    .get(k)
                    .ok_or_else(|| format!("{at}/{k}: missing in {actual}"))?;
                contains(av, ev, &format!("{at}/{k}"))?;
            }
            Ok(())
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                return Err(format!("{at}: {} items, expected {}", a.len(), e.len()));
            }
            for (i, (av, ev)) in a.iter().zip(e).enumerate() {
                contains(av, ev, &format!("{at}/{i}"))?;
            }
            Ok(())
        }
        (a, e) if a == e => Ok(()),
        (a, e) => Err(format!("{at}: {a} is not {e}")),
    }
}

async fn run_scenario(path: &Path, scenario: &Scenario) -> Vec<String> {
    let emulator = Emulator::builder()
        .timings(Timings::fast())
        .start()
        .await
        .expect("the emulator starts");
    let key = emulator.api_key().to_owned();
    let mut vars: BTreeMap<String, Value> = BTreeMap::new();
    for seed in &scenario.setup.agents {
        let agent = emulator
            .create_agent(&key, seed.clone())
            .expect("seed agent");
        let slug = agent["agent_id"].as_str().unwrap().to_owned();
        vars.insert(slug, agent);
    }
    let mut options = scenario.setup.client.clone();
    options.insert("api_key".into(), key.clone().into());
    options.insert("base_url".into(), emulator.base_url().into());
    options.insert("use_env".into(), false.into());
    let client: Client = serde_json::from_value::<ClientOptions>(Value::Object(options))
        .expect("client options")
        .build()
        .expect("client");
    let mut failures = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let label = format!("{} step {i}", path.display());
        if let Some(s) = &step.script {
            emulator
                .script(&key, &s.agent, s.turns.clone())
                .unwrap_or_else(|e| panic!("{label}: script: {e}"));
        }
        if let Some(f) = &step.fault {
            emulator.inject_fault(f.clone());
        }
        if let Some(j) = &step.job_status {
            let job = match substitute(&Value::String(j.job.clone()), &vars) {
                Value::String(s) => s,
                other => panic!("{label}: job {other}"),
            };
            emulator
                .set_job_status(&key, &job, &j.status, j.reason.as_deref())
                .unwrap_or_else(|e| panic!("{label}: job status: {e}"));
        }
        if let Some(id) = &step.stream {
            let args = match &step.args {
                Value::Null => Value::Object(Map::new()),
                other => substitute(other, &vars),
            };
            let args: CallArgs = serde_json::from_value(args)
                .unwrap_or_else(|e| panic!("{label}: stream args: {e}"));
            if let Err(e) = check_stream(&client, id, args, &step.expect, &vars).await {
                failures.push(format!("{label} ({id}): {e}"));
            }
            continue;
        }
        let Some(id) = &step.call else { continue };
        let args = match &step.args {
            Value::Null => Value::Object(Map::new()),
            other => substitute(other, &vars),
        };
        let args: CallArgs =
            serde_json::from_value(args).unwrap_or_else(|e| panic!("{label}: args: {e}"));
        let outcome = client.call_operation(id, args).await;
        if let Err(e) = check(&step.expect, &outcome, &vars) {
            failures.push(format!("{label} ({id}): {e}"));
            continue;
        }
        if let Ok(result) = &outcome {
            for (name, pointer) in &step.save {
                let v = result
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("{label}: nothing at {pointer} in {result}"));
                vars.insert(name.clone(), v.clone());
            }
        }
    }
    let log = emulator.requests();
    let mut cursor = log.iter();
    for want in &scenario.requests {
        let want_path = match substitute(&Value::String(want.path.clone()), &vars) {
            Value::String(s) => format!("{}{s}", nairi_emulator::API_PREFIX),
            other => panic!("path {other}"),
        };
        let found = cursor.any(|r| {
            r.method == want.method
                && r.path == want_path
                && want.status.is_none_or(|s| s == r.status)
                && want
                    .query
                    .as_ref()
                    .is_none_or(|q| r.query.as_deref() == Some(q))
        });
        if !found {
            failures.push(format!(
                "{}: request {} {want_path} (status {:?}) not recorded in order; log: {:?}",
                path.display(),
                want.method,
                want.status,
                log.iter()
                    .map(|r| format!("{} {} {}", r.method, r.path, r.status))
                    .collect::<Vec<_>>()
            ));
            break;
        }
    }
    emulator.shutdown().await;
    failures
}

async fn check_stream(
    client: &Client,
    id: &str,
    args: CallArgs,
    expect: &Expect,
    vars: &BTreeMap<String, Value>,
) -> Result<(), String> {
    use futures::StreamExt;
    let mut stream = client
        .stream_operation(id, args)
        .map_err(|e| e.to_string())?;
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        items.push(item.map_err(|e| format!("the stream failed: {e}"))?);
    }
    if id != "conversations.watch" {
        return check(expect, &Ok(Value::Array(items)), vars);
    }
    let types: Vec<String> = items
        .iter()
        .map(|e| e["type"].as_str().unwrap_or("").to_owned())
        .collect();
    let last = items.last().cloned().unwrap_or(Value::Null);
    let want = expect
        .events
        .as_ref()
        .ok_or("a watch step needs expect.events")?;
    let mut seen = types.iter();
    for w in want {
        if !seen.any(|t| t == w) {
            return Err(format!("events {types:?} do not contain {want:?} in order"));
        }
    }
    if types.last() != want.last() {
        return Err(format!(
            "the last event of {types:?} is not {:?}",
            want.last()
        ));
    }
    if let Some(r) = &expect.result {
        contains(&last, r, "last event")?;
    }
    Ok(())
}

fn check(
    expect: &Expect,
    outcome: &nairi::Result<Value>,
    vars: &BTreeMap<String, Value>,
) -> Result<(), String> {
    match (outcome, &expect.error) {
        (Ok(v), None) => {
            if let Some(r) = &expect.result {
                contains(v, &substitute(r, vars), "")?;
            }
            if let Some(n) = expect.len {
                let len = v.as_array().map(Vec::len);
                if len != Some(n) {
                    return Err(format!("expected {n} items, got {v}"));
                }
            }
            Ok(())
        }
        (Ok(v), Some(e)) => Err(format!("expected the error {e}, got {v}")),
        (Err(err), Some(e)) => {
            let payload = serde_json::to_value(err.to_payload()).unwrap();
            contains(&payload, &substitute(e, vars), "error")
        }
        (Err(err), None) => Err(format!("unexpected error: {err}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_passes() {
    let scenarios = load_all();
    assert!(!scenarios.is_empty(), "no scenario found");
    let mut failures = Vec::new();
    for (path, s) in &scenarios {
        assert!(
            !s.name.is_empty(),
            "{}: a scenario needs a name",
            path.display()
        );
        let _ = &s.description;
        let run = tokio::time::timeout(Duration::from_secs(60), run_scenario(path, s)).await;
        match run {
            Ok(f) => failures.extend(f),
            Err(_) => failures.push(format!("{}: did not finish in 60 s", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Together the scenarios drive every operation group and every error class they can reach.
#[test]
fn the_scenarios_cover_every_group_and_error_class() {
    let scenarios = load_all();
    let mut groups = std::collections::BTreeSet::new();
    let mut classes = std::collections::BTreeSet::new();
    let mut turn_calls = std::collections::BTreeSet::new();
    for (_, s) in &scenarios {
        for step in &s.steps {
            if let Some(id) = &step.call {
                match nairi::operations::find(id) {
                    Some(op) => groups.insert(op.group),
                    None => {
                        let call = nairi::operations::find_turn_call(id)
                            .unwrap_or_else(|| panic!("{} names no operation: {id}", s.name));
                        turn_calls.insert(call.id)
                    }
                };
            }
            if let Some(id) = &step.stream {
                let call = nairi::operations::find_turn_call(id)
                    .unwrap_or_else(|| panic!("{} names no streaming call: {id}", s.name));
                turn_calls.insert(call.id);
            }
            if let Some(class) = step.expect.error.as_ref().and_then(|e| e["class"].as_str()) {
                classes.insert(class.to_owned());
            }
        }
    }
    let all_groups: std::collections::BTreeSet<_> = nairi::operations::OPERATIONS
        .iter()
        .map(|o| o.group)
        .collect();
    assert_eq!(groups, all_groups, "operation groups without a scenario");
    let all_turn_calls: std::collections::BTreeSet<_> =
        nairi::operations::TURN_CALLS.iter().map(|c| c.id).collect();
    assert_eq!(turn_calls, all_turn_calls, "turn calls without a scenario");
    // Two classes no call can produce: a configuration error comes from building the client
    // and a file-system error from saving an attachment, both tested in their own files.
    let reachable = nairi::ErrorKind::ALL
        .iter()
        .map(|k| k.class_name().to_owned())
        .filter(|c| !["ConfigurationError", "FileSystemError"].contains(&c.as_str()));
    let missing: Vec<_> = reachable.filter(|c| !classes.contains(c)).collect();
    assert!(
        missing.is_empty(),
        "error classes without a scenario: {missing:?}"
    );
}
