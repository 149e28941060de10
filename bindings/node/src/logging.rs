//! The core's `tracing` events, sent to a JavaScript logger (`NAIRI_LOG`, as in Python).
//!
//! One global subscriber is installed on the first `setLogger`; its level can change later.
//! Each event becomes one JSON line `{level, target, message, fields}` handed to the
//! callback on the JavaScript thread (a weak threadsafe function: it never keeps the event
//! loop alive). Authorization values and every API key the addon has seen are redacted,
//! although the core never logs them in the first place.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use tracing::field::{Field, Visit};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

type LogFn = ThreadsafeFunction<String, (), String, Status, false, true>;

/// 0 off, 1 error, 2 warn, 3 info, 4 debug, 5 trace.
static LEVEL: AtomicU8 = AtomicU8::new(0);
static SINK: Mutex<Option<LogFn>> = Mutex::new(None);
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Registers a key so that it is redacted from every log line (the core's log-bridge
/// redaction).
pub(crate) fn remember_secret(secret: &str) {
    nairi::log_bridge::remember_secret(secret);
}

fn enabled(meta: &Metadata<'_>) -> bool {
    meta.target().starts_with("nairi")
        && nairi::log_bridge::level_rank(meta.level()) <= LEVEL.load(Ordering::Relaxed)
}

#[derive(Default)]
struct Fields {
    message: String,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.put(field, text);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }
}

impl Fields {
    fn put(&mut self, field: &Field, text: String) {
        let name = field.name();
        let text = if name.eq_ignore_ascii_case("authorization") {
            "[redacted]".to_owned()
        } else {
            nairi::log_bridge::redact(&text)
        };
        if name == "message" {
            self.message = text;
        } else {
            self.fields.insert(name.to_owned(), text.into());
        }
    }
}

/// The fields of a span, kept for the events inside it.
struct SpanFields(serde_json::Map<String, serde_json::Value>);

struct JsLayer;

impl<S: Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for JsLayer {
    fn enabled(&self, meta: &Metadata<'_>, _: Context<'_, S>) -> bool {
        enabled(meta)
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let mut f = Fields::default();
        attrs.record(&mut f);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(f.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let mut fields = serde_json::Map::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(sf)) = span.extensions().get::<SpanFields>() {
                    fields.extend(sf.clone());
                }
            }
        }
        fields.extend(f.fields);
        let meta = event.metadata();
        let line = serde_json::json!({
            "level": meta.level().as_str().to_ascii_lowercase(),
            "target": meta.target(),
            "message": f.message,
            "fields": fields,
        })
        .to_string();
        if let Ok(sink) = SINK.lock()
            && let Some(tsfn) = sink.as_ref()
        {
            // Every text in the line went through the core's redaction as it was recorded.
            tsfn.call(line, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

/// Sends the core's events at `level` (`off`, `error`, `warn`, `info`, `debug`, `trace`)
/// and above to `callback`, one JSON line each; `off` (or no callback) stops them.
#[napi(ts_args_type = "level: string, callback?: ((line: string) => void) | undefined | null")]
pub fn set_logger(level: String, callback: Option<Function<String, ()>>) -> Result<()> {
    let Some(number) = nairi::log_bridge::parse_level(&level) else {
        return Err(Error::new(
            Status::InvalidArg,
            format!("NAIRI_LOG: unknown level {level:?} (use debug, info, warn, error or off)"),
        ));
    };
    let sink = match callback {
        Some(f) if number > 0 => Some(
            f.build_threadsafe_function::<String>()
                .callee_handled::<false>()
                .weak::<true>()
                .build()?,
        ),
        _ => None,
    };
    let number = if sink.is_some() { number } else { 0 };
    *SINK.lock().map_err(|e| Error::from_reason(e.to_string()))? = sink;
    LEVEL.store(number, Ordering::Relaxed);
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(JsLayer);
        tracing::subscriber::set_global_default(subscriber).is_ok()
    });
    tracing::callsite::rebuild_interest_cache();
    Ok(())
}
