//! The few libuv functions the event-loop runtime uses ([`crate::event_loop`]), resolved from
//! the `node` executable when the addon is loaded (Node exports libuv's symbols for addons).
//!
//! Handles are opaque here: their memory is sized with `uv_handle_size`, so no struct layout
//! of libuv is copied into this crate.

use std::ffi::c_int;

/// `uv_loop_t`, opaque.
#[repr(C)]
pub(crate) struct Loop {
    _private: [u8; 0],
}

/// Any `uv_handle_t` (`uv_poll_t`, `uv_idle_t`, `uv_timer_t`), opaque.
#[repr(C)]
pub(crate) struct Handle {
    _private: [u8; 0],
}

/// `uv_handle_type` values (uv.h's `UV_HANDLE_TYPE_MAP`, stable across libuv 1.x).
pub(crate) const IDLE: c_int = 6;
/// `UV_POLL`.
pub(crate) const POLL: c_int = 8;
/// `UV_TIMER`.
pub(crate) const TIMER: c_int = 13;

/// `UV_READABLE` of `uv_poll_event`.
pub(crate) const READABLE: c_int = 1;

pub(crate) type PollCb = extern "C" fn(handle: *mut Handle, status: c_int, events: c_int);
pub(crate) type HandleCb = extern "C" fn(handle: *mut Handle);

unsafe extern "C" {
    pub(crate) fn uv_handle_size(kind: c_int) -> usize;
    pub(crate) fn uv_poll_init(lp: *mut Loop, handle: *mut Handle, fd: c_int) -> c_int;
    pub(crate) fn uv_poll_start(handle: *mut Handle, events: c_int, cb: PollCb) -> c_int;
    pub(crate) fn uv_idle_init(lp: *mut Loop, handle: *mut Handle) -> c_int;
    pub(crate) fn uv_idle_start(handle: *mut Handle, cb: HandleCb) -> c_int;
    pub(crate) fn uv_idle_stop(handle: *mut Handle) -> c_int;
    pub(crate) fn uv_timer_init(lp: *mut Loop, handle: *mut Handle) -> c_int;
    pub(crate) fn uv_timer_start(
        handle: *mut Handle,
        cb: HandleCb,
        timeout: u64,
        repeat: u64,
    ) -> c_int;
    pub(crate) fn uv_timer_stop(handle: *mut Handle) -> c_int;
    pub(crate) fn uv_ref(handle: *mut Handle);
    pub(crate) fn uv_unref(handle: *mut Handle);
    pub(crate) fn uv_close(handle: *mut Handle, cb: HandleCb);
}

/// Memory for a handle of `kind`, freed by [`free_on_close`] (8-byte aligned, zeroed).
pub(crate) fn alloc(kind: c_int) -> *mut Handle {
    // SAFETY: a pure query of libuv.
    let size = unsafe { uv_handle_size(kind) };
    let words = size.div_ceil(8).max(1);
    let memory = vec![0u64; words + 1].into_boxed_slice();
    let raw = Box::into_raw(memory) as *mut u64;
    // The first word keeps the allocation's length, for `free_on_close`.
    // SAFETY: `raw` points to `words + 1` words.
    unsafe {
        *raw = words as u64;
        raw.add(1) as *mut Handle
    }
}

/// The close callback of a handle from [`alloc`]: gives its memory back.
pub(crate) extern "C" fn free_on_close(handle: *mut Handle) {
    // SAFETY: `handle` came from `alloc`, one word after the start of its boxed slice, and
    // libuv is done with it (this is its close callback).
    unsafe {
        let start = (handle as *mut u64).sub(1);
        let words = *start as usize;
        drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
            start,
            words + 1,
        )));
    }
}

/// Whether `fd` has something to read right now (`poll(2)` with a zero timeout).
pub(crate) fn readable_now(fd: c_int) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, no waiting.
    unsafe { libc::poll(&mut pfd, 1, 0) > 0 && pfd.revents & libc::POLLIN != 0 }
}
