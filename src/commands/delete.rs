//! `delete`: remove everything this project created, after confirmation.

use crate::cli::DeleteArgs;
use crate::context::Context;
use crate::infra::{Action, Change, Mode, Stack};

pub async fn run(ctx: &Context, args: &DeleteArgs) -> anyhow::Result<()> {
    let (ui, settings) = (&ctx.ui, ctx.settings());
    let c = ctx.connect().await?;
    let (aws, account, names) = (&c.aws, &c.account, &c.names);
    let wait = super::wait_options(args.timeout, ui);
    let mut stack = Stack::new(aws, names, settings, account);
    let plan = stack.destroy(Mode::Plan, &wait, &|_| {}).await?;
    let doomed: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .collect();
    if doomed.is_empty() || args.dry_run {
        let mut text = plan.render();
        if doomed.is_empty() {
            text.push_str("Nothing to delete.\n");
        }
        ui.result(text, &plan);
        return Ok(());
    }
    for c in &doomed {
        ui.status(
            "Delete",
            format_args!("{} {} ({})", c.resource, c.name, c.reason),
        );
    }
    if !ui.yes {
        if !ui.interactive {
            anyhow::bail!(
                "delete removes {} resources and every published version; pass --yes to confirm when not on a terminal",
                doomed.len()
            );
        }
        let confirmed = ui.confirm(&format!(
            "Delete these {} resources of `{}`, including every published version?",
            doomed.len(),
            settings.name
        ))?;
        if !confirmed {
            anyhow::bail!("cancelled; nothing was deleted");
        }
    }
    let progress = |c: &Change| match c.action {
        Action::Delete => ui.status("Deleted", format_args!("{} {}", c.resource, c.name)),
        _ => ui.detail(format_args!("{} {}: {}", c.resource, c.name, c.reason)),
    };
    let mut stack = Stack::new(aws, names, settings, account);
    let done = stack
        .destroy(Mode::Apply, &wait, &progress)
        .await
        .map_err(|e| {
            anyhow::Error::new(e)
                .context("delete stopped; run it again to finish (it skips what is gone)")
        })?;
    ui.result(done.render(), &done);
    Ok(())
}
