//! `wait`, `watch`, `run` and `run_follow_up` against the emulator's scripted agent, one test
//! (or more) per client-side case of BEHAVIOUR.md section 4. Timings are milliseconds and no
//! test asserts on elapsed time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use nairi::conversation::{
    EMPTY_REPLY_SENTINEL, GENERIC_FAILURE_TEXT, LinkKind, RunOptions, Turn, TurnEvent, WaitOptions,
};
use nairi::types::{
    ContinueConversation, DeployAgent, JobStatus, MessageRole, MessageStatus, StartConversation,
};
use nairi::{Error, ErrorKind};
use nairi_emulator::{
    Emulator, FailSpec, Fault, LoggedRequest, OutboundAttachment, ProgressEvent, ScriptedTurn,
    Timings, Usage,
};

mod common;

use common::emulated::{EmulatedOrg as Env, SLUG, client_for};

impl Env {
    fn script(&self, turns: Vec<ScriptedTurn>) {
        self.emu.script(&self.key, SLUG, turns).expect("scripted");
    }

    fn count(&self, method: &str, path_part: &str) -> usize {
        self.emu
            .requests()
            .iter()
            .filter(|r| r.method == method && r.path.contains(path_part))
            .count()
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Millisecond polling; a generous overall timeout that only a broken wait would reach.
fn fast_wait() -> WaitOptions {
    WaitOptions::default()
        .initial_interval(ms(2))
        .max_interval(ms(20))
        .progress_interval(ms(5))
        .early_reply_interval(ms(10))
        .reply_grace(ms(1000))
        .settle(ms(100))
        .timeout(Some(Duration::from_secs(20)))
}

fn fast_run() -> RunOptions {
    RunOptions::default().wait(fast_wait())
}

fn reply(text: &str) -> ScriptedTurn {
    ScriptedTurn {
        reply: Some(text.to_owned()),
        ..Default::default()
    }
}

async fn collect(stream: impl futures::Stream<Item = nairi::Result<TurnEvent>>) -> Vec<TurnEvent> {
    stream
        .map(|item| item.expect("no error item"))
        .collect()
        .await
}

fn completed(events: &[TurnEvent]) -> &Turn {
    match events.last() {
        Some(TurnEvent::Completed(turn)) => turn,
        other => panic!("expected Completed last, got {other:?}"),
    }
}

fn statuses(events: &[TurnEvent]) -> Vec<MessageStatus> {
    events
        .iter()
        .filter_map(|e| match e {
            TurnEvent::StatusChanged { to, .. } => Some(to.clone()),
            _ => None,
        })
        .collect()
}

fn turn_failed(err: Error) -> nairi::conversation::TurnFailed {
    match err {
        Error::TurnFailed(f) => *f,
        other => panic!("expected TurnFailed, got {other:?}"),
    }
}

// Case 1 (happy path) and 7 (progress is not the reply), 25 (usage present).
#[tokio::test]
async fn run_returns_the_reply_of_this_turn_only() {
    let env = Env::start().await;
    let request = StartConversation::new(SLUG, "Refund the failed charge");
    let turn = env
        .client
        .conversations()
        .run(&request, &fast_run())
        .await
        .unwrap();
    assert!(turn.job_id.starts_with("job_"), "{}", turn.job_id);
    assert!(turn.message_id.starts_with("cmsg_"));
    assert_eq!(turn.status, MessageStatus::Completed);
    assert_eq!(turn.text, "Echo: Refund the failed charge");
    assert!(!turn.is_empty_reply);
    assert!(
        turn.messages.iter().all(|m| m.role != MessageRole::User),
        "the user message is not part of the reply"
    );
    let progress = turn
        .messages
        .iter()
        .filter(|m| m.role == MessageRole::Progress)
        .count();
    assert_eq!(
        progress, 4,
        "the default turn's progress is kept in messages"
    );
    assert!(
        !turn.text.contains("Working on"),
        "progress text is never the reply"
    );
    let usage = turn.usage.expect("default turns report usage");
    assert_eq!(usage.model.as_deref(), Some("claude-opus-4-7"));
    assert!(usage.cost_usd.is_some() && usage.output_tokens.is_some());
    assert!(turn.links.is_empty());
    assert!(turn.attachment_ids.is_empty());
}

// Case 10: `wait` without a consumer lists the thread only at the end.
#[tokio::test]
async fn wait_lists_the_thread_only_at_the_end() {
    let env = Env::start().await;
    env.script(vec![ScriptedTurn {
        delay_ms: 150,
        ..reply("slow")
    }]);
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new(SLUG, "take your time"))
        .await
        .unwrap();
    // Polls far enough apart that the end is known to be past when the status is polled.
    let opts = fast_wait()
        .initial_interval(ms(500))
        .max_interval(ms(500))
        .jitter(0.0)
        .early_reply_interval(Duration::from_secs(60))
        .settle(Duration::ZERO);
    let turn = conv.wait(&handle, &opts).await.unwrap();
    assert_eq!(turn.text, "slow");
    let polls = env.count("GET", &format!("/messages/{}", handle.message_id));
    let lists = env.count("GET", &format!("/conversations/{}/messages", handle.job_id));
    assert!(polls > 1, "the status was polled ({polls})");
    assert_eq!(lists, 1, "one listing, at the end");
}

// Case 2: the settle window counts from when the reply was written. A turn noticed well after
// its end (here a poll every 1.5 s, the turn over after ~60 ms) is returned from the one
// listing that fetched the reply: no second listing after a settle sleep. The first poll, made
// right after `start`, sees the user message's fresh `created_at`, which bounds the clocks.
#[tokio::test]
async fn a_turn_noticed_after_the_settle_window_is_listed_once() {
    let env = Env::start().await;
    env.script(vec![ScriptedTurn {
        delay_ms: 50,
        ..reply("long done")
    }]);
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new(SLUG, "quick one"))
        .await
        .unwrap();
    let every = Duration::from_millis(1500);
    let opts = fast_wait()
        .initial_interval(every)
        .max_interval(every)
        .jitter(0.0)
        .early_reply_interval(Duration::from_secs(60))
        .settle(ms(300));
    let turn = conv.wait(&handle, &opts).await.unwrap();
    assert_eq!(turn.text, "long done");
    assert_eq!(
        ticks(&env, &handle),
        "PPL",
        "poll, poll (completed), one listing"
    );
}

