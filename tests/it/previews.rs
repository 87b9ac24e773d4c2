//! Preview deployments against the emulator, through the CLI: `publish --preview`, the GitHub
//! Actions outputs, `previews` (list, delete, prune), `promote`, expiry and retention, each
//! preview reaching its own bytes through `serve` (by cookie, by host name, and
//! `serve --preview`), the password at the edge, and `deploy` with `previews.domain` (wildcard
//! certificate name, alias and record) and `access.* = "password"`.

use crate::support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cargo_cloudfront_host::names::{Names, Scope};
use serde_json::Value;

const REGION: &str = "eu-west-1";
const DIST_DOMAIN: &str = "d111111abcdef8.cloudfront.net";

struct Deployed {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    site: PathBuf,
    name: String,
    bucket: String,
    kvs_arn: String,
    aws: cargo_cloudfront_host::aws::Aws,
}

/// A project whose bucket and KeyValueStore exist (what `deploy` makes), with the stack record
/// `deploy` writes (it names the distribution's domain, which preview URLs use).
async fn deployed(metadata: &str) -> Deployed {
    let ready =
        support::publish_ready("prv", REGION, &format!("routing = \"spa\"\n{metadata}")).await;
    ready
        .aws
        .s3()
        .put_object()
        .bucket(ready.names.bucket())
        .key("_cloudfront-host/stack.json")
        .body(
            serde_json::json!({"resources": {"distribution_domain": DIST_DOMAIN}})
                .to_string()
                .into_bytes()
                .into(),
        )
        .send()
        .await
        .unwrap();
    let site = ready.dir.join("dist");
    Deployed {
        bucket: ready.names.bucket(),
        kvs_arn: ready.kvs_arn,
        aws: ready.aws,
        _tmp: ready.tmp,
        dir: ready.dir,
        site,
        name: ready.name,
    }
}

impl Deployed {
    /// Replaces the built site with one whose pages say `label`.
    fn site(&self, label: &str) {
        let _ = std::fs::remove_dir_all(&self.site);
        std::fs::create_dir_all(&self.site).unwrap();
        std::fs::write(
            self.site.join("index.html"),
            format!("<!doctype html><title>{label}</title><p>{label}</p>"),
        )
        .unwrap();
        std::fs::write(self.site.join("style.css"), format!("/* {label} */")).unwrap();
    }

    fn cli(&self) -> assert_cmd::Command {
        let mut c = support::cli();
        c.current_dir(&self.dir);
        c
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self
            .cli()
            .args(["--format", "json"])
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&out)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out)))
    }

    async fn key(&self, key: &str) -> Option<String> {
        self.aws
            .kvs()
            .get_key()
            .kvs_arn(&self.kvs_arn)
            .key(key)
            .send()
            .await
            .ok()
            .map(|o| o.value().to_string())
    }

    async fn object(&self, key: &str) -> Option<Vec<u8>> {
        let out = self
            .aws
            .s3()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(out.body.collect().await.unwrap().into_bytes().to_vec())
    }

    fn serve(&self, args: &[&str]) -> Serve {
        let mut env = support::cli_env();
        env.push(("CARGO_CLOUDFRONT_HOST_NAME".into(), self.name.clone()));
        Serve::start(&self.dir, env, args)
    }
}

