//! `publish`, `versions`, `rollback` and retention against the emulator, through the CLI.

use crate::support;
use cargo_cloudfront_host::release::manifest::Manifest;
use cargo_cloudfront_host::release::shards;

use std::path::{Path, PathBuf};

use predicates::prelude::*;

const REGION: &str = "eu-west-1";
const WASM: &str = "app-9f3c2a1b4d5e6f70_bg.wasm";
const JS: &str = "app-9f3c2a1b4d5e6f70.js";

/// A project whose bucket and KeyValueStore exist (what `deploy` creates), and its site dir.
struct Deployed {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    site: PathBuf,
    bucket: String,
    kvs_arn: String,
    s3: aws_sdk_s3::Client,
    kvs: aws_sdk_cloudfrontkeyvaluestore::Client,
}

async fn deployed(metadata: &str) -> Deployed {
    let ready = support::publish_ready("pub", REGION, metadata).await;
    let site = ready.dir.join("dist");
    write_site(&site, "v1", 1);
    Deployed {
        bucket: ready.names.bucket(),
        kvs_arn: ready.kvs_arn,
        s3: ready.aws.s3(),
        kvs: ready.aws.kvs(),
        _tmp: ready.tmp,
        dir: ready.dir,
        site,
    }
}

use support::write;

/// A small Trunk-like site: `label` goes into index.html, `wasm_seed` decides the wasm bytes.
fn write_site(dir: &Path, label: &str, wasm_seed: u8) {
    write(
        dir,
        "index.html",
        format!("<!doctype html><title>{label}</title><script type=module src=/{JS}></script>")
            .as_bytes(),
    );
    write(dir, JS, b"import init from './app_bg.wasm'; init();");
    let wasm: Vec<u8> = (0..40_000u32)
        .map(|i| (i as u8).wrapping_mul(wasm_seed))
        .collect();
    write(dir, WASM, &wasm);
    write(dir, "style.css", b"body { color: red }");
    write(dir, "docs/guide/index.html", b"<h1>guide</h1>");
}

impl Deployed {
    fn publish(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        support::cli()
            .current_dir(&self.dir)
            .args(["publish", "--format", "json"])
            .args(args)
            .assert()
    }

    fn publish_ok(&self, args: &[&str]) -> serde_json::Value {
        let out = self.publish(args).success().get_output().stdout.clone();
        serde_json::from_slice(&out).unwrap()
    }

    async fn live(&self) -> Option<String> {
        support::live_version(&self.kvs, &self.kvs_arn).await
    }

    async fn head(
        &self,
        key: &str,
    ) -> Option<aws_sdk_s3::operation::head_object::HeadObjectOutput> {
        self.s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .ok()
    }

    async fn keys(&self, prefix: &str) -> Vec<String> {
        let out = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(String::from))
            .collect()
    }
}

