//! The placeholder version: before anything is published, the live pointer names a tiny
//! page, so a visitor sees "deployed, nothing published yet" instead of a bucket error. It is
//! a release (files in the bucket, a manifest, the pointer flipped), not an AWS resource, so it
//! is published by the release code once the bucket and the KeyValueStore exist.

use super::{Action, Change, InfraError, Mode, Stack};
use crate::release::manifest::GitInfo;
use crate::release::{PublishOptions, Release, Target};

const LIVE_VERSION: &str = "live-version";

/// The version id of the page served between the first deploy and the first publish.
pub const PLACEHOLDER_VERSION: &str = "placeholder";

/// Publishes the placeholder when the live pointer names nothing yet; any version it names
/// (the placeholder or a published one) stays.
pub async fn converge(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let Some(arn) = stack.ids.kvs_arn.clone() else {
        return Ok(Change::new(
            LIVE_VERSION,
            PLACEHOLDER_VERSION,
            Action::Create,
            "nothing published yet: a placeholder page",
        ));
    };
    let release = Release::new(
        stack.aws,
        Target {
            bucket: stack.names.bucket(),
            kvs_arn: arn,
        },
    );
    if let Some(live) = release.pointer.read().await? {
        let reason = if live == PLACEHOLDER_VERSION {
            "nothing published yet"
        } else {
            "published"
        };
        return Ok(Change::new(LIVE_VERSION, &live, Action::None, reason));
    }
    if mode == Mode::Apply {
        let dir = tempfile::tempdir().map_err(|e| {
            InfraError::Other(format!("could not create a temporary directory: {e}"))
        })?;
        let page = placeholder_page(&stack.settings.name);
        for file in ["index.html", "404.html"] {
            std::fs::write(dir.path().join(file), &page).map_err(|e| {
                InfraError::Other(format!("could not write the placeholder page: {e}"))
            })?;
        }
        release
            .publish(&PublishOptions {
                dir: dir.path().to_path_buf(),
                version: PLACEHOLDER_VERSION.to_string(),
                switch: true,
                precompress: Vec::new(),
                brotli_level: stack.settings.brotli_level,
                concurrency: 2,
                multipart_threshold: stack.settings.upload.multipart_threshold,
                retention: stack.settings.retention.clone(),
                git: GitInfo::default(),
                quiet: true,
            })
            .await?;
    }
    Ok(Change::new(
        LIVE_VERSION,
        PLACEHOLDER_VERSION,
        Action::Create,
        "nothing published yet: a placeholder page",
    ))
}

fn placeholder_page(project: &str) -> String {
    let project: String = project
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | '&' | '"' | '\''))
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{project}</title></head>\n\
         <body><h1>{project} is deployed</h1><p>Nothing has been published yet. Run \
         <code>cargo cloudfront-host publish</code>.</p></body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_page_cannot_inject_markup_from_the_project_name() {
        let page = placeholder_page("<script>x</script>");
        assert!(!page.contains("<script>"));
        assert!(page.contains("scriptx/script is deployed"));
    }
}
