//! `nairi._native`: the thin PyO3 layer of the Python package.
//!
//! A handful of entry points and no per-operation code: a client built from the core's
//! `ClientOptions`, the generic call by operation id (async and blocking), a stream of turn
//! events or conversations, saving an attachment, and the emulator for `nairi.testing`.
//! Values cross as JSON bytes (the typed facade decodes them with msgspec); errors cross as the
//! core's `ErrorPayload`, from which `nairi._errors` builds the Python exception.
//!
//! Runtimes (`runtime`): a shared multi-thread one for the asyncio client and a current-thread
//! one that the blocking client's calls run on from the calling thread, both keyed by the
//! process id, so a child after `fork()` gets fresh runtimes and fresh HTTP clients (the
//! parent's are leaked in the child, never dropped). A client's connections belong to one of
//! them (`Home`), chosen when it is built.
//!
//! Async calls: `submit` (and `NativeStream.submit_next`, `submit_save_attachment`) spawns the
//! work on the shared runtime and its outcome comes back through the event loop's
//! `CompletionQueue` (`completions`), without the GIL; `call` (`next`, `save_attachment`) is the
//! same as a pyo3 coroutine (for loops without `add_reader`), whose waker takes the GIL on a
//! worker and so goes through `exit_gate`, closed at interpreter exit. Dropping or aborting the
//! submitted call, or cancelling the coroutine, aborts the task. Blocking calls release the GIL
//! and wake every 100 ms to let Ctrl+C through (`blocking`).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::FutureExt;
use futures::StreamExt;
use futures::stream::BoxStream;
use pyo3::coroutine::CancelHandle;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde_json::Value;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

mod blocking;
mod completions;
mod emulator;
mod exit_gate;
mod logging;
mod runtime;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Failures and their Python exceptions.

/// Why a native call failed.
pub(crate) enum Failure {
    /// A core error: raised as its class from `nairi._errors`.
    Nairi(nairi::Error),
    /// A Rust panic: raised as `NairiError`, never as a `PanicException`.
    Panic(String),
    /// An error of the emulator's control API (`nairi.testing`): a `ValueError`.
    Emulator(String),
}

impl From<nairi::Error> for Failure {
    fn from(e: nairi::Error) -> Self {
        Failure::Nairi(e)
    }
}

pub(crate) type Outcome<T> = Result<T, Failure>;

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// Builds the Python exception from a serialised error payload through `nairi._errors`.
fn raise_payload(py: Python<'_>, payload: &Value) -> PyErr {
    let text = payload.to_string();
    let built = (|| -> PyResult<PyErr> {
        let module = py.import("nairi._errors")?;
        let exc = module.getattr("_from_payload")?.call1((text,))?;
        Ok(PyErr::from_value(exc))
    })();
    built.unwrap_or_else(|e| e)
}

impl Failure {
    pub(crate) fn into_py(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Nairi(e) => {
                let payload = serde_json::to_value(e.to_payload()).unwrap_or_else(|_| {
                    serde_json::json!({"class": nairi::ROOT_CLASS_NAME, "message": e.to_string()})
                });
                raise_payload(py, &payload)
            }
            Failure::Panic(message) => raise_payload(
                py,
                &serde_json::json!({
                    "class": nairi::ROOT_CLASS_NAME,
                    "message": format!("internal error in the nairi native module (a Rust panic): {message}"),
                }),
            ),
            Failure::Emulator(message) => pyo3::exceptions::PyValueError::new_err(message),
        }
    }
}

fn to_pyerr(f: Failure) -> PyErr {
    Python::attach(|py| f.into_py(py))
}

/// Runs a synchronous entry point, turning a panic into a `NairiError`.
pub(crate) fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => Err(to_pyerr(Failure::Panic(panic_message(p)))),
    }
}

// ---------------------------------------------------------------------------------------------
// Tasks: spawned on the runtime, awaited by a coroutine or by a blocking wait.