struct Serve {
    child: Child,
    port: u16,
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
            .stderr(Stdio::null())
            .spawn()
            .expect("start serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next().and_then(Result::ok));
            for _ in lines {}
        });
        let url = rx
            .recv_timeout(Duration::from_secs(120))
            .ok()
            .flatten()
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("serve {args:?} printed no URL")
            });
        let port = url
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("a port in the URL");
        Serve { child, port }
    }

    /// A GET sent byte for byte (the Host header is ours to choose): status, headers, body.
    fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let mut request = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            request.push_str(&format!("Host: 127.0.0.1:{}\r\n", self.port));
        }
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let mut text = String::new();
        let _ = stream.read_to_string(&mut text);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("GET {path}: no status in {text:?}"));
        (status, head.to_ascii_lowercase(), body.to_string())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn basic(credentials: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

#[tokio::test]
async fn previews_are_published_listed_served_promoted_and_deleted_without_touching_live() {
    let d = deployed("").await;
    d.site("LIVE-ONE");
    let live = d.json(&["publish", "--version", "one"]);
    assert_eq!(live["live"], "one");

    // A named preview: the name becomes a DNS label; live stays.
    d.site("FEATURE-A");
    let a = d.json(&["publish", "--preview", "Feature/A", "--version", "fa"]);
    assert_eq!(a["preview"]["name"], "feature-a");
    assert_eq!(a["preview"]["version"], "fa");
    assert_eq!(
        a["preview"]["url"],
        format!("https://{DIST_DOMAIN}/_preview/feature-a")
    );
    assert_eq!(a["live"], "one", "{a}");
    assert_eq!(d.key("live").await.as_deref(), Some("one"));
    assert_eq!(d.key("preview:feature-a").await.as_deref(), Some("fa"));
    let meta: Value = serde_json::from_slice(
        &d.object("_cloudfront-host/previews/feature-a.json")
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(meta["version"], "fa");
    assert!(meta["expires"].as_str().unwrap() > meta["created"].as_str().unwrap());

    // On a GitHub pull request, with no NAME: pr-<n>, and the URL as a step output and in the
    // job summary.
    d.site("PULL-42");
    let gh = tempfile::tempdir().unwrap();
    let output = gh.path().join("output");
    let summary = gh.path().join("summary");
    let out = d
        .cli()
        .args([
            "--format",
            "json",
            "publish",
            "--preview",
            "--version",
            "p42",
        ])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_REF", "refs/pull/42/merge")
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let pr: Value = serde_json::from_slice(&out).unwrap();
    let url = format!("https://{DIST_DOMAIN}/_preview/pr-42");
    assert_eq!(pr["preview"]["name"], "pr-42");
    assert_eq!(pr["preview"]["url"], url);
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(
        outputs.lines().any(|l| l == format!("url={url}")),
        "{outputs}"
    );
    assert!(std::fs::read_to_string(&summary).unwrap().contains(&url));
    // Text mode prints the URL too.
    d.cli()
        .args(["publish", "--preview", "pr-42", "--version", "p42"])
        .assert()
        .success()
        .stdout(predicates::str::contains(url.as_str()));

    // A name that cannot be a DNS label is refused before anything is uploaded.
    let long = "x".repeat(41);
    d.cli()
        .args(["publish", "--preview", &long, "--version", "never"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("41 characters"));
    assert!(
        d.object("_cloudfront-host/versions/never.json")
            .await
            .is_none()
    );

    let list = d.json(&["previews"]);
    let names: Vec<(&str, &str)> = list["previews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["version"].as_str().unwrap()))
        .collect();
    assert_eq!(names, vec![("feature-a", "fa"), ("pr-42", "p42")]);
    for p in list["previews"].as_array().unwrap() {
        assert!(p["created"].is_string() && p["expires"].is_string(), "{p}");
        assert_eq!(p["expired"], false);
    }

    // Each reaches its own bytes through the local edge: cookie, host name, --preview.
    let serve = d.serve(&["--live"]);
    assert!(serve.get("/", &[]).2.contains("LIVE-ONE"));
    assert!(
        serve
            .get("/deep/link", &[("Cookie", "cfh-preview=feature-a")])
            .2
            .contains("FEATURE-A")
    );
    assert!(
        serve
            .get("/", &[("Cookie", "cfh-preview=pr-42")])
            .2
            .contains("PULL-42")
    );
    assert!(
        serve
            .get("/style.css", &[("Host", "pr-42.preview.localhost:8080")])
            .2
            .contains("PULL-42")
    );
    let (status, head, _) = serve.get("/_preview/pr-42", &[]);
    assert_eq!(status, 302);
    assert!(head.contains("location: /\r\n"), "{head}");
    assert!(
        head.contains("set-cookie: cfh-preview=pr-42; secure; httponly; samesite=lax; path=/"),
        "{head}"
    );
    let (status, head, _) = serve.get("/_preview/off", &[("Cookie", "cfh-preview=pr-42")]);
    assert_eq!(status, 302);
    assert!(head.contains("set-cookie: cfh-preview=; "), "{head}");
    assert!(head.contains("max-age=0"), "{head}");
    assert_eq!(
        serve.get("/", &[("Cookie", "cfh-preview=nope")]).0,
        404,
        "an unknown preview is a 404, not the live site"
    );
    drop(serve);
    let one = d.serve(&["--preview", "feature-a"]);
    assert!(one.get("/", &[]).2.contains("FEATURE-A"));
    drop(one);

    // Promote: pr-42's version goes live, nothing uploaded; the preview stays.
    let promoted = d.json(&["promote", "pr-42"]);
    assert_eq!(promoted["live"], "p42");
    assert_eq!(promoted["live_before"], "one");
    assert_eq!(d.key("live").await.as_deref(), Some("p42"));
    assert_eq!(d.key("preview:pr-42").await.as_deref(), Some("p42"));
    d.cli()
        .args(["promote", "nope"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("no preview named nope"));

    // Delete: the key and the metadata go; the version stays for retention.
    let deleted = d.json(&["previews", "delete", "feature-a"]);
    assert_eq!(deleted["removed"], serde_json::json!(["feature-a"]));
    assert_eq!(d.key("preview:feature-a").await, None);
    assert!(
        d.object("_cloudfront-host/previews/feature-a.json")
            .await
            .is_none()
    );
    assert!(
        d.object("_cloudfront-host/versions/fa.json")
            .await
            .is_some()
    );
    d.cli()
        .args(["previews", "delete", "feature-a"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("no preview named feature-a"));
}

#[tokio::test]
async fn expired_previews_are_pruned_and_retention_keeps_what_unexpired_previews_name() {
    let d = deployed("retention.keep = 2\nretention.grace = \"0s\"\n").await;
    d.site("L1");
    d.json(&["publish", "--version", "l1"]);
    d.site("KEEP");
    d.json(&["publish", "--preview", "keep", "--version", "pkeep"]);
    // Its own publish prunes expired previews right after setting it: 2 s keeps it alive
    // until then, even on a loaded machine.
    d.site("SHORT");
    d.json(&[
        "publish",
        "--preview",
        "short",
        "--version",
        "pshort",
        "--set",
        "previews.expire_after=2s",
    ]);
    // Expiry is a point in time; waiting past it is the only honest way to reach it.
    std::thread::sleep(Duration::from_millis(2500));

    let list = d.json(&["previews"]);
    let expired: Vec<(&str, bool)> = list["previews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["expired"].as_bool().unwrap()))
        .collect();
    assert_eq!(expired, vec![("keep", false), ("short", true)]);
    let pruned = d.json(&["previews", "prune"]);
    assert_eq!(pruned["removed"], serde_json::json!(["short"]));
    assert_eq!(d.key("preview:short").await, None);
    assert!(d.key("preview:keep").await.is_some());

    // Live publishes beyond retention.keep: the unexpired preview's version stays, the
    // versions of expired (pruned) previews go.
    for v in ["l2", "l3", "l4"] {
        d.site(v);
        d.json(&["publish", "--version", v]);
    }
    let versions = d.json(&["versions"]);
    let mut ids: Vec<&str> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, vec!["l3", "l4", "pkeep"], "{versions}");
    let serve = d.serve(&["--live"]);
    assert!(
        serve
            .get("/", &[("Cookie", "cfh-preview=keep")])
            .2
            .contains("KEEP")
    );
}

#[tokio::test]
async fn an_expired_preview_goes_with_the_next_live_publish() {
    let d = deployed("retention.keep = 10\n").await;
    d.site("L1");
    d.json(&["publish", "--version", "l1"]);
    d.site("BRIEF");
    d.json(&[
        "publish",
        "--preview",
        "brief",
        "--set",
        "previews.expire_after=2s",
        "--version",
        "pb",
    ]);
    std::thread::sleep(Duration::from_millis(2500));
    d.site("L2");
    d.json(&["publish", "--version", "l2"]);
    assert_eq!(d.key("preview:brief").await, None);
    assert!(
        d.object("_cloudfront-host/previews/brief.json")
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_password_guards_previews_at_the_edge() {
    let d = deployed("access.previews = \"password\"\n").await;
    d.site("OPEN-LIVE");
    d.json(&["publish", "--version", "live1"]);
    d.site("SECRET");
    d.json(&["publish", "--preview", "secret", "--version", "s1"]);
    cargo_cloudfront_host::release::previews::store_password(
        &d.aws.kvs(),
        &d.kvs_arn,
        "correct horse",
    )
    .await
    .unwrap();
    let record = d.key("password").await.unwrap();
    assert!(!record.contains("correct"), "only a salted hash is stored");

    let serve = d.serve(&["--live"]);
    let cookie = ("Cookie", "cfh-preview=secret");
    assert_eq!(serve.get("/", &[]).0, 200, "the live site stays open");
    let (status, head, body) = serve.get("/", &[cookie]);
    assert_eq!(status, 401);
    assert!(
        head.contains("www-authenticate: basic realm=\"preview\""),
        "{head}"
    );
    assert!(!body.contains("SECRET"));
    let wrong = basic("me:wrong");
    assert_eq!(
        serve
            .get("/", &[cookie, ("Authorization", wrong.as_str())])
            .0,
        401
    );
    let right = basic("anyone:correct horse");
    let (status, _, body) = serve.get("/", &[cookie, ("Authorization", right.as_str())]);
    assert_eq!(status, 200);
    assert!(body.contains("SECRET"));
    drop(serve);

    // Rotating is one write; the same password again writes nothing.
    let client = d.aws.kvs();
    assert!(
        !cargo_cloudfront_host::release::previews::store_password(
            &client,
            &d.kvs_arn,
            "correct horse"
        )
        .await
        .unwrap()
    );
    assert!(
        cargo_cloudfront_host::release::previews::store_password(&client, &d.kvs_arn, "new one")
            .await
            .unwrap()
    );
    let serve = d.serve(&["--live"]);
    let old = serve.get("/", &[cookie, ("Authorization", right.as_str())]);
    assert_eq!(old.0, 401, "the old password no longer works");
    let new = basic("x:new one");
    assert_eq!(
        serve.get("/", &[cookie, ("Authorization", new.as_str())]).0,
        200
    );
    drop(serve);
    // One fixed version has no deployed record to check against: served open, and said so.
    let one = d.serve(&["--preview", "secret"]);
    let (status, _, body) = one.get("/", &[]);
    assert_eq!(status, 200);
    assert!(body.contains("SECRET"));
}

#[tokio::test]
async fn deploy_without_a_password_stops_before_changing_anything() {
    let d = deployed("access.site = \"password\"\n").await;
    d.site("X");
    d.cli()
        .args(["deploy", "--no-publish"])
        .env_remove("CLOUDFRONT_HOST_PASSWORD")
        .assert()
        .failure()
        .stderr(predicates::str::contains("CLOUDFRONT_HOST_PASSWORD"));
    assert_eq!(d.key("password").await, None);
}

#[test]
fn help_has_examples() {
    for cmd in [
        &["previews", "--help"][..],
        &["promote", "--help"],
        &["publish", "--help"],
    ] {
        support::cli_offline()
            .args(cmd)
            .assert()
            .success()
            .stdout(predicates::str::contains("Examples:"))
            .stdout(predicates::str::contains("preview"));
    }
}

/// `deploy` with `previews.domain` and `access.previews = "password"`: `*.<previews.domain>`
/// is on the certificate, among the distribution's aliases and in Route 53 (which lists it as
/// `\052`); the function routes by it and asks for the password; the KVS holds only a salted
/// hash. A second deploy writes nothing at all.
#[tokio::test]
async fn deploy_serves_previews_under_a_wildcard_name_with_a_password() {
    use cargo_cloudfront_host::release::previews::password_matches;
    let apex = format!("{}.example.org", support::unique("wild"));
    let www = format!("www.{apex}");
    let previews = format!("preview.{apex}");
    let wildcard = format!("*.{previews}");
    let name = support::unique("prvd");
    let (_tmp, dir) = support::package(&format!(
        "[package.metadata.cloudfront]\nname = \"{name}\"\nregion = \"{REGION}\"\nframework = \"static\"\nbuild.output_dir = \"dist\"\n\
         domain.name = \"{www}\"\npreviews.domain = \"{previews}\"\naccess.previews = \"password\"\n"
    ));
    let aws = support::aws(REGION).await;
    let zone = aws
        .route53()
        .create_hosted_zone()
        .name(&apex)
        .caller_reference(support::unique("ref"))
        .send()
        .await
        .unwrap()
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();
    let key = support::unique("AKIAPRV").to_ascii_uppercase();
    let deploy = || {
        let out = support::cli_with_key(&key)
            .current_dir(&dir)
            .env("CLOUDFRONT_HOST_PASSWORD", "open sesame")
            .args(["--format", "json", "deploy", "--no-publish"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice::<Value>(&out).unwrap()
    };
    let out = deploy();
    let dist_id = out["distribution_id"].as_str().unwrap().to_string();
    let dist = aws
        .cloudfront()
        .get_distribution()
        .id(&dist_id)
        .send()
        .await
        .unwrap()
        .distribution()
        .unwrap()
        .clone();
    let config = dist.distribution_config().unwrap();
    let aliases = config.aliases().unwrap().items().to_vec();
    assert!(
        aliases.contains(&wildcard) && aliases.contains(&www),
        "{aliases:?}"
    );
    let cert_arn = config
        .viewer_certificate()
        .unwrap()
        .acm_certificate_arn()
        .unwrap()
        .to_string();
    let cert = aws
        .acm()
        .describe_certificate()
        .certificate_arn(&cert_arn)
        .send()
        .await
        .unwrap();
    let sans = cert
        .certificate()
        .unwrap()
        .subject_alternative_names()
        .to_vec();
    assert!(sans.contains(&wildcard), "{sans:?}");
    let sets = aws
        .route53()
        .list_resource_record_sets()
        .hosted_zone_id(&zone)
        .send()
        .await
        .unwrap();
    let mut kinds: Vec<&str> = sets
        .resource_record_sets()
        .iter()
        .filter(|r| r.name() == format!("\\052.{previews}."))
        .filter(|r| {
            r.alias_target()
                .is_some_and(|a| a.dns_name().trim_end_matches('.') == dist.domain_name())
        })
        .map(|r| r.r#type().as_str())
        .collect();
    kinds.sort();
    assert_eq!(kinds, vec!["A", "AAAA"], "{sets:?}");

    // The function deployed routes by the preview domain and checks the password.
    let names = Names::new(&Scope {
        account: support::ACCOUNT,
        region: REGION,
        repository: None,
        project: &name,
    });
    let code = aws
        .cloudfront()
        .get_function()
        .name(names.function())
        .stage(aws_sdk_cloudfront::types::FunctionStage::Live)
        .send()
        .await
        .unwrap()
        .function_code
        .unwrap()
        .into_inner();
    let code = String::from_utf8(code).unwrap();
    assert!(code.contains(&format!("const PREVIEW_DOMAIN = '{previews}';")));
    assert!(code.contains("const ACCESS_PREVIEWS = 'password';"));
    assert!(code.contains("const ACCESS_SITE = 'open';"));
    assert!(!code.contains("open sesame"));
    let kvs_arn = aws
        .cloudfront()
        .describe_key_value_store()
        .name(names.kvs())
        .send()
        .await
        .unwrap()
        .key_value_store()
        .unwrap()
        .arn()
        .to_string();
    let record = aws
        .kvs()
        .get_key()
        .kvs_arn(&kvs_arn)
        .key("password")
        .send()
        .await
        .unwrap()
        .value()
        .to_string();
    assert!(password_matches(&record, "open sesame"));
    assert!(!record.contains("open sesame"));

    // Nothing changed: nothing written, the wildcard record included.
    let since = support::last_request_seq(&key);
    let again = deploy();
    let changed: Vec<&Value> = again["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "none")
        .collect();
    assert!(changed.is_empty(), "{changed:?}");
    let writes = support::write_calls(&key, since);
    assert!(writes.is_empty(), "a re-deploy wrote: {writes:?}");
}

/// ListKeys pages (10 keys a page unless asked otherwise): every preview is listed, however
/// many there are.
#[tokio::test]
async fn previews_are_listed_across_pages_of_keys() {
    let d = deployed("").await;
    let client = d.aws.kvs();
    for i in 0..23 {
        let etag = client
            .describe_key_value_store()
            .kvs_arn(&d.kvs_arn)
            .send()
            .await
            .unwrap()
            .e_tag()
            .to_string();
        client
            .put_key()
            .kvs_arn(&d.kvs_arn)
            .key(format!("preview:p{i:02}"))
            .value(format!("v{i}"))
            .if_match(etag)
            .send()
            .await
            .unwrap();
    }
    let list = d.json(&["previews"]);
    let previews = list["previews"].as_array().unwrap();
    assert_eq!(previews.len(), 23, "{list}");
    // No metadata object: shown, never expiring by itself.
    assert_eq!(previews[0]["expires"], Value::Null);
    assert_eq!(previews[0]["expired"], false);
}
