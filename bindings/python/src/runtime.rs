//! The module's two tokio runtimes, each keyed by the process id so that a child after
//! `fork()` gets fresh ones (the parent's threads do not exist there; its runtimes are leaked in
//! the child, never dropped).
//!
//! - The shared runtime (multi-thread, two workers) runs the asyncio client's calls, the
//!   streams and the in-process emulator: its workers drive the I/O whether or not Python waits.
//! - The calling-thread runtime (current-thread) runs the blocking client's calls on the thread
//!   that makes them: `block_on` from the caller, with the GIL released, so a call has no thread
//!   hand-off. Several threads may block on it at once: one drives the I/O, the others wait for
//!   their own future (tokio's current-thread `block_on` supports this).

use std::sync::Mutex;

use tokio::runtime::{Builder, Runtime};

use crate::lock;

static SHARED: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);
static CALLING_THREAD: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

fn keyed(
    slot: &Mutex<Option<(u32, &'static Runtime)>>,
    build: fn() -> Runtime,
) -> &'static Runtime {
    let pid = std::process::id();
    let mut slot = lock(slot);
    if let Some((owner, rt)) = *slot
        && owner == pid
    {
        return rt;
    }
    let rt: &'static Runtime = Box::leak(Box::new(build()));
    *slot = Some((pid, rt));
    rt
}

/// This process's shared multi-thread runtime.
pub(crate) fn shared() -> &'static Runtime {
    keyed(&SHARED, || {
        Builder::new_multi_thread()
            // Two workers: a pyo3 coroutine's waker (the fallback path) and the logging bridge
            // take the GIL on a worker, which must not stall the reactor.
            .worker_threads(2)
            .thread_name("nairi-runtime")
            .enable_all()
            .build()
            .expect("the nairi tokio runtime could not be started")
    })
}

/// This process's current-thread runtime, driven by the threads that block on it.
pub(crate) fn calling_thread() -> &'static Runtime {
    keyed(&CALLING_THREAD, || {
        Builder::new_current_thread()
            // Its blocking pool (file reads of uploads, DNS) is the only thread it starts.
            .thread_name("nairi-blocking")
            .enable_all()
            .build()
            .expect("the nairi blocking runtime could not be started")
    })
}
