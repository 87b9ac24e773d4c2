//! Continuous deployment: a CodeStar connection (GitHub) or an S3 source object, the artifact
//! bucket, the build log group, one IAM role for CodeBuild and one for CodePipeline (least
//! privilege, scoped to this project's ARNs), the CodeBuild project and the CodePipeline (V2,
//! Source → Build). The build runs the generated buildspec, which ends with
//! `cargo cloudfront-host publish`: the same code path as a laptop's publish.
//!
//! Everything but the connection carries the project's tags; the connection is tagged too, and
//! one named in `source.connection_arn` is only used, never changed or deleted.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_codebuild::types::{
    ArtifactsType, CacheType, CloudWatchLogsConfig, ComputeType, EnvironmentType,
    EnvironmentVariable, EnvironmentVariableType, LogsConfig, LogsConfigStatusType,
    ProjectArtifacts, ProjectCache, ProjectEnvironment, ProjectSource, SourceType,
};
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore, ArtifactStoreType,
    GitBranchFilterCriteria, GitConfiguration, GitFilePathFilterCriteria, GitPushFilter,
    InputArtifact, OutputArtifact, PipelineDeclaration, PipelineTriggerDeclaration,
    PipelineTriggerProviderType, PipelineType, PipelineVariableDeclaration, StageDeclaration,
};
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use serde::Serialize;
use serde_json::{Value, json};

use super::{Action, Change, InfraError, Mode, Stack, aws_err};

/// The inline policy every role of ours carries (one per role).
pub use super::role::{POLICY_NAME, canonical_policy};
use super::role::{converge_role, destroy_role};
/// The CodeBuild image: Ubuntu with the usual build tools; Rust is installed by the buildspec.
pub const IMAGE: &str = "aws/codebuild/standard:7.0";
/// Where `upload` puts the zipped project in the artifact bucket (the S3 source object).
pub const SOURCE_KEY: &str = "source/project.zip";
/// Where the CodeBuild cache lives in the artifact bucket.
pub const CACHE_PREFIX: &str = "cache";
/// Environment variables the build gets; `publish` reads the first two instead of looking the
/// resources up by name (inside CodeBuild there is no git remote to derive names from).
pub const ENV_BUCKET: &str = "CLOUDFRONT_HOST_BUCKET";
pub const ENV_KVS_ARN: &str = "CLOUDFRONT_HOST_KVS_ARN";
/// The version id to publish under, set per execution by the pipeline's build action.
pub const ENV_VERSION: &str = "CLOUDFRONT_HOST_VERSION";
/// The pipeline variable `upload` sets (S3 source).
pub const VERSION_VARIABLE: &str = "version";
pub const SOURCE_STAGE: &str = "Source";
pub const BUILD_STAGE: &str = "Build";

/// What the pipeline builds from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceSpec {
    Github {
        repository: String,
        branch: String,
        /// Glob filters on changed paths; empty: every push to the branch.
        paths: Vec<String>,
        /// An existing connection to use instead of creating one.
        connection_arn: Option<String>,
    },
    S3,
}

/// The pipeline's desired state beyond what the names and settings give.
#[derive(Debug, Clone)]
pub struct PipelineSpec {
    pub source: SourceSpec,
    /// The buildspec text (generated from the settings, or the user's own file).
    pub buildspec: String,
}

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
            kvs_arn: stack.ids.kvs_arn.clone().unwrap_or_else(|| {
                format!(
                    "arn:aws:cloudfront::{}:key-value-store/{}",
                    stack.account,
                    stack.names.kvs()
                )
            }),
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

/// Who may assume a role: one AWS service, only on behalf of this account.
pub fn trust_policy(service: &str, account: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}}
        }]
    })
}

/// The build's permissions: write its own log streams, read the source artifact and keep the
/// cache in the artifact bucket, publish into the site bucket, and move the live pointer.
pub fn build_policy(s: &Scope) -> Value {
    let site = format!("arn:aws:s3:::{}", s.site_bucket);
    let art = format!("arn:aws:s3:::{}", s.artifact_bucket);
    let logs = s.log_group_arn();
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "BuildLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [logs.clone(), format!("{logs}:log-stream:*")]
            },
            {
                "Sid": "ArtifactsAndCache",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                "Resource": format!("{art}/*")
            },
            {
                "Sid": "ArtifactBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                "Resource": art
            },
            {
                "Sid": "PublishObjects",
                "Effect": "Allow",
                "Action": [
                    "s3:AbortMultipartUpload",
                    "s3:DeleteObject",
                    "s3:GetObject",
                    "s3:ListMultipartUploadParts",
                    "s3:PutObject"
                ],
                "Resource": format!("{site}/*")
            },
            {
                "Sid": "PublishBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                "Resource": site
            },
            {
                "Sid": "LivePointer",
                "Effect": "Allow",
                "Action": [
                    "cloudfront-keyvaluestore:DeleteKey",
                    "cloudfront-keyvaluestore:DescribeKeyValueStore",
                    "cloudfront-keyvaluestore:GetKey",
                    "cloudfront-keyvaluestore:ListKeys",
                    "cloudfront-keyvaluestore:PutKey",
                    "cloudfront-keyvaluestore:UpdateKeys"
                ],
                "Resource": s.kvs_arn
            }
        ]
    })
}

