//! Releases: scan a built site, upload it as a new version, write its manifest, flip the live
//! pointer, apply retention. The same code path serves laptops, any CI and the pipeline.

pub mod claim;
pub mod compress;
pub mod hashed;
pub mod limiter;
pub mod manifest;
pub mod password;
pub mod pointer;
pub mod previews;
pub mod retention;
pub mod scan;
pub mod site;
pub mod target;
pub mod upload;
pub mod verify;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::aws::describe;
use crate::settings::RetentionSettings;
use manifest::{FileEntry, GitInfo, IMMUTABLE_PREFIX, Manifest, Variant, manifest_key, object_key};
use pointer::LivePointer;
use scan::{Digests, Encoding, ScanRules, Site, SiteFile};
use upload::{Counters, Engine, Progress, Requests, Task, copy_source};

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("site directory {}: {message}", .dir.display())]
    SiteDir { dir: PathBuf, message: String },
    #[error("cannot read {}: {message}", .path.display())]
    Unreadable { path: PathBuf, message: String },
    #[error("{} links to {}, outside the site directory; refusing to publish it", .link.display(), .target.display())]
    SymlinkEscapes { link: PathBuf, target: PathBuf },
    #[error("{path}: `_cloudfront-host/` is reserved for the tool's own state and is never served")]
    ReservedPath { path: String },
    #[error("could not {action}: {message}")]
    Aws { action: String, message: String },
    #[error(
        "{key} already exists in the shared immutable area with different content. Content-hashed \
         names must never change their bytes; rebuild (the hash in the name will change) or rename the file"
    )]
    ImmutableConflict { key: String },
    #[error("{key} was stored, but its size or SHA-256 does not match what was sent")]
    Verification { key: String },
    #[error(
        "version {version} already exists with different content; nothing was changed. Publish \
         under another --version, or commit your changes so the commit id changes"
    )]
    VersionExists { version: String },
    #[error(
        "version {version} was claimed by another publish with different files (at {since}); this \
         one stopped before writing anything. A version is write-once: publish under another \
         --version, or commit your changes so the commit id changes"
    )]
    VersionClaimed { version: String, since: String },
    #[error("{}: the file name is not valid UTF-8, so it cannot be an S3 key or a URL; rename it", .path.display())]
    NonUtf8Name { path: PathBuf },
    #[error("`publish.exclude`: {message}")]
    BadExclude { message: String },
    #[error(
        "could not make {key} name {wanted}, and reading it back failed too, so what is live now \
         is unknown (write: {}; read: {read}). Check with `cargo cloudfront-host versions`",
        .write.as_deref().unwrap_or("no error")
    )]
    PointerUnknown {
        key: String,
        wanted: String,
        write: Option<String>,
        read: String,
    },
    #[error(
        "could not write `{key}` to the KeyValueStore: {message}; read back: `{key}` still names {}",
        .still.as_deref().unwrap_or("nothing")
    )]
    FlipFailed {
        key: String,
        still: Option<String>,
        message: String,
    },
    #[error(
        "{version} is live (read back), but the error page {ERROR_PAGE} could not be updated: \
         {message}. Run the same publish again to finish it"
    )]
    AfterFlip { version: String, message: String },
    #[error(
        "another deploy changed the live version while this one ran (expected {}, now {}); \
         nothing was overwritten. Check `cargo cloudfront-host versions`, then publish or roll back again",
        .expected.as_deref().unwrap_or("none"), .now_live.as_deref().unwrap_or("none")
    )]
    Conflict {
        expected: Option<String>,
        now_live: Option<String>,
    },
    #[error(
        "version {0} has no manifest in the bucket (never published completely, or removed by retention); see `cargo cloudfront-host versions`"
    )]
    NoSuchVersion(String),
    #[error("{0}")]
    NoRollbackTarget(String),
    #[error("{0}")]
    InvalidVersion(String),
    #[error(
        "the site is not deployed yet ({what} is missing); run `cargo cloudfront-host deploy` first"
    )]
    NotDeployed { what: String },
}

