//! `deploy`: converge the hosting stack, wait for CloudFront, then build and publish.

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::{DeployArgs, GlobalArgs};
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
}

pub async fn run(global: &GlobalArgs, args: &DeployArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = Project::load(global, Vec::new(), Vec::new(), ui).await?;
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
    let (aws, account, names) = super::connect(&project).await?;
    let mut stack = Stack::new(&aws, &names, &project.settings, &account);
    stack.options.force = args.force;
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
    match (&publish_dir, project.settings.source.kind.as_str()) {
        (Some(dir), _) => {
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
        (None, "local") => {}
        (None, kind) => ui.warn(format_args!(
            "source.kind = \"{kind}\": this version provisions no pipeline yet; publish from your CI with `cargo cloudfront-host publish`"
        )),
    }
    let domain_urls: Vec<String> = match (&stack.domains, &stack.ids.certificate_arn) {
        (Some(d), Some(_)) => d.names.iter().map(|n| format!("https://{n}/")).collect(),
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
    };
    let text = match &url {
        Some(url) => format!("{url}\n"),
        None => String::new(),
    };
    ui.result(text, &view);
    Ok(())
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
