//! The pieces of a job: its header, the setup and build steps, the credentials step, the
//! publish command and the preview comment script.

use std::fmt::Write as _;

use super::{COMMENT_MARKER, WorkflowSpec};
use crate::buildspec::TOOL_VERSION;
use crate::detect::versions::{DEFAULT_MDBOOK, DEFAULT_RUST, DEFAULT_TRUNK, DEFAULT_ZOLA};
use crate::detect::{shell_word, trunk_family};

pub(super) const CHECKOUT: &str = "actions/checkout@v5";
pub(super) const AWS_CREDENTIALS: &str = "aws-actions/configure-aws-credentials@v6";
pub(super) const RUST_TOOLCHAIN: &str = "dtolnay/rust-toolchain@master";
pub(super) const RUST_CACHE: &str = "Swatinem/rust-cache@v2";
pub(super) const INSTALL_ACTION: &str = "taiki-e/install-action@v2";
pub(super) const GITHUB_SCRIPT: &str = "actions/github-script@v8";

/// A YAML double-quoted scalar (a JSON string is one).
pub(super) fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

pub(super) fn is_exact(version: &str) -> bool {
    cargo_metadata::semver::Version::parse(version).is_ok()
}

pub(super) fn wasm_stack(framework: &str) -> bool {
    trunk_family(framework) || matches!(framework, "dioxus" | "custom")
}

/// The steps every job starts with: the checkout, and (for the build jobs) the toolchain, the
/// cache and the build tools; then this tool itself.
pub(super) fn setup_steps(spec: &WorkflowSpec, out: &mut String, build: bool) {
    let tool = |name: &str| spec.tool_versions.get(name).map(String::as_str);
    out.push_str(&format!(
        "      - uses: {CHECKOUT}\n        with:\n          persist-credentials: false\n"
    ));
    let mut prebuilt: Vec<String> = Vec::new();
    let mut binstall: Vec<(String, String)> = Vec::new();
    if build {
        let rust = tool("rust").unwrap_or(DEFAULT_RUST);
        out.push_str(&format!(
            "      - uses: {RUST_TOOLCHAIN}\n        with:\n          toolchain: {}\n",
            q(rust)
        ));
        if wasm_stack(spec.framework) {
            out.push_str("          targets: wasm32-unknown-unknown\n");
            out.push_str(&format!("      - uses: {RUST_CACHE}\n"));
            if let Some(dir) = spec.project_dir {
                out.push_str(&format!(
                    "        with:\n          workspaces: {}\n",
                    q(dir)
                ));
            }
        }
        let mut pin = |crate_name: &str, tool_name: &str, version: &str| {
            if is_exact(version) {
                prebuilt.push(format!("{tool_name}@{version}"));
            } else {
                // A requirement (`trunk-version = ">=0.21"`) has no single archive to fetch:
                // cargo-binstall resolves it and still prefers a prebuilt binary.
                binstall.push((crate_name.to_string(), version.to_string()));
            }
        };
        if trunk_family(spec.framework) {
            pin("trunk", "trunk", tool("trunk").unwrap_or(DEFAULT_TRUNK));
        }
        match spec.framework {
            "mdbook" => pin("mdbook", "mdbook", tool("mdbook").unwrap_or(DEFAULT_MDBOOK)),
            "zola" => pin("zola", "zola", tool("zola").unwrap_or(DEFAULT_ZOLA)),
            _ => {}
        }
        if let Some(v) = tool("wasm-bindgen") {
            pin("wasm-bindgen-cli", "wasm-bindgen", v);
        }
        if spec.framework == "dioxus" {
            // taiki-e/install-action has no dioxus-cli; its own release archives are
            // described for cargo-binstall. dx must match the dioxus crate.
            let v = tool("dioxus-cli").unwrap_or("0.6");
            binstall.push(("dioxus-cli".into(), v.to_string()));
        }
    }
    prebuilt.push("cargo-binstall".into());
    out.push_str(&format!(
        "      - uses: {INSTALL_ACTION}\n        with:\n          tool: {}\n",
        q(&prebuilt.join(","))
    ));
    for (name, version) in binstall {
        let req = if is_exact(&version) {
            format!("={version}")
        } else {
            version
        };
        out.push_str(&format!(
            "      - name: Install {name} {req}\n        run: {}\n",
            q(&format!(
                "cargo binstall --no-confirm --version {} {name}",
                shell_word(&req)
            ))
        ));
    }
    // Only this project's own release archives (no third-party quick-install builds); a
    // version without archives compiles, exactly as the lock file says.
    out.push_str(&format!(
        "      - name: Install cargo-cloudfront-host {TOOL_VERSION}\n        run: {}\n",
        q(&format!(
            "cargo binstall --no-confirm --disable-strategies quick-install,compile --version ={TOOL_VERSION} cargo-cloudfront-host || cargo install cargo-cloudfront-host --version ={TOOL_VERSION} --locked"
        ))
    ));
}

