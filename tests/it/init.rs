//! `init` and `buildspec` through the CLI on copies of every fixture: what is written (and
//! that nothing else in Cargo.toml moves), dry runs, JSON, refusals, and the buildspec that
//! follows from the written settings. No AWS is involved.

use crate::support;

use std::path::{Path, PathBuf};

use cargo_cloudfront_host::cargo_toml::table_span;
use predicates::prelude::*;

/// Fixture, manifest that receives the table (relative), the table, expected framework,
/// output dir and versions the buildspec must pin.
type Case = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);

const HOSTABLE: &[Case] = &[
    (
        "trunk-leptos-csr",
        "Cargo.toml",
        "package",
        "leptos-csr",
        "dist",
        &["trunk --version 0.21.14", "0.2.100"],
    ),
    (
        "trunk-yew",
        "Cargo.toml",
        "package",
        "yew",
        "dist",
        &["0.2.95", "rustup toolchain install 1.85.0"],
    ),
    (
        "trunk-sycamore",
        "Cargo.toml",
        "package",
        "sycamore",
        "www",
        &["v0.20.3", "0.2.99", "1.86.0"],
    ),
    (
        "trunk-custom-dist",
        "Cargo.toml",
        "package",
        "trunk",
        "public/site",
        &["0.2.100"],
    ),
    (
        "workspace-frontend-member",
        "crates/web/Cargo.toml",
        "package",
        "yew",
        "target/web-dist",
        &["0.2.100", "1.84.1"],
    ),
    (
        "dioxus-05",
        "Cargo.toml",
        "package",
        "dioxus",
        "dist",
        &["dioxus-cli@0.5.6", "0.2.92"],
    ),
    (
        "dioxus-06",
        "Cargo.toml",
        "package",
        "dioxus",
        "target/dx/dx-six/release/web/public",
        &["dioxus-cli@0.6.3", "0.2.100"],
    ),
    (
        "mdbook",
        "Cargo.toml",
        "workspace",
        "mdbook",
        "out/book",
        &["mdbook-v0.4.52"],
    ),
    (
        "zola",
        "Cargo.toml",
        "workspace",
        "zola",
        "public",
        &["zola-v0.20.0"],
    ),
    (
        "static-plain",
        "Cargo.toml",
        "workspace",
        "static",
        "public",
        &[],
    ),
];

fn table(kind: &str) -> [&str; 3] {
    [kind, "metadata", "cloudfront"]
}

/// The text with the table's span cut out, trailing newlines trimmed (appending a table
/// adds a blank line before it).
fn outside(text: &str, table: &[&str]) -> String {
    let cut = match table_span(text, table) {
        Some(span) => format!("{}{}", &text[..span.start], &text[span.end..]),
        None => text.to_string(),
    };
    cut.trim_end_matches('\n').to_string()
}

fn init(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    support::cli_offline()
        .current_dir(dir)
        .arg("init")
        .args(args)
        .assert()
}

fn json(assert: assert_cmd::assert::Assert) -> serde_json::Value {
    let out = assert.get_output().stdout.clone();
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out)))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn init_writes_the_table_and_leaves_every_other_byte() {
    for (fixture, manifest, kind, framework, output_dir, _) in HOSTABLE {
        let (_tmp, dir) = support::fixture(fixture);
        let path = dir.join(manifest);
        let before = read(&path);
        init(&dir, &["--yes"])
            .success()
            .stderr(predicate::str::contains("Wrote"));
        let after = read(&path);
        let t = table(kind);
        assert_ne!(before, after, "{fixture}");
        assert_eq!(
            outside(&after, &t),
            outside(&before, &t),
            "{fixture}:\n{after}"
        );
        assert!(
            after.starts_with(&before[..table_span(&before, &t).map_or(before.len(), |s| s.start)])
        );

        let doc: toml_edit::DocumentMut = after.parse().unwrap();
        let cf = &doc[kind]["metadata"]["cloudfront"];
        assert_eq!(cf["framework"].as_str(), Some(*framework), "{fixture}");
        assert_eq!(
            cf["build"]["output_dir"].as_str(),
            Some(*output_dir),
            "{fixture}"
        );
        assert_eq!(cf["source"]["kind"].as_str(), Some("local"), "{fixture}");
        // The ambient AWS_REGION is not pinned into the file.
        assert!(
            cf.get("region").is_none() || before.contains("region"),
            "{fixture}: {after}"
        );

        // Running again changes nothing.
        init(&dir, &["--yes"])
            .success()
            .stderr(predicate::str::contains("Unchanged"));
        assert_eq!(read(&path), after, "{fixture}");
    }
}