// Case 2: a reply noticed at once, its git notice 150 ms later. The settle window (300 ms
// from the reply) still holds the turn open for the notice, with the default wait schedule
// apart from the first delay.
#[tokio::test]
async fn a_notice_150_ms_after_a_reply_noticed_at_once_is_part_of_the_turn() {
    let emu = Emulator::builder()
        .timings(Timings {
            system_after_ms: 150,
            ..Timings::fast()
        })
        .start()
        .await
        .expect("emulator starts");
    let key = emu.api_key().to_owned();
    let env = Env {
        client: client_for(&emu, &key),
        emu,
        key,
    };
    env.agent(SLUG, true);
    let pr = "Agent opened a [pull request](https://github.com/acme/web/pull/7)";
    env.script(vec![ScriptedTurn {
        delay_ms: 30,
        system_messages: vec![pr.into()],
        ..reply("opened it")
    }]);
    let opts = RunOptions::default().wait(
        WaitOptions::default()
            .initial_interval(ms(5))
            .timeout(Some(Duration::from_secs(20))),
    );
    let turn = env
        .client
        .conversations()
        .run((SLUG, "open a PR"), &opts)
        .await
        .unwrap();
    assert_eq!(turn.text, "opened it");
    assert_eq!(
        turn.pull_requests()
            .map(|l| l.url.as_str())
            .collect::<Vec<_>>(),
        ["https://github.com/acme/web/pull/7"],
        "the settle window caught the notice"
    );
}

// A settle window longer than what is left of the timeout: the listing that fetches the reply
// is not put off past the deadline, so the finished turn is returned, not a timeout.
#[tokio::test]
async fn a_settle_window_past_the_deadline_still_returns_the_turn() {
    let env = Env::start().await;
    env.script(vec![reply("in time")]);
    // Polls far enough apart that the end is known to be past when the status is polled.
    let opts = fast_wait()
        .initial_interval(ms(500))
        .max_interval(ms(500))
        .jitter(0.0)
        .early_reply_interval(Duration::from_secs(60))
        .settle(Duration::from_secs(30))
        .timeout(Some(Duration::from_secs(2)));
    let turn = env
        .client
        .conversations()
        .run((SLUG, "quick"), &RunOptions::default().wait(opts))
        .await
        .expect("the turn, not a timeout");
    assert_eq!(turn.text, "in time");
}

/// The status polls (`P`) and listings (`L`) of one turn, in the order they arrived.
fn ticks(env: &Env, handle: &nairi::types::TurnHandle) -> String {
    let poll = format!("/messages/{}", handle.message_id);
    let list = format!("/conversations/{}/messages", handle.job_id);
    env.emu
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .filter_map(|r| {
            if r.path.ends_with(&poll) {
                Some('P')
            } else if r.path.ends_with(&list) {
                Some('L')
            } else {
                None
            }
        })
        .collect()
}

/// Every tick exactly `every` apart, and the thread due for listing on every tick after the
/// first: the shape of a steady watch.
fn list_every_tick(every: Duration) -> WaitOptions {
    fast_wait()
        .initial_interval(every)
        .max_interval(every)
        .jitter(0.0)
        .progress_interval(every)
        .early_reply_interval(every)
        .settle(Duration::ZERO)
}

// Case 10: a tick that lists the thread takes the status from the listing instead of polling
// it too. With the listing due on every tick, the status is polled only on the first one.
#[tokio::test]
async fn a_tick_that_lists_does_not_poll_the_status_too() {
    let env = Env::start().await;
    env.script(vec![
        ScriptedTurn {
            delay_ms: 300,
            ..reply("watched")
        },
        ScriptedTurn {
            delay_ms: 300,
            ..reply("waited")
        },
    ]);
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new(SLUG, "keep me company"))
        .await
        .unwrap();
    let events = collect(conv.watch(&handle, &list_every_tick(ms(20)))).await;
    assert_eq!(completed(&events).text, "watched");
    let seen = ticks(&env, &handle);
    assert!(seen.starts_with("PL"), "the first change is listed: {seen}");
    assert_eq!(seen.matches('P').count(), 1, "{seen}");
    assert!(seen.len() > 4, "{seen}");

    let handle = conv
        .follow_up(&handle.job_id, &ContinueConversation::new("and wait"))
        .await
        .unwrap();
    env.emu.clear_requests();
    let turn = conv.wait(&handle, &list_every_tick(ms(20))).await.unwrap();
    assert_eq!(turn.text, "waited");
    let seen = ticks(&env, &handle);
    assert!(seen.starts_with("PL"), "{seen}");
    assert_eq!(seen.matches('P').count(), 1, "{seen}");
}

