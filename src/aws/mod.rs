//! The one place that builds AWS SDK clients.
//!
//! Credentials come from the SDK's standard chain (env, profile/SSO, web identity for GitHub
//! OIDC, ECS, IMDS); endpoints honour `AWS_ENDPOINT_URL` and the per-service
//! `AWS_ENDPOINT_URL_<SERVICE>` variables (that is how the tests reach the local emulator).
//! CloudFront, its KeyValueStore, ACM (certificates for CloudFront) and Route 53 are global and
//! addressed in us-east-1; everything else lives in the project's region.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_runtime_api::client::endpoint::EndpointFuture;
use aws_types::service_config::ServiceConfigKey;

/// Where CloudFront and everything attached to it is managed.
pub const GLOBAL_REGION: &str = "us-east-1";

pub mod error;

pub use error::{AwsError, describe};

/// How to give the tool credentials: the advice of the "no credentials" error.
const CREDENTIALS_ADVICE: &str = "Provide them in one of these ways:\n  \
     - AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones)\n  \
     - a profile from ~/.aws/config with --profile NAME or AWS_PROFILE, including SSO (`aws sso login --profile NAME` first)\n  \
     - GitHub Actions OIDC: aws-actions/configure-aws-credentials, or AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE\n  \
     - an EC2 instance profile or ECS/CodeBuild task role\n\
     Against the local emulator any values work: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test";

/// What the user chose about AWS access; everything else comes from the environment.
#[derive(Debug, Clone)]
pub struct AwsOptions {
    pub profile: Option<String>,
    /// The project's region (settings `region`).
    pub region: String,
    /// An endpoint for every service (`--endpoint-url`); without it the SDK's own
    /// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` lookup applies.
    pub endpoint_url: Option<String>,
    /// Credentials to use instead of the standard chain (embedding, tests).
    pub credentials: Option<aws_credential_types::Credentials>,
}

/// Shared SDK configuration for the project's region and for us-east-1.
#[derive(Debug, Clone)]
pub struct Aws {
    project: SdkConfig,
    global: SdkConfig,
}

