//! What kind of frontend a project is, how to build it and where the build lands.
//!
//! One file per stack. Each looks at one directory (a workspace member's, or the workspace
//! root for site generators) and answers with a [`Detection`], nothing, or a refusal for apps
//! that need a server. Every answer carries the reasons it was made, so `init` can show them
//! and a wrong guess is easy to correct with a flag.
//!
//! Detection reads files directly and never runs `cargo metadata` with dependencies: the
//! [`Workspace`] already lists the members, and the versions the build must pin come from the
//! workspace-root Cargo.lock.

pub mod custom;
pub mod dioxus;
pub mod leptos_ssr;
pub mod mdbook;
pub mod static_site;
pub mod trunk;
pub mod versions;
pub mod zola;

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::settings::Value;
use crate::workspace::{Dependency, Package, Workspace};

pub use versions::Lock;

/// What was found, how to build it and why the tool thinks so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    /// One of the `framework` setting's values.
    pub framework: String,
    /// The workspace member holding the frontend; `None` for sites without a Cargo package.
    pub package: Option<String>,
    /// Where the build runs, relative to the workspace root (`.` for the root itself).
    pub app_dir: String,
    /// Shell command run from the workspace root; `None` when the files are published as
    /// they are.
    pub build_command: Option<String>,
    /// Directory the build writes, relative to the workspace root.
    pub output_dir: String,
    /// `spa` or `static`.
    pub routing: String,
    /// A URL prefix the build bakes in (Trunk's `public_url`, Dioxus's `base_path`).
    pub base_path: Option<String>,
    /// Tools the build needs, at the versions it must use.
    pub tool_versions: BTreeMap<String, String>,
    pub reasons: Vec<String>,
}

impl Detection {
    /// A short label for lists of candidates: `web (trunk, yew)`.
    pub fn summary(&self) -> String {
        let what = format!("{} in {}", self.framework, self.app_dir);
        match &self.package {
            Some(p) => format!("{p} ({what})"),
            None => format!("(no package) ({what})"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error(
        "{what}, which needs a server: it cannot be hosted as static files on S3 + CloudFront.\nFound: {}.\n{advice}",
        .found.join("; ")
    )]
    CannotHostStatically {
        package: String,
        what: String,
        found: Vec<String>,
        advice: String,
    },
    #[error(
        "no frontend found in {}{}.\nLooked for: Trunk (Trunk.toml/.trunk.toml/Trunk.yaml/Trunk.json, [package.metadata.trunk], or an index.html with <link data-trunk rel=\"rust\">), Dioxus (the `dioxus` crate with the web platform), mdBook (book.toml), Zola (config.toml with base_url, plus content/), a static folder (index.html in public/, site/, www/ or static/; never the project folder itself, which would publish its sources and secrets: move the site into one of those folders).\nFor anything else (wasm-pack, a script), name the build yourself: cargo cloudfront-host init --framework custom --build-command '<command>' --output-dir <dir>",
        .dir.display(),
        .package.as_ref().map(|p| format!(" (package `{p}`)")).unwrap_or_default()
    )]
    NothingFound {
        dir: PathBuf,
        package: Option<String>,
    },
    #[error(
        "several frontends found: {}.\nPick one with -p/--package <PACKAGE>{}",
        .candidates.join(", "),
        if *.frameworks_differ { " or --framework <FRAMEWORK>" } else { "" }
    )]
    Several {
        candidates: Vec<String>,
        frameworks_differ: bool,
    },
    #[error("{}: {message}", .path.display())]
    Config { path: PathBuf, message: String },
}

impl DetectError {
    fn config(path: &Path, message: impl std::fmt::Display) -> Self {
        DetectError::Config {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }
}

/// What detection looks at.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The workspace root, or the directory of a site without Cargo.toml.
    pub root: &'a Path,
    pub workspace: Option<&'a Workspace>,
    /// A framework the user asked for: only candidates of that stack count.
    pub framework: Option<&'a str>,
}

