//! The CodePipeline (V2, Source → Build) and how its declaration is compared with AWS's.

use std::collections::BTreeMap;

use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore, ArtifactStoreType,
    GitBranchFilterCriteria, GitConfiguration, GitFilePathFilterCriteria, GitPushFilter,
    InputArtifact, OutputArtifact, PipelineDeclaration, PipelineTriggerDeclaration,
    PipelineTriggerProviderType, PipelineType, PipelineVariableDeclaration, StageDeclaration,
};
use serde_json::{Value, json};

use super::{
    BUILD_STAGE, ENV_VERSION, SOURCE_KEY, SOURCE_STAGE, SourceSpec, VERSION_VARIABLE, other, spec,
};
use crate::infra::resource::{self, Resource};
use crate::infra::{Change, InfraError, Mode, Stack, aws_err};

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

/// The pipeline as wanted: its name and declaration (`None` when only removing it).
struct Pipeline {
    name: String,
    desired: Option<PipelineDeclaration>,
}

impl Resource for Pipeline {
    const NOUN: &'static str = "pipeline";
    const PROOF: &'static str = "tags (cloudfront-host:project and cloudfront-host:stack)";
    const NOT_OURS: &'static str = "not tagged as this project's";
    /// The declaration AWS has, and whether the pipeline carries this project's tags.
    type Actual = (PipelineDeclaration, bool);

    fn kind(&self) -> &'static str {
        PIPELINE
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<Self::Actual>, InfraError> {
        read_pipeline(stack, &self.name).await
    }

    async fn owned(&self, _: &Stack<'_>, actual: &Self::Actual) -> Result<bool, InfraError> {
        Ok(actual.1)
    }

    async fn differences(
        &self,
        _: &Stack<'_>,
        actual: &Self::Actual,
    ) -> Result<Vec<String>, InfraError> {
        let (want, have) = (fingerprint(self.desired()?), fingerprint(&actual.0));
        Ok(want
            .iter()
            .filter(|(k, v)| have.get(*k) != Some(*v))
            .map(|(k, _)| k.to_string())
            .collect())
    }

    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
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
        let cp = stack.aws.codepipeline();
        create_pipeline_retrying(&cp, self.desired()?.clone(), tags, &self.name).await?;
        stack.pipeline_ids.pipeline_created = true;
        Ok(())
    }

    async fn update(&self, stack: &mut Stack<'_>, _: Self::Actual) -> Result<(), InfraError> {
        let name = &self.name;
        stack
            .aws
            .codepipeline()
            .update_pipeline()
            .pipeline(self.desired()?.clone())
            .send()
            .await
            .map_err(|e| aws_err(format!("update pipeline {name}"), &e))?;
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
            .codepipeline()
            .delete_pipeline()
            .name(name)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete pipeline {name}"), &e))?;
        Ok(None)
    }
}

impl Pipeline {
    fn desired(&self) -> Result<&PipelineDeclaration, InfraError> {
        self.desired
            .as_ref()
            .ok_or_else(|| InfraError::Other("the pipeline's declaration was not prepared".into()))
    }
}

/// Like CodeBuild, CodePipeline may not yet be able to assume a role created seconds ago.
async fn create_pipeline_retrying(
    cp: &aws_sdk_codepipeline::Client,
    declaration: PipelineDeclaration,
    tags: Vec<aws_sdk_codepipeline::types::Tag>,
    name: &str,
) -> Result<(), InfraError> {
    crate::infra::retry_while_role_propagates(
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

pub async fn converge_pipeline(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let pipeline = Pipeline {
        name: stack.names.pipeline(),
        desired: Some(desired_pipeline(stack)?),
    };
    resource::converge(stack, mode, &pipeline).await
}

pub async fn destroy_pipeline(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let pipeline = Pipeline {
        name: stack.names.pipeline(),
        desired: None,
    };
    resource::destroy(stack, mode, &pipeline).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
