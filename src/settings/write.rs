//! Settings the tool writes into the user's Cargo.toml on request (`ci github`).

use anyhow::Context as _;

use super::Value;
use crate::project::Project;
use crate::ui::Ui;

/// Sets `ci.github = true` in the package's `[package.metadata.cloudfront]` unless the
/// resolved settings already have it, and pins `source.branch` when it only came from the
/// checkout: a later `deploy` from a feature branch must not move the publish role's trust
/// there. Returns whether the file changed.
pub fn enable_ci_github(project: &Project, branch: &str, ui: &Ui) -> anyhow::Result<bool> {
    let mut entries = Vec::new();
    if !project.settings.ci.github {
        entries.push(("ci.github".to_string(), Value::Bool(true)));
    }
    if project.settings.source.branch.is_none() {
        entries.push(("source.branch".to_string(), Value::Str(branch.to_string())));
    }
    if entries.is_empty() {
        return Ok(false);
    }
    let Some(manifest) = project
        .workspace
        .as_ref()
        .and_then(|w| w.package())
        .map(|p| p.manifest_path.clone())
    else {
        ui.warn(format_args!(
            "no Cargo package to hold the settings: set CARGO_CLOUDFRONT_HOST_CI_GITHUB=true and CARGO_CLOUDFRONT_HOST_SOURCE_BRANCH={} when you run `deploy`",
            branch
        ));
        return Ok(false);
    };
    let original = std::fs::read_to_string(&manifest)
        .with_context(|| format!("could not read {}", manifest.display()))?;
    let updated =
        crate::cargo_toml::set_table(&original, &["package", "metadata", "cloudfront"], &entries)
            .with_context(|| format!("cannot set ci.github in {}", manifest.display()))?;
    std::fs::write(&manifest, updated)
        .with_context(|| format!("could not write {}", manifest.display()))?;
    let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
    ui.status(
        "Set",
        format_args!("{} in {}", keys.join(", "), manifest.display()),
    );
    Ok(true)
}
