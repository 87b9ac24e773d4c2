//! The bucket's objects as a release reads and writes them: paginated listings, HEADs, bodies,
//! write-once puts and batched deletes, each counted for the publish summary.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use super::upload::Counters;
use super::{Release, ReleaseError};
use crate::aws::AwsError;

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub size: u64,
    pub etag: String,
    pub modified: Option<std::time::SystemTime>,
}

/// HEAD requests sent side by side when a listing cannot settle what an object holds: reads
/// are cheap for S3 (5,500 a second per prefix), and one at a time they cost a round trip each.
pub const HEADS_AT_ONCE: usize = 64;

/// Keys in one page of a listing (S3's maximum and default).
const PAGE: usize = 1000;

/// What a HEAD tells that a listing does not: the SHA-256 this tool stores in every object's
/// metadata (a multipart ETag is not a content hash).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    pub sha256: Option<String>,
    /// Without its quotes.
    pub etag: Option<String>,
}

/// How a write-once put ended.
pub enum PutOnce {
    Written,
    /// S3 answered 412: the key exists (another writer's, or this request's own first attempt
    /// whose answer was lost; reading it back tells the two apart).
    Exists,
}

impl Release {
    /// Every object under `prefix`, all pages.
    pub async fn list(&self, prefix: &str) -> Result<HashMap<String, Listed>, ReleaseError> {
        self.list_hinted(prefix, &[]).await
    }

    /// Every object under `prefix`, like [`Release::list`]. `hints` are keys expected under it,
    /// sorted: when they fill more than a page, the listing runs as ranges side by side, each
    /// starting after every thousandth hint (`StartAfter`), so ten pages cost one round trip
    /// instead of ten. Keys the hints do not name are listed all the same: a range pages on
    /// until it reaches the start of the next.
    pub async fn list_hinted(
        &self,
        prefix: &str,
        hints: &[&str],
    ) -> Result<HashMap<String, Listed>, ReleaseError> {
        let mut bounds: Vec<Option<&str>> = vec![None];
        bounds.extend(hints.iter().skip(PAGE - 1).step_by(PAGE).map(|k| Some(*k)));
        let ranges = bounds.iter().enumerate().map(|(i, start)| {
            let end = bounds.get(i + 1).copied().flatten();
            self.list_range(prefix, *start, end)
        });
        let mut out = HashMap::new();
        for part in futures::future::try_join_all(ranges).await? {
            out.extend(part);
        }
        Ok(out)
    }

