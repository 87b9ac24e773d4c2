//! One file per subcommand; each wires the library's boxes together and nothing more.

pub mod buildspec;
pub mod ci;
pub mod completions;
pub mod delete;
pub mod deploy;
pub mod init;
pub mod man;
pub mod plan;
pub mod previews;
pub mod promote;
pub mod publish;
pub mod rollback;
pub mod serve;
pub mod show;
pub mod status;
pub mod upload;
pub mod versions;

use crate::cli::{Cli, Command};
use crate::ui::Ui;

pub async fn run(cli: Cli, ui: &Ui) -> anyhow::Result<()> {
    match &cli.command {
        Command::Deploy(args) => deploy::run(&cli.global, args, ui).await,
        Command::Plan => plan::run(&cli.global, ui).await,
        Command::Delete(args) => delete::run(&cli.global, args, ui).await,
        Command::Show(args) => show::run(&cli.global, args, ui).await,
        Command::Publish(args) => publish::run(&cli.global, args, ui).await,
        Command::Versions => versions::run(&cli.global, ui).await,
        Command::Rollback(args) => rollback::run(&cli.global, args, ui).await,
        Command::Previews(args) => previews::run(&cli.global, args, ui).await,
        Command::Promote(args) => promote::run(&cli.global, args, ui).await,
        Command::Init(args) => init::run(&cli.global, args, ui).await,
        Command::Buildspec(args) => buildspec::run(&cli.global, args, ui).await,
        Command::Status(args) => status::run(&cli.global, args, ui).await,
        Command::Upload => upload::run(&cli.global, ui).await,
        Command::Serve(args) => serve::run(&cli.global, args, ui).await,
        Command::Ci(crate::cli::CiCommand::Github(args)) => ci::github(&cli.global, args, ui).await,
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args, ui),
    }
}

/// The deployed site of a project: AWS clients, resource names and the release handle.
pub(crate) async fn open_release(
    project: &crate::project::Project,
    ui: &Ui,
) -> anyhow::Result<crate::release::Release> {
    let aws = project.aws().await?;
    let target = match target_from_env() {
        // Inside the pipeline's build: the project names its bucket and store (there is no
        // git remote there to derive the names from, and the role may not look them up).
        Some(target) => target,
        None => {
            let identity = caller_identity(&aws).await?;
            let names = project.names(identity.account().unwrap_or_default());
            crate::release::Target::locate(&aws, &names).await?
        }
    };
    ui.detail(format_args!(
        "bucket {}, key-value store {}",
        target.bucket, target.kvs_arn
    ));
    Ok(crate::release::Release::new(&aws, target))
}

/// The bucket and store the pipeline's CodeBuild project passes to the build.
fn target_from_env() -> Option<crate::release::Target> {
    use crate::infra::pipeline::{ENV_BUCKET, ENV_KVS_ARN};
    let bucket = std::env::var(ENV_BUCKET).ok().filter(|v| !v.is_empty())?;
    let kvs_arn = std::env::var(ENV_KVS_ARN).ok().filter(|v| !v.is_empty())?;
    Some(crate::release::Target { bucket, kvs_arn })
}

/// An error whose details the command already printed (its result included): only the exit
/// status is left to report.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Reported(pub String);

/// The project with detection filling what metadata leaves out (routing, build, output dir),
/// as `buildspec` does. Metadata always wins; a failed detection is fine when it is complete.
pub(crate) async fn load_detected(
    global: &crate::cli::GlobalArgs,
    ui: &Ui,
) -> anyhow::Result<crate::project::Project> {
    use anyhow::Context as _;
    let workspace = crate::workspace::Workspace::discover(
        global.manifest_path.as_deref(),
        global.package.as_deref(),
    )?;
    let cwd = std::env::current_dir().context("the current directory is not accessible")?;
    let root = workspace.as_ref().map_or(cwd, |w| w.root.clone());
    let found = init::detect_project(&root, workspace.as_ref(), None, None, None, ui);
    let mut global = global.clone();
    if global.package.is_none() && global.manifest_path.is_none() {
        global.package = found.as_ref().ok().and_then(|d| d.package.clone());
    }
    let layer = found.as_ref().map(crate::detect::layer).unwrap_or_default();
    crate::project::Project::load(&global, Vec::new(), layer, ui).await
}

/// The AWS clients, the account and the resource names of a project.
pub(crate) async fn connect(
    project: &crate::project::Project,
) -> anyhow::Result<(crate::aws::Aws, String, crate::names::Names)> {
    let aws = project.aws().await?;
    let identity = caller_identity(&aws).await?;
    let account = identity.account().unwrap_or_default().to_string();
    let names = project.names(&account);
    Ok((aws, account, names))
}

/// Shows CloudFront's progress: a spinner on a terminal, a line now and then elsewhere.
pub(crate) fn wait_options(timeout: std::time::Duration, ui: &Ui) -> crate::infra::WaitOptions {
    use std::io::IsTerminal as _;
    let on_wait: std::sync::Arc<dyn Fn(&str) + Send + Sync> =
        if !ui.quiet && std::io::stderr().is_terminal() {
            let spinner = Spinner(indicatif::ProgressBar::new_spinner());
            spinner
                .0
                .enable_steady_tick(std::time::Duration::from_millis(120));
            std::sync::Arc::new(move |m: &str| spinner.0.set_message(m.to_string()))
        } else {
            let ui = ui.clone();
            std::sync::Arc::new(move |m: &str| ui.status("Waiting", m))
        };
    crate::infra::WaitOptions {
        timeout,
        on_wait: Some(on_wait),
    }
}

/// Who the credentials belong to; every command that names resources needs the account.
pub(crate) async fn caller_identity(
    aws: &crate::aws::Aws,
) -> anyhow::Result<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput> {
    use anyhow::Context as _;
    aws.sts()
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(crate::aws::describe(&e)))
        .context("could not ask STS which AWS account this is")
}

/// Clears its line when the wait is over.
struct Spinner(indicatif::ProgressBar);

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
