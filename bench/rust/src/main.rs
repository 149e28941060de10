//! Per-call overhead of the Rust SDK against raw reqwest (what a careful user writes: one
//! reused client, the same headers, JSON decoded into `serde_json::Value`), on an emulator
//! running in its own process. Rounds alternate between the two, and the table reports
//! medians, the spread of the rounds and the ratios; never one absolute time.
//!
//! `nairi-bench BASE_URL API_KEY [--quick]` prints a markdown section on stdout.
//!
//! `nairi-bench BASE_URL API_KEY --calls N --only sdk|raw [--post] [--in-flight K]` runs a
//! warm-up round, then one round of N calls of one client (the GET, or with `--post` the
//! POST), K at a time (default 1), in tasks as the table's rounds do, and prints that round's
//! wall and CPU µs per call on stderr: a fixed workload for counting instructions, which
//! timings on a shared machine cannot give.
//! The count per call is the difference of two runs divided by the difference of their N,
//! which cancels start-up and warm-up:
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p target/release/nairi-bench \
//!     "$BASE" "$KEY" --calls 200 --only sdk          # and again with --calls 1200
//! ```
//!
//! The table run does that itself when `valgrind` is on the PATH (a second table, whose ratio
//! is the issue's measure of CPU per call: the count does not move with the machine's load).

use std::future::Future;
use std::time::{Duration, Instant};

use nairi::types::{CreateAgent, RuleInput};

/// User plus system CPU time of this process.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// One round: `total` calls of `call`, `in_flight` at a time. Returns (wall, CPU) per call.
async fn round<F, Fut>(total: usize, in_flight: usize, call: F) -> (f64, f64)
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let per_worker = total / in_flight;
    let (cpu0, t0) = (cpu_time(), Instant::now());
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let call = call.clone();
            tokio::spawn(async move {
                for _ in 0..per_worker {
                    call().await;
                }
            })
        })
        .collect();
    for w in workers {
        w.await.expect("a worker panicked");
    }
    let n = (per_worker * in_flight) as f64;
    let wall = t0.elapsed().as_secs_f64() * 1e6 / n;
    let cpu = (cpu_time() - cpu0).as_secs_f64() * 1e6 / n;
    (wall, cpu)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// (max - min) / median of the rounds, in percent.
fn spread(v: &[f64], med: f64) -> f64 {
    let (lo, hi) = v
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
    (hi - lo) / med * 100.0
}

