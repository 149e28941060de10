//! The bridge from the core's `tracing` events to Python's `logging` (logger `nairi`).
//!
//! Off by default (nothing is formatted or forwarded). `NAIRI_LOG=debug|info|warning` (read
//! when the module loads) or `set_log_level` turns it on. Every API key a client of this
//! process was built with, and any `Authorization` header value, is replaced by
//! `<redacted>` before a record reaches Python.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};

use pyo3::prelude::*;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// 0 = off, 1 = error, 2 = warn, 3 = info, 4 = debug, 5 = trace.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);

/// Remembers a key so that no log record shows it (the core's log-bridge redaction).
pub(crate) fn remember_key(key: &str) {
    nairi::log_bridge::remember_secret(key);
}

/// Sets the level forwarded to Python (`debug`, `info`, `warning`, `error`, `off`).
#[pyfunction]
pub(crate) fn set_log_level(level: &str) -> PyResult<()> {
    let rank = nairi::log_bridge::parse_level(level).ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err(format!(
            "unknown log level {level:?} (debug, info, warning, error, off)"
        ))
    })?;
    MAX_LEVEL.store(rank, Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
    Ok(())
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

struct PythonLogging;

impl<S: Subscriber> Layer<S> for PythonLogging {
    fn register_callsite(
        &self,
        _metadata: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // The level can change at run time: ask `enabled` every time.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        metadata.is_event()
            && nairi::log_bridge::level_rank(metadata.level()) <= MAX_LEVEL.load(Ordering::Relaxed)
            && metadata.target().starts_with("nairi")
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let message = nairi::log_bridge::redact(&fields.0);
        let level: u8 = match *meta.level() {
            Level::ERROR => 40,
            Level::WARN => 30,
            Level::INFO => 20,
            Level::DEBUG => 10,
            Level::TRACE => 5,
        };
        let target = meta.target().to_owned();
        // Usually on a tokio worker: through the gate, so that no record is forwarded once the
        // interpreter is exiting (`exit_gate`; such a record is dropped).
        let _ = crate::exit_gate::attach(|py| {
            let logged = (|| -> PyResult<()> {
                let logger = py
                    .import("logging")?
                    .getattr("getLogger")?
                    .call1(("nairi",))?;
                logger.call_method1("log", (level, "%s: %s", target, message))?;
                Ok(())
            })();
            if let Err(e) = logged {
                e.print(py);
            }
        });
    }
}

/// Installs the bridge as the process's tracing subscriber (unless one is already set) and
/// applies `NAIRI_LOG`.
pub(crate) fn install() {
    if let Some(rank) = std::env::var("NAIRI_LOG")
        .ok()
        .as_deref()
        .and_then(nairi::log_bridge::parse_level)
    {
        MAX_LEVEL.store(rank, Ordering::Relaxed);
    }
    let _ =
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(PythonLogging));
}
