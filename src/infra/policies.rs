//! The cache policy and the response-headers policy of the distribution.
//!
//! Cache: every version has its own URI prefix and hashed assets never change their bytes, so
//! the edge may keep anything for a year, even `index.html` whose `Cache-Control: no-cache` is
//! meant for browsers (MinTTL above zero overrides it at the edge only). Gzip and Brotli are
//! enabled so the normalized Accept-Encoding is part of the key.

use aws_sdk_cloudfront::types::{
    CachePolicyConfig, CachePolicyCookieBehavior, CachePolicyCookiesConfig,
    CachePolicyHeaderBehavior, CachePolicyHeadersConfig, CachePolicyQueryStringBehavior,
    CachePolicyQueryStringsConfig, CachePolicyType, FrameOptionsList,
    ParametersInCacheKeyAndForwardedToOrigin, ReferrerPolicyList, ResponseHeadersPolicyConfig,
    ResponseHeadersPolicyContentSecurityPolicy, ResponseHeadersPolicyContentTypeOptions,
    ResponseHeadersPolicyCustomHeader, ResponseHeadersPolicyCustomHeadersConfig,
    ResponseHeadersPolicyFrameOptions, ResponseHeadersPolicyReferrerPolicy,
    ResponseHeadersPolicySecurityHeadersConfig, ResponseHeadersPolicyStrictTransportSecurity,
    ResponseHeadersPolicyType,
};

use super::{Action, Change, InfraError, Mode, Stack, aws_err};
use crate::edge::headers::{HSTS_MAX_AGE, SecurityHeaders};

pub const EDGE_TTL: i64 = 31_536_000;
const CACHE: &str = "cache-policy";
const HEADERS: &str = "headers-policy";

fn build_err(e: impl std::fmt::Display) -> InfraError {
    InfraError::Other(format!("invalid policy configuration: {e}"))
}

pub fn cache_config(name: &str, comment: &str) -> Result<CachePolicyConfig, InfraError> {
    CachePolicyConfig::builder()
        .name(name)
        .comment(comment)
        .min_ttl(EDGE_TTL)
        .default_ttl(EDGE_TTL)
        .max_ttl(EDGE_TTL)
        .parameters_in_cache_key_and_forwarded_to_origin(
            ParametersInCacheKeyAndForwardedToOrigin::builder()
                .enable_accept_encoding_gzip(true)
                .enable_accept_encoding_brotli(true)
                .headers_config(
                    CachePolicyHeadersConfig::builder()
                        .header_behavior(CachePolicyHeaderBehavior::None)
                        .build()
                        .map_err(build_err)?,
                )
                .cookies_config(
                    CachePolicyCookiesConfig::builder()
                        .cookie_behavior(CachePolicyCookieBehavior::None)
                        .build()
                        .map_err(build_err)?,
                )
                .query_strings_config(
                    CachePolicyQueryStringsConfig::builder()
                        .query_string_behavior(CachePolicyQueryStringBehavior::None)
                        .build()
                        .map_err(build_err)?,
                )
                .build()
                .map_err(build_err)?,
        )
        .build()
        .map_err(build_err)
}

pub fn cache_differences(desired: &CachePolicyConfig, actual: &CachePolicyConfig) -> Vec<String> {
    let mut out = Vec::new();
    if desired.comment() != actual.comment() {
        out.push("comment".to_string());
    }
    let ttl = |c: &CachePolicyConfig| (c.min_ttl(), c.default_ttl(), c.max_ttl());
    if ttl(desired) != ttl(actual) {
        out.push(format!(
            "TTLs (min, default, max) {:?} → {:?}",
            ttl(actual),
            ttl(desired)
        ));
    }
    let key = |c: &CachePolicyConfig| {
        c.parameters_in_cache_key_and_forwarded_to_origin()
            .map(|p| {
                (
                    p.enable_accept_encoding_gzip(),
                    p.enable_accept_encoding_brotli(),
                    p.headers_config().map(|h| h.header_behavior().clone()),
                    p.cookies_config().map(|h| h.cookie_behavior().clone()),
                    p.query_strings_config()
                        .map(|h| h.query_string_behavior().clone()),
                )
            })
    };
    if key(desired) != key(actual) {
        out.push("cache key (compression, headers, cookies, query strings)".to_string());
    }
    out
}

