//! The operation table: each of the API's 54 operations declared once.
//!
//! An [`Operation`] holds what the typed methods, the generic [`crate::Client::call_operation`] and
//! the generated Python and Node facades (through `spec/surface.json`) need: a stable id
//! (`agents.env_vars.update`), the HTTP method and path template, the query and body kinds,
//! the result type and the retry class. The typed methods build their requests from it, and
//! the generic call dispatches to the typed methods, so both run the same validation, path
//! encoding, retries and error mapping.
//!
//! ```no_run
//! # async fn demo(client: nairi::Client) -> nairi::Result<()> {
//! use nairi::operations::{CallArgs, find};
//! let op = find("agents.get").expect("a known operation");
//! assert_eq!((op.method, op.path), ("GET", "/agents/{agent_id}"));
//! let agent = client
//!     .call_operation("agents.get", CallArgs::new().path_param("agent_id", "support-bot"))
//!     .await?;
//! println!("{}", agent["name"]);
//! # Ok(()) }
//! ```

mod call;
mod table;
mod turns;

pub use call::CallArgs;
pub use table::*;
pub use turns::{RunArgs, RunFollowUpArgs, TURN_CALLS, TurnCall, WaitArgs, find_turn_call};

use crate::error::{Error, Result};
use crate::path::push_segment;
use crate::transport::ApiRequest;

/// What an operation sends as its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyKind {
    /// No body.
    None,
    /// A JSON object of the named request model.
    Json(&'static str),
    /// A multipart upload with one file part under this field name.
    Multipart(&'static str),
}

/// When a failed attempt of an operation may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryClass {
    /// Sending it twice does no harm (GET, PUT, PATCH, DELETE): retried on connection
    /// errors, timeouts, 408, 429 and 5xx.
    Idempotent,
    /// Sending it twice could create a second job, message or entity (POST): retried only on
    /// 429 or when the request provably never left.
    NotIdempotent,
}

impl RetryClass {
    /// The class name used in `spec/surface.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            RetryClass::Idempotent => "idempotent",
            RetryClass::NotIdempotent => "not_idempotent",
        }
    }
}

/// One operation of the API, as declared in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operation {
    /// Stable id shared by the three languages: the method's path from the client
    /// (`agents.env_vars.update`, `conversations.follow_up`).
    pub id: &'static str,
    /// The `operationId` in `spec/openapi.yaml`.
    pub operation_id: &'static str,
    /// The namespace of the method (`agents.env_vars`).
    pub group: &'static str,
    /// The method's name within its group (`update`).
    pub name: &'static str,
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// Path template under `/api/public/v1`, parameters in braces (`/agents/{agent_id}`).
    pub path: &'static str,
    /// The query model, for operations with query parameters.
    pub query: Option<&'static str>,
    /// What the body is.
    pub body: BodyKind,
    /// The Rust result type, as written in the table (`Vec<Agent>`, `()`).
    pub result: &'static str,
    /// Whether a failed attempt may be sent again.
    pub retry: RetryClass,
    /// One-line description.
    pub summary: &'static str,
}

impl Operation {
    /// The path parameters, in template order.
    pub fn path_params(&self) -> impl Iterator<Item = &'static str> + use<> {
        let path = self.path;
        path.split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }

    /// The request with the path filled in: `values` in template order, each percent-encoded
    /// and checked (the error names the parameter).
    pub(crate) fn request(&self, values: &[&str]) -> Result<ApiRequest> {
        let mut path = String::with_capacity(self.path.len() + 32);
        let mut values = values.iter();
        for part in self.path.split('/').skip(1) {
            path.push('/');
            match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => {
                    let value = values.next().ok_or_else(|| missing(self, name))?;
                    push_segment(&mut path, value, name)?;
                }
                None => path.push_str(part),
            }
        }
        if values.next().is_some() {
            return Err(Error::validation(
                "path",
                format!(
                    "{} takes {} path parameters",
                    self.id,
                    self.path_params().count()
                ),
            ));
        }
        let method = reqwest::Method::from_bytes(self.method.as_bytes())
            .map_err(|_| Error::validation("method", self.method))?;
        Ok(ApiRequest::new(method, path, self.retry))
    }
}

fn missing(op: &Operation, name: &str) -> Error {
    Error::validation(name, format!("is required by {}", op.id))
}

/// The operation with this id, if there is one.
pub fn find(id: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|op| op.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_match_group_and_name() {
        let mut ids: Vec<_> = OPERATIONS.iter().map(|o| o.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), OPERATIONS.len());
        assert_eq!(OPERATIONS.len(), 54);
        for op in OPERATIONS {
            assert_eq!(op.id, format!("{}.{}", op.group, op.name));
            let expected = if op.method == "POST" {
                RetryClass::NotIdempotent
            } else {
                RetryClass::Idempotent
            };
            assert_eq!(op.retry, expected, "{}", op.id);
        }
    }

    #[test]
    fn paths_are_filled_and_encoded() {
        let req = AGENTS_ENV_VARS_UPDATE
            .request(&["acme/web", "env_1"])
            .unwrap();
        assert_eq!(req.path, "/agents/acme%2Fweb/env-vars/env_1");
        let Err(err) = AGENTS_ENV_VARS_UPDATE.request(&["acme"]) else {
            panic!("a missing parameter must be refused")
        };
        assert!(matches!(err, Error::Validation { ref field, .. } if field == "env_var_id"));
        let Err(err) = AGENTS_GET.request(&[""]) else {
            panic!("an empty id must be refused")
        };
        assert!(matches!(err, Error::Validation { ref field, .. } if field == "agent_id"));
        assert!(AGENTS_LIST.request(&["x"]).is_err());
        assert_eq!(
            AGENTS_ENV_VARS_UPDATE.path_params().collect::<Vec<_>>(),
            ["agent_id", "env_var_id"]
        );
    }
}
