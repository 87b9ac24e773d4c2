//! `init`: detect the frontend, ask what cannot be detected, write
//! `[package.metadata.cloudfront]`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::Serialize;
use serde_json::json;

use crate::cargo_toml;
use crate::cli::{GlobalArgs, InitArgs};
use crate::detect::{self, DetectError, Detection};
use crate::project::Project;
use crate::settings::{FlagValue, Origin, Value, value};
use crate::ui::Ui;
use crate::workspace::Workspace;

/// Detection for a command: the user's `custom` build when they named one, else what the
/// detectors find (with a choice among several when prompts are allowed).
pub(crate) fn detect_project(
    root: &Path,
    workspace: Option<&Workspace>,
    framework: Option<&str>,
    build_command: Option<&str>,
    output_dir: Option<&str>,
    ui: &Ui,
) -> Result<Detection, DetectError> {
    if let (Some("custom"), Some(out)) = (framework, output_dir) {
        let scan = detect::Scan::new(root, workspace);
        let package = workspace.and_then(Workspace::package);
        return detect::custom::detection(
            &scan,
            package.map(|p| p.name.as_str()),
            build_command,
            out,
            package.map_or(root, |p| p.dir.as_path()),
        );
    }
    let input = detect::Input {
        root,
        workspace,
        framework,
    };
    match detect::detect(&input) {
        Err(DetectError::Several { .. }) if ui.interactive => {
            let mut found = detect::candidates(&input)?;
            let labels: Vec<String> = found.iter().map(Detection::summary).collect();
            let choice = dialoguer::Select::new()
                .with_prompt("Several frontends found; which one should be hosted?")
                .items(&labels)
                .default(0)
                .interact()
                .map_err(|e| DetectError::Config {
                    path: root.to_path_buf(),
                    message: format!("no answer to the question: {e}"),
                })?;
            Ok(found.swap_remove(choice))
        }
        other => other,
    }
}

/// The settings `init` writes, in the order they appear in the table.
#[derive(Debug, Default)]
struct Table {
    entries: Vec<(String, Value)>,
}

impl Table {
    fn set(&mut self, key: &str, value: impl Into<String>) {
        self.entries
            .push((key.to_string(), Value::Str(value.into())));
    }

    /// The table as nested JSON (`build.command` → `{"build": {"command": ...}}`).
    fn to_json(&self) -> serde_json::Value {
        let mut root = json!({});
        for (key, value) in &self.entries {
            let mut parts: Vec<&str> = key.split('.').collect();
            let last = parts.pop().unwrap_or_default();
            // Every step below is an object: the root is one, and each level is made one
            // before descending, so indexing by key never meets a non-object.
            let mut cur = &mut root;
            for part in parts {
                if !cur[part].is_object() {
                    cur[part] = json!({});
                }
                cur = &mut cur[part];
            }
            cur[last] = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        }
        root
    }
}

#[derive(Serialize)]
struct InitView {
    framework: String,
    build_command: Option<String>,
    output_dir: String,
    routing: String,
    package: Option<String>,
    app_dir: String,
    base_path: Option<String>,
    tool_versions: std::collections::BTreeMap<String, String>,
    reasons: Vec<String>,
    metadata: serde_json::Value,
    manifest: String,
    table: String,
    dry_run: bool,
    changed: bool,
    written: bool,
}

