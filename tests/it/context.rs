//! Every command resolves the settings the same way (one `Context`): metadata over detection,
//! detection over defaults, for `show --settings` and `publish` just as for `deploy`.

use crate::support;

/// A package whose site is detected (a static `public/index.html`), with no
/// `build.output_dir` in its metadata.
fn detected_static_site(dir: &std::path::Path) {
    support::write(dir, "public/index.html", "<h1>detected</h1>");
}

/// `show --settings --format json` with `extra` flags, offline.
fn settings(dir: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let mut cmd = support::cli_offline();
    cmd.current_dir(dir)
        .args(["show", "--settings", "--format", "json"])
        .args(extra);
    let out = cmd.assert().success().get_output().stdout.clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    doc["settings"].clone()
}

#[test]
fn show_settings_shows_the_detected_values_deploy_uses() {
    let (_tmp, dir) = support::package("[package.metadata.cloudfront]\nname = \"ctx-show\"\n");
    detected_static_site(&dir);
    let s = settings(&dir, &[]);
    assert_eq!(s["build.output_dir"]["value"], "public", "{s:#}");
    assert_eq!(s["build.output_dir"]["origin"]["kind"], "detected", "{s:#}");
    assert_eq!(s["framework"]["value"], "static", "{s:#}");
    assert_eq!(s["routing"]["value"], "static", "{s:#}");
    // Metadata still wins over detection.
    let s = settings(&dir, &["--set", "routing=spa"]);
    assert_eq!(s["routing"]["value"], "spa");
    assert_eq!(s["routing"]["origin"]["kind"], "flag");
}

#[tokio::test]
async fn publish_finds_the_detected_output_dir_as_deploy_does() {
    let ready = support::publish_ready("ctxpub", "eu-west-1", "").await;
    let manifest = ready.dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("build.output_dir = \"dist\"\n", "")).unwrap();
    detected_static_site(&ready.dir);
    let out = support::cli()
        .current_dir(&ready.dir)
        .args(["publish", "--version", "v1", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["live"], "v1", "{doc:#}");
    assert_eq!(doc["files"], 1, "{doc:#}");
    let page = ready
        .aws
        .s3()
        .get_object()
        .bucket(ready.names.bucket())
        .key("v1/index.html")
        .send()
        .await
        .expect("the detected site was published");
    let body = page.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], b"<h1>detected</h1>");
}
