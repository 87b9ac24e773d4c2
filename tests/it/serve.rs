//! The local edge (`serve`) end to end: fixtures/wasm-hello built for real (plain cargo, no
//! wasm-bindgen), published to the emulator, served by the real binary from the bucket and from
//! a directory, fetched over HTTP and loaded in headless Chromium, which must run the
//! WebAssembly and show what it computed.

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use cargo_cloudfront_host::edge::headers::default_csp;
use cargo_cloudfront_host::names::{Names, Scope};

const REGION: &str = "us-east-1";
/// fib(30), computed by the fixture's WebAssembly.
const FIB_30: &str = "832040";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

// ---------------------------------------------------------------------------------------------
// The fixture, built once per test run.

/// The directory cargo put this test binary's target in (`<target>/debug/deps/it-<hash>`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .expect("<target>/<profile>/deps/<test>")
        .to_path_buf()
}

/// The built site of fixtures/wasm-hello: edition 1 and edition 2 (other wasm bytes, so other
/// hashed names). Each has its own target dir under the main one, so reruns build nothing.
fn builds() -> &'static [PathBuf; 2] {
    static BUILDS: OnceLock<[PathBuf; 2]> = OnceLock::new();
    BUILDS.get_or_init(|| {
        let script = support::repo_root().join("fixtures/wasm-hello/build.sh");
        [("", "wasm-hello"), ("edition2", "wasm-hello-edition2")].map(|(features, name)| {
            let target = target_dir().join(name);
            let out = target.join("dist");
            let started = Instant::now();
            let result = Command::new("bash")
                .arg(&script)
                .arg(&out)
                .env("CARGO_TARGET_DIR", &target)
                .env("WASM_HELLO_FEATURES", features)
                .output()
                .expect("run fixtures/wasm-hello/build.sh");
            assert!(
                result.status.success(),
                "fixtures/wasm-hello/build.sh failed (scripts/test installs the wasm32-unknown-unknown target):\n{}",
                String::from_utf8_lossy(&result.stderr)
            );
            eprintln!(
                "built wasm-hello{} in {:.2}s",
                if features.is_empty() { String::new() } else { format!(" ({features})") },
                started.elapsed().as_secs_f64()
            );
            out
        })
    })
}

/// The file of a build whose name starts with `prefix` (`app-`, `wasm_hello-`).
fn built_file(build: &Path, prefix: &str) -> (String, Vec<u8>) {
    let entry = std::fs::read_dir(build)
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix}* in {}", build.display()));
    (
        entry.file_name().to_string_lossy().into_owned(),
        std::fs::read(entry.path()).unwrap(),
    )
}

/// A copy of the fixture's sources (not its target/ or dist/) with `build` as its `dist/`.
fn project(build: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("wasm-hello");
    let fixture = support::repo_root().join("fixtures/wasm-hello");
    for d in ["src", "site"] {
        support::copy_dir_to(&fixture.join(d), &dir.join(d));
    }
    for f in ["Cargo.toml", "build.sh"] {
        std::fs::copy(fixture.join(f), dir.join(f)).unwrap();
    }
    set_dist(&dir, build);
    (tmp, dir)
}

/// Replaces the project's built output with `build`.
fn set_dist(dir: &Path, build: &Path) {
    let dist = dir.join("dist");
    let _ = std::fs::remove_dir_all(&dist);
    support::copy_dir_to(build, &dist);
}

// ---------------------------------------------------------------------------------------------
// A deployed project (the bucket and KeyValueStore `deploy` makes, created through the SDK).

struct Deployed {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    name: String,
}

async fn deployed() -> Deployed {
    let name = support::unique("serve");
    let (tmp, dir) = project(&builds()[0]);
    let names = Names::new(&Scope {
        account: support::ACCOUNT,
        region: REGION,
        repository: None,
        project: &name,
    });
    let aws = support::aws(REGION).await;
    support::create_bucket(&aws, &names.bucket(), REGION).await;
    aws.cloudfront()
        .create_key_value_store()
        .name(names.kvs())
        .send()
        .await
        .unwrap();
    Deployed {
        _tmp: tmp,
        dir,
        name,
    }
}

impl Deployed {
    fn env(&self) -> Vec<(String, String)> {
        let mut env = support::cli_env();
        env.push(("CARGO_CLOUDFRONT_HOST_NAME".into(), self.name.clone()));
        env
    }

    fn publish(&self, version: &str) {
        support::cli()
            .current_dir(&self.dir)
            .env("CARGO_CLOUDFRONT_HOST_NAME", &self.name)
            .args(["publish", "--version", version])
            .assert()
            .success();
    }

