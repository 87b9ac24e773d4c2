//! The build's CloudWatch Logs group, with the retention `pipeline.log_retention_days` sets.

use super::Scope;
use crate::infra::resource::{self, Resource};
use crate::infra::{Change, InfraError, Mode, Stack, aws_err};

const LOG_GROUP: &str = "log-group";

/// The log group as wanted: its name, ARN and retention in days.
struct LogGroup {
    name: String,
    arn: String,
    days: i32,
}

impl LogGroup {
    fn of(stack: &Stack<'_>) -> Self {
        let scope = Scope::of(stack);
        LogGroup {
            arn: scope.log_group_arn(),
            name: scope.log_group,
            days: stack.settings.pipeline.log_retention_days as i32,
        }
    }

    async fn put_retention(&self, stack: &Stack<'_>) -> Result<(), InfraError> {
        let name = &self.name;
        stack
            .aws
            .logs()
            .put_retention_policy()
            .log_group_name(name)
            .retention_in_days(self.days)
            .send()
            .await
            .map_err(|e| aws_err(format!("set the retention of log group {name}"), &e))?;
        Ok(())
    }
}

impl Resource for LogGroup {
    const NOUN: &'static str = "log group";
    const PROOF: &'static str = "tags (cloudfront-host:project and cloudfront-host:stack)";
    const NOT_OURS: &'static str = "not tagged as this project's";
    /// The retention in days; `None`: never expire.
    type Actual = Option<i32>;

    fn kind(&self) -> &'static str {
        LOG_GROUP
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<Option<i32>>, InfraError> {
        let name = &self.name;
        let out = stack
            .aws
            .logs()
            .describe_log_groups()
            .log_group_name_prefix(name)
            .send()
            .await
            .map_err(|e| aws_err(format!("look up log group {name}"), &e))?;
        Ok(out
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name))
            .map(|g| g.retention_in_days()))
    }

    async fn owned(&self, stack: &Stack<'_>, _: &Option<i32>) -> Result<bool, InfraError> {
        let out = stack
            .aws
            .logs()
            .list_tags_for_resource()
            .resource_arn(&self.arn)
            .send()
            .await
            .map_err(|e| aws_err(format!("read the tags of log group {}", self.name), &e))?;
        let tags = out.tags().cloned().unwrap_or_default();
        Ok(stack
            .names
            .owns(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
    }

    async fn differences(
        &self,
        _: &Stack<'_>,
        retention: &Option<i32>,
    ) -> Result<Vec<String>, InfraError> {
        if *retention == Some(self.days) {
            return Ok(Vec::new());
        }
        Ok(vec![format!(
            "retention {} → {} days",
            retention.map_or("never expire".to_string(), |d| d.to_string()),
            self.days
        )])
    }

    fn create_reason(&self) -> String {
        format!("build logs, kept {} days", self.days)
    }

    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
        let name = &self.name;
        stack
            .aws
            .logs()
            .create_log_group()
            .log_group_name(name)
            .set_tags(Some(stack.names.tags().into_iter().collect()))
            .send()
            .await
            .map_err(|e| aws_err(format!("create log group {name}"), &e))?;
        self.put_retention(stack).await
    }

    async fn update(&self, stack: &mut Stack<'_>, _: Option<i32>) -> Result<(), InfraError> {
        self.put_retention(stack).await
    }

    fn delete_reason(&self) -> String {
        "build logs".to_string()
    }

    async fn delete(
        &self,
        stack: &mut Stack<'_>,
        _: Option<i32>,
    ) -> Result<Option<String>, InfraError> {
        let name = &self.name;
        stack
            .aws
            .logs()
            .delete_log_group()
            .log_group_name(name)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete log group {name}"), &e))?;
        Ok(None)
    }
}

pub async fn converge_log_group(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let group = LogGroup::of(stack);
    resource::converge(stack, mode, &group).await
}

pub async fn destroy_log_group(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let group = LogGroup::of(stack);
    resource::destroy(stack, mode, &group).await
}
