//! Custom domains against the emulator: hosted-zone discovery, certificates (requested,
//! reused, pending, failed), validation and alias records, the redirect in the function,
//! refusal to overwrite foreign records, and a clean delete.

use crate::support;

use std::path::PathBuf;

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet, RrType,
};
use cargo_cloudfront_host::names::{Names, Scope};
use serde_json::Value;

const REGION: &str = "eu-west-1";

struct Site {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    names: Names,
    aws: cargo_cloudfront_host::aws::Aws,
}

async fn site(domain: &str) -> Site {
    let name = support::unique("dom");
    let (tmp, dir) = support::package(&format!(
        "[package.metadata.cloudfront]\nname = \"{name}\"\nregion = \"{REGION}\"\nframework = \"static\"\nbuild.output_dir = \"dist\"\n{domain}"
    ));
    std::fs::create_dir_all(dir.join("dist")).unwrap();
    std::fs::write(dir.join("dist/index.html"), "<h1>home</h1>").unwrap();
    let names = Names::new(&Scope {
        account: support::ACCOUNT,
        region: REGION,
        repository: None,
        project: &name,
    });
    Site {
        _tmp: tmp,
        dir,
        names,
        aws: support::aws(REGION).await,
    }
}

impl Site {
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

    fn changes(&self, doc: &Value) -> Vec<(String, String)> {
        doc["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["resource"].as_str().unwrap().to_string(),
                    c["action"].as_str().unwrap().to_string(),
                )
            })
            .filter(|(_, a)| a != "none")
            .collect()
    }

    async fn distribution(&self, id: &str) -> aws_sdk_cloudfront::types::DistributionConfig {
        self.aws
            .cloudfront()
            .get_distribution_config()
            .id(id)
            .send()
            .await
            .unwrap()
            .distribution_config()
            .unwrap()
            .clone()
    }

    async fn records(&self, zone: &str, name: &str) -> Vec<ResourceRecordSet> {
        let out = self
            .aws
            .route53()
            .list_resource_record_sets()
            .hosted_zone_id(zone)
            .send()
            .await
            .unwrap();
        out.resource_record_sets()
            .iter()
            .filter(|r| r.name().trim_end_matches('.') == name)
            .cloned()
            .collect()
    }

    /// Certificates in us-east-1 whose names include `name`: (arn, status).
    async fn certificates(&self, name: &str) -> Vec<(String, String)> {
        let acm = self.aws.acm();
        let list = acm.list_certificates().send().await.unwrap();
        let mut out = Vec::new();
        for s in list.certificate_summary_list() {
            let arn = s.certificate_arn().unwrap();
            let d = acm
                .describe_certificate()
                .certificate_arn(arn)
                .send()
                .await
                .unwrap();
            let d = d.certificate().unwrap();
            if d.domain_name() == Some(name)
                || d.subject_alternative_names().iter().any(|n| n == name)
            {
                out.push((
                    arn.to_string(),
                    d.status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                ));
            }
        }
        out
    }
}

async fn zone(aws: &cargo_cloudfront_host::aws::Aws, name: &str) -> String {
    let zone = aws
        .route53()
        .create_hosted_zone()
        .name(name)
        .caller_reference(support::unique("ref"))
        .send()
        .await
        .unwrap();
    zone.hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string()
}

fn alias_target(set: &ResourceRecordSet) -> Option<String> {
    set.alias_target()
        .map(|a| a.dns_name().trim_end_matches('.').to_string())
}