    fn serve(&self, args: &[&str]) -> Serve {
        Serve::start(&self.dir, self.env(), args)
    }

    fn cli(&self, args: &[&str]) {
        support::cli()
            .current_dir(&self.dir)
            .env("CARGO_CLOUDFRONT_HOST_NAME", &self.name)
            .args(args)
            .assert()
            .success();
    }
}

// ---------------------------------------------------------------------------------------------
// The real binary, serving.

struct Serve {
    child: Child,
    url: String,
    port: u16,
    /// Everything it printed on stderr so far (status lines, one per request).
    log: Arc<Mutex<String>>,
}

impl Serve {
    fn start(dir: &Path, env: Vec<(String, String)>, args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-cloudfront-host"))
            .current_dir(dir)
            .env_clear()
            .envs(env)
            .args(["serve", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start serve");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next().and_then(Result::ok));
            for _ in lines {} // keep the pipe open and drained
        });
        let first = rx.recv_timeout(Duration::from_secs(120)).ok().flatten();
        let Some(url) = first.filter(|l| l.starts_with("http://")) else {
            let _ = child.kill();
            let status = child.wait().ok();
            std::thread::sleep(Duration::from_millis(200));
            panic!(
                "serve printed no URL (exit {status:?}):\n{}",
                log.lock().unwrap()
            );
        };
        let port = url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port in the URL");
        Serve {
            child,
            url: url.trim_end_matches('/').to_string(),
            port,
            log,
        }
    }

    fn get(&self, path: &str) -> Reply {
        self.get_with(path, &[])
    }

    fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .new_agent();
        let mut request = agent.get(format!("{}{path}", self.url));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.call().unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        Reply {
            status: response.status().as_u16(),
            headers,
            body: response
                .body_mut()
                .with_config()
                .limit(64 << 20)
                .read_to_vec()
                .unwrap(),
        }
    }

    /// The status of a request sent byte for byte as given (no URL normalisation on the way).
    fn raw_status(&self, method: &str, target: &str) -> u16 {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            stream,
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        text.split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{method} {target}: no status in {text:?}"))
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Ctrl-C, as a user would stop it; returns how it exited.
    fn interrupt(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -INT");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "serve did not exit after Ctrl-C:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The security headers the distribution's response-headers policy sends for this fixture
/// (framework `custom`, so scripts from 'self' only: no 'unsafe-inline').
fn assert_security_headers(r: &Reply, what: &str) {
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=63072000; includeSubDomains"),
        "{what}"
    );
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(
        r.header("referrer-policy"),
        Some("strict-origin-when-cross-origin"),
        "{what}"
    );
    let csp = r.header("content-security-policy").unwrap_or("");
    assert_eq!(csp, default_csp(Some("custom")), "{what}");
    let script = csp
        .split("; ")
        .find(|d| d.starts_with("script-src"))
        .unwrap();
    assert!(!script.contains("unsafe-inline"), "{what}: {script}");
}

/// `"/<prefix>...<end>"`: the first absolute URL in `text` starting with `prefix`.
fn asset_url(text: &str, prefix: &str, end: char) -> String {
    let start = text
        .find(&format!("\"/{prefix}"))
        .unwrap_or_else(|| panic!("no \"/{prefix}... in {text}"))
        + 1;
    let len = text[start..].find(end).unwrap();
    text[start..start + len].to_string()
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium.

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// The page's DOM after its scripts ran, or `None` when Chromium is absent and
/// `CCH_ALLOW_NO_CHROMIUM` says that is fine.
fn browser_dom(url: &str) -> Option<String> {
    let Some(bin) = chromium() else {
        if std::env::var_os("CCH_ALLOW_NO_CHROMIUM").is_some_and(|v| !v.is_empty()) {
            eprintln!("CCH_ALLOW_NO_CHROMIUM is set and Chromium is absent: browser check skipped");
            return None;
        }
        panic!(
            "Chromium is needed for the browser test and was not found: install Debian's `chromium` package \
             (scripts/test does), point CHROMIUM at a Chrome binary, or set CCH_ALLOW_NO_CHROMIUM=1 to skip this check"
        );
    };
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(&bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--virtual-time-budget=5000", "--dump-dom", url])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Chromium did not finish loading {url} in 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = out.join().unwrap();
    let errors = err.join().unwrap();
    assert!(
        status.success(),
        "Chromium failed on {url}: {status}\n{errors}"
    );
    Some(dom)
}

fn assert_page_runs_the_wasm(url: &str, edition: u32) {
    if let Some(dom) = browser_dom(url) {
        assert!(
            dom.contains(&format!("<output id=\"result\">{FIB_30}</output>")),
            "{url}: the page does not show fib(30) computed by the wasm:\n{dom}"
        );
        assert!(
            dom.contains(&format!("<output id=\"edition\">{edition}</output>")),
            "{url}: expected build {edition}:\n{dom}"
        );
    }
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn serves_the_published_site_from_the_bucket_to_a_real_browser() {
    let d = deployed().await;
    d.publish("v1");
    let build = &builds()[0];
    let (wasm_name, wasm_bytes) = built_file(build, "wasm_hello-");
    let (js_name, js_bytes) = built_file(build, "app-");
    let index = std::fs::read_to_string(build.join("index.html")).unwrap();

    let mut serve = d.serve(&["--live"]);

    let home = serve.get("/");
    assert_eq!(home.status, 200);
    assert_eq!(home.text(), index);
    assert_eq!(
        home.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(home.header("cache-control"), Some("no-cache"));
    assert_security_headers(&home, "/");

    let deep = serve.get("/some/route");
    assert_eq!((deep.status, deep.text()), (200, index.clone()));
    assert_security_headers(&deep, "/some/route");

    let wasm = serve.get(&format!("/{wasm_name}"));
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.header("cache-control"), Some(IMMUTABLE));
    assert_eq!(wasm.header("content-encoding"), None);
    assert!(wasm.body == wasm_bytes, "the wasm's bytes");
    assert_security_headers(&wasm, "wasm");

    // The publisher stored brotli and gzip siblings; the function picks them.
    for (accept, encoding) in [("gzip, deflate, br", "br"), ("gzip", "gzip")] {
        let packed = serve.get_with(&format!("/{wasm_name}"), &[("accept-encoding", accept)]);
        assert_eq!(packed.status, 200, "{accept}");
        assert_eq!(packed.header("content-encoding"), Some(encoding));
        assert_eq!(packed.header("content-type"), Some("application/wasm"));
        let mut unpacked = Vec::new();
        if encoding == "br" {
            brotli::Decompressor::new(&packed.body[..], 4096)
                .read_to_end(&mut unpacked)
                .unwrap();
        } else {
            flate2::read::GzDecoder::new(&packed.body[..])
                .read_to_end(&mut unpacked)
                .unwrap();
        }
        assert!(
            unpacked == wasm_bytes,
            "{encoding} sibling decodes to the wasm"
        );
    }

    let js = serve.get(&format!("/{js_name}"));
    assert_eq!(js.status, 200);
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(js.header("cache-control"), Some(IMMUTABLE));
    assert!(js.body == js_bytes);

    let missing = serve.get("/missing.js");
    assert_eq!(missing.status, 404, "a missing asset is a 404");
    assert!(
        !missing
            .header("content-type")
            .unwrap_or("")
            .contains("html")
            && !missing.text().contains("<html"),
        "never HTML for a missing asset: {:?} {}",
        missing.header("content-type"),
        missing.text()
    );
    assert_security_headers(&missing, "404");

    assert_eq!(serve.raw_status("GET", "/../Cargo.toml"), 400);
    assert_eq!(serve.raw_status("GET", "/%2e%2e/Cargo.toml"), 400);
    assert_eq!(serve.raw_status("GET", "/a/..%2F..%2Fsecret"), 400);
    let traversal = serve.get("/%2E%2E/etc/passwd");
    assert_eq!(traversal.status, 400);
    assert_security_headers(&traversal, "400");
    assert_eq!(serve.get("/_cloudfront-host/versions/v1.json").status, 404);
    assert_eq!(serve.raw_status("POST", "/"), 403);
    assert_eq!(serve.raw_status("HEAD", "/"), 200);

    assert_page_runs_the_wasm(&format!("{}/", serve.url), 1);
    assert_page_runs_the_wasm(&format!("{}/some/route", serve.url), 1);

    let log = serve.log();
    assert!(
        log.contains("GET /some/route -> /v1/index.html 200"),
        "a status line per request:\n{log}"
    );
    assert!(
        log.contains(&format!("GET /{wasm_name} -> /_immutable/{wasm_name} 200")),
        "{log}"
    );
    assert!(
        log.contains("GET /../Cargo.toml -> (answered by the function) 400"),
        "{log}"
    );

    let status = serve.interrupt();
    assert!(
        status.success(),
        "Ctrl-C exits cleanly: {status}\n{}",
        serve.log()
    );
    assert!(serve.log().contains("Stopped"), "{}", serve.log());
}

#[tokio::test]
async fn an_open_tab_keeps_loading_its_assets_after_a_deploy() {
    let d = deployed().await;
    d.publish("a");
    let serve = d.serve(&["--live"]);

    // The tab: version A's page and the asset URLs it refers to.
    let index_a = serve.get("/").text();
    let js_a = asset_url(&index_a, "app-", '"');
    let js_a_reply = serve.get(&js_a);
    assert_eq!(js_a_reply.status, 200);
    let wasm_a = asset_url(&js_a_reply.text(), "wasm_hello-", '"');
    let (wasm_a_name, wasm_a_bytes) = built_file(&builds()[0], "wasm_hello-");
    assert_eq!(wasm_a, format!("/{wasm_a_name}"));

    // A deploy that changes the wasm, so its hashed name (and the script's) change.
    set_dist(&d.dir, &builds()[1]);
    d.publish("b");
    let deadline = Instant::now() + Duration::from_secs(15);
    let index_b = loop {
        let now = serve.get("/").text();
        if now != index_a {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "serve --live still shows version a 15 s after b went live:\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(serve.log().contains("now b (was a)"), "{}", serve.log());
    let js_b = asset_url(&index_b, "app-", '"');
    assert_ne!(js_b, js_a, "the new page refers to the new script");
    let wasm_b = asset_url(&serve.get(&js_b).text(), "wasm_hello-", '"');
    assert_ne!(wasm_b, wasm_a, "and the new script to the new wasm");
    let (wasm_b_name, wasm_b_bytes) = built_file(&builds()[1], "wasm_hello-");
    assert_eq!(wasm_b, format!("/{wasm_b_name}"));
    assert!(serve.get(&wasm_b).body == wasm_b_bytes);

    // The old tab's lazy loads still work while version a is retained.
    let old_js = serve.get(&js_a);
    assert_eq!(old_js.status, 200);
    assert!(
        old_js.body == js_a_reply.body,
        "the old script, byte for byte"
    );
    let old_wasm = serve.get(&wasm_a);
    assert_eq!(old_wasm.status, 200);
    assert_eq!(old_wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(old_wasm.header("cache-control"), Some(IMMUTABLE));
    assert!(old_wasm.body == wasm_a_bytes, "the old wasm, byte for byte");

    // The new version runs in a browser.
    assert_page_runs_the_wasm(&format!("{}/", serve.url), 2);
    drop(serve);

    // `--version` serves a retained version as if it were live: a preview of a rollback.
    let preview = d.serve(&["--version", "a"]);
    assert_eq!(preview.get("/").text(), index_a);
    assert_eq!(preview.get("/some/route").text(), index_a);
    drop(preview);

    let mut unknown = Command::new(env!("CARGO_BIN_EXE_cargo-cloudfront-host"));
    let out = unknown
        .current_dir(&d.dir)
        .env_clear()
        .envs(d.env())
        .args(["serve", "--port", "0", "--version", "nope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("version nope has no manifest"), "{stderr}");
}

#[tokio::test]
async fn a_version_that_shares_unchanged_shards_is_served_whole_by_the_function() {
    let d = deployed().await;
    let dist = d.dir.join("dist");
    for i in 0..40 {
        support::write(&dist, &format!("p/{i}.html"), format!("<h1>page {i}</h1>"));
    }
    d.publish("a");
    support::write(&dist, "p/7.html", "<h1>page 7, b</h1>");
    d.publish("b");
    // b wrote only page 7's shard: most pages stay in a's folder.
    let names = Names::new(&Scope {
        account: support::ACCOUNT,
        region: REGION,
        repository: None,
        project: &d.name,
    });
    let s3 = support::aws(REGION).await.s3();
    let own = s3
        .list_objects_v2()
        .bucket(names.bucket())
        .prefix("b/p/")
        .send()
        .await
        .unwrap()
        .key_count()
        .unwrap_or(0);
    assert!(
        (1..40).contains(&own),
        "b holds {own} of the 40 pages itself"
    );
    // Through the real function and the stored pointer value, every page is b's.
    for args in [&["--live"][..], &["--version", "b"]] {
        let serve = d.serve(args);
        for i in 0..40 {
            let want = if i == 7 {
                "<h1>page 7, b</h1>".to_string()
            } else {
                format!("<h1>page {i}</h1>")
            };
            let reply = serve.get(&format!("/p/{i}.html"));
            assert_eq!(
                (reply.status, reply.text()),
                (200, want),
                "{args:?} page {i}"
            );
        }
    }
}

#[test]
fn serves_a_built_directory_without_aws() {
    let build = &builds()[0];
    let (_tmp, dir) = project(build);
    let (wasm_name, wasm_bytes) = built_file(build, "wasm_hello-");
    // The default directory is the `build.output_dir` setting (dist).
    let mut serve = Serve::start(&dir, support::offline_env(), &[]);
    let home = serve.get("/");
    assert_eq!(home.status, 200);
    assert_eq!(home.header("cache-control"), Some("no-cache"));
    assert_security_headers(&home, "/");
    let wasm = serve.get(&format!("/{wasm_name}"));
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.header("cache-control"), Some(IMMUTABLE));
    assert!(wasm.body == wasm_bytes);
    // The build wrote no brotli sibling: the function asks for one, the file goes out as is.
    let asked = serve.get_with(&format!("/{wasm_name}"), &[("accept-encoding", "br")]);
    assert_eq!(asked.header("content-encoding"), None);
    assert!(asked.body == wasm_bytes);
    assert_eq!(serve.get("/missing.wasm").status, 404);
    assert_eq!(serve.raw_status("GET", "/../Cargo.toml"), 400);
    assert_eq!(
        serve.get("/some/route").text(),
        std::fs::read_to_string(build.join("index.html")).unwrap()
    );
    assert_page_runs_the_wasm(&format!("{}/some/route", serve.url), 1);
    assert!(
        serve.log().contains("GET / -> /local/index.html 200"),
        "{}",
        serve.log()
    );
    assert!(serve.interrupt().success());

    // --dir names another directory; a missing one is a clear error.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("index.html"), "<p>other</p>").unwrap();
    let serve = Serve::start(
        &dir,
        support::offline_env(),
        &["--dir", other.path().to_str().unwrap()],
    );
    assert_eq!(serve.get("/deep/link").text(), "<p>other</p>");
    drop(serve);
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-cloudfront-host"))
        .current_dir(&dir)
        .env_clear()
        .envs(support::offline_env())
        .args(["serve", "--port", "0", "--dir", "nowhere"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("site directory nowhere") && stderr.contains("build the site first"),
        "{stderr}"
    );
}

#[test]
fn help_has_examples() {
    support::cli_offline()
        .args(["serve", "--help"])
        .assert()
        .success()
        .stdout(predicates::str::contains("Examples:"))
        .stdout(predicates::str::contains("serve --live"));
}

/// Previews in a real browser through the local edge: `/_preview/<slug>` sets the cookie and
/// the real app (at its real, absolute asset paths) runs as that preview; `/_preview/off`
/// clears it and the live site comes back.
#[tokio::test]
async fn a_browser_switches_to_a_preview_and_back_with_the_cookie() {
    let d = deployed().await;
    d.publish("v1");
    set_dist(&d.dir, &builds()[1]);
    d.cli(&["publish", "--preview", "edition-two", "--version", "v2"]);
    // A preview whose page (build 2) goes straight to /_preview/off: if the cookie were not
    // cleared, the browser would stay on build 2.
    let bounce = tempfile::tempdir().unwrap();
    support::copy_dir_to(&builds()[1], bounce.path());
    let index = std::fs::read_to_string(bounce.path().join("index.html")).unwrap();
    std::fs::write(
        bounce.path().join("index.html"),
        index.replacen(
            "<head>",
            "<head>\n<meta http-equiv=\"refresh\" content=\"0; url=/_preview/off\">",
            1,
        ),
    )
    .unwrap();
    set_dist(&d.dir, bounce.path());
    d.cli(&["publish", "--preview", "bounce", "--version", "v2-bounce"]);

    let serve = d.serve(&["--live"]);
    assert_page_runs_the_wasm(&format!("{}/", serve.url), 1);
    assert_page_runs_the_wasm(&format!("{}/_preview/edition-two", serve.url), 2);
    assert_page_runs_the_wasm(&format!("{}/_preview/bounce", serve.url), 1);
    let log = serve.log();
    assert!(
        log.contains("GET /_preview/edition-two -> (answered by the function) 302"),
        "{log}"
    );
    assert!(log.contains("GET / -> /v2/index.html 200"), "{log}");
    assert!(log.contains("GET / -> /v2-bounce/index.html 200"), "{log}");
    assert!(
        log.contains("GET /_preview/off -> (answered by the function) 302"),
        "{log}"
    );
}
