//! Scale (issue 11, item 3): N concurrent `wait`s and N concurrent `run`s in one SDK process
//! (Rust, Python, Node) against one emulator process, turns short enough to all complete.
//!
//! `nairi-scale BASE_URL API_KEY [--quick] [--python PYTHON] [--node NODE] [--emulator-pid PID]`
//! prints one markdown table with every SDK side by side. This program is the harness; each
//! (SDK, mode) runs in a child process of its own, under the file limit the caller sets
//! (`ulimit -n 1024` in run.sh), so that its peak RSS and its CPU time are its own:
//!
//! - Rust: this program again, `--child MODE N VIA AGENT_IDS`;
//! - Python: `PYTHON bench/python/scale.py VIA API_KEY MODE N AGENT_IDS` (`nairi.AsyncClient`);
//! - Node: `NODE bench/node/scale.mjs VIA API_KEY MODE N AGENT_IDS` (the `nairi` package).
//!
//! The harness does everything but the SDK calls, the same way for all three: it seeds fresh
//! agents through the emulator's control API (1000 instances each, so no turn queues), puts a
//! TCP relay in front of the emulator (VIA) that counts the connections the child opens, reads
//! the child's peak RSS and CPU time from `wait4`, counts the public-API requests the run made
//! from the emulator's request log (its sequence numbers, between two marker requests), and,
//! given the emulator's pid, reads the emulator's CPU time over the run (to tell which side is
//! the limit). A child prints one JSON line: `{"wall_s", "errors", "first_error"}`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bench_support::{Emulator, relay};
use nairi::types::StartConversation;
use nairi::{RunOptions, WaitOptions};
use serde_json::{Value, json};

/// How long one child may take before it is killed and its row reports a hang.
const CHILD_DEADLINE: Duration = Duration::from_secs(300);

/// Instances per seeded agent (the emulator's maximum is higher; 1000 keeps ids few).
const INSTANCES_PER_AGENT: usize = 1000;

// ---- the harness: seeding, relay, request count, child processes ----------------------------

/// Deployed agents with [`INSTANCES_PER_AGENT`] instances each, enough for `n` turns at once.
async fn seed_agents(emu: &Emulator, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n.div_ceil(INSTANCES_PER_AGENT) {
        let agent = emu
            .post(
                emu.control("/agents"),
                &json!({ "name": "scale", "deployed": true, "instances_count": INSTANCES_PER_AGENT }),
            )
            .await;
        ids.push(agent["id"].as_str().expect("id").to_owned());
    }
    ids
}

/// The sequence number of a marker request sent now: the emulator's request log numbers every
/// public-API request and never resets the sequence, so the requests of a run are the
/// difference of the markers before and after it, less one (the first marker). The log is
/// cleared first so that reading it back returns the marker alone (it keeps 10,000 entries,
/// fewer than a full run makes).
async fn marker_seq(emu: &Emulator, agent: &str) -> u64 {
    emu.delete(emu.control("/requests")).await;
    emu.get(emu.api(&format!("/agents/{agent}"))).await;
    let log = emu.get(emu.control("/requests")).await;
    log["requests"]
        .as_array()
        .and_then(|r| r.last())
        .and_then(|r| r["seq"].as_u64())
        .expect("the marker in the log")
}

/// User + system CPU seconds of a process so far, from `/proc/PID/stat`.
fn process_cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name (which may contain spaces): utime and stime
    // are the 14th and 15th fields of the line, the 12th and 13th after the name.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

/// What a child process left behind: its stdout, the last line of its stderr, and its
/// resource usage from `wait4` (peak RSS, CPU time).
struct Exited {
    stdout: String,
    stderr_tail: String,
    killed: bool,
    /// How the process ended when not with status 0 (`exit 1`, `signal 6`): a crash after
    /// the results were printed (e.g. at interpreter shutdown) is shown, not hidden.
    abnormal_exit: Option<String>,
    peak_rss_mb: f64,
    cpu_s: f64,
}

/// Reads a child's pipe to its end on a thread of its own (both pipes are read at once, so
/// that neither can fill and block the child).
fn read_pipe(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = pipe.read_to_string(&mut s);
        s
    })
}

