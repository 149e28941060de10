//! The gate through which a thread that Python does not know (a tokio worker) reaches Python,
//! closed by an `atexit` hook before the interpreter finalises.
//!
//! Once `Py_FinalizeEx` has marked the runtime as finalising, CPython ends any other thread that
//! asks for the GIL with `pthread_exit`; on a tokio worker that unwinds through Rust frames that
//! cannot unwind, and the process aborts (SIGABRT). Only two things still take the GIL from a
//! worker: the waker of a pyo3 coroutine (the fallback for loops without `add_reader`), and
//! the logging bridge. Both go through `attach`, which counts the threads
//! inside; the hook (`close`, registered with `atexit` when the module loads, so it runs after
//! the hooks a program registers later: `atexit` runs them last in, first out) shuts the gate
//! and then waits, with the GIL released, for the threads already inside to leave. `atexit`
//! hooks run before CPython marks the runtime as finalising, so no worker is then inside or can
//! enter: what it would have done in Python (wake a coroutine nobody will run again, forward a
//! log record) is dropped.
//!
//! The wait is bounded (`CLOSE_WAIT`): a thread held inside by Python code that does not return
//! (a logging handler stuck on I/O) is left behind rather than hanging the exit.
//!
//! The state is keyed by the process id (atomics only, no lock: a child after `fork()` may have
//! been forked while a worker was inside, and that worker does not exist in the child).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// How long the hook waits for the threads inside the gate.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// The process (pid) whose gate is closed; 0 while open. A forked child of a closed process
/// starts with an open gate.
static CLOSED_BY: AtomicU32 = AtomicU32::new(0);

/// The threads inside the gate: the pid in the high 32 bits, the count in the low 32 (a count
/// left by another pid is that process's, and is 0 here).
static INSIDE: AtomicU64 = AtomicU64::new(0);

fn pid() -> u32 {
    std::process::id()
}

fn is_closed() -> bool {
    CLOSED_BY.load(Ordering::SeqCst) == pid()
}

/// How many threads of this process are inside.
fn inside() -> u32 {
    let v = INSIDE.load(Ordering::SeqCst);
    if (v >> 32) as u32 == pid() {
        v as u32
    } else {
        0
    }
}

/// Counts this thread in (a count of another process is reset first).
fn enter() {
    let me = u64::from(pid()) << 32;
    let _ = INSIDE.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
        Some(if v >> 32 == me >> 32 { v + 1 } else { me | 1 })
    });
}

/// Counts this thread out again (also when what it ran panicked).
struct Leave;

impl Drop for Leave {
    fn drop(&mut self) {
        INSIDE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `f` with the GIL unless the interpreter is about to finalise (the gate is closed) or
/// cannot be attached to; `None` then, and `f` does not run.
pub(crate) fn attach<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    enter();
    let _leave = Leave;
    // Checked after counting in: the hook closes first and counts after, so either it sees
    // this thread inside and waits, or this thread sees the gate closed (both SeqCst).
    if is_closed() {
        return None;
    }
    Python::try_attach(f)
}

/// The `atexit` hook: shuts the gate, then waits (GIL released, at most `CLOSE_WAIT`) until
/// no thread is inside.
#[pyfunction]
pub(crate) fn _close_gate(py: Python<'_>) {
    CLOSED_BY.store(pid(), Ordering::SeqCst);
    py.detach(|| {
        let deadline = Instant::now() + CLOSE_WAIT;
        while inside() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Registers `_close_gate` with `atexit`.
pub(crate) fn install(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = wrap_pyfunction!(_close_gate, m)?;
    m.py().import("atexit")?.call_method1("register", (hook,))?;
    Ok(())
}

/// A waker that wakes the one it wraps through the gate: a pyo3 coroutine's waker takes the
/// GIL on whichever thread wakes it (a tokio worker, when a task it awaits finishes).
struct GatedWaker(Waker);

impl Wake for GatedWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Closed: the interpreter is exiting and nobody will run the coroutine again.
        let _ = attach(|_py| self.0.wake_by_ref());
    }
}

/// A future polled with a gated copy of its waker (see `GatedWaker`).
pub(crate) struct Gated<F>(pub(crate) F);

impl<F: Future + Unpin> Future for Gated<F> {
    type Output = F::Output;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let waker = Waker::from(Arc::new(GatedWaker(cx.waker().clone())));
        std::pin::Pin::new(&mut self.0).poll(&mut Context::from_waker(&waker))
    }
}
