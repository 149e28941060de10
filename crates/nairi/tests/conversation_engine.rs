//! The wait engine against scripted HTTP answers, for server behaviours the emulator does not
//! produce: a continue that names another job, a thread that does not list the user message,
//! null strings, unknown statuses, rate limits and authentication failures while polling.

use std::time::Duration;

use futures::StreamExt;
use nairi::conversation::{RunOptions, TurnEvent, WaitOptions};
use nairi::types::{JobStatus, MessageStatus, TurnHandle};
use nairi::{Client, Error, ErrorKind, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const P: &str = "/api/public/v1";
const JOB: &str = "job_01KRK1V46BXS73CSNK2VR35NPJ";
const MSG: &str = "cmsg_01KRK1V475HBTME8QJQMAPWK16";

fn client(server: &MockServer) -> Client {
    nairi::ClientBuilder::without_env()
        .api_key("nr_test_key")
        .base_url(server.uri())
        .retry_policy(RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(2),
            max_backoff: Duration::from_millis(10),
            max_retry_after: Duration::from_millis(50),
        })
        .build()
        .expect("client builds")
}

fn opts() -> WaitOptions {
    WaitOptions::default()
        .initial_interval(Duration::from_millis(2))
        .max_interval(Duration::from_millis(10))
        .progress_interval(Duration::from_millis(5))
        .early_reply_interval(Duration::from_millis(5))
        .reply_grace(Duration::from_millis(50))
        .settle(Duration::ZERO)
        .timeout(Some(Duration::from_secs(10)))
}

/// `opts()` where the thread is listed only on a status change (watching) and at the end: every
/// other tick polls the status.
fn polls_only() -> WaitOptions {
    opts()
        .progress_interval(Duration::from_secs(3600))
        .early_reply_interval(Duration::from_secs(3600))
}

fn handle() -> TurnHandle {
    TurnHandle {
        recovered: false,
        job_id: JOB.into(),
        message_id: MSG.into(),
    }
}

fn message(id: &str, job: &str, role: &str, status: &str, content: &str) -> Value {
    json!({"id": id, "job_id": job, "content": content, "role": role, "status": status,
           "created_at": "2026-11-28T10:00:00.000Z", "updated_at": "2026-11-28T10:00:00.000Z"})
}

