//! The distribution's configuration as the settings want it: built from nothing for a new
//! distribution, or laid over the current one so that what a user added by hand stays.

use aws_sdk_cloudfront::types::{
    Aliases, AllowedMethods, CacheBehavior, CacheBehaviors, CachedMethods, CustomErrorResponse,
    CustomErrorResponses, DefaultCacheBehavior, DistributionConfig, EventType, FunctionAssociation,
    FunctionAssociations, HttpVersion, Method, MinimumProtocolVersion, Origin, Origins, PriceClass,
    S3OriginConfig, SslSupportMethod, ViewerCertificate, ViewerProtocolPolicy,
};

use crate::infra::{InfraError, Stack};

pub const ORIGIN_ID: &str = "site-bucket";
/// Seconds an error answer stays cached at the edge.
const ERROR_CACHING_TTL: i64 = 10;

pub(super) fn build_err(e: impl std::fmt::Display) -> InfraError {
    InfraError::Other(format!("invalid distribution configuration: {e}"))
}

/// The IDs the distribution refers to; `None` where the resource is yet to be created.
pub(super) struct Refs {
    pub bucket_domain: String,
    pub oac: Option<String>,
    pub cache_policy: Option<String>,
    pub headers_policy: Option<String>,
    pub function_arn: String,
}

const PENDING: &str = "(to be created)";

/// The managed cache policy `Managed-CachingDisabled` (TTL 0, nothing in the cache key): its
/// id is the same in every account (CloudFront Developer Guide, "Use managed cache policies").
pub const CACHING_DISABLED_POLICY: &str = "4135ea2d-6df8-4b16-a52c-6f5efd6e4e6a";

/// The error codes whose answers this tool owns; answers for other codes added by hand stay.
pub(super) const MANAGED_ERROR_CODES: [i32; 2] = [403, 404];

/// The path CloudFront fetches the custom error page from (the release code keeps the live
/// version's copy there), and the path pattern of the behaviour that serves it uncached.
pub fn error_page_path() -> String {
    format!("/{}", crate::release::ERROR_PAGE)
}

fn read_only_methods() -> Result<AllowedMethods, InfraError> {
    AllowedMethods::builder()
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
        .map_err(build_err)
}

fn viewer_request(refs: &Refs) -> Result<FunctionAssociation, InfraError> {
    FunctionAssociation::builder()
        .function_arn(&refs.function_arn)
        .event_type(EventType::ViewerRequest)
        .build()
        .map_err(build_err)
}

/// `current` with the viewer-request association replaced by ours; associations for other
/// events (a viewer-response function added by hand) stay.
fn with_our_function(
    current: Option<&FunctionAssociations>,
    refs: &Refs,
) -> Result<FunctionAssociations, InfraError> {
    let mut items: Vec<FunctionAssociation> = current
        .map(|f| f.items().to_vec())
        .unwrap_or_default()
        .into_iter()
        .filter(|a| a.event_type() != &EventType::ViewerRequest)
        .collect();
    items.push(viewer_request(refs)?);
    FunctionAssociations::builder()
        .quantity(items.len() as i32)
        .set_items(Some(items))
        .build()
        .map_err(build_err)
}

/// The behaviour that serves the error page in `static` routing: CloudFront fetches custom
/// error pages through the behaviour matching their path, without running the function and
/// under that behaviour's TTLs. With the default behaviour's one-year MinTTL the first copy
/// (often the placeholder's) would be served for a year; with caching disabled every fetch
/// reads the live version's copy, which the release code puts at this path on each flip.
fn error_behavior(refs: &Refs) -> Result<CacheBehavior, InfraError> {
    CacheBehavior::builder()
        .path_pattern(error_page_path())
        .target_origin_id(ORIGIN_ID)
        .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
        .allowed_methods(read_only_methods()?)
        .compress(false)
        .cache_policy_id(CACHING_DISABLED_POLICY)
        .response_headers_policy_id(refs.headers_policy.as_deref().unwrap_or(PENDING))
        .function_associations(with_our_function(None, refs)?)
        .build()
        .map_err(build_err)
}

