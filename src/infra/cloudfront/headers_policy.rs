//! The response-headers policy: the security headers (HSTS, nosniff, frame and referrer
//! policy, CSP) and the custom ones, exactly what the local edge (`serve`) sends too.

use aws_sdk_cloudfront::types::{
    FrameOptionsList, ReferrerPolicyList, ResponseHeadersPolicyConfig,
    ResponseHeadersPolicyContentSecurityPolicy, ResponseHeadersPolicyContentTypeOptions,
    ResponseHeadersPolicyCustomHeader, ResponseHeadersPolicyCustomHeadersConfig,
    ResponseHeadersPolicyFrameOptions, ResponseHeadersPolicyReferrerPolicy,
    ResponseHeadersPolicySecurityHeadersConfig, ResponseHeadersPolicyStrictTransportSecurity,
    ResponseHeadersPolicyType,
};

use super::shared_policy::{
    Created, PolicyApi, SHARED_MARKER, SharedPolicy, build_err, content_hash, is_shared,
};
use crate::edge::headers::{HSTS_MAX_AGE, SecurityHeaders};
use crate::infra::resource::{self, unless_missing};
use crate::infra::{Action, Change, Ids, InfraError, Mode, Stack, aws_err};

const HEADERS: &str = "headers-policy";

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

struct HeadersPolicy;

impl PolicyApi for HeadersPolicy {
    const KIND: &'static str = HEADERS;
    const NOUN: &'static str = "response headers policy";
    const QUOTA_CODE: &'static str = "TooManyResponseHeadersPolicies";
    const QUOTA_ADVICE: &'static str = "Delete response headers policies the account no longer uses, or ask for a higher quota in the Service Quotas console (CloudFront, \"Response headers policies per AWS account\").";
    const CREATE_REASON: &'static str = "does not exist (shared by stacks with the same headers)";
    type Config = ResponseHeadersPolicyConfig;

    fn config_name(config: &ResponseHeadersPolicyConfig) -> &str {
        config.name()
    }

    fn comment(config: &ResponseHeadersPolicyConfig) -> Option<&str> {
        config.comment()
    }

    fn differences(
        desired: &ResponseHeadersPolicyConfig,
        actual: &ResponseHeadersPolicyConfig,
    ) -> Vec<String> {
        headers_differences(desired, actual)
    }

    fn id_slot(ids: &mut Ids) -> &mut Option<String> {
        &mut ids.headers_policy
    }

    async fn list(
        stack: &Stack<'_>,
        marker: Option<String>,
    ) -> Result<(Vec<(String, String)>, Option<String>), InfraError> {
        let page = stack
            .cf
            .list_response_headers_policies()
            .r#type(ResponseHeadersPolicyType::Custom)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_err("list response headers policies", &e))?;
        let Some(list) = page.response_headers_policy_list() else {
            return Ok((Vec::new(), None));
        };
        let items = list
            .items()
            .iter()
            .filter_map(|s| s.response_headers_policy())
            .filter_map(|p| {
                let name = p.response_headers_policy_config()?.name();
                Some((p.id().to_string(), name.to_string()))
            })
            .collect();
        Ok((items, list.next_marker().map(str::to_string)))
    }

    async fn get(
        stack: &Stack<'_>,
        id: &str,
    ) -> Result<Option<(String, ResponseHeadersPolicyConfig)>, InfraError> {
        let got = stack.cf.get_response_headers_policy().id(id).send().await;
        let got = unless_missing(
            got,
            |e| e.is_no_such_response_headers_policy(),
            || format!("read response headers policy {id}"),
        )?;
        Ok(got.and_then(|got| {
            got.response_headers_policy()
                .and_then(|p| p.response_headers_policy_config())
                .map(|c| (got.e_tag().unwrap_or_default().to_string(), c.clone()))
        }))
    }

    async fn create(
        stack: &Stack<'_>,
        config: ResponseHeadersPolicyConfig,
    ) -> Result<Created, InfraError> {
        let name = config.name().to_string();
        match stack
            .cf
            .create_response_headers_policy()
            .response_headers_policy_config(config)
            .send()
            .await
        {
            Ok(out) => Ok(Created::Id(
                out.response_headers_policy().map(|p| p.id().to_string()),
            )),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_response_headers_policy_already_exists()) =>
            {
                Ok(Created::AlreadyExists)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_too_many_response_headers_policies()) =>
            {
                Ok(Created::TooMany)
            }
            Err(e) => Err(aws_err(
                format!("create response headers policy {name}"),
                &e,
            )),
        }
    }

    async fn update(
        stack: &Stack<'_>,
        id: &str,
        etag: &str,
        config: ResponseHeadersPolicyConfig,
    ) -> Result<(), InfraError> {
        let name = config.name().to_string();
        stack
            .cf
            .update_response_headers_policy()
            .id(id)
            .if_match(etag)
            .response_headers_policy_config(config)
            .send()
            .await
            .map_err(|e| aws_err(format!("update response headers policy {name}"), &e))?;
        Ok(())
    }

    async fn delete(stack: &Stack<'_>, name: &str, id: &str, etag: &str) -> Result<(), InfraError> {
        crate::infra::retry_while_in_use(
            stack,
            &format!("response headers policy {name}"),
            || {
                stack
                    .cf
                    .delete_response_headers_policy()
                    .id(id)
                    .if_match(etag)
                    .send()
            },
            |e| {
                e.as_service_error()
                    .is_some_and(|s| s.is_response_headers_policy_in_use())
            },
        )
        .await?;
        Ok(())
    }

    async fn users(stack: &Stack<'_>, id: &str) -> Result<Vec<String>, InfraError> {
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
}

pub async fn converge(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let headers = SecurityHeaders::from_settings(stack.settings);
    let name = headers_policy_name(&headers);
    let policy = SharedPolicy::<HeadersPolicy> {
        desired: Some(headers_config(&name, SHARED_MARKER, &headers)?),
        name,
        recorded: None,
    };
    resource::converge(stack, mode, &policy).await
}

/// Deletes the shared headers policy the deleted distribution used (and any it used before),
/// unless another distribution still uses it.
pub async fn destroy(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    if mode == Mode::Apply {
        converge_retired(stack, mode).await?;
    }
    let policy = SharedPolicy::<HeadersPolicy> {
        name: headers_policy_name(&SecurityHeaders::from_settings(stack.settings)),
        desired: None,
        recorded: stack.ids.headers_policy.clone(),
    };
    resource::destroy(stack, mode, &policy).await
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
        let Some((etag, actual)) = HeadersPolicy::get(stack, &id).await? else {
            continue;
        };
        if is_shared(actual.comment()) && HeadersPolicy::users(stack, &id).await?.is_empty() {
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
}
