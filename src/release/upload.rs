//! The upload engine: parallel S3 requests within an adaptive window (limiter.rs), streaming
//! from disk, multipart above a threshold, server-side copies, and counters for the summary.
//! Retries with backoff come from the SDK's retry configuration (src/aws/mod.rs); SlowDown also
//! narrows the window.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::{RetryPartition, TokenBucket};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::MetadataDirective;
use base64::Engine as _;
use futures::TryStreamExt;
use serde::Serialize;

use super::limiter::{self, Limiter, ThrottleWatch};
use super::scan::Digests;
use super::{PublishOptions, Release, ReleaseError};
use crate::aws::AwsError;

mod multipart;

/// One object to put in place.
#[derive(Debug, Clone)]
pub enum Task {
    Put {
        source: PathBuf,
        key: String,
        content_type: String,
        cache_control: String,
        content_encoding: Option<&'static str>,
        digests: Digests,
    },
    Copy {
        from: String,
        key: String,
        size: u64,
        /// The MD5 of the bytes, which a single-part object's ETag is: a copy answered with
        /// it has placed these bytes.
        md5: Option<String>,
    },
}

/// Keys whose bytes the requests of this process placed and S3 confirmed: a PUT whose
/// SHA-256 S3 checked, or a copy answered with the expected ETag. The check after the
/// manifest need not read them again.
pub type Placed = std::collections::HashSet<String>;

impl Task {
    fn size(&self) -> u64 {
        match self {
            Task::Put { digests, .. } => digests.size,
            Task::Copy { size, .. } => *size,
        }
    }
}

