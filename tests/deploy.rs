//! `deploy`, `plan`, `delete` and `show` against the emulator, through the CLI, with every
//! resource read back through the SDK.

mod support;

use std::path::{Path, PathBuf};

use aws_sdk_cloudfront::types::*;
use cargo_cloudfront_host::names::{Names, Scope};
use serde_json::Value;

const REGION: &str = "eu-west-1";

struct Project {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    names: Names,
    cf: aws_sdk_cloudfront::Client,
    s3: aws_sdk_s3::Client,
    kvs: aws_sdk_cloudfrontkeyvaluestore::Client,
}

/// A static-site project (framework `static`) whose `dist/` holds a small site.
async fn project(extra: &str) -> Project {
    let name = support::unique("dep");
    let (tmp, dir) = support::package(&format!(
        "[package.metadata.cloudfront]\nname = \"{name}\"\nregion = \"{REGION}\"\nframework = \"static\"\nbuild.output_dir = \"dist\"\n{extra}"
    ));
    write(&dir.join("dist"), "index.html", "<h1>home</h1>");
    write(&dir.join("dist"), "404.html", "<h1>not here</h1>");
    let names = Names::new(&Scope {
        account: support::ACCOUNT,
        region: REGION,
        repository: None,
        project: &name,
    });
    let aws = support::aws(REGION).await;
    Project {
        _tmp: tmp,
        dir,
        names,
        cf: aws.cloudfront(),
        s3: aws.s3(),
        kvs: aws.kvs(),
    }
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

impl Project {
    fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        support::cli().current_dir(&self.dir).args(args).assert()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let out = self.run(&all).success().get_output().stdout.clone();
        serde_json::from_slice(&out)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out)))
    }

    /// `(resource, action)` for every change of `plan`.
    fn plan(&self, extra: &[&str]) -> Vec<(String, String)> {
        let mut args = vec!["plan"];
        args.extend_from_slice(extra);
        actions(&self.json(&args)["changes"])
    }

    /// (id, arn) of every distribution tagged with this project's stack.
    async fn owned_distribution_ids(&self) -> Vec<(String, String)> {
        let list = self.cf.list_distributions().send().await.unwrap();
        let mut out = Vec::new();
        for s in list.distribution_list().unwrap().items() {
            let tags = self
                .cf
                .list_tags_for_resource()
                .resource(s.arn())
                .send()
                .await
                .unwrap();
            if tags.tags().is_some_and(|t| {
                t.items().iter().any(|t| {
                    t.key() == "cloudfront-host:stack" && t.value() == Some(self.names.stack_id())
                })
            }) {
                out.push((s.id().to_string(), s.arn().to_string()));
            }
        }
        out
    }

    async fn find_distribution(&self) -> Option<(String, DistributionConfig, String)> {
        let (id, arn) = self.owned_distribution_ids().await.into_iter().next()?;
        let got = self
            .cf
            .get_distribution_config()
            .id(&id)
            .send()
            .await
            .unwrap();
        Some((id, got.distribution_config().unwrap().clone(), arn))
    }

    async fn owned_distributions(&self) -> usize {
        self.owned_distribution_ids().await.len()
    }

    async fn cache_policy(&self) -> Option<(String, CachePolicyConfig)> {
        let list = self
            .cf
            .list_cache_policies()
            .r#type(CachePolicyType::Custom)
            .send()
            .await
            .unwrap();
        list.cache_policy_list()
            .unwrap()
            .items()
            .iter()
            .filter_map(|s| s.cache_policy())
            .find(|p| p.cache_policy_config().unwrap().name() == self.names.cache_policy())
            .map(|p| (p.id().to_string(), p.cache_policy_config().unwrap().clone()))
    }

    async fn headers_policy(&self) -> Option<(String, ResponseHeadersPolicyConfig)> {
        let list = self
            .cf
            .list_response_headers_policies()
            .r#type(ResponseHeadersPolicyType::Custom)
            .send()
            .await
            .unwrap();
        list.response_headers_policy_list()
            .unwrap()
            .items()
            .iter()
            .filter_map(|s| s.response_headers_policy())
            .find(|p| {
                p.response_headers_policy_config().unwrap().name() == self.names.headers_policy()
            })
            .map(|p| {
                (
                    p.id().to_string(),
                    p.response_headers_policy_config().unwrap().clone(),
                )
            })
    }

    async fn oac(&self) -> Option<OriginAccessControlSummary> {
        let list = self.cf.list_origin_access_controls().send().await.unwrap();
        list.origin_access_control_list()
            .unwrap()
            .items()
            .iter()
            .find(|o| o.name() == self.names.origin_access_control())
            .cloned()
    }

    async fn kvs_arn(&self) -> Option<String> {
        self.cf
            .describe_key_value_store()
            .name(self.names.kvs())
            .send()
            .await
            .ok()
            .map(|d| d.key_value_store().unwrap().arn().to_string())
    }

    async fn live(&self) -> Option<String> {
        let arn = self.kvs_arn().await?;
        self.kvs
            .get_key()
            .kvs_arn(arn)
            .key("live")
            .send()
            .await
            .ok()
            .map(|o| o.value().to_string())
    }

    async fn function_live_code(&self) -> Option<(Vec<u8>, FunctionConfig)> {
        let code = self
            .cf
            .get_function()
            .name(self.names.function())
            .stage(FunctionStage::Live)
            .send()
            .await
            .ok()?;
        let described = self
            .cf
            .describe_function()
            .name(self.names.function())
            .stage(FunctionStage::Live)
            .send()
            .await
            .unwrap();
        Some((
            code.function_code().unwrap().as_ref().to_vec(),
            described
                .function_summary()
                .unwrap()
                .function_config()
                .unwrap()
                .clone(),
        ))
    }

    async fn bucket_exists(&self) -> bool {
        self.s3
            .head_bucket()
            .bucket(self.names.bucket())
            .send()
            .await
            .is_ok()
    }
}

