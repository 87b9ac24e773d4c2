//! Tool versions the build must use: read from Cargo.lock, the stack's config and
//! rust-toolchain(.toml), else defaults this tool was written against.

use std::collections::HashMap;
use std::path::Path;

use cargo_metadata::semver::{Version, VersionReq};

use super::{DetectError, read_optional};

/// Trunk used when the project states no `trunk-version`.
pub const DEFAULT_TRUNK: &str = "0.21.14";
/// mdBook and Zola have no lock file to read a version from.
pub const DEFAULT_MDBOOK: &str = "0.4.52";
pub const DEFAULT_ZOLA: &str = "0.20.0";
/// The toolchain when the project pins none.
pub const DEFAULT_RUST: &str = "stable";

/// The `[[package]]` entries of a Cargo.lock: name → versions (a lock may hold several).
#[derive(Debug, Clone, Default)]
pub struct Lock {
    packages: HashMap<String, Vec<String>>,
}

impl Lock {
    pub fn parse(text: &str) -> Result<Self, String> {
        let doc: toml_edit::DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| format!("not a valid Cargo.lock: {e}"))?;
        let mut packages: HashMap<String, Vec<String>> = HashMap::new();
        if let Some(array) = doc.get("package").and_then(|i| i.as_array_of_tables()) {
            for table in array.iter() {
                let name = table.get("name").and_then(|i| i.as_str());
                let version = table.get("version").and_then(|i| i.as_str());
                if let (Some(name), Some(version)) = (name, version) {
                    packages
                        .entry(name.to_string())
                        .or_default()
                        .push(version.to_string());
                }
            }
        }
        Ok(Lock { packages })
    }

    /// The newest locked version of `name`. With several, the newest is what the app's own
    /// crates most likely use; the others come from old transitive dependencies.
    pub fn version(&self, name: &str) -> Option<&str> {
        self.packages.get(name).and_then(|versions| {
            versions
                .iter()
                .max_by(|a, b| match (Version::parse(a), Version::parse(b)) {
                    (Ok(a), Ok(b)) => a.cmp(&b),
                    _ => a.cmp(b),
                })
                .map(String::as_str)
        })
    }

    pub fn count(&self, name: &str) -> usize {
        self.packages.get(name).map_or(0, Vec::len)
    }
}

/// The toolchain from the nearest rust-toolchain.toml or rust-toolchain between `dir` and
/// `root`, with the file it came from.
pub fn rust_toolchain(dir: &Path, root: &Path) -> Result<(String, String), DetectError> {
    for ancestor in dir.ancestors() {
        for file in ["rust-toolchain.toml", "rust-toolchain"] {
            let path = ancestor.join(file);
            if let Some(text) = read_optional(&path)?
                && let Some(channel) = toolchain_channel(&text)
            {
                let shown = super::relative_to(root, &path);
                let reason = format!("rust toolchain {channel} from {shown}");
                return Ok((channel, reason));
            }
        }
        if ancestor == root || !ancestor.starts_with(root) {
            break;
        }
    }
    Ok((
        DEFAULT_RUST.to_string(),
        "no rust-toolchain(.toml): the build uses the stable toolchain".to_string(),
    ))
}

/// `[toolchain] channel` of a rust-toolchain.toml, or the bare channel line of the legacy
/// one-line file.
fn toolchain_channel(text: &str) -> Option<String> {
    if let Ok(doc) = text.parse::<toml_edit::DocumentMut>()
        && let Some(channel) = doc
            .get("toolchain")
            .and_then(|t| t.get("channel"))
            .and_then(|c| c.as_str())
    {
        return Some(channel.trim().to_string());
    }
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let plain = line
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    plain.then(|| line.to_string())
}

/// The Trunk version to install: `trunk-version` when it names one exactly, the default when
/// the default satisfies the requirement, else the requirement itself (cargo install resolves
/// it; no prebuilt archive can be picked for a range).
pub fn trunk_version(requirement: Option<&str>) -> (String, String) {
    let Some(req_text) = requirement.map(str::trim).filter(|r| !r.is_empty()) else {
        return (
            DEFAULT_TRUNK.to_string(),
            format!("no trunk-version in the Trunk config: Trunk {DEFAULT_TRUNK}"),
        );
    };
    let exact = req_text.strip_prefix('=').unwrap_or(req_text).trim();
    if Version::parse(exact).is_ok() && !req_text.starts_with(['^', '~', '>', '<']) {
        return (
            exact.to_string(),
            format!("trunk-version = \"{req_text}\" in the Trunk config"),
        );
    }
    match VersionReq::parse(req_text) {
        Ok(req) => match Version::parse(DEFAULT_TRUNK) {
            Ok(default) if req.matches(&default) => (
                DEFAULT_TRUNK.to_string(),
                format!("trunk-version = \"{req_text}\" allows the tested Trunk {DEFAULT_TRUNK}"),
            ),
            _ => (
                req_text.to_string(),
                format!(
                    "trunk-version = \"{req_text}\" excludes Trunk {DEFAULT_TRUNK}: the build installs the newest match"
                ),
            ),
        },
        Err(_) => (
            DEFAULT_TRUNK.to_string(),
            format!(
                "trunk-version = \"{req_text}\" is not a version requirement: Trunk {DEFAULT_TRUNK}"
            ),
        ),
    }
}

/// Whether a tool version is one exact release (so a prebuilt archive can be downloaded).
pub fn is_exact(version: &str) -> bool {
    Version::parse(version).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_versions_pick_the_newest() {
        let lock = Lock::parse(
            "version = 4\n\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.93\"\n\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.100\"\n\n[[package]]\nname = \"dioxus\"\nversion = \"0.6.3\"\n",
        )
        .unwrap();
        assert_eq!(lock.version("wasm-bindgen"), Some("0.2.100"));
        assert_eq!(lock.count("wasm-bindgen"), 2);
        assert_eq!(lock.version("dioxus"), Some("0.6.3"));
        assert_eq!(lock.version("yew"), None);
        assert!(Lock::parse("[[package]\n").is_err());
    }

    #[test]
    fn toolchain_files_in_both_forms() {
        assert_eq!(
            toolchain_channel(
                "[toolchain]\nchannel = \"1.85.0\"\ntargets = [\"wasm32-unknown-unknown\"]\n"
            ),
            Some("1.85.0".into())
        );
        assert_eq!(
            toolchain_channel("nightly-2025-01-01\n"),
            Some("nightly-2025-01-01".into())
        );
        assert_eq!(
            toolchain_channel("[toolchain]\nprofile = \"minimal\"\n"),
            None
        );
    }

    #[test]
    fn trunk_version_requirements() {
        assert_eq!(trunk_version(None).0, DEFAULT_TRUNK);
        assert_eq!(trunk_version(Some("0.20.3")).0, "0.20.3");
        assert_eq!(trunk_version(Some("=0.19.1")).0, "0.19.1");
        assert_eq!(trunk_version(Some(">=0.21")).0, DEFAULT_TRUNK);
        assert_eq!(trunk_version(Some("^0.17")).0, "^0.17");
        assert!(is_exact("0.21.14"));
        assert!(!is_exact("^0.17"));
    }
}
