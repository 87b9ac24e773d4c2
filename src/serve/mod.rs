//! The local edge: an HTTP server that does per request what the distribution does. It builds
//! the CloudFront viewer-request event, runs the deployed function (the same rendered
//! `cf-functions/viewer-request.js`) in the embedded engine with the live pointer as its
//! KeyValueStore, and answers from the rewritten key: out of a built site directory (served as
//! one local version) or out of the bucket. Every response carries the security headers of the
//! distribution's response-headers policy.
//!
//! `server` speaks HTTP, `event` translates between HTTP and the function's JSON, `engine`
//! runs the function, `store` feeds it the KeyValueStore, `origin` reads the objects; this
//! module ties them together the way CloudFront orders them.

pub mod engine;
pub mod event;
mod origin;
mod server;
mod store;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Response, StatusCode, Uri};
use serde_json::{Value, json};

use crate::edge::function::{Access, FunctionError};
use crate::edge::spec::FunctionSpec;
use crate::release::pointer::LIVE_KEY;
use crate::release::shards::version_of;
use engine::{EngineError, Worker};
use event::{function_response, viewer_request_event};
use origin::Fetched;
pub use origin::{BucketSource, LOCAL_VERSION, Origin, bucket_source, site_dir};
pub use server::{Bound, bind, run, shutdown_signal};
use store::StoreReader;
pub use store::{Live, POINTER_TTL};

/// Stands in for `previews.domain` locally when it is not set: `<slug>.preview.localhost`
/// resolves to this machine in browsers, so previews by host name work without DNS.
pub const LOCAL_PREVIEW_DOMAIN: &str = "preview.localhost";

/// Adapts the deployed function's spec to this machine: previews by host name always work
/// (under [`LOCAL_PREVIEW_DOMAIN`] without `previews.domain`), and the password is asked for
/// only when `reads_deployed_store` (`--live`): a directory or one fixed version has no stored
/// password record to check against. Returns true when a password setting was dropped.
pub fn localize(spec: &mut FunctionSpec, reads_deployed_store: bool) -> bool {
    spec.options
        .preview_domain
        .get_or_insert_with(|| LOCAL_PREVIEW_DOMAIN.to_string());
    if reads_deployed_store || !spec.options.needs_password() {
        return false;
    }
    spec.options.site = Access::Open;
    spec.options.previews = Access::Open;
    true
}

/// The function as the local edge runs it: the spec, and the code rendered from it (rendered
/// before the server starts, so a bad spec fails before anything is read or bound).
pub struct LocalFunction {
    spec: FunctionSpec,
    code: String,
}

impl LocalFunction {
    pub fn new(spec: FunctionSpec) -> Result<Self, FunctionError> {
        let code = spec.render()?;
        Ok(LocalFunction { spec, code })
    }

    pub fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    pub fn code(&self) -> &str {
        &self.code
    }
}

/// The edge's configuration.
pub struct EdgeConfig {
    /// The function; its `preview_domain` also maps local Host names (see
    /// [`Edge::respond`]): a Host `<slug>.preview.<anything>` is taken as `<slug>.<domain>`,
    /// so `http://<slug>.preview.localhost:8080/` reaches a preview.
    pub function: LocalFunction,
    /// The security headers, as [`crate::edge::headers::SecurityHeaders::pairs`] gives them.
    pub headers: Vec<(String, String)>,
    pub origin: Origin,
    pub live: Live,
}

/// One answered request, for the caller's log.
#[derive(Debug, Clone)]
pub struct Served {
    pub method: String,
    /// The path and query the viewer asked for.
    pub path: String,
    /// The key the function routed it to; `None` when the function answered itself.
    pub rewritten: Option<String>,
    pub status: u16,
    pub elapsed: Duration,
}

/// Something worth telling the user that is not a request.
#[derive(Debug, Clone)]
pub enum Notice {
    /// The live pointer now names another version.
    LiveChanged {
        from: Option<String>,
        to: Option<String>,
    },
    /// The live pointer could not be read; the function fails closed (503).
    PointerError(String),
    /// An object could not be read for another reason than its absence.
    OriginError { key: String, message: String },
}

type Log = Box<dyn Fn(&Served) + Send + Sync>;
type Notify = Box<dyn Fn(&Notice) + Send + Sync>;

