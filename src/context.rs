//! Everything a command runs in, built once per run and the same way for every command: the
//! workspace (discovered once), the detection (run once), the resolved settings (CLI flags >
//! env > package > workspace > detected > defaults) and, on first use, the AWS clients and
//! account. So `show --settings`, `publish`, `deploy` and `serve` can never see different
//! values.

use anyhow::Context as _;
use tokio::sync::OnceCell;

use crate::aws::{Aws, AwsError};
use crate::cli::GlobalArgs;
use crate::detect::{self, DetectError, Detection, Hints};
use crate::infra::Stack;
use crate::infra::ci::GithubSpec;
use crate::infra::pipeline::PipelineSpec;
use crate::infra::pipeline::run::pipeline_spec;
use crate::names::Names;
use crate::project::{CommandFlags, Project};
use crate::release::{Release, Target};
use crate::settings::Settings;
use crate::ui::Ui;
use crate::workspace::Workspace;

/// What a command adds to the resolution: its own settings flags (`init --routing static`)
/// and what it names of the build before detection (`init --framework custom`).
#[derive(Debug, Default)]
pub struct Options<'a> {
    pub flags: CommandFlags,
    pub hints: Hints<'a>,
}

pub struct Context {
    pub ui: Ui,
    pub project: Project,
    /// What detection found. Metadata always wins over it; a failed detection is fine when the
    /// metadata is complete (commands that need it say so with this error).
    pub detection: Result<Detection, DetectError>,
    aws: OnceCell<Aws>,
    connection: OnceCell<Connection>,
}

/// The parts of the stack that depend on more than the hosting settings.
#[derive(Clone)]
pub struct Desired {
    pub pipeline: Option<PipelineSpec>,
    pub github: Option<GithubSpec>,
}

/// The AWS side of a project: clients, the account the credentials belong to, and the names
/// of the project's resources in it.
pub struct Connection {
    pub aws: Aws,
    pub account: String,
    /// The caller's ARN (user or role).
    pub caller: String,
    pub names: Names,
}

impl Context {
    pub async fn load(global: &GlobalArgs, ui: Ui, options: Options<'_>) -> anyhow::Result<Self> {
        let mut workspace =
            Workspace::discover(global.manifest_path.as_deref(), global.package.as_deref())?;
        let cwd = std::env::current_dir().context("the current directory is not accessible")?;
        let root = workspace.as_ref().map_or(cwd, |w| w.root.clone());
        let detection = detect::for_command(&root, workspace.as_ref(), options.hints, &ui);
        // The settings of the member detection chose, even when run from the workspace root.
        if global.package.is_none()
            && global.manifest_path.is_none()
            && let (
                Some(ws),
                Ok(Detection {
                    package: Some(name),
                    ..
                }),
            ) = (workspace.as_mut(), &detection)
            && let Some(i) = ws.members.iter().position(|m| &m.name == name)
        {
            ws.selected = Some(i);
        }
        let layer = detection.as_ref().map(detect::layer).unwrap_or_default();
        let project = Project::resolve(global, workspace, options.flags, layer, &ui).await?;
        Ok(Context {
            ui,
            project,
            detection,
            aws: OnceCell::new(),
            connection: OnceCell::new(),
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.project.settings
    }

    /// The SDK clients, once credentials are known to be there.
    pub async fn aws(&self) -> Result<&Aws, AwsError> {
        self.aws.get_or_try_init(|| self.project.aws()).await
    }

    /// The clients, the account and the resource names; asks STS once.
    pub async fn connect(&self) -> anyhow::Result<&Connection> {
        self.connection
            .get_or_try_init(|| async {
                let aws = self.aws().await?.clone();
                let identity = aws
                    .sts()
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("ask STS which AWS account this is", &e))?;
                let account = identity.account().unwrap_or_default().to_string();
                let names = self.project.names(&account);
                Ok(Connection {
                    aws,
                    caller: identity.arn().unwrap_or_default().to_string(),
                    account,
                    names,
                })
            })
            .await
    }

    /// What this project wants beyond the hosting resources, checked before any AWS call:
    /// the pipeline (with its buildspec) and the GitHub Actions roles, as the settings say.
    pub fn desired(&self) -> anyhow::Result<Desired> {
        let project = &self.project;
        Ok(Desired {
            pipeline: pipeline_spec(project, &self.detection, &self.ui)?,
            github: GithubSpec::of(&project.settings, &project.git)?,
        })
    }

    /// The stack this project wants in `c`'s account.
    pub fn stack<'c>(&'c self, c: &'c Connection, desired: &Desired) -> Stack<'c> {
        let mut stack = Stack::new(&c.aws, &c.names, &self.project.settings, &c.account);
        stack.pipeline = desired.pipeline.clone();
        stack.github = desired.github.clone();
        stack
    }

    /// The deployed site: its bucket and key-value store, from the pipeline's build
    /// environment or looked up by name.
    pub async fn release(&self) -> anyhow::Result<Release> {
        let aws = self.aws().await?;
        let target = match crate::release::target::from_env() {
            Some(target) => target,
            None => {
                let c = self.connect().await?;
                Target::locate(&c.aws, &c.names).await?
            }
        };
        self.ui.detail(format_args!(
            "bucket {}, key-value store {}",
            target.bucket, target.kvs_arn
        ));
        Ok(Release::new(aws, target))
    }
}
