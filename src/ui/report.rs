//! The text of results and progress that commands print.

use super::Ui;
use crate::infra::{Action, Change, Plan, Stack};

/// The publish summary: counts, bytes, requests, time, and what is live now.
pub fn publish_summary(report: &crate::release::PublishReport, no_switch: bool) -> String {
    let live = match (&report.live, no_switch) {
        (Some(v), false) => format!(
            "live: {v} (was {})",
            report.live_before.as_deref().unwrap_or("nothing")
        ),
        _ => format!(
            "not switched; live is still {} (go live with `cargo cloudfront-host rollback {}`)",
            report.live_before.as_deref().unwrap_or("nothing"),
            report.version
        ),
    };
    // Copies send no bytes: the megabytes are those of the uploads alone.
    let throttled = match report.concurrency.throttled {
        0 => String::new(),
        n => format!(
            " ({n} answered SlowDown: at most {} in flight at the slowest)",
            report.concurrency.lowest
        ),
    };
    let text = format!(
        "{:>12} {} files ({:.1} MB){}: uploaded {} ({:.1} MB), copied {}, unchanged {}; {} requests{throttled}, {:.1}s\n{:>12} {live}\n",
        "Published",
        report.files,
        report.bytes as f64 / 1e6,
        crate::release::scan::summarize_left_out(&report.left_out),
        report.uploaded,
        report.bytes_sent as f64 / 1e6,
        report.copied,
        report.unchanged,
        report.requests.put
            + report.requests.copy
            + report.requests.parts
            + report.requests.multipart_uploads
            + report.requests.head
            + report.requests.list
            + report.requests.get
            + report.requests.delete,
        report.seconds,
        "Live",
    );
    text
}

/// `plan` and `deploy --dry-run`: the plan's table, and a line when nothing would change.
pub fn plan_text(plan: &Plan) -> String {
    let mut text = plan.render();
    if plan.is_empty() {
        text.push_str("No changes: every resource is up to date.\n");
    }
    text
}

/// What `deploy` is about to change, one status line each.
pub fn planned(ui: &Ui, plan: &Plan) {
    for c in plan.changes.iter().filter(|c| c.action != Action::None) {
        let verb = match c.action {
            Action::Create => "Create",
            Action::Update => "Update",
            Action::Delete => "Delete",
            Action::None => "Keep",
        };
        ui.status(
            verb,
            format_args!("{} {} ({})", c.resource, c.name, c.reason),
        );
    }
}

/// One change as `deploy` applies it.
pub fn applied(ui: &Ui, c: &Change) {
    match c.action {
        Action::Create => ui.status("Created", format_args!("{} {}", c.resource, c.name)),
        Action::Update => ui.status(
            "Updated",
            format_args!("{} {} ({})", c.resource, c.name, c.reason),
        ),
        Action::Delete => ui.status("Deleted", format_args!("{} {}", c.resource, c.name)),
        Action::None => ui.detail(format_args!("{} {} is up to date", c.resource, c.name)),
    }
}

/// `https://<name>/` for each custom-domain name the distribution serves; a warning while the
/// certificate waits for DNS validation.
pub fn domain_urls(ui: &Ui, stack: &Stack<'_>) -> Vec<String> {
    match (&stack.domains, &stack.ids.certificate_arn) {
        // The previews' wildcard is not a URL anyone can open.
        (Some(d), Some(_)) => d
            .names
            .iter()
            .filter(|n| !n.starts_with("*."))
            .map(|n| format!("https://{n}/"))
            .collect(),
        (Some(d), None) => {
            ui.warn(format_args!(
                "{} is not served yet: its certificate is waiting for DNS validation; run `deploy` again once the records exist",
                d.main()
            ));
            Vec::new()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::release::PublishReport;
    use crate::release::limiter::Summary;
    use crate::release::upload::Requests;

    fn report() -> PublishReport {
        PublishReport {
            version: "v2".into(),
            live_before: Some("v1".into()),
            live: Some("v2".into()),
            already_published: false,
            files: 1000,
            bytes: 51_000_000,
            uploaded: 2,
            copied: 997,
            unchanged: 1,
            bytes_sent: 61_000,
            requests: Requests {
                put: 3,
                copy: 997,
                get: 1,
                list: 2,
                ..Requests::default()
            },
            concurrency: Summary {
                ceiling: 256,
                lowest: 256,
                last: 256,
                throttled: 0,
            },
            repaired: 0,
            left_out: Vec::new(),
            seconds: 0.81,
            timings: Default::default(),
            retention: None,
        }
    }

    #[test]
    fn the_summary_counts_megabytes_of_uploads_only() {
        let text = super::publish_summary(&report(), false);
        assert!(
            text.contains(
                "1000 files (51.0 MB): uploaded 2 (0.1 MB), copied 997, unchanged 1; 1003 requests, 0.8s"
            ),
            "{text}"
        );
        assert!(!text.contains("SlowDown"), "{text}");
    }

    #[test]
    fn the_summary_tells_when_s3_asked_to_slow_down() {
        let mut r = report();
        r.concurrency.throttled = 40;
        r.concurrency.lowest = 64;
        let text = super::publish_summary(&r, false);
        assert!(
            text.contains("(40 answered SlowDown: at most 64 in flight at the slowest)"),
            "{text}"
        );
    }
}
