//! The upload engine: parallel S3 requests within an adaptive window (limiter.rs), streaming
//! from disk, multipart above a threshold, server-side copies, and counters for the summary.
//! Retries with backoff come from the SDK's retry configuration (src/aws.rs); SlowDown also
//! narrows the window.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::{RetryPartition, TokenBucket};
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, MetadataDirective};
use base64::Engine as _;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use super::ReleaseError;
use super::limiter::{self, Limiter, ThrottleWatch};
use super::scan::Digests;
use crate::aws::describe;

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
    },
}

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

/// A progress bar on a terminal; in CI and pipes, a plain line every few seconds. Uploads are
/// measured in bytes; server-side copies send no bytes and are counted apart.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    puts: u64,
    copies: u64,
    unchanged: u64,
    upload_bytes: u64,
    done_puts: AtomicU64,
    done_copies: AtomicU64,
    done_bytes: AtomicU64,
    last_line: std::sync::Mutex<Instant>,
}

impl Progress {
    /// `unchanged`: files the publish reuses without any request, shown for the whole picture.
    pub fn new(tasks: &[Task], unchanged: u64, quiet: bool) -> Self {
        let puts = tasks
            .iter()
            .filter(|t| matches!(t, Task::Put { .. }))
            .count() as u64;
        let copies = tasks.len() as u64 - puts;
        let upload_bytes: u64 = tasks
            .iter()
            .filter_map(|t| match t {
                Task::Put { digests, .. } => Some(digests.size),
                Task::Copy { .. } => None,
            })
            .sum();
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr())
            && std::env::var_os("CI").is_none();
        let bar = (terminal && !quiet && !tasks.is_empty()).then(|| {
            // Only copies: nothing to measure in bytes, so the bar counts them.
            let (len, template) = if puts > 0 {
                (
                    upload_bytes,
                    "{prefix:>12.green.bold} [{bar:30}] {bytes}/{total_bytes} {msg} ({bytes_per_sec}, {eta})",
                )
            } else {
                (copies, "{prefix:>12.green.bold} [{bar:30}] {msg}")
            };
            let bar = indicatif::ProgressBar::new(len);
            if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix("Uploading");
            bar
        });
        let progress = Progress {
            plain: !terminal && !quiet,
            bar,
            puts,
            copies,
            unchanged,
            upload_bytes,
            done_puts: AtomicU64::new(0),
            done_copies: AtomicU64::new(0),
            done_bytes: AtomicU64::new(0),
            last_line: std::sync::Mutex::new(Instant::now()),
        };
        if let Some(bar) = &progress.bar {
            bar.set_message(progress.message(0, 0));
        }
        progress
    }

    /// `uploaded 3/20, copied 997/997, unchanged 12`
    fn message(&self, puts: u64, copies: u64) -> String {
        format!(
            "uploaded {puts}/{}, copied {copies}/{}, unchanged {}",
            self.puts, self.copies, self.unchanged
        )
    }

    /// Bytes of an upload reached S3 (a whole small file, or one part of a large one).
    fn sent(&self, bytes: u64) {
        let done = self.done_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if let Some(bar) = &self.bar
            && self.puts > 0
        {
            bar.set_position(done);
        }
    }

    fn put_done(&self) {
        self.done_puts.fetch_add(1, Ordering::Relaxed);
        self.update();
    }

    fn copy_done(&self) {
        let copies = self.done_copies.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar
            && self.puts == 0
        {
            bar.set_position(copies);
        }
        self.update();
    }

    fn update(&self) {
        let puts = self.done_puts.load(Ordering::Relaxed);
        let copies = self.done_copies.load(Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_message(self.message(puts, copies));
        } else if self.plain {
            let finished = puts == self.puts && copies == self.copies;
            let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= Duration::from_secs(3) || finished {
                *last = Instant::now();
                eprintln!("{:>12} {}", "Uploading", self.plain_line(puts, copies));
            }
        }
    }

    /// `uploaded 3/20 (1.2/51.0 MB), copied 997/997, unchanged 12`
    fn plain_line(&self, puts: u64, copies: u64) -> String {
        format!(
            "uploaded {puts}/{} ({:.1}/{:.1} MB), copied {copies}/{}, unchanged {}",
            self.puts,
            self.done_bytes.load(Ordering::Relaxed) as f64 / 1e6,
            self.upload_bytes as f64 / 1e6,
            self.copies,
            self.unchanged
        )
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Times a request is sent again after the SDK's own retries ended on SlowDown (each time with
/// the SDK's five attempts, after a pause that doubles: 1, 2, 4, 8 s).
const RESENDS: u32 = 4;
/// Parts of one multipart upload queued at once (the byte budget decides how many are in flight).
const PARTS_QUEUED: usize = 16;

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
    progress: &'a Progress,
}

