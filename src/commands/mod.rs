//! One file per subcommand; each asks the library through the [`Context`] and hands a view to
//! `ui`. No command uses another.

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
use crate::context::{Context, Options};
use crate::ui::Ui;

pub async fn run(cli: Cli, ui: &Ui) -> anyhow::Result<()> {
    // Generated from the CLI alone: they work anywhere, project or not.
    match &cli.command {
        Command::Completions(args) => return completions::run(args),
        Command::Man(args) => return man::run(args, ui),
        _ => {}
    }
    let options = match &cli.command {
        Command::Init(args) => init::options(args),
        _ => Options::default(),
    };
    let ctx = Context::load(&cli.global, ui.clone(), options).await?;
    match &cli.command {
        Command::Deploy(args) => deploy::run(&ctx, args).await,
        Command::Plan => plan::run(&ctx).await,
        Command::Delete(args) => delete::run(&ctx, args).await,
        Command::Show(args) => show::run(&ctx, args).await,
        Command::Publish(args) => publish::run(&ctx, args).await,
        Command::Versions => versions::run(&ctx).await,
        Command::Rollback(args) => rollback::run(&ctx, args).await,
        Command::Previews(args) => previews::run(&ctx, args).await,
        Command::Promote(args) => promote::run(&ctx, args).await,
        Command::Init(args) => init::run(&ctx, args).await,
        Command::Buildspec(args) => buildspec::run(&ctx, args),
        Command::Status(args) => status::run(&ctx, args).await,
        Command::Upload => upload::run(&ctx).await,
        Command::Ci(crate::cli::CiCommand::Github(args)) => ci::github(&ctx, args).await,
        Command::Serve(args) => serve::run(&ctx, args).await,
        Command::Completions(_) | Command::Man(_) => Ok(()),
    }
}

/// An error whose details the command already printed (its result included): only the exit
/// status is left to report.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Reported(pub String);

/// How long to wait for CloudFront or the pipeline, and how to show the wait.
pub(crate) fn wait_options(timeout: std::time::Duration, ui: &Ui) -> crate::infra::WaitOptions {
    crate::infra::WaitOptions {
        timeout,
        on_wait: Some(ui.waiting()),
    }
}
