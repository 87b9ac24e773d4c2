//! The live pointer: one KeyValueStore key naming the live version. Every change is a
//! compare-and-swap on the store's ETag, so two deploys can never silently overwrite each
//! other.

use aws_sdk_cloudfrontkeyvaluestore::Client;

use super::ReleaseError;
use crate::aws::describe;

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
        match self
            .client
            .get_key()
            .kvs_arn(&self.arn)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.value().to_string())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(ReleaseError::Aws {
                action: format!("read `{key}` from the KeyValueStore"),
                message: describe(&e),
            }),
        }
    }

    /// Makes `new` live if `expected` is still live. A change by someone else between the
    /// start of this publish and now is reported, never overwritten.
    pub async fn flip(&self, expected: Option<&str>, new: &str) -> Result<(), ReleaseError> {
        self.flip_key(LIVE_KEY, expected, new).await
    }

    /// Points `key` at `new` if it still names `expected` (compare-and-swap on the store's
    /// ETag). Whatever the write answered, the outcome is decided by reading the key back: a
    /// PutKey whose response was lost (or whose retry met the ETag its own first attempt
    /// changed) has still happened, and an error must not say otherwise.
    pub async fn flip_key(
        &self,
        key: &str,
        expected: Option<&str>,
        new: &str,
    ) -> Result<(), ReleaseError> {
        let store = self
            .client
            .describe_key_value_store()
            .kvs_arn(&self.arn)
            .send()
            .await
            .map_err(|e| ReleaseError::Aws {
                action: "describe the KeyValueStore".into(),
                message: describe(&e),
            })?;
        let etag = store.e_tag().to_string();
        let current = self.read_key(key).await?;
        if current.as_deref() == Some(new) {
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
                    wanted: new.to_string(),
                    write: failure.map(|(_, m)| m),
                    read: read.to_string(),
                });
            }
        };
        if confirmed.as_deref() == Some(new) {
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
