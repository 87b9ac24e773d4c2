//! `publish`: upload a built site as a new version and flip the live pointer to it.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::{GlobalArgs, PublishArgs};
use crate::project::Project;
use crate::release::manifest::{GitInfo, validate_user_version_id};
use crate::release::scan::ScanRules;
use crate::release::{PublishOptions, default_version_id};
use crate::settings::Value;
use crate::ui::Ui;

pub async fn run(global: &GlobalArgs, args: &PublishArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = Project::load(global, Vec::new(), Vec::new(), ui).await?;
    if let Some(name) = &args.preview {
        return run_preview(&project, args, name, ui).await;
    }
    let dir = site_dir(&project, args.dir.as_deref())?;
    let version = match &args.version_id {
        Some(v) => {
            validate_user_version_id(v).map_err(|e| anyhow::anyhow!("--version: {e}"))?;
            v.clone()
        }
        None => default_version_id(&project.git),
    };
    scan_rules(&project, &dir)?;
    let release = super::open_release(&project, ui).await?;
    let report = publish(&project, &release, dir, version, !args.no_switch, ui).await?;
    ui.result(render(&report, args.no_switch), &report);
    Ok(())
}

/// The built site: `--dir`, else the `build.output_dir` setting. Never the project itself: a
/// site directory that holds (or is above) the project root would publish its sources and
/// secrets.
pub(crate) fn site_dir(project: &Project, dir: Option<&Path>) -> anyhow::Result<PathBuf> {
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
    if let Err(e) = crate::release::scan::refuse_project_dir(&dir, &project.root) {
        anyhow::bail!("{from}: {e}");
    }
    Ok(dir)
}

