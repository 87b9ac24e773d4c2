//! The ACM certificate in us-east-1 (CloudFront reads it there): an ISSUED one covering every
//! name is reused, else this project's own is requested with DNS validation, its validation
//! records put in Route 53 (or printed), and awaited.

use std::time::{Duration, Instant};

use aws_sdk_acm::types::{CertificateDetail, CertificateStatus, ValidationMethod};
use aws_sdk_route53::types::ChangeAction;

use super::dns::{Zones, change, cname};
use super::{Domains, no_custom_domain};
use crate::infra::resource::{self, Resource};
use crate::infra::{Action, Change, InfraError, Mode, Stack, aws_err};

const CERTIFICATE: &str = "certificate";

/// True when a certificate name (possibly `*.parent`) covers `name`.
pub fn covers(cert_name: &str, name: &str) -> bool {
    let cert_name = cert_name.trim_end_matches('.').to_ascii_lowercase();
    match cert_name.strip_prefix("*.") {
        Some(parent) => name
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == parent),
        None => cert_name == name,
    }
}

fn certificate_names(detail: &CertificateDetail) -> Vec<String> {
    let mut out: Vec<String> = detail.subject_alternative_names().to_vec();
    if let Some(d) = detail.domain_name() {
        out.push(d.to_string());
    }
    out
}

fn covers_all(detail: &CertificateDetail, names: &[String]) -> bool {
    let cert_names = certificate_names(detail);
    names
        .iter()
        .all(|n| cert_names.iter().any(|c| covers(c, n)))
}

struct Found {
    arn: String,
    detail: CertificateDetail,
    ours: bool,
}

/// Whether the certificate carries this project's tags; `None` when it was deleted meanwhile.
async fn certificate_tags_ours(stack: &Stack<'_>, arn: &str) -> Result<Option<bool>, InfraError> {
    let tags = match stack
        .aws
        .acm()
        .list_tags_for_certificate()
        .certificate_arn(arn)
        .send()
        .await
    {
        Ok(tags) => tags,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(aws_err(format!("read the tags of certificate {arn}"), &e)),
    };
    Ok(Some(
        stack.names.owns(
            tags.tags()
                .iter()
                .map(|t| (t.key(), t.value().unwrap_or_default())),
        ),
    ))
}

/// A certificate covering every name: an ISSUED one (anyone's), else this project's own
/// pending or failed one.
async fn find_certificate(
    stack: &Stack<'_>,
    names: &[String],
) -> Result<Option<Found>, InfraError> {
    let acm = stack.aws.acm();
    let mut fallback = None;
    let mut token = None;
    loop {
        let page = acm
            .list_certificates()
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_err("list ACM certificates in us-east-1", &e))?;
        for summary in page.certificate_summary_list() {
            let Some(arn) = summary.certificate_arn() else {
                continue;
            };
            // A certificate listed a moment ago may be deleted before we read it (another
            // project's `delete`, a person in the console): not ours to report, skip it.
            let detail = match acm.describe_certificate().certificate_arn(arn).send().await {
                Ok(out) => out.certificate().cloned(),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    continue;
                }
                Err(e) => return Err(aws_err(format!("describe certificate {arn}"), &e)),
            };
            let Some(detail) = detail else { continue };
            if !covers_all(&detail, names) {
                continue;
            }
            let Some(ours) = certificate_tags_ours(stack, arn).await? else {
                continue;
            };
            if detail.status() == Some(&CertificateStatus::Issued) {
                return Ok(Some(Found {
                    arn: arn.to_string(),
                    detail,
                    ours,
                }));
            }
            if ours && fallback.is_none() {
                fallback = Some(Found {
                    arn: arn.to_string(),
                    detail,
                    ours,
                });
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(fallback),
        }
    }
}

