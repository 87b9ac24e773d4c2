//! Origin access control and the distribution: HTTP/2 and HTTP/3, IPv6, HTTPS only,
//! compression, the cache and headers policies, the viewer-request function, the bucket as
//! the only origin (signed requests through origin access control).

use std::time::{Duration, Instant};

use aws_sdk_cloudfront::types::{
    Aliases, AllowedMethods, CacheBehavior, CacheBehaviors, CachedMethods, CustomErrorResponse,
    CustomErrorResponses, DefaultCacheBehavior, DistributionConfig, DistributionConfigWithTags,
    EventType, FunctionAssociation, FunctionAssociations, HttpVersion, Method,
    MinimumProtocolVersion, Origin, OriginAccessControlConfig, OriginAccessControlOriginTypes,
    OriginAccessControlSigningBehaviors, OriginAccessControlSigningProtocols, Origins, PriceClass,
    S3OriginConfig, SslSupportMethod, Tag, Tags, ViewerCertificate, ViewerProtocolPolicy,
};

use super::resource::{self, Resource};
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

/// The origin access control: signs the distribution's requests to the bucket (SigV4,
/// always). Ownership is the marker in its description.
struct AccessControlResource {
    name: String,
    desired: OriginAccessControlConfig,
}

impl AccessControlResource {
    fn new(stack: &Stack<'_>) -> Result<Self, InfraError> {
        let name = stack.names.origin_access_control();
        let desired = oac_config(&name, &stack.marker())?;
        Ok(AccessControlResource { name, desired })
    }
}

impl Resource for AccessControlResource {
    const NOUN: &'static str = "origin access control";
    const PROOF: &'static str = "description marker";
    type Actual = AccessControl;

    fn kind(&self) -> &'static str {
        OAC
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<AccessControl>, InfraError> {
        find_oac(stack, &self.name).await
    }

    async fn owned(&self, stack: &Stack<'_>, actual: &AccessControl) -> Result<bool, InfraError> {
        Ok(stack.owns_comment(actual.config.description()))
    }

    fn adopt(&self, stack: &mut Stack<'_>, actual: &AccessControl) {
        stack.ids.origin_access_control = Some(actual.id.clone());
    }

    async fn differences(
        &self,
        _stack: &Stack<'_>,
        actual: &AccessControl,
    ) -> Result<Vec<String>, InfraError> {
        let (desired, actual) = (&self.desired, &actual.config);
        let mut differences = Vec::new();
        if actual.signing_behavior() != desired.signing_behavior()
            || actual.signing_protocol() != desired.signing_protocol()
        {
            differences.push("signing (SigV4, always)".to_string());
        }
        if actual.origin_access_control_origin_type() != desired.origin_access_control_origin_type()
        {
            differences.push("origin type".to_string());
        }
        Ok(differences)
    }

    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
        let out = stack
            .cf
            .create_origin_access_control()
            .origin_access_control_config(self.desired.clone())
            .send()
            .await
            .map_err(|e| aws_err(format!("create origin access control {}", self.name), &e))?;
        stack.ids.origin_access_control = out.origin_access_control().map(|o| o.id().to_string());
        Ok(())
    }

    async fn update(&self, stack: &mut Stack<'_>, actual: AccessControl) -> Result<(), InfraError> {
        stack
            .cf
            .update_origin_access_control()
            .id(&actual.id)
            .if_match(&actual.etag)
            .origin_access_control_config(self.desired.clone())
            .send()
            .await
            .map_err(|e| aws_err(format!("update origin access control {}", self.name), &e))?;
        Ok(())
    }

    async fn delete(
        &self,
        stack: &mut Stack<'_>,
        actual: AccessControl,
    ) -> Result<Option<String>, InfraError> {
        super::retry_while_in_use(
            stack,
            &format!("origin access control {}", self.name),
            || {
                stack
                    .cf
                    .delete_origin_access_control()
                    .id(&actual.id)
                    .if_match(&actual.etag)
                    .send()
            },
            |e| {
                e.as_service_error()
                    .is_some_and(|s| s.is_origin_access_control_in_use())
            },
        )
        .await?;
        Ok(None)
    }
}

pub async fn converge_oac(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let oac = AccessControlResource::new(stack)?;
    resource::converge(stack, mode, &oac).await
}

pub async fn destroy_oac(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let oac = AccessControlResource::new(stack)?;
    resource::destroy(stack, mode, &oac).await
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

/// The managed cache policy `Managed-CachingDisabled` (TTL 0, nothing in the cache key): its
/// id is the same in every account (CloudFront Developer Guide, "Use managed cache policies").
pub const CACHING_DISABLED_POLICY: &str = "4135ea2d-6df8-4b16-a52c-6f5efd6e4e6a";

/// The error codes whose answers this tool owns; answers for other codes added by hand stay.
const MANAGED_ERROR_CODES: [i32; 2] = [403, 404];

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
fn desired_config(
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

fn default_behavior(c: &DistributionConfig) -> Option<ManagedBehavior> {
    c.default_cache_behavior().map(|b| {
        managed_behavior(
            b.target_origin_id(),
            b.viewer_protocol_policy(),
            b.compress(),
            b.allowed_methods(),
            b.cache_policy_id(),
            b.response_headers_policy_id(),
            b.function_associations(),
        )
    })
}

fn error_page_behavior(c: &DistributionConfig) -> Option<ManagedBehavior> {
    let path = error_page_path();
    c.cache_behaviors()
        .map(|b| b.items())
        .unwrap_or_default()
        .iter()
        .find(|b| b.path_pattern() == path)
        .map(|b| {
            managed_behavior(
                b.target_origin_id(),
                b.viewer_protocol_policy(),
                b.compress(),
                b.allowed_methods(),
                b.cache_policy_id(),
                b.response_headers_policy_id(),
                b.function_associations(),
            )
        })
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
    // A shared headers policy this distribution stops using is deleted once nothing uses it.
    let headers_policy = |c: &DistributionConfig| {
        c.default_cache_behavior()
            .and_then(|b| b.response_headers_policy_id())
            .filter(|id| !id.is_empty())
            .map(str::to_string)
    };
    if mode == Mode::Apply
        && change.action == Action::Update
        && let Some(old) = headers_policy(&found.config)
        && headers_policy(&desired).as_ref() != Some(&old)
        && !stack.ids.retired_headers_policies.contains(&old)
    {
        stack.ids.retired_headers_policies.push(old);
    }
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
    // The shared policies to delete afterwards are the ones this distribution used.
    if let Some(b) = found.config.default_cache_behavior() {
        stack.ids.cache_policy = b.cache_policy_id().map(str::to_string);
        stack.ids.headers_policy = b.response_headers_policy_id().map(str::to_string);
    }
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