/// Aborts a task when dropped (dropping a `JoinHandle` only detaches it).
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A future whose panic becomes a `Failure::Panic`.
pub(crate) async fn caught<T>(fut: impl Future<Output = Outcome<T>>) -> Outcome<T> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(r) => r,
        Err(p) => Err(Failure::Panic(panic_message(p))),
    }
}

fn spawn<T: Send + 'static>(
    fut: impl Future<Output = Outcome<T>> + Send + 'static,
) -> JoinHandle<Outcome<T>> {
    runtime::shared().spawn(caught(fut))
}

fn joined<T>(r: Result<Outcome<T>, tokio::task::JoinError>) -> Outcome<T> {
    match r {
        Ok(out) => out,
        Err(e) if e.is_panic() => Err(Failure::Panic(panic_message(e.into_panic()))),
        Err(e) => Err(Failure::Panic(format!("the task was stopped: {e}"))),
    }
}

/// Awaits a spawned task from a pyo3 coroutine; a cancelled coroutine aborts the task (its
/// request is dropped mid-flight) and re-raises the cancellation.
pub(crate) async fn await_task<T: Send + 'static>(
    handle: JoinHandle<Outcome<T>>,
    mut cancel: CancelHandle,
) -> PyResult<T> {
    let _abort = AbortOnDrop(handle.abort_handle());
    // The coroutine's waker takes the GIL on the worker that finishes the task: gated, so that
    // it does not once the interpreter is exiting (`exit_gate`).
    exit_gate::Gated(Box::pin(async move {
        tokio::select! {
            biased;
            exc = cancel.cancelled() => {
                Err(Python::attach(|py| PyErr::from_value(exc.into_bound(py))))
            }
            r = handle => joined(r).map_err(to_pyerr),
        }
    }))
    .await
}

fn into_pybytes(data: Vec<u8>) -> Py<PyBytes> {
    Python::attach(|py| PyBytes::new(py, &data).unbind())
}

// ---------------------------------------------------------------------------------------------
// The client.

/// The file of an upload: bytes in memory or a path the core reads.
enum FileArg {
    Bytes {
        filename: String,
        content_type: Option<String>,
        data: Vec<u8>,
    },
    Path {
        path: PathBuf,
        filename: Option<String>,
        content_type: Option<String>,
    },
}

async fn read_file(file: FileArg) -> nairi::Result<nairi::types::FileUpload> {
    match file {
        FileArg::Bytes {
            filename,
            content_type,
            data,
        } => Ok(nairi::types::FileUpload::from_bytes(
            filename,
            content_type,
            data,
        )),
        // The core reads it: name, MIME type and the size limit checked before reading.
        FileArg::Path {
            path,
            filename,
            content_type,
        } => Ok(nairi::types::FileUpload::from_path(&path)
            .await?
            .renamed(filename, content_type)),
    }
}

fn file_arg(
    data: Option<Vec<u8>>,
    path: Option<PathBuf>,
    filename: Option<String>,
    content_type: Option<String>,
) -> Outcome<Option<FileArg>> {
    match (data, path) {
        (None, None) => Ok(None),
        (Some(data), None) => Ok(Some(FileArg::Bytes {
            filename: filename
                .ok_or_else(|| nairi::Error::validation("filename", "is required with bytes"))?,
            content_type,
            data,
        })),
        (None, Some(path)) => Ok(Some(FileArg::Path {
            path,
            filename,
            content_type,
        })),
        (Some(_), Some(_)) => {
            Err(nairi::Error::validation("file", "give either bytes or a path, not both").into())
        }
    }
}

fn call_args(args: &[u8]) -> Outcome<nairi::operations::CallArgs> {
    // Valid arguments are parsed without tracking the path (serde_path_to_error was 1.5% of a
    // worker's profile); only a failure is parsed again, for the field its error names.
    if let Ok(call) = serde_json::from_slice(args) {
        return Ok(call);
    }
    let mut de = serde_json::Deserializer::from_slice(args);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = match e.path().to_string().as_str() {
            "." => "args".to_owned(),
            p => p.to_owned(),
        };
        Failure::Nairi(nairi::Error::validation(field, e.inner().to_string()))
    })
}