/// Runs `cmd` to its end (killed after [`CHILD_DEADLINE`]) and reads its resource usage.
fn run_child(mut cmd: Command) -> std::io::Result<Exited> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let pid = child.id() as libc::pid_t;
    let stdout = read_pipe(child.stdout.take().expect("piped stdout"));
    let stderr = read_pipe(child.stderr.take().expect("piped stderr"));
    let mut status = 0;
    // SAFETY: a plain C struct that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let deadline = Instant::now() + CHILD_DEADLINE;
    let mut killed = false;
    // Polled rather than blocking, so that a hung SDK is killed at the deadline; the kill
    // and the reaping are on this one thread, so a reaped pid is never signalled.
    loop {
        // SAFETY: wait4 writes only into the status and the rusage it is given.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if r == -1 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return Err(std::io::Error::last_os_error());
        }
        if !killed && Instant::now() >= deadline {
            // SAFETY: kill on our own child, which this thread has not reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let abnormal_exit = if libc::WIFSIGNALED(status) {
        Some(format!("signal {}", libc::WTERMSIG(status)))
    } else if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) != 0 {
        Some(format!("exit {}", libc::WEXITSTATUS(status)))
    } else {
        None
    };
    Ok(Exited {
        stdout,
        stderr_tail: stderr.lines().last().unwrap_or("").to_owned(),
        killed,
        abnormal_exit,
        peak_rss_mb: usage.ru_maxrss as f64 / 1024.0,
        cpu_s: secs(usage.ru_utime) + secs(usage.ru_stime),
    })
}

/// The three SDKs and how to start a child for each.
#[derive(Clone, Copy, PartialEq)]
enum Sdk {
    Rust,
    Python,
    Node,
}

impl Sdk {
    fn name(self) -> &'static str {
        match self {
            Sdk::Rust => "Rust",
            Sdk::Python => "Python",
            Sdk::Node => "Node",
        }
    }

    /// The peak-RSS target, in MB.
    fn rss_target_mb(self) -> f64 {
        match self {
            Sdk::Rust => 200.0,
            Sdk::Python | Sdk::Node => 300.0,
        }
    }
}

/// Where the scripts live: bench/ next to this crate's manifest.
fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/")
        .to_owned()
}

struct Harness {
    emu: Emulator,
    python: Option<String>,
    node: Option<String>,
    emulator_pid: Option<u32>,
}

/// One row of the table.
struct Row {
    sdk: Sdk,
    mode: &'static str,
    n: usize,
    outcome: Result<RunFigures, String>,
}

struct RunFigures {
    wall_s: f64,
    peak_rss_mb: f64,
    errors: u64,
    first_error: Option<String>,
    abnormal_exit: Option<String>,
    requests: u64,
    connections: u64,
    refused: u64,
    sdk_cpu_s: f64,
    emulator_cpu_s: Option<f64>,
}

impl Harness {
    fn command(&self, sdk: Sdk, via: &str, mode: &str, n: usize, agents: &str) -> Command {
        let n = n.to_string();
        let mut cmd = match sdk {
            Sdk::Rust => {
                let mut c = Command::new(std::env::current_exe().expect("this program"));
                c.args([via, &self.emu.key, "--child", mode, &n, agents]);
                return c;
            }
            Sdk::Python => {
                let mut c = Command::new(self.python.as_deref().expect("--python"));
                c.arg(bench_dir().join("python/scale.py"));
                c
            }
            Sdk::Node => {
                let mut c = Command::new(self.node.as_deref().expect("--node"));
                c.arg(bench_dir().join("node/scale.mjs"));
                c
            }
        };
        cmd.args([via, &self.emu.key, mode, &n, agents]);
        cmd
    }

    async fn measure(&self, sdk: Sdk, mode: &'static str, n: usize) -> Row {
        let agents = seed_agents(&self.emu, n).await;
        let upstream = self.emu.base.trim_start_matches("http://").to_owned();
        let (via, counts) = relay(upstream).await;
        let before = marker_seq(&self.emu, &agents[0]).await;
        let emu0 = self.emulator_pid.and_then(process_cpu_s);
        let cmd = self.command(sdk, &via, mode, n, &agents.join(","));
        let exited = tokio::task::spawn_blocking(move || run_child(cmd))
            .await
            .expect("the child's thread");
        let emu1 = self.emulator_pid.and_then(process_cpu_s);
        let after = marker_seq(&self.emu, &agents[0]).await;
        let outcome = match exited {
            Err(e) => Err(format!("could not run: {e}")),
            Ok(x) if x.killed => Err(format!("killed after {} s", CHILD_DEADLINE.as_secs())),
            Ok(x) => match serde_json::from_str::<Value>(x.stdout.trim()) {
                Err(_) => Err(format!("failed: {}", x.stderr_tail)),
                Ok(r) => Ok(RunFigures {
                    wall_s: r["wall_s"].as_f64().unwrap_or(f64::NAN),
                    peak_rss_mb: x.peak_rss_mb,
                    errors: r["errors"].as_u64().unwrap_or(u64::MAX),
                    first_error: r["first_error"].as_str().map(str::to_owned),
                    abnormal_exit: x.abnormal_exit,
                    requests: after.saturating_sub(before + 1),
                    connections: counts.connections.load(Ordering::Relaxed),
                    refused: counts.refused.load(Ordering::Relaxed),
                    sdk_cpu_s: x.cpu_s,
                    emulator_cpu_s: emu0.zip(emu1).map(|(a, b)| b - a),
                }),
            },
        };
        Row {
            sdk,
            mode,
            n,
            outcome,
        }
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "missed" }
}

