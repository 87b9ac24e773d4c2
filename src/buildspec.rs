//! CodeBuild buildspecs from the templates in `buildspecs/`, filled with the settings and the
//! pinned tool versions.
//!
//! Template syntax, kept tiny on purpose:
//! - `{{name}}` — the value as one shell word (quoted only when it must be);
//! - `{{yaml:name}}` — the value as a YAML double-quoted scalar (for whole command lines that
//!   may hold `: ` or `#`);
//! - a line starting with `{{if:name}}` is kept only when `name` has a value, one starting with
//!   `{{unless:name}}` only when it has none.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::detect::{DetectError, Detection, shell_word, trunk_family};
use crate::project::Project;
use crate::ui::Ui;
use crate::workspace::Workspace;

/// The tool's own version: the pipeline installs exactly this one to publish.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, thiserror::Error)]
pub enum BuildspecError {
    #[error(
        "no buildspec template for framework `{0}`; set `build.buildspec` to a buildspec of your own"
    )]
    NoTemplate(String),
    #[error("buildspec template {template}: unknown placeholder `{{{{{name}}}}}`")]
    UnknownPlaceholder { template: String, name: String },
    #[error("buildspec template {template}: unterminated placeholder")]
    Unterminated { template: String },
    #[error(
        "the generated buildspec is not valid YAML ({0}); a setting probably holds a character the template cannot carry"
    )]
    InvalidYaml(String),
    #[error("a buildspec needs `build.output_dir`: the directory to publish")]
    NoOutputDir,
}

/// What a buildspec is made from.
#[derive(Debug, Clone)]
pub struct Spec<'a> {
    pub framework: &'a str,
    pub package: Option<&'a str>,
    pub build_command: Option<&'a str>,
    pub output_dir: &'a str,
    pub tool_versions: &'a BTreeMap<String, String>,
    /// The workspace root relative to the repository root, when they differ.
    pub project_dir: Option<&'a str>,
}

/// The template file for a framework.
pub fn template(framework: &str) -> Option<(&'static str, &'static str)> {
    Some(match framework {
        f if trunk_family(f) => ("trunk.yml", include_str!("../buildspecs/trunk.yml")),
        "dioxus" => ("dioxus.yml", include_str!("../buildspecs/dioxus.yml")),
        "mdbook" => ("mdbook.yml", include_str!("../buildspecs/mdbook.yml")),
        "zola" => ("zola.yml", include_str!("../buildspecs/zola.yml")),
        "static" => ("static.yml", include_str!("../buildspecs/static.yml")),
        "custom" => ("custom.yml", include_str!("../buildspecs/custom.yml")),
        _ => return None,
    })
}

/// Renders the buildspec for `spec` and checks that it parses as YAML.
pub fn render(spec: &Spec) -> Result<String, BuildspecError> {
    let (name, text) = template(spec.framework)
        .ok_or_else(|| BuildspecError::NoTemplate(spec.framework.into()))?;
    if spec.output_dir.trim().is_empty() {
        return Err(BuildspecError::NoOutputDir);
    }
    let mut values: BTreeMap<&str, Option<String>> = BTreeMap::new();
    values.insert("framework", Some(spec.framework.to_string()));
    values.insert("cch_version", Some(TOOL_VERSION.to_string()));
    values.insert("package", spec.package.map(String::from));
    values.insert("build_command", spec.build_command.map(String::from));
    values.insert("output_dir", Some(spec.output_dir.to_string()));
    values.insert("project_dir", spec.project_dir.map(String::from));
    let tool = |name: &str| spec.tool_versions.get(name).cloned();
    values.insert(
        "rust",
        Some(tool("rust").unwrap_or_else(|| crate::detect::versions::DEFAULT_RUST.into())),
    );
    values.insert(
        "trunk",
        Some(tool("trunk").unwrap_or_else(|| crate::detect::versions::DEFAULT_TRUNK.into())),
    );
    values.insert(
        "mdbook",
        Some(tool("mdbook").unwrap_or_else(|| crate::detect::versions::DEFAULT_MDBOOK.into())),
    );
    values.insert(
        "zola",
        Some(tool("zola").unwrap_or_else(|| crate::detect::versions::DEFAULT_ZOLA.into())),
    );
    values.insert("wasm_bindgen", tool("wasm-bindgen"));
    // dx must match the dioxus crate; with no version known, the 0.6 line is the safe guess.
    values.insert(
        "dioxus_cli",
        Some(tool("dioxus-cli").unwrap_or_else(|| "0.6".into())),
    );

    let rendered = fill(name, text, &values)?;
    yaml_rust2::YamlLoader::load_from_str(&rendered)
        .map_err(|e| BuildspecError::InvalidYaml(e.to_string()))?;
    Ok(rendered)
}

