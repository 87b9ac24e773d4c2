//! Settings: the `[package.metadata.cloudfront]` model and its layering.
//!
//! Precedence, highest first: flags > `CARGO_CLOUDFRONT_HOST_*` env > package metadata >
//! workspace metadata > detected > built-in defaults. Every layer yields values keyed by the
//! registry in [`keys`]; the winner for each key is kept with its [`Origin`], and one immutable
//! [`Settings`] value is built from them for the commands.

pub mod domain;
pub mod keys;
pub mod model;
pub mod source;
pub mod value;
pub mod write;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub use keys::{KEYS, KeyDef};
pub use model::*;
pub use source::Location;
pub use value::Value;

/// A problem with one key, located where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub location: Option<Location>,
    pub key: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        write!(f, "`{}`: {}", self.key, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{location}: invalid TOML: {message}")]
    Toml { location: Location, message: String },
    #[error("{}", join_lines(.0))]
    Invalid(Vec<Diagnostic>),
    #[error("could not read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn join_lines(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where a resolved value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    Flag { flag: String },
    Env { var: String },
    Package { location: Location },
    Workspace { location: Location },
    Detected { reason: String },
    Derived { from: String },
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag { flag } => write!(f, "flag {flag}"),
            Origin::Env { var } => write!(f, "env {var}"),
            Origin::Package { location } => write!(f, "package metadata, {location}"),
            Origin::Workspace { location } => write!(f, "workspace metadata, {location}"),
            Origin::Detected { reason } => write!(f, "detected: {reason}"),
            Origin::Derived { from } => write!(f, "{from}"),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// A value given on the command line for a key (`--region`, `--set key=value`, ...).
#[derive(Debug, Clone)]
pub struct FlagValue {
    pub key: String,
    pub raw: String,
    /// How the user spelled it, for messages (`--region`, `--set retention.keep`).
    pub flag: String,
}

/// Everything resolution reads. Commands fill it; nothing here touches the process
/// environment or the file system, so resolution is a pure function that tests can drive.
#[derive(Debug, Default)]
pub struct Inputs {
    pub flags: Vec<FlagValue>,
    /// The process environment (only `CARGO_CLOUDFRONT_HOST_*` variables are read).
    pub env: BTreeMap<String, String>,
    pub package: Option<(PathBuf, String)>,
    pub workspace: Option<(PathBuf, String)>,
    pub detected: Vec<(String, Value, String)>,
    /// Defaults that depend on the project: package name, the AWS config's region.
    pub derived: Vec<(String, Value, String)>,
}

impl Inputs {
    pub fn with_process_env(mut self) -> Self {
        self.env = std::env::vars()
            .filter(|(k, _)| k.starts_with("CARGO_CLOUDFRONT_HOST_"))
            .collect();
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub key: &'static str,
    pub value: Option<Value>,
    pub origin: Option<Origin>,
}

/// The winning value of every key with its origin, plus the warnings met on the way.
#[derive(Debug, Clone, Serialize)]
pub struct Resolved {
    pub entries: Vec<Entry>,
    pub warnings: Vec<Diagnostic>,
}

/// Resolves every key. All invalid values across all layers are reported together.
pub fn resolve(inputs: &Inputs) -> Result<Resolved, SettingsError> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    // Lowest precedence first; later layers overwrite.
    let mut chosen: BTreeMap<&'static str, (Value, Origin)> = BTreeMap::new();

    for def in KEYS {
        if let keys::DefaultValue::Fixed(text) = def.default {
            let parsed = text
                .parse::<toml_edit::Value>()
                .ok()
                .and_then(|v| value::from_toml(def, &toml_edit::Item::Value(v)).ok());
            if let Some(v) = parsed {
                chosen.insert(def.key, (v, Origin::Default));
            }
        }
    }
    for (key, v, from) in &inputs.derived {
        if let Some(def) = keys::find(key) {
            chosen.insert(def.key, (v.clone(), Origin::Derived { from: from.clone() }));
        }
    }
    for (key, v, reason) in &inputs.detected {
        if let Some(def) = keys::find(key) {
            chosen.insert(
                def.key,
                (
                    v.clone(),
                    Origin::Detected {
                        reason: reason.clone(),
                    },
                ),
            );
        }
    }
    let tables = [
        (
            &inputs.workspace,
            &["workspace", "metadata", "cloudfront"][..],
        ),
        (&inputs.package, &["package", "metadata", "cloudfront"][..]),
    ];
    for (index, (file, path)) in tables.iter().enumerate() {
        let Some((file, text)) = file else { continue };
        match source::read(file, text, path) {
            Ok(layer) => {
                warnings.extend(layer.unknown);
                for (def, v, location) in layer.values {
                    let origin = if index == 0 {
                        Origin::Workspace { location }
                    } else {
                        Origin::Package { location }
                    };
                    chosen.insert(def.key, (v, origin));
                }
            }
            Err(SettingsError::Invalid(mut found)) => errors.append(&mut found),
            Err(other) => return Err(other),
        }
    }
    for def in KEYS {
        let var = def.env_var();
        if let Some(raw) = inputs.env.get(&var) {
            match value::from_str(def, raw) {
                Ok(v) => {
                    chosen.insert(def.key, (v, Origin::Env { var }));
                }
                Err(problem) => errors.push(Diagnostic {
                    location: None,
                    key: def.key.to_string(),
                    message: format!("environment variable {var}: {problem}"),
                }),
            }
        }
    }
    for var in inputs.env.keys() {
        if !KEYS.iter().any(|d| &d.env_var() == var) && var != "CARGO_CLOUDFRONT_HOST_FORMAT" {
            warnings.push(Diagnostic {
                location: None,
                key: var.clone(),
                message: "environment variable matches no setting, ignored".into(),
            });
        }
    }
    for flag in &inputs.flags {
        let Some(def) = keys::find(&flag.key) else {
            let hint = keys::suggest(&flag.key)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            errors.push(Diagnostic {
                location: None,
                key: flag.key.clone(),
                message: format!("{}: no such setting{hint}", flag.flag),
            });
            continue;
        };
        match value::from_str(def, &flag.raw) {
            Ok(v) => {
                chosen.insert(
                    def.key,
                    (
                        v,
                        Origin::Flag {
                            flag: flag.flag.clone(),
                        },
                    ),
                );
            }
            Err(problem) => errors.push(Diagnostic {
                location: None,
                key: def.key.to_string(),
                message: format!("{}: {problem}", flag.flag),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(SettingsError::Invalid(errors));
    }
    let entries = KEYS
        .iter()
        .map(|def| {
            let found = chosen.remove(def.key);
            Entry {
                key: def.key,
                value: found.as_ref().map(|(v, _)| v.clone()),
                origin: found.map(|(_, o)| o),
            }
        })
        .collect();
    Ok(Resolved { entries, warnings })
}

impl Resolved {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .and_then(|e| e.value.as_ref())
    }

    pub fn origin(&self, key: &str) -> Option<&Origin> {
        self.entries
            .iter()
            .find(|e| e.key == key)
            .and_then(|e| e.origin.as_ref())
    }

    fn string(&self, key: &str) -> Option<String> {
        match self.get(key) {
            Some(Value::Str(s)) => Some(s.clone()),
            _ => None,
        }
    }

    fn int(&self, key: &str) -> Option<i64> {
        match self.get(key) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }

    fn list(&self, key: &str) -> Vec<String> {
        match self.get(key) {
            Some(Value::List(l)) => l.clone(),
            _ => Vec::new(),
        }
    }

    /// The typed settings the commands use. Keys with a fixed default always have a value after
    /// [`resolve`]; the fallbacks here only guard against a registry edit that forgot one.
    pub fn settings(&self) -> Settings {
        let domain = self.string("domain.name").map(|name| DomainSettings {
            name,
            aliases: self.list("domain.aliases"),
            hosted_zone_id: self.string("domain.hosted_zone_id"),
            redirect_to: self.string("domain.redirect_to"),
        });
        Settings {
            name: self.string("name").unwrap_or_else(|| "site".into()),
            region: self.string("region").unwrap_or_else(|| "us-east-1".into()),
            framework: self.string("framework"),
            routing: self.string("routing"),
            build: BuildSettings {
                command: self.string("build.command"),
                output_dir: self.string("build.output_dir").map(PathBuf::from),
                buildspec: self.string("build.buildspec").map(PathBuf::from),
            },
            source: SourceSettings {
                kind: self.string("source.kind").unwrap_or_else(|| "local".into()),
                repository: self.string("source.repository"),
                branch: self.string("source.branch"),
                connection_arn: self.string("source.connection_arn"),
                paths: self.list("source.paths"),
            },
            pipeline: PipelineSettings {
                compute_type: self
                    .string("pipeline.compute_type")
                    .unwrap_or_else(|| "BUILD_GENERAL1_MEDIUM".into()),
                log_retention_days: self.int("pipeline.log_retention_days").unwrap_or(14) as u32,
            },
            precompress: self.list("precompress"),
            brotli_level: self.int("brotli_level").unwrap_or(11) as u32,
            upload: UploadSettings {
                concurrency: self.int("upload.concurrency").unwrap_or(256) as usize,
                multipart_threshold: (self.int("upload.multipart_threshold_mib").unwrap_or(16)
                    as u64)
                    << 20,
            },
            retention: RetentionSettings {
                keep: self.int("retention.keep").unwrap_or(10) as usize,
                grace: match self.get("retention.grace") {
                    Some(Value::Duration(d)) => *d,
                    _ => Duration::from_secs(24 * 3600),
                },
            },
            price_class: self
                .string("price_class")
                .unwrap_or_else(|| "PriceClass_100".into()),
            headers: HeaderSettings {
                cross_origin_isolation: matches!(
                    self.get("headers.cross_origin_isolation"),
                    Some(Value::Bool(true))
                ),
                csp: self.string("headers.csp"),
                custom: match self.get("headers.custom") {
                    Some(Value::Map(m)) => m.clone(),
                    _ => BTreeMap::new(),
                },
            },
            domain,
            previews: PreviewSettings {
                domain: self.string("previews.domain"),
                expire_after: match self.get("previews.expire_after") {
                    Some(Value::Duration(d)) => *d,
                    _ => Duration::from_secs(7 * 24 * 3600),
                },
            },
            access: AccessSettings {
                site: self.string("access.site").unwrap_or_else(|| "open".into()),
                previews: self
                    .string("access.previews")
                    .unwrap_or_else(|| "open".into()),
            },
            ci: CiSettings {
                github: matches!(self.get("ci.github"), Some(Value::Bool(true))),
                github_previews: !matches!(
                    self.get("ci.github_previews"),
                    Some(Value::Bool(false))
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(text: &str) -> Option<(PathBuf, String)> {
        Some((PathBuf::from("web/Cargo.toml"), text.to_string()))
    }

    #[test]
    fn precedence_flag_env_package_workspace_default() {
        let mut inputs = Inputs {
            workspace: Some((
                PathBuf::from("Cargo.toml"),
                "[workspace.metadata.cloudfront]\nregion = \"eu-west-1\"\nprice_class = \"PriceClass_All\"\nretention.keep = 4\n".into(),
            )),
            package: package("[package.metadata.cloudfront]\nregion = \"eu-west-2\"\nretention.keep = 5\n"),
            ..Default::default()
        };
        inputs
            .env
            .insert("CARGO_CLOUDFRONT_HOST_RETENTION_KEEP".into(), "6".into());
        let r = resolve(&inputs).unwrap();
        // package beats workspace
        assert_eq!(r.get("region"), Some(&Value::Str("eu-west-2".into())));
        assert!(
            matches!(r.origin("region"), Some(Origin::Package { location }) if location.line == 2)
        );
        // workspace beats default
        assert_eq!(
            r.get("price_class"),
            Some(&Value::Str("PriceClass_All".into()))
        );
        assert!(matches!(
            r.origin("price_class"),
            Some(Origin::Workspace { .. })
        ));
        // env beats package
        assert_eq!(r.get("retention.keep"), Some(&Value::Int(6)));
        // default fills the rest
        assert_eq!(r.origin("upload.concurrency"), Some(&Origin::Default));

        inputs.flags.push(FlagValue {
            key: "retention.keep".into(),
            raw: "7".into(),
            flag: "--set retention.keep".into(),
        });
        let r = resolve(&inputs).unwrap();
        assert_eq!(r.get("retention.keep"), Some(&Value::Int(7)));
        assert_eq!(r.settings().retention.keep, 7);
    }

    #[test]
    fn metadata_beats_detection_and_derived() {
        let inputs = Inputs {
            package: package("[package.metadata.cloudfront]\nbuild.output_dir = \"site\"\n"),
            detected: vec![
                (
                    "build.output_dir".into(),
                    Value::Str("dist".into()),
                    "Trunk.toml".into(),
                ),
                (
                    "framework".into(),
                    Value::Str("trunk".into()),
                    "Trunk.toml".into(),
                ),
            ],
            derived: vec![(
                "name".into(),
                Value::Str("web".into()),
                "package name".into(),
            )],
            ..Default::default()
        };
        let s = resolve(&inputs).unwrap().settings();
        assert_eq!(s.build.output_dir, Some(PathBuf::from("site")));
        assert_eq!(s.framework.as_deref(), Some("trunk"));
        assert_eq!(s.name, "web");
    }

    #[test]
    fn bad_values_from_every_layer_are_reported_together() {
        let mut inputs = Inputs {
            package: package("[package.metadata.cloudfront]\nregion = \"mars-1\"\n"),
            ..Default::default()
        };
        inputs
            .env
            .insert("CARGO_CLOUDFRONT_HOST_BROTLI_LEVEL".into(), "12".into());
        inputs.flags.push(FlagValue {
            key: "retention.keeep".into(),
            raw: "3".into(),
            flag: "--set retention.keeep".into(),
        });
        let err = resolve(&inputs).unwrap_err().to_string();
        assert!(
            err.contains("web/Cargo.toml:2:1: `package.metadata.cloudfront.region`"),
            "{err}"
        );
        assert!(
            err.contains("CARGO_CLOUDFRONT_HOST_BROTLI_LEVEL: 12 is out of range"),
            "{err}"
        );
        assert!(err.contains("did you mean `retention.keep`"), "{err}");
    }

    #[test]
    fn stray_env_vars_warn() {
        let mut inputs = Inputs::default();
        inputs
            .env
            .insert("CARGO_CLOUDFRONT_HOST_REGOIN".into(), "x".into());
        let r = resolve(&inputs).unwrap();
        assert_eq!(r.warnings.len(), 1);
        assert_eq!(r.warnings[0].key, "CARGO_CLOUDFRONT_HOST_REGOIN");
    }
}
