//! The calls' tokio runtime on the JavaScript thread, turned by Node's own event loop.
//!
//! A call that goes to a tokio worker and comes back costs two thread crossings, each a
//! sleeping core's wake-up (bench/NOTES.md: the JavaScript thread idle 85% of the time at 10
//! calls in flight, waiting for the chain of hand-offs). Here, as undici does, each JavaScript
//! thread does its own HTTP: a current-thread tokio runtime whose I/O driver's epoll
//! descriptor is watched by a libuv poll handle. When a socket is ready libuv wakes the
//! thread, which turns the runtime until nothing is left to do, then settles the finished
//! calls in one callback per client ([`crate::completions`]); submits made while settling go
//! out in the same wake-up.
//!
//! A turn is one `block_on` of [`Turn`]: it spawns the calls submitted since the last turn
//! (from inside the runtime, so tokio writes no wake-up to its own eventfd), and ends when the
//! run queue is empty and the epoll descriptor has had nothing twice in a row. Those moments
//! are tokio's `on_thread_park` hook ([`at_park`]); the hook wakes the turn, so tokio polls
//! its driver without blocking and never sleeps on the JavaScript thread (the second look
//! lets the tasks that poll woke, timers due among them, run in the same turn). A wake-up
//! keeps the thread for at most [`BUDGET`]; the rest waits for the loop's next iteration, so
//! Node's timers and other callbacks run under any load. What tokio cannot tell us is when
//! its next timer is due: a one-shot libuv timer after every wake-up (1 ms, doubling to 8 ms
//! while only it fires; it stops once no call is pending) runs the timers (retry back-offs,
//! timeouts, the waits' polls) and anything that became ready between the hook's last look
//! and tokio's last poll.
//!
//! Linux only (the descriptor is found in `/proc/self/fd`; elsewhere `event_loop_elsewhere.rs`
//! stands in); when it cannot be found, or with `NAIRI_NODE_IO=threads`, calls run on tokio
//! workers.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ffi::{c_int, c_void};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use napi::sys;

use crate::completions::Completions;
use crate::uv;

/// A call's work, as the runtime runs it.
pub(crate) type Job = futures::future::BoxFuture<'static, ()>;

/// The most calls one turn starts: the budget is looked at between turns and when the run
/// queue is empty, so a burst of submits is started a slice at a time.
const JOBS_PER_TURN: usize = 256;

/// The longest the back-stop timer waits while the runtime stays quiet (ms).
const BACKSTOP_MAX_MS: u64 = 8;

/// How long one wake-up may keep the thread before libuv runs its other callbacks (timers,
/// other sockets, `setImmediate`): a turn that takes longer ends at its next look for ready
/// sockets, and settling that submits more calls stops turning again; the rest is taken in
/// the loop's next iteration.
const BUDGET: Duration = Duration::from_millis(1);

/// One JavaScript thread's runtime and the libuv handles that turn it.
pub(crate) struct EventLoop {
    rt: tokio::runtime::Runtime,
    /// The runtime's epoll descriptor, watched by `poll`.
    epfd: c_int,
    env: sys::napi_env,
    async_context: sys::napi_async_context,
    poll: *mut uv::Handle,
    idle: *mut uv::Handle,
    timer: *mut uv::Handle,
    /// Calls submitted since the last turn, spawned by the next.
    incoming: RefCell<Vec<Job>>,
    /// Clients with finished calls to settle after the turn.
    dirty: RefCell<Vec<Completions>>,
    /// Calls submitted and not settled yet (while any, the poll handle holds the process).
    pending: Cell<u32>,
    in_drive: Cell<bool>,
    idle_started: Cell<bool>,
    backstop_ms: Cell<u64>,
}

thread_local! {
    /// This thread's runtime, once a client asked for it (`None` inside: not available).
    static CURRENT: RefCell<Option<Option<Rc<EventLoop>>>> = const { RefCell::new(None) };
    /// What the turn and the park hook share while a turn runs.
    static TURN: RefCell<TurnState> = const {
        RefCell::new(TurnState { epfd: -1, waker: None, quiet: false, idle_looks: 0, deadline: None })
    };
}

