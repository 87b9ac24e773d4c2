//! Releases: scan a built site, upload it as a new version, write its manifest, flip the live
//! pointer, apply retention. The same code path serves laptops, any CI and the pipeline.

pub mod compress;
pub mod hashed;
pub mod limiter;
pub mod manifest;
pub mod pointer;
pub mod retention;
pub mod scan;
pub mod upload;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::aws::describe;
use crate::settings::RetentionSettings;
use manifest::{FileEntry, GitInfo, IMMUTABLE_PREFIX, Manifest, Variant, manifest_key, object_key};
use pointer::LivePointer;
use scan::{Digests, Encoding, Site, SiteFile};
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
    pub requests: Requests,
    /// The adaptive window of the uploads (its ceiling is `upload.concurrency`).
    pub concurrency: limiter::Summary,
    pub seconds: f64,
    pub retention: Option<retention::RetentionReport>,
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
        let started = Instant::now();
        manifest::validate_version_id(&options.version).map_err(ReleaseError::InvalidVersion)?;
        // Everything is read before the first request: a broken site changes nothing.
        let site = scan::scan(&options.dir, &options.precompress)?;
        let live_before = self.pointer.read().await?;
        // Independent reads go together: each costs a round trip to S3.
        let (live_manifest, existing) = futures::try_join!(
            async {
                match &live_before {
                    Some(v) => self.manifest(v).await,
                    None => Ok(None),
                }
            },
            self.manifest(&options.version),
        )?;

        if let Some(existing) = existing {
            let fresh = manifest_outline(&site, &options.version);
            if !files_match(&existing, &fresh) {
                return Err(ReleaseError::VersionExists {
                    version: options.version.clone(),
                });
            }
            let mut live = live_before.clone();
            if options.switch && live_before.as_deref() != Some(options.version.as_str()) {
                self.go_live(live_before.as_deref(), &existing).await?;
                live = Some(options.version.clone());
            }
            return Ok(PublishReport {
                version: options.version.clone(),
                live_before,
                live,
                already_published: true,
                files: existing.files.len(),
                bytes: existing.bytes(),
                uploaded: 0,
                copied: 0,
                unchanged: existing.files.len(),
                bytes_sent: 0,
                requests: self.counters.snapshot(),
                concurrency: self.counters.concurrency(),
                seconds: started.elapsed().as_secs_f64(),
                retention: None,
            });
        }

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
        self.write_manifest(&manifest).await?;

        let mut live = live_before.clone();
        let mut retention_report = None;
        if options.switch {
            self.go_live(live_before.as_deref(), &manifest).await?;
            live = Some(options.version.clone());
            retention_report = Some(
                retention::apply(
                    self,
                    &options.retention,
                    &options.version,
                    live_before.as_deref(),
                )
                .await?,
            );
        }
        Ok(PublishReport {
            version: options.version.clone(),
            live_before,
            live,
            already_published: false,
            files: manifest.files.len(),
            bytes: manifest.bytes(),
            uploaded,
            copied,
            unchanged,
            bytes_sent: self
                .counters
                .bytes_sent
                .load(std::sync::atomic::Ordering::Relaxed),
            requests: self.counters.snapshot(),
            concurrency: self.counters.concurrency(),
            seconds: started.elapsed().as_secs_f64(),
            retention: retention_report,
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
                return Ok(Disposition::Unchanged(entry.clone()));
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
            }))
    }

    pub async fn manifest(&self, version: &str) -> Result<Option<Manifest>, ReleaseError> {
        Counters::add(&self.counters.get, 1);
        let key = manifest_key(version);
        let out = match self
            .s3
            .get_object()
            .bucket(&self.target.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => {
                return Err(ReleaseError::Aws {
                    action: format!("read {key}"),
                    message: describe(&e),
                });
            }
        };
        let bytes = out.body.collect().await.map_err(|e| ReleaseError::Aws {
            action: format!("read {key}"),
            message: e.to_string(),
        })?;
        serde_json::from_slice(&bytes.into_bytes())
            .map(Some)
            .map_err(|e| ReleaseError::Aws {
                action: format!("parse {key}"),
                message: e.to_string(),
            })
    }

    async fn write_manifest(&self, manifest: &Manifest) -> Result<(), ReleaseError> {
        let key = manifest_key(&manifest.version);
        let body = serde_json::to_vec_pretty(manifest).map_err(|e| ReleaseError::Aws {
            action: "serialize the manifest".into(),
            message: e.to_string(),
        })?;
        Counters::add(&self.counters.put, 1);
        self.s3
            .put_object()
            .bucket(&self.target.bucket)
            .key(&key)
            .content_type("application/json")
            .cache_control("no-cache")
            .body(body.into())
            .send()
            .await
            .map_err(|e| ReleaseError::Aws {
                action: format!("write {key}"),
                message: describe(&e),
            })?;
        Ok(())
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

    /// Flips the live pointer to `manifest`'s version (compare-and-swap on `expected`), then
    /// puts that version's `404.html` at the bucket root: CloudFront fetches custom error
    /// pages without running the viewer-request function, so the error page cannot follow
    /// the pointer by itself. A version without one removes the old copy.
    async fn go_live(
        &self,
        expected: Option<&str>,
        manifest: &Manifest,
    ) -> Result<(), ReleaseError> {
        self.pointer.flip(expected, &manifest.version).await?;
        let bucket = &self.target.bucket;
        match manifest.file(ERROR_PAGE) {
            Some(page) => {
                self.s3
                    .copy_object()
                    .bucket(bucket)
                    .key(ERROR_PAGE)
                    .copy_source(copy_source(bucket, &page.key))
                    .send()
                    .await
                    .map_err(|e| ReleaseError::Aws {
                        action: format!("copy {} to the error page {ERROR_PAGE}", page.key),
                        message: describe(&e),
                    })?;
            }
            None => {
                self.s3
                    .delete_object()
                    .bucket(bucket)
                    .key(ERROR_PAGE)
                    .send()
                    .await
                    .map_err(|e| ReleaseError::Aws {
                        action: format!("remove the error page {ERROR_PAGE}"),
                        message: describe(&e),
                    })?;
            }
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
        content_type: file.content_type.clone(),
        cache_control: file.cache_control.to_string(),
        encodings: BTreeMap::new(),
    }
}

fn put_task(
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
