//! Memory per conversation (issue 11, item 5): the peak RSS of one `wait` and of one `watch`
//! (the SDK's defaults) on a turn at the end of a long thread, against the thread's JSON size.
//!
//! `nairi-memory BASE_URL API_KEY [--quick]` prints a markdown section on stdout. The thread is
//! seeded through the emulator's control API (`POST /_emulator/jobs` with `earlier_turns` and
//! `progress_per_turn`): 10,000 messages (quick: 2,000), a tenth of them user prompts, a tenth
//! replies, the rest progress. Each mode runs in a child process of its own (`--child MODE
//! JOB_ID`), so that its peak RSS is its own: the child builds a client, makes one small
//! request (so that the runtime, TLS-free connection pool and allocator are warm), reads its
//! RSS (the baseline), sends a follow-up on the thread and waits for (or watches) its reply,
//! which the emulator gives after `TURN_MS`, then reports its peak RSS. A third child only
//! lists the thread once with the SDK and keeps the decoded listing: the cost of one listing,
//! for reference.

use std::process::Command;
use std::time::Duration;

use bench_support::{Emulator, peak_rss_mb, rss_mb};
use futures::StreamExt;
use nairi::WaitOptions;
use nairi::types::ContinueConversation;
use serde_json::{Value, json};

/// How long each measured turn runs on the emulator: long enough for `watch` to list the
/// thread a few times (every `progress_interval`, 1 s) and `wait` to poll it for a while.
const TURN_MS: u64 = 4_000;

/// Progress messages in each seeded earlier turn (with its prompt and reply: 10 messages).
const PROGRESS_PER_TURN: u32 = 8;

/// The thread's JSON as the API sends it, in bytes, and its message count.
async fn thread_size(env: &Emulator, job_id: &str) -> (usize, usize) {
    let body = env
        .get_bytes(env.api(&format!("/conversations/{job_id}/messages")))
        .await;
    let v: Value = serde_json::from_slice(&body).expect("JSON");
    let n = v["messages"].as_array().map_or(0, Vec::len);
    (body.len(), n)
}

async fn child(base: String, key: String, mode: String, job_id: String) {
    let client = nairi::Client::builder()
        .api_key(&key)
        .base_url(&base)
        .build()
        .expect("client");
    client.agents().list().await.expect("a warm-up request");
    let baseline = rss_mb();
    let outcome: Result<usize, String> = match mode.as_str() {
        "list" => client
            .messages()
            .list(&job_id)
            .await
            .map(|thread| {
                let n = thread.len();
                // Held while the peak is read, like a listing the wait keeps.
                let peak = peak_rss_mb();
                std::hint::black_box(&thread);
                print_child(&mode, baseline, peak, n);
                n
            })
            .map_err(|e| e.to_string()),
        _ => {
            let conv = client.conversations();
            match conv
                .follow_up(&job_id, &ContinueConversation::new("one more, at the end"))
                .await
            {
                Err(e) => Err(e.to_string()),
                Ok(handle) => {
                    let opts = WaitOptions::default().timeout(Some(Duration::from_secs(120)));
                    if mode == "wait" {
                        match conv.wait(&handle, &opts).await {
                            Ok(turn) if turn.reply().is_some() => Ok(turn.messages.len()),
                            Ok(_) => Err("the turn came back without its reply".to_owned()),
                            Err(e) => Err(e.to_string()),
                        }
                    } else {
                        let mut events = conv.watch(&handle, &opts);
                        let mut seen = 0;
                        let mut result = Err("the stream ended without a turn".to_owned());
                        while let Some(item) = events.next().await {
                            seen += 1;
                            match item {
                                Ok(nairi::TurnEvent::Completed(turn)) => {
                                    result = if turn.reply().is_some() {
                                        Ok(seen)
                                    } else {
                                        Err("the turn came back without its reply".to_owned())
                                    };
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    result = Err(e.to_string());
                                }
                            }
                        }
                        result
                    }
                }
            }
        }
    };
    match outcome {
        Ok(n) if mode != "list" => print_child(&mode, baseline, peak_rss_mb(), n),
        Ok(_) => {}
        Err(e) => println!("{}", json!({ "mode": mode, "error": e })),
    }
}