/// Where a client's connections live, and so which runtime runs its calls (a connection only
/// makes progress on the runtime that opened it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Home {
    /// The shared multi-thread runtime: the asyncio client.
    Shared,
    /// The calling-thread runtime: the blocking client, whose calls run on the caller's thread.
    CallingThread,
}

impl Home {
    fn runtime(self) -> &'static Runtime {
        match self {
            Home::Shared => runtime::shared(),
            Home::CallingThread => runtime::calling_thread(),
        }
    }

    /// Blocks for a future of a client of this home, with the GIL released.
    fn block<T: Send + 'static>(
        self,
        py: Python<'_>,
        fut: impl Future<Output = Outcome<T>> + Send + 'static,
    ) -> PyResult<T> {
        match self {
            Home::Shared => blocking::on_shared(py, fut),
            Home::CallingThread => blocking::here(py, fut),
        }
    }

    /// Async calls need the shared runtime's workers: nothing drives a blocking client's
    /// connections while Python awaits.
    fn require_shared(self) -> PyResult<()> {
        match self {
            Home::Shared => Ok(()),
            Home::CallingThread => Err(pyo3::exceptions::PyTypeError::new_err(
                "this is a blocking client (NativeClient(..., blocking=True)): use the *_blocking methods",
            )),
        }
    }
}

/// A Nairi client: the core's `Client`, rebuilt in a child process after `fork()`.
#[pyclass(frozen, module = "nairi._native")]
pub struct NativeClient {
    config: nairi::ClientConfig,
    options: nairi::RequestOptions,
    home: Home,
    cached: Mutex<(u32, nairi::Client)>,
}

impl NativeClient {
    fn client(&self) -> Outcome<nairi::Client> {
        let pid = std::process::id();
        let mut cached = lock(&self.cached);
        if cached.0 != pid {
            // The parent's connection pool belongs to a runtime that does not exist here.
            let _enter = self.home.runtime().enter();
            let client =
                nairi::Client::from_config(self.config.clone())?.with_options(self.options.clone());
            *cached = (pid, client);
        }
        Ok(cached.1.clone())
    }

    /// The call as a future; the arguments are parsed inside it, off the GIL and off the
    /// event loop's thread.
    fn prepare(
        &self,
        id: String,
        args: Vec<u8>,
        file: Option<FileArg>,
    ) -> Outcome<impl Future<Output = Outcome<Vec<u8>>> + Send + 'static> {
        let client = self.client()?;
        Ok(async move {
            let mut call = call_args(&args)?;
            if let Some(file) = file {
                call.file = Some(read_file(file).await?);
            }
            // Boxed: the core's dispatch future is about 10 kB, and this outer future is moved
            // several times on its way into the task (measured: memmove was 7% of a worker).
            // The result's JSON text straight from the typed result (no `Value` in between).
            let out = Box::pin(client.call_operation_text(&id, call, None)).await?;
            Ok(out.into_bytes())
        })
    }
}

#[pymethods]
impl NativeClient {
    /// Builds a client from the JSON form of the core's `ClientOptions` (every key optional;
    /// the environment and defaults fill the rest, exactly as in Rust). A `blocking` client's
    /// calls run on the calling thread (`*_blocking` methods only); the others' on the shared
    /// runtime (async methods, and the `*_blocking` ones through a hand-off).
    #[new]
    #[pyo3(signature = (options, blocking=false))]
    fn new(options: &str, blocking: bool) -> PyResult<Self> {
        guard(|| {
            let home = if blocking {
                Home::CallingThread
            } else {
                Home::Shared
            };
            let built = (|| -> Outcome<nairi::Client> {
                let mut de = serde_json::Deserializer::from_str(options);
                let options: nairi::ClientOptions = serde_path_to_error::deserialize(&mut de)
                    .map_err(|e| {
                        nairi::Error::Config(format!("client option {}: {}", e.path(), e.inner()))
                    })?;
                let _enter = home.runtime().enter();
                Ok(options.build()?)
            })();
            let client = built.map_err(to_pyerr)?;
            logging::remember_key(client.config().api_key.expose());
            Ok(NativeClient {
                config: client.config().clone(),
                options: nairi::RequestOptions::default(),
                home,
                cached: Mutex::new((std::process::id(), client)),
            })
        })
    }

