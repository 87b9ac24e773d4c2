//! `rollback`: make an earlier version live again with one pointer write.

use serde::Serialize;

use crate::cli::RollbackArgs;
use crate::context::Context;

#[derive(Serialize)]
struct RollbackView {
    live_before: Option<String>,
    live: String,
}

pub async fn run(ctx: &Context, args: &RollbackArgs) -> anyhow::Result<()> {
    let release = ctx.release().await?;
    let (before, live) = release.rollback(args.version_id.as_deref()).await?;
    let text = format!(
        "{:>12} {live} is live (was {})\n",
        "Rolled back",
        before.as_deref().unwrap_or("nothing")
    );
    ctx.ui.result(
        text,
        &RollbackView {
            live_before: before,
            live,
        },
    );
    Ok(())
}
