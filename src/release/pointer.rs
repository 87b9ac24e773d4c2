//! The live pointer: one KeyValueStore key naming the live version (and, see `shards.rs`,
//! the folder of each of its shards). Every change is a compare-and-swap on the store's ETag,
//! so two deploys can never silently overwrite each other. Also the store's other keys
//! (previews, the password), and what follows a flip.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudfrontkeyvaluestore::Client;
use aws_sdk_cloudfrontkeyvaluestore::error::SdkError;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;

use super::manifest::Manifest;
use super::shards::{pointer_value, version_of};
use super::upload::{Counters, copy_source};
use super::{ERROR_PAGE, Release, ReleaseError};
use crate::aws::{AwsError, describe};

pub const LIVE_KEY: &str = "live";

pub struct LivePointer {
    client: Client,
    arn: String,
}

impl LivePointer {
    pub fn new(client: Client, arn: String) -> Self {
        LivePointer { client, arn }
    }

    /// The store's client, for the other keys (previews, the password).
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The live version, if any.
    pub async fn read(&self) -> Result<Option<String>, ReleaseError> {
        self.read_key(LIVE_KEY).await
    }

    /// The version `key` names, if any.
    pub async fn read_key(&self, key: &str) -> Result<Option<String>, ReleaseError> {
        read_key(&self.client, &self.arn, key).await
    }

    /// Makes the pointer value `new` live if version `expected` is still live. A change by
    /// someone else between the start of this publish and now is reported, never overwritten.
    pub async fn flip(&self, expected: Option<&str>, new: &str) -> Result<(), ReleaseError> {
        self.flip_key(LIVE_KEY, expected, new).await
    }

    /// Points `key` at the pointer value `new` if it still names version `expected`
    /// (compare-and-swap on the store's ETag). A version's value is derived from its
    /// write-once manifest, so comparing versions compares values. Whatever the write
    /// answered, the outcome is decided by reading the key back: a
    /// PutKey whose response was lost (or whose retry met the ETag its own first attempt
    /// changed) has still happened, and an error must not say otherwise.
    pub async fn flip_key(
        &self,
        key: &str,
        expected: Option<&str>,
        new: &str,
    ) -> Result<(), ReleaseError> {
        // The ETag first, then the value: a change between the two makes the ETag stale and
        // the PutKey fail. Read side by side, a change could land after the value was read
        // and before the ETag was, and the PutKey would overwrite it.
        let etag = store_etag(&self.client, &self.arn).await?;
        let current = self.read_key(key).await?;
        let wanted = version_of(new);
        if current.as_deref() == Some(wanted) {
            return Ok(()); // already there (a same-content publish, or an earlier run, did it)
        }
        if current.as_deref() != expected {
            return Err(ReleaseError::Conflict {
                expected: expected.map(String::from),
                now_live: current,
            });
        }
        let put = self
            .client
            .put_key()
            .kvs_arn(&self.arn)
            .key(key)
            .value(new)
            .if_match(&etag)
            .send()
            .await;
        let failure = put.err().map(|e| {
            (
                e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()),
                describe(&e),
            )
        });
        let confirmed = match self.read_key(key).await {
            Ok(v) => v,
            Err(read) => {
                return Err(ReleaseError::PointerUnknown {
                    key: key.to_string(),
                    wanted: wanted.to_string(),
                    write: failure.map(|(_, m)| m),
                    read: read.to_string(),
                });
            }
        };
        if confirmed.as_deref() == Some(wanted) {
            return Ok(());
        }
        match failure {
            Some((false, message)) if confirmed.as_deref() == expected => {
                Err(ReleaseError::FlipFailed {
                    key: key.to_string(),
                    still: confirmed,
                    message,
                })
            }
            _ => Err(ReleaseError::Conflict {
                expected: expected.map(String::from),
                now_live: confirmed,
            }),
        }
    }
}

