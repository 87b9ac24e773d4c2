//! `ci github` and `ci.github`: the generated workflow for every fixture parses and passes
//! actionlint; `deploy` creates the OIDC provider and two roles whose trust and permissions,
//! read back from IAM, name only this repository, its bucket and its store; a second deploy
//! writes nothing; `delete` removes the roles and only a provider this project created.
//!
//! The OIDC provider is one per account, so every test that deploys gets an account of its
//! own: an IAM user created in a fresh account id (the emulator's `x-moto-account-id`
//! header), whose access key then stands for that account in every request.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use cargo_cloudfront_host::aws::{Aws, AwsOptions};
use cargo_cloudfront_host::github_workflow::{self as workflow, WorkflowSpec};
use cargo_cloudfront_host::infra::ci::{decode_policy, provider_arn};
use cargo_cloudfront_host::names::{Names, Scope};
use serde_json::Value;

const REGION: &str = "eu-west-1";
const PROVIDER_HOST: &str = "token.actions.githubusercontent.com";

/// The actionlint binary: `ACTIONLINT`, else where scripts/test installs it.
fn actionlint() -> PathBuf {
    let path = std::env::var_os("ACTIONLINT")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join("target/actionlint/bin/actionlint"));
    assert!(
        path.is_file(),
        "actionlint not found at {} (set ACTIONLINT, or run scripts/test, which installs it)",
        path.display()
    );
    path
}

/// Runs actionlint on `text` as a workflow file; panics with its findings.
fn lint(text: &str, what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".github/workflows/cloudfront-host.yml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, text).unwrap();
    let out = Command::new(actionlint())
        .arg("-no-color")
        .arg(&file)
        .current_dir(dir.path())
        .output()
        .expect("run actionlint");
    assert!(
        out.status.success(),
        "{what}: actionlint found problems:\n{}{}\n--- workflow ---\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git")
        .status
        .success();
    assert!(ok, "git {args:?}");
}

/// Makes `dir` a repository on branch `main` whose origin is `https://github.com/{repo}`.
fn init_repo(dir: &Path, repo: &str) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(
        dir,
        &[
            "remote",
            "add",
            "origin",
            &format!("https://github.com/{repo}.git"),
        ],
    );
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "init"]);
}

fn json(assert: assert_cmd::assert::Assert) -> Value {
    let out = assert.success().get_output().stdout.clone();
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
}

#[test]
fn the_workflow_of_every_fixture_stack_parses_and_passes_actionlint() {
    let fixtures = [
        "trunk-yew",
        "trunk-leptos-csr",
        "trunk-sycamore",
        "trunk-custom-dist",
        "dioxus-05",
        "dioxus-06",
        "mdbook",
        "zola",
        "static-plain",
        "workspace-frontend-member",
    ];
    for name in fixtures {
        let (_tmp, dir) = support::fixture(name);
        init_repo(&dir, &format!("octo/{name}"));
        let out = json(
            support::cli()
                .current_dir(&dir)
                .args(["ci", "github", "--dry-run", "--format", "json"])
                .env("AWS_REGION", REGION)
                .assert(),
        );
        let text = out["workflow"].as_str().unwrap();
        let doc = &yaml_rust2::YamlLoader::load_from_str(text)
            .unwrap_or_else(|e| panic!("{name}: {e}"))[0];
        assert_eq!(
            doc["on"]["push"]["branches"][0].as_str(),
            Some("main"),
            "{name}"
        );
        let steps = doc["jobs"]["publish"]["steps"].as_vec().unwrap();
        let creds = steps
            .iter()
            .find(|s| s["uses"].as_str() == Some("aws-actions/configure-aws-credentials@v6"))
            .unwrap_or_else(|| panic!("{name}: no credentials step"));
        assert_eq!(
            creds["with"]["role-to-assume"].as_str(),
            out["role_arn"].as_str(),
            "{name}"
        );
        assert_eq!(creds["with"]["aws-region"].as_str(), Some(REGION), "{name}");
        assert!(
            steps.last().unwrap()["run"]
                .as_str()
                .unwrap()
                .starts_with("cargo cloudfront-host publish"),
            "{name}"
        );
        lint(text, name);
        assert!(
            !dir.join(workflow::PATH).exists(),
            "{name}: --dry-run wrote the workflow"
        );
    }
}