/// A workspace member as the detectors see it.
#[derive(Debug)]
pub struct Member<'a> {
    pub package: &'a Package,
    /// Cargo.toml's text, read once and shared by every detector.
    pub manifest: String,
    parsed: OnceCell<Option<toml_edit::DocumentMut>>,
}

impl<'a> Member<'a> {
    fn read(package: &'a Package) -> Result<Self, DetectError> {
        let manifest = std::fs::read_to_string(&package.manifest_path)
            .map_err(|e| DetectError::config(&package.manifest_path, e))?;
        Ok(Member {
            package,
            manifest,
            parsed: OnceCell::new(),
        })
    }

    pub fn name(&self) -> &str {
        &self.package.name
    }

    /// The parsed manifest; `None` if it does not parse (cargo metadata accepted it, so this
    /// only happens when the file changed underneath us).
    pub fn toml(&self) -> Option<&toml_edit::DocumentMut> {
        self.parsed
            .get_or_init(|| self.manifest.parse().ok())
            .as_ref()
    }

    /// The table at `package.metadata.<name>`, if the manifest has one.
    pub fn metadata(&self, name: &str) -> Option<&toml_edit::Item> {
        // Cheap text test first: most members have no such table and need no TOML parse.
        if !self.manifest.contains(name) {
            return None;
        }
        self.toml()?
            .get("package")?
            .get("metadata")?
            .get(name)
            .filter(|i| !i.is_none())
    }

    pub fn dependency(&self, name: &str) -> Option<&'a Dependency> {
        self.package.dependencies.iter().find(|d| d.name == name)
    }

    /// The features of `krate` this package asks for, whether on the dependency line or
    /// through its own `[features]` (`ssr = ["leptos/ssr"]`), each with where it was seen.
    pub fn features_of(&self, krate: &str) -> Vec<(String, String)> {
        let mut found = Vec::new();
        if let Some(dep) = self.dependency(krate) {
            for f in &dep.features {
                found.push((f.clone(), format!("`{krate}` dependency features")));
            }
        }
        for (feature, enables) in &self.package.features {
            for e in enables {
                let e = e.strip_prefix("dep:").unwrap_or(e);
                if let Some((dep, f)) = e.split_once('/') {
                    let dep = dep.trim_end_matches('?');
                    if dep == krate {
                        found.push((f.to_string(), format!("feature `{feature}` → {e}")));
                    }
                }
            }
        }
        found
    }
}

/// Shared state for one detection run: the root and the lazily read Cargo.lock.
#[derive(Debug)]
pub struct Scan<'a> {
    pub root: &'a Path,
    pub target_dir: PathBuf,
    pub root_manifest: Option<String>,
    lock: OnceCell<Result<Option<Lock>, String>>,
}

impl<'a> Scan<'a> {
    pub fn new(root: &'a Path, workspace: Option<&Workspace>) -> Self {
        let root_manifest = std::fs::read_to_string(root.join("Cargo.toml")).ok();
        Scan {
            root,
            target_dir: workspace.map_or_else(|| root.join("target"), |w| w.target_dir.clone()),
            root_manifest,
            lock: OnceCell::new(),
        }
    }

    /// The workspace-root Cargo.lock, parsed once on first use.
    pub fn lock(&self) -> Result<Option<&Lock>, DetectError> {
        let path = self.root.join("Cargo.lock");
        self.lock
            .get_or_init(|| match std::fs::read_to_string(&path) {
                Ok(text) => Lock::parse(&text).map(Some),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e.to_string()),
            })
            .as_ref()
            .map(Option::as_ref)
            .map_err(|message| DetectError::config(&path, message))
    }

    /// `dir` relative to the root, with `/` separators; `.` for the root itself.
    pub fn relative(&self, dir: &Path) -> String {
        relative_to(self.root, dir)
    }
}

/// `path` relative to `base` with `/` separators (`.` when equal); unchanged if outside it.
pub fn relative_to(base: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        ".".to_string()
    } else if rel.is_absolute() {
        rel.display().to_string()
    } else {
        parts.join("/")
    }
}

