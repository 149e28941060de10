//! A prompt is sent exactly once: `start` and `continue` whose answer is lost are found again
//! (issue 12). Against the emulator, whose `apply` faults take the request and then hide the
//! answer; the emulator's own state (through its API) says how many jobs and prompts exist.

mod common;

use std::time::Duration;

use common::emulated::{EmulatedOrg, builder_for};
use nairi::conversation::WaitOptions;
use nairi::types::{ContinueConversation, ListConversations, MessageRole, StartConversation};
use nairi::{Client, Error, ErrorKind, RequestOptions};
use nairi_emulator::{Emulator, Fault, ScriptedTurn};

const AGENT: &str = "billing";
const PROMPT: &str = "Refund the failed charge for cus_123";

struct Env {
    emu: Emulator,
    key: String,
}

impl Env {
    async fn start() -> Env {
        let org = EmulatedOrg::start().await;
        org.agent_with_instances(AGENT, true, 4);
        Env {
            emu: org.emu,
            key: org.key,
        }
    }

    /// A client whose attempts time out after `timeout` and whose lookups of an ambiguous
    /// prompt last at most `window`.
    fn client(&self, timeout: Duration, window: Duration) -> Client {
        builder_for(&self.emu, &self.key)
            .timeout(timeout)
            .prompt_recovery_window(window)
            .build()
            .expect("client builds")
    }

    fn default_client(&self) -> Client {
        self.client(Duration::from_secs(10), Duration::from_secs(10))
    }

    fn fault(&self, method: &str, path: &str, f: Fault) {
        self.emu.inject_fault(Fault {
            method: Some(method.into()),
            path_prefix: format!("/api/public/v1{path}"),
            ..f
        });
    }

    /// Jobs of the agent and, per job, its user messages' texts, from the emulator's state.
    async fn prompts(&self) -> Vec<(String, Vec<String>)> {
        let c = self.default_client();
        let jobs = c
            .agents()
            .conversations()
            .list(AGENT, &ListConversations::default())
            .await
            .expect("conversations");
        let mut out = Vec::new();
        for job in jobs {
            let texts = c
                .messages()
                .list(&job.id)
                .await
                .expect("messages")
                .into_iter()
                .filter(|m| m.role == MessageRole::User)
                .map(|m| m.content)
                .collect();
            out.push((job.id, texts));
        }
        out
    }
}

fn quick_wait() -> WaitOptions {
    WaitOptions::default()
        .initial_interval(Duration::from_millis(10))
        .max_interval(Duration::from_millis(50))
        .settle(Duration::ZERO)
        .timeout(Some(Duration::from_secs(20)))
}

/// The three ways a prompt is taken while its answer is lost.
fn ambiguous_faults() -> Vec<(&'static str, Fault, Duration)> {
    vec![
        (
            "taken, then the connection dropped",
            Fault {
                apply: true,
                drop_connection: true,
                ..Default::default()
            },
            Duration::from_secs(10),
        ),
        (
            "taken, then an HTML 502",
            Fault {
                apply: true,
                html: true,
                ..Default::default()
            },
            Duration::from_secs(10),
        ),
        (
            "taken after the client timed out",
            Fault {
                apply: true,
                latency_ms: 600,
                ..Default::default()
            },
            // The attempt times out long before the request is taken.
            Duration::from_millis(150),
        ),
    ]
}

#[tokio::test]
async fn an_ambiguous_start_is_recovered_and_its_turn_completes() {
    for (what, fault, timeout) in ambiguous_faults() {
        let env = Env::start().await;
        env.emu
            .script(
                &env.key,
                AGENT,
                vec![ScriptedTurn {
                    reply: Some("Refunded.".into()),
                    ..Default::default()
                }],
            )
            .unwrap();
        let client = env.client(timeout, Duration::from_secs(10));
        env.fault("POST", "/conversations/start", fault);
        let handle = client
            .conversations()
            .start(&StartConversation::new(AGENT, PROMPT))
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(handle.recovered, "{what}");
        let prompts = env.prompts().await;
        assert_eq!(prompts.len(), 1, "{what}: exactly one job: {prompts:?}");
        assert_eq!(prompts[0].0, handle.job_id, "{what}");
        assert_eq!(prompts[0].1, [PROMPT], "{what}: exactly one prompt");
        let turn = env
            .default_client()
            .conversations()
            .wait(&handle, &quick_wait())
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(turn.reply(), Some("Refunded."), "{what}");
        assert_eq!(turn.message_id, handle.message_id, "{what}");
    }
}

#[tokio::test]
async fn run_goes_through_a_lost_answer_to_the_reply() {
    let env = Env::start().await;
    env.emu
        .script(
            &env.key,
            AGENT,
            vec![ScriptedTurn {
                reply: Some("Done once.".into()),
                ..Default::default()
            }],
        )
        .unwrap();
    env.fault(
        "POST",
        "/conversations/start",
        Fault {
            apply: true,
            drop_connection: true,
            ..Default::default()
        },
    );
    let turn = env
        .default_client()
        .conversations()
        .run(
            (AGENT, PROMPT),
            &nairi::RunOptions::default().wait(quick_wait()),
        )
        .await
        .unwrap();
    assert_eq!(turn.reply(), Some("Done once."));
    assert_eq!(env.prompts().await.len(), 1);
}

