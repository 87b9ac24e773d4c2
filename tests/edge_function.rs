//! The viewer-request function's routing table, run in the embedded engine (QuickJS, what
//! `serve` uses) and in Node, so the two engines cannot drift apart. Expected results for
//! hashed names come from the Rust rule the publisher uses, so the function and the publisher
//! cannot drift apart either.

use cargo_cloudfront_host::edge::engine::Engine;
use cargo_cloudfront_host::edge::function::{Redirect, render, render_with};
use cargo_cloudfront_host::release::hashed::{EXAMPLES, is_content_hashed};
use serde_json::{Value, json};

const HARNESS: &str = r#"
const vm = require('vm');
const fs = require('fs');
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const results = [];
(async () => {
  for (const c of input.cases) {
    const code = input.code[c.code].replace("import cf from 'cloudfront';", 'const cf = __cloudfront;');
    const context = {
      __cloudfront: { kvs: () => ({ get: async (key) => {
        if (c.live === null || key !== 'live') throw new Error('KeyNotFound');
        return c.live;
      } }) },
    };
    const handler = vm.runInNewContext(code + '\nhandler', context);
    const out = await handler(c.event);
    results.push(out.statusCode
      ? { status: out.statusCode, location: out.headers.location ? out.headers.location.value : null }
      : { uri: out.uri });
  }
  process.stdout.write(JSON.stringify(results));
})().catch((e) => { console.error(e); process.exit(1); });
"#;

fn case(code: &str, uri: &str, live: Option<&str>, expect: Value) -> Value {
    json!({"code": code, "uri": uri, "live": live, "expect": expect})
}

fn table() -> Vec<Value> {
    let mut cases = Vec::new();
    for (path, _) in EXAMPLES {
        let uri = format!("/{path}");
        let last = path.rsplit('/').next().unwrap_or(path);
        let expect = if is_content_hashed(path) {
            format!("/_immutable/{path}")
        } else if last.contains('.') {
            format!("/v1/{path}")
        } else {
            "/v1/index.html".to_string()
        };
        cases.push(case("spa", &uri, Some("v1"), json!({"uri": expect})));
    }
    let wasm = "/app-9f3c2a1b4d5e6f70_bg.wasm";
    for (accept, suffix) in [
        ("gzip, deflate, br", ".br"),
        ("gzip", ".gz"),
        ("br;q=0, gzip", ".gz"),
        ("identity", ""),
    ] {
        let mut c = case(
            "spa",
            wasm,
            Some("v1"),
            json!({"uri": format!("/_immutable{wasm}{suffix}")}),
        );
        c["headers"] = json!({"accept-encoding": accept});
        cases.push(c);
    }
    let mut js = case(
        "spa",
        "/app-9f3c2a1b4d5e6f70.js",
        Some("v1"),
        json!({"uri": "/_immutable/app-9f3c2a1b4d5e6f70.js"}),
    );
    js["headers"] = json!({"accept-encoding": "br"});
    cases.push(js);
    let mut plain_wasm = case(
        "spa",
        "/wasm_hello.wasm",
        Some("v1"),
        json!({"uri": "/v1/wasm_hello.wasm.br"}),
    );
    plain_wasm["headers"] = json!({"accept-encoding": "br"});
    cases.push(plain_wasm);
    cases.push(case(
        "spa",
        "/",
        Some("v1"),
        json!({"uri": "/v1/index.html"}),
    ));
    cases.push(case(
        "spa",
        "/some/route",
        Some("v1"),
        json!({"uri": "/v1/index.html"}),
    ));
    cases.push(case(
        "spa",
        "/missing.js",
        Some("v1"),
        json!({"uri": "/v1/missing.js"}),
    ));
    for bad in [
        "/../etc/passwd",
        "/a/%2e%2e/b",
        "/a/%2E./b",
        "/a/.%2e/b",
        "/a\\b",
        "/a%5cb",
        "/a%00b",
    ] {
        cases.push(case(
            "spa",
            bad,
            Some("v1"),
            json!({"status": 400, "location": null}),
        ));
    }
    cases.push(case(
        "spa",
        "/_cloudfront-host/versions/v1.json",
        Some("v1"),
        json!({"status": 404, "location": null}),
    ));
    cases.push(case(
        "static",
        "/_cloudfront-host",
        Some("v1"),
        json!({"status": 404, "location": null}),
    ));
    // The KeyValueStore cannot be read: a short 503, but hashed assets still load.
    cases.push(case(
        "spa",
        "/index.html",
        None,
        json!({"status": 503, "location": null}),
    ));
    cases.push(case(
        "spa",
        wasm,
        None,
        json!({"uri": format!("/_immutable{wasm}")}),
    ));
    cases.push(case(
        "static",
        "/",
        Some("v7"),
        json!({"uri": "/v7/index.html"}),
    ));
    cases.push(case(
        "static",
        "/docs/",
        Some("v7"),
        json!({"uri": "/v7/docs/index.html"}),
    ));
    cases.push(case(
        "static",
        "/docs/intro.html",
        Some("v7"),
        json!({"uri": "/v7/docs/intro.html"}),
    ));
    let mut redirect = case(
        "static",
        "/docs",
        Some("v7"),
        json!({"status": 301, "location": "/docs/?a=1&b"}),
    );
    redirect["query"] = json!({"a": "1", "b": ""});
    cases.push(redirect);
    // Custom domain: the apex (any case) redirects to www with path and query; www is served.
    for host in ["example.com", "EXAMPLE.com"] {
        let mut c = case(
            "domains",
            "/docs/intro",
            Some("v2"),
            json!({"status": 301, "location": "https://www.example.com/docs/intro?x=1"}),
        );
        c["headers"] = json!({"host": host});
        c["query"] = json!({"x": "1"});
        cases.push(c);
    }
    let mut www = case(
        "domains",
        "/docs/intro",
        Some("v2"),
        json!({"uri": "/v2/index.html"}),
    );
    www["headers"] = json!({"host": "www.example.com"});
    cases.push(www);
    cases
}

