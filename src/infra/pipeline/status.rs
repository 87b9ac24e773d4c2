//! The pipeline's state for `status`: its latest executions and stages, following a running
//! execution to its end, and for a failed one the stage, its error and the build's log.

use std::time::{Duration, Instant};

use aws_sdk_codepipeline::types::PipelineExecutionStatus;
use serde::Serialize;

use crate::aws::{Aws, AwsError};
use crate::names::Names;
use crate::ui::spinner::OnWait;

/// The pipeline's name, once it is known to exist.
pub async fn existing(aws: &Aws, names: &Names, source_kind: &str) -> anyhow::Result<String> {
    let name = names.pipeline();
    if let Err(e) = aws.codepipeline().get_pipeline().name(&name).send().await {
        if e.as_service_error()
            .is_some_and(|s| s.is_pipeline_not_found_exception())
        {
            anyhow::bail!(
                "no pipeline {name}: set source.kind = \"github\" or \"s3\" and run `cargo cloudfront-host deploy` (source.kind is \"{source_kind}\")"
            );
        }
        return Err(AwsError::from_sdk(format_args!("look up pipeline {name}"), &e).into());
    }
    Ok(name)
}

/// The executions and stages; with `follow`, after waiting for the running execution (or
/// the latest) to end, with the failure when it did not succeed.
pub async fn status(
    aws: &Aws,
    names: &Names,
    name: &str,
    limit: i32,
    follow: Option<(Duration, OnWait)>,
) -> anyhow::Result<StatusView> {
    let cp = aws.codepipeline();
    let mut executions = list(&cp, name, limit).await?;
    let mut followed = None;
    if let Some((timeout, on_wait)) = follow {
        let Some(target) = executions
            .iter()
            .find(|e| matches!(e.status.as_str(), "InProgress" | "Stopping"))
            .or(executions.first())
            .cloned()
        else {
            anyhow::bail!("pipeline {name} has never run: nothing to wait for");
        };
        let current = wait_for_end(&cp, name, target, timeout, &on_wait).await?;
        drop(on_wait);
        executions = list(&cp, name, limit).await?;
        followed = Some(
            executions
                .iter()
                .find(|e| e.id == current.id)
                .cloned()
                .unwrap_or(current),
        );
    }
    let stages = stages(&cp, name).await?;
    let failure = match &followed {
        Some(e) if e.status != PipelineExecutionStatus::Succeeded.as_str() => {
            Some(failure(aws, names, e, &stages).await)
        }
        _ => None,
    };
    Ok(StatusView {
        pipeline: name.to_string(),
        executions,
        stages,
        followed,
        failure,
    })
}

async fn wait_for_end(
    cp: &aws_sdk_codepipeline::Client,
    name: &str,
    mut current: ExecutionView,
    timeout: Duration,
    on_wait: &OnWait,
) -> anyhow::Result<ExecutionView> {
    let start = Instant::now();
    while matches!(current.status.as_str(), "InProgress" | "Stopping") {
        if start.elapsed() >= timeout {
            anyhow::bail!(
                "execution {} of {name} is still {} after {}; run `status --wait` again to keep following it",
                current.id,
                current.status,
                humantime::format_duration(Duration::from_secs(start.elapsed().as_secs()))
            );
        }
        let stage = running_stage(cp, name, &current.id).await;
        on_wait(&format!(
            "execution {} {}{} ({}s)",
            current.id,
            current.status,
            stage.map(|s| format!(", stage {s}")).unwrap_or_default(),
            start.elapsed().as_secs()
        ));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let out = cp
            .get_pipeline_execution()
            .pipeline_name(name)
            .pipeline_execution_id(&current.id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("read the execution", &e))?;
        if let Some(e) = out.pipeline_execution() {
            current.status = e
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            current.summary = e.status_summary().map(str::to_string);
        }
    }
    Ok(current)
}

