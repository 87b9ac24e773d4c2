//! mdBook: a `book.toml`; the book lands in `book/` or `[build] build-dir`.

use std::collections::BTreeMap;
use std::path::Path;

use super::versions::DEFAULT_MDBOOK;
use super::{DetectError, Detection, Scan, in_dir, join_rel, read_optional, toml_str};

pub fn detect(
    scan: &Scan,
    dir: &Path,
    package: Option<&str>,
) -> Result<Option<Detection>, DetectError> {
    let path = dir.join("book.toml");
    let Some(text) = read_optional(&path)? else {
        return Ok(None);
    };
    let doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| DetectError::config(&path, e))?;
    let app_dir = scan.relative(dir);
    let build_dir = toml_str(doc.as_item(), &["build", "build-dir"]);
    let output_dir = join_rel(&app_dir, build_dir.unwrap_or("book"));
    let mut reasons = vec![format!("mdBook: {}", join_rel(&app_dir, "book.toml"))];
    reasons.push(match build_dir {
        Some(d) => format!("output {output_dir}: [build] build-dir = \"{d}\""),
        None => format!("output {output_dir}: mdBook's default build dir"),
    });
    reasons.push(format!(
        "mdbook {DEFAULT_MDBOOK}: the version this tool was tested with (the project pins none)"
    ));
    let mut tool_versions = BTreeMap::new();
    tool_versions.insert("mdbook".to_string(), DEFAULT_MDBOOK.to_string());
    Ok(Some(Detection {
        framework: "mdbook".into(),
        package: package.map(String::from),
        build_command: Some(in_dir(&app_dir, "mdbook build")),
        app_dir,
        output_dir,
        routing: "static".into(),
        base_path: None,
        tool_versions,
        reasons,
    }))
}
