//! `custom`: the user names the build command and output directory (wasm-pack, a script,
//! anything this tool does not know). Nothing is guessed beyond the toolchain.

use std::collections::BTreeMap;
use std::path::Path;

use super::{DetectError, Detection, Scan, versions};

/// A detection made of what the user gave. `output_dir` is relative to the workspace root.
pub fn detection(
    scan: &Scan,
    package: Option<&str>,
    build_command: Option<&str>,
    output_dir: &str,
    dir: &Path,
) -> Result<Detection, DetectError> {
    let mut reasons = vec![match build_command {
        Some(c) => format!("custom build given: `{c}`"),
        None => "custom: no build command, the output dir is published as it is".to_string(),
    }];
    reasons.push(format!("output {output_dir}: given"));
    let mut tool_versions = BTreeMap::new();
    let (channel, why) = versions::rust_toolchain(dir, scan.root)?;
    tool_versions.insert("rust".to_string(), channel);
    reasons.push(why);
    if let Some(v) = scan.lock()?.and_then(|l| l.version("wasm-bindgen")) {
        tool_versions.insert("wasm-bindgen".to_string(), v.to_string());
        reasons.push(format!(
            "wasm-bindgen {v} from Cargo.lock: wasm-bindgen-cli is installed at that version"
        ));
    }
    Ok(Detection {
        framework: "custom".into(),
        package: package.map(String::from),
        app_dir: ".".into(),
        build_command: build_command.map(String::from),
        output_dir: output_dir.to_string(),
        routing: "static".into(),
        base_path: None,
        tool_versions,
        reasons,
    })
}
