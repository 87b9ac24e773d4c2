use std::ffi::OsString;
use std::process::ExitCode;

use cargo_cloudfront_host::cli::Cli;
use cargo_cloudfront_host::commands;
use cargo_cloudfront_host::ui::Ui;
use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    // `cargo cloudfront-host x` runs `cargo-cloudfront-host cloudfront-host x`.
    if args.get(1).is_some_and(|a| a == "cloudfront-host") {
        args.remove(1);
    }
    let cli = Cli::parse_from(args);
    let g = &cli.global;
    let ui = Ui::new(g.format, g.quiet, g.verbose, g.color, g.yes);
    // Uploads read files on the blocking pool; 256 requests in flight would otherwise start
    // hundreds of threads (tokio's default ceiling is 512), each with its own allocator heap.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(32)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            ui.error(&anyhow::Error::new(e).context("could not start the async runtime"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli, &ui)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e)
            if e.is::<commands::Reported>()
                && ui.format == cargo_cloudfront_host::ui::Format::Json =>
        {
            ExitCode::FAILURE
        }
        Err(e) => {
            ui.error(&e);
            ExitCode::FAILURE
        }
    }
}