/// The pipeline's permissions: the artifact bucket (also the S3 source), its own CodeBuild
/// project, and (GitHub) the connection.
pub fn pipeline_policy(s: &Scope, connection_arn: Option<&str>) -> Value {
    let art = format!("arn:aws:s3:::{}", s.artifact_bucket);
    let mut statements = vec![
        json!({
            "Sid": "Artifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
            "Resource": format!("{art}/*")
        }),
        json!({
            "Sid": "ArtifactBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:ListBucket"],
            "Resource": art
        }),
        json!({
            "Sid": "Build",
            "Effect": "Allow",
            "Action": ["codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"],
            "Resource": s.project_arn()
        }),
    ];
    if let Some(arn) = connection_arn {
        statements.push(json!({
            "Sid": "Connection",
            "Effect": "Allow",
            "Action": format!("{}:UseConnection", connection_service(arn)),
            "Resource": arn
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

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

fn other<E: std::fmt::Display>(e: E) -> InfraError {
    InfraError::Other(e.to_string())
}

fn spec<'s>(stack: &'s Stack<'_>) -> Result<&'s PipelineSpec, InfraError> {
    stack.pipeline.as_ref().ok_or_else(|| {
        InfraError::Other("the pipeline's source and buildspec were not prepared".into())
    })
}

// ---------------------------------------------------------------------------------------------
// the connection (GitHub)
// ---------------------------------------------------------------------------------------------

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
    if connection_service(arn) == "codeconnections" {
        return match aws
            .codeconnections()
            .get_connection()
            .connection_arn(arn)
            .send()
            .await
        {
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
        };
    }
    match aws
        .connections()
        .get_connection()
        .connection_arn(arn)
        .send()
        .await
    {
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
    let name = stack.names.connection();
    if let Some(found) = find_own_connection(stack).await? {
        let reason = connection_reason(&found.status);
        stack.pipeline_ids.connection_arn = Some(found.arn);
        stack.pipeline_ids.connection_status = Some(found.status);
        stack.pipeline_ids.connection_owned = true;
        return Ok(Change::new(CONNECTION, &name, Action::None, reason));
    }
    if mode == Mode::Apply {
        use aws_sdk_codestarconnections::types::{ProviderType, Tag};
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
            .connection_name(&name)
            .provider_type(ProviderType::Github)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| aws_err(format!("create connection {name}"), &e))?;
        stack.pipeline_ids.connection_arn = Some(out.connection_arn().to_string());
        stack.pipeline_ids.connection_status = Some("PENDING".into());
        stack.pipeline_ids.connection_owned = true;
    }
    Ok(Change::new(
        CONNECTION,
        &name,
        Action::Create,
        "GitHub connection; it starts PENDING until approved in the console",
    ))
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
    let name = stack.names.connection();
    let Some(found) = find_own_connection(stack).await? else {
        return Ok(Change::new(
            CONNECTION,
            &name,
            Action::None,
            "none created by this project",
        ));
    };
    if mode == Mode::Apply {
        stack
            .aws
            .connections()
            .delete_connection()
            .connection_arn(&found.arn)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete connection {}", found.arn), &e))?;
    }
    Ok(Change::new(
        CONNECTION,
        &name,
        Action::Delete,
        "created by this project",
    ))
}

// ---------------------------------------------------------------------------------------------
// the artifact bucket (also the S3 source and the build cache)
// ---------------------------------------------------------------------------------------------

const ARTIFACTS: &str = "artifact-bucket";

async fn versioning_enabled(stack: &Stack<'_>, bucket: &str) -> Result<bool, InfraError> {
    let out = stack
        .s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| aws_err(format!("read the versioning of {bucket}"), &e))?;
    Ok(out.status() == Some(&BucketVersioningStatus::Enabled))
}

async fn enable_versioning(stack: &Stack<'_>, bucket: &str) -> Result<(), InfraError> {
    stack
        .s3
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_err(format!("enable versioning on {bucket}"), &e))?;
    Ok(())
}

pub async fn converge_artifact_bucket(
    stack: &mut Stack<'_>,
    mode: Mode,
) -> Result<Change, InfraError> {
    let bucket = stack.names.artifact_bucket();
    if !super::bucket::exists_named(stack, &bucket).await? {
        if mode == Mode::Apply {
            super::bucket::create(stack, &bucket).await?;
            super::bucket::secure(stack, &bucket).await?;
            enable_versioning(stack, &bucket).await?;
        }
        return Ok(Change::new(
            ARTIFACTS,
            &bucket,
            Action::Create,
            "does not exist",
        ));
    }
    if !super::bucket::owned_named(stack, &bucket).await? {
        return Err(InfraError::NotOwned {
            kind: "bucket",
            name: bucket,
            proof: "tags (cloudfront-host:project and cloudfront-host:stack)",
        });
    }
    let mut differences = super::bucket::differences(stack, &bucket).await?;
    let versioned = versioning_enabled(stack, &bucket).await?;
    if !versioned {
        differences.push("versioning is not enabled (the S3 source needs it)".into());
    }
    if mode == Mode::Apply && !differences.is_empty() {
        super::bucket::secure(stack, &bucket).await?;
        if !versioned {
            enable_versioning(stack, &bucket).await?;
        }
    }
    Ok(Change::from_differences(ARTIFACTS, &bucket, &differences))
}

pub async fn destroy_artifact_bucket(
    stack: &mut Stack<'_>,
    mode: Mode,
) -> Result<Change, InfraError> {
    let bucket = stack.names.artifact_bucket();
    if !super::bucket::exists_named(stack, &bucket).await? {
        return Ok(Change::gone(ARTIFACTS, &bucket));
    }
    if !super::bucket::owned_named(stack, &bucket).await? {
        return Ok(Change::left_alone(
            ARTIFACTS,
            &bucket,
            "not tagged as this project's",
        ));
    }
    if mode == Mode::Apply {
        super::bucket::empty(stack, &bucket).await?;
        stack
            .s3
            .delete_bucket()
            .bucket(&bucket)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete bucket {bucket}"), &e))?;
    }
    Ok(Change::new(
        ARTIFACTS,
        &bucket,
        Action::Delete,
        "source uploads, build artifacts and cache",
    ))
}

// ---------------------------------------------------------------------------------------------
// the build log group
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// IAM roles
// ---------------------------------------------------------------------------------------------

pub async fn converge_build_role(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let scope = Scope::of(stack);
    let name = stack.names.build_role();
    let trust = trust_policy("codebuild.amazonaws.com", &stack.account);
    converge_role(
        stack,
        mode,
        "build-role",
        &name,
        trust,
        build_policy(&scope),
    )
    .await
    .map(|(change, _)| change)
}

fn connection_for_policy(stack: &Stack<'_>) -> Option<String> {
    match &stack.pipeline.as_ref()?.source {
        SourceSpec::S3 => None,
        SourceSpec::Github { .. } => Some(
            stack
                .pipeline_ids
                .connection_arn
                .clone()
                .unwrap_or_else(|| {
                    format!(
                        "arn:aws:codestar-connections:{}:{}:connection/(created by this deploy)",
                        stack.settings.region, stack.account
                    )
                }),
        ),
    }
}

pub async fn converge_pipeline_role(
    stack: &mut Stack<'_>,
    mode: Mode,
) -> Result<Change, InfraError> {
    let scope = Scope::of(stack);
    let name = stack.names.pipeline_role();
    let trust = trust_policy("codepipeline.amazonaws.com", &stack.account);
    let connection = connection_for_policy(stack);
    let policy = pipeline_policy(&scope, connection.as_deref());
    converge_role(stack, mode, "pipeline-role", &name, trust, policy)
        .await
        .map(|(change, _)| change)
}

pub async fn destroy_build_role(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.build_role();
    destroy_role(stack, mode, "build-role", name).await
}

pub async fn destroy_pipeline_role(
    stack: &mut Stack<'_>,
    mode: Mode,
) -> Result<Change, InfraError> {
    let name = stack.names.pipeline_role();
    destroy_role(stack, mode, "pipeline-role", name).await
}

// ---------------------------------------------------------------------------------------------
// the CodeBuild project
// ---------------------------------------------------------------------------------------------

const PROJECT: &str = "codebuild-project";

/// The desired project's parts, also what a read-back is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProjectShape {
    buildspec: String,
    image: String,
    compute_type: String,
    env: BTreeMap<String, String>,
    cache: Option<String>,
    log_group: Option<String>,
    service_role: String,
}

