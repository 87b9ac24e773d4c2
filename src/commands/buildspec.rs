//! `buildspec`: the CodeBuild buildspec the pipeline runs, generated from the settings.

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::buildspec::{self, Spec};
use crate::cli::{BuildspecArgs, GlobalArgs};
use crate::commands::init::detect_project;
use crate::detect::{self, Detection};
use crate::project::Project;
use crate::ui::Ui;
use crate::workspace::Workspace;

#[derive(Serialize)]
pub(crate) struct BuildspecView {
    framework: String,
    output_dir: String,
    tool_versions: std::collections::BTreeMap<String, String>,
    /// A file of the user's own (`build.buildspec`) rather than a generated one.
    source: String,
    buildspec: String,
}

pub async fn run(global: &GlobalArgs, args: &BuildspecArgs, ui: &Ui) -> anyhow::Result<()> {
    let workspace =
        Workspace::discover(global.manifest_path.as_deref(), global.package.as_deref())?;
    let cwd = std::env::current_dir().context("the current directory is not accessible")?;
    let root = workspace.as_ref().map_or(cwd, |w| w.root.clone());
    // Metadata is the source of truth; detection only fills what it leaves out. A failed
    // detection is fine as long as the metadata names the build.
    let found = detect_project(&root, workspace.as_ref(), None, None, None, ui);
    let mut global = global.clone();
    if global.package.is_none() && global.manifest_path.is_none() {
        global.package = found.as_ref().ok().and_then(|d| d.package.clone());
    }
    let layer = found.as_ref().map(detect::layer).unwrap_or_default();
    let project = Project::load(&global, Vec::new(), layer, ui).await?;
    let view = generate(&project, found, ui)?;
    emit(ui, args, view)
}

/// The buildspec the pipeline runs: the user's `build.buildspec` file, else one generated from
/// the settings (detection only fills tool versions the metadata leaves out).
pub(crate) fn generate(
    project: &Project,
    found: Result<Detection, crate::detect::DetectError>,
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

    let (Some(framework), Some(output_dir)) = (&s.framework, &s.build.output_dir) else {
        return Err(match found {
            Err(e) => anyhow::Error::from(e),
            Ok(_) => anyhow::anyhow!(
                "no framework or output directory: run `cargo cloudfront-host init` first"
            ),
        })
        .context("cannot generate a buildspec");
    };
    let tool_versions = match &found {
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
        .or_else(|| {
            found
                .as_ref()
                .ok()
                .and_then(|d: &Detection| d.package.clone())
        });
    let output_dir = output_dir.display().to_string();
    let project_dir = repository_prefix(&project.root);
    let text = buildspec::render(&Spec {
        framework,
        package: package.as_deref(),
        build_command: s.build.command.as_deref(),
        output_dir: &output_dir,
        tool_versions: &tool_versions,
        project_dir: project_dir.as_deref(),
    })?;
    Ok(BuildspecView {
        framework: framework.clone(),
        output_dir,
        tool_versions,
        source: "generated".into(),
        buildspec: text,
    })
}

/// [`generate`] for a project loaded without the detection layer (deploy, plan).
pub(crate) fn for_project(project: &Project, ui: &Ui) -> anyhow::Result<String> {
    let found = detect_project(
        &project.root,
        project.workspace.as_ref(),
        None,
        None,
        None,
        ui,
    );
    Ok(generate(project, found, ui)?.buildspec)
}

fn emit(ui: &Ui, args: &BuildspecArgs, view: BuildspecView) -> anyhow::Result<()> {
    if let Some(path) = &args.output {
        std::fs::write(path, &view.buildspec)
            .with_context(|| format!("could not write {}", path.display()))?;
        ui.status("Wrote", path.display());
        ui.result("", &view);
    } else {
        ui.result(&view.buildspec, &view);
    }
    Ok(())
}

fn same_stack(a: &str, b: &str) -> bool {
    a == b || (detect::trunk_family(a) && detect::trunk_family(b))
}

fn fallback_versions(
    project: &Project,
) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
    let scan = detect::Scan::new(&project.root, project.workspace.as_ref());
    let package = project.workspace.as_ref().and_then(Workspace::package);
    let d = detect::custom::detection(
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
pub(crate) fn repository_prefix(root: &Path) -> Option<String> {
    let top = root.ancestors().find(|d| d.join(".git").exists())?;
    let rel = detect::relative_to(top, root);
    (rel != ".").then_some(rel)
}
