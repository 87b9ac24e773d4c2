//! The typed settings the commands read, built from the resolved values by
//! [`super::Resolved::settings`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// The resolved, immutable settings every command receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Settings {
    pub name: String,
    pub region: String,
    pub framework: Option<String>,
    pub routing: Option<String>,
    pub build: BuildSettings,
    pub source: SourceSettings,
    pub pipeline: PipelineSettings,
    pub precompress: Vec<String>,
    pub brotli_level: u32,
    pub upload: UploadSettings,
    pub retention: RetentionSettings,
    pub price_class: String,
    pub headers: HeaderSettings,
    pub domain: Option<DomainSettings>,
    pub previews: PreviewSettings,
    pub access: AccessSettings,
    pub ci: CiSettings,
}

impl Settings {
    /// `spa` or `static`: the `routing` setting, else what the framework implies (generators
    /// of page trees are static, everything that boots one WASM app is a single-page app).
    pub fn routing_mode(&self) -> &str {
        match (self.routing.as_deref(), self.framework.as_deref()) {
            (Some(mode), _) => mode,
            (None, Some("mdbook" | "zola" | "static")) => "static",
            (None, _) => "spa",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildSettings {
    pub command: Option<String>,
    pub output_dir: Option<PathBuf>,
    pub buildspec: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceSettings {
    pub kind: String,
    pub repository: Option<String>,
    pub branch: Option<String>,
    pub connection_arn: Option<String>,
    pub paths: Vec<String>,
}

/// Publishing from CI systems other than the pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CiSettings {
    /// `ci.github`: the OIDC provider and roles GitHub Actions assumes.
    pub github: bool,
    /// `ci.github_previews`: the pull-request role and preview jobs.
    pub github_previews: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PipelineSettings {
    pub compute_type: String,
    pub log_retention_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UploadSettings {
    pub concurrency: usize,
    pub multipart_threshold: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetentionSettings {
    pub keep: usize,
    #[serde(with = "humantime_serde_compat")]
    pub grace: Duration,
}

mod humantime_serde_compat {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderSettings {
    pub cross_origin_isolation: bool,
    pub csp: Option<String>,
    pub custom: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviewSettings {
    pub domain: Option<String>,
    #[serde(with = "humantime_serde_compat")]
    pub expire_after: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessSettings {
    /// `open` or `password`.
    pub site: String,
    pub previews: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DomainSettings {
    pub name: String,
    pub aliases: Vec<String>,
    pub hosted_zone_id: Option<String>,
    pub redirect_to: Option<String>,
}