/// `GET /messages/{MSG}` answers `status` for the next `times` polls (then the next mock).
async fn poll_answers(server: &MockServer, status: &str, times: Option<u64>) {
    let mock = Mock::given(method("GET"))
        .and(path(format!("{P}/messages/{MSG}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(message(MSG, JOB, "user", status, "hi")),
        );
    match times {
        Some(n) => mock.up_to_n_times(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

async fn thread_answers(server: &MockServer, job: &str, messages: Value) {
    Mock::given(method("GET"))
        .and(path(format!("{P}/conversations/{job}/messages")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "messages": messages })))
        .mount(server)
        .await;
}

fn count(requests: &[wiremock::Request], m: &str, p: &str) -> usize {
    requests
        .iter()
        .filter(|r| r.method.as_str() == m && r.url.path() == p)
        .count()
}

// BEHAVIOUR 4.15: the continue answer's job id is adopted, and the thread is read from it.
#[tokio::test]
async fn follow_up_adopts_the_job_id_the_server_names() {
    let server = MockServer::start().await;
    let new_job = "job_01KRK1V46BXS73CSNK2VR35NPK";
    Mock::given(method("POST"))
        .and(path(format!("{P}/conversations/{JOB}/continue")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"job_id": new_job, "message_id": MSG})),
        )
        .expect(1)
        .mount(&server)
        .await;
    // The user message belongs to the job the continue answer named.
    Mock::given(method("GET"))
        .and(path(format!("{P}/messages/{MSG}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(message(
            MSG,
            new_job,
            "user",
            "completed",
            "again",
        )))
        .mount(&server)
        .await;
    thread_answers(
        &server,
        new_job,
        json!([
            message(MSG, new_job, "user", "completed", "again"),
            message(
                "cmsg_a",
                new_job,
                "assistant",
                "completed",
                "from the new job"
            ),
        ]),
    )
    .await;
    let turn = client(&server)
        .conversations()
        .run_follow_up(JOB, "again", &RunOptions::default().wait(opts()))
        .await
        .unwrap();
    assert_eq!(turn.job_id, new_job);
    assert_eq!(turn.text, "from the new job");
}

// BEHAVIOUR 4.9: if the user message is not listed, the thread is not the reply.
#[tokio::test]
async fn a_thread_without_the_user_message_is_not_taken_as_the_reply() {
    let server = MockServer::start().await;
    poll_answers(&server, "completed", None).await;
    thread_answers(
        &server,
        JOB,
        json!([
            message("cmsg_other", JOB, "user", "completed", "earlier prompt"),
            message(
                "cmsg_old",
                JOB,
                "assistant",
                "completed",
                "an earlier reply"
            ),
            message(
                "cmsg_s",
                JOB,
                "system",
                "completed",
                "Agent opened a [pull request](https://github.com/a/b/pull/1)"
            ),
        ]),
    )
    .await;
    let turn = client(&server)
        .conversations()
        .wait(&handle(), &opts())
        .await
        .unwrap();
    assert_eq!(turn.text, "");
    assert!(turn.is_empty_reply);
    assert!(turn.reply_missing);
    assert!(turn.messages.is_empty());
    assert!(turn.links.is_empty());
    let lists = count(
        &server.received_requests().await.unwrap(),
        "GET",
        &format!("{P}/conversations/{JOB}/messages"),
    );
    assert!(lists > 1, "the grace window listed again ({lists})");
}

// BEHAVIOUR 4.22: null strings and unknown statuses are tolerated; unknown statuses keep the
// wait going.
#[tokio::test]
async fn nulls_and_unknown_statuses_do_not_break_the_wait() {
    let server = MockServer::start().await;
    poll_answers(&server, "thinking", Some(3)).await;
    poll_answers(&server, "completed", None).await;
    thread_answers(
        &server,
        JOB,
        json!([
            {"id": MSG, "job_id": null, "content": null, "role": "user", "status": "completed"},
            {"id": "cmsg_p", "job_id": JOB, "content": null, "role": "progress", "status": "completed",
             "progress_type": null},
            {"id": "cmsg_a", "job_id": null, "content": "the reply", "role": "assistant",
             "status": "completed", "attachment_ids": null, "cost_usd": null, "model": null},
        ]),
    )
    .await;
    let events: Vec<TurnEvent> = client(&server)
        .conversations()
        .watch(&handle(), &opts())
        .map(|e| e.unwrap())
        .collect()
        .await;
    let statuses: Vec<MessageStatus> = events
        .iter()
        .filter_map(|e| match e {
            TurnEvent::StatusChanged { to, .. } => Some(to.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            MessageStatus::Unknown("thinking".into()),
            MessageStatus::Completed
        ]
    );
    let Some(TurnEvent::Completed(turn)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(turn.text, "the reply");
    assert_eq!(turn.usage, None);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, TurnEvent::Progress(p) if p.raw_content.is_empty()))
    );
}

// BEHAVIOUR 4.22: null (or missing) roles and statuses decode as `Unknown("")` and never break
// the wait: a null status is no news (no event), the user message starts its turn even with a
// null role, and messages of unknown role stay in the turn.
#[tokio::test]
async fn null_roles_and_statuses_do_not_break_the_wait() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{P}/messages/{MSG}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": MSG, "job_id": JOB, "content": "hi", "role": null, "status": null}),
        ))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    poll_answers(&server, "pending", Some(1)).await;
    Mock::given(method("GET"))
        .and(path(format!("{P}/messages/{MSG}")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": MSG, "job_id": JOB, "content": "hi", "role": "user"})),
        )
        .up_to_n_times(2)
        .mount(&server)
        .await;
    poll_answers(&server, "completed", None).await;
    thread_answers(
        &server,
        JOB,
        json!([
            {"id": "cmsg_0", "job_id": JOB, "content": "earlier", "role": "user", "status": "completed"},
            {"id": "cmsg_0a", "job_id": JOB, "content": "earlier reply", "role": "assistant",
             "status": "completed"},
            {"id": MSG, "job_id": JOB, "content": "hi", "role": null, "status": null},
            {"id": "cmsg_x", "job_id": JOB, "content": "?", "role": null, "status": null},
            {"id": "cmsg_p", "job_id": JOB, "content": "{}", "role": "progress"},
            {"id": "cmsg_a", "job_id": JOB, "content": "the reply", "role": "assistant",
             "status": null},
        ]),
    )
    .await;
    let turn = client(&server)
        .conversations()
        .wait(&handle(), &polls_only())
        .await
        .unwrap();
    assert_eq!(turn.text, "the reply");
    assert_eq!(turn.status, MessageStatus::Completed);
    let ids: Vec<&str> = turn.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["cmsg_x", "cmsg_p", "cmsg_a"]);

    server.reset().await;
    poll_answers(&server, "pending", Some(1)).await;
    Mock::given(method("GET"))
        .and(path(format!("{P}/messages/{MSG}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": MSG, "job_id": JOB, "content": "hi", "role": "user", "status": null}),
        ))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    poll_answers(&server, "completed", None).await;
    thread_answers(
        &server,
        JOB,
        json!([
            {"id": MSG, "job_id": JOB, "content": "hi", "role": "user", "status": null},
            {"id": "cmsg_a", "job_id": JOB, "content": "the reply", "role": "assistant",
             "status": null},
        ]),
    )
    .await;
    let events: Vec<TurnEvent> = client(&server)
        .conversations()
        .watch(&handle(), &polls_only())
        .map(|e| e.unwrap())
        .collect()
        .await;
    assert_eq!(
        statuses(&events),
        [MessageStatus::Pending, MessageStatus::Completed],
        "a null status is no news: {events:?}"
    );
}