/// The site's error page: served (by CloudFront's custom error response, `static` routing)
/// from this fixed key at the bucket root.
pub const ERROR_PAGE: &str = "404.html";

/// The bucket and the KeyValueStore of a deployed site.
#[derive(Debug, Clone)]
pub struct Target {
    pub bucket: String,
    pub kvs_arn: String,
}

pub struct Release {
    pub s3: aws_sdk_s3::Client,
    pub pointer: LivePointer,
    pub target: Target,
    pub counters: Arc<Counters>,
}

#[derive(Debug, Clone)]
pub struct PublishOptions {
    pub dir: PathBuf,
    pub version: String,
    pub switch: bool,
    pub precompress: Vec<String>,
    pub brotli_level: u32,
    pub concurrency: usize,
    pub multipart_threshold: u64,
    pub retention: RetentionSettings,
    pub git: GitInfo,
    pub quiet: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublishReport {
    pub version: String,
    pub live_before: Option<String>,
    pub live: Option<String>,
    /// The version already existed with the same content: it was only switched to.
    pub already_published: bool,
    pub files: usize,
    pub bytes: u64,
    pub uploaded: usize,
    pub copied: usize,
    pub unchanged: usize,
    pub bytes_sent: u64,
    /// Objects that were missing or different in the bucket and were sent again.
    pub repaired: usize,
    /// Files and directories of the build output that were not published, and why.
    pub left_out: Vec<scan::LeftOutFile>,
    pub requests: Requests,
    /// The adaptive window of the uploads (its ceiling is `upload.concurrency`).
    pub concurrency: limiter::Summary,
    pub seconds: f64,
    pub retention: Option<retention::RetentionReport>,
}

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

/// What happens to one site file.
enum Disposition {
    Upload,
    Copy(FileEntry),
    Unchanged(FileEntry),
}

impl Release {
    pub fn new(aws: &crate::aws::Aws, target: Target) -> Self {
        Release {
            s3: aws.s3(),
            pointer: LivePointer::new(aws.kvs(), target.kvs_arn.clone()),
            target,
            counters: Arc::new(Counters::default()),
        }
    }

    pub async fn publish(&self, options: &PublishOptions) -> Result<PublishReport, ReleaseError> {
        self.publish_with(options, &ScanRules::default()).await
    }

    /// Stages the site as `options.version` (claim, upload, manifest, check), then, with
    /// `switch`, makes it live and applies retention.
    pub async fn publish_with(
        &self,
        options: &PublishOptions,
        rules: &ScanRules,
    ) -> Result<PublishReport, ReleaseError> {
        let started = Instant::now();
        manifest::validate_version_id(&options.version).map_err(ReleaseError::InvalidVersion)?;
        // Everything is read before the first request: a broken site changes nothing.
        let site = scan::scan_with(&options.dir, &options.precompress, rules)?;
        let live_before = self.pointer.read().await?;
        let staged = self.stage(options, &site, live_before.as_deref()).await?;
        let version = &options.version;
        let mut live = live_before.clone();
        let mut retention_report = None;
        // A re-run of the live version finishes its post-flip step too.
        if options.switch || live_before.as_deref() == Some(version.as_str()) {
            self.go_live(live_before.as_deref(), &staged.manifest)
                .await?;
            live = Some(version.clone());
            if live_before.as_deref() != Some(version.as_str()) {
                retention_report = Some(
                    retention::apply(self, &options.retention, version, live_before.as_deref())
                        .await?,
                );
            }
        }
        Ok(PublishReport {
            version: version.clone(),
            live_before,
            live,
            already_published: staged.already_published,
            files: staged.manifest.files.len(),
            bytes: staged.manifest.bytes(),
            uploaded: staged.uploaded,
            copied: staged.copied,
            unchanged: staged.unchanged,
            bytes_sent: self
                .counters
                .bytes_sent
                .load(std::sync::atomic::Ordering::Relaxed),
            repaired: staged.repaired,
            left_out: site.left_out.clone(),
            requests: self.counters.snapshot(),
            concurrency: self.counters.concurrency(),
            seconds: started.elapsed().as_secs_f64(),
            retention: retention_report,
        })
    }

