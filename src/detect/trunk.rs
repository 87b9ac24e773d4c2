//! Trunk apps (Leptos CSR, Yew, Sycamore, egui/eframe or plain wasm-bindgen), labelled by the
//! UI crate they use.

use std::collections::BTreeMap;
use std::path::Path;

use super::versions;
use super::{DetectError, Detection, Member, Scan, in_dir, join_rel, read_optional, toml_str};

/// Every name Trunk reads its config from, in the order Trunk tries them.
pub const CONFIG_FILES: &[&str] = &[
    "Trunk.toml",
    ".trunk.toml",
    "Trunk.yaml",
    ".trunk.yaml",
    "Trunk.json",
    ".trunk.json",
];

/// The parts of a Trunk config that matter for hosting.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TrunkConfig {
    /// Where it was read from, for reasons.
    pub source: String,
    pub dist: Option<String>,
    pub public_url: Option<String>,
    pub trunk_version: Option<String>,
    /// The HTML entry point (`[build] target`), relative to the config's directory.
    pub target: Option<String>,
}

/// The Trunk config in `dir` (a config file, else `[package.metadata.trunk]`).
pub fn config(dir: &Path, member: Option<&Member>) -> Result<Option<TrunkConfig>, DetectError> {
    for name in CONFIG_FILES {
        let path = dir.join(name);
        let Some(text) = read_optional(&path)? else {
            continue;
        };
        let mut config = if name.ends_with(".toml") {
            let doc: toml_edit::DocumentMut = text
                .parse()
                .map_err(|e: toml_edit::TomlError| DetectError::config(&path, e))?;
            from_toml(doc.as_item())
        } else if name.ends_with(".yaml") {
            from_yaml(&text).map_err(|e| DetectError::config(&path, e))?
        } else {
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| DetectError::config(&path, e))?;
            from_json(&json)
        };
        config.source = (*name).to_string();
        return Ok(Some(config));
    }
    if let Some(item) = member.and_then(|m| m.metadata("trunk")) {
        let mut config = from_toml(item);
        config.source = "[package.metadata.trunk]".to_string();
        return Ok(Some(config));
    }
    Ok(None)
}

fn from_toml(item: &toml_edit::Item) -> TrunkConfig {
    TrunkConfig {
        source: String::new(),
        dist: toml_str(item, &["build", "dist"]).map(String::from),
        public_url: toml_str(item, &["build", "public_url"]).map(String::from),
        trunk_version: toml_str(item, &["trunk-version"]).map(String::from),
        target: toml_str(item, &["build", "target"]).map(String::from),
    }
}

fn from_yaml(text: &str) -> Result<TrunkConfig, String> {
    let docs = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    let Some(doc) = docs.first() else {
        return Ok(TrunkConfig::default());
    };
    let s = |y: &yaml_rust2::Yaml| y.as_str().map(String::from);
    Ok(TrunkConfig {
        source: String::new(),
        dist: s(&doc["build"]["dist"]),
        public_url: s(&doc["build"]["public_url"]),
        trunk_version: s(&doc["trunk-version"]),
        target: s(&doc["build"]["target"]),
    })
}

fn from_json(json: &serde_json::Value) -> TrunkConfig {
    let s = |v: &serde_json::Value| v.as_str().map(String::from);
    TrunkConfig {
        source: String::new(),
        dist: s(&json["build"]["dist"]),
        public_url: s(&json["build"]["public_url"]),
        trunk_version: s(&json["trunk-version"]),
        target: s(&json["build"]["target"]),
    }
}

/// Whether an HTML page has Trunk's `<link data-trunk rel="rust">` (any quoting, any attribute
/// order).
pub fn has_rust_link(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(start) = rest.find("<link") {
        let tag_and_after = &rest[start..];
        let end = tag_and_after.find('>').unwrap_or(tag_and_after.len());
        let tag = &tag_and_after[..end];
        let rel_rust = ["rel=\"rust\"", "rel='rust'", "rel=rust"]
            .iter()
            .any(|r| tag.contains(r));
        if tag.contains("data-trunk") && rel_rust {
            return true;
        }
        rest = &tag_and_after[end..];
    }
    false
}

/// The stack label from the UI crate, with the reason.
fn ui_crate(member: &Member) -> (&'static str, String) {
    if member.dependency("leptos").is_some() {
        let csr = member.features_of("leptos").iter().any(|(f, _)| f == "csr");
        let how = if csr {
            "with the `csr` feature"
        } else {
            "(no `csr` feature found; Trunk builds it client-side)"
        };
        return ("leptos-csr", format!("UI crate: leptos {how}"));
    }
    if member.dependency("yew").is_some() {
        let csr = member.features_of("yew").iter().any(|(f, _)| f == "csr");
        let how = if csr { " with the `csr` feature" } else { "" };
        return ("yew", format!("UI crate: yew{how}"));
    }
    if member.dependency("sycamore").is_some() {
        return ("sycamore", "UI crate: sycamore".to_string());
    }
    for krate in ["eframe", "egui"] {
        if member.dependency(krate).is_some() {
            return (
                "trunk",
                format!("UI crate: {krate} (egui), built with Trunk"),
            );
        }
    }
    (
        "trunk",
        "no known UI crate: a plain Trunk app (wasm-bindgen)".to_string(),
    )
}