// A reply in the turn ends the wait while the status lags, but a listing that already says
// `failed` is a failure, reply or not (the agent can answer, then fail to push).
#[tokio::test]
async fn a_listed_failure_wins_over_a_reply_in_the_turn() {
    let server = MockServer::start().await;
    poll_answers(&server, "pending", None).await;
    thread_answers(
        &server,
        JOB,
        json!([
            message(MSG, JOB, "user", "failed", "hi"),
            message("cmsg_a", JOB, "assistant", "completed", "done, pushing"),
            message(
                "cmsg_s",
                JOB,
                "system",
                "completed",
                "nairid encountered error: git push rejected"
            ),
        ]),
    )
    .await;
    let err = client(&server)
        .conversations()
        .wait(&handle(), &opts())
        .await
        .unwrap_err();
    let nairi::Error::TurnFailed(f) = err else {
        panic!("{err:?}")
    };
    assert_eq!(f.detail.as_deref(), Some("git push rejected"));
}

/// The thread of a turn whose reply is listed while the status lags (`pending`), then, from the
/// second listing on, the user message `failed` with a push error after the reply.
async fn reply_then_failure(server: &MockServer) {
    poll_answers(server, "pending", None).await;
    Mock::given(method("GET"))
        .and(path(format!("{P}/conversations/{JOB}/messages")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"messages": [
                message(MSG, JOB, "user", "pending", "hi"),
                message("cmsg_a", JOB, "assistant", "completed", "done, pushing"),
            ]})),
        )
        .up_to_n_times(1)
        .mount(server)
        .await;
    thread_answers(
        server,
        JOB,
        json!([
            message(MSG, JOB, "user", "failed", "hi"),
            message("cmsg_a", JOB, "assistant", "completed", "done, pushing"),
            message(
                "cmsg_s",
                JOB,
                "system",
                "completed",
                "nairid encountered error: git push rejected"
            ),
        ]),
    )
    .await;
}

// An early reply, then the user message fails before the settle listing: the turn failed.
#[tokio::test]
async fn an_early_reply_followed_by_a_failure_is_a_failure() {
    let server = MockServer::start().await;
    reply_then_failure(&server).await;
    let err = client(&server)
        .conversations()
        .wait(&handle(), &opts().settle(Duration::from_millis(20)))
        .await
        .unwrap_err();
    let nairi::Error::TurnFailed(f) = err else {
        panic!("{err:?}")
    };
    assert_eq!(f.detail.as_deref(), Some("git push rejected"));
    assert_eq!(f.system_messages.len(), 1);

    let server = MockServer::start().await;
    reply_then_failure(&server).await;
    let events: Vec<TurnEvent> = client(&server)
        .conversations()
        .watch(&handle(), &opts().settle(Duration::from_millis(20)))
        .map(|e| e.expect("no error"))
        .collect()
        .await;
    match events.last() {
        Some(TurnEvent::Failed(f)) => assert_eq!(f.detail.as_deref(), Some("git push rejected")),
        other => panic!("{other:?}"),
    }
    assert!(
        !events.iter().any(|e| matches!(e, TurnEvent::Completed(_))),
        "{events:?}"
    );
    assert_eq!(statuses(&events).last(), Some(&MessageStatus::Failed));
}

