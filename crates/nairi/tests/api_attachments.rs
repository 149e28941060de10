//! Attachments: multipart upload (bytes and files), base64 download, safe saving.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use nairi::ErrorKind;
use nairi::types::{FileUpload, MAX_ATTACHMENT_BYTES};
use serde_json::json;

#[tokio::test]
async fn upload_bytes_as_multipart_file_field() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/attachments",
        201,
        json!({"attachment_id": "att_01KS0000000000000000000000"}),
    )
    .await;
    let data = b"\x89PNG\r\n\x1a\n binary \x00\xff".to_vec();
    let up = client
        .attachments()
        .upload(FileUpload::new("screenshot.png", "image/png", data.clone()))
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/attachments");
    assert_no_query(&req);
    let part = single_file_part(&req);
    assert_eq!(part.filename.as_deref(), Some("screenshot.png"));
    assert_eq!(part.content_type.as_deref(), Some("image/png"));
    assert_eq!(part.data, data);
    assert_eq!(up.attachment_id, "att_01KS0000000000000000000000");
}

#[tokio::test]
async fn non_ascii_filenames_travel_as_utf8() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/attachments",
        201,
        json!({"attachment_id": "att_u"}),
    )
    .await;
    client
        .attachments()
        .upload(FileUpload::new(
            "résumé 2026.pdf",
            "application/pdf",
            &b"%PDF"[..],
        ))
        .await
        .unwrap();
    let part = single_file_part(&only_request(&server).await);
    assert_eq!(part.filename.as_deref(), Some("résumé 2026.pdf"));
    assert_eq!(part.content_type.as_deref(), Some("application/pdf"));
}

#[tokio::test]
async fn upload_answer_keeps_extra_fields() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/attachments",
        201,
        json!({"attachment_id": "att_1", "size_bytes": 2}),
    )
    .await;
    let up = client
        .attachments()
        .upload(FileUpload::new("a.txt", "text/plain", &b"hi"[..]))
        .await
        .unwrap();
    assert_eq!(up.attachment_id, "att_1");
    assert_eq!(up.extra["size_bytes"], 2);
}

#[tokio::test]
async fn upload_file_reads_name_and_guesses_type() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/attachments",
        201,
        json!({"attachment_id": "att_2"}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    tokio::fs::write(&file, "# Notes\n").await.unwrap();
    let up = client.attachments().upload_file(&file).await.unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "POST", "/attachments");
    let part = single_file_part(&req);
    assert_eq!(part.filename.as_deref(), Some("notes.md"));
    assert_eq!(part.content_type.as_deref(), Some("text/markdown"));
    assert_eq!(part.data, b"# Notes\n");
    assert_eq!(up.attachment_id, "att_2");
}

