//! Every S3, IAM, STS, ACM and Route 53 operation the product uses, called once through
//! `src/aws/mod.rs` against the local emulator, with its effect read back.

use crate::support;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CompletedMultipartUpload, CompletedPart, CreateBucketConfiguration,
    Delete, MetadataDirective, ObjectIdentifier, ObjectOwnership, OwnershipControls,
    OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging,
};

#[tokio::test]
async fn s3_bucket_settings_read_back() {
    let aws = support::aws("eu-west-1").await;
    let s3 = aws.s3();
    let bucket = support::unique("cfh-bucket");
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let location = s3
        .get_bucket_location()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        location.location_constraint(),
        Some(&BucketLocationConstraint::EuWest1)
    );

    s3.put_public_access_block()
        .bucket(&bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let pab = s3
        .get_public_access_block()
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

    s3.put_bucket_ownership_controls()
        .bucket(&bucket)
        .ownership_controls(
            OwnershipControls::builder()
                .rules(
                    OwnershipControlsRule::builder()
                        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let oc = s3
        .get_bucket_ownership_controls()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        oc.ownership_controls().unwrap().rules()[0].object_ownership(),
        &ObjectOwnership::BucketOwnerEnforced
    );

    s3.put_bucket_encryption()
        .bucket(&bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::Aes256)
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let enc = s3
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm(),
        &ServerSideEncryption::Aes256
    );

    s3.put_bucket_tagging()
        .bucket(&bucket)
        .tagging(
            Tagging::builder()
                .tag_set(
                    Tag::builder()
                        .key("cloudfront-host:project")
                        .value("web")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let tags = s3
        .get_bucket_tagging()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tag_set()
            .iter()
            .any(|t| t.key() == "cloudfront-host:project" && t.value() == "web")
    );

    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    });
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
    let read = s3.get_bucket_policy().bucket(&bucket).send().await.unwrap();
    let read: serde_json::Value = serde_json::from_str(read.policy().unwrap()).unwrap();
    assert_eq!(read, policy);

    s3.delete_bucket().bucket(&bucket).send().await.unwrap();
    assert!(s3.head_bucket().bucket(&bucket).send().await.is_err());
}

