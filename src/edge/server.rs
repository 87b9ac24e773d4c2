//! The local edge: an HTTP server that does per request what the distribution does. It builds
//! the CloudFront viewer-request event, runs the deployed function (the same rendered
//! `cf-functions/viewer-request.js`) in the embedded engine with the live pointer as its
//! KeyValueStore, and answers from the rewritten key: out of a built site directory (served as
//! one local version) or out of the bucket. Every response carries the security headers of the
//! distribution's response-headers policy.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::engine::{Engine, EngineError};
use crate::release::hashed::is_content_hashed;
use crate::release::manifest::IMMUTABLE_PREFIX;
use crate::release::pointer::{LIVE_KEY, LivePointer};
use crate::release::scan::{IMMUTABLE, REVALIDATE, content_type};

/// The version id a local directory is served as.
pub const LOCAL_VERSION: &str = "local";

/// How long a read of the live pointer is reused. The distribution reads the store on every
/// request; a local server asking AWS per request would be slow, and a second is well below
/// the KeyValueStore's own propagation time.
pub const POINTER_TTL: Duration = Duration::from_secs(1);

/// Where the objects come from.
pub enum Origin {
    /// A built site: `<version>/<path>` and `_immutable/<path>` both map to `<root>/<path>`.
    Dir { root: PathBuf },
    /// The deployed bucket, through the SDK.
    Bucket {
        s3: aws_sdk_s3::Client,
        bucket: String,
    },
}

/// What the function's KeyValueStore holds.
pub enum Live {
    /// Always this version (a local directory, or `serve --version` / `--preview`).
    Fixed(String),
    /// The deployed store (live pointer, previews, password), re-read at most every
    /// [`POINTER_TTL`].
    Pointer(LivePointer),
}

type Store = BTreeMap<String, String>;

/// The edge's configuration.
pub struct EdgeConfig {
    /// The rendered viewer-request function.
    pub code: String,
    /// `spa` or `static`: a miss in `static` serves the version's `404.html`.
    pub routing: String,
    /// The `precompress` extensions, whose `.br`/`.gz` siblings the function may pick.
    pub precompress: Vec<String>,
    /// The security headers, as [`super::headers::SecurityHeaders::pairs`] gives them.
    pub headers: Vec<(String, String)>,
    pub origin: Origin,
    pub live: Live,
    /// The domain the function routes previews by (`previews.domain`, locally
    /// `preview.localhost` without one): a Host `<slug>.preview.<anything>` is taken as
    /// `<slug>.<domain>`, so `http://<slug>.preview.localhost:8080/` reaches a preview.
    pub preview_domain: Option<String>,
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
    js: JsWorker,
    routing: String,
    precompress: Vec<String>,
    headers: Vec<(HeaderName, HeaderValue)>,
    origin: Origin,
    live: Live,
    preview_domain: Option<String>,
    pointer_cache: tokio::sync::Mutex<Option<(Instant, Store)>>,
    /// The last read of the pointer failed (reported once, not per request).
    pointer_failing: std::sync::atomic::AtomicBool,
    log: Log,
    notify: Notify,
    requests: std::sync::atomic::AtomicU64,
}

