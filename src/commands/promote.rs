//! `promote`: make a preview's version live with one pointer write (no build, no upload).

use serde::Serialize;

use crate::cli::{GlobalArgs, PromoteArgs};
use crate::project::Project;
use crate::release::previews::slug;
use crate::ui::Ui;

#[derive(Serialize)]
struct PromoteView {
    preview: String,
    version: String,
    live_before: Option<String>,
    live: String,
}

pub async fn run(global: &GlobalArgs, args: &PromoteArgs, ui: &Ui) -> anyhow::Result<()> {
    let name = slug(&args.name)?;
    let project = Project::load(global, Vec::new(), Vec::new(), ui).await?;
    let release = super::open_release(&project, ui).await?;
    let version = release.preview_version(&name).await?;
    // The same compare-and-swap as rollback, with the manifest check that comes with it.
    let (before, live) = release.rollback(Some(&version)).await?;
    let text = format!(
        "{:>12} preview {name}: {live} is live (was {})\n",
        "Promoted",
        before.as_deref().unwrap_or("nothing")
    );
    ui.result(
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
