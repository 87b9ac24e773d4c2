//! Shared by the integration tests: one local AWS emulator per test run, SDK clients aimed at
//! it, the CLI binary with a clean environment, and unique names so tests never collide.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use cargo_cloudfront_host::aws::{Aws, AwsOptions};

pub const ACCOUNT: &str = "123456789012";

pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The emulator's endpoint: `CCH_EMULATOR_URL` when the test script started one, else the
/// one `tests/emulator/start` starts or finds running (it is shared across test binaries
/// through its state directory, and left running for the next `cargo test`).
pub fn emulator() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("CCH_EMULATOR_URL") {
            return url;
        }
        let out = Command::new("bash")
            .arg(repo_root().join("tests/emulator/start"))
            .output()
            .expect("run tests/emulator/start");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "tests/emulator/start failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
            .lines()
            .last()
            .and_then(|l| l.strip_prefix("AWS_ENDPOINT_URL="))
            .expect("start prints AWS_ENDPOINT_URL=... last")
            .trim()
            .to_string()
    })
}

/// SDK clients for `region`, built by the product's own `src/aws/mod.rs`, aimed at the emulator.
pub async fn aws(region: &str) -> Aws {
    Aws::load(&AwsOptions {
        profile: None,
        region: region.to_string(),
        endpoint_url: Some(emulator().to_string()),
        credentials: Some(aws_credential_types::Credentials::new(
            "test", "test", None, None, "tests",
        )),
    })
    .await
}

/// A name no other test (or earlier run against the same emulator) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}-{}-{:x}-{}",
        std::process::id(),
        nanos & 0xfffff,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// What every run of the binary gets: no AWS config files, no IMDS, no colour, no prompts.
const ISOLATED_ENV: &[(&str, &str)] = &[
    ("AWS_REGION", "us-east-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
    (
        "AWS_SHARED_CREDENTIALS_FILE",
        "/nonexistent/aws-credentials",
    ),
    ("CARGO_TERM_COLOR", "never"),
    ("CI", "true"),
];

/// The environment `cli()` gives the binary, for tests that spawn it themselves.
pub fn cli_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            ["PATH", "HOME", "CARGO_HOME", "RUSTUP_HOME", "TMPDIR"].contains(&k.as_str())
        })
        .collect();
    let aws = [
        ("AWS_ENDPOINT_URL", emulator()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
    ];
    env.extend(
        ISOLATED_ENV
            .iter()
            .chain(aws.iter())
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env
}

/// The binary with none of the caller's settings or AWS variables, plus `env`.
fn isolated(env: impl IntoIterator<Item = (String, String)>) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("cargo-cloudfront-host").expect("binary built");
    for (key, _) in std::env::vars() {
        if key.starts_with("CARGO_CLOUDFRONT_HOST_") || key.starts_with("AWS_") || key == "CI" {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env);
    cmd
}

/// The CLI binary aimed at the emulator with dummy credentials.
pub fn cli() -> assert_cmd::Command {
    isolated(cli_env())
}

/// POSTs JSON to one of the emulator's test hooks (`/_emulator/...`).
pub fn hook(path: &str, body: serde_json::Value) -> serde_json::Value {
    let url = format!("{}{path}", emulator());
    let mut response = ureq::post(&url)
        .send_json(&body)
        .unwrap_or_else(|e| panic!("POST {url}: {e}"));
    response
        .body_mut()
        .read_json()
        .unwrap_or(serde_json::Value::Null)
}

/// A copy of a fixture (or any directory) in a fresh temporary directory.
pub fn copy_dir(from: &Path) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let to = tmp.path().join(from.file_name().expect("named dir"));
    copy_recursive(from, &to);
    (tmp, to)
}

/// Copies a directory tree to `to` (created).
pub fn copy_dir_to(from: &Path, to: &Path) {
    copy_recursive(from, to);
}

fn copy_recursive(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("readdir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_recursive(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// DELETE on a test hook (`/_emulator/faults` clears injected faults).
pub fn hook_delete(path: &str) {
    let url = format!("{}{path}", emulator());
    ureq::delete(&url)
        .call()
        .unwrap_or_else(|e| panic!("DELETE {url}: {e}"));
}

/// The CLI binary for commands that need no AWS (init, buildspec, show --settings): no
/// emulator is started.
pub fn cli_offline() -> assert_cmd::Command {
    isolated(
        ISOLATED_ENV
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

/// A fixture from `fixtures/`, copied to a temporary directory.
pub fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    copy_dir(&repo_root().join("fixtures").join(name))
}

/// A one-package project (package `web`, its own workspace) in a temp dir, with `metadata`
/// appended to its Cargo.toml.
pub fn package(metadata: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("web");
    std::fs::create_dir_all(dir.join("src")).expect("mkdir");
    std::fs::write(dir.join("src/lib.rs"), "").expect("write lib.rs");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!("[package]\nname = \"web\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n{metadata}"),
    )
    .expect("write Cargo.toml");
    (tmp, dir)
}

/// Creates `bucket` in `region` (outside us-east-1 S3 needs the location constraint).
pub async fn create_bucket(aws: &Aws, bucket: &str, region: &str) {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let mut request = aws.s3().create_bucket().bucket(bucket);
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    request
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
}

/// The environment `cli_offline()` gives the binary, for tests that spawn it themselves
/// without an emulator.
pub fn offline_env() -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            ["PATH", "HOME", "CARGO_HOME", "RUSTUP_HOME", "TMPDIR"].contains(&k.as_str())
        })
        .collect();
    env.extend(
        ISOLATED_ENV
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    env
}

