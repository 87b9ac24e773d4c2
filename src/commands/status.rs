//! `status`: the pipeline's latest executions and its stages; `--wait` follows the running
//! execution and fails (non-zero) with the failed stage, its error and the build's log.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use aws_sdk_codepipeline::types::PipelineExecutionStatus;
use serde::Serialize;

use crate::cli::{GlobalArgs, StatusArgs};
use crate::project::Project;
use crate::ui::Ui;

#[derive(Debug, Serialize)]
struct StatusView {
    pipeline: String,
    executions: Vec<ExecutionView>,
    stages: Vec<StageView>,
    /// The execution `--wait` followed.
    followed: Option<ExecutionView>,
    failure: Option<FailureView>,
}

#[derive(Debug, Clone, Serialize)]
struct ExecutionView {
    id: String,
    status: String,
    started: Option<String>,
    updated: Option<String>,
    summary: Option<String>,
    /// What started it: `CreatePipeline` (CodePipeline's own run on creation),
    /// `StartPipelineExecution` (deploy, upload), `WebhookV2` (a push), …
    trigger: Option<String>,
}

#[derive(Debug, Serialize)]
struct StageView {
    name: String,
    status: Option<String>,
    execution_id: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct FailureView {
    execution_id: String,
    status: String,
    stage: Option<String>,
    error: Option<String>,
    build_id: Option<String>,
    log_link: Option<String>,
    log_tail: Vec<String>,
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
}

fn sdk<E, R>(e: aws_smithy_runtime_api::client::result::SdkError<E, R>) -> anyhow::Error
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    anyhow::anyhow!(crate::aws::describe(&e))
}

pub async fn run(global: &GlobalArgs, args: &StatusArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = Project::load(global, Vec::new(), Vec::new(), ui).await?;
    let (aws, _account, names) = super::connect(&project).await?;
    let cp = aws.codepipeline();
    let name = names.pipeline();
    if let Err(e) = cp.get_pipeline().name(&name).send().await {
        if e.as_service_error()
            .is_some_and(|s| s.is_pipeline_not_found_exception())
        {
            anyhow::bail!(
                "no pipeline {name}: set source.kind = \"github\" or \"s3\" and run `cargo cloudfront-host deploy` (source.kind is \"{}\")",
                project.settings.source.kind
            );
        }
        return Err(sdk(e)).with_context(|| format!("could not look up pipeline {name}"));
    }
    let mut executions = list(&cp, &name, args.limit).await?;
    let mut followed = None;
    if args.wait {
        let Some(target) = executions
            .iter()
            .find(|e| matches!(e.status.as_str(), "InProgress" | "Stopping"))
            .or(executions.first())
            .cloned()
        else {
            anyhow::bail!("pipeline {name} has never run: nothing to wait for");
        };
        let wait = super::wait_options(args.timeout, ui);
        let start = Instant::now();
        let mut current = target.clone();
        while matches!(current.status.as_str(), "InProgress" | "Stopping") {
            if start.elapsed() >= args.timeout {
                anyhow::bail!(
                    "execution {} of {name} is still {} after {}; run `status --wait` again to keep following it",
                    current.id,
                    current.status,
                    humantime::format_duration(Duration::from_secs(start.elapsed().as_secs()))
                );
            }
            if let Some(on_wait) = &wait.on_wait {
                let stage = running_stage(&cp, &name, &current.id).await;
                on_wait(&format!(
                    "execution {} {}{} ({}s)",
                    current.id,
                    current.status,
                    stage.map(|s| format!(", stage {s}")).unwrap_or_default(),
                    start.elapsed().as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            let out = cp
                .get_pipeline_execution()
                .pipeline_name(&name)
                .pipeline_execution_id(&current.id)
                .send()
                .await
                .map_err(sdk)
                .context("could not read the execution")?;
            if let Some(e) = out.pipeline_execution() {
                current.status = e
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                current.summary = e.status_summary().map(str::to_string);
            }
        }
        drop(wait);
        executions = list(&cp, &name, args.limit).await?;
        followed = Some(
            executions
                .iter()
                .find(|e| e.id == current.id)
                .cloned()
                .unwrap_or(current),
        );
    }
    let stages = stages(&cp, &name).await?;
    let failure = match &followed {
        Some(e) if e.status != PipelineExecutionStatus::Succeeded.as_str() => {
            Some(failure(&aws, &names, e, &stages).await)
        }
        _ => None,
    };
    let view = StatusView {
        pipeline: name.clone(),
        executions,
        stages,
        followed,
        failure,
    };
    ui.result(render(&view), &view);
    if let (Some(f), Some(e)) = (&view.failure, &view.followed) {
        return Err(super::Reported(format!(
            "pipeline {name} execution {} {}{}",
            e.id,
            f.status,
            f.stage
                .as_ref()
                .map(|s| format!(" at stage {s}"))
                .unwrap_or_default()
        ))
        .into());
    }
    Ok(())
}

async fn list(
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
        .map_err(sdk)
        .with_context(|| format!("could not list the executions of {name}"))?;
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

async fn stages(cp: &aws_sdk_codepipeline::Client, name: &str) -> anyhow::Result<Vec<StageView>> {
    let state = cp
        .get_pipeline_state()
        .name(name)
        .send()
        .await
        .map_err(sdk)
        .with_context(|| format!("could not read the state of {name}"))?;
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
async fn failure(
    aws: &crate::aws::Aws,
    names: &crate::names::Names,
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
async fn build_of(
    aws: &crate::aws::Aws,
    names: &crate::names::Names,
    execution: &str,
) -> Option<String> {
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