pub fn headers_config(
    name: &str,
    comment: &str,
    headers: &SecurityHeaders,
) -> Result<ResponseHeadersPolicyConfig, InfraError> {
    let security = ResponseHeadersPolicySecurityHeadersConfig::builder()
        .strict_transport_security(
            ResponseHeadersPolicyStrictTransportSecurity::builder()
                .r#override(true)
                .include_subdomains(true)
                .preload(false)
                .access_control_max_age_sec(HSTS_MAX_AGE)
                .build()
                .map_err(build_err)?,
        )
        .content_type_options(
            ResponseHeadersPolicyContentTypeOptions::builder()
                .r#override(true)
                .build()
                .map_err(build_err)?,
        )
        .frame_options(
            ResponseHeadersPolicyFrameOptions::builder()
                .r#override(true)
                .frame_option(FrameOptionsList::Deny)
                .build()
                .map_err(build_err)?,
        )
        .referrer_policy(
            ResponseHeadersPolicyReferrerPolicy::builder()
                .r#override(true)
                .referrer_policy(ReferrerPolicyList::StrictOriginWhenCrossOrigin)
                .build()
                .map_err(build_err)?,
        )
        .content_security_policy(
            ResponseHeadersPolicyContentSecurityPolicy::builder()
                .r#override(true)
                .content_security_policy(&headers.content_security_policy)
                .build()
                .map_err(build_err)?,
        )
        .build();
    // Everything beyond the security-headers block travels as custom headers.
    let fixed = [
        "strict-transport-security",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "content-security-policy",
    ];
    let custom: Vec<ResponseHeadersPolicyCustomHeader> = headers
        .pairs()
        .into_iter()
        .filter(|(n, _)| !fixed.contains(&n.as_str()))
        .map(|(n, v)| {
            ResponseHeadersPolicyCustomHeader::builder()
                .header(n)
                .value(v)
                .r#override(true)
                .build()
                .map_err(build_err)
        })
        .collect::<Result<_, _>>()?;
    let mut builder = ResponseHeadersPolicyConfig::builder()
        .name(name)
        .comment(comment)
        .security_headers_config(security);
    if !custom.is_empty() {
        builder = builder.custom_headers_config(
            ResponseHeadersPolicyCustomHeadersConfig::builder()
                .quantity(custom.len() as i32)
                .set_items(Some(custom))
                .build()
                .map_err(build_err)?,
        );
    }
    builder.build().map_err(build_err)
}

/// The headers a policy sends, as lower-case name/value pairs (for comparing and showing).
pub fn policy_headers(config: &ResponseHeadersPolicyConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(s) = config.security_headers_config() {
        if let Some(h) = s.strict_transport_security() {
            let mut v = format!("max-age={}", h.access_control_max_age_sec());
            if h.include_subdomains() == Some(true) {
                v.push_str("; includeSubDomains");
            }
            if h.preload() == Some(true) {
                v.push_str("; preload");
            }
            out.push(("strict-transport-security".into(), v));
        }
        if s.content_type_options().is_some() {
            out.push(("x-content-type-options".into(), "nosniff".into()));
        }
        if let Some(f) = s.frame_options() {
            out.push(("x-frame-options".into(), f.frame_option().as_str().into()));
        }
        if let Some(r) = s.referrer_policy() {
            out.push((
                "referrer-policy".into(),
                r.referrer_policy().as_str().into(),
            ));
        }
        if let Some(c) = s.content_security_policy() {
            out.push((
                "content-security-policy".into(),
                c.content_security_policy().into(),
            ));
        }
    }
    if let Some(c) = config.custom_headers_config() {
        for h in c.items() {
            out.push((h.header().to_ascii_lowercase(), h.value().to_string()));
        }
    }
    out.sort();
    out
}

pub fn headers_differences(
    desired: &ResponseHeadersPolicyConfig,
    actual: &ResponseHeadersPolicyConfig,
) -> Vec<String> {
    let mut out = Vec::new();
    if desired.comment() != actual.comment() {
        out.push("comment".to_string());
    }
    let (want, have) = (policy_headers(desired), policy_headers(actual));
    let names = |v: &[(String, String)], other: &[(String, String)]| -> Vec<String> {
        v.iter()
            .filter(|p| !other.contains(p))
            .map(|(n, _)| n.clone())
            .collect()
    };
    let mut changed = names(&want, &have);
    changed.extend(names(&have, &want));
    changed.sort();
    changed.dedup();
    if !changed.is_empty() {
        out.push(format!("headers {}", changed.join(", ")));
    }
    out
}

