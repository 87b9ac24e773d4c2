//! `init`'s decisions: its flags as settings, which build to describe when detection and the
//! settings disagree, and which Cargo.toml gets the table.

pub mod choose;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde_json::json;

use crate::cli::InitArgs;
use crate::detect::{self, DetectError, Detection};
use crate::project::Project;
use crate::settings::{FlagValue, Origin, Value};
use crate::workspace::Workspace;

/// The settings `init` writes, in the order they appear in the table.
#[derive(Debug, Default)]
pub struct Table {
    pub entries: Vec<(String, Value)>,
}

impl Table {
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.entries
            .push((key.to_string(), Value::Str(value.into())));
    }

    /// The table as nested JSON (`build.command` → `{"build": {"command": ...}}`).
    pub fn to_json(&self) -> serde_json::Value {
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

/// `init`'s own flags as settings flags: validated by the settings layer like any other.
pub fn flags(args: &InitArgs) -> Vec<FlagValue> {
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

/// The build `init` describes: detection's when the settings agree with it, else the one
/// the settings name. Never the project folder itself as the site.
pub fn detection(
    project: &Project,
    found: &Result<Detection, DetectError>,
    output_dir: Option<&str>,
) -> anyhow::Result<Detection> {
    let root = &project.root;
    if let Some(out) = output_dir
        && let (Ok(site), Ok(top)) = (root.join(out).canonicalize(), root.canonicalize())
        && top.starts_with(&site)
    {
        // Publishing the project folder would make its sources and secrets public.
        bail!(
            "--output-dir {out} is the project folder itself (or above it); name the folder the build writes the site to, e.g. `dist`"
        );
    }
    match found {
        Ok(d) if agrees(project, d) => Ok(d.clone()),
        // Metadata or flags name another stack than the one found: their build wins, and
        // the reasons of a detection that is not used would only mislead.
        Ok(_) => from_settings(project, None),
        Err(failure) => from_settings(project, Some(failure)),
    }
}

/// Whether the settings' framework (if the user chose one) is the detected stack.
pub fn agrees(project: &Project, detection: &Detection) -> bool {
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
pub fn from_settings(
    project: &Project,
    failure: Option<&DetectError>,
) -> anyhow::Result<Detection> {
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
        _ => Err(failure.map_or_else(
            || anyhow::anyhow!("nothing was detected"),
            |e| anyhow::anyhow!(e.to_string()),
        )),
    }
}

pub fn show_reasons(detection: &Detection) {
    let mut err = anstream::stderr().lock();
    for reason in &detection.reasons {
        let _ = std::io::Write::write_fmt(&mut err, format_args!("             - {reason}\n"));
    }
}

/// The Cargo.toml that gets the table, which table, and its current text. A site without any
/// Cargo.toml gets a new one holding only an empty `[workspace]` and the settings.
pub fn target_manifest(
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
}
