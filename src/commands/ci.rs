//! `ci github`: write the GitHub Actions workflow and turn on `ci.github`, so that the next
//! `deploy` creates the OIDC provider and the roles the workflow assumes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::{CiGithubArgs, GlobalArgs};
use crate::github_workflow::{self as workflow, Existing, WorkflowSpec};
use crate::infra::ci::{GithubSpec, role_arn};
use crate::project::Project;
use crate::ui::Ui;

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

/// Whether this build of the tool can publish and delete previews (the workflow's
/// pull-request jobs call `publish --preview` and `previews delete`).
pub fn previews_supported() -> bool {
    use clap::CommandFactory as _;
    let cli = crate::cli::Cli::command();
    let preview_flag = cli
        .find_subcommand("publish")
        .is_some_and(|p| p.get_arguments().any(|a| a.get_long() == Some("preview")));
    preview_flag && cli.find_subcommand("previews").is_some()
}

pub async fn github(global: &GlobalArgs, args: &CiGithubArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = super::load_detected(global, ui).await?;
    // The repository and branch are checked before any AWS call, whether or not the
    // setting is on yet (this command turns it on).
    let mut settings = project.settings.clone();
    settings.ci.github = true;
    let spec =
        GithubSpec::of(&settings, &project.git)?.context("ci.github could not be turned on")?;
    let build = build_facts(&project, ui)?;
    let (_aws, account, names) = super::connect(&project).await?;
    let role = role_arn(&account, &names.github_role());
    let previews = spec.previews && previews_supported();
    let preview_role = previews.then(|| role_arn(&account, &names.github_preview_role()));
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
        project_dir: super::buildspec::repository_prefix(&project.root).as_deref(),
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
        enabled_setting = enable_setting(&project, &spec, ui)?;
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

struct BuildFacts {
    framework: String,
    package: Option<String>,
    output_dir: String,
    tool_versions: BTreeMap<String, String>,
}

/// The stack as the buildspec sees it: settings first, detection for the tool versions (only
/// when it found the same stack the settings name).
fn build_facts(project: &Project, ui: &Ui) -> anyhow::Result<BuildFacts> {
    let s = &project.settings;
    let found = super::init::detect_project(
        &project.root,
        project.workspace.as_ref(),
        None,
        None,
        None,
        ui,
    );
    let (Some(framework), Some(output_dir)) = (&s.framework, &s.build.output_dir) else {
        return Err(match found {
            Err(e) => anyhow::Error::from(e),
            Ok(_) => anyhow::anyhow!(
                "no framework or output directory: run `cargo cloudfront-host init` first"
            ),
        })
        .context("cannot generate a workflow");
    };
    let same = |d: &str| {
        d == framework || (crate::detect::trunk_family(d) && crate::detect::trunk_family(framework))
    };
    let package_dir = project
        .workspace
        .as_ref()
        .and_then(|w| w.package())
        .map(|p| p.dir.clone());
    let tool_versions = match &found {
        Ok(d) if same(&d.framework) => d.tool_versions.clone(),
        _ => {
            let scan = crate::detect::Scan::new(&project.root, project.workspace.as_ref());
            let dir = package_dir.as_deref().unwrap_or(project.root.as_path());
            crate::detect::custom::detection(&scan, None, None, ".", dir)?.tool_versions
        }
    };
    let package = project
        .workspace
        .as_ref()
        .and_then(|w| w.package())
        .map(|p| p.name.clone())
        .or_else(|| found.ok().and_then(|d| d.package));
    Ok(BuildFacts {
        framework: framework.clone(),
        package,
        output_dir: output_dir.display().to_string(),
        tool_versions,
    })
}

/// The repository's top directory (the workflow lives there), else the project root.
fn repository_root(root: &Path) -> PathBuf {
    root.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(root)
        .to_path_buf()
}

/// Sets `ci.github = true` in the package's `[package.metadata.cloudfront]` unless the
/// resolved settings already have it, and pins `source.branch` when it only came from the
/// checkout: a later `deploy` from a feature branch must not move the publish role's trust
/// there. Returns whether the file changed.
fn enable_setting(project: &Project, spec: &GithubSpec, ui: &Ui) -> anyhow::Result<bool> {
    let mut entries = Vec::new();
    if !project.settings.ci.github {
        entries.push(("ci.github".to_string(), crate::settings::Value::Bool(true)));
    }
    if project.settings.source.branch.is_none() {
        entries.push((
            "source.branch".to_string(),
            crate::settings::Value::Str(spec.branch.clone()),
        ));
    }
    if entries.is_empty() {
        return Ok(false);
    }
    let Some(manifest) = project
        .workspace
        .as_ref()
        .and_then(|w| w.package())
        .map(|p| p.manifest_path.clone())
    else {
        ui.warn(format_args!(
            "no Cargo package to hold the settings: set CARGO_CLOUDFRONT_HOST_CI_GITHUB=true and CARGO_CLOUDFRONT_HOST_SOURCE_BRANCH={} when you run `deploy`",
            spec.branch
        ));
        return Ok(false);
    };
    let original = std::fs::read_to_string(&manifest)
        .with_context(|| format!("could not read {}", manifest.display()))?;
    let updated =
        crate::cargo_toml::set_table(&original, &["package", "metadata", "cloudfront"], &entries)
            .with_context(|| format!("cannot set ci.github in {}", manifest.display()))?;
    std::fs::write(&manifest, updated)
        .with_context(|| format!("could not write {}", manifest.display()))?;
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    ui.status(
        "Set",
        format_args!("{} in {}", keys.join(", "), manifest.display()),
    );
    Ok(true)
}