fn fill(
    template: &str,
    text: &str,
    values: &BTreeMap<&str, Option<String>>,
) -> Result<String, BuildspecError> {
    let lookup = |name: &str| -> Result<Option<&String>, BuildspecError> {
        values
            .get(name)
            .map(Option::as_ref)
            .ok_or_else(|| BuildspecError::UnknownPlaceholder {
                template: template.to_string(),
                name: name.to_string(),
            })
    };
    let mut out = String::with_capacity(text.len() + 512);
    for line in text.lines() {
        let mut line = line;
        if let Some(rest) = line.strip_prefix("{{if:") {
            let (name, after) =
                rest.split_once("}}")
                    .ok_or_else(|| BuildspecError::Unterminated {
                        template: template.to_string(),
                    })?;
            if lookup(name)?.is_none() {
                continue;
            }
            line = after;
        } else if let Some(rest) = line.strip_prefix("{{unless:") {
            let (name, after) =
                rest.split_once("}}")
                    .ok_or_else(|| BuildspecError::Unterminated {
                        template: template.to_string(),
                    })?;
            if lookup(name)?.is_some() {
                continue;
            }
            line = after;
        }
        let mut rest = line;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| BuildspecError::Unterminated {
                    template: template.to_string(),
                })?;
            let placeholder = &after[..end];
            let (yaml, name) = match placeholder.strip_prefix("yaml:") {
                Some(name) => (true, name),
                None => (false, placeholder),
            };
            let value = lookup(name)?.map(String::as_str).unwrap_or_default();
            if yaml {
                // A JSON string is a valid YAML double-quoted scalar.
                out.push_str(&serde_json::Value::String(value.to_string()).to_string());
            } else {
                out.push_str(&shell_word(value));
            }
            rest = &after[end + 2..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    Ok(out)
}

// The project's buildspec: settings, detection and the templates together.

#[derive(Serialize)]
pub struct BuildspecView {
    pub framework: String,
    pub output_dir: String,
    pub tool_versions: std::collections::BTreeMap<String, String>,
    /// A file of the user's own (`build.buildspec`) rather than a generated one.
    pub source: String,
    pub buildspec: String,
}

/// The buildspec the pipeline runs: the user's `build.buildspec` file, else one generated from
/// the settings (detection only fills tool versions the metadata leaves out).
pub fn for_project(
    project: &Project,
    found: &Result<Detection, DetectError>,
    ui: &Ui,
) -> anyhow::Result<BuildspecView> {
    let s = &project.settings;
    if let Some(own) = &s.build.buildspec {
        let path = project.root.join(own);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("could not read build.buildspec {}", path.display()))?;
        ui.status("Using", format!("your buildspec {}", own.display()));
        return Ok(BuildspecView {
            framework: s.framework.clone().unwrap_or_default(),
            output_dir: s
                .build
                .output_dir
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            tool_versions: Default::default(),
            source: own.display().to_string(),
            buildspec: text,
        });
    }

    let facts = BuildFacts::of(project, found).context("cannot generate a buildspec")?;
    let project_dir = repository_prefix(&project.root);
    let text = render(&Spec {
        framework: &facts.framework,
        package: facts.package.as_deref(),
        build_command: s.build.command.as_deref(),
        output_dir: &facts.output_dir,
        tool_versions: &facts.tool_versions,
        project_dir: project_dir.as_deref(),
    })?;
    Ok(BuildspecView {
        framework: facts.framework,
        output_dir: facts.output_dir,
        tool_versions: facts.tool_versions,
        source: "generated".into(),
        buildspec: text,
    })
}

/// The build as the pipeline and the GitHub workflow see it: settings first, detection for
/// the tool versions (only when it found the same stack the settings name).
pub struct BuildFacts {
    pub framework: String,
    pub package: Option<String>,
    pub output_dir: String,
    pub tool_versions: BTreeMap<String, String>,
}

impl BuildFacts {
    pub fn of(project: &Project, found: &Result<Detection, DetectError>) -> anyhow::Result<Self> {
        let s = &project.settings;
        let (Some(framework), Some(output_dir)) = (&s.framework, &s.build.output_dir) else {
            return Err(match found {
                Err(e) => anyhow::anyhow!(e.to_string()),
                Ok(_) => anyhow::anyhow!(
                    "no framework or output directory: run `cargo cloudfront-host init` first"
                ),
            });
        };
        let tool_versions = match found {
            // Versions detected for another stack than the settings name would pin the wrong
            // tools; only the toolchain and wasm-bindgen carry over.
            Ok(d) if same_stack(&d.framework, framework) => d.tool_versions.clone(),
            _ => fallback_versions(project)?,
        };
        let package = project
            .workspace
            .as_ref()
            .and_then(Workspace::package)
            .map(|p| p.name.clone())
            .or_else(|| found.as_ref().ok().and_then(|d| d.package.clone()));
        Ok(BuildFacts {
            framework: framework.clone(),
            package,
            output_dir: output_dir.display().to_string(),
            tool_versions,
        })
    }
}

