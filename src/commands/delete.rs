//! `delete`: remove everything this project created, after confirmation.

use crate::cli::{DeleteArgs, GlobalArgs};
use crate::infra::{Action, Change, Mode, Stack};
use crate::project::Project;
use crate::ui::Ui;

pub async fn run(global: &GlobalArgs, args: &DeleteArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = Project::load(global, Vec::new(), Vec::new(), ui).await?;
    let (aws, account, names) = super::connect(&project).await?;
    let wait = super::wait_options(args.timeout, ui);
    let mut stack = Stack::new(&aws, &names, &project.settings, &account);
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
    if !global.yes {
        if !ui.interactive {
            anyhow::bail!(
                "delete removes {} resources and every published version; pass --yes to confirm when not on a terminal",
                doomed.len()
            );
        }
        let confirmed = dialoguer::Confirm::new()
            .with_prompt(format!(
                "Delete these {} resources of `{}`, including every published version?",
                doomed.len(),
                project.settings.name
            ))
            .default(false)
            .interact()?;
        if !confirmed {
            anyhow::bail!("cancelled; nothing was deleted");
        }
    }
    let progress = |c: &Change| match c.action {
        Action::Delete => ui.status("Deleted", format_args!("{} {}", c.resource, c.name)),
        _ => ui.detail(format_args!("{} {}: {}", c.resource, c.name, c.reason)),
    };
    let mut stack = Stack::new(&aws, &names, &project.settings, &account);
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
