//! `deploy`, `plan`, `delete` and `show` against the emulator, through the CLI, with every
//! resource read back through the SDK.

use crate::support;

use std::path::{Path, PathBuf};

use aws_sdk_cloudfront::types::*;
use cargo_cloudfront_host::infra::cloudfront::{cache_policy, headers_policy};
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
            .find(|p| p.cache_policy_config().unwrap().name() == cache_policy::cache_policy_name())
            .map(|p| (p.id().to_string(), p.cache_policy_config().unwrap().clone()))
    }

    /// The response-headers policy the distribution uses.
    async fn headers_policy(&self) -> Option<(String, ResponseHeadersPolicyConfig)> {
        let (_, dist, _) = self.find_distribution().await?;
        let id = dist
            .default_cache_behavior()?
            .response_headers_policy_id()?
            .to_string();
        let got = self
            .cf
            .get_response_headers_policy()
            .id(&id)
            .send()
            .await
            .ok()?;
        let config = got
            .response_headers_policy()?
            .response_headers_policy_config()?
            .clone();
        Some((id, config))
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
        support::live_version(&self.kvs, &arn).await
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
        plan.iter()
            .all(|(r, a)| a == "create" || r.ends_with("-policy")),
        "nothing exists yet (the policies are shared with other stacks): {plan:?}"
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
    let custom: Vec<(&str, &str)> = headers
        .custom_headers_config()
        .map(|c| c.items())
        .unwrap_or_default()
        .iter()
        .map(|h| (h.header(), h.value()))
        .collect();
    assert_eq!(
        custom,
        vec![("vary", "Accept-Encoding")],
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
        // Headers policies are named by their content and shared: other headers are another
        // policy (created unless another stack made it already) and a distribution update; the
        // policy left behind is deleted unless another stack still uses it. Whether one does
        // depends on the tests running alongside, so neither create nor delete is counted.
        let expected = |changes: Vec<(String, String)>| {
            if resource == "headers-policy" {
                changes
                    .into_iter()
                    .filter(|c| {
                        *c != pair("headers-policy", "create")
                            && *c != pair("headers-policy", "delete")
                    })
                    .collect::<Vec<_>>()
                    == vec![pair("distribution", "update")]
            } else {
                changes == vec![pair(resource, "update")]
            }
        };
        let plan = p.plan(&flags);
        assert!(expected(not_none(&plan)), "{flags:?}: {plan:?}");
        let mut args = vec!["deploy", "--no-publish"];
        args.extend_from_slice(&flags);
        let out = p.json(&args);
        let applied = not_none(&actions(&out["changes"]));
        assert!(expected(applied.clone()), "{applied:?}");
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
            .filter(|(r, a)| a == "delete" && !r.ends_with("-policy"))
            .count(),
        5,
        "{dry}"
    );
    assert!(p.bucket_exists().await, "--dry-run removes nothing");

    let done = p.json(&["delete", "--yes"]);
    // The policies are shared by the account's stacks: deleted, or kept for the others.
    for c in done["changes"].as_array().unwrap() {
        let shared_kept = c["resource"].as_str().unwrap().ends_with("-policy")
            && c["reason"].as_str().unwrap().contains("still used by");
        assert!(c["action"] == "delete" || shared_kept, "{done}");
    }
    assert!(!p.bucket_exists().await);
    assert!(p.find_distribution().await.is_none());
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
    // Headers of this project's own, so the shared headers policy's name is unique to it.
    let marker = support::unique("X");
    let p = project(&format!(
        "headers.custom = {{ \"X-Test\" = \"{marker}\" }}\n"
    ))
    .await;
    let headers = cargo_cloudfront_host::edge::headers::SecurityHeaders {
        content_security_policy: cargo_cloudfront_host::edge::headers::default_csp(Some("static")),
        cross_origin_isolation: false,
        custom: vec![("X-Test".to_string(), marker.clone())],
    };
    let name = headers_policy::headers_policy_name(&headers);
    // Someone else's headers policy happens to carry that name.
    let foreign =
        p.cf.create_response_headers_policy()
            .response_headers_policy_config(
                ResponseHeadersPolicyConfig::builder()
                    .name(&name)
                    .comment("made by hand")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    let foreign_id = foreign.response_headers_policy().unwrap().id().to_string();

    let refused = p.run(&["deploy", "--no-publish"]).failure();
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(
        stderr.contains(&name) && stderr.contains("refusing"),
        "{stderr}"
    );
    let got =
        p.cf.get_response_headers_policy()
            .id(&foreign_id)
            .send()
            .await
            .unwrap();
    assert_eq!(
        got.response_headers_policy()
            .unwrap()
            .response_headers_policy_config()
            .unwrap()
            .comment(),
        Some("made by hand"),
        "deploy did not take it over"
    );

    // delete removes what this project made and leaves the foreign policy alone.
    let done = p.json(&["delete", "--yes"]);
    let headers = actions(&done["changes"])
        .into_iter()
        .find(|(r, _)| r == "headers-policy")
        .unwrap();
    assert_eq!(headers.1, "none");
    let kept =
        p.cf.get_response_headers_policy()
            .id(&foreign_id)
            .send()
            .await;
    assert!(kept.is_ok());
    assert!(!p.bucket_exists().await);
    let etag = kept.unwrap().e_tag().unwrap().to_string();
    p.cf.delete_response_headers_policy()
        .id(&foreign_id)
        .if_match(etag)
        .send()
        .await
        .unwrap();
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
    assert!(not_none(&p.plan(&flags)).is_empty(), "{:?}", p.plan(&flags));
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
    let config = policy
        .cache_policy()
        .unwrap()
        .cache_policy_config()
        .unwrap();
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
    assert_eq!(
        b.response_headers_policy_id(),
        dist.default_cache_behavior()
            .unwrap()
            .response_headers_policy_id()
    );

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

/// A fresh emulated account and an access key of it (moto maps each access key to the account
/// whose IAM user owns it): for tests about what an account holds (shared policies, quotas),
/// which other tests' stacks in the default account would disturb.
fn fresh_account() -> (String, String) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let account = format!(
        "9{:011}",
        (nanos ^ u128::from(std::process::id())) % 100_000_000_000
    );
    let url = format!("{}/", support::emulator());
    let user = support::unique("u");
    let auth = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0";
    let mut key = String::new();
    for action in ["CreateUser", "CreateAccessKey"] {
        let mut response = ureq::post(&url)
            .header("x-moto-account-id", &account)
            .header("Authorization", auth)
            .content_type("application/x-www-form-urlencoded")
            .send(format!(
                "Action={action}&UserName={user}&Version=2010-05-08"
            ))
            .unwrap();
        let text = response.body_mut().read_to_string().unwrap();
        if let Some(rest) = text.split("<AccessKeyId>").nth(1) {
            key = rest.split('<').next().unwrap().to_string();
        }
    }
    assert!(!key.is_empty(), "no access key for account {account}");
    (account, key)
}

/// A static site in `account`, run with `key`.
struct Tenant {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    key: String,
    cf: aws_sdk_cloudfront::Client,
}

impl Tenant {
    async fn new(key: &str, extra: &str) -> Tenant {
        let name = support::unique("acct");
        let (tmp, dir) = support::package(&format!(
            "[package.metadata.cloudfront]\nname = \"{name}\"\nregion = \"{REGION}\"\nframework = \"static\"\nbuild.output_dir = \"dist\"\n{extra}"
        ));
        write(&dir.join("dist"), "index.html", "<h1>home</h1>");
        let aws = cargo_cloudfront_host::aws::Aws::load(&cargo_cloudfront_host::aws::AwsOptions {
            profile: None,
            region: REGION.to_string(),
            endpoint_url: Some(support::emulator().to_string()),
            credentials: Some(aws_credential_types::Credentials::new(
                key, "test", None, None, "tests",
            )),
        })
        .await;
        Tenant {
            _tmp: tmp,
            dir,
            key: key.to_string(),
            cf: aws.cloudfront(),
        }
    }

    fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        support::cli_with_key(&self.key)
            .current_dir(&self.dir)
            .args(args)
            .assert()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let out = self.run(&all).success().get_output().stdout.clone();
        serde_json::from_slice(&out).unwrap()
    }

    async fn custom_cache_policies(&self) -> Vec<String> {
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
            .map(|p| p.cache_policy_config().unwrap().name().to_string())
            .collect()
    }

    async fn custom_headers_policies(&self) -> Vec<String> {
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
            .map(|p| {
                p.response_headers_policy_config()
                    .unwrap()
                    .name()
                    .to_string()
            })
            .collect()
    }
}

