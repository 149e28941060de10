//! `client.scheduled_jobs()`: cron-driven prompts.

use crate::client::Client;
use crate::error::Result;
use crate::operations as op;
use crate::types::{CreateScheduledJob, ScheduledJob, UpdateScheduledJob};

/// The scheduled jobs API group.
#[derive(Debug, Clone, Copy)]
pub struct ScheduledJobs<'c> {
    client: &'c Client,
}

impl<'c> ScheduledJobs<'c> {
    pub(crate) fn new(client: &'c Client) -> Self {
        ScheduledJobs { client }
    }

    /// `GET /scheduled-jobs`.
    pub async fn list(&self) -> Result<Vec<ScheduledJob>> {
        self.client
            .call(op::SCHEDULED_JOBS_LIST.request(&[])?)
            .await
    }

    /// `POST /scheduled-jobs`.
    pub async fn create(&self, body: &CreateScheduledJob) -> Result<ScheduledJob> {
        body.validate()?;
        self.client
            .call(op::SCHEDULED_JOBS_CREATE.request(&[])?.json(body)?)
            .await
    }

    /// `GET /scheduled-jobs/{job_id}`.
    pub async fn get(&self, job_id: &str) -> Result<ScheduledJob> {
        self.client
            .call(op::SCHEDULED_JOBS_GET.request(&[job_id])?)
            .await
    }

    /// `PATCH /scheduled-jobs/{job_id}`: at least one field must be set.
    pub async fn update(&self, job_id: &str, body: &UpdateScheduledJob) -> Result<ScheduledJob> {
        let req = op::SCHEDULED_JOBS_UPDATE.request(&[job_id])?;
        body.validate()?;
        self.client.call(req.json(body)?).await
    }

    /// `DELETE /scheduled-jobs/{job_id}`.
    pub async fn delete(&self, job_id: &str) -> Result<()> {
        self.client
            .call_empty(op::SCHEDULED_JOBS_DELETE.request(&[job_id])?)
            .await
    }
}
