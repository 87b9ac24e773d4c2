//! The user's cargo workspace (through `cargo metadata`) and git facts about it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("`cargo metadata` failed for {manifest}: {message}")]
    Metadata { manifest: String, message: String },
    #[error("package `{wanted}` is not in the workspace at {root}; its packages: {}", .members.join(", "))]
    NoSuchPackage {
        wanted: String,
        root: PathBuf,
        members: Vec<String>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub manifest_path: PathBuf,
    /// Directory holding the package's Cargo.toml.
    pub dir: PathBuf,
    pub has_cloudfront_metadata: bool,
    /// Declared dependencies with the features asked of them (`leptos` → `["csr"]`).
    pub dependencies: Vec<Dependency>,
    /// The package's own `[features]` table, name → what each enables.
    pub features: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    pub name: String,
    pub features: Vec<String>,
    pub uses_default_features: bool,
    pub optional: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Workspace {
    pub root: PathBuf,
    pub root_manifest: PathBuf,
    pub target_dir: PathBuf,
    pub members: Vec<Package>,
    /// The package the command is about: `-p`, else the manifest or directory it was run in,
    /// else the only member with `[package.metadata.cloudfront]`, else the only member.
    pub selected: Option<usize>,
}

impl Workspace {
    /// Reads the workspace around `manifest_path` (or the current directory). `Ok(None)` when
    /// there is no Cargo.toml at all: plain static sites (mdBook, Zola) need none.
    pub fn discover(
        manifest_path: Option<&Path>,
        package: Option<&str>,
    ) -> Result<Option<Self>, WorkspaceError> {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        if manifest_path.is_none() && find_upwards(&cwd, "Cargo.toml").is_none() {
            return Ok(None);
        }
        let mut cmd = cargo_metadata::MetadataCommand::new();
        cmd.no_deps();
        if let Some(path) = manifest_path {
            cmd.manifest_path(path);
        }
        let metadata = cmd.exec().map_err(|e| WorkspaceError::Metadata {
            manifest: manifest_path.map_or_else(
                || "the current directory".to_string(),
                |p| p.display().to_string(),
            ),
            message: e.to_string().trim().to_string(),
        })?;
        let root: PathBuf = metadata.workspace_root.clone().into();
        let members: Vec<Package> = metadata
            .workspace_packages()
            .into_iter()
            .map(|p| {
                let manifest_path: PathBuf = p.manifest_path.clone().into();
                Package {
                    name: p.name.to_string(),
                    version: p.version.to_string(),
                    dir: manifest_path
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_default(),
                    manifest_path,
                    has_cloudfront_metadata: p.metadata.get("cloudfront").is_some(),
                    dependencies: p
                        .dependencies
                        .iter()
                        .map(|d| Dependency {
                            name: d.name.clone(),
                            features: d.features.clone(),
                            uses_default_features: d.uses_default_features,
                            optional: d.optional,
                        })
                        .collect(),
                    features: p
                        .features
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                }
            })
            .collect();
        let selected = select(&members, package, manifest_path, &cwd).map_err(|wanted| {
            WorkspaceError::NoSuchPackage {
                wanted,
                root: root.clone(),
                members: members.iter().map(|m| m.name.clone()).collect(),
            }
        })?;
        Ok(Some(Workspace {
            root_manifest: root.join("Cargo.toml"),
            root,
            target_dir: metadata.target_directory.into(),
            members,
            selected,
        }))
    }

    pub fn package(&self) -> Option<&Package> {
        self.selected.map(|i| &self.members[i])
    }
}

fn select(
    members: &[Package],
    wanted: Option<&str>,
    manifest: Option<&Path>,
    cwd: &Path,
) -> Result<Option<usize>, String> {
    if let Some(name) = wanted {
        return members
            .iter()
            .position(|m| m.name == name)
            .map(Some)
            .ok_or_else(|| name.to_string());
    }
    if let Some(manifest) = manifest {
        let manifest = std::fs::canonicalize(manifest).unwrap_or_else(|_| manifest.to_path_buf());
        if let Some(i) = members.iter().position(|m| {
            std::fs::canonicalize(&m.manifest_path).ok().as_deref() == Some(manifest.as_path())
        }) {
            return Ok(Some(i));
        }
    } else {
        // The deepest member directory containing the current directory.
        let cwd = std::fs::canonicalize(cwd).unwrap_or_else(|_| cwd.to_path_buf());
        let inside = members
            .iter()
            .enumerate()
            .filter(|(_, m)| {
                std::fs::canonicalize(&m.dir)
                    .map(|d| cwd.starts_with(&d))
                    .unwrap_or(false)
            })
            .max_by_key(|(_, m)| m.dir.components().count());
        if let Some((i, _)) = inside {
            return Ok(Some(i));
        }
    }
    let with_metadata: Vec<usize> = (0..members.len())
        .filter(|&i| members[i].has_cloudfront_metadata)
        .collect();
    if with_metadata.len() == 1 {
        return Ok(Some(with_metadata[0]));
    }
    Ok((members.len() == 1).then_some(0))
}

/// The repository's top directory (the pipeline's buildspec and the GitHub workflow start
/// there), else `root`.
pub fn repository_root(root: &Path) -> PathBuf {
    root.ancestors()
        .find(|d| d.join(".git").exists())
        .unwrap_or(root)
        .to_path_buf()
}

fn find_upwards(start: &Path, name: &str) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// What git says about the checkout. Every field is optional: a site can be published from a
/// directory that is not a repository at all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GitFacts {
    pub remote_url: Option<String>,
    /// `owner/repo` when the `origin` remote is on GitHub.
    pub github: Option<String>,
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub dirty: bool,
}

