//! The pipeline as `deploy` drives it: the desired source and buildspec from the settings, and
//! after provisioning its first run (once the GitHub connection is approved; an S3 source gets
//! the project uploaded first).

use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

use crate::detect::{DetectError, Detection};
use crate::infra::Stack;
use crate::infra::pipeline::{self, PipelineSpec, SourceSpec};
use crate::project::Project;
use crate::ui::Ui;

#[derive(Serialize)]
pub struct PipelineView {
    pub name: String,
    pub source: SourceSpec,
    pub connection_arn: Option<String>,
    /// The execution this deploy started; `None` when one had already run.
    pub started_execution: Option<String>,
    /// The run that made starting one unnecessary (CodePipeline's automatic first run, or an
    /// earlier one that succeeded or is running).
    pub existing_execution: Option<pipeline::Execution>,
    /// Why deploy started a run, or why it did not.
    pub reason: String,
    pub upload: Option<super::upload::UploadReport>,
}

/// The pipeline's desired source and buildspec, or `None` for `source.kind = "local"`.
pub fn pipeline_spec(
    project: &Project,
    detection: &Result<Detection, DetectError>,
    ui: &Ui,
) -> anyhow::Result<Option<PipelineSpec>> {
    let s = &project.settings.source;
    let source = match s.kind.as_str() {
        "github" => SourceSpec::Github {
            repository: s
                .repository
                .clone()
                .or_else(|| project.git.github.clone())
                .context("source.kind = \"github\" needs `source.repository` (owner/repo): set it, or add a GitHub `origin` remote")?,
            branch: s
                .branch
                .clone()
                .or_else(|| project.git.branch.clone())
                .context("source.kind = \"github\" needs `source.branch`: set it, or run from a checked-out branch")?,
            paths: s.paths.clone(),
            connection_arn: s.connection_arn.clone(),
        },
        "s3" => SourceSpec::S3,
        _ => return Ok(None),
    };
    let buildspec = crate::buildspec::for_project(project, detection, ui)
        .context("the pipeline runs a buildspec")?
        .buildspec;
    Ok(Some(PipelineSpec { source, buildspec }))
}

/// After provisioning: wait for the GitHub connection to be approved, then make sure the
/// pipeline has run at least once (an S3 source gets the project uploaded first).
pub async fn start_first_run(
    project: &Project,
    aws: &crate::aws::Aws,
    names: &crate::names::Names,
    stack: &Stack<'_>,
    spec: &PipelineSpec,
    connection_timeout: Duration,
    ui: &Ui,
) -> anyhow::Result<PipelineView> {
    let name = names.pipeline();
    let connection_arn = stack.pipeline_ids.connection_arn.clone();
    if let (SourceSpec::Github { repository, .. }, Some(arn)) = (&spec.source, &connection_arn)
        && stack.pipeline_ids.connection_status.as_deref() != Some("AVAILABLE")
    {
        let owner = repository.split('/').next().unwrap_or(repository);
        ui.warn(format_args!(
            "the GitHub connection {arn} is PENDING. Approve it once, in the AWS console:\n  \
             1. open {}\n  \
             2. choose \"Update pending connection\"\n  \
             3. install (or pick) the \"AWS Connector for GitHub\" app for `{owner}` with access to {repository}\n\
             deploy waits up to {} for the approval (--connection-timeout) and then starts the pipeline",
            pipeline::connection_console_url(&project.settings.region, arn),
            humantime::format_duration(connection_timeout)
        ));
        let on_wait = ui.waiting();
        pipeline::wait_connection(aws, arn, connection_timeout, &move |m: &str| on_wait(m))
            .await
            .context(
                "the pipeline exists but cannot fetch from GitHub until the connection is approved",
            )?;
        ui.status("Approved", format_args!("connection {arn}"));
    }
    let executions = pipeline::executions_until_a_run(aws, &name).await?;
    let decision = pipeline::first_run(
        stack.pipeline_ids.pipeline_created,
        &spec.source,
        stack.pipeline_ids.connection_status.as_deref(),
        &executions,
    );
    let mut view = PipelineView {
        name: name.clone(),
        source: spec.source.clone(),
        connection_arn,
        started_execution: None,
        existing_execution: None,
        reason: String::new(),
        upload: None,
    };
    let why = match decision {
        pipeline::FirstRun::Ran(existing) => {
            view.reason = match &existing {
                Some(e) => format!(
                    "execution {} ({}, {}) is the pipeline's run",
                    e.id,
                    e.status,
                    e.trigger.as_deref().unwrap_or("?")
                ),
                None => "CodePipeline started the first run itself when it created the pipeline"
                    .to_string(),
            };
            ui.status(
                "Pipeline",
                format_args!(
                    "{name}: {}; `cargo cloudfront-host status` shows its state",
                    view.reason
                ),
            );
            view.existing_execution = existing;
            return Ok(view);
        }
        pipeline::FirstRun::Start(why) => why,
    };
    ui.status("Pipeline", format_args!("{name}: {why}; starting a run"));
    view.reason = why;
    match spec.source {
        SourceSpec::S3 => {
            let report = super::upload::upload(project, aws, names, ui).await?;
            view.started_execution = Some(report.execution_id.clone());
            view.upload = Some(report);
        }
        SourceSpec::Github { .. } => {
            let id = pipeline::start_execution(aws, &name, None, None).await?;
            ui.status("Started", format_args!("pipeline {name} (execution {id})"));
            view.started_execution = Some(id);
        }
    }
    ui.status(
        "Follow",
        "the build with `cargo cloudfront-host status --wait`",
    );
    Ok(view)
}
