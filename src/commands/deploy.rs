//! `deploy`: converge the hosting stack, wait for CloudFront, then build and publish.

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::{DeployArgs, GlobalArgs};
use crate::infra::pipeline::{self, PipelineSpec, SourceSpec};
use crate::infra::{Action, Change, Mode, Plan, Stack, StackOptions};
use crate::project::Project;
use crate::release::{PublishReport, Release, Target, default_version_id};
use crate::ui::Ui;

#[derive(Serialize)]
struct DeployView {
    url: Option<String>,
    /// `https://<name>/` for each custom-domain name the distribution serves.
    domains: Vec<String>,
    distribution_id: Option<String>,
    changes: Vec<Change>,
    published: Option<PublishReport>,
    pipeline: Option<PipelineView>,
}

#[derive(Serialize)]
struct PipelineView {
    name: String,
    source: SourceSpec,
    connection_arn: Option<String>,
    /// The execution this deploy started; `None` when one had already run.
    started_execution: Option<String>,
    /// The run that made starting one unnecessary (CodePipeline's automatic first run, or an
    /// earlier one that succeeded or is running).
    existing_execution: Option<pipeline::Execution>,
    /// Why deploy started a run, or why it did not.
    reason: String,
    upload: Option<super::upload::UploadReport>,
}

/// The pipeline's desired source and buildspec, or `None` for `source.kind = "local"`.
pub(crate) fn pipeline_spec(project: &Project, ui: &Ui) -> anyhow::Result<Option<PipelineSpec>> {
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
    let buildspec =
        super::buildspec::for_project(project, ui).context("the pipeline runs a buildspec")?;
    Ok(Some(PipelineSpec { source, buildspec }))
}

pub async fn run(global: &GlobalArgs, args: &DeployArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = super::load_detected(global, ui).await?;
    if args.dry_run {
        return super::plan::print_plan(&project, ui).await;
    }
    // Build first: a broken build must not leave a half-changed stack behind it.
    let publish_dir = if args.no_publish || project.settings.source.kind != "local" {
        None
    } else {
        if !args.no_build && args.dir.is_none() {
            build(&project, ui)?;
        }
        Some(super::publish::site_dir(&project, args.dir.as_deref())?)
    };
    let spec = pipeline_spec(&project, ui)?;
    let github = crate::infra::ci::GithubSpec::of(&project.settings, &project.git)?;
    let (aws, account, names) = super::connect(&project).await?;
    // Settled before anything changes: a missing password stops the deploy here.
    let password = password_to_store(&project, &aws, &names, ui).await?;
    let mut stack = Stack::new(&aws, &names, &project.settings, &account);
    stack.options.force = args.force;
    stack.pipeline = spec.clone();
    stack.github = github.clone();
    let plan = stack.converge(Mode::Plan, &|_| {}).await?;
    show_plan(&plan, ui);
    let wait = super::wait_options(args.timeout, ui);
    let notice_ui = ui.clone();
    let mut stack = Stack::new(&aws, &names, &project.settings, &account);
    stack.options = StackOptions {
        force: args.force,
        no_wait: args.no_wait,
        timeout: args.timeout,
        on_notice: Some(std::sync::Arc::new(move |m: &str| notice_ui.warn(m))),
        on_wait: wait.on_wait.clone(),
    };
    stack.pipeline = spec.clone();
    stack.github = github.clone();
    let applied = if plan.is_empty() {
        ui.status("Unchanged", "every resource is up to date");
        plan
    } else {
        let progress = |c: &Change| match c.action {
            Action::Create => ui.status("Created", format_args!("{} {}", c.resource, c.name)),
            Action::Update => ui.status(
                "Updated",
                format_args!("{} {} ({})", c.resource, c.name, c.reason),
            ),
            Action::Delete => ui.status("Deleted", format_args!("{} {}", c.resource, c.name)),
            Action::None => ui.detail(format_args!("{} {} is up to date", c.resource, c.name)),
        };
        stack.converge(Mode::Apply, &progress).await.context(
            "deploy stopped; what was created is kept and the next `deploy` continues from there",
        )?
    };
    if applied.is_empty() {
        // Nothing changed: the IDs come from a read-only pass.
        stack.converge(Mode::Plan, &|_| {}).await?;
    }
    if let Some(password) = &password {
        let arn = stack
            .ids
            .kvs_arn
            .clone()
            .context("the KeyValueStore was not found after deploying it")?;
        if crate::release::previews::store_password(&aws.kvs(), &arn, password).await? {
            ui.status(
                "Stored",
                "the site password (salted SHA-256) in the KeyValueStore",
            );
        }
    }
    stack.wait_deployed(&wait).await?;
    // The spinner clears itself when the last handle goes.
    stack.options.on_wait = None;
    drop(wait);
    ui.status(
        "Deployed",
        format_args!(
            "distribution {}",
            stack.ids.distribution_id.as_deref().unwrap_or("?")
        ),
    );

    let mut published = None;
    if let Some(dir) = &publish_dir {
        let target = Target {
            bucket: names.bucket(),
            kvs_arn: stack
                .ids
                .kvs_arn
                .clone()
                .context("the KeyValueStore was not found after deploying it")?,
        };
        let release = Release::new(&aws, target);
        let version = default_version_id(&project.git);
        let report =
            super::publish::publish(&project, &release, dir.clone(), version, true, ui).await?;
        ui.status("Live", format_args!("version {}", report.version));
        published = Some(report);
    }
    let pipeline_view = match &spec {
        Some(spec) if !args.no_publish => {
            Some(start_pipeline(&project, &aws, &names, &stack, spec, args, ui).await?)
        }
        _ => None,
    };
    let domain_urls: Vec<String> = match (&stack.domains, &stack.ids.certificate_arn) {
        // The previews' wildcard is not a URL anyone can open.
        (Some(d), Some(_)) => d
            .names
            .iter()
            .filter(|n| !n.starts_with("*."))
            .map(|n| format!("https://{n}/"))
            .collect(),
        (Some(d), None) => {
            ui.warn(format_args!(
                "{} is not served yet: its certificate is waiting for DNS validation; run `deploy` again once the records exist",
                d.main()
            ));
            Vec::new()
        }
        _ => Vec::new(),
    };
    let url = domain_urls.first().cloned().or_else(|| stack.url());
    let view = DeployView {
        domains: domain_urls,
        url: url.clone(),
        distribution_id: stack.ids.distribution_id.clone(),
        changes: applied.changes,
        published,
        pipeline: pipeline_view,
    };
    let text = match &url {
        Some(url) => format!("{url}\n"),
        None => String::new(),
    };
    ui.result(text, &view);
    Ok(())
}

