//! Helpers shared by the integration tests.
#![allow(dead_code)] // Not every test module uses every helper.

use std::time::{Duration, Instant};

use nairi_emulator::{AgentSeed, Emulator, Timings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A running emulator and a client bound to one organisation.
pub struct T {
    pub emu: Emulator,
    pub http: reqwest::Client,
    pub key: String,
}

pub async fn start() -> T {
    let emu = Emulator::builder()
        .timings(Timings::fast())
        .start()
        .await
        .expect("start emulator");
    let key = emu.api_key().to_string();
    T {
        emu,
        http: reqwest::Client::new(),
        key,
    }
}

pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
}

impl T {
    pub fn url(&self, path: &str) -> String {
        format!("{}/api/public/v1{}", self.emu.base_url(), path)
    }

    pub async fn req_as(&self, key: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
        let mut rb = self.http.request(method, self.url(path)).bearer_auth(key);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        into_resp(rb.send().await.expect("request")).await
    }

    pub async fn req(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.req_as(&self.key.clone(), method, path, body).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.req(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.req(Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.req(Method::PATCH, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.req(Method::PUT, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.req(Method::DELETE, path, None).await
    }

    /// An agent created through the public API and deployed, waiting until a turn completes.
    pub async fn deployed_agent(&self, name: &str) -> Value {
        self.emu
            .create_agent(
                &self.key,
                AgentSeed {
                    name: name.into(),
                    deployed: true,
                    ..Default::default()
                },
            )
            .expect("create agent")
    }

    /// Starts a conversation; returns (job_id, message_id).
    pub async fn start_conv(&self, agent: &str, prompt: &str) -> (String, String) {
        let r = self
            .post(
                "/conversations/start",
                json!({ "agent_id": agent, "prompt": prompt }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        (
            r.body["job_id"].as_str().unwrap().into(),
            r.body["message_id"].as_str().unwrap().into(),
        )
    }

    pub async fn continue_conv(&self, job: &str, prompt: &str) -> Resp {
        self.post(
            &format!("/conversations/{job}/continue"),
            json!({ "prompt": prompt }),
        )
        .await
    }

    /// Polls a message until its status is one of `want` (10 s deadline).
    pub async fn wait_status(&self, msg: &str, want: &[&str]) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let r = self.get(&format!("/messages/{msg}")).await;
            assert_eq!(r.status, 200, "{}", r.text);
            if want.contains(&r.body["status"].as_str().unwrap_or("")) {
                return r.body;
            }
            assert!(
                Instant::now() < deadline,
                "message {msg} stuck in {}",
                r.body["status"]
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Polls the thread until `pred` holds (10 s deadline); returns the messages.
    pub async fn wait_thread(&self, job: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let msgs = self.messages(job).await;
            if pred(&msgs) {
                return msgs;
            }
            assert!(
                Instant::now() < deadline,
                "thread {job} never matched: {msgs:#?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub async fn messages(&self, job: &str) -> Vec<Value> {
        let r = self.get(&format!("/conversations/{job}/messages")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["messages"].as_array().unwrap().clone()
    }

    /// Raw admin call.
    pub async fn admin(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut rb = self
            .http
            .request(method, format!("{}/_emulator{}", self.emu.base_url(), path));
        if let Some(k) = key {
            rb = rb.bearer_auth(k);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        into_resp(rb.send().await.expect("admin request")).await
    }
}

pub async fn into_resp(r: reqwest::Response) -> Resp {
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Resp {
        status,
        body,
        text,
        headers,
    }
}

/// Asserts a JSON error with `status` whose text contains `needle`.
#[track_caller]
pub fn assert_err(r: &Resp, status: u16, needle: &str) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.text);
    let e = r.body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field in {}", r.text));
    assert!(e.contains(needle), "error {e:?} lacks {needle:?}");
}

pub fn roles(msgs: &[Value]) -> Vec<String> {
    msgs.iter()
        .map(|m| m["role"].as_str().unwrap().to_string())
        .collect()
}

/// Messages after the given user message.
pub fn after<'a>(msgs: &'a [Value], id: &str) -> &'a [Value] {
    let i = msgs
        .iter()
        .position(|m| m["id"] == id)
        .expect("user message in thread");
    &msgs[i + 1..]
}

/// Uploads `data` as the multipart field `file`; returns the response.
pub async fn upload(t: &T, filename: &str, data: Vec<u8>) -> Resp {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(data).file_name(filename.to_string()),
    );
    let r = t
        .http
        .post(t.url("/attachments"))
        .bearer_auth(&t.key)
        .multipart(form)
        .send()
        .await
        .expect("upload");
    into_resp(r).await
}

/// A raw connection, for what an HTTP client library would not send.
pub struct Raw(pub tokio::net::TcpStream);

impl Raw {
    pub async fn connect(emu: &Emulator) -> Raw {
        Raw(tokio::net::TcpStream::connect(emu.addr())
            .await
            .expect("connect"))
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        use tokio::io::AsyncWriteExt;
        self.0.write_all(bytes).await.expect("write");
    }

    /// Everything the server sends until it closes the connection. A server that keeps it
    /// open fails the test (after a deadline far above any of the server's own timeouts),
    /// rather than hanging it.
    pub async fn read_until_closed(&mut self) -> String {
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(10), async {
            let mut buf = [0u8; 4096];
            loop {
                match self.0.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                }
            }
        })
        .await;
        let text = String::from_utf8_lossy(&out).into_owned();
        assert!(
            read.is_ok(),
            "the server never closed the connection; got {text:?}"
        );
        text
    }
}
