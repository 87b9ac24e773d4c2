//! `deploy`: converge the hosting stack, wait for CloudFront, then build and publish.

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::DeployArgs;
use crate::context::Context;
use crate::infra::pipeline::run::{PipelineView, start_first_run};
use crate::infra::{Change, Mode, StackOptions};
use crate::release::{PublishReport, Release, Target, default_version_id, password, site};
use crate::ui::report;

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

pub async fn run(ctx: &Context, args: &DeployArgs) -> anyhow::Result<()> {
    let (project, ui) = (&ctx.project, &ctx.ui);
    if args.dry_run {
        let c = ctx.connect().await?;
        let desired = ctx.desired()?;
        let plan = ctx.stack(c, &desired).converge(Mode::Plan, &|_| {}).await?;
        ui.result(report::plan_text(&plan), &plan);
        return Ok(());
    }
    // Build first: a broken build must not leave a half-changed stack behind it.
    let publish_dir = if args.no_publish || project.settings.source.kind != "local" {
        None
    } else {
        if !args.no_build && args.dir.is_none() {
            site::build(project, ui)?;
        }
        Some(site::site_dir(project, args.dir.as_deref())?)
    };
    let desired = ctx.desired()?;
    let c = ctx.connect().await?;
    let (aws, names) = (&c.aws, &c.names);
    // Settled before anything changes: a missing password stops the deploy here.
    let password = password::to_store(project, aws, names, ui).await?;
    let mut stack = ctx.stack(c, &desired);
    stack.options.force = args.force;
    let plan = stack.converge(Mode::Plan, &|_| {}).await?;
    report::planned(ui, &plan);
    let wait = super::wait_options(args.timeout, ui);
    let notice_ui = ui.clone();
    let mut stack = ctx.stack(c, &desired);
    stack.options = StackOptions {
        force: args.force,
        no_wait: args.no_wait,
        timeout: args.timeout,
        on_notice: Some(std::sync::Arc::new(move |m: &str| notice_ui.warn(m))),
        on_wait: wait.on_wait.clone(),
    };
    let applied = if plan.is_empty() {
        ui.status("Unchanged", "every resource is up to date");
        plan
    } else {
        stack
            .converge(Mode::Apply, &|c| report::applied(ui, c))
            .await
            .context(
                "deploy stopped; what was created is kept and the next `deploy` continues from there",
            )?
    };
    if applied.is_empty() {
        // Nothing changed: the IDs come from a read-only pass.
        stack.converge(Mode::Plan, &|_| {}).await?;
    }
    if let Some(password) = &password
        && crate::release::previews::store_password(&aws.kvs(), &kvs_arn(&stack)?, password).await?
    {
        ui.status(
            "Stored",
            "the site password (salted SHA-256) in the KeyValueStore",
        );
    }
    stack.wait_deployed(&wait).await?;
    // The spinner clears itself when the last handle goes.
    stack.options.on_wait = None;
    drop(wait);
    let distribution = stack.ids.distribution_id.as_deref().unwrap_or("?");
    ui.status("Deployed", format_args!("distribution {distribution}"));

    let mut published = None;
    if let Some(dir) = &publish_dir {
        let target = Target {
            bucket: names.bucket(),
            kvs_arn: kvs_arn(&stack)?,
        };
        let release = Release::new(aws, target);
        let version = default_version_id(&project.git);
        let report = site::publish(project, &release, dir.clone(), version, true, ui, None).await?;
        ui.status("Live", format_args!("version {}", report.version));
        published = Some(report);
    }
    let pipeline = match &desired.pipeline {
        Some(spec) if !args.no_publish => Some(
            start_first_run(
                project,
                aws,
                names,
                &stack,
                spec,
                args.connection_timeout,
                ui,
            )
            .await?,
        ),
        _ => None,
    };
    let domains = report::domain_urls(ui, &stack);
    let url = domains.first().cloned().or_else(|| stack.url());
    let view = DeployView {
        domains,
        url: url.clone(),
        distribution_id: stack.ids.distribution_id.clone(),
        changes: applied.changes,
        published,
        pipeline,
    };
    let text = url.map(|u| format!("{u}\n")).unwrap_or_default();
    ui.result(text, &view);
    Ok(())
}

fn kvs_arn(stack: &crate::infra::Stack<'_>) -> anyhow::Result<String> {
    (stack.ids.kvs_arn.clone()).context("the KeyValueStore was not found after deploying it")
}