#[tokio::test]
async fn publish_puts_every_object_in_place_and_flips_the_pointer() {
    let d = deployed("").await;
    let report = d.publish_ok(&["--version", "v1"]);
    assert_eq!(report["live"], "v1");
    assert_eq!(report["live_before"], serde_json::Value::Null);
    assert_eq!(
        (report["files"].as_u64(), report["uploaded"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(d.live().await.as_deref(), Some("v1"));

    let index = d
        .head("v1/index.html")
        .await
        .expect("index in the version folder");
    assert_eq!(index.content_type(), Some("text/html; charset=utf-8"));
    assert_eq!(index.cache_control(), Some("no-cache"));
    let wasm = d
        .head(&format!("_immutable/{WASM}"))
        .await
        .expect("hashed wasm in _immutable");
    assert_eq!(wasm.content_type(), Some("application/wasm"));
    assert_eq!(
        wasm.cache_control(),
        Some("public, max-age=31536000, immutable")
    );
    assert!(
        d.head(&format!("v1/{WASM}")).await.is_none(),
        "hashed files are not in the version folder"
    );
    for (suffix, encoding) in [(".br", "br"), (".gz", "gzip")] {
        let sibling = d
            .head(&format!("_immutable/{WASM}{suffix}"))
            .await
            .expect("precompressed sibling");
        assert_eq!(sibling.content_encoding(), Some(encoding));
        assert_eq!(sibling.content_type(), Some("application/wasm"));
        assert!(sibling.content_length().unwrap() < 40_000);
    }
    assert!(
        d.head(&format!("_immutable/{JS}.br")).await.is_none(),
        "js is not in `precompress`"
    );
    let js = d.head(&format!("_immutable/{JS}")).await.unwrap();
    assert_eq!(js.content_type(), Some("text/javascript; charset=utf-8"));
    let manifest = d.head("_cloudfront-host/versions/v1.json").await;
    assert!(manifest.is_some(), "manifest written");

    let out = support::cli()
        .current_dir(&d.dir)
        .args(["show", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let shown: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(shown["live"], "v1");
    assert_eq!(shown["resources"][0]["name"], d.bucket.as_str());
}

#[tokio::test]
async fn second_publish_sends_only_what_changed_and_rollback_switches_back() {
    let d = deployed("").await;
    d.publish_ok(&["--version", "v1"]);
    write(&d.site, "index.html", b"<!doctype html><title>v2</title>");
    let report = d.publish_ok(&["--version", "v2"]);
    assert_eq!(report["live"], "v2");
    assert_eq!(report["live_before"], "v1");
    // index.html uploaded; what shares its shard copied server-side; the other shards stay in
    // v1's folder and hashed files in _immutable/, untouched.
    let pages = ["index.html", "style.css", "docs/guide/index.html"];
    let mates = shard_mates("index.html", &pages, pages.len());
    assert_eq!(report["uploaded"], 1, "{report}");
    assert_eq!(report["copied"], mates.len(), "{report}");
    assert_eq!(report["unchanged"], 4 - mates.len(), "{report}");
    assert_eq!(
        report["requests"]["put"], 3,
        "the claim, index.html and the manifest: {report}"
    );
    assert_eq!(report["requests"]["copy"], mates.len(), "{report}");
    let css = if mates.contains(&"style.css") {
        "v2/style.css"
    } else {
        "v1/style.css"
    };
    let stored = d.head(css).await.expect("stored");
    assert_eq!(stored.content_type(), Some("text/css; charset=utf-8"));
    d.assert_stored("v2", &site_files(&d.site)).await;

    let out = support::cli()
        .current_dir(&d.dir)
        .args(["versions", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let versions: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(versions["live"], "v2");
    let ids: Vec<&str> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["v2", "v1"]);
    assert_eq!(versions["versions"][0]["files"], 5);

    support::cli()
        .current_dir(&d.dir)
        .arg("rollback")
        .assert()
        .success()
        .stdout(predicate::str::contains("v1 is live (was v2)"));
    assert_eq!(d.live().await.as_deref(), Some("v1"));
    support::cli()
        .current_dir(&d.dir)
        .args(["rollback", "v2"])
        .assert()
        .success();
    assert_eq!(d.live().await.as_deref(), Some("v2"));
    support::cli()
        .current_dir(&d.dir)
        .args(["rollback", "nope"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("version nope has no manifest"));
    assert_eq!(d.live().await.as_deref(), Some("v2"));

    // Re-publishing an existing id with the same files only switches; with other files it is refused.
    write_site(&d.site, "v1", 1);
    let report = d.publish_ok(&["--version", "v1"]);
    assert_eq!(
        (
            report["already_published"].as_bool(),
            report["live"].as_str()
        ),
        (Some(true), Some("v1"))
    );
    write(&d.site, "style.css", b"body { color: blue }");
    d.publish(&["--version", "v2"])
        .failure()
        .stdout(predicate::str::contains(
            "version v2 already exists with different content",
        ));
    assert_eq!(d.live().await.as_deref(), Some("v1"));
}

#[tokio::test]
async fn a_publish_reads_back_only_the_objects_it_did_not_write_itself() {
    let d = deployed("").await;
    d.publish_ok(&["--version", "v1"]);
    write(&d.site, "index.html", b"<!doctype html><title>v2</title>");
    // Staged only: the flip's retention would list the bucket too.
    let report = d.publish_ok(&["--version", "v2", "--no-switch"]);
    let pages = ["index.html", "style.css", "docs/guide/index.html"];
    let mates = shard_mates("index.html", &pages, pages.len());
    assert_eq!(report["uploaded"], 1, "{report}");
    assert_eq!(report["copied"], mates.len(), "{report}");
    // A new claim means an empty folder, and the shared area is asked only for the site's
    // hashed names, so nothing is listed. The upload was checked by S3 (its SHA-256) and each
    // copy answered with the file's MD5 as its ETag; the unchanged shards stay where the live
    // manifest has them; only the four shared objects v2 reuses (the wasm, its two siblings,
    // the js) are read back after the manifest, as before it.
    assert_eq!(report["requests"]["list"], 0, "{report}");
    assert_eq!(
        report["requests"]["head"], 8,
        "4 before and 4 after: {report}"
    );
    let mut own = d.keys("v2/").await;
    own.sort();
    let mut expected: Vec<String> = std::iter::once("index.html")
        .chain(mates)
        .map(|p| format!("v2/{p}"))
        .collect();
    expected.sort();
    assert_eq!(own, expected);
}

#[tokio::test]
async fn retention_keeps_live_previous_and_newest_and_drops_orphaned_immutable_files() {
    let d = deployed("retention = { keep = 2, grace = \"0s\" }\n").await;
    d.publish_ok(&["--version", "r1"]);
    let old_wasm = format!("_immutable/{WASM}");
    // A new build: new wasm bytes under a new hashed name.
    std::fs::remove_file(d.site.join(WASM)).unwrap();
    let new_wasm_name = "app-0a1b2c3d4e5f6071_bg.wasm";
    write(&d.site, new_wasm_name, b"\0asm new build");
    d.publish_ok(&["--version", "r2"]);
    let r3 = d.publish_ok(&["--version", "r3"]);
    // Each switch applies retention: keep 2 (and the previous), so r1 goes when r3 goes live.
    assert_eq!(
        r3["retention"]["deleted_versions"],
        serde_json::json!(["r1"]),
        "{r3}"
    );
    let r4 = d.publish_ok(&["--version", "r4"]);
    assert_eq!(
        r4["retention"]["deleted_versions"],
        serde_json::json!(["r2"]),
        "{r4}"
    );
    assert_eq!(
        r4["retention"]["kept"],
        serde_json::json!(["r4", "r3"]),
        "{r4}"
    );
    // r1's folder keeps only what a kept version still serves from it (its unchanged shards).
    let mut kept: Vec<Manifest> = Vec::new();
    for v in ["r3", "r4"] {
        let body = d.body(&format!("_cloudfront-host/versions/{v}.json")).await;
        kept.push(serde_json::from_slice(&body).unwrap());
    }
    for key in d.keys("r1/").await {
        assert!(
            kept.iter().any(|m| m.keys().any(|k| k == key)),
            "{key} is left though no kept version serves it"
        );
    }
    assert!(d.head("_cloudfront-host/versions/r1.json").await.is_none());
    for key in kept[0].keys() {
        assert!(d.head(key).await.is_some(), "previous version kept: {key}");
    }
    assert!(
        d.head(&old_wasm).await.is_none(),
        "r1's wasm is referenced by no kept version"
    );
    assert!(d.head(&format!("{old_wasm}.br")).await.is_none());
    assert!(
        d.head(&format!("_immutable/{new_wasm_name}"))
            .await
            .is_some()
    );
}

#[tokio::test]
async fn bad_sites_fail_before_any_upload() {
    let d = deployed("").await;
    let empty = d.dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    d.publish(&["--dir", empty.to_str().unwrap(), "--version", "e1"])
        .failure()
        .stdout(predicate::str::contains("is empty"));
    d.publish(&["--dir", "does-not-exist", "--version", "e1"])
        .failure()
        .stdout(predicate::str::contains("does-not-exist"));
    std::os::unix::fs::symlink(d.dir.join("missing-target"), d.site.join("broken")).unwrap();
    d.publish(&["--version", "e1"])
        .failure()
        .stdout(predicate::str::contains("cannot read").and(predicate::str::contains("broken")));
    assert!(d.keys("").await.is_empty(), "nothing was uploaded");
    assert_eq!(d.live().await, None);
}

#[tokio::test]
async fn publishing_before_deploy_says_to_deploy() {
    let (_tmp, dir) = support::package(&format!(
        "[package.metadata.cloudfront]\nname = \"{}\"\n",
        support::unique("nodeploy")
    ));
    write(&dir.join("dist"), "index.html", b"x");
    support::cli()
        .current_dir(&dir)
        .args(["publish", "--dir", "dist"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("not deployed yet")
                .and(predicate::str::contains("cargo cloudfront-host deploy")),
        );
}

#[tokio::test]
async fn a_failed_upload_changes_nothing_live_and_a_rerun_finishes_without_resending() {
    let d = deployed("").await;
    d.publish_ok(&["--version", "v1"]);
    write(&d.site, "index.html", b"<title>v2</title>");
    write(&d.site, "docs/guide/index.html", b"<h1>guide v2</h1>");
    write(&d.site, "extra/a.txt", b"a");
    // Every upload of the guide page fails, past the SDK's retries.
    let fault = support::hook(
        "/_emulator/faults",
        serde_json::json!({"method": "PUT", "path": format!("/{}/v2/docs/guide/index.html", d.bucket), "status": 500, "code": "InternalError", "message": "injected", "count": 50}),
    );
    d.publish(&["--version", "v2"])
        .failure()
        .stdout(predicate::str::contains("live version is unchanged"));
    assert_eq!(d.live().await.as_deref(), Some("v1"));
    assert!(
        d.head("_cloudfront-host/versions/v2.json").await.is_none(),
        "no manifest for an incomplete version"
    );
    let sent_before = d.keys("v2/").await;
    assert!(
        !sent_before.is_empty(),
        "some files made it before the failure"
    );
    support::hook_delete(&format!(
        "/_emulator/faults/{}",
        fault["id"].as_str().unwrap()
    ));

    let report = d.publish_ok(&["--version", "v2"]);
    assert_eq!(report["live"], "v2");
    // Only what was not already stored is sent again (the guide page, plus the claim, met as
    // already held by the same files, and the manifest). (The failing upload retried with
    // backoff for seconds; the small ones had long finished.)
    assert_eq!(report["requests"]["put"], 3, "{report}");
    assert_eq!(report["uploaded"], 1, "{report}");
    assert_eq!(d.live().await.as_deref(), Some("v2"));
}

#[tokio::test]
async fn a_concurrent_publish_that_wins_the_flip_makes_the_other_fail() {
    let d = deployed("upload.concurrency = 1\n").await;
    d.publish_ok(&["--version", "base"]);
    // A slow publish (many files, one request at a time)...
    let slow_site = d.dir.join("slow");
    for i in 0..300 {
        write(
            &slow_site,
            &format!("p/{i}.html"),
            format!("page {i}").as_bytes(),
        );
    }
    let mut slow =
        std::process::Command::new(assert_cmd::cargo::cargo_bin("cargo-cloudfront-host"));
    slow.current_dir(&d.dir)
        .args([
            "publish",
            "--dir",
            "slow",
            "--version",
            "slow",
            "--format",
            "json",
        ])
        .env_clear()
        .envs(support::cli_env())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let slow = slow.spawn().unwrap();
    // ...and a quick one that starts after it and flips first.
    for _ in 0..200 {
        if !d.keys("slow/").await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    d.publish_ok(&["--version", "quick"]);
    let out = slow.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "the slower publish must lose: {stdout}"
    );
    assert!(
        stdout.contains("another deploy changed the live version"),
        "{stdout}"
    );
    assert!(stdout.contains("quick"), "{stdout}");
    assert_eq!(d.live().await.as_deref(), Some("quick"));
}

#[tokio::test]
async fn large_files_go_up_in_parts_and_are_verified() {
    let d = deployed("precompress = []\nupload.multipart_threshold_mib = 5\n").await;
    let big: Vec<u8> = (0..(11u32 << 20) / 4)
        .flat_map(|i| i.to_le_bytes())
        .collect();
    write(&d.site, "media/big.bin", &big);
    let report = d.publish_ok(&["--version", "m1"]);
    // 11 MiB in 5 MiB parts: three parts, one multipart upload, verified with a HEAD.
    assert_eq!(report["requests"]["multipart_uploads"], 1, "{report}");
    assert_eq!(report["requests"]["parts"], 3, "{report}");
    let head = d.head("m1/media/big.bin").await.expect("stored");
    assert_eq!(head.content_length(), Some(big.len() as i64));
    let body =
        d.s3.get_object()
            .bucket(&d.bucket)
            .key("m1/media/big.bin")
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
    assert!(body[..] == big[..], "bytes round-trip");
}

impl Deployed {
    async fn body(&self, key: &str) -> Vec<u8> {
        self.s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {key}: {e:?}"))
            .body
            .collect()
            .await
            .unwrap()
            .to_vec()
    }

    /// The next `count` writes under `s3://bucket/<version>/` are answered 503 SlowDown, as S3
    /// answers a client above its request rate.
    fn slow_down(&self, version: &str, count: u32) {
        support::hook(
            "/_emulator/faults",
            serde_json::json!({"method": "PUT", "path": format!("^/{}/{version}/", self.bucket), "status": 503, "code": "SlowDown", "message": "Please reduce your request rate.", "count": count}),
        );
    }

    /// Every file of the site is in the version's folder (or `_immutable/`) with its bytes,
    /// and the version's manifest lists them all.
    /// Every file of `version` holds its bytes where the version's pointer value routes it
    /// (its own folder, an older one's for an unchanged shard, or `_immutable/`).
    async fn assert_stored(&self, version: &str, files: &[(String, Vec<u8>)]) {
        let manifest: Manifest = serde_json::from_slice(
            &self
                .body(&format!("_cloudfront-host/versions/{version}.json"))
                .await,
        )
        .unwrap();
        let pointer = shards::Pointer::parse(&shards::pointer_value(&manifest).unwrap()).unwrap();
        for (rel, bytes) in files {
            let key = if rel == WASM || rel == JS {
                format!("_immutable/{rel}")
            } else {
                format!("{}/{rel}", pointer.folder(rel))
            };
            assert_eq!(
                manifest.file(rel).map(|f| f.key.as_str()),
                Some(key.as_str())
            );
            assert!(self.body(&key).await == *bytes, "{key} has its bytes");
        }
        assert_eq!(manifest.files.len(), files.len());
    }
}

/// The files of `paths` in the same shard as `changed` (itself aside), for a site of `files`
/// un-hashed files: what a publish that changes only `changed` copies.
fn shard_mates<'a>(changed: &str, paths: &[&'a str], files: usize) -> Vec<&'a str> {
    let n = shards::count_for(files);
    paths
        .iter()
        .copied()
        .filter(|p| *p != changed && shards::shard_of(p, n) == shards::shard_of(changed, n))
        .collect()
}

/// The site's files, relative path and bytes.
fn site_files(site: &Path) -> Vec<(String, Vec<u8>)> {
    walkdir_files(site, site)
}

fn walkdir_files(root: &Path, dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walkdir_files(root, &path));
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read(&path).unwrap()));
        }
    }
    out
}

