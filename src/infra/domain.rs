//! Custom domains: names (IDN to punycode), the ACM certificate in us-east-1 (found or
//! requested with DNS validation), its validation records, and the Route 53 alias records.
//!
//! A name that already points somewhere else is reported, never overwritten without
//! `--force`. Records and certificates are removed by `delete` only when they are provably
//! this project's: alias records that point at this distribution, certificates with its tags.

use std::time::{Duration, Instant};

use aws_sdk_acm::types::{CertificateDetail, CertificateStatus, ValidationMethod};
use aws_sdk_route53::types::{
    AliasTarget, Change as DnsChange, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet,
    RrType,
};

use super::{Action, Change, InfraError, Mode, Stack, aws_err};
use crate::edge::function::Redirect;
use crate::settings::DomainSettings;

/// The hosted zone AWS uses for every CloudFront alias target.
pub const CLOUDFRONT_ZONE: &str = "Z2FDTNDATAQYW2";
const CERTIFICATE: &str = "certificate";
/// Names one ACM certificate may cover by default.
pub const MAX_CERTIFICATE_NAMES: usize = 10;
const DNS: &str = "dns-records";

/// The site's names, normalised: lower-case ASCII, punycode for IDNs, no trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domains {
    /// `domain.name` first, then `domain.aliases`.
    pub names: Vec<String>,
    pub redirect: Option<Redirect>,
    pub hosted_zone_id: Option<String>,
}

impl Domains {
    pub fn main(&self) -> &str {
        &self.names[0]
    }
}

fn invalid(key: &str, message: String) -> InfraError {
    InfraError::InvalidDomain {
        key: key.to_string(),
        message,
    }
}

/// One name as AWS wants it.
pub fn normalize(key: &str, raw: &str) -> Result<String, InfraError> {
    let trimmed = raw.trim().trim_end_matches('.');
    if trimmed.contains('*') {
        return Err(invalid(
            key,
            format!(
                "`{raw}` is a wildcard; CloudFront serves this site under concrete names, so list each one (e.g. `www.example.com`)"
            ),
        ));
    }
    let ascii = idna::domain_to_ascii(trimmed)
        .map_err(|_| invalid(key, format!("`{raw}` is not a valid domain name")))?;
    crate::settings::value::check_hostname(&ascii)
        .map_err(|p| invalid(key, format!("`{raw}`: {p}")))?;
    Ok(ascii)
}

pub fn domains(settings: &DomainSettings) -> Result<Domains, InfraError> {
    let mut names = vec![normalize("domain.name", &settings.name)?];
    for alias in &settings.aliases {
        let n = normalize("domain.aliases", alias)?;
        if !names.contains(&n) {
            names.push(n);
        }
    }
    // ACM's default quota is 10 names per certificate (adjustable; CloudFront itself takes 100
    // aliases): past it RequestCertificate fails only after the bucket and distribution exist.
    if names.len() > MAX_CERTIFICATE_NAMES {
        return Err(invalid(
            "domain.aliases",
            format!(
                "{} names with `domain.name`; an ACM certificate covers at most {MAX_CERTIFICATE_NAMES} by default (ACM quota \"Domain names per ACM certificate\")",
                names.len()
            ),
        ));
    }
    let redirect = match &settings.redirect_to {
        None => None,
        Some(to) => {
            let to = normalize("domain.redirect_to", to)?;
            if !names.contains(&to) {
                return Err(invalid(
                    "domain.redirect_to",
                    format!("`{to}` is neither `domain.name` nor one of `domain.aliases`"),
                ));
            }
            Some(Redirect {
                from: names.iter().filter(|n| **n != to).cloned().collect(),
                to,
            })
        }
    };
    Ok(Domains {
        names,
        redirect,
        hosted_zone_id: settings.hosted_zone_id.clone(),
    })
}

/// With `previews.domain`: `*.<previews.domain>` joins the names (certificate, aliases, DNS),
/// after the redirect is settled, so preview hosts are never redirected. Without
/// `domain.name` the wildcard is the only name.
pub fn with_previews(
    domains: Option<Domains>,
    preview_domain: Option<&str>,
) -> Result<Option<Domains>, InfraError> {
    let Some(raw) = preview_domain else {
        return Ok(domains);
    };
    let wildcard = format!("*.{}", normalize("previews.domain", raw)?);
    let mut domains = domains.unwrap_or(Domains {
        names: Vec::new(),
        redirect: None,
        hosted_zone_id: None,
    });
    if !domains.names.contains(&wildcard) {
        domains.names.push(wildcard);
    }
    Ok(Some(domains))
}

/// Route 53 lists a `*` in a record name as the octal escape `\052`.
fn record_name(listed: &str) -> String {
    listed.trim_end_matches('.').replace("\\052", "*")
}

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

