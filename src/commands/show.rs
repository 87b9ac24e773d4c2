//! `show`: what the project is and where it lives.

use std::fmt::Write as _;

use serde::Serialize;

use crate::cli::{GlobalArgs, ShowArgs};
use crate::project::Project;
use crate::settings::{Diagnostic, Origin, Value};
use crate::ui::Ui;

pub async fn run(global: &GlobalArgs, args: &ShowArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = Project::load(global, Vec::new(), Vec::new(), ui).await?;
    if args.settings {
        show_settings(&project, ui);
        return Ok(());
    }
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
    /// The live version, when the site is deployed and something was published.
    live: Option<String>,
    resources: Vec<ResourceView>,
}

#[derive(Serialize)]
struct ResourceView {
    kind: &'static str,
    name: String,
    exists: bool,
}

async fn show_project(project: &Project, ui: &Ui) -> anyhow::Result<()> {
    let aws = project.aws().await?;
    let identity = super::caller_identity(&aws).await?;
    let account = identity.account().unwrap_or_default().to_string();
    let names = project.names(&account);
    let bucket = names.bucket();
    // "Not there" and "could not ask" are different answers: only the first is "not deployed".
    let bucket_exists = match aws.s3().head_bucket().bucket(&bucket).send().await {
        Ok(_) => true,
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => false,
        Err(e) => anyhow::bail!(
            "could not look up bucket {bucket}: {}",
            crate::aws::describe(&e)
        ),
    };
    let kvs = names.kvs();
    let kvs_exists = match aws
        .cloudfront()
        .describe_key_value_store()
        .name(&kvs)
        .send()
        .await
    {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_not_found()) =>
        {
            false
        }
        Err(e) => anyhow::bail!(
            "could not look up KeyValueStore {kvs}: {}",
            crate::aws::describe(&e)
        ),
    };
    let live = if bucket_exists && kvs_exists {
        let target = crate::release::Target::locate(&aws, &names).await?;
        crate::release::Release::new(&aws, target)
            .pointer
            .read()
            .await?
    } else {
        None
    };
    let view = ProjectView {
        project: project.settings.name.clone(),
        region: aws.region().to_string(),
        account,
        caller: identity.arn().unwrap_or_default().to_string(),
        stack_id: names.stack_id().to_string(),
        live,
        resources: vec![
            ResourceView {
                kind: "bucket",
                name: bucket,
                exists: bucket_exists,
            },
            ResourceView {
                kind: "key-value-store",
                name: kvs,
                exists: kvs_exists,
            },
        ],
    };
    let mut text = String::new();
    let _ = writeln!(text, "project   {}", view.project);
    let _ = writeln!(text, "region    {}", view.region);
    let _ = writeln!(text, "account   {} ({})", view.account, view.caller);
    let _ = writeln!(text, "stack id  {}", view.stack_id);
    let _ = writeln!(
        text,
        "live      {}",
        view.live.as_deref().unwrap_or("(nothing published)")
    );
    for r in &view.resources {
        let state = if r.exists { "exists" } else { "not deployed" };
        let _ = writeln!(text, "{:<9} {}  [{state}]", r.kind, r.name);
    }
    ui.result(text, &view);
    Ok(())
}