// The quickstart prints events as they come: the turn's progress and reply arrive before the
// terminal status change, which comes right before `Completed`, even when the status flipped
// before the reply was listed.
#[tokio::test]
async fn the_terminal_status_change_comes_after_the_turns_messages() {
    let env = Env::start().await;
    env.script(vec![
        ScriptedTurn {
            reply_lag_ms: 100,
            ..reply("status first")
        },
        ScriptedTurn {
            system_messages: vec!["Agent opened a [pull request](https://x/pull/1)".into()],
            late_progress: vec![ProgressEvent {
                text_delta: Some("late".into()),
                ..Default::default()
            }],
            ..reply("with trailers")
        },
    ]);
    let conv = env.client.conversations();
    let first = conv
        .start(&StartConversation::new(SLUG, "one"))
        .await
        .unwrap();
    let mut job = first.job_id.clone();
    for (handle, text) in [(Some(first), "status first"), (None, "with trailers")] {
        let handle = match handle {
            Some(h) => h,
            None => conv
                .follow_up(&job, &ContinueConversation::new("two"))
                .await
                .unwrap(),
        };
        job = handle.job_id.clone();
        let events = collect(conv.watch(&handle, &fast_wait().settle(ms(200)))).await;
        assert_eq!(completed(&events).text, text);
        let n = events.len();
        assert!(
            matches!(
                &events[n - 2],
                TurnEvent::StatusChanged {
                    to: MessageStatus::Completed,
                    ..
                }
            ),
            "{events:?}"
        );
        assert_eq!(
            statuses(&events).last(),
            Some(&MessageStatus::Completed),
            "one terminal change"
        );
        assert!(
            events[..n - 2]
                .iter()
                .any(|e| matches!(e, TurnEvent::Assistant(_))),
            "{events:?}"
        );
    }
}

// Cases 11-12: queued while no agent instance is free, then picked up after a deploy.
#[tokio::test]
async fn queued_until_the_agent_is_deployed() {
    let env = Env::start().await;
    let id = env.agent("acme/later", false);
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new("acme/later", "wait for me"))
        .await
        .unwrap();
    let mut stream = Box::pin(conv.watch(&handle, &fast_wait()));
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(
        first,
        TurnEvent::StatusChanged {
            from: None,
            to: MessageStatus::Queued
        }
    );
    env.client
        .agents()
        .deploy(&id, &DeployAgent::default())
        .await
        .unwrap();
    let mut events = vec![first];
    while let Some(item) = stream.next().await {
        events.push(item.unwrap());
    }
    assert_eq!(
        statuses(&events),
        [
            MessageStatus::Queued,
            MessageStatus::Pending,
            MessageStatus::Completed
        ]
    );
    assert_eq!(completed(&events).text, "Echo: wait for me");
}

#[tokio::test]
async fn queued_for_a_while_then_pending_then_done() {
    let env = Env::start().await;
    env.script(vec![ScriptedTurn {
        queue_ms: 150,
        ..reply("after the queue")
    }]);
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new(SLUG, "queued"))
        .await
        .unwrap();
    let events = collect(conv.watch(&handle, &fast_wait())).await;
    let seen = statuses(&events);
    assert_eq!(seen.first(), Some(&MessageStatus::Queued));
    assert!(seen.contains(&MessageStatus::Pending), "{seen:?}");
    let TurnEvent::StatusChanged { from, .. } = &events
        .iter()
        .find(|e| {
            matches!(
                e,
                TurnEvent::StatusChanged {
                    to: MessageStatus::Pending,
                    ..
                }
            )
        })
        .unwrap()
    else {
        unreachable!()
    };
    assert_eq!(from, &Some(MessageStatus::Queued));
    assert_eq!(completed(&events).text, "after the queue");
}

// Case 1: the reply ends the wait while the user message still says `pending`.
#[tokio::test]
async fn early_reply_ends_the_wait_while_the_status_lags() {
    let env = Env::start().await;
    env.script(vec![ScriptedTurn {
        status_lag_ms: Some(60_000),
        ..reply("early bird")
    }]);
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new(SLUG, "hurry"))
        .await
        .unwrap();
    // The status flips only after a minute: finishing before the timeout proves the early exit.
    let opts = fast_wait().timeout(Some(Duration::from_secs(15)));
    let turn = conv.wait(&handle, &opts).await.unwrap();
    assert_eq!(turn.text, "early bird");
    assert_eq!(turn.status, MessageStatus::Pending);

    env.script(vec![ScriptedTurn {
        status_lag_ms: Some(60_000),
        ..reply("early bird, watched")
    }]);
    let handle = conv
        .follow_up(&handle.job_id, &ContinueConversation::new("again"))
        .await
        .unwrap();
    let events = collect(conv.watch(&handle, &opts)).await;
    assert_eq!(completed(&events).text, "early bird, watched");
}

// Case 1: the status says completed before the reply is listed; the grace window catches it.
#[tokio::test]
async fn status_first_reply_later_is_caught_by_the_grace_window() {
    let env = Env::start().await;
    env.script(vec![ScriptedTurn {
        reply_lag_ms: 200,
        ..reply("worth the wait")
    }]);
    let opts = fast_run().wait(fast_wait().reply_grace(Duration::from_secs(5)));
    let turn = env
        .client
        .conversations()
        .run((SLUG, "lagging"), &opts)
        .await
        .unwrap();
    assert_eq!(turn.text, "worth the wait");
    assert!(!turn.is_empty_reply);
}