#[test]
fn the_preview_jobs_pass_actionlint_for_every_kind_of_stack() {
    let versions = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let cases = [
        (
            "yew",
            versions(&[
                ("rust", "1.85.0"),
                ("trunk", "0.21.14"),
                ("wasm-bindgen", "0.2.100"),
            ]),
            Some("trunk build --release"),
            None,
        ),
        (
            "leptos-csr",
            versions(&[("trunk", ">=0.21, <0.23")]),
            Some("trunk build --release"),
            Some("frontend"),
        ),
        (
            "dioxus",
            versions(&[("dioxus-cli", "0.6.3"), ("wasm-bindgen", "0.2.100")]),
            Some("dx bundle --release --platform web"),
            None,
        ),
        (
            "mdbook",
            versions(&[("mdbook", "0.4.52")]),
            Some("mdbook build"),
            None,
        ),
        (
            "zola",
            versions(&[("zola", "0.20.0")]),
            Some("zola build"),
            None,
        ),
        ("static", versions(&[]), None, None),
        (
            "custom",
            versions(&[("rust", "nightly-2026-01-01")]),
            Some("echo 'a: b' # odd && make site"),
            Some("web app"),
        ),
    ];
    for (framework, tools, command, project_dir) in &cases {
        let text = workflow::render(&WorkflowSpec {
            framework,
            package: Some("web"),
            build_command: *command,
            output_dir: "my site/dist",
            tool_versions: tools,
            project_dir: *project_dir,
            branch: "release/v1",
            region: REGION,
            role_arn: "arn:aws:iam::123456789012:role/cfh-web-1234abcd-gh",
            preview_role_arn: Some("arn:aws:iam::123456789012:role/cfh-web-1234abcd-gh-pr"),
        })
        .unwrap_or_else(|e| panic!("{framework}: {e}"));
        let doc = &yaml_rust2::YamlLoader::load_from_str(&text).unwrap()[0];
        for job in ["publish", "preview", "preview-cleanup"] {
            assert!(!doc["jobs"][job].is_badvalue(), "{framework}: no job {job}");
        }
        lint(&text, framework);
    }
}

#[test]
fn ci_github_writes_once_keeps_an_edited_file_and_replaces_it_with_force() {
    let (_tmp, dir) = support::fixture("trunk-yew");
    init_repo(&dir, "octo/yew-app");
    let run = |args: &[&str]| {
        let mut all = vec!["ci", "github", "--format", "json"];
        all.extend_from_slice(args);
        support::cli().current_dir(&dir).args(&all).assert()
    };
    let first = json(run(&[]));
    assert_eq!(first["outcome"], "created");
    assert_eq!(first["enabled_setting"], true);
    let path = dir.join(workflow::PATH);
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, first["workflow"].as_str().unwrap());
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("ci.github = true"), "{manifest}");
    // The branch is pinned: a later deploy from another branch keeps trusting this one.
    assert!(manifest.contains("source.branch = \"main\""), "{manifest}");
    assert!(
        manifest.contains("# keep this comment"),
        "the rest of Cargo.toml stays as it was"
    );

    let second = json(run(&[]));
    assert_eq!(second["outcome"], "unchanged");
    assert_eq!(second["enabled_setting"], false, "already on");

    let edited = written.replace("ubuntu-latest", "ubuntu-24.04");
    std::fs::write(&path, &edited).unwrap();
    let refused = run(&[]).failure();
    // With --format json the error is the JSON result on stdout.
    let stdout = String::from_utf8_lossy(&refused.get_output().stdout).to_string();
    assert!(stdout.contains("--force"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited, "kept");

    let forced = json(run(&["--force"]));
    assert_eq!(forced["outcome"], "updated");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
}