#[tokio::test]
async fn upload_file_unknown_extension_is_octet_stream() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/attachments",
        201,
        json!({"attachment_id": "att_3"}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blob");
    tokio::fs::write(&file, [1u8, 2, 3]).await.unwrap();
    client.attachments().upload_file(&file).await.unwrap();
    let part = single_file_part(&only_request(&server).await);
    assert_eq!(
        part.content_type.as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(part.data, [1, 2, 3]);
}

#[tokio::test]
async fn upload_validation_sends_nothing() {
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    let att = client.attachments();
    assert_validation(
        att.upload(FileUpload::new("empty.txt", "text/plain", Vec::new()))
            .await,
        "file",
    );
    let too_big = vec![0u8; MAX_ATTACHMENT_BYTES as usize + 1];
    assert_validation(
        att.upload(FileUpload::new(
            "big.bin",
            "application/octet-stream",
            too_big,
        ))
        .await,
        "file",
    );
    assert_validation(
        att.upload(FileUpload::new("", "text/plain", &b"x"[..]))
            .await,
        "filename",
    );
    assert_validation(
        att.upload(FileUpload::new("a\"b.txt", "text/plain", &b"x"[..]))
            .await,
        "filename",
    );
    assert_validation(
        att.upload(FileUpload::new("a.txt", "plain", &b"x"[..]))
            .await,
        "content_type",
    );
    assert_validation(
        att.upload(FileUpload::new("a.txt", "", &b"x"[..])).await,
        "content_type",
    );

    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    tokio::fs::write(&empty, b"").await.unwrap();
    assert_validation(att.upload_file(&empty).await, "file");
    let big = dir.path().join("big.bin");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(MAX_ATTACHMENT_BYTES + 1).unwrap();
    assert_validation(att.upload_file(&big).await, "file");
    let missing = dir.path().join("missing.txt");
    match att.upload_file(&missing).await.unwrap_err() {
        nairi::Error::Io { path, source } => {
            assert_eq!(path, missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected an Io error, got {other:?}"),
    }
    assert_validation(att.upload_file(dir.path()).await, "path");
}

#[tokio::test]
async fn exactly_the_limit_is_accepted() {
    let (server, client) = setup().await;
    mount(
        &server,
        "POST",
        "/attachments",
        201,
        json!({"attachment_id": "att_max"}),
    )
    .await;
    let data = vec![7u8; MAX_ATTACHMENT_BYTES as usize];
    let up = client
        .attachments()
        .upload(FileUpload::new("max.bin", "application/octet-stream", data))
        .await
        .unwrap();
    assert_eq!(up.attachment_id, "att_max");
    let part = single_file_part(&only_request(&server).await);
    assert_eq!(part.data.len() as u64, MAX_ATTACHMENT_BYTES);
}

#[tokio::test]
async fn get_attachment_decodes_base64() {
    let (server, client) = setup().await;
    let bytes: Vec<u8> = (0u8..=255).collect();
    mount(
        &server,
        "GET",
        "/attachments/att_01KS0000000000000000000000",
        200,
        json!({
            "id": "att_01KS0000000000000000000000", "filename": "screenshot.png",
            "content_type": "image/png", "size_bytes": 256, "created_at": TS,
            "data": STANDARD.encode(&bytes), "sha256": "abc"
        }),
    )
    .await;
    let a = client
        .attachments()
        .get("att_01KS0000000000000000000000")
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_route(&req, "GET", "/attachments/att_01KS0000000000000000000000");
    assert_no_body(&req);
    assert_eq!(a.id, "att_01KS0000000000000000000000");
    assert_eq!(a.filename.as_deref(), Some("screenshot.png"));
    assert_eq!(a.content_type.as_deref(), Some("image/png"));
    assert_eq!(a.size_bytes, Some(256));
    assert_eq!(a.created_at, Some(ts(TS)));
    assert_eq!(&a.data[..], &bytes[..]);
    assert_eq!(a.extra["sha256"], "abc");
    let dbg = format!("{a:?}");
    assert!(dbg.contains("<256 bytes>"), "{dbg}");
}

#[tokio::test]
async fn get_attachment_with_bad_base64_is_a_decode_error() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/attachments/att_1",
        200,
        json!({"id": "att_1", "filename": "a", "data": "not base64!!"}),
    )
    .await;
    let err = client.attachments().get("att_1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
    match &err {
        nairi::Error::Decode {
            endpoint,
            message,
            snippet,
        } => {
            assert_eq!(endpoint, "GET /attachments/att_1");
            assert!(message.contains("base64"), "{message}");
            assert!(snippet.contains("not base64"), "{snippet}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn get_attachment_minimal_shape() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/attachments/att_1",
        200,
        json!({"id": "att_1", "data": "aGk="}),
    )
    .await;
    let a = client.attachments().get("att_1").await.unwrap();
    assert_eq!(a.filename, None);
    assert_eq!(a.content_type, None);
    assert_eq!(&a.data[..], b"hi");
    assert_eq!(a.safe_filename(), "att_1.bin");
}

#[tokio::test]
async fn attachment_ids_are_encoded_and_validated() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/attachments/..%2F..%2Fetc",
        200,
        json!({"id": "x", "data": ""}),
    )
    .await;
    client.attachments().get("../../etc").await.unwrap();
    assert_route(
        &only_request(&server).await,
        "GET",
        "/attachments/..%2F..%2Fetc",
    );
    let (server, client) = setup().await;
    expect_no_request(&server).await;
    assert_validation(client.attachments().get("").await, "attachment_id");
}

#[tokio::test]
async fn save_to_dir_sanitises_the_server_name() {
    let (server, client) = setup().await;
    let cases = [
        ("../../evil.sh", "evil.sh"),
        ("..", "attachment.bin"),
        ("sub/dir/report final (1).pdf", "report_final__1_.pdf"),
    ];
    for (i, (name, _)) in cases.iter().enumerate() {
        mount(
            &server,
            "GET",
            &format!("/attachments/att_{i}"),
            200,
            json!({"id": format!("att_{i}"), "filename": name, "data": "aGk="}),
        )
        .await;
    }
    mount(
        &server,
        "GET",
        "/attachments/att_none",
        200,
        json!({"id": "att_none", "filename": null, "data": "aGk="}),
    )
    .await;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("downloads");
    std::fs::create_dir(&dir).unwrap();
    for (i, (_, want)) in cases.iter().enumerate() {
        let a = client.attachments().get(&format!("att_{i}")).await.unwrap();
        let written = a.save_to_dir(&dir).await.unwrap();
        assert_eq!(written, dir.join(want));
        assert_eq!(std::fs::read(&written).unwrap(), b"hi");
    }
    let a = client.attachments().get("att_none").await.unwrap();
    assert_eq!(a.save_to_dir(&dir).await.unwrap(), dir.join("att_none.bin"));
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "att_none.bin",
            "attachment.bin",
            "evil.sh",
            "report_final__1_.pdf"
        ]
    );
    assert_eq!(
        std::fs::read_dir(root.path()).unwrap().count(),
        1,
        "nothing written outside the target directory"
    );
}