    /// The upload path, shared by every key a version can be pointed at: claims the version
    /// (write-once), sends what the bucket lacks, writes the manifest once, then checks the
    /// bucket against it and re-sends what is missing or different. An existing version with
    /// the same files is only checked and repaired; one with other files is refused before
    /// anything is written.
    pub async fn stage(
        &self,
        options: &PublishOptions,
        site: &Site,
        live_before: Option<&str>,
    ) -> Result<Staged, ReleaseError> {
        if let Some(existing) = self.manifest(&options.version).await? {
            let fresh = manifest_outline(site, &options.version);
            if !files_match(&existing, &fresh) {
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
        self.claim(&claim::Claim::for_site(site, &options.version))
            .await?;
        let live_manifest = match live_before {
            Some(v) => self.manifest(v).await?,
            None => None,
        };

        let version_prefix = format!("{}/", options.version);
        let (version_objects, immutable_objects) =
            futures::try_join!(self.list(&version_prefix), self.list(IMMUTABLE_PREFIX))?;
        let scratch = tempfile::tempdir().map_err(|e| ReleaseError::Unreadable {
            path: std::env::temp_dir(),
            message: e.to_string(),
        })?;

        let mut entries = Vec::with_capacity(site.files.len());
        let mut tasks = Vec::new();
        let (mut uploaded, mut copied, mut unchanged) = (0, 0, 0);
        for file in &site.files {
            let key = object_key(&options.version, &file.path, file.hashed);
            let existing = if file.hashed {
                &immutable_objects
            } else {
                &version_objects
            };
            match self
                .disposition(file, &key, existing, live_manifest.as_ref())
                .await?
            {
                Disposition::Unchanged(entry) => {
                    unchanged += 1;
                    entries.push(entry);
                }
                Disposition::Copy(entry) => {
                    copied += 1;
                    let live_entry = live_manifest.as_ref().and_then(|m| m.file(&file.path));
                    if let Some(live_entry) = live_entry {
                        tasks.push(Task::Copy {
                            from: live_entry.key.clone(),
                            key: entry.key.clone(),
                            size: entry.size,
                        });
                        for (enc, variant) in &entry.encodings {
                            if let Some(from) = live_entry.encodings.get(enc) {
                                tasks.push(Task::Copy {
                                    from: from.key.clone(),
                                    key: variant.key.clone(),
                                    size: variant.size,
                                });
                            }
                        }
                    }
                    entries.push(entry);
                }
                Disposition::Upload => {
                    let mut entry = base_entry(file, key.clone());
                    // An earlier, interrupted run of this same version may have sent it already.
                    if already_sent(existing, &key, &file.digests) {
                        unchanged += 1;
                    } else {
                        uploaded += 1;
                        tasks.push(put_task(&file.abs, &key, file, None, &file.digests));
                    }
                    if file.precompress {
                        for enc in [Encoding::Br, Encoding::Gzip] {
                            let (path, digests) = match file.prebuilt.get(&enc) {
                                Some((path, digests)) => (path.clone(), digests.clone()),
                                None => {
                                    let source = file.abs.clone();
                                    let out = scratch.path().to_path_buf();
                                    let level = options.brotli_level;
                                    tokio::task::spawn_blocking(move || {
                                        compress::compress(&source, enc, level, &out)
                                    })
                                    .await
                                    .map_err(|e| {
                                        ReleaseError::Unreadable {
                                            path: file.abs.clone(),
                                            message: e.to_string(),
                                        }
                                    })??
                                }
                            };
                            let variant_key = format!("{key}{}", enc.suffix());
                            if !already_sent(existing, &variant_key, &digests) {
                                tasks.push(put_task(
                                    &path,
                                    &variant_key,
                                    file,
                                    Some(enc.header()),
                                    &digests,
                                ));
                            }
                            entry.encodings.insert(
                                enc,
                                Variant {
                                    key: variant_key,
                                    size: digests.size,
                                    sha256: digests.sha256,
                                    md5: Some(digests.md5),
                                },
                            );
                        }
                    }
                    entries.push(entry);
                }
            }
        }

        let progress = Progress::new(&tasks, unchanged as u64, options.quiet);
        let engine = Engine {
            s3: self.s3.clone(),
            bucket: self.target.bucket.clone(),
            concurrency: options.concurrency,
            multipart_threshold: options.multipart_threshold,
            counters: self.counters.clone(),
        };
        let result = engine.run(tasks, &progress).await;
        progress.finish();
        result?;

        entries.sort_by(|a, b| a.path.cmp(&b.path));
        let manifest = Manifest {
            format: 1,
            version: options.version.clone(),
            created: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            git: options.git.clone(),
            files: entries,
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

    async fn disposition(
        &self,
        file: &SiteFile,
        key: &str,
        existing: &HashMap<String, Listed>,
        live: Option<&Manifest>,
    ) -> Result<Disposition, ReleaseError> {
        let live_entry = live
            .and_then(|m| m.file(&file.path))
            .filter(|e| e.sha256 == file.digests.sha256);
        if file.hashed {
            // Reuse the live entry only when it also has the siblings this publish serves (the
            // `precompress` setting may have changed since).
            let reusable = |e: &&FileEntry| {
                e.key == key
                    && existing.contains_key(key)
                    && (!file.precompress || e.encodings.len() == 2)
            };
            if let Some(entry) = live_entry.filter(reusable) {
                let mut entry = entry.clone();
                entry.md5 = Some(file.digests.md5.clone());
                return Ok(Disposition::Unchanged(entry));
            }
            if existing.contains_key(key) {
                if !self.same_object(key, existing, &file.digests).await? {
                    return Err(ReleaseError::ImmutableConflict {
                        key: key.to_string(),
                    });
                }
                // Stored by an older version: reuse its siblings when they are there too.
                let mut entry = base_entry(file, key.to_string());
                if file.precompress {
                    for enc in [Encoding::Br, Encoding::Gzip] {
                        let variant_key = format!("{key}{}", enc.suffix());
                        match self.stored_variant(&variant_key, existing).await? {
                            Some(v) => {
                                entry.encodings.insert(enc, v);
                            }
                            None => return Ok(Disposition::Upload),
                        }
                    }
                }
                return Ok(Disposition::Unchanged(entry));
            }
            return Ok(Disposition::Upload);
        }
        if let Some(live_entry) = live_entry {
            let siblings_ok = if file.precompress {
                live_entry.encodings.len() == 2
            } else {
                live_entry.encodings.is_empty()
            };
            if siblings_ok {
                let mut entry = live_entry.clone();
                entry.key = key.to_string();
                entry.md5 = Some(file.digests.md5.clone());
                for (enc, variant) in entry.encodings.iter_mut() {
                    variant.key = format!("{key}{}", enc.suffix());
                }
                let resumed = existing
                    .get(key)
                    .is_some_and(|l| l.etag == file.digests.md5)
                    && entry
                        .encodings
                        .values()
                        .all(|v| existing.contains_key(&v.key));
                return Ok(if resumed {
                    Disposition::Unchanged(entry)
                } else {
                    Disposition::Copy(entry)
                });
            }
        }
        Ok(Disposition::Upload)
    }

    /// True when the stored object has these bytes: the listing's ETag is the MD5 for a
    /// single-part object; a multipart one carries our SHA-256 in its metadata.
    async fn same_object(
        &self,
        key: &str,
        existing: &HashMap<String, Listed>,
        digests: &Digests,
    ) -> Result<bool, ReleaseError> {
        let Some(listed) = existing.get(key) else {
            return Ok(false);
        };
        if !listed.etag.contains('-') {
            return Ok(listed.etag == digests.md5 && listed.size == digests.size);
        }
        let head = self.head(key).await?;
        Ok(head.metadata().and_then(|m| m.get("sha256")) == Some(&digests.sha256))
    }

    async fn head(
        &self,
        key: &str,
    ) -> Result<aws_sdk_s3::operation::head_object::HeadObjectOutput, ReleaseError> {
        Counters::add(&self.counters.head, 1);
        self.s3
            .head_object()
            .bucket(&self.target.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| ReleaseError::Aws {
                action: format!("read {key}"),
                message: describe(&e),
            })
    }

    async fn stored_variant(
        &self,
        key: &str,
        existing: &HashMap<String, Listed>,
    ) -> Result<Option<Variant>, ReleaseError> {
        if !existing.contains_key(key) {
            return Ok(None);
        }
        let head = self.head(key).await?;
        Ok(head
            .metadata()
            .and_then(|m| m.get("sha256"))
            .map(|sha| Variant {
                key: key.to_string(),
                size: head.content_length().unwrap_or(0) as u64,
                sha256: sha.clone(),
                md5: head
                    .e_tag()
                    .map(|t| t.trim_matches('"').to_string())
                    .filter(|t| !t.contains('-')),
            }))
    }

    pub async fn manifest(&self, version: &str) -> Result<Option<Manifest>, ReleaseError> {
        let key = manifest_key(version);
        let Some(bytes) = self.get_bytes(&key).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| ReleaseError::Aws {
                action: format!("parse {key}"),
                message: e.to_string(),
            })
    }

    /// Writes the manifest once (`If-None-Match: *`). When one is there already (a concurrent
    /// publish of the same files, or this request's own first attempt whose answer was lost),
    /// that one is kept if it describes the same files, and the version is refused if not.
    async fn write_manifest(&self, manifest: &Manifest) -> Result<Manifest, ReleaseError> {
        let key = manifest_key(&manifest.version);
        let body = serde_json::to_vec_pretty(manifest).map_err(|e| ReleaseError::Aws {
            action: "serialize the manifest".into(),
            message: e.to_string(),
        })?;
        let mut attempt = 0;
        let put = loop {
            Counters::add(&self.counters.put, 1);
            let put = self
                .s3
                .put_object()
                .bucket(&self.target.bucket)
                .key(&key)
                .if_none_match("*")
                .content_type("application/json")
                .cache_control("no-cache")
                .body(body.clone().into())
                .send()
                .await;
            // 409: another conditional write of this key was in progress; S3 says to retry.
            match put {
                Err(e) if claim::is_conditional_conflict(&e) && attempt < 5 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                }
                other => break other,
            }
        };
        match put {
            Ok(_) => Ok(manifest.clone()),
            Err(e) if claim::is_precondition_failed(&e) => {
                match self.manifest(&manifest.version).await? {
                    Some(stored) if same_files(&stored, manifest) => Ok(stored),
                    _ => Err(ReleaseError::VersionExists {
                        version: manifest.version.clone(),
                    }),
                }
            }
            Err(e) => Err(ReleaseError::Aws {
                action: format!("write {key}"),
                message: describe(&e),
            }),
        }
    }

    /// Every object under `prefix`, all pages.
    pub async fn list(&self, prefix: &str) -> Result<HashMap<String, Listed>, ReleaseError> {
        let mut out = HashMap::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.target.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            Counters::add(&self.counters.list, 1);
            let page = page.map_err(|e| ReleaseError::Aws {
                action: format!("list s3://{}/{prefix}", self.target.bucket),
                message: describe(&e),
            })?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    out.insert(
                        key.to_string(),
                        Listed {
                            size: object.size().unwrap_or(0) as u64,
                            etag: object
                                .e_tag()
                                .unwrap_or_default()
                                .trim_matches('"')
                                .to_string(),
                            modified: object
                                .last_modified()
                                .and_then(|t| std::time::SystemTime::try_from(*t).ok()),
                        },
                    );
                }
            }
        }
        Ok(out)
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
        manifests.sort_by(|a, b| {
            b.created
                .cmp(&a.created)
                .then_with(|| b.version.cmp(&a.version))
        });
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