struct TurnState {
    epfd: c_int,
    waker: Option<Waker>,
    /// Set by the hook when the turn may end.
    quiet: bool,
    /// The hook's looks in a row that found nothing ready: the turn ends at the second, so
    /// that what tokio's driver poll after the first one woke (timers due, a late socket) runs
    /// in this turn.
    idle_looks: u8,
    /// When the turn gives the thread back (see [`BUDGET`]).
    deadline: Option<Instant>,
}

/// Runtimes are created one at a time, so a new epoll descriptor is this runtime's own unless
/// another library made one meanwhile (then [`woken_by`] tells them apart).
static CREATING: Mutex<()> = Mutex::new(());

/// Where this thread's calls run: its event loop (created on first use) or, when that is not
/// available or not wanted, `None` (tokio workers). Errors name a bad `NAIRI_NODE_IO`.
pub(crate) fn for_thread(env: sys::napi_env) -> Result<Option<Rc<EventLoop>>, String> {
    if let Some(existing) = CURRENT.with(|c| c.borrow().clone()) {
        return Ok(existing);
    }
    let wanted = crate::wants_event_loop()?;
    let created = if wanted {
        EventLoop::create(env).map(Rc::new)
    } else {
        None
    };
    if created.is_none() && wanted {
        tracing::debug!(
            target: "nairi::node",
            "the event-loop runtime is not available here: calls run on tokio workers"
        );
    }
    CURRENT.with(|c| *c.borrow_mut() = Some(created.clone()));
    Ok(created)
}

/// This thread's event loop, if it has one.
pub(crate) fn current() -> Option<Rc<EventLoop>> {
    CURRENT.with(|c| c.borrow().clone().flatten())
}

/// Runs `f` with this thread's event loop, if it has one.
pub(crate) fn with_current<R>(f: impl FnOnce(&Rc<EventLoop>) -> R) -> Option<R> {
    Some(f(&current()?))
}

/// The epoll instances open in this process, each under what it watches (its `tfd` lines in
/// `/proc/self/fdinfo`: two descriptors of one instance, as mio's `Poll` and its registry
/// are, watch the same descriptors), with one descriptor of it.
fn eventpoll_fds() -> Option<BTreeMap<String, c_int>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir("/proc/self/fd").ok()? {
        let entry = entry.ok()?;
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue; // closed meanwhile (the directory's own descriptor, for one)
        };
        let Some(fd) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<c_int>().ok())
        else {
            continue;
        };
        if target.as_os_str() != "anon_inode:[eventpoll]" {
            continue;
        }
        let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")) else {
            continue;
        };
        let watched: Vec<&str> = info.lines().filter(|l| l.starts_with("tfd:")).collect();
        out.entry(watched.join("\n")).or_insert(fd);
    }
    Some(out)
}

/// Which of `candidates` is `rt`'s own: the one a wake-up of `rt` from outside (a task
/// spawned from this thread, not yet inside the runtime: tokio writes its eventfd) makes
/// readable. The task is a no-op that the first turn runs, and that turn reads the wake-up.
fn woken_by(rt: &tokio::runtime::Runtime, candidates: &[c_int]) -> Option<c_int> {
    let idle: Vec<c_int> = candidates
        .iter()
        .copied()
        .filter(|&fd| !uv::readable_now(fd))
        .collect();
    drop(rt.spawn(async {}));
    let mut woken = idle.into_iter().filter(|&fd| uv::readable_now(fd));
    match (woken.next(), woken.next()) {
        (Some(fd), None) => Some(fd),
        _ => None,
    }
}

