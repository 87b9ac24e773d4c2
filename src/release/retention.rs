//! Retention: after a switch, remove versions beyond `retention.keep` that are also older than
//! `retention.grace`, never the live or the previous one, and the immutable objects no
//! retained version references. Deletion is batched (1,000 keys a request) and listings are
//! paginated.

use std::collections::HashSet;
use std::time::SystemTime;

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use serde::Serialize;

use super::manifest::{IMMUTABLE_PREFIX, manifest_key};
use super::upload::Counters;
use super::{Release, ReleaseError};
use crate::aws::describe;
use crate::settings::RetentionSettings;

#[derive(Debug, Clone, Default, Serialize)]
pub struct RetentionReport {
    pub kept: Vec<String>,
    pub deleted_versions: Vec<String>,
    pub deleted_objects: u64,
}

pub async fn apply(
    release: &Release,
    settings: &RetentionSettings,
    live: &str,
    previous: Option<&str>,
) -> Result<RetentionReport, ReleaseError> {
    let versions = release.versions().await?; // newest first
    let now = SystemTime::now();
    let young = |created: Option<SystemTime>| {
        created.is_none_or(|c| {
            now.duration_since(c)
                .map_or(true, |age| age < settings.grace)
        })
    };
    // Expired previews go now; the versions the others name stay.
    let previewed = release.versions_kept_by_previews().await?;
    let mut report = RetentionReport::default();
    let mut doomed = Vec::new();
    for (index, m) in versions.iter().enumerate() {
        let keep = index < settings.keep
            || m.version == live
            || Some(m.version.as_str()) == previous
            || previewed.contains(&m.version)
            || young(m.created_time());
        if keep {
            report.kept.push(m.version.clone());
        } else {
            doomed.push(m);
        }
    }
    for m in &doomed {
        // The manifest goes first: from then on the version can never go live again, and a
        // deletion interrupted half-way leaves only unreachable objects behind.
        delete_keys(release, vec![manifest_key(&m.version)]).await?;
        let objects: Vec<String> = release
            .list(&format!("{}/", m.version))
            .await?
            .into_keys()
            .collect();
        report.deleted_objects += objects.len() as u64;
        delete_keys(release, objects).await?;
        report.deleted_versions.push(m.version.clone());
    }

    // Immutable objects that no retained version uses. Young ones stay: a publish running right
    // now may have uploaded them without having written its manifest yet.
    let referenced: HashSet<&str> = versions
        .iter()
        .filter(|m| report.kept.contains(&m.version))
        .flat_map(|m| m.keys())
        .collect();
    let orphans: Vec<String> = release
        .list(IMMUTABLE_PREFIX)
        .await?
        .into_iter()
        .filter(|(key, listed)| !referenced.contains(key.as_str()) && !young(listed.modified))
        .map(|(key, _)| key)
        .collect();
    report.deleted_objects += orphans.len() as u64;
    delete_keys(release, orphans).await?;
    Ok(report)
}

pub async fn delete_keys(release: &Release, keys: Vec<String>) -> Result<(), ReleaseError> {
    for chunk in keys.chunks(1000) {
        let ids: Vec<ObjectIdentifier> = chunk
            .iter()
            .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
            .collect();
        let delete = Delete::builder()
            .set_objects(Some(ids))
            .quiet(true)
            .build()
            .map_err(|e| ReleaseError::Aws {
                action: "build a batch delete".into(),
                message: e.to_string(),
            })?;
        Counters::add(&release.counters.delete, 1);
        let out = release
            .s3
            .delete_objects()
            .bucket(&release.target.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| ReleaseError::Aws {
                action: "delete old objects".into(),
                message: describe(&e),
            })?;
        if let Some(err) = out.errors().first() {
            return Err(ReleaseError::Aws {
                action: format!("delete {}", err.key().unwrap_or("an object")),
                message: err.message().unwrap_or("unknown error").to_string(),
            });
        }
    }
    Ok(())
}