pub async fn run(global: &GlobalArgs, args: &InitArgs, ui: &Ui) -> anyhow::Result<()> {
    let workspace =
        Workspace::discover(global.manifest_path.as_deref(), global.package.as_deref())?;
    let cwd = std::env::current_dir().context("the current directory is not accessible")?;
    let root = workspace.as_ref().map_or(cwd.clone(), |w| w.root.clone());
    if let Some(out) = args.output_dir.as_deref()
        && let (Ok(site), Ok(project)) = (root.join(out).canonicalize(), root.canonicalize())
        && project.starts_with(&site)
    {
        // Publishing the project folder would make its sources and secrets public.
        anyhow::bail!(
            "--output-dir {out} is the project folder itself (or above it); name the folder the build writes the site to, e.g. `dist`"
        );
    }

    let found = detect_project(
        &root,
        workspace.as_ref(),
        args.framework.as_deref(),
        args.build_command.as_deref(),
        args.output_dir.as_deref(),
        ui,
    );
    let (detection, failure) = match found {
        Ok(d) => (Some(d), None),
        Err(e) => (None, Some(e)),
    };

    // Settings of the member detection chose, even when the user ran from the root.
    let mut global = global.clone();
    if global.package.is_none() && global.manifest_path.is_none() {
        global.package = detection.as_ref().and_then(|d| d.package.clone());
    }
    let layer = detection.as_ref().map(detect::layer).unwrap_or_default();
    let project = Project::load(&global, command_flags(args), layer, ui).await?;

    let detection = match (detection, failure) {
        (Some(d), _) if agrees(&project, &d) => d,
        // Metadata or flags name another stack than the one found: their build wins, and
        // the reasons of a detection that is not used would only mislead.
        (Some(_), _) => from_settings(&project, None)?,
        (None, failure) => from_settings(&project, failure)?,
    };
    for reason in &detection.reasons {
        ui.detail(reason);
    }
    ui.status(
        "Detected",
        format!(
            "{} in {}{}",
            detection.framework,
            detection.app_dir,
            detection
                .package
                .as_ref()
                .map(|p| format!(" (package `{p}`)"))
                .unwrap_or_default()
        ),
    );
    if ui.interactive {
        show_reasons(&detection);
    }

    let table = choose_settings(&project, &detection, args, ui)?;
    let (manifest_path, table_path, original) = target_manifest(&project, &detection, &root)?;
    let table_keys: Vec<&str> = table_path.to_vec();
    let updated = cargo_toml::set_table(&original, &table_keys, &table.entries)
        .with_context(|| format!("cannot update {}", manifest_path.display()))?;
    let changed = updated != original;
    let shown = manifest_path
        .strip_prefix(&cwd)
        .unwrap_or(&manifest_path)
        .display()
        .to_string();
    let header = table_path.join(".");
    let written = changed && !args.dry_run;
    if written {
        std::fs::write(&manifest_path, &updated)
            .with_context(|| format!("could not write {}", manifest_path.display()))?;
        ui.status("Wrote", format!("[{header}] in {shown}"));
    } else if args.dry_run {
        ui.status("Dry run", format!("would write [{header}] in {shown}"));
    } else {
        ui.status("Unchanged", format!("[{header}] in {shown} is up to date"));
    }

    let settings = &project.settings;
    let view = InitView {
        framework: settings
            .framework
            .clone()
            .unwrap_or_else(|| detection.framework.clone()),
        build_command: settings.build.command.clone(),
        output_dir: settings
            .build
            .output_dir
            .as_ref()
            .map_or_else(|| detection.output_dir.clone(), |p| p.display().to_string()),
        routing: settings
            .routing
            .clone()
            .unwrap_or_else(|| detection.routing.clone()),
        package: detection.package.clone(),
        app_dir: detection.app_dir.clone(),
        base_path: detection.base_path.clone(),
        tool_versions: detection.tool_versions.clone(),
        reasons: detection.reasons.clone(),
        metadata: table.to_json(),
        manifest: shown.clone(),
        table: header.clone(),
        dry_run: args.dry_run,
        changed,
        written,
    };
    let mut text = String::new();
    let span = cargo_toml::table_span(&updated, &table_keys);
    if let Some(span) = span {
        let _ = writeln!(text, "{}", updated[span].trim_end());
    }
    if !args.dry_run {
        let _ = writeln!(
            text,
            "\nNext: `cargo cloudfront-host buildspec` prints the build the pipeline will run."
        );
    }
    ui.result(text, &view);
    Ok(())
}

