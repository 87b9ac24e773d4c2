//! The semantic comparison of two distribution configurations: only the fields this tool
//! manages, and what CloudFront returns in its own order or with its defaults filled in is no
//! difference (so a re-deploy with nothing changed makes no write call).

use aws_sdk_cloudfront::types::{
    AllowedMethods, DistributionConfig, EventType, FunctionAssociations, HttpVersion, Method,
    MinimumProtocolVersion, SslSupportMethod, ViewerProtocolPolicy,
};

use super::config::{MANAGED_ERROR_CODES, ORIGIN_ID, error_page_path};

/// What this tool manages in a behaviour, in a form that compares the way CloudFront means
/// it: methods as sets (CloudFront answers `HEAD, GET` for `GET, HEAD`), an omitted
/// `Compress` as false, only the viewer-request function.
#[derive(Debug, PartialEq, Eq)]
struct ManagedBehavior {
    target: String,
    viewer_protocol: ViewerProtocolPolicy,
    compress: bool,
    methods: Vec<String>,
    cached_methods: Vec<String>,
    cache_policy: Option<String>,
    headers_policy: Option<String>,
    viewer_request: Vec<String>,
}

fn method_set<'a>(methods: impl Iterator<Item = &'a Method>) -> Vec<String> {
    let mut out: Vec<String> = methods.map(|m| m.as_str().to_string()).collect();
    out.sort();
    out.dedup();
    out
}

#[allow(clippy::too_many_arguments)]
fn managed_behavior(
    target: &str,
    viewer_protocol: &ViewerProtocolPolicy,
    compress: Option<bool>,
    methods: Option<&AllowedMethods>,
    cache_policy: Option<&str>,
    headers_policy: Option<&str>,
    functions: Option<&FunctionAssociations>,
) -> ManagedBehavior {
    let mut viewer_request: Vec<String> = functions
        .map(|f| f.items())
        .unwrap_or_default()
        .iter()
        .filter(|a| a.event_type() == &EventType::ViewerRequest)
        .map(|a| a.function_arn().to_string())
        .collect();
    viewer_request.sort();
    ManagedBehavior {
        target: target.to_string(),
        viewer_protocol: viewer_protocol.clone(),
        compress: compress.unwrap_or(false),
        methods: method_set(methods.map(|m| m.items()).unwrap_or_default().iter()),
        cached_methods: method_set(
            methods
                .and_then(|m| m.cached_methods())
                .map(|c| c.items())
                .unwrap_or_default()
                .iter(),
        ),
        cache_policy: cache_policy.map(str::to_string),
        headers_policy: headers_policy.map(str::to_string),
        viewer_request,
    }
}

/// `DefaultCacheBehavior` and `CacheBehavior` are distinct SDK types with the same getters.
macro_rules! managed {
    ($b:expr) => {{
        let b = $b;
        managed_behavior(
            b.target_origin_id(),
            b.viewer_protocol_policy(),
            b.compress(),
            b.allowed_methods(),
            b.cache_policy_id(),
            b.response_headers_policy_id(),
            b.function_associations(),
        )
    }};
}

fn default_behavior(c: &DistributionConfig) -> Option<ManagedBehavior> {
    c.default_cache_behavior().map(|b| managed!(b))
}

fn error_page_behavior(c: &DistributionConfig) -> Option<ManagedBehavior> {
    let path = error_page_path();
    c.cache_behaviors()
        .map(|b| b.items())
        .unwrap_or_default()
        .iter()
        .find(|b| b.path_pattern() == path)
        .map(|b| managed!(b))
}

/// The certificate as it matters: CloudFront fills in `MinimumProtocolVersion`,
/// `SSLSupportMethod` and `CertificateSource` for its default certificate, and
/// `CloudFrontDefaultCertificate: false` plus `Certificate` for an ACM one.
#[derive(Debug, PartialEq, Eq)]
enum ManagedCertificate {
    CloudFront,
    Acm {
        arn: String,
        ssl: Option<SslSupportMethod>,
        minimum: Option<MinimumProtocolVersion>,
    },
    Other,
}