#[tokio::test]
async fn a_publish_under_slowdown_backs_off_and_loses_nothing() {
    let d = deployed("").await;
    for i in 0..60 {
        write(
            &d.site,
            &format!("p/{i}.html"),
            format!("<h1>page {i}</h1>").as_bytes(),
        );
    }
    // Cold: 25 of the uploads are answered SlowDown at first.
    d.slow_down("v1", 25);
    let report = d.publish_ok(&["--version", "v1"]);
    assert_eq!(report["live"], "v1", "{report}");
    assert_eq!(report["concurrency"]["throttled"], 25, "{report}");
    let ceiling = report["concurrency"]["ceiling"].as_u64().unwrap();
    assert_eq!(ceiling, 256, "the default ceiling: {report}");
    // The first SlowDown halves the window: the limiter heard the SDK's retried attempts.
    assert!(
        report["concurrency"]["lowest"].as_u64().unwrap() <= ceiling / 2,
        "{report}"
    );
    d.assert_stored("v1", &site_files(&d.site)).await;
    assert_eq!(d.live().await.as_deref(), Some("v1"));

    // A page changed in every shard: 16 uploads and the rest of the site copied server-side
    // (they share shards with the changed pages), 25 of the requests throttled at first.
    let n = shards::count_for(63);
    let mut changed = std::collections::BTreeSet::new();
    for i in 0..60 {
        if changed.insert(shards::shard_of(&format!("p/{i}.html"), n)) {
            write(
                &d.site,
                &format!("p/{i}.html"),
                format!("<h1>page {i}, v2</h1>").as_bytes(),
            );
        }
    }
    let changed = changed.len() as u64;
    assert_eq!(changed, u64::from(n), "every shard has a page");
    d.slow_down("v2", 25);
    let report = d.publish_ok(&["--version", "v2"]);
    assert_eq!(report["live"], "v2", "{report}");
    assert_eq!(
        (report["uploaded"].as_u64(), report["copied"].as_u64()),
        (Some(changed), Some(63 - changed)),
        "{report}"
    );
    assert_eq!(report["concurrency"]["throttled"], 25, "{report}");
    d.assert_stored("v2", &site_files(&d.site)).await;
    assert_eq!(d.live().await.as_deref(), Some("v2"));
}

