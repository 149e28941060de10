//! Turns that can never finish say so instead of waiting for the 70-minute timeout: a
//! conversation that ends while its turn waits (issue 8.1), a turn stuck in `queued` (8.2),
//! and wait options refused before anything is sent (8.3). Against the emulator; no test
//! asserts on elapsed time: each would end in a `WaitTimeout` (the generous overall timeout)
//! if the behaviour it checks were missing.

use std::time::Duration;

use futures::StreamExt;
use nairi::conversation::{ConversationEnded, RunOptions, TurnEvent, WaitOptions};
use nairi::types::{DeployAgent, JobStatus, MessageStatus, StartConversation, TurnHandle};
use nairi::{Error, ErrorKind};
use nairi_emulator::{LoggedRequest, ScriptedTurn};

mod common;

use common::emulated::{EmulatedOrg as Env, SLUG};

impl Env {
    /// The agent's next turn never finishes: its user message stays `pending`.
    fn script_stuck(&self) {
        self.emu
            .script(
                &self.key,
                SLUG,
                vec![ScriptedTurn {
                    stuck: true,
                    ..Default::default()
                }],
            )
            .expect("scripted");
    }

    fn requests(&self, method: &str, path_part: &str) -> Vec<LoggedRequest> {
        self.emu
            .requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.contains(path_part))
            .collect()
    }

    /// Polls the request log until `done` holds; fails after 10 s.
    async fn until_log(&self, what: &str, done: impl Fn(&[LoggedRequest]) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !done(&self.emu.requests()) {
            assert!(tokio::time::Instant::now() < deadline, "never saw {what}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Waits until the user message of `handle` is `pending` (the agent took it).
    async fn until_pending(&self, handle: &TurnHandle) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let m = self
                .client
                .messages()
                .get(&handle.message_id)
                .await
                .unwrap();
            if m.status == MessageStatus::Pending {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "never pending");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Millisecond polling; an overall timeout that only a wait missing the end would reach.
fn fast_wait() -> WaitOptions {
    WaitOptions::default()
        .initial_interval(ms(2))
        .max_interval(ms(20))
        .progress_interval(ms(5))
        .early_reply_interval(ms(10))
        .reply_grace(ms(1000))
        .settle(ms(50))
        .timeout(Some(Duration::from_secs(20)))
}

fn ended(err: Error) -> ConversationEnded {
    assert_eq!(err.kind(), ErrorKind::ConversationEnded, "{err}");
    assert_eq!(err.kind().class_name(), "ConversationEndedError");
    match err {
        Error::ConversationEnded(e) => *e,
        other => panic!("expected ConversationEnded, got {other:?}"),
    }
}

const ABANDONED: &str = "Job abandoned: Remote branch 'feature' was deleted (likely merged). \
                         Please start a new conversation.";

// The platform abandons the job while `watch` waits: its notice ends the stream at once.
#[tokio::test]
async fn watch_ends_when_the_job_is_abandoned_with_a_notice() {
    let env = Env::start().await;
    env.script_stuck();
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new(SLUG, "never picked up again"))
        .await
        .unwrap();
    let mut stream = conv.watch(&handle, &fast_wait());
    let mut events = Vec::new();
    let err = loop {
        match stream.next().await.expect("the stream ends with an item") {
            Ok(event) => {
                if event
                    == (TurnEvent::StatusChanged {
                        from: Some(MessageStatus::Queued),
                        to: MessageStatus::Pending,
                    })
                {
                    env.emu
                        .set_job_status(&env.key, &handle.job_id, "abandoned", Some(ABANDONED))
                        .unwrap();
                }
                events.push(event);
            }
            Err(e) => break e,
        }
    };
    assert!(stream.next().await.is_none(), "the error is the last item");
    let e = ended(err);
    assert_eq!(e.job_id, handle.job_id);
    assert_eq!(e.message_id.as_deref(), Some(handle.message_id.as_str()));
    assert_eq!(e.job_status, Some(JobStatus::Abandoned));
    assert_eq!(e.notice.as_deref(), Some(ABANDONED));
    assert_eq!(e.last_status, Some(MessageStatus::Pending));
    let text = e.to_string();
    assert!(text.contains("has ended (abandoned)"), "{text}");
    assert!(text.contains(ABANDONED), "{text}");
    // The notice was delivered as it came, like any system message of the turn.
    assert!(
        events
            .iter()
            .any(|ev| matches!(ev, TurnEvent::System(m) if m.content == ABANDONED)),
        "{events:?}"
    );
}

// `wait` reads the same notice from its slower listings.
#[tokio::test]
async fn wait_ends_when_the_job_is_completed_with_a_notice() {
    let env = Env::start().await;
    env.script_stuck();
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new(SLUG, "stuck"))
        .await
        .unwrap();
    env.until_pending(&handle).await;
    env.emu
        .set_job_status(
            &env.key,
            &handle.job_id,
            "completed",
            Some("Job complete - Pull request was closed"),
        )
        .unwrap();
    let e = ended(conv.wait(&handle, &fast_wait()).await.unwrap_err());
    assert_eq!(e.job_status, Some(JobStatus::Completed));
    assert_eq!(
        e.notice.as_deref(),
        Some("Job complete - Pull request was closed")
    );
    assert!(
        env.requests("GET", "/agents/").is_empty(),
        "no agent known: the notice alone"
    );
}

// No notice at all: the job's status in the agent's conversation list ends `run` (which knows
// the agent from its request), checked at `job_status_interval`.
#[tokio::test]
async fn run_ends_when_the_agents_list_says_the_job_ended() {
    let env = Env::start().await;
    env.script_stuck();
    let conv = env.client.conversations();
    let options = RunOptions::default().wait(fast_wait().job_status_interval(ms(20)));
    let ender = async {
        env.until_log("a status poll", |log| {
            log.iter().any(|r| r.path.contains("/messages/cmsg_"))
        })
        .await;
        let job = env
            .client
            .agents()
            .conversations()
            .list(SLUG, &Default::default())
            .await
            .unwrap()
            .remove(0);
        // Once the agent took the message: taking it makes the job `active` again.
        let message_id = env
            .requests("GET", "/messages/cmsg_")
            .remove(0)
            .path
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        let handle = TurnHandle {
            recovered: false,
            job_id: job.id.clone(),
            message_id,
        };
        env.until_pending(&handle).await;
        env.emu
            .set_job_status(&env.key, &job.id, "abandoned", None)
            .unwrap();
        job.id
    };
    let (result, job_id) = tokio::join!(conv.run((SLUG, "stuck"), &options), ender);
    let e = ended(result.unwrap_err());
    assert_eq!(e.job_id, job_id);
    assert_eq!(e.job_status, Some(JobStatus::Abandoned));
    assert_eq!(e.notice, None, "no notice was written");
    // Besides this test's own unfiltered listing, the engine's checks: only ended jobs.
    let checks: Vec<String> = env
        .requests("GET", "/agents/")
        .into_iter()
        .filter_map(|r| r.query)
        .collect();
    assert!(!checks.is_empty(), "the job status was checked");
    for query in &checks {
        assert!(
            query.contains("status=completed%2Cabandoned")
                || query.contains("status=completed,abandoned"),
            "only ended jobs are listed: {query}"
        );
    }
}

// `wait` does the same check when told the agent.
#[tokio::test]
async fn wait_with_the_agent_id_checks_the_job_status() {
    let env = Env::start().await;
    env.script_stuck();
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new(SLUG, "stuck"))
        .await
        .unwrap();
    env.until_pending(&handle).await;
    env.emu
        .set_job_status(&env.key, &handle.job_id, "completed", None)
        .unwrap();
    let opts = fast_wait().agent_id(SLUG).job_status_interval(ms(20));
    let e = ended(conv.wait(&handle, &opts).await.unwrap_err());
    assert_eq!(e.job_status, Some(JobStatus::Completed));
    assert_eq!(e.last_status, Some(MessageStatus::Pending));
}