pub struct Edge {
    js: Worker,
    /// `spa` or `static`: a miss in `static` serves the version's `404.html`.
    routing: String,
    /// The `precompress` extensions (lower case, no dot), whose `.br`/`.gz` siblings the
    /// function may pick.
    precompress: Vec<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
    origin: Origin,
    store: StoreReader,
    preview_domain: Option<String>,
    log: Log,
    notify: Notify,
    requests: AtomicU64,
}

impl Served {
    /// `<path> -> <key> <status> <ms>`: the log line after the method.
    pub fn summary(&self) -> String {
        let to = self
            .rewritten
            .as_deref()
            .unwrap_or("(answered by the function)");
        format!(
            "{} -> {to} {} {:.1}ms",
            self.path,
            self.status,
            self.elapsed.as_secs_f64() * 1e3
        )
    }
}

impl Notice {
    /// True for what went wrong (as opposed to news such as a new live version).
    pub fn is_warning(&self) -> bool {
        !matches!(self, Notice::LiveChanged { .. })
    }
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::LiveChanged { from, to } => write!(
                f,
                "now {} (was {})",
                to.as_deref().unwrap_or("nothing"),
                from.as_deref().unwrap_or("nothing")
            ),
            Notice::PointerError(e) => write!(
                f,
                "could not read the live version ({e}); the function answers 503 as CloudFront would"
            ),
            Notice::OriginError { key, message } => write!(f, "could not read {key}: {message}"),
        }
    }
}