#[derive(Default)]
struct Samples {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

/// One SDK call of the benchmark: `GET /agents/{id}`, or with `post` a rule created.
async fn sdk_call(c: &nairi::Client, agent_id: &str, post: bool) {
    if post {
        let rule = RuleInput::new("bench", "a rule", "Be brief.");
        c.rules().create(&rule).await.expect("SDK POST");
    } else {
        c.agents().get(agent_id).await.expect("SDK GET");
    }
}

/// A task's calls of [`sdk_call`], for [`round`].
fn sdk_calls(
    c: &nairi::Client,
    agent_id: &str,
    post: bool,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Clone + Send + 'static {
    let (c, id) = (c.clone(), agent_id.to_owned());
    move || {
        let (c, id) = (c.clone(), id.clone());
        Box::pin(async move { sdk_call(&c, &id, post).await })
    }
}

/// What raw reqwest calls: one reused client, the SDK's `Authorization` value, the two URLs.
#[derive(Clone)]
struct RawTarget {
    client: reqwest::Client,
    bearer: String,
    agent_url: String,
    rules_url: String,
}

/// A task's calls of [`raw_call`], for [`round`].
fn raw_calls(
    target: &RawTarget,
    post: bool,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Clone + Send + 'static {
    let target = target.clone();
    move || {
        let target = target.clone();
        Box::pin(async move { raw_call(&target, post).await })
    }
}

/// The same call as a careful user writes it with reqwest: the same header, JSON decoded
/// into a `serde_json::Value`.
async fn raw_call(t: &RawTarget, post: bool) {
    let req = if post {
        t.client.post(&t.rules_url).json(&serde_json::json!({
            "title": "bench", "description": "a rule",
            "content": "Be brief."
        }))
    } else {
        t.client.get(&t.agent_url)
    };
    let resp = req
        .header("authorization", &t.bearer)
        .send()
        .await
        .expect("raw request");
    let _: serde_json::Value = resp
        .error_for_status()
        .expect("2xx")
        .json()
        .await
        .expect("JSON");
}

/// The value following `flag` on the command line.
fn flag_value<'a>(args: &'a [String], flag: &str) -> Option<&'a str> {
    let at = args.iter().position(|a| a == flag)?;
    args.get(at + 1).map(String::as_str)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(base), Some(key)) = (args.get(1), args.get(2)) else {
        eprintln!(
            "usage: nairi-bench BASE_URL API_KEY [--quick | --calls N --only sdk|raw [--post] \
             [--in-flight K]]"
        );
        std::process::exit(2);
    };
    let quick = args.iter().any(|a| a == "--quick");
    // Many short rounds in pairs: each ratio compares two rounds next to each other in time,
    // so the machine's drifts (other load, frequency, a core waking) cancel within a pair.
    let (rounds, total) = if quick { (6, 400) } else { (16, 1600) };
    let sdk = nairi::Client::builder()
        .api_key(key)
        .base_url(base)
        .build()
        .expect("the SDK client builds");
    let raw = reqwest::Client::builder().build().expect("reqwest builds");
    let api = format!("{}/api/public/v1", base.trim_end_matches('/'));
    let agent = sdk
        .agents()
        .create(&CreateAgent::new("bench"))
        .await
        .expect("an agent to read");
    let urls = RawTarget {
        client: raw,
        bearer: format!("Bearer {key}"),
        agent_url: format!("{api}/agents/{}", agent.id),
        rules_url: format!("{api}/artifacts/rules"),
    };

    if let Some(calls) = flag_value(&args, "--calls") {
        let calls: usize = calls.parse().expect("--calls takes a number");
        let in_flight: usize = flag_value(&args, "--in-flight")
            .map_or(1, |n| n.parse().expect("--in-flight takes a number"));
        let post = args.iter().any(|a| a == "--post");
        // As in the rounds below: a warm-up opens the connections, then the counted calls.
        let (wall, cpu) = match flag_value(&args, "--only") {
            Some("sdk") => {
                round(10 * in_flight, in_flight, sdk_calls(&sdk, &agent.id, post)).await;
                round(calls, in_flight, sdk_calls(&sdk, &agent.id, post)).await
            }
            Some("raw") => {
                round(10 * in_flight, in_flight, raw_calls(&urls, post)).await;
                round(calls, in_flight, raw_calls(&urls, post)).await
            }
            _ => {
                eprintln!("--calls needs --only sdk or --only raw");
                std::process::exit(2);
            }
        };
        eprintln!("{wall:.2} {cpu:.2}");
        return;
    }

    println!("### Rust: the SDK against raw reqwest\n");
    println!(
        "{rounds} rounds of {total} calls per client, in pairs (SDK then raw, raw then SDK, \
         alternating); per call: wall time and this process's CPU time (user + system), \
         medians of the rounds; the ratios are the medians of the {rounds} pairs' ratios (each \
         pair's two rounds run next to each other, so the machine's drift cancels in it); \
         spread = (max - min) / median of the rounds.\n"
    );
    println!(
        "| call | in flight | SDK wall µs | raw wall µs | wall ratio | SDK CPU µs | raw CPU µs \
         | CPU ratio (target ≤ 1.05) | spread SDK / raw |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for call in ["GET /agents/{id}", "POST /artifacts/rules"] {
        for in_flight in [1usize, 10, 64] {
            let (mut s, mut r) = (Samples::default(), Samples::default());
            let (mut wall_ratio, mut cpu_ratio) = (Vec::new(), Vec::new());
            for i in 0..rounds {
                let post = call.starts_with("POST");
                let run_sdk = || round(total, in_flight, sdk_calls(&sdk, &agent.id, post));
                let run_raw = || round(total, in_flight, raw_calls(&urls, post));
                let (a, b) = if i % 2 == 0 {
                    let a = run_sdk().await;
                    (a, run_raw().await)
                } else {
                    let b = run_raw().await;
                    (run_sdk().await, b)
                };
                wall_ratio.push(a.0 / b.0);
                cpu_ratio.push(a.1 / b.1);
                s.wall.push(a.0);
                s.cpu.push(a.1);
                r.wall.push(b.0);
                r.cpu.push(b.1);
            }
            let (sw, rw) = (median(&mut s.wall.clone()), median(&mut r.wall.clone()));
            let (sc, rc) = (median(&mut s.cpu.clone()), median(&mut r.cpu.clone()));
            println!(
                "| `{call}` | {in_flight} | {sw:.0} | {rw:.0} | {:.2} | {sc:.0} | {rc:.0} | {:.2} | {:.0}% / {:.0}% |",
                median(&mut wall_ratio),
                median(&mut cpu_ratio),
                spread(&s.wall, sw),
                spread(&r.wall, rw),
            );
        }
    }
    println!();
    instructions_table(base, key, quick);
}