/// Finds a custom policy by name: (id, etag, config).
async fn find_cache(
    stack: &Stack<'_>,
    name: &str,
) -> Result<Option<(String, String, CachePolicyConfig)>, InfraError> {
    let mut marker = None;
    loop {
        let page = stack
            .cf
            .list_cache_policies()
            .r#type(CachePolicyType::Custom)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_err("list cache policies", &e))?;
        let Some(list) = page.cache_policy_list() else {
            return Ok(None);
        };
        for summary in list.items() {
            if let Some(p) = summary.cache_policy()
                && p.cache_policy_config().is_some_and(|c| c.name() == name)
            {
                let got = stack
                    .cf
                    .get_cache_policy()
                    .id(p.id())
                    .send()
                    .await
                    .map_err(|e| aws_err(format!("read cache policy {name}"), &e))?;
                let config = got
                    .cache_policy()
                    .and_then(|p| p.cache_policy_config())
                    .cloned()
                    .ok_or_else(|| {
                        InfraError::Other(format!("cache policy {name} has no config"))
                    })?;
                return Ok(Some((
                    p.id().to_string(),
                    got.e_tag().unwrap_or_default().to_string(),
                    config,
                )));
            }
        }
        match list.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(None),
        }
    }
}

async fn find_headers(
    stack: &Stack<'_>,
    name: &str,
) -> Result<Option<(String, String, ResponseHeadersPolicyConfig)>, InfraError> {
    let mut marker = None;
    loop {
        let page = stack
            .cf
            .list_response_headers_policies()
            .r#type(ResponseHeadersPolicyType::Custom)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_err("list response headers policies", &e))?;
        let Some(list) = page.response_headers_policy_list() else {
            return Ok(None);
        };
        for summary in list.items() {
            if let Some(p) = summary.response_headers_policy()
                && p.response_headers_policy_config()
                    .is_some_and(|c| c.name() == name)
            {
                let got = stack
                    .cf
                    .get_response_headers_policy()
                    .id(p.id())
                    .send()
                    .await
                    .map_err(|e| aws_err(format!("read response headers policy {name}"), &e))?;
                let config = got
                    .response_headers_policy()
                    .and_then(|p| p.response_headers_policy_config())
                    .cloned()
                    .ok_or_else(|| {
                        InfraError::Other(format!("response headers policy {name} has no config"))
                    })?;
                return Ok(Some((
                    p.id().to_string(),
                    got.e_tag().unwrap_or_default().to_string(),
                    config,
                )));
            }
        }
        match list.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(None),
        }
    }
}

/// Where a shared policy says whose it is: every stack of the account that needs the same
/// content uses one policy, and `delete` removes it only when no distribution uses it.
pub const SHARED_MARKER: &str = "cloudfront-host shared policy, kept while a distribution uses it";

/// A short hash of a policy's content: equal content, equal name, one policy per account.
fn content_hash(content: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(content.as_bytes()))[..16].to_string()
}

/// The account-wide name of the cache policy. Custom cache policies are capped at 20 per
/// account and the quota cannot be raised (AWS General Reference, "Amazon CloudFront
/// endpoints and quotas"); the policy's content is the same for every stack, so one serves
/// them all.
pub fn cache_policy_name() -> String {
    format!(
        "cloudfront-host-cache-{}",
        content_hash(&format!("v1 ttl={EDGE_TTL} gzip br key=none"))
    )
}

/// The account-wide name of a response-headers policy with these headers (20 per account by
/// default): stacks whose headers agree share it.
pub fn headers_policy_name(headers: &SecurityHeaders) -> String {
    let probe = headers_config("probe", "", headers).ok();
    let pairs = probe.as_ref().map(policy_headers).unwrap_or_default();
    let content: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}: {v}")).collect();
    format!(
        "cloudfront-host-headers-{}",
        content_hash(&format!("v1\n{}", content.join("\n")))
    )
}

fn is_shared(comment: Option<&str>) -> bool {
    comment.is_some_and(|c| c.starts_with(SHARED_MARKER))
}

fn quota_error(kind: &str, code: &str, how: &str) -> InfraError {
    InfraError::Other(format!(
        "the account has reached its quota of custom {kind} objects ({code}; 20 by default). \
         This tool shares one {kind} among every stack whose settings agree, so each site does \
         not need its own. {how}"
    ))
}