    /// A copy whose calls use these overrides (seconds for `timeout`); same pool, same home.
    #[pyo3(signature = (max_retries=None, timeout=None, recover_prompts=None))]
    fn with_options(
        &self,
        max_retries: Option<u32>,
        timeout: Option<f64>,
        recover_prompts: Option<bool>,
    ) -> PyResult<Self> {
        guard(|| {
            let timeout = timeout
                .map(nairi::RequestOptions::timeout_from_secs)
                .transpose()
                .map_err(|e| to_pyerr(e.into()))?;
            // The core merges them over this client's own.
            let client = self
                .client()
                .map_err(to_pyerr)?
                .with_options(nairi::RequestOptions {
                    max_retries,
                    timeout,
                    recover_prompts,
                });
            Ok(NativeClient {
                config: self.config.clone(),
                options: client.request_options().clone(),
                home: self.home,
                cached: Mutex::new((std::process::id(), client)),
            })
        })
    }

    /// The API root, ending in `/api/public/v1`.
    #[getter]
    fn base_url(&self) -> String {
        self.config.base_url.to_string()
    }

    /// Whether this client's calls run on the calling thread (`blocking=True`).
    #[getter]
    fn blocking(&self) -> bool {
        self.home == Home::CallingThread
    }

    /// Starts an operation or turn call by id (`args` is the JSON form of `CallArgs`) on the
    /// shared runtime; its outcome arrives in `queue` under `call_id` (see
    /// `CompletionQueue.drain`). The returned handle aborts the call when aborted or dropped.
    #[pyo3(signature = (queue, call_id, id, args, file_data=None, file_path=None, filename=None, content_type=None))]
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &self,
        queue: &completions::CompletionQueue,
        call_id: u64,
        id: String,
        args: Vec<u8>,
        file_data: Option<Vec<u8>>,
        file_path: Option<PathBuf>,
        filename: Option<String>,
        content_type: Option<String>,
    ) -> PyResult<completions::NativeCall> {
        guard(|| {
            self.home.require_shared()?;
            let fut = file_arg(file_data, file_path, filename, content_type)
                .and_then(|file| self.prepare(id, args, file))
                .map_err(to_pyerr)?;
            Ok(completions::submit(queue, call_id, fut))
        })
    }

    /// Runs an operation or turn call by id; `args` is the JSON form of `CallArgs`. Returns the
    /// result as JSON bytes. (`submit` is the same call without a coroutine.)
    #[pyo3(signature = (id, args, file_data=None, file_path=None, filename=None, content_type=None))]
    #[allow(clippy::too_many_arguments)]
    async fn call(
        &self,
        id: String,
        args: Vec<u8>,
        file_data: Option<Vec<u8>>,
        file_path: Option<PathBuf>,
        filename: Option<String>,
        content_type: Option<String>,
        #[pyo3(cancel_handle)] cancel: CancelHandle,
    ) -> PyResult<Py<PyBytes>> {
        self.home.require_shared()?;
        let fut = file_arg(file_data, file_path, filename, content_type)
            .and_then(|file| self.prepare(id, args, file))
            .map_err(to_pyerr)?;
        await_task(spawn(fut), cancel).await.map(into_pybytes)
    }

    /// `call`, blocking with the GIL released (Ctrl+C interrupts it).
    #[pyo3(signature = (id, args, file_data=None, file_path=None, filename=None, content_type=None))]
    #[allow(clippy::too_many_arguments)]
    fn call_blocking(
        &self,
        py: Python<'_>,
        id: String,
        args: Vec<u8>,
        file_data: Option<Vec<u8>>,
        file_path: Option<PathBuf>,
        filename: Option<String>,
        content_type: Option<String>,
    ) -> PyResult<Py<PyBytes>> {
        guard(|| {
            let fut = file_arg(file_data, file_path, filename, content_type)
                .and_then(|file| self.prepare(id, args, file))
                .map_err(|f| f.into_py(py))?;
            self.home
                .block(py, fut)
                .map(|b| PyBytes::new(py, &b).unbind())
        })
    }

    /// A streaming call (`conversations.watch`, `agents.conversations.list_all`), read with
    /// `next` (a client of the shared runtime) or `next_blocking`.
    fn stream(&self, id: &str, args: Vec<u8>) -> PyResult<NativeStream> {
        guard(|| {
            let opened = (|| -> Outcome<_> {
                let client = self.client()?;
                let call = call_args(&args)?;
                let _enter = self.home.runtime().enter();
                Ok(client.stream_operation_text(id, call)?)
            })();
            let stream = opened.map_err(to_pyerr)?;
            Ok(NativeStream {
                inner: Arc::new(tokio::sync::Mutex::new(Some(stream))),
                home: self.home,
            })
        })
    }

    /// `save_attachment` through a completion queue: the path written (a `str`) arrives in
    /// `queue` under `call_id`. The returned handle aborts it when aborted or dropped.
    fn submit_save_attachment(
        &self,
        queue: &completions::CompletionQueue,
        call_id: u64,
        attachment: Vec<u8>,
        dir: PathBuf,
    ) -> completions::NativeCall {
        completions::submit(queue, call_id, save(attachment, dir))
    }

    /// Writes an attachment (the JSON of `attachments.get`) into `dir` under its sanitised name
    /// and returns the path written (`submit_save_attachment` is the same without a coroutine).
    async fn save_attachment(
        &self,
        attachment: Vec<u8>,
        dir: PathBuf,
        #[pyo3(cancel_handle)] cancel: CancelHandle,
    ) -> PyResult<PathBuf> {
        await_task(spawn(save(attachment, dir)), cancel).await
    }

    /// `save_attachment`, blocking with the GIL released (on the calling thread: it uses no
    /// connection).
    fn save_attachment_blocking(
        &self,
        py: Python<'_>,
        attachment: Vec<u8>,
        dir: PathBuf,
    ) -> PyResult<PathBuf> {
        guard(|| blocking::here(py, save(attachment, dir)))
    }

    fn __repr__(&self) -> String {
        format!("NativeClient(base_url={:?})", self.base_url())
    }
}

