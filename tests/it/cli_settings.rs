//! Settings as a user meets them through the CLI: layering, errors that point at the file and
//! line, warnings for unknown keys, and `show` against the emulator.

use crate::support;

use std::path::Path;

use predicates::prelude::*;

fn show_settings_json(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let mut cmd = support::cli();
    cmd.current_dir(dir)
        .args(["show", "--settings", "--format", "json"])
        .args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.assert().success().get_output().stdout.clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn wrong_type_names_file_line_and_key() {
    let (_tmp, dir) = support::package(
        "[package.metadata.cloudfront]\nregion = \"eu-west-1\"\n\n[package.metadata.cloudfront.retention]\nkeep = \"ten\"\n",
    );
    support::cli()
        .current_dir(&dir)
        .args(["show", "--settings"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "Cargo.toml:12:1: `package.metadata.cloudfront.retention.keep`: expected integer (2–10000), found a string",
        ));
}

#[test]
fn invalid_region_is_an_error_with_its_location() {
    let (_tmp, dir) = support::package("[package.metadata.cloudfront]\nregion = \"europe-1\"\n");
    support::cli()
        .current_dir(&dir)
        .args(["show", "--settings"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "Cargo.toml:9:1: `package.metadata.cloudfront.region`",
        ))
        .stderr(predicate::str::contains("is not an AWS region code"));
}

#[test]
fn invalid_values_in_json_mode_give_one_error_document() {
    let (_tmp, dir) = support::package("[package.metadata.cloudfront]\nrouting = \"mpa\"\n");
    let out = support::cli()
        .current_dir(&dir)
        .args(["show", "--settings", "--format", "json"])
        .assert()
        .failure()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let error = doc["error"].as_str().unwrap();
    assert!(
        error.contains("`package.metadata.cloudfront.routing`") && error.contains("\"spa\""),
        "{error}"
    );
}

#[test]
fn unknown_key_is_a_warning_with_location_and_hint() {
    let (_tmp, dir) = support::package("[package.metadata.cloudfront]\nregoin = \"eu-west-1\"\n");
    support::cli()
        .current_dir(&dir)
        .args(["show", "--settings"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: Cargo.toml:9:1: `package.metadata.cloudfront.regoin`: unknown key, ignored (did you mean `region`?)",
        ));
}

#[test]
fn layering_flag_over_env_over_package_over_workspace_over_default() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"web\", \"api\"]\n\n[workspace.metadata.cloudfront]\nprice_class = \"PriceClass_All\"\nregion = \"eu-central-1\"\n",
    )
    .unwrap();
    for member in ["web", "api"] {
        std::fs::create_dir_all(root.join(member).join("src")).unwrap();
        std::fs::write(root.join(member).join("src/lib.rs"), "").unwrap();
    }
    std::fs::write(
        root.join("web/Cargo.toml"),
        "[package]\nname = \"web\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[package.metadata.cloudfront]\nregion = \"eu-west-1\"\nretention.keep = 5\n",
    )
    .unwrap();
    std::fs::write(
        root.join("api/Cargo.toml"),
        "[package]\nname = \"api\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();

    // From the workspace root, the member with metadata is the frontend.
    let doc = show_settings_json(root, &[], &[]);
    let s = &doc["settings"];
    assert_eq!(s["name"]["value"], "web");
    assert_eq!(s["region"]["value"], "eu-west-1");
    assert_eq!(s["region"]["origin"]["kind"], "package");
    assert_eq!(s["region"]["origin"]["location"]["line"], 7);
    assert_eq!(s["price_class"]["value"], "PriceClass_All");
    assert_eq!(s["price_class"]["origin"]["kind"], "workspace");
    assert_eq!(s["retention.keep"]["value"], 5);
    assert_eq!(s["upload.concurrency"]["origin"]["kind"], "default");

    // Env beats the package; a flag beats env; flags not given change nothing.
    let doc = show_settings_json(root, &[], &[("CARGO_CLOUDFRONT_HOST_RETENTION_KEEP", "7")]);
    assert_eq!(doc["settings"]["retention.keep"]["value"], 7);
    assert_eq!(
        doc["settings"]["retention.keep"]["origin"]["var"],
        "CARGO_CLOUDFRONT_HOST_RETENTION_KEEP"
    );
    let doc = show_settings_json(
        root,
        &["--set", "retention.keep=9", "--region", "us-west-2"],
        &[
            ("CARGO_CLOUDFRONT_HOST_RETENTION_KEEP", "7"),
            ("CARGO_CLOUDFRONT_HOST_REGION", "ap-south-1"),
        ],
    );
    assert_eq!(doc["settings"]["retention.keep"]["value"], 9);
    assert_eq!(doc["settings"]["region"]["value"], "us-west-2");
    assert_eq!(doc["settings"]["region"]["origin"]["flag"], "--region");

    // -p picks the other member: no package metadata, so the workspace defaults apply.
    let doc = show_settings_json(root, &["-p", "api"], &[]);
    assert_eq!(doc["settings"]["name"]["value"], "api");
    assert_eq!(doc["settings"]["region"]["value"], "eu-central-1");
    support::cli()
        .current_dir(root)
        .args(["show", "--settings", "-p", "nope"])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("package `nope` is not in the workspace")
                .and(predicate::str::contains("web, api")),
        );
}

