//! What a publish guarantees, tried the way it breaks: two publishes of one version id, lost
//! KeyValueStore responses, failures after the flip, retention racing a publish, private files
//! in the build output, names that are not UTF-8, abandoned version folders, and a publish under
//! injected S3 and KeyValueStore errors. Each case ends by checking the bucket itself: the live
//! version's every object is there with the bytes its manifest names.

use crate::support;
use cargo_cloudfront_host::release::shards;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use predicates::prelude::*;
use sha2::{Digest, Sha256};

const REGION: &str = "eu-west-1";
const WASM: &str = "app-9f3c2a1b4d5e6f70_bg.wasm";
const JS: &str = "app-9f3c2a1b4d5e6f70.js";

struct Deployed {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    site: PathBuf,
    bucket: String,
    kvs_arn: String,
    s3: aws_sdk_s3::Client,
    kvs: aws_sdk_cloudfrontkeyvaluestore::Client,
}

/// A project whose bucket and KeyValueStore exist (what `deploy` creates), with a site in dist/.
async fn deployed(metadata: &str) -> Deployed {
    let ready = support::publish_ready("safe", REGION, metadata).await;
    let site = ready.dir.join("dist");
    write_site(&site, "one", 1);
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

/// A small Trunk-like site with an error page: `label` goes into the pages, `seed` decides the
/// wasm bytes (and so whether the hashed file is shared with another build).
fn write_site(dir: &Path, label: &str, seed: u8) {
    write(
        dir,
        "index.html",
        format!("<!doctype html><title>{label}</title><script type=module src=/{JS}></script>")
            .as_bytes(),
    );
    write(
        dir,
        "404.html",
        format!("<h1>not found ({label})</h1>").as_bytes(),
    );
    write(dir, JS, b"import init from './app_bg.wasm'; init();");
    let wasm: Vec<u8> = (0..20_000u32)
        .map(|i| (i as u8).wrapping_mul(seed))
        .collect();
    write(dir, WASM, &wasm);
    write(
        dir,
        "style.css",
        format!("body {{ --label: '{label}' }}").as_bytes(),
    );
    write(
        dir,
        "docs/guide/index.html",
        format!("<h1>guide {label}</h1>").as_bytes(),
    );
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
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

    /// The binary, not waited for: `publish --dir <site> --version <id>` signed with `key`.
    fn spawn(&self, site: &Path, version: &str, key: &str) -> std::process::Child {
        self.spawn_with(site, &["--version", version], key)
    }

    fn spawn_with(&self, site: &Path, args: &[&str], key: &str) -> std::process::Child {
        Command::new(assert_cmd::cargo::cargo_bin("cargo-cloudfront-host"))
            .current_dir(&self.dir)
            .args(["publish", "--format", "json"])
            .args(args)
            .arg("--dir")
            .arg(site)
            .env_clear()
            .envs(support::cli_env())
            .env("AWS_ACCESS_KEY_ID", key)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    async fn live(&self) -> Option<String> {
        support::live_version(&self.kvs, &self.kvs_arn).await
    }

    /// The live pointer value as stored (the version and where its shards are).
    async fn live_value(&self) -> Option<String> {
        support::live_value(&self.kvs, &self.kvs_arn).await
    }

    /// Stages `version` (no switch) from the site, its manifest write held back `delay_ms`
    /// by a fault on requests signed with a fresh key; returns once that write has started.
    async fn stage_held(&self, version: &str, delay_ms: u64) -> (std::process::Child, Fault) {
        let key = support::unique("AKIDHELD");
        let held = fault(serde_json::json!({
            "method": "PUT", "path": format!("_cloudfront-host/versions/{version}.json$"),
            "access_key": key, "mode": "delay", "delay_ms": delay_ms, "count": 1,
        }));
        let child = self.spawn_with(&self.site, &["--version", version, "--no-switch"], &key);
        assert!(
            manifest_write_seen(&key, version).await,
            "{version} reached its manifest"
        );
        (child, held)
    }

    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let out = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(out.body.collect().await.unwrap().into_bytes().to_vec())
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

    async fn manifest(&self, version: &str) -> serde_json::Value {
        let bytes = self
            .get(&format!("_cloudfront-host/versions/{version}.json"))
            .await
            .unwrap_or_else(|| panic!("no manifest for {version}"));
        serde_json::from_slice(&bytes).unwrap()
    }

    /// The live version is complete and consistent: every object its manifest names (siblings
    /// included) holds exactly the bytes the manifest's SHA-256 says, and the root error page is
    /// that version's. Returns the live version and its index.html.
    async fn assert_live_consistent(&self) -> (String, String) {
        let value = self.live_value().await.expect("something is live");
        let pointer = shards::Pointer::parse(&value).expect("a pointer value");
        let live = pointer.version().to_string();
        let manifest = self.manifest(&live).await;
        for file in manifest["files"].as_array().unwrap() {
            // The function finds each file where the manifest put it.
            let (path, key) = (
                file["path"].as_str().unwrap(),
                file["key"].as_str().unwrap(),
            );
            if !key.starts_with("_immutable/") {
                assert_eq!(
                    key,
                    format!("{}/{path}", pointer.folder(path)),
                    "live {value}"
                );
            }
            let mut objects = vec![(
                file["key"].as_str().unwrap(),
                file["sha256"].as_str().unwrap(),
            )];
            if let Some(enc) = file["encodings"].as_object() {
                for v in enc.values() {
                    objects.push((v["key"].as_str().unwrap(), v["sha256"].as_str().unwrap()));
                }
            }
            for (key, sha) in objects {
                let body = self
                    .get(key)
                    .await
                    .unwrap_or_else(|| panic!("live {live} misses {key}"));
                assert_eq!(sha256(&body), sha, "live {live}: {key} holds other bytes");
            }
            if file["path"] == "404.html" {
                let root = self.get("404.html").await.expect("root error page");
                assert_eq!(
                    sha256(&root),
                    file["sha256"].as_str().unwrap(),
                    "the root error page is not live {live}'s"
                );
            }
        }
        let index = self
            .get(&format!("{}/index.html", pointer.folder("index.html")))
            .await
            .unwrap();
        (live, String::from_utf8(index).unwrap())
    }
}

/// Injects a fault and returns a guard that removes exactly that one when dropped (tests in
/// this binary run side by side: clearing every fault would clear theirs too).
struct Fault(String);

/// Waits (up to 6 s) until a publish signed with `key` has sent the PUT of `version`'s manifest.
async fn manifest_write_seen(key: &str, version: &str) -> bool {
    let path = format!("versions/{version}.json");
    for _ in 0..600 {
        if support::requests(key, 0)
            .iter()
            .any(|r| r["method"] == "PUT" && r["path"].as_str().is_some_and(|p| p.ends_with(&path)))
        {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

fn fault(spec: serde_json::Value) -> Fault {
    let made = support::hook("/_emulator/faults", spec);
    Fault(made["id"].as_str().expect("fault id").to_string())
}

impl Drop for Fault {
    fn drop(&mut self) {
        let url = format!("{}/_emulator/faults/{}", support::emulator(), self.0);
        let _ = ureq::delete(&url).call();
    }
}

/// A KVS data-plane path regex for this store's `live` key (the ARN is percent-encoded).
fn live_key_path(d: &Deployed) -> String {
    let id = d.kvs_arn.rsplit('/').next().unwrap();
    format!("{id}/keys/live$")
}

#[tokio::test]
async fn a_second_publish_of_one_id_with_other_files_stops_before_writing_anything() {
    let d = deployed("").await;
    // The first publish of `same` is interrupted: its guide page never arrives.
    let guide = fault(
        serde_json::json!({"method": "PUT", "path": format!("^/{}/same/docs/guide/index.html$", d.bucket),
                           "status": 500, "code": "InternalError", "count": 50}),
    );
    d.publish(&["--version", "same"]).failure();
    drop(guide);
    assert!(
        !d.keys("same/").await.is_empty(),
        "the first publish wrote part of the version"
    );

    // Another build under the same id is refused, and writes nothing at all.
    let other = d.dir.join("other");
    write_site(&other, "two", 2);
    let key = support::unique("AKIDSAME");
    support::cli_with_key(&key)
        .current_dir(&d.dir)
        .args(["publish", "--version", "same", "--dir", "other"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "version same was claimed by another publish with different files",
        ));
    // Its one write request is the claim, which S3 refused (412): nothing was changed.
    let writes: Vec<(String, u64)> = support::requests(&key, 0)
        .iter()
        .filter(|r| r["write"] == true)
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["status"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        writes,
        [(
            format!("/{}/_cloudfront-host/claims/same.json", d.bucket),
            412
        )],
        "only the refused claim"
    );

    // The same files as the first publish finish its work.
    let report = d.publish_ok(&["--version", "same"]);
    assert_eq!(report["live"], "same", "{report}");
    let (live, index) = d.assert_live_consistent().await;
    assert_eq!(live, "same");
    assert!(index.contains("<title>one</title>"), "{index}");
}

#[tokio::test]
async fn racing_publishes_of_one_id_with_other_files_never_leave_live_corrupt() {
    let d = deployed("upload.concurrency = 2\n").await;
    let (a, b) = (d.dir.join("a"), d.dir.join("b"));
    // Differ in every un-hashed file (a timestamp in a bundle is enough), share the hashed ones.
    write_site(&a, "build-a", 1);
    write_site(&b, "build-b", 1);
    for i in 0..40 {
        write(&a, &format!("p/{i}.html"), format!("a {i}").as_bytes());
        write(
            &b,
            &format!("p/{i}.html"),
            format!("b {i} longer").as_bytes(),
        );
    }
    const TRIALS: usize = 4;
    let mut outcomes = Vec::new();
    for trial in 0..TRIALS {
        let version = format!("race{trial}");
        let first = d.spawn(&a, &version, "test");
        let second = d.spawn(&b, &version, "test");
        let (first, second) = (
            first.wait_with_output().unwrap(),
            second.wait_with_output().unwrap(),
        );
        let ok = [first.status.success(), second.status.success()];
        assert_eq!(
            ok.iter().filter(|s| **s).count(),
            1,
            "trial {trial}: exactly one of two different builds of one id may publish it: {}\n{}",
            String::from_utf8_lossy(&first.stdout),
            String::from_utf8_lossy(&second.stdout)
        );
        let loser = if ok[0] { &second } else { &first };
        let said = String::from_utf8_lossy(&loser.stdout);
        assert!(
            said.contains("claimed by another publish")
                || said.contains("already exists with different content"),
            "{said}"
        );
        let (live, index) = d.assert_live_consistent().await;
        assert_eq!(live, version);
        let winner = if ok[0] { "build-a" } else { "build-b" };
        assert!(
            index.contains(winner),
            "trial {trial}: live index is not the winner's: {index}"
        );
        outcomes.push(winner);
    }
    eprintln!("same-id race: {TRIALS} trials, winners {outcomes:?}, live consistent in all");
}

#[tokio::test]
async fn a_lost_putkey_response_is_read_back_not_reported_as_unchanged() {
    let d = deployed("").await;
    d.publish_ok(&["--version", "v1"]);
    // The flip reaches the store, its response is lost; the SDK's retry then meets the ETag
    // its own first attempt changed.
    let lost = fault(
        serde_json::json!({"method": "PUT", "path": live_key_path(&d), "mode": "after", "status": 500,
                           "code": "InternalServerException", "count": 1}),
    );
    write(&d.site, "index.html", b"<title>v2</title>");
    let report = d.publish_ok(&["--version", "v2"]);
    assert_eq!(report["live"], "v2", "{report}");
    assert_eq!(d.live().await.as_deref(), Some("v2"));
    drop(lost);

    // Every response lost: the writes still happened, and the tool says so.
    let all_lost = fault(
        serde_json::json!({"method": "PUT", "path": live_key_path(&d), "mode": "after", "status": 500,
                           "code": "InternalServerException", "count": -1}),
    );
    write(&d.site, "index.html", b"<title>v3</title>");
    let report = d.publish_ok(&["--version", "v3"]);
    assert_eq!(report["live"], "v3", "{report}");
    drop(all_lost);

    // A flip that really failed says what is live, from a read.
    let failing = fault(
        serde_json::json!({"method": "PUT", "path": live_key_path(&d), "status": 500,
                           "code": "InternalServerException", "count": -1}),
    );
    write(&d.site, "index.html", b"<title>v4</title>");
    d.publish(&["--version", "v4"])
        .failure()
        .stdout(predicate::str::contains("still v3 (read back)"));
    drop(failing);
    assert_eq!(d.live().await.as_deref(), Some("v3"));
    d.assert_live_consistent().await;
}

#[tokio::test]
async fn a_failure_after_the_flip_says_what_is_live_and_a_rerun_repairs_it() {
    let d = deployed("").await;
    d.publish_ok(&["--version", "v1"]);
    write(&d.site, "404.html", b"<h1>v2 not found</h1>");
    let page = fault(
        serde_json::json!({"method": "PUT", "path": format!("^/{}/404.html$", d.bucket),
                           "status": 500, "code": "InternalError", "count": -1}),
    );
    d.publish(&["--version", "v2"]).failure().stdout(
        predicate::str::contains("v2 is live (read back)")
            .and(predicate::str::contains("unchanged").not()),
    );
    drop(page);
    assert_eq!(d.live().await.as_deref(), Some("v2"));
    assert_ne!(d.get("404.html").await.unwrap(), b"<h1>v2 not found</h1>");

    // Objects lost from the bucket are found and sent again by a re-run too, wherever the
    // version keeps them (its own folder, or v1's for an unchanged shard).
    let manifest = d.manifest("v2").await;
    let guide = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "docs/guide/index.html")
        .unwrap()["key"]
        .as_str()
        .unwrap()
        .to_string();
    d.s3.delete_object()
        .bucket(&d.bucket)
        .key(&guide)
        .send()
        .await
        .unwrap();
    let report = d.publish_ok(&["--version", "v2"]);
    assert_eq!(report["already_published"], true, "{report}");
    assert_eq!(report["repaired"], 1, "{report}");
    assert_eq!(d.get("404.html").await.unwrap(), b"<h1>v2 not found</h1>");
    d.assert_live_consistent().await;
}

#[tokio::test]
async fn retention_never_deletes_what_a_publish_in_flight_reuses() {
    let d = deployed("upload.concurrency = 1\nretention = { keep = 2, grace = \"3s\" }\n").await;
    // v1 holds the wasm; v2 (live) does not.
    d.publish_ok(&["--version", "v1"]);
    let shared = format!("_immutable/{WASM}");
    std::fs::remove_file(d.site.join(WASM)).unwrap();
    write(&d.site, "index.html", b"<title>v2, no wasm</title>");
    d.publish_ok(&["--version", "v2"]);
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await; // v1 and the wasm age past the grace period

    // A (v3, without the wasm) goes live; its retention's deletions are slowed...
    let slow_key = support::unique("AKIDRETAIN");
    let slow = fault(
        serde_json::json!({"method": "POST", "path": format!("^/{}/?$", d.bucket), "query": "delete",
                           "access_key": slow_key, "mode": "delay", "delay_ms": 1500, "count": -1}),
    );
    let a = d.spawn(&d.site, "v3", &slow_key);
    // ...and while they are under way, B (v4) starts from the live v3 and reuses v1's wasm.
    let mut started = false;
    for _ in 0..600 {
        if support::requests(&slow_key, 0)
            .iter()
            .any(|r| r["query"].as_str().is_some_and(|q| q.contains("delete")))
        {
            started = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(started, "A reached its retention");
    let b_site = d.dir.join("b");
    write_site(&b_site, "b", 1);
    for i in 0..60 {
        write(
            &b_site,
            &format!("p/{i}.html"),
            format!("page {i}").as_bytes(),
        );
    }
    let b = d.spawn(&b_site, "v4", "test");
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    drop(slow);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stdout));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stdout));
    let (live, _) = d.assert_live_consistent().await;
    assert_eq!(live, "v4");
    assert!(d.get(&shared).await.is_some());
}

#[tokio::test]
async fn retention_never_removes_a_version_that_finished_after_it_looked() {
    // No grace period: only the manifest tells a finished version from an abandoned folder.
    let d = deployed("retention = { keep = 5, grace = \"0s\" }\n").await;
    d.publish_ok(&["--version", "v1"]);
    write(&d.site, "index.html", b"<title>v2</title>");
    // B stages v2 (no switch); its manifest write is held back...
    let (b, b_slow) = d.stage_held("v2", 2000).await;
    // ...while A (v3) reads the bucket for its retention: v2's folder has no manifest yet. A's
    // own manifest is held longer, so A decides after B has finished.
    let a_key = support::unique("AKIDLATERETAIN");
    let a_slow = fault(
        serde_json::json!({"method": "PUT", "path": "_cloudfront-host/versions/v3.json$",
                                          "access_key": a_key, "mode": "delay", "delay_ms": 3500, "count": 1}),
    );
    write(&d.site, "index.html", b"<title>v3</title>");
    let a = d.spawn(&d.site, "v3", &a_key);
    let (b, a) = (b.wait_with_output().unwrap(), a.wait_with_output().unwrap());
    drop((a_slow, b_slow));
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let report: serde_json::Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(
        report["retention"]["abandoned"],
        serde_json::json!([]),
        "{report}"
    );
    assert!(!d.keys("v2/").await.is_empty(), "v2's objects are kept");
    assert!(d.get("_cloudfront-host/versions/v2.json").await.is_some());
}

#[tokio::test]
async fn objects_removed_while_a_publish_runs_are_sent_again_before_it_goes_live() {
    let d = deployed("").await;
    d.publish_ok(&["--version", "v1"]);
    write(&d.site, "index.html", b"<title>v2</title>");
    // v2 reuses v1's wasm. While its manifest write is under way, the wasm and its siblings
    // disappear (a retention that decided before v2 claimed anything).
    let key = support::unique("AKIDREUSE");
    let slow = fault(
        serde_json::json!({"method": "PUT", "path": "_cloudfront-host/versions/v2.json$",
                                        "access_key": key, "mode": "delay", "delay_ms": 1500, "count": 1}),
    );
    let b = d.spawn(&d.site, "v2", &key);
    assert!(
        manifest_write_seen(&key, "v2").await,
        "v2 reached its manifest"
    );
    for suffix in ["", ".br", ".gz"] {
        d.s3.delete_object()
            .bucket(&d.bucket)
            .key(format!("_immutable/{WASM}{suffix}"))
            .send()
            .await
            .unwrap();
    }
    let out = b.wait_with_output().unwrap();
    drop(slow);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (live, _) = d.assert_live_consistent().await;
    assert_eq!(live, "v2");
    assert_eq!(
        report["repaired"], 3,
        "the wasm and its two siblings: {report}"
    );
}

#[tokio::test]
async fn private_files_are_never_published() {
    let d = deployed("publish.exclude = [\"*.key\", \"drafts/\"]\n").await;
    write(&d.site, ".env", b"SECRET=hunter2");
    write(&d.site, ".git/config", b"[core]");
    write(
        &d.site,
        ".well-known/security.txt",
        b"Contact: mailto:x@example.com",
    );
    write(&d.site, "tls.key", b"-----BEGIN PRIVATE KEY-----");
    write(&d.site, "drafts/next.html", b"draft");
    let out = support::cli()
        .current_dir(&d.dir)
        .args(["publish", "--version", "p1"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("4 left out (2 dot-files, 2 by publish.exclude)"),
        "{out}"
    );
    let keys = d.keys("p1/").await;
    assert!(
        keys.contains(&"p1/.well-known/security.txt".to_string()),
        "{keys:?}"
    );
    for private in [
        "p1/.env",
        "p1/.git/config",
        "p1/tls.key",
        "p1/drafts/next.html",
    ] {
        assert!(
            !keys.contains(&private.to_string()),
            "{private} was published: {keys:?}"
        );
    }

    // The project folder itself is never a site, from a flag or from the settings.
    let key = support::unique("AKIDROOT");
    support::cli_with_key(&key)
        .current_dir(&d.dir)
        .args(["publish", "--version", "p2", "--dir", "."])
        .assert()
        .failure()
        .stderr(predicate::str::contains("holds the project itself"));
    support::cli_with_key(&key)
        .current_dir(&d.dir)
        .args(["publish", "--version", "p2", "--set", "build.output_dir=."])
        .assert()
        .failure()
        .stderr(predicate::str::contains("holds the project itself"));
    assert_eq!(support::write_calls(&key, 0), Vec::<String>::new());

    // `init --yes` in a folder of loose files never makes the folder itself the site.
    let loose = tempfile::tempdir().unwrap();
    write(loose.path(), "index.html", b"<h1>hi</h1>");
    write(loose.path(), ".env", b"SECRET=1");
    let init = support::cli_offline()
        .current_dir(loose.path())
        .args(["init", "--yes"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&init.stdout).to_string() + &String::from_utf8_lossy(&init.stderr);
    support::cli_offline()
        .current_dir(loose.path())
        .args([
            "init",
            "--yes",
            "--framework",
            "custom",
            "--output-dir",
            ".",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("is the project folder itself"));
    let written = std::fs::read_to_string(loose.path().join("Cargo.toml")).unwrap_or_default();
    assert!(
        !written.contains("output_dir = \".\"") && !text.contains("output_dir = \".\""),
        "{text}\n{written}"
    );
}

#[tokio::test]
async fn file_names_that_are_not_utf8_are_refused_with_their_path() {
    use std::os::unix::ffi::OsStrExt;
    let d = deployed("").await;
    let docs = d.site.join("docs");
    for name in [&b"caf\xe9.txt"[..], &b"caf\xe8.txt"[..]] {
        std::fs::write(docs.join(std::ffi::OsStr::from_bytes(name)), b"x").unwrap();
    }
    d.publish(&["--version", "u1"]).failure().stdout(
        predicate::str::contains("not valid UTF-8").and(predicate::str::contains("docs/caf")),
    );
    assert!(d.keys("").await.is_empty(), "nothing was uploaded");
}

#[tokio::test]
async fn reserved_ids_are_refused_and_abandoned_folders_are_removed() {
    let d = deployed("retention = { keep = 2, grace = \"0s\" }\n").await;
    let key = support::unique("AKIDRESERVED");
    for id in [
        "404.html",
        "index.html",
        "_immutable",
        "_cloudfront-host",
        "placeholder",
        "notes.txt",
        "a/b",
    ] {
        support::cli_with_key(&key)
            .current_dir(&d.dir)
            .args(["publish", "--version", id])
            .assert()
            .failure()
            .stderr(predicate::str::contains(format!("`{id}`")));
    }
    assert_eq!(support::write_calls(&key, 0), Vec::<String>::new());

    // An interrupted `-dirty-` publish of an earlier release left a folder and no manifest.
    for file in ["index.html", "style.css"] {
        d.s3.put_object()
            .bucket(&d.bucket)
            .key(format!("abc123-dirty-20261101T101010/{file}"))
            .body(b"x".to_vec().into())
            .send()
            .await
            .unwrap();
    }
    let report = d.publish_ok(&["--version", "v1"]);
    assert_eq!(
        report["retention"]["abandoned"],
        serde_json::json!(["abc123-dirty-20261101T101010"]),
        "{report}"
    );
    assert!(d.keys("abc123-dirty-").await.is_empty());
    assert!(!d.keys("v1/").await.is_empty(), "the live version stays");
    d.assert_live_consistent().await;
}

#[tokio::test]
async fn publishes_under_injected_errors_always_end_with_live_complete() {
    let d = deployed("").await;
    let store = d.kvs_arn.rsplit('/').next().unwrap().to_string();
    const TRIALS: usize = 8;
    const RUNS: usize = 4;
    let mut runs_needed = Vec::new();
    let mut failures = Vec::new();
    let mut injected = 0;
    for trial in 0..TRIALS {
        let seed = 1000 + trial as u64;
        // 5 % of this site's S3 and KeyValueStore requests fail: some before they take effect
        // (503 SlowDown, 500), some after (the response is lost: a 500, or a connection cut
        // mid-response).
        let s3 = format!("^/{}(/|$)", d.bucket);
        let mut faults = Vec::new();
        for (i, (path, status, code, mode, p)) in [
            (&s3, 503, "SlowDown", "error", 0.025),
            (&s3, 500, "InternalError", "after", 0.015),
            (&s3, 200, "", "drop", 0.01),
            (&store, 500, "InternalServerException", "error", 0.025),
            (&store, 500, "InternalServerException", "after", 0.015),
            (&store, 200, "", "drop", 0.01),
        ]
        .into_iter()
        .enumerate()
        {
            faults.push(fault(serde_json::json!({
                "path": path, "status": status, "code": code, "mode": mode,
                "probability": p, "seed": seed * 10 + i as u64, "count": -1
            })));
        }
        let version = format!("c{trial}");
        write_site(&d.site, &version, 1);
        write(
            &d.site,
            &format!("chunk-{:016x}.js", 0xc0ffee00u64 + trial as u64),
            version.as_bytes(),
        );
        let mut runs = 0;
        let mut done = false;
        while runs < RUNS && !done {
            runs += 1;
            let out = support::cli()
                .current_dir(&d.dir)
                .args(["publish", "--version", &version])
                .output()
                .unwrap();
            done = out.status.success();
            if !done {
                failures.push(format!(
                    "trial {trial} run {runs}: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        let ids: Vec<&str> = faults.iter().map(|f| f.0.as_str()).collect();
        let listed = ureq::get(&format!("{}/_emulator/faults", support::emulator()))
            .call()
            .unwrap()
            .body_mut()
            .read_json::<serde_json::Value>()
            .unwrap();
        injected += listed["faults"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| ids.contains(&f["id"].as_str().unwrap_or("")))
            .map(|f| f["hits"].as_u64().unwrap_or(0))
            .sum::<u64>();
        drop(faults);
        assert!(
            done,
            "trial {trial}: no success in {RUNS} runs: {failures:#?}"
        );
        runs_needed.push(runs);
        let (live, index) = d.assert_live_consistent().await;
        assert_eq!(live, version);
        assert!(index.contains(&format!("<title>{version}</title>")));
    }
    eprintln!(
        "chaos: {TRIALS} trials at 5 % injected errors ({injected} injected), runs needed {runs_needed:?}, live complete after each; failed runs: {failures:#?}"
    );
    assert!(
        injected > 0,
        "the faults were never hit: the test tried nothing"
    );
}

#[tokio::test]
async fn retention_keeps_the_version_a_publish_in_flight_builds_on() {
    let d = deployed("retention = { keep = 2, grace = \"3s\" }\n").await;
    d.publish_ok(&["--version", "v1"]);
    write(&d.site, "index.html", b"<title>v2</title>");
    d.publish_ok(&["--version", "v2"]);
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await; // v1 and v2 age past the grace period
    // B stages v3 from the live v2 with one file changed: its other shards stay in v2's (and
    // v1's) folders. Its manifest write is held back...
    write(&d.site, "style.css", b"body { --v: 3 }");
    let (b, b_slow) = d.stage_held("v3", 4000).await;
    // ...while two publishes that share nothing with it go live: v2 is then neither live,
    // previous, nor young, nor among the newest two.
    let other = d.dir.join("other");
    for v in ["v4", "v5"] {
        write_site(&other, v, 1);
        let report = d.publish_ok(&["--version", v, "--dir", other.to_str().unwrap()]);
        assert_eq!(report["live"], v, "{report}");
    }
    let b = b.wait_with_output().unwrap();
    drop(b_slow);
    assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
    assert!(
        d.get("_cloudfront-host/versions/v2.json").await.is_some(),
        "B's base is kept"
    );
    let manifest = d.manifest("v3").await;
    let mut shared = 0;
    for file in manifest["files"].as_array().unwrap() {
        let key = file["key"].as_str().unwrap();
        shared += usize::from(!key.starts_with("v3/") && !key.starts_with("_immutable/"));
        assert!(d.get(key).await.is_some(), "v3 serves {key}, which is gone");
    }
    assert!(shared > 0, "v3 keeps shards in older folders: {manifest}");
}