fn change_of(doc: &Value, resource: &str) -> (String, String) {
    let c = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resource"] == resource)
        .unwrap_or_else(|| panic!("no {resource} in {doc}"));
    (
        c["action"].as_str().unwrap().to_string(),
        c["reason"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn stacks_of_an_account_share_policies_and_the_last_delete_removes_them() {
    let (_, key) = fresh_account();
    let a = Tenant::new(&key, "").await;
    let b = Tenant::new(&key, "").await;
    a.run(&["deploy", "--no-publish"]).success();
    b.run(&["deploy", "--no-publish"]).success();
    assert_eq!(
        a.custom_cache_policies().await,
        vec![cache_policy::cache_policy_name()],
        "one cache policy for the account, not one per stack"
    );
    assert_eq!(
        a.custom_headers_policies().await.len(),
        1,
        "same headers, one policy"
    );

    // Changed headers: a new shared policy; the old one stays while the other stack uses it.
    let flags = ["--set", "headers.cross_origin_isolation=true"];
    a.run(&["deploy", "--no-publish", flags[0], flags[1]])
        .success();
    assert_eq!(a.custom_headers_policies().await.len(), 2);

    let first = a.json(&["delete", "--yes", flags[0], flags[1]]);
    assert_eq!(change_of(&first, "cache-policy").0, "none", "{first}");
    assert!(
        change_of(&first, "cache-policy")
            .1
            .contains("still used by 1")
    );
    assert_eq!(a.custom_cache_policies().await.len(), 1);
    // A's isolation policy went with A; B's stays.
    assert_eq!(a.custom_headers_policies().await.len(), 1);

    let last = b.json(&["delete", "--yes"]);
    assert_eq!(change_of(&last, "cache-policy").0, "delete", "{last}");
    assert_eq!(change_of(&last, "headers-policy").0, "delete", "{last}");
    assert!(b.custom_cache_policies().await.is_empty());
    assert!(b.custom_headers_policies().await.is_empty());
}

#[tokio::test]
async fn a_stack_whose_headers_change_leaves_no_unused_policy_behind() {
    let (_, key) = fresh_account();
    let t = Tenant::new(&key, "").await;
    t.run(&["deploy", "--no-publish"]).success();
    let before = t.custom_headers_policies().await;
    let flags = ["--set", "headers.cross_origin_isolation=true"];
    t.run(&["deploy", "--no-publish", flags[0], flags[1]])
        .success();
    let after = t.custom_headers_policies().await;
    assert_eq!(after.len(), 1, "{after:?}");
    assert_ne!(after, before);
}

#[tokio::test]
async fn an_account_at_its_cache_policy_quota_gets_a_clear_message() {
    let (_, key) = fresh_account();
    let t = Tenant::new(&key, "").await;
    // 20 custom cache policies made by hand: the documented quota, which cannot be raised.
    for i in 0..20 {
        t.cf.create_cache_policy()
            .cache_policy_config(
                CachePolicyConfig::builder()
                    .name(format!("by-hand-{i}"))
                    .min_ttl(0)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
    let failed = t.run(&["deploy", "--no-publish"]).failure();
    let stderr = String::from_utf8_lossy(&failed.get_output().stderr).to_string();
    assert!(
        stderr.contains("quota of custom cache policy objects (TooManyCachePolicies"),
        "{stderr}"
    );
    assert!(stderr.contains("cannot be raised"), "{stderr}");
}

#[tokio::test]
async fn every_response_varies_on_accept_encoding() {
    // The function answers one URL with a `.br`, `.gz` or plain body; S3 cannot store Vary.
    let p = project("precompress = [\"wasm\", \"js\"]\n").await;
    p.run(&["deploy", "--no-publish"]).success();
    let (_, headers) = p.headers_policy().await.unwrap();
    let custom = headers.custom_headers_config().unwrap().items();
    let vary = custom
        .iter()
        .find(|h| h.header().eq_ignore_ascii_case("vary"))
        .unwrap_or_else(|| panic!("no Vary in {custom:?}"));
    assert_eq!(vary.value(), "Accept-Encoding");
    assert!(vary.r#override(), "replaces whatever the origin says");
}

#[test]
fn header_settings_cloudfront_would_refuse_are_refused_with_their_place() {
    let many: Vec<String> = (0..7).map(|i| format!("\"X-H{i}\" = \"v\"")).collect();
    let cases = [
        (
            format!("headers.custom = {{ {} }}", many.join(", ")),
            "at most 6",
        ),
        (
            "headers.custom = { \"Vary\" = \"Cookie\" }".to_string(),
            "set by the tool",
        ),
        (
            "headers.custom = { \"Bad Name\" = \"v\" }".to_string(),
            "not a valid header name",
        ),
        (
            format!("headers.csp = \"default-src {}\"", "x".repeat(1800)),
            "at most 1783",
        ),
    ];
    for (line, why) in cases {
        let (_tmp, dir) = support::package(&format!(
            "[package.metadata.cloudfront]\nname = \"limits\"\nframework = \"static\"\n{line}\n"
        ));
        let out = support::cli_offline()
            .current_dir(&dir)
            .args(["show", "--settings"])
            .assert()
            .failure();
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        let key = line.split(' ').next().unwrap();
        assert!(
            stderr.contains(key) && stderr.contains("Cargo.toml:") && stderr.contains(why),
            "{line}: {stderr}"
        );
    }
}
