//! `completions <shell>` and `man` through the CLI: each is generated from the clap
//! definitions, and the checks walk the same definitions, so a subcommand or option added later
//! is checked too.

use crate::support;

use std::process::Command;

use cargo_cloudfront_host::cli::Cli;
use clap::CommandFactory;

/// Every subcommand, nested ones included, as its path of names (`["ci", "github"]`).
fn subcommands() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands() {
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_string());
            walk(sub, &path, out);
            out.push(path);
        }
    }
    let mut out = Vec::new();
    walk(&Cli::command(), &[], &mut out);
    out
}

/// The long names of the options every subcommand takes (`--manifest-path`, ...).
fn global_options() -> Vec<String> {
    Cli::command()
        .get_arguments()
        .filter(|a| a.is_global_set())
        .filter_map(|a| a.get_long())
        .map(|l| format!("--{l}"))
        .collect()
}

fn stdout_of(args: &[&str]) -> String {
    let out = support::cli_offline().args(args).assert().success();
    String::from_utf8(out.get_output().stdout.clone()).expect("UTF-8 output")
}

/// roff escapes every hyphen (`\-`); the text a reader sees has plain ones.
fn unroff(page: &str) -> String {
    page.replace("\\-", "-")
}

#[test]
fn bash_completion_offers_every_subcommand_and_global_option() {
    let script = stdout_of(&["completions", "bash"]);
    let words: Vec<&str> = script
        .split(|c: char| c.is_whitespace() || c == '"')
        .collect();
    let subcommands = subcommands();
    assert!(subcommands.len() > 15, "the walk found the subcommands");
    for path in &subcommands {
        let name = path.last().unwrap().as_str();
        assert!(
            words.contains(&name),
            "the bash script does not offer `{}`",
            path.join(" ")
        );
    }
    for option in global_options() {
        assert!(
            words.contains(&option.as_str()),
            "the bash script does not offer {option}"
        );
    }
    assert!(
        script
            .lines()
            .any(|l| l.trim_start().starts_with("complete -F ")
                && l.ends_with(" cargo-cloudfront-host")),
        "registered for the program cargo runs: {}",
        &script[script.len().saturating_sub(300)..]
    );
    let check = Command::new("bash")
        .args(["-n", "-c", &script])
        .output()
        .expect("run bash -n");
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn every_shell_gets_a_script_naming_the_program() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = stdout_of(&["completions", shell]);
        assert!(
            script.contains("cargo-cloudfront-host") && script.contains("publish"),
            "{shell}: {script}"
        );
    }
    support::cli_offline()
        .args(["completions", "tcsh"])
        .assert()
        .failure();
}

#[test]
fn man_page_names_every_subcommand_and_global_option() {
    let page = unroff(&stdout_of(&["man"]));
    assert!(page.contains(".TH cargo-cloudfront-host 1"), "{page}");
    for path in subcommands().iter().filter(|p| p.len() == 1) {
        assert!(
            page.contains(&format!("cargo-cloudfront-host-{}(1)", path[0])),
            "the man page does not name `{}`",
            path[0]
        );
    }
    for option in global_options() {
        assert!(
            page.contains(&option),
            "the man page does not name {option}"
        );
    }
}

#[test]
fn man_out_writes_one_page_per_subcommand_with_its_options() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("man1");
    let listed = stdout_of(&["man", "--out", dir.to_str().unwrap()]);
    let top = dir.join("cargo-cloudfront-host.1");
    assert!(top.is_file(), "{listed}");
    for path in subcommands() {
        let file = dir.join(format!("cargo-cloudfront-host-{}.1", path.join("-")));
        let page = std::fs::read_to_string(&file)
            .map(|p| unroff(&p))
            .unwrap_or_else(|e| panic!("{}: {e}\nlisted:\n{listed}", file.display()));
        assert!(listed.contains(&file.display().to_string()), "{listed}");
        let mut cmd = Cli::command();
        for name in &path {
            cmd = cmd.find_subcommand(name).expect("subcommand").clone();
        }
        for arg in cmd.get_arguments().filter_map(|a| a.get_long()) {
            assert!(
                page.contains(&format!("--{arg}")),
                "{} does not name --{arg}",
                file.display()
            );
        }
    }
}
