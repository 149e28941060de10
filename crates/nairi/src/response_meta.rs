//! What a successful answer said besides its body: status and request id, for support tickets.

use std::cell::RefCell;
use std::future::Future;

/// The status and request id of the last successful HTTP answer inside a
/// [`with_response_meta`] scope.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ResponseMeta {
    /// The HTTP status (200, 201, 204...).
    pub status: u16,
    /// The `x-request-id` header, when the server sent one.
    pub request_id: Option<String>,
    /// `METHOD path` of the request.
    pub endpoint: String,
}

tokio::task_local! {
    static LAST: RefCell<Option<ResponseMeta>>;
}

/// Runs `future` and returns its output with the status and request id of the last
/// successful answer it received (like openai's `_request_id`), `None` when it received
/// none. Costs nothing outside the scope; a `wait` or `run` reports its last poll.
///
/// ```no_run
/// # async fn demo(client: nairi::Client) -> nairi::Result<()> {
/// let (agent, meta) = nairi::with_response_meta(client.agents().get("support-bot")).await;
/// let agent = agent?;
/// if let Some(meta) = meta {
///     println!("{} answered {} (request {:?})", meta.endpoint, meta.status, meta.request_id);
/// }
/// # let _ = agent; Ok(()) }
/// ```
pub async fn with_response_meta<F: Future>(future: F) -> (F::Output, Option<ResponseMeta>) {
    LAST.scope(RefCell::new(None), async move {
        let out = future.await;
        let meta = LAST.with(|m| m.borrow_mut().take());
        (out, meta)
    })
    .await
}

/// Records a successful answer for an enclosing [`with_response_meta`], if there is one.
pub(crate) fn record(meta: impl FnOnce() -> ResponseMeta) {
    let _ = LAST.try_with(|m| *m.borrow_mut() = Some(meta()));
}