// A reply, then a failure, while a follow-up waits (`u1 u2 a1 e1`): the error is the first
// turn's; the follow-up never quotes it.
#[tokio::test]
async fn a_failure_after_the_reply_is_not_the_follow_ups() {
    let server = MockServer::start().await;
    let follow = "cmsg_01KRK1V475HBTME8QJQMAPWK17";
    poll_answers(&server, "failed", None).await;
    Mock::given(method("GET"))
        .and(path(format!("{P}/messages/{follow}")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(message(follow, JOB, "user", "failed", "B")),
        )
        .mount(&server)
        .await;
    let untimed = |v: Value| {
        let mut v = v;
        v["created_at"] = Value::Null;
        v["updated_at"] = Value::Null;
        v
    };
    thread_answers(
        &server,
        JOB,
        json!([
            untimed(message(MSG, JOB, "user", "failed", "A")),
            untimed(message(follow, JOB, "user", "failed", "B")),
            untimed(message(
                "cmsg_a",
                JOB,
                "assistant",
                "completed",
                "done, pushing"
            )),
            untimed(message(
                "cmsg_s",
                JOB,
                "system",
                "completed",
                "nairid encountered error: git push rejected"
            )),
        ]),
    )
    .await;
    let conv = client(&server);
    let err = conv
        .conversations()
        .wait(&handle(), &opts())
        .await
        .unwrap_err();
    let nairi::Error::TurnFailed(f) = err else {
        panic!("{err:?}")
    };
    assert_eq!(f.detail.as_deref(), Some("git push rejected"));
    let second = TurnHandle {
        recovered: false,
        job_id: JOB.into(),
        message_id: follow.into(),
    };
    let err = conv
        .conversations()
        .wait(&second, &opts())
        .await
        .unwrap_err();
    let nairi::Error::TurnFailed(f) = err else {
        panic!("{err:?}")
    };
    assert!(!f.reason().contains("git push rejected"), "{f:?}");
    assert!(f.system_messages.is_empty(), "{f:?}");
}

// A handle whose message is of another job, or is not a prompt, is refused at the first poll
// instead of waiting for a reply that will never be listed.
#[tokio::test]
async fn a_message_of_another_job_or_not_a_prompt_is_refused() {
    for (job, role, needle) in [
        ("job_OTHER", "user", "belongs to job job_OTHER"),
        (JOB, "assistant", "not a user message"),
        (JOB, "system", "not a user message"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("{P}/messages/{MSG}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(message(
                MSG,
                job,
                role,
                "completed",
                "x",
            )))
            .mount(&server)
            .await;
        thread_answers(&server, JOB, json!([])).await;
        let err = client(&server)
            .conversations()
            .wait(&handle(), &polls_only())
            .await
            .unwrap_err();
        match &err {
            nairi::Error::Validation { field, message } => {
                assert_eq!(field, "message_id");
                assert!(message.contains(needle), "{message}");
            }
            other => panic!("{role}: {other:?}"),
        }
    }
}

// A watch whose every tick is due for a listing keeps polling the status while the listing
// fails: the timeout then reports the status the server last gave, not a stale one.
#[tokio::test]
async fn a_failing_listing_does_not_stop_the_status_polls() {
    let server = MockServer::start().await;
    poll_answers(&server, "pending", Some(3)).await;
    poll_answers(&server, "completed", None).await;
    Mock::given(method("GET"))
        .and(path(format!("{P}/conversations/{JOB}/messages")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"messages": [message(MSG, JOB, "user", "pending", "hi")]})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{P}/conversations/{JOB}/messages")))
        .respond_with(ResponseTemplate::new(503).set_body_string("busy"))
        .mount(&server)
        .await;
    let o = opts()
        .initial_interval(Duration::from_millis(5))
        .max_interval(Duration::from_millis(20))
        .progress_interval(Duration::from_millis(5))
        .timeout(Some(Duration::from_millis(800)));
    let items: Vec<_> = client(&server)
        .conversations()
        .watch(&handle(), &o)
        .collect()
        .await;
    match items.last() {
        Some(Err(nairi::Error::WaitTimeout(t))) => {
            assert_eq!(t.last_status, Some(MessageStatus::Completed), "{t:?}");
            assert!(t.last_error.is_some());
        }
        other => panic!("{other:?}"),
    }
}

