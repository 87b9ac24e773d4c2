//! The cache policy. Every version has its own URI prefix and hashed assets never change
//! their bytes, so the edge may keep anything for a year, even `index.html` whose
//! `Cache-Control: no-cache` is meant for browsers (MinTTL above zero overrides it at the edge
//! only). Gzip and Brotli are enabled so the normalized Accept-Encoding is part of the key.

use aws_sdk_cloudfront::types::{
    CachePolicyConfig, CachePolicyCookieBehavior, CachePolicyCookiesConfig,
    CachePolicyHeaderBehavior, CachePolicyHeadersConfig, CachePolicyQueryStringBehavior,
    CachePolicyQueryStringsConfig, CachePolicyType, ParametersInCacheKeyAndForwardedToOrigin,
};

use super::shared_policy::{
    Created, PolicyApi, SHARED_MARKER, SharedPolicy, build_err, content_hash,
};
use crate::infra::resource::{self, unless_missing};
use crate::infra::{Change, Ids, InfraError, Mode, Stack, aws_err};

pub const EDGE_TTL: i64 = 31_536_000;

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

struct CachePolicy;

impl PolicyApi for CachePolicy {
    const KIND: &'static str = "cache-policy";
    const NOUN: &'static str = "cache policy";
    const QUOTA_CODE: &'static str = "TooManyCachePolicies";
    const QUOTA_ADVICE: &'static str = "This quota cannot be raised: delete custom cache policies the account no longer uses (`aws cloudfront list-cache-policies --type custom`).";
    const CREATE_REASON: &'static str = "does not exist (shared by every stack of the account)";
    type Config = CachePolicyConfig;

    fn config_name(config: &CachePolicyConfig) -> &str {
        config.name()
    }

    fn comment(config: &CachePolicyConfig) -> Option<&str> {
        config.comment()
    }

    fn differences(desired: &CachePolicyConfig, actual: &CachePolicyConfig) -> Vec<String> {
        cache_differences(desired, actual)
    }

    fn id_slot(ids: &mut Ids) -> &mut Option<String> {
        &mut ids.cache_policy
    }

    async fn list(
        stack: &Stack<'_>,
        marker: Option<String>,
    ) -> Result<(Vec<(String, String)>, Option<String>), InfraError> {
        let page = stack
            .cf
            .list_cache_policies()
            .r#type(CachePolicyType::Custom)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_err("list cache policies", &e))?;
        let Some(list) = page.cache_policy_list() else {
            return Ok((Vec::new(), None));
        };
        let items = list
            .items()
            .iter()
            .filter_map(|s| s.cache_policy())
            .filter_map(|p| {
                let name = p.cache_policy_config()?.name();
                Some((p.id().to_string(), name.to_string()))
            })
            .collect();
        Ok((items, list.next_marker().map(str::to_string)))
    }

    async fn get(
        stack: &Stack<'_>,
        id: &str,
    ) -> Result<Option<(String, CachePolicyConfig)>, InfraError> {
        let got = stack.cf.get_cache_policy().id(id).send().await;
        let got = unless_missing(
            got,
            |e| e.is_no_such_cache_policy(),
            || format!("read cache policy {id}"),
        )?;
        Ok(got.and_then(|got| {
            got.cache_policy()
                .and_then(|p| p.cache_policy_config())
                .map(|c| (got.e_tag().unwrap_or_default().to_string(), c.clone()))
        }))
    }

    async fn create(stack: &Stack<'_>, config: CachePolicyConfig) -> Result<Created, InfraError> {
        let name = config.name().to_string();
        match stack
            .cf
            .create_cache_policy()
            .cache_policy_config(config)
            .send()
            .await
        {
            Ok(out) => Ok(Created::Id(out.cache_policy().map(|p| p.id().to_string()))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_cache_policy_already_exists()) =>
            {
                Ok(Created::AlreadyExists)
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_too_many_cache_policies()) =>
            {
                Ok(Created::TooMany)
            }
            Err(e) => Err(aws_err(format!("create cache policy {name}"), &e)),
        }
    }

    async fn update(
        stack: &Stack<'_>,
        id: &str,
        etag: &str,
        config: CachePolicyConfig,
    ) -> Result<(), InfraError> {
        let name = config.name().to_string();
        stack
            .cf
            .update_cache_policy()
            .id(id)
            .if_match(etag)
            .cache_policy_config(config)
            .send()
            .await
            .map_err(|e| aws_err(format!("update cache policy {name}"), &e))?;
        Ok(())
    }

    async fn delete(stack: &Stack<'_>, name: &str, id: &str, etag: &str) -> Result<(), InfraError> {
        crate::infra::retry_while_in_use(
            stack,
            &format!("cache policy {name}"),
            || stack.cf.delete_cache_policy().id(id).if_match(etag).send(),
            |e| {
                e.as_service_error()
                    .is_some_and(|s| s.is_cache_policy_in_use())
            },
        )
        .await?;
        Ok(())
    }

    async fn users(stack: &Stack<'_>, id: &str) -> Result<Vec<String>, InfraError> {
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
}

pub async fn converge(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = cache_policy_name();
    let policy = SharedPolicy::<CachePolicy> {
        desired: Some(cache_config(&name, SHARED_MARKER)?),
        name,
        recorded: None,
    };
    resource::converge(stack, mode, &policy).await
}

/// Deletes the shared cache policy the deleted distribution used, unless another distribution
/// still uses it.
pub async fn destroy(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let policy = SharedPolicy::<CachePolicy> {
        name: cache_policy_name(),
        desired: None,
        recorded: stack.ids.cache_policy.clone(),
    };
    resource::destroy(stack, mode, &policy).await
}

#[cfg(test)]
mod tests {
    use super::*;

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