// A job that completes right after its reply (a merged pull request) is a finished turn, not
// an ended conversation; and the job status is not checked on every tick.
#[tokio::test]
async fn a_job_completed_after_the_reply_still_returns_the_turn() {
    let env = Env::start().await;
    env.emu
        .script(
            &env.key,
            SLUG,
            vec![ScriptedTurn {
                reply: Some("Merged.".into()),
                system_messages: vec!["Job complete - Pull request was merged".into()],
                ..Default::default()
            }],
        )
        .unwrap();
    let conv = env.client.conversations();
    let turn = conv
        .run((SLUG, "merge it"), &RunOptions::default().wait(fast_wait()))
        .await
        .unwrap();
    assert_eq!(turn.reply(), Some("Merged."));
    assert_eq!(turn.system_messages().count(), 1);
    assert!(
        env.requests("GET", "/agents/").is_empty(),
        "the default job_status_interval (60 s) is far longer than this turn"
    );
}

// Issue 8.2: a turn that stays `queued` (here: the agent was never deployed) is flagged once
// by `watch`, and goes on normally once the agent is deployed.
#[tokio::test]
async fn a_turn_stuck_in_queued_is_flagged_once() {
    let env = Env::start().await;
    let id = env.agent("acme/later", false);
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new("acme/later", "anyone there?"))
        .await
        .unwrap();
    let mut stream = conv.watch(&handle, &fast_wait().queued_warning(Duration::ZERO));
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        let event = item.unwrap();
        if matches!(event, TurnEvent::StillQueued { .. }) {
            env.client
                .agents()
                .deploy(&id, &DeployAgent::default())
                .await
                .unwrap();
        }
        events.push(event);
    }
    let flagged: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, TurnEvent::StillQueued { .. }))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(flagged.len(), 1, "{events:?}");
    assert_eq!(
        events[flagged[0] - 1],
        TurnEvent::StatusChanged {
            from: None,
            to: MessageStatus::Queued
        }
    );
    assert!(matches!(events.last(), Some(TurnEvent::Completed(_))));
}