#[test]
fn ci_github_names_the_setting_it_needs_before_any_aws_call() {
    // No git remote and no source.repository: refused before credentials are even looked at.
    let (_tmp, dir) = support::package(
        "[package.metadata.cloudfront]\nframework = \"static\"\nbuild.output_dir = \"dist\"\n",
    );
    let out = support::cli_offline()
        .current_dir(&dir)
        .args(["ci", "github", "--dry-run"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("source.repository"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// deploy / delete against the emulator
// ---------------------------------------------------------------------------------------------

struct Account {
    id: String,
    key: String,
    aws: Aws,
}

/// A fresh account with an IAM user whose access key the emulator maps to it.
async fn fresh_account() -> Account {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = u64::from(N.fetch_add(1, Ordering::Relaxed));
    let seed = u64::from(std::process::id()) * 1000 + n;
    let id = format!("{:012}", 200_000_000_000 + (seed * 7919) % 700_000_000_000);
    let iam = support::aws(REGION).await.iam();
    let header = id.clone();
    let user = support::unique("ci");
    iam.create_user()
        .user_name(&user)
        .customize()
        .mutate_request(move |r| {
            r.headers_mut().insert("x-moto-account-id", header.clone());
        })
        .send()
        .await
        .expect("create user");
    let header = id.clone();
    let key = iam
        .create_access_key()
        .user_name(&user)
        .customize()
        .mutate_request(move |r| {
            r.headers_mut().insert("x-moto-account-id", header.clone());
        })
        .send()
        .await
        .expect("create access key");
    let key = key.access_key().expect("a key").clone();
    let aws = Aws::load(&AwsOptions {
        profile: None,
        region: REGION.to_string(),
        endpoint_url: Some(support::emulator().to_string()),
        credentials: Some(aws_credential_types::Credentials::new(
            key.access_key_id(),
            key.secret_access_key(),
            None,
            None,
            "tests",
        )),
    })
    .await;
    let caller = aws.sts().get_caller_identity().send().await.unwrap();
    assert_eq!(
        caller.account(),
        Some(id.as_str()),
        "the key stands for the new account"
    );
    Account {
        id,
        key: key.access_key_id().to_string(),
        aws,
    }
}

struct Site {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    names: Names,
    repo: String,
}

/// A static site with `ci.github = true` for repository `octo/<unique>`, branch `main`.
fn site(account: &Account) -> Site {
    let name = support::unique("gh");
    let repo = format!("octo/{name}");
    let (tmp, dir) = support::package(&format!(
        "[package.metadata.cloudfront]\nname = \"{name}\"\nregion = \"{REGION}\"\nframework = \"static\"\nbuild.output_dir = \"dist\"\nsource.repository = \"{repo}\"\nsource.branch = \"main\"\nci.github = true\n"
    ));
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::write(dir.join("dist/index.html"), "<h1>hi</h1>").unwrap();
    let names = Names::new(&Scope {
        account: &account.id,
        region: REGION,
        repository: Some(&repo),
        project: &name,
    });
    Site {
        _tmp: tmp,
        dir,
        names,
        repo,
    }
}

impl Site {
    fn run(&self, account: &Account, args: &[&str]) -> Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        json(
            support::cli_with_key(&account.key)
                .current_dir(&self.dir)
                .args(&all)
                .assert(),
        )
    }
}

/// `(resource, action)` of every change in a plan or deploy result.
fn changes(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["resource"].as_str().unwrap().to_string(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn provider_exists(account: &Account) -> bool {
    let arn = provider_arn(&account.id);
    let list = account
        .aws
        .iam()
        .list_open_id_connect_providers()
        .send()
        .await
        .unwrap();
    list.open_id_connect_provider_list()
        .iter()
        .any(|p| p.arn() == Some(arn.as_str()))
}

async fn role_exists(account: &Account, name: &str) -> bool {
    account
        .aws
        .iam()
        .get_role()
        .role_name(name)
        .send()
        .await
        .is_ok()
}

/// The one statement of a role's trust policy, read back through GetRole (URL-encoded).
async fn trust_statement(account: &Account, role: &str) -> Value {
    let got = account
        .aws
        .iam()
        .get_role()
        .role_name(role)
        .send()
        .await
        .unwrap();
    let raw = got.role().unwrap().assume_role_policy_document().unwrap();
    let doc = decode_policy(raw).unwrap_or_else(|| panic!("undecodable trust policy {raw}"));
    let statements = doc["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{doc}");
    statements[0].clone()
}

/// `(sid, actions, resource)` of a role's inline policy, read back through GetRolePolicy.
async fn permissions(account: &Account, role: &str) -> Vec<(String, Vec<String>, String)> {
    let got = account
        .aws
        .iam()
        .get_role_policy()
        .role_name(role)
        .policy_name("cloudfront-host")
        .send()
        .await
        .unwrap();
    let doc = decode_policy(got.policy_document()).unwrap();
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["Effect"], "Allow");
            let actions = match &s["Action"] {
                Value::String(a) => vec![a.clone()],
                Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
                other => panic!("{other}"),
            };
            (
                s["Sid"].as_str().unwrap().to_string(),
                actions,
                s["Resource"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn deploy_creates_a_provider_and_roles_that_trust_only_this_repository() {
    let account = fresh_account().await;
    let site = site(&account);
    assert!(!provider_exists(&account).await);

    let plan = site.run(&account, &["plan"]);
    let planned = changes(&plan["changes"]);
    for resource in ["github-oidc-provider", "github-role", "github-preview-role"] {
        assert!(
            planned.contains(&(resource.to_string(), "create".to_string())),
            "{planned:?}"
        );
    }
    assert!(!provider_exists(&account).await, "plan wrote nothing");

    site.run(&account, &["deploy", "--no-publish"]);

    // The provider: GitHub's issuer, the STS audience, this project's tags.
    let arn = provider_arn(&account.id);
    let iam = account.aws.iam();
    let provider = iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(provider.url(), Some(PROVIDER_HOST));
    assert_eq!(provider.client_id_list(), ["sts.amazonaws.com"]);
    let tags = iam
        .list_open_id_connect_provider_tags()
        .open_id_connect_provider_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(
        site.names
            .owns(tags.tags().iter().map(|t| (t.key(), t.value())))
    );

    // Trust: the provider, AssumeRoleWithWebIdentity, aud and sub compared exactly.
    for (role, sub) in [
        (
            site.names.github_role(),
            format!("repo:{}:ref:refs/heads/main", site.repo),
        ),
        (
            site.names.github_preview_role(),
            format!("repo:{}:pull_request", site.repo),
        ),
    ] {
        let s = trust_statement(&account, &role).await;
        assert_eq!(s["Effect"], "Allow", "{role}");
        assert_eq!(
            s["Principal"]["Federated"],
            Value::String(arn.clone()),
            "{role}"
        );
        assert_eq!(s["Action"], "sts:AssumeRoleWithWebIdentity", "{role}");
        let conditions = s["Condition"].as_object().unwrap();
        assert_eq!(conditions.len(), 1, "only StringEquals: {s}");
        let eq = s["Condition"]["StringEquals"].as_object().unwrap();
        assert_eq!(eq.len(), 2, "{s}");
        assert_eq!(eq[&format!("{PROVIDER_HOST}:aud")], "sts.amazonaws.com");
        assert_eq!(eq[&format!("{PROVIDER_HOST}:sub")], Value::String(sub));
    }

    // Permissions: this bucket and this store, nothing else; previews cannot delete objects.
    let bucket = site.names.bucket();
    let kvs_arn = account
        .aws
        .cloudfront()
        .describe_key_value_store()
        .name(site.names.kvs())
        .send()
        .await
        .unwrap()
        .key_value_store()
        .unwrap()
        .arn()
        .to_string();
    for (role, deletes) in [
        (site.names.github_role(), true),
        (site.names.github_preview_role(), false),
    ] {
        let statements = permissions(&account, &role).await;
        let by_sid = |sid: &str| {
            statements
                .iter()
                .find(|(s, _, _)| s == sid)
                .unwrap_or_else(|| panic!("{role}: no statement {sid}: {statements:?}"))
                .clone()
        };
        assert_eq!(
            statements.len(),
            if deletes { 4 } else { 5 },
            "{role}: {statements:?}"
        );
        if !deletes {
            // Only the previews' own records, never a published file.
            let (_, actions, resource) = by_sid("PreviewRecords");
            assert_eq!(actions, ["s3:DeleteObject"]);
            assert_eq!(
                resource,
                format!("arn:aws:s3:::{bucket}/_cloudfront-host/previews/*")
            );
        }
        let (_, actions, resource) = by_sid("SiteBucket");
        assert_eq!(resource, format!("arn:aws:s3:::{bucket}"));
        assert_eq!(
            actions,
            [
                "s3:GetBucketLocation",
                "s3:ListBucket",
                "s3:ListBucketMultipartUploads"
            ]
        );
        let (_, actions, resource) = by_sid("SiteObjects");
        assert_eq!(resource, format!("arn:aws:s3:::{bucket}/*"));
        assert_eq!(
            actions.contains(&"s3:DeleteObject".to_string()),
            deletes,
            "{role}"
        );
        for a in [
            "s3:GetObject",
            "s3:PutObject",
            "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts",
        ] {
            assert!(actions.contains(&a.to_string()), "{role}: {a}");
        }
        let (_, actions, resource) = by_sid("FindStore");
        assert_eq!(
            (actions, resource.as_str()),
            (
                vec!["cloudfront:DescribeKeyValueStore".to_string()],
                kvs_arn.as_str()
            )
        );
        let (_, actions, resource) = by_sid("LivePointer");
        assert_eq!(resource, kvs_arn);
        assert!(
            actions
                .iter()
                .all(|a| a.starts_with("cloudfront-keyvaluestore:"))
        );
        for a in [
            "GetKey",
            "PutKey",
            "DeleteKey",
            "DescribeKeyValueStore",
            "ListKeys",
            "UpdateKeys",
        ] {
            assert!(
                actions.contains(&format!("cloudfront-keyvaluestore:{a}")),
                "{role}: {a}"
            );
        }
    }

    // show prints the role ARNs.
    let shown = site.run(&account, &["show"]);
    assert_eq!(
        shown["github"]["role_arn"].as_str().unwrap(),
        format!(
            "arn:aws:iam::{}:role/{}",
            account.id,
            site.names.github_role()
        )
    );
    assert_eq!(
        shown["github"]["preview_role_arn"].as_str().unwrap(),
        format!(
            "arn:aws:iam::{}:role/{}",
            account.id,
            site.names.github_preview_role()
        )
    );

    // A second deploy changes nothing, read from the wire.
    let since = support::last_request_seq(&account.key);
    let again = site.run(&account, &["deploy", "--no-publish"]);
    assert!(
        changes(&again["changes"]).iter().all(|(_, a)| a == "none"),
        "{again}"
    );
    let writes = support::write_calls(&account.key, since);
    assert!(writes.is_empty(), "a second deploy wrote: {writes:?}");

    // delete: both roles and the provider this project created.
    let deleted = site.run(&account, &["delete", "--yes"]);
    let done = changes(&deleted["changes"]);
    for resource in ["github-oidc-provider", "github-role", "github-preview-role"] {
        assert!(
            done.contains(&(resource.to_string(), "delete".to_string())),
            "{done:?}"
        );
    }
    assert!(!role_exists(&account, &site.names.github_role()).await);
    assert!(!role_exists(&account, &site.names.github_preview_role()).await);
    assert!(!provider_exists(&account).await);
    site.run(&account, &["delete", "--yes"]);
}

#[tokio::test]
async fn a_provider_the_account_already_has_is_reused_and_survives_delete() {
    let account = fresh_account().await;
    let iam = account.aws.iam();
    iam.create_open_id_connect_provider()
        .url(format!("https://{PROVIDER_HOST}"))
        .client_id_list("sts.amazonaws.com")
        .send()
        .await
        .unwrap();
    let site = site(&account);

    let deployed = site.run(&account, &["deploy", "--no-publish"]);
    let done = changes(&deployed["changes"]);
    assert!(
        done.contains(&("github-oidc-provider".to_string(), "none".to_string())),
        "{done:?}"
    );
    let s = trust_statement(&account, &site.names.github_role()).await;
    assert_eq!(
        s["Principal"]["Federated"],
        Value::String(provider_arn(&account.id))
    );

    site.run(&account, &["delete", "--yes"]);
    assert!(!role_exists(&account, &site.names.github_role()).await);
    assert!(!role_exists(&account, &site.names.github_preview_role()).await);
    assert!(
        provider_exists(&account).await,
        "the account's own provider stays"
    );
    let tags = iam
        .list_open_id_connect_provider_tags()
        .open_id_connect_provider_arn(provider_arn(&account.id))
        .send()
        .await
        .unwrap();
    assert!(tags.tags().is_empty(), "and was not tagged by the deploy");
}

#[tokio::test]
async fn a_provider_another_project_still_trusts_is_left_alone() {
    let account = fresh_account().await;
    let first = site(&account);
    let second = site(&account);
    first.run(&account, &["deploy", "--no-publish"]);
    second.run(&account, &["deploy", "--no-publish"]);

    let deleted = first.run(&account, &["delete", "--yes"]);
    let provider = deleted["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resource"] == "github-oidc-provider")
        .cloned()
        .expect("the provider is listed");
    assert_eq!(provider["action"], "none", "{provider}");
    assert!(
        provider["reason"]
            .as_str()
            .unwrap()
            .contains(&second.names.github_role()),
        "{provider}"
    );
    assert!(provider_exists(&account).await);
    assert!(role_exists(&account, &second.names.github_role()).await);
}

#[test]
fn the_release_workflow_passes_actionlint_and_builds_the_archives_binstall_asks_for() {
    let root = support::repo_root();
    let text = std::fs::read_to_string(root.join(".github/workflows/release.yml")).unwrap();
    lint(&text, "release.yml");

    // Every target the release builds is an archive name binstall's pkg-url expands to.
    let manifest: toml_edit::DocumentMut = std::fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let binstall = &manifest["package"]["metadata"]["binstall"];
    let doc = &yaml_rust2::YamlLoader::load_from_str(&text).unwrap()[0];
    let targets: Vec<String> = doc["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap().to_string())
        .collect();
    for required in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(
            targets.iter().any(|t| t == required),
            "{required}: {targets:?}"
        );
    }
    for target in &targets {
        let table = binstall["overrides"]
            .get(target)
            .and_then(|o| o.get("pkg-url"))
            .unwrap_or(&binstall["pkg-url"]);
        let url = table
            .as_str()
            .unwrap()
            .replace("{ repo }", "R")
            .replace("{ version }", "1.2.3")
            .replace("{ name }", "cargo-cloudfront-host")
            .replace("{ target }", target);
        let archive = format!(
            "cargo-cloudfront-host-v1.2.3-{target}.{}",
            if target.contains("windows") {
                "zip"
            } else {
                "tar.gz"
            }
        );
        assert_eq!(
            url,
            format!("R/releases/download/v1.2.3/{archive}"),
            "{target}"
        );
        // The release script names archives the same way.
        assert!(text.contains("name=\"cargo-cloudfront-host-v${VERSION}-${TARGET}\""));
    }
    assert_eq!(
        binstall["bin-dir"].as_str(),
        Some("{ name }-v{ version }-{ target }/{ bin }{ binary-ext }")
    );
}

#[tokio::test]
async fn turning_previews_off_removes_the_pull_request_role_only() {
    let account = fresh_account().await;
    let site = site(&account);
    site.run(&account, &["deploy", "--no-publish"]);
    assert!(role_exists(&account, &site.names.github_preview_role()).await);

    let off = ["--set", "ci.github_previews=false"];
    let plan = site.run(&account, &["plan", off[0], off[1]]);
    assert!(
        changes(&plan["changes"]).contains(&("github-preview-role".into(), "delete".into())),
        "{plan}"
    );
    assert!(
        role_exists(&account, &site.names.github_preview_role()).await,
        "plan wrote nothing"
    );
    site.run(&account, &["deploy", "--no-publish", off[0], off[1]]);
    assert!(!role_exists(&account, &site.names.github_preview_role()).await);
    assert!(role_exists(&account, &site.names.github_role()).await);

    // And the workflow then has no pull-request jobs, whatever this build supports.
    let out = site.run(&account, &["ci", "github", "--dry-run", off[0], off[1]]);
    assert!(out["preview_role_arn"].is_null(), "{out}");
    assert!(!out["workflow"].as_str().unwrap().contains("pull_request"));
    site.run(&account, &["delete", "--yes"]);
}

#[tokio::test]
async fn a_provider_without_the_sts_audience_stops_deploy_before_any_change() {
    let account = fresh_account().await;
    account
        .aws
        .iam()
        .create_open_id_connect_provider()
        .url(format!("https://{PROVIDER_HOST}"))
        .client_id_list("some-other-audience")
        .send()
        .await
        .unwrap();
    let site = site(&account);
    let since = support::last_request_seq(&account.key);
    let out = support::cli_with_key(&account.key)
        .current_dir(&site.dir)
        .args(["deploy", "--no-publish"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("add-client-id-to-open-id-connect-provider")
            && stderr.contains("sts.amazonaws.com"),
        "{stderr}"
    );
    let writes = support::write_calls(&account.key, since);
    assert!(writes.is_empty(), "refused after writing: {writes:?}");
}