#[tokio::test]
async fn s3_objects_copy_multipart_listing_and_batch_delete() {
    let aws = support::aws("us-east-1").await;
    let s3 = aws.s3();
    let bucket = support::unique("cfh-objects");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();

    s3.put_object()
        .bucket(&bucket)
        .key("v1/index.html")
        .body(ByteStream::from_static(b"<h1>hello</h1>"))
        .content_type("text/html; charset=utf-8")
        .cache_control("no-cache")
        .metadata("sha256", "abc123")
        .send()
        .await
        .unwrap();
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key("v1/index.html")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("text/html; charset=utf-8"));
    assert_eq!(head.cache_control(), Some("no-cache"));
    assert_eq!(
        head.metadata()
            .and_then(|m| m.get("sha256"))
            .map(String::as_str),
        Some("abc123")
    );
    assert_eq!(head.content_length(), Some(14));

    s3.put_object()
        .bucket(&bucket)
        .key("_immutable/app_bg.wasm.br")
        .body(ByteStream::from_static(b"\x00asm-compressed"))
        .content_type("application/wasm")
        .content_encoding("br")
        .cache_control("public, max-age=31536000, immutable")
        .send()
        .await
        .unwrap();
    let wasm = s3
        .get_object()
        .bucket(&bucket)
        .key("_immutable/app_bg.wasm.br")
        .send()
        .await
        .unwrap();
    assert_eq!(wasm.content_encoding(), Some("br"));
    assert_eq!(wasm.content_type(), Some("application/wasm"));

    // Server-side copy keeps type, cache headers and metadata.
    s3.copy_object()
        .bucket(&bucket)
        .key("v2/index.html")
        .copy_source(format!("{bucket}/v1/index.html"))
        .metadata_directive(MetadataDirective::Copy)
        .send()
        .await
        .unwrap();
    let copied = s3
        .get_object()
        .bucket(&bucket)
        .key("v2/index.html")
        .send()
        .await
        .unwrap();
    assert_eq!(copied.content_type(), Some("text/html; charset=utf-8"));
    assert_eq!(copied.cache_control(), Some("no-cache"));
    let body = copied.body.collect().await.unwrap().into_bytes();
    assert_eq!(&body[..], b"<h1>hello</h1>");

    // Multipart: a 5 MiB part and a small last part.
    let key = "v2/big.wasm";
    let upload = s3
        .create_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .content_type("application/wasm")
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap();
    let part1 = vec![b'a'; 5 * 1024 * 1024];
    let part2 = vec![b'b'; 1000];
    let mut completed = Vec::new();
    for (n, bytes) in [(1, part1), (2, part2)] {
        let part = s3
            .upload_part()
            .bucket(&bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(n)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .unwrap();
        completed.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(part.e_tag().unwrap())
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket(&bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let big = s3
        .get_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    assert_eq!(big.content_length(), Some(5 * 1024 * 1024 + 1000));
    assert_eq!(big.content_type(), Some("application/wasm"));
    let bytes = big.body.collect().await.unwrap().into_bytes();
    assert_eq!((bytes[0], bytes[bytes.len() - 1]), (b'a', b'b'));

    // Listing pages: 25 keys, 10 per page.
    for i in 0..25 {
        s3.put_object()
            .bucket(&bucket)
            .key(format!("many/{i:02}.txt"))
            .body(ByteStream::from(format!("{i}").into_bytes()))
            .send()
            .await
            .unwrap();
    }
    let mut pages = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("many/")
        .max_keys(10)
        .into_paginator()
        .send();
    let (mut page_count, mut keys) = (0, Vec::new());
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        page_count += 1;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(String::from)),
        );
    }
    assert_eq!((page_count, keys.len()), (3, 25));

    // One batched delete for all of them.
    let ids: Vec<ObjectIdentifier> = keys
        .iter()
        .map(|k| ObjectIdentifier::builder().key(k).build().unwrap())
        .collect();
    let deleted = s3
        .delete_objects()
        .bucket(&bucket)
        .delete(
            Delete::builder()
                .set_objects(Some(ids))
                .quiet(false)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.deleted().len(), 25);
    assert!(deleted.errors().is_empty());
    let left = s3
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("many/")
        .send()
        .await
        .unwrap();
    assert_eq!(left.key_count(), Some(0));
}