fn print_table(rows: &[Row]) {
    println!(
        "| mode | SDK | turns | wall s | peak RSS MB | RSS target | errors (target 0) | requests / turn | connections | SDK CPU s | emulator CPU s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let (sdk, mode, n) = (row.sdk.name(), row.mode, row.n);
        let r = match &row.outcome {
            Ok(r) => r,
            Err(e) => {
                println!("| {mode} | {sdk} | {n} | {e} | | | | | | | |");
                continue;
            }
        };
        let target = row.sdk.rss_target_mb();
        let first = r
            .first_error
            .as_deref()
            .map(|e| format!(" ({})", e.replace('|', "/")))
            .unwrap_or_default();
        // A crash after the results were printed is an error of the run too.
        let exit = r
            .abnormal_exit
            .as_deref()
            .map(|e| format!(", then the process ended with {e}"))
            .unwrap_or_default();
        let refused = if r.refused > 0 {
            format!(" ({} refused by the relay)", r.refused)
        } else {
            String::new()
        };
        println!(
            "| {mode} | {sdk} | {n} | {:.1} | {:.0} | < {target:.0}: **{}** | {}{first}{exit}: **{}** | {:.1} | {}{refused} | {:.1} | {} |",
            r.wall_s,
            r.peak_rss_mb,
            verdict(r.peak_rss_mb < target),
            r.errors,
            verdict(r.errors == 0 && r.abnormal_exit.is_none()),
            r.requests as f64 / n as f64,
            r.connections,
            r.sdk_cpu_s,
            r.emulator_cpu_s
                .map(|c| format!("{c:.1}"))
                .unwrap_or_else(|| "n/a".into()),
        );
    }
    println!();
}

async fn harness(args: &[String], base: String, key: String) {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let h = Harness {
        emu: Emulator::new(&base, &key),
        python: value("--python"),
        node: value("--node"),
        emulator_pid: value("--emulator-pid").and_then(|p| p.parse().ok()),
    };
    let n = if args.iter().any(|a| a == "--quick") {
        1_000
    } else {
        10_000
    };
    let mut sdks = vec![Sdk::Rust];
    if h.python.is_some() {
        sdks.push(Sdk::Python);
    }
    if h.node.is_some() {
        sdks.push(Sdk::Node);
    }
    let mut rows = Vec::new();
    for mode in ["wait", "run"] {
        for &sdk in &sdks {
            rows.push(h.measure(sdk, mode, n).await);
        }
    }
    let names: Vec<&str> = sdks.iter().map(|s| s.name()).collect();
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!(
        "### Scale: {n} concurrent turns in one SDK process ({})\n",
        names.join(", ")
    );
    println!(
        "Each SDK and mode in a child process of its own under the caller's file limit \
         (run.sh: `ulimit -n 1024`), with fresh agents (1000 instances each: no turn queues) on \
         one emulator process; the clients' defaults (at most 100 requests, and so connections, \
         in flight), an overall wait timeout of 600 s. `wait` = N starts one after the other, \
         then N concurrent waits; `run` = N concurrent runs. Wall time from the first start to \
         the last reply. Peak RSS and SDK CPU = the child process's (`wait4`); connections = \
         those it opened, counted by a relay in the harness; requests = public-API requests in \
         the emulator's log over the run (starts included); emulator CPU = the emulator \
         process's over the run. Against wall time and the machine's {cores} cores, the two \
         CPU columns show which side was busy.\n"
    );
    print_table(&rows);
}

// ---- the Rust child ---------------------------------------------------------------------------

fn wait_options() -> WaitOptions {
    WaitOptions::default().timeout(Some(Duration::from_secs(600)))
}

/// N turns with the Rust SDK against `via`; prints the child's JSON line.
async fn child(via: String, key: String, mode: String, n: usize, agents: Vec<String>) {
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
        "wall_s": wall, "errors": errors.len(), "first_error": errors.first(),
    });
    println!("{out}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(base), Some(key)) = (args.get(1).cloned(), args.get(2).cloned()) else {
        eprintln!(
            "usage: nairi-scale BASE_URL API_KEY [--quick] [--python PYTHON] [--node NODE] \
             [--emulator-pid PID]"
        );
        std::process::exit(2);
    };
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let (Some(mode), Some(n), Some(agents)) = (
            args.get(i + 1).cloned(),
            args.get(i + 2).and_then(|n| n.parse().ok()),
            args.get(i + 3),
        ) else {
            eprintln!("usage: nairi-scale VIA API_KEY --child MODE N AGENT_IDS");
            std::process::exit(2);
        };
        let agents = agents.split(',').map(str::to_owned).collect();
        child(base, key, mode, n, agents).await;
        return;
    }
    harness(&args, base, key).await;
}
