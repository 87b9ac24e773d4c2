//! The build pipeline (`source.kind = "github"` or `"s3"`) against the emulator: `deploy`
//! provisions and starts it, `upload` feeds the S3 source, `status` follows executions, and
//! `delete` removes it all. Every resource is read back through the SDK.

use crate::support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cargo_cloudfront_host::names::{Names, Scope};
use serde_json::{Value, json};

const REGION: &str = "eu-west-1";
const REPO: &str = "octo/site";

struct Project {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    names: Names,
    aws: cargo_cloudfront_host::aws::Aws,
}

async fn project(kind: &str, extra: &str) -> Project {
    let name = support::unique("pipe");
    let (tmp, dir) = support::package(&format!(
        "[package.metadata.cloudfront]\nname = \"{name}\"\nregion = \"{REGION}\"\nframework = \"static\"\n\
         build.output_dir = \"dist\"\nsource.kind = \"{kind}\"\nsource.repository = \"{REPO}\"\n\
         pipeline.compute_type = \"BUILD_GENERAL1_SMALL\"\npipeline.log_retention_days = 30\n{extra}"
    ));
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::write(dir.join("dist/index.html"), "<h1>home</h1>").unwrap();
    let names = Names::new(&Scope {
        account: support::ACCOUNT,
        region: REGION,
        repository: Some(REPO),
        project: &name,
    });
    Project {
        _tmp: tmp,
        dir,
        names,
        aws: support::aws(REGION).await,
    }
}

