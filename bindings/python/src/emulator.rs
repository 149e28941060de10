//! The emulator, in-process, for `nairi.testing`: started on this module's shared runtime
//! (its workers serve it while Python runs), bound to 127.0.0.1 on an ephemeral port. Every argument and result is JSON (the emulator's serde
//! types: `AgentSeed`, `ScriptedTurn`, `Fault`, `LoggedRequest`).

use std::sync::Mutex;

use nairi_emulator::{AgentSeed, Emulator, Fault, JobSeed, ScriptedTurn, Timings};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde::de::DeserializeOwned;

use crate::blocking::on_shared as block_on;
use crate::{Failure, Outcome, guard, lock};

fn decode<T: DeserializeOwned>(what: &str, json: &str) -> Outcome<T> {
    serde_json::from_str(json).map_err(|e| Failure::Emulator(format!("invalid {what}: {e}")))
}

fn control(e: nairi_emulator::EmulatorError) -> Failure {
    Failure::Emulator(e.to_string())
}

/// A running emulator (stopped by `shutdown` or when garbage-collected).
#[pyclass(frozen, module = "nairi._native")]
pub struct NativeEmulator {
    inner: Mutex<Option<Emulator>>,
    api_key: String,
    base_url: String,
}

impl NativeEmulator {
    fn with<T>(&self, py: Python<'_>, f: impl FnOnce(&Emulator) -> Outcome<T>) -> PyResult<T> {
        guard(|| {
            let slot = lock(&self.inner);
            let emulator = slot.as_ref().ok_or_else(|| {
                Failure::Emulator("the emulator was shut down".into()).into_py(py)
            })?;
            f(emulator).map_err(|e| e.into_py(py))
        })
    }
}

#[pymethods]
impl NativeEmulator {
    /// Starts an emulator; `timings` is `"fast"`, `"default"` or the JSON of `Timings`.
    #[new]
    #[pyo3(signature = (timings="fast"))]
    fn new(py: Python<'_>, timings: &str) -> PyResult<Self> {
        guard(|| {
            let timings = match timings {
                "fast" => Timings::fast(),
                "default" => Timings::default(),
                json => decode::<Timings>("timings", json).map_err(|f| f.into_py(py))?,
            };
            let emulator = block_on(py, async move {
                Emulator::builder()
                    .timings(timings)
                    .start()
                    .await
                    .map_err(|e| Failure::Emulator(format!("the emulator could not start: {e}")))
            })?;
            Ok(NativeEmulator {
                api_key: emulator.api_key().to_owned(),
                base_url: emulator.base_url(),
                inner: Mutex::new(Some(emulator)),
            })
        })
    }

    /// The default organisation's API key.
    #[getter]
    fn api_key(&self) -> String {
        self.api_key.clone()
    }

    /// The root URL (`http://127.0.0.1:PORT`).
    #[getter]
    fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Creates another organisation and returns its key.
    fn new_org(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |e| Ok(e.new_org()))
    }

    /// Creates an agent from the JSON of an `AgentSeed`; returns the agent's JSON.
    fn create_agent(&self, py: Python<'_>, key: &str, seed: &str) -> PyResult<String> {
        self.with(py, |e| {
            let seed: AgentSeed = decode("agent seed", seed)?;
            e.create_agent(key, seed)
                .map(|v| v.to_string())
                .map_err(control)
        })
    }

    /// Seeds a conversation from the JSON of a `JobSeed`; returns the JSON of its job and
    /// user message ids.
    fn seed_job(&self, py: Python<'_>, key: &str, seed: &str) -> PyResult<String> {
        self.with(py, |e| {
            let seed: JobSeed = decode("job seed", seed)?;
            let ids = e.seed_job(key, seed).map_err(control)?;
            serde_json::to_string(&ids).map_err(|err| Failure::Emulator(err.to_string()))
        })
    }

    /// Appends scripted turns (JSON list of `ScriptedTurn`) for an agent's next turns.
    fn script(&self, py: Python<'_>, key: &str, agent: &str, turns: &str) -> PyResult<()> {
        self.with(py, |e| {
            let turns: Vec<ScriptedTurn> = decode("scripted turns", turns)?;
            e.script(key, agent, turns).map_err(control)
        })
    }

    /// Injects a fault (JSON of `Fault`); returns its id.
    fn inject_fault(&self, py: Python<'_>, fault: &str) -> PyResult<String> {
        self.with(py, |e| {
            let fault: Fault = decode("fault", fault)?;
            e.try_inject_fault(fault).map_err(control)
        })
    }

    /// Removes every fault.
    fn clear_faults(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |e| {
            e.clear_faults();
            Ok(())
        })
    }

    /// Sets a job's status as the platform would, with an optional system message.
    #[pyo3(signature = (key, job_id, status, reason=None))]
    fn set_job_status(
        &self,
        py: Python<'_>,
        key: &str,
        job_id: &str,
        status: &str,
        reason: Option<&str>,
    ) -> PyResult<()> {
        self.with(py, |e| {
            e.set_job_status(key, job_id, status, reason)
                .map_err(control)
        })
    }

    /// The request log (JSON list of `LoggedRequest`), oldest first.
    fn requests<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let log = self.with(py, |e| {
            serde_json::to_vec(&e.requests()).map_err(|err| {
                Failure::Panic(format!("the request log could not be encoded: {err}"))
            })
        })?;
        Ok(PyBytes::new(py, &log))
    }

    /// Empties the request log.
    fn clear_requests(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |e| {
            e.clear_requests();
            Ok(())
        })
    }

    /// Clears all state, scripts, faults and the request log.
    fn reset(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |e| {
            e.reset();
            Ok(())
        })
    }

    /// Stops serving (idempotent).
    fn shutdown(&self, py: Python<'_>) -> PyResult<()> {
        guard(|| {
            let emulator = lock(&self.inner).take();
            if let Some(emulator) = emulator {
                block_on(py, async move {
                    emulator.shutdown().await;
                    Ok(())
                })?;
            }
            Ok(())
        })
    }

    /// Whether `shutdown` has not been called.
    #[getter]
    fn running(&self) -> bool {
        lock(&self.inner).is_some()
    }

    fn __repr__(&self) -> String {
        format!("NativeEmulator(base_url={:?})", self.base_url)
    }
}
