//! `promote`: make a preview's version live with one pointer write (no build, no upload).

use serde::Serialize;

use crate::cli::PromoteArgs;
use crate::context::Context;
use crate::release::previews::slug;

#[derive(Serialize)]
struct PromoteView {
    preview: String,
    version: String,
    live_before: Option<String>,
    live: String,
}

pub async fn run(ctx: &Context, args: &PromoteArgs) -> anyhow::Result<()> {
    let name = slug(&args.name)?;
    let release = ctx.release().await?;
    let version = release.preview_version(&name).await?;
    // The same compare-and-swap as rollback, with the manifest check that comes with it.
    let (before, live) = release.rollback(Some(&version)).await?;
    let text = format!(
        "{:>12} preview {name}: {live} is live (was {})\n",
        "Promoted",
        before.as_deref().unwrap_or("nothing")
    );
    ctx.ui.result(
        text,
        &PromoteView {
            preview: name,
            version,
            live_before: before,
            live,
        },
    );
    Ok(())
}