/// Where the names live in Route 53: the zone `domain.hosted_zone_id` names, else the
/// account's public zones, listed once per step.
struct Zones {
    fixed: Option<String>,
    /// (zone name without the trailing dot, zone id)
    public: Vec<(String, String)>,
}

impl Zones {
    async fn load(stack: &Stack<'_>, domains: &Domains) -> Result<Self, InfraError> {
        if let Some(id) = &domains.hosted_zone_id {
            return Ok(Zones {
                fixed: Some(id.trim_start_matches("/hostedzone/").to_string()),
                public: Vec::new(),
            });
        }
        let r53 = stack.aws.route53();
        let mut public = Vec::new();
        let mut marker = None;
        loop {
            let page = r53
                .list_hosted_zones()
                .set_marker(marker)
                .send()
                .await
                .map_err(|e| aws_err("list Route 53 hosted zones", &e))?;
            for zone in page.hosted_zones() {
                if zone.config().is_some_and(|c| c.private_zone()) {
                    continue;
                }
                public.push((
                    zone.name().trim_end_matches('.').to_ascii_lowercase(),
                    zone.id().trim_start_matches("/hostedzone/").to_string(),
                ));
            }
            match (page.is_truncated(), page.next_marker()) {
                (true, Some(m)) => marker = Some(m.to_string()),
                _ => {
                    return Ok(Zones {
                        fixed: None,
                        public,
                    });
                }
            }
        }
    }

    /// The zone holding `name`: the longest zone name it ends with (walking up the name).
    fn of(&self, name: &str) -> Option<String> {
        if let Some(id) = &self.fixed {
            return Some(id.clone());
        }
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.public
            .iter()
            .filter(|(zone, _)| name == *zone || name.ends_with(&format!(".{zone}")))
            .max_by_key(|(zone, _)| zone.len())
            .map(|(_, id)| id.clone())
    }
}

fn cname(name: &str, value: &str, action: ChangeAction) -> Result<DnsChange, InfraError> {
    let err = |e: aws_sdk_route53::error::BuildError| InfraError::Other(e.to_string());
    DnsChange::builder()
        .action(action)
        .resource_record_set(
            ResourceRecordSet::builder()
                .name(name)
                .r#type(RrType::Cname)
                .ttl(300)
                .resource_records(
                    ResourceRecord::builder()
                        .value(value)
                        .build()
                        .map_err(err)?,
                )
                .build()
                .map_err(err)?,
        )
        .build()
        .map_err(err)
}

fn alias(
    name: &str,
    kind: RrType,
    target: &str,
    action: ChangeAction,
) -> Result<DnsChange, InfraError> {
    let err = |e: aws_sdk_route53::error::BuildError| InfraError::Other(e.to_string());
    DnsChange::builder()
        .action(action)
        .resource_record_set(
            ResourceRecordSet::builder()
                .name(name)
                .r#type(kind)
                .alias_target(
                    AliasTarget::builder()
                        .hosted_zone_id(CLOUDFRONT_ZONE)
                        .dns_name(target)
                        .evaluate_target_health(false)
                        .build()
                        .map_err(err)?,
                )
                .build()
                .map_err(err)?,
        )
        .build()
        .map_err(err)
}

