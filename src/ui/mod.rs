//! Terminal output: cargo-style status lines on stderr, results on stdout as text or JSON,
//! spinners while waiting and prompts when a terminal allows them.

pub mod project;
pub mod prompt;
pub mod report;
pub mod spinner;

pub mod progress;

use std::fmt::Display;
use std::io::Write;

use anstyle::{AnsiColor, Style};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

const STATUS: Style = AnsiColor::Green.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();
const DIM: Style = Style::new().dimmed();

#[derive(Debug, Clone)]
pub struct Ui {
    pub format: Format,
    pub quiet: bool,
    pub verbose: u8,
    /// Prompts are allowed: a terminal on stdin, no `--yes`, not in CI.
    pub interactive: bool,
    /// `--yes`: what would be asked is confirmed.
    pub yes: bool,
}

impl Ui {
    pub fn new(format: Format, quiet: bool, verbose: u8, color: ColorWhen, yes: bool) -> Self {
        let choice = match color {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        let interactive = !yes && !ci && std::io::IsTerminal::is_terminal(&std::io::stdin());
        Ui {
            format,
            quiet,
            verbose,
            interactive,
            yes,
        }
    }

    /// `    Creating bucket cfh-web-1a2b3c4d` — a right-aligned verb, as cargo prints them.
    pub fn status(&self, verb: &str, message: impl Display) {
        if self.quiet {
            return;
        }
        let mut err = anstream::stderr().lock();
        let _ = writeln!(err, "{STATUS}{verb:>12}{STATUS:#} {message}");
    }

    /// Extra detail shown with `-v`.
    pub fn detail(&self, message: impl Display) {
        if self.verbose > 0 && !self.quiet {
            let mut err = anstream::stderr().lock();
            let _ = writeln!(err, "{DIM}{:>12} {message}{DIM:#}", "");
        }
    }

    pub fn warn(&self, message: impl Display) {
        let mut err = anstream::stderr().lock();
        let _ = writeln!(err, "{WARN}warning{WARN:#}: {message}");
    }

    /// Reports a command's failure: on stderr in text mode, as `{"error": ...}` on stdout in
    /// JSON mode so that scripts always get one JSON document. The AWS SDK's own error chain
    /// (below an [`crate::aws::AwsError`]) is shown with `-v` only.
    pub fn error(&self, error: &anyhow::Error) {
        let chain: Vec<String> = error
            .chain()
            .filter(|e| self.verbose > 0 || !e.is::<crate::aws::error::Cause>())
            .map(ToString::to_string)
            .collect();
        match self.format {
            Format::Json => {
                let doc = serde_json::json!({ "error": chain.join(": ") });
                println!("{doc}");
            }
            Format::Text => {
                let mut err = anstream::stderr().lock();
                let _ = writeln!(err, "{ERROR}error{ERROR:#}: {}", chain[0]);
                for cause in &chain[1..] {
                    let _ = writeln!(err, "  caused by: {cause}");
                }
            }
        }
    }

    /// Prints a command's result: `text` in text mode, `value` as JSON in JSON mode.
    pub fn result(&self, text: impl Display, value: &impl Serialize) {
        match self.format {
            Format::Json => match serde_json::to_string_pretty(value) {
                Ok(json) => println!("{json}"),
                Err(e) => println!("{}", serde_json::json!({ "error": e.to_string() })),
            },
            Format::Text => {
                let text = text.to_string();
                if !text.is_empty() {
                    print!("{text}");
                    if !text.ends_with('\n') {
                        println!();
                    }
                }
            }
        }
    }
}
