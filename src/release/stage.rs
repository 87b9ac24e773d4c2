//! Staging a version: claim its id, decide what each file needs (plan.rs), send that, write
//! the manifest once, then check the bucket against it. The same path serves every key a
//! version can be pointed at (`live`, previews).

use std::collections::HashMap;

use futures::{StreamExt, TryStreamExt};

use super::claim::Claimed;
use super::compress;
use super::manifest::{IMMUTABLE_PREFIX, Manifest, manifest_key};
use super::objects::{HEADS_AT_ONCE, Listed, PutOnce, Stored, to_json};
use super::plan::{self, Action, Bucket};
use super::scan::Site;
use super::{PublishOptions, Release, ReleaseError};

/// A version whose every object is in place and checked, with its manifest written: ready to
/// be pointed at by `live` (or, for previews, another key).
#[derive(Debug, Clone)]
pub struct Staged {
    pub manifest: Manifest,
    pub already_published: bool,
    pub uploaded: usize,
    pub copied: usize,
    pub unchanged: usize,
    pub repaired: usize,
}

/// What a publish reads before it writes anything: the version's own manifest (a re-run of a
/// published version), the live version's, and the listings of the version's folder and of
/// `_immutable/`. None of it needs the scan, so it is read while the files are hashed.
pub struct Prefetched {
    existing: Option<Manifest>,
    live: Option<Manifest>,
    version_objects: HashMap<String, Listed>,
    immutable_objects: HashMap<String, Listed>,
}

impl Release {
    /// Reads what [`Release::stage`] decides from: two round trips whatever the bucket holds
    /// (the listings run as ranges side by side, split at the keys the manifests name).
    pub async fn prefetch(
        &self,
        version: &str,
        live_before: Option<&str>,
    ) -> Result<Prefetched, ReleaseError> {
        let live = async {
            match live_before {
                Some(v) if v != version => self.manifest(v).await,
                _ => Ok(None),
            }
        };
        // (A re-run of the live version is `existing`: staging it only checks the bucket.)
        let (existing, live) = futures::try_join!(self.manifest(version), live)?;
        // A new version's folder is empty (its id was never claimed): one request tells.
        let version_hints = existing
            .as_ref()
            .map(|m| m.sorted_keys().1)
            .unwrap_or_default();
        let mut immutable_hints: Vec<&str> = live
            .iter()
            .chain(&existing)
            .flat_map(|m| m.sorted_keys().0)
            .collect();
        immutable_hints.sort_unstable();
        immutable_hints.dedup();
        let version_prefix = format!("{version}/");
        let (version_objects, immutable_objects) = futures::try_join!(
            self.list_hinted(&version_prefix, &version_hints),
            self.list_hinted(IMMUTABLE_PREFIX, &immutable_hints)
        )?;
        Ok(Prefetched {
            existing,
            live,
            version_objects,
            immutable_objects,
        })
    }

    /// Claims the version (write-once), sends what the bucket lacks, writes the manifest once,
    /// then checks the bucket against it and re-sends what is missing or different. An
    /// existing version with the same files is only checked and repaired; one with other files
    /// is refused before anything is written. `pre` is [`Release::prefetch`] of the same
    /// version and live version; `claimed`, how claiming the version for `site` ended (sent
    /// while the bucket was read).
    pub async fn stage(
        &self,
        options: &PublishOptions,
        site: &Site,
        pre: Prefetched,
        claimed: Result<Claimed, ReleaseError>,
    ) -> Result<Staged, ReleaseError> {
        if let Some(existing) = pre.existing {
            if !plan::same_site(&existing, site, &options.version) {
                return Err(ReleaseError::VersionExists {
                    version: options.version.clone(),
                });
            }
            let repaired = self.complete(&existing, site, options).await?;
            return Ok(Staged {
                unchanged: existing.files.len(),
                manifest: existing,
                already_published: true,
                uploaded: 0,
                copied: 0,
                repaired,
            });
        }
        // Before the first write: a version id is write-once. The listings may predate the
        // claim; anything they got wrong is found by the check after the manifest.
        claimed?;
        let Prefetched {
            live,
            version_objects,
            immutable_objects,
            ..
        } = pre;
        let needed = plan::heads_needed(site, &options.version, live.as_ref(), &immutable_objects);
        let heads = self.heads(needed).await?;
        let bucket = Bucket {
            version: &version_objects,
            immutable: &immutable_objects,
            heads: &heads,
        };
        let mut plan = plan::plan(site, &options.version, live.as_ref(), &bucket)?;
        let scratch = compress::scratch_dir()?;
        for c in std::mem::take(&mut plan.compress) {
            let file = &site.files[c.file];
            let (path, digests) =
                compress::sibling(file, c.encoding, options.brotli_level, scratch.path()).await?;
            plan.add_sibling(site, &c, &path, &digests);
        }

        let (uploaded, copied, unchanged) = (
            plan.count(Action::Upload),
            plan.count(Action::Copy),
            plan.count(Action::Unchanged),
        );
        let tasks = std::mem::take(&mut plan.tasks);
        self.send_tasks(tasks, unchanged, options, options.quiet)
            .await?;

        let mut files = plan.entries;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let manifest = Manifest {
            format: 1,
            version: options.version.clone(),
            created: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            git: options.git.clone(),
            files,
        };
        let manifest = self.write_manifest(&manifest).await?;
        // Checked after the manifest exists (from then on retention counts its references):
        // whatever a concurrent retention removed before that is sent again here.
        let repaired = self.complete(&manifest, site, options).await?;
        Ok(Staged {
            manifest,
            already_published: false,
            uploaded,
            copied,
            unchanged,
            repaired,
        })
    }

    /// What a HEAD says about each of `keys`.
    async fn heads(&self, keys: Vec<String>) -> Result<HashMap<String, Stored>, ReleaseError> {
        futures::stream::iter(keys)
            .map(|key| async move {
                let stored = self.head(&key).await?;
                Ok::<_, ReleaseError>((key, stored))
            })
            .buffer_unordered(HEADS_AT_ONCE)
            .try_collect()
            .await
    }

    /// Writes the manifest once (`If-None-Match: *`). When one is there already (a concurrent
    /// publish of the same files, or this request's own first attempt whose answer was lost),
    /// that one is kept if it describes the same files, and the version is refused if not.
    async fn write_manifest(&self, manifest: &Manifest) -> Result<Manifest, ReleaseError> {
        let key = manifest_key(&manifest.version);
        let body = to_json(&key, manifest)?;
        match self
            .put_once(&key, body, Some("no-cache"), &format!("write {key}"))
            .await?
        {
            PutOnce::Written => {
                self.remember_manifest(manifest);
                Ok(manifest.clone())
            }
            PutOnce::Exists => match self.manifest(&manifest.version).await? {
                Some(stored) if stored.same_files(manifest) => Ok(stored),
                _ => Err(ReleaseError::VersionExists {
                    version: manifest.version.clone(),
                }),
            },
        }
    }
}
