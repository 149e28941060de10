//! The napi addon behind the `nairi` npm package.
//!
//! A thin layer over the Rust core with a handful of entry points and no per-operation code:
//! a client built from [`nairi::ClientOptions`] (JSON) and its copies with per-call overrides
//! ([`NativeClient::with_options`]), the generic call by operation id over
//! JSON strings ([`NativeClient::call`]), the streams of `conversations.watch` and
//! `agents.conversations.list_all` ([`NativeStream`]), cancellation ([`CancelToken`]), the
//! core's tracing events ([`set_logger`]) and the emulator ([`start_emulator`]). Values cross
//! as JSON strings (faster than napi value conversion for models, see BINDINGS.md) and errors
//! as the JSON of [`nairi::ErrorPayload`], which the TypeScript facade turns into its
//! generated `Error` subclasses. Every call, stream item and download of a client comes back
//! through its completion queue (`completions`), from the runtime its calls run on: on Linux
//! the JavaScript thread's own, turned by Node's event loop (`event_loop`), else tokio
//! workers.
//!
//! Cancellation: the facade adds its own `abort` listener to the caller's `AbortSignal` and
//! removes it when the call settles, and that listener calls [`CancelToken::cancel`]. napi's
//! own `AbortSignal` support is not used because it sets `signal.onabort`, so a signal shared
//! by several calls would only cancel the last one.

#![deny(missing_docs)]

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use futures::StreamExt;
use futures::stream::BoxStream;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

mod completions;
mod emulator;
#[cfg(target_os = "linux")]
mod event_loop;
#[cfg(not(target_os = "linux"))]
#[path = "event_loop_elsewhere.rs"]
mod event_loop;
mod logging;
mod overrides;
#[cfg(target_os = "linux")]
mod uv;

use completions::Completions;

pub use emulator::{NativeEmulator, start_emulator};
pub use logging::set_logger;

/// The environment variable choosing where calls run: `event-loop` (the default, Linux
/// only) or `threads` (tokio workers).
const IO_MODE_VAR: &str = "NAIRI_NODE_IO";

/// Whether `NAIRI_NODE_IO` asks for the event-loop runtime (unset: yes); a message naming it
/// for any other value than the two.
fn wants_event_loop() -> std::result::Result<bool, String> {
    match std::env::var(IO_MODE_VAR) {
        Err(_) => Ok(true),
        Ok(v) if v.is_empty() || v == "event-loop" => Ok(true),
        Ok(v) if v == "threads" => Ok(false),
        Ok(v) => Err(format!(
            "{IO_MODE_VAR} must be `event-loop` or `threads`, not {v:?}"
        )),
    }
}

/// The class of the envelope a cancelled call rejects with; the facade turns it into its
/// `AbortError` (it is none of the core's classes).
const ABORTED_CLASS: &str = "AbortError";

/// The JSON of a stream's end.
const NULL: &str = "null";

/// A rejection carrying the JSON of a core error.
fn core_error(err: &nairi::Error) -> Error {
    let payload = serde_json::to_string(&err.to_payload()).unwrap_or_else(|e| {
        // Cannot happen (the payload is plain data), but never lose the error.
        envelope("NairiError", &format!("{err} (and its payload: {e})"))
    });
    Error::new(Status::GenericFailure, payload)
}

/// The JSON of an error the core did not produce (a cancellation, a panic).
fn envelope(class: &str, message: &str) -> String {
    serde_json::json!({ "class": class, "message": message }).to_string()
}

fn aborted() -> Error {
    Error::new(
        Status::Cancelled,
        envelope(ABORTED_CLASS, "the operation was aborted"),
    )
}

/// Turns a panic payload into a rejection, so a Rust panic never crashes the process.
fn panicked(payload: Box<dyn std::any::Any + Send>) -> Error {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    Error::new(
        Status::GenericFailure,
        envelope(
            nairi::ROOT_CLASS_NAME,
            &format!("internal error in the native addon (a bug, please report it): {what}"),
        ),
    )
}

/// `work` cancelled by `token` (dropping it stops the Rust side: its HTTP request or its wait
/// loop), with a panic turned into a rejection.
async fn guard<T, F>(token: Option<CancellationToken>, work: F) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    let work = AssertUnwindSafe(work).catch_unwind();
    let outcome = match token {
        Some(token) => tokio::select! {
            biased;
            () = token.cancelled() => return Err(aborted()),
            outcome = work => outcome,
        },
        None => work.await,
    };
    outcome.unwrap_or_else(|payload| Err(panicked(payload)))
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T> {
    serde_json::from_str(json)
        .map_err(|e| core_error(&nairi::Error::validation(what, e.to_string())))
}

