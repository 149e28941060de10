//! Scale (issue 11, item 3), Rust: N concurrent `wait`s and N concurrent `run`s in one process
//! against one emulator process, turns short enough to all complete. Reports wall time, the
//! process's peak RSS, errors and the connections the client opened (counted by a TCP relay in
//! front of the emulator), under the file limit the caller sets (`ulimit -n 1024` in run.sh).
//!
//! `nairi-scale BASE_URL API_KEY [--quick]` prints a markdown section; each mode runs in a
//! child process of its own (`--child MODE N`), so that its peak RSS is its own.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nairi::types::StartConversation;
use nairi::{RunOptions, WaitOptions};
use serde_json::{Value, json};
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};

/// Peak resident set size of this process, in MB.
fn peak_rss_mb() -> f64 {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return f64::NAN;
    }
    usage.ru_maxrss as f64 / 1024.0
}

/// A relay in front of `upstream` that counts the connections made through it.
async fn relay(upstream: String) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let count = Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::Relaxed);
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut server) = TcpStream::connect(&upstream).await {
                    let _ = copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (format!("http://{addr}"), count)
}

/// Deployed agents with 1000 instances each, enough for `n` turns at once.
async fn agents(base: &str, key: &str, n: usize) -> Vec<String> {
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for _ in 0..n.div_ceil(1000) {
        let agent: Value = http
            .post(format!("{base}/_emulator/agents"))
            .bearer_auth(key)
            .json(&json!({ "name": "scale", "deployed": true, "instances_count": 1000 }))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("an agent")
            .json()
            .await
            .expect("JSON");
        ids.push(agent["id"].as_str().expect("id").to_owned());
    }
    ids
}

fn wait_options() -> WaitOptions {
    WaitOptions::default().timeout(Some(Duration::from_secs(600)))
}

async fn child(base: String, key: String, mode: String, n: usize) {
    let agents = agents(&base, &key, n).await;
    let (via, connections) = relay(base.trim_start_matches("http://").to_owned()).await;
    let client = nairi::Client::builder()
        .api_key(&key)
        .base_url(&via)
        .build()
        .expect("client");
    let prompts = |i: usize| StartConversation::new(agents[i % agents.len()].clone(), "scale");
    let t0 = Instant::now();
    let results: Vec<nairi::Result<()>> = if mode == "wait" {
        let mut handles = Vec::with_capacity(n);
        for i in 0..n {
            handles.push(client.conversations().start(&prompts(i)).await);
        }
        let waits = handles.into_iter().map(|h| {
            let c = client.clone();
            async move {
                let h = h?;
                c.conversations()
                    .wait(&h, &wait_options())
                    .await
                    .map(|_| ())
            }
        });
        futures::future::join_all(waits).await
    } else {
        let runs = (0..n).map(|i| {
            let (c, p) = (client.clone(), prompts(i));
            async move {
                let options = RunOptions::default().wait(wait_options());
                c.conversations().run(p, &options).await.map(|_| ())
            }
        });
        futures::future::join_all(runs).await
    };
    let wall = t0.elapsed().as_secs_f64();
    let errors: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    let out = json!({
        "mode": mode, "n": n, "wall_s": wall, "peak_rss_mb": peak_rss_mb(),
        "errors": errors.len(), "first_error": errors.first(),
        "connections": connections.load(Ordering::Relaxed),
    });
    println!("{out}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(base), Some(key)) = (args.get(1).cloned(), args.get(2).cloned()) else {
        eprintln!("usage: nairi-scale BASE_URL API_KEY [--quick]");
        std::process::exit(2);
    };
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let mode = args[i + 1].clone();
        let n: usize = args[i + 2].parse().expect("a count");
        child(base, key, mode, n).await;
        return;
    }
    let n = if args.iter().any(|a| a == "--quick") {
        1_000
    } else {
        10_000
    };
    let exe = std::env::current_exe().expect("this program");
    println!("### Scale: {n} concurrent turns in one Rust process\n");
    println!(
        "Each mode in a child process of its own under the caller's file limit (run.sh: \
         `ulimit -n 1024`); one emulator process; the client's defaults (at most 100 \
         requests, and so connections, in flight). Connections = those the client opened, \
         counted by a relay in front of the emulator.\n"
    );
    println!(
        "| mode | turns | wall s | peak RSS MB (target < 200) | errors (target 0) | connections |"
    );
    println!("|---|---|---|---|---|---|");
    for mode in ["wait", "run"] {
        let out = Command::new(&exe)
            .args([&base, &key, "--child", mode, &n.to_string()])
            .output()
            .expect("run the child");
        let line = String::from_utf8_lossy(&out.stdout);
        let Ok(r) = serde_json::from_str::<Value>(line.trim()) else {
            println!(
                "| {mode} | {n} | failed: {} | | | |",
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            continue;
        };
        println!(
            "| {mode} | {n} | {:.1} | {:.0} | {}{} | {} |",
            r["wall_s"].as_f64().unwrap_or(f64::NAN),
            r["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
            r["errors"],
            r["first_error"]
                .as_str()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default(),
            r["connections"],
        );
    }
    println!();
}