async fn save(attachment: Vec<u8>, dir: PathBuf) -> Outcome<PathBuf> {
    let attachment: nairi::types::Attachment = serde_json::from_slice(&attachment)
        .map_err(|e| nairi::Error::validation("attachment", e.to_string()))?;
    Ok(attachment.save_to_dir(dir).await?)
}

type ItemStream = BoxStream<'static, nairi::Result<String>>;

/// The items of a streaming call, read one at a time.
#[pyclass(frozen, module = "nairi._native")]
pub struct NativeStream {
    inner: Arc<tokio::sync::Mutex<Option<ItemStream>>>,
    /// The home of the client that opened it: its requests use that client's connections.
    home: Home,
}

async fn next_item(inner: Arc<tokio::sync::Mutex<Option<ItemStream>>>) -> Outcome<Option<Vec<u8>>> {
    let mut slot = inner.lock().await;
    let Some(stream) = slot.as_mut() else {
        return Ok(None);
    };
    match stream.next().await {
        None => {
            *slot = None;
            Ok(None)
        }
        Some(Ok(json)) => Ok(Some(json.into_bytes())),
        Some(Err(e)) => {
            *slot = None;
            Err(e.into())
        }
    }
}

#[pymethods]
impl NativeStream {
    /// Reads the next item through a completion queue: JSON bytes, or `None` at the end, arrive
    /// in `queue` under `call_id`. The returned handle aborts the read when aborted or dropped
    /// (its request is dropped mid-flight; the stream can be read again).
    fn submit_next(
        &self,
        queue: &completions::CompletionQueue,
        call_id: u64,
    ) -> PyResult<completions::NativeCall> {
        guard(|| {
            self.home.require_shared()?;
            Ok(completions::submit(
                queue,
                call_id,
                next_item(Arc::clone(&self.inner)),
            ))
        })
    }