/// Request and byte counters, shared by every task of a publish.
#[derive(Debug, Default)]
pub struct Counters {
    pub put: AtomicU64,
    pub copy: AtomicU64,
    pub multipart: AtomicU64,
    pub parts: AtomicU64,
    pub head: AtomicU64,
    pub list: AtomicU64,
    pub get: AtomicU64,
    pub delete: AtomicU64,
    pub bytes_sent: AtomicU64,
    /// How the adaptive window moved, filled in when the uploads end.
    pub concurrency: Mutex<limiter::Summary>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Requests {
    pub put: u64,
    pub copy: u64,
    pub multipart_uploads: u64,
    pub parts: u64,
    pub head: u64,
    pub list: u64,
    pub get: u64,
    pub delete: u64,
}

impl Counters {
    pub fn snapshot(&self) -> Requests {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Requests {
            put: l(&self.put),
            copy: l(&self.copy),
            multipart_uploads: l(&self.multipart),
            parts: l(&self.parts),
            head: l(&self.head),
            list: l(&self.list),
            get: l(&self.get),
            delete: l(&self.delete),
        }
    }
    pub fn concurrency(&self) -> limiter::Summary {
        *self.concurrency.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// What one upload run has to do, for whoever shows its progress. Uploads are measured in
/// bytes; server-side copies send no bytes and are counted apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub puts: u64,
    pub copies: u64,
    /// Files the publish reuses without any request, shown for the whole picture.
    pub unchanged: u64,
    pub upload_bytes: u64,
}

impl Totals {
    pub fn of(tasks: &[Task], unchanged: u64) -> Self {
        let puts = tasks
            .iter()
            .filter(|t| matches!(t, Task::Put { .. }))
            .count() as u64;
        Totals {
            puts,
            copies: tasks.len() as u64 - puts,
            unchanged,
            upload_bytes: tasks
                .iter()
                .filter_map(|t| match t {
                    Task::Put { digests, .. } => Some(digests.size),
                    Task::Copy { .. } => None,
                })
                .sum(),
        }
    }
}

/// Progress of one upload run, reported from many requests at once. The ui draws it
/// (`ui::progress`); the release code only reports.
pub trait Progress: Send + Sync {
    /// Bytes of an upload reached S3 (a whole small file, or one part of a large one).
    fn sent(&self, _bytes: u64) {}
    fn put_done(&self) {}
    fn copy_done(&self) {}
    fn finish(&self) {}
}

/// Starts the progress display of each upload run.
pub trait ShowProgress: Send + Sync {
    fn start(&self, totals: Totals) -> Box<dyn Progress>;
}

/// Shows nothing (`--quiet`, and the checks that re-send what a bucket lost).
pub struct Silent;

impl Progress for Silent {}

impl ShowProgress for Silent {
    fn start(&self, _totals: Totals) -> Box<dyn Progress> {
        Box::new(Silent)
    }
}

impl Release {
    /// Sends `tasks` within the adaptive window, showing their progress unless `quiet`.
    pub(crate) async fn send_tasks(
        &self,
        tasks: Vec<Task>,
        unchanged: usize,
        options: &PublishOptions,
        quiet: bool,
    ) -> Result<Placed, ReleaseError> {
        let progress: Box<dyn Progress> = if quiet {
            Box::new(Silent)
        } else {
            self.progress.start(Totals::of(&tasks, unchanged as u64))
        };
        let engine = Engine {
            s3: self.s3.clone(),
            bucket: self.target.bucket.clone(),
            concurrency: options.concurrency,
            multipart_threshold: options.multipart_threshold,
            counters: self.counters.clone(),
        };
        let result = engine.run(tasks, progress.as_ref()).await;
        progress.finish();
        result
    }
}

/// Times a request is sent again after the SDK's own retries ended on SlowDown (each time with
/// the SDK's five attempts, after a pause that doubles: 1, 2, 4, 8 s).
const RESENDS: u32 = 4;

pub struct Engine {
    pub s3: Client,
    pub bucket: String,
    /// The ceiling of the adaptive window (`upload.concurrency`).
    pub concurrency: usize,
    pub multipart_threshold: u64,
    pub counters: Arc<Counters>,
}

/// One `run`: the client with its own retry quota, the window, the progress.
struct Session<'a> {
    s3: Client,
    bucket: &'a str,
    multipart_threshold: u64,
    counters: &'a Counters,
    limiter: Arc<Limiter>,
    progress: &'a dyn Progress,
}

impl Engine {
    /// Runs every task within an adaptive window of at most `concurrency` requests (see
    /// limiter.rs); the first failure stops the rest (nothing is live yet, so a re-run picks up
    /// where this one ended). Returns the keys it placed and proved.
    pub async fn run(
        &self,
        tasks: Vec<Task>,
        progress: &dyn Progress,
    ) -> Result<Placed, ReleaseError> {
        let ceiling = limiter::fit_open_files(self.concurrency.max(1));
        let limiter = Limiter::new(ceiling);
        // The SDK's retry quota (500 tokens, 5 per retry, shared by the client) is there to stop
        // retry storms against a failing service; against SlowDown the window is what slows us
        // down, and 256 requests throttled at once would drain it and fail the publish. So
        // throttling retries cost nothing here; other retries cost what they cost elsewhere.
        let s3 = Client::from_conf(
            self.s3
                .config()
                .to_builder()
                .retry_partition(
                    RetryPartition::custom("cloudfront-host-upload")
                        .token_bucket(TokenBucket::builder().throttling_retry_cost(0).build())
                        .build(),
                )
                .build(),
        );
        let session = Session {
            s3,
            bucket: &self.bucket,
            multipart_threshold: self.multipart_threshold,
            counters: &self.counters,
            limiter: limiter.clone(),
            progress,
        };
        // Big files first, so that one large wasm does not start last and finish alone.
        let mut tasks = tasks;
        tasks.sort_by_key(|t| std::cmp::Reverse(t.size()));
        let session = &session;
        let placed = Mutex::new(Placed::new());
        let placed_ref = &placed;
        let result = futures::stream::iter(tasks.into_iter().map(Ok))
            .try_for_each_concurrent(ceiling, |task| async move {
                match task {
                    Task::Put {
                        source,
                        key,
                        content_type,
                        cache_control,
                        content_encoding,
                        digests,
                    } => {
                        let meta = ObjectMeta {
                            content_type: &content_type,
                            cache_control: &cache_control,
                            content_encoding,
                            digests: &digests,
                        };
                        // A multipart upload's parts carry no checksum of the scanned bytes, so
                        // only the check after the manifest can vouch for it.
                        let proved = if digests.size > session.multipart_threshold {
                            session.put_multipart(&source, &key, &meta).await?;
                            false
                        } else {
                            session.put(&source, &key, &meta).await?;
                            true
                        };
                        session.progress.put_done();
                        if proved {
                            lock(placed_ref).insert(key);
                        }
                    }
                    Task::Copy { from, key, md5, .. } => {
                        let etag = session.copy(&from, &key).await?;
                        session.progress.copy_done();
                        if md5.is_some() && etag == md5 {
                            lock(placed_ref).insert(key);
                        }
                    }
                }
                Ok(())
            })
            .await;
        *self
            .counters
            .concurrency
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = limiter.summary();
        result.map(|()| placed.into_inner().unwrap_or_else(|e| e.into_inner()))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Session<'_> {
    /// Sends one request within the window. `op` builds and sends it with the watch attached;
    /// when the SDK's retries end on SlowDown, the request waits and goes again under the
    /// (by then smaller) window.
    async fn send<T, E, R, F, Fut>(
        &self,
        body: u64,
        action: impl Fn() -> String,
        op: F,
    ) -> Result<T, ReleaseError>
    where
        F: Fn(ThrottleWatch) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let mut round = 0;
        loop {
            let permit = self.limiter.acquire(body).await;
            match op(permit.watch()).await {
                Ok(value) => return Ok(value),
                Err(_) if permit.throttled() && round < RESENDS => {
                    drop(permit);
                    round += 1;
                    tokio::time::sleep(Duration::from_millis(500 << round)).await;
                }
                Err(e) => {
                    return Err(ReleaseError::Aws(AwsError::from_sdk(action(), &e)));
                }
            }
        }
    }

