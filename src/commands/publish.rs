//! `publish`: upload a built site as a new version and flip the live pointer to it.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::cli::{GlobalArgs, PublishArgs};
use crate::project::Project;
use crate::release::manifest::GitInfo;
use crate::release::{PublishOptions, default_version_id};
use crate::ui::Ui;

pub async fn run(global: &GlobalArgs, args: &PublishArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = Project::load(global, Vec::new(), Vec::new(), ui).await?;
    let dir = site_dir(&project, args.dir.as_deref())?;
    let version = args
        .version_id
        .clone()
        .unwrap_or_else(|| default_version_id(&project.git));
    let release = super::open_release(&project, ui).await?;
    let report = publish(&project, &release, dir, version, !args.no_switch, ui).await?;
    ui.result(render(&report, args.no_switch), &report);
    Ok(())
}

/// The built site: `--dir`, else the `build.output_dir` setting.
pub(crate) fn site_dir(project: &Project, dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    match (dir, &project.settings.build.output_dir) {
        (Some(dir), _) => Ok(dir.to_path_buf()),
        (None, Some(out)) => Ok(project.root.join(out)),
        (None, None) => anyhow::bail!(
            "no site directory: pass --dir DIR, or set `build.output_dir` in [package.metadata.cloudfront] (`cargo cloudfront-host init` detects it)"
        ),
    }
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
    let report = release
        .publish(&options)
        .await
        .context("publish failed; the live version is unchanged")?;
    if report.already_published {
        ui.status(
            "Unchanged",
            format_args!(
                "version {} was already published with the same files",
                report.version
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
        "{:>12} {} files ({:.1} MB): uploaded {} ({:.1} MB), copied {}, unchanged {}; {} requests{throttled}, {:.1}s\n{:>12} {live}\n",
        "Published",
        report.files,
        report.bytes as f64 / 1e6,
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