#[derive(Debug, Serialize)]
pub struct StatusView {
    pub pipeline: String,
    pub executions: Vec<ExecutionView>,
    pub stages: Vec<StageView>,
    /// The execution `--wait` followed.
    pub followed: Option<ExecutionView>,
    pub failure: Option<FailureView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExecutionView {
    pub id: String,
    pub status: String,
    pub started: Option<String>,
    pub updated: Option<String>,
    pub summary: Option<String>,
    /// What started it: `CreatePipeline` (CodePipeline's own run on creation),
    /// `StartPipelineExecution` (deploy, upload), `WebhookV2` (a push), …
    pub trigger: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StageView {
    pub name: String,
    pub status: Option<String>,
    pub execution_id: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FailureView {
    pub execution_id: String,
    pub status: String,
    pub stage: Option<String>,
    pub error: Option<String>,
    pub build_id: Option<String>,
    pub log_link: Option<String>,
    pub log_tail: Vec<String>,
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
}

pub async fn list(
    cp: &aws_sdk_codepipeline::Client,
    name: &str,
    limit: i32,
) -> anyhow::Result<Vec<ExecutionView>> {
    let out = cp
        .list_pipeline_executions()
        .pipeline_name(name)
        .max_results(limit.clamp(1, 100))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(format_args!("list the executions of {name}"), &e))?;
    Ok(out
        .pipeline_execution_summaries()
        .iter()
        .map(|e| ExecutionView {
            id: e.pipeline_execution_id().unwrap_or_default().to_string(),
            status: e
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            started: time(e.start_time()),
            updated: time(e.last_update_time()),
            summary: e.status_summary().map(str::to_string),
            trigger: e
                .trigger()
                .and_then(|t| t.trigger_type())
                .map(|t| t.as_str().to_string()),
        })
        .collect())
}

pub async fn stages(
    cp: &aws_sdk_codepipeline::Client,
    name: &str,
) -> anyhow::Result<Vec<StageView>> {
    let state = cp
        .get_pipeline_state()
        .name(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk(format_args!("read the state of {name}"), &e))?;
    Ok(state
        .stage_states()
        .iter()
        .map(|s| StageView {
            name: s.stage_name().unwrap_or_default().to_string(),
            status: s
                .latest_execution()
                .map(|l| l.status().as_str().to_string()),
            execution_id: s
                .latest_execution()
                .map(|l| l.pipeline_execution_id().to_string()),
            error: s.action_states().iter().find_map(|a| {
                let l = a.latest_execution()?;
                l.error_details()
                    .and_then(|d| d.message())
                    .or(l.summary())
                    .map(str::to_string)
            }),
        })
        .collect())
}

async fn running_stage(
    cp: &aws_sdk_codepipeline::Client,
    name: &str,
    execution: &str,
) -> Option<String> {
    let state = cp.get_pipeline_state().name(name).send().await.ok()?;
    state
        .stage_states()
        .iter()
        .find(|s| {
            s.latest_execution().is_some_and(|l| {
                l.pipeline_execution_id() == execution && l.status().as_str() == "InProgress"
            })
        })
        .and_then(|s| s.stage_name().map(str::to_string))
}

/// The failed stage and its error, and for the build the CodeBuild log link and tail.
pub async fn failure(
    aws: &Aws,
    names: &Names,
    execution: &ExecutionView,
    stages: &[StageView],
) -> FailureView {
    let failed = stages.iter().find(|s| {
        s.execution_id.as_deref() == Some(execution.id.as_str())
            && s.status.as_deref().is_some_and(|st| st != "Succeeded")
    });
    let mut view = FailureView {
        execution_id: execution.id.clone(),
        status: execution.status.clone(),
        stage: failed.map(|s| s.name.clone()),
        error: failed
            .and_then(|s| s.error.clone())
            .or(execution.summary.clone()),
        build_id: None,
        log_link: None,
        log_tail: Vec::new(),
    };
    if view.stage.as_deref() != Some(crate::infra::pipeline::BUILD_STAGE) {
        return view;
    }
    // The build this execution's Build action ran: the action execution's external id (the
    // project's newest build may belong to a later execution, or to a run by hand).
    let Some(id) = build_of(aws, names, &execution.id).await else {
        return view;
    };
    let cb = aws.codebuild();
    view.build_id = Some(id.clone());
    let Ok(builds) = cb.batch_get_builds().ids(&id).send().await else {
        return view;
    };
    let Some(build) = builds.builds().first() else {
        return view;
    };
    if view.error.is_none() {
        view.error = build
            .phases()
            .iter()
            .filter(|p| p.phase_status().is_some_and(|s| s.as_str() != "SUCCEEDED"))
            .flat_map(|p| p.contexts())
            .find_map(|c| c.message().map(str::to_string));
    }
    if let Some(logs) = build.logs() {
        view.log_link = logs.deep_link().map(str::to_string);
        if let (Some(group), Some(stream)) = (logs.group_name(), logs.stream_name())
            && let Ok(events) = aws
                .logs()
                .get_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .limit(20)
                .start_from_head(false)
                .send()
                .await
        {
            view.log_tail = events
                .events()
                .iter()
                .filter_map(|e| e.message().map(|m| m.trim_end().to_string()))
                .collect();
        }
    }
    view
}

/// The CodeBuild build id of the execution's Build action (ListActionExecutions'
/// `output.executionResult.externalExecutionId`), if it started one.
async fn build_of(aws: &Aws, names: &Names, execution: &str) -> Option<String> {
    use aws_sdk_codepipeline::types::ActionExecutionFilter;
    let out = aws
        .codepipeline()
        .list_action_executions()
        .pipeline_name(names.pipeline())
        .filter(
            ActionExecutionFilter::builder()
                .pipeline_execution_id(execution)
                .build(),
        )
        .send()
        .await
        .ok()?;
    out.action_execution_details()
        .iter()
        .filter(|d| d.stage_name() == Some(crate::infra::pipeline::BUILD_STAGE))
        .find_map(|d| {
            d.output()?
                .execution_result()?
                .external_execution_id()
                .map(str::to_string)
        })
}

impl StatusView {
    pub fn text(&self) -> String {
        render(self)
    }
}

fn render(view: &StatusView) -> String {
    let mut out = format!("pipeline {}\n", view.pipeline);
    if view.executions.is_empty() {
        out.push_str("  no executions yet\n");
    }
    for e in &view.executions {
        out.push_str(&format!(
            "  {:<11} {}  started {}{}{}\n",
            e.status,
            e.id,
            e.started.as_deref().unwrap_or("?"),
            e.trigger
                .as_ref()
                .map(|t| format!(" by {t}"))
                .unwrap_or_default(),
            e.summary
                .as_ref()
                .map(|s| format!("  ({s})"))
                .unwrap_or_default()
        ));
    }
    out.push_str("stages\n");
    for s in &view.stages {
        out.push_str(&format!(
            "  {:<8} {}{}\n",
            s.name,
            s.status.as_deref().unwrap_or("never run"),
            s.error
                .as_ref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        ));
    }
    if let Some(f) = &view.failure {
        out.push_str(&format!(
            "FAILED execution {} ({}) at stage {}\n  error: {}\n",
            f.execution_id,
            f.status,
            f.stage.as_deref().unwrap_or("?"),
            f.error.as_deref().unwrap_or("(no message)")
        ));
        if let Some(id) = &f.build_id {
            out.push_str(&format!("  build: {id}\n"));
        }
        if let Some(link) = &f.log_link {
            out.push_str(&format!("  logs: {link}\n"));
        }
        if !f.log_tail.is_empty() {
            out.push_str("  last log lines:\n");
            for line in &f.log_tail {
                out.push_str(&format!("    {line}\n"));
            }
        }
    } else if let Some(e) = &view.followed {
        out.push_str(&format!("{} execution {}\n", e.status, e.id));
    }
    out
}
