//! Vaults and vault secrets against wiremock; secret values never reach Debug output.

mod common;

use common::*;
use nairi::types::{CreateSecret, CreateVault, UpdateSecret, UpdateVault};
use serde_json::json;

fn vault_json(id: &str) -> serde_json::Value {
    json!({"id": id, "name": "Production Secrets", "description": "Production environment secrets",
           "secrets_count": 1, "created_at": TS, "updated_at": TS})
}

fn secret_json(id: &str) -> serde_json::Value {
    json!({"id": id, "env_key": "DATABASE_URL", "allowed_domains": ["*.example.com"],
           "created_at": "2026-04-25T11:45:19.000Z", "updated_at": "2026-04-25T11:45:19.000Z"})
}

#[tokio::test]
async fn list_vaults() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/vaults",
        200,
        json!([vault_json("vlt_1"), {"id": "vlt_2", "name": "B", "description": null}]),
    )
    .await;
    let vaults = client.vaults().list().await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/vaults");
    assert_no_body(&req);
    assert_no_query(&req);
    assert_eq!(vaults.len(), 2);
    assert_eq!(vaults[0].name, "Production Secrets");
    assert_eq!(
        vaults[0].description.as_deref(),
        Some("Production environment secrets")
    );
    assert_eq!(vaults[0].secrets_count, Some(1));
    assert_eq!(vaults[1].description, None);
    assert_eq!(vaults[1].secrets_count, None);
}

#[tokio::test]
async fn create_vault() {
    let (server, client) = setup().await;
    mount(&server, "POST", "/vaults", 201, vault_json("vlt_1")).await;
    let body = CreateVault {
        description: Some("Production environment secrets".into()),
        ..CreateVault::new("Production Secrets")
    };
    let v = client.vaults().create(&body).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/vaults");
    assert_json(
        &req,
        json!({"name": "Production Secrets", "description": "Production environment secrets"}),
    );
    assert_eq!(v.id, "vlt_1");
}

#[tokio::test]
async fn create_vault_without_description() {
    let (server, client) = setup().await;
    mount(&server, "POST", "/vaults", 201, vault_json("vlt_1")).await;
    client
        .vaults()
        .create(&CreateVault::new("V"))
        .await
        .unwrap();
    assert_json(&only_request(&server).await, json!({"name": "V"}));
}

#[tokio::test]
async fn get_vault() {
    let (server, client) = setup().await;
    mount(&server, "GET", "/vaults/vlt_1", 200, vault_json("vlt_1")).await;
    let v = client.vaults().get("vlt_1").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/vaults/vlt_1");
    assert_no_body(&req);
    assert_eq!(v.created_at, Some(ts(TS)));
}

#[tokio::test]
async fn update_vault() {
    let (server, client) = setup().await;
    let mut answer = vault_json("vlt_1");
    answer["description"] = json!("rotated");
    mount(&server, "PATCH", "/vaults/vlt_1", 200, answer).await;
    let body = UpdateVault {
        description: Some("rotated".into()),
        ..Default::default()
    };
    let vault = client.vaults().update("vlt_1", &body).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "PATCH", "/vaults/vlt_1");
    assert_json(&req, json!({"description": "rotated"}));
    assert_eq!(vault.id, "vlt_1");
    assert_eq!(vault.name, "Production Secrets");
    assert_eq!(vault.description.as_deref(), Some("rotated"));
    assert_eq!(vault.secrets_count, Some(1));
    assert_eq!(vault.created_at, Some(ts(TS)));
    assert!(vault.extra.is_empty());
}

#[tokio::test]
async fn empty_vault_update_is_a_no_op_request() {
    let (server, client) = setup().await;
    mount(&server, "PATCH", "/vaults/vlt_1", 200, vault_json("vlt_1")).await;
    client
        .vaults()
        .update("vlt_1", &UpdateVault::default())
        .await
        .unwrap();
    assert_json(&only_request(&server).await, json!({}));
}

#[tokio::test]
async fn delete_vault() {
    let (server, client) = setup().await;
    mount_204(&server, "DELETE", "/vaults/vlt_1").await;
    client.vaults().delete("vlt_1").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "DELETE", "/vaults/vlt_1");
    assert_no_body(&req);
}

#[tokio::test]
async fn vault_validation() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let vaults = client.vaults();
    assert_validation(vaults.create(&CreateVault::new("")).await, "name");
    let rename = UpdateVault {
        name: Some("  ".into()),
        ..Default::default()
    };
    assert_validation(vaults.update("vlt_1", &rename).await, "name");
    assert_validation(vaults.get("").await, "vault_id");
    assert_validation(vaults.delete("..").await, "vault_id");
}