#[tokio::test]
async fn apex_and_www_get_a_certificate_validation_and_alias_records_then_a_clean_delete() {
    let apex = format!("{}.example.org", support::unique("z"));
    let www = format!("www.{apex}");
    let s = site(&format!(
        "domain.name = \"{www}\"\ndomain.aliases = [\"{apex}\"]\ndomain.redirect_to = \"{www}\"\n"
    ))
    .await;
    // A zone higher up than the name and an unrelated one: discovery picks the right zone.
    let zone_id = zone(&s.aws, &apex).await;
    zone(&s.aws, &format!("{}.example.org", support::unique("other"))).await;

    let plan = s.json(&["plan"]);
    let planned = s.changes(&plan);
    assert!(
        planned.contains(&("certificate".into(), "create".into())),
        "{planned:?}"
    );
    assert!(
        planned.contains(&("dns-records".into(), "create".into())),
        "{planned:?}"
    );

    let out = s.json(&["deploy", "--no-publish"]);
    assert_eq!(out["url"], format!("https://{www}/"));
    let dist_id = out["distribution_id"].as_str().unwrap().to_string();
    let dist = s.distribution(&dist_id).await;

    // The certificate: requested by this project, issued, covering both names.
    let certs = s.certificates(&www).await;
    assert_eq!(certs.len(), 1, "{certs:?}");
    let (cert_arn, status) = &certs[0];
    assert_eq!(status, "ISSUED");
    assert!(cert_arn.starts_with("arn:aws:acm:us-east-1:"));
    let tags = s
        .aws
        .acm()
        .list_tags_for_certificate()
        .certificate_arn(cert_arn)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "cloudfront-host:stack" && t.value() == Some(s.names.stack_id()))
    );

    // Validation records were put in the zone.
    let detail = s
        .aws
        .acm()
        .describe_certificate()
        .certificate_arn(cert_arn)
        .send()
        .await
        .unwrap();
    for option in detail.certificate().unwrap().domain_validation_options() {
        let rr = option.resource_record().unwrap();
        let found = s.records(&zone_id, rr.name().trim_end_matches('.')).await;
        assert!(
            found.iter().any(|r| r.r#type() == &RrType::Cname
                && r.resource_records().iter().any(|v| v.value() == rr.value())),
            "validation record {} missing",
            rr.name()
        );
    }

    // The distribution serves both names with the certificate, TLS 1.2 (2021), SNI.
    let mut aliases = dist.aliases().unwrap().items().to_vec();
    aliases.sort();
    let mut expected = vec![apex.clone(), www.clone()];
    expected.sort();
    assert_eq!(aliases, expected);
    let cert = dist.viewer_certificate().unwrap();
    assert_eq!(cert.acm_certificate_arn(), Some(cert_arn.as_str()));
    assert_eq!(
        cert.minimum_protocol_version().map(|v| v.as_str()),
        Some("TLSv1.2_2021")
    );
    assert_eq!(
        cert.ssl_support_method().map(|v| v.as_str()),
        Some("sni-only")
    );

    // A and AAAA aliases for apex and www, pointing at the distribution.
    let domain = s
        .aws
        .cloudfront()
        .get_distribution()
        .id(&dist_id)
        .send()
        .await
        .unwrap()
        .distribution()
        .unwrap()
        .domain_name()
        .to_string();
    for name in [&apex, &www] {
        let sets = s.records(&zone_id, name).await;
        let mut kinds: Vec<&str> = sets
            .iter()
            .filter(|r| alias_target(r).as_deref() == Some(domain.as_str()))
            .map(|r| r.r#type().as_str())
            .collect();
        kinds.sort();
        assert_eq!(kinds, vec!["A", "AAAA"], "{name}: {sets:?}");
        assert!(sets.iter().all(|r| {
            r.alias_target()
                .is_none_or(|a| a.hosted_zone_id() == "Z2FDTNDATAQYW2")
        }));
    }

    // The function redirects the apex to www.
    let code = s
        .aws
        .cloudfront()
        .get_function()
        .name(s.names.function())
        .stage(aws_sdk_cloudfront::types::FunctionStage::Live)
        .send()
        .await
        .unwrap();
    let code = String::from_utf8(code.function_code().unwrap().as_ref().to_vec()).unwrap();
    assert!(
        code.contains(&format!("const REDIRECT_TO = '{www}';")),
        "redirect target"
    );
    assert!(code.contains(&format!("'{apex}'.split")), "redirect source");

    // Nothing left to do; show sees DNS pointing here.
    assert!(s.changes(&s.json(&["plan"])).is_empty());
    let shown = s.json(&["show"]);
    let domains = shown["domains"].as_array().unwrap();
    assert_eq!(domains.len(), 2);
    assert!(domains.iter().all(|d| d["points_here"] == true), "{shown}");

    // Delete: alias and validation records, the certificate, then the rest; the zone stays.
    s.json(&["delete", "--yes"]);
    for name in [&apex, &www] {
        assert!(
            s.records(&zone_id, name)
                .await
                .iter()
                .all(|r| r.r#type() != &RrType::A && r.r#type() != &RrType::Aaaa),
            "{name} aliases removed"
        );
    }
    assert!(s.certificates(&www).await.is_empty(), "certificate deleted");
    let validation = s
        .records(&zone_id, "")
        .await
        .into_iter()
        .chain(
            s.aws
                .route53()
                .list_resource_record_sets()
                .hosted_zone_id(&zone_id)
                .send()
                .await
                .unwrap()
                .resource_record_sets()
                .iter()
                .filter(|r| r.r#type() == &RrType::Cname)
                .cloned(),
        )
        .count();
    assert_eq!(validation, 0, "validation records removed");
    assert!(
        s.aws
            .route53()
            .get_hosted_zone()
            .id(&zone_id)
            .send()
            .await
            .is_ok(),
        "the zone was not this project's"
    );
}

#[tokio::test]
async fn an_existing_issued_certificate_is_reused_and_never_deleted() {
    let apex = format!("{}.example.com", support::unique("r"));
    let www = format!("www.{apex}");
    let s = site(&format!("domain.name = \"{www}\"\n")).await;
    zone(&s.aws, &apex).await;
    let acm = s.aws.acm();
    let theirs = acm
        .request_certificate()
        .domain_name(&apex)
        .subject_alternative_names(format!("*.{apex}"))
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_string();
    // moto issues it on the next look.
    acm.describe_certificate()
        .certificate_arn(&theirs)
        .send()
        .await
        .unwrap();

    let out = s.json(&["deploy", "--no-publish"]);
    let cert = out["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["resource"] == "certificate")
        .unwrap();
    assert_eq!(cert["action"], "none");
    assert_eq!(cert["name"], theirs.as_str());
    assert!(
        s.certificates(&www).await.is_empty(),
        "no certificate of its own requested (the reused one names *.{apex})"
    );
    let dist = s
        .distribution(out["distribution_id"].as_str().unwrap())
        .await;
    assert_eq!(
        dist.viewer_certificate().unwrap().acm_certificate_arn(),
        Some(theirs.as_str())
    );

    s.json(&["delete", "--yes"]);
    assert!(
        acm.describe_certificate()
            .certificate_arn(&theirs)
            .send()
            .await
            .is_ok(),
        "a certificate this project did not request is left alone"
    );
}

#[tokio::test]
async fn without_a_hosted_zone_the_records_are_printed_and_validation_is_awaited() {
    let name = format!("app.{}.example.net", support::unique("x"));
    let s = site(&format!("domain.name = \"{name}\"\n")).await;
    // An earlier deploy requested the certificate; DNS has not validated it yet.
    let acm = s.aws.acm();
    let tags: Vec<_> = s
        .names
        .tags()
        .into_iter()
        .map(|(k, v)| {
            aws_sdk_acm::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap()
        })
        .collect();
    let arn = acm
        .request_certificate()
        .domain_name(&name)
        .validation_method(aws_sdk_acm::types::ValidationMethod::Dns)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap()
        .certificate_arn()
        .unwrap()
        .to_string();
    let hold = |status: &str| {
        support::hook(
            "/_emulator/certificates/status",
            serde_json::json!({"CertificateArn": arn, "Status": status}),
        );
    };
    hold("PENDING_VALIDATION");
    let record = acm
        .describe_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .unwrap()
        .certificate()
        .unwrap()
        .domain_validation_options()[0]
        .resource_record()
        .unwrap()
        .clone();

    // --no-wait: the exact CNAME is printed, the site deploys on its CloudFront name.
    let done = s.run(&["deploy", "--no-publish", "--no-wait"]).success();
    let stderr = String::from_utf8_lossy(&done.get_output().stderr).to_string();
    assert!(
        stderr.contains(&format!("{}  CNAME  {}", record.name(), record.value())),
        "{stderr}"
    );
    assert!(stderr.contains("not served yet"), "{stderr}");
    let stdout = String::from_utf8_lossy(&done.get_output().stdout).to_string();
    assert!(stdout.contains(".cloudfront.net/"), "{stdout}");

    // Waiting runs into the timeout with a clear message.
    let timed_out = s
        .run(&["deploy", "--no-publish", "--timeout", "2s"])
        .failure();
    let stderr = String::from_utf8_lossy(&timed_out.get_output().stderr).to_string();
    assert!(
        stderr.contains("still waiting for DNS validation"),
        "{stderr}"
    );

    // A failed validation says what to do.
    hold("FAILED");
    let failed = s.run(&["deploy", "--no-publish"]).failure();
    let stderr = String::from_utf8_lossy(&failed.get_output().stderr).to_string();
    assert!(
        stderr.contains("FAILED") && stderr.contains("delete-certificate"),
        "{stderr}"
    );

    // Once DNS validates, the next deploy serves the name.
    hold("ISSUED");
    let out = s.json(&["deploy", "--no-publish"]);
    assert_eq!(out["url"], format!("https://{name}/"));
    let dist = s
        .distribution(out["distribution_id"].as_str().unwrap())
        .await;
    assert_eq!(dist.aliases().unwrap().items(), std::slice::from_ref(&name));
    s.json(&["delete", "--yes"]);
}

#[tokio::test]
async fn a_name_pointing_elsewhere_is_reported_not_overwritten_unless_forced() {
    let apex = format!("{}.example.org", support::unique("f"));
    let www = format!("www.{apex}");
    let s = site(&format!("domain.name = \"{www}\"\n")).await;
    let zone_id = zone(&s.aws, &apex).await;
    s.aws
        .route53()
        .change_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .change_batch(
            ChangeBatch::builder()
                .changes(
                    Change::builder()
                        .action(ChangeAction::Create)
                        .resource_record_set(
                            ResourceRecordSet::builder()
                                .name(&www)
                                .r#type(RrType::A)
                                .ttl(60)
                                .resource_records(
                                    ResourceRecord::builder()
                                        .value("192.0.2.10")
                                        .build()
                                        .unwrap(),
                                )
                                .build()
                                .unwrap(),
                        )
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let refused = s.run(&["deploy", "--no-publish"]).failure();
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).to_string();
    assert!(
        stderr.contains(&www) && stderr.contains("192.0.2.10") && stderr.contains("--force"),
        "{stderr}"
    );
    let a = s
        .records(&zone_id, &www)
        .await
        .into_iter()
        .find(|r| r.r#type() == &RrType::A)
        .unwrap();
    assert_eq!(
        a.resource_records()[0].value(),
        "192.0.2.10",
        "left as it was"
    );

    s.run(&["deploy", "--no-publish", "--force"]).success();
    let a = s
        .records(&zone_id, &www)
        .await
        .into_iter()
        .find(|r| r.r#type() == &RrType::A)
        .unwrap();
    assert!(
        alias_target(&a).is_some_and(|t| t.ends_with(".cloudfront.net")),
        "{a:?}"
    );
    s.json(&["delete", "--yes"]);
}

#[tokio::test]
async fn a_second_deploy_of_a_custom_domain_makes_no_write_call() {
    let apex = format!("{}.example.org", support::unique("same"));
    let www = format!("www.{apex}");
    let s = site(&format!(
        "domain.name = \"{www}\"\ndomain.aliases = [\"{apex}\"]\ndomain.redirect_to = \"{www}\"\n"
    ))
    .await;
    zone(&s.aws, &apex).await;
    let out = s.json(&["deploy", "--no-publish"]);
    assert_eq!(out["url"], format!("https://{www}/"));

    let key = support::unique("AKIDDOMAIN");
    support::cli_with_key(&key)
        .current_dir(&s.dir)
        .args(["deploy", "--no-publish"])
        .assert()
        .success();
    let writes = support::write_calls(&key, 0);
    assert!(
        writes.is_empty(),
        "a re-deploy with nothing changed wrote:\n{}",
        writes.join("\n")
    );
}

#[tokio::test]
async fn delete_waits_until_aws_releases_what_the_deleted_distribution_used() {
    // The emulator keeps a deleted distribution's certificate, function, policies and origin
    // access control "in use" for a moment (EMULATOR_IN_USE_LAG_SECONDS), as AWS does for
    // minutes.
    let name = format!("{}.example.org", support::unique("lag"));
    let s = site(&format!("domain.name = \"{name}\"\n")).await;
    zone(&s.aws, &name).await;
    s.run(&["deploy", "--no-publish"]).success();
    assert_eq!(s.certificates(&name).await.len(), 1);

    let done = s.run(&["--format", "json", "delete", "--yes"]).success();
    let stderr = String::from_utf8_lossy(&done.get_output().stderr).to_string();
    assert!(
        stderr.contains("still in use by the deleted distribution"),
        "delete says what it waits on:\n{stderr}"
    );
    let doc: Value = serde_json::from_slice(&done.get_output().stdout).unwrap();
    let changes = doc["changes"].as_array().unwrap();
    for resource in ["certificate", "function", "origin-access-control"] {
        assert!(
            changes
                .iter()
                .any(|c| c["resource"] == resource && c["action"] == "delete"),
            "{resource}: {doc}"
        );
    }
    assert!(s.certificates(&name).await.is_empty());
}