fn domains_code() -> String {
    render_with(
        "spa",
        &["wasm".to_string()],
        Some(&Redirect {
            from: vec!["example.com".into()],
            to: "www.example.com".into(),
        }),
    )
    .unwrap()
}

#[test]
fn routing_table_in_node() {
    let Ok(version) = std::process::Command::new("node").arg("--version").output() else {
        eprintln!("node is not installed: skipping the Node run of the routing table");
        return;
    };
    assert!(version.status.success());
    let cases = table();
    let input = json!({
        "code": {
            "spa": render("spa", &["wasm".to_string()]).unwrap(),
            "static": render("static", &["wasm".to_string()]).unwrap(),
            "domains": domains_code(),
        },
        // The same events the embedded engine gets, built once in Rust.
        "cases": cases.iter().map(|c| { let mut c = c.clone(); c["event"] = event(&c); c }).collect::<Vec<_>>(),
    });
    let mut child = std::process::Command::new("node")
        .arg("-e")
        .arg(HARNESS)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.to_string().as_bytes()).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), cases.len());
    let mut failures = Vec::new();
    for (c, got) in cases.iter().zip(&results) {
        if &c["expect"] != got {
            failures.push(format!(
                "{} {} (live {}): expected {}, got {got}",
                c["code"], c["uri"], c["live"], c["expect"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn event(c: &Value) -> Value {
    let mut headers = serde_json::Map::new();
    if let Some(h) = c["headers"].as_object() {
        for (k, v) in h {
            headers.insert(k.clone(), json!({ "value": v }));
        }
    }
    let mut querystring = serde_json::Map::new();
    if let Some(q) = c["query"].as_object() {
        for (k, v) in q {
            querystring.insert(k.clone(), json!({ "value": v }));
        }
    }
    json!({
        "version": "1.0",
        "context": {},
        "viewer": {"ip": "127.0.0.1"},
        "request": {"method": "GET", "uri": c["uri"], "querystring": querystring, "headers": headers, "cookies": {}}
    })
}

#[test]
fn routing_table_in_the_embedded_engine() {
    let spa = Engine::new(&render("spa", &["wasm".to_string()]).unwrap()).unwrap();
    let stat = Engine::new(&render("static", &["wasm".to_string()]).unwrap()).unwrap();
    let domains = Engine::new(&domains_code()).unwrap();
    let cases = table();
    let mut failures = Vec::new();
    for c in &cases {
        let engine = match c["code"].as_str() {
            Some("spa") => &spa,
            Some("domains") => &domains,
            _ => &stat,
        };
        let store = match c["live"].as_str() {
            Some(live) => json!({ "live": live }),
            None => json!({}),
        };
        let out = engine.run(&event(c), &store).unwrap();
        let got = match out["statusCode"].as_u64() {
            Some(status) => {
                json!({"status": status, "location": out["headers"]["location"]["value"]})
            }
            None => json!({"uri": out["uri"]}),
        };
        if c["expect"] != got {
            failures.push(format!(
                "{} {} (live {}): expected {}, got {got}",
                c["code"], c["uri"], c["live"], c["expect"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
