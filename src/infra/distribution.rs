//! Origin access control and the distribution: HTTP/2 and HTTP/3, IPv6, HTTPS only,
//! compression, the cache and headers policies, the viewer-request function, the bucket as
//! the only origin (signed requests through origin access control).

use std::time::{Duration, Instant};

use aws_sdk_cloudfront::types::{
    Aliases, AllowedMethods, CachedMethods, CustomErrorResponse, CustomErrorResponses,
    DefaultCacheBehavior, DistributionConfig, DistributionConfigWithTags, EventType,
    FunctionAssociation, FunctionAssociations, HttpVersion, Method, MinimumProtocolVersion, Origin,
    OriginAccessControlConfig, OriginAccessControlOriginTypes, OriginAccessControlSigningBehaviors,
    OriginAccessControlSigningProtocols, Origins, PriceClass, S3OriginConfig, SslSupportMethod,
    Tag, Tags, ViewerCertificate, ViewerProtocolPolicy,
};

use super::{Action, Change, InfraError, Mode, Stack, WaitOptions, aws_err};

const OAC: &str = "origin-access-control";
const DISTRIBUTION: &str = "distribution";
pub const ORIGIN_ID: &str = "site-bucket";
/// Seconds an error answer stays cached at the edge.
const ERROR_CACHING_TTL: i64 = 10;

fn build_err(e: impl std::fmt::Display) -> InfraError {
    InfraError::Other(format!("invalid distribution configuration: {e}"))
}

struct AccessControl {
    id: String,
    etag: String,
    config: OriginAccessControlConfig,
}

fn oac_config(name: &str, description: &str) -> Result<OriginAccessControlConfig, InfraError> {
    OriginAccessControlConfig::builder()
        .name(name)
        .description(description)
        .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
        .signing_behavior(OriginAccessControlSigningBehaviors::Always)
        .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
        .build()
        .map_err(build_err)
}

async fn find_oac(stack: &Stack<'_>, name: &str) -> Result<Option<AccessControl>, InfraError> {
    let mut marker = None;
    loop {
        let page = stack
            .cf
            .list_origin_access_controls()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_err("list origin access controls", &e))?;
        let Some(list) = page.origin_access_control_list() else {
            return Ok(None);
        };
        if let Some(summary) = list.items().iter().find(|s| s.name() == name) {
            let got = stack
                .cf
                .get_origin_access_control()
                .id(summary.id())
                .send()
                .await
                .map_err(|e| aws_err(format!("read origin access control {name}"), &e))?;
            let config = got
                .origin_access_control()
                .and_then(|o| o.origin_access_control_config())
                .cloned()
                .ok_or_else(|| InfraError::Other(format!("{name} has no configuration")))?;
            return Ok(Some(AccessControl {
                id: summary.id().to_string(),
                etag: got.e_tag().unwrap_or_default().to_string(),
                config,
            }));
        }
        match list.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(None),
        }
    }
}

pub async fn converge_oac(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.origin_access_control();
    let desired = oac_config(&name, &stack.marker())?;
    let Some(actual) = find_oac(stack, &name).await? else {
        if mode == Mode::Apply {
            let out = stack
                .cf
                .create_origin_access_control()
                .origin_access_control_config(desired)
                .send()
                .await
                .map_err(|e| aws_err(format!("create origin access control {name}"), &e))?;
            stack.ids.origin_access_control =
                out.origin_access_control().map(|o| o.id().to_string());
        }
        return Ok(Change::new(OAC, &name, Action::Create, "does not exist"));
    };
    if !stack.owns_comment(actual.config.description()) {
        return Err(InfraError::NotOwned {
            kind: "origin access control",
            name,
            proof: "description marker",
        });
    }
    let mut differences = Vec::new();
    if actual.config.signing_behavior() != desired.signing_behavior()
        || actual.config.signing_protocol() != desired.signing_protocol()
    {
        differences.push("signing (SigV4, always)".to_string());
    }
    if actual.config.origin_access_control_origin_type()
        != desired.origin_access_control_origin_type()
    {
        differences.push("origin type".to_string());
    }
    let change = Change::from_differences(OAC, &name, &differences);
    if mode == Mode::Apply && change.action == Action::Update {
        stack
            .cf
            .update_origin_access_control()
            .id(&actual.id)
            .if_match(&actual.etag)
            .origin_access_control_config(desired)
            .send()
            .await
            .map_err(|e| aws_err(format!("update origin access control {name}"), &e))?;
    }
    stack.ids.origin_access_control = Some(actual.id);
    Ok(change)
}

