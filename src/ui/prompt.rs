//! Questions on the terminal. Callers ask only when [`Ui::interactive`] is true (a terminal on
//! stdin, no `--yes`, not in CI); every answer can also be given by a flag or a variable.

use anyhow::Context as _;

use super::Ui;

impl Ui {
    /// Yes or no, defaulting to no.
    pub fn confirm(&self, question: &str) -> anyhow::Result<bool> {
        dialoguer::Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact()
            .context("no answer to the question")
    }

    /// A secret typed twice.
    pub fn password(&self, question: &str) -> anyhow::Result<String> {
        dialoguer::Password::new()
            .with_prompt(question)
            .with_confirmation("Again", "the two entries differ")
            .interact()
            .context("could not read the password")
    }

    /// One of `items` (their index), `default` preselected.
    pub fn select<T: std::fmt::Display>(
        &self,
        question: &str,
        items: &[T],
        default: usize,
    ) -> anyhow::Result<usize> {
        dialoguer::Select::new()
            .with_prompt(question)
            .items(items)
            .default(default)
            .interact()
            .with_context(|| format!("no answer to \"{question}\""))
    }

    /// A line of text, `default` offered; `check` refuses bad answers (the prompt repeats).
    /// With `allow_empty`, an empty answer is returned as it is.
    pub fn input(
        &self,
        question: &str,
        default: Option<String>,
        allow_empty: bool,
        check: impl Fn(&String) -> Result<(), String>,
    ) -> anyhow::Result<String> {
        let mut input = dialoguer::Input::<String>::new()
            .with_prompt(question)
            .allow_empty(allow_empty)
            .validate_with(move |v: &String| {
                if allow_empty && v.is_empty() {
                    Ok(())
                } else {
                    check(v)
                }
            });
        if let Some(d) = default {
            input = input.default(d);
        }
        input
            .interact_text()
            .with_context(|| format!("no answer to \"{question}\""))
    }
}