impl Aws {
    pub async fn load(options: &AwsOptions) -> Self {
        // Standard retry mode with jittered exponential backoff; five attempts ride out S3
        // SlowDown and CloudFront throttling without hiding a real outage for long.
        let retry = RetryConfig::standard()
            .with_max_attempts(5)
            .with_initial_backoff(Duration::from_millis(200));
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(options.region.clone()))
            .retry_config(retry)
            .timeout_config(timeouts);
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(credentials) = &options.credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        let project = loader.load().await;
        let global = project
            .to_builder()
            .region(Region::from_static(GLOBAL_REGION))
            .build();
        Aws { project, global }
    }

    /// The region the AWS config would pick by itself (AWS_REGION, the profile), used as the
    /// default of the `region` setting.
    pub async fn ambient_region(profile: Option<&str>) -> Option<String> {
        let mut chain = aws_config::default_provider::region::DefaultRegionChain::builder();
        if let Some(profile) = profile {
            chain = chain.profile_name(profile);
        }
        chain.build().region().await.map(|r| r.to_string())
    }

    pub fn region(&self) -> &str {
        self.project.region().map_or(GLOBAL_REGION, |r| r.as_ref())
    }

    /// Fails early, with instructions, when no credentials can be found.
    pub async fn check_credentials(&self) -> Result<(), AwsError> {
        let Some(provider) = self.project.credentials_provider() else {
            return Err(AwsError::plain(
                "no AWS credentials found",
                "no credentials provider is configured",
            )
            .with_advice(CREDENTIALS_ADVICE));
        };
        provider
            .provide_credentials()
            .await
            .map(|_| ())
            .map_err(|e| {
                AwsError::new("no AWS credentials found", &e).with_advice(CREDENTIALS_ADVICE)
            })
    }

    /// The endpoint override for a service, as the SDK itself would find it: the service's own
    /// variable or profile key first, then `AWS_ENDPOINT_URL`.
    fn endpoint_override(config: &SdkConfig, service_id: &str) -> Option<String> {
        let key = ServiceConfigKey::builder()
            .service_id(service_id)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .ok()?;
        config
            .service_config()
            .and_then(|c| c.load_config(key))
            .or_else(|| config.endpoint_url().map(str::to_string))
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        let mut builder = aws_sdk_s3::config::Builder::from(&self.project);
        // Virtual-hosted addressing needs `<bucket>.<host>` to resolve, which a local endpoint
        // (127.0.0.1, localhost) never does.
        if Self::endpoint_override(&self.project, "S3").is_some() {
            builder = builder.force_path_style(true);
        }
        aws_sdk_s3::Client::from_conf(builder.build())
    }

    pub fn cloudfront(&self) -> aws_sdk_cloudfront::Client {
        aws_sdk_cloudfront::Client::new(&self.global)
    }

    /// The KeyValueStore data plane. Its endpoint rules turn any override into
    /// `https://{account-id}.{override}`; with an override, [`KvsEndpoint`] keeps everything
    /// the rules resolved (above all the SigV4A auth scheme) and replaces only the URL.
    pub fn kvs(&self) -> aws_sdk_cloudfrontkeyvaluestore::Client {
        let mut builder = aws_sdk_cloudfrontkeyvaluestore::config::Builder::from(&self.global);
        if let Some(url) = Self::endpoint_override(&self.global, "CloudFront KeyValueStore") {
            builder = builder.endpoint_resolver(KvsEndpoint { url });
        }
        builder = builder.interceptor(KvsAccessDenied);
        aws_sdk_cloudfrontkeyvaluestore::Client::from_conf(builder.build())
    }

    pub fn acm(&self) -> aws_sdk_acm::Client {
        aws_sdk_acm::Client::new(&self.global)
    }

    pub fn route53(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::new(&self.global)
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.project)
    }

    /// STS in the project's region: regional endpoints issue the version-2 session tokens
    /// that SigV4A (the KeyValueStore) needs.
    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.project)
    }

    pub fn codebuild(&self) -> aws_sdk_codebuild::Client {
        aws_sdk_codebuild::Client::new(&self.project)
    }

    pub fn codepipeline(&self) -> aws_sdk_codepipeline::Client {
        aws_sdk_codepipeline::Client::new(&self.project)
    }

    pub fn connections(&self) -> aws_sdk_codestarconnections::Client {
        aws_sdk_codestarconnections::Client::new(&self.project)
    }

    /// The renamed connections service (AWS CodeConnections): connections created since July
    /// 2024 have `arn:aws:codeconnections:` ARNs and are read through it.
    pub fn codeconnections(&self) -> aws_sdk_codeconnections::Client {
        aws_sdk_codeconnections::Client::new(&self.project)
    }

    /// CloudWatch Logs in the project's region: the build log group (retention) and its tail.
    pub fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        aws_sdk_cloudwatchlogs::Client::new(&self.project)
    }
}

/// Endpoint resolver for the KeyValueStore with an overridden URL.
#[derive(Debug)]
struct KvsEndpoint {
    url: String,
}

impl aws_sdk_cloudfrontkeyvaluestore::config::endpoint::ResolveEndpoint for KvsEndpoint {
    fn resolve_endpoint<'a>(
        &'a self,
        params: &'a aws_sdk_cloudfrontkeyvaluestore::config::endpoint::Params,
    ) -> EndpointFuture<'a> {
        use aws_sdk_cloudfrontkeyvaluestore::config::endpoint::DefaultResolver;
        EndpointFuture::new(Box::pin(async move {
            let resolved = DefaultResolver::new().resolve_endpoint(params).await?;
            Ok(resolved.into_builder().url(self.url.clone()).build())
        }))
    }
}