fn desired_project(stack: &Stack<'_>) -> Result<ProjectShape, InfraError> {
    let scope = Scope::of(stack);
    let spec = spec(stack)?;
    Ok(ProjectShape {
        buildspec: spec.buildspec.clone(),
        image: IMAGE.into(),
        compute_type: stack.settings.pipeline.compute_type.clone(),
        env: BTreeMap::from([
            (ENV_BUCKET.to_string(), scope.site_bucket.clone()),
            (ENV_KVS_ARN.to_string(), scope.kvs_arn.clone()),
            (
                "CARGO_CLOUDFRONT_HOST_REGION".to_string(),
                stack.settings.region.clone(),
            ),
        ]),
        cache: Some(format!("{}/{CACHE_PREFIX}", scope.artifact_bucket)),
        log_group: Some(scope.log_group.clone()),
        service_role: format!(
            "arn:aws:iam::{}:role/{}",
            stack.account,
            stack.names.build_role()
        ),
    })
}

fn project_differences(actual: &ProjectShape, desired: &ProjectShape) -> Vec<String> {
    let mut out = Vec::new();
    if actual.buildspec != desired.buildspec {
        out.push("buildspec".to_string());
    }
    if actual.image != desired.image {
        out.push(format!("image {} → {}", actual.image, desired.image));
    }
    if actual.compute_type != desired.compute_type {
        out.push(format!(
            "compute {} → {}",
            actual.compute_type, desired.compute_type
        ));
    }
    if actual.env != desired.env {
        out.push("environment variables".to_string());
    }
    if actual.cache != desired.cache {
        out.push("cache location".to_string());
    }
    if actual.log_group != desired.log_group {
        out.push("log group".to_string());
    }
    if actual.service_role != desired.service_role {
        out.push("service role".to_string());
    }
    out
}

struct ProjectParts {
    source: ProjectSource,
    artifacts: ProjectArtifacts,
    environment: ProjectEnvironment,
    cache: ProjectCache,
    logs: LogsConfig,
}