// A rate-limited listing's Retry-After is waited out before the next listing.
#[tokio::test]
async fn a_listings_retry_after_is_honoured() {
    let server = MockServer::start().await;
    poll_answers(&server, "completed", None).await;
    Mock::given(method("GET"))
        .and(path(format!("{P}/conversations/{JOB}/messages")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "30")
                .set_body_json(json!({"error": "slow down"})),
        )
        .mount(&server)
        .await;
    let c = nairi::ClientBuilder::without_env()
        .api_key("nr_test_key")
        .base_url(server.uri())
        .retry_policy(RetryPolicy {
            max_retries: 0,
            initial_backoff: Duration::from_millis(2),
            max_backoff: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(60),
        })
        .build()
        .unwrap();
    let err = c
        .conversations()
        .wait(
            &handle(),
            &polls_only().timeout(Some(Duration::from_millis(500))),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WaitTimeout, "{err:?}");
    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        count(
            &requests,
            "GET",
            &format!("{P}/conversations/{JOB}/messages")
        ),
        1,
        "the next listing waits 30 s"
    );
}

// Each watch keeps its own record of what it delivered: a new watch on the same handle starts
// from the beginning of the turn.
#[tokio::test]
async fn a_new_watch_on_the_same_handle_delivers_the_turn_again() {
    let server = MockServer::start().await;
    poll_answers(&server, "completed", None).await;
    thread_answers(
        &server,
        JOB,
        json!([
            message(MSG, JOB, "user", "completed", "hi"),
            message("cmsg_p", JOB, "progress", "completed", "{}"),
            message("cmsg_a", JOB, "assistant", "completed", "reply"),
        ]),
    )
    .await;
    let c = client(&server);
    for _ in 0..2 {
        let events: Vec<TurnEvent> = c
            .conversations()
            .watch(&handle(), &opts())
            .map(|e| e.expect("no error"))
            .collect()
            .await;
        let progress = events
            .iter()
            .filter(|e| matches!(e, TurnEvent::Progress(_)))
            .count();
        let replies = events
            .iter()
            .filter(|e| matches!(e, TurnEvent::Assistant(_)))
            .count();
        assert_eq!((progress, replies), (1, 1), "{events:?}");
        assert!(matches!(events.last(), Some(TurnEvent::Completed(_))));
    }
}

// A rate limit while polling waits for Retry-After and carries on.
#[tokio::test]
async fn rate_limit_while_polling_is_waited_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{P}/messages/{MSG}")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(json!({"error": "slow down"})),
        )
        .up_to_n_times(4)
        .mount(&server)
        .await;
    poll_answers(&server, "completed", None).await;
    thread_answers(
        &server,
        JOB,
        json!([
            message(MSG, JOB, "user", "completed", "hi"),
            message("cmsg_a", JOB, "assistant", "completed", "patience pays"),
        ]),
    )
    .await;
    let c = client(&server).with_options(nairi::RequestOptions {
        max_retries: Some(0),
        ..Default::default()
    });
    let turn = c.conversations().wait(&handle(), &opts()).await.unwrap();
    assert_eq!(turn.text, "patience pays");
}

// 401 and 403 while polling end the wait at once, without retries.
#[tokio::test]
async fn authentication_errors_while_polling_fail_at_once() {
    for status in [401u16, 403] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(format!("{P}/messages/{MSG}")))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({"error": "no"})))
            .expect(1)
            .mount(&server)
            .await;
        let err = client(&server)
            .conversations()
            .wait(&handle(), &opts())
            .await
            .unwrap_err();
        let expected = if status == 401 {
            ErrorKind::Authentication
        } else {
            ErrorKind::PermissionDenied
        };
        assert_eq!(err.kind(), expected);
    }
}

// Transient errors until the deadline end in WaitTimeout carrying the last error.
#[tokio::test]
async fn endless_gateway_errors_end_in_a_timeout_with_the_last_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{P}/messages/{MSG}")))
        .respond_with(
            ResponseTemplate::new(502)
                .insert_header("content-type", "text/html")
                .set_body_string("<html><head><title>502 Bad Gateway</title></head></html>"),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .conversations()
        .wait(
            &handle(),
            &polls_only().timeout(Some(Duration::from_millis(150))),
        )
        .await
        .unwrap_err();
    let nairi::Error::WaitTimeout(t) = err else {
        panic!("{err:?}")
    };
    assert_eq!(t.last_status, None);
    assert!(
        t.last_error
            .as_deref()
            .unwrap_or("")
            .contains("502 Bad Gateway"),
        "{t:?}"
    );
    assert!(t.to_string().contains("never seen"));
}