impl EventLoop {
    /// The runtime and its handles on `env`'s loop, or `None` where that cannot be done.
    fn create(env: sys::napi_env) -> Option<EventLoop> {
        let (rt, epfd) = {
            let _one_at_a_time = CREATING.lock().unwrap_or_else(|e| e.into_inner());
            let before = eventpoll_fds()?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .on_thread_park(at_park)
                .build()
                .ok()?;
            let after = eventpoll_fds()?;
            let new: Vec<c_int> = after
                .iter()
                .filter(|(watched, _)| !before.contains_key(*watched))
                .map(|(_, &fd)| fd)
                .collect();
            let fd = match new.as_slice() {
                [fd] => *fd,
                // Another thread made one meanwhile (a `Worker`'s own libuv loop, say).
                [_, _, ..] => woken_by(&rt, &new)?,
                [] => return None,
            };
            (rt, fd)
        };
        let mut uv_loop = std::ptr::null_mut();
        // SAFETY: on the JavaScript thread of `env` (the client's constructor).
        if unsafe { sys::napi_get_uv_event_loop(env, &mut uv_loop) } != sys::Status::napi_ok {
            return None;
        }
        let uv_loop = uv_loop.cast::<uv::Loop>();
        let async_context = async_context(env)?;
        let poll = uv::alloc(uv::POLL);
        let idle = uv::alloc(uv::IDLE);
        let timer = uv::alloc(uv::TIMER);
        // SAFETY: fresh handles on this thread's loop; all three are closed together by the
        // environment's cleanup hook (registered below) and their memory freed on close.
        unsafe {
            if uv::uv_poll_init(uv_loop, poll, epfd) != 0 {
                uv::free_on_close(poll);
                uv::free_on_close(idle);
                uv::free_on_close(timer);
                sys::napi_async_destroy(env, async_context);
                return None;
            }
            uv::uv_idle_init(uv_loop, idle);
            uv::uv_timer_init(uv_loop, timer);
            uv::uv_poll_start(poll, uv::READABLE, on_readable);
            uv::uv_unref(poll);
            uv::uv_unref(idle);
            uv::uv_unref(timer);
            sys::napi_add_env_cleanup_hook(env, Some(on_env_cleanup), std::ptr::null_mut());
        }
        Some(EventLoop {
            rt,
            epfd,
            env,
            async_context,
            poll,
            idle,
            timer,
            incoming: RefCell::new(Vec::new()),
            dirty: RefCell::new(Vec::new()),
            pending: Cell::new(0),
            in_drive: Cell::new(false),
            idle_started: Cell::new(false),
            backstop_ms: Cell::new(1),
        })
    }

    /// Queues a call's work for the next turn (at the end of this wake-up, or in the next
    /// iteration of the loop) and counts it as pending until [`EventLoop::settled`].
    pub(crate) fn submit(&self, job: Job) {
        self.incoming.borrow_mut().push(job);
        if self.pending.get() == 0 {
            // SAFETY: our live poll handle, on its loop's thread.
            unsafe { uv::uv_ref(self.poll) };
        }
        self.pending.set(self.pending.get() + 1);
        if !self.in_drive.get() {
            self.turn_soon();
        }
    }

    /// `finished` calls were settled: the process is released once none is pending.
    pub(crate) fn settled(&self, finished: u32) {
        let left = self.pending.get().saturating_sub(finished);
        self.pending.set(left);
        if left == 0 && finished > 0 {
            // SAFETY: our live poll handle, on its loop's thread.
            unsafe { uv::uv_unref(self.poll) };
        }
    }

    /// Asks for `queue`'s batch to be delivered after the current turn.
    pub(crate) fn mark_dirty(&self, queue: Completions) {
        self.dirty.borrow_mut().push(queue);
    }

    /// Turns the runtime and settles what finished, until the settling submits nothing more
    /// (or [`BUDGET`] is spent: the loop's next iteration goes on).
    fn drive(&self) {
        if self.in_drive.replace(true) {
            return;
        }
        let deadline = Instant::now() + BUDGET;
        loop {
            self.turn(deadline);
            self.deliver();
            if self.incoming.borrow().is_empty() {
                break;
            }
            if Instant::now() >= deadline {
                self.turn_soon();
                break;
            }
        }
        self.in_drive.set(false);
    }

    /// Makes the loop's next iteration turn the runtime (before it waits for sockets).
    fn turn_soon(&self) {
        if !self.idle_started.replace(true) {
            // SAFETY: our live idle handle, on its loop's thread.
            unsafe { uv::uv_idle_start(self.idle, on_idle) };
        }
    }