#[test]
fn rerunning_with_new_answers_updates_the_table_in_place() {
    let (_tmp, dir) = support::fixture("trunk-yew");
    let path = dir.join("Cargo.toml");
    let before = read(&path);
    init(&dir, &["--yes"]).success();
    init(
        &dir,
        &[
            "--yes",
            "--domain",
            "app.example.com",
            "--routing",
            "static",
        ],
    )
    .success();
    let after = read(&path);
    let t = table("package");
    assert_eq!(outside(&after, &t), outside(&before, &t));
    assert_eq!(after.matches("[package.metadata.cloudfront]").count(), 1);
    // The hand-written keys and comments inside the table survive.
    for kept in [
        "# keep this comment",
        "region = \"eu-west-1\"   # and this one",
        "retention.keep = 4",
    ] {
        assert!(after.contains(kept), "{kept}: {after}");
    }
    let doc: toml_edit::DocumentMut = after.parse().unwrap();
    let cf = &doc["package"]["metadata"]["cloudfront"];
    assert_eq!(cf["routing"].as_str(), Some("static"));
    assert_eq!(cf["domain"]["name"].as_str(), Some("app.example.com"));
    // The [features] table after it is still where it was, untouched.
    assert!(after.ends_with("\n[features]\ndefault = []\n"), "{after}");
}

#[test]
fn dry_run_writes_nothing_and_json_has_the_promised_shape() {
    for (fixture, manifest, _, framework, output_dir, _) in HOSTABLE {
        let (_tmp, dir) = support::fixture(fixture);
        let path = dir.join(manifest);
        let before = read(&path);
        let doc = json(init(&dir, &["--yes", "--dry-run", "--format", "json"]).success());
        assert_eq!(read(&path), before, "{fixture}: --dry-run wrote");
        assert_eq!(doc["framework"], *framework, "{fixture}");
        assert_eq!(doc["output_dir"], *output_dir, "{fixture}");
        assert!(doc["build_command"].is_string() || doc["build_command"].is_null());
        assert!(doc["package"].is_string() || doc["package"].is_null());
        assert!(doc["tool_versions"].is_object(), "{fixture}");
        let reasons = doc["reasons"].as_array().unwrap();
        assert!(!reasons.is_empty() && reasons.iter().all(|r| r.is_string()));
        assert_eq!(doc["metadata"]["framework"], *framework);
        assert_eq!(doc["metadata"]["build"]["output_dir"], *output_dir);
        assert_eq!(doc["written"], false);
        assert_eq!(doc["dry_run"], true);
    }
}

#[test]
fn refusals_exit_non_zero_with_directions() {
    for (fixture, expected) in [("leptos-ssr", "csr"), ("dioxus-fullstack", "fullstack")] {
        let (_tmp, dir) = support::fixture(fixture);
        let before = read(&dir.join("Cargo.toml"));
        init(&dir, &["--yes"])
            .failure()
            .stderr(predicate::str::contains("needs a server"))
            .stderr(predicate::str::contains(expected));
        let doc = json(init(&dir, &["--yes", "--format", "json"]).failure());
        let error = doc["error"].as_str().unwrap();
        assert!(
            error.contains("cannot be hosted as static files"),
            "{error}"
        );
        assert_eq!(read(&dir.join("Cargo.toml")), before);
    }
}

#[test]
fn custom_build_overrides_a_refusal_only_when_asked() {
    let (_tmp, dir) = support::fixture("leptos-ssr");
    let doc = json(
        init(
            &dir,
            &[
                "--yes",
                "--format",
                "json",
                "--framework",
                "custom",
                "--build-command",
                "cargo leptos build --release && ./export.sh",
                "--output-dir",
                "target/site",
            ],
        )
        .success(),
    );
    assert_eq!(doc["framework"], "custom");
    assert_eq!(doc["output_dir"], "target/site");
    assert_eq!(
        doc["metadata"]["build"]["command"],
        "cargo leptos build --release && ./export.sh"
    );
}

#[test]
fn several_candidates_fail_under_yes_and_p_picks_one() {
    let (_tmp, dir) = support::fixture("workspace-frontend-member");
    support::copy_dir_to(&dir.join("crates/web"), &dir.join("crates/admin"));
    let m = dir.join("crates/admin/Cargo.toml");
    std::fs::write(&m, read(&m).replace("name = \"web\"", "name = \"admin\"")).unwrap();
    let root = dir.join("Cargo.toml");
    std::fs::write(
        &root,
        read(&root).replace("\"crates/api\"]", "\"crates/api\", \"crates/admin\"]"),
    )
    .unwrap();
    init(&dir, &["--yes"])
        .failure()
        .stderr(predicate::str::contains("several frontends"))
        .stderr(predicate::str::contains("web (yew in crates/web)"))
        .stderr(predicate::str::contains("admin (yew in crates/admin)"))
        .stderr(predicate::str::contains("-p/--package"));
    let web_before = read(&dir.join("crates/web/Cargo.toml"));
    init(&dir, &["--yes", "-p", "admin"]).success();
    assert!(read(&m).contains("[package.metadata.cloudfront]"));
    assert_eq!(read(&dir.join("crates/web/Cargo.toml")), web_before);
}