pub(super) fn build_step(spec: &WorkflowSpec, out: &mut String) {
    if let Some(command) = spec.build_command {
        out.push_str(&format!(
            "      - name: Build\n        run: {}\n",
            q(command)
        ));
    }
}

pub(super) fn credentials_step(role: &str, region: &str, out: &mut String) {
    out.push_str(&format!(
        "      - uses: {AWS_CREDENTIALS}\n        with:\n          role-to-assume: {}\n          aws-region: {}\n",
        q(role),
        q(region)
    ));
}

pub(super) fn publish_command(spec: &WorkflowSpec, preview: bool) -> String {
    let mut cmd = String::from("cargo cloudfront-host publish");
    if preview {
        cmd.push_str(" --preview");
    }
    if let Some(p) = spec.package {
        cmd.push_str(&format!(" -p {}", shell_word(p)));
    }
    cmd.push_str(&format!(" --dir {} --yes", shell_word(spec.output_dir)));
    cmd
}

pub(super) fn job_header(
    spec: &WorkflowSpec,
    out: &mut String,
    name: &str,
    condition: &str,
    permissions: &[&str],
    group: &str,
    cancel: bool,
) {
    let _ = write!(
        out,
        "  {name}:\n    if: {condition}\n    runs-on: ubuntu-latest\n    permissions:\n"
    );
    for p in permissions {
        let _ = writeln!(out, "      {p}");
    }
    let _ = write!(
        out,
        "    concurrency:\n      group: {group}\n      cancel-in-progress: {cancel}\n"
    );
    if let Some(dir) = spec.project_dir {
        let _ = write!(
            out,
            "    defaults:\n      run:\n        working-directory: {}\n",
            q(dir)
        );
    }
    out.push_str("    steps:\n");
}

pub(super) const SAME_REPO: &str =
    "github.event.pull_request.head.repo.full_name == github.repository";

/// The comment script: finds the one comment carrying the marker and updates it, or creates
/// it. Values come in through the environment, never spliced into the script.
pub(super) fn comment_step(out: &mut String, url_expr: &str, body: &str) {
    let _ = write!(
        out,
        "      - name: {title}\n        uses: {GITHUB_SCRIPT}\n        env:\n          PREVIEW_URL: {url}\n        with:\n          script: |\n",
        title = if url_expr.is_empty() {
            "Say the preview is gone"
        } else {
            "Comment the preview URL"
        },
        url = q(url_expr),
    );
    let script = format!(
        r#"const marker = {marker};
const body = {body};
const {{ owner, repo }} = context.repo;
const issue_number = context.issue.number;
const comments = await github.paginate(github.rest.issues.listComments, {{ owner, repo, issue_number, per_page: 100 }});
const mine = comments.find((c) => c.user && c.user.type === 'Bot' && c.body && c.body.includes(marker));
if (mine) {{
  await github.rest.issues.updateComment({{ owner, repo, comment_id: mine.id, body }});
}} else if (process.env.PREVIEW_URL) {{
  await github.rest.issues.createComment({{ owner, repo, issue_number, body }});
}}
"#,
        marker = q(COMMENT_MARKER),
    );
    for line in script.lines() {
        let _ = writeln!(out, "            {line}");
    }
}