/// Why `serve` could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "no site directory: pass --dir DIR, or set `build.output_dir` in [package.metadata.cloudfront] (`cargo cloudfront-host init` detects it); --live serves what is published instead"
    )]
    NoSiteDir,
    #[error("{} is not a directory", .0.display())]
    NotADirectory(std::path::PathBuf),
    #[error("site directory {}: {error}; build the site first{build_hint}", .dir.display())]
    SiteDir {
        dir: std::path::PathBuf,
        error: std::io::Error,
        /// ` (the build command is `...`)` when one is set, else empty.
        build_hint: String,
    },
    #[error("port {0} is in use: pick another with --port, or --port 0 for any free one")]
    PortInUse(u16),
    #[error("could not listen on {addr}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("could not read the listening address")]
    LocalAddr(#[source] std::io::Error),
    #[error("could not listen for {0}")]
    Signal(&'static str, #[source] std::io::Error),
    #[error(transparent)]
    Release(#[from] crate::release::ReleaseError),
}

#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("security header {name}: {message}")]
    Header { name: String, message: String },
}

impl Edge {
    /// Loads the function into the engine (on its own thread: QuickJS runtimes stay on the
    /// thread that made them) and checks the headers.
    pub fn new(config: EdgeConfig, log: Log, notify: Notify) -> Result<Self, EdgeError> {
        let mut headers = Vec::with_capacity(config.headers.len());
        for (name, value) in &config.headers {
            let bad = |message: String| EdgeError::Header {
                name: name.clone(),
                message,
            };
            let n = HeaderName::from_bytes(name.as_bytes()).map_err(|e| bad(e.to_string()))?;
            let v = HeaderValue::from_str(value).map_err(|e| bad(e.to_string()))?;
            headers.push((n, v));
        }
        let LocalFunction { spec, code } = config.function;
        Ok(Edge {
            js: Worker::start(code)?,
            routing: spec.routing,
            precompress: spec
                .precompress
                .iter()
                .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
                .collect(),
            headers,
            origin: config.origin,
            store: StoreReader::new(config.live),
            preview_domain: spec.options.preview_domain,
            log,
            notify,
            requests: AtomicU64::new(0),
        })
    }

    /// The live version as the function will see it (`None`: nothing live, or unreadable).
    pub async fn live_version(&self) -> Option<String> {
        self.store
            .read(&self.notify)
            .await
            .and_then(|s| s.get(LIVE_KEY).map(|v| version_of(v).to_string()))
    }

    /// Answers one request: the method, URI and headers the viewer sent. Also returns the key
    /// the function routed to (`None` when it answered itself), for the log.
    pub async fn respond(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        viewer: SocketAddr,
    ) -> (Response<Full<Bytes>>, Option<String>) {
        // The distribution allows GET and HEAD only; CloudFront refuses others before any
        // function runs.
        if method != Method::GET && method != Method::HEAD {
            let mut r = text(
                StatusCode::FORBIDDEN,
                "This distribution allows only GET and HEAD requests.\n",
            );
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return (self.finish(r, method), None);
        }
        let n = self.requests.fetch_add(1, Relaxed);
        let mut event = viewer_request_event(method, uri, headers, viewer, n);
        if let Some(host) = event["request"]["headers"]["host"]["value"].as_str()
            && let Some(mapped) = self.preview_host(host)
        {
            event["request"]["headers"]["host"] = json!({ "value": mapped });
        }
        let store = match self.store.read(&self.notify).await {
            Some(s) => json!(s),
            None => json!({}),
        };
        // The error page is wherever the function routes `/404.html` for this visitor (the
        // live version or a preview, in whichever folder holds its shard).
        let mut error_page_event = event.clone();
        error_page_event["request"]["uri"] = json!("/404.html");
        let result = match self.js.run(event, store.clone()).await {
            Ok(result) => result,
            Err(e) => {
                let r = text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("The viewer-request function failed: {e}\n"),
                );
                return (self.finish(r, method), None);
            }
        };
        if result.get("statusCode").is_some() {
            return (self.finish(function_response(&result), method), None);
        }
        let Some(rewritten) = result.get("uri").and_then(Value::as_str) else {
            let r = text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The viewer-request function returned neither a request nor a response.\n",
            );
            return (self.finish(r, method), None);
        };
        let rewritten = rewritten.to_string();
        let head = method == Method::HEAD;
        let response = match self.object_response(&rewritten, head).await {
            Some(r) => r,
            None => self.not_found(error_page_event, store, head).await,
        };
        (self.finish(response, method), Some(rewritten))
    }

    /// `<slug>.preview.<anything>[:port]` → `<slug>.<preview domain>`; `None` leaves the Host
    /// as it is.
    fn preview_host(&self, host: &str) -> Option<String> {
        let domain = self.preview_domain.as_deref()?;
        let host = host.to_ascii_lowercase();
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_string(),
            _ => host,
        };
        // CloudFront's Host carries no port; the function compares names only.
        if name.ends_with(&format!(".{domain}")) {
            return Some(name);
        }
        let (label, rest) = name.split_once('.')?;
        (rest == "preview" || rest.starts_with("preview.")).then(|| format!("{label}.{domain}"))
    }

    /// The object at the rewritten URI, or `None` when there is none.
    async fn object_response(&self, uri: &str, head: bool) -> Option<Response<Full<Bytes>>> {
        let raw = uri.strip_prefix('/').unwrap_or(uri);
        let Ok(key) = percent_encoding::percent_decode_str(raw).decode_utf8() else {
            return Some(text(StatusCode::BAD_REQUEST, "Bad request\n"));
        };
        let key = key.into_owned();
        match self.origin.fetch(&key, head, &self.precompress).await {
            Fetched::Found(object) => Some(object.into_response()),
            Fetched::Missing => None,
            Fetched::Invalid => Some(text(StatusCode::BAD_REQUEST, "Bad request\n")),
            Fetched::Failed(message) => {
                (self.notify)(&Notice::OriginError {
                    key: key.clone(),
                    message: message.clone(),
                });
                Some(text(
                    StatusCode::BAD_GATEWAY,
                    &format!("Could not read {key}: {message}\n"),
                ))
            }
        }
    }

    /// A miss: in `static` routing the version's `404.html` with status 404 (the
    /// distribution's custom error response), else a short plain 404 (never HTML for a
    /// missing asset).
    async fn not_found(&self, event: Value, store: Value, head: bool) -> Response<Full<Bytes>> {
        if self.routing == "static"
            && let Ok(routed) = self.js.run(event, store).await
            && let Some(key) = routed.get("uri").and_then(Value::as_str)
            && let Some(mut page) = self.object_response(key, head).await
            && page.status() == StatusCode::OK
        {
            *page.status_mut() = StatusCode::NOT_FOUND;
            return page;
        }
        text(StatusCode::NOT_FOUND, "Not found\n")
    }

    /// Adds the security headers (set, not appended, as a response-headers policy with
    /// override does) and drops the body of a HEAD response.
    fn finish(
        &self,
        mut response: Response<Full<Bytes>>,
        method: &Method,
    ) -> Response<Full<Bytes>> {
        let h = response.headers_mut();
        for (name, value) in &self.headers {
            h.insert(name.clone(), value.clone());
        }
        if method == Method::HEAD {
            let len = h.get(header::CONTENT_LENGTH).cloned();
            *response.body_mut() = Full::new(Bytes::new());
            if let Some(len) = len {
                response.headers_mut().insert(header::CONTENT_LENGTH, len);
            }
        }
        response
    }
}

/// A short plain-text answer that nothing caches.
fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests;