#[tokio::test]
async fn without_a_grace_window_a_lagging_reply_is_reported_empty_not_invented() {
    let env = Env::start().await;
    env.script(vec![ScriptedTurn {
        reply_lag_ms: 30_000,
        ..reply("too late")
    }]);
    let opts = fast_run().wait(
        fast_wait()
            .reply_grace(Duration::ZERO)
            .settle(Duration::ZERO),
    );
    let turn = env
        .client
        .conversations()
        .run((SLUG, "lagging a lot"), &opts)
        .await
        .unwrap();
    assert_eq!(turn.text, "");
    assert!(turn.is_empty_reply);
    assert_eq!(turn.status, MessageStatus::Completed);
}

// Cases 3 and 5: a double failure keeps both messages and reports the last; every prefix parses.
#[tokio::test]
async fn double_system_message_failure() {
    let env = Env::start().await;
    env.script(vec![ScriptedTurn {
        fail: Some(FailSpec {
            detail: Some("model overloaded".into()),
            prefix: None,
            double: true,
        }),
        ..Default::default()
    }]);
    let err = env
        .client
        .conversations()
        .run((SLUG, "fail twice"), &fast_run())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TurnFailed);
    let f = turn_failed(err);
    assert_eq!(
        f.detail.as_deref(),
        Some("error continuing Claude session: model overloaded")
    );
    assert_eq!(f.daemon.as_deref(), Some("nairid"));
    assert_eq!(f.system_messages.len(), 2);
    assert_eq!(
        f.system_messages[0].content,
        "nairid encountered error: model overloaded"
    );
    assert!(f.job_id.starts_with("job_") && f.message_id.starts_with("cmsg_"));
}

#[tokio::test]
async fn old_daemon_prefixes_are_parsed() {
    let env = Env::start().await;
    for prefix in ["eksecd", "ccagent"] {
        env.script(vec![ScriptedTurn {
            fail: Some(FailSpec {
                detail: Some("git push rejected".into()),
                prefix: Some(prefix.into()),
                double: false,
            }),
            ..Default::default()
        }]);
        let f = turn_failed(
            env.client
                .conversations()
                .run((SLUG, "push"), &fast_run())
                .await
                .unwrap_err(),
        );
        assert_eq!(f.detail.as_deref(), Some("git push rejected"));
        assert_eq!(f.daemon.as_deref(), Some(prefix));
        assert_eq!(
            f.raw.as_deref(),
            Some(format!("{prefix} encountered error: git push rejected").as_str())
        );
    }
}

// Case 4 (and 2, 6): turn 1 opens a PR; turn 2 fails silently. The PR notice belongs to turn 1
// and must never be quoted as turn 2's error.
#[tokio::test]
async fn stale_system_message_from_an_earlier_turn_is_never_quoted() {
    let env = Env::start().await;
    let pr = "Agent opened a [pull request](https://github.com/acme/web/pull/42)";
    env.script(vec![
        ScriptedTurn {
            system_messages: vec![pr.into()],
            ..reply("opened it")
        },
        ScriptedTurn {
            fail: Some(FailSpec {
                detail: None,
                ..Default::default()
            }),
            ..Default::default()
        },
    ]);
    let conv = env.client.conversations();
    let first = conv.run((SLUG, "open a PR"), &fast_run()).await.unwrap();
    assert_eq!(
        first.system_messages().count(),
        1,
        "the settle window caught the notice"
    );
    assert_eq!(
        first
            .pull_requests()
            .map(|l| l.url.as_str())
            .collect::<Vec<_>>(),
        ["https://github.com/acme/web/pull/42"]
    );
    let opts = fast_run().wait(fast_wait().reply_grace(ms(100)));
    let err = conv
        .run_follow_up(&first.job_id, "now fail", &opts)
        .await
        .unwrap_err();
    let f = turn_failed(err);
    assert_eq!(f.detail, None);
    assert!(f.system_messages.is_empty());
    assert_eq!(f.reason(), GENERIC_FAILURE_TEXT);
    let text = f.to_string();
    assert!(!text.contains("pull request"), "{text}");
    assert!(text.contains(&f.message_id), "{text}");
}

fn failing(detail: Option<&str>) -> ScriptedTurn {
    ScriptedTurn {
        fail: Some(FailSpec {
            detail: detail.map(str::to_owned),
            ..Default::default()
        }),
        // No progress: nothing but the notice separates the turns.
        progress: Some(vec![]),
        ..Default::default()
    }
}

