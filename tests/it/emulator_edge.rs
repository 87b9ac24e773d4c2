//! Every CloudFront operation the product uses (origin access control, cache and
//! response-headers policies, KeyValueStore control and data plane, functions by stage,
//! distributions), called through `src/aws/mod.rs` against the emulator and read back.

use crate::support;

use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::*;

fn cache_policy_config(name: &str, default_ttl: i64) -> CachePolicyConfig {
    CachePolicyConfig::builder()
        .name(name)
        .comment("versioned content")
        .min_ttl(0)
        .default_ttl(default_ttl)
        .max_ttl(31_536_000)
        .parameters_in_cache_key_and_forwarded_to_origin(
            ParametersInCacheKeyAndForwardedToOrigin::builder()
                .enable_accept_encoding_gzip(true)
                .enable_accept_encoding_brotli(true)
                .headers_config(
                    CachePolicyHeadersConfig::builder()
                        .header_behavior(CachePolicyHeaderBehavior::None)
                        .build()
                        .unwrap(),
                )
                .cookies_config(
                    CachePolicyCookiesConfig::builder()
                        .cookie_behavior(CachePolicyCookieBehavior::None)
                        .build()
                        .unwrap(),
                )
                .query_strings_config(
                    CachePolicyQueryStringsConfig::builder()
                        .query_string_behavior(CachePolicyQueryStringBehavior::None)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn headers_policy_config(name: &str, csp: &str) -> ResponseHeadersPolicyConfig {
    ResponseHeadersPolicyConfig::builder()
        .name(name)
        .comment("security headers")
        .security_headers_config(
            ResponseHeadersPolicySecurityHeadersConfig::builder()
                .strict_transport_security(
                    ResponseHeadersPolicyStrictTransportSecurity::builder()
                        .r#override(true)
                        .include_subdomains(true)
                        .preload(false)
                        .access_control_max_age_sec(63_072_000)
                        .build()
                        .unwrap(),
                )
                .content_type_options(
                    ResponseHeadersPolicyContentTypeOptions::builder()
                        .r#override(true)
                        .build()
                        .unwrap(),
                )
                .frame_options(
                    ResponseHeadersPolicyFrameOptions::builder()
                        .r#override(true)
                        .frame_option(FrameOptionsList::Deny)
                        .build()
                        .unwrap(),
                )
                .referrer_policy(
                    ResponseHeadersPolicyReferrerPolicy::builder()
                        .r#override(true)
                        .referrer_policy(ReferrerPolicyList::StrictOriginWhenCrossOrigin)
                        .build()
                        .unwrap(),
                )
                .content_security_policy(
                    ResponseHeadersPolicyContentSecurityPolicy::builder()
                        .r#override(true)
                        .content_security_policy(csp)
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .custom_headers_config(
            ResponseHeadersPolicyCustomHeadersConfig::builder()
                .quantity(1)
                .items(
                    ResponseHeadersPolicyCustomHeader::builder()
                        .header("Cross-Origin-Opener-Policy")
                        .value("same-origin")
                        .r#override(true)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn error_code<E: aws_sdk_cloudfront::error::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("<none>").to_string()
}

#[tokio::test]
async fn origin_access_control_and_policies_with_etags() {
    let aws = support::aws("eu-west-1").await;
    let cf = aws.cloudfront();

    let oac_name = support::unique("oac");
    let oac = cf
        .create_origin_access_control()
        .origin_access_control_config(
            OriginAccessControlConfig::builder()
                .name(&oac_name)
                .description("site bucket")
                .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
                .signing_behavior(OriginAccessControlSigningBehaviors::Always)
                .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let oac_id = oac.origin_access_control().unwrap().id().to_string();
    let read = cf
        .get_origin_access_control()
        .id(&oac_id)
        .send()
        .await
        .unwrap();
    let config = read
        .origin_access_control()
        .unwrap()
        .origin_access_control_config()
        .unwrap();
    assert_eq!(config.name(), oac_name);
    assert_eq!(
        config.signing_behavior(),
        &OriginAccessControlSigningBehaviors::Always
    );

    // Cache policy: create, read, update with the ETag, refuse a stale ETag, list, delete.
    let cp_name = support::unique("cache");
    let created = cf
        .create_cache_policy()
        .cache_policy_config(cache_policy_config(&cp_name, 86_400))
        .send()
        .await
        .unwrap();
    let cp_id = created.cache_policy().unwrap().id().to_string();
    let etag1 = created.e_tag().unwrap().to_string();
    let got = cf.get_cache_policy().id(&cp_id).send().await.unwrap();
    let cfg = got.cache_policy().unwrap().cache_policy_config().unwrap();
    assert_eq!(cfg.default_ttl(), Some(86_400));
    let params = cfg
        .parameters_in_cache_key_and_forwarded_to_origin()
        .unwrap();
    assert!(
        params.enable_accept_encoding_brotli().unwrap_or(false)
            && params.enable_accept_encoding_gzip()
    );
    assert_eq!(got.e_tag(), Some(etag1.as_str()));
    let updated = cf
        .update_cache_policy()
        .id(&cp_id)
        .if_match(&etag1)
        .cache_policy_config(cache_policy_config(&cp_name, 3_600))
        .send()
        .await
        .unwrap();
    let etag2 = updated.e_tag().unwrap().to_string();
    assert_ne!(etag1, etag2);
    assert_eq!(
        cf.get_cache_policy_config()
            .id(&cp_id)
            .send()
            .await
            .unwrap()
            .cache_policy_config()
            .unwrap()
            .default_ttl(),
        Some(3_600)
    );
    let stale = cf
        .update_cache_policy()
        .id(&cp_id)
        .if_match(&etag1)
        .cache_policy_config(cache_policy_config(&cp_name, 60))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&stale.into_service_error()),
        "PreconditionFailed"
    );
    let listed = cf
        .list_cache_policies()
        .r#type(CachePolicyType::Custom)
        .send()
        .await
        .unwrap();
    assert!(
        listed
            .cache_policy_list()
            .unwrap()
            .items()
            .iter()
            .any(|s| s.cache_policy().is_some_and(|p| p.id() == cp_id))
    );

    // Response headers policy: the CSP that lets WASM run, and a custom header, read back.
    let rh_name = support::unique("headers");
    let csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'";
    let rh = cf
        .create_response_headers_policy()
        .response_headers_policy_config(headers_policy_config(&rh_name, csp))
        .send()
        .await
        .unwrap();
    let rh_id = rh.response_headers_policy().unwrap().id().to_string();
    let rh_etag = rh.e_tag().unwrap().to_string();
    let got = cf
        .get_response_headers_policy()
        .id(&rh_id)
        .send()
        .await
        .unwrap();
    let cfg = got
        .response_headers_policy()
        .unwrap()
        .response_headers_policy_config()
        .unwrap();
    let sec = cfg.security_headers_config().unwrap();
    assert_eq!(
        sec.content_security_policy()
            .unwrap()
            .content_security_policy(),
        csp
    );
    assert_eq!(
        sec.strict_transport_security()
            .unwrap()
            .access_control_max_age_sec(),
        63_072_000
    );
    assert_eq!(
        sec.frame_options().unwrap().frame_option(),
        &FrameOptionsList::Deny
    );
    assert_eq!(
        cfg.custom_headers_config().unwrap().items()[0].value(),
        "same-origin"
    );
    let rh2 = cf
        .update_response_headers_policy()
        .id(&rh_id)
        .if_match(&rh_etag)
        .response_headers_policy_config(headers_policy_config(&rh_name, "default-src 'self'"))
        .send()
        .await
        .unwrap();
    assert_ne!(rh2.e_tag().unwrap(), rh_etag);
    let listed = cf
        .list_response_headers_policies()
        .r#type(ResponseHeadersPolicyType::Custom)
        .send()
        .await
        .unwrap();
    assert!(
        listed
            .response_headers_policy_list()
            .unwrap()
            .items()
            .iter()
            .any(|s| s.response_headers_policy().is_some_and(|p| p.id() == rh_id))
    );

    cf.delete_cache_policy()
        .id(&cp_id)
        .if_match(&etag2)
        .send()
        .await
        .unwrap();
    assert!(cf.get_cache_policy().id(&cp_id).send().await.is_err());
    cf.delete_response_headers_policy()
        .id(&rh_id)
        .if_match(rh2.e_tag().unwrap())
        .send()
        .await
        .unwrap();
    let etag = cf
        .get_origin_access_control()
        .id(&oac_id)
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    cf.delete_origin_access_control()
        .id(&oac_id)
        .if_match(etag)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn key_value_store_control_and_data_plane_with_etag_conflicts() {
    let aws = support::aws("eu-west-1").await;
    let cf = aws.cloudfront();
    let kvs = aws.kvs();
    let name = support::unique("kvs");
    let created = cf
        .create_key_value_store()
        .name(&name)
        .comment("live pointer")
        .send()
        .await
        .unwrap();
    let arn = created.key_value_store().unwrap().arn().to_string();
    let described = cf
        .describe_key_value_store()
        .name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(described.key_value_store().unwrap().arn(), arn);

    let d0 = kvs
        .describe_key_value_store()
        .kvs_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(d0.item_count(), 0);
    let e0 = d0.e_tag().to_string();

    let put = kvs
        .put_key()
        .kvs_arn(&arn)
        .key("live")
        .value("v1")
        .if_match(&e0)
        .send()
        .await
        .unwrap();
    let e1 = put.e_tag().to_string();
    assert_ne!(e0, e1);
    let got = kvs
        .get_key()
        .kvs_arn(&arn)
        .key("live")
        .send()
        .await
        .unwrap();
    assert_eq!(got.value(), "v1");

    // A writer holding an old ETag loses: the product reports such a deploy, never overwrites.
    let conflict = kvs
        .put_key()
        .kvs_arn(&arn)
        .key("live")
        .value("v0")
        .if_match(&e0)
        .send()
        .await
        .unwrap_err();
    assert!(conflict.into_service_error().is_conflict_exception());
    assert_eq!(
        kvs.get_key()
            .kvs_arn(&arn)
            .key("live")
            .send()
            .await
            .unwrap()
            .value(),
        "v1"
    );

    use aws_sdk_cloudfrontkeyvaluestore::types::{DeleteKeyRequestListItem, PutKeyRequestListItem};
    let batch = kvs
        .update_keys()
        .kvs_arn(&arn)
        .if_match(&e1)
        .puts(
            PutKeyRequestListItem::builder()
                .key("live")
                .value("v2")
                .build()
                .unwrap(),
        )
        .puts(
            PutKeyRequestListItem::builder()
                .key("previous")
                .value("v1")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let e2 = batch.e_tag().to_string();
    assert_eq!(batch.item_count(), 2);
    let listed = kvs.list_keys().kvs_arn(&arn).send().await.unwrap();
    let mut pairs: Vec<(String, String)> = listed
        .items()
        .iter()
        .map(|i| (i.key().to_string(), i.value().to_string()))
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        vec![
            ("live".into(), "v2".into()),
            ("previous".into(), "v1".into())
        ]
    );

    let deleted = kvs
        .delete_key()
        .kvs_arn(&arn)
        .key("previous")
        .if_match(&e2)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.item_count(), 1);
    let missing = kvs
        .get_key()
        .kvs_arn(&arn)
        .key("previous")
        .send()
        .await
        .unwrap_err();
    assert!(
        missing
            .into_service_error()
            .is_resource_not_found_exception()
    );
    let e3 = deleted.e_tag().to_string();
    let batch_delete = kvs
        .update_keys()
        .kvs_arn(&arn)
        .if_match(&e3)
        .deletes(
            DeleteKeyRequestListItem::builder()
                .key("live")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(batch_delete.item_count(), 0);

    let etag = cf
        .describe_key_value_store()
        .name(&name)
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    cf.delete_key_value_store()
        .name(&name)
        .if_match(etag)
        .send()
        .await
        .unwrap();
    assert!(
        cf.describe_key_value_store()
            .name(&name)
            .send()
            .await
            .is_err()
    );
}

async fn make_kvs(cf: &aws_sdk_cloudfront::Client) -> String {
    cf.create_key_value_store()
        .name(support::unique("kvs"))
        .send()
        .await
        .unwrap()
        .key_value_store()
        .unwrap()
        .arn()
        .to_string()
}

fn function_config(kvs_arn: &str, comment: &str) -> FunctionConfig {
    FunctionConfig::builder()
        .comment(comment)
        .runtime(FunctionRuntime::CloudfrontJs20)
        .key_value_store_associations(
            KeyValueStoreAssociations::builder()
                .quantity(1)
                .items(
                    KeyValueStoreAssociation::builder()
                        .key_value_store_arn(kvs_arn)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

#[tokio::test]
async fn functions_by_stage_update_and_publish() {
    let aws = support::aws("eu-west-1").await;
    let cf = aws.cloudfront();
    let kvs_arn = make_kvs(&cf).await;
    let name = support::unique("router");
    let code1 = b"async function handler(event) { return event.request; }".to_vec();
    let code2 = b"async function handler(event) { var r = event.request; r.uri = '/v2' + r.uri; return r; }".to_vec();

    let created = cf
        .create_function()
        .name(&name)
        .function_config(function_config(&kvs_arn, "router v1"))
        .function_code(Blob::new(code1.clone()))
        .send()
        .await
        .unwrap();
    let etag1 = created.e_tag().unwrap().to_string();
    let summary = created.function_summary().unwrap();
    assert_eq!(
        summary.function_metadata().unwrap().stage(),
        Some(&FunctionStage::Development)
    );

    let dev = cf
        .describe_function()
        .name(&name)
        .stage(FunctionStage::Development)
        .send()
        .await
        .unwrap();
    let cfg = dev.function_summary().unwrap().function_config().unwrap();
    assert_eq!(cfg.runtime(), &FunctionRuntime::CloudfrontJs20);
    assert_eq!(
        cfg.key_value_store_associations().unwrap().items()[0].key_value_store_arn(),
        kvs_arn
    );
    let live = cf
        .describe_function()
        .name(&name)
        .stage(FunctionStage::Live)
        .send()
        .await;
    assert!(live.is_err(), "nothing is LIVE before a publish");

    let updated = cf
        .update_function()
        .name(&name)
        .if_match(&etag1)
        .function_config(function_config(&kvs_arn, "router v2"))
        .function_code(Blob::new(code2.clone()))
        .send()
        .await
        .unwrap();
    let etag2 = updated.e_tag().unwrap().to_string();
    assert_ne!(etag1, etag2);
    let stale = cf
        .update_function()
        .name(&name)
        .if_match(&etag1)
        .function_config(function_config(&kvs_arn, "x"))
        .function_code(Blob::new(code1.clone()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&stale.into_service_error()),
        "PreconditionFailed"
    );

    let published = cf
        .publish_function()
        .name(&name)
        .if_match(&etag2)
        .send()
        .await
        .unwrap();
    assert_eq!(
        published
            .function_summary()
            .unwrap()
            .function_metadata()
            .unwrap()
            .stage(),
        Some(&FunctionStage::Live)
    );
    let live_code = cf
        .get_function()
        .name(&name)
        .stage(FunctionStage::Live)
        .send()
        .await
        .unwrap();
    assert_eq!(live_code.function_code().unwrap().as_ref(), &code2[..]);
    let live = cf
        .describe_function()
        .name(&name)
        .stage(FunctionStage::Live)
        .send()
        .await
        .unwrap();
    assert_eq!(
        live.function_summary()
            .unwrap()
            .function_config()
            .unwrap()
            .comment(),
        "router v2"
    );
    let listed = cf
        .list_functions()
        .stage(FunctionStage::Live)
        .send()
        .await
        .unwrap();
    assert!(
        listed
            .function_list()
            .unwrap()
            .items()
            .iter()
            .any(|f| f.name() == name)
    );

    let etag = cf
        .describe_function()
        .name(&name)
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string();
    cf.delete_function()
        .name(&name)
        .if_match(etag)
        .send()
        .await
        .unwrap();
    assert!(cf.describe_function().name(&name).send().await.is_err());
}

#[tokio::test]
async fn distribution_keeps_oac_and_function_and_checks_if_match() {
    let aws = support::aws("eu-west-1").await;
    let cf = aws.cloudfront();
    let bucket = support::unique("site");
    let kvs_arn = make_kvs(&cf).await;
    let function = cf
        .create_function()
        .name(support::unique("router"))
        .function_config(function_config(&kvs_arn, "router"))
        .function_code(Blob::new(
            b"function handler(e) { return e.request; }".to_vec(),
        ))
        .send()
        .await
        .unwrap();
    // A distribution can only use a published (LIVE) function.
    let function_name = function.function_summary().unwrap().name().to_string();
    cf.publish_function()
        .name(&function_name)
        .if_match(function.e_tag().unwrap())
        .send()
        .await
        .unwrap();
    let function_arn = function
        .function_summary()
        .unwrap()
        .function_metadata()
        .unwrap()
        .function_arn()
        .to_string();
    let oac_id = cf
        .create_origin_access_control()
        .origin_access_control_config(
            OriginAccessControlConfig::builder()
                .name(support::unique("oac"))
                .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
                .signing_behavior(OriginAccessControlSigningBehaviors::Always)
                .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .origin_access_control()
        .unwrap()
        .id()
        .to_string();
    let cp_id = cf
        .create_cache_policy()
        .cache_policy_config(cache_policy_config(&support::unique("cache"), 86_400))
        .send()
        .await
        .unwrap()
        .cache_policy()
        .unwrap()
        .id()
        .to_string();

    let config = |comment: &str| {
        DistributionConfig::builder()
            .caller_reference(&bucket)
            .comment(comment)
            .enabled(true)
            .http_version(HttpVersion::Http2and3)
            .is_ipv6_enabled(true)
            .price_class(PriceClass::PriceClass100)
            .default_root_object("index.html")
            .origins(
                Origins::builder()
                    .quantity(1)
                    .items(
                        Origin::builder()
                            .id("site")
                            .domain_name(format!("{bucket}.s3.eu-west-1.amazonaws.com"))
                            .origin_access_control_id(&oac_id)
                            .s3_origin_config(
                                S3OriginConfig::builder().origin_access_identity("").build(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .default_cache_behavior(
                DefaultCacheBehavior::builder()
                    .target_origin_id("site")
                    .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
                    .cache_policy_id(&cp_id)
                    .compress(true)
                    .function_associations(
                        FunctionAssociations::builder()
                            .quantity(1)
                            .items(
                                FunctionAssociation::builder()
                                    .function_arn(&function_arn)
                                    .event_type(EventType::ViewerRequest)
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .viewer_certificate(
                ViewerCertificate::builder()
                    .cloud_front_default_certificate(true)
                    .minimum_protocol_version(MinimumProtocolVersion::TlSv122021)
                    .build(),
            )
            .build()
            .unwrap()
    };
    let created = cf
        .create_distribution_with_tags()
        .distribution_config_with_tags(
            DistributionConfigWithTags::builder()
                .distribution_config(config("site v1"))
                .tags(
                    Tags::builder()
                        .items(
                            Tag::builder()
                                .key("cloudfront-host:project")
                                .value("web")
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let dist = created.distribution().unwrap();
    let (id, arn) = (dist.id().to_string(), dist.arn().to_string());
    assert!(dist.domain_name().ends_with(".cloudfront.net"));
    let etag1 = created.e_tag().unwrap().to_string();

    let read = cf.get_distribution_config().id(&id).send().await.unwrap();
    assert_eq!(read.e_tag(), Some(etag1.as_str()));
    let cfg = read.distribution_config().unwrap();
    assert_eq!(cfg.http_version(), Some(&HttpVersion::Http2and3));
    assert_eq!(
        cfg.origins().unwrap().items()[0].origin_access_control_id(),
        Some(oac_id.as_str())
    );
    let behavior = cfg.default_cache_behavior().unwrap();
    assert_eq!(behavior.cache_policy_id(), Some(cp_id.as_str()));
    let assoc = &behavior.function_associations().unwrap().items()[0];
    assert_eq!(
        (assoc.function_arn(), assoc.event_type()),
        (function_arn.as_str(), &EventType::ViewerRequest)
    );

    let updated = cf
        .update_distribution()
        .id(&id)
        .if_match(&etag1)
        .distribution_config(config("site v2"))
        .send()
        .await
        .unwrap();
    let etag2 = updated.e_tag().unwrap().to_string();
    assert_ne!(etag1, etag2);
    let got = cf.get_distribution().id(&id).send().await.unwrap();
    assert_eq!(
        got.distribution()
            .unwrap()
            .distribution_config()
            .unwrap()
            .comment(),
        "site v2"
    );
    assert_eq!(got.e_tag(), Some(etag2.as_str()));
    let stale = cf
        .update_distribution()
        .id(&id)
        .if_match(&etag1)
        .distribution_config(config("site v3"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&stale.into_service_error()),
        "PreconditionFailed"
    );

    let tags = cf
        .list_tags_for_resource()
        .resource(&arn)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .unwrap()
            .items()
            .iter()
            .any(|t| t.key() == "cloudfront-host:project")
    );
    let listed = cf.list_distributions().send().await.unwrap();
    assert!(
        listed
            .distribution_list()
            .unwrap()
            .items()
            .iter()
            .any(|d| d.id() == id)
    );

    // Deleting needs a disabled distribution first.
    let enabled_delete = cf
        .delete_distribution()
        .id(&id)
        .if_match(&etag2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        error_code(&enabled_delete.into_service_error()),
        "DistributionNotDisabled"
    );
    let mut disabled = config("site v2");
    disabled.enabled = false;
    let off = cf
        .update_distribution()
        .id(&id)
        .if_match(&etag2)
        .distribution_config(disabled)
        .send()
        .await
        .unwrap();
    // Disabling takes a deployment; AWS refuses the delete until it is Deployed.
    let status = cf.get_distribution().id(&id).send().await.unwrap();
    assert_eq!(status.distribution().unwrap().status(), "Deployed");
    cf.delete_distribution()
        .id(&id)
        .if_match(off.e_tag().unwrap())
        .send()
        .await
        .unwrap();
    assert!(cf.get_distribution().id(&id).send().await.is_err());

    // AWS keeps what a deleted distribution used "in use" for a while (the emulator for
    // EMULATOR_IN_USE_LAG_SECONDS): the cache policy can be deleted only after that. Deleting it
    // also keeps the account under its quota of 20 custom cache policies across runs.
    let mut in_use = 0;
    loop {
        let etag = cf
            .get_cache_policy()
            .id(&cp_id)
            .send()
            .await
            .unwrap()
            .e_tag()
            .unwrap()
            .to_string();
        match cf
            .delete_cache_policy()
            .id(&cp_id)
            .if_match(etag)
            .send()
            .await
        {
            Ok(_) => break,
            Err(e) => {
                let e = e.into_service_error();
                assert_eq!(error_code(&e), "CachePolicyInUse");
                in_use += 1;
                assert!(in_use < 100, "still in use after {in_use} tries");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
    }
    assert!(
        in_use > 0,
        "in use right after the distribution was deleted"
    );
}

#[tokio::test]
async fn a_key_value_store_403_names_the_session_token_cause_and_the_fix() {
    let aws = support::aws("us-east-1").await;
    let arn = make_kvs(&aws.cloudfront()).await;
    let id = arn.rsplit('/').next().unwrap().to_string();
    // Temporary credentials, as from STS: the request carries X-Amz-Security-Token.
    let temporary =
        cargo_cloudfront_host::aws::Aws::load(&cargo_cloudfront_host::aws::AwsOptions {
            profile: None,
            region: "us-east-1".into(),
            endpoint_url: Some(support::emulator().to_string()),
            credentials: Some(aws_credential_types::Credentials::new(
                "test",
                "test",
                Some("v1-session-token".into()),
                None,
                "tests",
            )),
        })
        .await;
    // AWS answers a SigV4A request signed with a version-1 session token with a bare 403.
    let deny = |count: i64| {
        support::hook(
            "/_emulator/faults",
            serde_json::json!({
                "path": id.clone(), "status": 403, "code": "AccessDeniedException",
                "message": "Forbidden", "count": count
            }),
        )
    };
    deny(1);
    let err = temporary
        .kvs()
        .get_key()
        .kvs_arn(&arn)
        .key("live")
        .send()
        .await
        .unwrap_err();
    let text = cargo_cloudfront_host::aws::describe(&err);
    assert!(
        text.contains("version-2 session tokens") && text.contains("regional STS endpoint"),
        "{text}"
    );
    assert_eq!(
        aws_sdk_cloudfrontkeyvaluestore::error::ProvideErrorMetadata::code(
            &err.into_service_error()
        ),
        Some("AccessDeniedException"),
        "the error keeps its code"
    );

    // Long-term keys: the message speaks of permissions, not tokens.
    deny(1);
    let err = aws
        .kvs()
        .describe_key_value_store()
        .kvs_arn(&arn)
        .send()
        .await
        .unwrap_err();
    let text = cargo_cloudfront_host::aws::describe(&err);
    assert!(
        text.contains("cloudfront-keyvaluestore permissions") && !text.contains("session tokens"),
        "{text}"
    );
}