/// The CLI binary aimed at the emulator, signing with its own access key id, so that the
/// emulator's request log (`/_emulator/requests`) can tell this run's calls from those of
/// tests running at the same time. Pair with [`unique`] for the key and [`write_calls`].
pub fn cli_with_key(access_key: &str) -> assert_cmd::Command {
    let env = cli_env().into_iter().map(|(k, v)| {
        if k == "AWS_ACCESS_KEY_ID" {
            (k, access_key.to_string())
        } else {
            (k, v)
        }
    });
    isolated(env)
}

/// Every AWS request the emulator logged for `access_key` after sequence number `since`
/// (0: all), oldest first: `{seq, method, path, query, service, operation, write, status}`.
pub fn requests(access_key: &str, since: u64) -> Vec<serde_json::Value> {
    let url = format!(
        "{}/_emulator/requests?access_key={access_key}&since={since}",
        emulator()
    );
    let mut response = ureq::get(&url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let doc: serde_json::Value = response
        .body_mut()
        .read_json()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    doc["requests"].as_array().cloned().unwrap_or_default()
}

/// The write calls (`METHOD path [operation]`) the emulator logged for `access_key` after
/// `since`: what a command changed in AWS, read from the wire rather than from our own output.
pub fn write_calls(access_key: &str, since: u64) -> Vec<String> {
    requests(access_key, since)
        .iter()
        .filter(|r| r["write"].as_bool() == Some(true))
        .map(|r| {
            format!(
                "{} {}{} {}",
                r["method"].as_str().unwrap_or(""),
                r["path"].as_str().unwrap_or(""),
                r["query"]
                    .as_str()
                    .filter(|q| !q.is_empty())
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default(),
                r["operation"].as_str().unwrap_or("")
            )
            .trim_end()
            .to_string()
        })
        .collect()
}

/// The sequence number of the newest logged request for `access_key` (0 when none).
pub fn last_request_seq(access_key: &str) -> u64 {
    requests(access_key, 0)
        .last()
        .and_then(|r| r["seq"].as_u64())
        .unwrap_or(0)
}

/// What `deploy` leaves for `publish`: a one-package project (`name`, `region`,
/// `build.output_dir = "dist"`, plus `metadata`) with its bucket (tagged as `deploy` tags it)
/// and its KeyValueStore (with `deploy`'s ownership marker). Tests of the whole stack live in
/// deploy.rs; this keeps `deploy`'s placeholder version out of the publish tests.
pub struct PublishReady {
    pub tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub name: String,
    pub names: cargo_cloudfront_host::names::Names,
    pub aws: Aws,
    pub kvs_arn: String,
}

pub async fn publish_ready(prefix: &str, region: &str, metadata: &str) -> PublishReady {
    use cargo_cloudfront_host::names::{Names, Scope};
    let name = unique(prefix);
    let (tmp, dir) = package(&format!(
        "[package.metadata.cloudfront]\nname = \"{name}\"\nregion = \"{region}\"\nbuild.output_dir = \"dist\"\n{metadata}"
    ));
    let names = Names::new(&Scope {
        account: ACCOUNT,
        region,
        repository: None,
        project: &name,
    });
    let aws = aws(region).await;
    create_bucket(&aws, &names.bucket(), region).await;
    let tags = names
        .tags()
        .into_iter()
        .map(|(k, v)| {
            aws_sdk_s3::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("tag")
        })
        .collect::<Vec<_>>();
    aws.s3()
        .put_bucket_tagging()
        .bucket(names.bucket())
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .set_tag_set(Some(tags))
                .build()
                .expect("tagging"),
        )
        .send()
        .await
        .expect("tag the bucket");
    let kvs = aws
        .cloudfront()
        .create_key_value_store()
        .name(names.kvs())
        .comment(cargo_cloudfront_host::infra::ownership_marker(&names))
        .send()
        .await
        .expect("create the KeyValueStore");
    let kvs_arn = kvs.key_value_store().expect("a store").arn().to_string();
    PublishReady {
        tmp,
        dir,
        name,
        names,
        aws,
        kvs_arn,
    }
}

/// Writes `bytes` to `dir/rel`, creating the folders on the way.
pub fn write(dir: &Path, rel: &str, bytes: impl AsRef<[u8]>) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
    std::fs::write(p, bytes).expect("write");
}

/// The `live` pointer value as stored (`None` when the key is missing or unreadable).
pub async fn live_value(
    kvs: &aws_sdk_cloudfrontkeyvaluestore::Client,
    arn: &str,
) -> Option<String> {
    kvs.get_key()
        .kvs_arn(arn)
        .key("live")
        .send()
        .await
        .ok()
        .map(|o| o.value().to_string())
}

/// The version the `live` pointer names.
pub async fn live_version(
    kvs: &aws_sdk_cloudfrontkeyvaluestore::Client,
    arn: &str,
) -> Option<String> {
    let value = live_value(kvs, arn).await?;
    Some(cargo_cloudfront_host::release::shards::version_of(&value).to_string())
}
