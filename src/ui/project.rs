//! What `show` prints: the resolved settings, and the project as it is deployed.

use std::fmt::Write as _;

use serde::Serialize;

use crate::settings::{Diagnostic, Origin, Resolved, Value};

#[derive(Serialize)]
pub struct SettingView<'a> {
    value: Option<&'a Value>,
    origin: Option<&'a Origin>,
}

#[derive(Serialize)]
pub struct SettingsView<'a> {
    settings: std::collections::BTreeMap<&'static str, SettingView<'a>>,
    warnings: &'a [Diagnostic],
}

/// `show --settings`: every key, its value and where the value came from.
pub fn settings(resolved: &Resolved) -> (String, SettingsView<'_>) {
    let entries = &resolved.entries;
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
        warnings: &resolved.warnings,
    };
    (text, view)
}

#[derive(Serialize)]
pub struct ProjectView {
    pub project: String,
    pub region: String,
    pub account: String,
    pub caller: String,
    pub stack_id: String,
    /// The CloudFront URL, once the distribution exists.
    pub url: Option<String>,
    /// The custom domain's names and whether Route 53 points each at the distribution
    /// (`null`: the name is not in a Route 53 zone of this account).
    pub domains: Vec<DomainView>,
    /// The live version, when the site is deployed and something was published.
    pub live: Option<String>,
    pub resources: Vec<ResourceView>,
    pub ids: crate::infra::Ids,
    /// `ci.github`: the roles GitHub Actions assumes (publish, previews) and the provider.
    pub github: Option<crate::infra::ci::GithubIds>,
}

#[derive(Serialize)]
pub struct DomainView {
    pub name: String,
    pub points_here: Option<bool>,
}

#[derive(Serialize)]
pub struct ResourceView {
    pub kind: &'static str,
    pub name: String,
    pub exists: bool,
    /// What `deploy` would do to it.
    pub pending: crate::infra::Action,
}

impl ProjectView {
    pub fn text(&self) -> String {
        let view = self;
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
        text
    }
}