#[tokio::test]
async fn save_to_missing_dir_is_an_io_error() {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/attachments/att_1",
        200,
        json!({"id": "att_1", "filename": "a.txt", "data": "aGk="}),
    )
    .await;
    let a = client.attachments().get("att_1").await.unwrap();
    let root = tempfile::tempdir().unwrap();
    let missing = root.path().join("nope");
    let err = a.save_to_dir(&missing).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(err.kind().class_name(), "FileSystemError");
    match &err {
        nairi::Error::Io { path, source } => {
            assert_eq!(path, &missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("nope"), "{err}");
    // Usable with `?` in a function returning the SDK's result.
    async fn save(a: &nairi::types::Attachment, dir: &std::path::Path) -> nairi::Result<()> {
        a.save_to_dir(dir).await?;
        Ok(())
    }
    assert_eq!(save(&a, &missing).await.unwrap_err().kind(), ErrorKind::Io);
    assert!(save(&a, root.path()).await.is_ok());
}

#[tokio::test]
async fn get_attachment_without_data_is_a_decode_error_not_empty_bytes() {
    for body in [
        json!({"id": "att_1", "filename": "a.txt"}),
        json!({"id": "att_1", "filename": "a.txt", "data": null}),
    ] {
        let (server, client) = setup().await;
        mount(&server, "GET", "/attachments/att_1", 200, body.clone()).await;
        let err = client.attachments().get("att_1").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "{body}: {err}");
        assert!(err.to_string().contains("data"), "{err}");
    }
    // An explicitly empty file is still an (empty) file.
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/attachments/att_1",
        200,
        json!({"id": "att_1", "data": ""}),
    )
    .await;
    assert!(
        client
            .attachments()
            .get("att_1")
            .await
            .unwrap()
            .data
            .is_empty()
    );
}

async fn downloaded(name: &str) -> nairi::types::Attachment {
    let (server, client) = setup().await;
    mount(
        &server,
        "GET",
        "/attachments/att_1",
        200,
        json!({"id": "att_1", "filename": name, "data": "aGk="}),
    )
    .await;
    client.attachments().get("att_1").await.unwrap()
}

#[tokio::test]
async fn save_to_dir_handles_the_longest_name() {
    let long = format!("{}.png", "a".repeat(400));
    let a = downloaded(&long).await;
    let dir = tempfile::tempdir().unwrap();
    let written = a.save_to_dir(dir.path()).await.unwrap();
    assert_eq!(written.file_name().unwrap().len(), 255);
    assert_eq!(std::fs::read(&written).unwrap(), b"hi");
}

#[tokio::test]
async fn save_to_dir_replaces_an_existing_file() {
    let a = downloaded("notes.txt").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"an older, longer version").unwrap();
    let written = a.save_to_dir(dir.path()).await.unwrap();
    assert_eq!(written, dir.path().join("notes.txt"));
    assert_eq!(std::fs::read(&written).unwrap(), b"hi");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left behind"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn save_to_dir_never_writes_through_a_symlink() {
    let a = downloaded("report.pdf").await;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("downloads");
    std::fs::create_dir(&dir).unwrap();
    let outside = root.path().join("precious");
    std::fs::write(&outside, b"keep me").unwrap();
    // Someone planted `report.pdf` as a link to a file outside the directory.
    std::os::unix::fs::symlink(&outside, dir.join("report.pdf")).unwrap();
    let written = a.save_to_dir(&dir).await.unwrap();
    assert_eq!(written, dir.join("report.pdf"));
    assert_eq!(
        std::fs::read(&outside).unwrap(),
        b"keep me",
        "the link target is untouched"
    );
    let meta = std::fs::symlink_metadata(&written).unwrap();
    assert!(
        meta.file_type().is_file(),
        "the link was replaced by a regular file"
    );
    assert_eq!(std::fs::read(&written).unwrap(), b"hi");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[tokio::test]
async fn save_to_dir_refuses_a_directory_of_that_name() {
    let a = downloaded("out").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    std::fs::write(dir.path().join("out").join("inner"), b"x").unwrap();
    let err = a.save_to_dir(dir.path()).await.unwrap_err();
    assert!(
        matches!(&err, nairi::Error::Io { path, source }
            if path == &dir.path().join("out")
                && source.kind() == std::io::ErrorKind::AlreadyExists),
        "{err:?}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("out").join("inner")).unwrap(),
        b"x"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left behind"
    );
}