async fn users_of_cache(stack: &Stack<'_>, id: &str) -> Result<Vec<String>, InfraError> {
    let out = stack
        .cf
        .list_distributions_by_cache_policy_id()
        .cache_policy_id(id)
        .send()
        .await
        .map_err(|e| {
            aws_err(
                format!("list the distributions using cache policy {id}"),
                &e,
            )
        })?;
    Ok(out
        .distribution_id_list()
        .map(|l| l.items().to_vec())
        .unwrap_or_default())
}

async fn users_of_headers(stack: &Stack<'_>, id: &str) -> Result<Vec<String>, InfraError> {
    let out = stack
        .cf
        .list_distributions_by_response_headers_policy_id()
        .response_headers_policy_id(id)
        .send()
        .await
        .map_err(|e| {
            aws_err(
                format!("list the distributions using response headers policy {id}"),
                &e,
            )
        })?;
    Ok(out
        .distribution_id_list()
        .map(|l| l.items().to_vec())
        .unwrap_or_default())
}

pub async fn converge_cache(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = cache_policy_name();
    let desired = cache_config(&name, SHARED_MARKER)?;
    let change = match find_cache(stack, &name).await? {
        None => {
            if mode == Mode::Apply {
                let created = stack
                    .cf
                    .create_cache_policy()
                    .cache_policy_config(desired)
                    .send()
                    .await;
                let id = match created {
                    Ok(out) => out.cache_policy().map(|p| p.id().to_string()),
                    // Another stack of the account created it a moment ago.
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_cache_policy_already_exists()) =>
                    {
                        find_cache(stack, &name).await?.map(|(id, _, _)| id)
                    }
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_too_many_cache_policies()) =>
                    {
                        return Err(quota_error(
                            "cache policy",
                            "TooManyCachePolicies",
                            "This quota cannot be raised: delete custom cache policies the account no longer uses (`aws cloudfront list-cache-policies --type custom`).",
                        ));
                    }
                    Err(e) => return Err(aws_err(format!("create cache policy {name}"), &e)),
                };
                stack.ids.cache_policy = id;
            }
            Change::new(
                CACHE,
                &name,
                Action::Create,
                "does not exist (shared by every stack of the account)",
            )
        }
        Some((id, etag, actual)) => {
            if !is_shared(actual.comment()) {
                return Err(InfraError::NotOwned {
                    kind: "cache policy",
                    name,
                    proof: "shared-policy comment",
                });
            }
            let change =
                Change::from_differences(CACHE, &name, &cache_differences(&desired, &actual));
            if mode == Mode::Apply && change.action == Action::Update {
                stack
                    .cf
                    .update_cache_policy()
                    .id(&id)
                    .if_match(etag)
                    .cache_policy_config(desired)
                    .send()
                    .await
                    .map_err(|e| aws_err(format!("update cache policy {name}"), &e))?;
            }
            stack.ids.cache_policy = Some(id);
            change
        }
    };
    Ok(change)
}

pub async fn converge_headers(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let headers = SecurityHeaders::from_settings(stack.settings);
    let name = headers_policy_name(&headers);
    let desired = headers_config(&name, SHARED_MARKER, &headers)?;
    let change = match find_headers(stack, &name).await? {
        None => {
            if mode == Mode::Apply {
                let created = stack
                    .cf
                    .create_response_headers_policy()
                    .response_headers_policy_config(desired)
                    .send()
                    .await;
                let id = match created {
                    Ok(out) => out.response_headers_policy().map(|p| p.id().to_string()),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_response_headers_policy_already_exists()) =>
                    {
                        find_headers(stack, &name).await?.map(|(id, _, _)| id)
                    }
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|s| s.is_too_many_response_headers_policies()) =>
                    {
                        return Err(quota_error(
                            "response headers policy",
                            "TooManyResponseHeadersPolicies",
                            "Delete response headers policies the account no longer uses, or ask for a higher quota in the Service Quotas console (CloudFront, \"Response headers policies per AWS account\").",
                        ));
                    }
                    Err(e) => {
                        return Err(aws_err(
                            format!("create response headers policy {name}"),
                            &e,
                        ));
                    }
                };
                stack.ids.headers_policy = id;
            }
            Change::new(
                HEADERS,
                &name,
                Action::Create,
                "does not exist (shared by stacks with the same headers)",
            )
        }
        Some((id, etag, actual)) => {
            if !is_shared(actual.comment()) {
                return Err(InfraError::NotOwned {
                    kind: "response headers policy",
                    name,
                    proof: "shared-policy comment",
                });
            }
            let change =
                Change::from_differences(HEADERS, &name, &headers_differences(&desired, &actual));
            if mode == Mode::Apply && change.action == Action::Update {
                stack
                    .cf
                    .update_response_headers_policy()
                    .id(&id)
                    .if_match(etag)
                    .response_headers_policy_config(desired)
                    .send()
                    .await
                    .map_err(|e| aws_err(format!("update response headers policy {name}"), &e))?;
            }
            stack.ids.headers_policy = Some(id);
            change
        }
    };
    Ok(change)
}

