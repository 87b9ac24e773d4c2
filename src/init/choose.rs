//! The values `init` writes: flags and metadata first, then detection and git facts, then
//! the user's answers when prompts are allowed.

use anyhow::bail;

use super::Table;
use crate::cli::InitArgs;
use crate::detect::Detection;
use crate::project::Project;
use crate::settings::{Origin, value};
use crate::ui::Ui;

/// The values to write: flags and metadata first, then detection and git facts, then the
/// user's answers when prompts are allowed.
pub fn choose_settings(
    project: &Project,
    detection: &Detection,
    args: &InitArgs,
    ui: &Ui,
) -> anyhow::Result<Table> {
    let s = &project.settings;
    let mut table = Table::default();
    table.set(
        "framework",
        s.framework
            .clone()
            .unwrap_or_else(|| detection.framework.clone()),
    );
    table.set(
        "routing",
        s.routing
            .clone()
            .unwrap_or_else(|| detection.routing.clone()),
    );
    if let Some(command) = s
        .build
        .command
        .clone()
        .or_else(|| detection.build_command.clone())
    {
        table.set("build.command", command);
    }
    table.set(
        "build.output_dir",
        s.build
            .output_dir
            .as_ref()
            .map_or_else(|| detection.output_dir.clone(), |p| p.display().to_string()),
    );

    let kinds = ["local", "github", "s3"];
    let mut kind = s.source.kind.clone();
    if ui.interactive && args.source.is_none() {
        let default = kinds.iter().position(|k| *k == kind).unwrap_or(0);
        let choice = ui.select(
            "Where do builds come from?",
            &[
                "local: this tool builds and publishes (your machine or any CI), no pipeline",
                "github: an AWS pipeline builds every push to a GitHub branch",
                "s3: an AWS pipeline builds zips uploaded to S3",
            ],
            default,
        )?;
        kind = kinds[choice].to_string();
    }
    table.set("source.kind", kind.clone());
    if kind == "github" {
        let repository = s
            .source
            .repository
            .clone()
            .or_else(|| project.git.github.clone());
        let repository = if ui.interactive && args.repository.is_none() {
            Some(ui.input(
                "GitHub repository (owner/repo)",
                repository,
                false,
                |v: &String| check_repository(v),
            )?)
        } else {
            repository
        };
        let Some(repository) = repository else {
            bail!(
                "source github needs the repository: pass --repository owner/repo (no GitHub remote `origin` was found)"
            );
        };
        check_repository(&repository).map_err(|e| anyhow::anyhow!("--repository: {e}"))?;
        table.set("source.repository", repository);
        let branch = s
            .source
            .branch
            .clone()
            .or_else(|| project.git.branch.clone())
            .unwrap_or_else(|| "main".to_string());
        let branch = if ui.interactive && args.branch.is_none() {
            ui.input("Branch that deploys", Some(branch), false, |_| Ok(()))?
        } else {
            branch
        };
        table.set("source.branch", branch);
    }

    let mut domain = s.domain.as_ref().map(|d| d.name.clone());
    if ui.interactive && args.domain.is_none() {
        let answer = ui.input(
            "Custom domain (empty for the CloudFront name)",
            Some(domain.clone().unwrap_or_default()),
            true,
            |v: &String| value::check_hostname(v).map_err(|p| p.to_string()),
        )?;
        domain = Some(answer).filter(|a| !a.is_empty());
    }

    // The region is written when someone chose it; an ambient AWS_REGION is not pinned.
    let mut region = (!matches!(
        project.resolved.origin("region"),
        Some(Origin::Derived { .. }) | None
    ))
    .then(|| s.region.clone());
    if ui.interactive && global_region_unset(project) {
        let answer = ui.input(
            "AWS region for the bucket and pipeline",
            Some(s.region.clone()),
            false,
            |v: &String| value::check_region(v).map_err(|p| p.to_string()),
        )?;
        region = Some(answer);
    }
    if let Some(region) = region {
        table.set("region", region);
    }
    if let Some(domain) = domain {
        table.set("domain.name", domain);
    }
    Ok(table)
}

fn global_region_unset(project: &Project) -> bool {
    !matches!(project.resolved.origin("region"), Some(Origin::Flag { .. }))
}

fn check_repository(v: &str) -> Result<(), String> {
    let mut parts = v.split('/');
    let ok = matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(o), Some(r), None) if !o.is_empty() && !r.is_empty()
    );
    if ok {
        Ok(())
    } else {
        Err(format!("`{v}` is not owner/repo"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_must_be_owner_slash_repo() {
        assert!(check_repository("octo/site").is_ok());
        for bad in ["octo", "octo/", "/site", "a/b/c"] {
            assert!(check_repository(bad).is_err(), "{bad}");
        }
    }
}