/// What a 403 from the KeyValueStore data plane most likely means, and what fixes it.
pub fn kvs_denied_message(temporary_credentials: bool) -> String {
    if temporary_credentials {
        "the CloudFront KeyValueStore refused the request (403). Its API is signed with SigV4A, \
         which needs version-2 session tokens; temporary credentials from the global STS \
         endpoint (sts.amazonaws.com) carry version-1 tokens, which SigV4A cannot use. Fix: get \
         the credentials from a regional STS endpoint (AWS_STS_REGIONAL_ENDPOINTS=regional, or \
         `sts_regional_endpoints = regional` in ~/.aws/config), or have the global endpoint issue \
         version-2 tokens (`aws iam set-security-token-service-preferences \
         --global-endpoint-token-version v2Token`). If that is not it, the credentials lack \
         cloudfront-keyvaluestore permissions on the store"
            .to_string()
    } else {
        "the CloudFront KeyValueStore refused the request (403): the credentials lack \
         cloudfront-keyvaluestore permissions (DescribeKeyValueStore, GetKey, PutKey, \
         UpdateKeys) on the store"
            .to_string()
    }
}

/// Rewrites the KeyValueStore data plane's 403 answer so the error every KVS call returns
/// names the cause and the fix: the service's own answer to a SigV4A request with a
/// version-1 session token does not say what is wrong.
#[derive(Debug)]
struct KvsAccessDenied;

/// Whether the signed request carried a session token (the request is gone by the time the
/// response arrives, so it is noted on the way out).
#[derive(Debug, Clone)]
struct SignedWithSessionToken(bool);

impl aws_smithy_types::config_bag::Storable for SignedWithSessionToken {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for KvsAccessDenied {
    fn name(&self) -> &'static str {
        "KvsAccessDenied"
    }

    fn read_before_transmit(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let token = context
            .request()
            .headers()
            .contains_key("x-amz-security-token");
        cfg.interceptor_state()
            .store_put(SignedWithSessionToken(token));
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if context.response().status().as_u16() != 403 {
            return Ok(());
        }
        let temporary = cfg.load::<SignedWithSessionToken>().is_some_and(|t| t.0);
        let code = context
            .response()
            .headers()
            .get("x-amzn-errortype")
            .map_or("AccessDeniedException", |c| {
                c.split(':').next().unwrap_or(c)
            })
            .to_string();
        let body = serde_json::json!({
            "__type": code,
            "Message": kvs_denied_message(temporary),
        })
        .to_string();
        let response = context.response_mut();
        response.headers_mut().remove("content-length");
        response
            .headers_mut()
            .insert("content-length", body.len().to_string());
        *response.body_mut() = aws_smithy_types::body::SdkBody::from(body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudfrontkeyvaluestore::config::endpoint::{Params, ResolveEndpoint};

    #[tokio::test]
    async fn kvs_override_keeps_sigv4a_and_replaces_only_the_url() {
        let params = Params::builder()
            .kvs_arn("arn:aws:cloudfront::123456789012:key-value-store/abc")
            .region("us-east-1")
            .endpoint("http://127.0.0.1:5000")
            .build()
            .unwrap();
        use aws_sdk_cloudfrontkeyvaluestore::config::endpoint::DefaultResolver;
        let default = DefaultResolver::new()
            .resolve_endpoint(&params)
            .await
            .unwrap();
        // The seam exists because of this: the rules prefix the account id.
        assert!(
            default.url().contains("123456789012.127.0.0.1"),
            "{}",
            default.url()
        );
        let ours = KvsEndpoint {
            url: "http://127.0.0.1:5000".into(),
        }
        .resolve_endpoint(&params)
        .await
        .unwrap();
        assert_eq!(ours.url(), "http://127.0.0.1:5000");
        assert_eq!(ours.properties(), default.properties());
        assert_eq!(ours.auth_schemes(), default.auth_schemes());
        let schemes = format!("{:?}{:?}", ours.auth_schemes(), ours.properties());
        assert!(schemes.contains("sigv4a"), "{schemes}");
    }
}