fn to_json(value: &Value) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::from_reason(e.to_string()))
}

/// Cancels the calls it is passed to; the facade cancels it from an `AbortSignal` listener.
#[napi]
pub struct CancelToken {
    inner: CancellationToken,
}

#[napi]
impl CancelToken {
    /// A token not cancelled yet.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        CancelToken {
            inner: CancellationToken::new(),
        }
    }

    /// Cancels every call holding this token: each rejects with an `AbortError` envelope
    /// and its Rust work (request, wait loop, stream) is dropped.
    #[napi]
    pub fn cancel(&self) {
        self.inner.cancel();
    }

    /// Whether [`CancelToken::cancel`] was called.
    #[napi(getter)]
    pub fn cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

/// The bytes of an upload, for the multipart operations (`attachments.upload`,
/// `skills.create`, `skills.replace`): in memory, or a path the core reads.
#[napi(object)]
pub struct NativeFile {
    /// The bytes (a Buffer or Uint8Array); absent when `path` is given.
    pub data: Option<Uint8Array>,
    /// A file to read; its last component is the default file name.
    pub path: Option<String>,
    /// The file name sent in the part (default: the path's last component, else `upload.bin`).
    pub filename: Option<String>,
    /// The MIME type (default: guessed from the file name by the core).
    pub content_type: Option<String>,
}

/// The file as given: its bytes, or a path for the core to read when the call runs.
enum FileSource {
    Memory(Vec<u8>),
    Path(std::path::PathBuf),
}

struct PendingFile {
    source: FileSource,
    filename: Option<String>,
    content_type: Option<String>,
}

impl PendingFile {
    fn from_native(file: NativeFile) -> Result<Self> {
        let source = match (file.data, file.path) {
            (Some(data), None) => FileSource::Memory(data.to_vec()),
            (None, Some(path)) => FileSource::Path(path.into()),
            _ => {
                return Err(core_error(&nairi::Error::validation(
                    "file",
                    "give either the bytes (data) or a path, not both or neither",
                )));
            }
        };
        Ok(PendingFile {
            source,
            filename: file.filename,
            content_type: file.content_type,
        })
    }

    async fn load(self) -> nairi::Result<nairi::types::FileUpload> {
        match self.source {
            FileSource::Memory(data) => Ok(nairi::types::FileUpload::from_bytes(
                self.filename.unwrap_or_else(|| "upload.bin".to_owned()),
                self.content_type,
                data,
            )),
            // The core reads it: name, MIME type and the size limit checked before reading.
            FileSource::Path(path) => Ok(nairi::types::FileUpload::from_path(&path)
                .await?
                .renamed(self.filename, self.content_type)),
        }
    }
}

/// A client of the Nairi API: the core's `Client`, built once from options, and the queue
/// its calls' outcomes come back through.
#[napi]
pub struct NativeClient {
    inner: nairi::Client,
    completions: Completions,
}