#[tokio::test]
async fn an_ambiguous_continue_is_recovered_within_the_job() {
    for (what, fault, timeout) in ambiguous_faults() {
        let env = Env::start().await;
        let client = env.default_client();
        let first = client
            .conversations()
            .run(
                (AGENT, "first"),
                &nairi::RunOptions::default().wait(quick_wait()),
            )
            .await
            .unwrap();
        env.fault(
            "POST",
            &format!("/conversations/{}/continue", first.job_id),
            fault,
        );
        let impatient = env.client(timeout, Duration::from_secs(10));
        let handle = impatient
            .conversations()
            .follow_up(&first.job_id, &ContinueConversation::new("and email them"))
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(handle.recovered, "{what}");
        assert_eq!(handle.job_id, first.job_id, "{what}");
        let prompts = env.prompts().await;
        assert_eq!(prompts.len(), 1, "{what}");
        assert_eq!(
            prompts[0].1,
            ["first", "and email them"],
            "{what}: one follow-up"
        );
        let turn = client
            .conversations()
            .wait(&handle, &quick_wait())
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(turn.message_id, handle.message_id, "{what}");
    }
}

#[tokio::test]
async fn a_prompt_that_was_not_taken_is_sent_again_once() {
    let env = Env::start().await;
    // A 502 from a gateway that never forwarded the request.
    env.fault(
        "POST",
        "/conversations/start",
        Fault {
            html: true,
            ..Default::default()
        },
    );
    let client = env.client(Duration::from_secs(10), Duration::from_millis(300));
    let handle = client
        .conversations()
        .start(&StartConversation::new(AGENT, PROMPT))
        .await
        .unwrap();
    assert!(!handle.recovered, "sent again and answered, not recovered");
    let prompts = env.prompts().await;
    assert_eq!(prompts.len(), 1);
    assert_eq!(prompts[0].1, [PROMPT]);
    let posts = env
        .emu
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.status)
        .collect::<Vec<_>>();
    assert_eq!(posts, [502, 200], "looked for, not found, sent again");
}

#[tokio::test]
async fn two_identical_prompts_on_purpose_are_each_recovered_to_their_own_turn() {
    let env = Env::start().await;
    env.fault(
        "POST",
        "/conversations/start",
        Fault {
            apply: true,
            drop_connection: true,
            times: Some(2),
            ..Default::default()
        },
    );
    let client = env.default_client();
    let body = StartConversation::new(AGENT, PROMPT);
    let one = client.conversations().start(&body).await.unwrap();
    let two = client.conversations().start(&body).await.unwrap();
    assert!(one.recovered && two.recovered);
    assert_ne!(
        one.job_id, two.job_id,
        "the second is not taken for the first"
    );
    let prompts = env.prompts().await;
    assert_eq!(prompts.len(), 2, "two prompts sent, two jobs: {prompts:?}");
}

#[tokio::test]
async fn a_lookup_that_fails_gives_an_unknown_outcome_with_what_to_check() {
    let env = Env::start().await;
    env.fault(
        "POST",
        "/conversations/start",
        Fault {
            apply: true,
            drop_connection: true,
            ..Default::default()
        },
    );
    env.fault(
        "GET",
        &format!("/agents/{AGENT}/conversations"),
        Fault {
            status: Some(500),
            times: Some(1000),
            ..Default::default()
        },
    );
    let client = env.client(Duration::from_secs(10), Duration::from_millis(300));
    let err = client
        .conversations()
        .start(&StartConversation::new(AGENT, PROMPT))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert_eq!(err.kind().class_name(), "OutcomeUnknownError");
    let Error::OutcomeUnknown(o) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(o.agent_id.as_deref(), Some(AGENT));
    assert_eq!(o.prompt_sha256.len(), 64);
    assert!(o.reason.contains("lookup failed"), "{}", o.reason);
    let payload = err.to_payload();
    assert_eq!(
        payload.prompt_sha256.as_deref(),
        Some(o.prompt_sha256.as_str())
    );
    assert!(
        !err.to_string().contains(PROMPT),
        "the prompt itself is not in the error"
    );
    env.emu.clear_faults();
    assert_eq!(env.prompts().await.len(), 1, "it had been taken, once");
}

#[tokio::test]
async fn a_timeout_without_a_trace_is_an_unknown_outcome_not_a_resend() {
    let env = Env::start().await;
    // The client gives up before the server would answer; the request is never taken.
    env.fault(
        "POST",
        "/conversations/start",
        Fault {
            latency_ms: 2_000,
            ..Default::default()
        },
    );
    let client = env.client(Duration::from_millis(100), Duration::from_millis(300));
    let err = client
        .conversations()
        .start(&StartConversation::new(AGENT, PROMPT))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    let posts = env
        .emu
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 1, "never sent twice after a timeout");
}

#[tokio::test]
async fn recovery_can_be_switched_off_per_call_and_per_client() {
    let env = Env::start().await;
    env.fault(
        "POST",
        "/conversations/start",
        Fault {
            apply: true,
            drop_connection: true,
            times: Some(2),
            ..Default::default()
        },
    );
    let per_call = env.default_client().with_options(RequestOptions {
        recover_prompts: Some(false),
        ..Default::default()
    });
    let err = per_call
        .conversations()
        .start(&StartConversation::new(AGENT, PROMPT))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    let per_client = nairi::ClientBuilder::without_env()
        .api_key(&env.key)
        .base_url(env.emu.base_url())
        .recover_prompts(false)
        .build()
        .unwrap();
    let err = per_client
        .conversations()
        .start(&StartConversation::new(AGENT, "another"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    let gets = env
        .emu
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    assert_eq!(gets, 0, "no lookup when switched off");
}
