//! Blocking waits with the GIL released, waking every 100 ms for `Python::check_signals` so
//! that Ctrl+C interrupts them (a raised signal drops the future: its request stops).

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

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
    let in_flight = InFlight::enter();
    py.detach(|| rt.block_on(catch_up()));
    let mut fut = std::pin::pin!(caught(fut));
    let started = Instant::now();
    let calls = CALLS.fetch_add(1, Ordering::Relaxed);
    let last = Duration::from_micros(LAST_ANSWER_US.load(Ordering::Relaxed));
    if spins(last, calls, in_flight.others) {
        let deadline = started + SPIN;
        let early = py.detach(|| {
            rt.block_on(async {
                loop {
                    if let Poll::Ready(out) =
                        std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await
                    {
                        return Some(out);
                    }
                    if Instant::now() >= deadline {
                        return None;
                    }
                    // A zero-timeout turn of the I/O driver, then this future is polled again.
                    tokio::task::yield_now().await;
                }
            })
        });
        if let Some(out) = early {
            if out.is_ok() {
                record(started.elapsed());
            }
            return out.map_err(|f| f.into_py(py));
        }
    }
    let out = park(py, rt, fut);
    if out.is_ok() {
        record(started.elapsed());
    }
    out
}

/// How long a blocking call keeps its thread running while it waits, when answers have been
/// coming faster than that (a server on this machine, such as the emulator): a thread that
/// sleeps for the answer on an idle core of a virtual machine takes tens of microseconds to run
/// again, more than the whole call otherwise costs (bench/NOTES.md). Against a remote server the
/// answers are slower, so the calls sleep at once and this costs nothing.
const SPIN: Duration = Duration::from_micros(200);

/// After slow answers, one call in this many still spins, to notice a server that became fast.
const PROBE_EVERY: u32 = 64;

/// The last successful blocking call's time to its answer, in microseconds: a process-wide
/// hint. Failures are not recorded (a refused connection or a validation error ends at once
/// without the server), so they never turn the spin on for a slow server.
static LAST_ANSWER_US: AtomicU64 = AtomicU64::new(0);

/// Blocking calls made, for [`PROBE_EVERY`].
static CALLS: AtomicU32 = AtomicU32::new(0);

/// Blocking calls in flight, on every thread.
static IN_FLIGHT: AtomicU32 = AtomicU32::new(0);

/// This call counted in [`IN_FLIGHT`] until it returns (or unwinds).
struct InFlight {
    /// The calls that were in flight when this one began.
    others: u32,
}

impl InFlight {
    fn enter() -> Self {
        InFlight {
            others: IN_FLIGHT.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether a call spins before sleeping, given the last call's time to its answer, the number
/// of calls made before this one and the number in flight beside it. Only a call alone spins:
/// of several threads blocking on the runtime at once, one drives the I/O and the others only
/// wait for it, so their spinning would take the CPU from the one that works.
fn spins(last_answer: Duration, calls: u32, others_in_flight: u32) -> bool {
    others_in_flight == 0 && (last_answer <= SPIN || calls.is_multiple_of(PROBE_EVERY))
}

fn record(took: Duration) {
    let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    LAST_ANSWER_US.store(us, Ordering::Relaxed);
}

/// Waits for the future with the thread asleep between events, waking for signals.
fn park<T: Send>(
    py: Python<'_>,
    rt: &tokio::runtime::Runtime,
    mut fut: std::pin::Pin<&mut (impl Future<Output = Outcome<T>> + Send)>,
) -> PyResult<T> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spins_after_fast_answers_and_probes_after_slow_ones() {
        assert!(spins(Duration::ZERO, 7, 0), "nothing measured yet: spin");
        assert!(spins(Duration::from_micros(80), 7, 0));
        assert!(spins(SPIN, 7, 0));
        assert!(!spins(SPIN + Duration::from_micros(1), 7, 0));
        assert!(!spins(Duration::from_millis(30), 1, 0));
        assert!(
            spins(Duration::from_millis(30), PROBE_EVERY, 0),
            "one call in 64 probes"
        );
        assert!(spins(Duration::from_millis(30), 0, 0));
    }

    #[test]
    fn a_call_beside_others_in_flight_never_spins() {
        assert!(!spins(Duration::ZERO, 7, 1));
        assert!(!spins(Duration::from_micros(80), PROBE_EVERY, 3));
    }

    #[test]
    fn the_in_flight_count_follows_each_call_out() {
        let before = IN_FLIGHT.load(Ordering::Relaxed);
        let a = InFlight::enter();
        let b = InFlight::enter();
        assert_eq!(b.others, a.others + 1);
        drop(b);
        assert_eq!(IN_FLIGHT.load(Ordering::Relaxed), before + 1);
        let unwound = std::panic::catch_unwind(|| {
            let _c = InFlight::enter();
            panic!("a call that unwinds");
        });
        assert!(unwound.is_err());
        drop(a);
        assert_eq!(IN_FLIGHT.load(Ordering::Relaxed), before);
    }
}