#[napi]
impl NativeClient {
    /// Builds a client from the JSON of `ClientOptions` (seconds; unknown keys refused):
    /// argument, then `NAIRI_API_KEY` / `NAIRI_BASE_URL`, then the defaults. Throws the
    /// envelope of a `ConfigurationError` or `ValidationError`. `on_done` receives the
    /// outcomes of [`NativeClient::call`] in batches: the JSON array
    /// `[callId, kind, value, ..]`, `kind` 0 for a result, 1 for an error payload and 2 for a
    /// turn event of a `run` still going (see the `completions` module).
    #[napi(
        constructor,
        ts_args_type = "optionsJson: string, onDone: (batchJson: string) => void"
    )]
    pub fn new(env: &Env, options_json: String, on_done: Function<String, ()>) -> Result<Self> {
        let options: nairi::ClientOptions = parse("options", &options_json)?;
        if let Some(key) = &options.api_key {
            logging::remember_secret(key);
        }
        if options.use_env.unwrap_or(true)
            && let Ok(key) = std::env::var("NAIRI_API_KEY")
        {
            logging::remember_secret(&key);
        }
        let inner = options.build().map_err(|e| core_error(&e))?;
        let event_loop = event_loop::for_thread(env.raw())
            .map_err(|message| core_error(&nairi::Error::Config(message)))?;
        let completions = Completions::new(on_done, event_loop.as_ref())?;
        Ok(NativeClient { inner, completions })
    }

    /// A client whose calls use `overrides` (`max_retries`, `timeout` in seconds,
    /// `recover_prompts`) over this one's, merged by the core's `Client::with_options` (an
    /// override given here wins, the others stay this client's): same connection pool, same
    /// completion queue (its outcomes reach this client's `on_done`, under the call ids the
    /// caller gives it). Throws the envelope of a `ValidationError` naming the key for an
    /// unknown key or a bad value.
    #[napi(ts_args_type = "overrides: object")]
    pub fn with_options(&self, overrides: Unknown<'_>) -> Result<NativeClient> {
        // Nothing here should panic, but a panic must not unwind into Node.
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            let options = overrides::from_object(overrides)?;
            Ok(NativeClient {
                inner: self.inner.with_options(options),
                completions: self.completions.clone(),
            })
        }))
        .unwrap_or_else(|payload| Err(panicked(payload)))
    }

    /// Starts an operation (or `conversations.wait`/`run`/`run_follow_up`) by id with the
    /// JSON of its `CallArgs`; its outcome arrives as entry `call_id` of a batch given to the
    /// constructor's `on_done` (the result's JSON, or an error payload: an `AbortError` once
    /// `token` is cancelled, the root class for a panic). Invalid arguments throw at once.
    /// `file` is the upload of a multipart operation. With `with_events`, `run` and
    /// `run_follow_up` deliver every turn event as it happens, as entries of kind 2 of the
    /// same batches (so before the call's outcome).
    #[napi(
        ts_args_type = "callId: number, id: string, argsJson: string, file?: NativeFile | undefined | null, token?: CancelToken | undefined | null, withEvents?: boolean | undefined | null"
    )]
    // One JavaScript argument each: an options object would cost a conversion per call.
    #[allow(clippy::too_many_arguments)]
    pub fn call(
        &self,
        env: &Env,
        call_id: u32,
        id: String,
        args_json: String,
        file: Option<NativeFile>,
        token: Option<&CancelToken>,
        with_events: Option<bool>,
    ) -> Result<()> {
        let mut args: nairi::operations::CallArgs = parse("args", &args_json)?;
        let file = file.map(PendingFile::from_native).transpose()?;
        let events = with_events
            .unwrap_or(false)
            .then(|| self.completions.clone());
        let client = self.inner.clone();
        // Boxed once here: the core's call future is large, and every wrapper and the spawn
        // would otherwise copy all of it (a memcpy and fresh pages per call in the profile).
        let work: futures::future::BoxFuture<'static, Result<String>> = Box::pin(async move {
            if let Some(file) = file {
                args.file = Some(file.load().await.map_err(|e| core_error(&e))?);
            }
            let on_event = events.map(|queue| event_sink(queue, call_id));
            // The result's JSON text straight from the typed result (no `Value` in between).
            client
                .call_operation_text(&id, args, on_event)
                .await
                .map_err(|e| core_error(&e))
        });
        let work = guard(token.map(|t| t.inner.clone()), work);
        self.completions.submit(env, call_id, work);
        Ok(())
    }

    /// How many finished calls wait for the next batch: they are delivered together once
    /// the JavaScript thread is free.
    #[napi(getter)]
    pub fn queued(&self) -> u32 {
        self.completions.queued()
    }

    /// Where this client's calls run: `"event-loop"` (this JavaScript thread's own runtime,
    /// turned by Node's event loop: the default on Linux) or `"threads"` (tokio workers:
    /// elsewhere, or with `NAIRI_NODE_IO=threads`).
    #[napi(getter, ts_return_type = "'event-loop' | 'threads'")]
    pub fn runtime(&self) -> &'static str {
        if self.completions.on_event_loop() {
            "event-loop"
        } else {
            "threads"
        }
    }

    /// Panics inside a call, as a bug would: for the test that a panic becomes a rejection
    /// through the completion queue (the guard every call has) and the process goes on. An
    /// empty message does not panic and resolves to the JSON string `""`.
    #[napi]
    pub fn panic_for_test(&self, env: &Env, call_id: u32, message: String) {
        let work = guard(None, async move {
            if !message.is_empty() {
                panic!("{message}");
            }
            Ok("\"\"".to_owned())
        });
        self.completions.submit(env, call_id, work);
    }

    /// Starts a streaming call (`conversations.watch`, `agents.conversations.list_all`) with
    /// the JSON of its `CallArgs`. Invalid arguments throw at once, before anything is sent.
    #[napi]
    pub fn stream(&self, id: String, args_json: String) -> Result<NativeStream> {
        let args: nairi::operations::CallArgs = parse("args", &args_json)?;
        let stream = self
            .inner
            .stream_operation_text(&id, args)
            .map_err(|e| core_error(&e))?;
        Ok(NativeStream {
            inner: Arc::new(tokio::sync::Mutex::new(Some(stream))),
            closed: CancellationToken::new(),
            completions: self.completions.clone(),
        })
    }

    /// Downloads an attachment and writes it into `dir` under its sanitised file name (the
    /// core's `Attachment::save_to_dir`); its outcome arrives as entry `call_id` of a batch:
    /// the JSON `{"path": ..}` of the file, or an error payload.
    #[napi(
        ts_args_type = "callId: number, attachmentId: string, dir: string, token?: CancelToken | undefined | null"
    )]
    pub fn save_attachment(
        &self,
        env: &Env,
        call_id: u32,
        attachment_id: String,
        dir: String,
        token: Option<&CancelToken>,
    ) {
        let client = self.inner.clone();
        let work: futures::future::BoxFuture<'static, Result<String>> = Box::pin(async move {
            let attachment = client
                .attachments()
                .get(&attachment_id)
                .await
                .map_err(|e| core_error(&e))?;
            let path = attachment
                .save_to_dir(&dir)
                .await
                .map_err(|e| core_error(&e))?;
            to_json(&serde_json::json!({ "path": path.to_string_lossy() }))
        });
        let work = guard(token.map(|t| t.inner.clone()), work);
        self.completions.submit(env, call_id, work);
    }
}

