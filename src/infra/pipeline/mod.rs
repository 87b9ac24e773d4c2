//! Continuous deployment: a CodeStar connection (GitHub) or an S3 source object, the artifact
//! bucket, the build log group, one IAM role for CodeBuild and one for CodePipeline (least
//! privilege, scoped to this project's ARNs), the CodeBuild project and the CodePipeline (V2,
//! Source → Build). The build runs the generated buildspec, which ends with
//! `cargo cloudfront-host publish`: the same code path as a laptop's publish.
//!
//! Everything but the connection carries the project's tags; the connection is tagged too, and
//! one named in `source.connection_arn` is only used, never changed or deleted.
//!
//! One file per resource, in the order `deploy` visits them: [`connection`], [`artifacts`],
//! [`log_group`], [`roles`], [`codebuild`], [`codepipeline`]; [`source`] is what the pipeline
//! builds from and [`executions`] what its executions say. Beside the resources: [`run`] drives
//! the first run after `deploy`, [`upload`] sends the project for an S3 source, and [`status`]
//! follows executions for the `status` command.

pub mod artifacts;
pub mod codebuild;
pub mod codepipeline;
pub mod connection;
pub mod executions;
pub mod log_group;
pub mod roles;
pub mod run;
pub mod source;
pub mod status;
pub mod upload;

use serde::Serialize;

use super::{InfraError, Stack};

pub use artifacts::{converge_artifact_bucket, destroy_artifact_bucket};
pub use codebuild::{converge_project, destroy_project};
pub use codepipeline::{converge_pipeline, declaration, destroy_pipeline, fingerprint};
pub use connection::{
    connection_console_url, connection_service, connection_status, converge_connection,
    destroy_connection, wait_connection,
};
pub use executions::{Execution, FirstRun, executions_until_a_run, first_run, start_execution};
pub use log_group::{converge_log_group, destroy_log_group};
pub use roles::{
    build_policy, converge_build_role, converge_pipeline_role, destroy_build_role,
    destroy_pipeline_role, pipeline_policy, trust_policy,
};
pub use source::{PipelineSpec, SOURCE_KEY, SourceSpec, VERSION_VARIABLE};

/// The inline policy every role of ours carries (one per role).
pub use super::iam_role::{POLICY_NAME, canonical_policy};

/// The CodeBuild image: Ubuntu with the usual build tools; Rust is installed by the buildspec.
pub const IMAGE: &str = "aws/codebuild/standard:7.0";
/// Where the CodeBuild cache lives in the artifact bucket.
pub const CACHE_PREFIX: &str = "cache";
/// Environment variables the build gets; `publish` reads the first two instead of looking the
/// resources up by name (inside CodeBuild there is no git remote to derive names from).
pub const ENV_BUCKET: &str = "CLOUDFRONT_HOST_BUCKET";
pub const ENV_KVS_ARN: &str = "CLOUDFRONT_HOST_KVS_ARN";
/// The version id to publish under, set per execution by the pipeline's build action.
pub const ENV_VERSION: &str = "CLOUDFRONT_HOST_VERSION";
pub const SOURCE_STAGE: &str = "Source";
pub const BUILD_STAGE: &str = "Build";

/// What the pipeline steps found or created.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PipelineIds {
    pub connection_arn: Option<String>,
    pub connection_status: Option<String>,
    /// True when this project created (and so may delete) the connection.
    pub connection_owned: bool,
    /// True when this deploy created the pipeline: CodePipeline then started an execution by
    /// itself (trigger `CreatePipeline`), which fails in Source unless the source was ready.
    pub pipeline_created: bool,
}

/// The ARNs a policy is scoped to.
#[derive(Debug, Clone)]
pub struct Scope {
    pub region: String,
    pub account: String,
    pub site_bucket: String,
    pub artifact_bucket: String,
    pub kvs_arn: String,
    pub log_group: String,
    pub project: String,
}

impl Scope {
    fn of(stack: &Stack<'_>) -> Self {
        Scope {
            region: stack.settings.region.clone(),
            account: stack.account.clone(),
            site_bucket: stack.names.bucket(),
            artifact_bucket: stack.names.artifact_bucket(),
            kvs_arn: super::iam_role::policy_kvs_arn(stack),
            log_group: stack.names.log_group(),
            project: stack.names.codebuild_project(),
        }
    }

    fn log_group_arn(&self) -> String {
        format!(
            "arn:aws:logs:{}:{}:log-group:{}",
            self.region, self.account, self.log_group
        )
    }

    fn project_arn(&self) -> String {
        format!(
            "arn:aws:codebuild:{}:{}:project/{}",
            self.region, self.account, self.project
        )
    }
}

fn other<E: std::fmt::Display>(e: E) -> InfraError {
    InfraError::Other(e.to_string())
}

fn spec<'s>(stack: &'s Stack<'_>) -> Result<&'s PipelineSpec, InfraError> {
    stack.pipeline.as_ref().ok_or_else(|| {
        InfraError::Other("the pipeline's source and buildspec were not prepared".into())
    })
}
