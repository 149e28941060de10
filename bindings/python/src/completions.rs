//! The completion queue of the asyncio client: calls finish without the GIL.
//!
//! Python keeps one `CompletionQueue` per event loop and watches its `fd` with
//! `loop.add_reader`. A call is submitted with an integer id; its tokio task pushes
//! `(id, outcome)` onto the queue and signals the fd only when the queue goes from empty to
//! non-empty, so many completions cost one wake-up of the loop, and no tokio worker ever waits
//! for the GIL (a pyo3 coroutine's waker takes it on the worker for every call). The loop's
//! reader callback calls `drain`, which turns every finished outcome into its Python value or
//! the exception to raise, and sets the asyncio futures.
//!
//! Every async entry point of the asyncio client goes through a queue: operation and turn calls
//! (`NativeClient.submit`), the next item of a stream (`NativeStream.submit_next`) and saving an
//! attachment (`NativeClient.submit_save_attachment`). Only the coroutine fallback wakes
//! Python from a worker, through `exit_gate`.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::{AbortOnDrop, Outcome, caught, lock, runtime};

/// What a finished call gives Python.
pub(crate) enum Done {
    /// JSON bytes: a call's result, a stream's next item.
    Bytes(Vec<u8>),
    /// `None`: the end of a stream.
    End,
    /// A path written (`save_attachment`): a `str`.
    Path(PathBuf),
}

impl From<Vec<u8>> for Done {
    fn from(bytes: Vec<u8>) -> Self {
        Done::Bytes(bytes)
    }
}

impl From<Option<Vec<u8>>> for Done {
    fn from(item: Option<Vec<u8>>) -> Self {
        item.map_or(Done::End, Done::Bytes)
    }
}

impl From<PathBuf> for Done {
    fn from(path: PathBuf) -> Self {
        Done::Path(path)
    }
}

impl Done {
    fn into_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(match self {
            Done::Bytes(bytes) => PyBytes::new(py, &bytes).into_any().unbind(),
            Done::End => py.None(),
            // A `str` as the coroutine path's stub says (the OS's file-system decoding).
            Done::Path(path) => path.into_os_string().into_pyobject(py)?.into_any().unbind(),
        })
    }
}

/// One finished call: its id and its outcome.
type Finished = (u64, Outcome<Done>);

/// The part the tokio tasks share.
pub(crate) struct Queue {
    finished: Mutex<Vec<Finished>>,
    signal: signal::Signal,
}

impl Queue {
    /// Called by a task when its call has finished; never takes the GIL.
    pub(crate) fn push<T: Into<Done>>(&self, id: u64, outcome: Outcome<T>) {
        let outcome = outcome.map(Into::into);
        let was_empty = {
            let mut finished = lock(&self.finished);
            let was_empty = finished.is_empty();
            finished.push((id, outcome));
            was_empty
        };
        // Only the first completion of a batch wakes the loop: the drain takes them all. The
        // drain clears the signal before it takes the batch, so no completion is left behind.
        if was_empty {
            self.signal.raise();
        }
    }
}

/// Spawns `fut` on the shared runtime; its outcome (a panic becomes a `NairiError`) goes to
/// `queue` under `call_id`. The returned handle aborts it.
pub(crate) fn submit<T: Into<Done>>(
    queue: &CompletionQueue,
    call_id: u64,
    fut: impl Future<Output = Outcome<T>> + Send + 'static,
) -> NativeCall {
    let queue = Arc::clone(&queue.queue);
    let task = runtime::shared().spawn(async move {
        queue.push(call_id, caught(fut).await);
    });
    NativeCall::new(task.abort_handle())
}

/// The completions of one event loop's calls (see the module docs).
#[pyclass(frozen, module = "nairi._native")]
pub struct CompletionQueue {
    pub(crate) queue: Arc<Queue>,
    /// The process that made it: after a fork the child's copy is inert (its fd is shared with
    /// the parent, whose signals it must not consume).
    pid: u32,
}

#[pymethods]
impl CompletionQueue {
    /// A new queue with its own fd (an `OSError` if the system has none to give).
    #[new]
    fn new() -> PyResult<Self> {
        Ok(CompletionQueue {
            queue: Arc::new(Queue {
                finished: Mutex::new(Vec::new()),
                signal: signal::Signal::new()?,
            }),
            pid: std::process::id(),
        })
    }

    /// The fd to watch: readable while finished calls wait to be drained.
    #[getter]
    fn fd(&self) -> i32 {
        self.queue.signal.fd()
    }