/// `init`'s own flags as settings flags: validated by the settings layer like any other.
fn command_flags(args: &InitArgs) -> Vec<FlagValue> {
    let mut flags = Vec::new();
    let mut push = |key: &str, raw: Option<&str>, flag: &str| {
        if let Some(raw) = raw {
            flags.push(FlagValue {
                key: key.into(),
                raw: raw.into(),
                flag: flag.into(),
            });
        }
    };
    push("framework", args.framework.as_deref(), "--framework");
    push("routing", args.routing.as_deref(), "--routing");
    push(
        "build.command",
        args.build_command.as_deref(),
        "--build-command",
    );
    push(
        "build.output_dir",
        args.output_dir.as_deref(),
        "--output-dir",
    );
    push("source.kind", args.source.map(|s| s.as_str()), "--source");
    push(
        "source.repository",
        args.repository.as_deref(),
        "--repository",
    );
    push("source.branch", args.branch.as_deref(), "--branch");
    push("domain.name", args.domain.as_deref(), "--domain");
    flags
}

/// Whether the settings' framework (if the user chose one) is the detected stack.
fn agrees(project: &Project, detection: &Detection) -> bool {
    match (
        &project.settings.framework,
        project.resolved.origin("framework"),
    ) {
        (Some(framework), Some(origin)) if !matches!(origin, Origin::Detected { .. }) => {
            framework == &detection.framework
                || (detect::trunk_family(framework) && detect::trunk_family(&detection.framework))
        }
        _ => true,
    }
}

/// When detection found nothing usable, the metadata (or flags) may already name the build.
fn from_settings(project: &Project, failure: Option<DetectError>) -> anyhow::Result<Detection> {
    let s = &project.settings;
    let refused = matches!(failure, Some(DetectError::CannotHostStatically { .. }));
    let explicit = |key: &str| {
        !matches!(
            project.resolved.origin(key),
            None | Some(Origin::Detected { .. }) | Some(Origin::Default)
        )
    };
    match (&s.framework, &s.build.output_dir) {
        // A refusal stands unless the user took over the build explicitly.
        (Some(framework), Some(out))
            if explicit("build.output_dir") && (!refused || framework == "custom") =>
        {
            let scan = detect::Scan::new(&project.root, project.workspace.as_ref());
            let package = project.workspace.as_ref().and_then(Workspace::package);
            let mut d = detect::custom::detection(
                &scan,
                package.map(|p| p.name.as_str()),
                s.build.command.as_deref(),
                &out.display().to_string(),
                package.map_or(project.root.as_path(), |p| p.dir.as_path()),
            )?;
            d.framework.clone_from(framework);
            d.reasons.insert(
                0,
                format!("framework `{framework}` and build settings from metadata or flags"),
            );
            Ok(d)
        }
        (Some(framework), None) if framework == "custom" => {
            bail!(
                "--framework custom needs --output-dir <DIR> (and usually --build-command '<command>')"
            )
        }
        _ => Err(failure
            .map(anyhow::Error::from)
            .unwrap_or_else(|| anyhow::anyhow!("nothing was detected"))),
    }
}

fn show_reasons(detection: &Detection) {
    let mut err = anstream::stderr().lock();
    for reason in &detection.reasons {
        let _ = std::io::Write::write_fmt(&mut err, format_args!("             - {reason}\n"));
    }
}

