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
        match self
            .client
            .get_key()
            .kvs_arn(&self.arn)
            .key(LIVE_KEY)
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
                action: "read the live version from the KeyValueStore".into(),
                message: describe(&e),
            }),
        }
    }

    /// Makes `new` live if `expected` is still live. A change by someone else between the
    /// start of this publish and now is reported, never overwritten.
    pub async fn flip(&self, expected: Option<&str>, new: &str) -> Result<(), ReleaseError> {
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
        let current = self.read().await?;
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
            .key(LIVE_KEY)
            .value(new)
            .if_match(&etag)
            .send()
            .await;
        match put {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()) =>
            {
                return Err(ReleaseError::Conflict {
                    expected: expected.map(String::from),
                    now_live: self.read().await.ok().flatten(),
                });
            }
            Err(e) => {
                return Err(ReleaseError::Aws {
                    action: "write the live version to the KeyValueStore".into(),
                    message: describe(&e),
                });
            }
        }
        let confirmed = self.read().await?;
        if confirmed.as_deref() != Some(new) {
            return Err(ReleaseError::Conflict {
                expected: Some(new.to_string()),
                now_live: confirmed,
            });
        }
        Ok(())
    }
}