/// `GET /messages/{MSG}` answers a body that never decodes as a message, `times` times.
async fn poll_garbles(server: &MockServer, times: Option<u64>) {
    let mock = Mock::given(method("GET"))
        .and(path(format!("{P}/messages/{MSG}")))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"id\": [not json"));
    match times {
        Some(n) => mock.up_to_n_times(n).mount(server).await,
        None => mock.mount(server).await,
    }
}

// A listing that never decodes is not transient forever: the wait ends with the decode error
// after a few in a row instead of spinning to its timeout.
#[tokio::test]
async fn a_thread_that_never_decodes_ends_the_wait_with_the_decode_error() {
    let server = MockServer::start().await;
    poll_answers(&server, "completed", None).await;
    Mock::given(method("GET"))
        .and(path(format!("{P}/conversations/{JOB}/messages")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messages": "nope"})))
        .mount(&server)
        .await;
    // Only the decode bound can end this wait before its timeout.
    let long = opts().timeout(Some(Duration::from_secs(20)));
    let err = client(&server)
        .conversations()
        .wait(&handle(), &long)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err:?}");
    let lists = count(
        &server.received_requests().await.unwrap(),
        "GET",
        &format!("{P}/conversations/{JOB}/messages"),
    );
    assert!(
        (2..=5).contains(&lists),
        "a few listings, then the end ({lists})"
    );

    // Watching ends the same way, with the decode error as the last item.
    let items: Vec<_> = client(&server)
        .conversations()
        .watch(&handle(), &long)
        .collect()
        .await;
    assert!(
        matches!(items.last(), Some(Err(e)) if e.kind() == ErrorKind::Decode),
        "{items:?}"
    );
}

// The same for the status poll.
#[tokio::test]
async fn a_status_that_never_decodes_ends_the_wait_with_the_decode_error() {
    let server = MockServer::start().await;
    poll_garbles(&server, None).await;
    let err = client(&server)
        .conversations()
        .wait(
            &handle(),
            &polls_only().timeout(Some(Duration::from_secs(20))),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err:?}");
    let polls = count(
        &server.received_requests().await.unwrap(),
        "GET",
        &format!("{P}/messages/{MSG}"),
    );
    assert!(
        (2..=5).contains(&polls),
        "a few polls, then the end ({polls})"
    );
}

// Garbled bodies now and then, never many in a row, are absorbed: a good answer resets the
// count.
#[tokio::test]
async fn occasional_decode_failures_are_absorbed() {
    let server = MockServer::start().await;
    poll_garbles(&server, Some(3)).await;
    poll_answers(&server, "pending", Some(1)).await;
    poll_garbles(&server, Some(3)).await;
    poll_answers(&server, "completed", None).await;
    thread_answers(
        &server,
        JOB,
        json!([
            message(MSG, JOB, "user", "completed", "hi"),
            message("cmsg_a", JOB, "assistant", "completed", "through the noise"),
        ]),
    )
    .await;
    let turn = client(&server)
        .conversations()
        .wait(&handle(), &opts())
        .await
        .unwrap();
    assert_eq!(turn.text, "through the noise");
}

/// A turn that is `pending` on the first poll and `completed` after; the first two listings do
/// not show the reply yet (the grace window has to list again).
async fn lagging_turn() -> MockServer {
    let server = MockServer::start().await;
    poll_answers(&server, "pending", Some(1)).await;
    poll_answers(&server, "completed", None).await;
    Mock::given(method("GET"))
        .and(path(format!("{P}/conversations/{JOB}/messages")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"messages": [message(MSG, JOB, "user", "pending", "hi")]})),
        )
        .up_to_n_times(2)
        .mount(&server)
        .await;
    thread_answers(
        &server,
        JOB,
        json!([
            message(MSG, JOB, "user", "completed", "hi"),
            message("cmsg_a", JOB, "assistant", "completed", "at last"),
        ]),
    )
    .await;
    server
}

