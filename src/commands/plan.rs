//! `plan`: what `deploy` would change, without changing anything.

use crate::context::Context;
use crate::infra::Mode;

pub async fn run(ctx: &Context) -> anyhow::Result<()> {
    let c = ctx.connect().await?;
    let desired = ctx.desired()?;
    let plan = ctx.stack(c, &desired).converge(Mode::Plan, &|_| {}).await?;
    ctx.ui.result(crate::ui::report::plan_text(&plan), &plan);
    Ok(())
}
