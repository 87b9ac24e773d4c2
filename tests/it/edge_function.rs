//! The viewer-request function's routing table, run in the embedded engine (QuickJS, what
//! `serve` uses), in Node and in njs (the engine CloudFront Functions descends from), so the
//! engines cannot drift apart. Expected results for hashed names come from the Rust rule the
//! publisher uses, and password hashes from the Rust code `deploy` stores them with, so the
//! function and the publisher cannot drift apart either.

use cargo_cloudfront_host::edge::function::{
    Access, EdgeOptions, Redirect, render, render_full, render_with,
};
use cargo_cloudfront_host::release::hashed::{EXAMPLES, is_content_hashed};
use cargo_cloudfront_host::release::previews::{password_record, slug};
use cargo_cloudfront_host::release::shards::Pointer;
use cargo_cloudfront_host::serve::engine::Engine;
use serde_json::{Value, json};

const HARNESS: &str = r#"
const vm = require('vm');
const fs = require('fs');
const input = JSON.parse(fs.readFileSync(0, 'utf8'));
const results = [];
__SUMMARY__
(async () => {
  for (const c of input.cases) {
    const code = input.code[c.code]
      .replace("import cf from 'cloudfront';", 'const cf = __cloudfront;')
      .replace("import crypto from 'crypto';", 'const crypto = __crypto;');
    const context = {
      __crypto: require('crypto'),
      __cloudfront: { kvs: () => ({ get: async (key) => {
        if (!Object.prototype.hasOwnProperty.call(c.kvs, key)) throw new Error('KeyNotFound');
        return c.kvs[key];
      } }) },
    };
    const handler = vm.runInNewContext(code + '\nhandler', context);
    results.push(summary(await handler(c.event)));
  }
  process.stdout.write(JSON.stringify(results));
})().catch((e) => { console.error(e); process.exit(1); });
"#;

/// What a case checks of the function's result, the same in every engine: the rewritten URI,
/// or the response's status, Location, and (when present) Set-Cookie and WWW-Authenticate.
/// ES5 only (it runs in njs too).
const SUMMARY: &str = r#"
function summary(out) {
  if (!out.statusCode) return { uri: out.uri };
  const r = { status: out.statusCode, location: out.headers.location ? out.headers.location.value : null };
  if (out.cookies) {
    const names = Object.keys(out.cookies);
    const all = [];
    for (let i = 0; i < names.length; i++) {
      const c = out.cookies[names[i]];
      all.push(names[i] + '=' + c.value + (c.attributes ? '; ' + c.attributes : ''));
    }
    r.cookie = all.join(', ');
  }
  if (out.headers['www-authenticate']) r.auth = out.headers['www-authenticate'].value;
  return r;
}
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
    cases.extend(shard_cases());
    cases.extend(preview_cases());
    cases.extend(password_cases());
    cases
}

/// A live value whose shards are spread over three folders: every path goes to the folder
/// the publisher's Rust rule (`shards.rs`) names, whatever the engine.
fn shard_cases() -> Vec<Value> {
    let pointer = Pointer {
        folders: vec!["v3".into(), "v1".into(), "v2-dirty-20261201T101010".into()],
        table: (0..16u8)
            .map(|i| [0, 1, 2, 1, 0, 2][usize::from(i) % 6])
            .collect(),
    };
    let live = pointer.encode();
    assert!(live.starts_with("v3|"), "{live}");
    let mut cases = Vec::new();
    let mut folders = std::collections::BTreeSet::new();
    // (uri, the file path it routes to, percent-decoded)
    let mut routes: Vec<(String, String)> = (0..24)
        .map(|i| {
            (
                format!("/docs/page-{i}.html"),
                format!("docs/page-{i}.html"),
            )
        })
        .collect();
    routes.extend([
        (
            "/caf%C3%A9/men%C3%BC.html".to_string(),
            "café/menü.html".to_string(),
        ),
        ("/%F0%9F%98%80.txt".into(), "😀.txt".into()),
        ("/a%20b.css".into(), "a b.css".into()),
    ]);
    for (uri, path) in &routes {
        let folder = pointer.folder(path);
        folders.insert(folder.to_string());
        let expect = format!("/{folder}{uri}");
        cases.push(case("spa", uri, Some(&live), json!({ "uri": expect })));
    }
    assert_eq!(folders.len(), 3, "the paths reach every folder");
    // Routes resolve first, then their file's shard picks the folder.
    let index = format!("/{}/index.html", pointer.folder("index.html"));
    cases.push(case(
        "spa",
        "/some/route",
        Some(&live),
        json!({ "uri": index }),
    ));
    let docs = format!("/{}/docs/index.html", pointer.folder("docs/index.html"));
    cases.push(case(
        "static",
        "/docs/",
        Some(&live),
        json!({ "uri": docs }),
    ));
    // Hashed names never look at the table.
    cases.push(case(
        "spa",
        "/app-9f3c2a1b4d5e6f70.js",
        Some(&live),
        json!({"uri": "/_immutable/app-9f3c2a1b4d5e6f70.js"}),
    ));
    // A value of an earlier release (the version alone) still routes everything there.
    cases.push(case(
        "spa",
        "/docs/page-1.html",
        Some("v0"),
        json!({"uri": "/v0/docs/page-1.html"}),
    ));
    cases
}