// Case 4, REFERENCE 2.5 step 4: after a failure the caller retries with a follow-up, which
// fails again for another reason. The second failure quotes its own notice, not the first.
#[tokio::test]
async fn a_retry_that_fails_again_reports_its_own_error() {
    let env = Env::start().await;
    env.script(vec![
        failing(Some("model overloaded")),
        failing(Some("git push rejected")),
    ]);
    let conv = env.client.conversations();
    let first = turn_failed(conv.run((SLUG, "try"), &fast_run()).await.unwrap_err());
    assert_eq!(first.detail.as_deref(), Some("model overloaded"));
    let second = turn_failed(
        conv.run_follow_up(&first.job_id, "try again", &fast_run())
            .await
            .unwrap_err(),
    );
    assert_ne!(second.message_id, first.message_id);
    assert_eq!(second.detail.as_deref(), Some("git push rejected"));
    assert_eq!(second.system_messages.len(), 1);
    assert!(second.to_string().contains("git push rejected"), "{second}");

    // The first turn, read again now that the thread holds both, keeps only its own notice.
    let again = turn_failed(
        conv.wait(
            &nairi::types::TurnHandle {
                recovered: false,
                job_id: first.job_id.clone(),
                message_id: first.message_id.clone(),
            },
            &fast_wait(),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(again.detail.as_deref(), Some("model overloaded"));
    assert_eq!(again.system_messages.len(), 1);
}

// A turn that failed without any notice does not take the retry's reply.
#[tokio::test]
async fn a_silent_failure_then_a_retry_gets_the_retry_its_reply() {
    let env = Env::start().await;
    env.script(vec![failing(None), reply("second time lucky")]);
    let conv = env.client.conversations();
    let opts = fast_run().wait(fast_wait().reply_grace(ms(100)));
    let first = turn_failed(conv.run((SLUG, "try"), &opts).await.unwrap_err());
    assert_eq!(first.reason(), GENERIC_FAILURE_TEXT);
    let turn = conv
        .run_follow_up(&first.job_id, "try again", &fast_run())
        .await
        .unwrap();
    assert_eq!(turn.text, "second time lucky");
    assert!(!turn.is_empty_reply);
}

// Case 6: git notices trail the reply; links are parsed from the markdown.
#[tokio::test]
async fn pull_request_and_commit_links_are_parsed() {
    let env = Env::start().await;
    env.script(vec![ScriptedTurn {
        system_messages: vec![
            "Agent opened a [pull request](https://github.com/acme/web/pull/42)".into(),
            "New commit added: [a1b2c3d](https://github.com/acme/web/commit/a1b2c3d4e5f60718) \
             in [#42](https://github.com/acme/web/pull/42)"
                .into(),
        ],
        ..reply("pushed")
    }]);
    let turn = env
        .client
        .conversations()
        .run((SLUG, "commit"), &fast_run())
        .await
        .unwrap();
    let links: Vec<(&str, LinkKind)> = turn
        .links
        .iter()
        .map(|l| (l.url.as_str(), l.kind))
        .collect();
    assert_eq!(
        links,
        [
            ("https://github.com/acme/web/pull/42", LinkKind::PullRequest),
            (
                "https://github.com/acme/web/commit/a1b2c3d4e5f60718",
                LinkKind::Commit
            ),
        ]
    );
    assert_eq!(turn.text, "pushed", "system messages are not the reply");
}

// Cases 7-8: progress is delivered once per message although the thread is listed again and
// again, including progress that lands after the reply, unknown types and non-JSON content.
#[tokio::test]
async fn progress_is_deduplicated_and_lenient() {
    let env = Env::start().await;
    env.script(vec![ScriptedTurn {
        progress: Some(vec![
            ProgressEvent {
                progress_type: Some("tool_use".into()),
                tool_name: Some("Bash".into()),
                tool_status: Some("running".into()),
                tool_use_id: Some("tu_1".into()),
                tool_input: Some("cargo test".into()),
                ..Default::default()
            },
            ProgressEvent {
                progress_type: Some("hologram".into()),
                summary: Some("a type nobody knows".into()),
                ..Default::default()
            },
            ProgressEvent {
                raw_content: Some("plain words, not JSON".into()),
                ..Default::default()
            },
        ]),
        late_progress: vec![ProgressEvent {
            progress_type: Some("text".into()),
            text_delta: Some("written after the reply".into()),
            ..Default::default()
        }],
        delay_ms: 150,
        ..reply("final answer")
    }]);
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new(SLUG, "show progress"))
        .await
        .unwrap();
    let events = collect(conv.watch(&handle, &fast_wait().settle(ms(200)))).await;
    let turn = completed(&events);
    let progress: Vec<&nairi::conversation::ProgressEvent> = events
        .iter()
        .filter_map(|e| match e {
            TurnEvent::Progress(p) => Some(p),
            _ => None,
        })
        .collect();
    let mut ids: Vec<&str> = progress.iter().map(|p| p.message_id.as_str()).collect();
    let delivered = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), delivered, "each progress message once");
    let in_turn = turn
        .messages
        .iter()
        .filter(|m| m.role == MessageRole::Progress)
        .count();
    assert_eq!(delivered, 4);
    assert_eq!(in_turn, 4);

    assert_eq!(progress[0].tool_name.as_deref(), Some("Bash"));
    assert_eq!(progress[0].input.as_deref(), Some("cargo test"));
    assert_eq!(progress[1].progress_type.as_deref(), Some("hologram"));
    assert_eq!(progress[1].summary.as_deref(), Some("a type nobody knows"));
    assert_eq!(progress[2].raw_content, "plain words, not JSON");
    assert!(progress[2].data.is_none());

    let assistant_at = events
        .iter()
        .position(|e| matches!(e, TurnEvent::Assistant(_)))
        .expect("assistant event");
    let late_at = events
        .iter()
        .position(|e| {
            matches!(e, TurnEvent::Progress(p)
                if p.text_delta.as_deref() == Some("written after the reply"))
        })
        .expect("late progress delivered");
    assert!(late_at > assistant_at);
    let assistants = events
        .iter()
        .filter(|e| matches!(e, TurnEvent::Assistant(_)))
        .count();
    assert_eq!(assistants, 1);
    assert_eq!(turn.text, "final answer");
    assert_eq!(events.iter().filter(|e| e.is_terminal()).count(), 1);
}

