//! The viewer-request function's size and its per-request time in the embedded engine
//! (what `serve` pays per request). Prints figures; asserts nothing about time.

use std::time::Instant;

use cargo_cloudfront_host::edge::engine::Engine;
use cargo_cloudfront_host::edge::function::{MAX_BYTES, render};
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
}
