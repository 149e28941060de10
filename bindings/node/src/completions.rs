//! The completion queue: how the outcomes of [`crate::NativeClient::call`] reach JavaScript.
//!
//! napi's `spawn_future` creates a promise and a threadsafe function (a libuv async handle)
//! for every call and wakes the event loop once per call. Here each client has one
//! long-lived JavaScript callback instead: a finished call appends `id,kind,json` to a shared
//! batch, and the callback receives every call finished since the last delivery as one JSON
//! array `[id, kind, value, id, kind, value, ..]` (`kind` 0: the result; 1: an error payload;
//! 2: a turn event of `run`), and settles them from its own map of pending promises (one
//! string and one `JSON.parse` per batch instead of one per call). A run's events go through
//! the same queue as its result, so every event reaches `onEvent` before the run resolves.
//!
//! Where the calls run decides how a batch is delivered:
//! - on the JavaScript thread's own runtime ([`crate::event_loop`], the default on Linux):
//!   the turn that finished them delivers the batch right after, with `napi_make_callback`;
//!   the event loop's poll handle holds the process while calls are pending;
//! - on tokio workers: the call that finds the batch empty wakes the event loop through the
//!   client's threadsafe function, which is unreferenced (it never keeps the process alive)
//!   while no call is pending, and referenced from the first submitted call until the batch
//!   that delivers the last one. Both transitions happen on the JavaScript thread (the submit
//!   and the callback).

use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use std::fmt::Write as _;
use std::future::Future;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::sys;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

/// How every error payload's JSON starts (see [`crate::envelope`] and the core's payload).
const ENVELOPE_START: &str = "{\"class\":";

/// `kind` of an entry carrying the result's JSON.
const KIND_VALUE: u8 = 0;
/// `kind` of an entry carrying an error payload (`{"class": .., "message": .., ..}`).
const KIND_ERROR: u8 = 1;
/// `kind` of an entry carrying a turn event of a call still running (`run`'s `onEvent`).
const KIND_EVENT: u8 = 2;

/// The threadsafe function: called with nothing from a worker, it hands JavaScript the batch
/// taken on the JavaScript thread.
type DrainFn = ThreadsafeFunction<(), (), String, Status, false, true>;

/// The entries not delivered yet.
#[derive(Default)]
struct Batch {
    /// The JSON array of the entries since the last delivery, without its closing bracket
    /// (empty when none).
    text: String,
    /// How many of them are finished calls (results and errors, not events).
    finished: u32,
}

/// The entries not delivered yet, and what the callback needs to keep the process alive only
/// while calls are pending.
struct Shared {
    batch: Mutex<Batch>,
    /// Calls submitted and not yet delivered; read and written on the JavaScript thread only.
    pending: AtomicU32,
    /// The raw threadsafe function, for `napi_ref`/`napi_unref` from its own callback (set
    /// right after it is created, before any call can finish).
    raw: AtomicPtr<sys::napi_threadsafe_function__>,
    /// The callback, when the calls run on the JavaScript thread's own runtime (delivered to
    /// directly after each turn; a `FunctionRef` is released on its own thread).
    local: Option<FunctionRef<String, ()>>,
}

/// One client's completion queue; cloned (an `Arc`) into every call's task. Its calls run on
/// this thread's event loop (`shared.local`, which counts them as pending itself) or on tokio
/// workers (`tsfn`, which wakes the event loop and holds the process): never both.
#[derive(Clone)]
pub(crate) struct Completions {
    shared: Arc<Shared>,
    tsfn: Option<Arc<DrainFn>>,
}

impl Completions {
    /// A queue delivering to `on_done(batchJson)` on the JavaScript thread, its calls run by
    /// `event_loop` (this thread's runtime) or, without one, by tokio workers.
    pub(crate) fn new(
        on_done: Function<'_, String, ()>,
        event_loop: Option<&Rc<crate::event_loop::EventLoop>>,
    ) -> Result<Self> {
        let local = match event_loop {
            Some(_) => Some(on_done.create_ref()?),
            None => None,
        };
        let on_loop = local.is_some();
        let shared = Arc::new(Shared {
            batch: Mutex::new(Batch::default()),
            pending: AtomicU32::new(0),
            raw: AtomicPtr::new(std::ptr::null_mut()),
            local,
        });
        if on_loop {
            return Ok(Completions { shared, tsfn: None });
        }
        let drained = shared.clone();
        let tsfn = on_done
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(move |ctx| Ok(drained.take(&ctx.env)))?;
        shared.raw.store(tsfn.raw(), Ordering::Release);
        Ok(Completions {
            shared,
            tsfn: Some(Arc::new(tsfn)),
        })
    }

