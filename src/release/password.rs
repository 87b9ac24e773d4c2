//! The site password (`access.site` or `access.previews` = "password"): which one `deploy`
//! stores, from CLOUDFRONT_HOST_PASSWORD or a prompt, as a salted hash in the KeyValueStore.

use crate::project::Project;
use crate::ui::Ui;

/// With `access.site` or `access.previews` = "password": the password to store, from
/// CLOUDFRONT_HOST_PASSWORD or a prompt. `None` when none is needed, or when one is stored
/// and no new one was given (the stored one stays).
pub async fn to_store(
    project: &Project,
    aws: &crate::aws::Aws,
    names: &crate::names::Names,
    ui: &Ui,
) -> anyhow::Result<Option<String>> {
    let options = crate::edge::function::EdgeOptions::from_settings(&project.settings);
    if !options.needs_password() {
        return Ok(None);
    }
    if let Some(p) = std::env::var("CLOUDFRONT_HOST_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    {
        return Ok(Some(p));
    }
    let existing = aws
        .cloudfront()
        .describe_key_value_store()
        .name(names.kvs())
        .send()
        .await
        .ok()
        .and_then(|d| d.key_value_store().map(|k| k.arn().to_string()));
    if let Some(arn) = existing
        && super::previews::stored_password(&aws.kvs(), &arn)
            .await?
            .is_some()
    {
        return Ok(None);
    }
    if !ui.interactive {
        anyhow::bail!(
            "access.site or access.previews is \"password\" and no password is stored yet: set CLOUDFRONT_HOST_PASSWORD (deploy stores only a salted hash of it)"
        );
    }
    let password = ui.password("Password for the site (visitors type it in the browser)")?;
    Ok(Some(password))
}