impl Engine {
    /// Runs every task within an adaptive window of at most `concurrency` requests (see
    /// limiter.rs); the first failure stops the rest (nothing is live yet, so a re-run picks up
    /// where this one ended).
    pub async fn run(&self, tasks: Vec<Task>, progress: &Progress) -> Result<(), ReleaseError> {
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
                        if digests.size > session.multipart_threshold {
                            session.put_multipart(&source, &key, &meta).await?;
                        } else {
                            session.put(&source, &key, &meta).await?;
                        }
                        session.progress.put_done();
                    }
                    Task::Copy { from, key, .. } => {
                        session.copy(&from, &key).await?;
                        session.progress.copy_done();
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
        result
    }
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
                    return Err(ReleaseError::Aws {
                        action: action(),
                        message: describe(&e),
                    });
                }
            }
        }
    }

    async fn put(
        &self,
        source: &PathBuf,
        key: &str,
        meta: &ObjectMeta<'_>,
    ) -> Result<(), ReleaseError> {
        let sha = hex::decode(&meta.digests.sha256).unwrap_or_default();
        let sha = base64::engine::general_purpose::STANDARD.encode(sha);
        let size = meta.digests.size;
        self.send(
            size,
            || format!("upload {key}"),
            |watch| {
                let sha = &sha;
                async move {
                    let body = match ByteStream::from_path(source).await {
                        Ok(body) => body,
                        Err(e) => return Ok(Err(e)),
                    };
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
                        .checksum_sha256(sha)
                        .customize()
                        .interceptor(watch)
                        .send()
                        .await
                        .map(Ok)
                }
            },
        )
        .await?
        .map_err(|e| ReleaseError::Unreadable {
            path: source.clone(),
            message: e.to_string(),
        })?;
        Counters::add(&self.counters.bytes_sent, size);
        self.progress.sent(size);
        Ok(())
    }

    async fn put_multipart(
        &self,
        source: &PathBuf,
        key: &str,
        meta: &ObjectMeta<'_>,
    ) -> Result<(), ReleaseError> {
        let created = self
            .send(
                0,
                || format!("start a multipart upload of {key}"),
                |watch| {
                    Counters::add(&self.counters.multipart, 1);
                    self.s3
                        .create_multipart_upload()
                        .bucket(self.bucket)
                        .key(key)
                        .content_type(meta.content_type)
                        .cache_control(meta.cache_control)
                        .set_content_encoding(meta.content_encoding.map(String::from))
                        .metadata("sha256", &meta.digests.sha256)
                        .customize()
                        .interceptor(watch)
                        .send()
                },
            )
            .await?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        // S3 allows 10,000 parts of at least 5 MiB.
        let size = meta.digests.size;
        let part_size = self
            .multipart_threshold
            .max(5 << 20)
            .max(size.div_ceil(10_000));
        let parts: Vec<(i32, u64, u64)> = (0..size.div_ceil(part_size))
            .map(|i| {
                let offset = i * part_size;
                ((i + 1) as i32, offset, part_size.min(size - offset))
            })
            .collect();
        let result: Result<Vec<CompletedPart>, ReleaseError> = futures::stream::iter(parts)
            .map(|(number, offset, length)| {
                self.put_part(source, key, &upload_id, number, offset, length)
            })
            .buffer_unordered(PARTS_QUEUED)
            .try_collect()
            .await;
        let mut parts = match result {
            Ok(parts) => parts,
            Err(e) => {
                // Unfinished parts cost storage until aborted.
                let _ = self
                    .s3
                    .abort_multipart_upload()
                    .bucket(self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                return Err(e);
            }
        };
        parts.sort_by_key(|p| p.part_number());
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(parts))
            .build();
        self.send(
            0,
            || format!("complete the multipart upload of {key}"),
            |watch| {
                self.s3
                    .complete_multipart_upload()
                    .bucket(self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .multipart_upload(completed.clone())
                    .customize()
                    .interceptor(watch)
                    .send()
            },
        )
        .await?;
        // A multipart ETag is not a content hash: verify size and our own hash on the object.
        let head = self
            .send(
                0,
                || format!("verify {key}"),
                |watch| {
                    Counters::add(&self.counters.head, 1);
                    self.s3
                        .head_object()
                        .bucket(self.bucket)
                        .key(key)
                        .customize()
                        .interceptor(watch)
                        .send()
                },
            )
            .await?;
        let stored_sha = head
            .metadata()
            .and_then(|m| m.get("sha256"))
            .map(String::as_str);
        if head.content_length() != Some(size as i64)
            || stored_sha != Some(meta.digests.sha256.as_str())
        {
            return Err(ReleaseError::Verification {
                key: key.to_string(),
            });
        }
        Ok(())
    }

    async fn put_part(
        &self,
        source: &PathBuf,
        key: &str,
        upload_id: &str,
        number: i32,
        offset: u64,
        length: u64,
    ) -> Result<CompletedPart, ReleaseError> {
        let part = self
            .send(
                length,
                || format!("upload part {number} of {key}"),
                |watch| async move {
                    let body = match ByteStream::read_from()
                        .path(source)
                        .offset(offset)
                        .length(Length::Exact(length))
                        .build()
                        .await
                    {
                        Ok(body) => body,
                        Err(e) => return Ok(Err(e)),
                    };
                    Counters::add(&self.counters.parts, 1);
                    self.s3
                        .upload_part()
                        .bucket(self.bucket)
                        .key(key)
                        .upload_id(upload_id)
                        .part_number(number)
                        .content_length(length as i64)
                        .body(body)
                        .customize()
                        .interceptor(watch)
                        .send()
                        .await
                        .map(Ok)
                },
            )
            .await?
            .map_err(|e| ReleaseError::Unreadable {
                path: source.clone(),
                message: e.to_string(),
            })?;
        Counters::add(&self.counters.bytes_sent, length);
        self.progress.sent(length);
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(part.e_tag().map(String::from))
            .build())
    }

    async fn copy(&self, from: &str, key: &str) -> Result<(), ReleaseError> {
        let source = copy_source(self.bucket, from);
        self.send(
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
        Ok(())
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
        }
    }

    #[test]
    fn progress_counts_copies_apart_from_uploaded_megabytes() {
        let tasks = vec![
            put(1_000_000),
            put(500_000),
            copy(9_000_000),
            copy(1),
            copy(1),
        ];
        let p = Progress::new(&tasks, 5, true);
        assert_eq!(
            p.plain_line(0, 0),
            "uploaded 0/2 (0.0/1.5 MB), copied 0/3, unchanged 5"
        );
        p.sent(1_000_000);
        p.put_done();
        p.copy_done();
        assert_eq!(
            p.plain_line(1, 1),
            "uploaded 1/2 (1.0/1.5 MB), copied 1/3, unchanged 5"
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
