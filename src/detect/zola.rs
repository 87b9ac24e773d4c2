//! Zola: a `config.toml` with `base_url` next to a `content/` folder; output `public/`.

use std::collections::BTreeMap;
use std::path::Path;

use super::versions::DEFAULT_ZOLA;
use super::{DetectError, Detection, Scan, in_dir, join_rel, read_optional, toml_str};

pub fn detect(
    scan: &Scan,
    dir: &Path,
    package: Option<&str>,
) -> Result<Option<Detection>, DetectError> {
    // Zola 0.19+ also reads zola.toml.
    let mut found = None;
    for name in ["zola.toml", "config.toml"] {
        if let Some(text) = read_optional(&dir.join(name))? {
            found = Some((name, text));
            break;
        }
    }
    let Some((name, text)) = found else {
        return Ok(None);
    };
    if !dir.join("content").is_dir() {
        return Ok(None);
    }
    // Many tools have a config.toml; only Zola's has a top-level base_url. One that does not
    // parse is someone else's file, not an error of ours.
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        return Ok(None);
    };
    let Some(base_url) = toml_str(doc.as_item(), &["base_url"]) else {
        return Ok(None);
    };
    let app_dir = scan.relative(dir);
    let output_dir = join_rel(&app_dir, "public");
    let mut reasons = vec![
        format!(
            "Zola: {} with base_url = \"{base_url}\", and content/",
            join_rel(&app_dir, name)
        ),
        format!("output {output_dir}: Zola's output dir"),
    ];
    if dir.join("templates").is_dir() {
        reasons.push("templates/ present".to_string());
    }
    reasons.push(format!(
        "zola {DEFAULT_ZOLA}: the version this tool was tested with (the project pins none)"
    ));
    let mut tool_versions = BTreeMap::new();
    tool_versions.insert("zola".to_string(), DEFAULT_ZOLA.to_string());
    Ok(Some(Detection {
        framework: "zola".into(),
        package: package.map(String::from),
        build_command: Some(in_dir(&app_dir, "zola build")),
        app_dir,
        output_dir,
        routing: "static".into(),
        base_path: None,
        tool_versions,
        reasons,
    }))
}
