//! `versions`: the published versions, newest first, and which one is live.

use std::fmt::Write as _;

use serde::Serialize;

use crate::context::Context;

#[derive(Serialize)]
struct VersionView {
    id: String,
    created: String,
    files: usize,
    bytes: u64,
    commit: Option<String>,
    branch: Option<String>,
}

#[derive(Serialize)]
struct VersionsView {
    live: Option<String>,
    versions: Vec<VersionView>,
}

pub async fn run(ctx: &Context) -> anyhow::Result<()> {
    let release = ctx.release().await?;
    let live = release.pointer.read().await?;
    let versions = release.versions().await?;
    let view = VersionsView {
        live: live.clone(),
        versions: versions
            .iter()
            .map(|m| VersionView {
                id: m.version.clone(),
                created: m.created.clone(),
                files: m.files.len(),
                bytes: m.bytes(),
                commit: m.git.commit.clone(),
                branch: m.git.branch.clone(),
            })
            .collect(),
    };
    let mut text = String::new();
    if view.versions.is_empty() {
        text.push_str("no versions published yet\n");
    } else {
        let _ = writeln!(
            text,
            "  {:<40} {:<20} {:>6} {:>10}  {:<12} branch",
            "version", "created", "files", "MB", "commit"
        );
        for v in &view.versions {
            let marker = if live.as_deref() == Some(v.id.as_str()) {
                "*"
            } else {
                " "
            };
            let commit: String = v
                .commit
                .as_deref()
                .unwrap_or("-")
                .chars()
                .take(12)
                .collect();
            let _ = writeln!(
                text,
                "{marker} {:<40} {:<20} {:>6} {:>10.2}  {:<12} {}",
                v.id,
                v.created,
                v.files,
                v.bytes as f64 / 1e6,
                commit,
                v.branch.as_deref().unwrap_or("-")
            );
        }
        let _ = writeln!(text, "(* = live)");
    }
    ctx.ui.result(text, &view);
    Ok(())
}
