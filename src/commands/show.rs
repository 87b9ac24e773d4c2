//! `show`: what the project is and where it lives.

use std::fmt::Write as _;

use serde::Serialize;

use crate::cli::{GlobalArgs, ShowArgs};
use crate::project::Project;
use crate::settings::{Diagnostic, Origin, Value};
use crate::ui::Ui;

pub async fn run(global: &GlobalArgs, args: &ShowArgs, ui: &Ui) -> anyhow::Result<()> {
    if args.settings {
        let project = Project::load(global, Vec::new(), Vec::new(), ui).await?;
        show_settings(&project, ui);
        return Ok(());
    }
    // What deploy would use: detection fills what metadata leaves out.
    let project = super::load_detected(global, ui).await?;
    show_project(&project, ui).await
}

#[derive(Serialize)]
struct SettingView<'a> {
    value: Option<&'a Value>,
    origin: Option<&'a Origin>,
}

#[derive(Serialize)]
struct SettingsView<'a> {
    settings: std::collections::BTreeMap<&'static str, SettingView<'a>>,
    warnings: &'a [Diagnostic],
}

fn show_settings(project: &Project, ui: &Ui) {
    let entries = &project.resolved.entries;
    let width = entries.iter().map(|e| e.key.len()).max().unwrap_or(0);
    let mut text = String::new();
    for entry in entries {
        let value = entry
            .value
            .as_ref()
            .map_or_else(|| "(unset)".to_string(), ToString::to_string);
        let origin = entry
            .origin
            .as_ref()
            .map_or_else(String::new, |o| format!("  # {o}"));
        let _ = writeln!(text, "{:<width$} = {value}{origin}", entry.key);
    }
    let view = SettingsView {
        settings: entries
            .iter()
            .map(|e| {
                (
                    e.key,
                    SettingView {
                        value: e.value.as_ref(),
                        origin: e.origin.as_ref(),
                    },
                )
            })
            .collect(),
        warnings: &project.resolved.warnings,
    };
    ui.result(text, &view);
}

#[derive(Serialize)]
struct ProjectView {
    project: String,
    region: String,
    account: String,
    caller: String,
    stack_id: String,
    /// The CloudFront URL, once the distribution exists.
    url: Option<String>,
    /// The custom domain's names and whether Route 53 points each at the distribution
    /// (`null`: the name is not in a Route 53 zone of this account).
    domains: Vec<DomainView>,
    /// The live version, when the site is deployed and something was published.
    live: Option<String>,
    resources: Vec<ResourceView>,
    ids: crate::infra::Ids,
    /// `ci.github`: the roles GitHub Actions assumes (publish, previews) and the provider.
    github: Option<crate::infra::ci::GithubIds>,
}

#[derive(Serialize)]
struct DomainView {
    name: String,
    points_here: Option<bool>,
}

#[derive(Serialize)]
struct ResourceView {
    kind: &'static str,
    name: String,
    exists: bool,
    /// What `deploy` would do to it.
    pending: crate::infra::Action,
}

async fn show_project(project: &Project, ui: &Ui) -> anyhow::Result<()> {
    let aws = project.aws().await?;
    let identity = super::caller_identity(&aws).await?;
    let account = identity.account().unwrap_or_default().to_string();
    let names = project.names(&account);
    // The read-only half of `deploy`: every resource looked up, nothing changed.
    let mut stack = crate::infra::Stack::new(&aws, &names, &project.settings, &account);
    stack.github = crate::infra::ci::GithubSpec::of(&project.settings, &project.git)?;
    let plan = stack.converge(crate::infra::Mode::Plan, &|_| {}).await?;
    let live = match &stack.ids.kvs_arn {
        Some(arn) => {
            crate::release::Release::new(
                &aws,
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
        account,
        caller: identity.arn().unwrap_or_default().to_string(),
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
    let mut text = String::new();
    let _ = writeln!(text, "project   {}", view.project);
    let _ = writeln!(text, "region    {}", view.region);
    let _ = writeln!(text, "account   {} ({})", view.account, view.caller);
    let _ = writeln!(text, "stack id  {}", view.stack_id);
    let _ = writeln!(
        text,
        "url       {}",
        view.url.as_deref().unwrap_or("(not deployed)")
    );
    for d in &view.domains {
        let dns = match d.points_here {
            Some(true) => "DNS points here",
            Some(false) => "DNS does not point here yet",
            None => "DNS outside Route 53: not checked",
        };
        let _ = writeln!(text, "domain    https://{}/  [{dns}]", d.name);
    }
    let _ = writeln!(
        text,
        "live      {}",
        view.live.as_deref().unwrap_or("(nothing published)")
    );
    if let Some(gh) = &view.github {
        for (label, arn) in [
            ("github role", &gh.role_arn),
            ("preview role", &gh.preview_role_arn),
        ] {
            let _ = writeln!(text, "{label:<12}  {}", arn.as_deref().unwrap_or("-"));
        }
    }
    let width = view
        .resources
        .iter()
        .map(|r| r.kind.len())
        .max()
        .unwrap_or(0);
    for r in &view.resources {
        let state = match (r.exists, r.pending) {
            (false, _) => "not deployed".to_string(),
            (true, crate::infra::Action::None) => "ok".to_string(),
            (true, a) => format!("exists; deploy would {}", a.as_str()),
        };
        let _ = writeln!(text, "{:<width$}  {}  [{state}]", r.kind, r.name);
    }
    ui.result(text, &view);
    Ok(())
}