    /// The objects under `prefix` after `start` (exclusive), page by page until a page reaches
    /// `end` (inclusive) or the listing ends; the last page may run past `end`.
    async fn list_range(
        &self,
        prefix: &str,
        start: Option<&str>,
        end: Option<&str>,
    ) -> Result<Vec<(String, Listed)>, ReleaseError> {
        let bucket = &self.target.bucket;
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_start_after(start.map(String::from))
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            Counters::add(&self.counters.list, 1);
            let page = page.map_err(|e| {
                ReleaseError::Aws(AwsError::from_sdk(
                    format!("list s3://{bucket}/{prefix}"),
                    &e,
                ))
            })?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    out.push((
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
                    ));
                }
            }
            let last = page.contents().last().and_then(|o| o.key());
            if let (Some(end), Some(last)) = (end, last)
                && last >= end
            {
                break;
            }
        }
        Ok(out)
    }

    /// The names of the bucket's top-level folders (`<version>/`, `_immutable/`, …).
    pub async fn top_level_folders(&self) -> Result<HashSet<String>, ReleaseError> {
        let bucket = &self.target.bucket;
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .delimiter("/")
            .into_paginator()
            .send();
        let mut out = HashSet::new();
        while let Some(page) = pages.next().await {
            Counters::add(&self.counters.list, 1);
            let page = page.map_err(|e| {
                ReleaseError::Aws(AwsError::from_sdk(
                    format!("list the folders of s3://{bucket}"),
                    &e,
                ))
            })?;
            for p in page.common_prefixes() {
                if let Some(name) = p.prefix().and_then(|p| p.strip_suffix('/')) {
                    out.insert(name.to_string());
                }
            }
        }
        Ok(out)
    }

    /// What the bucket holds under `keys` (sorted, all under `prefix`), absent keys left out. A
    /// few keys cost a HEAD each, side by side: one round trip, whatever else the prefix holds.
    /// More cost the prefix's listing, in ranges ([`Release::list_hinted`]), which may also
    /// name keys that were not asked for.
    pub async fn stat(
        &self,
        prefix: &str,
        keys: &[&str],
    ) -> Result<HashMap<String, Listed>, ReleaseError> {
        if keys.len() > HEADS_AT_ONCE {
            return self.list_hinted(prefix, keys).await;
        }
        futures::stream::iter(keys)
            .map(|key| async move {
                Ok::<_, ReleaseError>(self.head_listed(key).await?.map(|l| (key.to_string(), l)))
            })
            .buffer_unordered(HEADS_AT_ONCE)
            .try_filter_map(|found| async move { Ok(found) })
            .try_collect()
            .await
    }

    /// A HEAD of `key` as a listing would show it, or `None` when there is no such object.
    async fn head_listed(&self, key: &str) -> Result<Option<Listed>, ReleaseError> {
        match self.send_head(key).await {
            Ok(head) => Ok(Some(Listed {
                size: head.content_length().unwrap_or(0) as u64,
                etag: head
                    .e_tag()
                    .unwrap_or_default()
                    .trim_matches('"')
                    .to_string(),
                modified: head
                    .last_modified()
                    .and_then(|t| std::time::SystemTime::try_from(*t).ok()),
            })),
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_not_found())
                    || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(None)
            }
            Err(e) => Err(ReleaseError::Aws(AwsError::from_sdk(
                format!("read {key}"),
                &e,
            ))),
        }
    }

    pub async fn head(&self, key: &str) -> Result<Stored, ReleaseError> {
        let head = self
            .send_head(key)
            .await
            .map_err(|e| ReleaseError::Aws(AwsError::from_sdk(format!("read {key}"), &e)))?;
        Ok(Stored {
            size: head.content_length().unwrap_or(0) as u64,
            sha256: head.metadata().and_then(|m| m.get("sha256")).cloned(),
            etag: head.e_tag().map(|t| t.trim_matches('"').to_string()),
        })
    }

    /// One HeadObject of `key`, counted.
    async fn send_head(
        &self,
        key: &str,
    ) -> Result<
        aws_sdk_s3::operation::head_object::HeadObjectOutput,
        aws_sdk_s3::error::SdkError<aws_sdk_s3::operation::head_object::HeadObjectError>,
    > {
        Counters::add(&self.counters.head, 1);
        self.s3
            .head_object()
            .bucket(&self.target.bucket)
            .key(key)
            .send()
            .await
    }

    /// The body of `key`, or `None` when there is no such object. The SDK retries a request
    /// that fails; a body cut off mid-way (the answer was already under way) is asked for
    /// again here.
    pub async fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, ReleaseError> {
        let mut attempt = 0;
        loop {
            Counters::add(&self.counters.get, 1);
            let out = match self
                .s3
                .get_object()
                .bucket(&self.target.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                    return Ok(None);
                }
                Err(e) => {
                    return Err(ReleaseError::Aws(AwsError::from_sdk(
                        format!("read {key}"),
                        &e,
                    )));
                }
            };
            match out.body.collect().await {
                Ok(bytes) => return Ok(Some(bytes.into_bytes().to_vec())),
                Err(_) if attempt < 2 => attempt += 1,
                Err(e) => {
                    return Err(ReleaseError::Aws(AwsError::new(
                        format!("could not read {key}"),
                        &e,
                    )));
                }
            }
        }
    }

    /// Creates `key` only if it does not exist (`If-None-Match: *`); `what` names it in errors.
    pub async fn put_once(
        &self,
        key: &str,
        body: Vec<u8>,
        cache_control: Option<&str>,
        what: &str,
    ) -> Result<PutOnce, ReleaseError> {
        let mut attempt = 0;
        loop {
            Counters::add(&self.counters.put, 1);
            let put = self
                .s3
                .put_object()
                .bucket(&self.target.bucket)
                .key(key)
                .if_none_match("*")
                .content_type("application/json")
                .set_cache_control(cache_control.map(String::from))
                .body(ByteStream::from(body.clone()))
                .send()
                .await;
            match put {
                Ok(_) => return Ok(PutOnce::Written),
                // 409: another conditional write of this key was in progress; S3 says to retry.
                Err(e) if has_code(&e, "ConditionalRequestConflict") && attempt < 5 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                }
                Err(e) if has_code(&e, "PreconditionFailed") => return Ok(PutOnce::Exists),
                Err(e) => {
                    return Err(ReleaseError::Aws(AwsError::from_sdk(what.to_string(), &e)));
                }
            }
        }
    }

    pub async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), ReleaseError> {
        let body = to_json(key, value)?;
        Counters::add(&self.counters.put, 1);
        self.s3
            .put_object()
            .bucket(&self.target.bucket)
            .key(key)
            .content_type("application/json")
            .cache_control("no-cache")
            .body(body.into())
            .send()
            .await
            .map_err(|e| ReleaseError::Aws(AwsError::from_sdk(format!("write {key}"), &e)))?;
        Ok(())
    }

    /// The JSON object at `key`; a damaged one reads as none (the callers' records are hints).
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, ReleaseError> {
        Ok(self
            .get_bytes(key)
            .await?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// Deletes `keys`, 1,000 a request (S3's limit).
    pub async fn delete_keys(&self, keys: Vec<String>) -> Result<(), ReleaseError> {
        for chunk in keys.chunks(1000) {
            let ids: Vec<ObjectIdentifier> = chunk
                .iter()
                .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
                .collect();
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| {
                    ReleaseError::Aws(AwsError::new("could not build a batch delete", &e))
                })?;
            Counters::add(&self.counters.delete, 1);
            let out = self
                .s3
                .delete_objects()
                .bucket(&self.target.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| ReleaseError::Aws(AwsError::from_sdk("delete old objects", &e)))?;
            if let Some(err) = out.errors().first() {
                return Err(ReleaseError::Aws(AwsError::plain(
                    format!("could not delete {}", err.key().unwrap_or("an object")),
                    err.message().unwrap_or("unknown error"),
                )));
            }
        }
        Ok(())
    }
}

/// JSON for an object the tool keeps in the bucket. Compact: every publish reads the live
/// manifest and writes its own, and indentation made them a third larger (`jq` shows them
/// indented).
pub fn to_json<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, ReleaseError> {
    serde_json::to_vec(value)
        .map_err(|e| ReleaseError::Aws(AwsError::new(format!("could not serialize {key}"), &e)))
}

/// S3's error code: 412 `PreconditionFailed` (a conditional write's condition failed), 409
/// `ConditionalRequestConflict` (a conflicting write of the key was under way: retry).
fn has_code<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>, code: &str) -> bool
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    match e {
        aws_sdk_s3::error::SdkError::ServiceError(s) => s.err().code() == Some(code),
        _ => false,
    }
}