async fn get_cache(
    stack: &Stack<'_>,
    id: &str,
) -> Result<Option<(String, String, CachePolicyConfig)>, InfraError> {
    match stack.cf.get_cache_policy().id(id).send().await {
        Ok(got) => Ok(got
            .cache_policy()
            .and_then(|p| p.cache_policy_config())
            .map(|c| {
                (
                    id.to_string(),
                    got.e_tag().unwrap_or_default().to_string(),
                    c.clone(),
                )
            })),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_cache_policy()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_err(format!("read cache policy {id}"), &e)),
    }
}

async fn get_headers(
    stack: &Stack<'_>,
    id: &str,
) -> Result<Option<(String, String, ResponseHeadersPolicyConfig)>, InfraError> {
    match stack.cf.get_response_headers_policy().id(id).send().await {
        Ok(got) => Ok(got
            .response_headers_policy()
            .and_then(|p| p.response_headers_policy_config())
            .map(|c| {
                (
                    id.to_string(),
                    got.e_tag().unwrap_or_default().to_string(),
                    c.clone(),
                )
            })),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_response_headers_policy()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_err(format!("read response headers policy {id}"), &e)),
    }
}

/// Deletes the shared cache policy the deleted distribution used, unless another distribution
/// still uses it.
pub async fn destroy_cache(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let found = match stack.ids.cache_policy.clone() {
        Some(id) => get_cache(stack, &id).await?,
        None => find_cache(stack, &cache_policy_name()).await?,
    };
    let Some((id, etag, actual)) = found else {
        return Ok(Change::gone(CACHE, &cache_policy_name()));
    };
    let name = actual.name().to_string();
    if !is_shared(actual.comment()) {
        return Ok(Change::left_alone(CACHE, &name, "not made by this tool"));
    }
    let users = users_of_cache(stack, &id).await?;
    let ours = stack.ids.distribution_id.as_deref();
    let others: Vec<&String> = users.iter().filter(|u| Some(u.as_str()) != ours).collect();
    if !others.is_empty() {
        return Ok(Change::left_alone(
            CACHE,
            &name,
            &format!(
                "shared, still used by {} other distribution(s)",
                others.len()
            ),
        ));
    }
    if mode == Mode::Apply {
        super::retry_while_in_use(
            stack,
            &format!("cache policy {name}"),
            || {
                stack
                    .cf
                    .delete_cache_policy()
                    .id(&id)
                    .if_match(&etag)
                    .send()
            },
            |e| {
                e.as_service_error()
                    .is_some_and(|s| s.is_cache_policy_in_use())
            },
        )
        .await?;
    }
    Ok(Change::new(
        CACHE,
        &name,
        Action::Delete,
        "shared, no other distribution uses it",
    ))
}

/// Deletes the shared headers policy the deleted distribution used (and any it used before),
/// unless another distribution still uses it.
pub async fn destroy_headers(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let headers = SecurityHeaders::from_settings(stack.settings);
    let found = match stack.ids.headers_policy.clone() {
        Some(id) => get_headers(stack, &id).await?,
        None => find_headers(stack, &headers_policy_name(&headers)).await?,
    };
    if mode == Mode::Apply {
        converge_retired(stack, mode).await?;
    }
    let Some((id, etag, actual)) = found else {
        return Ok(Change::gone(HEADERS, &headers_policy_name(&headers)));
    };
    let name = actual.name().to_string();
    if !is_shared(actual.comment()) {
        return Ok(Change::left_alone(HEADERS, &name, "not made by this tool"));
    }
    let users = users_of_headers(stack, &id).await?;
    let ours = stack.ids.distribution_id.as_deref();
    let others: Vec<&String> = users.iter().filter(|u| Some(u.as_str()) != ours).collect();
    if !others.is_empty() {
        return Ok(Change::left_alone(
            HEADERS,
            &name,
            &format!(
                "shared, still used by {} other distribution(s)",
                others.len()
            ),
        ));
    }
    if mode == Mode::Apply {
        super::retry_while_in_use(
            stack,
            &format!("response headers policy {name}"),
            || {
                stack
                    .cf
                    .delete_response_headers_policy()
                    .id(&id)
                    .if_match(&etag)
                    .send()
            },
            |e| {
                e.as_service_error()
                    .is_some_and(|s| s.is_response_headers_policy_in_use())
            },
        )
        .await?;
    }
    Ok(Change::new(
        HEADERS,
        &name,
        Action::Delete,
        "shared, no other distribution uses it",
    ))
}

