//! The edge end to end over a site directory: routing, headers, the 404 page, traversal, a
//! store that cannot be read.

use std::path::Path;

use super::*;
use crate::release::pointer::LivePointer;
use crate::release::scan::{IMMUTABLE, REVALIDATE};

fn edge(root: &Path, routing: &str) -> Edge {
    let spec = FunctionSpec {
        routing: routing.into(),
        precompress: vec!["wasm".into()],
        redirect: None,
        options: Default::default(),
    };
    Edge::new(
        EdgeConfig {
            function: LocalFunction::new(spec).unwrap(),
            headers: vec![("x-content-type-options".into(), "nosniff".into())],
            origin: Origin::Dir {
                root: std::fs::canonicalize(root).unwrap(),
            },
            live: Live::Fixed(LOCAL_VERSION.into()),
        },
        Box::new(|_| {}),
        Box::new(|_| {}),
    )
    .unwrap()
}

async fn request(
    edge: &Edge,
    method: Method,
    uri: &str,
    accept: Option<&str>,
) -> (Response<Full<Bytes>>, Option<String>) {
    let mut headers = HeaderMap::new();
    if let Some(a) = accept {
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(a).unwrap());
    }
    edge.respond(
        &method,
        &uri.parse().unwrap(),
        &headers,
        "127.0.0.1:9".parse().unwrap(),
    )
    .await
}

async fn get(
    edge: &Edge,
    uri: &str,
    accept: Option<&str>,
) -> (Response<Full<Bytes>>, Option<String>) {
    request(edge, Method::GET, uri, accept).await
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
        store: StoreReader::new(Live::Pointer(LivePointer::new(
            client,
            "arn:aws:cloudfront::123456789012:key-value-store/x".into(),
        ))),
        ..e
    };
    let (r, _) = get(&store_less, "/", None).await;
    assert_eq!(r.status(), 503);
    // Hashed names need no pointer.
    let (r, _) = get(&store_less, "/app-0123456789abcdef_bg.wasm", None).await;
    assert_eq!(r.status(), 200);
    let (r, _) = request(&store_less, Method::POST, "/", None).await;
    assert_eq!(r.status(), 403);
}

#[test]
fn locally_previews_route_by_host_and_only_the_deployed_store_checks_passwords() {
    use crate::edge::function::EdgeOptions;
    let spec = FunctionSpec {
        routing: "spa".into(),
        precompress: Vec::new(),
        redirect: None,
        options: EdgeOptions {
            preview_domain: None,
            site: Access::Password,
            previews: Access::Open,
        },
    };
    let mut local = spec.clone();
    assert!(localize(&mut local, false), "the password is dropped");
    assert_eq!(
        local.options.preview_domain.as_deref(),
        Some(LOCAL_PREVIEW_DOMAIN)
    );
    assert_eq!(local.options.site, Access::Open);
    assert_eq!(local.options.previews, Access::Open);

    let mut live = EdgeOptions {
        preview_domain: Some("preview.example.com".into()),
        ..spec.options.clone()
    };
    live.previews = Access::Password;
    let mut live = FunctionSpec {
        options: live,
        ..spec
    };
    let before = live.options.clone();
    assert!(
        !localize(&mut live, true),
        "--live reads the stored password"
    );
    assert_eq!(live.options, before);
}