#[test]
fn region_defaults_to_the_aws_config() {
    let (_tmp, dir) = support::package("");
    let doc = show_settings_json(&dir, &[], &[("AWS_REGION", "ca-central-1")]);
    assert_eq!(doc["settings"]["region"]["value"], "ca-central-1");
    assert_eq!(doc["settings"]["region"]["origin"]["kind"], "derived");
}

#[test]
fn works_as_cargo_subcommand_and_directly_with_examples_in_help() {
    support::cli()
        .args(["cloudfront-host", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Usage: cargo cloudfront-host"))
        .stdout(predicate::str::contains("Examples:"));
    support::cli()
        .args(["show", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "cargo cloudfront-host show --settings",
        ));
}

#[test]
fn no_credentials_says_how_to_provide_them() {
    let (_tmp, dir) = support::package("");
    support::cli()
        .current_dir(&dir)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .arg("show")
        .assert()
        .failure()
        .stderr(predicate::str::contains("no AWS credentials found"))
        .stderr(predicate::str::contains("--profile"))
        .stderr(predicate::str::contains("OIDC"));
}

/// Without credentials (no HOME, no AWS variables, no emulator) the error is a sentence and
/// the advice, not the SDK's `Debug` output; `-v` adds the SDK's chain.
#[test]
fn no_credentials_is_short_and_the_chain_comes_with_verbose() {
    let (_tmp, dir) = support::package("");
    let empty = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let out = support::cli_offline()
            .current_dir(&dir)
            .env("HOME", empty.path())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .arg("show")
            .args(extra)
            .assert()
            .failure()
            .get_output()
            .stderr
            .clone();
        String::from_utf8_lossy(&out).to_string()
    };
    let plain = run(&[]);
    assert!(plain.contains("no AWS credentials found"), "{plain}");
    assert!(
        plain.contains("--profile") && plain.contains("OIDC"),
        "{plain}"
    );
    assert!(!plain.contains("ProviderError("), "{plain}");
    assert!(!plain.contains("CredentialsNotLoaded("), "{plain}");
    assert!(!plain.contains("caused by"), "{plain}");
    let first = plain.lines().next().unwrap_or_default();
    assert!(first.len() < 200, "a long first line: {first}");
    assert!(plain.len() < 900, "{} characters:\n{plain}", plain.len());
    let verbose = run(&["-v"]);
    assert!(verbose.contains("caused by"), "{verbose}");
    assert!(verbose.contains("no AWS credentials found"), "{verbose}");
    assert!(!verbose.contains("ProviderError("), "{verbose}");
}

#[tokio::test]
async fn show_reports_account_names_and_what_exists() {
    let project_name = support::unique("show");
    let (_tmp, dir) = support::package(&format!(
        "[package.metadata.cloudfront]\nname = \"{project_name}\"\nregion = \"eu-west-1\"\n"
    ));
    let run = || {
        let out = support::cli()
            .current_dir(&dir)
            .args(["show", "--format", "json"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice::<serde_json::Value>(&out).unwrap()
    };
    let doc = run();
    assert_eq!(doc["account"], support::ACCOUNT);
    assert_eq!(doc["region"], "eu-west-1");
    let bucket = doc["resources"][0]["name"].as_str().unwrap().to_string();
    assert!(bucket.starts_with("cfh-show-"), "{bucket}");
    assert_eq!(doc["resources"][0]["exists"], false);

    // The name is deterministic: a bucket of that name made by someone else (no tags) is
    // found, and reported as not this project's.
    let aws = support::aws("eu-west-1").await;
    support::create_bucket(&aws, &bucket, "eu-west-1").await;
    support::cli()
        .current_dir(&dir)
        .arg("show")
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!(
            "bucket {bucket} exists but does not carry this project's ownership tags"
        )));
}
