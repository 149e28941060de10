//! Per-call overhead of the Rust SDK against raw reqwest (what a careful user writes: one
//! reused client, the same headers, JSON decoded into `serde_json::Value`), on an emulator
//! running in its own process. Rounds alternate between the two, and the table reports
//! medians, the spread of the rounds and the ratios; never one absolute time.
//!
//! `nairi-bench BASE_URL API_KEY [--quick]` prints a markdown section on stdout.
//!
//! `nairi-bench BASE_URL API_KEY --calls N --only sdk|raw [--post]` makes 10 warm-up calls,
//! then N sequential calls of one client (the GET, or with `--post` the POST) and prints
//! nothing: a fixed workload for counting instructions, which timings on a shared machine
//! cannot give. The count per call is the difference of two runs divided by the difference
//! of their N, which cancels start-up and warm-up:
//!
//! ```text
//! valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p target/release/nairi-bench \
//!     "$BASE" "$KEY" --calls 200 --only sdk          # and again with --calls 1200
//! ```

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

/// The same call as a careful user writes it with reqwest: the same header, JSON decoded
/// into a `serde_json::Value`.
async fn raw_call(c: &reqwest::Client, bearer: &str, agent_url: &str, rules_url: &str, post: bool) {
    let req = if post {
        c.post(rules_url).json(&serde_json::json!({
            "title": "bench", "description": "a rule",
            "content": "Be brief."
        }))
    } else {
        c.get(agent_url)
    };
    let resp = req
        .header("authorization", bearer)
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
            "usage: nairi-bench BASE_URL API_KEY [--quick | --calls N --only sdk|raw [--post]]"
        );
        std::process::exit(2);
    };
    let quick = args.iter().any(|a| a == "--quick");
    let (rounds, total) = if quick { (3, 640) } else { (7, 3200) };
    let sdk = nairi::Client::builder()
        .api_key(key)
        .base_url(base)
        .build()
        .expect("the SDK client builds");
    let raw = reqwest::Client::builder().build().expect("reqwest builds");
    let api = format!("{}/api/public/v1", base.trim_end_matches('/'));
    let bearer = format!("Bearer {key}");
    let agent = sdk
        .agents()
        .create(&CreateAgent::new("bench"))
        .await
        .expect("an agent to read");
    let agent_url = format!("{api}/agents/{}", agent.id);
    let rules_url = format!("{api}/artifacts/rules");

    if let Some(calls) = flag_value(&args, "--calls") {
        let calls: usize = calls.parse().expect("--calls takes a number");
        let post = args.iter().any(|a| a == "--post");
        let only = flag_value(&args, "--only");
        for _ in 0..10 + calls {
            match only {
                Some("sdk") => sdk_call(&sdk, &agent.id, post).await,
                Some("raw") => raw_call(&raw, &bearer, &agent_url, &rules_url, post).await,
                _ => {
                    eprintln!("--calls needs --only sdk or --only raw");
                    std::process::exit(2);
                }
            }
        }
        return;
    }

    println!("### Rust: the SDK against raw reqwest\n");
    println!(
        "{rounds} alternating rounds of {total} calls each; per call: wall time and this \
         process's CPU time (user + system), medians, spread = (max - min) / median of the \
         rounds.\n"
    );
    println!(
        "| call | in flight | SDK wall µs | raw wall µs | wall ratio | SDK CPU µs | raw CPU µs \
         | CPU ratio (target ≤ 1.05) | spread SDK / raw |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for call in ["GET /agents/{id}", "POST /artifacts/rules"] {
        for in_flight in [1usize, 10, 64] {
            let (mut s, mut r) = (Samples::default(), Samples::default());
            for i in 0..rounds {
                let run_sdk = || {
                    let c = sdk.clone();
                    let id = agent.id.clone();
                    let post = call.starts_with("POST");
                    async move {
                        round(total, in_flight, move || {
                            let (c, id) = (c.clone(), id.clone());
                            async move { sdk_call(&c, &id, post).await }
                        })
                        .await
                    }
                };
                let run_raw = || {
                    let (c, bearer) = (raw.clone(), bearer.clone());
                    let (agent_url, rules_url) = (agent_url.clone(), rules_url.clone());
                    let post = call.starts_with("POST");
                    async move {
                        round(total, in_flight, move || {
                            let (c, bearer) = (c.clone(), bearer.clone());
                            let (agent_url, rules_url) = (agent_url.clone(), rules_url.clone());
                            async move { raw_call(&c, &bearer, &agent_url, &rules_url, post).await }
                        })
                        .await
                    }
                };
                let (a, b) = if i % 2 == 0 {
                    let a = run_sdk().await;
                    (a, run_raw().await)
                } else {
                    let b = run_raw().await;
                    (run_sdk().await, b)
                };
                s.wall.push(a.0);
                s.cpu.push(a.1);
                r.wall.push(b.0);
                r.cpu.push(b.1);
            }
            let (sw, rw) = (median(&mut s.wall.clone()), median(&mut r.wall.clone()));
            let (sc, rc) = (median(&mut s.cpu.clone()), median(&mut r.cpu.clone()));
            println!(
                "| `{call}` | {in_flight} | {sw:.0} | {rw:.0} | {:.2} | {sc:.0} | {rc:.0} | {:.2} | {:.0}% / {:.0}% |",
                sw / rw,
                sc / rc,
                spread(&s.wall, sw),
                spread(&r.wall, rw),
            );
        }
    }
    println!();
}
