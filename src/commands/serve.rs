//! `serve`: the local edge. Runs the viewer-request function the distribution runs, with the
//! same headers, over a built site directory or over what is published in the bucket.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::{GlobalArgs, ServeArgs};
use crate::edge::function::{EdgeOptions, render_full};
use crate::edge::headers::SecurityHeaders;
use crate::edge::server::{self, Edge, EdgeConfig, LOCAL_VERSION, Live, Notice, Origin, Served};
use crate::release::manifest::validate_version_id;
use crate::release::{Release, ReleaseError};
use crate::ui::Ui;

#[derive(Serialize)]
struct ServeView {
    url: String,
    /// `dir` or `bucket`.
    source: &'static str,
    dir: Option<String>,
    bucket: Option<String>,
    /// The version served: `local` for a directory, the given one, or the live one at start.
    version: Option<String>,
    /// Whether the version follows the live pointer.
    follows_live: bool,
    routing: String,
}

pub async fn run(global: &GlobalArgs, args: &ServeArgs, ui: &Ui) -> anyhow::Result<()> {
    let project = super::load_detected(global, ui).await?;
    let settings = &project.settings;

    // The same function `deploy` publishes, custom-domain redirect included.
    let routing = settings.routing_mode().to_string();
    let domains = settings
        .domain
        .as_ref()
        .map(crate::settings::domain::domains)
        .transpose()?;
    let redirect = domains.as_ref().and_then(|d| d.redirect.as_ref());
    // Previews by host name work locally too: without `previews.domain`,
    // `<slug>.preview.localhost` stands in for it.
    let mut options = EdgeOptions::from_settings(settings);
    let preview_domain = options
        .preview_domain
        .get_or_insert_with(|| "preview.localhost".to_string())
        .clone();
    let from_bucket = args.live || args.version_id.is_some() || args.preview.is_some();
    // Only `--live` reads the deployed store, password record included; a directory or one
    // fixed version has none to check against, so there the password is not asked for.
    if !args.live && options.needs_password() {
        ui.status(
            "Open",
            "the password (access.*) is checked only with --live, which reads the deployed record",
        );
        options.site = crate::edge::function::Access::Open;
        options.previews = crate::edge::function::Access::Open;
    }
    let code = render_full(&routing, &settings.precompress, redirect, &options)?;
    let headers = SecurityHeaders::from_settings(settings).pairs();

    let (origin, live, mut view) = if from_bucket {
        if let Some(v) = &args.version_id {
            validate_version_id(v).map_err(|e| anyhow::anyhow!(e))?;
        }
        let preview = args
            .preview
            .as_deref()
            .map(crate::release::previews::slug)
            .transpose()?;
        let release = super::open_release(&project, ui).await?;
        let version_id = match &preview {
            Some(name) => Some(release.preview_version(name).await?),
            None => args.version_id.clone(),
        };
        if let Some(v) = &version_id {
            // Only a version with a manifest is complete; serving half a version would show
            // what no visitor can get.
            if release.manifest(v).await?.is_none() {
                return Err(ReleaseError::NoSuchVersion(v.clone()).into());
            }
        }
        let Release {
            s3,
            pointer,
            target,
            ..
        } = release;
        let (live, version) = match &version_id {
            Some(v) => {
                let what = match &preview {
                    Some(name) => format!("preview {name} (version {v})"),
                    None => format!("version {v}"),
                };
                ui.status(
                    "Serving",
                    format_args!("{what} from s3://{}", target.bucket),
                );
                (Live::Fixed(v.clone()), Some(v.clone()))
            }
            None => {
                let now = pointer.read().await?;
                match &now {
                    Some(v) => ui.status(
                        "Serving",
                        format_args!(
                            "the live version ({v}) from s3://{}, following the live pointer",
                            target.bucket
                        ),
                    ),
                    None => ui.warn(format_args!(
                        "nothing is live in s3://{} yet: pages answer 503 until `cargo cloudfront-host publish` (content-hashed files still load)",
                        target.bucket
                    )),
                }
                (Live::Pointer(pointer), now)
            }
        };
        let view = ServeView {
            url: String::new(),
            source: "bucket",
            dir: None,
            bucket: Some(target.bucket.clone()),
            version,
            follows_live: version_id.is_none(),
            routing: routing.clone(),
        };
        let origin = Origin::Bucket {
            s3,
            bucket: target.bucket,
        };
        (origin, live, view)
    } else {
        let dir = match (&args.dir, &settings.build.output_dir) {
            (Some(dir), _) => dir.clone(),
            (None, Some(out)) => project.root.join(out),
            (None, None) => anyhow::bail!(
                "no site directory: pass --dir DIR, or set `build.output_dir` in [package.metadata.cloudfront] (`cargo cloudfront-host init` detects it); --live serves what is published instead"
            ),
        };
        let build_hint = settings
            .build
            .command
            .as_deref()
            .map(|c| format!(" (the build command is `{c}`)"))
            .unwrap_or_default();
        let canonical = match std::fs::canonicalize(&dir) {
            Ok(d) if d.is_dir() => d,
            Ok(_) => anyhow::bail!("{} is not a directory", dir.display()),
            Err(e) => anyhow::bail!(
                "site directory {}: {e}; build the site first{build_hint}",
                dir.display()
            ),
        };
        ui.status(
            "Serving",
            format_args!("{} as version `{LOCAL_VERSION}`", dir.display()),
        );
        let view = ServeView {
            url: String::new(),
            source: "dir",
            dir: Some(dir.display().to_string()),
            bucket: None,
            version: Some(LOCAL_VERSION.to_string()),
            follows_live: false,
            routing: routing.clone(),
        };
        let origin = Origin::Dir { root: canonical };
        (origin, Live::Fixed(LOCAL_VERSION.to_string()), view)
    };

    let log_ui = ui.clone();
    let log = Box::new(move |s: &Served| {
        let to = s
            .rewritten
            .as_deref()
            .unwrap_or("(answered by the function)");
        log_ui.status(
            &s.method,
            format_args!(
                "{} -> {to} {} {:.1}ms",
                s.path,
                s.status,
                s.elapsed.as_secs_f64() * 1e3
            ),
        );
    });
    let notify_ui = ui.clone();
    let notify = Box::new(move |n: &Notice| match n {
        Notice::LiveChanged { from, to } => notify_ui.status(
            "Live",
            format_args!(
                "now {} (was {})",
                to.as_deref().unwrap_or("nothing"),
                from.as_deref().unwrap_or("nothing")
            ),
        ),
        Notice::PointerError(e) => notify_ui.warn(format_args!(
            "could not read the live version ({e}); the function answers 503 as CloudFront would"
        )),
        Notice::OriginError { key, message } => {
            notify_ui.warn(format_args!("could not read {key}: {message}"))
        }
    });
    let edge = Edge::new(
        EdgeConfig {
            code,
            routing,
            precompress: settings.precompress.clone(),
            headers,
            origin,
            live,
            preview_domain: Some(preview_domain),
        },
        log,
        notify,
    )?;

    let addr = SocketAddr::new(args.host, args.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
                "port {} is in use: pick another with --port, or --port 0 for any free one",
                args.port
            ),
            _ => anyhow::Error::new(e).context(format!("could not listen on {addr}")),
        })?;
    let bound = listener
        .local_addr()
        .context("could not read the listening address")?;
    let shown = match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            ui.status(
                "Listening",
                format_args!("on every interface, port {}", bound.port()),
            );
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            ui.status(
                "Listening",
                format_args!("on every interface, port {}", bound.port()),
            );
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bound.port())
        }
        _ => bound,
    };
    view.url = format!("http://{shown}/");
    ui.result(format!("{}\n", view.url), &view);
    ui.status("Ready", "press Ctrl-C to stop");

    server::run(listener, Arc::new(edge), shutdown_signal()?).await;
    ui.status("Stopped", "the local edge");
    Ok(())
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed before the server
/// starts, so an early signal is not lost to the default handler.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt =
            signal(SignalKind::interrupt()).context("could not listen for Ctrl-C")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("could not listen for SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
