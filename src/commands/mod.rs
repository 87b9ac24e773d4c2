//! One file per subcommand; each wires the library's boxes together and nothing more.

pub mod buildspec;
pub mod init;
pub mod publish;
pub mod rollback;
pub mod serve;
pub mod show;
pub mod versions;

use crate::cli::{Cli, Command};
use crate::ui::Ui;

pub async fn run(cli: Cli, ui: &Ui) -> anyhow::Result<()> {
    match &cli.command {
        Command::Show(args) => show::run(&cli.global, args, ui).await,
        Command::Publish(args) => publish::run(&cli.global, args, ui).await,
        Command::Versions => versions::run(&cli.global, ui).await,
        Command::Rollback(args) => rollback::run(&cli.global, args, ui).await,
        Command::Init(args) => init::run(&cli.global, args, ui).await,
        Command::Buildspec(args) => buildspec::run(&cli.global, args, ui).await,
        Command::Serve(args) => serve::run(&cli.global, args, ui).await,
    }
}

/// The deployed site of a project: AWS clients, resource names and the release handle.
pub(crate) async fn open_release(
    project: &crate::project::Project,
    ui: &Ui,
) -> anyhow::Result<crate::release::Release> {
    let aws = project.aws().await?;
    let identity = caller_identity(&aws).await?;
    let names = project.names(identity.account().unwrap_or_default());
    let target = crate::release::Target::locate(&aws, &names).await?;
    ui.detail(format_args!(
        "bucket {}, key-value store {}",
        target.bucket, target.kvs_arn
    ));
    Ok(crate::release::Release::new(&aws, target))
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
