//! The fake agent: moves user messages through `queued → pending → completed|failed`.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::ids;
use crate::script::{ProgressEvent, ScriptedTurn, Usage};
use crate::state::{Attachment, Message, Org, Shared};

/// Which turn a background task is running; every state access re-finds it by key.
#[derive(Clone)]
struct TurnRef {
    key: String,
    epoch: u64,
    agent_id: String,
    job_id: String,
    msg_id: String,
}

/// Runs `f` on the organisation if it still exists in the same epoch (not reset meanwhile).
fn with_org<R>(app: &Shared, key: &str, epoch: u64, f: impl FnOnce(&mut Org) -> R) -> Option<R> {
    let mut w = app.lock();
    let org = w.orgs.get_mut(key)?;
    if org.epoch != epoch {
        return None;
    }
    Some(f(org))
}

async fn sleep_ms(ms: u64) {
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// Starts every queued message of `agent_id` that can run now. Call with the world lock held.
pub(crate) fn pump(app: &Shared, org: &mut Org, agent_id: &str) {
    let Some(agent) = org.agents.get(agent_id) else {
        return;
    };
    if !agent.deployed {
        return;
    }
    // The instance count of the last deploy, not a PATCHed one that was never deployed.
    let mut free = agent.deployed_instances.saturating_sub(agent.running);
    let queue: Vec<String> = agent.queue.iter().cloned().collect();
    let mut started = Vec::new();
    let mut blocked_jobs: Vec<String> = Vec::new();
    for msg_id in queue {
        if free == 0 {
            break;
        }
        let Some(job_id) = org.msg_job.get(&msg_id).cloned() else {
            started.push((msg_id, None));
            continue;
        };
        let busy = org.jobs.get(&job_id).is_none_or(|j| j.busy);
        if busy || blocked_jobs.contains(&job_id) {
            // Later messages of the same job must wait for this one.
            blocked_jobs.push(job_id);
            continue;
        }
        if let Some(job) = org.jobs.get_mut(&job_id) {
            job.busy = true;
        }
        free -= 1;
        started.push((msg_id, Some(job_id)));
    }
    let Some(agent) = org.agents.get_mut(agent_id) else {
        return;
    };
    for (msg_id, job_id) in started {
        agent.queue.retain(|m| *m != msg_id);
        let Some(job_id) = job_id else { continue };
        agent.running += 1;
        let turn = agent.script.pop_front().unwrap_or_default();
        let model = agent.deployed_model.clone();
        let t = TurnRef {
            key: org.key.clone(),
            epoch: org.epoch,
            agent_id: agent_id.to_string(),
            job_id,
            msg_id,
        };
        let app2 = app.clone();
        app.rt.spawn(run_turn(app2, t, turn, model));
    }
}

/// Marks the agent deployed after `deploy_ms` and starts waiting messages.
pub(crate) fn schedule_deploy(app: &Shared, key: &str, epoch: u64, agent_id: &str) {
    let app2 = app.clone();
    let key = key.to_string();
    let agent_id = agent_id.to_string();
    app.rt.spawn(async move {
        sleep_ms(app2.timings.deploy_ms).await;
        let app3 = app2.clone();
        with_org(&app2, &key, epoch, |org| {
            finish_deploy(org, &agent_id);
            pump(&app3, org, &agent_id);
        });
    });
}

/// Config reaches the agent at deploy: snapshot what the turns use (the model and the number
/// of instances).
pub(crate) fn finish_deploy(org: &mut Org, agent_id: &str) {
    let model = org
        .resources
        .values()
        .filter(|r| r.container_id == agent_id && r.entity_type == "llm_model")
        .max_by_key(|r| r.seq)
        .map(|r| r.entity_id.clone());
    if let Some(agent) = org.agents.get_mut(agent_id) {
        agent.deployed = true;
        agent.deployed_model = model;
        agent.deployed_instances = agent.instances_count;
    }
}

/// The default reply: deterministic and derived from the prompt.
pub fn default_reply(prompt: &str) -> String {
    format!("Echo: {prompt}")
}

/// Text, a tool call that heartbeats while running, and its completion: the shape of a
/// Claude harness turn.
fn default_progress(prompt: &str) -> Vec<ProgressEvent> {
    let preview: String = prompt.chars().take(80).collect();
    vec![
        ProgressEvent {
            progress_type: Some("text".into()),
            text_delta: Some(format!("Working on: {preview}")),
            ..Default::default()
        },
        ProgressEvent {
            progress_type: Some("tool_use".into()),
            tool_name: Some("Bash".into()),
            tool_status: Some("running".into()),
            tool_use_id: Some("tu_1".into()),
            tool_input: Some("ls".into()),
            ..Default::default()
        },
        ProgressEvent {
            progress_type: Some("tool_heartbeat".into()),
            tool_name: Some("Bash".into()),
            tool_status: Some("running".into()),
            tool_use_id: Some("tu_1".into()),
            summary: Some("Running for 1s...".into()),
            ..Default::default()
        },
        ProgressEvent {
            progress_type: Some("tool_use".into()),
            tool_name: Some("Bash".into()),
            tool_status: Some("completed".into()),
            tool_use_id: Some("tu_1".into()),
            tool_output: Some("README.md".into()),
            ..Default::default()
        },
    ]
}

/// One finished turn of a seeded long conversation: the user message, `progress` progress
/// messages (cycling through the default events for `prompt`) and the reply, all `completed`.
pub(crate) fn filler_turn(job_id: &str, prompt: &str, progress: u32) -> Vec<Message> {
    let events = default_progress(prompt);
    let mut out = Vec::with_capacity(progress as usize + 2);
    out.push(Message::new(job_id, "user", "completed", prompt.to_owned()));
    for i in 0..progress as usize {
        out.push(progress_message(job_id, &events[i % events.len()]));
    }
    out.push(Message::new(
        job_id,
        "assistant",
        "completed",
        default_reply(prompt),
    ));
    out
}

fn progress_message(job_id: &str, ev: &ProgressEvent) -> Message {
    let ptype = ev.progress_type.clone().unwrap_or_else(|| "text".into());
    let content = match &ev.raw_content {
        Some(raw) => raw.clone(),
        None => {
            let mut env = Map::new();
            env.insert("job_id".into(), Value::from(job_id));
            env.insert("progress_type".into(), Value::from(ptype.clone()));
            let fields = [
                ("tool_name", &ev.tool_name),
                ("tool_status", &ev.tool_status),
                ("tool_use_id", &ev.tool_use_id),
                ("parent_tool_use_id", &ev.parent_tool_use_id),
                ("text_delta", &ev.text_delta),
                ("summary", &ev.summary),
                ("tool_input", &ev.tool_input),
                ("tool_output", &ev.tool_output),
            ];
            for (k, v) in fields {
                if let Some(v) = v {
                    env.insert(k.into(), Value::from(v.clone()));
                }
            }
            Value::Object(env).to_string()
        }
    };
    let mut m = Message::new(job_id, "progress", "completed", content);
    m.progress_type = Some(ptype);
    m.tool_use_id = ev.tool_use_id.clone();
    m.parent_tool_use_id = ev.parent_tool_use_id.clone();
    m.tool_name = ev.tool_name.clone();
    m.tool_status = ev.tool_status.clone();
    m
}

fn push(app: &Shared, t: &TurnRef, msg: Message) -> bool {
    with_org(app, &t.key, t.epoch, |org| org.push_message(&t.job_id, msg)).is_some()
}

fn set_user_status(app: &Shared, t: &TurnRef, status: &'static str) -> bool {
    with_org(app, &t.key, t.epoch, |org| {
        if let Some(m) = org.message_mut(&t.msg_id) {
            m.set_status(status);
        }
        if let Some(job) = org.jobs.get_mut(&t.job_id) {
            job.updated_at = ids::now();
        }
    })
    .is_some()
}

/// Frees the job and/or the instance, then starts whatever was waiting.
fn release(app: &Shared, t: &TurnRef, instance: bool, job: bool) {
    let app2 = app.clone();
    with_org(app, &t.key, t.epoch, |org| {
        if job && let Some(j) = org.jobs.get_mut(&t.job_id) {
            j.busy = false;
        }
        if instance && let Some(agent) = org.agents.get_mut(&t.agent_id) {
            agent.running = agent.running.saturating_sub(1);
        }
        pump(&app2, org, &t.agent_id);
    });
}

/// The job and instance a turn holds. Each is released exactly once: explicitly, or when the
/// guard is dropped, which also happens when the turn task panics or is cancelled, so that
/// nothing can leave an agent's instance (or a job) busy forever.
///
/// The instance can be freed before the job: another job may use it while this turn's reply
/// is still on its way, but the job's next message waits for that reply (the daemon works
/// through one job's messages strictly in order and answers one before starting the next:
/// BEHAVIOUR 2, "Concurrency").
struct Slot {
    app: Shared,
    t: TurnRef,
    instance: bool,
    job: bool,
}

impl Slot {
    fn new(app: &Shared, t: &TurnRef) -> Self {
        Self {
            app: app.clone(),
            t: t.clone(),
            instance: true,
            job: true,
        }
    }

    /// Frees the instance only: other jobs may use it.
    fn release_instance(&mut self) {
        if std::mem::take(&mut self.instance) {
            release(&self.app, &self.t, true, false);
        }
    }

    /// Frees whatever is still held.
    fn release(&mut self) {
        let instance = std::mem::take(&mut self.instance);
        let job = std::mem::take(&mut self.job);
        if instance || job {
            release(&self.app, &self.t, instance, job);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.release();
    }
}

async fn run_turn(app: Shared, t: TurnRef, turn: ScriptedTurn, deployed_model: Option<String>) {
    let mut slot = Slot::new(&app, &t);
    let tm = app.timings;
    sleep_ms(tm.pickup_ms.max(turn.queue_ms)).await;
    let prompt = with_org(&app, &t.key, t.epoch, |org| {
        let m = org.message_mut(&t.msg_id)?;
        m.set_status("pending");
        let prompt = m.content.clone();
        let attachment_ids = m.attachment_ids.clone().unwrap_or_default();
        let empty = attachment_ids
            .into_iter()
            .find(|id| org.attachments.get(id).is_some_and(|a| a.data.is_empty()));
        let job = org.jobs.get_mut(&t.job_id)?;
        // Picked up: the job is working again, even if an earlier turn left it `error`.
        job.status = "active".into();
        job.updated_at = ids::now();
        Some((prompt, job.mode == "ask", empty))
    });
    let Some(Some((prompt, ask_mode, empty_attachment))) = prompt else {
        return;
    };
    if let Some(id) = empty_attachment {
        // The daemon downloads inbound attachments before it runs the agent, and an empty
        // file fails the whole turn (BEHAVIOUR 2, "Mode, prompts, attachments"; 4.18).
        sleep_ms(tm.step_ms).await;
        let detail = format!("failed to download attachment {id}: the file is empty");
        fail_turn(&app, &t, "nairid", Some(&detail), false).await;
        return;
    }
    if turn.stuck {
        return;
    }
    let progress = turn
        .progress
        .clone()
        .unwrap_or_else(|| default_progress(&prompt));
    for ev in &progress {
        sleep_ms(tm.step_ms).await;
        if !push(&app, &t, progress_message(&t.job_id, ev)) {
            return;
        }
    }
    sleep_ms(tm.reply_ms.saturating_add(turn.delay_ms)).await;

    if let Some(fail) = &turn.fail {
        let prefix = fail.prefix.as_deref().unwrap_or("nairid");
        fail_turn(&app, &t, prefix, fail.detail.as_deref(), fail.double).await;
        return;
    }

    let mut reply = Message::new(
        &t.job_id,
        "assistant",
        "completed",
        turn.reply.clone().unwrap_or_else(|| {
            if ask_mode {
                format!("(ask mode) {}", default_reply(&prompt))
            } else {
                default_reply(&prompt)
            }
        }),
    );
    let usage = match &turn.usage {
        None => {
            let mut u = Usage {
                input_tokens: 10 + prompt.len() as u64 / 4,
                output_tokens: 20 + reply.content.len() as u64 / 4,
                ..Usage::default()
            };
            if let Some(m) = deployed_model {
                u.model = m;
            }
            Some(u)
        }
        Some(u) => u.clone(),
    };
    if let Some(u) = usage {
        reply.cost_usd = Some(u.cost_usd);
        reply.input_tokens = Some(u.input_tokens);
        reply.output_tokens = Some(u.output_tokens);
        reply.cache_read_tokens = Some(u.cache_read_tokens);
        reply.cache_write_tokens = Some(u.cache_write_tokens);
        reply.model = Some(u.model);
    }
    if !turn.attachments.is_empty() {
        let mut ids_out = Vec::new();
        let mut atts = Vec::new();
        for a in &turn.attachments {
            // Checked when the script was accepted.
            let data = a.decode().unwrap_or_default();
            let att = Attachment {
                id: ids::new_id("att_"),
                filename: a.filename.clone(),
                content_type: a
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into()),
                data: std::sync::Arc::new(data),
                created_at: ids::now(),
            };
            ids_out.push(att.id.clone());
            atts.push(att);
        }
        with_org(&app, &t.key, t.epoch, |org| {
            for a in atts {
                org.attachments.insert(a.id.clone(), a);
            }
        });
        reply.attachment_ids = Some(ids_out);
    }

    let status_lag = turn.status_lag_ms.unwrap_or(tm.status_lag_ms);
    // Lags are the platform's, not the agent's: the instance is free for other jobs while the
    // status or the listing catches up, but the job's next message waits until this turn's
    // reply is written (its status already is), as the daemon answers one message before it
    // starts the next. A lagging status alone (the reply written) holds nothing.
    if turn.reply_lag_ms > 0 {
        set_user_status(&app, &t, "completed");
        slot.release_instance();
        sleep_ms(turn.reply_lag_ms).await;
        let now = ids::now();
        reply.created_at = now;
        reply.updated_at = now;
        push(&app, &t, reply);
        trailing(&app, &t, &turn).await;
        slot.release();
        return;
    }
    if status_lag > 0 {
        // The reply is written: the job's next message may start while the status lags.
        push(&app, &t, reply);
        let (app2, t2) = (app.clone(), t.clone());
        app.rt.spawn(async move {
            sleep_ms(status_lag).await;
            set_user_status(&app2, &t2, "completed");
        });
    } else {
        with_org(&app, &t.key, t.epoch, |org| {
            org.push_message(&t.job_id, reply);
            if let Some(m) = org.message_mut(&t.msg_id) {
                m.set_status("completed");
            }
        });
    }
    trailing(&app, &t, &turn).await;
    slot.release();
}

/// The failure convention: `<prefix> encountered error: <detail>` (twice, wrapped, for a
/// `double` failure), then the user message `failed` and the job `error`.
async fn fail_turn(app: &Shared, t: &TurnRef, prefix: &str, detail: Option<&str>, double: bool) {
    if let Some(detail) = detail {
        let msg = Message::new(
            &t.job_id,
            "system",
            "completed",
            format!("{prefix} encountered error: {detail}"),
        );
        push(app, t, msg);
        if double {
            sleep_ms(app.timings.step_ms).await;
            let wrapped =
                format!("{prefix} encountered error: error continuing Claude session: {detail}");
            push(
                app,
                t,
                Message::new(&t.job_id, "system", "completed", wrapped),
            );
        }
    }
    with_org(app, &t.key, t.epoch, |org| {
        if let Some(m) = org.message_mut(&t.msg_id) {
            m.set_status("failed");
        }
        if let Some(job) = org.jobs.get_mut(&t.job_id) {
            job.status = "error".into();
            job.updated_at = ids::now();
        }
    });
}

/// Late progress events and trailing system messages, after the reply.
async fn trailing(app: &Shared, t: &TurnRef, turn: &ScriptedTurn) {
    let tm = app.timings;
    for ev in &turn.late_progress {
        sleep_ms(tm.step_ms).await;
        push(app, t, progress_message(&t.job_id, ev));
    }
    for text in &turn.system_messages {
        sleep_ms(tm.system_after_ms).await;
        push(
            app,
            t,
            Message::new(&t.job_id, "system", "completed", text.clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::routes::agents::insert_agent;
    use crate::script::Timings;
    use crate::state::{App, Job, World};

    #[tokio::test]
    async fn a_panicking_turn_still_frees_its_instance_and_job() {
        let mut world = World::default();
        world.create_org("nr_k", false);
        let app: Shared = Arc::new(App::new(world, Timings::fast()));
        let t = {
            let mut w = app.lock();
            let org = w.org("nr_k").unwrap();
            let agent_id = insert_agent(org, 1, "A", None, 1).unwrap();
            let job_id = org.new_job_id();
            org.jobs.insert(
                job_id.clone(),
                Job::new(job_id.clone(), agent_id.clone(), "api", "execute", 2),
            );
            org.jobs.get_mut(&job_id).unwrap().busy = true;
            org.agents.get_mut(&agent_id).unwrap().running = 1;
            TurnRef {
                key: org.key.clone(),
                epoch: org.epoch,
                agent_id,
                job_id,
                msg_id: "cmsg_x".into(),
            }
        };
        let (app2, t2) = (app.clone(), t.clone());
        let task = tokio::spawn(async move {
            let _slot = Slot::new(&app2, &t2);
            panic!("a bug in the turn task");
        });
        assert!(task.await.unwrap_err().is_panic());
        let mut w = app.lock();
        let org = w.org("nr_k").unwrap();
        assert_eq!(org.agents[&t.agent_id].running, 0);
        assert!(!org.jobs[&t.job_id].busy);
    }
}