/// The event callback of a `run` with `onEvent`: each event's JSON onto the completion queue,
/// as entry `call_id` of kind 2.
fn event_sink(queue: Completions, call_id: u32) -> Arc<nairi::conversation::EventCallback> {
    Arc::new(move |event: &nairi::TurnEvent| {
        if let Ok(json) = serde_json::to_string(event) {
            queue.event(call_id, &json);
        }
    })
}

/// The items of a streaming call, read one at a time; each `next` is a call of the client's
/// completion queue, so it runs where the client's calls run.
#[napi]
pub struct NativeStream {
    inner: Arc<tokio::sync::Mutex<Option<BoxStream<'static, nairi::Result<String>>>>>,
    closed: CancellationToken,
    completions: Completions,
}

#[napi]
impl NativeStream {
    /// Reads the next item; its outcome arrives as entry `call_id` of a batch of the client's
    /// queue: the item's JSON, or `null` at the end. An error item is an error payload and ends
    /// the stream; cancelling `token` (or [`NativeStream::close`]) drops the stream and its
    /// Rust work.
    #[napi(ts_args_type = "callId: number, token?: CancelToken | undefined | null")]
    pub fn next(&self, env: &Env, call_id: u32, token: Option<&CancelToken>) {
        let inner = self.inner.clone();
        let closed = self.closed.clone();
        let token = token.map(|t| t.inner.clone());
        let work: futures::future::BoxFuture<'static, Result<String>> = Box::pin(async move {
            let cancelled = || async {
                match &token {
                    Some(t) => t.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            // Waiting for another `next` to finish is cancellable too.
            let mut slot = tokio::select! {
                biased;
                () = closed.cancelled() => return Ok(NULL.to_owned()),
                () = cancelled() => return Err(aborted()),
                slot = inner.lock() => slot,
            };
            let Some(stream) = slot.as_mut() else {
                return Ok(NULL.to_owned());
            };
            let item = tokio::select! {
                biased;
                () = closed.cancelled() => None,
                () = cancelled() => {
                    *slot = None;
                    return Err(aborted());
                }
                item = stream.next() => Some(item),
            };
            match item {
                None | Some(None) => {
                    *slot = None;
                    Ok(NULL.to_owned())
                }
                Some(Some(Ok(json))) => Ok(json),
                Some(Some(Err(e))) => {
                    *slot = None;
                    Err(core_error(&e))
                }
            }
        });
        self.completions.submit(env, call_id, guard(None, work));
    }

    /// Ends the stream: a pending `next` resolves to `null` and the Rust work is dropped.
    #[napi]
    pub fn close(&self) {
        self.closed.cancel();
        if let Ok(mut slot) = self.inner.try_lock() {
            *slot = None;
        }
    }
}

/// The core's version (`nairi` crate), for the user agent and diagnostics.
#[napi]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// mimalloc, set up for an addon (see the `nairi-allocator` crate).
#[global_allocator]
static GLOBAL: nairi_allocator::Allocator = nairi_allocator::Allocator;

/// Sets the allocator's options when the addon is loaded.
#[napi_derive::module_init]
fn init_allocator() {
    nairi_allocator::configure();
}
