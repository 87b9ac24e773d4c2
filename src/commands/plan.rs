//! `plan`: what `deploy` would change, without changing anything.

use crate::cli::GlobalArgs;
use crate::infra::{Mode, Stack};
use crate::project::Project;
use crate::ui::Ui;

pub async fn run(global: &GlobalArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = super::load_detected(global, ui).await?;
    print_plan(&project, ui).await
}

pub(crate) async fn print_plan(project: &Project, ui: &Ui) -> anyhow::Result<()> {
    let (aws, account, names) = super::connect(project).await?;
    let mut stack = Stack::new(&aws, &names, &project.settings, &account);
    stack.pipeline = super::deploy::pipeline_spec(project, ui)?;
    stack.github = crate::infra::ci::GithubSpec::of(&project.settings, &project.git)?;
    let plan = stack.converge(Mode::Plan, &|_| {}).await?;
    let mut text = plan.render();
    if plan.is_empty() {
        text.push_str("No changes: every resource is up to date.\n");
    }
    ui.result(text, &plan);
    Ok(())
}