// `Duration::MAX` in any option never panics: a timeout or window too long to represent is
// endless, and every sleep still ends at the overall deadline when there is one.
#[tokio::test]
async fn duration_max_in_any_option_never_panics() {
    let max = Duration::MAX;
    // Long enough for the few polls of the turn on a loaded machine (300 ms was not).
    let short = Some(Duration::from_secs(3));
    let cases = [
        ("timeout", opts().timeout(Some(max))),
        ("reply_grace", opts().reply_grace(max)),
        // The settle sleep is cut short by the timeout; the turn is returned all the same.
        ("settle", opts().settle(max).timeout(short)),
        ("max_interval", opts().max_interval(max)),
        ("progress_interval", opts().progress_interval(max)),
        ("early_reply_interval", opts().early_reply_interval(max)),
        (
            "backoff at the cap",
            polls_only()
                .max_interval(max)
                .backoff_multiplier(1e300)
                .jitter(1.0),
        ),
    ];
    for (field, o) in cases {
        let server = lagging_turn().await;
        let turn = client(&server)
            .conversations()
            .wait(&handle(), &o)
            .await
            .unwrap_or_else(|e| panic!("{field}: {e:?}"));
        assert_eq!(turn.text, "at last", "{field}");
        let server = lagging_turn().await;
        let events: Vec<TurnEvent> = client(&server)
            .conversations()
            .watch(&handle(), &o)
            .map(|e| e.unwrap_or_else(|e| panic!("{field}: {e:?}")))
            .collect()
            .await;
        assert!(
            matches!(events.last(), Some(TurnEvent::Completed(t)) if t.text == "at last"),
            "{field}: {events:?}"
        );
    }

    // An endless first interval: `wait` sleeps until its deadline after the first poll, while
    // `watch` is still held to the progress cadence.
    let o = opts()
        .initial_interval(max)
        .max_interval(max)
        .timeout(short);
    let server = lagging_turn().await;
    let err = client(&server)
        .conversations()
        .wait(&handle(), &o)
        .await
        .unwrap_err();
    let nairi::Error::WaitTimeout(t) = err else {
        panic!("{err:?}")
    };
    assert_eq!(t.last_status, Some(MessageStatus::Pending));
    let server = lagging_turn().await;
    let events: Vec<TurnEvent> = client(&server)
        .conversations()
        .watch(&handle(), &o.timeout(Some(Duration::from_secs(10))))
        .map(|e| e.unwrap())
        .collect()
        .await;
    assert!(matches!(events.last(), Some(TurnEvent::Completed(_))));
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

// The listing can lag the status poll: its older copy of the user message never moves the
// reported status back, neither in the events nor in the turn.
#[tokio::test]
async fn a_lagging_listing_never_moves_the_status_back() {
    let server = MockServer::start().await;
    poll_answers(&server, "completed", None).await;
    thread_answers(
        &server,
        JOB,
        json!([
            message(MSG, JOB, "user", "pending", "hi"),
            message("cmsg_a", JOB, "assistant", "completed", "done"),
        ]),
    )
    .await;
    let events: Vec<TurnEvent> = client(&server)
        .conversations()
        .watch(&handle(), &opts())
        .map(|e| e.unwrap())
        .collect()
        .await;
    assert_eq!(statuses(&events), [MessageStatus::Completed], "{events:?}");
    let Some(TurnEvent::Completed(turn)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(turn.status, MessageStatus::Completed);
    let turn = client(&server)
        .conversations()
        .wait(&handle(), &opts())
        .await
        .unwrap();
    assert_eq!(turn.status, MessageStatus::Completed);
    assert_eq!(turn.text, "done");
}

// A poll answered from a stale copy (`queued` after `pending`) is ignored too.
#[tokio::test]
async fn a_lagging_poll_never_moves_the_status_back() {
    let server = MockServer::start().await;
    poll_answers(&server, "pending", Some(2)).await;
    poll_answers(&server, "queued", Some(2)).await;
    poll_answers(&server, "completed", None).await;
    thread_answers(
        &server,
        JOB,
        json!([
            message(MSG, JOB, "user", "queued", "hi"),
            message("cmsg_a", JOB, "assistant", "pending", "still typing"),
        ]),
    )
    .await;
    let events: Vec<TurnEvent> = client(&server)
        .conversations()
        .watch(&handle(), &polls_only())
        .map(|e| e.unwrap())
        .collect()
        .await;
    assert_eq!(
        statuses(&events),
        [MessageStatus::Pending, MessageStatus::Completed],
        "{events:?}"
    );
}

// A continue refused because the job ended is ConversationEnded, by the server's words; any
// other refusal stays a BadRequest, hinted at as possibly ended only when it gives no reason
// of its own (issue 8.1).
#[tokio::test]
async fn a_refused_continue_is_ended_only_when_the_server_says_so() {
    let ended = [
        (
            "job is completed and cannot be continued; start a new conversation",
            Some(JobStatus::Completed),
        ),
        ("Job is abandoned", Some(JobStatus::Abandoned)),
        ("this conversation cannot be continued", None),
        (
            "conversation cannot be continued: job abandoned",
            Some(JobStatus::Abandoned),
        ),
    ];
    for (text, status) in ended {
        let err =
            refuse_continue(ResponseTemplate::new(400).set_body_json(json!({ "error": text })))
                .await;
        assert_eq!(err.kind(), ErrorKind::ConversationEnded, "{text}: {err}");
        assert_eq!(err.kind().class_name(), "ConversationEndedError");
        let Error::ConversationEnded(e) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(e.job_id, JOB);
        assert_eq!(e.message_id, None);
        assert_eq!(e.job_status, status, "{text}");
        assert_eq!(e.notice.as_deref(), Some(text));
        assert_eq!(e.request_id.as_deref(), Some("req_7"));
        assert!(
            err.to_string().contains("start a new conversation"),
            "{err}"
        );
    }
    let refused = [
        (json!({ "error": "invalid job id: job_nope" }), false),
        (
            json!({ "error": "attachment att_missing not found" }),
            false,
        ),
        (json!({ "error": "Invalid Attachment IDs" }), false),
        (json!({ "error": "prompt must not be empty" }), false),
        (json!({ "error": "job was not started via the API" }), false),
        (json!({ "error": "invalid request" }), true),
        (json!({ "error": "conversation is closed" }), true),
        (
            json!({ "error": "job status does not allow replies" }),
            true,
        ),
    ];
    for (body, hinted) in refused {
        let err = refuse_continue(ResponseTemplate::new(400).set_body_json(body.clone())).await;
        assert_ended_hint(&err, hinted, &body.to_string());
    }
    for (raw, hinted) in [("<html><body>Bad Request</body></html>", true), ("", true)] {
        let err = refuse_continue(ResponseTemplate::new(400).set_body_string(raw)).await;
        assert_ended_hint(&err, hinted, raw);
    }
    // Only a 400 is read: a 404 (unknown job) or 409 says what it says.
    for status in [404, 409] {
        let err = refuse_continue(
            ResponseTemplate::new(status)
                .set_body_json(json!({ "error": "job is completed and cannot be continued" })),
        )
        .await;
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.as_api().and_then(|a| a.hint.clone()), None);
    }
}

async fn refuse_continue(answer: ResponseTemplate) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{P}/conversations/{JOB}/continue")))
        .respond_with(answer.insert_header("x-request-id", "req_7"))
        .expect(1)
        .mount(&server)
        .await;
    let body = nairi::types::ContinueConversation::new("again");
    client(&server)
        .conversations()
        .follow_up(JOB, &body)
        .await
        .unwrap_err()
}

