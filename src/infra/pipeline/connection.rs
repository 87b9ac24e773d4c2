//! The CodeStar connection a GitHub source reads through: created (tagged, PENDING until a
//! person approves it in the console) or, with `source.connection_arn`, only used.

use std::time::Duration;

use super::{SourceSpec, other, spec};
use crate::infra::resource::{self, Resource};
use crate::infra::{Action, Change, InfraError, Mode, Stack, aws_err};

/// The IAM service prefix of a connection ARN: connections created since July 2024 are
/// `arn:aws:codeconnections:…`, older ones `arn:aws:codestar-connections:…`. A policy must name
/// the action with the prefix of the resource it grants ("Connections rename", Developer Tools
/// console guide), and the connection is read through that service's API.
pub fn connection_service(arn: &str) -> &'static str {
    if arn.split(':').nth(2) == Some("codeconnections") {
        "codeconnections"
    } else {
        "codestar-connections"
    }
}

const CONNECTION: &str = "connection";

struct FoundConnection {
    arn: String,
    status: String,
}

async fn get_connection(
    stack: &Stack<'_>,
    arn: &str,
) -> Result<Option<FoundConnection>, InfraError> {
    Ok(connection_status(stack.aws, arn)
        .await?
        .map(|status| FoundConnection {
            arn: arn.to_string(),
            status,
        }))
}

/// The connection's status (`PENDING`, `AVAILABLE`, `ERROR`), read through the API of the
/// ARN's own service prefix; `None` when it does not exist.
pub async fn connection_status(
    aws: &crate::aws::Aws,
    arn: &str,
) -> Result<Option<String>, InfraError> {
    // Two SDK clients of one API (the service was renamed): the same call through either.
    macro_rules! status_through {
        ($client:expr) => {
            match $client.get_connection().connection_arn(arn).send().await {
                Ok(out) => Ok(out.connection().map(|c| {
                    c.connection_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default()
                })),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    Ok(None)
                }
                Err(e) => Err(aws_err(format!("look up connection {arn}"), &e)),
            }
        };
    }
    if connection_service(arn) == "codeconnections" {
        status_through!(aws.codeconnections())
    } else {
        status_through!(aws.connections())
    }
}

/// Our connection, found by name among the region's GitHub connections and proven by tags.
async fn find_own_connection(stack: &Stack<'_>) -> Result<Option<FoundConnection>, InfraError> {
    use aws_sdk_codestarconnections::types::ProviderType;
    let name = stack.names.connection();
    let client = stack.aws.connections();
    let mut token = None;
    loop {
        let page = client
            .list_connections()
            .provider_type_filter(ProviderType::Github)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_err("list CodeStar connections", &e))?;
        for c in page.connections() {
            if c.connection_name() != Some(name.as_str()) {
                continue;
            }
            let Some(arn) = c.connection_arn() else {
                continue;
            };
            let tags = client
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(|e| aws_err(format!("read the tags of connection {arn}"), &e))?;
            if stack
                .names
                .owns(tags.tags().iter().map(|t| (t.key(), t.value())))
            {
                return Ok(Some(FoundConnection {
                    arn: arn.to_string(),
                    status: c
                        .connection_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                }));
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(None);
        }
    }
}

fn connection_reason(status: &str) -> String {
    match status {
        "AVAILABLE" => "AVAILABLE".to_string(),
        "PENDING" => "PENDING: approve it in the AWS console (deploy says how)".to_string(),
        other => format!("{other}: update it in the AWS console"),
    }
}

/// The connection this project creates, found by name and proven by tags (a connection of
/// that name without them is another's, and this project makes its own).
struct OwnConnection(String);

impl Resource for OwnConnection {
    const NOUN: &'static str = "connection";
    const PROOF: &'static str = "tags (cloudfront-host:project and cloudfront-host:stack)";
    type Actual = FoundConnection;