pub fn detect(scan: &Scan, member: &Member) -> Result<Option<Detection>, DetectError> {
    let dir = &member.package.dir;
    let config = config(dir, Some(member))?;
    let index_rel = config
        .as_ref()
        .and_then(|c| c.target.clone())
        .unwrap_or_else(|| "index.html".to_string());
    let index_path = dir.join(&index_rel);
    let marked = read_optional(&index_path)?.is_some_and(|html| has_rust_link(&html));
    if config.is_none() && !marked {
        return Ok(None);
    }
    let app_dir = scan.relative(dir);
    let mut reasons = Vec::new();
    if let Some(c) = &config {
        reasons.push(format!(
            "Trunk config {} in {}",
            c.source,
            join_rel(&app_dir, ".")
        ));
    }
    if marked {
        reasons.push(format!(
            "{} has <link data-trunk rel=\"rust\">",
            join_rel(&app_dir, &index_rel)
        ));
    }
    let (framework, why) = ui_crate(member);
    reasons.push(why);

    let dist = config
        .as_ref()
        .and_then(|c| c.dist.clone())
        .unwrap_or_else(|| "dist".to_string());
    let output_dir = join_rel(&app_dir, &dist);
    reasons.push(match config.as_ref().and_then(|c| c.dist.as_ref()) {
        Some(d) => format!("output {output_dir}: [build] dist = \"{d}\""),
        None => format!("output {output_dir}: Trunk's default dist"),
    });
    let public_url = config.as_ref().and_then(|c| c.public_url.clone());
    if let Some(url) = &public_url {
        reasons.push(format!(
            "public_url = \"{url}\": assets are linked under it"
        ));
    }

    let mut tool_versions = BTreeMap::new();
    let (trunk, why) =
        versions::trunk_version(config.as_ref().and_then(|c| c.trunk_version.as_deref()));
    tool_versions.insert("trunk".to_string(), trunk);
    reasons.push(why);
    add_wasm_bindgen(scan, &mut tool_versions, &mut reasons)?;
    add_rust(scan, dir, &mut tool_versions, &mut reasons)?;

    Ok(Some(Detection {
        framework: framework.to_string(),
        package: Some(member.name().to_string()),
        build_command: Some(in_dir(&app_dir, "trunk build --release")),
        app_dir,
        output_dir,
        routing: "spa".into(),
        base_path: public_url,
        tool_versions,
        reasons,
    }))
}

/// wasm-bindgen-cli must equal the locked `wasm-bindgen` exactly, or the build fails with a
/// schema-version error.
pub(crate) fn add_wasm_bindgen(
    scan: &Scan,
    tools: &mut BTreeMap<String, String>,
    reasons: &mut Vec<String>,
) -> Result<(), DetectError> {
    match scan.lock()? {
        Some(lock) => match lock.version("wasm-bindgen") {
            Some(v) => {
                tools.insert("wasm-bindgen".into(), v.to_string());
                let several = if lock.count("wasm-bindgen") > 1 {
                    " (the newest of several locked)"
                } else {
                    ""
                };
                reasons.push(format!(
                    "wasm-bindgen {v} from Cargo.lock{several}: wasm-bindgen-cli must match it exactly"
                ));
            }
            None => reasons.push(
                "Cargo.lock has no wasm-bindgen: the build tool picks the CLI version".into(),
            ),
        },
        None => reasons.push(
            "no Cargo.lock at the workspace root: wasm-bindgen is not pinned (commit Cargo.lock for reproducible builds)"
                .into(),
        ),
    }
    Ok(())
}

pub(crate) fn add_rust(
    scan: &Scan,
    dir: &Path,
    tools: &mut BTreeMap<String, String>,
    reasons: &mut Vec<String>,
) -> Result<(), DetectError> {
    let (channel, why) = versions::rust_toolchain(dir, scan.root)?;
    tools.insert("rust".into(), channel);
    reasons.push(why);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_link_in_any_spelling() {
        assert!(has_rust_link(r#"<link data-trunk rel="rust" />"#));
        assert!(has_rust_link(
            "<LINK rel='rust' data-trunk data-wasm-opt=\"z\">"
        ));
        assert!(has_rust_link("<link data-trunk rel=rust>"));
        assert!(!has_rust_link(
            r#"<link data-trunk rel="css" href="a.css">"#
        ));
        assert!(!has_rust_link(r#"<link rel="rust">"#));
        // Attributes of different tags never combine.
        assert!(!has_rust_link(
            r#"<link data-trunk rel="css"><link rel="rust">"#
        ));
    }

    #[test]
    fn configs_in_every_format() {
        let yaml =
            from_yaml("trunk-version: \"^0.21\"\nbuild:\n  dist: out\n  public_url: /app/\n")
                .unwrap();
        assert_eq!(yaml.dist.as_deref(), Some("out"));
        assert_eq!(yaml.public_url.as_deref(), Some("/app/"));
        assert_eq!(yaml.trunk_version.as_deref(), Some("^0.21"));
        let json = from_json(&serde_json::json!({"build": {"dist": "www"}}));
        assert_eq!(json.dist.as_deref(), Some("www"));
        let doc: toml_edit::DocumentMut =
            "trunk-version = \"0.20.1\"\n[build]\ndist = \"public/site\"\n"
                .parse()
                .unwrap();
        let toml = from_toml(doc.as_item());
        assert_eq!(toml.dist.as_deref(), Some("public/site"));
        assert_eq!(toml.trunk_version.as_deref(), Some("0.20.1"));
    }
}