    /// The next item as JSON bytes, `None` at the end (`submit_next` is the same without a
    /// coroutine).
    async fn next(
        &self,
        #[pyo3(cancel_handle)] cancel: CancelHandle,
    ) -> PyResult<Option<Py<PyBytes>>> {
        self.home.require_shared()?;
        let inner = Arc::clone(&self.inner);
        let item = await_task(spawn(next_item(inner)), cancel).await?;
        Ok(item.map(into_pybytes))
    }

    /// `next`, blocking with the GIL released (Ctrl+C interrupts it).
    fn next_blocking(&self, py: Python<'_>) -> PyResult<Option<Py<PyBytes>>> {
        guard(|| {
            let inner = Arc::clone(&self.inner);
            let item = self.home.block(py, next_item(inner))?;
            Ok(item.map(|b| PyBytes::new(py, &b).unbind()))
        })
    }

    /// Stops the stream (no further request is made).
    fn close(&self) {
        if let Ok(mut slot) = self.inner.try_lock() {
            *slot = None;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Test hooks: a panic in each kind of entry point, to prove it arrives as a `NairiError`.

/// Panics inside a spawned task (async) — for the package's own tests.
#[pyfunction]
async fn _panic_async(#[pyo3(cancel_handle)] cancel: CancelHandle) -> PyResult<()> {
    await_task(
        spawn(async { panic!("deliberate test panic (async)") }),
        cancel,
    )
    .await
}

/// Panics inside a task whose outcome goes to a completion queue — for the package's own tests.
#[pyfunction]
fn _panic_queued(queue: &completions::CompletionQueue, call_id: u64) -> completions::NativeCall {
    completions::submit::<Vec<u8>>(queue, call_id, async {
        panic!("deliberate test panic (queued)")
    })
}

/// Panics inside a blocking call and inside a synchronous entry point — for the package's
/// own tests; `where` is `"task"` (a task of the shared runtime), `"here"` (a future run on
/// the calling thread) or `"sync"`.
#[pyfunction]
fn _panic_blocking(py: Python<'_>, r#where: &str) -> PyResult<()> {
    guard(|| match r#where {
        "task" => blocking::on_shared(py, async { panic!("deliberate test panic (blocking)") }),
        "here" => blocking::here(py, async {
            panic!("deliberate test panic (calling thread)")
        }),
        _ => panic!("deliberate test panic (sync)"),
    })
}

/// The operation ids of the core's table, in order (for the drift test of the facade).
#[pyfunction]
fn operation_ids() -> Vec<&'static str> {
    nairi::operations::OPERATIONS
        .iter()
        .map(|o| o.id)
        .chain(nairi::operations::TURN_CALLS.iter().map(|c| c.id))
        .collect()
}

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<NativeClient>()?;
    m.add_class::<NativeStream>()?;
    m.add_class::<completions::CompletionQueue>()?;
    m.add_class::<completions::NativeCall>()?;
    m.add_class::<emulator::NativeEmulator>()?;
    m.add_function(wrap_pyfunction!(operation_ids, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_async, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_queued, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_blocking, m)?)?;
    m.add_function(wrap_pyfunction!(logging::set_log_level, m)?)?;
    logging::install();
    exit_gate::install(m)?;
    Ok(())
}
