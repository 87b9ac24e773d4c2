//! A folder of finished files: an index.html that is not a Trunk entry point, at the root or
//! in one of the usual folder names. Published as it is, with no build.

use std::collections::BTreeMap;
use std::path::Path;

use super::trunk::has_rust_link;
use super::{DetectError, Detection, Scan, join_rel, read_optional};

/// Where a hand-written site usually lives, most specific first. Never `.`: the project folder
/// holds Cargo.toml, `.env` and the sources, and publishing it would make them public; a site
/// whose index.html sits at the root must be moved into a folder of its own.
const FOLDERS: &[&str] = &["public", "site", "www", "static"];

pub fn detect(
    scan: &Scan,
    dir: &Path,
    package: Option<&str>,
) -> Result<Option<Detection>, DetectError> {
    for folder in FOLDERS {
        let index = dir.join(folder).join("index.html");
        let Some(html) = read_optional(&index)? else {
            continue;
        };
        if has_rust_link(&html) {
            continue;
        }
        let app_dir = scan.relative(dir);
        let output_dir = join_rel(&app_dir, folder);
        return Ok(Some(Detection {
            framework: "static".into(),
            package: package.map(String::from),
            build_command: None,
            app_dir,
            reasons: vec![
                format!(
                    "a static site: {} (not a Trunk entry point)",
                    join_rel(&output_dir, "index.html")
                ),
                format!("output {output_dir}: published as it is, no build"),
            ],
            output_dir,
            routing: "static".into(),
            base_path: None,
            tool_versions: BTreeMap::new(),
        }));
    }
    Ok(None)
}
