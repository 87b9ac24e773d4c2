//! The pipeline's executions: whether `deploy` must start a first run, and starting one.

use serde::Serialize;

use super::{SOURCE_STAGE, SourceSpec, VERSION_VARIABLE, other};
use crate::infra::{InfraError, aws_err};

/// One execution as ListPipelineExecutions reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Execution {
    pub id: String,
    /// `InProgress`, `Stopping`, `Stopped`, `Succeeded`, `Superseded`, `Failed`, `Cancelled`.
    pub status: String,
    /// What started it (`CreatePipeline` for the run CodePipeline starts on creation,
    /// `StartPipelineExecution`, `WebhookV2`, …).
    pub trigger: Option<String>,
}

impl Execution {
    /// Running, or finished having published: either way the pipeline needs no new run.
    fn ran_or_runs(&self) -> bool {
        matches!(
            self.status.as_str(),
            "Succeeded" | "InProgress" | "Stopping"
        )
    }
}

/// Whether `deploy` must start the pipeline's first run, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstRun {
    /// A run that published, or is publishing, exists (`None` when CodePipeline's own
    /// automatic run has not been listed yet).
    Ran(Option<Execution>),
    /// No run has published: start one (an S3 source uploads first).
    Start(String),
}

/// Decides from what this deploy did and from the executions' states, never from "some
/// execution exists": CodePipeline starts a run by itself when a pipeline is created (trigger
/// `CreatePipeline`), and that run fails in Source when the S3 object is not uploaded yet or
/// the connection is not AVAILABLE.
pub fn first_run(
    created_now: bool,
    source: &SourceSpec,
    connection_status_at_creation: Option<&str>,
    executions: &[Execution],
) -> FirstRun {
    let automatic = || {
        executions
            .iter()
            .find(|e| e.trigger.as_deref() == Some("CreatePipeline"))
            .cloned()
    };
    if created_now {
        return match source {
            SourceSpec::S3 => FirstRun::Start(
                "the pipeline was just created; its automatic run finds no uploaded source".into(),
            ),
            SourceSpec::Github { .. } if connection_status_at_creation == Some("AVAILABLE") => {
                FirstRun::Ran(automatic())
            }
            SourceSpec::Github { .. } => FirstRun::Start(format!(
                "the pipeline's automatic first run could not fetch from GitHub: the connection was {}",
                connection_status_at_creation.unwrap_or("not ready")
            )),
        };
    }
    if let Some(e) = executions.iter().find(|e| e.ran_or_runs()) {
        return FirstRun::Ran(Some(e.clone()));
    }
    FirstRun::Start(match executions.first() {
        None => "the pipeline has never run".into(),
        Some(latest) => format!(
            "no run of the pipeline has succeeded yet (the latest, {}, {})",
            latest.id, latest.status
        ),
    })
}

/// The pipeline's executions, newest first, read page by page until one that ran or runs
/// (which is all [`first_run`] needs).
pub async fn executions_until_a_run(
    aws: &crate::aws::Aws,
    pipeline: &str,
) -> Result<Vec<Execution>, InfraError> {
    let cp = aws.codepipeline();
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let page = cp
            .list_pipeline_executions()
            .pipeline_name(pipeline)
            .max_results(100)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_err(format!("list the executions of pipeline {pipeline}"), &e))?;
        for e in page.pipeline_execution_summaries() {
            out.push(Execution {
                id: e.pipeline_execution_id().unwrap_or_default().to_string(),
                status: e
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                trigger: e
                    .trigger()
                    .and_then(|t| t.trigger_type())
                    .map(|t| t.as_str().to_string()),
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() || out.iter().any(Execution::ran_or_runs) {
            return Ok(out);
        }
    }
}

/// Starts an execution; `version` and `object_version` pin an S3-source run to one upload.
pub async fn start_execution(
    aws: &crate::aws::Aws,
    pipeline: &str,
    version: Option<&str>,
    object_version: Option<&str>,
) -> Result<String, InfraError> {
    use aws_sdk_codepipeline::types::{
        PipelineVariable, SourceRevisionOverride, SourceRevisionType,
    };
    let mut request = aws.codepipeline().start_pipeline_execution().name(pipeline);
    if let Some(v) = version {
        request = request.variables(
            PipelineVariable::builder()
                .name(VERSION_VARIABLE)
                .value(v)
                .build()
                .map_err(other)?,
        );
    }
    if let Some(o) = object_version {
        request = request.source_revisions(
            SourceRevisionOverride::builder()
                .action_name(SOURCE_STAGE)
                .revision_type(SourceRevisionType::S3ObjectVersionId)
                .revision_value(o)
                .build()
                .map_err(other)?,
        );
    }
    let out = request
        .send()
        .await
        .map_err(|e| aws_err(format!("start pipeline {pipeline}"), &e))?;
    Ok(out.pipeline_execution_id().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, status: &str, trigger: &str) -> Execution {
        Execution {
            id: id.into(),
            status: status.into(),
            trigger: Some(trigger.into()),
        }
    }

    #[test]
    fn the_first_run_follows_what_this_deploy_did_and_the_executions_states() {
        let gh = SourceSpec::Github {
            repository: "octo/site".into(),
            branch: "main".into(),
            paths: vec![],
            connection_arn: None,
        };
        let automatic_failed = [run("a", "Failed", "CreatePipeline")];
        let automatic_running = [run("a", "InProgress", "CreatePipeline")];
        // Just created with an S3 source: the automatic run has nothing to read, whatever its
        // state when listed.
        for runs in [&automatic_running[..], &automatic_failed[..], &[]] {
            assert!(matches!(
                first_run(true, &SourceSpec::S3, None, runs),
                FirstRun::Start(_)
            ));
        }
        // Just created with a connection that was AVAILABLE: the automatic run is the first run.
        assert_eq!(
            first_run(true, &gh, Some("AVAILABLE"), &automatic_running),
            FirstRun::Ran(Some(automatic_running[0].clone()))
        );
        assert_eq!(
            first_run(true, &gh, Some("AVAILABLE"), &[]),
            FirstRun::Ran(None)
        );
        // ... PENDING at creation: the automatic run could not fetch, even if still listed as
        // running.
        match first_run(true, &gh, Some("PENDING"), &automatic_running) {
            FirstRun::Start(why) => assert!(why.contains("PENDING"), "{why}"),
            other => panic!("{other:?}"),
        }
        // An existing pipeline: an execution existing is not the pipeline having run.
        match first_run(false, &gh, Some("AVAILABLE"), &automatic_failed) {
            FirstRun::Start(why) => assert!(why.contains("a, Failed"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            first_run(false, &SourceSpec::S3, None, &[]),
            FirstRun::Start(_)
        ));
        let history = [
            run("c", "Failed", "StartPipelineExecution"),
            run("b", "Succeeded", "StartPipelineExecution"),
            run("a", "Failed", "CreatePipeline"),
        ];
        assert_eq!(
            first_run(false, &SourceSpec::S3, None, &history),
            FirstRun::Ran(Some(history[1].clone()))
        );
        for status in ["InProgress", "Stopping"] {
            let runs = [run("d", status, "StartPipelineExecution")];
            assert!(matches!(
                first_run(false, &gh, Some("AVAILABLE"), &runs),
                FirstRun::Ran(Some(_))
            ));
        }
        for status in ["Stopped", "Superseded", "Cancelled", "Failed"] {
            let runs = [run("d", status, "StartPipelineExecution")];
            assert!(matches!(
                first_run(false, &gh, Some("AVAILABLE"), &runs),
                FirstRun::Start(_)
            ));
        }
    }
}
