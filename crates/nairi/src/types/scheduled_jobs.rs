//! Scheduled jobs: cron prompts posting to Slack/Discord or running against an agent.

use serde::{Deserialize, Serialize};

use super::common::{Extra, Timestamp, lenient_timestamp, null_as_default, open_enum};

open_enum! {
    /// Where a scheduled job runs.
    pub enum ScheduledJobType {
        /// Posts in a Slack channel (needs `connected_channel_id`).
        Slack => "slack",
        /// Posts in a Discord channel (needs `connected_channel_id`).
        Discord => "discord",
        /// Runs against an agent in the app (needs `agent_id`).
        App => "app",
    }
}

/// A cron-driven prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct ScheduledJob {
    /// The `sj_...` id.
    pub id: String,
    /// 5-field cron expression.
    #[serde(default, deserialize_with = "null_as_default")]
    pub schedule: String,
    /// IANA time zone of the schedule.
    #[serde(default, deserialize_with = "null_as_default")]
    pub timezone: String,
    /// The prompt sent on each run.
    #[serde(default, deserialize_with = "null_as_default")]
    pub prompt: String,
    /// Platform channel id (Slack `C...`, Discord snowflake); `None` for app jobs.
    #[serde(default)]
    pub connected_channel_id: Option<String>,
    /// The agent of an app job.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Where it runs.
    #[serde(default)]
    pub job_type: Option<ScheduledJobType>,
    /// Post each run in a thread.
    #[serde(default)]
    pub is_threaded: Option<bool>,
    /// Whether the job fires.
    #[serde(default)]
    pub is_enabled: Option<bool>,
    /// Last run, or the last enable/creation before the first run.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub last_executed_at: Option<Timestamp>,
    /// Creation time.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub created_at: Option<Timestamp>,
    /// Last change.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub updated_at: Option<Timestamp>,
    /// Fields this SDK version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Body of `POST /scheduled-jobs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreateScheduledJob {
    /// 5-field cron expression, at least 5 minutes apart.
    pub schedule: String,
    /// IANA time zone, e.g. `UTC` or `America/New_York`.
    pub timezone: String,
    /// The prompt (non-empty).
    pub prompt: String,
    /// Where it runs.
    pub job_type: ScheduledJobType,
    /// Platform channel id; required for Slack and Discord jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_channel_id: Option<String>,
    /// Agent id or slug; required for app jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Post each run in a thread (server default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_threaded: Option<bool>,
    /// Whether the job fires (server default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl CreateScheduledJob {
    /// A job with the required fields; set `connected_channel_id` or `agent_id` as the type needs.
    pub fn new(
        schedule: impl Into<String>,
        timezone: impl Into<String>,
        prompt: impl Into<String>,
        job_type: ScheduledJobType,
    ) -> Self {
        CreateScheduledJob {
            extra: Default::default(),
            schedule: schedule.into(),
            timezone: timezone.into(),
            prompt: prompt.into(),
            job_type,
            connected_channel_id: None,
            agent_id: None,
            is_threaded: None,
            is_enabled: None,
        }
    }

    /// A Slack or Discord job posting in the channel with this platform id.
    pub fn in_channel(
        job_type: ScheduledJobType,
        channel_id: impl Into<String>,
        schedule: impl Into<String>,
        timezone: impl Into<String>,
        prompt: impl Into<String>,
    ) -> Self {
        CreateScheduledJob {
            connected_channel_id: Some(channel_id.into()),
            ..Self::new(schedule, timezone, prompt, job_type)
        }
    }

    /// An app job running against this agent (id or slug).
    pub fn in_app(
        agent_id: impl Into<String>,
        schedule: impl Into<String>,
        timezone: impl Into<String>,
        prompt: impl Into<String>,
    ) -> Self {
        CreateScheduledJob {
            agent_id: Some(agent_id.into()),
            ..Self::new(schedule, timezone, prompt, ScheduledJobType::App)
        }
    }

    /// Checks the shape of every field; the channel or agent a type needs is checked for the
    /// known types only (a newer type's needs are the server's to check).
    pub(crate) fn validate(&self) -> crate::Result<()> {
        validate_schedule(&self.schedule)?;
        validate_timezone(&self.timezone)?;
        validate_prompt(&self.prompt)?;
        validate_job_type(&self.job_type)?;
        if let Some(channel) = &self.connected_channel_id {
            validate_channel(channel)?;
        }
        match self.job_type {
            ScheduledJobType::Slack | ScheduledJobType::Discord
                if self.connected_channel_id.is_none() =>
            {
                Err(crate::Error::validation(
                    "connected_channel_id",
                    format!("is required for {} jobs", self.job_type),
                ))
            }
            ScheduledJobType::App
                if self.agent_id.as_deref().is_none_or(|a| a.trim().is_empty()) =>
            {
                Err(crate::Error::validation(
                    "agent_id",
                    "is required for app jobs",
                ))
            }
            _ => Ok(()),
        }
    }
}

/// Body of `PATCH /scheduled-jobs/{job_id}`; at least one field must be set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UpdateScheduledJob {
    /// New cron expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// New time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// New prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// New type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_type: Option<ScheduledJobType>,
    /// New platform channel id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_channel_id: Option<String>,
    /// New agent (app jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    /// Post in threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_threaded: Option<bool>,
    /// Enable or disable (re-enabling resets `last_executed_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_enabled: Option<bool>,
    /// Fields this SDK version does not model, sent as top-level body fields (a key here
    /// replaces a modelled field of the same name).
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub extra: Extra,
}

