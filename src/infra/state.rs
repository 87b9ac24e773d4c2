//! The IDs of what `deploy` created, recorded in the bucket under `_cloudfront-host/`.
//!
//! The record is a hint, never the truth: every ID is verified against AWS before use, and a
//! resource that is gone is looked up by name (or created again).

use serde::{Deserialize, Serialize};

use super::{InfraError, Stack, aws_err};

pub const STATE_KEY: &str = "_cloudfront-host/stack.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ids {
    pub origin_access_control: Option<String>,
    pub cache_policy: Option<String>,
    pub headers_policy: Option<String>,
    pub kvs_arn: Option<String>,
    pub function_arn: Option<String>,
    pub distribution_id: Option<String>,
    pub distribution_arn: Option<String>,
    pub distribution_domain: Option<String>,
    pub certificate_arn: Option<String>,
    /// Shared headers policies the distribution stopped using, deleted once unused.
    #[serde(default)]
    pub retired_headers_policies: Vec<String>,
}

impl Ids {
    /// Takes the recorded distribution (the one resource that cannot be found by name);
    /// everything else is found by name anyway.
    pub fn merge_recorded(&mut self, recorded: Option<Record>) {
        if let Some(r) = recorded {
            if self.distribution_id.is_none() {
                self.distribution_id = r.resources.distribution_id;
            }
            for id in r.resources.retired_headers_policies {
                if !self.retired_headers_policies.contains(&id) {
                    self.retired_headers_policies.push(id);
                }
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub tool_version: String,
    pub stack_id: String,
    pub project: String,
    pub account: String,
    pub region: String,
    pub resources: Ids,
}

pub async fn read(stack: &Stack<'_>) -> Result<Option<Record>, InfraError> {
    let bucket = stack.names.bucket();
    let out = match stack
        .s3
        .get_object()
        .bucket(&bucket)
        .key(STATE_KEY)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(aws_err(format!("read s3://{bucket}/{STATE_KEY}"), &e)),
    };
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| InfraError::Other(format!("could not read s3://{bucket}/{STATE_KEY}: {e}")))?
        .into_bytes();
    // A damaged record is only a lost hint: everything is looked up again.
    Ok(serde_json::from_slice(&bytes).ok())
}

pub async fn write(stack: &Stack<'_>) -> Result<(), InfraError> {
    if !stack.bucket_exists {
        return Ok(());
    }
    let record = Record {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        stack_id: stack.names.stack_id().to_string(),
        project: stack.names.project().to_string(),
        account: stack.account.clone(),
        region: stack.settings.region.clone(),
        resources: stack.ids.clone(),
    };
    let body = serde_json::to_vec_pretty(&record).map_err(|e| InfraError::Other(e.to_string()))?;
    let bucket = stack.names.bucket();
    stack
        .s3
        .put_object()
        .bucket(&bucket)
        .key(STATE_KEY)
        .content_type("application/json")
        .cache_control("no-cache")
        .body(body.into())
        .send()
        .await
        .map_err(|e| aws_err(format!("write s3://{bucket}/{STATE_KEY}"), &e))?;
    Ok(())
}
