//! The upload engine: bounded parallel S3 requests, streaming from disk, multipart above a
//! threshold, server-side copies, and counters for the summary. Retries with backoff come
//! from the SDK's retry configuration (src/aws.rs).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, MetadataDirective};
use base64::Engine as _;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use super::ReleaseError;
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
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// A progress bar on a terminal; in CI and pipes, a plain line every few seconds.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    plain: bool,
    total_files: u64,
    total_bytes: u64,
    done_files: AtomicU64,
    done_bytes: AtomicU64,
    last_line: std::sync::Mutex<Instant>,
}

impl Progress {
    pub fn new(total_files: u64, total_bytes: u64, quiet: bool) -> Self {
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr())
            && std::env::var_os("CI").is_none();
        let bar = (terminal && !quiet).then(|| {
            let bar = indicatif::ProgressBar::new(total_bytes);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{prefix:>12.green.bold} [{bar:30}] {bytes}/{total_bytes} {msg} ({bytes_per_sec}, {eta})",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_prefix("Uploading");
            bar
        });
        Progress {
            plain: !terminal && !quiet,
            bar,
            total_files,
            total_bytes,
            done_files: AtomicU64::new(0),
            done_bytes: AtomicU64::new(0),
            last_line: std::sync::Mutex::new(Instant::now()),
        }
    }

    fn advance(&self, bytes: u64) {
        let files = self.done_files.fetch_add(1, Ordering::Relaxed) + 1;
        let done = self.done_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if let Some(bar) = &self.bar {
            bar.set_position(done);
            bar.set_message(format!("{files}/{} files", self.total_files));
        } else if self.plain {
            let mut last = self.last_line.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= Duration::from_secs(3) || files == self.total_files {
                *last = Instant::now();
                eprintln!(
                    "{:>12} {files}/{} objects, {:.1}/{:.1} MB",
                    "Uploading",
                    self.total_files,
                    done as f64 / 1e6,
                    self.total_bytes as f64 / 1e6
                );
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

pub struct Engine {
    pub s3: Client,
    pub bucket: String,
    pub concurrency: usize,
    pub multipart_threshold: u64,
    pub counters: Arc<Counters>,
}

impl Engine {
    /// Runs every task, at most `concurrency` requests at a time; the first failure stops the
    /// rest (nothing is live yet, so a re-run picks up where this one ended).
    pub async fn run(&self, tasks: Vec<Task>, progress: &Progress) -> Result<(), ReleaseError> {
        // Big files first, so that one large wasm does not start last and finish alone.
        let mut tasks = tasks;
        tasks.sort_by_key(|t| std::cmp::Reverse(t.size()));
        futures::stream::iter(tasks.into_iter().map(Ok))
            .try_for_each_concurrent(self.concurrency.max(1), |task| async move {
                let size = task.size();
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
                        if digests.size > self.multipart_threshold {
                            self.put_multipart(&source, &key, &meta).await?;
                        } else {
                            self.put(&source, &key, &meta).await?;
                        }
                    }
                    Task::Copy { from, key, .. } => self.copy(&from, &key).await?,
                }
                progress.advance(size);
                Ok(())
            })
            .await
    }

    async fn put(
        &self,
        source: &PathBuf,
        key: &str,
        meta: &ObjectMeta<'_>,
    ) -> Result<(), ReleaseError> {
        let body = ByteStream::from_path(source)
            .await
            .map_err(|e| ReleaseError::Unreadable {
                path: source.clone(),
                message: e.to_string(),
            })?;
        let sha = hex::decode(&meta.digests.sha256).unwrap_or_default();
        Counters::add(&self.counters.put, 1);
        // S3 checks the SHA-256 we computed while scanning and refuses the object if the bytes
        // it received differ: a file changed mid-publish cannot slip through.
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body)
            .content_length(meta.digests.size as i64)
            .content_type(meta.content_type)
            .cache_control(meta.cache_control)
            .set_content_encoding(meta.content_encoding.map(String::from))
            .metadata("sha256", &meta.digests.sha256)
            .checksum_sha256(base64::engine::general_purpose::STANDARD.encode(sha))
            .send()
            .await
            .map_err(|e| ReleaseError::Aws {
                action: format!("upload {key}"),
                message: describe(&e),
            })?;
        Counters::add(&self.counters.bytes_sent, meta.digests.size);
        Ok(())
    }

    async fn put_multipart(
        &self,
        source: &PathBuf,
        key: &str,
        meta: &ObjectMeta<'_>,
    ) -> Result<(), ReleaseError> {
        let aws_err = |action: String| move |e: String| ReleaseError::Aws { action, message: e };
        Counters::add(&self.counters.multipart, 1);
        let created = self
            .s3
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(meta.content_type)
            .cache_control(meta.cache_control)
            .set_content_encoding(meta.content_encoding.map(String::from))
            .metadata("sha256", &meta.digests.sha256)
            .send()
            .await
            .map_err(|e| aws_err(format!("start a multipart upload of {key}"))(describe(&e)))?;
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
                let upload_id = &upload_id;
                async move {
                    let body = ByteStream::read_from()
                        .path(source)
                        .offset(offset)
                        .length(Length::Exact(length))
                        .build()
                        .await
                        .map_err(|e| ReleaseError::Unreadable {
                            path: source.clone(),
                            message: e.to_string(),
                        })?;
                    Counters::add(&self.counters.parts, 1);
                    let part = self
                        .s3
                        .upload_part()
                        .bucket(&self.bucket)
                        .key(key)
                        .upload_id(upload_id)
                        .part_number(number)
                        .content_length(length as i64)
                        .body(body)
                        .send()
                        .await
                        .map_err(|e| ReleaseError::Aws {
                            action: format!("upload part {number} of {key}"),
                            message: describe(&e),
                        })?;
                    Counters::add(&self.counters.bytes_sent, length);
                    Ok(CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(part.e_tag().map(String::from))
                        .build())
                }
            })
            .buffered(4)
            .try_collect()
            .await;
        let parts = match result {
            Ok(parts) => parts,
            Err(e) => {
                // Unfinished parts cost storage until aborted.
                let _ = self
                    .s3
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                return Err(e);
            }
        };
        self.s3
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| {
                aws_err(format!("complete the multipart upload of {key}"))(describe(&e))
            })?;
        // A multipart ETag is not a content hash: verify size and our own hash on the object.
        Counters::add(&self.counters.head, 1);
        let head = self
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| aws_err(format!("verify {key}"))(describe(&e)))?;
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

    async fn copy(&self, from: &str, key: &str) -> Result<(), ReleaseError> {
        Counters::add(&self.counters.copy, 1);
        self.s3
            .copy_object()
            .bucket(&self.bucket)
            .key(key)
            .copy_source(copy_source(&self.bucket, from))
            .metadata_directive(MetadataDirective::Copy)
            .send()
            .await
            .map_err(|e| ReleaseError::Aws {
                action: format!("copy {from} to {key}"),
                message: describe(&e),
            })?;
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
    #[test]
    fn copy_source_encodes_the_key_but_not_its_slashes() {
        assert_eq!(
            super::copy_source("b", "v1/a b/ü.html"),
            "b/v1/a%20b/%C3%BC.html"
        );
    }
}