fn project_parts(shape: &ProjectShape) -> Result<ProjectParts, InfraError> {
    let mut environment = ProjectEnvironment::builder()
        .r#type(EnvironmentType::LinuxContainer)
        .image(&shape.image)
        .compute_type(ComputeType::from(shape.compute_type.as_str()));
    for (name, value) in &shape.env {
        environment = environment.environment_variables(
            EnvironmentVariable::builder()
                .name(name)
                .value(value)
                .r#type(EnvironmentVariableType::Plaintext)
                .build()
                .map_err(other)?,
        );
    }
    Ok(ProjectParts {
        source: ProjectSource::builder()
            .r#type(SourceType::Codepipeline)
            .buildspec(&shape.buildspec)
            .build()
            .map_err(other)?,
        artifacts: ProjectArtifacts::builder()
            .r#type(ArtifactsType::Codepipeline)
            .build()
            .map_err(other)?,
        environment: environment.build().map_err(other)?,
        cache: ProjectCache::builder()
            .r#type(CacheType::S3)
            .set_location(shape.cache.clone())
            .build()
            .map_err(other)?,
        logs: LogsConfig::builder()
            .cloud_watch_logs(
                CloudWatchLogsConfig::builder()
                    .status(LogsConfigStatusType::Enabled)
                    .set_group_name(shape.log_group.clone())
                    .build()
                    .map_err(other)?,
            )
            .build(),
    })
}