fn assert_ended_hint(err: &Error, hinted: bool, what: &str) {
    assert_eq!(err.kind(), ErrorKind::BadRequest, "{what}: {err}");
    match err.as_api().and_then(|a| a.hint.clone()) {
        Some(h) if hinted => assert!(h.starts_with("the conversation may have ended"), "{h}"),
        None if !hinted => {}
        other => panic!("{what}: {other:?}"),
    }
}

// Invalid options are reported before any request, as the stream's only item too.
#[tokio::test]
async fn invalid_options_send_nothing() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let bad = opts().backoff_multiplier(0.0);
    let c = client(&server);
    let err = c.conversations().wait(&handle(), &bad).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Validation);
    let items: Vec<_> = c.conversations().watch(&handle(), &bad).collect().await;
    assert_eq!(items.len(), 1);
    assert!(matches!(&items[0], Err(e) if e.kind() == ErrorKind::Validation));
}

// Bindings run these on multi-threaded runtimes: the futures and the stream must be Send.
#[test]
fn futures_and_streams_are_send() {
    fn send<T: Send>(_: &T) {}
    let c = nairi::ClientBuilder::without_env()
        .api_key("nr_test_key")
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    let conv = c.conversations();
    let h = handle();
    let run_opts = RunOptions::default().on_event(|_| {});
    let wait_opts = opts();
    send(&conv.wait(&h, &wait_opts));
    send(&conv.run(("agent", "prompt"), &run_opts));
    send(&conv.run_follow_up(JOB, "prompt", &run_opts));
    send(&conv.watch(&h, &opts()));
}
