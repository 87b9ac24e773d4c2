//! `publish`: upload a built site as a new version and flip the live pointer to it.

use crate::cli::PublishArgs;
use crate::context::Context;
use crate::release::PublishReport;
use crate::release::site::{self, PreviewInfo};
use crate::ui::report::publish_summary;

#[derive(serde::Serialize)]
struct PreviewView<'a> {
    #[serde(flatten)]
    report: &'a PublishReport,
    preview: PreviewInfo,
}

pub async fn run(ctx: &Context, args: &PublishArgs) -> anyhow::Result<()> {
    let (project, ui) = (&ctx.project, &ctx.ui);
    if let Some(requested) = &args.preview {
        return run_preview(ctx, args, requested).await;
    }
    let dir = site::site_dir(project, args.dir.as_deref())?;
    let version = site::version_id(project, args.version_id.as_deref())?;
    let scan = site::start_scan(project, &dir)?;
    let release = ctx.release().await?;
    let switch = !args.no_switch;
    let report = site::publish(project, &release, dir, version, switch, ui, Some(scan)).await?;
    ui.result(publish_summary(&report, args.no_switch), &report);
    Ok(())
}

/// `publish --preview [NAME]`: the same upload as a live publish, then `preview:<slug>` points
/// at the version; `live` is never touched.
async fn run_preview(ctx: &Context, args: &PublishArgs, requested: &str) -> anyhow::Result<()> {
    let (project, ui) = (&ctx.project, &ctx.ui);
    // Refused before anything is uploaded.
    let slug = site::preview_slug(project, requested)?;
    let dir = site::site_dir(project, args.dir.as_deref())?;
    let version = site::version_id(project, args.version_id.as_deref())?;
    let scan = site::start_scan(project, &dir)?;
    let release = ctx.release().await?;
    let report = site::publish(project, &release, dir, version, false, ui, Some(scan)).await?;
    let preview = site::point_preview(project, &release, slug, &report.version, ui).await?;
    let text = format!(
        "{}{:>12} {}: {}\n{:>12} {} (expires {}); live is still {}\n",
        publish_summary(&report, true)
            .lines()
            .next()
            .map(|l| format!("{l}\n"))
            .unwrap_or_default(),
        "Preview",
        preview.name,
        preview.url,
        "Version",
        report.version,
        preview.expires,
        report.live_before.as_deref().unwrap_or("nothing"),
    );
    let view = PreviewView {
        report: &report,
        preview,
    };
    ui.result(text, &view);
    Ok(())
}
