//! `serve`: the local edge. Runs the viewer-request function the distribution runs, with the
//! same headers, over a built site directory or over what is published in the bucket.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;

use crate::cli::ServeArgs;
use crate::context::Context;
use crate::edge::headers::SecurityHeaders;
use crate::edge::spec::FunctionSpec;
use crate::release::manifest::validate_version_id;
use crate::serve::{self, Edge, EdgeConfig, LOCAL_VERSION, Live, LocalFunction, Notice, Served};

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

pub async fn run(ctx: &Context, args: &ServeArgs) -> anyhow::Result<()> {
    let (ui, settings) = (&ctx.ui, ctx.settings());

    // The same function `deploy` publishes, custom-domain redirect included.
    let domains = settings
        .domain
        .as_ref()
        .map(crate::settings::domain::domains)
        .transpose()?;
    let redirect = domains.as_ref().and_then(|d| d.redirect.as_ref());
    let mut spec = FunctionSpec::from_settings(settings, redirect);
    let from_bucket = args.live || args.version_id.is_some() || args.preview.is_some();
    if serve::localize(&mut spec, args.live) {
        ui.status(
            "Open",
            "the password (access.*) is checked only with --live, which reads the deployed record",
        );
    }
    let function = LocalFunction::new(spec)?;
    let routing = function.spec().routing.clone();
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
        let release = ctx.release().await?;
        let source =
            serve::bucket_source(release, preview.as_deref(), args.version_id.as_deref()).await?;
        let bucket = &source.bucket;
        match (&source.version, &source.preview) {
            (Some(v), _) if source.follows_live => ui.status(
                "Serving",
                format_args!(
                    "the live version ({v}) from s3://{bucket}, following the live pointer"
                ),
            ),
            (Some(v), Some(name)) => ui.status(
                "Serving",
                format_args!("preview {name} (version {v}) from s3://{bucket}"),
            ),
            (Some(v), None) => ui.status("Serving", format_args!("version {v} from s3://{bucket}")),
            (None, _) => ui.warn(format_args!(
                "nothing is live in s3://{bucket} yet: pages answer 503 until `cargo cloudfront-host publish` (content-hashed files still load)"
            )),
        }
        let view = ServeView {
            url: String::new(),
            source: "bucket",
            dir: None,
            bucket: Some(source.bucket.clone()),
            version: source.version,
            follows_live: source.follows_live,
            routing,
        };
        (source.origin, source.live, view)
    } else {
        let (dir, root) = serve::site_dir(args.dir.as_deref(), settings, &ctx.project.root)?;
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
            routing,
        };
        let origin = serve::Origin::Dir { root };
        (origin, Live::Fixed(LOCAL_VERSION.to_string()), view)
    };

    let log_ui = ui.clone();
    let log = Box::new(move |s: &Served| log_ui.status(&s.method, s.summary()));
    let notify_ui = ui.clone();
    let notify = Box::new(move |n: &Notice| {
        if n.is_warning() {
            notify_ui.warn(n)
        } else {
            notify_ui.status("Live", n)
        }
    });
    let config = EdgeConfig {
        function,
        headers,
        origin,
        live,
    };
    let edge = Edge::new(config, log, notify)?;

    let bound = serve::bind(SocketAddr::new(args.host, args.port)).await?;
    if bound.every_interface {
        ui.status(
            "Listening",
            format_args!("on every interface, port {}", bound.shown.port()),
        );
    }
    view.url = format!("http://{}/", bound.shown);
    ui.result(format!("{}\n", view.url), &view);
    ui.status("Ready", "press Ctrl-C to stop");

    let shutdown = serve::shutdown_signal()?;
    serve::run(bound.listener, Arc::new(edge), shutdown).await;
    ui.status("Stopped", "the local edge");
    Ok(())
}
