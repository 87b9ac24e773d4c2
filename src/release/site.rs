//! Publishing the project's built site: which directory, under which version id, with the
//! settings' upload options, and as a preview. The glue between the resolved settings and
//! [`Release`], shared by `publish` and `deploy`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use super::manifest::{GitInfo, validate_user_version_id};
use super::scan::{self, ScanRules};
use super::{PublishOptions, PublishReport, Release, default_version_id, previews};
use crate::project::Project;
use crate::settings::Value;
use crate::ui::Ui;

/// The built site: `dir` (`--dir`), else the `build.output_dir` setting. Never the project
/// itself: a site directory that holds (or is above) the project root would publish its
/// sources and secrets.
pub fn site_dir(project: &Project, dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    let (dir, from) = match (dir, &project.settings.build.output_dir) {
        (Some(dir), _) => (dir.to_path_buf(), "--dir".to_string()),
        (None, Some(out)) => (
            project.root.join(out),
            match project.resolved.origin("build.output_dir") {
                Some(origin) => format!("`build.output_dir` ({origin})"),
                None => "`build.output_dir`".to_string(),
            },
        ),
        (None, None) => anyhow::bail!(
            "no site directory: pass --dir DIR, or set `build.output_dir` in [package.metadata.cloudfront] (`cargo cloudfront-host init` detects it)"
        ),
    };
    if let Err(e) = super::scan::refuse_project_dir(&dir, &project.root) {
        anyhow::bail!("{from}: {e}");
    }
    Ok(dir)
}

/// Runs the `build.command` setting in the project root; its output goes to stderr so the
/// result on stdout stays machine-readable.
pub fn build(project: &Project, ui: &Ui) -> anyhow::Result<()> {
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

/// `--version`, checked, else the commit.
pub fn version_id(project: &Project, given: Option<&str>) -> anyhow::Result<String> {
    match given {
        Some(v) => {
            validate_user_version_id(v).map_err(|e| anyhow::anyhow!("--version: {e}"))?;
            Ok(v.to_string())
        }
        None => Ok(default_version_id(&project.git)),
    }
}

/// The `publish.exclude` patterns, checked before any AWS call.
pub fn scan_rules(project: &Project, dir: &Path) -> anyhow::Result<ScanRules> {
    let rules = ScanRules {
        exclude: match project.resolved.get("publish.exclude") {
            Some(Value::List(l)) => l.clone(),
            _ => Vec::new(),
        },
    };
    if let Err(e) = rules.matcher(dir) {
        let at = project
            .resolved
            .origin("publish.exclude")
            .map(|o| format!(" ({o})"))
            .unwrap_or_default();
        anyhow::bail!("`publish.exclude`{at}: {e}");
    }
    Ok(rules)
}

fn git_info(project: &Project) -> GitInfo {
    GitInfo {
        commit: project.git.commit.clone(),
        branch: project.git.branch.clone(),
        dirty: project.git.dirty,
        repository: project.git.github.clone(),
    }
}

/// Starts hashing `dir` with the project's `publish.exclude` and `precompress` (the patterns
/// are checked first, before any AWS call), so that it runs while the bucket is located.
pub fn start_scan(project: &Project, dir: &Path) -> anyhow::Result<scan::Pending> {
    let rules = scan_rules(project, dir)?;
    Ok(scan::Pending::start(
        dir.to_path_buf(),
        project.settings.precompress.clone(),
        rules,
    ))
}

/// Uploads `dir` as `version` and (with `switch`) makes it live; status lines on the way.
/// `scan` is [`start_scan`] of `dir`, if the caller started it early.
pub async fn publish(
    project: &Project,
    release: &Release,
    dir: PathBuf,
    version: String,
    switch: bool,
    ui: &Ui,
    scan: Option<scan::Pending>,
) -> anyhow::Result<PublishReport> {
    let settings = &project.settings;
    ui.status(
        "Publishing",
        format_args!("{} as version {version}", dir.display()),
    );
    let options = PublishOptions {
        dir,
        version,
        switch,
        precompress: settings.precompress.clone(),
        brotli_level: settings.brotli_level,
        concurrency: settings.upload.concurrency,
        multipart_threshold: settings.upload.multipart_threshold,
        retention: settings.retention.clone(),
        git: git_info(project),
        quiet: ui.quiet,
    };
    let scan = match scan {
        Some(scan) => scan,
        None => start_scan(project, &options.dir)?,
    };
    let report = match release.publish_scanned(&options, scan).await {
        Ok(report) => report,
        Err(e) => {
            let now = release.live_now(release.live_at_start()).await;
            return Err(anyhow::Error::new(e).context(format!("publish failed; {now}")));
        }
    };
    if report.already_published {
        ui.status(
            "Unchanged",
            format_args!(
                "version {} was already published with the same files; checked the bucket against its manifest",
                report.version
            ),
        );
    }
    if report.repaired > 0 {
        ui.status(
            "Repaired",
            format_args!(
                "{} object(s) were missing or different in the bucket and were sent again",
                report.repaired
            ),
        );
    }
    if let Some(r) = report
        .retention
        .as_ref()
        .filter(|r| !r.deleted_versions.is_empty())
    {
        ui.status(
            "Removed",
            format_args!(
                "{} old version(s): {}",
                r.deleted_versions.len(),
                r.deleted_versions.join(", ")
            ),
        );
    }
    Ok(report)
}

#[derive(Serialize)]
pub struct PreviewInfo {
    pub name: String,
    pub version: String,
    pub url: String,
    pub created: String,
    pub expires: String,
    /// Expired previews this publish removed.
    pub pruned: Vec<String>,
}

/// The preview name: the requested one, else the branch or pull request's; refused before
/// anything is uploaded when it makes no slug.
pub fn preview_slug(project: &Project, requested: &str) -> anyhow::Result<String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let name = if requested.is_empty() {
        previews::default_name(&env, project.git.branch.as_deref())?
    } else {
        requested.to_string()
    };
    Ok(previews::slug(&name)?)
}

/// After a publish without switching: `preview:<slug>` points at the version; `live` is never
/// touched. Expired previews are pruned and the GitHub Actions step outputs written.
pub async fn point_preview(
    project: &Project,
    release: &Release,
    slug: String,
    version: &str,
    ui: &Ui,
) -> anyhow::Result<PreviewInfo> {
    let metadata = release
        .set_preview(
            &slug,
            version,
            project.settings.previews.expire_after,
            &git_info(project),
        )
        .await
        .context("the version was uploaded, but the preview could not be pointed at it")?;
    let pruned = release.prune_previews().await?;
    if !pruned.is_empty() {
        ui.status(
            "Removed",
            format_args!("{} expired preview(s): {}", pruned.len(), pruned.join(", ")),
        );
    }
    let (domain, host) = release.preview_hosts(&project.settings).await;
    let url = previews::url(&slug, domain.as_deref(), host.as_deref());
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Err(e) = previews::github_outputs(&env, &slug, version, &url, &metadata.expires) {
        ui.warn(format_args!(
            "could not write the GitHub Actions step outputs: {e}"
        ));
    }
    Ok(PreviewInfo {
        name: slug,
        version: version.to_string(),
        url,
        created: metadata.created,
        expires: metadata.expires,
        pruned,
    })
}
