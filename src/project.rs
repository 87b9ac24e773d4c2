//! From command-line arguments to one resolved project: the workspace, the settings with their
//! origins, git facts. Built once per run by [`crate::context::Context`]; commands never read
//! flags or files for settings themselves (uv's args → settings → command split).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::aws::{Aws, AwsOptions};
use crate::cli::GlobalArgs;
use crate::names::{Names, Scope};
use crate::settings::{self, FlagValue, Inputs, Resolved, Settings, Value};
use crate::ui::Ui;
use crate::workspace::{GitFacts, Workspace};

#[derive(Debug, Clone)]
pub struct Project {
    pub workspace: Option<Workspace>,
    /// The directory relative paths in settings are taken from: the workspace root, or the
    /// current directory when there is no Cargo workspace.
    pub root: PathBuf,
    pub resolved: Resolved,
    pub settings: Settings,
    pub git: GitFacts,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Settings given by a command's own flags (`init --routing static` and the like).
pub type CommandFlags = Vec<FlagValue>;

impl Project {
    /// Resolves the settings of `workspace`'s selected package: `command_flags` are a
    /// command's own settings flags, `detected` the detection layer (below metadata).
    pub async fn resolve(
        global: &GlobalArgs,
        workspace: Option<Workspace>,
        command_flags: CommandFlags,
        detected: Vec<(String, Value, String)>,
        ui: &Ui,
    ) -> anyhow::Result<Self> {
        let cwd = std::env::current_dir().context("the current directory is not accessible")?;
        let root = workspace.as_ref().map_or(cwd.clone(), |w| w.root.clone());

        let mut inputs = Inputs::default().with_process_env();
        inputs.flags = global_flags(global)?;
        inputs.flags.extend(command_flags);
        inputs.detected = detected;

        let mut name_from = None;
        if let Some(ws) = &workspace {
            if let Some(pkg) = ws.package() {
                inputs.package = Some(read_manifest(&pkg.manifest_path, &cwd)?);
                name_from = Some((pkg.name.clone(), "package name".to_string()));
            }
            if ws
                .package()
                .is_none_or(|p| p.manifest_path != ws.root_manifest)
                && ws.root_manifest.is_file()
            {
                inputs.workspace = Some(read_manifest(&ws.root_manifest, &cwd)?);
            }
        }
        let name_from = name_from.or_else(|| {
            cwd.file_name().map(|n| {
                (
                    n.to_string_lossy().into_owned(),
                    "directory name".to_string(),
                )
            })
        });
        if let Some((name, from)) = name_from {
            inputs.derived.push(("name".into(), Value::Str(name), from));
        }
        match Aws::ambient_region(global.profile.as_deref()).await {
            Some(region) if settings::value::check_region(&region).is_ok() => {
                inputs.derived.push((
                    "region".into(),
                    Value::Str(region),
                    "AWS config (AWS_REGION or profile)".into(),
                ));
            }
            _ => inputs.derived.push((
                "region".into(),
                Value::Str(crate::aws::GLOBAL_REGION.into()),
                "no region in the AWS config".into(),
            )),
        }

        let resolved = settings::resolve(&inputs)?;
        for warning in &resolved.warnings {
            ui.warn(warning);
        }
        let settings = resolved.settings();
        let git = GitFacts::read(&root);
        Ok(Project {
            workspace,
            root,
            resolved,
            settings,
            git,
            profile: global.profile.clone(),
            endpoint_url: global.endpoint_url.clone(),
        })
    }

    /// The SDK clients for this project's region, once credentials are known to be there.
    pub async fn aws(&self) -> Result<Aws, crate::aws::AwsError> {
        let aws = Aws::load(&AwsOptions {
            profile: self.profile.clone(),
            region: self.settings.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
            credentials: None,
        })
        .await;
        aws.check_credentials().await?;
        Ok(aws)
    }

    /// Resource names for this project in `account`.
    pub fn names(&self, account: &str) -> Names {
        let repository = self
            .settings
            .source
            .repository
            .as_deref()
            .or(self.git.github.as_deref());
        Names::new(&Scope {
            account,
            region: &self.settings.region,
            repository,
            project: &self.settings.name,
        })
    }
}

/// The global flags that are settings: `--region` and every `--set key=value`. A flag that was
/// not given yields nothing, so it can never override metadata.
fn global_flags(global: &GlobalArgs) -> anyhow::Result<Vec<FlagValue>> {
    let mut flags = Vec::new();
    if let Some(region) = &global.region {
        flags.push(FlagValue {
            key: "region".into(),
            raw: region.clone(),
            flag: "--region".into(),
        });
    }
    for pair in &global.set {
        let (key, raw) = pair.split_once('=').with_context(|| {
            format!("--set {pair}: expected KEY=VALUE, e.g. --set retention.keep=5")
        })?;
        flags.push(FlagValue {
            key: key.trim().to_string(),
            raw: raw.to_string(),
            flag: format!("--set {}", key.trim()),
        });
    }
    Ok(flags)
}

/// The manifest's text, with its path shown relative to the current directory in messages.
fn read_manifest(path: &Path, cwd: &Path) -> anyhow::Result<(PathBuf, String)> {
    let text = std::fs::read_to_string(path).map_err(|source| settings::SettingsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let shown = path.strip_prefix(cwd).unwrap_or(path);
    Ok((shown.to_path_buf(), text))
}
