//! `status`: the pipeline's latest executions and its stages; `--wait` follows the running
//! execution and fails (non-zero) with the failed stage, its error and the build's log.

use crate::cli::StatusArgs;
use crate::context::Context;
use crate::infra::pipeline::status as pipeline_status;

pub async fn run(ctx: &Context, args: &StatusArgs) -> anyhow::Result<()> {
    let c = ctx.connect().await?;
    let kind = &ctx.settings().source.kind;
    let name = pipeline_status::existing(&c.aws, &c.names, kind).await?;
    let follow = args.wait.then(|| (args.timeout, ctx.ui.waiting()));
    let view = pipeline_status::status(&c.aws, &c.names, &name, args.limit, follow).await?;
    ctx.ui.result(view.text(), &view);
    if let (Some(f), Some(e)) = (&view.failure, &view.followed) {
        return Err(super::Reported(format!(
            "pipeline {name} execution {} {}{}",
            e.id,
            f.status,
            f.stage
                .as_ref()
                .map(|s| format!(" at stage {s}"))
                .unwrap_or_default()
        ))
        .into());
    }
    Ok(())
}