/// The validation CNAMEs ACM asks for: (name, value).
fn validation_records(detail: &CertificateDetail) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = detail
        .domain_validation_options()
        .iter()
        .filter_map(|o| o.resource_record())
        .map(|r| (r.name().to_string(), r.value().to_string()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Finds or requests the certificate; puts its validation records in Route 53 (or prints
/// them) and waits for ISSUED. Without an ISSUED certificate the distribution keeps the
/// CloudFront name only, and `deploy` says what is missing.
pub async fn converge_certificate(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let Some(domains) = stack.domains.clone() else {
        return Ok(no_custom_domain(CERTIFICATE));
    };
    let main = domains.main().to_string();
    let found = find_certificate(stack, &domains.names).await?;
    if let Some(f) = &found
        && f.detail.status() == Some(&CertificateStatus::Issued)
    {
        stack.ids.certificate_arn = Some(f.arn.clone());
        let whose = if f.ours {
            "requested by this project"
        } else {
            "existing, reused"
        };
        return Ok(Change::new(
            CERTIFICATE,
            &f.arn,
            Action::None,
            format!("ISSUED, {whose}"),
        ));
    }
    if let Some(f) = &found {
        let status = f.detail.status().map_or("UNKNOWN", |s| s.as_str());
        if status != "PENDING_VALIDATION" {
            return Err(InfraError::Other(format!(
                "certificate {} for {main} is {status}{}: delete it (`aws acm delete-certificate --region us-east-1 --certificate-arn {}`) and deploy again to request a new one",
                f.arn,
                f.detail
                    .failure_reason()
                    .map(|r| format!(" ({})", r.as_str()))
                    .unwrap_or_default(),
                f.arn
            )));
        }
    }
    if mode == Mode::Plan {
        if found.is_none() {
            // So the plan shows the distribution and records that follow the new certificate.
            stack.ids.certificate_arn = Some("(to be requested)".to_string());
        }
        return Ok(match &found {
            Some(f) => Change::new(
                CERTIFICATE,
                &f.arn,
                Action::None,
                "waiting for DNS validation",
            ),
            None => Change::new(
                CERTIFICATE,
                &main,
                Action::Create,
                format!("request for {} (DNS validation)", domains.names.join(", ")),
            ),
        });
    }
    let (arn, action) = match found {
        Some(f) => (f.arn, Action::None),
        None => (request(stack, &domains).await?, Action::Create),
    };
    let detail = wait_for_records(stack, &arn).await?;
    let records = validation_records(&detail);
    // Validation records go where each name's zone is; names outside Route 53 get printed.
    let zones = Zones::load(stack, &domains).await?;
    let mut external = Vec::new();
    for (name, value) in &records {
        match zones.of(name) {
            Some(zone) => {
                change(
                    stack,
                    &zone,
                    vec![cname(name, value, ChangeAction::Upsert)?],
                )
                .await?
            }
            None => external.push((name.clone(), value.clone())),
        }
    }
    if !external.is_empty() {
        let lines: Vec<String> = external
            .iter()
            .map(|(n, v)| format!("  {n}  CNAME  {v}"))
            .collect();
        stack.notify(&format!(
            "create these DNS records at your DNS provider so ACM can issue the certificate for {}:\n{}",
            domains.names.join(", "),
            lines.join("\n")
        ));
    }
    if stack.options.no_wait {
        stack.notify("not waiting for the certificate (--no-wait): the site stays on its CloudFront name; run `deploy` again once the records exist");
        return Ok(Change::new(
            CERTIFICATE,
            &arn,
            action,
            "waiting for DNS validation",
        ));
    }
    wait_issued(stack, &arn).await?;
    stack.ids.certificate_arn = Some(arn.clone());
    Ok(Change::new(CERTIFICATE, &arn, action, "ISSUED"))
}

async fn request(stack: &Stack<'_>, domains: &Domains) -> Result<String, InfraError> {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(domains.names.join(",").as_bytes());
    // The same request twice within an hour returns the same certificate.
    let token = format!(
        "cfh{}{}",
        stack.names.stack_id(),
        &hex::encode(digest)[..16]
    );
    let tags = stack
        .names
        .tags()
        .into_iter()
        .map(|(k, v)| {
            aws_sdk_acm::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| InfraError::Other(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let out = stack
        .aws
        .acm()
        .request_certificate()
        .domain_name(domains.main())
        .set_subject_alternative_names(
            (domains.names.len() > 1).then(|| domains.names[1..].to_vec()),
        )
        .validation_method(ValidationMethod::Dns)
        .idempotency_token(token)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| aws_err(format!("request a certificate for {}", domains.main()), &e))?;
    out.certificate_arn()
        .map(str::to_string)
        .ok_or_else(|| InfraError::Other("ACM returned no certificate ARN".into()))
}

async fn describe(stack: &Stack<'_>, arn: &str) -> Result<CertificateDetail, InfraError> {
    stack
        .aws
        .acm()
        .describe_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .map_err(|e| aws_err(format!("describe certificate {arn}"), &e))?
        .certificate()
        .cloned()
        .ok_or_else(|| InfraError::Other(format!("certificate {arn} has no details")))
}

/// ACM fills in the validation records a few seconds after the request.
async fn wait_for_records(stack: &Stack<'_>, arn: &str) -> Result<CertificateDetail, InfraError> {
    for _ in 0..30 {
        let detail = describe(stack, arn).await?;
        if !validation_records(&detail).is_empty()
            || detail.status() == Some(&CertificateStatus::Issued)
        {
            return Ok(detail);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    Err(InfraError::Other(format!(
        "ACM has not published the validation records of {arn} yet; run `deploy` again in a minute"
    )))
}

async fn wait_issued(stack: &Stack<'_>, arn: &str) -> Result<(), InfraError> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(500);
    loop {
        let detail = describe(stack, arn).await?;
        let status = detail
            .status()
            .map_or("UNKNOWN", |s| s.as_str())
            .to_string();
        match status.as_str() {
            "ISSUED" => return Ok(()),
            "PENDING_VALIDATION" => {}
            _ => {
                return Err(InfraError::Other(format!(
                    "certificate {arn} is {status}{}; delete it and deploy again to request a new one",
                    detail
                        .failure_reason()
                        .map(|r| format!(" ({})", r.as_str()))
                        .unwrap_or_default()
                )));
            }
        }
        let waited = started.elapsed();
        if waited >= stack.options.timeout {
            return Err(InfraError::Other(format!(
                "certificate {arn} is still waiting for DNS validation after {}s; once the validation records resolve, run `deploy` again (it picks up where it stopped)",
                waited.as_secs()
            )));
        }
        stack.wait_line(&format!(
            "certificate for {} is waiting for DNS validation ({}s)",
            detail.domain_name().unwrap_or_default(),
            waited.as_secs()
        ));
        tokio::time::sleep(delay.min(stack.options.timeout.saturating_sub(waited))).await;
        delay = (delay * 2).min(Duration::from_secs(15));
    }
}

/// This project's certificate for the names, as `delete` sees it.
struct OwnCertificate {
    domains: Domains,
}

impl Resource for OwnCertificate {
    const NOUN: &'static str = "certificate";
    const PROOF: &'static str = "tags (cloudfront-host:project and cloudfront-host:stack)";
    const NOT_OURS: &'static str = "not requested by this project";
    type Actual = Found;

    fn kind(&self) -> &'static str {
        CERTIFICATE
    }

    fn name(&self) -> &str {
        self.domains.main()
    }

    fn label(&self, found: &Found) -> String {
        found.arn.clone()
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<Found>, InfraError> {
        find_certificate(stack, &self.domains.names).await
    }

    async fn owned(&self, _: &Stack<'_>, found: &Found) -> Result<bool, InfraError> {
        Ok(found.ours)
    }

    fn delete_reason(&self) -> String {
        "requested by this project".to_string()
    }

    /// With its validation records; waits out ACM's "in use" while CloudFront lets go of it.
    async fn delete(
        &self,
        stack: &mut Stack<'_>,
        found: Found,
    ) -> Result<Option<String>, InfraError> {
        let zones = Zones::load(stack, &self.domains).await?;
        for (name, value) in validation_records(&found.detail) {
            if let Some(zone) = zones.of(&name) {
                // Gone already is fine: someone may have cleaned up by hand.
                let _ = change(
                    stack,
                    &zone,
                    vec![cname(&name, &value, ChangeAction::Delete)?],
                )
                .await;
            }
        }
        let acm = stack.aws.acm();
        crate::infra::retry_while_in_use(
            stack,
            &format!("certificate {}", found.arn),
            || acm.delete_certificate().certificate_arn(&found.arn).send(),
            |e| {
                e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception())
            },
        )
        .await?;
        Ok(None)
    }
}

/// Deletes this project's certificate (after the distribution is gone) and its validation
/// records; a certificate without the project's tags stays.
pub async fn destroy_certificate(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let Some(domains) = stack.domains.clone() else {
        return Ok(no_custom_domain(CERTIFICATE));
    };
    resource::destroy(stack, mode, &OwnCertificate { domains }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_names_cover_exactly_and_by_one_wildcard_label() {
        assert!(covers("www.example.com", "www.example.com"));
        assert!(covers("*.example.com", "www.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(!covers("*.example.com", "a.b.example.com"));
        assert!(!covers("example.com", "www.example.com"));
    }
}
