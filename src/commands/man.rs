//! `man`: manual pages rendered by clap_mangen from the clap definitions in cli.rs, so they
//! name exactly the subcommands and options the binary accepts.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::{Cli, ManArgs};
use crate::ui::Ui;

pub fn run(args: &ManArgs, ui: &Ui) -> anyhow::Result<()> {
    // No `help` subcommand in the pages: `--help` is there on every page already.
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = &args.out else {
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd)
            .render(&mut page)
            .context("could not render the manual page")?;
        return std::io::stdout()
            .lock()
            .write_all(&page)
            // A reader that stops early (`| head`) is not an error.
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::BrokenPipe => Ok(()),
                _ => Err(e),
            })
            .context("could not write the manual page to stdout");
    };
    std::fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let mut pages = Vec::new();
    write_pages(&cmd, dir, &mut pages)?;
    let text: String = pages.iter().map(|p| format!("{}\n", p.display())).collect();
    ui.result(text, &serde_json::json!({ "pages": pages }));
    Ok(())
}

/// One page for `cmd` (cargo-cloudfront-host-<sub>-<subsub>.1) and one for each subcommand.
fn write_pages(cmd: &clap::Command, dir: &Path, pages: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let page = clap_mangen::Man::new(cmd.clone());
    let path = dir.join(page.get_filename());
    page.generate_to(dir)
        .with_context(|| format!("could not write {}", path.display()))?;
    pages.push(path);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir, pages)?;
    }
    Ok(())
}