pub async fn destroy_oac(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.origin_access_control();
    let Some(actual) = find_oac(stack, &name).await? else {
        return Ok(Change::gone(OAC, &name));
    };
    if !stack.owns_comment(actual.config.description()) {
        return Ok(Change::left_alone(OAC, &name, "not this project's"));
    }
    if mode == Mode::Apply {
        stack
            .cf
            .delete_origin_access_control()
            .id(&actual.id)
            .if_match(&actual.etag)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete origin access control {name}"), &e))?;
    }
    Ok(Change::removed(OAC, &name))
}

/// The IDs the distribution refers to; `None` where the resource is yet to be created.
struct Refs {
    bucket_domain: String,
    oac: Option<String>,
    cache_policy: Option<String>,
    headers_policy: Option<String>,
    function_arn: String,
}

const PENDING: &str = "(to be created)";

/// The distribution as the settings want it. Fields this tool does not manage (logging, WAF,
/// geo restrictions, extra behaviors) are kept from
/// `base`, so a deploy never undoes what someone added by hand.
fn desired_config(
    stack: &Stack<'_>,
    refs: &Refs,
    caller_reference: &str,
    base: Option<&DistributionConfig>,
) -> Result<DistributionConfig, InfraError> {
    let settings = stack.settings;
    let origin = Origin::builder()
        .id(ORIGIN_ID)
        .domain_name(&refs.bucket_domain)
        .origin_access_control_id(refs.oac.as_deref().unwrap_or(PENDING))
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .map_err(build_err)?;
    let read_only = AllowedMethods::builder()
        .quantity(2)
        .items(Method::Get)
        .items(Method::Head)
        .cached_methods(
            CachedMethods::builder()
                .quantity(2)
                .items(Method::Get)
                .items(Method::Head)
                .build()
                .map_err(build_err)?,
        )
        .build()
        .map_err(build_err)?;
    let behavior = DefaultCacheBehavior::builder()
        .target_origin_id(ORIGIN_ID)
        .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
        .allowed_methods(read_only)
        .compress(true)
        .cache_policy_id(refs.cache_policy.as_deref().unwrap_or(PENDING))
        .response_headers_policy_id(refs.headers_policy.as_deref().unwrap_or(PENDING))
        .function_associations(
            FunctionAssociations::builder()
                .quantity(1)
                .items(
                    FunctionAssociation::builder()
                        .function_arn(&refs.function_arn)
                        .event_type(EventType::ViewerRequest)
                        .build()
                        .map_err(build_err)?,
                )
                .build()
                .map_err(build_err)?,
        )
        .build()
        .map_err(build_err)?;
    // `static` routing answers a missing page with the site's 404.html (kept at the bucket
    // root by the publisher: CloudFront fetches error pages without running the function).
    let errors = if settings.routing_mode() == "static" {
        let page = |code: i32| {
            CustomErrorResponse::builder()
                .error_code(code)
                .response_code("404")
                .response_page_path(format!("/{}", crate::release::ERROR_PAGE))
                .error_caching_min_ttl(ERROR_CACHING_TTL)
                .build()
                .map_err(build_err)
        };
        CustomErrorResponses::builder()
            .quantity(2)
            .items(page(403)?)
            .items(page(404)?)
            .build()
            .map_err(build_err)?
    } else {
        CustomErrorResponses::builder()
            .quantity(0)
            .build()
            .map_err(build_err)?
    };
    // A custom domain needs an ISSUED certificate first; until then the CloudFront name only.
    let custom = stack
        .domains
        .as_ref()
        .zip(stack.ids.certificate_arn.as_ref());
    let (certificate, aliases) = match custom {
        Some((domains, arn)) => (
            ViewerCertificate::builder()
                .acm_certificate_arn(arn)
                .ssl_support_method(SslSupportMethod::SniOnly)
                .minimum_protocol_version(MinimumProtocolVersion::TlSv122021)
                .build(),
            Aliases::builder()
                .quantity(domains.names.len() as i32)
                .set_items(Some(domains.names.clone()))
                .build()
                .map_err(build_err)?,
        ),
        None => (
            ViewerCertificate::builder()
                .cloud_front_default_certificate(true)
                .build(),
            Aliases::builder().quantity(0).build().map_err(build_err)?,
        ),
    };
    DistributionConfig::builder()
        .caller_reference(caller_reference)
        .comment(stack.marker())
        .enabled(true)
        .http_version(HttpVersion::Http2and3)
        .is_ipv6_enabled(true)
        .price_class(PriceClass::from(settings.price_class.as_str()))
        .default_root_object("index.html")
        .origins(
            Origins::builder()
                .quantity(1)
                .items(origin)
                .build()
                .map_err(build_err)?,
        )
        .default_cache_behavior(behavior)
        .custom_error_responses(errors)
        .viewer_certificate(certificate)
        .aliases(aliases)
        .set_cache_behaviors(base.and_then(|b| b.cache_behaviors().cloned()))
        .set_origin_groups(base.and_then(|b| b.origin_groups().cloned()))
        .set_logging(base.and_then(|b| b.logging().cloned()))
        .set_restrictions(base.and_then(|b| b.restrictions().cloned()))
        .set_web_acl_id(base.and_then(|b| b.web_acl_id().map(str::to_string)))
        .set_staging(base.and_then(|b| b.staging()))
        .set_continuous_deployment_policy_id(
            base.and_then(|b| b.continuous_deployment_policy_id().map(str::to_string)),
        )
        .build()
        .map_err(build_err)
}