fn same_stack(a: &str, b: &str) -> bool {
    a == b || (trunk_family(a) && trunk_family(b))
}

fn fallback_versions(
    project: &Project,
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let scan = crate::detect::Scan::new(&project.root, project.workspace.as_ref());
    let package = project.workspace.as_ref().and_then(Workspace::package);
    let d = crate::detect::custom::detection(
        &scan,
        None,
        None,
        ".",
        package.map_or(project.root.as_path(), |p| p.dir.as_path()),
    )?;
    Ok(d.tool_versions)
}

/// The workspace root relative to the repository root, when it is a subdirectory: the
/// pipeline starts at the repository root.
pub fn repository_prefix(root: &Path) -> Option<String> {
    let top = root.ancestors().find(|d| d.join(".git").exists())?;
    let rel = crate::detect::relative_to(top, root);
    (rel != ".").then_some(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn commands(yaml: &str, phase: &str) -> Vec<String> {
        let docs = yaml_rust2::YamlLoader::load_from_str(yaml).unwrap();
        docs[0]["phases"][phase]["commands"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn every_framework_has_a_template_that_renders() {
        let t = tools(&[("rust", "1.85.0"), ("wasm-bindgen", "0.2.100")]);
        for framework in crate::settings::keys::FRAMEWORKS {
            let yaml = render(&Spec {
                framework,
                package: Some("web"),
                build_command: Some("make site"),
                output_dir: "dist",
                tool_versions: &t,
                project_dir: None,
            })
            .unwrap_or_else(|e| panic!("{framework}: {e}"));
            let build = commands(&yaml, "build");
            assert_eq!(
                build.last().unwrap(),
                "cargo cloudfront-host publish -p web --dir dist --version \"${CLOUDFRONT_HOST_VERSION:-$CODEBUILD_RESOLVED_SOURCE_VERSION}\" --yes",
                "{framework}"
            );
            let install = commands(&yaml, "install").join("\n");
            assert!(
                install.contains("rustup toolchain install 1.85.0"),
                "{framework}"
            );
            assert!(!yaml.contains("{{"), "{framework}: {yaml}");
        }
        assert!(matches!(
            render(&Spec {
                framework: "leptos-ssr",
                package: None,
                build_command: None,
                output_dir: "x",
                tool_versions: &t,
                project_dir: None
            }),
            Err(BuildspecError::NoTemplate(_))
        ));
    }

    #[test]
    fn awkward_values_stay_valid_yaml_and_shell() {
        let t = tools(&[("trunk", ">=0.21, <0.23")]);
        let yaml = render(&Spec {
            framework: "yew",
            package: None,
            build_command: Some("echo 'a: b' # not a comment && trunk build --release"),
            output_dir: "my site/out",
            tool_versions: &t,
            project_dir: Some("frontend"),
        })
        .unwrap();
        let build = commands(&yaml, "build");
        assert_eq!(build[0], "cd frontend");
        assert_eq!(
            build[1],
            "echo 'a: b' # not a comment && trunk build --release"
        );
        assert!(build[2].contains("--dir 'my site/out'"), "{}", build[2]);
        let install = commands(&yaml, "install").join("\n");
        assert!(install.contains("cargo install trunk --version '>=0.21, <0.23' --locked"));
        // No wasm-bindgen known: no install line for it and no env var.
        assert!(!yaml.contains("wasm-bindgen"), "{yaml}");
    }

    #[test]
    fn static_sites_without_a_build_only_publish() {
        let t = BTreeMap::new();
        let yaml = render(&Spec {
            framework: "static",
            package: None,
            build_command: None,
            output_dir: ".",
            tool_versions: &t,
            project_dir: None,
        })
        .unwrap();
        assert_eq!(
            commands(&yaml, "build"),
            vec![
                "cargo cloudfront-host publish --dir . --version \"${CLOUDFRONT_HOST_VERSION:-$CODEBUILD_RESOLVED_SOURCE_VERSION}\" --yes"
            ]
        );
    }

    #[test]
    fn caches_use_recursive_globs() {
        let t = BTreeMap::new();
        for framework in crate::settings::keys::FRAMEWORKS {
            let yaml = render(&Spec {
                framework,
                package: None,
                build_command: Some("true"),
                output_dir: "out",
                tool_versions: &t,
                project_dir: None,
            })
            .unwrap();
            let docs = yaml_rust2::YamlLoader::load_from_str(&yaml).unwrap();
            let paths = docs[0]["cache"]["paths"].as_vec().unwrap();
            assert!(paths.len() >= 4, "{framework}");
            for p in paths {
                assert!(p.as_str().unwrap().ends_with("/**/*"), "{framework}: {p:?}");
            }
        }
    }
}
