//! Dioxus web apps. The `dioxus` version in Cargo.lock decides the dx command and where the
//! build lands: 0.5 writes `<crate>/dist`, 0.6 and later `<target>/dx/<app>/release/web/public`.

use std::collections::BTreeMap;
use std::path::Path;

use super::trunk::{add_rust, add_wasm_bindgen};
use super::{DetectError, Detection, Member, Scan, in_dir, join_rel, read_optional, toml_str};

/// What Dioxus.toml says that matters here.
#[derive(Debug, Default)]
struct DioxusToml {
    path: Option<String>,
    out_dir: Option<String>,
    base_path: Option<String>,
    default_platform: Option<String>,
}

/// The nearest Dioxus.toml from the crate up to the workspace root (dx searches upwards too).
fn dioxus_toml(scan: &Scan, dir: &Path) -> Result<DioxusToml, DetectError> {
    for ancestor in dir.ancestors() {
        let path = ancestor.join("Dioxus.toml");
        if let Some(text) = read_optional(&path)? {
            let doc: toml_edit::DocumentMut = text
                .parse()
                .map_err(|e: toml_edit::TomlError| DetectError::config(&path, e))?;
            let item = doc.as_item();
            return Ok(DioxusToml {
                path: Some(scan.relative(&path)),
                out_dir: toml_str(item, &["application", "out_dir"]).map(String::from),
                base_path: toml_str(item, &["web", "app", "base_path"]).map(String::from),
                default_platform: toml_str(item, &["application", "default_platform"])
                    .map(String::from),
            });
        }
        if ancestor == scan.root || !ancestor.starts_with(scan.root) {
            break;
        }
    }
    Ok(DioxusToml::default())
}

/// `(major, minor)` of a version or requirement (`0.6.3`, `=0.5.6`, `^0.7.0-rc.1`, `0.6`).
fn major_minor(version: &str) -> Option<(u64, u64)> {
    let v = version.trim_start_matches(|c: char| !c.is_ascii_digit());
    let mut parts = v.split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// The `dioxus` requirement written in the manifest, for projects without a Cargo.lock.
fn manifest_requirement(member: &Member) -> Option<String> {
    let dep = member.toml()?.get("dependencies")?.get("dioxus")?;
    dep.as_str()
        .or_else(|| dep.get("version").and_then(|v| v.as_str()))
        .map(String::from)
}

pub fn detect(scan: &Scan, member: &Member) -> Result<Option<Detection>, DetectError> {
    let has_dioxus = member.dependency("dioxus").is_some();
    if !has_dioxus && member.dependency("dioxus-web").is_none() {
        return Ok(None);
    }
    let features = member.features_of("dioxus");
    let server: Vec<String> = features
        .iter()
        .filter(|(f, _)| f == "fullstack" || f == "server")
        .map(|(f, why)| format!("`{f}` ({why})"))
        .collect();
    if !server.is_empty() {
        return Err(DetectError::CannotHostStatically {
            package: member.name().to_string(),
            what: format!("package `{}` is a Dioxus fullstack app", member.name()),
            found: server,
            advice: "Host only the web client here: build with the `web` feature alone (no `fullstack`/`server`), without server functions, then run `cargo cloudfront-host init` again. Deploy the server part somewhere that runs servers.".to_string(),
        });
    }
    let dir = &member.package.dir;
    let config = dioxus_toml(scan, dir)?;
    let web = member.dependency("dioxus-web").is_some()
        || features.iter().any(|(f, _)| f == "web")
        || config.default_platform.as_deref() == Some("web");
    if !web {
        // A desktop or mobile Dioxus app: nothing to host.
        return Ok(None);
    }

    let app_dir = scan.relative(dir);
    let mut reasons = vec![format!(
        "package `{}` depends on dioxus with the web platform",
        member.name()
    )];
    let (version, from) = match scan.lock()?.and_then(|l| l.version("dioxus")) {
        Some(v) => (v.to_string(), "Cargo.lock"),
        None => match manifest_requirement(member) {
            Some(req) => (req, "Cargo.toml (no Cargo.lock)"),
            None => ("0.6".to_string(), "no version found, assumed"),
        },
    };
    let legacy = major_minor(&version).is_some_and(|(major, minor)| major == 0 && minor <= 5);
    reasons.push(format!("dioxus {version} from {from}"));
    match &config.path {
        Some(p) => reasons.push(format!("Dioxus config {p}")),
        None if legacy => reasons
            .push("no Dioxus.toml: dx 0.5 needs one (create it with `dx config init`)".into()),
        None => reasons.push("no Dioxus.toml (optional since 0.6): dx defaults".into()),
    }

    let (command, output_dir) = if legacy {
        let out = config.out_dir.as_deref().unwrap_or("dist");
        let output_dir = join_rel(&app_dir, out);
        reasons.push(format!(
            "output {output_dir}: dx 0.5 writes [application] out_dir{}",
            if config.out_dir.is_some() {
                ""
            } else {
                " (default dist)"
            }
        ));
        ("dx build --release", output_dir)
    } else if let Some(out) = &config.out_dir {
        let output_dir = join_rel(&app_dir, out);
        reasons.push(format!(
            "output {output_dir}: [application] out_dir = \"{out}\""
        ));
        ("dx bundle --platform web --release", output_dir)
    } else {
        let target = scan.relative(&scan.target_dir);
        let target = if target.starts_with('/') {
            reasons.push(format!(
                "the target dir {target} is outside the workspace: the build uses ./target"
            ));
            "target".to_string()
        } else {
            target
        };
        let output_dir = join_rel(&target, &format!("dx/{}/release/web/public", member.name()));
        reasons.push(format!(
            "output {output_dir}: where `dx bundle --platform web --release` (0.6+) puts the web build"
        ));
        ("dx bundle --platform web --release", output_dir)
    };
    if let Some(base) = &config.base_path {
        reasons.push(format!(
            "[web.app] base_path = \"{base}\" is compiled into the wasm: the site must be served under /{base}/",
        ));
    }

    let mut tool_versions = BTreeMap::new();
    tool_versions.insert("dioxus-cli".to_string(), version.clone());
    reasons.push(format!(
        "dioxus-cli {version}: dx must match the dioxus crate version"
    ));
    add_wasm_bindgen(scan, &mut tool_versions, &mut reasons)?;
    add_rust(scan, dir, &mut tool_versions, &mut reasons)?;

    Ok(Some(Detection {
        framework: "dioxus".into(),
        package: Some(member.name().to_string()),
        build_command: Some(in_dir(&app_dir, command)),
        app_dir,
        output_dir,
        routing: "spa".into(),
        base_path: config.base_path,
        tool_versions,
        reasons,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_requirements_give_major_minor() {
        assert_eq!(major_minor("0.6.3"), Some((0, 6)));
        assert_eq!(major_minor("=0.5.6"), Some((0, 5)));
        assert_eq!(major_minor("^0.7.0-rc.1"), Some((0, 7)));
        assert_eq!(major_minor("0.6"), Some((0, 6)));
        assert_eq!(major_minor("x"), None);
    }
}
