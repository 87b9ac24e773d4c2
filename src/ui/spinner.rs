//! Progress while waiting on AWS (CloudFront deployments, pipeline runs, connection
//! approvals): a spinner on a terminal, a status line now and then elsewhere.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;

use super::Ui;

/// Called with a short message each time the waiting side has news.
pub type OnWait = Arc<dyn Fn(&str) + Send + Sync>;

impl Ui {
    /// A callback that shows what is being waited for. On a terminal it drives a spinner that
    /// clears its line when the last clone of the callback is dropped.
    pub fn waiting(&self) -> OnWait {
        if !self.quiet && std::io::stderr().is_terminal() {
            let spinner = Spinner(indicatif::ProgressBar::new_spinner());
            spinner.0.enable_steady_tick(Duration::from_millis(120));
            Arc::new(move |m: &str| spinner.0.set_message(m.to_string()))
        } else {
            let ui = self.clone();
            Arc::new(move |m: &str| ui.status("Waiting", m))
        }
    }
}

/// Clears its line when the wait is over.
struct Spinner(indicatif::ProgressBar);

impl Drop for Spinner {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