#[test]
fn a_site_without_cargo_toml_gets_one_holding_only_the_settings() {
    let (_tmp, dir) = support::fixture("zola");
    std::fs::remove_file(dir.join("Cargo.toml")).unwrap();
    init(&dir, &["--yes"]).success();
    let text = read(&dir.join("Cargo.toml"));
    assert!(text.contains("[workspace]\n"), "{text}");
    assert!(
        text.contains("[workspace.metadata.cloudfront]\nframework = \"zola\""),
        "{text}"
    );
    // The settings layer reads it back.
    let out = support::cli_offline()
        .current_dir(&dir)
        .args(["show", "--settings", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["settings"]["framework"]["value"], "zola");
    assert_eq!(doc["settings"]["framework"]["origin"]["kind"], "workspace");
}

fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

#[test]
fn github_source_takes_repository_and_branch_from_git() {
    let (_tmp, dir) = support::fixture("trunk-custom-dist");
    git(&dir, &["init", "-q", "-b", "release"]);
    git(
        &dir,
        &["remote", "add", "origin", "git@github.com:octo/site.git"],
    );
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "-qm", "init"]);
    let doc = json(init(&dir, &["--yes", "--source", "github", "--format", "json"]).success());
    assert_eq!(doc["metadata"]["source"]["kind"], "github");
    assert_eq!(doc["metadata"]["source"]["repository"], "octo/site");
    assert_eq!(doc["metadata"]["source"]["branch"], "release");
    // Flags win over git.
    let doc = json(
        init(
            &dir,
            &[
                "--yes",
                "--source",
                "github",
                "--repository",
                "me/fork",
                "--branch",
                "main",
                "--format",
                "json",
            ],
        )
        .success(),
    );
    assert_eq!(doc["metadata"]["source"]["repository"], "me/fork");
    assert_eq!(doc["metadata"]["source"]["branch"], "main");
}

#[test]
fn github_source_without_a_remote_asks_for_the_repository() {
    let (_tmp, dir) = support::fixture("trunk-yew");
    init(&dir, &["--yes", "--source", "github"])
        .failure()
        .stderr(predicate::str::contains("--repository owner/repo"));
}

#[test]
fn invalid_flag_values_are_rejected_before_writing() {
    let (_tmp, dir) = support::fixture("trunk-yew");
    let before = read(&dir.join("Cargo.toml"));
    init(&dir, &["--yes", "--domain", "not a domain"])
        .failure()
        .stderr(predicate::str::contains("--domain"));
    assert_eq!(read(&dir.join("Cargo.toml")), before);
}

fn yaml_commands(yaml: &yaml_rust2::Yaml, phase: &str) -> Vec<String> {
    yaml["phases"][phase]["commands"]
        .as_vec()
        .unwrap_or_else(|| panic!("no {phase} commands"))
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

/// The value after `--dir` in the publish command (fixture paths need no shell quoting).
fn published_dir(build: &[String]) -> String {
    let publish = build
        .iter()
        .find(|c| c.starts_with("cargo cloudfront-host publish"))
        .expect("a publish step");
    assert_eq!(
        Some(publish),
        build.last(),
        "publish is the last build step"
    );
    let words: Vec<&str> = publish.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "--dir").expect("--dir");
    words[at + 1].to_string()
}

#[test]
fn buildspec_after_init_pins_versions_and_publishes_the_detected_dir() {
    for (fixture, _, _, framework, output_dir, pins) in HOSTABLE {
        let (_tmp, dir) = support::fixture(fixture);
        // Before init (detection only) and after (from the written metadata): the same dir.
        for round in ["detected", "metadata"] {
            if round == "metadata" {
                init(&dir, &["--yes"]).success();
            }
            let doc = json(
                support::cli_offline()
                    .current_dir(&dir)
                    .args(["buildspec", "--format", "json"])
                    .assert()
                    .success(),
            );
            assert_eq!(doc["framework"], *framework, "{fixture} {round}");
            let text = doc["buildspec"].as_str().unwrap();
            let docs = yaml_rust2::YamlLoader::load_from_str(text)
                .unwrap_or_else(|e| panic!("{fixture}: invalid YAML {e}\n{text}"));
            let yaml = &docs[0];
            assert_eq!(yaml["version"].as_f64(), Some(0.2), "{fixture}");
            let build = yaml_commands(yaml, "build");
            assert_eq!(published_dir(&build), *output_dir, "{fixture} {round}");
            let install = yaml_commands(yaml, "install").join("\n");
            assert!(
                install.contains("wasm32-unknown-unknown")
                    || matches!(*framework, "mdbook" | "zola" | "static")
            );
            for pin in *pins {
                assert!(
                    install.contains(pin),
                    "{fixture}: {pin} not pinned in\n{install}"
                );
            }
            for path in yaml["cache"]["paths"].as_vec().unwrap() {
                assert!(
                    path.as_str().unwrap().ends_with("/**/*"),
                    "{fixture}: {path:?}"
                );
            }
        }
    }
}

#[test]
fn buildspec_can_be_written_to_a_file() {
    let (_tmp, dir) = support::fixture("dioxus-06");
    let out: PathBuf = dir.join("buildspec.yml");
    support::cli_offline()
        .current_dir(&dir)
        .args(["buildspec", "--output"])
        .arg(&out)
        .assert()
        .success();
    let text = read(&out);
    assert!(
        text.contains("dx bundle --platform web --release"),
        "{text}"
    );
}

#[test]
fn help_has_examples() {
    for command in ["init", "buildspec"] {
        support::cli_offline()
            .args([command, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Examples:"));
    }
}