    /// What is live now, read (never assumed: a failure can come after the flip), said
    /// relative to `before` (what was read before the failed operation started).
    pub async fn live_now(&self, before: Option<Option<String>>) -> String {
        match (self.pointer.read().await, before) {
            (Ok(now), Some(before)) if now == before => format!(
                "the live version is unchanged: still {} (read back)",
                now.as_deref().unwrap_or("nothing")
            ),
            (Ok(now), _) => format!(
                "live is now {} (read back)",
                now.as_deref().unwrap_or("nothing")
            ),
            (Err(read), _) => format!("what is live could not be read back ({read})"),
        }
    }

    /// Flips the live pointer to `manifest`'s version (compare-and-swap on `expected`, decided
    /// by reading it back), then finishes the post-flip step.
    pub async fn go_live(
        &self,
        expected: Option<&str>,
        manifest: &Manifest,
    ) -> Result<(), ReleaseError> {
        self.pointer.flip(expected, &manifest.version).await?;
        self.finish_live(manifest)
            .await
            .map_err(|message| ReleaseError::AfterFlip {
                version: manifest.version.clone(),
                message,
            })
    }

    /// Puts the live version's `404.html` at the bucket root: CloudFront fetches custom error
    /// pages without running the viewer-request function, so the error page cannot follow the
    /// pointer by itself. A version without one removes the old copy. Checked first, so a
    /// re-run only writes when an earlier run did not finish.
    pub async fn finish_live(&self, manifest: &Manifest) -> Result<(), String> {
        let bucket = &self.target.bucket;
        let current = match self
            .s3
            .head_object()
            .bucket(bucket)
            .key(ERROR_PAGE)
            .send()
            .await
        {
            Ok(head) => Some(head),
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_not_found())
                    || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) =>
            {
                None
            }
            Err(e) => return Err(describe(&e)),
        };
        match manifest.file(ERROR_PAGE) {
            Some(page) => {
                let in_place = current.as_ref().is_some_and(|h| {
                    h.metadata().and_then(|m| m.get("sha256")) == Some(&page.sha256)
                        && h.content_length() == Some(page.size as i64)
                });
                if in_place {
                    return Ok(());
                }
                Counters::add(&self.counters.copy, 1);
                self.s3
                    .copy_object()
                    .bucket(bucket)
                    .key(ERROR_PAGE)
                    .copy_source(copy_source(bucket, &page.key))
                    .send()
                    .await
                    .map_err(|e| format!("copy {} to {ERROR_PAGE}: {}", page.key, describe(&e)))?;
            }
            None if current.is_some() => {
                Counters::add(&self.counters.delete, 1);
                self.s3
                    .delete_object()
                    .bucket(bucket)
                    .key(ERROR_PAGE)
                    .send()
                    .await
                    .map_err(|e| format!("remove {ERROR_PAGE}: {}", describe(&e)))?;
            }
            None => {}
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct Listed {
    pub size: u64,
    pub etag: String,
    pub modified: Option<std::time::SystemTime>,
}

fn already_sent(existing: &HashMap<String, Listed>, key: &str, digests: &Digests) -> bool {
    existing
        .get(key)
        .is_some_and(|l| l.etag == digests.md5 && l.size == digests.size)
}

fn base_entry(file: &SiteFile, key: String) -> FileEntry {
    FileEntry {
        path: file.path.clone(),
        key,
        size: file.digests.size,
        sha256: file.digests.sha256.clone(),
        md5: Some(file.digests.md5.clone()),
        content_type: file.content_type.clone(),
        cache_control: file.cache_control.to_string(),
        encodings: BTreeMap::new(),
    }
}

pub(crate) fn put_task(
    source: &std::path::Path,
    key: &str,
    file: &SiteFile,
    encoding: Option<&'static str>,
    digests: &Digests,
) -> Task {
    Task::Put {
        source: source.to_path_buf(),
        key: key.to_string(),
        content_type: file.content_type.clone(),
        cache_control: file.cache_control.to_string(),
        content_encoding: encoding,
        digests: digests.clone(),
    }
}

/// Path, key and hash of every file a site would publish (siblings aside): enough to tell
/// whether a re-publish of an existing version id carries the same site.
fn manifest_outline(site: &Site, version: &str) -> Vec<(String, String, String)> {
    site.files
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                object_key(version, &f.path, f.hashed),
                f.digests.sha256.clone(),
            )
        })
        .collect()
}