fn certificate_of(c: &DistributionConfig) -> ManagedCertificate {
    let Some(v) = c.viewer_certificate() else {
        // An omitted certificate is CloudFront's default one.
        return ManagedCertificate::CloudFront;
    };
    match v.acm_certificate_arn().filter(|a| !a.is_empty()) {
        Some(arn) => ManagedCertificate::Acm {
            arn: arn.to_string(),
            ssl: v.ssl_support_method().cloned(),
            minimum: v.minimum_protocol_version().cloned(),
        },
        None if v.iam_certificate_id().is_some_and(|i| !i.is_empty()) => ManagedCertificate::Other,
        None => ManagedCertificate::CloudFront,
    }
}

/// The managed fields that differ, named for the plan. Every comparison is semantic: what
/// CloudFront returns in its own order or with its defaults filled in is not a difference.
pub fn differences(desired: &DistributionConfig, actual: &DistributionConfig) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |what: &str, same: bool| {
        if !same {
            out.push(what.to_string());
        }
    };
    check("comment", desired.comment() == actual.comment());
    check("enabled", desired.enabled() == actual.enabled());
    // Omitted, CloudFront's HTTP version is http2 and IPv6 is on.
    check(
        "HTTP version",
        desired.http_version().unwrap_or(&HttpVersion::Http2)
            == actual.http_version().unwrap_or(&HttpVersion::Http2),
    );
    check(
        "IPv6",
        desired.is_ipv6_enabled().unwrap_or(true) == actual.is_ipv6_enabled().unwrap_or(true),
    );
    let price = |c: &DistributionConfig| {
        c.price_class()
            .map_or("PriceClass_All", |p| p.as_str())
            .to_string()
    };
    if price(desired) != price(actual) {
        out.push(format!(
            "price class {} → {}",
            price(actual),
            price(desired)
        ));
    }
    let mut check = |what: &str, same: bool| {
        if !same {
            out.push(what.to_string());
        }
    };
    check(
        "default root object",
        desired.default_root_object().unwrap_or_default()
            == actual.default_root_object().unwrap_or_default(),
    );
    let origin = |c: &DistributionConfig| {
        c.origins()
            .map(|o| o.items())
            .unwrap_or_default()
            .iter()
            .find(|o| o.id() == ORIGIN_ID)
            .map(|o| {
                (
                    o.domain_name().to_string(),
                    o.origin_access_control_id()
                        .filter(|i| !i.is_empty())
                        .map(str::to_string),
                )
            })
    };
    check(
        "origin (bucket, origin access control)",
        origin(desired) == origin(actual),
    );
    let (want, have) = (default_behavior(desired), default_behavior(actual));
    let part = |f: fn(&ManagedBehavior) -> String| want.as_ref().map(f) == have.as_ref().map(f);
    check(
        "default behavior (HTTPS, compression, methods)",
        part(|b| {
            format!(
                "{}|{:?}|{}|{:?}|{:?}",
                b.target, b.viewer_protocol, b.compress, b.methods, b.cached_methods
            )
        }),
    );
    check(
        "cache or headers policy",
        part(|b| format!("{:?}|{:?}", b.cache_policy, b.headers_policy)),
    );
    check(
        "viewer-request function",
        part(|b| format!("{:?}", b.viewer_request)),
    );
    check(
        "error page behavior (uncached)",
        error_page_behavior(desired) == error_page_behavior(actual),
    );
    let errors = |c: &DistributionConfig| {
        let mut list: Vec<_> = c
            .custom_error_responses()
            .map(|e| e.items())
            .unwrap_or_default()
            .iter()
            .filter(|r| MANAGED_ERROR_CODES.contains(&r.error_code()))
            .map(|r| {
                (
                    r.error_code(),
                    r.response_code().unwrap_or_default().to_string(),
                    r.response_page_path().unwrap_or_default().to_string(),
                    r.error_caching_min_ttl(),
                )
            })
            .collect();
        list.sort();
        list
    };
    check("error responses", errors(desired) == errors(actual));
    check(
        "certificate",
        certificate_of(desired) == certificate_of(actual),
    );
    let aliases = |c: &DistributionConfig| {
        let mut names: Vec<String> = c
            .aliases()
            .map(|a| a.items().to_vec())
            .unwrap_or_default()
            .iter()
            .map(|n| n.to_ascii_lowercase())
            .collect();
        names.sort();
        names.dedup();
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