impl UpdateScheduledJob {
    /// Whether no field is set (the server answers `400 no fields to update`).
    pub fn is_empty(&self) -> bool {
        *self == UpdateScheduledJob::default()
    }

    pub(crate) fn validate(&self) -> crate::Result<()> {
        if self.is_empty() {
            return Err(crate::Error::validation("body", "no fields to update"));
        }
        if let Some(s) = &self.schedule {
            validate_schedule(s)?;
        }
        if let Some(tz) = &self.timezone {
            validate_timezone(tz)?;
        }
        if let Some(p) = &self.prompt {
            validate_prompt(p)?;
        }
        if let Some(t) = &self.job_type {
            validate_job_type(t)?;
        }
        if let Some(c) = &self.connected_channel_id {
            validate_channel(c)?;
        }
        if let Some(a) = &self.agent_id
            && a.trim().is_empty()
        {
            return Err(crate::Error::validation("agent_id", "must not be empty"));
        }
        Ok(())
    }
}

/// Only the shape is checked here (5 fields); the server checks the 5-minute minimum.
fn validate_schedule(schedule: &str) -> crate::Result<()> {
    let fields = schedule.split_whitespace().count();
    if fields != 5 {
        return Err(crate::Error::validation(
            "schedule",
            format!(
                "{schedule:?} has {fields} fields; expected 5 (minute hour day-of-month month day-of-week)"
            ),
        ));
    }
    Ok(())
}

fn validate_timezone(tz: &str) -> crate::Result<()> {
    if tz.trim().is_empty() || tz.chars().any(char::is_whitespace) {
        return Err(crate::Error::validation(
            "timezone",
            format!("{tz:?} is not an IANA time zone like UTC or America/New_York"),
        ));
    }
    Ok(())
}

fn validate_prompt(prompt: &str) -> crate::Result<()> {
    if prompt.trim().is_empty() {
        return Err(crate::Error::validation("prompt", "must not be empty"));
    }
    Ok(())
}

/// Only an empty type is refused: a type this SDK version does not know
/// (`ScheduledJobType::Unknown`) goes to the server, which may support it.
fn validate_job_type(t: &ScheduledJobType) -> crate::Result<()> {
    if t.as_str().trim().is_empty() {
        return Err(crate::Error::validation(
            "job_type",
            format!(
                "must not be empty (one of {})",
                ScheduledJobType::KNOWN.join(", ")
            ),
        ));
    }
    Ok(())
}

/// The `cc_...` record id of a channel is a common mistake: jobs need the platform id.
fn validate_channel(channel: &str) -> crate::Result<()> {
    if channel.trim().is_empty() {
        return Err(crate::Error::validation(
            "connected_channel_id",
            "must not be empty",
        ));
    }
    if channel.starts_with("cc_") {
        return Err(crate::Error::validation(
            "connected_channel_id",
            format!(
                "{channel:?} is a connected-channel record id; pass the platform channel id \
                 (the channel's `channel_id`, e.g. C09M8FRJYTF)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_is_validated() {
        let ok = CreateScheduledJob::in_channel(
            ScheduledJobType::Slack,
            "C09M8FRJYTF",
            "0 9 * * *",
            "UTC",
            "report",
        );
        ok.validate().unwrap();
        CreateScheduledJob::in_app("my-agent", "*/5 * * * *", "Europe/Sofia", "p")
            .validate()
            .unwrap();
        let bad = [
            CreateScheduledJob::new("0 9 * *", "UTC", "p", ScheduledJobType::App),
            CreateScheduledJob::new("0 9 * * *", "UTC", "p", ScheduledJobType::Slack),
            CreateScheduledJob::new("0 9 * * *", "UTC", "p", ScheduledJobType::App),
            CreateScheduledJob::in_app("a", "0 9 * * *", "", "p"),
            CreateScheduledJob::in_app("a", "0 9 * * *", "UTC", " "),
            CreateScheduledJob::in_channel(
                ScheduledJobType::Discord,
                "cc_01KGFV0WN7G22N8HWYDWFHAYBQ",
                "0 9 * * *",
                "UTC",
                "p",
            ),
            CreateScheduledJob::in_app("a", "0 9 * * *", "UTC", "p").with_type(""),
        ];
        for b in bad {
            assert_eq!(
                b.validate().unwrap_err().kind(),
                crate::ErrorKind::Validation,
                "{b:?}"
            );
        }
    }

    #[test]
    fn unknown_job_types_pass_to_the_server() {
        CreateScheduledJob::new("0 9 * * *", "UTC", "p", ScheduledJobType::from("email"))
            .validate()
            .unwrap();
        UpdateScheduledJob {
            job_type: Some(ScheduledJobType::from("email")),
            ..Default::default()
        }
        .validate()
        .unwrap();
    }

    impl CreateScheduledJob {
        fn with_type(mut self, t: &str) -> Self {
            self.job_type = ScheduledJobType::from(t);
            self
        }
    }

    #[test]
    fn empty_update_is_refused() {
        let e = UpdateScheduledJob::default().validate().unwrap_err();
        assert!(e.to_string().contains("no fields to update"));
        UpdateScheduledJob {
            is_enabled: Some(false),
            ..Default::default()
        }
        .validate()
        .unwrap();
    }
}
