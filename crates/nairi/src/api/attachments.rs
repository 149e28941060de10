//! `client.attachments()`: upload files to reference in prompts, download agent outputs.

use std::path::Path;

use crate::client::Client;
use crate::error::Result;
use crate::operations as op;
use crate::types::{Attachment, AttachmentUpload, FileUpload, MAX_ATTACHMENT_BYTES};

/// The attachments API group.
#[derive(Debug, Clone, Copy)]
pub struct Attachments<'c> {
    client: &'c Client,
}

impl<'c> Attachments<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Attachments { client }
    }

    /// `POST /attachments`: uploads one file (1 byte to 50 MB) as multipart field `file`.
    ///
    /// Never retried after the request may have reached the server (no duplicate uploads).
    pub async fn upload(&self, file: FileUpload) -> Result<AttachmentUpload> {
        file.validate(MAX_ATTACHMENT_BYTES)?;
        self.client
            .call(op::ATTACHMENTS_UPLOAD.request(&[])?.file(file.into_part()))
            .await
    }

    /// Reads `path` (name = its last component, MIME type guessed from the extension) and
    /// uploads it; empty and oversized files are refused before anything is read or sent.
    pub async fn upload_file(&self, path: impl AsRef<Path>) -> Result<AttachmentUpload> {
        let file = FileUpload::read(path.as_ref(), MAX_ATTACHMENT_BYTES).await?;
        self.upload(file).await
    }

    /// `GET /attachments/{attachment_id}`: metadata and the decoded bytes.
    pub async fn get(&self, attachment_id: &str) -> Result<Attachment> {
        self.client
            .call(op::ATTACHMENTS_GET.request(&[attachment_id])?)
            .await
    }
}
