//! The build's CloudWatch Logs group, with the retention `pipeline.log_retention_days` sets.

use super::Scope;
use crate::infra::{Action, Change, InfraError, Mode, Stack, aws_err};

const LOG_GROUP: &str = "log-group";

async fn describe_log_group(
    stack: &Stack<'_>,
    name: &str,
) -> Result<Option<(String, Option<i32>)>, InfraError> {
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
        .map(|g| {
            (
                g.arn().unwrap_or_default().to_string(),
                g.retention_in_days(),
            )
        }))
}

async fn log_group_owned(stack: &Stack<'_>, scope: &Scope) -> Result<bool, InfraError> {
    let arn = scope.log_group_arn();
    let out = stack
        .aws
        .logs()
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| {
            aws_err(
                format!("read the tags of log group {}", scope.log_group),
                &e,
            )
        })?;
    let tags = out.tags().cloned().unwrap_or_default();
    Ok(stack
        .names
        .owns(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
}

pub async fn converge_log_group(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let scope = Scope::of(stack);
    let name = scope.log_group.clone();
    let days = stack.settings.pipeline.log_retention_days as i32;
    let logs = stack.aws.logs();
    let Some((_, retention)) = describe_log_group(stack, &name).await? else {
        if mode == Mode::Apply {
            logs.create_log_group()
                .log_group_name(&name)
                .set_tags(Some(stack.names.tags().into_iter().collect()))
                .send()
                .await
                .map_err(|e| aws_err(format!("create log group {name}"), &e))?;
            put_retention(stack, &name, days).await?;
        }
        return Ok(Change::new(
            LOG_GROUP,
            &name,
            Action::Create,
            format!("build logs, kept {days} days"),
        ));
    };
    if !log_group_owned(stack, &scope).await? {
        return Err(InfraError::NotOwned {
            kind: "log group",
            name,
            proof: "tags (cloudfront-host:project and cloudfront-host:stack)",
        });
    }
    if retention == Some(days) {
        return Ok(Change::none(LOG_GROUP, &name));
    }
    if mode == Mode::Apply {
        put_retention(stack, &name, days).await?;
    }
    Ok(Change::new(
        LOG_GROUP,
        &name,
        Action::Update,
        format!(
            "retention {} → {days} days",
            retention.map_or("never expire".to_string(), |d| d.to_string())
        ),
    ))
}

async fn put_retention(stack: &Stack<'_>, name: &str, days: i32) -> Result<(), InfraError> {
    stack
        .aws
        .logs()
        .put_retention_policy()
        .log_group_name(name)
        .retention_in_days(days)
        .send()
        .await
        .map_err(|e| aws_err(format!("set the retention of log group {name}"), &e))?;
    Ok(())
}

pub async fn destroy_log_group(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let scope = Scope::of(stack);
    let name = scope.log_group.clone();
    if describe_log_group(stack, &name).await?.is_none() {
        return Ok(Change::gone(LOG_GROUP, &name));
    }
    if !log_group_owned(stack, &scope).await? {
        return Ok(Change::left_alone(
            LOG_GROUP,
            &name,
            "not tagged as this project's",
        ));
    }
    if mode == Mode::Apply {
        stack
            .aws
            .logs()
            .delete_log_group()
            .log_group_name(&name)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete log group {name}"), &e))?;
    }
    Ok(Change::new(LOG_GROUP, &name, Action::Delete, "build logs"))
}