/// `base/rel` as a relative path string, normalised (`./dist` → `dist`, `web/./dist` →
/// `web/dist`).
pub fn join_rel(base: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in base.split('/').chain(rel.split('/')) {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if rel.starts_with('/') {
        return rel.to_string();
    }
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// `cd <dir> && <command>`, or just the command when it runs at the root.
pub fn in_dir(dir: &str, command: &str) -> String {
    if dir == "." {
        command.to_string()
    } else {
        format!("cd {} && {command}", shell_word(dir))
    }
}

/// A word for `sh`, quoted only when it needs to be.
pub fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Stacks that build with Trunk; `--framework trunk` accepts each of them.
pub fn trunk_family(framework: &str) -> bool {
    matches!(framework, "trunk" | "leptos-csr" | "yew" | "sycamore")
}

/// Runs every detector over the member(s) in question and the root.
pub fn detect(input: &Input) -> Result<Detection, DetectError> {
    let scan = Scan::new(input.root, input.workspace);
    let mut candidates = Vec::new();
    let mut refusals = Vec::new();
    let mut scanned_root = false;
    let mut nothing_in = None;

    let members: Vec<&Package> = match input.workspace {
        Some(ws) => match ws.package() {
            Some(p) => vec![p],
            None => ws.members.iter().collect(),
        },
        None => Vec::new(),
    };
    let only_one = members.len() == 1;
    for package in members {
        let member = Member::read(package)?;
        scanned_root |= package.dir == input.root;
        if only_one {
            nothing_in = Some((package.dir.clone(), Some(package.name.clone())));
        }
        match detect_member(&scan, &member) {
            Ok(Some(d)) => candidates.push(d),
            Ok(None) => {}
            Err(e @ DetectError::CannotHostStatically { .. }) => refusals.push(e),
            Err(e) => return Err(e),
        }
    }
    // Site generators without a Cargo package (an mdBook at the root of a library's
    // workspace, a Zola site with no Cargo.toml at all) live at the root.
    let selected = input.workspace.and_then(Workspace::package).is_some();
    if !scanned_root
        && !selected
        && let Some(d) = detect_site(&scan, input.root, None)?
    {
        candidates.push(d);
    }

    if let Some(wanted) = input.framework.filter(|f| *f != "custom") {
        candidates
            .retain(|d| d.framework == wanted || (wanted == "trunk" && trunk_family(&d.framework)));
    }
    match candidates.len() {
        1 => Ok(candidates.remove(0)),
        0 => Err(refusals.into_iter().next().unwrap_or_else(|| {
            let (dir, package) = nothing_in.unwrap_or_else(|| (input.root.to_path_buf(), None));
            DetectError::NothingFound { dir, package }
        })),
        _ => {
            let first = &candidates[0].framework;
            Err(DetectError::Several {
                frameworks_differ: candidates.iter().any(|c| &c.framework != first),
                candidates: candidates.iter().map(Detection::summary).collect(),
            })
        }
    }
}

/// What a command names of the build before detection runs (`init --framework custom
/// --output-dir dist`); empty for every other command.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hints<'a> {
    pub framework: Option<&'a str>,
    pub build_command: Option<&'a str>,
    pub output_dir: Option<&'a str>,
}

/// Detection for a command: the user's `custom` build when they named one, else what the
/// detectors find (with a choice among several when prompts are allowed).
pub fn for_command(
    root: &Path,
    workspace: Option<&Workspace>,
    hints: Hints<'_>,
    ui: &crate::ui::Ui,
) -> Result<Detection, DetectError> {
    if let (Some("custom"), Some(out)) = (hints.framework, hints.output_dir) {
        let scan = Scan::new(root, workspace);
        let package = workspace.and_then(Workspace::package);
        return custom::detection(
            &scan,
            package.map(|p| p.name.as_str()),
            hints.build_command,
            out,
            package.map_or(root, |p| p.dir.as_path()),
        );
    }
    let input = Input {
        root,
        workspace,
        framework: hints.framework,
    };
    match detect(&input) {
        Err(DetectError::Several { .. }) if ui.interactive => {
            let mut found = candidates(&input)?;
            let labels: Vec<String> = found.iter().map(Detection::summary).collect();
            let choice = ui
                .select(
                    "Several frontends found; which one should be hosted?",
                    &labels,
                    0,
                )
                .map_err(|e| DetectError::Config {
                    path: root.to_path_buf(),
                    message: format!("no answer to the question: {e}"),
                })?;
            Ok(found.swap_remove(choice))
        }
        other => other,
    }
}

/// Every candidate (for `init`'s interactive choice when detection finds several).
pub fn candidates(input: &Input) -> Result<Vec<Detection>, DetectError> {
    let scan = Scan::new(input.root, input.workspace);
    let mut found = Vec::new();
    if let Some(ws) = input.workspace {
        for package in &ws.members {
            let member = Member::read(package)?;
            if let Ok(Some(d)) = detect_member(&scan, &member) {
                found.push(d);
            }
        }
    }
    if !found.iter().any(|d| d.app_dir == ".")
        && let Some(d) = detect_site(&scan, input.root, None)?
    {
        found.push(d);
    }
    Ok(found)
}

/// One member: refusals first (a Leptos SSR app also has an index.html-free Trunk-less
/// layout that could pass for something else), then the stacks from most to least specific.
fn detect_member(scan: &Scan, member: &Member) -> Result<Option<Detection>, DetectError> {
    leptos_ssr::check(scan, member)?;
    if let Some(d) = dioxus::detect(scan, member)? {
        return Ok(Some(d));
    }
    if let Some(d) = trunk::detect(scan, member)? {
        return Ok(Some(d));
    }
    detect_site(scan, &member.package.dir, Some(member.name()))
}

/// Site generators and plain folders in `dir`.
fn detect_site(
    scan: &Scan,
    dir: &Path,
    package: Option<&str>,
) -> Result<Option<Detection>, DetectError> {
    if let Some(d) = mdbook::detect(scan, dir, package)? {
        return Ok(Some(d));
    }
    if let Some(d) = zola::detect(scan, dir, package)? {
        return Ok(Some(d));
    }
    static_site::detect(scan, dir, package)
}

/// The detection as the settings layer "detected" (below metadata, above defaults).
pub fn layer(d: &Detection) -> Vec<(String, Value, String)> {
    let why = |what: &str| format!("{what} of the {} project", d.framework);
    let mut out = vec![
        (
            "framework".to_string(),
            Value::Str(d.framework.clone()),
            d.reasons
                .first()
                .cloned()
                .unwrap_or_else(|| why("framework")),
        ),
        (
            "routing".to_string(),
            Value::Str(d.routing.clone()),
            why("routing"),
        ),
        (
            "build.output_dir".to_string(),
            Value::Str(d.output_dir.clone()),
            why("output directory"),
        ),
    ];
    if let Some(command) = &d.build_command {
        out.push((
            "build.command".to_string(),
            Value::Str(command.clone()),
            why("build command"),
        ));
    }
    out
}

/// Reads a file that may be absent; other I/O errors are reported with the path.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>, DetectError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(DetectError::config(path, e)),
    }
}

/// A string at `path` inside a TOML item (`["build", "dist"]`).
pub(crate) fn toml_str<'t>(item: &'t toml_edit::Item, path: &[&str]) -> Option<&'t str> {
    let mut cur = item;
    for key in path {
        cur = cur.get(key)?;
    }
    cur.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_normalised() {
        assert_eq!(join_rel(".", "dist"), "dist");
        assert_eq!(join_rel("web", "./public/site"), "web/public/site");
        assert_eq!(join_rel("crates/web", "../dist"), "crates/dist");
        assert_eq!(join_rel(".", "."), ".");
        assert_eq!(relative_to(Path::new("/a/b"), Path::new("/a/b/c/d")), "c/d");
        assert_eq!(relative_to(Path::new("/a/b"), Path::new("/a/b")), ".");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("crates/web"), "crates/web");
        assert_eq!(shell_word("my app"), "'my app'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(in_dir(".", "trunk build"), "trunk build");
        assert_eq!(in_dir("web", "trunk build"), "cd web && trunk build");
    }
}
