//! Staging a version: claim its id, decide what each file needs (plan.rs), send that, write
//! the manifest once, then check the bucket against it. The same path serves every key a
//! version can be pointed at (`live`, previews).

use std::collections::HashMap;
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};

use super::claim::Claimed;
use super::compress;
use super::manifest::{IMMUTABLE_PREFIX, Manifest, manifest_key, object_key};
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
    /// Seconds spent sending, and then writing the manifest and checking the bucket.
    pub send_seconds: f64,
    pub check_seconds: f64,
}

/// What a publish reads before it writes anything: the version's own manifest (a re-run of a
/// published version) and the live version's, read while the files are hashed, and what
/// `_immutable/` holds under the site's content-hashed names, read beside the claim.
pub struct Prefetched {
    pub existing: Option<Manifest>,
    pub live: Option<Manifest>,
    pub immutable_objects: HashMap<String, Listed>,
}

impl Release {
    /// The manifests [`Release::stage`] decides from: `version`'s own and the live one's.
    pub async fn manifests(
        &self,
        version: &str,
        live_before: Option<&str>,
    ) -> Result<(Option<Manifest>, Option<Manifest>), ReleaseError> {
        let live = async {
            match live_before {
                Some(v) if v != version => self.manifest(v).await,
                _ => Ok(None),
            }
        };
        // (A re-run of the live version is `existing`: staging it only checks the bucket.)
        futures::try_join!(self.manifest(version), live)
    }

    /// What `_immutable/` holds under the names `site` would store there (siblings included):
    /// only these decide anything, so a few HEADs replace a listing of everything shared.
    pub async fn stat_immutable(
        &self,
        site: &Site,
        version: &str,
    ) -> Result<HashMap<String, Listed>, ReleaseError> {
        let mut keys: Vec<String> = Vec::new();
        for f in site.files.iter().filter(|f| f.hashed) {
            let key = object_key(version, &f.path, true);
            if f.precompress {
                for enc in plan::SIBLINGS {
                    keys.push(format!("{key}{}", enc.suffix()));
                }
            }
            keys.push(key);
        }
        keys.sort_unstable();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.stat(IMMUTABLE_PREFIX, &keys).await
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
        let started = Instant::now();
        if let Some(existing) = pre.existing {
            if !plan::same_site(&existing, site, &options.version) {
                return Err(ReleaseError::VersionExists {
                    version: options.version.clone(),
                });
            }
            let repaired = self
                .complete(&existing, site, options, Default::default())
                .await?;
            return Ok(Staged {
                unchanged: existing.files.len(),
                manifest: existing,
                already_published: true,
                uploaded: 0,
                copied: 0,
                repaired,
                send_seconds: 0.0,
                check_seconds: started.elapsed().as_secs_f64(),
            });
        }
        // Before the first write: a version id is write-once. The reads may predate the claim;
        // anything they got wrong is found by the check after the manifest.
        let claimed = claimed?;
        let Prefetched {
            live,
            immutable_objects,
            ..
        } = pre;
        // Only an earlier run of this version (it holds the claim) can have left objects in
        // its folder: a new claim means an empty folder, and no request to find that out.
        let version_objects = match claimed {
            Claimed::New => HashMap::new(),
            Claimed::SameFiles => self.list(&format!("{}/", options.version)).await?,
        };
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
        let mut placed = self
            .send_tasks(tasks, unchanged, options, options.quiet)
            .await?;
        // The unchanged shards stay in the folders the live version's manifest references:
        // retention keeps them while that manifest, or this publish's claim naming it as its
        // base, exists (see retention.rs), so they are not read back one by one.
        placed.extend(std::mem::take(&mut plan.shared));
        let sent = Instant::now();

        let mut files = plan.entries;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let manifest = Manifest {
            format: 1,
            version: options.version.clone(),
            created: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            git: options.git.clone(),
            shards: plan.shards,
            files,
        };
        let manifest = self.write_manifest(&manifest).await?;
        // Checked after the manifest exists (from then on retention counts its references):
        // whatever a concurrent retention removed before that is sent again here.
        let repaired = self.complete(&manifest, site, options, placed).await?;
        Ok(Staged {
            manifest,
            already_published: false,
            uploaded,
            copied,
            unchanged,
            repaired,
            send_seconds: sent.duration_since(started).as_secs_f64(),
            check_seconds: sent.elapsed().as_secs_f64(),
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