// Case 11: a turn that never ends hits the overall timeout with the ids and last status.
#[tokio::test]
async fn stuck_turn_ends_in_wait_timeout() {
    let env = Env::start().await;
    env.script(vec![ScriptedTurn {
        stuck: true,
        ..Default::default()
    }]);
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new(SLUG, "never finishes"))
        .await
        .unwrap();
    let opts = fast_wait().timeout(Some(ms(300)));
    let err = conv.wait(&handle, &opts).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WaitTimeout);
    let Error::WaitTimeout(t) = err else {
        unreachable!()
    };
    assert_eq!(t.job_id, handle.job_id);
    assert_eq!(t.message_id, handle.message_id);
    assert_eq!(t.last_status, Some(MessageStatus::Pending));
    assert_eq!(t.last_error, None, "nothing went wrong but the time");
    let text = t.to_string();
    assert!(
        text.contains(&handle.job_id)
            && text.contains(&handle.message_id)
            && text.contains("last status: pending"),
        "{text}"
    );

    // The stream ends with the same error as its last item.
    let items: Vec<_> = conv.watch(&handle, &opts).collect().await;
    assert!(matches!(items.last(), Some(Err(Error::WaitTimeout(_)))));
    assert!(items[..items.len() - 1].iter().all(Result::is_ok));
}

/// Polls the request log every millisecond until `done` holds; fails after 10 s.
async fn until_log(env: &Env, what: &str, done: impl Fn(&[LoggedRequest]) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if done(&env.emu.requests()) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "never saw {what}");
        tokio::time::sleep(ms(1)).await;
    }
}

/// After a drop: lets a request that was already logged be answered (it may stay unanswered if
/// the dropped client closed its connection first), then checks that nothing new arrives over
/// several poll intervals.
async fn assert_no_request_after_drop(env: &Env, interval: Duration) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while env.emu.requests().iter().any(|r| r.status == 0) && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(ms(1)).await;
    }
    let after = env.emu.requests().len();
    for _ in 0..5 {
        tokio::time::sleep(interval).await;
        assert_eq!(env.emu.requests().len(), after, "a request after the drop");
    }
}

// Case 11: dropping the future or the stream stops polling; no request is made afterwards.
#[tokio::test]
async fn cancellation_makes_no_request_afterwards() {
    let env = Env::start().await;
    env.script(vec![ScriptedTurn {
        stuck: true,
        ..Default::default()
    }]);
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new(SLUG, "cancel me"))
        .await
        .unwrap();
    // Fixed intervals, so "several poll intervals" means something.
    let every = ms(40);
    let opts = fast_wait()
        .initial_interval(every)
        .max_interval(every)
        .progress_interval(every)
        .jitter(0.0)
        .timeout(None);
    let before = env.emu.requests().len();
    let polled = |log: &[LoggedRequest]| log.len() >= before + 3;
    tokio::select! {
        outcome = conv.wait(&handle, &opts) => panic!("a stuck turn ended: {outcome:?}"),
        () = until_log(&env, "the wait polling", polled) => {}
    }
    // The wait future is dropped here.
    assert_no_request_after_drop(&env, every).await;

    let before = env.emu.requests().len();
    let mut stream = conv.watch(&handle, &opts);
    let first = stream.next().await.expect("an event").expect("no error");
    assert!(matches!(first, TurnEvent::StatusChanged { from: None, .. }));
    let seen = |log: &[LoggedRequest]| log.len() >= before + 4;
    tokio::select! {
        item = stream.next() => panic!("nothing more on a stuck turn: {item:?}"),
        () = until_log(&env, "the stream polling", seen) => {}
    }
    drop(stream);
    assert_no_request_after_drop(&env, every).await;
}

// Case 21 (client side): gateway errors, dropped connections and garbled bodies while polling
// are retried by the loop and do not fail the wait.
#[tokio::test]
async fn transient_errors_while_polling_do_not_fail_the_wait() {
    let env = Env::start().await;
    env.script(vec![ScriptedTurn {
        delay_ms: 100,
        ..reply("survived")
    }]);
    for fault in [
        Fault {
            method: Some("GET".into()),
            path_prefix: "/api/public/v1/messages/".into(),
            times: Some(3),
            html: true,
            ..Default::default()
        },
        Fault {
            method: Some("GET".into()),
            path_prefix: "/api/public/v1/messages/".into(),
            times: Some(1),
            drop_connection: true,
            ..Default::default()
        },
        Fault {
            method: Some("GET".into()),
            path_prefix: "/api/public/v1/messages/".into(),
            times: Some(1),
            malformed_json: true,
            ..Default::default()
        },
        Fault {
            method: Some("GET".into()),
            path_prefix: "/api/public/v1/messages/".into(),
            times: Some(1),
            status: Some(429),
            retry_after: Some("0".into()),
            ..Default::default()
        },
        Fault {
            method: Some("GET".into()),
            path_prefix: "/api/public/v1/conversations/".into(),
            times: Some(2),
            status: Some(503),
            body: Some(String::new()),
            ..Default::default()
        },
    ] {
        env.emu.inject_fault(fault);
    }
    // No per-request retries at all: the poll loop alone must absorb the faults.
    let client = env.client.with_options(nairi::RequestOptions {
        max_retries: Some(0),
        ..Default::default()
    });
    // The thread is listed only at the end: the status polls meet every fault on
    // `/messages/` before one can see the turn done, and the final listing the two 503s.
    let opts = fast_run().wait(fast_wait().early_reply_interval(Duration::from_secs(3600)));
    let turn = client
        .conversations()
        .run((SLUG, "through the storm"), &opts)
        .await
        .unwrap();
    assert_eq!(turn.text, "survived");
    let faulted = env
        .emu
        .requests()
        .iter()
        .filter(|r| r.fault.is_some())
        .count();
    assert_eq!(faulted, 3 + 1 + 1 + 1 + 2, "every injected fault was hit");
}