    /// Runs call `call_id` on the addon's tokio runtime (on the JavaScript thread, when it is
    /// submitted) and delivers its outcome. `work` must not panic (it is guarded by the caller).
    pub(crate) fn submit<F>(&self, env: &Env, call_id: u32, work: F)
    where
        F: Future<Output = Result<String>> + Send + 'static,
    {
        let queue = self.clone();
        let job = async move { queue.finish(call_id, work.await) };
        match &self.tsfn {
            Some(tsfn) => {
                Self::begin(&self.shared, tsfn, env);
                napi::bindgen_prelude::spawn(job);
            }
            // No loop any more: the environment is being torn down, nobody is left to answer.
            None => drop(crate::event_loop::with_current(|el| {
                el.submit(Box::pin(job))
            })),
        }
    }

    /// Whether the calls run on the JavaScript thread's own runtime ([`crate::event_loop`]).
    pub(crate) fn on_event_loop(&self) -> bool {
        self.shared.local.is_some()
    }

    /// Delivers a turn event of call `call_id` (its JSON), ahead of the call's outcome.
    pub(crate) fn event(&self, call_id: u32, json: &str) {
        self.push(call_id, KIND_EVENT, json, false);
    }

    /// How many finished calls wait for the next delivery (diagnostics, and the tests'
    /// proof that calls finished on workers while the JavaScript thread was busy arrive in one
    /// batch; on the event loop only between a turn and its delivery).
    pub(crate) fn queued(&self) -> u32 {
        self.shared
            .batch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .finished
    }

    /// Counts a call as pending: the first one references the threadsafe function so that
    /// the process waits for its answer.
    fn begin(shared: &Shared, tsfn: &DrainFn, env: &Env) {
        if shared.pending.fetch_add(1, Ordering::Relaxed) == 0 {
            // SAFETY: on the JavaScript thread of `env`, with the live threadsafe function
            // this queue owns (so the call cannot fail: its status is not checked).
            unsafe { sys::napi_ref_threadsafe_function(env.raw(), tsfn.raw()) };
        }
    }

    /// Delivers the outcome of call `call_id`: the JSON of its result, or a rejection whose
    /// message is the JSON of an error payload (every rejection the addon makes is one; any
    /// other message is wrapped in the root class's envelope so the batch stays valid JSON).
    /// Runs on a worker; wakes the event loop only if the batch was empty.
    pub(crate) fn finish(&self, call_id: u32, outcome: Result<String>) {
        let (kind, json) = match outcome {
            Ok(json) => (KIND_VALUE, json),
            Err(err) if err.reason.starts_with(ENVELOPE_START) => (KIND_ERROR, err.reason),
            Err(err) => (
                KIND_ERROR,
                crate::envelope(nairi::ROOT_CLASS_NAME, &err.reason),
            ),
        };
        self.push(call_id, kind, &json, true);
    }

    /// Appends an entry; the one that finds the batch empty wakes the event loop.
    fn push(&self, call_id: u32, kind: u8, json: &str, finished: bool) {
        let mut batch = self
            .shared
            .batch
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let was_empty = batch.text.is_empty();
        let text = &mut batch.text;
        text.reserve(json.len() + 16);
        text.push(if was_empty { '[' } else { ',' });
        let _ = write!(text, "{call_id},{kind},");
        text.push_str(json);
        batch.finished += u32::from(finished);
        drop(batch);
        if !was_empty {
            return;
        }
        match &self.tsfn {
            // Fails only while the environment shuts down: nobody is left to answer.
            Some(tsfn) => drop(tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking)),
            // On the JavaScript thread: the event loop's tasks run nowhere else.
            None => drop(crate::event_loop::with_current(|el| {
                el.mark_dirty(self.clone())
            })),
        }
    }

    /// On the JavaScript thread, after a turn: the batch as a JSON array, how many finished
    /// calls it holds, and the callback to give it to (`None` when nothing is queued; no
    /// callback if its reference could not be read, which napi does not do for a live one:
    /// the batch is dropped rather than left to hold the process).
    #[cfg(target_os = "linux")]
    pub(crate) fn take_local(
        &self,
        env: sys::napi_env,
    ) -> Option<(String, u32, Option<sys::napi_value>)> {
        let local = self.shared.local.as_ref()?;
        let Batch { mut text, finished } = std::mem::take(
            &mut *self
                .shared
                .batch
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if text.is_empty() {
            return None;
        }
        text.push(']');
        let env = Env::from_raw(env);
        let func = local.borrow_back(&env).ok().map(|f| f.value().value);
        Some((text, finished, func))
    }
}

impl Shared {
    /// On the JavaScript thread, in the threadsafe function's callback (calls on workers):
    /// takes the batch as a JSON array and releases the process once no call is pending.
    fn take(&self, env: &Env) -> String {
        let Batch {
            mut text,
            finished: count,
        } = std::mem::take(&mut *self.batch.lock().unwrap_or_else(PoisonError::into_inner));
        if count > 0 && self.pending.fetch_sub(count, Ordering::Relaxed) == count {
            // SAFETY: on the JavaScript thread, from the threadsafe function's own callback.
            unsafe {
                sys::napi_unref_threadsafe_function(env.raw(), self.raw.load(Ordering::Acquire))
            };
        }
        if text.is_empty() {
            return "[]".to_owned();
        }
        text.push(']');
        text
    }
}
