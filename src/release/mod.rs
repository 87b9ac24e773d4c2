//! Releases: scan a built site, upload it as a new version, write its manifest, flip the live
//! pointer, apply retention. The same code path serves laptops, any CI and the pipeline.

pub mod claim;
pub mod compress;
pub mod hashed;
pub mod limiter;
pub mod manifest;
pub mod objects;
pub mod password;
pub mod plan;
pub mod pointer;
pub mod previews;
pub mod retention;
pub mod scan;
pub mod shards;
pub mod site;
pub mod stage;
pub mod target;
pub mod upload;
pub mod verify;
pub mod versions;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::aws::AwsError;
use crate::settings::RetentionSettings;
use claim::Claim;
use manifest::GitInfo;
use pointer::LivePointer;
use scan::ScanRules;
use upload::{Counters, Requests, ShowProgress};

pub use objects::Listed;
pub use stage::Staged;

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
    #[error(transparent)]
    Aws(#[from] AwsError),
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
    /// Shows the progress of uploads (the ui's bars unless replaced).
    pub progress: Arc<dyn ShowProgress>,
    /// Manifests read or written by this process. A manifest is write-once, so a copy never
    /// goes stale; retention, which deletes them, asks the listing first.
    manifests: std::sync::Mutex<std::collections::HashMap<String, manifest::Manifest>>,
    /// What the last publish read as live before it started (for its error message).
    live_at_start: std::sync::Mutex<Option<Option<String>>>,
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
    /// Where the seconds went.
    pub timings: Timings,
    pub retention: Option<retention::RetentionReport>,
}

/// Seconds spent in each step of a publish (`seconds` is their sum, give or take the steps
/// too small to name).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Hashing the files, the claim and the reads of the bucket and the pointer, side by side.
    pub read: f64,
    /// Deciding what each file needs, compressing siblings the build did not make, and the
    /// uploads and copies.
    pub send: f64,
    /// The manifest, and reading back what this publish did not write itself.
    pub check: f64,
    /// Making the version live (0 when it stays staged).
    pub flip: f64,
    /// The error page and retention, side by side.
    pub after_flip: f64,
}

impl Release {
    pub fn new(aws: &crate::aws::Aws, target: Target) -> Self {
        Release {
            s3: aws.s3(),
            pointer: LivePointer::new(aws.kvs(), target.kvs_arn.clone()),
            target,
            counters: Arc::new(Counters::default()),
            progress: Arc::new(crate::ui::progress::UploadBars),
            manifests: Default::default(),
            live_at_start: Default::default(),
        }
    }

    /// The same release, its uploads shown by `progress`.
    pub fn with_progress(self, progress: Arc<dyn ShowProgress>) -> Self {
        Release { progress, ..self }
    }

    pub async fn publish(&self, options: &PublishOptions) -> Result<PublishReport, ReleaseError> {
        self.publish_with(options, &ScanRules::default()).await
    }