// A client error while polling ends the wait at once.
#[tokio::test]
async fn not_found_while_polling_fails_immediately() {
    let env = Env::start().await;
    let handle = nairi::types::TurnHandle {
        recovered: false,
        job_id: "job_01KRK1V46BXS73CSNK2VR35NPJ".into(),
        message_id: "cmsg_01KRK1V475HBTME8QJQMAPWK16".into(),
    };
    let err = env
        .client
        .conversations()
        .wait(&handle, &fast_wait())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(env.emu.requests().len(), 1);
}

// Case 16: a conversation that ended refuses follow-ups: the emulator's 400 is read as
// ConversationEnded (issue 8.1), and nothing more is sent.
#[tokio::test]
async fn follow_up_on_an_ended_conversation_is_conversation_ended() {
    let env = Env::start().await;
    let conv = env.client.conversations();
    for status in ["completed", "abandoned"] {
        let turn = conv.run((SLUG, "first"), &fast_run()).await.unwrap();
        env.emu
            .set_job_status(
                &env.key,
                &turn.job_id,
                status,
                Some("Job complete - Pull request was merged"),
            )
            .unwrap();
        let before = env.emu.requests().len();
        let err = conv
            .run_follow_up(&turn.job_id, "one more", &fast_run())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConversationEnded, "{err}");
        let ended = conversation_ended(err);
        assert_eq!(ended.job_id, turn.job_id);
        assert_eq!(ended.message_id, None);
        assert_eq!(ended.job_status, Some(JobStatus::from(status)));
        let notice = ended.notice.clone().unwrap_or_default();
        assert!(notice.contains("cannot be continued"), "{notice}");
        assert!(
            ended.to_string().ends_with("start a new conversation"),
            "{ended}"
        );
        assert_eq!(
            env.emu.requests().len(),
            before + 1,
            "the rejected continue is not retried and nothing is polled"
        );
    }
}

// Refusals for other reasons keep their class and get no "may have ended" hint.
#[tokio::test]
async fn a_continue_refused_for_another_reason_is_not_called_ended() {
    let env = Env::start().await;
    let conv = env.client.conversations();
    let seeded = env
        .emu
        .seed_job(
            &env.key,
            nairi_emulator::JobSeed {
                agent: SLUG.into(),
                source: Some("slack".into()),
                ..Default::default()
            },
        )
        .unwrap();
    let turn = conv.run((SLUG, "first"), &fast_run()).await.unwrap();
    let bad_attachment = ContinueConversation {
        extra: Default::default(),
        prompt: "again".into(),
        attachment_ids: vec!["att_01KRK1V46BXS73CSNK2VR35NPJ".into()],
    };
    let cases = [
        (
            "job_not-a-ulid".to_owned(),
            ContinueConversation::new("again"),
        ),
        (seeded.job_id.clone(), ContinueConversation::new("again")),
        (turn.job_id.clone(), bad_attachment),
    ];
    for (job_id, body) in cases {
        let err = conv.follow_up(&job_id, &body).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadRequest, "{job_id}: {err}");
        assert_eq!(
            err.as_api().and_then(|a| a.hint.clone()),
            None,
            "{job_id}: {err}"
        );
    }
}

fn conversation_ended(err: Error) -> nairi::conversation::ConversationEnded {
    match err {
        Error::ConversationEnded(e) => *e,
        other => panic!("expected ConversationEnded, got {other:?}"),
    }
}

// Case 15 (with the emulator answering the same job) and legacy `j_` job ids.
#[tokio::test]
async fn legacy_job_ids_work_end_to_end() {
    let env = Env::start_with(true).await;
    let conv = env.client.conversations();
    let turn = conv.run((SLUG, "old style"), &fast_run()).await.unwrap();
    assert!(turn.job_id.starts_with("j_"), "{}", turn.job_id);
    assert_eq!(turn.text, "Echo: old style");
    let next = conv
        .run_follow_up(&turn.job_id, "again", &fast_run())
        .await
        .unwrap();
    assert_eq!(next.job_id, turn.job_id);
    assert_eq!(next.text, "Echo: again");
    assert!(next.messages.iter().all(|m| m.content != "Echo: old style"));
}

// Case 13 and 9: follow-ups sent back to back run in order; each turn sees only its messages.
#[tokio::test]
async fn back_to_back_follow_ups_keep_their_own_replies() {
    let env = Env::start().await;
    let conv = env.client.conversations();
    let first = conv.run((SLUG, "A"), &fast_run()).await.unwrap();
    let b = conv
        .follow_up(&first.job_id, &ContinueConversation::new("B"))
        .await
        .unwrap();
    let c = conv
        .follow_up(&first.job_id, &ContinueConversation::new("C"))
        .await
        .unwrap();
    let turn_c = conv.wait(&c, &fast_wait()).await.unwrap();
    let turn_b = conv.wait(&b, &fast_wait()).await.unwrap();
    assert_eq!(turn_b.text, "Echo: B");
    assert_eq!(turn_c.text, "Echo: C");
    assert!(turn_b.messages.iter().all(|m| m.content != "Echo: C"));
}

