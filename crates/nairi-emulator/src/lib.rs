#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

mod admin;
mod agent_sim;
mod auth;
mod cron;
mod error;
mod faults;
mod ids;
mod request_body;
mod request_log;
mod routes;
mod script;
mod server;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use admin::{AgentSeed, CONTROL_BODY_LIMIT, JobSeed, MAX_SEEDED_MESSAGES, TurnIds};
pub use agent_sim::default_reply;
pub use auth::CONTROL_TOKEN_HEADER;
pub use error::EmulatorError;
pub use faults::Fault;
pub use ids::new_api_key;
pub use request_body::DEFAULT_BODY_TIMEOUT;
pub use request_log::{
    LOG_FIELD_LIMIT, LOG_HEADERS_LIMIT, LoggedRequest, OMITTED_HEADERS, REQUEST_LOG_CAPACITY,
};
pub use routes::agents::MAX_INSTANCES_COUNT;
pub use script::{
    FailSpec, MAX_DELAY_MS, OutboundAttachment, ProgressEvent, ScriptedTurn, Timings, Usage,
};
pub use server::{API_PREFIX, JSON_BODY_LIMIT, MULTIPART_BODY_LIMIT};

use state::{App, Shared, World};

/// Configures and starts an [`Emulator`].
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    timings: Timings,
    api_key: Option<String>,
    addr: SocketAddr,
    body_timeout: Duration,
    control_token: Option<String>,
    require_control_token: Option<bool>,
}

impl EmulatorBuilder {
    /// Agent and deploy timings (default: human-scale [`Timings::default`]).
    pub fn timings(mut self, t: Timings) -> Self {
        self.timings = t;
        self
    }

    /// The default organisation's API key (default: a fresh `nr_…` key).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Address to bind (default `127.0.0.1:0`, an ephemeral port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Time a client has to send a whole request body (default [`DEFAULT_BODY_TIMEOUT`]);
    /// a slower one gets a 408 and its connection is closed.
    pub fn body_timeout(mut self, t: Duration) -> Self {
        self.body_timeout = t;
        self
    }

    /// The control token (default: a fresh `emu_…` token).
    pub fn control_token(mut self, token: impl Into<String>) -> Self {
        self.control_token = Some(token.into());
        self
    }

    /// Whether `/_emulator` needs the control token in [`CONTROL_TOKEN_HEADER`] (default:
    /// only when bound to an address other than loopback).
    pub fn require_control_token(mut self, required: bool) -> Self {
        self.require_control_token = Some(required);
        self
    }

    /// Binds and starts serving on the current tokio runtime.
    pub async fn start(self) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;
        let api_key = self.api_key.unwrap_or_else(ids::new_api_key);
        let mut world = World::default();
        world.create_org(&api_key, false);
        let mut app = App::new(world, self.timings);
        app.limits.body_timeout = self.body_timeout;
        if let Some(token) = self.control_token.filter(|t| !t.is_empty()) {
            app.control.token = token;
        }
        app.control.required = self
            .require_control_token
            .unwrap_or_else(|| auth::token_required_by_default(addr.ip()));
        let app: Shared = Arc::new(app);
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, server::router(app.clone()), rx));
        Ok(Emulator {
            app,
            addr,
            api_key,
            shutdown: tx,
            task: Some(task),
        })
    }
}

/// A running emulator; stops when shut down or dropped.
pub struct Emulator {
    app: Shared,
    addr: SocketAddr,
    api_key: String,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// A builder with default settings.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder {
            timings: Timings::default(),
            api_key: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            body_timeout: DEFAULT_BODY_TIMEOUT,
            control_token: None,
            require_control_token: None,
        }
    }

    /// Root URL, e.g. `http://127.0.0.1:PORT` (the SDK appends `/api/public/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The default organisation's API key.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The token the control API needs in [`CONTROL_TOKEN_HEADER`] when
    /// [`Emulator::control_token_required`].
    pub fn control_token(&self) -> &str {
        &self.app.control.token
    }

    /// Whether `/_emulator` needs the control token (by default: bound to a non-loopback
    /// address). The Rust control methods never need it.
    pub fn control_token_required(&self) -> bool {
        self.app.control.required
    }

    /// The timings in force.
    pub fn timings(&self) -> Timings {
        self.app.timings
    }

    /// Creates another, freshly seeded organisation and returns its key.
    pub fn new_org(&self) -> String {
        admin::create_org(&self.app, false)
    }

    /// Creates another organisation whose new jobs get legacy `j_` ids.
    pub fn new_org_legacy_job_ids(&self) -> String {
        admin::create_org(&self.app, true)
    }

    /// Creates an agent (optionally with an explicit slug, already deployed); returns its JSON.
    pub fn create_agent(
        &self,
        key: &str,
        seed: AgentSeed,
    ) -> Result<serde_json::Value, EmulatorError> {
        admin::create_agent(&self.app, key, seed)
    }

    /// Appends scripted turns consumed, in order, by the agent's next turns.
    pub fn script(
        &self,
        key: &str,
        agent_ref: &str,
        turns: Vec<ScriptedTurn>,
    ) -> Result<(), EmulatorError> {
        admin::script(&self.app, key, agent_ref, turns).map(|_| ())
    }

    /// Seeds a job as if it came from another surface.
    pub fn seed_job(&self, key: &str, seed: JobSeed) -> Result<TurnIds, EmulatorError> {
        admin::seed_job(&self.app, key, seed)
    }

    /// Sets a job's status, appending `reason` as a system message when given.
    pub fn set_job_status(
        &self,
        key: &str,
        job_id: &str,
        status: &str,
        reason: Option<&str>,
    ) -> Result<(), EmulatorError> {
        admin::set_job_status(&self.app, key, job_id, status, reason)
    }

    /// Injects a fault; returns its id.
    ///
    /// # Panics
    ///
    /// When the fault is invalid (see [`Fault::validate`]); [`Emulator::try_inject_fault`]
    /// returns the error instead.
    pub fn inject_fault(&self, fault: Fault) -> String {
        self.try_inject_fault(fault)
            .unwrap_or_else(|e| panic!("invalid fault: {}", e.message))
    }

    /// Injects a fault; returns its id, or a 400 [`EmulatorError`] when the fault is invalid
    /// (see [`Fault::validate`]).
    pub fn try_inject_fault(&self, fault: Fault) -> Result<String, EmulatorError> {
        admin::inject_fault(&self.app, fault)
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.app.lock().faults.clear();
    }

    /// The public-API requests in the log (the newest [`REQUEST_LOG_CAPACITY`]), oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.requests_since(0)
    }

    /// The logged requests whose `seq` is above `seq`, oldest first.
    pub fn requests_since(&self, seq: u64) -> Vec<LoggedRequest> {
        let snapshot = self.app.log().since(seq);
        snapshot.into_iter().map(Arc::unwrap_or_clone).collect()
    }

    /// Empties the request log; sequence numbers are never reused.
    pub fn clear_requests(&self) {
        self.app.clear_log();
    }

    /// Clears all state, scripts, faults and the request log; existing keys get fresh, seeded
    /// organisations. Sequence numbers of the log go on.
    pub fn reset(&self) {
        self.app.reset();
    }

    /// Stops serving and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
