//! What the bench binaries share: plain JSON requests to the emulator (its control API and the
//! public API, without the SDK), a counting relay in front of it, and this process's memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The emulator seen through plain reqwest: for seeding and reading back, never measured.
pub struct Emulator {
    /// The emulator's root URL (no `/api/public/v1`).
    pub base: String,
    /// The organisation's API key.
    pub key: String,
    /// One reused client.
    pub http: reqwest::Client,
}

impl Emulator {
    /// The emulator at `base` with `key`.
    pub fn new(base: &str, key: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// The public API URL of `path` (which starts with `/`).
    pub fn api(&self, path: &str) -> String {
        format!("{}/api/public/v1{path}", self.base)
    }

    /// The control API URL of `path` (which starts with `/`).
    pub fn control(&self, path: &str) -> String {
        format!("{}/_emulator{path}", self.base)
    }

    /// POSTs `body` as JSON to `url` and returns the JSON answer; panics on any failure (the
    /// bench cannot go on without its set-up).
    pub async fn post(&self, url: String, body: &Value) -> Value {
        self.json(self.http.post(url).json(body), "a POST").await
    }

    /// GETs `url` and returns the JSON answer.
    pub async fn get(&self, url: String) -> Value {
        self.json(self.http.get(url), "a GET").await
    }

    /// GETs `url` and returns the body's bytes.
    pub async fn get_bytes(&self, url: String) -> Vec<u8> {
        self.send(self.http.get(url), "a GET")
            .await
            .bytes()
            .await
            .expect("the body")
            .to_vec()
    }

    /// DELETEs `url`.
    pub async fn delete(&self, url: String) {
        self.send(self.http.delete(url), "a DELETE").await;
    }

    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> reqwest::Response {
        req.bearer_auth(&self.key)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .unwrap_or_else(|e| panic!("{what} to the emulator: {e}"))
    }

    async fn json(&self, req: reqwest::RequestBuilder, what: &str) -> Value {
        self.send(req, what).await.json().await.expect("JSON")
    }
}

/// What a [`relay`] has counted so far.
#[derive(Default)]
pub struct RelayCounts {
    /// Bytes sent back to the client (headers included).
    pub bytes_down: AtomicU64,
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Accept errors (e.g. out of file descriptors).
    pub refused: AtomicU64,
}

/// A relay 127.0.0.1:any -> `upstream` (host:port) in this process, counting what passes; returns
/// its `http://` URL. It lives in the harness, not in a measured child, so that the child's RSS
/// and file descriptors are the SDK's alone; an accept error is counted and the relay goes on.
pub async fn relay(upstream: String) -> (String, Arc<RelayCounts>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the relay");
    let addr = listener.local_addr().expect("relay address");
    let counts = Arc::new(RelayCounts::default());
    let shared = counts.clone();
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((client, _)) => {
                    shared.connections.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(pipe(client, upstream.clone(), shared.clone()));
                }
                Err(_) => {
                    shared.refused.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    });
    (format!("http://{addr}"), counts)
}

async fn pipe(client: TcpStream, upstream: String, counts: Arc<RelayCounts>) {
    let Ok(server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let _ = tokio::io::copy(&mut cr, &mut sw).await;
        let _ = sw.shutdown().await;
    };
    // Counted chunk by chunk: keep-alive connections stay open after the turn.
    let back = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    counts.bytes_down.fetch_add(n as u64, Ordering::Relaxed);
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, back);
}

/// Peak resident set size of this process, in MB (getrusage).
pub fn peak_rss_mb() -> f64 {
    // SAFETY: getrusage only writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return f64::NAN;
    }
    usage.ru_maxrss as f64 / 1024.0
}

/// Current resident set size of this process, in MB (`VmRSS` of /proc/self/status).
pub fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