    /// Every finished call as `(id, value, failed)`: `value` is the result (JSON bytes, `None`
    /// at the end of a stream, the `str` of a path written), or the exception to raise when
    /// `failed`.
    fn drain(&self, py: Python<'_>) -> Vec<(u64, Py<PyAny>, bool)> {
        if self.pid != std::process::id() {
            return Vec::new();
        }
        self.queue.signal.clear();
        let finished = std::mem::take(&mut *lock(&self.queue.finished));
        finished
            .into_iter()
            .map(|(id, outcome)| {
                match outcome.map(|done| done.into_py(py)) {
                    Ok(Ok(value)) => (id, value, false),
                    // A path Python cannot represent: its error is the call's.
                    Ok(Err(e)) => (id, e.into_value(py).into_any(), true),
                    Err(failure) => (id, failure.into_py(py).into_value(py).into_any(), true),
                }
            })
            .collect()
    }

    /// How many finished calls wait to be drained.
    fn __len__(&self) -> usize {
        lock(&self.queue.finished).len()
    }

    fn __repr__(&self) -> String {
        format!("CompletionQueue(fd={})", self.fd())
    }
}

/// A submitted call: `abort()` stops its task (the request is dropped mid-flight); dropping it
/// does the same, so a coroutine that is closed without being cancelled stops its call too.
#[pyclass(frozen, module = "nairi._native")]
pub struct NativeCall {
    task: AbortOnDrop,
}

impl NativeCall {
    pub(crate) fn new(task: tokio::task::AbortHandle) -> Self {
        NativeCall {
            task: AbortOnDrop(task),
        }
    }
}

#[pymethods]
impl NativeCall {
    /// Stops the call (nothing happens if it has finished).
    fn abort(&self) {
        self.task.0.abort();
    }
}

/// The fd: an eventfd on Linux, a socket pair elsewhere on Unix.
mod signal {
    use std::io;

    #[cfg(target_os = "linux")]
    pub(crate) struct Signal(std::os::fd::OwnedFd);

    #[cfg(target_os = "linux")]
    impl Signal {
        pub(crate) fn new() -> io::Result<Self> {
            use std::os::fd::FromRawFd;
            // SAFETY: eventfd has no pointer arguments; a non-negative result is a new fd that
            // nothing else owns.
            let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` was just created and is owned here only.
            Ok(Signal(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) }))
        }

        pub(crate) fn fd(&self) -> i32 {
            use std::os::fd::AsRawFd;
            self.0.as_raw_fd()
        }

        pub(crate) fn raise(&self) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to an fd owned by `self`. It cannot fail
            // but by overflowing the counter (2^64 - 1 raises without a drain).
            unsafe { libc::write(self.fd(), (&raw const one).cast(), 8) };
        }

        pub(crate) fn clear(&self) {
            let mut count: u64 = 0;
            // SAFETY: reads 8 bytes into a live u64; EAGAIN (nothing raised) is fine.
            unsafe { libc::read(self.fd(), (&raw mut count).cast(), 8) };
        }
    }

    #[cfg(all(unix, not(target_os = "linux")))]
    pub(crate) struct Signal {
        read: std::os::unix::net::UnixStream,
        write: std::os::unix::net::UnixStream,
    }

    #[cfg(all(unix, not(target_os = "linux")))]
    impl Signal {
        pub(crate) fn new() -> io::Result<Self> {
            let (read, write) = std::os::unix::net::UnixStream::pair()?;
            read.set_nonblocking(true)?;
            write.set_nonblocking(true)?;
            Ok(Signal { read, write })
        }

        pub(crate) fn fd(&self) -> i32 {
            use std::os::fd::AsRawFd;
            self.read.as_raw_fd()
        }

        pub(crate) fn raise(&self) {
            use std::io::Write;
            // A full buffer already means "raised".
            let _ = (&self.write).write(&[1]);
        }

        pub(crate) fn clear(&self) {
            use std::io::Read;
            let mut buf = [0u8; 64];
            while matches!((&self.read).read(&mut buf), Ok(n) if n > 0) {}
        }
    }

    #[cfg(not(unix))]
    pub(crate) struct Signal;

    #[cfg(not(unix))]
    impl Signal {
        pub(crate) fn new() -> io::Result<Self> {
            // asyncio's Windows loop has no `add_reader`: the package uses the coroutine path.
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "no completion fd on this system",
            ))
        }
        pub(crate) fn fd(&self) -> i32 {
            -1
        }
        pub(crate) fn raise(&self) {}
        pub(crate) fn clear(&self) {}
    }
}
