//! `rollback`: make an earlier version live again with one pointer write.

use serde::Serialize;

use crate::cli::{GlobalArgs, RollbackArgs};
use crate::project::Project;
use crate::ui::Ui;

#[derive(Serialize)]
struct RollbackView {
    live_before: Option<String>,
    live: String,
}

pub async fn run(global: &GlobalArgs, args: &RollbackArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = Project::load(global, Vec::new(), Vec::new(), ui).await?;
    let release = super::open_release(&project, ui).await?;
    let (before, live) = release.rollback(args.version_id.as_deref()).await?;
    let text = format!(
        "{:>12} {live} is live (was {})\n",
        "Rolled back",
        before.as_deref().unwrap_or("nothing")
    );
    ui.result(
        text,
        &RollbackView {
            live_before: before,
            live,
        },
    );
    Ok(())
}
