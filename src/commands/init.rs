//! `init`: detect the frontend, ask what cannot be detected, write
//! `[package.metadata.cloudfront]`.

use std::fmt::Write as _;

use anyhow::Context as _;
use serde::Serialize;

use crate::cargo_toml;
use crate::cli::InitArgs;
use crate::context::{Context, Options};
use crate::detect::Hints;
use crate::init;

/// `init`'s flags: settings like any other (validated by the settings layer), and what they
/// name of the build before detection runs.
pub fn options(args: &InitArgs) -> Options<'_> {
    Options {
        flags: init::flags(args),
        hints: Hints {
            framework: args.framework.as_deref(),
            build_command: args.build_command.as_deref(),
            output_dir: args.output_dir.as_deref(),
        },
    }
}

#[derive(Serialize)]
struct InitView {
    framework: String,
    build_command: Option<String>,
    output_dir: String,
    routing: String,
    package: Option<String>,
    app_dir: String,
    base_path: Option<String>,
    tool_versions: std::collections::BTreeMap<String, String>,
    reasons: Vec<String>,
    metadata: serde_json::Value,
    manifest: String,
    table: String,
    dry_run: bool,
    changed: bool,
    written: bool,
}

pub async fn run(ctx: &Context, args: &InitArgs) -> anyhow::Result<()> {
    let (project, ui) = (&ctx.project, &ctx.ui);
    let cwd = std::env::current_dir().context("the current directory is not accessible")?;
    let root = &project.root;
    let detection = init::detection(project, &ctx.detection, args.output_dir.as_deref())?;
    for reason in &detection.reasons {
        ui.detail(reason);
    }
    ui.status(
        "Detected",
        format!(
            "{} in {}{}",
            detection.framework,
            detection.app_dir,
            detection
                .package
                .as_ref()
                .map(|p| format!(" (package `{p}`)"))
                .unwrap_or_default()
        ),
    );
    if ui.interactive {
        init::show_reasons(&detection);
    }

    let table = init::choose::choose_settings(project, &detection, args, ui)?;
    let (manifest_path, table_path, original) = init::target_manifest(project, &detection, root)?;
    let table_keys: Vec<&str> = table_path.to_vec();
    let updated = cargo_toml::set_table(&original, &table_keys, &table.entries)
        .with_context(|| format!("cannot update {}", manifest_path.display()))?;
    let changed = updated != original;
    let shown = manifest_path
        .strip_prefix(&cwd)
        .unwrap_or(&manifest_path)
        .display()
        .to_string();
    let header = table_path.join(".");
    let written = changed && !args.dry_run;
    if written {
        std::fs::write(&manifest_path, &updated)
            .with_context(|| format!("could not write {}", manifest_path.display()))?;
        ui.status("Wrote", format!("[{header}] in {shown}"));
    } else if args.dry_run {
        ui.status("Dry run", format!("would write [{header}] in {shown}"));
    } else {
        ui.status("Unchanged", format!("[{header}] in {shown} is up to date"));
    }

    let settings = &project.settings;
    let view = InitView {
        framework: settings
            .framework
            .clone()
            .unwrap_or_else(|| detection.framework.clone()),
        build_command: settings.build.command.clone(),
        output_dir: settings
            .build
            .output_dir
            .as_ref()
            .map_or_else(|| detection.output_dir.clone(), |p| p.display().to_string()),
        routing: settings
            .routing
            .clone()
            .unwrap_or_else(|| detection.routing.clone()),
        package: detection.package.clone(),
        app_dir: detection.app_dir.clone(),
        base_path: detection.base_path.clone(),
        tool_versions: detection.tool_versions.clone(),
        reasons: detection.reasons.clone(),
        metadata: table.to_json(),
        manifest: shown.clone(),
        table: header.clone(),
        dry_run: args.dry_run,
        changed,
        written,
    };
    let mut text = String::new();
    let span = cargo_toml::table_span(&updated, &table_keys);
    if let Some(span) = span {
        let _ = writeln!(text, "{}", updated[span].trim_end());
    }
    if !args.dry_run {
        let _ = writeln!(
            text,
            "\nNext: `cargo cloudfront-host buildspec` prints the build the pipeline will run."
        );
    }
    ui.result(text, &view);
    Ok(())
}
