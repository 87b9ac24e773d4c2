//! The CodeBuild project: runs the buildspec, which ends with `cargo cloudfront-host publish`.

use std::collections::BTreeMap;

use aws_sdk_codebuild::types::{
    ArtifactsType, CacheType, CloudWatchLogsConfig, ComputeType, EnvironmentType,
    EnvironmentVariable, EnvironmentVariableType, LogsConfig, LogsConfigStatusType,
    ProjectArtifacts, ProjectCache, ProjectEnvironment, ProjectSource, SourceType,
};

use super::{CACHE_PREFIX, ENV_BUCKET, ENV_KVS_ARN, IMAGE, Scope, other, spec};
use crate::infra::resource::{self, Resource};
use crate::infra::{Change, InfraError, Mode, Stack, aws_err};

const PROJECT: &str = "codebuild-project";

/// The desired project's parts, also what a read-back is compared with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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

/// The project as wanted: its name and shape.
struct Project {
    name: String,
    desired: ProjectShape,
}

impl Resource for Project {
    const NOUN: &'static str = "CodeBuild project";
    const PROOF: &'static str = "tags (cloudfront-host:project and cloudfront-host:stack)";
    const NOT_OURS: &'static str = "not tagged as this project's";
    /// The shape AWS has, and whether the project carries this project's tags.
    type Actual = (ProjectShape, bool);

    fn kind(&self) -> &'static str {
        PROJECT
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<Self::Actual>, InfraError> {
        read_project(stack, &self.name).await
    }

    async fn owned(&self, _: &Stack<'_>, actual: &Self::Actual) -> Result<bool, InfraError> {
        Ok(actual.1)
    }

    async fn differences(
        &self,
        _: &Stack<'_>,
        actual: &Self::Actual,
    ) -> Result<Vec<String>, InfraError> {
        Ok(project_differences(&actual.0, &self.desired))
    }

    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
        let parts = project_parts(&self.desired)?;
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
            stack
                .aws
                .codebuild()
                .create_project()
                .name(&self.name)
                .description(stack.marker())
                .source(parts.source)
                .artifacts(parts.artifacts)
                .environment(parts.environment)
                .cache(parts.cache)
                .logs_config(parts.logs)
                .service_role(&self.desired.service_role)
                .set_tags(Some(tags)),
            &self.name,
        )
        .await
    }

    async fn update(&self, stack: &mut Stack<'_>, _: Self::Actual) -> Result<(), InfraError> {
        let name = &self.name;
        let parts = project_parts(&self.desired)?;
        stack
            .aws
            .codebuild()
            .update_project()
            .name(name)
            .source(parts.source)
            .artifacts(parts.artifacts)
            .environment(parts.environment)
            .cache(parts.cache)
            .logs_config(parts.logs)
            .service_role(&self.desired.service_role)
            .send()
            .await
            .map_err(|e| aws_err(format!("update CodeBuild project {name}"), &e))?;
        Ok(())
    }

    async fn delete(
        &self,
        stack: &mut Stack<'_>,
        _: Self::Actual,
    ) -> Result<Option<String>, InfraError> {
        let name = &self.name;
        stack
            .aws
            .codebuild()
            .delete_project()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete CodeBuild project {name}"), &e))?;
        Ok(None)
    }
}

/// A role just created is not usable by CodeBuild for a few seconds (IAM is eventually
/// consistent); CodeBuild then answers InvalidInputException about the role.
async fn create_project_retrying(
    request: aws_sdk_codebuild::operation::create_project::builders::CreateProjectFluentBuilder,
    name: &str,
) -> Result<(), InfraError> {
    crate::infra::retry_while_role_propagates(
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

pub async fn converge_project(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let project = Project {
        name: stack.names.codebuild_project(),
        desired: desired_project(stack)?,
    };
    resource::converge(stack, mode, &project).await
}

/// Removes the project; the wanted shape is not needed for that (nor, on `delete`, known).
pub async fn destroy_project(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let project = Project {
        name: stack.names.codebuild_project(),
        desired: ProjectShape::default(),
    };
    resource::destroy(stack, mode, &project).await
}
