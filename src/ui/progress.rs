//! The upload progress of a publish: a bar on a terminal; in CI and pipes, a plain line every
//! few seconds. Uploads are measured in bytes; server-side copies send no bytes and are
//! counted apart. The release code reports through `release::upload::Progress`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::release::upload::{Progress, ShowProgress, Totals};

/// Starts an [`UploadBar`] for every upload run.
pub struct UploadBars;

impl ShowProgress for UploadBars {
    fn start(&self, totals: Totals) -> Box<dyn Progress> {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr())
            && std::env::var_os("CI").is_none();
        Box::new(UploadBar::new(totals, terminal))
    }
}

pub struct UploadBar {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    totals: Totals,
    done_puts: AtomicU64,
    done_copies: AtomicU64,
    done_bytes: AtomicU64,
    last_line: Mutex<Instant>,
}

impl UploadBar {
    /// A bar on a `terminal`, else plain lines.
    pub fn new(totals: Totals, terminal: bool) -> Self {
        let has_tasks = totals.puts + totals.copies > 0;
        let bar = (terminal && has_tasks).then(|| {
            // Only copies: nothing to measure in bytes, so the bar counts them.
            let (len, template) = if totals.puts > 0 {
                (
                    totals.upload_bytes,
                    "{prefix:>12.green.bold} [{bar:30}] {bytes}/{total_bytes} {msg} ({bytes_per_sec}, {eta})",
                )
            } else {
                (totals.copies, "{prefix:>12.green.bold} [{bar:30}] {msg}")
            };
            let bar = indicatif::ProgressBar::new(len);
            if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix("Uploading");
            bar
        });
        let progress = UploadBar {
            plain: !terminal,
            bar,
            totals,
            done_puts: AtomicU64::new(0),
            done_copies: AtomicU64::new(0),
            done_bytes: AtomicU64::new(0),
            last_line: Mutex::new(Instant::now()),
        };
        if let Some(bar) = &progress.bar {
            bar.set_message(progress.message(0, 0));
        }
        progress
    }

    /// `uploaded 3/20, copied 997/997, unchanged 12`
    fn message(&self, puts: u64, copies: u64) -> String {
        let t = &self.totals;
        format!(
            "uploaded {puts}/{}, copied {copies}/{}, unchanged {}",
            t.puts, t.copies, t.unchanged
        )
    }

    /// `uploaded 3/20 (1.2/51.0 MB), copied 997/997, unchanged 12`
    fn plain_line(&self, puts: u64, copies: u64) -> String {
        let t = &self.totals;
        format!(
            "uploaded {puts}/{} ({:.1}/{:.1} MB), copied {copies}/{}, unchanged {}",
            t.puts,
            self.done_bytes.load(Ordering::Relaxed) as f64 / 1e6,
            t.upload_bytes as f64 / 1e6,
            t.copies,
            t.unchanged
        )
    }

    fn update(&self) {
        let puts = self.done_puts.load(Ordering::Relaxed);
        let copies = self.done_copies.load(Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_message(self.message(puts, copies));
        } else if self.plain {
            let finished = puts == self.totals.puts && copies == self.totals.copies;
            let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= Duration::from_secs(3) || finished {
                *last = Instant::now();
                eprintln!("{:>12} {}", "Uploading", self.plain_line(puts, copies));
            }
        }
    }
}

impl Progress for UploadBar {
    fn sent(&self, bytes: u64) {
        let done = self.done_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if let Some(bar) = &self.bar
            && self.totals.puts > 0
        {
            bar.set_position(done);
        }
    }

    fn put_done(&self) {
        self.done_puts.fetch_add(1, Ordering::Relaxed);
        self.update();
    }

    fn copy_done(&self) {
        let copies = self.done_copies.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar
            && self.totals.puts == 0
        {
            bar.set_position(copies);
        }
        self.update();
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_copies_apart_from_uploaded_megabytes() {
        let totals = Totals {
            puts: 2,
            copies: 3,
            unchanged: 5,
            upload_bytes: 1_500_000,
        };
        let p = UploadBar::new(totals, false);
        assert_eq!(
            p.plain_line(0, 0),
            "uploaded 0/2 (0.0/1.5 MB), copied 0/3, unchanged 5"
        );
        p.sent(1_000_000);
        p.put_done();
        p.copy_done();
        assert_eq!(
            p.plain_line(1, 1),
            "uploaded 1/2 (1.0/1.5 MB), copied 1/3, unchanged 5"
        );
    }
}
