//! One file per subcommand; each wires the library's boxes together and nothing more.

pub mod buildspec;
pub mod init;
pub mod show;

use crate::cli::{Cli, Command};
use crate::ui::Ui;

pub async fn run(cli: Cli, ui: &Ui) -> anyhow::Result<()> {
    match &cli.command {
        Command::Show(args) => show::run(&cli.global, args, ui).await,
        Command::Init(args) => init::run(&cli.global, args, ui).await,
        Command::Buildspec(args) => buildspec::run(&cli.global, args, ui).await,
    }
}
