//! Where the event-loop runtime is not built (not Linux, see `event_loop.rs`): there is no
//! such runtime, and every call runs on tokio workers.

use std::rc::Rc;

/// A call's work, as a runtime runs it.
pub(crate) type Job = futures::future::BoxFuture<'static, ()>;

/// No value of it exists here.
pub(crate) enum EventLoop {}

impl EventLoop {
    /// Unreachable: there is no event loop to submit to.
    pub(crate) fn submit(&self, _job: Job) {
        match *self {}
    }

    /// Unreachable: there is no event loop to settle on.
    pub(crate) fn settled(&self, _finished: u32) {
        match *self {}
    }

    /// Unreachable: there is no event loop to deliver from.
    pub(crate) fn mark_dirty(&self, _queue: crate::completions::Completions) {
        match *self {}
    }
}

/// Always `None` (calls run on tokio workers); a bad `NAIRI_NODE_IO` is still an error.
pub(crate) fn for_thread(_env: napi::sys::napi_env) -> Result<Option<Rc<EventLoop>>, String> {
    crate::wants_event_loop().map(|_| None)
}

/// Always `None`.
pub(crate) fn current() -> Option<Rc<EventLoop>> {
    None
}

/// Always `None`.
pub(crate) fn with_current<R>(_f: impl FnOnce(&Rc<EventLoop>) -> R) -> Option<R> {
    None
}