    /// Sends `source` (or the `part` of it at `(offset, length)`) with `op`, a put or a part
    /// upload; the body is read again for every attempt, and counted once it reached S3.
    async fn send_file<T, E, R, F, Fut>(
        &self,
        source: &Path,
        part: Option<(u64, u64)>,
        length: u64,
        action: impl Fn() -> String,
        op: F,
    ) -> Result<T, ReleaseError>
    where
        F: Fn(ByteStream, ThrottleWatch) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let op = &op;
        let out = self
            .send(length, action, |watch| async move {
                let mut body = ByteStream::read_from().path(source);
                if let Some((offset, length)) = part {
                    body = body.offset(offset).length(Length::Exact(length));
                }
                match body.build().await {
                    Ok(body) => op(body, watch).await.map(Ok),
                    Err(e) => Ok(Err(e)),
                }
            })
            .await?
            .map_err(|e| ReleaseError::Unreadable {
                path: source.to_path_buf(),
                message: e.to_string(),
            })?;
        Counters::add(&self.counters.bytes_sent, length);
        self.progress.sent(length);
        Ok(out)
    }

    async fn put(
        &self,
        source: &Path,
        key: &str,
        meta: &ObjectMeta<'_>,
    ) -> Result<(), ReleaseError> {
        let sha = hex::decode(&meta.digests.sha256).unwrap_or_default();
        let sha = base64::engine::general_purpose::STANDARD.encode(sha);
        let size = meta.digests.size;
        self.send_file(
            source,
            None,
            size,
            || format!("upload {key}"),
            |body, watch| {
                Counters::add(&self.counters.put, 1);
                // S3 checks the SHA-256 we computed while scanning and refuses the object if
                // the bytes it received differ: a file changed mid-publish cannot slip through.
                self.s3
                    .put_object()
                    .bucket(self.bucket)
                    .key(key)
                    .body(body)
                    .content_length(size as i64)
                    .content_type(meta.content_type)
                    .cache_control(meta.cache_control)
                    .set_content_encoding(meta.content_encoding.map(String::from))
                    .metadata("sha256", &meta.digests.sha256)
                    .checksum_sha256(&sha)
                    .customize()
                    .interceptor(watch)
                    .send()
            },
        )
        .await?;
        Ok(())
    }

    /// Copies `from` to `key`; returns the new object's ETag (without quotes).
    async fn copy(&self, from: &str, key: &str) -> Result<Option<String>, ReleaseError> {
        let source = copy_source(self.bucket, from);
        let out = self
            .send(
                0,
                || format!("copy {from} to {key}"),
                |watch| {
                    Counters::add(&self.counters.copy, 1);
                    self.s3
                        .copy_object()
                        .bucket(self.bucket)
                        .key(key)
                        .copy_source(&source)
                        .metadata_directive(MetadataDirective::Copy)
                        .customize()
                        .interceptor(watch)
                        .send()
                },
            )
            .await?;
        Ok(out
            .copy_object_result()
            .and_then(|r| r.e_tag())
            .map(|t| t.trim_matches('"').to_string()))
    }
}

struct ObjectMeta<'a> {
    content_type: &'a str,
    cache_control: &'a str,
    content_encoding: Option<&'static str>,
    digests: &'a Digests,
}

/// `x-amz-copy-source` is `bucket/key` with the key URL-encoded (but its slashes kept).
pub(crate) fn copy_source(bucket: &str, key: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    format!(
        "{bucket}/{}",
        percent_encoding::utf8_percent_encode(key, KEEP)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(size: u64) -> Task {
        Task::Put {
            source: PathBuf::from("x"),
            key: "v1/x".into(),
            content_type: "text/html".into(),
            cache_control: "no-cache".into(),
            content_encoding: None,
            digests: Digests {
                size,
                sha256: String::new(),
                md5: String::new(),
            },
        }
    }

    fn copy(size: u64) -> Task {
        Task::Copy {
            from: "v0/x".into(),
            key: "v1/x".into(),
            size,
            md5: None,
        }
    }

    #[test]
    fn totals_count_copies_apart_from_uploaded_bytes() {
        let tasks = vec![
            put(1_000_000),
            put(500_000),
            copy(9_000_000),
            copy(1),
            copy(1),
        ];
        assert_eq!(
            Totals::of(&tasks, 5),
            Totals {
                puts: 2,
                copies: 3,
                unchanged: 5,
                upload_bytes: 1_500_000
            }
        );
    }

    #[test]
    fn copy_source_encodes_the_key_but_not_its_slashes() {
        assert_eq!(
            super::copy_source("b", "v1/a b/ü.html"),
            "b/v1/a%20b/%C3%BC.html"
        );
    }
}