    /// One `block_on` of [`Turn`], with at most [`JOBS_PER_TURN`] of the calls submitted.
    fn turn(&self, deadline: Instant) {
        let jobs = {
            let mut incoming = self.incoming.borrow_mut();
            if incoming.len() > JOBS_PER_TURN {
                let rest = incoming.split_off(JOBS_PER_TURN);
                std::mem::replace(&mut *incoming, rest)
            } else {
                std::mem::take(&mut *incoming)
            }
        };
        TURN.with(|t| {
            let mut t = t.borrow_mut();
            t.epfd = self.epfd;
            t.quiet = false;
            t.idle_looks = 0;
            t.deadline = Some(deadline);
        });
        self.rt.block_on(Turn { jobs: Some(jobs) });
        TURN.with(|t| t.borrow_mut().waker = None);
        // Woken from another thread during the last driver poll: still queued, run next.
        if self.rt.metrics().global_queue_depth() > 0 {
            self.turn_soon();
        }
    }

    /// Settles the batches of the clients marked dirty.
    fn deliver(&self) {
        let dirty = std::mem::take(&mut *self.dirty.borrow_mut());
        if dirty.is_empty() {
            return;
        }
        let env = self.env;
        let mut scope = std::ptr::null_mut();
        // SAFETY: on the JavaScript thread, outside any JavaScript frame (a libuv callback).
        unsafe { sys::napi_open_handle_scope(env, &mut scope) };
        for queue in dirty {
            let Some((text, finished, func)) = queue.take_local(env) else {
                continue;
            };
            self.settled(finished);
            if let Some(func) = func {
                // SAFETY: in the handle scope above, `func` a value of this scope.
                unsafe { call_js(env, self.async_context, func, &text) };
            }
        }
        // SAFETY: the scope opened above.
        unsafe { sys::napi_close_handle_scope(env, scope) };
    }

    /// Arms the back-stop timer: 1 ms after a turn that had work, doubling after each turn
    /// the timer itself made, up to [`BACKSTOP_MAX_MS`]; off once that finds nothing pending.
    fn arm_backstop(&self, from_timer: bool) {
        let ms = if from_timer {
            let next = (self.backstop_ms.get() * 2).min(BACKSTOP_MAX_MS);
            if self.pending.get() == 0 && self.backstop_ms.get() >= BACKSTOP_MAX_MS {
                return;
            }
            next
        } else {
            1
        };
        self.backstop_ms.set(ms);
        // SAFETY: our live timer handle, on its loop's thread.
        unsafe { uv::uv_timer_start(self.timer, on_timer, ms, 0) };
    }
}

/// A resource-less async context for `napi_make_callback`.
fn async_context(env: sys::napi_env) -> Option<sys::napi_async_context> {
    let name = "nairi";
    // SAFETY: on the JavaScript thread of `env`, inside the constructor's handle scope.
    unsafe {
        let mut js_name = std::ptr::null_mut();
        if sys::napi_create_string_utf8(
            env,
            name.as_ptr().cast(),
            name.len() as isize,
            &mut js_name,
        ) != sys::Status::napi_ok
        {
            return None;
        }
        let mut context = std::ptr::null_mut();
        if sys::napi_async_init(env, std::ptr::null_mut(), js_name, &mut context)
            != sys::Status::napi_ok
        {
            return None;
        }
        Some(context)
    }
}

/// Calls `func(text)` as Node calls a callback from its loop: microtasks and `nextTick`s run
/// when it returns, and an exception it throws becomes the process's uncaught exception.
///
/// # Safety
/// On the JavaScript thread of `env`, inside an open handle scope that holds `f`.
unsafe fn call_js(
    env: sys::napi_env,
    context: sys::napi_async_context,
    f: sys::napi_value,
    text: &str,
) {
    unsafe {
        let mut arg = std::ptr::null_mut();
        let mut recv = std::ptr::null_mut();
        if sys::napi_create_string_utf8(env, text.as_ptr().cast(), text.len() as isize, &mut arg)
            != sys::Status::napi_ok
            || sys::napi_get_global(env, &mut recv) != sys::Status::napi_ok
        {
            return;
        }
        let mut result = std::ptr::null_mut();
        let status = sys::napi_make_callback(env, context, recv, f, 1, &arg, &mut result);
        if status == sys::Status::napi_pending_exception {
            let mut error = std::ptr::null_mut();
            if sys::napi_get_and_clear_last_exception(env, &mut error) == sys::Status::napi_ok {
                sys::napi_fatal_exception(env, error);
            }
        }
    }
}

