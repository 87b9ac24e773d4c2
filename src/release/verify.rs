//! Checking the bucket against a manifest, and sending again what is missing or different.
//!
//! A listing gives every object's size and ETag; for a single-part upload (SSE-S3 or none) the
//! ETag is the MD5 the manifest records. Any other ETag (multipart, SSE-KMS, other bytes, or a
//! manifest written before MD5s were recorded) is settled by the SHA-256 stored in the
//! object's metadata, one HEAD each.

use std::collections::{BTreeMap, HashMap};

use super::compress;
use super::manifest::Manifest;
use futures::{StreamExt, TryStreamExt};

use super::objects::{HEADS_AT_ONCE, Listed};
use super::plan::put;
use super::scan::{Encoding, Site};
use super::upload::{Placed, Task};
use super::{PublishOptions, Release, ReleaseError};

/// One object a manifest says is in place.
struct Expected<'a> {
    key: &'a str,
    size: u64,
    sha256: &'a str,
    md5: Option<&'a str>,
    path: &'a str,
    encoding: Option<Encoding>,
}

fn expected(manifest: &Manifest) -> Vec<Expected<'_>> {
    let mut out = Vec::new();
    for f in &manifest.files {
        out.push(Expected {
            key: &f.key,
            size: f.size,
            sha256: &f.sha256,
            md5: f.md5.as_deref(),
            path: &f.path,
            encoding: None,
        });
        for (enc, v) in &f.encodings {
            out.push(Expected {
                key: &v.key,
                size: v.size,
                sha256: &v.sha256,
                md5: v.md5.as_deref(),
                path: &f.path,
                encoding: Some(*enc),
            });
        }
    }
    out
}

fn unplaced<'a>(keys: Vec<&'a str>, placed: &Placed) -> Vec<&'a str> {
    keys.into_iter().filter(|k| !placed.contains(*k)).collect()
}

/// How many times a check may find something missing and send it again before giving up (a
/// retention running at the same time can remove an object once; it cannot keep doing so,
/// because this version's manifest, written before the first check, now references it).
const ROUNDS: usize = 3;

impl Release {
    /// Checks every object of `manifest` and sends again what is missing or different, from
    /// the local `site` (the same files: the caller compared them). Returns how many objects
    /// were sent. `placed` are keys this publish wrote and S3 confirmed: nothing removes them
    /// while it runs (retention leaves a claimed folder and young objects alone), so they are
    /// not read again.
    pub async fn complete(
        &self,
        manifest: &Manifest,
        site: &Site,
        options: &PublishOptions,
        mut placed: Placed,
    ) -> Result<usize, ReleaseError> {
        let mut sent = 0;
        for _ in 0..ROUNDS {
            let bad = self.check_bucket(manifest, &placed).await?;
            if bad.is_empty() {
                return Ok(sent);
            }
            // `_scratch` holds siblings compressed again; it lives until the uploads read them.
            let (tasks, _scratch) = self.repair_tasks(manifest, &bad, site, options).await?;
            sent += tasks.len();
            placed.extend(self.send_tasks(tasks, 0, options, true).await?);
        }
        match self.check_bucket(manifest, &placed).await?.first() {
            None => Ok(sent),
            Some(key) => Err(ReleaseError::Verification { key: key.clone() }),
        }
    }

    /// The keys of `manifest` that are missing from the bucket or hold other bytes, `placed`
    /// aside.
    pub async fn check_bucket(
        &self,
        manifest: &Manifest,
        placed: &Placed,
    ) -> Result<Vec<String>, ReleaseError> {
        // One read per folder: `_immutable/`, the version's own, and the older versions'
        // folders that hold its unchanged shards.
        let mut folders: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for key in unplaced(manifest.sorted_keys(), placed) {
            let end = key.find('/').map_or(0, |i| i + 1);
            folders.entry(&key[..end]).or_default().push(key);
        }
        let listed: HashMap<String, Listed> = futures::future::try_join_all(
            folders.iter().map(|(folder, keys)| self.stat(folder, keys)),
        )
        .await?
        .into_iter()
        .flatten()
        .collect();
        let mut bad = Vec::new();
        let mut unsure = Vec::new();
        for e in expected(manifest)
            .into_iter()
            .filter(|e| !placed.contains(e.key))
        {
            match listed.get(e.key) {
                None => bad.push(e.key.to_string()),
                Some(l) if l.size != e.size => bad.push(e.key.to_string()),
                Some(l) if e.md5.is_some_and(|m| m == l.etag) => {}
                // Not the MD5: a multipart upload, a bucket encrypted with SSE-KMS (whose ETags
                // are not MD5s), a listing without ETags, or other bytes. The SHA-256 stored
                // with the object decides, one HEAD each, side by side.
                Some(_) => unsure.push(e),
            }
        }
        let mut heads = futures::stream::iter(unsure)
            .map(|e| async move {
                let stored = self.head(e.key).await?;
                Ok::<_, ReleaseError>((e.key, stored.sha256.as_deref() == Some(e.sha256)))
            })
            .buffer_unordered(HEADS_AT_ONCE);
        while let Some((key, same)) = heads.try_next().await? {
            if !same {
                bad.push(key.to_string());
            }
        }
        Ok(bad)
    }

    async fn repair_tasks(
        &self,
        manifest: &Manifest,
        bad: &[String],
        site: &Site,
        options: &PublishOptions,
    ) -> Result<(Vec<Task>, tempfile::TempDir), ReleaseError> {
        let scratch = compress::scratch_dir()?;
        let mut tasks = Vec::new();
        for e in expected(manifest)
            .into_iter()
            .filter(|e| bad.iter().any(|k| k == e.key))
        {
            let file = site
                .files
                .iter()
                .find(|f| f.path == e.path)
                .ok_or_else(|| ReleaseError::Verification {
                    key: e.key.to_string(),
                })?;
            let (source, digests) = match e.encoding {
                None => (file.abs.clone(), file.digests.clone()),
                Some(enc) => {
                    compress::sibling(file, enc, options.brotli_level, scratch.path()).await?
                }
            };
            // Only the bytes the manifest names may go under its key.
            if digests.sha256 != e.sha256 {
                return Err(ReleaseError::Verification {
                    key: e.key.to_string(),
                });
            }
            tasks.push(put(&source, e.key, file, e.encoding, &digests));
        }
        Ok((tasks, scratch))
    }
}