/// Two manifests of one version describe the same files: paths, keys and hashes (siblings
/// included); md5s, times and git facts aside.
fn same_files(a: &Manifest, b: &Manifest) -> bool {
    a.files.len() == b.files.len()
        && a.files.iter().zip(&b.files).all(|(x, y)| {
            x.path == y.path
                && x.key == y.key
                && x.sha256 == y.sha256
                && x.encodings.len() == y.encodings.len()
                && x.encodings
                    .iter()
                    .zip(&y.encodings)
                    .all(|((e1, v1), (e2, v2))| {
                        e1 == e2 && v1.key == v2.key && v1.sha256 == v2.sha256
                    })
        })
}

fn files_match(existing: &Manifest, fresh: &[(String, String, String)]) -> bool {
    existing.files.len() == fresh.len()
        && existing
            .files
            .iter()
            .zip(fresh)
            .all(|(e, (path, key, sha))| &e.path == path && &e.key == key && &e.sha256 == sha)
}

impl Target {
    /// Finds the deployed bucket and KeyValueStore by their deterministic names.
    pub async fn locate(
        aws: &crate::aws::Aws,
        names: &crate::names::Names,
    ) -> Result<Self, ReleaseError> {
        let bucket = names.bucket();
        if let Err(e) = aws.s3().head_bucket().bucket(&bucket).send().await {
            if e.as_service_error().is_some_and(|s| s.is_not_found())
                || e.raw_response().is_some_and(|r| r.status().as_u16() == 404)
            {
                return Err(ReleaseError::NotDeployed {
                    what: format!("bucket {bucket}"),
                });
            }
            return Err(ReleaseError::Aws {
                action: format!("look up bucket {bucket}"),
                message: describe(&e),
            });
        }
        let kvs = names.kvs();
        let described = aws
            .cloudfront()
            .describe_key_value_store()
            .name(&kvs)
            .send()
            .await
            .map_err(|e| {
                if e.as_service_error()
                    .is_some_and(|s| s.is_entity_not_found())
                {
                    ReleaseError::NotDeployed {
                        what: format!("KeyValueStore {kvs}"),
                    }
                } else {
                    ReleaseError::Aws {
                        action: format!("look up KeyValueStore {kvs}"),
                        message: describe(&e),
                    }
                }
            })?;
        let kvs_arn = described
            .key_value_store()
            .map(|k| k.arn().to_string())
            .ok_or_else(|| ReleaseError::NotDeployed {
                what: format!("KeyValueStore {kvs}"),
            })?;
        Ok(Target { bucket, kvs_arn })
    }
}

/// The version id for a build of this checkout: the commit (12 hex digits), with `-dirty` and
/// a UTC timestamp when the tree has uncommitted changes, or `local-<timestamp>` outside git.
pub fn default_version_id(git: &crate::workspace::GitFacts) -> String {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(['-', ':'], "")
        .trim_end_matches('Z')
        .to_string();
    match &git.commit {
        Some(commit) => {
            let short: String = commit.chars().take(12).collect();
            if git.dirty {
                format!("{short}-dirty-{stamp}")
            } else {
                short
            }
        }
        None => format!("local-{stamp}"),
    }
}