/// The distribution as the settings want it, built from nothing (a new distribution).
fn fresh_config(
    stack: &Stack<'_>,
    refs: &Refs,
    caller_reference: &str,
) -> Result<DistributionConfig, InfraError> {
    let settings = stack.settings;
    let origin = Origin::builder()
        .id(ORIGIN_ID)
        .domain_name(&refs.bucket_domain)
        .origin_access_control_id(refs.oac.as_deref().unwrap_or(PENDING))
        .s3_origin_config(S3OriginConfig::builder().origin_access_identity("").build())
        .build()
        .map_err(build_err)?;
    let behavior = DefaultCacheBehavior::builder()
        .target_origin_id(ORIGIN_ID)
        .viewer_protocol_policy(ViewerProtocolPolicy::RedirectToHttps)
        .allowed_methods(read_only_methods()?)
        .compress(true)
        .cache_policy_id(refs.cache_policy.as_deref().unwrap_or(PENDING))
        .response_headers_policy_id(refs.headers_policy.as_deref().unwrap_or(PENDING))
        .function_associations(with_our_function(None, refs)?)
        .build()
        .map_err(build_err)?;
    let is_static = settings.routing_mode() == "static";
    // `static` routing answers a missing page with the site's 404.html (kept at the bucket
    // root by the publisher: CloudFront fetches error pages without running the function).
    let mut errors = Vec::new();
    if is_static {
        for code in MANAGED_ERROR_CODES {
            errors.push(
                CustomErrorResponse::builder()
                    .error_code(code)
                    .response_code("404")
                    .response_page_path(error_page_path())
                    .error_caching_min_ttl(ERROR_CACHING_TTL)
                    .build()
                    .map_err(build_err)?,
            );
        }
    }
    let behaviors = if is_static {
        vec![error_behavior(refs)?]
    } else {
        Vec::new()
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
        .cache_behaviors(
            CacheBehaviors::builder()
                .quantity(behaviors.len() as i32)
                .set_items((!behaviors.is_empty()).then_some(behaviors))
                .build()
                .map_err(build_err)?,
        )
        .custom_error_responses(
            CustomErrorResponses::builder()
                .quantity(errors.len() as i32)
                .set_items((!errors.is_empty()).then_some(errors))
                .build()
                .map_err(build_err)?,
        )
        .viewer_certificate(certificate)
        .aliases(aliases)
        .build()
        .map_err(build_err)
}

/// The distribution as the settings want it. An update starts from the current configuration
/// (`base`) and changes only the fields this tool manages, so whatever someone added by hand
/// (origins, cache behaviours, Lambda@Edge, a viewer-response function, WAF, logging, geo
/// restrictions, Origin Shield, custom headers on our origin) survives a deploy.
pub(super) fn desired_config(
    stack: &Stack<'_>,
    refs: &Refs,
    caller_reference: &str,
    base: Option<&DistributionConfig>,
) -> Result<DistributionConfig, InfraError> {
    let fresh = fresh_config(stack, refs, caller_reference)?;
    let Some(base) = base else {
        return Ok(fresh);
    };
    let mut c = base.clone();
    c.comment = fresh.comment.clone();
    c.enabled = fresh.enabled;
    c.http_version = fresh.http_version.clone();
    c.is_ipv6_enabled = fresh.is_ipv6_enabled;
    c.price_class = fresh.price_class.clone();
    c.default_root_object = fresh.default_root_object.clone();

    // Our origin: the managed fields only (Origin Shield, timeouts, custom headers stay).
    let ours = fresh
        .origins
        .as_ref()
        .and_then(|o| o.items.first().cloned())
        .ok_or_else(|| InfraError::Other("the desired distribution has no origin".into()))?;
    let mut origins = c.origins.take().map(|o| o.items).unwrap_or_default();
    match origins.iter_mut().find(|o| o.id == ORIGIN_ID) {
        Some(o) => {
            o.domain_name = ours.domain_name;
            o.origin_access_control_id = ours.origin_access_control_id;
            o.s3_origin_config = ours.s3_origin_config;
            o.custom_origin_config = None;
            o.vpc_origin_config = None;
        }
        None => origins.insert(0, ours),
    }
    c.origins = Some(
        Origins::builder()
            .quantity(origins.len() as i32)
            .set_items(Some(origins))
            .build()
            .map_err(build_err)?,
    );

    // The default behaviour: ours, but what else it carries (Lambda@Edge, a viewer-response
    // function, an origin request policy, field-level encryption) stays.
    let want = fresh
        .default_cache_behavior
        .clone()
        .ok_or_else(|| InfraError::Other("the desired distribution has no behavior".into()))?;
    c.default_cache_behavior = Some(match c.default_cache_behavior.take() {
        None => want,
        Some(mut b) => {
            b.target_origin_id = want.target_origin_id;
            b.viewer_protocol_policy = want.viewer_protocol_policy;
            b.allowed_methods = want.allowed_methods;
            b.compress = want.compress;
            b.cache_policy_id = want.cache_policy_id;
            b.response_headers_policy_id = want.response_headers_policy_id;
            b.function_associations =
                Some(with_our_function(b.function_associations.as_ref(), refs)?);
            clear_legacy_cache_settings(&mut b);
            b
        }
    });

    // Cache behaviours: the error-page one is ours; every other stays as it is.
    let path = error_page_path();
    let mut behaviors: Vec<CacheBehavior> = c
        .cache_behaviors
        .take()
        .and_then(|b| b.items)
        .unwrap_or_default();
    let wanted = fresh
        .cache_behaviors
        .as_ref()
        .and_then(|b| b.items.as_ref())
        .and_then(|items| items.first().cloned());
    let at = behaviors.iter().position(|b| b.path_pattern == path);
    match (at, wanted) {
        (Some(i), Some(mut w)) => {
            // Keep anything added by hand to our behaviour too (Lambda@Edge and the like).
            let old = &behaviors[i];
            w.lambda_function_associations = old.lambda_function_associations.clone();
            w.origin_request_policy_id = old.origin_request_policy_id.clone();
            w.function_associations =
                Some(with_our_function(old.function_associations.as_ref(), refs)?);
            behaviors[i] = w;
        }
        (Some(i), None) => {
            behaviors.remove(i);
        }
        // First in the list: CloudFront matches behaviours in order, and the error page's
        // path must not fall to a broader pattern added by hand.
        (None, Some(w)) => behaviors.insert(0, w),
        (None, None) => {}
    }
    c.cache_behaviors = Some(
        CacheBehaviors::builder()
            .quantity(behaviors.len() as i32)
            .set_items((!behaviors.is_empty()).then_some(behaviors))
            .build()
            .map_err(build_err)?,
    );

    // Error answers: ours for 403 and 404; those for other codes stay.
    let mut errors: Vec<CustomErrorResponse> = c
        .custom_error_responses
        .take()
        .and_then(|e| e.items)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| !MANAGED_ERROR_CODES.contains(&e.error_code))
        .collect();
    errors.extend(
        fresh
            .custom_error_responses
            .clone()
            .and_then(|e| e.items)
            .unwrap_or_default(),
    );
    c.custom_error_responses = Some(
        CustomErrorResponses::builder()
            .quantity(errors.len() as i32)
            .set_items((!errors.is_empty()).then_some(errors))
            .build()
            .map_err(build_err)?,
    );
    c.viewer_certificate = fresh.viewer_certificate.clone();
    c.aliases = fresh.aliases.clone();
    Ok(c)
}

/// A cache policy excludes the legacy per-behaviour cache settings (CloudFront rejects both).
#[allow(deprecated)]
fn clear_legacy_cache_settings(b: &mut DefaultCacheBehavior) {
    b.forwarded_values = None;
    b.min_ttl = None;
    b.default_ttl = None;
    b.max_ttl = None;
}
