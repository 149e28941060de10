//! Slug routing, unknown routes, wrong methods, odd paths and oversize bodies.

use nairi_emulator::AgentSeed;
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

/// Sends raw bytes and returns the raw response (what a client would see).
async fn raw(t: &T, request: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(t.emu.addr()).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn slugs_with_slashes_work_raw_and_encoded_on_every_agent_route() {
    let t = start().await;
    let agent = t
        .emu
        .create_agent(
            &t.key,
            AgentSeed {
                name: "Web".into(),
                slug: Some("acme/web".into()),
                deployed: true,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(agent["agent_id"], "acme/web");
    let id = agent["id"].as_str().unwrap().to_string();
    for r in ["acme/web", "acme%2Fweb", "acme%2fweb", id.as_str()] {
        assert_eq!(
            t.get(&format!("/agents/{r}")).await.body["id"],
            id.as_str(),
            "{r}"
        );
        assert_eq!(
            t.patch(&format!("/agents/{r}"), json!({ "description": r }))
                .await
                .status,
            200,
            "{r}"
        );
        assert_eq!(
            t.get(&format!("/agents/{r}/conversations")).await.status,
            200,
            "{r}"
        );
        assert_eq!(
            t.post(&format!("/agents/{r}/deploy"), json!({}))
                .await
                .status,
            202,
            "{r}"
        );
        let ev = t
            .post(
                &format!("/agents/{r}/env-vars"),
                json!({ "key": "K", "value": "v" }),
            )
            .await;
        assert_eq!(ev.status, 201, "{r}");
        let evid = ev.body["id"].as_str().unwrap();
        assert_eq!(
            t.get(&format!("/agents/{r}/env-vars"))
                .await
                .body
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            t.patch(
                &format!("/agents/{r}/env-vars/{evid}"),
                json!({ "value": "w" })
            )
            .await
            .status,
            200
        );
        assert_eq!(
            t.delete(&format!("/agents/{r}/env-vars/{evid}"))
                .await
                .status,
            204
        );
        let res = t
            .post(
                &format!("/agents/{r}/resources"),
                json!({ "entity_type": "llm_model", "entity_id": "opus-4.5" }),
            )
            .await;
        assert_eq!(res.status, 201, "{r}");
        assert_eq!(
            t.get(&format!("/agents/{r}/resources"))
                .await
                .body
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            t.delete(&format!(
                "/agents/{r}/resources/{}",
                res.body["id"].as_str().unwrap()
            ))
            .await
            .status,
            204
        );
    }
    // The slug in a body is sent unchanged.
    let (job, m) = t.start_conv("acme/web", "hello").await;
    t.wait_status(&m, &["completed"]).await;
    let convs = t.get("/agents/acme%2Fweb/conversations").await.body;
    assert_eq!(convs["conversations"][0]["id"], job.as_str());
    // Scripts address the slug too, raw or encoded.
    let r = t
        .admin(
            Method::POST,
            "/agents/acme%2Fweb/script",
            Some(&t.key),
            Some(json!({ "turns": [{ "reply": "scripted" }] })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = t
        .admin(
            Method::POST,
            "/agents/acme/web/script",
            Some(&t.key),
            Some(json!({ "turns": [{ "reply": "second" }] })),
        )
        .await;
    assert_eq!(r.body["pending_turns"], 2);
    let r = t.continue_conv(&job, "x").await;
    let m2 = r.body["message_id"].as_str().unwrap().to_string();
    t.wait_status(&m2, &["completed"]).await;
    assert_eq!(
        t.messages(&job).await.last().unwrap()["content"],
        "scripted"
    );
    assert_eq!(t.delete("/agents/acme%2Fweb").await.status, 204);
    assert_eq!(t.get("/agents/acme/web").await.status, 404);
    // Explicit slugs must be unique and sane.
    t.emu
        .create_agent(
            &t.key,
            AgentSeed {
                name: "A".into(),
                slug: Some("x/y".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        t.emu
            .create_agent(
                &t.key,
                AgentSeed {
                    name: "B".into(),
                    slug: Some("x/y".into()),
                    ..Default::default()
                }
            )
            .unwrap_err()
            .status,
        400
    );
    assert_eq!(
        t.emu
            .create_agent(
                &t.key,
                AgentSeed {
                    name: "B".into(),
                    slug: Some("/lead".into()),
                    ..Default::default()
                }
            )
            .unwrap_err()
            .status,
        400
    );
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_json() {
    let t = start().await;
    for path in [
        "/nope",
        "/agents/x/unknown/deeper/resources/a/b/c/d",
        "/conversations",
        "/vaults/x/y/z/w",
        "",
    ] {
        let r = t.get(path).await;
        if r.status == 404 {
            assert!(r.body["error"].is_string(), "{path}: {}", r.text);
        } else {
            // `/agents/x/unknown/...` is a (missing) agent slug: still a JSON 404.
            assert_eq!(r.status, 404, "{path}");
        }
    }
    let r = t.req(Method::PUT, "/agents", Some(json!({}))).await;
    assert_err(&r, 405, "not allowed");
    assert_eq!(r.headers["allow"], "GET, POST, HEAD");
    assert_err(
        &t.req(Method::DELETE, "/conversations/start", None).await,
        405,
        "not allowed",
    );
    assert_err(
        &t.req(Method::GET, "/agents/a/deploy", None).await,
        405,
        "not allowed",
    );
    assert_err(
        &t.req(Method::POST, "/models", Some(json!({}))).await,
        405,
        "not allowed",
    );
    // Outside the API prefix too.
    let r = into_resp(
        t.http
            .get(format!("{}/", t.emu.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_err(&r, 404, "not found");
    let r = into_resp(
        t.http
            .get(format!("{}/_emulator/nope", t.emu.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_err(&r, 404, "not found");
    let r = into_resp(
        t.http
            .get(format!("{}/_emulator/orgs", t.emu.base_url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 405);
    assert!(r.body["error"].is_string(), "{}", r.text);
}

#[tokio::test]
async fn odd_paths_and_bytes_never_break_the_server() {
    let t = start().await;
    let auth = format!("Authorization: Bearer {}\r\n", t.key);
    let requests = [
        format!(
            "GET /api/public/v1/agents/%FF%FE HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
        ),
        format!(
            "GET /api/public/v1/messages/..%2F..%2Fetc HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
        ),
        format!(
            "GET /api/public/v1/agents/a%00b/conversations?status=%FF HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
        ),
        format!(
            "GET /api/public/v1//agents HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
        ),
        format!(
            "GET /api/public/v1/agents/x/conversations?limit=1&limit=%zz HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
        ),
        format!(
            "GET /api/public/v1/{} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n",
            "a/".repeat(2000)
        ),
        "GARBAGE\r\n\r\n".to_string(),
    ];
    let mut requests: Vec<Vec<u8>> = requests.iter().map(|r| r.as_bytes().to_vec()).collect();
    let mut bad_utf8 = format!(
        "POST /api/public/v1/agents HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\nContent-Length: 4\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    bad_utf8.extend_from_slice(&[0xff, 0xfe, 0xfd, 0xfc]);
    requests.push(bad_utf8);
    for req in &requests {
        let resp = raw(&t, req).await;
        let shown = String::from_utf8_lossy(&req[..req.len().min(80)]).into_owned();
        assert!(resp.starts_with("HTTP/1.1 4"), "{shown} -> {resp:.200}");
    }
    // Still alive.
    assert_eq!(t.get("/agents").await.status, 200);
}

#[tokio::test]
async fn oversize_bodies_get_413() {
    let t = start().await;
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(11 * 1024 * 1024));
    let r = t
        .http
        .post(t.url("/agents"))
        .bearer_auth(&t.key)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await;
    match r {
        Ok(r) => {
            let r = into_resp(r).await;
            assert_err(&r, 413, "too large");
        }
        // The server may close the connection before the client has finished sending.
        Err(e) => assert!(e.is_request() || e.is_body() || e.is_connect(), "{e}"),
    }
    assert_eq!(t.get("/agents").await.body, json!([]));
}

#[tokio::test]
async fn explicit_slugs_must_be_reachable() {
    let t = start().await;
    let seed = |slug: &str| AgentSeed {
        name: "S".into(),
        slug: Some(slug.into()),
        ..Default::default()
    };
    for bad in [
        "acme/web/conversations",
        "acme/resources",
        "env-vars",
        "x/deploy",
        "acme/resources/x",
        "acme/env-vars/x",
        "a%2Fb",
        "with space",
        "Upper",
        "a//b",
        "/lead",
        "trail/",
        "a/./b",
        "a/..",
        "ünï",
        "a?b",
        "a#b",
        "cci_01KRK1V46BXS73CSNK2VR35NPJ",
        "",
    ] {
        let err = t.emu.create_agent(&t.key, seed(bad)).unwrap_err();
        assert_eq!(err.status, 400, "{bad:?}: {err}");
        assert!(err.message.contains("slug"), "{bad:?}: {err}");
        let r = t
            .admin(
                Method::POST,
                "/agents",
                Some(&t.key),
                Some(json!({ "name": "S", "slug": bad })),
            )
            .await;
        assert_err(&r, 400, "slug");
    }
    assert_eq!(t.get("/agents").await.body, json!([]));
    // What the pattern allows is reachable on every route.
    for good in [
        "acme/web",
        "a.b_c-d/e1",
        "deploy/x",
        "conversations-bot",
        "a/b/c",
    ] {
        let a = t.emu.create_agent(&t.key, seed(good)).unwrap();
        assert_eq!(a["agent_id"], good);
        for path in [
            format!("/agents/{good}"),
            format!("/agents/{}", good.replace('/', "%2F")),
            format!("/agents/{good}/conversations"),
            format!("/agents/{good}/env-vars"),
            format!("/agents/{good}/resources"),
        ] {
            assert_eq!(t.get(&path).await.status, 200, "{path}");
        }
    }
}

#[tokio::test]
async fn trailing_slashes_are_unknown_routes_everywhere() {
    let t = start().await;
    t.deployed_agent("Slash").await;
    for path in [
        "/",
        "/agents/",
        "/vaults/",
        "/models/",
        "/artifacts/rules/",
        "/agents/slash/",
        "/agents/slash/conversations/",
        "/agents/slash/env-vars/",
        "/agents/slash/resources/",
        "/agents//slash",
        "/agents/slash//conversations",
        "/conversations/start/",
        "/integrations/llm/",
    ] {
        let r = t.get(path).await;
        assert_err(&r, 404, "route not found");
    }
    let r = t.post("/agents/", json!({ "name": "x" })).await;
    assert_err(&r, 404, "route not found");
    // Without the slash, the same routes work.
    for path in [
        "/agents",
        "/vaults",
        "/agents/slash",
        "/agents/slash/conversations",
    ] {
        assert_eq!(t.get(path).await.status, 200, "{path}");
    }
    // The control API too.
    for (method, path) in [
        (Method::GET, "/faults/"),
        (Method::GET, "/requests/"),
        (Method::GET, "/health/"),
        (Method::POST, "/agents/slash/script/"),
    ] {
        let r = t.admin(method, path, Some(&t.key), Some(json!({}))).await;
        assert_err(&r, 404, "not found");
    }
}

#[tokio::test]
async fn head_is_accepted_on_every_get_route() {
    let t = start().await;
    let agent = t.deployed_agent("Heady").await;
    let id = agent["id"].as_str().unwrap();
    let (job, msg) = t.start_conv(id, "hi").await;
    for path in [
        "/agents".to_string(),
        format!("/agents/{id}"),
        format!("/agents/{id}/conversations"),
        format!("/conversations/{job}/messages"),
        format!("/messages/{msg}"),
        "/models".to_string(),
        "/connected-channels".to_string(),
    ] {
        let get = t.get(&path).await;
        let head = t.req(Method::HEAD, &path, None).await;
        assert_eq!(head.status, 200, "{path}: {}", head.text);
        assert_eq!(head.text, "", "{path}: HEAD has no body");
        assert_eq!(
            head.headers["content-type"], get.headers["content-type"],
            "{path}"
        );
    }
    // The same checks as GET: authentication, ids, and methods that are not GET routes.
    let r = t.req_as("nr_wrong", Method::HEAD, "/agents", None).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        t.req(Method::HEAD, "/messages/cmsg_1", None).await.status,
        400
    );
    let r = t.req(Method::HEAD, "/conversations/start", None).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "POST");
    let log = t.emu.requests();
    assert!(log.iter().any(|e| e.method == "HEAD" && e.status == 200));
}