impl GitFacts {
    pub fn read(dir: &Path) -> Self {
        let git = |args: &[&str]| -> Option<String> {
            let out = Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(args)
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let Some(commit) = git(&["rev-parse", "HEAD"]) else {
            return GitFacts::default();
        };
        // Independent questions, asked side by side (`status` is the slow one in a big tree).
        let (remote_url, branch, status) = std::thread::scope(|s| {
            let remote = s.spawn(|| git(&["remote", "get-url", "origin"]));
            let branch = s.spawn(|| git(&["symbolic-ref", "--short", "-q", "HEAD"]));
            let status = git(&["status", "--porcelain", "--untracked-files=normal"]);
            (
                remote.join().ok().flatten(),
                branch.join().ok().flatten(),
                status,
            )
        });
        // `symbolic-ref` names the checked-out branch; in a detached HEAD (CI checkouts) there is
        // none, and the CI's own variables say which branch was built.
        let branch = branch.or_else(|| {
            [
                "GITHUB_HEAD_REF",
                "GITHUB_REF_NAME",
                "CODEBUILD_WEBHOOK_HEAD_REF",
                "CI_COMMIT_BRANCH",
            ]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .map(|s| s.trim_start_matches("refs/heads/").to_string())
        });
        let dirty = status.is_some();
        GitFacts {
            github: remote_url.as_deref().and_then(github_repository),
            remote_url,
            branch,
            commit: Some(commit),
            dirty,
        }
    }
}

/// `owner/repo` from any spelling of a GitHub remote: https (with or without `.git`, with
/// credentials), `ssh://git@github.com/...`, `git@github.com:owner/repo.git`.
pub fn github_repository(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = if let Some(rest) = url.strip_prefix("git@github.com:") {
        rest
    } else {
        let after_scheme = url.split_once("://").map(|(_, r)| r)?;
        let host_and_path = after_scheme
            .rsplit_once('@')
            .map_or(after_scheme, |(_, r)| r);
        let (host, path) = host_and_path.split_once('/')?;
        let host = host.split(':').next().unwrap_or(host);
        if !host.eq_ignore_ascii_case("github.com") && !host.eq_ignore_ascii_case("www.github.com")
        {
            return None;
        }
        path
    };
    let rest = rest.trim_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    let mut parts = rest.split('/');
    let (owner, repo) = (parts.next()?, parts.next()?);
    if owner.is_empty() || repo.is_empty() || parts.next().is_some() {
        return None;
    }
    Some(format!("{owner}/{repo}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_remotes_in_every_spelling() {
        for url in [
            "https://github.com/octo/site",
            "https://github.com/octo/site.git",
            "https://github.com/octo/site/",
            "https://user:token@github.com/octo/site.git",
            "ssh://git@github.com/octo/site.git",
            "ssh://git@github.com:22/octo/site.git",
            "git@github.com:octo/site.git",
            "git@github.com:octo/site",
        ] {
            assert_eq!(
                github_repository(url).as_deref(),
                Some("octo/site"),
                "{url}"
            );
        }
        for url in [
            "https://gitlab.com/octo/site.git",
            "git@bitbucket.org:o/r.git",
            "https://github.com/octo",
            "/srv/git/site.git",
        ] {
            assert_eq!(github_repository(url), None, "{url}");
        }
    }
}
