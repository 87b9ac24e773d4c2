//! `show`: what the project is and where it lives.

use crate::cli::ShowArgs;
use crate::context::Context;
use crate::ui::project::{self as views, DomainView, ProjectView, ResourceView};

pub async fn run(ctx: &Context, args: &ShowArgs) -> anyhow::Result<()> {
    if args.settings {
        // The values every command uses: the same resolution, detection included.
        let (text, view) = views::settings(&ctx.project.resolved);
        ctx.ui.result(text, &view);
        return Ok(());
    }
    show_project(ctx).await
}

async fn show_project(ctx: &Context) -> anyhow::Result<()> {
    let project = &ctx.project;
    let c = ctx.connect().await?;
    let (aws, names) = (&c.aws, &c.names);
    // The read-only half of `deploy`: every resource looked up, nothing changed.
    let mut stack = crate::infra::Stack::new(aws, names, &project.settings, &c.account);
    stack.github = crate::infra::ci::GithubSpec::of(&project.settings, &project.git)?;
    let plan = stack.converge(crate::infra::Mode::Plan, &|_| {}).await?;
    let live = match &stack.ids.kvs_arn {
        Some(arn) => {
            crate::release::Release::new(
                aws,
                crate::release::Target {
                    bucket: names.bucket(),
                    kvs_arn: arn.clone(),
                },
            )
            .pointer
            .read()
            .await?
        }
        None => None,
    };
    let resources: Vec<ResourceView> = plan
        .changes
        .iter()
        .filter(|c| c.resource != "live-version")
        .map(|c| ResourceView {
            kind: c.resource,
            name: c.name.clone(),
            exists: c.action != crate::infra::Action::Create,
            pending: c.action,
        })
        .collect();
    let view = ProjectView {
        project: project.settings.name.clone(),
        region: aws.region().to_string(),
        account: c.account.clone(),
        caller: c.caller.clone(),
        stack_id: names.stack_id().to_string(),
        url: stack.url(),
        domains: crate::infra::domain::dns_status(&stack)
            .await?
            .into_iter()
            .map(|(name, points_here)| DomainView { name, points_here })
            .collect(),
        live,
        resources,
        ids: stack.ids.clone(),
        github: stack.github.is_some().then(|| stack.github_ids.clone()),
    };
    ctx.ui.result(view.text(), &view);
    Ok(())
}
