//! Every CodeBuild, CodePipeline and CodeStar connections operation the product uses, called
//! through `src/aws/mod.rs` against the emulator and read back.

use crate::support;

use aws_sdk_codebuild::types::{
    ArtifactsType, CacheType, CloudWatchLogsConfig, ComputeType, EnvironmentType,
    EnvironmentVariable, LogsConfig, LogsConfigStatusType, ProjectArtifacts, ProjectCache,
    ProjectEnvironment, ProjectSource, SourceType,
};

const REGION: &str = "eu-west-1";

fn environment(version: &str) -> ProjectEnvironment {
    ProjectEnvironment::builder()
        .r#type(EnvironmentType::LinuxContainer)
        .image("aws/codebuild/standard:7.0")
        .compute_type(ComputeType::BuildGeneral1Medium)
        .environment_variables(
            EnvironmentVariable::builder()
                .name("SITE_BUCKET")
                .value("cfh-web-1234")
                .build()
                .unwrap(),
        )
        .environment_variables(
            EnvironmentVariable::builder()
                .name("CFH_VERSION")
                .value(version)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn codebuild_project_create_update_and_build() {
    let aws = support::aws(REGION).await;
    let cb = aws.codebuild();
    let name = support::unique("cfh-build");
    let role = format!("arn:aws:iam::{}:role/cfh-build-role", support::ACCOUNT);
    let buildspec =
        "version: 0.2\nphases:\n  build:\n    commands:\n      - trunk build --release\n";
    let created = cb
        .create_project()
        .name(&name)
        .service_role(&role)
        .source(
            ProjectSource::builder()
                .r#type(SourceType::Codepipeline)
                .buildspec(buildspec)
                .build()
                .unwrap(),
        )
        .artifacts(
            ProjectArtifacts::builder()
                .r#type(ArtifactsType::Codepipeline)
                .build()
                .unwrap(),
        )
        .environment(environment("abc123"))
        .cache(
            ProjectCache::builder()
                .r#type(CacheType::S3)
                .location("cfh-web-1234-art/cache")
                .build()
                .unwrap(),
        )
        .logs_config(
            LogsConfig::builder()
                .cloud_watch_logs(
                    CloudWatchLogsConfig::builder()
                        .status(LogsConfigStatusType::Enabled)
                        .group_name("/aws/codebuild/cfh-web")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .tags(
            aws_sdk_codebuild::types::Tag::builder()
                .key("cloudfront-host:project")
                .value("web")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.project().unwrap().name(), Some(name.as_str()));

    let updated = cb
        .update_project()
        .name(&name)
        .environment(environment("def456"))
        .source(
            ProjectSource::builder()
                .r#type(SourceType::Codepipeline)
                .buildspec(format!("{buildspec}      - echo updated\n"))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(updated.project().is_some());

    let got = cb.batch_get_projects().names(&name).send().await.unwrap();
    let project = &got.projects()[0];
    assert!(
        project
            .source()
            .unwrap()
            .buildspec()
            .unwrap()
            .contains("echo updated")
    );
    let vars = project.environment().unwrap().environment_variables();
    assert!(
        vars.iter()
            .any(|v| v.name() == "CFH_VERSION" && v.value() == "def456"),
        "{vars:?}"
    );
    assert_eq!(project.service_role(), Some(role.as_str()));
    assert_eq!(
        project.cache().unwrap().location(),
        Some("cfh-web-1234-art/cache")
    );
    assert_eq!(
        project
            .logs_config()
            .unwrap()
            .cloud_watch_logs()
            .unwrap()
            .group_name(),
        Some("/aws/codebuild/cfh-web")
    );
    assert!(
        project
            .tags()
            .iter()
            .any(|t| t.key() == Some("cloudfront-host:project"))
    );

    let started = cb.start_build().project_name(&name).send().await.unwrap();
    let build_id = started.build_value().unwrap().id().unwrap().to_string();
    let builds = cb.batch_get_builds().ids(&build_id).send().await.unwrap();
    assert_eq!(builds.builds()[0].project_name(), Some(name.as_str()));

    cb.delete_project().name(&name).send().await.unwrap();
    let gone = cb.batch_get_projects().names(&name).send().await.unwrap();
    assert!(gone.projects().is_empty());
}

#[tokio::test]
async fn codestar_connection_pending_until_approved() {
    use aws_sdk_codestarconnections::types::{ConnectionStatus, ProviderType, Tag};
    let aws = support::aws(REGION).await;
    let conns = aws.connections();
    let created = conns
        .create_connection()
        .connection_name("cfh-web-gh")
        .provider_type(ProviderType::Github)
        .tags(
            Tag::builder()
                .key("cloudfront-host:project")
                .value("web")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let arn = created.connection_arn().to_string();
    assert!(
        arn.starts_with(&format!("arn:aws:codestar-connections:{REGION}:")),
        "{arn}"
    );
    let got = conns
        .get_connection()
        .connection_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.connection().unwrap().connection_status(),
        Some(&ConnectionStatus::Pending)
    );

    // What a person does in the console: approve the GitHub app.
    support::hook(
        "/_emulator/connections/status",
        serde_json::json!({"ConnectionArn": arn, "ConnectionStatus": "AVAILABLE"}),
    );
    let got = conns
        .get_connection()
        .connection_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.connection().unwrap().connection_status(),
        Some(&ConnectionStatus::Available)
    );

    let listed = conns.list_connections().send().await.unwrap();
    assert!(
        listed
            .connections()
            .iter()
            .any(|c| c.connection_arn() == Some(arn.as_str()))
    );
    let tags = conns
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "cloudfront-host:project")
    );
    conns
        .delete_connection()
        .connection_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(
        conns
            .get_connection()
            .connection_arn(&arn)
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn codepipeline_create_start_and_state() {
    use aws_sdk_codepipeline::types::*;
    let aws = support::aws(REGION).await;
    let cp = aws.codepipeline();
    let name = support::unique("cfh-pipe");
    let action = |name: &str,
                  category: ActionCategory,
                  owner: ActionOwner,
                  provider: &str,
                  config: &[(&str, &str)],
                  input: Option<&str>,
                  output: Option<&str>| {
        let mut b = ActionDeclaration::builder()
            .name(name)
            .action_type_id(
                ActionTypeId::builder()
                    .category(category)
                    .owner(owner)
                    .provider(provider)
                    .version("1")
                    .build()
                    .unwrap(),
            )
            .run_order(1);
        for (k, v) in config {
            b = b.configuration(*k, *v);
        }
        if let Some(i) = input {
            b = b.input_artifacts(InputArtifact::builder().name(i).build().unwrap());
        }
        if let Some(o) = output {
            b = b.output_artifacts(OutputArtifact::builder().name(o).build().unwrap());
        }
        b.build().unwrap()
    };
    // CodePipeline checks that it may assume the role.
    let role = aws
        .iam()
        .create_role()
        .role_name(support::unique("cfh-pipe-role"))
        .assume_role_policy_document(
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let declaration = PipelineDeclaration::builder()
        .name(&name)
        .role_arn(role.role().unwrap().arn())
        .pipeline_type(PipelineType::V2)
        .artifact_store(
            ArtifactStore::builder()
                .r#type(ArtifactStoreType::S3)
                .location("cfh-web-1234-art")
                .build()
                .unwrap(),
        )
        .stages(
            StageDeclaration::builder()
                .name("Source")
                .actions(action(
                    "Source",
                    ActionCategory::Source,
                    ActionOwner::Aws,
                    "CodeStarSourceConnection",
                    &[
                        (
                            "ConnectionArn",
                            "arn:aws:codestar-connections:eu-west-1:123456789012:connection/x",
                        ),
                        ("FullRepositoryId", "octo/site"),
                        ("BranchName", "main"),
                    ],
                    None,
                    Some("src"),
                ))
                .build()
                .unwrap(),
        )
        .stages(
            StageDeclaration::builder()
                .name("Build")
                .actions(action(
                    "Build",
                    ActionCategory::Build,
                    ActionOwner::Aws,
                    "CodeBuild",
                    &[("ProjectName", "cfh-web-build")],
                    Some("src"),
                    None,
                ))
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    cp.create_pipeline()
        .pipeline(declaration)
        .tags(
            Tag::builder()
                .key("cloudfront-host:project")
                .value("web")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let got = cp.get_pipeline().name(&name).send().await.unwrap();
    let pipeline = got.pipeline().unwrap();
    assert_eq!(pipeline.stages().len(), 2);
    let source = &pipeline.stages()[0].actions()[0];
    assert_eq!(
        source
            .configuration()
            .and_then(|c| c.get("BranchName"))
            .map(String::as_str),
        Some("main")
    );

    let state = cp.get_pipeline_state().name(&name).send().await.unwrap();
    let stages: Vec<&str> = state
        .stage_states()
        .iter()
        .filter_map(|s| s.stage_name())
        .collect();
    assert_eq!(stages, vec!["Source", "Build"]);

    let execution = cp
        .start_pipeline_execution()
        .name(&name)
        .send()
        .await
        .unwrap();
    let execution_id = execution.pipeline_execution_id().unwrap().to_string();
    support::hook(
        "/_emulator/pipelines/state",
        serde_json::json!({"name": name, "stage": "Build", "status": "Failed", "errorMessage": "cargo build failed"}),
    );
    let state = cp.get_pipeline_state().name(&name).send().await.unwrap();
    let build = state
        .stage_states()
        .iter()
        .find(|s| s.stage_name() == Some("Build"))
        .unwrap();
    let latest = build.latest_execution().unwrap();
    assert_eq!(latest.status(), &StageExecutionStatus::Failed);
    assert_eq!(latest.pipeline_execution_id(), execution_id);

    let executions = cp
        .list_pipeline_executions()
        .pipeline_name(&name)
        .send()
        .await
        .unwrap();
    assert!(
        executions
            .pipeline_execution_summaries()
            .iter()
            .any(|e| e.pipeline_execution_id() == Some(execution_id.as_str()))
    );

    cp.delete_pipeline().name(&name).send().await.unwrap();
    assert!(cp.get_pipeline().name(&name).send().await.is_err());
}