// With the default threshold (a minute) a short queue is not flagged.
#[tokio::test]
async fn a_short_queue_is_not_flagged() {
    let env = Env::start().await;
    env.emu
        .script(
            &env.key,
            SLUG,
            vec![ScriptedTurn {
                queue_ms: 50,
                ..Default::default()
            }],
        )
        .unwrap();
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new(SLUG, "quick"))
        .await
        .unwrap();
    let events: Vec<TurnEvent> = conv
        .watch(&handle, &fast_wait())
        .map(Result::unwrap)
        .collect()
        .await;
    assert!(
        events.iter().any(|e| matches!(
            e,
            TurnEvent::StatusChanged {
                to: MessageStatus::Queued,
                ..
            }
        )),
        "{events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, TurnEvent::StillQueued { .. })),
        "{events:?}"
    );
}

// A timeout while still `queued` says why the turn may never have started.
#[tokio::test]
async fn a_timeout_in_queued_names_the_likely_causes() {
    let env = Env::start().await;
    env.agent("acme/never", false);
    let conv = env.client.conversations();
    let handle = conv
        .start(&StartConversation::new("acme/never", "hello?"))
        .await
        .unwrap();
    let err = conv
        .wait(&handle, &fast_wait().timeout(Some(ms(200))))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WaitTimeout);
    let text = err.to_string();
    assert!(text.contains("last status: queued"), "{text}");
    assert!(text.contains("may not be deployed"), "{text}");
    assert!(text.contains("no free instance"), "{text}");
}

// Issue 8.3: a zero timeout is refused before `run` or `run_follow_up` sends anything, so no
// job is left running with nobody waiting.
#[tokio::test]
async fn a_zero_timeout_is_refused_before_anything_is_posted() {
    let env = Env::start().await;
    let conv = env.client.conversations();
    let turn = conv
        .run((SLUG, "first"), &RunOptions::default().wait(fast_wait()))
        .await
        .unwrap();
    env.emu.clear_requests();
    let zero = RunOptions::default().wait(fast_wait().timeout(Some(Duration::ZERO)));
    for err in [
        conv.run((SLUG, "orphan?"), &zero).await.unwrap_err(),
        conv.run_follow_up(&turn.job_id, "orphan?", &zero)
            .await
            .unwrap_err(),
        conv.wait(&handle_of(&turn), &zero.wait).await.unwrap_err(),
    ] {
        match &err {
            Error::Validation { field, .. } => assert_eq!(field, "timeout"),
            other => panic!("{other:?}"),
        }
    }
    let items: Vec<_> = conv.watch(&handle_of(&turn), &zero.wait).collect().await;
    assert!(matches!(&items[..], [Err(Error::Validation { .. })]));
    let sent = env.emu.requests();
    assert!(sent.is_empty(), "nothing was sent: {sent:?}");
    let jobs = env
        .client
        .agents()
        .conversations()
        .list(SLUG, &Default::default())
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1, "only the first conversation exists");
}

fn handle_of(turn: &nairi::Turn) -> TurnHandle {
    TurnHandle {
        recovered: false,
        job_id: turn.job_id.clone(),
        message_id: turn.message_id.clone(),
    }
}
