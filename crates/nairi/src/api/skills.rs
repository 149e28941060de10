//! `client.skills()`: skill packages (`.zip`/`.skill` archives with a `SKILL.md`).

use std::path::Path;

use crate::client::Client;
use crate::error::Result;
use crate::operations as op;
use crate::types::{
    FileUpload, MAX_SKILL_BYTES, Skill, validate_skill_file, validate_skill_filename,
};

/// The skills API group (`/artifacts/skills`).
#[derive(Debug, Clone, Copy)]
pub struct Skills<'c> {
    client: &'c Client,
}

impl<'c> Skills<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Skills { client }
    }

    /// `GET /artifacts/skills`: every skill of the organisation.
    pub async fn list(&self) -> Result<Vec<Skill>> {
        self.client.call(op::SKILLS_LIST.request(&[])?).await
    }

    /// `POST /artifacts/skills`: uploads a new skill archive (`.zip`/`.skill`, at most 32 MiB)
    /// as multipart field `file`.
    pub async fn create(&self, archive: FileUpload) -> Result<Skill> {
        validate_skill_file(&archive)?;
        self.client
            .call(op::SKILLS_CREATE.request(&[])?.file(archive.into_part()))
            .await
    }

    /// Reads the archive at `path` and creates a skill from it.
    pub async fn create_file(&self, path: impl AsRef<Path>) -> Result<Skill> {
        self.create(read_archive(path.as_ref()).await?).await
    }

    /// `GET /artifacts/skills/{skill_id}`: one skill's metadata.
    pub async fn get(&self, skill_id: &str) -> Result<Skill> {
        self.client.call(op::SKILLS_GET.request(&[skill_id])?).await
    }

    /// `PUT /artifacts/skills/{skill_id}`: uploads a new version of the archive.
    pub async fn replace(&self, skill_id: &str, archive: FileUpload) -> Result<Skill> {
        let req = op::SKILLS_REPLACE.request(&[skill_id])?;
        validate_skill_file(&archive)?;
        self.client.call(req.file(archive.into_part())).await
    }

    /// Reads the archive at `path` and uploads it as the skill's new version.
    pub async fn replace_file(&self, skill_id: &str, path: impl AsRef<Path>) -> Result<Skill> {
        let archive = read_archive(path.as_ref()).await?;
        self.replace(skill_id, archive).await
    }

    /// `DELETE /artifacts/skills/{skill_id}`: fails (400) while attached to an agent.
    pub async fn delete(&self, skill_id: &str) -> Result<()> {
        self.client
            .call_empty(op::SKILLS_DELETE.request(&[skill_id])?)
            .await
    }
}

/// Reads an archive from disk (checking its extension first) as `application/zip`.
async fn read_archive(path: &Path) -> Result<FileUpload> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    validate_skill_filename(&name)?;
    let mut file = FileUpload::read(path, MAX_SKILL_BYTES).await?;
    file.content_type = "application/zip".into();
    Ok(file)
}