    fn kind(&self) -> &'static str {
        CONNECTION
    }

    fn name(&self) -> &str {
        &self.0
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<FoundConnection>, InfraError> {
        find_own_connection(stack).await
    }

    async fn owned(&self, _: &Stack<'_>, _: &FoundConnection) -> Result<bool, InfraError> {
        Ok(true)
    }

    fn adopt(&self, stack: &mut Stack<'_>, found: &FoundConnection) {
        stack.pipeline_ids.connection_arn = Some(found.arn.clone());
        stack.pipeline_ids.connection_status = Some(found.status.clone());
        stack.pipeline_ids.connection_owned = true;
    }

    fn create_reason(&self) -> String {
        "GitHub connection; it starts PENDING until approved in the console".to_string()
    }

    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
        use aws_sdk_codestarconnections::types::{ProviderType, Tag};
        let name = &self.0;
        let tags = stack
            .names
            .tags()
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(other))
            .collect::<Result<Vec<_>, _>>()?;
        let out = stack
            .aws
            .connections()
            .create_connection()
            .connection_name(name)
            .provider_type(ProviderType::Github)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| aws_err(format!("create connection {name}"), &e))?;
        stack.pipeline_ids.connection_arn = Some(out.connection_arn().to_string());
        stack.pipeline_ids.connection_status = Some("PENDING".into());
        stack.pipeline_ids.connection_owned = true;
        Ok(())
    }

    fn delete_reason(&self) -> String {
        "created by this project".to_string()
    }

    async fn delete(
        &self,
        stack: &mut Stack<'_>,
        found: FoundConnection,
    ) -> Result<Option<String>, InfraError> {
        stack
            .aws
            .connections()
            .delete_connection()
            .connection_arn(&found.arn)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete connection {}", found.arn), &e))?;
        Ok(None)
    }
}

pub async fn converge_connection(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let SourceSpec::Github { connection_arn, .. } = spec(stack)?.source.clone() else {
        return Ok(Change::new(
            CONNECTION,
            "-",
            Action::None,
            "S3 source: none needed",
        ));
    };
    if let Some(arn) = connection_arn {
        let Some(found) = get_connection(stack, &arn).await? else {
            return Err(InfraError::Other(format!(
                "source.connection_arn {arn} does not exist (or is in another region than {})",
                stack.settings.region
            )));
        };
        stack.pipeline_ids.connection_arn = Some(found.arn);
        stack.pipeline_ids.connection_status = Some(found.status.clone());
        return Ok(Change::new(
            CONNECTION,
            &arn,
            Action::None,
            format!(
                "reused (source.connection_arn); {}",
                connection_reason(&found.status)
            ),
        ));
    }
    let own = OwnConnection(stack.names.connection());
    let mut change = resource::converge(stack, mode, &own).await?;
    // An existing connection's state is what the plan line is for (PENDING needs a person).
    if change.action == Action::None
        && let Some(status) = &stack.pipeline_ids.connection_status
    {
        change.reason = connection_reason(status);
    }
    Ok(change)
}

/// The console page where a person approves a pending connection (its path names the ARN's
/// service: `codestar-connections` or `codeconnections`).
pub fn connection_console_url(region: &str, arn: &str) -> String {
    let id = arn.rsplit('/').next().unwrap_or(arn);
    format!(
        "https://console.aws.amazon.com/codesuite/settings/{}/{region}/{}/connections/{id}?region={region}",
        arn.split(':').nth(4).unwrap_or_default(),
        connection_service(arn)
    )
}

/// Re-reads the connection until it is AVAILABLE; fails on ERROR or after `timeout`.
pub async fn wait_connection(
    aws: &crate::aws::Aws,
    arn: &str,
    timeout: Duration,
    on_wait: &(dyn Fn(&str) + Sync),
) -> Result<(), InfraError> {
    let start = std::time::Instant::now();
    // Often enough to notice an approval quickly, rarely enough to be polite.
    let every = (timeout / 20).clamp(Duration::from_millis(200), Duration::from_secs(5));
    loop {
        let status = connection_status(aws, arn)
            .await?
            .ok_or_else(|| InfraError::Other(format!("connection {arn} no longer exists")))?;
        match status.as_str() {
            "AVAILABLE" => return Ok(()),
            "ERROR" => {
                return Err(InfraError::Other(format!(
                    "connection {arn} is in ERROR: delete it in the console (or run `delete`) and deploy again"
                )));
            }
            _ => {}
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(InfraError::Other(format!(
                "connection {arn} is still {status} after {}; approve it in the console and run `deploy` again (it picks up where it stopped)",
                humantime::format_duration(Duration::from_secs(waited.as_secs()))
            )));
        }
        on_wait(&format!(
            "connection {status}, waiting for approval ({}s)",
            waited.as_secs()
        ));
        tokio::time::sleep(every).await;
    }
}

pub async fn destroy_connection(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let own = OwnConnection(stack.names.connection());
    resource::destroy(stack, mode, &own).await
}
