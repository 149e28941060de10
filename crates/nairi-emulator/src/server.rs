//! HTTP plumbing: the accept loop (so a fault can drop a connection), the public entry point,
//! fault injection, the request log, body limits and JSON 404/405 fallbacks.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower::ServiceExt;

use crate::auth::authenticate;
use crate::error::EmulatorError;
use crate::faults::Fault;
use crate::ids;
use crate::request_body;
use crate::request_log::{LoggedRequest, headers_for_log, truncate_for_log};
use crate::routes::{self, Ctx, RouteError};
use crate::state::Shared;

/// Prefix of the public API.
pub const API_PREFIX: &str = "/api/public/v1";
/// Body limit for multipart uploads (a 50 MB attachment plus multipart overhead).
pub const MULTIPART_BODY_LIMIT: usize = 70 * 1024 * 1024;
/// Body limit for JSON requests.
pub const JSON_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// Lets a handler close its connection without answering.
#[derive(Clone)]
pub(crate) struct ConnKill(pub Arc<Notify>);

pub(crate) fn router(app: Shared) -> Router {
    Router::new()
        .nest("/_emulator", crate::admin::router(app.clone()))
        .route(API_PREFIX, any(public_entry))
        .route(&format!("{API_PREFIX}/"), any(public_entry))
        .route(&format!("{API_PREFIX}/{{*rest}}"), any(public_entry))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::disable())
        .with_state(app)
}

pub(crate) async fn not_found() -> Response {
    EmulatorError::not_found("route not found").into_response()
}

pub(crate) async fn method_not_allowed() -> Response {
    EmulatorError::new(405, "method not allowed").into_response()
}

/// Serves `router` on `listener` until `shutdown` turns true.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let stream = match accepted {
            Ok((s, _)) => s,
            Err(_) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let kill = Arc::new(Notify::new());
            let kill2 = kill.clone();
            let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnKill(kill2.clone()));
                router.clone().oneshot(req)
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), svc);
            tokio::select! {
                _ = conn => {}
                _ = kill.notified() => {}
                _ = conn_shutdown.changed() => {}
            }
        });
    }
}

fn is_json_content_type(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|ct| {
            ct == "application/json" || (ct.starts_with("application/") && ct.ends_with("+json"))
        })
}