    /// What the last [`Release::publish_with`] read as live before it wrote anything, if it
    /// got that far: a failed publish says what is live now relative to it.
    pub fn live_at_start(&self) -> Option<Option<String>> {
        self.live_at_start
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stages the site as `options.version` (claim, upload, manifest, check), then, with
    /// `switch`, makes it live and applies retention.
    pub async fn publish_with(
        &self,
        options: &PublishOptions,
        rules: &ScanRules,
    ) -> Result<PublishReport, ReleaseError> {
        let scan = scan::Pending::start(
            options.dir.clone(),
            options.precompress.clone(),
            rules.clone(),
        );
        self.publish_scanned(options, scan).await
    }

    /// [`Release::publish_with`] of a scan already under way (of `options.dir`, with
    /// `options.precompress`). Nothing is written before it has succeeded: a broken site
    /// changes nothing.
    pub async fn publish_scanned(
        &self,
        options: &PublishOptions,
        scan: scan::Pending,
    ) -> Result<PublishReport, ReleaseError> {
        let started = Instant::now();
        manifest::validate_version_id(&options.version).map_err(ReleaseError::InvalidVersion)?;
        let version = &options.version;
        // The claim needs the scan (it names the files) and the live version (its base), not
        // the manifests: it goes out as soon as the files are hashed. Its outcome is judged
        // after the reads (a published version answers "exists" first).
        let (live_tx, live_rx) = tokio::sync::oneshot::channel();
        let claim = async {
            let site = scan.wait().await?;
            let base: Option<String> = live_rx.await.unwrap_or_default();
            let claim = Claim::for_site(&site, version, base.as_deref());
            let (claimed, immutable) =
                futures::join!(self.claim(&claim), self.stat_immutable(&site, version));
            Ok::<_, ReleaseError>((site, claimed, immutable?))
        };
        let read = async {
            let live_before = self.pointer.read().await?;
            // (A claim without its base only protects less; the publish fails anyway.)
            let _ = live_tx.send(live_before.clone());
            *self.live_at_start.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(live_before.clone());
            let manifests = self.manifests(version, live_before.as_deref()).await?;
            Ok::<_, ReleaseError>((live_before, manifests))
        };
        let (claim, read) = futures::join!(claim, read);
        let mut timings = Timings {
            read: started.elapsed().as_secs_f64(),
            ..Timings::default()
        };
        let (site, claimed, immutable_objects) = claim?;
        let (live_before, (existing, live)) = read?;
        let pre = stage::Prefetched {
            existing,
            live,
            immutable_objects,
        };
        // Retention reads the bucket while the version is staged (its snapshot may be older
        // than the flip: see retention::Snapshot); it decides and deletes after the flip.
        let retain = options.switch && live_before.as_deref() != Some(version.as_str());
        let snapshot = async {
            if retain {
                retention::Snapshot::read(self).await.map(Some)
            } else {
                Ok(None)
            }
        };
        let (staged, snapshot) = futures::join!(self.stage(options, &site, pre, claimed), snapshot);
        let staged = staged?;
        timings.send = staged.send_seconds;
        timings.check = staged.check_seconds;
        let staged_at = Instant::now();
        let mut live = live_before.clone();
        let mut retention_report = None;
        // A re-run of the live version finishes its post-flip step too.
        if options.switch || live_before.as_deref() == Some(version.as_str()) {
            let value =
                shards::pointer_value(&staged.manifest).map_err(ReleaseError::InvalidVersion)?;
            // The error page is read while the pointer is written (one round trip less after).
            let (flipped, error_page) = futures::join!(
                self.pointer.flip(live_before.as_deref(), &value),
                self.error_page()
            );
            flipped?;
            live = Some(version.clone());
            // The error page and retention touch different keys: both at once.
            let finish = async {
                let written = match error_page {
                    Ok(current) => self.finish_live_from(&staged.manifest, current).await,
                    Err(message) => Err(message),
                };
                written.map_err(|message| ReleaseError::AfterFlip {
                    version: version.clone(),
                    message,
                })
            };
            let retain = async {
                let Some(mut snapshot) = snapshot? else {
                    return Ok(None);
                };
                snapshot.add(&staged.manifest);
                retention::apply(
                    self,
                    &options.retention,
                    snapshot,
                    version,
                    live_before.as_deref(),
                )
                .await
                .map(Some)
            };
            let flipped = Instant::now();
            timings.flip = flipped.duration_since(staged_at).as_secs_f64();
            let (finished, retained) = futures::join!(finish, retain);
            timings.after_flip = flipped.elapsed().as_secs_f64();
            finished?;
            retention_report = retained?;
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
            timings,
            retention: retention_report,
        })
    }
}

impl Target {
    /// Finds the deployed bucket and KeyValueStore by their deterministic names (both asked
    /// at once).
    pub async fn locate(
        aws: &crate::aws::Aws,
        names: &crate::names::Names,
    ) -> Result<Self, ReleaseError> {
        let (bucket, kvs) = (names.bucket(), names.kvs());
        let (s3, cloudfront) = (aws.s3(), aws.cloudfront());
        let (head, described) = futures::join!(
            s3.head_bucket().bucket(&bucket).send(),
            cloudfront.describe_key_value_store().name(&kvs).send()
        );
        if let Err(e) = head {
            if e.as_service_error().is_some_and(|s| s.is_not_found())
                || e.raw_response().is_some_and(|r| r.status().as_u16() == 404)
            {
                return Err(ReleaseError::NotDeployed {
                    what: format!("bucket {bucket}"),
                });
            }
            return Err(ReleaseError::Aws(AwsError::from_sdk(
                format!("look up bucket {bucket}"),
                &e,
            )));
        }
        let described = described.map_err(|e| {
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_not_found())
            {
                ReleaseError::NotDeployed {
                    what: format!("KeyValueStore {kvs}"),
                }
            } else {
                ReleaseError::Aws(AwsError::from_sdk(
                    format!("look up KeyValueStore {kvs}"),
                    &e,
                ))
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