async fn change(stack: &Stack<'_>, zone: &str, changes: Vec<DnsChange>) -> Result<(), InfraError> {
    if changes.is_empty() {
        return Ok(());
    }
    stack
        .aws
        .route53()
        .change_resource_record_sets()
        .hosted_zone_id(zone)
        .change_batch(
            ChangeBatch::builder()
                .set_changes(Some(changes))
                .build()
                .map_err(|e| InfraError::Other(e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| aws_err(format!("change records in hosted zone {zone}"), &e))?;
    Ok(())
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
        return Ok(Change::new(
            CERTIFICATE,
            "(no custom domain)",
            Action::None,
            "`domain.name` is not set",
        ));
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

/// What one name's A/AAAA records are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pointing {
    Missing,
    ToUs,
    Elsewhere(String),
}

async fn current(
    stack: &Stack<'_>,
    zone: &str,
    name: &str,
    kind: RrType,
    target: Option<&str>,
) -> Result<Pointing, InfraError> {
    let fqdn = format!("{name}.");
    let out = stack
        .aws
        .route53()
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .start_record_name(&fqdn)
        .start_record_type(kind.clone())
        .max_items(4)
        .send()
        .await
        .map_err(|e| aws_err(format!("read the records of {name}"), &e))?;
    for set in out.resource_record_sets() {
        if !record_name(set.name()).eq_ignore_ascii_case(name) {
            continue;
        }
        // A CNAME at the name blocks A/AAAA records as surely as an A record does.
        if set.r#type() != &kind && set.r#type() != &RrType::Cname {
            continue;
        }
        return Ok(match set.alias_target() {
            Some(a)
                if target.is_some_and(|t| {
                    a.dns_name().trim_end_matches('.').eq_ignore_ascii_case(t)
                }) =>
            {
                Pointing::ToUs
            }
            Some(a) => Pointing::Elsewhere(a.dns_name().trim_end_matches('.').to_string()),
            None => Pointing::Elsewhere(
                set.resource_records()
                    .iter()
                    .map(|r| r.value().to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        });
    }
    Ok(Pointing::Missing)
}

/// A and AAAA alias records for every name, pointing at the distribution.
pub async fn converge_dns(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let Some(domains) = stack.domains.clone() else {
        return Ok(Change::new(
            DNS,
            "(no custom domain)",
            Action::None,
            "`domain.name` is not set",
        ));
    };
    let label = domains.names.join(", ");
    let target = stack.ids.distribution_domain.clone();
    let Some(target_name) = target
        .clone()
        .filter(|_| stack.ids.certificate_arn.is_some())
    else {
        return Ok(Change::new(
            DNS,
            &label,
            Action::Create,
            "A and AAAA aliases, once the distribution serves the names",
        ));
    };
    let zones = Zones::load(stack, &domains).await?;
    let mut missing = Vec::new();
    let mut taken = Vec::new();
    let mut external = Vec::new();
    for name in &domains.names {
        let Some(zone) = zones.of(name) else {
            external.push(name.clone());
            continue;
        };
        for kind in [RrType::A, RrType::Aaaa] {
            match current(stack, &zone, name, kind.clone(), target.as_deref()).await? {
                Pointing::ToUs => {}
                Pointing::Missing => missing.push((zone.clone(), name.clone(), kind)),
                Pointing::Elsewhere(to) => taken.push((zone.clone(), name.clone(), kind, to)),
            }
        }
    }
    if !taken.is_empty() && !stack.options.force {
        let list: Vec<String> = taken
            .iter()
            .map(|(_, n, k, to)| format!("{n} {} → {to}", k.as_str()))
            .collect();
        return Err(InfraError::Other(format!(
            "these names already point elsewhere and were left as they are: {}. Re-run with --force to point them at this site",
            list.join(", ")
        )));
    }
    if !external.is_empty() {
        stack.notify(&format!(
            "no Route 53 hosted zone holds {}: point each at {target_name} at your DNS provider (CNAME, or ALIAS/ANAME for an apex)",
            external.join(", ")
        ));
    }
    let changes = missing.len() + taken.len();
    if changes == 0 {
        return Ok(Change::new(
            DNS,
            &label,
            Action::None,
            "every name points at the distribution",
        ));
    }
    if mode == Mode::Apply {
        let mut by_zone: std::collections::BTreeMap<String, Vec<DnsChange>> = Default::default();
        for (zone, name, kind) in missing.iter().cloned().chain(
            taken
                .iter()
                .map(|(z, n, k, _)| (z.clone(), n.clone(), k.clone())),
        ) {
            by_zone.entry(zone).or_default().push(alias(
                &name,
                kind,
                &target_name,
                ChangeAction::Upsert,
            )?);
        }
        for (zone, list) in by_zone {
            change(stack, &zone, list).await?;
        }
    }
    let action = if taken.is_empty() {
        Action::Create
    } else {
        Action::Update
    };
    Ok(Change::new(
        DNS,
        &label,
        action,
        format!("{changes} alias record(s) to {target_name}"),
    ))
}

/// Removes the alias records that point at this distribution, and the validation records of
/// this project's certificate.
pub async fn destroy_dns(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let Some(domains) = stack.domains.clone() else {
        return Ok(Change::new(
            DNS,
            "(no custom domain)",
            Action::None,
            "`domain.name` is not set",
        ));
    };
    let label = domains.names.join(", ");
    let Some(target) = stack.ids.distribution_domain.clone() else {
        return Ok(Change::new(
            DNS,
            &label,
            Action::None,
            "no distribution to point at",
        ));
    };
    let zones = Zones::load(stack, &domains).await?;
    let mut ours = Vec::new();
    for name in &domains.names {
        let Some(zone) = zones.of(name) else {
            continue;
        };
        for kind in [RrType::A, RrType::Aaaa] {
            if current(stack, &zone, name, kind.clone(), Some(&target)).await? == Pointing::ToUs {
                ours.push((zone.clone(), name.clone(), kind));
            }
        }
    }
    if ours.is_empty() {
        return Ok(Change::new(
            DNS,
            &label,
            Action::None,
            "no record points at this distribution",
        ));
    }
    if mode == Mode::Apply {
        for (zone, name, kind) in &ours {
            change(
                stack,
                zone,
                vec![alias(name, kind.clone(), &target, ChangeAction::Delete)?],
            )
            .await?;
        }
    }
    Ok(Change::new(
        DNS,
        &label,
        Action::Delete,
        format!("{} alias record(s) to {target}", ours.len()),
    ))
}

/// Deletes this project's certificate (after the distribution is gone) and its validation
/// records; a certificate without the project's tags stays.
pub async fn destroy_certificate(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let Some(domains) = stack.domains.clone() else {
        return Ok(Change::new(
            CERTIFICATE,
            "(no custom domain)",
            Action::None,
            "`domain.name` is not set",
        ));
    };
    let Some(found) = find_certificate(stack, &domains.names).await? else {
        return Ok(Change::gone(CERTIFICATE, domains.main()));
    };
    if !found.ours {
        return Ok(Change::left_alone(
            CERTIFICATE,
            &found.arn,
            "not requested by this project",
        ));
    }
    if mode == Mode::Apply {
        let zones = Zones::load(stack, &domains).await?;
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
        super::retry_while_in_use(
            stack,
            &format!("certificate {}", found.arn),
            || acm.delete_certificate().certificate_arn(&found.arn).send(),
            |e| {
                e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception())
            },
        )
        .await?;
    }
    Ok(Change::new(
        CERTIFICATE,
        &found.arn,
        Action::Delete,
        "requested by this project",
    ))
}

/// For `show`: whether each name's A record points at the distribution (None: not in Route 53).
pub async fn dns_status(stack: &Stack<'_>) -> Result<Vec<(String, Option<bool>)>, InfraError> {
    let Some(domains) = stack.domains.clone() else {
        return Ok(Vec::new());
    };
    let target = stack.ids.distribution_domain.clone();
    let zones = Zones::load(stack, &domains).await?;
    let mut out = Vec::new();
    for name in &domains.names {
        let state = match zones.of(name) {
            Some(zone) => Some(
                current(stack, &zone, name, RrType::A, target.as_deref()).await? == Pointing::ToUs,
            ),
            None => None,
        };
        out.push((name.clone(), state));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(name: &str, aliases: &[&str], redirect: Option<&str>) -> DomainSettings {
        DomainSettings {
            name: name.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            hosted_zone_id: None,
            redirect_to: redirect.map(str::to_string),
        }
    }

    #[test]
    fn names_become_punycode_and_long_tlds_are_fine() {
        let d = domains(&settings(
            "Bücher.Example.photography.",
            &["www.bücher.example.photography"],
            None,
        ))
        .unwrap();
        assert_eq!(
            d.names,
            vec![
                "xn--bcher-kva.example.photography".to_string(),
                "www.xn--bcher-kva.example.photography".to_string(),
            ]
        );
    }

    #[test]
    fn wildcards_and_foreign_redirect_targets_are_refused_with_the_key() {
        let e = domains(&settings("*.example.com", &[], None))
            .unwrap_err()
            .to_string();
        assert!(e.contains("domain.name") && e.contains("wildcard"), "{e}");
        let e = domains(&settings("example.com", &[], Some("other.com")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("domain.redirect_to"), "{e}");
        let e = domains(&settings("example.com", &["bad_name..com"], None))
            .unwrap_err()
            .to_string();
        assert!(e.contains("domain.aliases"), "{e}");
    }

    #[test]
    fn more_names_than_one_certificate_covers_are_refused_with_the_key() {
        let aliases: Vec<String> = (0..10).map(|i| format!("a{i}.example.com")).collect();
        let refs: Vec<&str> = aliases.iter().map(String::as_str).collect();
        let e = domains(&settings("example.com", &refs, None))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("domain.aliases") && e.contains("at most 10"),
            "{e}"
        );
        assert!(domains(&settings("example.com", &refs[..9], None)).is_ok());
    }

    #[test]
    fn redirect_sends_every_other_name_to_the_target() {
        let d = domains(&settings(
            "example.com",
            &["www.example.com"],
            Some("www.example.com"),
        ))
        .unwrap();
        let r = d.redirect.unwrap();
        assert_eq!(
            (r.from, r.to.as_str()),
            (vec!["example.com".to_string()], "www.example.com")
        );
    }

    #[test]
    fn certificate_names_cover_exactly_and_by_one_wildcard_label() {
        assert!(covers("www.example.com", "www.example.com"));
        assert!(covers("*.example.com", "www.example.com"));
        assert!(!covers("*.example.com", "example.com"));
        assert!(!covers("*.example.com", "a.b.example.com"));
        assert!(!covers("example.com", "www.example.com"));
    }
}