/// The version (or record) `key` names in the store, if any: a pointer value's shard table
/// is left out.
pub async fn read_key(
    client: &Client,
    arn: &str,
    key: &str,
) -> Result<Option<String>, ReleaseError> {
    match client.get_key().kvs_arn(arn).key(key).send().await {
        Ok(out) => Ok(Some(version_of(out.value()).to_string())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(ReleaseError::Aws(AwsError::from_sdk(
            format!("read `{key}` from the KeyValueStore"),
            &e,
        ))),
    }
}

/// The store's ETag: every write names it, so a write in between fails instead of being lost.
async fn store_etag(client: &Client, arn: &str) -> Result<String, ReleaseError> {
    let store = client
        .describe_key_value_store()
        .kvs_arn(arn)
        .send()
        .await
        .map_err(|e| ReleaseError::Aws(AwsError::from_sdk("describe the KeyValueStore", &e)))?;
    Ok(store.e_tag().to_string())
}

/// Every key of the store with its value as stored (ListKeys, all pages).
pub async fn list_keys(
    client: &Client,
    arn: &str,
) -> Result<BTreeMap<String, String>, ReleaseError> {
    let mut out = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_keys()
            .kvs_arn(arn)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| {
                ReleaseError::Aws(AwsError::from_sdk("list the KeyValueStore's keys", &e))
            })?;
        for item in page.items() {
            out.insert(item.key().to_string(), item.value().to_string());
        }
        token = page
            .next_token()
            .map(String::from)
            .filter(|t| !t.is_empty());
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// A change to one key other than `live`.
pub enum KeyWrite<'a> {
    Put(&'a str, &'a str),
    Delete(&'a str),
}

/// How one conditional write ended.
enum Written {
    Done,
    Conflict(String),
    Failed(String),
}

impl Written {
    /// `gone`: the error that means the write is done anyway (a deleted key that was not there).
    fn of<T, E, R>(
        result: Result<T, SdkError<E, R>>,
        conflict: impl Fn(&E) -> bool,
        gone: impl Fn(&E) -> bool,
    ) -> Self
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        match result {
            Ok(_) => Written::Done,
            Err(e) => match e.as_service_error() {
                Some(s) if gone(s) => Written::Done,
                Some(s) if conflict(s) => Written::Conflict(describe(&e)),
                _ => Written::Failed(describe(&e)),
            },
        }
    }
}

/// One key written with the store's ETag. A conflict means another writer changed some key
/// in between (another branch's preview, say): read the new ETag and try again, a few times.
/// Unlike the live flip, nothing here depends on what the other writer did.
pub async fn write_key(client: &Client, arn: &str, op: KeyWrite<'_>) -> Result<(), ReleaseError> {
    let mut attempt = 0u32;
    loop {
        let etag = store_etag(client, arn).await?;
        let (key, failed, written) = match op {
            KeyWrite::Put(k, v) => (
                k,
                format!("write {k} to the KeyValueStore"),
                Written::of(
                    client
                        .put_key()
                        .kvs_arn(arn)
                        .key(k)
                        .value(v)
                        .if_match(&etag)
                        .send()
                        .await,
                    |s| s.is_conflict_exception(),
                    |_| false,
                ),
            ),
            KeyWrite::Delete(k) => (
                k,
                format!("remove {k} from the KeyValueStore"),
                Written::of(
                    client
                        .delete_key()
                        .kvs_arn(arn)
                        .key(k)
                        .if_match(&etag)
                        .send()
                        .await,
                    |s| s.is_conflict_exception(),
                    |s| s.is_resource_not_found_exception(),
                ),
            ),
        };
        let conflict = match written {
            Written::Done => return Ok(()),
            Written::Failed(message) => {
                return Err(ReleaseError::Aws(AwsError::plain(
                    format!("could not {failed}"),
                    message,
                )));
            }
            Written::Conflict(message) => message,
        };
        attempt += 1;
        if attempt >= 5 {
            return Err(ReleaseError::Aws(AwsError::plain(
                format!("could not write {key} to the KeyValueStore (the store kept changing)"),
                conflict,
            )));
        }
        tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
    }
}

impl Release {
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
        let value = pointer_value(manifest).map_err(ReleaseError::InvalidVersion)?;
        self.pointer.flip(expected, &value).await?;
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
        let current = self.error_page().await?;
        self.finish_live_from(manifest, current).await
    }

    /// What the bucket root's error page is now (read before the flip, to save its round trip
    /// after it).
    pub async fn error_page(&self) -> Result<Option<HeadObjectOutput>, String> {
        match self
            .s3
            .head_object()
            .bucket(&self.target.bucket)
            .key(ERROR_PAGE)
            .send()
            .await
        {
            Ok(head) => Ok(Some(head)),
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_not_found())
                    || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) =>
            {
                Ok(None)
            }
            Err(e) => Err(describe(&e)),
        }
    }

    /// [`Release::finish_live`] with the error page as [`Release::error_page`] found it.
    pub async fn finish_live_from(
        &self,
        manifest: &Manifest,
        current: Option<HeadObjectOutput>,
    ) -> Result<(), String> {
        let bucket = &self.target.bucket;
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
