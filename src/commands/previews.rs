//! `previews`: list the preview deployments; `previews delete NAME`; `previews prune`.

use std::fmt::Write as _;

use serde::Serialize;

use crate::cli::{PreviewsAction, PreviewsArgs};
use crate::context::Context;
use crate::release::previews::{Preview, slug};

#[derive(Serialize)]
struct ListView {
    previews: Vec<Preview>,
}

#[derive(Serialize)]
struct RemovedView {
    removed: Vec<String>,
}

pub async fn run(ctx: &Context, args: &PreviewsArgs) -> anyhow::Result<()> {
    let ui = &ctx.ui;
    // A bad name is refused before any AWS call.
    let name = match &args.action {
        Some(PreviewsAction::Delete { name }) => Some(slug(name)?),
        _ => None,
    };
    let release = ctx.release().await?;
    match (&args.action, name) {
        (Some(PreviewsAction::Delete { .. }), Some(name)) => {
            if !release.delete_preview(&name).await? {
                anyhow::bail!(crate::release::previews::PreviewError::NoSuchPreview(name));
            }
            ui.result(
                format!("{:>12} preview {name}\n", "Deleted"),
                &RemovedView {
                    removed: vec![name],
                },
            );
        }
        (Some(PreviewsAction::Prune), _) => {
            let removed = release.prune_previews().await?;
            let text = if removed.is_empty() {
                "no expired previews\n".to_string()
            } else {
                format!(
                    "{:>12} {} expired preview(s): {}\n",
                    "Removed",
                    removed.len(),
                    removed.join(", ")
                )
            };
            ui.result(text, &RemovedView { removed });
        }
        _ => {
            let (domain, host) = release.preview_hosts(ctx.settings()).await;
            let previews: Vec<Preview> = release
                .previews(domain.as_deref(), host.as_deref())
                .await?
                .into_iter()
                .map(|(p, _)| p)
                .collect();
            let mut text = String::new();
            if previews.is_empty() {
                text.push_str(
                    "no previews (publish one with `cargo cloudfront-host publish --preview`)\n",
                );
            } else {
                let _ = writeln!(
                    text,
                    "{:<40} {:<24} {:<20} {:<20} url",
                    "name", "version", "created", "expires"
                );
                for p in &previews {
                    let expires = match (&p.expires, p.expired) {
                        (Some(e), true) => format!("{e} (expired)"),
                        (Some(e), false) => e.clone(),
                        (None, _) => "never".into(),
                    };
                    let _ = writeln!(
                        text,
                        "{:<40} {:<24} {:<20} {:<20} {}",
                        p.name,
                        p.version,
                        p.created.as_deref().unwrap_or("-"),
                        expires,
                        p.url
                    );
                }
            }
            ui.result(text, &ListView { previews });
        }
    }
    Ok(())
}