#[tokio::test]
async fn list_secrets() {
    let (server, client) = setup().await;
    mount(&server, "GET", "/vaults/vlt_1/secrets", 200, json!([secret_json("sec_01KQ27AQH800XQTQPJZ0DH14SJ"), {"id": "sec_2", "env_key": "K", "allowed_domains": null}])).await;
    let list = client.vaults().secrets().list("vlt_1").await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/vaults/vlt_1/secrets");
    assert_no_body(&req);
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].id, "sec_01KQ27AQH800XQTQPJZ0DH14SJ");
    assert_eq!(list[0].env_key, "DATABASE_URL");
    assert_eq!(list[0].allowed_domains, ["*.example.com"]);
    assert_eq!(list[0].created_at, Some(ts("2026-04-25T11:45:19.000Z")));
    assert!(list[1].allowed_domains.is_empty());
}

#[tokio::test]
async fn create_secret_sends_the_value_but_never_prints_it() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/vaults/vlt_1/secrets",
        201,
        secret_json("sec_1"),
    )
    .await;
    let body = CreateSecret {
        allowed_domains: Some(vec!["*.example.com".into()]),
        ..CreateSecret::new("DATABASE_URL", "postgresql://user:hunter2@db")
    };
    assert!(!format!("{body:?}").contains("hunter2"));
    let s = client
        .vaults()
        .secrets()
        .create("vlt_1", &body)
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/vaults/vlt_1/secrets");
    assert_json(
        &req,
        json!({"env_key": "DATABASE_URL", "value": "postgresql://user:hunter2@db", "allowed_domains": ["*.example.com"]}),
    );
    assert_eq!(s.id, "sec_1");
    assert_eq!(s.allowed_domains, ["*.example.com"]);
}

#[tokio::test]
async fn create_secret_with_defaults() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/vaults/vlt_1/secrets",
        201,
        secret_json("sec_1"),
    )
    .await;
    client
        .vaults()
        .secrets()
        .create("vlt_1", &CreateSecret::new("K", "v"))
        .await
        .unwrap();
    assert_json(
        &only_request(&server).await,
        json!({"env_key": "K", "value": "v"}),
    );
}

#[tokio::test]
async fn update_secret() {
    let (server, client) = setup().await;
    mount(
        &server,
        "PATCH",
        "/vaults/vlt_1/secrets/sec_1",
        200,
        secret_json("sec_1"),
    )
    .await;
    let body = UpdateSecret {
        extra: Default::default(),
        value: Some("rotated-hunter3".into()),
        allowed_domains: Some(vec![]),
    };
    assert!(!format!("{body:?}").contains("hunter3"));
    let s = client
        .vaults()
        .secrets()
        .update("vlt_1", "sec_1", &body)
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "PATCH", "/vaults/vlt_1/secrets/sec_1");
    assert_json(
        &req,
        json!({"value": "rotated-hunter3", "allowed_domains": []}),
    );
    assert_eq!(s.id, "sec_1");
}

#[tokio::test]
async fn delete_secret() {
    let (server, client) = setup().await;
    mount_204(&server, "DELETE", "/vaults/vlt_1/secrets/sec_1").await;
    client
        .vaults()
        .secrets()
        .delete("vlt_1", "sec_1")
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "DELETE", "/vaults/vlt_1/secrets/sec_1");
    assert_no_body(&req);
}

#[tokio::test]
async fn secret_ids_are_encoded() {
    let (server, client) = setup().await;
    mount_204(&server, "DELETE", "/vaults/a%2Fb/secrets/..%2Fx").await;
    client
        .vaults()
        .secrets()
        .delete("a/b", "../x")
        .await
        .unwrap();
    assert_route(
        &only_request(&server).await,
        "DELETE",
        "/vaults/a%2Fb/secrets/..%2Fx",
    );
}

#[tokio::test]
async fn secret_keys_have_no_reserved_prefixes() {
    // Unlike agent env vars, vault secrets reach the agent as placeholders: the server
    // reserves no prefix for them, so neither does the SDK.
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/vaults/vlt_1/secrets",
        201,
        secret_json("sec_1"),
    )
    .await;
    client
        .vaults()
        .secrets()
        .create("vlt_1", &CreateSecret::new("NAIRI_TOKEN", "v"))
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&only_request(&server).await.body).unwrap()["env_key"],
        "NAIRI_TOKEN"
    );
}

#[tokio::test]
async fn secret_validation() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let secrets = client.vaults().secrets();
    for key in ["", "1A", "A-B", "A B", "É"] {
        assert_validation(
            secrets.create("vlt_1", &CreateSecret::new(key, "v")).await,
            "env_key",
        );
    }
    let domains = CreateSecret {
        allowed_domains: Some(vec!["https://api.example.com/".into()]),
        ..CreateSecret::new("K", "v")
    };
    assert_validation(secrets.create("vlt_1", &domains).await, "allowed_domains");
    let blank = UpdateSecret {
        allowed_domains: Some(vec![" ".into()]),
        ..Default::default()
    };
    assert_validation(
        secrets.update("vlt_1", "sec_1", &blank).await,
        "allowed_domains",
    );
    assert_validation(secrets.list("").await, "vault_id");
    assert_validation(
        secrets.update("vlt_1", "", &UpdateSecret::default()).await,
        "secret_id",
    );
    assert_validation(secrets.delete("vlt_1", ".").await, "secret_id");
}