/// The values to write: flags and metadata first, then detection and git facts, then the
/// user's answers when prompts are allowed.
fn choose_settings(
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
        let choice = dialoguer::Select::new()
            .with_prompt("Where do builds come from?")
            .items([
                "local: this tool builds and publishes (your machine or any CI), no pipeline",
                "github: an AWS pipeline builds every push to a GitHub branch",
                "s3: an AWS pipeline builds zips uploaded to S3",
            ])
            .default(default)
            .interact()
            .context("no answer to the source question")?;
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
            let mut input = dialoguer::Input::<String>::new()
                .with_prompt("GitHub repository (owner/repo)")
                .validate_with(|v: &String| check_repository(v));
            if let Some(r) = &repository {
                input = input.default(r.clone());
            }
            Some(
                input
                    .interact_text()
                    .context("no answer for the repository")?,
            )
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
            dialoguer::Input::<String>::new()
                .with_prompt("Branch that deploys")
                .default(branch)
                .interact_text()
                .context("no answer for the branch")?
        } else {
            branch
        };
        table.set("source.branch", branch);
    }

    let mut domain = s.domain.as_ref().map(|d| d.name.clone());
    if ui.interactive && args.domain.is_none() {
        let answer = dialoguer::Input::<String>::new()
            .with_prompt("Custom domain (empty for the CloudFront name)")
            .default(domain.clone().unwrap_or_default())
            .allow_empty(true)
            .validate_with(|v: &String| {
                if v.is_empty() {
                    Ok(())
                } else {
                    value::check_hostname(v).map_err(|p| p.to_string())
                }
            })
            .interact_text()
            .context("no answer for the domain")?;
        domain = Some(answer).filter(|a| !a.is_empty());
    }

    // The region is written when someone chose it; an ambient AWS_REGION is not pinned.
    let mut region = (!matches!(
        project.resolved.origin("region"),
        Some(Origin::Derived { .. }) | None
    ))
    .then(|| s.region.clone());
    if ui.interactive && global_region_unset(project) {
        let answer = dialoguer::Input::<String>::new()
            .with_prompt("AWS region for the bucket and pipeline")
            .default(s.region.clone())
            .validate_with(|v: &String| value::check_region(v).map_err(|p| p.to_string()))
            .interact_text()
            .context("no answer for the region")?;
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

/// The Cargo.toml that gets the table, which table, and its current text. A site without any
/// Cargo.toml gets a new one holding only an empty `[workspace]` and the settings.
fn target_manifest(
    project: &Project,
    detection: &Detection,
    root: &Path,
) -> anyhow::Result<(PathBuf, [&'static str; 3], String)> {
    const PACKAGE: [&str; 3] = ["package", "metadata", "cloudfront"];
    const WORKSPACE: [&str; 3] = ["workspace", "metadata", "cloudfront"];
    let read = |path: &Path| {
        std::fs::read_to_string(path).with_context(|| format!("could not read {}", path.display()))
    };
    let Some(ws) = &project.workspace else {
        let path = root.join("Cargo.toml");
        let text = "# cargo-cloudfront-host settings for this site. There is no Rust package here: the\n# empty [workspace] gives the settings a home and keeps cargo from looking further up.\n[workspace]\n";
        return Ok((path, WORKSPACE, text.to_string()));
    };
    let member = match &detection.package {
        Some(name) => ws.members.iter().find(|m| &m.name == name),
        None => ws
            .members
            .iter()
            .find(|m| m.manifest_path == ws.root_manifest),
    };
    match member {
        Some(m) => Ok((m.manifest_path.clone(), PACKAGE, read(&m.manifest_path)?)),
        None => Ok((
            ws.root_manifest.clone(),
            WORKSPACE,
            read(&ws.root_manifest)?,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_json_nests_dotted_keys() {
        let mut t = Table::default();
        t.set("framework", "yew");
        t.set("build.command", "trunk build --release");
        t.set("build.output_dir", "dist");
        assert_eq!(
            t.to_json(),
            json!({"framework": "yew", "build": {"command": "trunk build --release", "output_dir": "dist"}})
        );
    }

    #[test]
    fn repositories_must_be_owner_slash_repo() {
        assert!(check_repository("octo/site").is_ok());
        for bad in ["octo", "octo/", "/site", "a/b/c"] {
            assert!(check_repository(bad).is_err(), "{bad}");
        }
    }
}