// Case 24: the empty-reply sentinel.
#[tokio::test]
async fn sentinel_reply_is_flagged() {
    let env = Env::start().await;
    env.script(vec![reply(EMPTY_REPLY_SENTINEL)]);
    let turn = env
        .client
        .conversations()
        .run((SLUG, "say nothing"), &fast_run())
        .await
        .unwrap();
    assert!(turn.is_empty_reply);
    assert_eq!(turn.text, EMPTY_REPLY_SENTINEL);
}

// Case 25: usage is optional; present figures are read as sent.
#[tokio::test]
async fn usage_present_and_absent() {
    let env = Env::start().await;
    env.script(vec![
        ScriptedTurn {
            usage: Some(None),
            ..reply("no usage")
        },
        ScriptedTurn {
            usage: Some(Some(Usage {
                cost_usd: 1.25,
                input_tokens: 100,
                output_tokens: 200,
                cache_read_tokens: 3,
                cache_write_tokens: 4,
                model: "sonnet-4.6".into(),
            })),
            ..reply("with usage")
        },
    ]);
    let conv = env.client.conversations();
    let first = conv.run((SLUG, "one"), &fast_run()).await.unwrap();
    assert_eq!(first.usage, None);
    let second = conv
        .run_follow_up(&first.job_id, "two", &fast_run())
        .await
        .unwrap();
    let u = second.usage.unwrap();
    assert_eq!(u.cost_usd, Some(1.25));
    assert_eq!(
        (
            u.input_tokens,
            u.output_tokens,
            u.cache_read_tokens,
            u.cache_write_tokens
        ),
        (Some(100), Some(200), Some(3), Some(4))
    );
    assert_eq!(u.model.as_deref(), Some("sonnet-4.6"));
}

// Case 19: files the agent produced are listed on the assistant message.
#[tokio::test]
async fn attachments_on_the_assistant_message() {
    let env = Env::start().await;
    env.script(vec![ScriptedTurn {
        attachments: vec![
            OutboundAttachment {
                filename: "report.txt".into(),
                content_type: Some("text/plain".into()),
                data_base64: "aGVsbG8=".into(),
            },
            OutboundAttachment {
                filename: "chart.png".into(),
                content_type: Some("image/png".into()),
                data_base64: "iVBORw0KGgo=".into(),
            },
        ],
        ..reply("files attached")
    }]);
    let turn = env
        .client
        .conversations()
        .run((SLUG, "make files"), &fast_run())
        .await
        .unwrap();
    assert_eq!(turn.attachment_ids.len(), 2);
    assert!(turn.attachment_ids.iter().all(|id| id.starts_with("att_")));
}

// Ask mode and attachment ids go with `run`; more than 10 ids are refused before sending.
#[tokio::test]
async fn run_options_are_sent_and_checked() {
    let env = Env::start().await;
    let conv = env.client.conversations();
    let turn = conv
        .run((SLUG, "just answer"), &fast_run().ask_mode(true))
        .await
        .unwrap();
    assert_eq!(turn.text, "(ask mode) Echo: just answer");

    let before = env.emu.requests().len();
    let eleven: Vec<String> = (0..11).map(|i| format!("att_{i}")).collect();
    let err = conv
        .run(
            (SLUG, "too many"),
            &fast_run().attachment_ids(eleven.clone()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let err = conv
        .run_follow_up(&turn.job_id, "too many", &fast_run().attachment_ids(eleven))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let err = conv
        .run(
            (SLUG, "bad options"),
            &fast_run().wait(fast_wait().jitter(2.0)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    assert_eq!(env.emu.requests().len(), before, "nothing was sent");
}

// `run` with a callback sees the same events `watch` yields, the end included.
#[tokio::test]
async fn run_reports_events_to_the_callback() {
    let env = Env::start().await;
    let seen: Arc<Mutex<Vec<TurnEvent>>> = Arc::default();
    let sink = Arc::clone(&seen);
    let opts = fast_run().on_event(move |ev| sink.lock().unwrap().push(ev.clone()));
    let turn = env
        .client
        .conversations()
        .run((SLUG, "narrate"), &opts)
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    assert!(seen.iter().any(|e| matches!(e, TurnEvent::Progress(_))));
    assert!(seen.iter().any(|e| matches!(e, TurnEvent::Assistant(_))));
    assert_eq!(seen.last(), Some(&TurnEvent::Completed(turn)));
}

// BEHAVIOUR 2 ("Concurrency"), 4.13: a reply that lags behind its status does not let the
// job's queued follow-up overtake it, so each turn gets its own reply.
#[tokio::test]
async fn a_lagging_reply_with_a_queued_follow_up_keeps_the_replies_apart() {
    let env = Env::start().await;
    env.script(vec![
        ScriptedTurn {
            reply: Some("reply A".into()),
            reply_lag_ms: 400,
            progress: Some(vec![]),
            ..Default::default()
        },
        ScriptedTurn {
            reply: Some("reply B".into()),
            progress: Some(vec![]),
            ..Default::default()
        },
    ]);
    let conv = env.client.conversations();
    let a = conv.start(&(SLUG, "A").into()).await.expect("started");
    let b = conv
        .follow_up(&a.job_id, &ContinueConversation::new("B"))
        .await
        .expect("followed up");
    let wait = fast_wait();
    let (ta, tb) = tokio::join!(conv.wait(&a, &wait), conv.wait(&b, &wait));
    assert_eq!(ta.expect("A answered").text, "reply A");
    assert_eq!(tb.expect("B answered").text, "reply B");
}
