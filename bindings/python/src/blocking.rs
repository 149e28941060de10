//! Blocking waits with the GIL released, waking every 100 ms for `Python::check_signals` so
//! that Ctrl+C interrupts them (a raised signal drops the future: its request stops).

use std::future::Future;
use std::time::Duration;

use pyo3::prelude::*;

use crate::{AbortOnDrop, Failure, Outcome, caught, runtime};

/// How often a blocking wait lets Python handle signals.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Runs a future on the shared runtime and waits for its outcome on a channel: two thread
/// hand-offs per call. For what must live on the shared runtime (the emulator's server, the
/// streams and clients of the asyncio side used from blocking code).
pub(crate) fn on_shared<T: Send + 'static>(
    py: Python<'_>,
    fut: impl Future<Output = Outcome<T>> + Send + 'static,
) -> PyResult<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = runtime::shared().spawn(async move {
        let _ = tx.send(caught(fut).await);
    });
    let _abort = AbortOnDrop(handle.abort_handle());
    let mut rx = rx;
    loop {
        let (back, got) = py.detach(move || {
            let got = rx.recv_timeout(SIGNAL_CHECK);
            (rx, got)
        });
        rx = back;
        match got {
            Ok(out) => return out.map_err(|f| f.into_py(py)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => py.check_signals()?,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Failure::Panic("the task ended without an answer".into()).into_py(py));
            }
        }
    }
}

/// Runs a future on the calling thread (the calling-thread runtime), with the GIL released:
/// no thread hand-off. The future's connections must belong to that runtime (a client built
/// for it), since only threads blocking here drive its I/O.
pub(crate) fn here<T: Send>(
    py: Python<'_>,
    fut: impl Future<Output = Outcome<T>> + Send,
) -> PyResult<T> {
    let rt = runtime::calling_thread();
    // Entered for the whole call so that the future is also dropped inside the runtime's
    // context when a signal interrupts it (declared first, so dropped last).
    let _context = rt.enter();
    py.detach(|| rt.block_on(catch_up()));
    let mut fut = std::pin::pin!(caught(fut));
    loop {
        let step = py.detach(|| {
            rt.block_on(async { tokio::time::timeout(SIGNAL_CHECK, fut.as_mut()).await })
        });
        match step {
            Ok(out) => return out.map_err(|f| f.into_py(py)),
            Err(_elapsed) => py.check_signals()?,
        }
    }
}

/// Lets the runtime see what happened while no thread drove it, before a call takes a pooled
/// connection: nothing polls its I/O between calls, so a connection the server closed while
/// idle still looks open, and a request written to it fails ("connection closed before message
/// completed") where the shared runtime would have dropped it from the pool. The first yield
/// turns the I/O driver (a zero-timeout poll: the closed sockets become readable and wake their
/// connection tasks), the second lets those tasks run, see the end of their stream and leave
/// the pool.
async fn catch_up() {
    tokio::task::yield_now().await;
    tokio::task::yield_now().await;
}