fn print_child(mode: &str, baseline: f64, peak: f64, n: usize) {
    println!(
        "{}",
        json!({ "mode": mode, "baseline_mb": baseline, "peak_mb": peak, "items": n })
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(base), Some(key)) = (args.get(1).cloned(), args.get(2).cloned()) else {
        eprintln!("usage: nairi-memory BASE_URL API_KEY [--quick]");
        std::process::exit(2);
    };
    let base = base.trim_end_matches('/').to_owned();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(base, key, args[i + 1].clone(), args[i + 2].clone()).await;
        return;
    }
    let messages: u32 = if args.iter().any(|a| a == "--quick") {
        2_000
    } else {
        10_000
    };
    let env = Emulator::new(&base, &key);
    let agent = env
        .post(
            env.control("/agents"),
            &json!({ "name": "memory", "deployed": true }),
        )
        .await;
    let agent_id = agent["id"].as_str().expect("agent id").to_owned();
    let turns = messages / (PROGRESS_PER_TURN + 2);
    let seeded = env
        .post(
            env.control("/jobs"),
            &json!({
                "agent": agent_id, "source": "api", "earlier_turns": turns,
                "progress_per_turn": PROGRESS_PER_TURN, "prompt": "the seeded prompt",
                // Answered: a prompt left without a reply would take the next turn's messages.
                "reply": "the seeded reply",
            }),
        )
        .await;
    let job_id = seeded["job_id"].as_str().expect("job id").to_owned();
    // One scripted turn per measured mode, each with the default progress.
    env.post(
        env.control(&format!("/agents/{agent_id}/script")),
        &json!({ "turns": [{ "delay_ms": TURN_MS }, { "delay_ms": TURN_MS }] }),
    )
    .await;
    let (json_bytes, listed) = thread_size(&env, &job_id).await;
    let json_mb = json_bytes as f64 / 1e6;
    let exe = std::env::current_exe().expect("this program");
    println!("### Memory per conversation: one turn at the end of a {listed}-message thread\n");
    println!(
        "The thread: {listed} messages seeded through the emulator's control API (earlier \
         turns of a prompt, {PROGRESS_PER_TURN} progress messages and a reply), {json_mb:.2} MB \
         of JSON per listing. Each mode in a child process of its own: baseline = its RSS \
         after building a client and one small request; peak = its peak RSS (getrusage) after \
         a follow-up on the thread waited with the SDK's defaults (`wait`), watched to its end \
         (`watch`, which lists the whole thread every second while the turn runs, {TURN_MS} ms), \
         or, for reference, one SDK listing held in memory (`list`). Extra = peak − baseline; \
         × JSON = extra / the thread's JSON size.\n"
    );
    println!("| mode | baseline RSS MB | peak RSS MB | extra MB | extra × JSON |");
    println!("|---|---|---|---|---|");
    for mode in ["list", "wait", "watch"] {
        let out = Command::new(&exe)
            .args([&base, &key, "--child", mode, &job_id])
            .output()
            .expect("run the child");
        let line = String::from_utf8_lossy(&out.stdout);
        let r: Value = match serde_json::from_str(line.trim()) {
            Ok(r) => r,
            Err(_) => {
                let err = String::from_utf8_lossy(&out.stderr);
                println!(
                    "| {mode} | failed: {} | | | |",
                    err.lines().last().unwrap_or("")
                );
                continue;
            }
        };
        if let Some(e) = r["error"].as_str() {
            println!("| {mode} | failed: {e} | | | |");
            continue;
        }
        let baseline = r["baseline_mb"].as_f64().unwrap_or(f64::NAN);
        let peak = r["peak_mb"].as_f64().unwrap_or(f64::NAN);
        let extra = peak - baseline;
        println!(
            "| {mode} | {baseline:.1} | {peak:.1} | {extra:.1} | {:.1} |",
            extra / json_mb
        );
    }
    println!();
}