fn fault_response(f: &Fault) -> Response {
    let mut resp = if f.html {
        let page = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>\n";
        (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page,
        )
            .into_response()
    } else if f.malformed_json {
        let body =
            r#"{"id":"cmsg_01KRK1V475HBTME8QJQMAPWK16","job_id":"job_01KRK1V46BXS73CSNK2VR3"#;
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    } else {
        let status = StatusCode::from_u16(f.status.unwrap_or(500))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = f
            .body
            .clone()
            .unwrap_or_else(|| r#"{"error":"injected fault"}"#.to_string());
        let ct = f.content_type.clone().unwrap_or_else(|| {
            if serde_json::from_str::<serde_json::Value>(&body).is_ok() {
                "application/json"
            } else {
                "text/plain"
            }
            .into()
        });
        let mut r = (status, body).into_response();
        if let Ok(v) = HeaderValue::from_str(&ct) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        r
    };
    if let Some(ra) = &f.retry_after
        && let Ok(v) = HeaderValue::from_str(ra)
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    for (k, v) in &f.headers {
        // Rejected when the fault was injected; never let one reach hyper.
        if crate::faults::is_framing_header(k) {
            continue;
        }
        if let (Ok(k), Ok(v)) = (
            header::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

/// Takes one use of the first fault matching this request.
fn take_fault(app: &Shared, method: &str, path: &str) -> Option<(String, Fault)> {
    let mut w = app.lock();
    let idx = w.faults.iter().position(|f| f.matches(method, path))?;
    let entry = &mut w.faults[idx];
    entry.remaining -= 1;
    let out = (entry.id.clone(), entry.fault.clone());
    if entry.remaining == 0 {
        w.faults.remove(idx);
    }
    Some(out)
}

/// A fault's dropped connection: logged with status 0, then the connection is closed without
/// an answer (this future never completes once the connection task is told to stop); a 500 only
/// if the connection cannot be reached.
async fn drop_connection(
    app: &Shared,
    seq: u64,
    body_len: u64,
    fault_id: &str,
    parts: &axum::http::request::Parts,
) -> Response {
    log_outcome(app, seq, 0, body_len, Some(fault_id.to_owned()));
    if let Some(ConnKill(kill)) = parts.extensions.get::<ConnKill>() {
        kill.notify_one();
        std::future::pending::<()>().await;
    }
    EmulatorError::new(500, "connection drop requested").into_response()
}

/// Fills in what is known once the request is answered (or dropped).
fn log_outcome(app: &Shared, seq: u64, status: u16, body_len: u64, fault: Option<String>) {
    if let Some(e) = app.log().get_mut(seq) {
        e.status = status;
        e.body_len = body_len;
        e.fault = fault;
    }
}

/// Every `/api/public/v1` request goes through here.
async fn public_entry(State(app): State<Shared>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    // Logged as soon as it arrives, so the log never lags behind what clients sent.
    let entry = LoggedRequest {
        method: method.to_string(),
        path: truncate_for_log(&path),
        query: query.as_deref().map(truncate_for_log),
        headers: headers_for_log(&parts.headers),
        at: ids::fmt_ts(&ids::now()),
        ..LoggedRequest::default()
    };
    let seq = app.log().arrive(entry);
    let rest = path.strip_prefix(API_PREFIX).unwrap_or("");
    let rest = rest.strip_prefix('/').unwrap_or(rest).to_string();
    // HEAD is GET without the body, which hyper leaves out.
    let route_method = if method == Method::HEAD {
        Method::GET
    } else {
        method.clone()
    };
    let route = routes::route(&route_method, &rest);
    let limit = match &route {
        Ok(op) if routes::is_multipart(op) => MULTIPART_BODY_LIMIT,
        _ => JSON_BODY_LIMIT,
    };
    let fault = take_fault(&app, method.as_str(), &path);
    if fault.is_none()
        && let Some(resp) = refuse_from_head(&app, &method, &route, &parts.headers, limit)
    {
        log_outcome(&app, seq, resp.status().as_u16(), 0, None);
        return resp;
    }
    let body = request_body::read(&parts.headers, body, limit, app.limits.body_timeout).await;

    let body_len = body.as_ref().map(|b| b.len() as u64).unwrap_or(0);
    if let Some((id, f)) = &fault
        && f.apply
    {
        return applied_fault(
            app,
            seq,
            (id, f),
            parts,
            method,
            route,
            query,
            body,
            body_len,
        )
        .await;
    }
    if let Some((id, f)) = &fault {
        if f.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
        }
        if f.drop_connection {
            return drop_connection(&app, seq, body_len, id, &parts).await;
        }
        if f.html || f.malformed_json || f.status.is_some() {
            let resp = fault_response(f);
            log_outcome(
                &app,
                seq,
                resp.status().as_u16(),
                body_len,
                Some(id.clone()),
            );
            return resp;
        }
    }

    let resp = match body {
        Ok(bytes) => handle(&app, &method, route, &parts.headers, query, bytes).await,
        Err(e) => e.into_response(),
    };
    log_outcome(
        &app,
        seq,
        resp.status().as_u16(),
        body_len,
        fault.map(|(id, _)| id),
    );
    resp
}

/// A fault with `apply`: the request is handled for real in a task of its own (after the
/// fault's latency; a client that gives up does not cancel it), then the fault replaces the
/// answer: the connection dropped, an HTML 502 or a status; with latency alone, the real
/// answer.
#[allow(clippy::too_many_arguments)]
async fn applied_fault(
    app: Shared,
    seq: u64,
    (id, f): (&String, &Fault),
    parts: axum::http::request::Parts,
    method: Method,
    route: Result<routes::Op, RouteError>,
    query: Option<String>,
    body: Result<Bytes, request_body::BodyError>,
    body_len: u64,
) -> Response {
    let task_app = app.clone();
    let headers = parts.headers.clone();
    let latency = Duration::from_millis(f.latency_ms);
    let task_method = method.clone();
    let applied = tokio::spawn(async move {
        tokio::time::sleep(latency).await;
        match body {
            Ok(bytes) => handle(&task_app, &task_method, route, &headers, query, bytes).await,
            Err(e) => e.into_response(),
        }
    });
    let real = match applied.await {
        Ok(resp) => resp,
        Err(_) => EmulatorError::new(500, "the applied request failed").into_response(),
    };
    if f.drop_connection {
        return drop_connection(&app, seq, body_len, id, &parts).await;
    }
    let resp = if f.html || f.status.is_some() {
        fault_response(f)
    } else {
        real
    };
    log_outcome(
        &app,
        seq,
        resp.status().as_u16(),
        body_len,
        Some(id.clone()),
    );
    resp
}

/// The answer to a request that its head alone settles (unknown route, wrong method, no valid
/// key, a declared body over the limit), so that not a byte of its body is read.
fn refuse_from_head(
    app: &Shared,
    method: &Method,
    route: &Result<routes::Op, RouteError>,
    headers: &HeaderMap,
    limit: usize,
) -> Option<Response> {
    if let Err(e) = route {
        return Some(route_error(method, e));
    }
    if let Err(e) = authenticate(app, headers) {
        let mut resp = e.into_response();
        // The unread body cannot be skipped to reach a next request.
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Some(resp);
    }
    request_body::declared_too_large(headers, limit).map(IntoResponse::into_response)
}

fn route_error(method: &Method, e: &RouteError) -> Response {
    match e {
        RouteError::NotFound => EmulatorError::not_found("route not found").into_response(),
        RouteError::MethodNotAllowed(allowed) => {
            let mut r =
                EmulatorError::new(405, format!("method {method} not allowed")).into_response();
            let mut allowed = allowed.to_vec();
            if allowed.contains(&"GET") {
                allowed.push("HEAD");
            }
            if let Ok(v) = HeaderValue::from_str(&allowed.join(", ")) {
                r.headers_mut().insert(header::ALLOW, v);
            }
            r
        }
    }
}

async fn handle(
    app: &Shared,
    method: &Method,
    route: Result<routes::Op, RouteError>,
    headers: &HeaderMap,
    query: Option<String>,
    body: Bytes,
) -> Response {
    let op = match route {
        Ok(op) => op,
        Err(e) => return route_error(method, &e),
    };
    let key = match authenticate(app, headers) {
        Ok(key) => key,
        Err(e) => return e.into_response(),
    };
    if routes::wants_json(&op) {
        let deploy_without_body = matches!(op, routes::Op::AgentDeploy(_)) && body.is_empty();
        if !deploy_without_body && !is_json_content_type(headers) {
            return EmulatorError::bad_request("Content-Type must be application/json")
                .into_response();
        }
    }
    let ctx = Ctx {
        app: app.clone(),
        key,
        query,
        headers: headers.clone(),
        body,
    };
    match routes::dispatch(op, &ctx).await {
        Ok((status, Some(v))) => (status, axum::Json(v)).into_response(),
        Ok((status, None)) => status.into_response(),
        Err(e) => e.into_response(),
    }
}