#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("security header {name}: {message}")]
    Header { name: String, message: String },
    #[error("the embedded JavaScript engine stopped")]
    WorkerGone,
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
        Ok(Edge {
            js: JsWorker::start(config.code)?,
            routing: config.routing,
            precompress: config
                .precompress
                .iter()
                .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
                .collect(),
            headers,
            origin: config.origin,
            live: config.live,
            preview_domain: config.preview_domain,
            pointer_cache: tokio::sync::Mutex::new(None),
            pointer_failing: std::sync::atomic::AtomicBool::new(false),
            log,
            notify,
            requests: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The live version as the function will see it (`None`: nothing live, or unreadable).
    pub async fn live_version(&self) -> Option<String> {
        self.store().await.and_then(|s| s.get(LIVE_KEY).cloned())
    }

    /// The KeyValueStore as the function will see it (`None`: unreadable).
    async fn store(&self) -> Option<Store> {
        match &self.live {
            Live::Fixed(v) => Some(Store::from([(LIVE_KEY.to_string(), v.clone())])),
            Live::Pointer(pointer) => {
                let mut cache = self.pointer_cache.lock().await;
                if let Some((at, store)) = cache.as_ref()
                    && at.elapsed() < POINTER_TTL
                {
                    return Some(store.clone());
                }
                use std::sync::atomic::Ordering::Relaxed;
                // One listing instead of a read per key: the previews and the password come
                // along with the live pointer.
                let read = match crate::release::previews::list_keys(
                    pointer.client(),
                    pointer.arn(),
                )
                .await
                {
                    Ok(store) => {
                        self.pointer_failing.store(false, Relaxed);
                        store
                    }
                    Err(e) => {
                        if !self.pointer_failing.swap(true, Relaxed) {
                            (self.notify)(&Notice::PointerError(e.to_string()));
                        }
                        // Not cached: the next request asks again.
                        return None;
                    }
                };
                let before = cache.as_ref().map(|(_, s)| s.get(LIVE_KEY).cloned());
                let now = read.get(LIVE_KEY).cloned();
                if let Some(before) = before
                    && before != now
                {
                    (self.notify)(&Notice::LiveChanged {
                        from: before,
                        to: now,
                    });
                }
                *cache = Some((Instant::now(), read.clone()));
                Some(read)
            }
        }
    }

    /// Answers one request: the method, URI and headers the viewer sent.
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
        let n = self
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut event = viewer_request_event(method, uri, headers, viewer, n);
        if let Some(host) = event["request"]["headers"]["host"]["value"].as_str()
            && let Some(mapped) = self.preview_host(host)
        {
            event["request"]["headers"]["host"] = json!({ "value": mapped });
        }
        let store = match self.store().await {
            Some(s) => json!(s),
            None => json!({}),
        };
        let result = match self.js.run(event, store).await {
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
        // The version the function picked (live or a preview), for the `static` 404 page.
        let version = rewritten
            .trim_start_matches('/')
            .split('/')
            .next()
            .filter(|v| format!("{v}/") != IMMUTABLE_PREFIX)
            .map(String::from);
        let version = match version {
            Some(v) => Some(v),
            None => self.live_version().await,
        };
        let response = match self.object_response(&rewritten, head).await {
            Some(r) => r,
            None => self.not_found(version.as_deref(), head).await,
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
        let fetched = match &self.origin {
            Origin::Dir { root } => match dir_path(&key) {
                DirKey::Path(rel) => self.read_dir_object(root, &rel, head).await,
                DirKey::Invalid => return Some(text(StatusCode::BAD_REQUEST, "Bad request\n")),
                DirKey::Outside => Fetched::Missing,
            },
            Origin::Bucket { s3, bucket } => read_bucket_object(s3, bucket, &key, head).await,
        };
        match fetched {
            Fetched::Found(object) => Some(object.into_response()),
            Fetched::Missing => None,
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
    async fn not_found(&self, live: Option<&str>, head: bool) -> Response<Full<Bytes>> {
        if self.routing == "static"
            && let Some(version) = live
            && let Some(mut page) = self
                .object_response(&format!("/{version}/404.html"), head)
                .await
            && page.status() == StatusCode::OK
        {
            *page.status_mut() = StatusCode::NOT_FOUND;
            return page;
        }
        text(StatusCode::NOT_FOUND, "Not found\n")
    }

    async fn read_dir_object(&self, root: &Path, rel: &str, head: bool) -> Fetched {
        // A `.br`/`.gz` key for a precompressed type is a sibling the function chose; the
        // build may not have written one (publish makes them at upload time): then the file
        // itself goes out, uncompressed, which every viewer accepts.
        let sibling =
            [(".br", "br"), (".gz", "gzip")]
                .into_iter()
                .find_map(|(suffix, encoding)| {
                    let base = rel.strip_suffix(suffix)?;
                    let ext = base.rsplit_once('.')?.1.to_ascii_lowercase();
                    self.precompress
                        .contains(&ext)
                        .then(|| (base.to_string(), encoding))
                });
        let mut candidates = Vec::new();
        if let Some((base, encoding)) = &sibling {
            candidates.push((rel.to_string(), base.clone(), Some(*encoding)));
            candidates.push((base.clone(), base.clone(), None));
        } else {
            candidates.push((rel.to_string(), rel.to_string(), None));
        }
        for (file, base, encoding) in candidates {
            match read_local(root, &file, head).await {
                Ok(Some((body, len))) => {
                    let hashed = is_content_hashed(&base);
                    return Fetched::Found(Object {
                        content_type: Some(content_type(&base)),
                        cache_control: Some(if hashed { IMMUTABLE } else { REVALIDATE }.into()),
                        content_encoding: encoding.map(String::from),
                        etag: None,
                        vary: self.is_precompressed(&base),
                        len,
                        body,
                    });
                }
                Ok(None) => continue,
                Err(e) => return Fetched::Failed(e),
            }
        }
        Fetched::Missing
    }

    fn is_precompressed(&self, path: &str) -> bool {
        path.rsplit_once('.')
            .is_some_and(|(_, ext)| self.precompress.contains(&ext.to_ascii_lowercase()))
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

    /// Handles a request from hyper and logs it.
    async fn handle(
        &self,
        request: Request<hyper::body::Incoming>,
        viewer: SocketAddr,
    ) -> Response<Full<Bytes>> {
        let started = Instant::now();
        let (parts, _body) = request.into_parts();
        let (response, rewritten) = self
            .respond(&parts.method, &parts.uri, &parts.headers, viewer)
            .await;
        (self.log)(&Served {
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string()),
            rewritten,
            status: response.status().as_u16(),
            elapsed: started.elapsed(),
        });
        response
    }
}

/// Accepts connections until `shutdown` completes; each connection is served on its own task.
pub async fn run(
    listener: TcpListener,
    edge: Arc<Edge>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, viewer) = match accepted {
            Ok(a) => a,
            // Out of file descriptors and the like: wait a little rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let edge = edge.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let edge = edge.clone();
                async move { Ok::<_, Infallible>(edge.handle(request, viewer).await) }
            });
            // A viewer that goes away mid-response is not an error worth reporting.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The CloudFront viewer-request event for a request (event structure version 1.0).
pub fn viewer_request_event(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    viewer: SocketAddr,
    n: u64,
) -> Value {
    let mut hs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cookies: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == header::COOKIE {
            // CloudFront hands cookies to the function apart from the headers.
            for pair in value.split(';') {
                let pair = pair.trim();
                if pair.is_empty() {
                    continue;
                }
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                cookies
                    .entry(k.to_string())
                    .or_default()
                    .push(v.to_string());
            }
            continue;
        }
        hs.entry(name.as_str().to_string()).or_default().push(value);
    }
    let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in uri.query().unwrap_or("").split('&') {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        query.entry(k.to_string()).or_default().push(v.to_string());
    }
    json!({
        "version": "1.0",
        "context": {
            "distributionDomainName": "localhost",
            "distributionId": "LOCAL",
            "eventType": "viewer-request",
            "requestId": format!("local-{n}"),
        },
        "viewer": { "ip": viewer.ip().to_string() },
        "request": {
            "method": method.as_str(),
            "uri": uri.path(),
            "querystring": multi_values(query),
            "headers": multi_values(hs),
            "cookies": multi_values(cookies),
        },
    })
}

/// CloudFront's `{name: {value, multiValue?}}` shape: `value` is the first value;
/// `multiValue` lists all of them when there are several.
fn multi_values(map: BTreeMap<String, Vec<String>>) -> Value {
    let mut out = serde_json::Map::new();
    for (name, values) in map {
        let mut entry = json!({ "value": values[0] });
        if values.len() > 1 {
            entry["multiValue"] = values.iter().map(|v| json!({ "value": v })).collect();
        }
        out.insert(name, entry);
    }
    Value::Object(out)
}

/// The response a function returned: `{statusCode, statusDescription, headers, body}`, where
/// `body` is a string or `{data, encoding: "text" | "base64"}`.
pub fn function_response(result: &Value) -> Response<Full<Bytes>> {
    let status = result
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match result.get("body") {
        Some(Value::String(s)) => Bytes::from(s.clone()),
        Some(Value::Object(b)) => {
            let data = b.get("data").and_then(Value::as_str).unwrap_or("");
            if b.get("encoding").and_then(Value::as_str) == Some("base64") {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map(Bytes::from)
                    .unwrap_or_default()
            } else {
                Bytes::from(data.to_string())
            }
        }
        _ => Bytes::new(),
    };
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    // `cookies` become Set-Cookie headers: `name=value; attributes`, one per value.
    if let Some(Value::Object(cookies)) = result.get("cookies") {
        for (name, entry) in cookies {
            let all = match entry.get("multiValue").and_then(Value::as_array) {
                Some(all) => all.clone(),
                None => vec![entry.clone()],
            };
            for c in all {
                let value = c.get("value").and_then(Value::as_str).unwrap_or("");
                let line = match c.get("attributes").and_then(Value::as_str) {
                    Some(a) if !a.is_empty() => format!("{name}={value}; {a}"),
                    _ => format!("{name}={value}"),
                };
                if let Ok(v) = HeaderValue::from_str(&line) {
                    response.headers_mut().append(header::SET_COOKIE, v);
                }
            }
        }
    }
    if let Some(Value::Object(headers)) = result.get("headers") {
        let h = response.headers_mut();
        for (name, entry) in headers {
            let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                continue;
            };
            let values: Vec<&str> = match entry.get("multiValue").and_then(Value::as_array) {
                Some(all) => all
                    .iter()
                    .filter_map(|v| v.get("value").and_then(Value::as_str))
                    .collect(),
                None => entry
                    .get("value")
                    .and_then(Value::as_str)
                    .into_iter()
                    .collect(),
            };
            for value in values {
                if let Ok(value) = HeaderValue::from_str(value) {
                    h.append(name.clone(), value);
                }
            }
        }
    }
    response
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

enum DirKey {
    /// A path relative to the site directory.
    Path(String),
    /// `..`, `.`, a backslash or NUL: never reaches the file system.
    Invalid,
    /// A key outside the version and the immutable area (or an empty path segment).
    Outside,
}

/// Maps a bucket key to a file of the local site: `local/<path>` and `_immutable/<path>` are
/// both `<path>`.
fn dir_path(key: &str) -> DirKey {
    let rel = match key
        .strip_prefix(LOCAL_VERSION)
        .and_then(|k| k.strip_prefix('/'))
        .or_else(|| key.strip_prefix(IMMUTABLE_PREFIX))
    {
        Some(rel) => rel,
        None => return DirKey::Outside,
    };
    let mut any_empty = false;
    for part in rel.split('/') {
        if part == ".." || part == "." || part.contains('\\') || part.contains('\0') {
            return DirKey::Invalid;
        }
        any_empty |= part.is_empty();
    }
    if any_empty {
        DirKey::Outside
    } else {
        DirKey::Path(rel.to_string())
    }
}

/// A file of the site directory: `Ok(None)` when missing, a directory, or a link leading
/// outside the site.
async fn read_local(root: &Path, rel: &str, head: bool) -> Result<Option<(Bytes, u64)>, String> {
    let path = root.join(rel);
    let real = match tokio::fs::canonicalize(&path).await {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if !real.starts_with(root) {
        return Ok(None);
    }
    let meta = match tokio::fs::metadata(&real).await {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if head {
        return Ok(Some((Bytes::new(), meta.len())));
    }
    match tokio::fs::read(&real).await {
        Ok(bytes) => {
            let len = bytes.len() as u64;
            Ok(Some((Bytes::from(bytes), len)))
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

async fn read_bucket_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    head: bool,
) -> Fetched {
    let missing = |status: Option<u16>| status == Some(404);
    if head {
        return match s3.head_object().bucket(bucket).key(key).send().await {
            Ok(out) => Fetched::Found(Object {
                content_type: out.content_type().map(String::from),
                cache_control: out.cache_control().map(String::from),
                content_encoding: out.content_encoding().map(String::from),
                etag: out.e_tag().map(String::from),
                vary: false,
                len: out.content_length().unwrap_or(0).max(0) as u64,
                body: Bytes::new(),
            }),
            Err(e) if missing(e.raw_response().map(|r| r.status().as_u16())) => Fetched::Missing,
            Err(e) => Fetched::Failed(crate::aws::describe(&e)),
        };
    }
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let meta = Object {
                content_type: out.content_type().map(String::from),
                cache_control: out.cache_control().map(String::from),
                content_encoding: out.content_encoding().map(String::from),
                etag: out.e_tag().map(String::from),
                vary: false,
                len: 0,
                body: Bytes::new(),
            };
            match out.body.collect().await {
                Ok(data) => {
                    let body = data.into_bytes();
                    Fetched::Found(Object {
                        len: body.len() as u64,
                        body,
                        ..meta
                    })
                }
                Err(e) => Fetched::Failed(e.to_string()),
            }
        }
        Err(e)
            if e.as_service_error().is_some_and(|s| s.is_no_such_key())
                || missing(e.raw_response().map(|r| r.status().as_u16())) =>
        {
            Fetched::Missing
        }
        Err(e) => Fetched::Failed(crate::aws::describe(&e)),
    }
}

enum Fetched {
    Found(Object),
    Missing,
    Failed(String),
}

struct Object {
    content_type: Option<String>,
    cache_control: Option<String>,
    content_encoding: Option<String>,
    etag: Option<String>,
    /// The answer depends on Accept-Encoding (a precompressed type).
    vary: bool,
    len: u64,
    body: Bytes,
}

impl Object {
    fn into_response(self) -> Response<Full<Bytes>> {
        let mut r = Response::new(Full::new(self.body));
        let h = r.headers_mut();
        let mut set = |name: HeaderName, value: Option<String>| {
            if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                h.insert(name, v);
            }
        };
        set(header::CONTENT_TYPE, self.content_type);
        set(header::CACHE_CONTROL, self.cache_control);
        set(header::CONTENT_ENCODING, self.content_encoding);
        set(header::ETAG, self.etag);
        set(header::CONTENT_LENGTH, Some(self.len.to_string()));
        if self.vary {
            set(header::VARY, Some("Accept-Encoding".into()));
        }
        r
    }
}

/// The engine on a thread of its own; requests queue for it (a call takes well under a
/// millisecond in release builds).
struct JsWorker {
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = (
    Value,
    Value,
    tokio::sync::oneshot::Sender<Result<Value, EngineError>>,
);

impl JsWorker {
    fn start(code: String) -> Result<Self, EdgeError> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let (ready, started) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("edge-function".into())
            .spawn(move || {
                let engine = match Engine::new(&code) {
                    Ok(engine) => {
                        let _ = ready.send(Ok(()));
                        engine
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                while let Ok((event, store, reply)) = queue.recv() {
                    let _ = reply.send(engine.run(&event, &store));
                }
            })
            .map_err(|_| EdgeError::WorkerGone)?;
        started.recv().map_err(|_| EdgeError::WorkerGone)??;
        Ok(JsWorker { jobs })
    }

    async fn run(&self, event: Value, store: Value) -> Result<Value, EdgeError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send((event, store, reply))
            .map_err(|_| EdgeError::WorkerGone)?;
        Ok(answer.await.map_err(|_| EdgeError::WorkerGone)??)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(root: &Path, routing: &str) -> Edge {
        let code = super::super::function::render(routing, &["wasm".into()]).unwrap();
        Edge::new(
            EdgeConfig {
                code,
                routing: routing.into(),
                precompress: vec!["wasm".into()],
                headers: vec![("x-content-type-options".into(), "nosniff".into())],
                origin: Origin::Dir {
                    root: std::fs::canonicalize(root).unwrap(),
                },
                live: Live::Fixed(LOCAL_VERSION.into()),
                preview_domain: None,
            },
            Box::new(|_| {}),
            Box::new(|_| {}),
        )
        .unwrap()
    }

    async fn get(
        edge: &Edge,
        uri: &str,
        accept: Option<&str>,
    ) -> (Response<Full<Bytes>>, Option<String>) {
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(a).unwrap());
        }
        edge.respond(
            &Method::GET,
            &uri.parse().unwrap(),
            &headers,
            "127.0.0.1:9".parse().unwrap(),
        )
        .await
    }

    async fn body(r: Response<Full<Bytes>>) -> String {
        use http_body_util::BodyExt;
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn site() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        let w = |rel: &str, bytes: &[u8]| {
            let p = tmp.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        };
        w("index.html", b"<p>home</p>");
        w("404.html", b"<p>lost</p>");
        w("docs/index.html", b"<p>docs</p>");
        w("app-0123456789abcdef_bg.wasm", b"\0asm-plain");
        w("app-0123456789abcdef_bg.wasm.br", b"\0asm-br");
        w("other.wasm", b"\0asm-other");
        tmp
    }

    #[tokio::test]
    async fn spa_in_a_directory_routes_like_the_distribution() {
        let tmp = site();
        let e = edge(tmp.path(), "spa");
        let (r, rewritten) = get(&e, "/some/route?x=1", None).await;
        assert_eq!(r.status(), 200);
        assert_eq!(rewritten.as_deref(), Some("/local/index.html"));
        assert_eq!(r.headers()["cache-control"], REVALIDATE);
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(body(r).await, "<p>home</p>");

        let (r, rewritten) = get(&e, "/app-0123456789abcdef_bg.wasm", Some("gzip, br")).await;
        assert_eq!(
            rewritten.as_deref(),
            Some("/_immutable/app-0123456789abcdef_bg.wasm.br")
        );
        assert_eq!(r.headers()["content-encoding"], "br");
        assert_eq!(r.headers()["content-type"], "application/wasm");
        assert_eq!(r.headers()["cache-control"], IMMUTABLE);
        assert_eq!(r.headers()["vary"], "Accept-Encoding");
        assert_eq!(body(r).await, "\0asm-br");

        // No gzip sibling in the directory: the file itself, uncompressed.
        let (r, _) = get(&e, "/app-0123456789abcdef_bg.wasm", Some("gzip")).await;
        assert!(r.headers().get("content-encoding").is_none());
        assert_eq!(body(r).await, "\0asm-plain");

        let (r, _) = get(&e, "/missing.js", None).await;
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");

        for bad in ["/../etc/passwd", "/%2e%2e/etc/passwd", "/a\\b"] {
            let (r, rewritten) = get(&e, bad, None).await;
            assert_eq!(r.status(), 400, "{bad}");
            assert_eq!(rewritten, None);
            assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        }
        let (r, _) = get(&e, "/_cloudfront-host/versions/local.json", None).await;
        assert_eq!(r.status(), 404);
    }

    #[tokio::test]
    async fn static_routing_redirects_and_serves_the_404_page() {
        let tmp = site();
        let e = edge(tmp.path(), "static");
        let (r, _) = get(&e, "/docs?a=1", None).await;
        assert_eq!(r.status(), 301);
        assert_eq!(r.headers()["location"], "/docs/?a=1");
        let (r, rewritten) = get(&e, "/docs/", None).await;
        assert_eq!(rewritten.as_deref(), Some("/local/docs/index.html"));
        assert_eq!(body(r).await, "<p>docs</p>");
        let (r, _) = get(&e, "/nope/", None).await;
        assert_eq!(r.status(), 404);
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(body(r).await, "<p>lost</p>");
    }

    #[tokio::test]
    async fn a_missing_pointer_fails_closed_and_other_methods_are_refused() {
        use aws_sdk_cloudfrontkeyvaluestore::config::{Credentials, Region, retry::RetryConfig};
        let tmp = site();
        let e = edge(tmp.path(), "spa");
        // A store nobody answers for: every read fails.
        let client = aws_sdk_cloudfrontkeyvaluestore::Client::from_conf(
            aws_sdk_cloudfrontkeyvaluestore::Config::builder()
                .behavior_version_latest()
                .region(Region::new("us-east-1"))
                .credentials_provider(Credentials::new("a", "b", None, None, "test"))
                .retry_config(RetryConfig::disabled())
                .endpoint_url("http://127.0.0.1:9")
                .build(),
        );
        let store_less = Edge {
            live: Live::Pointer(LivePointer::new(
                client,
                "arn:aws:cloudfront::123456789012:key-value-store/x".into(),
            )),
            ..e
        };
        let (r, _) = get(&store_less, "/", None).await;
        assert_eq!(r.status(), 503);
        // Hashed names need no pointer.
        let (r, _) = get(&store_less, "/app-0123456789abcdef_bg.wasm", None).await;
        assert_eq!(r.status(), 200);
        let (r, _) = store_less
            .respond(
                &Method::POST,
                &"/".parse().unwrap(),
                &HeaderMap::new(),
                "127.0.0.1:9".parse().unwrap(),
            )
            .await;
        assert_eq!(r.status(), 403);
    }

    #[test]
    fn the_event_has_cloudfronts_shape() {
        let mut headers = HeaderMap::new();
        headers.append("accept", HeaderValue::from_static("text/html"));
        headers.append("x-multi", HeaderValue::from_static("a"));
        headers.append("x-multi", HeaderValue::from_static("b"));
        headers.append("cookie", HeaderValue::from_static("a=1; b=2"));
        let event = viewer_request_event(
            &Method::GET,
            &"/p/q?x=1&x=2&flag".parse().unwrap(),
            &headers,
            "10.0.0.1:1234".parse().unwrap(),
            7,
        );
        let r = &event["request"];
        assert_eq!(r["uri"], "/p/q");
        assert_eq!(r["querystring"]["x"]["value"], "1");
        assert_eq!(r["querystring"]["x"]["multiValue"][1]["value"], "2");
        assert_eq!(r["querystring"]["flag"]["value"], "");
        assert_eq!(r["headers"]["accept"]["value"], "text/html");
        assert_eq!(r["headers"]["x-multi"]["multiValue"][1]["value"], "b");
        assert!(r["headers"].get("cookie").is_none());
        assert_eq!(r["cookies"]["b"]["value"], "2");
        assert_eq!(event["viewer"]["ip"], "10.0.0.1");
        assert_eq!(event["context"]["eventType"], "viewer-request");
    }

    #[test]
    fn directory_keys_stay_inside_the_site() {
        assert!(matches!(dir_path("local/a/b.js"), DirKey::Path(p) if p == "a/b.js"));
        assert!(
            matches!(dir_path("_immutable/x-0123456789abcdef.js"), DirKey::Path(p) if p == "x-0123456789abcdef.js")
        );
        assert!(matches!(dir_path("local/../x"), DirKey::Invalid));
        assert!(matches!(dir_path("other/x"), DirKey::Outside));
        assert!(matches!(dir_path("local//x"), DirKey::Outside));
        assert!(matches!(dir_path("localx/y"), DirKey::Outside));
    }
}