/// After provisioning: wait for the GitHub connection to be approved, then make sure the
/// pipeline has run at least once (an S3 source gets the project uploaded first).
async fn start_pipeline(
    project: &Project,
    aws: &crate::aws::Aws,
    names: &crate::names::Names,
    stack: &Stack<'_>,
    spec: &PipelineSpec,
    args: &DeployArgs,
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
            humantime::format_duration(args.connection_timeout)
        ));
        let wait = super::wait_options(args.connection_timeout, ui);
        let on_wait = wait.on_wait.clone();
        pipeline::wait_connection(aws, arn, args.connection_timeout, &move |m: &str| {
            if let Some(f) = &on_wait {
                f(m)
            }
        })
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

fn show_plan(plan: &Plan, ui: &Ui) {
    for c in plan.changes.iter().filter(|c| c.action != Action::None) {
        let verb = match c.action {
            Action::Create => "Create",
            Action::Update => "Update",
            Action::Delete => "Delete",
            Action::None => "Keep",
        };
        ui.status(
            verb,
            format_args!("{} {} ({})", c.resource, c.name, c.reason),
        );
    }
}

/// Runs the `build.command` setting in the project root; its output goes to stderr so the
/// result on stdout stays machine-readable.
fn build(project: &Project, ui: &Ui) -> anyhow::Result<()> {
    let Some(command) = &project.settings.build.command else {
        ui.detail("no build.command set: publishing the output directory as it is");
        return Ok(());
    };
    ui.status("Building", command);
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(&project.root)
        .stdout(std::io::stderr())
        .status()
        .with_context(|| format!("could not run the build command `{command}`"))?;
    if !status.success() {
        anyhow::bail!(
            "the build command `{command}` failed ({status}); nothing was deployed or published"
        );
    }
    Ok(())
}

/// With `access.site` or `access.previews` = "password": the password to store, from
/// CLOUDFRONT_HOST_PASSWORD or a prompt. `None` when none is needed, or when one is stored
/// and no new one was given (the stored one stays).
async fn password_to_store(
    project: &Project,
    aws: &crate::aws::Aws,
    names: &crate::names::Names,
    ui: &Ui,
) -> anyhow::Result<Option<String>> {
    let options = crate::edge::function::EdgeOptions::from_settings(&project.settings);
    if !options.needs_password() {
        return Ok(None);
    }
    if let Some(p) = std::env::var("CLOUDFRONT_HOST_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    {
        return Ok(Some(p));
    }
    let existing = aws
        .cloudfront()
        .describe_key_value_store()
        .name(names.kvs())
        .send()
        .await
        .ok()
        .and_then(|d| d.key_value_store().map(|k| k.arn().to_string()));
    if let Some(arn) = existing
        && crate::release::previews::stored_password(&aws.kvs(), &arn)
            .await?
            .is_some()
    {
        return Ok(None);
    }
    if !ui.interactive {
        anyhow::bail!(
            "access.site or access.previews is \"password\" and no password is stored yet: set CLOUDFRONT_HOST_PASSWORD (deploy stores only a salted hash of it)"
        );
    }
    let password = dialoguer::Password::new()
        .with_prompt("Password for the site (visitors type it in the browser)")
        .with_confirmation("Again", "the two entries differ")
        .interact()
        .context("could not read the password")?;
    Ok(Some(password))
}
