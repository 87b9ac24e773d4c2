//! The viewer-request function's size, its per-request time in the embedded engine, and the
//! latency of a request through the local edge (`serve`: HTTP, event, function, file,
//! headers). Prints figures; asserts nothing about time.

use std::time::Instant;

use cargo_cloudfront_host::edge::function::{Access, EdgeOptions, MAX_BYTES, render, render_full};
use cargo_cloudfront_host::serve::engine::Engine;
use serde_json::json;

fn main() {
    let code = render("spa", &["wasm".to_string()]).expect("render");
    println!(
        "viewer-request.js: {} bytes rendered (CloudFront limit {MAX_BYTES})",
        code.len()
    );
    let started = Instant::now();
    let engine = Engine::new(&code).expect("engine");
    println!(
        "engine start (runtime + module): {:.2} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let store = json!({"live": "1a2b3c4d5e6f"});
    let uris = [
        "/",
        "/some/deep/route",
        "/app-9f3c2a1b4d5e6f70_bg.wasm",
        "/style.css",
    ];
    let events: Vec<_> = uris
        .iter()
        .map(|uri| {
            json!({"version": "1.0", "context": {}, "viewer": {"ip": "127.0.0.1"},
                   "request": {"method": "GET", "uri": uri, "querystring": {}, "cookies": {},
                               "headers": {"accept-encoding": {"value": "gzip, br"}}}})
        })
        .collect();
    for e in &events {
        engine.run(e, &store).expect("warm-up");
    }
    let n = 20_000;
    let started = Instant::now();
    for i in 0..n {
        engine.run(&events[i % events.len()], &store).expect("run");
    }
    let per = started.elapsed().as_secs_f64() / n as f64;
    println!(
        "per request: {:.1} µs over {n} requests ({:.0} requests/s on one core)",
        per * 1e6,
        1.0 / per
    );
    previews_and_password();
    through_the_local_edge();
}

/// The function with every feature on (preview domain, password for site and previews): its
/// size, and the time of the heaviest requests (two KVS reads and a SHA-256).
fn previews_and_password() {
    let options = EdgeOptions {
        preview_domain: Some("preview.example.com".into()),
        site: Access::Password,
        previews: Access::Password,
    };
    let code = render_full("spa", &["wasm".to_string()], None, &options).expect("render");
    println!(
        "viewer-request.js with previews and passwords: {} bytes rendered (limit {MAX_BYTES})",
        code.len()
    );
    let engine = Engine::new(&code).expect("engine");
    let record =
        cargo_cloudfront_host::release::previews::password_record("0123456789abcdef", "hunter2");
    let store = json!({"live": "v1", "preview:pr-7": "v2", "password": record});
    // base64("me:hunter2")
    let auth = json!({"value": "Basic bWU6aHVudGVyMg=="});
    let cases = [
        (
            "preview by cookie + password",
            json!({"authorization": auth}),
            json!({"cfh-preview": {"value": "pr-7"}}),
        ),
        (
            "preview by host + password",
            json!({"authorization": auth, "host": {"value": "pr-7.preview.example.com"}}),
            json!({}),
        ),
        ("live + password", json!({"authorization": auth}), json!({})),
    ];
    for (label, headers, cookies) in cases {
        let event = json!({"version": "1.0", "context": {}, "viewer": {"ip": "127.0.0.1"},
            "request": {"method": "GET", "uri": "/some/route", "querystring": {},
                        "cookies": cookies, "headers": headers}});
        let out = engine.run(&event, &store).expect("warm-up");
        assert!(out["uri"].is_string(), "{label}: {out}");
        let n = 20_000;
        let started = Instant::now();
        for _ in 0..n {
            engine.run(&event, &store).expect("run");
        }
        let per = started.elapsed().as_secs_f64() / n as f64;
        println!(
            "per request, {label}: {:.1} µs over {n} requests",
            per * 1e6
        );
    }
}

/// Sequential keep-alive requests to an in-process local edge serving a directory.
fn through_the_local_edge() {
    use cargo_cloudfront_host::edge::spec::FunctionSpec;
    use cargo_cloudfront_host::serve::{
        self, Edge, EdgeConfig, LOCAL_VERSION, Live, LocalFunction, Origin,
    };

    let site = tempfile::tempdir().expect("tempdir");
    std::fs::write(site.path().join("index.html"), "<!doctype html>".repeat(64)).unwrap();
    let wasm = "app-9f3c2a1b4d5e6f70_bg.wasm";
    std::fs::write(site.path().join(wasm), vec![7u8; 100_000]).unwrap();
    let edge = Edge::new(
        EdgeConfig {
            // The function rendered in `main`.
            function: LocalFunction::new(FunctionSpec {
                routing: "spa".into(),
                precompress: vec!["wasm".into()],
                redirect: None,
                options: EdgeOptions::default(),
            })
            .expect("render"),
            headers: vec![("x-content-type-options".into(), "nosniff".into())],
            origin: Origin::Dir {
                root: std::fs::canonicalize(site.path()).unwrap(),
            },
            live: Live::Fixed(LOCAL_VERSION.into()),
        },
        Box::new(|_| {}),
        Box::new(|_| {}),
    )
    .expect("edge");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(serve::run(
        listener,
        std::sync::Arc::new(edge),
        std::future::pending(),
    ));
    let agent = ureq::agent();
    for (label, path) in [
        ("deep link -> index.html (1 KB)", "/some/route".to_string()),
        ("hashed wasm (100 KB)", format!("/{wasm}")),
    ] {
        let url = format!("http://127.0.0.1:{port}{path}");
        let get = || {
            let mut r = agent.get(&url).call().expect("GET");
            r.body_mut().read_to_vec().expect("body").len()
        };
        for _ in 0..50 {
            get();
        }
        let n = 2_000;
        let mut times: Vec<f64> = (0..n)
            .map(|_| {
                let t = Instant::now();
                get();
                t.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "local edge, {label}: p50 {:.0} µs, p99 {:.0} µs over {n} sequential requests",
            times[n / 2] * 1e6,
            times[n * 99 / 100] * 1e6
        );
    }
}
