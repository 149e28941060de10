//! The emulator, in-process, for `nairi/testing`: the Rust `Emulator` and its controls.

use std::sync::Mutex;

use nairi_emulator::{AgentSeed, Emulator, Fault, JobSeed, ScriptedTurn, Timings};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde::Deserialize;

/// What `startEmulator` takes (JSON): the timings (`"fast"`, the default for tests,
/// `"default"` for human-scale ones, or explicit milliseconds) and an optional API key.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct EmulatorOptions {
    timings: Option<TimingsOption>,
    api_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum TimingsOption {
    Named(String),
    Explicit(Timings),
}

fn control_error(e: impl std::fmt::Display) -> Error {
    Error::new(Status::InvalidArg, format!("emulator: {e}"))
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| control_error(format!("invalid {what}: {e}")))
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(control_error)
}

/// Starts an emulator on `127.0.0.1` with an ephemeral port, on the addon's runtime.
#[napi]
pub async fn start_emulator(options_json: String) -> Result<NativeEmulator> {
    let options: EmulatorOptions = parse("emulator options", &options_json)?;
    let timings = match options.timings {
        None => Timings::fast(),
        Some(TimingsOption::Named(name)) => match name.as_str() {
            "fast" => Timings::fast(),
            "default" => Timings::default(),
            other => {
                return Err(control_error(format!(
                    "timings {other:?}: use \"fast\", \"default\" or an object of milliseconds"
                )));
            }
        },
        Some(TimingsOption::Explicit(t)) => t,
    };
    let mut builder = Emulator::builder().timings(timings);
    if let Some(key) = options.api_key {
        builder = builder.api_key(key);
    }
    let emulator = builder.start().await.map_err(control_error)?;
    crate::logging::remember_secret(emulator.api_key());
    Ok(NativeEmulator {
        api_key: emulator.api_key().to_owned(),
        base_url: emulator.base_url(),
        inner: Mutex::new(Some(emulator)),
    })
}

/// A running emulator and its controls (the Rust API of `nairi_emulator::Emulator`).
#[napi]
pub struct NativeEmulator {
    inner: Mutex<Option<Emulator>>,
    api_key: String,
    base_url: String,
}

impl NativeEmulator {
    fn with<T>(&self, f: impl FnOnce(&Emulator) -> Result<T>) -> Result<T> {
        let guard = self.inner.lock().map_err(control_error)?;
        match guard.as_ref() {
            Some(e) => f(e),
            None => Err(control_error("the emulator was shut down")),
        }
    }
}

#[napi]
impl NativeEmulator {
    /// The default organisation's API key.
    #[napi(getter)]
    pub fn api_key(&self) -> String {
        self.api_key.clone()
    }

    /// The root URL, `http://127.0.0.1:PORT`.
    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Creates another, freshly seeded organisation; returns its key.
    #[napi]
    pub fn new_org(&self) -> Result<String> {
        self.with(|e| {
            let key = e.new_org();
            crate::logging::remember_secret(&key);
            Ok(key)
        })
    }

    /// Creates an agent from the JSON of an `AgentSeed`; returns the agent's JSON.
    #[napi]
    pub fn create_agent(&self, key: String, seed_json: String) -> Result<String> {
        let seed: AgentSeed = parse("agent seed", &seed_json)?;
        self.with(|e| json(&e.create_agent(&key, seed).map_err(control_error)?))
    }

    /// Appends scripted turns (JSON list of `ScriptedTurn`) for an agent's next turns.
    #[napi]
    pub fn script(&self, key: String, agent: String, turns_json: String) -> Result<()> {
        let turns: Vec<ScriptedTurn> = parse("scripted turns", &turns_json)?;
        self.with(|e| e.script(&key, &agent, turns).map_err(control_error))
    }

    /// Seeds a conversation (JSON of a `JobSeed`); returns `{job_id, message_id}` as JSON.
    #[napi]
    pub fn seed_job(&self, key: String, seed_json: String) -> Result<String> {
        let seed: JobSeed = parse("job seed", &seed_json)?;
        self.with(|e| json(&e.seed_job(&key, seed).map_err(control_error)?))
    }

    /// Sets a job's status as the platform would, with an optional system message.
    #[napi]
    pub fn set_job_status(
        &self,
        key: String,
        job_id: String,
        status: String,
        reason: Option<String>,
    ) -> Result<()> {
        self.with(|e| {
            e.set_job_status(&key, &job_id, &status, reason.as_deref())
                .map_err(control_error)
        })
    }

    /// Injects a fault (JSON of a `Fault`); returns its id. An invalid fault throws.
    #[napi]
    pub fn inject_fault(&self, fault_json: String) -> Result<String> {
        let fault: Fault = parse("fault", &fault_json)?;
        self.with(|e| e.try_inject_fault(fault).map_err(control_error))
    }

    /// Removes every fault.
    #[napi]
    pub fn clear_faults(&self) -> Result<()> {
        self.with(|e| {
            e.clear_faults();
            Ok(())
        })
    }

    /// The request log (JSON list of `LoggedRequest`), oldest first; after `seq` when given.
    #[napi]
    pub fn requests(&self, since: Option<i64>) -> Result<String> {
        let since = u64::try_from(since.unwrap_or(0)).unwrap_or(0);
        self.with(|e| json(&e.requests_since(since)))
    }

    /// Empties the request log.
    #[napi]
    pub fn clear_requests(&self) -> Result<()> {
        self.with(|e| {
            e.clear_requests();
            Ok(())
        })
    }

    /// Clears all state, scripts, faults and the log.
    #[napi]
    pub fn reset(&self) -> Result<()> {
        self.with(|e| {
            e.reset();
            Ok(())
        })
    }

    /// Stops serving; later controls throw. Shutting down twice is a no-op.
    #[napi]
    pub async fn shutdown(&self) -> Result<()> {
        let emulator = self.inner.lock().map_err(control_error)?.take();
        if let Some(e) = emulator {
            e.shutdown().await;
        }
        Ok(())
    }
}
