//! The KeyValueStore that holds the live pointer (`live` → version) and the previews. It has
//! no configuration to update: it exists, owned by the marker in its comment, or it does not.

use std::time::Duration;

use crate::infra::resource::{self, Resource, unless_missing};
use crate::infra::{Change, InfraError, Mode, Stack, aws_err};

const KVS: &str = "key-value-store";

pub(crate) struct Store {
    arn: String,
    etag: String,
    comment: Option<String>,
    status: Option<String>,
}

async fn describe(stack: &Stack<'_>, name: &str) -> Result<Option<Store>, InfraError> {
    let out = stack.cf.describe_key_value_store().name(name).send().await;
    let out = unless_missing(
        out,
        |e| e.is_entity_not_found(),
        || format!("look up KeyValueStore {name}"),
    )?;
    Ok(out.and_then(|out| {
        out.key_value_store().map(|k| Store {
            arn: k.arn().to_string(),
            etag: out.e_tag().unwrap_or_default().to_string(),
            comment: Some(k.comment().to_string()),
            status: k.status().map(str::to_string),
        })
    }))
}

/// A new store is PROVISIONING for a few seconds; writes before READY fail.
async fn wait_ready(stack: &Stack<'_>, name: &str) -> Result<(), InfraError> {
    let mut delay = Duration::from_millis(200);
    for _ in 0..40 {
        match describe(stack, name).await? {
            Some(s) if s.status.as_deref().is_none_or(|st| st == "READY") => return Ok(()),
            Some(s) if s.status.as_deref() == Some("PROVISIONING_FAILED") => {
                return Err(InfraError::Other(format!(
                    "KeyValueStore {name} could not be provisioned (PROVISIONING_FAILED)"
                )));
            }
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(3));
    }
    Err(InfraError::Other(format!(
        "KeyValueStore {name} did not become READY; re-run deploy"
    )))
}

struct KeyValueStore {
    name: String,
}

impl Resource for KeyValueStore {
    const NOUN: &'static str = "KeyValueStore";
    const PROOF: &'static str = "comment marker";
    type Actual = Store;

    fn kind(&self) -> &'static str {
        KVS
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<Store>, InfraError> {
        describe(stack, &self.name).await
    }

    async fn owned(&self, stack: &Stack<'_>, actual: &Store) -> Result<bool, InfraError> {
        Ok(stack.owns_comment(actual.comment.as_deref()))
    }

    fn adopt(&self, stack: &mut Stack<'_>, actual: &Store) {
        stack.ids.kvs_arn = Some(actual.arn.clone());
    }

    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
        let name = &self.name;
        let out = stack
            .cf
            .create_key_value_store()
            .name(name)
            .comment(stack.marker())
            .send()
            .await
            .map_err(|e| aws_err(format!("create KeyValueStore {name}"), &e))?;
        stack.ids.kvs_arn = out.key_value_store().map(|k| k.arn().to_string());
        wait_ready(stack, name).await
    }

    fn delete_reason(&self) -> String {
        "owned by this project; the live pointer goes with it".to_string()
    }

    async fn delete(
        &self,
        stack: &mut Stack<'_>,
        actual: Store,
    ) -> Result<Option<String>, InfraError> {
        let name = &self.name;
        stack
            .cf
            .delete_key_value_store()
            .name(name)
            .if_match(&actual.etag)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete KeyValueStore {name}"), &e))?;
        Ok(None)
    }
}

pub async fn converge(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let store = KeyValueStore {
        name: stack.names.kvs(),
    };
    resource::converge(stack, mode, &store).await
}

pub async fn destroy(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let store = KeyValueStore {
        name: stack.names.kvs(),
    };
    resource::destroy(stack, mode, &store).await
}