/// The future one turn blocks on: spawns the submitted calls, then waits for the park hook
/// to report the runtime quiet.
struct Turn {
    jobs: Option<Vec<Job>>,
}

impl Future for Turn {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(jobs) = self.jobs.take() {
            // Inside the runtime: each goes on its local queue, with no wake-up write.
            for job in jobs {
                drop(tokio::spawn(job));
            }
        }
        TURN.with(|t| {
            let mut t = t.borrow_mut();
            if t.quiet {
                Poll::Ready(())
            } else {
                t.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }
}

/// tokio's `on_thread_park`: the run queue is empty. Wakes the turn so that tokio only polls
/// its driver (never sleeps on this thread); the turn ends at the second look in a row that
/// finds no socket ready, or once its budget is spent (then the loop's next iteration turns
/// again).
fn at_park() {
    TURN.with(|t| {
        let mut t = t.borrow_mut();
        let spent = t.deadline.is_some_and(|d| Instant::now() >= d);
        if uv::readable_now(t.epfd) {
            t.idle_looks = 0;
        } else {
            t.idle_looks = t.idle_looks.saturating_add(1);
        }
        t.quiet = spent || t.idle_looks >= 2;
        if spent {
            with_current(|el| el.turn_soon());
        }
        match t.waker.take() {
            Some(waker) => waker.wake(),
            // Never reached (the turn leaves its waker whenever it is pending), but tokio must
            // not sleep on this thread: a task in the queue makes it poll instead.
            None => drop(tokio::spawn(async {})),
        }
    });
}

/// Runs a drive from a libuv callback: a panic must not unwind into libuv.
fn drive_from_loop(from_timer: bool) {
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        with_current(|el| {
            el.drive();
            el.arm_backstop(from_timer);
        })
    }));
    if outcome.is_err() {
        // The guard of every call catches its own panics; this is the runtime's machinery.
        tracing::error!(target: "nairi::node", "the event-loop runtime panicked during a turn");
        // What the turn left is taken up again: by the next iteration, and the back-stop.
        let _ = std::panic::catch_unwind(|| {
            with_current(|el| {
                el.in_drive.set(false);
                el.turn_soon();
                el.arm_backstop(false);
            })
        });
    }
}

extern "C" fn on_readable(_handle: *mut uv::Handle, _status: c_int, _events: c_int) {
    drive_from_loop(false);
}

extern "C" fn on_idle(handle: *mut uv::Handle) {
    // SAFETY: our idle handle, in its own callback.
    unsafe { uv::uv_idle_stop(handle) };
    with_current(|el| el.idle_started.set(false));
    drive_from_loop(false);
}

extern "C" fn on_timer(_handle: *mut uv::Handle) {
    drive_from_loop(true);
}

/// The environment is going away: close the handles and drop the runtime (its tasks with it).
unsafe extern "C" fn on_env_cleanup(_arg: *mut c_void) {
    // A panic must not unwind into Node; what is left is freed with the thread.
    let _ = std::panic::catch_unwind(close_current);
}

/// Closes this thread's handles and drops its runtime (see [`on_env_cleanup`]).
fn close_current() {
    let Some(el) = CURRENT.with(|c| c.borrow_mut().take().flatten()) else {
        return;
    };
    // SAFETY: our handles, on their loop's thread; closed once (the thread-local is taken).
    unsafe {
        uv::uv_timer_stop(el.timer);
        uv::uv_close(el.poll, uv::free_on_close);
        uv::uv_close(el.idle, uv::free_on_close);
        uv::uv_close(el.timer, uv::free_on_close);
        sys::napi_async_destroy(el.env, el.async_context);
    }
    // Dropping the calls' tasks releases their callbacks' references: napi wants a scope.
    let mut scope = std::ptr::null_mut();
    // SAFETY: on the JavaScript thread, in the environment's cleanup.
    let opened = unsafe { sys::napi_open_handle_scope(el.env, &mut scope) } == sys::Status::napi_ok;
    el.dirty.borrow_mut().clear();
    el.incoming.borrow_mut().clear();
    let env = el.env;
    if let Ok(el) = Rc::try_unwrap(el) {
        el.rt.shutdown_background();
    }
    if opened {
        // SAFETY: the scope opened above.
        unsafe { sys::napi_close_handle_scope(env, scope) };
    }
}
