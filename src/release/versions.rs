//! The versions in the bucket: each complete one has a manifest; listing them, reading one,
//! and rolling the live pointer back to one.

use super::manifest::{self, Manifest, manifest_key};
use super::{Release, ReleaseError};
use crate::aws::AwsError;

impl Release {
    /// The manifest of `version`, if it is complete.
    pub async fn manifest(&self, version: &str) -> Result<Option<Manifest>, ReleaseError> {
        if let Some(known) = self.known_manifest(version) {
            return Ok(Some(known));
        }
        let key = manifest_key(version);
        let Some(bytes) = self.get_bytes(&key).await? else {
            return Ok(None);
        };
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| ReleaseError::Aws(AwsError::new(format!("could not parse {key}"), &e)))?;
        self.remember_manifest(&manifest);
        Ok(Some(manifest))
    }

    fn known_manifest(&self, version: &str) -> Option<Manifest> {
        let known = self.manifests.lock().unwrap_or_else(|e| e.into_inner());
        known.get(version).cloned()
    }

    /// Drops a manifest retention deleted.
    pub(crate) fn forget_manifest(&self, version: &str) {
        let mut known = self.manifests.lock().unwrap_or_else(|e| e.into_inner());
        known.remove(version);
    }

    /// Keeps a manifest this process read or wrote: the next read of it costs no request.
    pub(crate) fn remember_manifest(&self, manifest: &Manifest) {
        let mut known = self.manifests.lock().unwrap_or_else(|e| e.into_inner());
        known.insert(manifest.version.clone(), manifest.clone());
    }

    /// Every complete version, newest first.
    pub async fn versions(&self) -> Result<Vec<Manifest>, ReleaseError> {
        use futures::{StreamExt, TryStreamExt};
        let keys = self.list(manifest::MANIFEST_PREFIX).await?;
        let ids: Vec<String> = keys
            .keys()
            .filter_map(|k| {
                k.strip_prefix(manifest::MANIFEST_PREFIX)?
                    .strip_suffix(".json")
            })
            .map(String::from)
            .collect();
        let mut manifests: Vec<Manifest> = futures::stream::iter(ids)
            .map(|id| async move { self.manifest(&id).await })
            .buffer_unordered(16)
            .try_filter_map(|m| async move { Ok(m) })
            .try_collect()
            .await?;
        manifests.sort_by(newest_first);
        Ok(manifests)
    }

    /// Makes `version` (default: the newest version older than the live one) live.
    pub async fn rollback(
        &self,
        version: Option<&str>,
    ) -> Result<(Option<String>, String), ReleaseError> {
        let live = self.pointer.read().await?;
        let versions = self.versions().await?;
        let target = match version {
            Some(v) => {
                if !versions.iter().any(|m| m.version == v) {
                    return Err(ReleaseError::NoSuchVersion(v.to_string()));
                }
                v.to_string()
            }
            None => {
                let live_id = live.clone().ok_or_else(|| {
                    ReleaseError::NoRollbackTarget(
                        "nothing is live yet, so there is nothing to roll back from".into(),
                    )
                })?;
                let position = versions.iter().position(|m| m.version == live_id);
                let older = match position {
                    Some(i) => versions.get(i + 1),
                    None => versions.first(),
                };
                older.map(|m| m.version.clone()).ok_or_else(|| {
                    ReleaseError::NoRollbackTarget(format!(
                        "no version older than {live_id} is left to roll back to"
                    ))
                })?
            }
        };
        if live.as_deref() != Some(target.as_str()) {
            let manifest = self
                .manifest(&target)
                .await?
                .ok_or_else(|| ReleaseError::NoSuchVersion(target.clone()))?;
            self.go_live(live.as_deref(), &manifest).await?;
        }
        Ok((live, target))
    }
}

/// The order of `versions`: newest first, ties by id.
pub fn newest_first(a: &Manifest, b: &Manifest) -> std::cmp::Ordering {
    b.created
        .cmp(&a.created)
        .then_with(|| b.version.cmp(&a.version))
}
