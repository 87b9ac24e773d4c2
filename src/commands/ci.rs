//! `ci github`: write the GitHub Actions workflow and turn on `ci.github`, so that the next
//! `deploy` creates the OIDC provider and the roles the workflow assumes.

use anyhow::Context as _;
use serde::Serialize;

use crate::buildspec::{BuildFacts, repository_prefix};
use crate::cli::CiGithubArgs;
use crate::context::Context;
use crate::github_workflow::{self as workflow, Existing, WorkflowSpec};
use crate::infra::ci::{GithubSpec, role_arn};
use crate::settings::write::enable_ci_github;
use crate::workspace::repository_root;

#[derive(Serialize)]
struct CiView {
    path: String,
    /// `created`, `updated`, `unchanged`, or `dry-run`.
    outcome: &'static str,
    repository: String,
    branch: String,
    region: String,
    role_arn: String,
    /// `None` when this build has no previews: the workflow then has no pull-request jobs.
    preview_role_arn: Option<String>,
    /// True when `ci.github = true` (and `source.branch`) were added to the manifest.
    enabled_setting: bool,
    workflow: String,
}

pub async fn github(ctx: &Context, args: &CiGithubArgs) -> anyhow::Result<()> {
    let (project, ui) = (&ctx.project, &ctx.ui);
    // The repository and branch are checked before any AWS call, whether or not the
    // setting is on yet (this command turns it on).
    let mut settings = project.settings.clone();
    settings.ci.github = true;
    let spec =
        GithubSpec::of(&settings, &project.git)?.context("ci.github could not be turned on")?;
    let build = BuildFacts::of(project, &ctx.detection).context("cannot generate a workflow")?;
    let c = ctx.connect().await?;
    let (account, names) = (&c.account, &c.names);
    let role = role_arn(account, &names.github_role());
    let previews = spec.previews && crate::cli::previews_supported();
    let preview_role = previews.then(|| role_arn(account, &names.github_preview_role()));
    if !spec.previews {
        ui.detail("ci.github_previews = false: no pull-request jobs");
    } else if !previews {
        ui.warn("this version of cargo-cloudfront-host has no previews: the workflow publishes pushes only, without pull-request jobs");
    }
    let text = workflow::render(&WorkflowSpec {
        framework: &build.framework,
        package: build.package.as_deref(),
        build_command: project.settings.build.command.as_deref(),
        output_dir: &build.output_dir,
        tool_versions: &build.tool_versions,
        project_dir: repository_prefix(&project.root).as_deref(),
        branch: &spec.branch,
        region: &project.settings.region,
        role_arn: &role,
        preview_role_arn: preview_role.as_deref(),
    })?;

    let top = repository_root(&project.root);
    let path = top.join(workflow::PATH);
    let existing = match std::fs::read_to_string(&path) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("could not read {}", path.display())),
    };
    let state = workflow::classify(existing.as_deref(), &text);
    if state == Existing::Changed && !args.force && !args.dry_run {
        anyhow::bail!(
            "{} was edited since cargo-cloudfront-host wrote it (or is not its file); nothing \
             was changed. Compare with `cargo cloudfront-host ci github --dry-run`, then pass \
             --force to replace it",
            workflow::PATH
        );
    }
    let outcome = match (args.dry_run, state) {
        (true, _) => "dry-run",
        (false, Existing::Same) => "unchanged",
        (false, Existing::Missing) => "created",
        (false, _) => "updated",
    };
    let mut enabled_setting = false;
    if !args.dry_run {
        if state != Existing::Same {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("could not create {}", dir.display()))?;
            }
            std::fs::write(&path, &text)
                .with_context(|| format!("could not write {}", path.display()))?;
            ui.status("Wrote", workflow::PATH);
        }
        enabled_setting = enable_ci_github(project, &spec.branch, ui)?;
    }
    let view = CiView {
        path: workflow::PATH.into(),
        outcome,
        repository: spec.repository.clone(),
        branch: spec.branch.clone(),
        region: project.settings.region.clone(),
        role_arn: role,
        preview_role_arn: preview_role,
        enabled_setting,
        workflow: text.clone(),
    };
    let out = if args.dry_run {
        text
    } else {
        format!(
            "{} {} (pushes to {} of {} publish)\n\nNext:\n  cargo cloudfront-host deploy    # the OIDC provider and the roles the workflow assumes\n  git add {} Cargo.toml && git commit -m 'Publish from GitHub Actions'\n",
            workflow::PATH,
            outcome,
            spec.branch,
            spec.repository,
            workflow::PATH
        )
    };
    ui.result(out, &view);
    Ok(())
}
