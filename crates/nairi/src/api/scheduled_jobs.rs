//! `client.scheduled_jobs()`: cron-driven prompts.

use crate::client::Client;
use crate::error::Result;
use crate::path::segment;
use crate::transport::ApiRequest;
use crate::types::{CreateScheduledJob, ScheduledJob, UpdateScheduledJob};

/// The scheduled jobs API group.
#[derive(Debug, Clone, Copy)]
pub struct ScheduledJobs<'c> {
    client: &'c Client,
}

fn job_path(job_id: &str) -> Result<String> {
    Ok(format!("/scheduled-jobs/{}", segment(job_id, "job_id")?))
}

impl<'c> ScheduledJobs<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        ScheduledJobs { client }
    }

    /// `GET /scheduled-jobs`.
    pub async fn list(&self) -> Result<Vec<ScheduledJob>> {
        self.client
            .call(ApiRequest::get("/scheduled-jobs".into()))
            .await
    }

    /// `POST /scheduled-jobs`.
    pub async fn create(&self, body: &CreateScheduledJob) -> Result<ScheduledJob> {
        body.validate()?;
        self.client
            .call(ApiRequest::post("/scheduled-jobs".into()).json(body)?)
            .await
    }

    /// `GET /scheduled-jobs/{job_id}`.
    pub async fn get(&self, job_id: &str) -> Result<ScheduledJob> {
        self.client.call(ApiRequest::get(job_path(job_id)?)).await
    }

    /// `PATCH /scheduled-jobs/{job_id}`: at least one field must be set.
    pub async fn update(&self, job_id: &str, body: &UpdateScheduledJob) -> Result<ScheduledJob> {
        let path = job_path(job_id)?;
        body.validate()?;
        self.client.call(ApiRequest::patch(path).json(body)?).await
    }

    /// `DELETE /scheduled-jobs/{job_id}`.
    pub async fn delete(&self, job_id: &str) -> Result<()> {
        self.client
            .call_empty(ApiRequest::delete(job_path(job_id)?))
            .await
    }
}