#[tokio::test]
async fn a_file_throttled_past_the_sdk_retries_is_sent_again_later() {
    let d = deployed("").await;
    // Seven SlowDowns in a row for one key: more than the SDK's five attempts.
    support::hook(
        "/_emulator/faults",
        serde_json::json!({"method": "PUT", "path": format!("^/{}/v1/style\\.css$", d.bucket), "status": 503, "code": "SlowDown", "message": "Please reduce your request rate.", "count": 7}),
    );
    let report = d.publish_ok(&["--version", "v1"]);
    assert_eq!(report["live"], "v1", "{report}");
    assert_eq!(report["concurrency"]["throttled"], 7, "{report}");
    // The claim, seven objects (the wasm has two siblings), style.css sent twice, the manifest.
    assert_eq!(report["requests"]["put"], 10, "{report}");
    d.assert_stored("v1", &site_files(&d.site)).await;
}

#[tokio::test]
async fn a_publish_killed_mid_way_leaves_live_alone_and_a_rerun_completes_it() {
    let d = deployed("upload.concurrency = 1\n").await;
    d.publish_ok(&["--version", "v1"]);
    for i in 0..300 {
        write(
            &d.site,
            &format!("pages/{i}.html"),
            format!("page {i}").as_bytes(),
        );
    }
    let mut child =
        std::process::Command::new(assert_cmd::cargo::cargo_bin("cargo-cloudfront-host"))
            .current_dir(&d.dir)
            .args(["publish", "--version", "v2", "--format", "json"])
            .env_clear()
            .envs(support::cli_env())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
    let mut sent = 0;
    for _ in 0..500 {
        sent = d.keys("v2/").await.len();
        if sent >= 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL: no cleanup runs
    child.wait().unwrap();
    assert!(sent >= 20, "the publish was under way when killed");
    assert_eq!(d.live().await.as_deref(), Some("v1"));
    assert!(d.head("_cloudfront-host/versions/v2.json").await.is_none());

    let stored = d.keys("v2/").await.len() as u64;
    let report = d.publish_ok(&["--version", "v2"]);
    assert_eq!(report["live"], "v2");
    let uploaded = report["uploaded"].as_u64().unwrap();
    // 300 new pages + the 3 un-hashed files of v1 (copied or resumed): nothing stored twice.
    assert!(
        uploaded <= 300 - (stored.saturating_sub(3)),
        "re-sent stored files: {report}"
    );
    assert_eq!(report["files"], 305);
    assert_eq!(d.keys("v2/").await.len(), 303);
}

#[tokio::test]
async fn turning_precompression_on_adds_siblings_to_files_already_stored() {
    let d = deployed("precompress = []\n").await;
    d.publish_ok(&["--version", "p1"]);
    assert!(d.head(&format!("_immutable/{WASM}.br")).await.is_none());
    let report = d.publish_ok(&["--version", "p2", "--set", "precompress=wasm"]);
    assert_eq!(report["live"], "p2");
    for suffix in [".br", ".gz"] {
        assert!(
            d.head(&format!("_immutable/{WASM}{suffix}"))
                .await
                .is_some(),
            "{suffix} missing: {report}"
        );
    }
    // The wasm itself was not sent again: only its two siblings, the claim and the manifest.
    assert_eq!(report["requests"]["put"], 4, "{report}");
}