/// The user-space instructions one call runs, counted with callgrind: the difference of two
/// runs of `--calls` (a small and a large N) over the difference of their N.
fn instructions_per_call(
    base: &str,
    key: &str,
    client: &str,
    post: bool,
    in_flight: usize,
) -> Option<f64> {
    let (small, large) = (200usize, 3200usize);
    let count = |n: usize| -> Option<f64> {
        let exe = std::env::current_exe().ok()?;
        let mut cmd = std::process::Command::new("valgrind");
        cmd.args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
            .arg(exe)
            .args([
                base,
                key,
                "--calls",
                &n.to_string(),
                "--only",
                client,
                "--in-flight",
            ])
            .arg(in_flight.to_string());
        if post {
            cmd.arg("--post");
        }
        let out = cmd.output().ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stderr);
        let line = text.lines().find(|l| l.contains("Collected :"))?;
        line.rsplit(':').next()?.trim().parse::<f64>().ok()
    };
    Some((count(large)? - count(small)?) / (large - small) as f64)
}

/// The second Rust table: instructions per call of the SDK and raw reqwest (callgrind).
fn instructions_table(base: &str, key: &str, quick: bool) {
    let have_valgrind = std::process::Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    println!("#### Instructions per call (callgrind)\n");
    if !have_valgrind {
        println!("valgrind is not installed: this table is left out.\n");
        return;
    }
    println!(
        "User-space instructions per call of the whole process (every thread), counted with \
         `valgrind --tool=callgrind`: the difference between a run of 3200 calls and one of \
         200, over 3000 (start-up and warm-up cancel). Unlike the CPU time above, the count \
         does not move with the load of a shared machine, and the system calls were the same \
         for both clients when counted (strace, one `writev` and one `recvfrom` per call: \
         bench/NOTES.md), so this ratio is the one read against the target.\n"
    );
    println!("| call | in flight | SDK instructions | raw instructions | ratio (target ≤ 1.05) |");
    println!("|---|---|---|---|---|");
    let in_flights: &[usize] = if quick { &[10] } else { &[1, 10, 64] };
    for (call, post) in [("GET /agents/{id}", false), ("POST /artifacts/rules", true)] {
        for &k in in_flights {
            let sdk = instructions_per_call(base, key, "sdk", post, k);
            let raw = instructions_per_call(base, key, "raw", post, k);
            match (sdk, raw) {
                (Some(s), Some(r)) => {
                    let ratio = s / r;
                    let verdict = if ratio <= 1.05 {
                        "**met**"
                    } else {
                        "**missed**"
                    };
                    println!(
                        "| `{call}` | {k} | {:.1}k | {:.1}k | {ratio:.2}: {verdict} |",
                        s / 1e3,
                        r / 1e3
                    );
                }
                _ => println!("| `{call}` | {k} | – | – | callgrind failed |"),
            }
        }
    }
    println!();
}