const SALT: &str = "0123456789abcdef";
const PASSWORD: &str = "hunter2";

/// The KeyValueStore of a site with a live version, one preview and a password.
fn store() -> Value {
    json!({
        "live": "v1",
        "preview:pr-7": "v2",
        "password": password_record(SALT, PASSWORD),
    })
}

fn with(mut c: Value, field: &str, value: Value) -> Value {
    c[field] = value;
    c
}

fn basic(credentials: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

fn preview_cases() -> Vec<Value> {
    let kvs = store();
    let on = |uri: &str, host: &str, expect: Value| {
        with(
            with(case("previews", uri, None, expect), "kvs", kvs.clone()),
            "headers",
            json!({ "host": host }),
        )
    };
    let cookie = |code: &str, uri: &str, value: &str, expect: Value| {
        with(
            with(case(code, uri, None, expect), "kvs", kvs.clone()),
            "cookies",
            json!({ "cfh-preview": value }),
        )
    };
    let set = "cfh-preview=pr-7; Secure; HttpOnly; SameSite=Lax; Path=/";
    let clear = "cfh-preview=; Secure; HttpOnly; SameSite=Lax; Path=/; Max-Age=0";
    let wasm = "/app-9f3c2a1b4d5e6f70_bg.wasm";
    vec![
        // By host name under previews.domain (any case, as viewers type it).
        on(
            "/",
            "pr-7.preview.example.com",
            json!({"uri": "/v2/index.html"}),
        ),
        on(
            "/deep/route",
            "PR-7.Preview.Example.COM",
            json!({"uri": "/v2/index.html"}),
        ),
        on(
            "/style.css",
            "pr-7.preview.example.com",
            json!({"uri": "/v2/style.css"}),
        ),
        on(
            wasm,
            "pr-7.preview.example.com",
            json!({"uri": format!("/_immutable{wasm}")}),
        ),
        on(
            "/",
            "gone.preview.example.com",
            json!({"status": 404, "location": null}),
        ),
        on(
            "/",
            "a.b.preview.example.com",
            json!({"status": 404, "location": null}),
        ),
        on(
            "/",
            "x_y.preview.example.com",
            json!({"status": 404, "location": null}),
        ),
        on("/", "www.example.com", json!({"uri": "/v1/index.html"})),
        on("/", "preview.example.com", json!({"uri": "/v1/index.html"})),
        // Without a preview domain the same host is just another name of the live site.
        with(
            with(
                case("spa", "/", None, json!({"uri": "/v1/index.html"})),
                "kvs",
                kvs.clone(),
            ),
            "headers",
            json!({"host": "pr-7.preview.example.com"}),
        ),
        // By cookie: /_preview/<slug> sets it, /_preview/off clears it.
        with(
            case(
                "spa",
                "/_preview/pr-7",
                None,
                json!({"status": 302, "location": "/", "cookie": set}),
            ),
            "kvs",
            kvs.clone(),
        ),
        with(
            case(
                "spa",
                "/_preview/off",
                None,
                json!({"status": 302, "location": "/", "cookie": clear}),
            ),
            "kvs",
            kvs.clone(),
        ),
        cookie(
            "spa",
            "/_preview/off",
            "pr-7",
            json!({"status": 302, "location": "/", "cookie": clear}),
        ),
        with(
            case(
                "spa",
                "/_preview/Not_A_Slug",
                None,
                json!({"status": 404, "location": null}),
            ),
            "kvs",
            kvs.clone(),
        ),
        with(
            case(
                "spa",
                &format!("/_preview/{}", "a".repeat(41)),
                None,
                json!({"status": 404, "location": null}),
            ),
            "kvs",
            kvs.clone(),
        ),
        cookie("spa", "/", "pr-7", json!({"uri": "/v2/index.html"})),
        cookie(
            "spa",
            "/some/route",
            "pr-7",
            json!({"uri": "/v2/index.html"}),
        ),
        cookie(
            "spa",
            wasm,
            "pr-7",
            json!({"uri": format!("/_immutable{wasm}")}),
        ),
        cookie(
            "static",
            "/docs/",
            "pr-7",
            json!({"uri": "/v2/docs/index.html"}),
        ),
        cookie("spa", "/", "gone", json!({"status": 404, "location": null})),
        // A malformed cookie is ignored, never turned into a key.
        cookie("spa", "/", "../live", json!({"uri": "/v1/index.html"})),
        cookie("spa", "/", "off", json!({"uri": "/v1/index.html"})),
        // The host wins over the cookie.
        with(
            cookie("previews", "/", "gone", json!({"uri": "/v2/index.html"})),
            "headers",
            json!({"host": "pr-7.preview.example.com"}),
        ),
    ]
}

fn password_cases() -> Vec<Value> {
    let kvs = store();
    let site_realm = "Basic realm=\"site\", charset=\"UTF-8\"";
    let preview_realm = "Basic realm=\"preview\", charset=\"UTF-8\"";
    let denied = |realm: &str| json!({"status": 401, "location": null, "auth": realm});
    let locked = |code: &str, uri: &str, authorization: Option<String>, expect: Value| {
        let mut c = with(case(code, uri, None, expect), "kvs", kvs.clone());
        if let Some(a) = authorization {
            c["headers"] = json!({ "authorization": a });
        }
        c
    };
    let wasm = "/app-9f3c2a1b4d5e6f70_bg.wasm";
    let mut cases = vec![
        locked("locked", "/", None, denied(site_realm)),
        locked("locked", wasm, None, denied(site_realm)),
        locked(
            "locked",
            "/",
            Some(basic("anyone:hunter2")),
            json!({"uri": "/v1/index.html"}),
        ),
        locked(
            "locked",
            "/",
            Some(basic(":hunter2")),
            json!({"uri": "/v1/index.html"}),
        ),
        locked(
            "locked",
            wasm,
            Some(basic("me:hunter2")),
            json!({"uri": format!("/_immutable{wasm}")}),
        ),
        locked("locked", "/", Some(basic("me:hunter3")), denied(site_realm)),
        locked("locked", "/", Some(basic("hunter2")), denied(site_realm)),
        locked(
            "locked",
            "/",
            Some(basic("me:hunter2x")),
            denied(site_realm),
        ),
        locked("locked", "/", Some("Basic !!!!".into()), denied(site_realm)),
        locked(
            "locked",
            "/",
            Some("Bearer aHVudGVyMg==".into()),
            denied(site_realm),
        ),
        // The scheme is case-insensitive (RFC 7617).
        locked(
            "locked",
            "/",
            Some(basic("me:hunter2").replacen("Basic", "basic", 1)),
            json!({"uri": "/v1/index.html"}),
        ),
        // Previews only: the live site stays open, previews ask.
        locked(
            "previews-locked",
            "/",
            None,
            json!({"uri": "/v1/index.html"}),
        ),
        with(
            locked("previews-locked", "/", None, denied(preview_realm)),
            "cookies",
            json!({"cfh-preview": "pr-7"}),
        ),
        with(
            locked(
                "previews-locked",
                "/",
                Some(basic("x:hunter2")),
                json!({"uri": "/v2/index.html"}),
            ),
            "cookies",
            json!({"cfh-preview": "pr-7"}),
        ),
        with(
            locked("previews-locked", "/", None, denied(preview_realm)),
            "headers",
            json!({"host": "pr-7.preview.example.com"}),
        ),
        // Setting the cookie reveals nothing; the next request asks.
        locked(
            "previews-locked",
            "/_preview/pr-7",
            None,
            json!({"status": 302, "location": "/", "cookie": "cfh-preview=pr-7; Secure; HttpOnly; SameSite=Lax; Path=/"}),
        ),
    ];
    // A password with a colon and non-ASCII characters: the bytes after the first colon count.
    let odd = "pä:ss wörd";
    let mut odd_store = kvs.clone();
    odd_store["password"] = json!(password_record(SALT, odd));
    cases.push(with(
        locked(
            "locked",
            "/",
            Some(basic(&format!("user:{odd}"))),
            json!({"uri": "/v1/index.html"}),
        ),
        "kvs",
        odd_store.clone(),
    ));
    cases.push(with(
        locked(
            "locked",
            "/",
            Some(basic("user:pä:ss word")),
            denied(site_realm),
        ),
        "kvs",
        odd_store,
    ));
    // Protection on but no password stored: closed, never open.
    let mut bare = kvs.clone();
    bare.as_object_mut().unwrap().remove("password");
    cases.push(with(
        locked(
            "locked",
            "/",
            Some(basic("me:hunter2")),
            json!({"status": 503, "location": null}),
        ),
        "kvs",
        bare,
    ));
    cases
}

fn previews_code() -> String {
    render_full(
        "spa",
        &["wasm".to_string()],
        None,
        &EdgeOptions {
            preview_domain: Some("preview.example.com".into()),
            ..EdgeOptions::default()
        },
    )
    .unwrap()
}

fn locked_code(site: Access) -> String {
    render_full(
        "spa",
        &["wasm".to_string()],
        None,
        &EdgeOptions {
            preview_domain: Some("preview.example.com".into()),
            site,
            previews: Access::Password,
        },
    )
    .unwrap()
}

/// Every rendered variant the table uses, by name.
fn codes() -> Value {
    json!({
        "spa": render("spa", &["wasm".to_string()]).unwrap(),
        "static": render("static", &["wasm".to_string()]).unwrap(),
        "domains": domains_code(),
        "previews": previews_code(),
        "locked": locked_code(Access::Password),
        "previews-locked": locked_code(Access::Open),
    })
}

/// The KeyValueStore a case runs against: its own, else `live` alone (or nothing).
fn kvs_of(c: &Value) -> Value {
    if c.get("kvs").is_some_and(|k| k.is_object()) {
        return c["kvs"].clone();
    }
    match c["live"].as_str() {
        Some(live) => json!({ "live": live }),
        None => json!({}),
    }
}

fn compare(cases: &[Value], results: &[Value]) {
    assert_eq!(results.len(), cases.len());
    let mut failures = Vec::new();
    for (c, got) in cases.iter().zip(results) {
        if &c["expect"] != got {
            failures.push(format!(
                "{} {} (headers {}, cookies {}): expected {}, got {got}",
                c["code"], c["uri"], c["headers"], c["cookies"], c["expect"]
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
        "code": codes(),
        // The same events and stores the embedded engine gets, built once in Rust.
        "cases": cases.iter().map(|c| { let mut c = c.clone(); c["event"] = event(&c); c["kvs"] = kvs_of(&c); c }).collect::<Vec<_>>(),
    });
    let mut child = std::process::Command::new("node")
        .arg("-e")
        .arg(HARNESS.replace("__SUMMARY__", SUMMARY))
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
    compare(&cases, &results);
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
    let mut cookies = serde_json::Map::new();
    if let Some(h) = c["cookies"].as_object() {
        for (k, v) in h {
            cookies.insert(k.clone(), json!({ "value": v }));
        }
    }
    json!({
        "version": "1.0",
        "context": {},
        "viewer": {"ip": "127.0.0.1"},
        "request": {"method": "GET", "uri": c["uri"], "querystring": querystring, "headers": headers, "cookies": cookies}
    })
}

#[test]
fn routing_table_in_the_embedded_engine() {
    let codes = codes();
    let engines: std::collections::BTreeMap<&str, Engine> = codes
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, code)| (name.as_str(), Engine::new(code.as_str().unwrap()).unwrap()))
        .collect();
    let cases = table();
    let results: Vec<Value> = cases
        .iter()
        .map(|c| {
            let engine = &engines[c["code"].as_str().unwrap()];
            let out = engine.run(&event(c), &kvs_of(c)).unwrap();
            summary(&out)
        })
        .collect();
    compare(&cases, &results);
}

/// [`SUMMARY`] in Rust, for the embedded engine's results.
fn summary(out: &Value) -> Value {
    let Some(status) = out["statusCode"].as_u64() else {
        return json!({"uri": out["uri"]});
    };
    let mut r = json!({"status": status, "location": out["headers"]["location"]["value"]});
    if let Some(cookies) = out["cookies"].as_object() {
        let all: Vec<String> = cookies
            .iter()
            .map(|(name, c)| {
                let attributes = c["attributes"].as_str().unwrap_or("");
                let value = c["value"].as_str().unwrap_or("");
                if attributes.is_empty() {
                    format!("{name}={value}")
                } else {
                    format!("{name}={value}; {attributes}")
                }
            })
            .collect();
        r["cookie"] = json!(all.join(", "));
    }
    if let Some(a) = out["headers"]["www-authenticate"]["value"].as_str() {
        r["auth"] = json!(a);
    }
    r
}

/// A stand-in for CloudFront's `cloudfront` module in njs: the store comes from a global the
/// test sets per case. ES5 only, as njs and runtime 2.0 take it.
const NJS_SHIM: &str = r#"
export default {
  kvs: function () {
    return {
      get: function (key) {
        const store = globalThis.__store;
        if (!Object.prototype.hasOwnProperty.call(store, key)) {
          return Promise.reject(new Error('KeyNotFound: ' + key));
        }
        return Promise.resolve(store[key]);
      },
    };
  },
};
"#;

/// njs (Debian's package; scripts/test installs it) is the closest relative of CloudFront's
/// runtime we can run: it rejects syntax QuickJS and Node accept. Each rendered variant runs
/// as a module, with the shim above as `cloudfront` and njs's own `crypto`.
#[test]
fn routing_table_in_njs() {
    let Ok(version) = std::process::Command::new("njs").arg("-v").output() else {
        assert!(
            std::env::var_os("CCH_ALLOW_NO_NJS").is_some_and(|v| !v.is_empty()),
            "njs is needed for this test and was not found: install Debian's `njs` package (scripts/test does), or set CCH_ALLOW_NO_NJS=1 to skip it"
        );
        eprintln!("CCH_ALLOW_NO_NJS is set and njs is absent: njs run skipped");
        return;
    };
    assert!(version.status.success());
    let cases = table();
    let codes = codes();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cloudfront.js"), NJS_SHIM).unwrap();
    let mut failures = Vec::new();
    for (name, code) in codes.as_object().unwrap() {
        let mine: Vec<&Value> = cases.iter().filter(|c| c["code"] == *name).collect();
        let input: Vec<Value> = mine
            .iter()
            .map(|c| json!({"event": event(c), "kvs": kvs_of(c)}))
            .collect();
        let script = format!(
            "{}\n{SUMMARY}\nconst cases = {};\nconst results = [];\n\
             async function main() {{\n  for (let i = 0; i < cases.length; i++) {{\n    \
             globalThis.__store = cases[i].kvs;\n    \
             // njs 0.7.9 crashes on an await inside a call's arguments\n    \
             const out = await handler(cases[i].event);\n    results.push(summary(out));\n  }}\n  \
             // njs's console.log cuts a line at 2,048 bytes: one result a line\n  \
             for (let i = 0; i < results.length; i++) console.log(JSON.stringify(results[i]));\n}}\n\
             main().catch(function (e) {{ console.log('FAILED ' + e + ' ' + e.stack); }});\n",
            code.as_str()
                .unwrap()
                .replace("from 'cloudfront';", "from 'cloudfront.js';"),
            Value::Array(input),
        );
        let file = dir.path().join(format!("{name}.js"));
        std::fs::write(&file, script).unwrap();
        let out = std::process::Command::new("njs")
            .args(["-t", "module", "-p"])
            .arg(dir.path())
            .arg(&file)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && !stdout.contains("FAILED"),
            "njs failed on the {name} function: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let results: Vec<Value> = stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("njs output for {name} ({e}): {line}"))
            })
            .collect();
        assert_eq!(results.len(), mine.len());
        for (c, got) in mine.iter().zip(&results) {
            if &c["expect"] != got {
                failures.push(format!(
                    "{name} {} (headers {}, cookies {}): expected {}, got {got}",
                    c["uri"], c["headers"], c["cookies"], c["expect"]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases differ in njs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Basic credentials are checked against the record `deploy` stores; it holds no password.
#[test]
fn the_password_record_is_salted_and_hides_the_password() {
    let a = password_record(SALT, PASSWORD);
    let b = password_record("fedcba9876543210", PASSWORD);
    assert_ne!(a, b, "another salt, another record");
    assert!(!a.contains(PASSWORD));
    assert!(a.starts_with(&format!("{SALT}:")));
    assert!(a.len() < 1024, "fits a KeyValueStore value");
}

#[test]
fn slugs_are_dns_labels() {
    assert_eq!(slug("feature/Login-Page").unwrap(), "feature-login-page");
    assert_eq!(slug("pr-42").unwrap(), "pr-42");
    assert!(slug("off").is_err());
    assert!(slug("").is_err());
    assert!(slug(&"a".repeat(41)).is_err());
}