/// The plan line for shared headers policies this stack's distribution stopped using and that
/// no distribution uses any more (none when there are none: a policy another stack still uses
/// is that stack's to delete, and the check is reads only, so a re-deploy stays write-free).
pub async fn converge_retired(
    stack: &mut Stack<'_>,
    mode: Mode,
) -> Result<Option<Change>, InfraError> {
    let mut unused = Vec::new();
    for id in std::mem::take(&mut stack.ids.retired_headers_policies) {
        if Some(&id) == stack.ids.headers_policy.as_ref() {
            continue;
        }
        let Some((_, etag, actual)) = get_headers(stack, &id).await? else {
            continue;
        };
        if is_shared(actual.comment()) && users_of_headers(stack, &id).await?.is_empty() {
            unused.push((id, etag, actual.name().to_string()));
        }
    }
    if unused.is_empty() {
        return Ok(None);
    }
    let names: Vec<&str> = unused.iter().map(|(_, _, n)| n.as_str()).collect();
    let change = Change::new(
        HEADERS,
        &names.join(", "),
        Action::Delete,
        "no distribution uses it any more",
    );
    for (id, etag, name) in unused {
        if mode == Mode::Plan {
            stack.ids.retired_headers_policies.push(id);
            continue;
        }
        match stack
            .cf
            .delete_response_headers_policy()
            .id(&id)
            .if_match(&etag)
            .send()
            .await
        {
            Ok(_) => {}
            // CloudFront can call it in use for a while after the update: the next deploy
            // tries again (the record keeps it).
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_response_headers_policy_in_use()) =>
            {
                stack.ids.retired_headers_policies.push(id);
            }
            Err(e) => {
                return Err(aws_err(
                    format!("delete response headers policy {name}"),
                    &e,
                ));
            }
        }
    }
    Ok(Some(change))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(csp: &str, isolation: bool) -> SecurityHeaders {
        SecurityHeaders {
            content_security_policy: csp.into(),
            cross_origin_isolation: isolation,
            custom: vec![("X-Robots-Tag".into(), "noindex".into())],
        }
    }

    #[test]
    fn headers_policy_sends_exactly_what_the_local_edge_sends() {
        let h = headers("default-src 'self'", true);
        let config = headers_config("n", "c", &h).unwrap();
        let mut expected = h.pairs();
        expected.sort();
        assert_eq!(policy_headers(&config), expected);
    }

    #[test]
    fn a_changed_csp_or_isolation_is_one_named_difference() {
        let a = headers_config("n", "c", &headers("default-src 'self'", false)).unwrap();
        let b = headers_config("n", "c", &headers("default-src 'none'", false)).unwrap();
        assert!(headers_differences(&a, &a).is_empty());
        assert_eq!(
            headers_differences(&b, &a),
            vec!["headers content-security-policy".to_string()]
        );
        let c = headers_config("n", "c", &headers("default-src 'self'", true)).unwrap();
        let diff = headers_differences(&c, &a);
        assert_eq!(diff.len(), 1);
        assert!(diff[0].contains("cross-origin-embedder-policy"), "{diff:?}");
    }

    #[test]
    fn cache_policy_keeps_a_year_and_keys_on_encoding_only() {
        let c = cache_config("n", "c").unwrap();
        assert_eq!(
            (c.min_ttl(), c.default_ttl(), c.max_ttl()),
            (EDGE_TTL, Some(EDGE_TTL), Some(EDGE_TTL))
        );
        let p = c.parameters_in_cache_key_and_forwarded_to_origin().unwrap();
        assert!(p.enable_accept_encoding_gzip() && p.enable_accept_encoding_brotli() == Some(true));
        assert!(cache_differences(&c, &c).is_empty());
    }
}
