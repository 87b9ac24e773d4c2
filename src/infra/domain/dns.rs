//! Route 53: the A and AAAA alias records that point the names at the distribution (never
//! overwriting a name that points elsewhere without `--force`), and the zones that hold them.

use aws_sdk_route53::types::{
    AliasTarget, Change as DnsChange, ChangeAction, ChangeBatch, ResourceRecord, ResourceRecordSet,
    RrType,
};

use super::{Domains, no_custom_domain};
use crate::infra::{Action, Change, InfraError, Mode, Stack, aws_err};

/// The hosted zone AWS uses for every CloudFront alias target.
pub const CLOUDFRONT_ZONE: &str = "Z2FDTNDATAQYW2";
const DNS: &str = "dns-records";

/// Route 53 lists a `*` in a record name as the octal escape `\052`.
fn record_name(listed: &str) -> String {
    listed.trim_end_matches('.').replace("\\052", "*")
}

/// Where the names live in Route 53: the zone `domain.hosted_zone_id` names, else the
/// account's public zones, listed once per step.
pub(super) struct Zones {
    fixed: Option<String>,
    /// (zone name without the trailing dot, zone id)
    public: Vec<(String, String)>,
}

impl Zones {
    pub(super) async fn load(stack: &Stack<'_>, domains: &Domains) -> Result<Self, InfraError> {
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
    pub(super) fn of(&self, name: &str) -> Option<String> {
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

/// One record-set change; `set` is the record set's builder with its name and type.
fn record_change(
    action: ChangeAction,
    set: aws_sdk_route53::types::builders::ResourceRecordSetBuilder,
) -> Result<DnsChange, InfraError> {
    let err = |e: aws_sdk_route53::error::BuildError| InfraError::Other(e.to_string());
    DnsChange::builder()
        .action(action)
        .resource_record_set(set.build().map_err(err)?)
        .build()
        .map_err(err)
}

pub(super) fn cname(
    name: &str,
    value: &str,
    action: ChangeAction,
) -> Result<DnsChange, InfraError> {
    let record = ResourceRecord::builder()
        .value(value)
        .build()
        .map_err(|e| InfraError::Other(e.to_string()))?;
    record_change(
        action,
        ResourceRecordSet::builder()
            .name(name)
            .r#type(RrType::Cname)
            .ttl(300)
            .resource_records(record),
    )
}

fn alias(
    name: &str,
    kind: RrType,
    target: &str,
    action: ChangeAction,
) -> Result<DnsChange, InfraError> {
    let target = AliasTarget::builder()
        .hosted_zone_id(CLOUDFRONT_ZONE)
        .dns_name(target)
        .evaluate_target_health(false)
        .build()
        .map_err(|e| InfraError::Other(e.to_string()))?;
    record_change(
        action,
        ResourceRecordSet::builder()
            .name(name)
            .r#type(kind)
            .alias_target(target),
    )
}

pub(super) async fn change(
    stack: &Stack<'_>,
    zone: &str,
    changes: Vec<DnsChange>,
) -> Result<(), InfraError> {
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
        return Ok(no_custom_domain(DNS));
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
        return Ok(no_custom_domain(DNS));
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
