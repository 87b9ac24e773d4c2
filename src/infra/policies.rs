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

pub async fn converge_cache(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.cache_policy();
    let desired = cache_config(&name, &stack.marker())?;
    let change = match find_cache(stack, &name).await? {
        None => {
            if mode == Mode::Apply {
                let out = stack
                    .cf
                    .create_cache_policy()
                    .cache_policy_config(desired)
                    .send()
                    .await
                    .map_err(|e| aws_err(format!("create cache policy {name}"), &e))?;
                stack.ids.cache_policy = out.cache_policy().map(|p| p.id().to_string());
            }
            Change::new(CACHE, &name, Action::Create, "does not exist")
        }
        Some((id, etag, actual)) => {
            if !stack.owns_comment(actual.comment()) {
                return Err(InfraError::NotOwned {
                    kind: "cache policy",
                    name,
                    proof: "comment marker",
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
    let name = stack.names.headers_policy();
    let headers = SecurityHeaders::from_settings(stack.settings);
    let desired = headers_config(&name, &stack.marker(), &headers)?;
    let change = match find_headers(stack, &name).await? {
        None => {
            if mode == Mode::Apply {
                let out = stack
                    .cf
                    .create_response_headers_policy()
                    .response_headers_policy_config(desired)
                    .send()
                    .await
                    .map_err(|e| aws_err(format!("create response headers policy {name}"), &e))?;
                stack.ids.headers_policy =
                    out.response_headers_policy().map(|p| p.id().to_string());
            }
            Change::new(HEADERS, &name, Action::Create, "does not exist")
        }
        Some((id, etag, actual)) => {
            if !stack.owns_comment(actual.comment()) {
                return Err(InfraError::NotOwned {
                    kind: "response headers policy",
                    name,
                    proof: "comment marker",
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

pub async fn destroy_cache(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.cache_policy();
    let Some((id, etag, actual)) = find_cache(stack, &name).await? else {
        return Ok(Change::gone(CACHE, &name));
    };
    if !stack.owns_comment(actual.comment()) {
        return Ok(Change::left_alone(CACHE, &name, "not this project's"));
    }
    if mode == Mode::Apply {
        super::retry_while_in_use(
            stack,
            &format!("cache policy {name}"),
            || stack.cf.delete_cache_policy().id(&id).if_match(&etag).send(),
            |e| {
                e.as_service_error()
                    .is_some_and(|s| s.is_cache_policy_in_use())
            },
        )
        .await?;
    }
    Ok(Change::removed(CACHE, &name))
}

pub async fn destroy_headers(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.headers_policy();
    let Some((id, etag, actual)) = find_headers(stack, &name).await? else {
        return Ok(Change::gone(HEADERS, &name));
    };
    if !stack.owns_comment(actual.comment()) {
        return Ok(Change::left_alone(HEADERS, &name, "not this project's"));
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
    Ok(Change::removed(HEADERS, &name))
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