/// The managed fields that differ, named for the plan.
pub fn differences(desired: &DistributionConfig, actual: &DistributionConfig) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |what: &str, same: bool| {
        if !same {
            out.push(what.to_string());
        }
    };
    check("comment", desired.comment() == actual.comment());
    check("enabled", desired.enabled() == actual.enabled());
    check(
        "HTTP version",
        desired.http_version() == actual.http_version(),
    );
    check(
        "IPv6",
        desired.is_ipv6_enabled() == actual.is_ipv6_enabled(),
    );
    if desired.price_class() != actual.price_class() {
        out.push(format!(
            "price class {} → {}",
            actual.price_class().map_or("default", |p| p.as_str()),
            desired.price_class().map_or("default", |p| p.as_str())
        ));
    }
    let mut check = |what: &str, same: bool| {
        if !same {
            out.push(what.to_string());
        }
    };
    check(
        "default root object",
        desired.default_root_object() == actual.default_root_object(),
    );
    let origin = |c: &DistributionConfig| {
        c.origins().map(|o| {
            o.items()
                .iter()
                .map(|o| {
                    (
                        o.id().to_string(),
                        o.domain_name().to_string(),
                        o.origin_access_control_id().map(str::to_string),
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    check(
        "origin (bucket, origin access control)",
        origin(desired) == origin(actual),
    );
    let behavior = |c: &DistributionConfig| {
        c.default_cache_behavior().map(|b| {
            (
                b.target_origin_id().to_string(),
                b.viewer_protocol_policy().clone(),
                b.compress(),
                b.allowed_methods().map(|m| m.items().to_vec()),
            )
        })
    };
    check(
        "default behavior (HTTPS, compression, methods)",
        behavior(desired) == behavior(actual),
    );
    let policies = |c: &DistributionConfig| {
        c.default_cache_behavior().map(|b| {
            (
                b.cache_policy_id().map(str::to_string),
                b.response_headers_policy_id().map(str::to_string),
            )
        })
    };
    check(
        "cache or headers policy",
        policies(desired) == policies(actual),
    );
    let functions = |c: &DistributionConfig| {
        c.default_cache_behavior()
            .and_then(|b| b.function_associations())
            .map(|f| {
                f.items()
                    .iter()
                    .map(|a| (a.function_arn().to_string(), a.event_type().clone()))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    check(
        "viewer-request function",
        functions(desired) == functions(actual),
    );
    let errors = |c: &DistributionConfig| {
        c.custom_error_responses()
            .map(|e| {
                e.items()
                    .iter()
                    .map(|r| {
                        (
                            r.error_code(),
                            r.response_code().map(str::to_string),
                            r.response_page_path().map(str::to_string),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    check("error responses", errors(desired) == errors(actual));
    let certificate = |c: &DistributionConfig| {
        c.viewer_certificate().map(|v| {
            (
                v.cloud_front_default_certificate(),
                v.acm_certificate_arn().map(str::to_string),
                v.minimum_protocol_version().cloned(),
            )
        })
    };
    check("certificate", certificate(desired) == certificate(actual));
    let aliases = |c: &DistributionConfig| {
        let mut names = c.aliases().map(|a| a.items().to_vec()).unwrap_or_default();
        names.sort();
        names
    };
    if aliases(desired) != aliases(actual) {
        out.push(format!(
            "aliases [{}] → [{}]",
            aliases(actual).join(", "),
            aliases(desired).join(", ")
        ));
    }
    out
}

struct Found {
    id: String,
    arn: String,
    domain: String,
    etag: String,
    config: DistributionConfig,
    status: String,
}

async fn get(stack: &Stack<'_>, id: &str) -> Result<Option<Found>, InfraError> {
    let out = match stack.cf.get_distribution().id(id).send().await {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_distribution()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(aws_err(format!("read distribution {id}"), &e)),
    };
    let Some(d) = out.distribution() else {
        return Ok(None);
    };
    let config = d
        .distribution_config()
        .cloned()
        .ok_or_else(|| InfraError::Other(format!("distribution {id} has no configuration")))?;
    Ok(Some(Found {
        id: d.id().to_string(),
        arn: d.arn().to_string(),
        domain: d.domain_name().to_string(),
        etag: out.e_tag().unwrap_or_default().to_string(),
        config,
        status: d.status().to_string(),
    }))
}

async fn owned(stack: &Stack<'_>, arn: &str) -> Result<bool, InfraError> {
    let tags = stack
        .cf
        .list_tags_for_resource()
        .resource(arn)
        .send()
        .await
        .map_err(|e| aws_err(format!("read the tags of {arn}"), &e))?;
    let pairs: Vec<(String, String)> = tags
        .tags()
        .map(|t| {
            t.items()
                .iter()
                .map(|t| {
                    (
                        t.key().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(stack
        .names
        .owns(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
}

/// The project's distribution: the recorded ID if it still exists, else the one whose comment
/// carries the marker and whose tags prove ownership (a deploy that failed before recording).
async fn find(stack: &Stack<'_>) -> Result<Option<Found>, InfraError> {
    if let Some(id) = &stack.ids.distribution_id
        && let Some(found) = get(stack, id).await?
        && owned(stack, &found.arn).await?
    {
        return Ok(Some(found));
    }
    let mut marker = None;
    loop {
        let page = stack
            .cf
            .list_distributions()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_err("list distributions", &e))?;
        let Some(list) = page.distribution_list() else {
            return Ok(None);
        };
        for summary in list.items() {
            if stack.owns_comment(Some(summary.comment())) && owned(stack, summary.arn()).await? {
                return get(stack, summary.id()).await;
            }
        }
        match list.next_marker() {
            Some(m) if list.is_truncated() && !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(None),
        }
    }
}

/// Fills in the distribution's IDs, when it exists (for steps that need its domain name).
pub async fn locate(stack: &mut Stack<'_>) -> Result<(), InfraError> {
    if let Some(found) = find(stack).await? {
        remember(stack, &found.id, &found.arn, &found.domain);
    }
    Ok(())
}

fn refs(stack: &Stack<'_>) -> Refs {
    let bucket = stack.names.bucket();
    Refs {
        bucket_domain: format!("{bucket}.s3.{}.amazonaws.com", stack.aws.region()),
        oac: stack.ids.origin_access_control.clone(),
        cache_policy: stack.ids.cache_policy.clone(),
        headers_policy: stack.ids.headers_policy.clone(),
        function_arn: stack.ids.function_arn.clone().unwrap_or_else(|| {
            format!(
                "arn:aws:cloudfront::{}:function/{}",
                stack.account,
                stack.names.function()
            )
        }),
    }
}

fn remember(stack: &mut Stack<'_>, id: &str, arn: &str, domain: &str) {
    stack.ids.distribution_id = Some(id.to_string());
    stack.ids.distribution_arn = Some(arn.to_string());
    stack.ids.distribution_domain = Some(domain.to_string());
}

pub async fn converge(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let refs = refs(stack);
    let Some(found) = find(stack).await? else {
        let name = "(new)";
        if mode == Mode::Apply {
            let caller_reference = format!(
                "{}-{}",
                stack.names.bucket(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis())
            );
            let config = desired_config(stack, &refs, &caller_reference, None)?;
            let tags = stack
                .names
                .tags()
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(build_err))
                .collect::<Result<Vec<_>, _>>()?;
            let out = stack
                .cf
                .create_distribution_with_tags()
                .distribution_config_with_tags(
                    DistributionConfigWithTags::builder()
                        .distribution_config(config)
                        .tags(Tags::builder().set_items(Some(tags)).build())
                        .build(),
                )
                .send()
                .await
                .map_err(|e| aws_err("create the distribution", &e))?;
            let d = out
                .distribution()
                .ok_or_else(|| InfraError::Other("CreateDistribution returned nothing".into()))?;
            remember(stack, d.id(), d.arn(), d.domain_name());
            // Record it at once: the distribution is the one resource not findable by name.
            super::state::write(stack).await?;
            return Ok(Change::new(
                DISTRIBUTION,
                d.id(),
                Action::Create,
                "does not exist",
            ));
        }
        return Ok(Change::new(
            DISTRIBUTION,
            name,
            Action::Create,
            "does not exist",
        ));
    };
    remember(stack, &found.id, &found.arn, &found.domain);
    let caller_reference = found.config.caller_reference().to_string();
    let desired = desired_config(stack, &refs, &caller_reference, Some(&found.config))?;
    let change = Change::from_differences(
        DISTRIBUTION,
        &found.id,
        &differences(&desired, &found.config),
    );
    if mode == Mode::Apply && change.action == Action::Update {
        stack
            .cf
            .update_distribution()
            .id(&found.id)
            .if_match(&found.etag)
            .distribution_config(desired)
            .send()
            .await
            .map_err(|e| aws_err(format!("update distribution {}", found.id), &e))?;
    }
    Ok(change)
}

/// Polls until the distribution is `Deployed` (first at once, then backing off to 10 s).
pub async fn wait_deployed(
    cf: &aws_sdk_cloudfront::Client,
    id: &str,
    options: &WaitOptions,
) -> Result<(), InfraError> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(500);
    loop {
        let out = cf
            .get_distribution()
            .id(id)
            .send()
            .await
            .map_err(|e| aws_err(format!("read distribution {id}"), &e))?;
        let status = out
            .distribution()
            .map(|d| d.status().to_string())
            .unwrap_or_default();
        if status == "Deployed" {
            return Ok(());
        }
        let waited = started.elapsed();
        if waited >= options.timeout {
            return Err(InfraError::Timeout {
                id: id.to_string(),
                waited: Duration::from_secs(waited.as_secs()),
                status,
            });
        }
        if let Some(f) = &options.on_wait {
            f(&format!(
                "distribution {id} is {status} ({}s)",
                waited.as_secs()
            ));
        }
        tokio::time::sleep(delay.min(options.timeout.saturating_sub(waited))).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

/// Disables the distribution, waits until that is deployed, and deletes it.
pub async fn destroy(
    stack: &mut Stack<'_>,
    mode: Mode,
    wait: &WaitOptions,
) -> Result<Change, InfraError> {
    let Some(found) = find(stack).await? else {
        return Ok(Change::gone(DISTRIBUTION, "(none)"));
    };
    if mode == Mode::Plan {
        return Ok(Change::new(
            DISTRIBUTION,
            &found.id,
            Action::Delete,
            "disable, wait until deployed, delete",
        ));
    }
    let mut etag = found.etag.clone();
    if found.config.enabled() {
        let mut disabled = found.config.clone();
        disabled.enabled = false;
        let out = stack
            .cf
            .update_distribution()
            .id(&found.id)
            .if_match(&etag)
            .distribution_config(disabled)
            .send()
            .await
            .map_err(|e| aws_err(format!("disable distribution {}", found.id), &e))?;
        etag = out.e_tag().unwrap_or_default().to_string();
    }
    if found.config.enabled() || found.status != "Deployed" {
        wait_deployed(&stack.cf, &found.id, wait).await?;
        if let Some(now) = get(stack, &found.id).await? {
            etag = now.etag;
        }
    }
    stack
        .cf
        .delete_distribution()
        .id(&found.id)
        .if_match(&etag)
        .send()
        .await
        .map_err(|e| aws_err(format!("delete distribution {}", found.id), &e))?;
    stack.ids.distribution_id = None;
    Ok(Change::new(
        DISTRIBUTION,
        &found.id,
        Action::Delete,
        "disabled, deployed, deleted",
    ))
}