impl Project {
    fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut c = support::cli();
        c.current_dir(&self.dir).args(args);
        c
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let out = self
            .cmd(&all)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&out)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out)))
    }

    /// The binary as a child process (for commands that wait while the test acts).
    fn spawn(&self, args: &[&str]) -> std::process::Child {
        Command::new(assert_cmd::cargo::cargo_bin("cargo-cloudfront-host"))
            .env_clear()
            .envs(support::cli_env())
            .current_dir(&self.dir)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the CLI")
    }

    async fn connection_arn(&self) -> Option<String> {
        let out = self
            .aws
            .connections()
            .list_connections()
            .send()
            .await
            .unwrap();
        out.connections()
            .iter()
            .find(|c| c.connection_name() == Some(self.names.connection().as_str()))
            .and_then(|c| c.connection_arn().map(str::to_string))
    }

    async fn role(&self, name: &str) -> Option<(Value, Value)> {
        let iam = self.aws.iam();
        let role = iam.get_role().role_name(name).send().await.ok()?;
        let trust = decode(role.role()?.assume_role_policy_document()?);
        let policy = iam
            .get_role_policy()
            .role_name(name)
            .policy_name("cloudfront-host")
            .send()
            .await
            .unwrap();
        Some((trust, decode(policy.policy_document())))
    }

    async fn executions(&self) -> Vec<String> {
        self.aws
            .codepipeline()
            .list_pipeline_executions()
            .pipeline_name(self.names.pipeline())
            .send()
            .await
            .map(|o| {
                o.pipeline_execution_summaries()
                    .iter()
                    .filter_map(|e| e.pipeline_execution_id().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// (id, status, trigger type, status summary) of every execution, newest first.
    async fn runs(&self) -> Vec<(String, String, String, String)> {
        let out = self
            .aws
            .codepipeline()
            .list_pipeline_executions()
            .pipeline_name(self.names.pipeline())
            .send()
            .await
            .unwrap();
        out.pipeline_execution_summaries()
            .iter()
            .map(|e| {
                (
                    e.pipeline_execution_id().unwrap_or_default().to_string(),
                    e.status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    e.trigger()
                        .and_then(|t| t.trigger_type())
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    e.status_summary().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The CLI signing with its own access key, so the emulator's request log tells its calls
    /// apart.
    fn cmd_with_key(&self, key: &str, args: &[&str]) -> assert_cmd::Command {
        let mut c = support::cli_with_key(key);
        c.current_dir(&self.dir).args(args);
        c
    }

    async fn everything_gone(&self) {
        let a = &self.aws;
        assert!(
            a.codepipeline()
                .get_pipeline()
                .name(self.names.pipeline())
                .send()
                .await
                .is_err(),
            "pipeline left"
        );
        let projects = a
            .codebuild()
            .batch_get_projects()
            .names(self.names.codebuild_project())
            .send()
            .await
            .unwrap();
        assert!(projects.projects().is_empty(), "CodeBuild project left");
        for role in [self.names.build_role(), self.names.pipeline_role()] {
            assert!(
                a.iam().get_role().role_name(&role).send().await.is_err(),
                "{role} left"
            );
        }
        for bucket in [self.names.artifact_bucket(), self.names.bucket()] {
            assert!(
                a.s3().head_bucket().bucket(&bucket).send().await.is_err(),
                "{bucket} left"
            );
        }
        let groups = a
            .logs()
            .describe_log_groups()
            .log_group_name_prefix(self.names.log_group())
            .send()
            .await
            .unwrap();
        assert!(groups.log_groups().is_empty(), "log group left");
        assert_eq!(self.connection_arn().await, None, "connection left");
    }
}

/// IAM hands policy documents back URL-encoded (the emulator too, or not): accept both.
fn decode(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| {
        let d = percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .unwrap()
            .to_string();
        serde_json::from_str(&d).unwrap_or_else(|e| panic!("{e}: {d}"))
    })
}

/// `Sid` → (actions, resources) of a policy document.
fn statements(doc: &Value) -> std::collections::BTreeMap<String, (Vec<String>, Vec<String>)> {
    let list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
            other => panic!("{other}"),
        }
    };
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["Effect"], "Allow", "{s}");
            (
                s["Sid"].as_str().unwrap().to_string(),
                (list(&s["Action"]), list(&s["Resource"])),
            )
        })
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn wait_output(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "the CLI did not finish in {limit:?}\nstdout:\n{}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn actions(changes: &Value) -> Vec<(String, String)> {
    changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["resource"].as_str().unwrap().to_string(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn github_deploy_waits_for_the_connection_then_builds_and_status_follows() {
    let p = project(
        "github",
        "source.branch = \"main\"\nsource.paths = [\"web/**\", \"Cargo.lock\"]\n",
    )
    .await;
    let plan = p.json(&["plan"]);
    let planned = actions(&plan["changes"]);
    for resource in [
        "connection",
        "artifact-bucket",
        "log-group",
        "build-role",
        "pipeline-role",
        "codebuild-project",
        "pipeline",
    ] {
        assert!(
            planned.contains(&(resource.to_string(), "create".to_string())),
            "{resource} not planned: {planned:?}"
        );
    }

    // deploy waits for the approval; a person approves in the console meanwhile.
    let child = p.spawn(&["--format", "json", "deploy", "--connection-timeout", "2m"]);
    let start = Instant::now();
    let arn = loop {
        if let Some(arn) = p.connection_arn().await {
            break arn;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no connection was created"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let status = p
        .aws
        .connections()
        .get_connection()
        .connection_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        status
            .connection()
            .unwrap()
            .connection_status()
            .unwrap()
            .as_str(),
        "PENDING"
    );
    // Still waiting while PENDING: only CodePipeline's own run on creation, which could not
    // fetch from GitHub.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let runs = p.runs().await;
    assert_eq!(runs.len(), 1, "started before approval: {runs:?}");
    assert_eq!(
        (runs[0].1.as_str(), runs[0].2.as_str()),
        ("Failed", "CreatePipeline")
    );
    let automatic = runs[0].0.clone();
    let flip = std::thread::spawn({
        let arn = arn.clone();
        move || {
            support::hook(
                "/_emulator/connections/status",
                json!({"ConnectionArn": arn, "ConnectionStatus": "AVAILABLE"}),
            )
        }
    });
    flip.join().unwrap();
    let out = wait_output(child, Duration::from_secs(180));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "deploy failed:\n{stderr}");
    assert!(
        stderr.contains("PENDING") && stderr.contains("Update pending connection"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&arn.rsplit('/').next().unwrap().to_string()),
        "{stderr}"
    );
    let view: Value = serde_json::from_slice(&out.stdout).unwrap();
    let started = view["pipeline"]["started_execution"]
        .as_str()
        .unwrap()
        .to_string();
    // After the approval deploy started a run of its own: the automatic one had failed.
    assert_eq!(p.executions().await, vec![started.clone(), automatic]);
    assert_eq!(p.runs().await[0].2, "StartPipelineExecution");

    // Roles: trust and least privilege, statement by statement.
    let kvs_arn = p
        .aws
        .cloudfront()
        .describe_key_value_store()
        .name(p.names.kvs())
        .send()
        .await
        .unwrap()
        .key_value_store()
        .unwrap()
        .arn()
        .to_string();
    let (trust, policy) = p.role(&p.names.build_role()).await.expect("build role");
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "codebuild.amazonaws.com"
    );
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"],
        support::ACCOUNT
    );
    let site = format!("arn:aws:s3:::{}", p.names.bucket());
    let art = format!("arn:aws:s3:::{}", p.names.artifact_bucket());
    let logs = format!(
        "arn:aws:logs:{REGION}:{}:log-group:{}",
        support::ACCOUNT,
        p.names.log_group()
    );
    let st = statements(&policy);
    assert_eq!(
        st.keys().collect::<Vec<_>>(),
        vec![
            "ArtifactBucket",
            "ArtifactsAndCache",
            "BuildLogs",
            "LivePointer",
            "PublishBucket",
            "PublishObjects"
        ]
    );
    assert_eq!(
        st["BuildLogs"].0,
        strings(&["logs:CreateLogStream", "logs:PutLogEvents"])
    );
    assert_eq!(
        st["BuildLogs"].1,
        vec![logs.clone(), format!("{logs}:log-stream:*")]
    );
    assert_eq!(st["ArtifactsAndCache"].1, vec![format!("{art}/*")]);
    assert_eq!(st["ArtifactBucket"].1, vec![art.clone()]);
    assert_eq!(
        st["PublishObjects"].0,
        strings(&[
            "s3:AbortMultipartUpload",
            "s3:DeleteObject",
            "s3:GetObject",
            "s3:ListMultipartUploadParts",
            "s3:PutObject"
        ])
    );
    assert_eq!(st["PublishObjects"].1, vec![format!("{site}/*")]);
    assert_eq!(st["PublishBucket"].1, vec![site.clone()]);
    assert_eq!(st["LivePointer"].1, vec![kvs_arn.clone()]);
    assert!(
        st["LivePointer"]
            .0
            .iter()
            .all(|a| a.starts_with("cloudfront-keyvaluestore:"))
    );
    assert!(
        st["LivePointer"]
            .0
            .contains(&"cloudfront-keyvaluestore:PutKey".to_string())
    );

    let (trust, policy) = p
        .role(&p.names.pipeline_role())
        .await
        .expect("pipeline role");
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "codepipeline.amazonaws.com"
    );
    let st = statements(&policy);
    assert_eq!(
        st.keys().collect::<Vec<_>>(),
        vec!["ArtifactBucket", "Artifacts", "Build", "Connection"]
    );
    assert_eq!(st["Artifacts"].1, vec![format!("{art}/*")]);
    assert_eq!(
        st["Build"].1,
        vec![format!(
            "arn:aws:codebuild:{REGION}:{}:project/{}",
            support::ACCOUNT,
            p.names.codebuild_project()
        )]
    );
    assert_eq!(
        st["Connection"],
        (
            strings(&["codestar-connections:UseConnection"]),
            vec![arn.clone()]
        )
    );
    let role_tags = p
        .aws
        .iam()
        .list_role_tags()
        .role_name(p.names.pipeline_role())
        .send()
        .await
        .unwrap();
    assert!(
        p.names
            .owns(role_tags.tags().iter().map(|t| (t.key(), t.value())))
    );

    // The CodeBuild project.
    let got = p
        .aws
        .codebuild()
        .batch_get_projects()
        .names(p.names.codebuild_project())
        .send()
        .await
        .unwrap();
    let project = &got.projects()[0];
    let buildspec = project.source().unwrap().buildspec().unwrap();
    assert!(buildspec.contains("version: 0.2"), "{buildspec}");
    assert!(
        buildspec.contains(
            "cargo cloudfront-host publish -p web --dir dist --version \"${CLOUDFRONT_HOST_VERSION:-$CODEBUILD_RESOLVED_SOURCE_VERSION}\" --yes"
        ),
        "{buildspec}"
    );
    assert_eq!(project.source().unwrap().r#type().as_str(), "CODEPIPELINE");
    let env = project.environment().unwrap();
    assert_eq!(env.image(), "aws/codebuild/standard:7.0");
    assert_eq!(env.compute_type().as_str(), "BUILD_GENERAL1_SMALL");
    let vars: std::collections::BTreeMap<&str, &str> = env
        .environment_variables()
        .iter()
        .map(|v| (v.name(), v.value()))
        .collect();
    assert_eq!(
        vars.get("CLOUDFRONT_HOST_BUCKET"),
        Some(&p.names.bucket().as_str())
    );
    assert_eq!(vars.get("CLOUDFRONT_HOST_KVS_ARN"), Some(&kvs_arn.as_str()));
    assert_eq!(
        project.service_role(),
        Some(
            format!(
                "arn:aws:iam::{}:role/{}",
                support::ACCOUNT,
                p.names.build_role()
            )
            .as_str()
        )
    );
    assert_eq!(project.cache().unwrap().r#type().as_str(), "S3");
    assert_eq!(
        project.cache().unwrap().location(),
        Some(format!("{}/cache", p.names.artifact_bucket()).as_str())
    );
    assert_eq!(
        project
            .logs_config()
            .unwrap()
            .cloud_watch_logs()
            .unwrap()
            .group_name(),
        Some(p.names.log_group().as_str())
    );
    let groups = p
        .aws
        .logs()
        .describe_log_groups()
        .log_group_name_prefix(p.names.log_group())
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(30));

    // The pipeline: V2, Source (connection, repo, branch) → Build, push trigger with paths.
    let got = p
        .aws
        .codepipeline()
        .get_pipeline()
        .name(p.names.pipeline())
        .send()
        .await
        .unwrap();
    let pipeline = got.pipeline().unwrap();
    assert_eq!(pipeline.pipeline_type().unwrap().as_str(), "V2");
    assert_eq!(
        pipeline.artifact_store().unwrap().location(),
        p.names.artifact_bucket()
    );
    let stages: Vec<&str> = pipeline.stages().iter().map(|s| s.name()).collect();
    assert_eq!(stages, vec!["Source", "Build"]);
    let source = pipeline.stages()[0].actions()[0].configuration().unwrap();
    assert_eq!(source.get("ConnectionArn"), Some(&arn));
    assert_eq!(
        source.get("FullRepositoryId").map(String::as_str),
        Some(REPO)
    );
    assert_eq!(source.get("BranchName").map(String::as_str), Some("main"));
    let build = pipeline.stages()[1].actions()[0].configuration().unwrap();
    assert_eq!(build.get("ProjectName"), Some(&p.names.codebuild_project()));
    let env: Value = serde_json::from_str(build.get("EnvironmentVariables").unwrap()).unwrap();
    assert_eq!(env[0]["name"], "CLOUDFRONT_HOST_VERSION");
    assert_eq!(env[0]["value"], "#{SourceVariables.CommitId}");
    let trigger = &pipeline.triggers()[0];
    let push = &trigger.git_configuration().unwrap().push()[0];
    assert_eq!(push.branches().unwrap().includes(), ["main"]);
    assert_eq!(
        push.file_paths().unwrap().includes(),
        ["web/**", "Cargo.lock"]
    );

    // A second deploy plans no change and starts nothing new.
    let plan = p.json(&["plan"]);
    let changed: Vec<_> = actions(&plan["changes"])
        .into_iter()
        .filter(|(_, a)| a != "none")
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
    p.cmd(&["deploy"]).assert().success();
    assert_eq!(p.executions().await.len(), 2);

    // status --wait follows the running execution until the build succeeds.
    let child = p.spawn(&["status", "--wait"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    support::hook(
        "/_emulator/pipelines/state",
        json!({"name": p.names.pipeline(), "stage": "Build", "status": "Succeeded"}),
    );
    let out = wait_output(child, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("Succeeded execution {started}")),
        "{stdout}"
    );
    assert!(stdout.contains("Build    Succeeded"), "{stdout}");

    p.cmd(&["delete", "--yes"]).assert().success();
    p.everything_gone().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unapproved_connection_times_out_with_instructions_and_deploy_resumes() {
    let p = project("github", "source.branch = \"main\"\n").await;
    let out = p
        .cmd(&["deploy", "--connection-timeout", "2s"])
        .assert()
        .failure()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("still PENDING"), "{stderr}");
    assert!(stderr.contains("Update pending connection"), "{stderr}");
    // Only CodePipeline's automatic run, failed in Source: the connection is PENDING.
    let runs = p.runs().await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        (runs[0].1.as_str(), runs[0].2.as_str()),
        ("Failed", "CreatePipeline")
    );
    assert!(runs[0].3.contains("PENDING"), "{runs:?}");
    // The pipeline itself exists: only its first run waits.
    assert!(
        p.aws
            .codepipeline()
            .get_pipeline()
            .name(p.names.pipeline())
            .send()
            .await
            .is_ok()
    );
    let arn = p.connection_arn().await.unwrap();
    support::hook(
        "/_emulator/connections/status",
        json!({"ConnectionArn": arn, "ConnectionStatus": "AVAILABLE"}),
    );
    // The next deploy reuses the connection, changes nothing, and starts the first run.
    let view = p.json(&["deploy"]);
    assert!(
        view["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["action"] == "none"),
        "{view}"
    );
    assert_eq!(view["pipeline"]["connection_arn"], arn.as_str());
    // A pipeline whose only run failed is started again: "an execution exists" is not "it ran".
    let runs = p.runs().await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(
        view["pipeline"]["started_execution"].as_str(),
        Some(runs[0].0.as_str())
    );
    assert_eq!(
        (runs[0].1.as_str(), runs[0].2.as_str()),
        ("InProgress", "StartPipelineExecution")
    );

    // Nothing changed since: a re-deploy of the GitHub shape writes nothing and starts nothing.
    let key = support::unique("AKIDGH");
    p.cmd_with_key(&key, &["deploy"]).assert().success();
    assert!(
        support::last_request_seq(&key) > 0,
        "the deploy made no request at all"
    );
    assert_eq!(support::write_calls(&key, 0), Vec::<String>::new());
    assert_eq!(p.runs().await.len(), 2);
    p.cmd(&["delete", "--yes"]).assert().success();
    p.everything_gone().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reused_connection_is_used_and_never_deleted() {
    let conns = support::aws(REGION).await.connections();
    let arn = conns
        .create_connection()
        .connection_name(support::unique("own").chars().take(30).collect::<String>())
        .provider_type(aws_sdk_codestarconnections::types::ProviderType::Github)
        .send()
        .await
        .unwrap()
        .connection_arn()
        .to_string();
    support::hook(
        "/_emulator/connections/status",
        json!({"ConnectionArn": arn, "ConnectionStatus": "AVAILABLE"}),
    );
    let p = project(
        "github",
        &format!("source.branch = \"release\"\nsource.connection_arn = \"{arn}\"\n"),
    )
    .await;
    let view = p.json(&["deploy"]);
    assert_eq!(view["pipeline"]["connection_arn"], arn.as_str());
    assert_eq!(p.connection_arn().await, None, "no connection of its own");
    // The connection was AVAILABLE when the pipeline was created: CodePipeline's own run is
    // the first run, and deploy starts no second one.
    let runs = p.runs().await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        (runs[0].1.as_str(), runs[0].2.as_str()),
        ("InProgress", "CreatePipeline")
    );
    assert_eq!(view["pipeline"]["started_execution"], Value::Null);
    assert_eq!(
        view["pipeline"]["existing_execution"]["id"],
        runs[0].0.as_str()
    );
    let got = p
        .aws
        .codepipeline()
        .get_pipeline()
        .name(p.names.pipeline())
        .send()
        .await
        .unwrap();
    let source = got.pipeline().unwrap().stages()[0].actions()[0]
        .configuration()
        .unwrap()
        .clone();
    assert_eq!(source.get("ConnectionArn"), Some(&arn));
    assert_eq!(
        source.get("BranchName").map(String::as_str),
        Some("release")
    );
    p.cmd(&["delete", "--yes"]).assert().success();
    assert!(
        conns
            .get_connection()
            .connection_arn(&arn)
            .send()
            .await
            .is_ok(),
        "delete removed a connection it did not create"
    );
    p.everything_gone().await;
}

fn zip_names(bytes: &[u8]) -> Vec<String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut names: Vec<String> = (0..archive.len())
        .map(|i| archive.by_index(i).unwrap().name().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_source_deploy_and_upload_start_unique_versions_and_status_reports_a_failed_build() {
    let p = project("s3", "").await;
    std::fs::write(p.dir.join(".gitignore"), "secret.txt\ntarget/\n").unwrap();
    std::fs::write(p.dir.join("secret.txt"), "do not ship").unwrap();
    std::fs::create_dir_all(p.dir.join("target/debug")).unwrap();
    std::fs::write(p.dir.join("target/debug/huge"), "x").unwrap();

    let view = p.json(&["deploy"]);
    let first = view["pipeline"]["upload"]["version"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(first.starts_with("s3-"), "{first}");
    let first_exec = view["pipeline"]["started_execution"]
        .as_str()
        .unwrap()
        .to_string();

    // The pipeline reads the uploaded object, never polls, and passes the version on.
    let got = p
        .aws
        .codepipeline()
        .get_pipeline()
        .name(p.names.pipeline())
        .send()
        .await
        .unwrap();
    let pipeline = got.pipeline().unwrap();
    let source = pipeline.stages()[0].actions()[0].clone();
    assert_eq!(source.action_type_id().unwrap().provider(), "S3");
    let config = source.configuration().unwrap();
    assert_eq!(config.get("S3Bucket"), Some(&p.names.artifact_bucket()));
    assert_eq!(
        config.get("S3ObjectKey").map(String::as_str),
        Some("source/project.zip")
    );
    assert_eq!(
        config.get("PollForSourceChanges").map(String::as_str),
        Some("false")
    );
    assert!(pipeline.triggers().is_empty());
    let env: Value = serde_json::from_str(
        pipeline.stages()[1].actions()[0]
            .configuration()
            .unwrap()
            .get("EnvironmentVariables")
            .unwrap(),
    )
    .unwrap();
    assert_eq!(env[0]["value"], "#{variables.version}");
    let (_, policy) = p.role(&p.names.pipeline_role()).await.unwrap();
    assert!(!statements(&policy).contains_key("Connection"));

    let object = p
        .aws
        .s3()
        .get_object()
        .bucket(p.names.artifact_bucket())
        .key("source/project.zip")
        .send()
        .await
        .unwrap();
    let bytes = object.body.collect().await.unwrap().into_bytes();
    let files = zip_names(&bytes);
    assert_eq!(
        files,
        vec![".gitignore", "Cargo.toml", "dist/index.html", "src/lib.rs"]
    );

    // Nothing changed since: a re-deploy of the S3 shape writes nothing, uploads nothing and
    // starts nothing (the uploaded run is in progress).
    let key = support::unique("AKIDS3");
    p.cmd_with_key(&key, &["deploy"]).assert().success();
    assert!(
        support::last_request_seq(&key) > 0,
        "the deploy made no request at all"
    );
    assert_eq!(support::write_calls(&key, 0), Vec::<String>::new());

    let upload = p.json(&["upload"]);
    let second = upload["version"].as_str().unwrap().to_string();
    assert_ne!(first, second, "two uploads share a version");
    assert_ne!(
        upload["object_version"],
        view["pipeline"]["upload"]["object_version"]
    );
    let second_exec = upload["execution_id"].as_str().unwrap().to_string();
    // Newest first; the oldest is CodePipeline's own run on creation, which found no upload.
    let runs = p.runs().await;
    assert_eq!(
        runs.iter()
            .map(|r| r.0.as_str())
            .take(2)
            .collect::<Vec<_>>(),
        vec![second_exec.as_str(), first_exec.as_str()]
    );
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert_eq!(
        (runs[2].1.as_str(), runs[2].2.as_str()),
        ("Failed", "CreatePipeline")
    );
    assert!(runs[2].3.contains("source/project.zip"), "{runs:?}");
    let execution = p
        .aws
        .codepipeline()
        .get_pipeline_execution()
        .pipeline_name(p.names.pipeline())
        .pipeline_execution_id(&second_exec)
        .send()
        .await
        .unwrap();
    let variables = execution.pipeline_execution().unwrap().variables();
    assert_eq!(variables[0].name(), Some("version"));
    assert_eq!(variables[0].resolved_value(), Some(second.as_str()));
    let versions = p
        .aws
        .s3()
        .list_object_versions()
        .bucket(p.names.artifact_bucket())
        .prefix("source/")
        .send()
        .await
        .unwrap();
    assert_eq!(versions.versions().len(), 2);

    // The upload's run gets past Source; its Build action starts a CodeBuild build, which
    // fails and logs to its stream.
    support::hook(
        "/_emulator/pipelines/state",
        json!({"name": p.names.pipeline(), "pipelineExecutionId": second_exec,
               "stage": "Source", "status": "Succeeded"}),
    );
    let actions = p
        .aws
        .codepipeline()
        .list_action_executions()
        .pipeline_name(p.names.pipeline())
        .filter(
            aws_sdk_codepipeline::types::ActionExecutionFilter::builder()
                .pipeline_execution_id(&second_exec)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let build_id = actions
        .action_execution_details()
        .iter()
        .find(|d| d.stage_name() == Some("Build"))
        .and_then(|d| d.output()?.execution_result()?.external_execution_id())
        .expect("the Build action started a build")
        .to_string();
    let builds = p
        .aws
        .codebuild()
        .batch_get_builds()
        .ids(&build_id)
        .send()
        .await
        .unwrap();
    let build = builds.builds()[0].clone();
    assert_eq!(
        build.initiator(),
        Some(format!("codepipeline/{}", p.names.pipeline()).as_str())
    );
    let version_var = build
        .environment()
        .unwrap()
        .environment_variables()
        .iter()
        .find(|v| v.name() == "CLOUDFRONT_HOST_VERSION")
        .map(|v| v.value().to_string());
    assert_eq!(version_var.as_deref(), Some(second.as_str()));
    // Someone runs the project by hand meanwhile: the newest build is not the pipeline's.
    p.aws
        .codebuild()
        .start_build()
        .project_name(p.names.codebuild_project())
        .send()
        .await
        .unwrap();
    let logs = build.logs().unwrap();
    assert_eq!(logs.group_name(), Some(p.names.log_group().as_str()));
    let stream = logs.stream_name().unwrap().to_string();
    let cw = p.aws.logs();
    cw.create_log_stream()
        .log_group_name(p.names.log_group())
        .log_stream_name(&stream)
        .send()
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for (i, line) in [
        "[Container] Running command trunk build --release",
        "error: could not compile `web`",
    ]
    .iter()
    .enumerate()
    {
        cw.put_log_events()
            .log_group_name(p.names.log_group())
            .log_stream_name(&stream)
            .log_events(
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(now + i as i64)
                    .message(*line)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    support::hook(
        "/_emulator/builds/status",
        json!({"id": build_id, "status": "FAILED", "phase": "BUILD", "message": "COMMAND_EXECUTION_ERROR"}),
    );

    // status --wait on a failing build: non-zero, the stage, its error, the build's log.
    let child = p.spawn(&["status", "--wait"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    support::hook(
        "/_emulator/pipelines/state",
        json!({"name": p.names.pipeline(), "stage": "Build", "status": "Failed",
               "errorMessage": "error[E0425]: cannot find value `x`"}),
    );
    let out = wait_output(child, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "FAILED execution {second_exec} (Failed) at stage Build"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("error: error[E0425]: cannot find value `x`"),
        "{stdout}"
    );
    assert!(stderr.contains("at stage Build"), "{stderr}");
    assert!(stdout.contains(" by CreatePipeline"), "{stdout}");
    assert!(stdout.contains(&format!("build: {build_id}")), "{stdout}");
    let link = format!("logs: {}", build.logs().unwrap().deep_link().unwrap());
    assert!(link.contains("log-events"), "{link}");
    assert!(stdout.contains(&link), "{stdout}");
    assert!(
        stdout.contains("    error: could not compile `web`"),
        "{stdout}"
    );

    // Without --wait, status only reports (exit 0), as JSON too.
    let report = p.json(&["status"]);
    assert_eq!(report["executions"][0]["status"], "Failed");
    assert_eq!(report["executions"][1]["status"], "InProgress");
    assert_eq!(report["executions"][2]["status"], "Failed");
    assert_eq!(report["executions"][2]["trigger"], "CreatePipeline");
    assert_eq!(report["executions"][0]["trigger"], "StartPipelineExecution");

    p.cmd(&["delete", "--yes"]).assert().success();
    p.everything_gone().await;
    p.cmd(&["upload"]).assert().failure();
}

#[tokio::test]
async fn upload_refuses_other_sources() {
    let p = project("local", "").await;
    let out = p.cmd(&["upload"]).assert().failure().get_output().clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("source.kind = \"s3\""));
}

#[test]
fn help_has_examples() {
    for cmd in ["status", "upload", "deploy"] {
        let out = support::cli_offline()
            .args([cmd, "--help"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("Examples:"), "{cmd}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_s3_deploy_uploads_and_starts_although_codepipeline_already_ran_once() {
    let p = project("s3", "").await;
    let view = p.json(&["deploy"]);
    let upload = &view["pipeline"]["upload"];
    assert!(
        upload["version"].as_str().is_some(),
        "deploy did not upload: {view}"
    );
    let runs = p.runs().await;
    assert_eq!(runs.len(), 2, "{runs:?}");
    // CodePipeline's run on creation failed in Source: there was nothing to read yet.
    assert_eq!(
        (runs[1].1.as_str(), runs[1].2.as_str()),
        ("Failed", "CreatePipeline")
    );
    // deploy's own run, pinned to the uploaded object.
    assert_eq!(
        runs[0].0,
        view["pipeline"]["started_execution"].as_str().unwrap()
    );
    assert_eq!(
        (runs[0].1.as_str(), runs[0].2.as_str()),
        ("InProgress", "StartPipelineExecution")
    );
    assert!(
        view["pipeline"]["reason"]
            .as_str()
            .unwrap()
            .contains("just created"),
        "{view}"
    );
    p.cmd(&["delete", "--yes"]).assert().success();
    p.everything_gone().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_codeconnections_arn_is_read_through_its_own_api_and_granted_its_own_action() {
    // Connections made since July 2024 carry the renamed service's prefix.
    let arn = support::aws(REGION)
        .await
        .codeconnections()
        .create_connection()
        .connection_name(support::unique("cc").chars().take(30).collect::<String>())
        .provider_type(aws_sdk_codeconnections::types::ProviderType::Github)
        .send()
        .await
        .unwrap()
        .connection_arn()
        .to_string();
    assert!(arn.starts_with("arn:aws:codeconnections:"), "{arn}");
    support::hook(
        "/_emulator/connections/status",
        json!({"ConnectionArn": arn, "ConnectionStatus": "AVAILABLE"}),
    );
    let p = project(
        "github",
        &format!("source.branch = \"main\"\nsource.connection_arn = \"{arn}\"\n"),
    )
    .await;
    let key = support::unique("AKIDCC");
    let out = p
        .cmd_with_key(&key, &["--format", "json", "deploy"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let view: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(view["pipeline"]["connection_arn"], arn.as_str());
    // Read through CodeConnections, not through the CodeStar Connections API.
    let services: Vec<(String, String)> = support::requests(&key, 0)
        .iter()
        .filter(|r| r["operation"] == "GetConnection")
        .map(|r| {
            (
                r["service"].as_str().unwrap_or("").to_string(),
                r["operation"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(!services.is_empty());
    assert!(
        services.iter().all(|(s, _)| s == "codeconnections"),
        "{services:?}"
    );
    // The pipeline role may use exactly this connection, with the action of its own prefix.
    let (_, policy) = p.role(&p.names.pipeline_role()).await.unwrap();
    assert_eq!(
        statements(&policy)["Connection"],
        (
            strings(&["codeconnections:UseConnection"]),
            vec![arn.clone()]
        )
    );
    let source = p
        .aws
        .codepipeline()
        .get_pipeline()
        .name(p.names.pipeline())
        .send()
        .await
        .unwrap()
        .pipeline()
        .unwrap()
        .stages()[0]
        .actions()[0]
        .configuration()
        .unwrap()
        .clone();
    assert_eq!(source.get("ConnectionArn"), Some(&arn));
    // The connection was AVAILABLE, so CodePipeline's own first run fetched from it.
    let runs = p.runs().await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(
        (runs[0].1.as_str(), runs[0].2.as_str()),
        ("InProgress", "CreatePipeline")
    );
    p.cmd(&["delete", "--yes"]).assert().success();
    let still = support::aws(REGION)
        .await
        .codeconnections()
        .get_connection()
        .connection_arn(&arn)
        .send()
        .await;
    assert!(
        still.is_ok(),
        "delete removed a connection it did not create"
    );
    p.everything_gone().await;
}

#[test]
fn a_log_retention_cloudwatch_refuses_is_an_error_with_its_location_before_any_aws_call() {
    let name = support::unique("ret");
    let (_tmp, dir) = support::package(&format!(
        "[package.metadata.cloudfront]\nname = \"{name}\"\nregion = \"{REGION}\"\nframework = \"static\"\n\
         source.kind = \"s3\"\npipeline.log_retention_days = 10\n"
    ));
    let key = support::unique("AKIDRET");
    let out = support::cli_with_key(&key)
        .current_dir(&dir)
        .args(["deploy"])
        .assert()
        .failure()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "Cargo.toml:13:10: `package.metadata.cloudfront.pipeline.log_retention_days`"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("10 is not one of 1, 3, 5, 7, 14, 30"),
        "{stderr}"
    );
    assert_eq!(support::requests(&key, 0).len(), 0, "an AWS call was made");
}

#[test]
fn more_path_filters_than_codepipeline_takes_are_an_error_with_their_location() {
    let paths: Vec<String> = (0..9).map(|i| format!("\"p{i}/**\"")).collect();
    let (_tmp, dir) = support::package(&format!(
        "[package.metadata.cloudfront]\nregion = \"{REGION}\"\nframework = \"static\"\n\
         source.kind = \"github\"\nsource.repository = \"{REPO}\"\nsource.branch = \"main\"\n\
         source.paths = [{}]\n",
        paths.join(", ")
    ));
    let key = support::unique("AKIDPATHS");
    let out = support::cli_with_key(&key)
        .current_dir(&dir)
        .args(["plan"])
        .assert()
        .failure()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Cargo.toml:14:8:")
            && stderr.contains("`package.metadata.cloudfront.source.paths`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("9 entries; at most 8 are allowed"),
        "{stderr}"
    );
    assert_eq!(support::requests(&key, 0).len(), 0, "an AWS call was made");
}