fn actions(changes: &Value) -> Vec<(String, String)> {
    changes
        .as_array()
        .unwrap_or_else(|| panic!("no changes array: {changes}"))
        .iter()
        .map(|c| {
            (
                c["resource"].as_str().unwrap().to_string(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn not_none(changes: &[(String, String)]) -> Vec<(String, String)> {
    changes
        .iter()
        .filter(|(_, a)| a != "none")
        .cloned()
        .collect()
}

fn pair(resource: &str, action: &str) -> (String, String) {
    (resource.to_string(), action.to_string())
}

#[tokio::test]
async fn first_deploy_creates_every_resource_as_configured_and_a_second_changes_nothing() {
    let p = project("price_class = \"PriceClass_200\"\nprecompress = [\"wasm\", \"js\"]\n").await;

    // The plan of a new project: everything to create, and no writes.
    let plan = p.plan(&[]);
    assert!(
        plan.iter().all(|(_, a)| a == "create"),
        "nothing exists yet: {plan:?}"
    );
    assert_eq!(plan.len(), 9, "{plan:?}");
    assert!(!p.bucket_exists().await, "plan wrote nothing");

    let out = p.json(&["deploy"]);
    let url = out["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://") && url.ends_with(".cloudfront.net/"),
        "{url}"
    );
    let published = &out["published"];
    assert_eq!(published["files"], 2, "{out}");

    // Bucket: private, encrypted, owner-enforced, tagged, TLS-only, read by this distribution.
    let bucket = p.names.bucket();
    let pab =
        p.s3.get_public_access_block()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    let pab = pab.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            pab.block_public_acls(),
            pab.ignore_public_acls(),
            pab.block_public_policy(),
            pab.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
    let enc =
        p.s3.get_bucket_encryption()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "AES256"
    );
    let own =
        p.s3.get_bucket_ownership_controls()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    assert_eq!(
        own.ownership_controls().unwrap().rules()[0]
            .object_ownership()
            .as_str(),
        "BucketOwnerEnforced"
    );
    let tags =
        p.s3.get_bucket_tagging()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    let tag = |k: &str| {
        tags.tag_set()
            .iter()
            .find(|t| t.key() == k)
            .map(|t| t.value().to_string())
    };
    assert_eq!(
        tag("cloudfront-host:project").as_deref(),
        Some(p.names.project())
    );
    assert_eq!(
        tag("cloudfront-host:stack").as_deref(),
        Some(p.names.stack_id())
    );

    let (dist_id, dist, dist_arn) = p.find_distribution().await.expect("a tagged distribution");
    assert_eq!(out["distribution_id"], dist_id.as_str());
    let policy =
        p.s3.get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    let deny = statements.iter().find(|s| s["Effect"] == "Deny").unwrap();
    assert_eq!(deny["Condition"]["Bool"]["aws:SecureTransport"], "false");
    let read = statements
        .iter()
        .find(|s| s["Action"] == "s3:GetObject")
        .unwrap();
    assert_eq!(read["Principal"]["Service"], "cloudfront.amazonaws.com");
    assert_eq!(
        read["Condition"]["StringEquals"]["AWS:SourceArn"],
        dist_arn.as_str()
    );
    assert_eq!(read["Resource"], format!("arn:aws:s3:::{bucket}/*"));

    // Origin access control: SigV4, always sign, S3.
    let oac = p.oac().await.expect("origin access control");
    assert_eq!(oac.signing_protocol().as_str(), "sigv4");
    assert_eq!(oac.signing_behavior().as_str(), "always");
    assert_eq!(oac.origin_access_control_origin_type().as_str(), "s3");

    // Cache policy: a year at the edge, gzip and brotli in the key, nothing else.
    let (cache_id, cache) = p.cache_policy().await.expect("cache policy");
    assert_eq!(cache.max_ttl(), Some(31_536_000));
    assert_eq!(cache.min_ttl(), 31_536_000);
    let key = cache
        .parameters_in_cache_key_and_forwarded_to_origin()
        .unwrap();
    assert!(key.enable_accept_encoding_gzip());
    assert_eq!(key.enable_accept_encoding_brotli(), Some(true));
    assert_eq!(
        key.query_strings_config().unwrap().query_string_behavior(),
        &CachePolicyQueryStringBehavior::None
    );

    // Headers policy: HSTS 2 years with subdomains, nosniff, DENY, referrer, a WASM CSP.
    let (headers_id, headers) = p.headers_policy().await.expect("headers policy");
    let sec = headers.security_headers_config().unwrap();
    let hsts = sec.strict_transport_security().unwrap();
    assert_eq!(hsts.access_control_max_age_sec(), 63_072_000);
    assert_eq!(hsts.include_subdomains(), Some(true));
    assert!(sec.content_type_options().is_some());
    assert_eq!(
        sec.frame_options().unwrap().frame_option(),
        &FrameOptionsList::Deny
    );
    assert_eq!(
        sec.referrer_policy().unwrap().referrer_policy(),
        &ReferrerPolicyList::StrictOriginWhenCrossOrigin
    );
    let csp = sec
        .content_security_policy()
        .unwrap()
        .content_security_policy();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(
        headers
            .custom_headers_config()
            .is_none_or(|c| c.items().is_empty()),
        "no isolation headers unless asked"
    );

    // The function: the rendered routing (static, wasm+js precompressed), bound to the store.
    let kvs_arn = p.kvs_arn().await.expect("key-value store");
    let (code, fconfig) = p.function_live_code().await.expect("a published function");
    let expected = cargo_cloudfront_host::edge::function::render(
        "static",
        &["wasm".to_string(), "js".to_string()],
    )
    .unwrap();
    assert_eq!(String::from_utf8(code).unwrap(), expected);
    assert_eq!(fconfig.runtime(), &FunctionRuntime::CloudfrontJs20);
    assert_eq!(
        fconfig.key_value_store_associations().unwrap().items()[0].key_value_store_arn(),
        kvs_arn
    );

    // The distribution, field by field.
    assert!(dist.enabled());
    assert_eq!(dist.http_version(), Some(&HttpVersion::Http2and3));
    assert_eq!(dist.is_ipv6_enabled(), Some(true));
    assert_eq!(dist.price_class(), Some(&PriceClass::PriceClass200));
    assert_eq!(dist.default_root_object(), Some("index.html"));
    let origin = &dist.origins().unwrap().items()[0];
    assert_eq!(
        origin.domain_name(),
        format!("{bucket}.s3.{REGION}.amazonaws.com")
    );
    assert_eq!(origin.origin_access_control_id(), Some(oac.id()));
    let behavior = dist.default_cache_behavior().unwrap();
    assert_eq!(
        behavior.viewer_protocol_policy(),
        &ViewerProtocolPolicy::RedirectToHttps
    );
    assert_eq!(behavior.compress(), Some(true));
    assert_eq!(behavior.cache_policy_id(), Some(cache_id.as_str()));
    assert_eq!(
        behavior.response_headers_policy_id(),
        Some(headers_id.as_str())
    );
    let assoc = &behavior.function_associations().unwrap().items()[0];
    assert_eq!(assoc.event_type(), &EventType::ViewerRequest);
    assert!(
        assoc
            .function_arn()
            .ends_with(&format!("function/{}", p.names.function()))
    );
    let errors = dist.custom_error_responses().unwrap().items();
    let codes: Vec<(i32, Option<&str>, Option<&str>)> = errors
        .iter()
        .map(|e| (e.error_code(), e.response_code(), e.response_page_path()))
        .collect();
    assert_eq!(
        codes,
        vec![
            (403, Some("404"), Some("/404.html")),
            (404, Some("404"), Some("/404.html"))
        ],
        "static sites answer a missing page with their 404.html"
    );

    // The error page CloudFront serves is the live version's 404.html.
    let page =
        p.s3.get_object()
            .bucket(&bucket)
            .key("404.html")
            .send()
            .await
            .unwrap();
    let page = page.body.collect().await.unwrap().into_bytes();
    assert_eq!(&page[..], b"<h1>not here</h1>");

    // The site went live: the store names the published version, not the placeholder.
    let live = p.live().await.unwrap();
    assert_eq!(published["version"], live.as_str());
    assert_ne!(live, "placeholder");

    // Second deploy: the plan is all `none` and nothing is applied.
    let plan = p.plan(&[]);
    assert!(not_none(&plan).is_empty(), "{plan:?}");
    let again = p.json(&["deploy", "--no-publish"]);
    assert!(not_none(&actions(&again["changes"])).is_empty(), "{again}");
    assert_eq!(again["distribution_id"], dist_id.as_str());

    // show: the URL, the live version and every resource found.
    let shown = p.json(&["show"]);
    assert_eq!(shown["url"], url);
    assert_eq!(shown["live"], live.as_str());
    assert_eq!(shown["ids"]["distribution_id"], dist_id.as_str());
    let resources = shown["resources"].as_array().unwrap();
    assert!(resources.iter().all(|r| r["exists"] == true), "{shown}");
}

#[tokio::test]
async fn a_changed_setting_updates_only_its_resource() {
    let p = project("").await;
    p.run(&["deploy", "--no-publish"]).success();
    assert_eq!(p.live().await.as_deref(), Some("placeholder"));

    let cases: [(&[&str], &str); 3] = [
        (&["--set", "price_class=PriceClass_All"], "distribution"),
        (
            &["--set", "headers.cross_origin_isolation=true"],
            "headers-policy",
        ),
        (&["--set", "precompress=wasm,css"], "function"),
    ];
    // Each step keeps the earlier overrides, so only the newest one is a change.
    let mut flags: Vec<&str> = Vec::new();
    for (extra, resource) in cases {
        flags.extend_from_slice(extra);
        let plan = p.plan(&flags);
        assert_eq!(not_none(&plan), vec![pair(resource, "update")], "{flags:?}");
        let mut args = vec!["deploy", "--no-publish"];
        args.extend_from_slice(&flags);
        let out = p.json(&args);
        assert_eq!(
            not_none(&actions(&out["changes"])),
            vec![pair(resource, "update")]
        );
        assert!(not_none(&p.plan(&flags)).is_empty(), "{flags:?} converged");
    }
    let (_, dist, _) = p.find_distribution().await.unwrap();
    assert_eq!(dist.price_class(), Some(&PriceClass::PriceClassAll));
    let (_, headers) = p.headers_policy().await.unwrap();
    let custom: Vec<&str> = headers
        .custom_headers_config()
        .unwrap()
        .items()
        .iter()
        .map(|h| h.header())
        .collect();
    assert!(
        custom.contains(&"cross-origin-embedder-policy"),
        "{custom:?}"
    );
    let (code, _) = p.function_live_code().await.unwrap();
    let expected = cargo_cloudfront_host::edge::function::render(
        "static",
        &["wasm".to_string(), "css".to_string()],
    )
    .unwrap();
    assert_eq!(code, expected.as_bytes());
}

#[tokio::test]
async fn resources_deleted_by_hand_are_recreated() {
    let p = project("").await;
    p.run(&["deploy", "--no-publish"]).success();
    let (old_id, old_config, _) = p.find_distribution().await.unwrap();
    let bucket = p.names.bucket();

    // By hand: drop the bucket policy and the public-access block, and delete the
    // distribution (disable, wait, delete), as someone might in the console.
    p.s3.delete_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    p.s3.delete_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let etag =
        p.cf.get_distribution_config()
            .id(&old_id)
            .send()
            .await
            .unwrap()
            .e_tag()
            .unwrap()
            .to_string();
    let mut disabled = old_config.clone();
    disabled.enabled = false;
    let updated =
        p.cf.update_distribution()
            .id(&old_id)
            .if_match(etag)
            .distribution_config(disabled)
            .send()
            .await
            .unwrap();
    p.cf.get_distribution().id(&old_id).send().await.unwrap(); // now Deployed
    p.cf.delete_distribution()
        .id(&old_id)
        .if_match(updated.e_tag().unwrap())
        .send()
        .await
        .unwrap();

    let plan = not_none(&p.plan(&[]));
    assert_eq!(
        plan,
        vec![
            pair("bucket", "update"),
            pair("distribution", "create"),
            pair("bucket-policy", "create"),
        ],
        "the record named a distribution that is gone: it is looked up, not assumed"
    );
    p.run(&["deploy", "--no-publish"]).success();
    let (new_id, _, new_arn) = p.find_distribution().await.unwrap();
    assert_ne!(new_id, old_id);
    let policy =
        p.s3.get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    assert!(
        policy.policy().unwrap().contains(&new_arn),
        "the bucket policy follows the new distribution"
    );
    assert!(not_none(&p.plan(&[])).is_empty());
}

#[tokio::test]
async fn a_failure_midway_leaves_a_state_the_next_deploy_completes() {
    let p = project("").await;
    let bucket = p.names.bucket();
    // Faults aimed at this project's bucket only (tests share the emulator): first the record
    // written right after the distribution is created, then the bucket policy.
    let fault = |method: &str, path: String, query: &str| {
        support::hook(
            "/_emulator/faults",
            serde_json::json!({
                "method": method, "path": path, "query": query,
                "status": 400, "code": "InvalidArgument",
                "message": "injected by the test", "count": 1
            }),
        );
    };
    fault(
        "PUT",
        format!("^/{bucket}/_cloudfront-host/stack.json$"),
        "",
    );
    let failed = p.run(&["deploy"]).failure();
    let stderr = String::from_utf8_lossy(&failed.get_output().stderr).to_string();
    assert!(stderr.contains("injected by the test"), "{stderr}");
    assert!(stderr.contains("next `deploy` continues"), "{stderr}");
    assert_eq!(p.owned_distributions().await, 1);
    assert_eq!(
        p.live().await.as_deref(),
        Some("placeholder"),
        "a failed deploy publishes nothing"
    );
    assert_eq!(
        not_none(&p.plan(&[])),
        vec![pair("bucket-policy", "create")],
        "the unrecorded distribution is found by its marker and tags, not created twice"
    );

    fault("PUT", format!("^/{bucket}/?$"), "policy");
    p.run(&["deploy"]).failure();
    assert_eq!(
        not_none(&p.plan(&[])),
        vec![pair("bucket-policy", "create")]
    );

    let out = p.json(&["deploy"]);
    assert!(out["url"].as_str().is_some());
    assert_ne!(p.live().await.as_deref(), Some("placeholder"));
    assert!(not_none(&p.plan(&[])).is_empty());
    assert_eq!(
        p.owned_distributions().await,
        1,
        "nothing was created twice"
    );
}

#[tokio::test]
async fn delete_removes_everything_tagged_and_a_second_delete_succeeds() {
    let p = project("").await;
    p.run(&["deploy"]).success();
    assert!(p.bucket_exists().await);

    // Without --yes and without a terminal, delete refuses and changes nothing.
    let refused = p.run(&["delete"]).failure();
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(stderr.contains("--yes"), "{stderr}");
    assert!(p.find_distribution().await.is_some());

    let dry = p.json(&["delete", "--dry-run"]);
    assert_eq!(
        actions(&dry["changes"])
            .iter()
            .filter(|(_, a)| a == "delete")
            .count(),
        7,
        "{dry}"
    );
    assert!(p.bucket_exists().await, "--dry-run removes nothing");

    let done = p.json(&["delete", "--yes"]);
    assert!(
        actions(&done["changes"]).iter().all(|(_, a)| a == "delete"),
        "{done}"
    );
    assert!(!p.bucket_exists().await);
    assert!(p.find_distribution().await.is_none());
    assert!(p.cache_policy().await.is_none());
    assert!(p.headers_policy().await.is_none());
    assert!(p.oac().await.is_none());
    assert!(p.kvs_arn().await.is_none());
    assert!(p.function_live_code().await.is_none());

    let again = p.json(&["delete", "--yes"]);
    assert!(
        actions(&again["changes"]).iter().all(|(_, a)| a == "none"),
        "{again}"
    );
}

#[tokio::test]
async fn resources_without_the_projects_marks_are_never_touched() {
    let p = project("").await;
    // Someone else's cache policy happens to carry this project's name.
    let foreign =
        p.cf.create_cache_policy()
            .cache_policy_config(
                CachePolicyConfig::builder()
                    .name(p.names.cache_policy())
                    .comment("made by hand")
                    .min_ttl(0)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    let foreign_id = foreign.cache_policy().unwrap().id().to_string();

    let refused = p.run(&["deploy", "--no-publish"]).failure();
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(
        stderr.contains(&p.names.cache_policy()) && stderr.contains("refusing"),
        "{stderr}"
    );
    let got =
        p.cf.get_cache_policy()
            .id(&foreign_id)
            .send()
            .await
            .unwrap();
    assert_eq!(
        got.cache_policy()
            .unwrap()
            .cache_policy_config()
            .unwrap()
            .comment(),
        Some("made by hand"),
        "deploy did not take it over"
    );

    // delete removes what this project made and leaves the foreign policy alone.
    let done = p.json(&["delete", "--yes"]);
    let cache = actions(&done["changes"])
        .into_iter()
        .find(|(r, _)| r == "cache-policy")
        .unwrap();
    assert_eq!(cache.1, "none");
    assert!(p.cf.get_cache_policy().id(&foreign_id).send().await.is_ok());
    assert!(!p.bucket_exists().await);
}

impl Project {
    /// Runs `args` signed with its own access key; returns the write calls it made, read from
    /// the emulator's request log.
    fn writes_of(&self, args: &[&str]) -> Vec<String> {
        let key = support::unique("AKIDWRITES");
        support::cli_with_key(&key)
            .current_dir(&self.dir)
            .args(args)
            .assert()
            .success();
        support::write_calls(&key, 0)
    }
}

#[tokio::test]
async fn a_second_deploy_with_nothing_changed_makes_no_write_call() {
    // Both routings: `static` adds the error-page behaviour and error answers.
    for routing in ["static", "spa"] {
        let p = project(&format!("routing = \"{routing}\"\n")).await;
        p.run(&["deploy"]).success();
        let writes = p.writes_of(&["deploy", "--no-publish"]);
        assert!(
            writes.is_empty(),
            "{routing}: a re-deploy with nothing changed wrote:\n{}",
            writes.join("\n")
        );
    }
}

#[tokio::test]
async fn an_update_keeps_what_was_added_by_hand() {
    let p = project("").await;
    p.run(&["deploy", "--no-publish"]).success();
    let (id, config, _) = p.find_distribution().await.unwrap();

    // By hand, as in the console: a second origin with a behaviour for /api/*, Origin Shield
    // on the site's origin, a Lambda@Edge function, a WAF web ACL and access logs.
    let mut c = config.clone();
    let mut origins = c.origins.clone().unwrap().items;
    origins[0].origin_shield = Some(
        OriginShield::builder()
            .enabled(true)
            .origin_shield_region("eu-west-1")
            .build()
            .unwrap(),
    );
    origins.push(
        Origin::builder()
            .id("api")
            .domain_name("api.example.com")
            .custom_origin_config(
                CustomOriginConfig::builder()
                    .http_port(80)
                    .https_port(443)
                    .origin_protocol_policy(OriginProtocolPolicy::HttpsOnly)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap(),
    );
    c.origins = Some(
        Origins::builder()
            .quantity(2)
            .set_items(Some(origins))
            .build()
            .unwrap(),
    );
    let edge = "arn:aws:lambda:us-east-1:123456789012:function:by-hand:3";
    let mut behaviors = c
        .cache_behaviors
        .clone()
        .and_then(|b| b.items)
        .unwrap_or_default();
    behaviors.push(
        CacheBehavior::builder()
            .path_pattern("/api/*")
            .target_origin_id("api")
            .viewer_protocol_policy(ViewerProtocolPolicy::HttpsOnly)
            .cache_policy_id("4135ea2d-6df8-4b16-a52c-6f5efd6e4e6a")
            .build()
            .unwrap(),
    );
    let n = behaviors.len() as i32;
    c.cache_behaviors = Some(
        CacheBehaviors::builder()
            .quantity(n)
            .set_items(Some(behaviors))
            .build()
            .unwrap(),
    );
    let mut default = c.default_cache_behavior.clone().unwrap();
    default.lambda_function_associations = Some(
        LambdaFunctionAssociations::builder()
            .quantity(1)
            .items(
                LambdaFunctionAssociation::builder()
                    .lambda_function_arn(edge)
                    .event_type(EventType::OriginResponse)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap(),
    );
    c.default_cache_behavior = Some(default);
    let acl = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/by-hand/a1b2c3";
    c.web_acl_id = Some(acl.to_string());
    c.logging = Some(
        LoggingConfig::builder()
            .enabled(true)
            .include_cookies(false)
            .bucket("logs-by-hand.s3.amazonaws.com")
            .prefix("cdn/")
            .build(),
    );
    let etag =
        p.cf.get_distribution_config()
            .id(&id)
            .send()
            .await
            .unwrap()
            .e_tag()
            .unwrap()
            .to_string();
    p.cf.update_distribution()
        .id(&id)
        .if_match(etag)
        .distribution_config(c)
        .send()
        .await
        .unwrap();

    // None of that is a difference; a changed setting updates the distribution and keeps it.
    assert!(not_none(&p.plan(&[])).is_empty(), "{:?}", p.plan(&[]));
    let flags = ["--set", "price_class=PriceClass_200"];
    let out = p.json(&["deploy", "--no-publish", flags[0], flags[1]]);
    assert_eq!(
        not_none(&actions(&out["changes"])),
        vec![pair("distribution", "update")]
    );
    let (_, after, _) = p.find_distribution().await.unwrap();
    assert_eq!(after.price_class(), Some(&PriceClass::PriceClass200));
    let origins = after.origins().unwrap().items();
    assert_eq!(origins.len(), 2, "{origins:?}");
    let site = origins.iter().find(|o| o.id() != "api").unwrap();
    let shield = site.origin_shield().unwrap();
    assert!(shield.enabled());
    assert_eq!(shield.origin_shield_region(), Some("eu-west-1"));
    assert!(origins.iter().any(|o| o.id() == "api"));
    let patterns: Vec<&str> = after
        .cache_behaviors()
        .unwrap()
        .items()
        .iter()
        .map(|b| b.path_pattern())
        .collect();
    assert!(patterns.contains(&"/api/*"), "{patterns:?}");
    let lambda = after
        .default_cache_behavior()
        .unwrap()
        .lambda_function_associations()
        .unwrap()
        .items();
    assert_eq!(lambda.len(), 1);
    assert_eq!(lambda[0].lambda_function_arn(), edge);
    assert_eq!(after.web_acl_id(), Some(acl));
    let logging = after.logging().unwrap();
    assert!(logging.enabled());
    assert_eq!(logging.bucket(), "logs-by-hand.s3.amazonaws.com");
    assert!(
        not_none(&p.plan(&flags)).is_empty(),
        "{:?}",
        p.plan(&flags)
    );
}

/// CloudFront's path-pattern match (`*` any run of characters, `?` one), case-sensitive.
fn pattern_matches(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some(b'*') => (0..=s.len()).any(|i| go(&p[1..], &s[i..])),
            Some(b'?') => !s.is_empty() && go(&p[1..], &s[1..]),
            Some(c) => s.first() == Some(c) && go(&p[1..], &s[1..]),
        }
    }
    let pattern = pattern.strip_prefix('/').unwrap_or(pattern);
    let path = path.strip_prefix('/').unwrap_or(path);
    go(pattern.as_bytes(), path.as_bytes())
}

#[tokio::test]
async fn the_error_page_is_fetched_through_an_uncached_behaviour() {
    let p = project("").await;
    p.run(&["deploy"]).success();
    let (_, dist, _) = p.find_distribution().await.unwrap();
    let page = dist.custom_error_responses().unwrap().items()[0]
        .response_page_path()
        .unwrap()
        .to_string();
    // CloudFront fetches the error page through the first behaviour whose pattern matches its
    // path (else the default one), without running the function, under that behaviour's TTLs.
    let behaviour = dist
        .cache_behaviors()
        .map(|b| b.items())
        .unwrap_or_default()
        .iter()
        .find(|b| pattern_matches(b.path_pattern(), &page));
    let policy_id = match behaviour {
        Some(b) => b.cache_policy_id().unwrap().to_string(),
        None => dist
            .default_cache_behavior()
            .unwrap()
            .cache_policy_id()
            .unwrap()
            .to_string(),
    };
    let policy = p.cf.get_cache_policy().id(&policy_id).send().await.unwrap();
    let config = policy.cache_policy().unwrap().cache_policy_config().unwrap();
    assert_eq!(
        (config.min_ttl(), config.default_ttl(), config.max_ttl()),
        (0, Some(0), Some(0)),
        "{page} is cached under {} ({policy_id}): a flip would not change it",
        config.name()
    );
    let b = behaviour.unwrap();
    assert!(
        b.function_associations().unwrap().items()[0]
            .function_arn()
            .ends_with(&p.names.function()),
        "a visitor asking for {page} is routed like any other path"
    );
    assert_eq!(b.response_headers_policy_id(), dist.default_cache_behavior().unwrap().response_headers_policy_id());

    // `spa` routing has no error page, so no such behaviour either.
    let out = p.json(&["deploy", "--no-publish", "--set", "routing=spa"]);
    assert!(out["distribution_id"].is_string());
    let (_, spa, _) = p.find_distribution().await.unwrap();
    assert!(
        spa.cache_behaviors()
            .map(|b| b.items())
            .unwrap_or_default()
            .is_empty()
    );
    assert!(
        spa.custom_error_responses()
            .map(|e| e.items())
            .unwrap_or_default()
            .is_empty()
    );
}