async fn read_project(
    stack: &Stack<'_>,
    name: &str,
) -> Result<Option<(ProjectShape, bool)>, InfraError> {
    let out = stack
        .aws
        .codebuild()
        .batch_get_projects()
        .names(name)
        .send()
        .await
        .map_err(|e| aws_err(format!("look up CodeBuild project {name}"), &e))?;
    let Some(p) = out.projects().iter().find(|p| p.name() == Some(name)) else {
        return Ok(None);
    };
    let owned = stack
        .names
        .owns(p.tags().iter().filter_map(|t| Some((t.key()?, t.value()?))));
    let env = p.environment();
    let shape = ProjectShape {
        buildspec: p
            .source()
            .and_then(|s| s.buildspec())
            .unwrap_or_default()
            .to_string(),
        image: env.map(|e| e.image().to_string()).unwrap_or_default(),
        compute_type: env
            .map(|e| e.compute_type().as_str().to_string())
            .unwrap_or_default(),
        env: env
            .map(|e| {
                e.environment_variables()
                    .iter()
                    .map(|v| (v.name().to_string(), v.value().to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        cache: p.cache().and_then(|c| c.location()).map(str::to_string),
        log_group: p
            .logs_config()
            .and_then(|l| l.cloud_watch_logs())
            .and_then(|c| c.group_name())
            .map(str::to_string),
        service_role: p.service_role().unwrap_or_default().to_string(),
    };
    Ok(Some((shape, owned)))
}

pub async fn converge_project(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.codebuild_project();
    let desired = desired_project(stack)?;
    let cb = stack.aws.codebuild();
    let Some((actual, owned)) = read_project(stack, &name).await? else {
        if mode == Mode::Apply {
            let parts = project_parts(&desired)?;
            let tags = stack
                .names
                .tags()
                .into_iter()
                .map(|(k, v)| {
                    aws_sdk_codebuild::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                })
                .collect();
            create_project_retrying(
                cb.create_project()
                    .name(&name)
                    .description(stack.marker())
                    .source(parts.source)
                    .artifacts(parts.artifacts)
                    .environment(parts.environment)
                    .cache(parts.cache)
                    .logs_config(parts.logs)
                    .service_role(&desired.service_role)
                    .set_tags(Some(tags)),
                &name,
            )
            .await?;
        }
        return Ok(Change::new(
            PROJECT,
            &name,
            Action::Create,
            "does not exist",
        ));
    };
    if !owned {
        return Err(InfraError::NotOwned {
            kind: "CodeBuild project",
            name,
            proof: "tags (cloudfront-host:project and cloudfront-host:stack)",
        });
    }
    let differences = project_differences(&actual, &desired);
    if mode == Mode::Apply && !differences.is_empty() {
        let parts = project_parts(&desired)?;
        cb.update_project()
            .name(&name)
            .source(parts.source)
            .artifacts(parts.artifacts)
            .environment(parts.environment)
            .cache(parts.cache)
            .logs_config(parts.logs)
            .service_role(&desired.service_role)
            .send()
            .await
            .map_err(|e| aws_err(format!("update CodeBuild project {name}"), &e))?;
    }
    Ok(Change::from_differences(PROJECT, &name, &differences))
}

/// A role just created is not usable by CodeBuild for a few seconds (IAM is eventually
/// consistent); CodeBuild then answers InvalidInputException about the role.
async fn create_project_retrying(
    request: aws_sdk_codebuild::operation::create_project::builders::CreateProjectFluentBuilder,
    name: &str,
) -> Result<(), InfraError> {
    super::retry_while_role_propagates(
        &format!("create CodeBuild project {name}"),
        || request.clone().send(),
        |e| {
            e.as_service_error().is_some_and(|s| {
                s.is_invalid_input_exception()
                    && s.to_string().to_ascii_lowercase().contains("role")
            })
        },
    )
    .await
    .map(|_| ())
}

pub async fn destroy_project(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.codebuild_project();
    let Some((_, owned)) = read_project(stack, &name).await? else {
        return Ok(Change::gone(PROJECT, &name));
    };
    if !owned {
        return Ok(Change::left_alone(
            PROJECT,
            &name,
            "not tagged as this project's",
        ));
    }
    if mode == Mode::Apply {
        stack
            .aws
            .codebuild()
            .delete_project()
            .name(&name)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete CodeBuild project {name}"), &e))?;
    }
    Ok(Change::removed(PROJECT, &name))
}

// ---------------------------------------------------------------------------------------------
// the pipeline
// ---------------------------------------------------------------------------------------------

const PIPELINE: &str = "pipeline";

fn action(
    name: &str,
    category: ActionCategory,
    provider: &str,
    config: &[(&str, String)],
    input: Option<&str>,
    output: Option<&str>,
    namespace: Option<&str>,
) -> Result<ActionDeclaration, InfraError> {
    let mut b = ActionDeclaration::builder()
        .name(name)
        .action_type_id(
            ActionTypeId::builder()
                .category(category)
                .owner(ActionOwner::Aws)
                .provider(provider)
                .version("1")
                .build()
                .map_err(other)?,
        )
        .run_order(1)
        .set_namespace(namespace.map(str::to_string));
    for (k, v) in config {
        b = b.configuration(*k, v);
    }
    if let Some(i) = input {
        b = b.input_artifacts(InputArtifact::builder().name(i).build().map_err(other)?);
    }
    if let Some(o) = output {
        b = b.output_artifacts(OutputArtifact::builder().name(o).build().map_err(other)?);
    }
    b.build().map_err(other)
}

/// The pipeline declaration for the settings.
pub fn declaration(
    name: &str,
    role_arn: &str,
    artifact_bucket: &str,
    project: &str,
    source: &SourceSpec,
    connection_arn: &str,
) -> Result<PipelineDeclaration, InfraError> {
    let (source_action, version_value, trigger, variable) = match source {
        SourceSpec::Github {
            repository,
            branch,
            paths,
            ..
        } => {
            let source_action = action(
                SOURCE_STAGE,
                ActionCategory::Source,
                "CodeStarSourceConnection",
                &[
                    ("ConnectionArn", connection_arn.to_string()),
                    ("FullRepositoryId", repository.clone()),
                    ("BranchName", branch.clone()),
                    ("OutputArtifactFormat", "CODE_ZIP".to_string()),
                    ("DetectChanges", "true".to_string()),
                ],
                None,
                Some("SourceOutput"),
                Some("SourceVariables"),
            )?;
            let mut push = GitPushFilter::builder().branches(
                GitBranchFilterCriteria::builder()
                    .includes(branch.clone())
                    .build(),
            );
            if !paths.is_empty() {
                push = push.file_paths(
                    GitFilePathFilterCriteria::builder()
                        .set_includes(Some(paths.clone()))
                        .build(),
                );
            }
            let trigger = PipelineTriggerDeclaration::builder()
                .provider_type(PipelineTriggerProviderType::CodeStarSourceConnection)
                .git_configuration(
                    GitConfiguration::builder()
                        .source_action_name(SOURCE_STAGE)
                        .push(push.build())
                        .build()
                        .map_err(other)?,
                )
                .build()
                .map_err(other)?;
            (
                source_action,
                "#{SourceVariables.CommitId}".to_string(),
                Some(trigger),
                None,
            )
        }
        SourceSpec::S3 => {
            // Executions start from `upload` (with the version variable and the exact object
            // version), never from polling: two uploads cannot race for one execution.
            let source_action = action(
                SOURCE_STAGE,
                ActionCategory::Source,
                "S3",
                &[
                    ("S3Bucket", artifact_bucket.to_string()),
                    ("S3ObjectKey", SOURCE_KEY.to_string()),
                    ("PollForSourceChanges", "false".to_string()),
                ],
                None,
                Some("SourceOutput"),
                Some("SourceVariables"),
            )?;
            let variable = PipelineVariableDeclaration::builder()
                .name(VERSION_VARIABLE)
                .default_value("s3-manual-release")
                .description("The version id to publish; `cargo cloudfront-host upload` sets it")
                .build()
                .map_err(other)?;
            (
                source_action,
                format!("#{{variables.{VERSION_VARIABLE}}}"),
                None,
                Some(variable),
            )
        }
    };
    let env = json!([{"name": ENV_VERSION, "value": version_value, "type": "PLAINTEXT"}]);
    let build_action = action(
        BUILD_STAGE,
        ActionCategory::Build,
        "CodeBuild",
        &[
            ("ProjectName", project.to_string()),
            ("EnvironmentVariables", env.to_string()),
        ],
        Some("SourceOutput"),
        None,
        None,
    )?;
    PipelineDeclaration::builder()
        .name(name)
        .role_arn(role_arn)
        .pipeline_type(PipelineType::V2)
        .artifact_store(
            ArtifactStore::builder()
                .r#type(ArtifactStoreType::S3)
                .location(artifact_bucket)
                .build()
                .map_err(other)?,
        )
        .stages(
            StageDeclaration::builder()
                .name(SOURCE_STAGE)
                .actions(source_action)
                .build()
                .map_err(other)?,
        )
        .stages(
            StageDeclaration::builder()
                .name(BUILD_STAGE)
                .actions(build_action)
                .build()
                .map_err(other)?,
        )
        .set_triggers(trigger.map(|t| vec![t]))
        .set_variables(variable.map(|v| vec![v]))
        .build()
        .map_err(other)
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut v = items.to_vec();
    v.sort();
    v
}

/// The parts of a declaration this tool decides, as comparable JSON (what AWS adds, such as
/// the version and default fields, is left out).
pub fn fingerprint(d: &PipelineDeclaration) -> BTreeMap<&'static str, Value> {
    let stages: Vec<Value> = d
        .stages()
        .iter()
        .map(|s| {
            json!({
                "name": s.name(),
                "actions": s.actions().iter().map(|a| json!({
                    "name": a.name(),
                    "provider": a.action_type_id().map(|t| t.provider()),
                    "category": a.action_type_id().map(|t| t.category().as_str()),
                    "configuration": a.configuration().cloned().unwrap_or_default(),
                    "namespace": a.namespace(),
                    "inputs": a.input_artifacts().iter().map(|i| i.name()).collect::<Vec<_>>(),
                    "outputs": a.output_artifacts().iter().map(|o| o.name()).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let triggers: Vec<Value> = d
        .triggers()
        .iter()
        .map(|t| {
            let git = t.git_configuration();
            json!({
                "provider": t.provider_type().as_str(),
                "source": git.map(|g| g.source_action_name()),
                // Patterns are sets to CodePipeline: their order is no difference.
                "push": git.map(|g| g.push().iter().map(|p| json!({
                    "branches": p.branches().map(|b| sorted(b.includes())),
                    "paths": p.file_paths().map(|f| sorted(f.includes())),
                })).collect::<Vec<_>>()),
            })
        })
        .collect();
    let variables: Vec<Value> = d
        .variables()
        .iter()
        .map(|v| json!({"name": v.name(), "default": v.default_value()}))
        .collect();
    BTreeMap::from([
        ("role", json!(d.role_arn())),
        (
            "artifact store",
            json!(d.artifact_store().map(|a| a.location())),
        ),
        (
            "pipeline type",
            json!(d.pipeline_type().map(|t| t.as_str())),
        ),
        ("stages", json!(stages)),
        ("trigger", json!(triggers)),
        ("variables", json!(variables)),
    ])
}

fn desired_pipeline(stack: &Stack<'_>) -> Result<PipelineDeclaration, InfraError> {
    let spec = spec(stack)?;
    let connection = stack
        .pipeline_ids
        .connection_arn
        .clone()
        .unwrap_or_else(|| "(created by this deploy)".into());
    declaration(
        &stack.names.pipeline(),
        &format!(
            "arn:aws:iam::{}:role/{}",
            stack.account,
            stack.names.pipeline_role()
        ),
        &stack.names.artifact_bucket(),
        &stack.names.codebuild_project(),
        &spec.source,
        &connection,
    )
}

async fn read_pipeline(
    stack: &Stack<'_>,
    name: &str,
) -> Result<Option<(PipelineDeclaration, bool)>, InfraError> {
    let cp = stack.aws.codepipeline();
    let out = match cp.get_pipeline().name(name).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_pipeline_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(aws_err(format!("look up pipeline {name}"), &e)),
    };
    let Some(declaration) = out.pipeline().cloned() else {
        return Ok(None);
    };
    let arn = out
        .metadata()
        .and_then(|m| m.pipeline_arn())
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "arn:aws:codepipeline:{}:{}:{name}",
                stack.settings.region, stack.account
            )
        });
    let tags = cp
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| aws_err(format!("read the tags of pipeline {name}"), &e))?;
    let owned = stack
        .names
        .owns(tags.tags().iter().map(|t| (t.key(), t.value())));
    Ok(Some((declaration, owned)))
}

pub async fn converge_pipeline(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.pipeline();
    let desired = desired_pipeline(stack)?;
    let cp = stack.aws.codepipeline();
    let Some((actual, owned)) = read_pipeline(stack, &name).await? else {
        if mode == Mode::Apply {
            let tags = stack
                .names
                .tags()
                .into_iter()
                .map(|(k, v)| {
                    aws_sdk_codepipeline::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .map_err(other)
                })
                .collect::<Result<Vec<_>, _>>()?;
            create_pipeline_retrying(&cp, desired, tags, &name).await?;
            stack.pipeline_ids.pipeline_created = true;
        }
        return Ok(Change::new(
            PIPELINE,
            &name,
            Action::Create,
            "does not exist",
        ));
    };
    if !owned {
        return Err(InfraError::NotOwned {
            kind: "pipeline",
            name,
            proof: "tags (cloudfront-host:project and cloudfront-host:stack)",
        });
    }
    let (want, have) = (fingerprint(&desired), fingerprint(&actual));
    let differences: Vec<String> = want
        .iter()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .map(|(k, _)| k.to_string())
        .collect();
    if mode == Mode::Apply && !differences.is_empty() {
        cp.update_pipeline()
            .pipeline(desired)
            .send()
            .await
            .map_err(|e| aws_err(format!("update pipeline {name}"), &e))?;
    }
    Ok(Change::from_differences(PIPELINE, &name, &differences))
}

/// Like CodeBuild, CodePipeline may not yet be able to assume a role created seconds ago.
async fn create_pipeline_retrying(
    cp: &aws_sdk_codepipeline::Client,
    declaration: PipelineDeclaration,
    tags: Vec<aws_sdk_codepipeline::types::Tag>,
    name: &str,
) -> Result<(), InfraError> {
    super::retry_while_role_propagates(
        &format!("create pipeline {name}"),
        || {
            cp.create_pipeline()
                .pipeline(declaration.clone())
                .set_tags(Some(tags.clone()))
                .send()
        },
        |e| {
            e.as_service_error().is_some_and(|s| {
                s.is_invalid_structure_exception() && s.to_string().contains("AssumeRole")
            })
        },
    )
    .await
    .map(|_| ())
}

pub async fn destroy_pipeline(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.pipeline();
    let Some((_, owned)) = read_pipeline(stack, &name).await? else {
        return Ok(Change::gone(PIPELINE, &name));
    };
    if !owned {
        return Ok(Change::left_alone(
            PIPELINE,
            &name,
            "not tagged as this project's",
        ));
    }
    if mode == Mode::Apply {
        stack
            .aws
            .codepipeline()
            .delete_pipeline()
            .name(&name)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete pipeline {name}"), &e))?;
    }
    Ok(Change::removed(PIPELINE, &name))
}

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
    use crate::infra::role::decode_policy;

    fn scope() -> Scope {
        Scope {
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            site_bucket: "cfh-web-abcd1234".into(),
            artifact_bucket: "cfh-web-abcd1234-art".into(),
            kvs_arn: "arn:aws:cloudfront::123456789012:key-value-store/k1".into(),
            log_group: "/aws/codebuild/cfh-web-abcd1234-build".into(),
            project: "cfh-web-abcd1234-build".into(),
        }
    }

    fn statements(doc: &Value) -> Vec<Value> {
        doc["Statement"].as_array().unwrap().clone()
    }

    fn resources(s: &Value) -> Vec<String> {
        match &s["Resource"] {
            Value::String(r) => vec![r.clone()],
            Value::Array(a) => a.iter().map(|r| r.as_str().unwrap().to_string()).collect(),
            other => panic!("resource {other}"),
        }
    }

    fn actions(s: &Value) -> Vec<String> {
        match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().map(|r| r.as_str().unwrap().to_string()).collect(),
            other => panic!("action {other}"),
        }
    }

    #[test]
    fn build_policy_is_scoped_to_this_project_statement_by_statement() {
        let s = scope();
        let doc = build_policy(&s);
        let st = statements(&doc);
        assert_eq!(st.len(), 6);
        for statement in &st {
            assert_eq!(statement["Effect"], "Allow");
            for r in resources(statement) {
                assert!(r != "*" && !r.starts_with("*"), "{r}");
            }
            for a in actions(statement) {
                assert!(!a.contains('*'), "wildcard action {a}");
            }
        }
        assert_eq!(
            resources(&st[0]),
            vec![
                "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/codebuild/cfh-web-abcd1234-build",
                "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/codebuild/cfh-web-abcd1234-build:log-stream:*"
            ]
        );
        assert_eq!(
            resources(&st[1]),
            vec!["arn:aws:s3:::cfh-web-abcd1234-art/*"]
        );
        assert!(!actions(&st[1]).contains(&"s3:DeleteObject".to_string()));
        assert_eq!(resources(&st[2]), vec!["arn:aws:s3:::cfh-web-abcd1234-art"]);
        assert_eq!(resources(&st[3]), vec!["arn:aws:s3:::cfh-web-abcd1234/*"]);
        assert!(actions(&st[3]).contains(&"s3:DeleteObject".to_string()));
        assert_eq!(resources(&st[4]), vec!["arn:aws:s3:::cfh-web-abcd1234"]);
        assert_eq!(resources(&st[5]), vec![s.kvs_arn.clone()]);
        assert!(
            actions(&st[5])
                .iter()
                .all(|a| a.starts_with("cloudfront-keyvaluestore:"))
        );
        // Nothing about IAM, CloudFront distributions or other buckets.
        let text = doc.to_string();
        assert!(
            !text.contains("iam:") && !text.contains("\"cloudfront:"),
            "{text}"
        );
    }

    #[test]
    fn pipeline_policy_names_its_project_and_only_its_connection() {
        let s = scope();
        let conn = "arn:aws:codestar-connections:eu-west-1:123456789012:connection/c1";
        let doc = pipeline_policy(&s, Some(conn));
        let st = statements(&doc);
        assert_eq!(st.len(), 4);
        assert_eq!(
            resources(&st[0]),
            vec!["arn:aws:s3:::cfh-web-abcd1234-art/*"]
        );
        assert_eq!(resources(&st[1]), vec!["arn:aws:s3:::cfh-web-abcd1234-art"]);
        assert_eq!(
            resources(&st[2]),
            vec!["arn:aws:codebuild:eu-west-1:123456789012:project/cfh-web-abcd1234-build"]
        );
        assert_eq!(actions(&st[3]), vec!["codestar-connections:UseConnection"]);
        assert_eq!(resources(&st[3]), vec![conn]);
        // The S3 source needs no connection statement.
        let s3 = pipeline_policy(&s, None);
        assert_eq!(statements(&s3).len(), 3);
        assert!(!s3.to_string().contains("codestar"));
        assert!(
            !doc.to_string().contains("cfh-web-abcd1234/"),
            "no site bucket access"
        );
    }

    #[test]
    fn a_codeconnections_arn_is_granted_the_action_of_its_own_prefix() {
        let s = scope();
        let new = "arn:aws:codeconnections:eu-west-1:123456789012:connection/c2";
        let old = "arn:aws:codestar-connections:eu-west-1:123456789012:connection/c1";
        assert_eq!(connection_service(new), "codeconnections");
        assert_eq!(connection_service(old), "codestar-connections");
        let st = statements(&pipeline_policy(&s, Some(new)));
        assert_eq!(actions(&st[3]), vec!["codeconnections:UseConnection"]);
        assert_eq!(resources(&st[3]), vec![new]);
        assert!(
            connection_console_url("eu-west-1", new).contains("/codeconnections/connections/c2")
        );
    }

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

    #[test]
    fn trust_policies_name_one_service_and_the_account() {
        let t = trust_policy("codebuild.amazonaws.com", "123456789012");
        let st = statements(&t);
        assert_eq!(st.len(), 1);
        assert_eq!(st[0]["Principal"]["Service"], "codebuild.amazonaws.com");
        assert_eq!(st[0]["Action"], "sts:AssumeRole");
        assert_eq!(
            st[0]["Condition"]["StringEquals"]["aws:SourceAccount"],
            "123456789012"
        );
    }

    #[test]
    fn policies_compare_as_iam_reads_them() {
        let a = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "B", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::b/*"},
            {"Sid": "A", "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]});
        let b = json!({"Statement": [
            {"Effect": "Allow", "Sid": "A", "Principal": {"Service": ["codebuild.amazonaws.com"]}, "Action": ["sts:AssumeRole"]},
            {"Resource": ["arn:aws:s3:::b/*"], "Action": ["s3:GetObject", "s3:PutObject"], "Effect": "Allow", "Sid": "B"}
        ], "Version": "2012-10-17"});
        assert_eq!(canonical_policy(&a), canonical_policy(&b));
        let c = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "B", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": "arn:aws:s3:::b/*"},
            {"Sid": "A", "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]});
        assert_ne!(canonical_policy(&a), canonical_policy(&c));
        // The product's own policies are stable under it.
        let s = scope();
        assert_eq!(
            canonical_policy(&build_policy(&s)),
            canonical_policy(&canonical_policy(&build_policy(&s)))
        );
    }

    #[test]
    fn trigger_patterns_compare_as_sets() {
        let gh = |paths: &[&str]| SourceSpec::Github {
            repository: "octo/site".into(),
            branch: "main".into(),
            paths: paths.iter().map(|p| p.to_string()).collect(),
            connection_arn: None,
        };
        let a = declaration(
            "p",
            "arn:r",
            "art",
            "proj",
            &gh(&["web/**", "Cargo.lock"]),
            "c",
        )
        .unwrap();
        let b = declaration(
            "p",
            "arn:r",
            "art",
            "proj",
            &gh(&["Cargo.lock", "web/**"]),
            "c",
        )
        .unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn url_encoded_policies_decode() {
        let doc = json!({"Version": "2012-10-17", "Statement": [{"Sid": "a b"}]});
        let encoded: String = percent_encoding::utf8_percent_encode(
            &doc.to_string(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        assert_eq!(decode_policy(&encoded), Some(doc.clone()));
        assert_eq!(decode_policy(&doc.to_string()), Some(doc));
        // RFC 3986 (IAM's encoding): a literal `+` stays a plus, it is not a space.
        let plus = json!({"Version": "2012-10-17", "Statement": [{"Sid": "a+b c"}]});
        let encoded = plus.to_string().replace(' ', "%20").replace('"', "%22");
        assert_eq!(decode_policy(&encoded), Some(plus));
    }

    #[test]
    fn declarations_fingerprint_equal_to_themselves_and_differ_by_branch() {
        let gh = |branch: &str| SourceSpec::Github {
            repository: "octo/site".into(),
            branch: branch.into(),
            paths: vec!["web/**".into()],
            connection_arn: None,
        };
        let a = declaration("p", "arn:r", "art", "proj", &gh("main"), "arn:c").unwrap();
        let b = declaration("p", "arn:r", "art", "proj", &gh("dev"), "arn:c").unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
        let (fa, fb) = (fingerprint(&a), fingerprint(&b));
        let differing: Vec<_> = fa.keys().filter(|k| fa[*k] != fb[*k]).collect();
        assert_eq!(differing, vec![&"stages", &"trigger"]);
        let s3 = declaration("p", "arn:r", "art", "proj", &SourceSpec::S3, "").unwrap();
        let source = &s3.stages()[0].actions()[0];
        assert_eq!(
            source
                .configuration()
                .unwrap()
                .get("PollForSourceChanges")
                .map(String::as_str),
            Some("false")
        );
        assert!(s3.triggers().is_empty());
        assert_eq!(s3.variables()[0].name(), VERSION_VARIABLE);
    }
}