#[tokio::test]
async fn sts_identity_and_iam_roles_with_inline_policies() {
    let aws = support::aws("eu-west-1").await;
    let who = aws.sts().get_caller_identity().send().await.unwrap();
    assert_eq!(who.account(), Some(support::ACCOUNT));

    let iam = aws.iam();
    let role = support::unique("cfh-role");
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    });
    let created = iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust.to_string())
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("cloudfront-host:project")
                .value("web")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        created
            .role()
            .unwrap()
            .arn()
            .ends_with(&format!(":role/{role}"))
    );
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::cfh-web-1234/*"}]
    });
    iam.put_role_policy()
        .role_name(&role)
        .policy_name("publish")
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
    let read = iam
        .get_role_policy()
        .role_name(&role)
        .policy_name("publish")
        .send()
        .await
        .unwrap();
    // IAM returns the document URL-encoded.
    let doc = percent_decode(read.policy_document());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&doc).unwrap(),
        policy
    );
    let tags = iam.list_role_tags().role_name(&role).send().await.unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "cloudfront-host:project")
    );
    let got = iam.get_role().role_name(&role).send().await.unwrap();
    let trust_read = percent_decode(got.role().unwrap().assume_role_policy_document().unwrap());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&trust_read).unwrap(),
        trust
    );

    iam.delete_role_policy()
        .role_name(&role)
        .policy_name("publish")
        .send()
        .await
        .unwrap();
    iam.delete_role().role_name(&role).send().await.unwrap();
    assert!(iam.get_role().role_name(&role).send().await.is_err());
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[tokio::test]
async fn acm_certificate_request_and_validation_records() {
    let aws = support::aws("eu-west-1").await;
    let acm = aws.acm();
    let domain = format!("{}.example.com", support::unique("www"));
    let requested = acm
        .request_certificate()
        .domain_name(&domain)
        .subject_alternative_names(format!("alt.{domain}"))
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .tags(
            aws_sdk_acm::types::Tag::builder()
                .key("cloudfront-host:project")
                .value("web")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let arn = requested.certificate_arn().unwrap().to_string();
    // ACM for CloudFront lives in us-east-1 whatever the project's region.
    assert!(arn.starts_with("arn:aws:acm:us-east-1:"), "{arn}");
    let described = acm
        .describe_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    let cert = described.certificate().unwrap();
    assert_eq!(cert.domain_name(), Some(domain.as_str()));
    let options = cert.domain_validation_options();
    assert!(!options.is_empty());
    let record = options[0].resource_record().expect("DNS validation record");
    assert_eq!(record.r#type(), &aws_sdk_acm::types::RecordType::Cname);
    assert!(record.name().contains(&domain), "{}", record.name());

    let listed = acm.list_certificates().send().await.unwrap();
    assert!(
        listed
            .certificate_summary_list()
            .iter()
            .any(|c| c.certificate_arn() == Some(arn.as_str()))
    );
    let tags = acm
        .list_tags_for_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "cloudfront-host:project")
    );
    acm.delete_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap();
    assert!(
        acm.describe_certificate()
            .certificate_arn(&arn)
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn route53_zones_and_alias_records() {
    use aws_sdk_route53::types::{
        AliasTarget, Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
    };
    let aws = support::aws("eu-west-1").await;
    let r53 = aws.route53();
    let zone_name = format!("{}.example.org", support::unique("zone"));
    let zone = r53
        .create_hosted_zone()
        .name(&zone_name)
        .caller_reference(support::unique("ref"))
        .send()
        .await
        .unwrap();
    let zone_id = zone
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();

    let by_name = r53
        .list_hosted_zones_by_name()
        .dns_name(&zone_name)
        .send()
        .await
        .unwrap();
    assert!(
        by_name
            .hosted_zones()
            .iter()
            .any(|z| z.name().trim_end_matches('.') == zone_name)
    );

    let alias = |kind: RrType| {
        Change::builder()
            .action(ChangeAction::Upsert)
            .resource_record_set(
                ResourceRecordSet::builder()
                    .name(format!("www.{zone_name}"))
                    .r#type(kind)
                    .alias_target(
                        AliasTarget::builder()
                            // CloudFront's fixed hosted zone id for alias targets.
                            .hosted_zone_id("Z2FDTNDATAQYW2")
                            .dns_name("d111111abcdef8.cloudfront.net")
                            .evaluate_target_health(false)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    let validation = Change::builder()
        .action(ChangeAction::Upsert)
        .resource_record_set(
            ResourceRecordSet::builder()
                .name(format!("_abc.{zone_name}"))
                .r#type(RrType::Cname)
                .ttl(300)
                .resource_records(
                    ResourceRecord::builder()
                        .value("_xyz.acm-validations.aws.")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    r53.change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(alias(RrType::A))
                .changes(alias(RrType::Aaaa))
                .changes(validation)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let records = r53
        .list_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .send()
        .await
        .unwrap();
    let www: Vec<_> = records
        .resource_record_sets()
        .iter()
        .filter(|r| r.name().trim_end_matches('.') == format!("www.{zone_name}"))
        .collect();
    assert_eq!(www.len(), 2, "{www:?}");
    assert!(www.iter().all(|r| {
        r.alias_target()
            .is_some_and(|a| a.dns_name().starts_with("d111111abcdef8.cloudfront.net"))
    }));
    assert!(
        records
            .resource_record_sets()
            .iter()
            .any(|r| r.r#type() == &RrType::Cname)
    );

    r53.change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes({
                    let mut c = alias(RrType::A);
                    c.action = ChangeAction::Delete;
                    c
                })
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let records = r53
        .list_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .send()
        .await
        .unwrap();
    assert!(
        !records
            .resource_record_sets()
            .iter()
            .any(|r| r.r#type() == &RrType::A && r.name().starts_with("www."))
    );
}