/// The `publish.exclude` patterns, checked before any AWS call.
pub(crate) fn scan_rules(project: &Project, dir: &Path) -> anyhow::Result<ScanRules> {
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

/// Uploads `dir` as `version` and (with `switch`) makes it live; status lines on the way.
pub(crate) async fn publish(
    project: &Project,
    release: &crate::release::Release,
    dir: PathBuf,
    version: String,
    switch: bool,
    ui: &Ui,
) -> anyhow::Result<crate::release::PublishReport> {
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
        git: GitInfo {
            commit: project.git.commit.clone(),
            branch: project.git.branch.clone(),
            dirty: project.git.dirty,
            repository: project.git.github.clone(),
        },
        quiet: ui.quiet,
    };
    let rules = scan_rules(project, &options.dir)?;
    let before = release.pointer.read().await.ok();
    let report = match release.publish_with(&options, &rules).await {
        Ok(report) => report,
        Err(e) => {
            let now = release.live_now(before).await;
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

/// The publish summary: counts, bytes, requests, time, and what is live now.
pub(crate) fn render(report: &crate::release::PublishReport, no_switch: bool) -> String {
    let live = match (&report.live, no_switch) {
        (Some(v), false) => format!(
            "live: {v} (was {})",
            report.live_before.as_deref().unwrap_or("nothing")
        ),
        _ => format!(
            "not switched; live is still {} (go live with `cargo cloudfront-host rollback {}`)",
            report.live_before.as_deref().unwrap_or("nothing"),
            report.version
        ),
    };
    // Copies send no bytes: the megabytes are those of the uploads alone.
    let throttled = match report.concurrency.throttled {
        0 => String::new(),
        n => format!(
            " ({n} answered SlowDown: at most {} in flight at the slowest)",
            report.concurrency.lowest
        ),
    };
    let text = format!(
        "{:>12} {} files ({:.1} MB){}: uploaded {} ({:.1} MB), copied {}, unchanged {}; {} requests{throttled}, {:.1}s\n{:>12} {live}\n",
        "Published",
        report.files,
        report.bytes as f64 / 1e6,
        crate::release::scan::summarize_left_out(&report.left_out),
        report.uploaded,
        report.bytes_sent as f64 / 1e6,
        report.copied,
        report.unchanged,
        report.requests.put
            + report.requests.copy
            + report.requests.parts
            + report.requests.multipart_uploads
            + report.requests.head
            + report.requests.list
            + report.requests.get
            + report.requests.delete,
        report.seconds,
        "Live",
    );
    text
}

#[derive(serde::Serialize)]
struct PreviewView<'a> {
    #[serde(flatten)]
    report: &'a crate::release::PublishReport,
    preview: PreviewInfo,
}

#[derive(serde::Serialize)]
struct PreviewInfo {
    name: String,
    version: String,
    url: String,
    created: String,
    expires: String,
    /// Expired previews this publish removed.
    pruned: Vec<String>,
}

/// `publish --preview [NAME]`: the same upload as a live publish, then `preview:<slug>` points
/// at the version; `live` is never touched.
async fn run_preview(
    project: &Project,
    args: &PublishArgs,
    requested: &str,
    ui: &Ui,
) -> anyhow::Result<()> {
    use crate::release::previews;
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let name = if requested.is_empty() {
        previews::default_name(&env, project.git.branch.as_deref())?
    } else {
        requested.to_string()
    };
    // Refused before anything is uploaded.
    let slug = previews::slug(&name)?;
    let dir = site_dir(project, args.dir.as_deref())?;
    let version = match &args.version_id {
        Some(v) => {
            validate_user_version_id(v).map_err(|e| anyhow::anyhow!("--version: {e}"))?;
            v.clone()
        }
        None => default_version_id(&project.git),
    };
    let release = super::open_release(project, ui).await?;
    let report = publish(project, &release, dir, version, false, ui).await?;
    let git = GitInfo {
        commit: project.git.commit.clone(),
        branch: project.git.branch.clone(),
        dirty: project.git.dirty,
        repository: project.git.github.clone(),
    };
    let metadata = release
        .set_preview(
            &slug,
            &report.version,
            project.settings.previews.expire_after,
            &git,
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
    if let Err(e) = previews::github_outputs(&env, &slug, &report.version, &url, &metadata.expires)
    {
        ui.warn(format_args!(
            "could not write the GitHub Actions step outputs: {e}"
        ));
    }
    let text = format!(
        "{}{:>12} {slug}: {url}\n{:>12} {} (expires {}); live is still {}\n",
        render(&report, true)
            .lines()
            .next()
            .map(|l| format!("{l}\n"))
            .unwrap_or_default(),
        "Preview",
        "Version",
        report.version,
        metadata.expires,
        report.live_before.as_deref().unwrap_or("nothing"),
    );
    let view = PreviewView {
        report: &report,
        preview: PreviewInfo {
            name: slug,
            version: report.version.clone(),
            url,
            created: metadata.created,
            expires: metadata.expires,
            pruned,
        },
    };
    ui.result(text, &view);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::release::PublishReport;
    use crate::release::limiter::Summary;
    use crate::release::upload::Requests;

    fn report() -> PublishReport {
        PublishReport {
            version: "v2".into(),
            live_before: Some("v1".into()),
            live: Some("v2".into()),
            already_published: false,
            files: 1000,
            bytes: 51_000_000,
            uploaded: 2,
            copied: 997,
            unchanged: 1,
            bytes_sent: 61_000,
            requests: Requests {
                put: 3,
                copy: 997,
                get: 1,
                list: 2,
                ..Requests::default()
            },
            concurrency: Summary {
                ceiling: 256,
                lowest: 256,
                last: 256,
                throttled: 0,
            },
            repaired: 0,
            left_out: Vec::new(),
            seconds: 0.81,
            retention: None,
        }
    }

    #[test]
    fn the_summary_counts_megabytes_of_uploads_only() {
        let text = super::render(&report(), false);
        assert!(
            text.contains(
                "1000 files (51.0 MB): uploaded 2 (0.1 MB), copied 997, unchanged 1; 1003 requests, 0.8s"
            ),
            "{text}"
        );
        assert!(!text.contains("SlowDown"), "{text}");
    }

    #[test]
    fn the_summary_tells_when_s3_asked_to_slow_down() {
        let mut r = report();
        r.concurrency.throttled = 40;
        r.concurrency.lowest = 64;
        let text = super::render(&r, false);
        assert!(
            text.contains("(40 answered SlowDown: at most 64 in flight at the slowest)"),
            "{text}"
        );
    }
}
